// SPDX-License-Identifier: Apache-2.0
// cairn oci sign|attest --form bundle and verify|verify-attestation against a trusted root, end to
// end with the built CLI: Sigstore bundles attached as cosign 3 attaches them (a referrer of
// artifactType application/vnd.dev.sigstore.bundle.v0.3+json). In a layout and through Debian's
// docker-registry (2.8, no referrers API: the tag-schema fallback) on 127.0.0.1: a certificate
// (the test CA of src/testing) and a key; tree shows the bundles; copy carries them with digests
// unchanged and they verify at the destination; another identity is exit 11; a bundle moved onto
// another image and an altered one are exit 10; and @sigstore/verify (offline, with the same
// trusted root) accepts the bundle read back from the registry.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { toPem } from "../../src/core/encoding.js";
import { parsePublicKey } from "../../src/core/keys.js";
import { ARTIFACT_TYPE_SIGSTORE_BUNDLE } from "../../src/engines/oci/attached.js";
import { attachBundle } from "../../src/engines/oci/bundle.js";
import { RegistryClient } from "../../src/engines/oci/registry.js";
import { layoutStore } from "../../src/engines/oci/store.js";
import type { OciDigest } from "../../src/formats/oci/index.js";
import { parseBundleJson } from "../../src/formats/sigstore/index.js";
import { OciLayout } from "../../src/runtime/oci-layout.js";
import { registryHttp } from "../../src/runtime/registry-http.js";
import { writeSmallImage } from "../../src/testing/oci-image.js";
import { registryMissing, startRegistry, type TestRegistry } from "../../src/testing/registry.js";
import { ecPair, issueLeaf, makeTestCa } from "../../src/testing/sigstore-ca.js";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";

const missing = registryMissing();

async function writeImage(dir: string, seed: string, tag: string): Promise<OciDigest> {
  return writeSmallImage(await OciLayout.init(dir), seed, tag);
}

interface TreeJson {
  kind: string;
  digest: string;
  artifactType?: string;
  layers?: { predicateType?: string }[];
  children: TreeJson[];
}
const flatten = (t: TreeJson): string[] =>
  [`${t.kind} ${t.digest} ${t.artifactType ?? ""}`, ...t.children.flatMap(flatten)].sort();

