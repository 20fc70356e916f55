// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { hashFile } from "../../core/digest.js";
import { CairnError } from "../../core/errors.js";
import { DEFAULT_EXCLUDE_PATTERNS, pyNormpath, READ_BUFFER_BYTES, recordArtifacts } from "./artifacts.js";

let root: string;
let n = 0;

before(() => {
  root = mkdtempSync(join(tmpdir(), "cairn-artifacts-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string | Buffer>): string {
  const d = join(root, `t${n++}`);
  mkdirSync(d);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(d, p)), { recursive: true });
    writeFileSync(join(d, p), c);
  }
  return d;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

function isCode(code: string) {
  return (e: unknown) => e instanceof CairnError && e.code === code;
}

describe("pyNormpath", () => {
  test("matches Python's os.path.normpath", () => {
    // From /usr/bin/python3 (3.11): {c: os.path.normpath(c) for c in cases}
    const cases: Record<string, string> = {
      "": ".",
      ".": ".",
      "./": ".",
      "a/./b": "a/b",
      "a//b": "a/b",
      "a/b/": "a/b",
      "/a/../..": "/",
      "//a/b": "//a/b",
      "///a": "/a",
      "../a/../../b": "../../b",
      "a/..": ".",
      "./..": "..",
      "/..": "/",
      "a/b/../../..": "..",
      "//": "//",
      "foo\\\\bar/./x": "foo\\\\bar/x",
    };
    for (const [input, want] of Object.entries(cases))
      assert.equal(pyNormpath(input), want, JSON.stringify(input));
  });

  test("property: idempotent, no '.' or empty components", () => {
    const path = fc
      .array(fc.constantFrom("a", "b", ".", "..", "", "c d"), { maxLength: 6 })
      .chain((parts) => fc.constantFrom(parts.join("/"), `/${parts.join("/")}`, `//${parts.join("/")}`));
    fc.assert(
      fc.property(path, (p) => {
        const once = pyNormpath(p);
        assert.equal(pyNormpath(once), once);
        const comps = once.replace(/^\/+/, "").split("/");
        if (once !== "." && once.replace(/^\/+/, "") !== "")
          assert.ok(!comps.includes(".") && !comps.includes(""));
      }),
    );
  });
});

describe("recordArtifacts", () => {
  test("no paths, no artifacts (and the base path is not even checked)", async () => {
    assert.deepEqual(await recordArtifacts([], { basePath: "/does/not/exist" }), {});
  });

  test("walks directories, applies default excludes, keys relative to the base path", async () => {
    const d = tree({
      "a.txt": "a",
      "sub/b.txt": "b",
      "sub/c.link": "x",
      ".git/HEAD": "x",
      "d.pyc": "x",
      "e~": "x",
    });
    assert.deepEqual(DEFAULT_EXCLUDE_PATTERNS, ["*.link*", ".git", "*.pyc", "*~"]);
    const m = await recordArtifacts(["."], { basePath: d });
    assert.deepEqual(Object.keys(m).sort(), ["a.txt", "sub/b.txt"]);
    assert.deepEqual(m["sub/b.txt"], { sha256: sha256("b") });
    const m2 = await recordArtifacts(["./sub/", "sub/../a.txt"], { basePath: d });
    assert.deepEqual(Object.keys(m2).sort(), ["a.txt", "sub/b.txt"]);
  });

  test("absolute paths are recorded as given", async () => {
    const d = tree({ "x/y.txt": "y" });
    const m = await recordArtifacts([join(d, "x")]);
    assert.deepEqual(Object.keys(m), [`${join(d, "x")}/y.txt`]);
  });

  test("several algorithms, in the order asked", async () => {
    const d = tree({ f: "data" });
    const m = await recordArtifacts(["f"], { basePath: d, algorithms: ["sha512", "sha256"] });
    assert.deepEqual(Object.keys(m.f!), ["sha512", "sha256"]);
    assert.equal(m.f!.sha512, createHash("sha512").update("data").digest("hex"));
    await assert.rejects(
      recordArtifacts(["f"], { basePath: d, algorithms: ["md5" as "sha256"] }),
      isCode("ERR_DIGEST_UNSUPPORTED"),
    );
  });

  test("files larger than the read buffer are streamed", async () => {
    const big = Buffer.alloc(READ_BUFFER_BYTES * 2 + 12345);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const exact = Buffer.alloc(READ_BUFFER_BYTES, 0x41);
    const d = tree({ big, exact });
    for (const asyncIo of [false, true]) {
      const m = await recordArtifacts(["."], { basePath: d, asyncIo });
      assert.equal(m.big!.sha256, sha256(big));
      assert.equal(m.exact!.sha256, sha256(exact));
    }
  });

  test("property: line-ending normalization equals CRLF/CR -> LF on the whole file, sync and async", async () => {
    const crlfHeavy = fc
      .uint8Array({ maxLength: 64 })
      .map((b) => Buffer.from(b.map((x) => [13, 10, 97][x % 3]!)));
    await fc.assert(
      fc.asyncProperty(crlfHeavy, fc.boolean(), fc.boolean(), async (content, large, asyncIo) => {
        // "large" puts the content across the end of the first read buffer.
        const data = large
          ? Buffer.concat([Buffer.alloc(READ_BUFFER_BYTES - 3, 0x62), content])
          : Buffer.from(content);
        const d = tree({ f: data });
        const m = await recordArtifacts(["f"], { basePath: d, normalizeLineEndings: true, asyncIo });
        const want = Buffer.from(
          data.toString("latin1").replace(/\r\n/g, "\n").replace(/\r/g, "\n"),
          "latin1",
        );
        assert.equal(m.f!.sha256, sha256(want));
        assert.deepEqual(m.f, await hashFile(join(d, "f"), { normalizeLineEndings: true }));
        rmSync(d, { recursive: true });
      }),
      { numRuns: 40 },
    );
  });

  test("property: sync and async I/O record the same map", async () => {
    const name = fc.stringMatching(/^[a-z]{1,3}$/);
    const files = fc.dictionary(
      fc.array(name, { minLength: 1, maxLength: 3 }).map((p) => p.join("/")),
      fc.string(),
      { maxKeys: 12 },
    );
    await fc.assert(
      fc.asyncProperty(files, async (spec) => {
        // Drop paths that are a prefix directory of another path.
        const paths = Object.keys(spec).filter((p) => !Object.keys(spec).some((q) => q.startsWith(`${p}/`)));
        const d = tree(Object.fromEntries(paths.map((p) => [p, spec[p]!])));
        const a = await recordArtifacts(["."], { basePath: d });
        const b = await recordArtifacts(["."], { basePath: d, asyncIo: true, concurrency: 3 });
        assert.deepEqual(a, b);
        assert.deepEqual(Object.keys(a).sort(), paths.sort());
        rmSync(d, { recursive: true });
      }),
      { numRuns: 30 },
    );
  });

  test("progress: (0, total) once, then one call per file up to total", async () => {
    const d = tree({ a: "1", b: "2", "c/d": "3" });
    const calls: [number, number][] = [];
    await recordArtifacts(["."], { basePath: d, onProgress: (done, total) => calls.push([done, total]) });
    assert.deepEqual(calls, [
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  test("a missing path is skipped with a warning", async () => {
    const d = tree({ a: "1" });
    const warnings: string[] = [];
    const m = await recordArtifacts(["a", "nope", "a/under-a-file"], {
      basePath: d,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(Object.keys(m), ["a"]);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.some((w) => w.includes('"nope"')));
  });

  test("a bad base path is an error naming it", async () => {
    const d = tree({ f: "1" });
    await assert.rejects(recordArtifacts(["."], { basePath: join(d, "missing") }), isCode("ERR_NOT_FOUND"));
    await assert.rejects(recordArtifacts(["."], { basePath: join(d, "f") }), (e) => {
      return e instanceof CairnError && e.code === "ERR_USAGE" && e.file === join(d, "f");
    });
  });

  test("lstrip: first matching prefix is stripped; collisions and overlapping prefixes are refused", async () => {
    const d = tree({ "x/a": "1", "y/a": "2", "x/b": "3" });
    const m = await recordArtifacts(["x", "y/a"], { basePath: d, lstripPaths: ["x/"] });
    assert.deepEqual(Object.keys(m).sort(), ["a", "b", "y/a"]);
    await assert.rejects(
      recordArtifacts(["x", "y"], { basePath: d, lstripPaths: ["x/", "y/"] }),
      isCode("ERR_USAGE"),
    );
    await assert.rejects(
      recordArtifacts(["x"], { basePath: d, lstripPaths: ["x", "x/"] }),
      isCode("ERR_USAGE"),
    );
    // The same path twice is a collision too, but only when stripping is on.
    await assert.rejects(
      recordArtifacts(["x", "x/a"], { basePath: d, lstripPaths: ["z"] }),
      isCode("ERR_USAGE"),
    );
    assert.deepEqual(Object.keys(await recordArtifacts(["x", "x/a"], { basePath: d })).sort(), [
      "x/a",
      "x/b",
    ]);
  });

  test("backslashes in names become slashes in keys, as the reference writes them", async () => {
    const d = tree({ "a\\b": "1" });
    const m = await recordArtifacts(["."], { basePath: d });
    assert.deepEqual(m, { "a/b": { sha256: sha256("1") } });
  });

  test("symlinks: files recorded under the link name, broken ones skipped, directories only if followed", async () => {
    const d = tree({ "real/f": "f", t: "t" });
    symlinkSync("t", join(d, "lf"));
    symlinkSync("gone", join(d, "broken"));
    symlinkSync("real", join(d, "ld"));
    const warnings: string[] = [];
    const plain = await recordArtifacts(["."], { basePath: d, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(Object.keys(plain).sort(), ["lf", "real/f", "t"]);
    assert.equal(warnings.length, 1);
    const followed = await recordArtifacts(["."], { basePath: d, followSymlinkDirs: true });
    assert.deepEqual(Object.keys(followed).sort(), ["ld/f", "lf", "real/f", "t"]);
  });

  test("a symlink cycle is not followed (a warning, not an endless walk)", async () => {
    const d = tree({ "top/f": "f", "top/sub/g": "g", "other/h": "h" });
    symlinkSync("..", join(d, "top/sub/up")); // back to top
    symlinkSync("../../other", join(d, "top/sub/side")); // not a cycle
    symlinkSync("../top", join(d, "other/back")); // a cycle only through side
    const warnings: string[] = [];
    const m = await recordArtifacts(["top"], {
      basePath: d,
      followSymlinkDirs: true,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(Object.keys(m).sort(), ["top/f", "top/sub/g", "top/sub/side/h"]);
    assert.equal(warnings.length, 2);
  });

  test("special files are skipped with a warning", async () => {
    const d = tree({ a: "1" });
    spawnSync("mkfifo", [join(d, "fifo")]);
    const warnings: string[] = [];
    const m = await recordArtifacts(["."], { basePath: d, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(Object.keys(m), ["a"]);
    assert.equal(warnings.length, 1);
    const m2 = await recordArtifacts(["fifo"], { basePath: d, onWarning: (w) => warnings.push(w) });
    assert.deepEqual(m2, {});
  });

  test("unreadable files and directories are errors naming the path", async () => {
    // Reading /proc/self/mem at offset 0 fails with EIO for anyone, root included.
    if (existsSync("/proc/self/mem")) {
      await assert.rejects(recordArtifacts(["/proc/self/mem"]), (e) => {
        return e instanceof CairnError && e.code === "ERR_IO" && String(e.file).endsWith("mem");
      });
    }
    // Permission bits do not stop root: the chmod cases can only be checked as another user.
    if (process.getuid?.() === 0) return;
    const d = tree({ "locked/f": "1", secret: "2" });
    chmodSync(join(d, "locked"), 0o000);
    chmodSync(join(d, "secret"), 0o000);
    try {
      await assert.rejects(recordArtifacts(["locked"], { basePath: d }), (e) => {
        return e instanceof CairnError && e.code === "ERR_IO" && e.file === join(d, "locked");
      });
      await assert.rejects(recordArtifacts(["secret"], { basePath: d }), isCode("ERR_IO"));
    } finally {
      chmodSync(join(d, "locked"), 0o755);
    }
  });

  test("invalid exclude patterns are usage errors", async () => {
    const d = tree({ a: "1" });
    await assert.rejects(
      recordArtifacts(["."], { basePath: d, excludePatterns: ["[z-a]"] }),
      isCode("ERR_USAGE"),
    );
  });
});
