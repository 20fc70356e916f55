// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { KeyRing, keySigner } from "../../core/signer.js";
import { parseLink } from "../../formats/intoto/link.js";
import { parseSignedDocument, verifySignedDocument } from "../../formats/intoto/metablock.js";
import { recordStart, recordStop, runInspection, runStep, signLink } from "./runlib.js";

let root: string;
let n = 0;
before(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), "cairn-runlib-")));
});
after(() => rmSync(root, { recursive: true, force: true }));

function dir(files: Record<string, string> = {}): string {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  for (const [p, c] of Object.entries(files)) writeFileSync(join(d, p), c);
  return d;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const isCode = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code;

describe("runStep", () => {
  test("records materials, runs the command, records products, captures streams", async () => {
    const d = dir({ "in.txt": "in" });
    const echoed: string[] = [];
    const { link, returnValue } = await runStep({
      name: "build",
      materials: ["."],
      products: ["."],
      command: ["sh", "-c", "printf 'out\\r\\nx\\r'; printf 'err\\377' >&2; echo made > out.txt; exit 7"],
      recordStreams: true,
      cwd: d,
      echo: { stdout: { write: (c) => echoed.push(Buffer.from(c).toString()) } },
    });
    assert.equal(returnValue, 7);
    assert.deepEqual(link.materials, { "in.txt": { sha256: sha256("in") } });
    assert.deepEqual(Object.keys(link.products).sort(), ["in.txt", "out.txt"]);
    // Universal newlines, as the reference reads captured output back in text mode.
    assert.deepEqual(link.byproducts, { stdout: "out\nx\n", stderr: "err\ufffd", "return-value": 7 });
    assert.equal(echoed.join(""), "out\r\nx\r");
    assert.deepEqual(link.command[0], "sh");
    assert.deepEqual(link.environment, {});
    assert.equal(link._type, "link");
    parseLink(JSON.parse(JSON.stringify(link)));
  });

  test("without recordStreams the output is discarded and recorded as empty strings", async () => {
    const d = dir();
    let echoed = false;
    const { link } = await runStep({
      name: "s",
      command: ["sh", "-c", "echo hi; echo there >&2"],
      cwd: d,
      echo: { stdout: { write: () => (echoed = true) } },
    });
    assert.deepEqual(link.byproducts, { stdout: "", stderr: "", "return-value": 0 });
    assert.equal(echoed, false);
  });

  test("no command: empty command and byproducts, return value 0", async () => {
    const d = dir({ f: "x" });
    const { link, returnValue } = await runStep({ name: "review", materials: ["f"], cwd: d });
    assert.equal(returnValue, 0);
    assert.deepEqual(link.command, []);
    assert.deepEqual(link.byproducts, {});
    assert.deepEqual(link.products, {});
  });

  test("a command killed by a signal returns -signal, as Python's returncode", async () => {
    const { returnValue, link } = await runStep({
      name: "k",
      command: ["sh", "-c", "kill -9 $$"],
      cwd: dir(),
    });
    assert.equal(returnValue, -9);
    assert.equal(link.byproducts["return-value"], -9);
  });

  test("a command that cannot be started is ERR_COMMAND_FAILED", async () => {
    await assert.rejects(
      runStep({ name: "x", command: ["/nonexistent/cairn-no-such-command"], cwd: dir() }),
      isCode("ERR_COMMAND_FAILED"),
    );
  });

  test("the timeout kills the command and fails", async () => {
    const t0 = Date.now();
    await assert.rejects(
      runStep({ name: "x", command: ["sleep", "5"], cwd: dir(), timeoutSeconds: 0.2 }),
      isCode("ERR_COMMAND_FAILED"),
    );
    assert.ok(Date.now() - t0 < 4000);
  });

  test("recordEnvironment records the working directory", async () => {
    const d = dir();
    const { link } = await runStep({ name: "e", cwd: d, recordEnvironment: true });
    assert.deepEqual(link.environment, { workdir: d });
  });

  test("base path is relative to cwd; symlinked directories are followed by default", async () => {
    const d = dir();
    mkdirSync(join(d, "w"));
    writeFileSync(join(d, "w", "a"), "a");
    const { link } = await runStep({ name: "b", materials: ["."], basePath: "w", cwd: d });
    assert.deepEqual(Object.keys(link.materials), ["a"]);
  });

  test("runInspection records '.' around the command", async () => {
    const d = dir({ f: "1" });
    const { link, returnValue } = await runInspection("inspect", ["sh", "-c", "echo 2 > g"], d);
    assert.equal(returnValue, 0);
    assert.deepEqual(Object.keys(link.materials), ["f"]);
    assert.deepEqual(Object.keys(link.products).sort(), ["f", "g"]);
  });
});

describe("recordStart / recordStop", () => {
  test("start records materials only; stop adds products and keeps every other field", async () => {
    const d = dir({ a: "1" });
    const start = await recordStart({ name: "edit", materials: ["."], cwd: d, recordEnvironment: true });
    assert.deepEqual(start.materials, { a: { sha256: sha256("1") } });
    assert.deepEqual(start.products, {});
    assert.deepEqual(start.command, []);
    assert.deepEqual(start.byproducts, {});
    assert.deepEqual(start.environment, { workdir: d });
    writeFileSync(join(d, "b"), "2");
    const stop = await recordStop({ products: ["."], cwd: d }, { ...start, extra: "kept" });
    assert.deepEqual(Object.keys(stop.products).sort(), ["a", "b"]);
    assert.deepEqual(stop.materials, start.materials);
    assert.equal(stop.extra, "kept");
    assert.equal(stop.name, "edit");
  });
});

describe("signLink", () => {
  test("metablock and DSSE documents verify; file names use the first signer's key id", async () => {
    const k1 = generateKey("ed25519");
    const k2 = generateKey("ecdsa");
    const { link } = await runStep({ name: "pkg", cwd: dir() });
    const ring = new KeyRing([k1.public, k2.public]);
    const mb = await signLink(link, [keySigner(k1), keySigner(k2)], "metablock");
    assert.equal(mb.fileName, `pkg.${k1.public.keyid.slice(0, 8)}.link`);
    const v = verifySignedDocument(parseSignedDocument(JSON.parse(JSON.stringify(mb.document))), ring, 2);
    assert.deepEqual(v.signed, JSON.parse(JSON.stringify(link)));
    const dsse = await signLink(link, [keySigner(k2)], "dsse", { unfinished: true });
    assert.equal(dsse.fileName, `.pkg.${k2.public.keyid.slice(0, 8)}.link-unfinished`);
    const v2 = verifySignedDocument(parseSignedDocument(JSON.parse(JSON.stringify(dsse.document))), ring);
    assert.deepEqual(v2.signed, JSON.parse(JSON.stringify(link)));
  });

  test("no signer is a usage error", async () => {
    const { link } = await runStep({ name: "pkg", cwd: dir() });
    await assert.rejects(signLink(link, [], "metablock"), isCode("ERR_USAGE"));
  });
});
