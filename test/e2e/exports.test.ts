// SPDX-License-Identifier: Apache-2.0
// The package's public entry points resolve through its exports map, as a user's import would.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
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