describe("cairn oci --form bundle (Sigstore bundles on images)", () => {
  it("has docker-registry (scripts/test.sh installs it)", () => assert.equal(missing, undefined));
  let reg: TestRegistry;
  const t = tempDir("oci-bundle");
  const w = t.dir;
  const tls = "--tls-verify=false";
  const dev = [
    "--certificate-identity",
    "dev@example.com",
    "--certificate-oidc-issuer",
    "https://issuer.example.com",
  ];
  const root = ["--trusted-root", "trusted_root.json"];
  const type = "https://slsa.dev/provenance/v1";

  const run = (args: string[]) => cairn(args, w);
  const ok = async (args: string[], code = 0): Promise<string> => {
    const r = await run(args);
    assert.equal(r.code, code, `cairn ${args.join(" ")}\n${r.stdout}${r.stderr}`);
    if (code !== 0) assert.ok(isOneErrorLine(r.stderr), r.stderr);
    return code === 0 ? r.stdout : r.stderr;
  };

  before(async () => {
    reg = await startRegistry();
    await writeImage(join(w, "image"), "demo", "v1");
    await writeImage(join(w, "other"), "other", "v1");
    writeFileSync(join(w, "provenance.json"), JSON.stringify({ buildDefinition: { buildType: "x" } }));
    await ok(["key", "generate", "signer", "--type", "ecdsa"]);
    await ok(["key", "generate", "someone-else", "--type", "ecdsa"]);
    const pub = parsePublicKey(readFileSync(join(w, "signer.pub"), "utf8"));
    const ca = makeTestCa("example");
    const ct = ecPair();
    const cert = issueLeaf(ca, pub.key.export({ type: "spki", format: "der" }), {
      email: "dev@example.com",
      issuer: "https://issuer.example.com",
      ctlog: ct,
    });
    writeFileSync(join(w, "signer.crt"), toPem("CERTIFICATE", cert));
    writeFileSync(
      join(w, "ca-chain.pem"),
      toPem("CERTIFICATE", ca.interCert) + toPem("CERTIFICATE", ca.rootCert),
    );
    writeFileSync(join(w, "ct.pub"), ct.publicKey.export({ type: "spki", format: "pem" }) as string);
    // Sign and attest in the layout: with the certificate, and with the bare key.
    const cert_ = ["--key", "signer", "--certificate", "signer.crt", "--log-dir", "log"];
    await ok(["oci", "sign", "oci:image:v1", "--form", "bundle", ...cert_]);
    await ok([
      "oci",
      "attest",
      "oci:image:v1",
      "--form",
      "bundle",
      "--predicate",
      "provenance.json",
      "--type",
      type,
      ...cert_,
    ]);
    await ok(["oci", "sign", "oci:image:v1", "--form", "bundle", "--key", "signer", "--log-dir", "log"]);
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
  });
  after(async () => {
    await reg?.stop();
    t.cleanup();
  });

  it("verifies in the layout by identity and by key; another identity is exit 11", async () => {
    const v = JSON.parse(await ok(["oci", "verify", "oci:image:v1", ...root, ...dev, "--json"]));
    assert.equal(v.bundles.length, 1);
    assert.equal(v.bundles[0].signer.subject, "dev@example.com");
    const a = JSON.parse(
      await ok(["oci", "verify-attestation", "oci:image:v1", ...root, ...dev, "--type", type, "--json"]),
    );
    assert.equal(a.bundles.length, 1);
    assert.equal(a.bundles[0].statement.predicateType, type);
    await ok(["oci", "verify", "oci:image:v1", ...root, "--key", "signer.pub"]);
    const ops = await ok(
      [
        "oci",
        "verify",
        "oci:image:v1",
        ...root,
        "--certificate-identity",
        "ops@example.com",
        "--certificate-oidc-issuer",
        "https://issuer.example.com",
      ],
      11,
    );
    assert.match(ops, /^cairn: ERR_SIGSTORE_IDENTITY_MISMATCH: /);
    const otherKey = await ok(["oci", "verify", "oci:image:v1", ...root, "--key", "someone-else.pub"], 10);
    assert.match(otherKey, /^cairn: ERR_/);
    // No identity and no key: a usage error, never a pass.
    await ok(["oci", "verify", "oci:image:v1", ...root], 2);
    // The other forms are not there.
    await ok(["oci", "verify", "oci:image:v1", "--key", "signer.pub"], 10);
  });

  it("copies to the registry and back with the bundles, digests unchanged; tree shows them", async () => {
    const image = `docker://${reg.host}/bundle/app:v1`;
    await ok(["oci", "copy", "oci:image:v1", image, tls]);
    await ok(["oci", "copy", image, "oci:mirror:v1", tls]);
    const trees = await Promise.all(
      [["oci:image:v1"], [image, tls], ["oci:mirror:v1"]].map(async (a) =>
        JSON.parse(await ok(["oci", "tree", ...a, "--json"])),
      ),
    );
    assert.deepEqual(flatten(trees[1]), flatten(trees[0]));
    assert.deepEqual(flatten(trees[2]), flatten(trees[0]));
    const bundles = trees[1].children.filter((c: TreeJson) => c.kind === "bundle");
    assert.equal(bundles.length, 3);
    for (const b of bundles) assert.equal(b.artifactType, ARTIFACT_TYPE_SIGSTORE_BUNDLE);
    assert.deepEqual(bundles.map((b: TreeJson) => b.layers?.[0]?.predicateType).sort(), [
      "https://sigstore.dev/cosign/sign/v1",
      "https://sigstore.dev/cosign/sign/v1",
      type,
    ]);
    const text = await ok(["oci", "tree", image, tls]);
    assert.match(text, /bundle {2}application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json {2}sha256:/);
    for (const target of [[image, tls], ["oci:mirror:v1"]]) {
      await ok(["oci", "verify", ...target, ...root, ...dev]);
      await ok(["oci", "verify-attestation", ...target, ...root, ...dev, "--type", type]);
      await ok(["oci", "verify", ...target, ...root, "--key", "signer.pub"]);
    }

    // @sigstore/verify accepts the bundle read back from the registry (offline, cairn's trusted root).
    const client = new RegistryClient({ http: registryHttp(), tlsVerify: false });
    const repo = { registry: reg.host, repository: "bundle/app" };
    const att = bundles.find((b: TreeJson) => b.layers?.[0]?.predicateType === type);
    const m = await client.getManifest({ ...repo, digest: att.digest });
    assert.ok(m.kind === "manifest");
    const bytes = await client.getBlob(repo, m.manifest.layers[0]!);
    const tm = toTrustMaterial(
      TrustedRoot.fromJSON(JSON.parse(readFileSync(join(w, "trusted_root.json"), "utf8"))),
    );
    new Verifier(tm).verify(toSignedEntity(bundleFromJSON(JSON.parse(new TextDecoder().decode(bytes)))), {
      subjectAlternativeName: "dev@example.com",
      extensions: { issuer: "https://issuer.example.com" },
    });
  });

  it("refuses a bundle moved onto another image, and an altered one (exit 10)", async () => {
    const layout = await OciLayout.open(join(w, "image"));
    const from = layoutStore(layout, "oci:image:v1", "v1");
    const refs = (await from.referrers((await from.resolve()).digest)).filter(
      (d) => d.artifactType === ARTIFACT_TYPE_SIGSTORE_BUNDLE,
    );
    const first = await from.getManifest(refs[0]!.digest);
    assert.ok(first.kind === "manifest");
    const bytes = await from.getBlob(first.manifest.layers[0]!, 1 << 20);
    // Re-attached to another image, with a referrer naming it: the signed statement names the first.
    const to = layoutStore(await OciLayout.open(join(w, "other")), "oci:other:v1", "v1");
    await attachBundle(to, await to.resolve(), parseBundleJson(bytes), undefined);
    const moved = await ok(["oci", "verify", "oci:other:v1", ...root, ...dev], 10);
    assert.match(moved, /^cairn: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH: /);
    // Through the registry too.
    const other = `docker://${reg.host}/bundle/other:v1`;
    await ok(["oci", "copy", "oci:other:v1", other, tls]);
    const movedThere = await ok(["oci", "verify", other, tls, ...root, ...dev], 10);
    assert.match(movedThere, /^cairn: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH: /);

    // An altered bundle: its signature changed.
    await writeImage(join(w, "altered"), "altered", "v1");
    const alt = layoutStore(await OciLayout.open(join(w, "altered")), "oci:altered:v1", "v1");
    await ok([
      "oci",
      "sign",
      "oci:altered:v1",
      "--form",
      "bundle",
      "--key",
      "signer",
      "--certificate",
      "signer.crt",
      "--log-dir",
      "log",
    ]);
    const [r] = await alt.referrers((await alt.resolve()).digest);
    const sm = await alt.getManifest(r!.digest);
    assert.ok(sm.kind === "manifest");
    const doc = JSON.parse(new TextDecoder().decode(await alt.getBlob(sm.manifest.layers[0]!, 1 << 20)));
    const sig = Buffer.from(doc.dsseEnvelope.signatures[0].sig, "base64");
    sig.writeUInt8(sig.readUInt8(sig.length - 1) ^ 1, sig.length - 1);
    doc.dsseEnvelope.signatures[0].sig = sig.toString("base64");
    await writeImage(join(w, "altered2"), "altered", "v1");
    const alt2 = layoutStore(await OciLayout.open(join(w, "altered2")), "oci:altered2:v1", "v1");
    await attachBundle(alt2, await alt2.resolve(), parseBundleJson(JSON.stringify(doc)), undefined);
    const bad = await ok(["oci", "verify", "oci:altered2:v1", ...root, ...dev], 10);
    assert.match(bad, /^cairn: ERR_/);
  });
});
