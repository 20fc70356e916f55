// SPDX-License-Identifier: Apache-2.0
// The files `cairn serve --ca` reads: the trusted-issuer configuration (JSON or YAML, errors
// naming the file and the field) and the passphrase file (never empty).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { CairnError } from "../core/errors.js";
import { readIssuerConfigFile, readSecretFile } from "./ca-store.js";

const dir = mkdtempSync(join(tmpdir(), "cairn-ca-files-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const put = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const refusal = (code: string, file: string, field?: string) => (e: unknown) => {
  const err = e as CairnError;
  assert.equal(err.code, code);
  assert.equal(err.file, file);
  if (field !== undefined) assert.equal(err.field, field);
  return true;
};

describe("readIssuerConfigFile", () => {
  test("YAML {issuers: [...]} and a JSON list read the same", async () => {
    const yaml = put(
      "a.yaml",
      "issuers:\n  - issuerUrl: https://issuer.example\n    audience: sigstore\n    type: email\n",
    );
    const json = put(
      "a.json",
      JSON.stringify([{ issuerUrl: "https://issuer.example", audience: "sigstore", type: "email" }]),
    );
    assert.deepEqual(await readIssuerConfigFile(yaml), await readIssuerConfigFile(json));
  });

  test("a missing field: ERR_FIELD_INVALID naming the file and the field", async () => {
    const p = put("b.json", JSON.stringify([{ issuerUrl: "https://issuer.example", type: "email" }]));
    await assert.rejects(readIssuerConfigFile(p), refusal("ERR_FIELD_INVALID", p, "issuers[0].audience"));
  });

  test("a type's required field: kubernetes needs trustDomain", async () => {
    const p = put("c.yaml", "- issuerUrl: https://k8s.example\n  audience: cairn\n  type: kubernetes\n");
    await assert.rejects(readIssuerConfigFile(p), refusal("ERR_FIELD_INVALID", p, "issuers[0].trustDomain"));
  });

  test("no issuers, not a list, not YAML, no file", async () => {
    const empty = put("d.yaml", "issuers: []\n");
    await assert.rejects(readIssuerConfigFile(empty), refusal("ERR_FIELD_INVALID", empty, "issuers"));
    const scalar = put("e.yaml", "issuers: sigstore\n");
    await assert.rejects(readIssuerConfigFile(scalar), refusal("ERR_FIELD_INVALID", scalar, "issuers"));
    const broken = put("f.yaml", "issuers: [\n");
    await assert.rejects(readIssuerConfigFile(broken), refusal("ERR_YAML_MALFORMED", broken));
    const missing = join(dir, "nope.yaml");
    await assert.rejects(readIssuerConfigFile(missing), refusal("ERR_NOT_FOUND", missing));
  });
});

describe("readSecretFile", () => {
  test("the first line, without its line ending", async () => {
    assert.equal(await readSecretFile(put("p1", "s3cret passphrase\r\nignored\n")), "s3cret passphrase");
  });
  test("an empty secret is refused (ERR_USAGE)", async () => {
    const p = put("p2", "\n");
    await assert.rejects(readSecretFile(p), refusal("ERR_USAGE", p));
  });
});
