// SPDX-License-Identifier: Apache-2.0
// Interop: cairn's artifact recording and step recording against the reference in-toto 1.3.1
// (Debian's python3-in-toto, run with the system python): the same trees must give identical
// materials/products maps, byproducts and commands. Options the reference CLI does not expose
// (line-ending normalization, follow-symlink-dirs off) are compared through its Python API,
// runlib.record_artifacts_as_dict; everything else also through in-toto-run / in-toto-record.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../src/core/errors.js";
import { type RecordOptions, recordArtifacts } from "../../src/engines/intoto/artifacts.js";
import { PathSpec } from "../../src/engines/intoto/gitwildmatch.js";
import { recordStart, recordStop, runStep } from "../../src/engines/intoto/runlib.js";
import type { Link } from "../../src/formats/intoto/link.js";

const PYTHON = "/usr/bin/python3";
const HAVE_REFERENCE = existsSync("/usr/bin/in-toto-run") && existsSync(PYTHON);
// The reference is installed by scripts/test.sh: without it these tests fail, never pass vacuously.
test("the reference in-toto is installed", () =>
  assert.ok(HAVE_REFERENCE, "install Debian's in-toto (scripts/test.sh does)"));

// Calls runlib.record_artifacts_as_dict for each JSON argument set; prints the dicts or the
// exceptions' classes (one python process per batch keeps the test fast).
const PY_RECORD = `
import json, os, sys
from in_toto import runlib
out = []
for a in json.loads(sys.argv[1]):
    cwd = os.getcwd()
    try:
        r = runlib.record_artifacts_as_dict(a["paths"], exclude_patterns=a.get("exclude"),
            base_path=a.get("base"), follow_symlink_dirs=a.get("follow", False),
            normalize_line_endings=a.get("normalize", False), lstrip_paths=a.get("lstrip"))
        out.append({"ok": r})
    except Exception as e:
        out.append({"error": type(e).__name__, "message": str(e)})
    os.chdir(cwd)  # the reference leaves the base path on an exception
print(json.dumps(out))
`;

// pathspec's verdict for each (patterns, path) case, in one process.
const PY_MATCH = `
import json, sys
from pathspec import PathSpec
out = []
for patterns, path in json.loads(sys.stdin.read()):
    try:
        out.append(PathSpec.from_lines("gitwildmatch", patterns).match_file(path))
    except Exception as e:
        out.append("error")
print(json.dumps(out))
`;

function py(script: string, args: string[], cwd: string, input?: string): string {
  const r = spawnSync(PYTHON, ["-c", script, ...args], { cwd, encoding: "utf8", input, env: cleanEnv() });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

/** No IN_TOTO_* settings from the environment, so the reference runs on its defaults. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("IN_TOTO_")) env[k] = v;
  return env;
}

interface PyArgs {
  paths: string[];
  exclude?: string[];
  base?: string;
  follow?: boolean;
  normalize?: boolean;
  lstrip?: string[];
}

function pyRecord(
  args: PyArgs,
  cwd: string,
): { ok?: Record<string, unknown>; error?: string; message?: string } {
  return pyRecordMany([args], cwd)[0]!;
}

function pyRecordMany(
  args: PyArgs[],
  cwd: string,
): { ok?: Record<string, unknown>; error?: string; message?: string }[] {
  return JSON.parse(py(PY_RECORD, [JSON.stringify(args)], cwd));
}

function optsOf(args: PyArgs, cwd: string): RecordOptions {
  const o: RecordOptions = { followSymlinkDirs: args.follow ?? false };
  if (args.exclude) o.excludePatterns = args.exclude;
  o.basePath = args.base ? join(cwd, args.base) : cwd;
  if (args.normalize) o.normalizeLineEndings = true;
  if (args.lstrip) o.lstripPaths = args.lstrip;
  return o;
}

/** Both implementations on the same tree and arguments: same map, or both refuse. */
async function assertSame(
  args: PyArgs,
  cwd: string,
  ref = pyRecord(args, cwd),
): Promise<Record<string, unknown>> {
  let ours: Record<string, unknown> | undefined;
  let err: unknown;
  try {
    ours = await recordArtifacts(args.paths, optsOf(args, cwd));
  } catch (e) {
    err = e;
  }
  if (ref.error !== undefined) {
    assert.ok(
      err instanceof CairnError,
      `reference raised ${ref.error} (${ref.message}), cairn returned a map`,
    );
    return {};
  }
  if (err) throw err;
  assert.deepEqual(sortKeys(ours!), sortKeys(ref.ok!));
  return ours!;
}

function sortKeys(m: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(m)
      .sort()
      .map((k) => [k, m[k]]),
  );
}

