// SPDX-License-Identifier: Apache-2.0
// cairn sign-blob | attest-blob | trust root | verify-blob | verify-blob-attestation end to end:
// the worked example of docs/sign-blob.md, run with the built CLI. The certificate comes from the
// test CA of src/testing (cairn's CA is built on another branch).
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { toPem } from "../../src/core/encoding.js";
import { parsePublicKey } from "../../src/core/keys.js";
import { ecPair, issueLeaf, makeTestCa } from "../../src/testing/sigstore-ca.js";
import { type CliResult, cairn, isOneErrorLine, tempDir } from "./cli.js";

describe("cairn sign-blob and verify-blob (docs/sign-blob.md)", () => {
  const t = tempDir("sign-blob");
  const ok = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const id = [
    "--certificate-identity",
    "dev@example.com",
    "--certificate-oidc-issuer",
    "https://issuer.example.com",
  ];
  const root = ["--trusted-root", "trusted_root.json"];

  before(async () => {
    writeFileSync(join(t.dir, "release.tar.gz"), "release bytes\n");
    writeFileSync(join(t.dir, "provenance.json"), JSON.stringify({ buildDefinition: { buildType: "x" } }));
    await ok(["key", "generate", "signer", "--type", "ecdsa"]);
    const pub = parsePublicKey(readFileSync(join(t.dir, "signer.pub"), "utf8"));
    const ca = makeTestCa("example");
    const ct = ecPair();
    const cert = issueLeaf(ca, pub.key.export({ type: "spki", format: "der" }), {
      email: "dev@example.com",
      issuer: "https://issuer.example.com",
      ctlog: ct,
    });
    writeFileSync(join(t.dir, "signer.crt"), toPem("CERTIFICATE", cert));
    writeFileSync(
      join(t.dir, "ca-chain.pem"),
      toPem("CERTIFICATE", ca.interCert) + toPem("CERTIFICATE", ca.rootCert),
    );
    writeFileSync(join(t.dir, "ct.pub"), ct.publicKey.export({ type: "spki", format: "pem" }) as string);
  });
  after(() => t.cleanup());

  it("runs the worked example", async () => {
    await ok([
      "sign-blob",
      "release.tar.gz",
      "--key",
      "signer",
      "--certificate",
      "signer.crt",
      "--bundle",
      "release.sigstore.json",
      "--log-dir",
      "log",
    ]);
    await ok([
      "attest-blob",
      "release.tar.gz",
      "--predicate",
      "provenance.json",
      "--type",
      "https://slsa.dev/provenance/v1",
      "--key",
      "signer",
      "--certificate",
      "signer.crt",
      "--bundle",
      "release.intoto.sigstore.json",
      "--log-dir",
      "log",
    ]);
    const signed = await ok([
      "sign-blob",
      "release.tar.gz",
      "--key",
      "signer",
      "--bundle",
      "release.key.sigstore.json",
      "--log-dir",
      "log",
      "--json",
    ]);
    assert.equal(JSON.parse(signed.stdout).logIndex, 2);
    await ok([
      "trust",
      "root",
      "-o",
      "trusted_root.json",
      "--log-dir",
      "log",
      "--ca",
      "https://ca.example.com=ca-chain.pem",
      "--ctlog",
      "https://ct.example.com=ct.pub",
      "--valid-from",
      "2020-01-01T00:00:00Z",
    ]);
    const v = await ok([
      "verify-blob",
      "release.tar.gz",
      "--bundle",
      "release.sigstore.json",
      ...root,
      ...id,
    ]);
    assert.match(v.stderr, /^Verified OK: signed by dev@example\.com \(https:\/\/issuer\.example\.com\)/);
    const a = await ok([
      "verify-blob-attestation",
      "release.tar.gz",
      "--bundle",
      "release.intoto.sigstore.json",
      ...root,
      "--type",
      "https://slsa.dev/provenance/v1",
      "--certificate-identity-regexp",
      ".*@example\\.com",
      "--certificate-oidc-issuer",
      "https://issuer.example.com",
      "--json",
    ]);
    assert.equal(JSON.parse(a.stdout).predicateType, "https://slsa.dev/provenance/v1");
    await ok([
      "verify-blob",
      "release.tar.gz",
      "--bundle",
      "release.key.sigstore.json",
      ...root,
      "--key",
      "signer.pub",
    ]);

    const other = await cairn(
      [
        "verify-blob",
        "release.tar.gz",
        "--bundle",
        "release.sigstore.json",
        ...root,
        "--certificate-identity",
        "ops@example.com",
        "--certificate-oidc-issuer",
        "https://issuer.example.com",
      ],
      t.dir,
    );
    assert.equal(other.code, 11);
    assert.ok(
      isOneErrorLine(other.stderr) && other.stderr.includes("ERR_SIGSTORE_IDENTITY_MISMATCH"),
      other.stderr,
    );

    appendFileSync(join(t.dir, "release.tar.gz"), "tampered\n");
    const bad = await cairn(
      ["verify-blob", "release.tar.gz", "--bundle", "release.sigstore.json", ...root, ...id],
      t.dir,
    );
    assert.equal(bad.code, 10);
    assert.ok(bad.stderr.includes("ERR_SIGSTORE_ARTIFACT_MISMATCH"), bad.stderr);
  });

  it("verifies a workload (X.509-SVID) signature by SPIFFE ID alone", async () => {
    const pub = parsePublicKey(readFileSync(join(t.dir, "signer.pub"), "utf8"));
    const ca = makeTestCa("workloads");
    const ct = ecPair();
    const svid = issueLeaf(ca, pub.key.export({ type: "spki", format: "der" }), {
      uri: "spiffe://example.com/ns/build/sa/ci",
      ctlog: ct,
    });
    writeFileSync(join(t.dir, "svid.crt"), toPem("CERTIFICATE", svid));
    writeFileSync(
      join(t.dir, "w-chain.pem"),
      toPem("CERTIFICATE", ca.interCert) + toPem("CERTIFICATE", ca.rootCert),
    );
    writeFileSync(join(t.dir, "w-ct.pub"), ct.publicKey.export({ type: "spki", format: "pem" }) as string);
    writeFileSync(join(t.dir, "w.txt"), "workload output\n");
    await ok([
      "sign-blob",
      "w.txt",
      "--key",
      "signer",
      "--certificate",
      "svid.crt",
      "--bundle",
      "w.sigstore.json",
      "--log-dir",
      "log",
    ]);
    await ok([
      "trust",
      "root",
      "-o",
      "w-root.json",
      "--log-dir",
      "log",
      "--ca",
      "https://ca.example.com=w-chain.pem",
      "--ctlog",
      "https://ct.example.com=w-ct.pub",
      "--valid-from",
      "2020-01-01T00:00:00Z",
    ]);
    const w = ["verify-blob", "w.txt", "--bundle", "w.sigstore.json", "--trusted-root", "w-root.json"];
    await ok([...w, "--certificate-spiffe-id-regexp", "spiffe://example\\.com/ns/build/sa/[^/]+"]);
    const other = await cairn([...w, "--certificate-spiffe-id", "spiffe://example.com/ns/prod/sa/ci"], t.dir);
    assert.equal(other.code, 11, other.stderr);
  });

  it("bad input: one error line naming the file, the documented exit code, no partial bundle", async () => {
    writeFileSync(
      join(t.dir, "broken.json"),
      '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ',
    );
    const broken = await cairn(
      ["verify-blob", "release.tar.gz", "--bundle", "broken.json", ...root, "--key", "signer.pub"],
      t.dir,
    );
    assert.equal(broken.code, 12);
    assert.ok(isOneErrorLine(broken.stderr) && broken.stderr.includes("broken.json"), broken.stderr);
    const bad = JSON.parse(readFileSync(join(t.dir, "release.sigstore.json"), "utf8"));
    bad.verificationMaterial.tlogEntries[0].logIndex = "-1";
    writeFileSync(join(t.dir, "bad.json"), JSON.stringify(bad));
    const neg = await cairn(["verify-blob", "release.tar.gz", "--bundle", "bad.json", ...root, ...id], t.dir);
    assert.equal(neg.code, 12);
    assert.ok(isOneErrorLine(neg.stderr) && neg.stderr.includes("ERR_SIGSTORE_BUNDLE_INVALID"), neg.stderr);
    const noRoot = await cairn(
      [
        "verify-blob",
        "release.tar.gz",
        "--bundle",
        "release.sigstore.json",
        "--trusted-root",
        "nope.json",
        ...id,
      ],
      t.dir,
    );
    assert.equal(noRoot.code, 13);
    writeFileSync(join(t.dir, "notakey"), "not a key");
    const noKey = await cairn(
      ["sign-blob", "release.tar.gz", "--key", "notakey", "--bundle", "never.json", "--log-dir", "log"],
      t.dir,
    );
    assert.equal(noKey.code, 12);
    assert.ok(isOneErrorLine(noKey.stderr), noKey.stderr);
    assert.equal(existsSync(join(t.dir, "never.json")), false);
  });

  it("refuses missing identity flags, a wrong predicate type and a bundle from an untrusted log", async () => {
    const noId = await cairn(
      ["verify-blob", "release.tar.gz", "--bundle", "release.sigstore.json", ...root],
      t.dir,
    );
    assert.equal(noId.code, 2);
    const typ = await cairn(
      [
        "verify-blob-attestation",
        "sha256:" + "0".repeat(64),
        "--bundle",
        "release.intoto.sigstore.json",
        ...root,
        ...id,
      ],
      t.dir,
    );
    assert.equal(typ.code, 10);
    await ok([
      "trust",
      "root",
      "-o",
      "other_root.json",
      "--log-dir",
      "other-log",
      "--ca",
      "https://ca.example.com=ca-chain.pem",
      "--ctlog",
      "https://ct.example.com=ct.pub",
    ]);
    const untrusted = await cairn(
      [
        "verify-blob",
        "release.tar.gz",
        "--bundle",
        "release.key.sigstore.json",
        "--trusted-root",
        "other_root.json",
        "--key",
        "signer.pub",
      ],
      t.dir,
    );
    assert.equal(untrusted.code, 10);
    assert.ok(untrusted.stderr.includes("ERR_SIGSTORE_TLOG_INVALID"), untrusted.stderr);
  });
});
