// SPDX-License-Identifier: Apache-2.0
// cairn run --bundle with the built CLI: the link is written as a DSSE envelope and the same
// envelope (same signature) is logged and written beside it as a Sigstore bundle v0.3, which
// cairn's verifier and @sigstore/verify (offline, with the trusted root `cairn trust root` builds
// from the log) accept with the key; a log that cannot be reached leaves neither file.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { parsePublicKey } from "../../src/core/keys.js";
import { verifyBundle } from "../../src/engines/sigstore/index.js";
import { parseBundleJson, parseTrustedRootJson } from "../../src/formats/sigstore/index.js";
import { cairn, tempDir } from "./cli.js";

describe("cairn run --bundle", () => {
  const t = tempDir("run-bundle");
  after(() => t.cleanup());
  const ok = async (args: string[], code = 0) => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, code, `cairn ${args.join(" ")}\n${r.stdout}${r.stderr}`);
    return r;
  };

  it("writes the link's envelope as a logged Sigstore bundle beside it", async () => {
    await ok(["key", "generate", "bob", "--type", "ecdsa"]);
    const r = await ok(["run", "-n", "build", "-k", "bob", "-x", "--bundle", "--log-dir", "log", "--json"]);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.bundle, `${summary.link}.sigstore.json`);
    const link = JSON.parse(readFileSync(summary.link, "utf8"));
    const bundleJson = JSON.parse(readFileSync(summary.bundle, "utf8"));
    assert.deepEqual(bundleJson.dsseEnvelope, link);
    await ok([
      "trust",
      "root",
      "-o",
      "root.json",
      "--log-dir",
      "log",
      "--valid-from",
      "2020-01-01T00:00:00Z",
    ]);
    const rootJson = readFileSync(join(t.dir, "root.json"));
    const pub = parsePublicKey(readFileSync(join(t.dir, "bob.pub"), "utf8"));
    const v = verifyBundle(parseBundleJson(JSON.stringify(bundleJson)), {
      trustedRoot: parseTrustedRootJson(rootJson),
      publicKey: pub.key,
    });
    assert.equal(JSON.parse(v.payload!.toString("utf8")).name, "build");
    assert.equal(v.tlogEntries.length, 1);
    const tm = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(rootJson.toString("utf8"))), {
      [pub.keyid]: {
        rawBytes: pub.key.export({ type: "spki", format: "der" }),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
      },
    } as never);
    new Verifier(tm).verify(toSignedEntity(bundleFromJSON(bundleJson)));
  });

  it("writes nothing when the log cannot be reached", async () => {
    const before = readdirSync(t.dir).length;
    const r = await ok(
      ["run", "-n", "pack", "-k", "bob", "-x", "--bundle", "--rekor-url", "http://127.0.0.1:1"],
      14,
    );
    assert.match(r.stderr, /^cairn: ERR_/);
    assert.equal(readdirSync(t.dir).length, before);
    assert.equal(existsSync(join(t.dir, "pack")), false);
  });
});
