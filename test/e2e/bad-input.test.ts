// SPDX-License-Identifier: Apache-2.0
// Bad input, end to end: one clear error line naming the file and field, the documented non-zero
// exit code, no stack trace, and no partial output file.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";

const t = tempDir("bad-input");
const d = t.dir;
const p = (f: string) => join(d, f);

before(async () => {
  for (const [name, type] of [
    ["owner", "ed25519"],
    ["bob", "ecdsa"],
    ["mallory", "ed25519"],
  ]) {
    const r = await cairn(["key", "generate", name!, "--type", type!], d);
    assert.equal(r.code, 0, r.stderr);
  }
  writeFileSync(
    p("layout.yaml"),
    "expires: 1y\nkeys: {bob: bob.pub}\nsteps:\n  - name: build\n    functionaries: [bob]\n    expected_products: [CREATE app, DISALLOW '*']\n",
  );
  const r = await cairn(["layout", "create", "layout.yaml", "-k", "owner", "-o", "root.layout"], d);
  assert.equal(r.code, 0, r.stderr);
});
after(t.cleanup);

function expectError(
  r: { code: number; stderr: string },
  exit: number,
  code: string,
  ...mentions: string[]
): void {
  assert.equal(r.code, exit, r.stderr);
  assert.ok(isOneErrorLine(r.stderr), `not one clear error line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, new RegExp(`^cairn: ${code}: `));
  for (const m of mentions) assert.ok(r.stderr.includes(m), `error does not mention ${m}: ${r.stderr}`);
}

describe("bad input is refused clearly", () => {
  it("a layout file that does not exist: exit 13, names the file", async () => {
    const r = await cairn(["verify", "-l", "nope.layout", "-k", "owner.pub"], d);
    expectError(r, 13, "ERR_NOT_FOUND", "nope.layout");
  });

  it("truncated layout JSON: exit 12, names the file and the position", async () => {
    writeFileSync(p("trunc.layout"), readFileSync(p("root.layout"), "utf8").slice(0, 200));
    const r = await cairn(["verify", "-l", "trunc.layout", "-k", "owner.pub"], d);
    expectError(r, 12, "ERR_JSON_MALFORMED", "trunc.layout");
  });

  it("a document that is not a layout: exit 12, names the field", async () => {
    writeFileSync(p("notlayout.json"), JSON.stringify({ signed: { _type: "link" }, signatures: [] }));
    const r = await cairn(["verify", "-l", "notlayout.json", "-k", "owner.pub"], d);
    expectError(r, 12, "ERR_FIELD_INVALID", "notlayout.json", "signed._type");
  });

  it("duplicate key ids among a layout's signatures: exit 12", async () => {
    const doc = JSON.parse(readFileSync(p("root.layout"), "utf8"));
    doc.signatures.push(doc.signatures[0]);
    writeFileSync(p("dup.layout"), JSON.stringify(doc));
    const r = await cairn(["verify", "-l", "dup.layout", "-k", "owner.pub"], d);
    expectError(r, 12, "ERR_KEY_DUPLICATE", "dup.layout", "signatures[1].keyid");
  });

  it("a float in a signed layout (no canonical form): exit 12, names the field", async () => {
    const doc = JSON.parse(readFileSync(p("root.layout"), "utf8"));
    doc.signed.steps[0].threshold = 1.5;
    writeFileSync(p("float.layout"), JSON.stringify(doc));
    const r = await cairn(["verify", "-l", "float.layout", "-k", "owner.pub", "--json"], d);
    assert.equal(r.code, 12, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.failure.code, "ERR_CANONICAL_JSON_UNSUPPORTED");
    assert.equal(report.failure.field, "steps[0].threshold");
  });

  it("a key of the wrong type for --key-types: exit 12", async () => {
    const r = await cairn(["verify", "-l", "root.layout", "-k", "owner.pub", "-t", "rsa"], d);
    expectError(r, 12, "ERR_KEY_INVALID", "owner.pub", "keytype");
  });

  it("a key file that is not a key: exit 12, names the file", async () => {
    writeFileSync(p("garbage.pub"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    const r = await cairn(["verify", "-l", "root.layout", "-k", "garbage.pub"], d);
    expectError(r, 12, "ERR_KEY_INVALID", "garbage.pub");
  });

  it("a layout signed by another key: exit 10, the report says which key did not sign", async () => {
    const r = await cairn(["verify", "-l", "root.layout", "-k", "mallory.pub"], d);
    assert.equal(r.code, 10);
    assert.match(r.stdout, /FAILED: ERR_LAYOUT_SIGNATURE_INVALID/);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
  });

  it("a missing link file: exit 10, the report names the step and link", async () => {
    const r = await cairn(["verify", "-l", "root.layout", "-k", "owner.pub", "--link-dir", "."], d);
    assert.equal(r.code, 10);
    assert.match(r.stdout, /step build: 0 of 1 required link\(s\) verified/);
    assert.match(r.stdout, /build\.[0-9a-f]{8}\.link .*missing/);
  });

  it("a bad layout description: exit 12, names the description file and field, writes nothing", async () => {
    writeFileSync(
      p("bad.yaml"),
      "expires: 1y\nkeys: {bob: bob.pub}\nsteps:\n  - name: build\n    functionaries: [carol]\n",
    );
    const r = await cairn(["layout", "create", "bad.yaml", "-k", "owner", "-o", "bad.layout"], d);
    expectError(r, 12, "ERR_FIELD_INVALID", "bad.yaml", "steps[0].functionaries[0]");
    assert.equal(existsSync(p("bad.layout")), false);
  });

  it("malformed YAML: exit 12, names the file and line", async () => {
    writeFileSync(p("broken.yaml"), "expires: 1y\nsteps: [\n");
    const r = await cairn(["layout", "create", "broken.yaml", "-k", "owner", "-o", "x.layout"], d);
    expectError(r, 12, "ERR_YAML_MALFORMED", "broken.yaml");
    assert.equal(existsSync(p("x.layout")), false);
  });

  it("a description naming a key file that does not exist: exit 13, writes nothing", async () => {
    writeFileSync(p("nokey.yaml"), "keys: {bob: missing.pub}\nsteps: []\n");
    const r = await cairn(["layout", "create", "nokey.yaml", "-k", "owner", "-o", "nokey.layout"], d);
    expectError(r, 13, "ERR_NOT_FOUND", "keys.bob");
    assert.equal(existsSync(p("nokey.layout")), false);
  });

  it("an encrypted key without its passphrase: exit 2; with it, it signs", async () => {
    let r = await cairn(["key", "generate", "locked", "--type", "ed25519", "--passphrase-env", "PW"], d, {
      PW: "s3cret",
    });
    assert.equal(r.code, 0, r.stderr);
    r = await cairn(["layout", "create", "layout.yaml", "-k", "locked", "-o", "locked.layout"], d);
    expectError(r, 2, "ERR_KEY_PASSPHRASE", "locked");
    assert.equal(existsSync(p("locked.layout")), false);
    r = await cairn(["layout", "create", "layout.yaml", "-k", "locked", "-o", "locked.layout"], d, {
      CAIRN_KEY_PASSPHRASE: "wrong",
    });
    expectError(r, 2, "ERR_KEY_PASSPHRASE");
    r = await cairn(["layout", "create", "layout.yaml", "-k", "locked", "-o", "locked.layout"], d, {
      CAIRN_KEY_PASSPHRASE: "s3cret",
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it("usage errors exit 2", async () => {
    assert.equal((await cairn(["verify", "-k", "owner.pub"], d)).code, 2);
    assert.equal((await cairn(["frobnicate"], d)).code, 2);
    assert.equal((await cairn(["key", "generate", "x", "--type", "dsa"], d)).code, 2);
    assert.equal(
      (await cairn(["verify", "-l", "root.layout", "-k", "owner.pub", "-t", "ed25519", "rsa"], d)).code,
      2,
    );
  });
});
