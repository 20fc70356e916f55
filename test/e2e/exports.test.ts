// SPDX-License-Identifier: Apache-2.0
// The package's public entry points resolve through its exports map, as a user's import would.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "..", "..", "package.json"), "utf8"));

test("every exports entry loads from the build and offers what it documents", async () => {
  const expected: Record<string, string[]> = {
    ".": [
      "canonicalize",
      "verifySupplyChain",
      "runStep",
      "signEnvelope",
      "parseStatement",
      "parseProvenanceV1",
    ],
    "./core": ["canonicalize", "parsePublicKey", "keySigner", "KeyRing", "cairnError", "fnmatch"],
    "./formats/dsse": ["pae", "signEnvelope", "verifyEnvelope"],
    "./formats/intoto": ["parseLayout", "parseLink", "signMetablock", "parseStatement"],
    "./formats/slsa": ["parseProvenanceV1", "provenanceFromStep"],
    "./formats/oci": [
      "parseManifestOrIndex",
      "verifyDigest",
      "digestOf",
      "newImageManifest",
      "validateDescriptor",
    ],
    "./formats/sigstore": ["parseBundle", "parseTrustedRoot", "parseRekorBody", "checkEntryMatchesBundle"],
    "./formats/tlog": ["verifyInclusion", "verifyConsistency", "parseCheckpoint", "openNote", "MerkleTree"],
    "./formats/tuf": ["parseMetadataBytes", "verifyMetadata", "signMetadata", "newRoot", "rolesForTarget"],
    "./engines/oci": ["RegistryClient", "parseImageReference", "parseChallenges"],
    "./runtime/oci": ["OciLayout", "registryHttp", "dockerCredentials"],
    "./engines/store": ["AttestationStore", "MemorySearchIndex"],
    "./engines/sigstore": [
      "verifyBundle",
      "signBlob",
      "signDsse",
      "buildTrustedRoot",
      "checkIdentityPolicy",
      "LocalRekorLog",
    ],
    "./engines/tuf": ["TufClient", "initTrustedRoot", "checkLengthAndHashes"],
    "./engines/tlog": ["verifySubmission", "TileServer", "verifyCheckpointFromTiles"],
    "./engines/intoto": ["verifySupplyChain", "recordArtifacts", "runStep", "buildLayout", "verifyItemRules"],
    // --- certificate authority (src/engines/ca, src/formats/x509) ---
    "./formats/x509": ["parseSpiffeId", "fulcioExtensions", "parseSctListExtension", "fulcioExtensionName"],
    "./engines/ca": ["CertificateAuthority", "CaService", "CtLog", "OidcVerifier", "createRootCertificate"],
    // --- timestamp authority (src/engines/tsa) ---
    "./engines/tsa": ["TimestampAuthority", "createTsaCertificate"],
    // --- revoke: revocation lists (src/formats/revocation) ---
    "./formats/revocation": ["parseRevocations", "serializeRevocations", "findRevocation"],
  };
  assert.deepEqual(Object.keys(pkg.exports).sort(), Object.keys(expected).sort());
  for (const [entry, names] of Object.entries(expected)) {
    const mod = await import(`${pkg.name}${entry === "." ? "" : entry.slice(1)}`);
    for (const n of names) assert.equal(typeof mod[n], "function", `${entry} does not export ${n}`);
  }
});

test("./runtime/oci: the layout store keeps a large blob written through its blob thread, from the build", async () => {
  const { OciLayout } = await import(`${pkg.name}/runtime/oci`);
  const { digestOf } = await import(`${pkg.name}/formats/oci`);
  const dir = mkdtempSync(join(tmpdir(), "cairn-exports-"));
  try {
    const layout = await OciLayout.init(dir);
    const big = Buffer.from(new Uint8Array(9 * 1024 * 1024 + 17).map((_, i) => (i * 29 + (i >> 13)) & 0xff));
    // A source that fills the sink it is given, as a registry pull does (the thread hashes and writes).
    const fill = (bytes: Uint8Array) => async (sink: { write(c: Uint8Array): Promise<void> }) => {
      for (let off = 0; off < bytes.length; off += 1024 * 1024)
        await sink.write(bytes.subarray(off, off + 1024 * 1024));
    };
    const r = await layout.putBlob(fill(big), { digest: digestOf(big), size: big.length });
    assert.equal(r.digest, digestOf(big));
    assert.ok(readFileSync(layout.blobPath(r.digest)).equals(big));
    // One byte short: refused as truncated, nothing left behind.
    const other = big.subarray(1);
    await assert.rejects(
      layout.putBlob(fill(other.subarray(1)), { digest: digestOf(other), size: other.length }),
      (e: { code?: string }) => e.code === "ERR_OCI_BLOB_TRUNCATED",
    );
    assert.equal(await layout.hasBlob(digestOf(other)), false);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith(".")),
      [],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
