// SPDX-License-Identifier: Apache-2.0
// The TSA directory: init writes encrypted keys and a chain the engine accepts, load issues
// tokens under the directory's policy, and a second init, a wrong passphrase or a bad manifest
// are refused with their codes.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseDer } from "../core/der.js";
import { CairnError } from "../core/errors.js";
import { parseTimestampResponse } from "../formats/sigstore/index.js";
import { timestampRequestFor } from "../testing/tsa-kit.js";
import { describeTsaDirectory, initTsaDirectory, loadTsaDirectory, TSA_MANIFEST } from "./tsa-store.js";

const PASS = "a long test passphrase";
const subject = { organization: "cairn test", commonName: "cairn TSA" };
let dir: string;

const code = (want: string) => (e: unknown) => e instanceof CairnError && e.code === want;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-tsa-store-"));
  await initTsaDirectory(dir, { subject, passphrase: PASS, policy: "1.2.3.4.5" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("TSA directory", () => {
  it("init writes encrypted keys (0600) and a chain; load issues tokens under its policy", async () => {
    for (const k of ["tsa-root.key", "tsa-1.key"]) {
      assert.equal(statSync(join(dir, k)).mode & 0o777, 0o600);
      assert.match(readFileSync(join(dir, k), "utf8"), /ENCRYPTED PRIVATE KEY/);
    }
    const d = await describeTsaDirectory(dir);
    assert.equal(d.policy, "1.2.3.4.5");
    assert.equal(d.certificates.length, 2);
    const tsa = await loadTsaDirectory(dir, PASS);
    const resp = await tsa.timestamp(timestampRequestFor(Buffer.from("sig")));
    assert.equal(parseDer(parseTimestampResponse(resp).tstInfo).child(1).oid(), "1.2.3.4.5");
  });

  it("refuses a second init, a wrong passphrase, and a manifest that is not one", async () => {
    const before = readFileSync(join(dir, TSA_MANIFEST));
    await assert.rejects(initTsaDirectory(dir, { subject, passphrase: PASS }), code("ERR_USAGE"));
    assert.deepEqual(readFileSync(join(dir, TSA_MANIFEST)), before);
    await assert.rejects(loadTsaDirectory(dir, "wrong"), code("ERR_KEY_PASSPHRASE"));
    const bad = mkdtempSync(join(tmpdir(), "cairn-tsa-bad-"));
    try {
      await assert.rejects(initTsaDirectory(bad, { subject, passphrase: "" }), code("ERR_USAGE"));
      await assert.rejects(
        initTsaDirectory(bad, { subject, passphrase: PASS, policy: "x" }),
        code("ERR_USAGE"),
      );
      writeFileSync(
        join(bad, TSA_MANIFEST),
        JSON.stringify({ ...JSON.parse(before.toString()), policy: "x" }),
      );
      await assert.rejects(describeTsaDirectory(bad), code("ERR_FIELD_INVALID"));
      writeFileSync(join(bad, TSA_MANIFEST), "{");
      await assert.rejects(describeTsaDirectory(bad), code("ERR_JSON_MALFORMED"));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