function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    const full = join(root, p);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

let work: string;
let keyPath: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), "cairn-record-interop-"));
  if (!HAVE_REFERENCE) return;
  keyPath = join(work, "key");
  const r = spawnSync("/usr/bin/in-toto-keygen", ["-t", "ed25519", keyPath], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

after(() => rmSync(work, { recursive: true, force: true }));

function freshDir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

const NESTED: Record<string, string> = {
  "a.txt": "a\n",
  "b.txt": "bee\n",
  "Z.txt": "capital",
  ".hidden": "dot",
  "with space.txt": "space",
  "ünï/cödé.txt": "unicode",
  "sub/c.txt": "c",
  "sub/deeper/d.txt": "d",
  "sub/deeper/even/e.bin": "e",
  "sub/x.link": "excluded by default",
  "sub/y.pyc": "excluded by default",
  "sub/z.txt~": "excluded by default",
  ".git/config": "excluded by default",
  "sub/.git/HEAD": "excluded by default",
  "build/out.o": "o",
  "build/gen/keep.c": "c",
  "docs/a.md": "md",
  "docs/ab.md": "md",
  "top.txt": "top",
  "sub/top.txt": "not top",
  empty: "",
};

describe("recordArtifacts agrees with runlib.record_artifacts_as_dict", () => {
  test("nested directories with the default exclude patterns", async () => {
    const d = freshDir("nested");
    writeTree(d, NESTED);
    const m = await assertSame({ paths: ["."] }, d);
    assert.ok("sub/deeper/even/e.bin" in m && !("sub/x.link" in m));
    await assertSame({ paths: ["sub", "a.txt", "./b.txt", "sub/../top.txt", "sub/", "ünï"] }, d);
    await assertSame({ paths: ["a.txt", "a.txt", "."] }, d);
  });

  test("exclude patterns: anchors, directories, negation, classes, wildcards", async () => {
    const d = freshDir("excludes");
    writeTree(d, NESTED);
    const sets = [
      ["build/"],
      ["build"],
      ["/top.txt"],
      ["top.txt"],
      ["*.txt", "!a.txt"],
      ["**/gen/*.c"],
      ["[ab].txt", "?.md"],
      ["[!a]*.txt"],
      ["sub/**", "!sub/c.txt"],
      ["sub/*/"],
      ["*"],
      ["**"],
      ["**/"],
      ["deeper"],
      ["# comment", "  *.md  ", "\\#x"],
      ["ünï"],
      [".*"],
      ["*.link*", "e.bin"],
    ];
    const cases = sets.flatMap((exclude) => [
      { paths: ["."], exclude },
      { paths: ["sub", "docs", "top.txt"], exclude },
    ]);
    const refs = pyRecordMany(cases, d);
    for (const [i, c] of cases.entries()) await assertSame(c, d, refs[i]);
  });

  test("base path, absolute paths and paths outside the base", async () => {
    const d = freshDir("base");
    writeTree(d, { "proj/src/a.c": "a", "proj/src/b.h": "b", "proj/README": "r", "other/o.txt": "o" });
    await assertSame({ paths: ["."], base: "proj" }, d);
    await assertSame({ paths: ["src", "README"], base: "proj" }, d);
    await assertSame({ paths: ["../other"], base: "proj" }, d);
    await assertSame({ paths: [join(d, "other")] }, d);
    await assertSame({ paths: ["."], base: "missing-dir" }, d);
  });

  test("lstrip paths, and the error on a collision after stripping", async () => {
    const d = freshDir("lstrip");
    writeTree(d, { "dist/pkg/a.txt": "1", "dist/pkg/b.txt": "2", "src/pkg/a.txt": "3", "x.txt": "4" });
    await assertSame({ paths: ["dist"], lstrip: ["dist/"] }, d);
    await assertSame({ paths: ["dist", "x.txt"], lstrip: ["dist/pkg/"] }, d);
    await assertSame({ paths: ["dist"], lstrip: ["dist"] }, d);
    await assertSame({ paths: ["dist", "src"], lstrip: ["dist/", "src/"] }, d); // collision: both refuse
    await assertSame({ paths: ["dist"], lstrip: ["dist/", "dist/pkg/"] }, d); // overlapping prefixes
    await assertSame({ paths: ["dist", "dist/pkg/a.txt"], lstrip: ["nomatch/"] }, d); // recorded twice
  });

  test("line-ending normalization (CRLF, lone CR, CR at a chunk boundary)", async () => {
    const d = freshDir("crlf");
    const big = Buffer.alloc(4096 * 3 + 1, 0x61);
    big[4095] = 0x0d; // a CR ending the reference's first 4 KiB chunk, then a LF
    big[4096] = 0x0a;
    big[8191] = 0x0d; // a lone CR at a chunk boundary
    writeTree(d, {
      "dos.txt": "one\r\ntwo\r\n",
      "mac.txt": "one\rtwo\r",
      "mixed.txt": "a\r\r\nb\n\rc",
      "unix.txt": "one\ntwo\n",
      "big.txt": big,
      "large.bin": Buffer.concat([Buffer.alloc(1024 * 1024 - 1, 0x62), Buffer.from("\r\nend\r")]),
    });
    const norm = await assertSame({ paths: ["."], normalize: true }, d);
    const raw = await assertSame({ paths: ["."] }, d);
    assert.equal(
      (norm["dos.txt"] as Record<string, string>).sha256,
      (norm["unix.txt"] as Record<string, string>).sha256,
    );
    assert.notEqual(
      (raw["dos.txt"] as Record<string, string>).sha256,
      (raw["unix.txt"] as Record<string, string>).sha256,
    );
  });

  test("symlinks to files and directories, broken symlinks, missing paths", async () => {
    const d = freshDir("links");
    writeTree(d, { "real/f.txt": "f", "real/sub/g.txt": "g", "target.txt": "t" });
    symlinkSync("target.txt", join(d, "link-to-file"));
    symlinkSync("nowhere", join(d, "broken"));
    symlinkSync("real", join(d, "link-to-dir"));
    symlinkSync("../target.txt", join(d, "real/inner-link"));
    for (const follow of [false, true]) {
      await assertSame({ paths: ["."], follow }, d);
      await assertSame({ paths: ["link-to-dir", "link-to-file", "broken", "missing"], follow }, d);
    }
    const warnings: string[] = [];
    await recordArtifacts(["missing", "broken"], { basePath: d, onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 2);
  });

  test("a larger generated tree", async () => {
    const d = freshDir("generated");
    const files: Record<string, string> = {};
    for (let i = 0; i < 300; i++)
      files[`d${i % 7}/e${i % 3}/f${i}.${["txt", "c", "link", "pyc"][i % 4]}`] = `${i}`;
    writeTree(d, files);
    await assertSame({ paths: ["."] }, d);
    await assertSame({ paths: ["."], exclude: ["e1", "*.c"] }, d);
  });
});

function readLink(dir: string, prefix: string): Link {
  const f = readdirSync(dir).find((n) => n.startsWith(prefix) && n.endsWith(".link"));
  assert.ok(f, `no ${prefix}*.link written`);
  const link = JSON.parse(readFileSync(join(dir, f), "utf8")).signed as Link;
  rmSync(join(dir, f));
  return link;
}

function comparable(link: Link): Record<string, unknown> {
  return {
    name: link.name,
    command: link.command,
    materials: sortKeys(link.materials),
    products: sortKeys(link.products),
    byproducts: link.byproducts,
    environment: link.environment,
  };
}

function reference(tool: string, args: string[], cwd: string): void {
  const r = spawnSync(tool, args, { cwd, encoding: "utf8", env: cleanEnv() });
  assert.equal(r.status, 0, `${tool} ${args.join(" ")}: ${r.stderr}`);
}

describe("runStep and recordStart/recordStop agree with in-toto-run and in-toto-record", () => {
  test("a command with recorded streams, materials and products", async () => {
    const d = freshDir("run-streams");
    writeTree(d, { "in/a.txt": "a", "in/b.txt": "b", "out/keep": "k" });
    const cmd = ["sh", "-c", "printf 'line\\r\\nnext'; echo err >&2; exit 3"];
    reference(
      "/usr/bin/in-toto-run",
      ["-n", "s", "-m", "in", "-p", "out", "in", "-k", keyPath, "-t", "ed25519", "-s", "--", ...cmd],
      d,
    );
    const ref = readLink(d, "s.");
    const ours = await runStep({
      name: "s",
      materials: ["in"],
      products: ["out", "in"],
      command: cmd,
      recordStreams: true,
      cwd: d,
    });
    assert.equal(ours.returnValue, 3);
    assert.deepEqual(comparable(ours.link), comparable(ref));
  });

  test("streams not recorded, base path, exclude, lstrip", async () => {
    const d = freshDir("run-plain");
    writeTree(d, { "w/src/a.txt": "a", "w/src/b.log": "b", "w/src/c.txt": "c" });
    const cmd = ["sh", "-c", "echo hidden; touch src/new.txt"];
    const flags = ["--base-path", "w", "--exclude", "*.log", "--lstrip-paths", "src/"];
    reference(
      "/usr/bin/in-toto-run",
      [
        "-n",
        "p",
        "-m",
        "src",
        "-p",
        "src",
        "-k",
        keyPath,
        "-t",
        "ed25519",
        ...flags,
        "--",
        "sh",
        "-c",
        "echo hidden",
      ],
      d,
    );
    const ref = readLink(d, "p.");
    const ours = await runStep({
      name: "p",
      materials: ["src"],
      products: ["src"],
      command: ["sh", "-c", "echo hidden"],
      basePath: "w",
      excludePatterns: ["*.log"],
      lstripPaths: ["src/"],
      cwd: d,
    });
    assert.deepEqual(comparable(ours.link), comparable(ref));
    assert.deepEqual(ours.link.byproducts, { stdout: "", stderr: "", "return-value": 0 });
    assert.ok(cmd); // the variant creating files is exercised in runlib.test.ts
  });

  test("--no-command", async () => {
    const d = freshDir("run-nocmd");
    writeTree(d, { "doc.pdf": "%PDF" });
    reference(
      "/usr/bin/in-toto-run",
      ["-n", "review", "-m", "doc.pdf", "-k", keyPath, "-t", "ed25519", "-x"],
      d,
    );
    const ref = readLink(d, "review.");
    const ours = await runStep({ name: "review", materials: ["doc.pdf"], cwd: d });
    assert.deepEqual(comparable(ours.link), comparable(ref));
    assert.deepEqual(ours.link.byproducts, {});
  });

  test("record start and stop", async () => {
    const d = freshDir("record");
    writeTree(d, { "src/a.c": "int a;", "src/.git/x": "x", "notes.txt": "n" });
    reference(
      "/usr/bin/in-toto-record",
      ["start", "-n", "edit", "-m", "src", "notes.txt", "-k", keyPath, "-t", "ed25519"],
      d,
    );
    writeTree(d, { "src/b.c": "int b;" });
    reference(
      "/usr/bin/in-toto-record",
      ["stop", "-n", "edit", "-p", "src", "-k", keyPath, "-t", "ed25519"],
      d,
    );
    const ref = readLink(d, "edit.");
    rmSync(join(d, "src/b.c"));
    const start = await recordStart({ name: "edit", materials: ["src", "notes.txt"], cwd: d });
    writeTree(d, { "src/b.c": "int b;" });
    const stop = await recordStop({ products: ["src"], cwd: d }, start);
    assert.deepEqual(comparable(stop), comparable(ref));
  });
});

describe("gitwildmatch agrees with pathspec 0.11 (property, one python run per batch)", () => {
  test("random patterns and paths", () => {
    const seg = fc.constantFrom(
      "a",
      "b",
      "ab",
      ".git",
      "x.c",
      "é",
      "a b",
      "",
      "*",
      "**",
      "?",
      "[ab]",
      "[!a]",
      "[a-c]",
      "\\*",
      "[]]",
      "*.c",
    );
    const pattern = fc
      .tuple(
        fc.constantFrom("", "/", "!", "#", " "),
        fc.array(seg, { minLength: 1, maxLength: 4 }),
        fc.constantFrom("", "/"),
      )
      .map(([pre, segs, post]) => pre + segs.join("/") + post);
    const name = fc.constantFrom("a", "b", "ab", ".git", "x.c", "é", "a b", "*", "c", "]", "\\");
    const path = fc
      .tuple(fc.constantFrom("", "./", "/"), fc.array(name, { minLength: 1, maxLength: 4 }))
      .map(([pre, parts]) => pre + parts.join("/"));
    const cases = fc.sample(fc.tuple(fc.array(pattern, { minLength: 1, maxLength: 3 }), path), {
      numRuns: 3000,
      seed: 42,
    });
    const expected = JSON.parse(py(PY_MATCH, [], work, JSON.stringify(cases))) as (boolean | "error")[];
    cases.forEach(([patterns, p], i) => {
      let got: boolean | "error";
      try {
        got = new PathSpec(patterns).matches(p);
      } catch {
        got = "error";
      }
      assert.equal(got, expected[i], `patterns ${JSON.stringify(patterns)} path ${JSON.stringify(p)}`);
    });
  });
});
