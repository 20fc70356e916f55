// SPDX-License-Identifier: Apache-2.0
// Offline verification of Sigstore bundles v0.1-v0.3 against a trusted root, in the order of the
// Sigstore client spec ("Verification", sigstore/architecture-docs client-spec.md 4) and of
// sigstore-js's Verifier: (1) signed timestamps (inclusion promises and RFC 3161 tokens), (2) the
// signing key: certificate chain to a CA of the trusted root valid at every verified time, and
// the certificate's SCTs against the CT log keys; (3) every transparency log entry: inclusion
// proof with a checkpoint signed by the log, inclusion promise, and a body that names this
// bundle's signature, content and key; (4) the signature over the artifact or DSSE payload, and a
// DSSE statement's subjects against the artifact; (5) only then, the identity policy.
//
// Beyond sigstore-js, cairn also checks the leaf's extended key usage (code signing), that the
// entry body names the bundle's own key, and the statement's subjects (issue 6, "Facts").

import { constants, createHash, type KeyObject, verify as nodeVerify } from "node:crypto";
import { digestHex } from "../../core/digest.js";
import { fromBase64 } from "../../core/encoding.js";
import { CairnError, cairnError, type ErrorCode } from "../../core/errors.js";
import { parseJson } from "../../core/json.js";
import { spkiDerOf } from "../../core/keys.js";
import { type PrehashAlgorithm, verifyPrehashed } from "../../core/prehashed.js";
import { pae } from "../../formats/dsse/envelope.js";
import { INTOTO_PAYLOAD_TYPE } from "../../formats/intoto/metablock.js";
import { parseStatement, type Statement } from "../../formats/intoto/statement.js";
// revoke: revocation lists (issue 6, section 4)
import {
  findRevocation,
  type RevocationList,
  revokedError,
  type SignatureSubject,
} from "../../formats/revocation/index.js";
import {
  type Bundle,
  bundleLeafCertificate,
  bundleVersion,
  type TransparencyLogEntry,
} from "../../formats/sigstore/bundle.js";
import {
  type CertificateInfo,
  embeddedScts,
  OID,
  parseCertificate,
  precertificateTbs,
  sctSignedData,
} from "../../formats/sigstore/certificate.js";
import { checkEntryMatchesBundle, type RekorBody } from "../../formats/sigstore/rekor.js";
import { parseTimestampResponse } from "../../formats/sigstore/rfc3161.js";
import {
  type CertificateAuthority,
  keyValidAt,
  loadPublicKey,
  type TimeRange,
  type TransparencyLogInstance,
  type TrustedRoot,
} from "../../formats/sigstore/trusted-root.js";
import { parseCheckpoint } from "../../formats/tlog/checkpoint.js";
import { hashLeaf, verifyInclusion } from "../../formats/tlog/merkle.js";
import { parseNote } from "../../formats/tlog/note.js";
import { type CertificateIdentity, checkIdentityPolicy, type IdentityPolicy } from "./policy.js";

/**
 * What the bundle must be about: the artifact bytes, one digest of them, or several (a large file
 * hashed in a stream). From digests, message signatures verify for ECDSA and RSA keys only.
 */
export type ArtifactInput =
  | { bytes: Uint8Array }
  | { digest: { algorithm: PrehashAlgorithm; value: Uint8Array } }
  | { digests: Partial<Record<PrehashAlgorithm, Uint8Array>> };

/** The artifact's digest under `alg`, when the input gives or allows it. */
function digestOf(artifact: ArtifactInput, alg: PrehashAlgorithm): Buffer | undefined {
  if ("bytes" in artifact) return createHash(alg).update(artifact.bytes).digest();
  if ("digest" in artifact) {
    return artifact.digest.algorithm === alg ? Buffer.from(artifact.digest.value) : undefined;
  }
  const d = artifact.digests[alg];
  return d ? Buffer.from(d) : undefined;
}

export interface BundleVerifyOptions {
  trustedRoot: TrustedRoot;
  /** The artifact (required for message signatures; for DSSE, its digest must be a subject). */
  artifact?: ArtifactInput;
  /** For public-key bundles: the key the signature must verify with (cosign --key). */
  publicKey?: KeyObject;
  /** Required for certificate bundles; `{}` accepts any identity (library callers only). */
  policy?: IdentityPolicy;
  /** Verified tlog entries needed (default 1). */
  tlogThreshold?: number;
  /** Verified SCTs needed for a certificate (default 1). */
  ctlogThreshold?: number;
  /** Verified timestamps needed (default 1): inclusion promises and RFC 3161 tokens. */
  timestampThreshold?: number;
  /**
   * Revoked keys, certificates and identities (issue 6, section 4): checked last, against the
   * verified timestamps only; a match is ERR_KEY_REVOKED / ERR_IDENTITY_REVOKED (exit 11).
   */
  revocations?: RevocationList;
}

export interface VerifiedTimestamp {
  source: "transparency-log" | "timestamp-authority";
  time: Date;
  /** Who vouches for it: the log id (hex), or the timestamp authority's URI. */
  by: string;
}

export interface VerifiedTlogEntry {
  logIndex: number;
  logId: string;
  integratedTime: number;
  kind: string;
}

/** The verified thing: who signed, when, and what (payload only after every check). */
export interface VerifiedBundle {
  version: string;
  signer:
    | { kind: "certificate"; identity: CertificateIdentity; certificate: Buffer; publicKey: KeyObject }
    | { kind: "key"; publicKey: KeyObject };
  timestamps: VerifiedTimestamp[];
  /** The earliest verified time of signing. */
  signedAt: Date | undefined;
  tlogEntries: VerifiedTlogEntry[];
  /** For message signatures: the artifact's SHA-256 (hex). */
  artifactDigest?: string;
  /** For DSSE bundles: the verified payload, and the statement when it is in-toto. */
  payloadType?: string;
  payload?: Buffer;
  statement?: Statement;
}

function fail(code: ErrorCode, message: string, field?: string, cause?: unknown): CairnError {
  return cairnError(
    code,
    message,
    field === undefined ? {} : { field },
    cause === undefined ? undefined : { cause },
  );
}

/** The digest a key's signatures use, as Sigstore pairs them (PublicKeyDetails). */
function hashForKey(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  if (key.asymmetricKeyType === "ec") {
    const c = key.asymmetricKeyDetails?.namedCurve;
    return c === "secp384r1" ? "sha384" : c === "secp521r1" ? "sha512" : "sha256";
  }
  return "sha256";
}

/** Verifies a signature over `data` with the key's usual digest; false on any failure. */
export function verifyWithKey(
  key: KeyObject,
  data: Uint8Array,
  sig: Uint8Array,
  hash = hashForKey(key),
): boolean {
  try {
    if (nodeVerify(hash, data, key, sig)) return true;
    // RSA keys: Sigstore's key details name PKCS#1 v1.5 or PSS; cairn's own RSA keys sign with PSS
    // (securesystemslib's scheme). The key stays fixed, so either padding proves the same signer.
    if (key.asymmetricKeyType === "rsa") {
      return nodeVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        sig,
      );
    }
    return false;
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
}

function validAt(range: TimeRange | undefined, t: Date): boolean {
  return keyValidAt({ validFor: range }, t);
}

// Trusted-root certificates, parsed once per trusted root object (they are read-only).
const trustedCache = new WeakMap<Uint8Array, CertificateInfo>();
function trustedCertificate(der: Uint8Array): CertificateInfo {
  let c = trustedCache.get(der);
  if (!c) {
    c = parseCertificate(der);
    trustedCache.set(der, c);
  }
  return c;
}

/** The trusted log a bundle's logId names: by its log id, or its checkpoint key id (v0.2 roots). */
function findLog(
  logs: readonly TransparencyLogInstance[],
  keyId: Uint8Array,
): TransparencyLogInstance | undefined {
  return logs.find((l) => sameBytes(l.logId.keyId, keyId) || sameBytes(l.checkpointKeyId?.keyId, keyId));
}

/**
 * Verifies a bundle completely and returns what it proves. Throws ERR_SIGSTORE_* verification
 * errors (exit 10), ERR_SIGSTORE_IDENTITY_MISMATCH when everything verified but the signer is not
 * the expected one (exit 11), ERR_USAGE for missing options.
 */
export function verifyBundle(bundle: Bundle, opts: BundleVerifyOptions): VerifiedBundle {
  const version = bundleVersion(bundle.mediaType) ?? "unknown";
  const root = opts.trustedRoot;
  const leafDer = bundleLeafCertificate(bundle);
  if (!leafDer && !opts.publicKey) {
    throw cairnError("ERR_USAGE", "this bundle names a public key: give the key to verify it with (--key)");
  }
  if (leafDer && !opts.policy) {
    throw cairnError("ERR_USAGE", "a certificate bundle needs the expected identity and issuer");
  }
  const leaf = leafDer ? parseCertificate(leafDer) : undefined;
  // The bundle carries the leaf (and, before v0.3, maybe intermediates): trust anchors come only
  // from the trusted root, so a root certificate in the bundle is refused (as sigstore-python
  // does), and so is a leaf that is itself a CA.
  const chain = bundle.verificationMaterial.x509CertificateChain?.certificates ?? [];
  for (const c of chain) {
    const info = parseCertificate(c.rawBytes);
    if (info.subject.equals(info.issuer) && issued(info, info)) {
      throw fail(
        "ERR_SIGSTORE_CERTIFICATE_INVALID",
        "the bundle's certificate chain holds a root certificate",
      );
    }
  }
  if (leaf?.isCA)
    throw fail("ERR_SIGSTORE_CERTIFICATE_INVALID", "the signing certificate is a CA certificate");
  const signingKey = leaf ? leaf.publicKey : opts.publicKey!;

  // (1) and (3) Log entries (proof, checkpoint, promise, body) and timestamps: inclusion promises
  // and RFC 3161 tokens, which stamp the message signature or the DSSE one.
  const sigBytes = bundle.messageSignature
    ? Buffer.from(bundle.messageSignature.signature)
    : fromBase64(bundle.dsseEnvelope!.signatures[0]!.sig, "dsseEnvelope.signatures[0].sig");
  const timestamps: VerifiedTimestamp[] = [];
  const tlogResults: VerifiedTlogEntry[] = [];
  const bodies = bundle.verificationMaterial.tlogEntries.map((e, i) =>
    verifyTlogEntry(e, i, bundle, root, signingKey, opts.publicKey),
  );
  bundle.verificationMaterial.tlogEntries.forEach((e, i) => {
    const { promised } = bodies[i]!;
    if (promised) {
      timestamps.push({
        source: "transparency-log",
        time: promised,
        by: Buffer.from(e.logId.keyId).toString("hex"),
      });
    }
    tlogResults.push({
      // Without a promise nothing signs the entry's own logIndex: report the proven one.
      logIndex: e.inclusionPromise ? e.logIndex : (e.inclusionProof?.logIndex ?? e.logIndex),
      logId: Buffer.from(e.logId.keyId).toString("hex"),
      integratedTime: e.integratedTime,
      kind: `${e.kindVersion.kind}/${e.kindVersion.version}`,
    });
  });
  const tsas = bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? [];
  tsas.forEach((t, i) => {
    timestamps.push(verifyRfc3161(t.signedTimestamp, sigBytes, root.timestampAuthorities, i));
  });
  const seen = new Set(timestamps.map((t) => `${t.source} ${t.by} ${t.time.getTime()}`));
  // sigstore-js refuses duplicate timestamps: one proof counted twice is not two proofs.
  if (seen.size !== timestamps.length) {
    throw fail("ERR_SIGSTORE_TIMESTAMP_INVALID", "the bundle holds the same timestamp twice");
  }
  const tsThreshold = opts.timestampThreshold ?? 1;
  if (timestamps.length < tsThreshold) {
    throw fail(
      "ERR_SIGSTORE_TIMESTAMP_INVALID",
      `the bundle has ${timestamps.length} verified timestamp(s), ${tsThreshold} needed (an inclusion promise or an RFC 3161 timestamp)`,
    );
  }
  const tlogThreshold = opts.tlogThreshold ?? 1;
  if (tlogResults.length < tlogThreshold) {
    throw fail(
      "ERR_SIGSTORE_TLOG_INVALID",
      `the bundle has ${tlogResults.length} verified transparency log entries, ${tlogThreshold} needed`,
    );
  }

  // (2) The signing key.
  let chainUsed: CertificateInfo[] = [];
  if (leaf) {
    const { issuer, chain: path } = verifyChainAtAll(leaf, timestamps, root.certificateAuthorities);
    chainUsed = path;
    verifyEmbeddedScts(leaf, issuer, root.ctlogs, opts.ctlogThreshold ?? 1);
  }

  // (4) The signature over the content, and a statement's subjects.
  const content: ContentResult = {};
  if (bundle.messageSignature) {
    verifyMessage(
      bundle,
      signingKey,
      opts.artifact,
      content,
      bodies.map((b) => b.body),
    );
  } else verifyDsse(bundle, signingKey, opts.artifact, content);

  // (5) Identity policy, last: a valid signature by someone else is a policy refusal.
  const signer: VerifiedBundle["signer"] = leaf
    ? {
        kind: "certificate",
        identity: checkIdentityPolicy(leaf, opts.policy!),
        certificate: leaf.der,
        publicKey: signingKey,
      }
    : { kind: "key", publicKey: signingKey };
  // (6) Revocations, after everything verified: a revoked signer is a policy refusal that names
  // the revocation. Only verified timestamps count as the time of signing (a bundle's own
  // integratedTime without a promise is the signer's claim); with none, a match refuses.
  if (opts.revocations) {
    const spki = (k: KeyObject) => digestHex("sha256", spkiDerOf(k));
    const sha = (b: Uint8Array) => digestHex("sha256", b);
    const subject: SignatureSubject = {
      spkiSha256: [signingKey, ...chainUsed.map((c) => c.publicKey)].map(spki),
      certificateSha256: leaf ? [leaf.der, ...chainUsed.map((c) => c.der)].map(sha) : [],
      ...(signer.kind === "certificate"
        ? {
            identity: {
              sans: signer.identity.sans,
              issuer: signer.identity.issuer,
              spiffeId: signer.identity.spiffeId,
            },
          }
        : {}),
    };
    const r = findRevocation(
      opts.revocations,
      subject,
      timestamps.map((t) => t.time),
    );
    if (r)
      throw revokedError(r, leaf ? "the signing certificate, its chain or its identity" : "the signing key");
  }
  return {
    version,
    signer,
    timestamps,
    signedAt: timestamps.length ? new Date(Math.min(...timestamps.map((t) => t.time.getTime()))) : undefined,
    tlogEntries: tlogResults,
    ...content,
  };
}

/** What the content checks establish: the artifact's digest, or the verified DSSE payload. */
type ContentResult = Pick<VerifiedBundle, "artifactDigest" | "payloadType" | "payload" | "statement">;

/** Verifies one entry; returns its integrated time when an inclusion promise proved it. */
function verifyTlogEntry(
  e: TransparencyLogEntry,
  i: number,
  bundle: Bundle,
  root: TrustedRoot,
  signingKey: KeyObject,
  publicKey: KeyObject | undefined,
): { promised: Date | undefined; body: RekorBody } {
  const F = `verificationMaterial.tlogEntries[${i}]`;
  const log = findLog(root.tlogs, e.logId.keyId);
  if (!log)
    throw fail(
      "ERR_SIGSTORE_TLOG_INVALID",
      "the entry is from a log the trusted root does not name",
      `${F}.logId`,
    );
  let key: KeyObject;
  try {
    key = loadPublicKey(log.publicKey);
  } catch (err) {
    throw fail(
      "ERR_SIGSTORE_TLOG_INVALID",
      `the trusted log key cannot be used: ${(err as Error).message}`,
      `${F}.logId`,
      err,
    );
  }
  let promised: Date | undefined;
  let included = false;
  if (e.inclusionPromise) {
    const t = new Date(e.integratedTime * 1000);
    if (!keyValidAt(log.publicKey, t)) {
      throw fail(
        "ERR_SIGSTORE_TLOG_INVALID",
        "the log key was not valid at the entry's integrated time",
        `${F}.integratedTime`,
      );
    }
    // Rekor's SET: the log's signature over the canonical JSON of {body, integratedTime, logID, logIndex}.
    const payload = `{"body":${JSON.stringify(Buffer.from(e.canonicalizedBody).toString("base64"))},"integratedTime":${e.integratedTime},"logID":${JSON.stringify(Buffer.from(e.logId.keyId).toString("hex"))},"logIndex":${e.logIndex}}`;
    if (!verifyWithKey(key, Buffer.from(payload, "utf8"), e.inclusionPromise.signedEntryTimestamp)) {
      throw fail(
        "ERR_SIGSTORE_TLOG_INVALID",
        "the inclusion promise does not verify with the log's key",
        `${F}.inclusionPromise`,
      );
    }
    promised = t;
    included = true;
  }
  const proof = e.inclusionProof;
  if (proof?.checkpoint) {
    try {
      verifyInclusion(
        hashLeaf(e.canonicalizedBody),
        proof.logIndex,
        proof.treeSize,
        proof.hashes,
        proof.rootHash,
      );
    } catch (err) {
      throw fail(
        "ERR_SIGSTORE_TLOG_INVALID",
        "the inclusion proof does not verify",
        `${F}.inclusionProof`,
        err,
      );
    }
    verifyCheckpoint(
      proof.checkpoint.envelope,
      log,
      key,
      proof.rootHash,
      proof.treeSize,
      `${F}.inclusionProof.checkpoint`,
    );
    included = true;
  }
  if (!included) {
    throw fail(
      "ERR_SIGSTORE_TLOG_INVALID",
      "the entry has neither an inclusion promise nor a checkpointed proof",
      F,
    );
  }
  // The body must be about this bundle (sigstore_rekor.proto, canonicalized_body).
  const body = checkEntryMatchesBundle(e, bundle, publicKey ? { publicKey } : { publicKey: signingKey });
  return { promised, body };
}

/** The host of a log's base URL, or undefined when it is not a URL (then names are not checked). */
function logNames(baseUrl: string): string[] | undefined {
  try {
    const u = new URL(baseUrl);
    if (!u.host) return undefined;
    // Rekor signs as its host; a log whose origin has a path (cairn's `cairn.local/log`) signs as
    // host and path, which its baseUrl then carries.
    const path = u.pathname.replace(/\/+$/, "");
    return path ? [u.host, `${u.host}${path}`] : [u.host];
  } catch {
    return undefined;
  }
}

/**
 * A Rekor checkpoint: a signed note whose signature lines carry the first 4 bytes of the log id as
 * key hint and a signature by the log's key over the note text; its root and size must be the
 * proof's.
 */
function verifyCheckpoint(
  text: string,
  log: TransparencyLogInstance,
  key: KeyObject,
  root: Uint8Array,
  size: number,
  field: string,
): void {
  let note: ReturnType<typeof parseNote>;
  try {
    note = parseNote(text);
  } catch (err) {
    throw fail("ERR_SIGSTORE_TLOG_INVALID", "the checkpoint is not a signed note", field, err);
  }
  const hint = Buffer.from((log.checkpointKeyId ?? log.logId).keyId).readUInt32BE(0);
  const data = Buffer.from(note.text, "utf8");
  // The key name is the log's host (Rekor v1 and v2 sign as it; sigstore-js looks for it in the
  // baseUrl): a signature under another name is not the log's, whatever its key hint.
  const names = logNames(log.baseUrl);
  const ok = note.signatures.some(
    (s) =>
      s.keyId === hint &&
      (names === undefined || names.includes(s.name)) &&
      verifyWithKey(key, data, s.signature),
  );
  if (!ok) throw fail("ERR_SIGSTORE_TLOG_INVALID", "the checkpoint is not signed by the log's key", field);
  let cp: ReturnType<typeof parseCheckpoint>;
  try {
    cp = parseCheckpoint(note.text);
  } catch (err) {
    throw fail("ERR_SIGSTORE_TLOG_INVALID", "the checkpoint text is malformed", field, err);
  }
  if (!cp.rootHash.equals(Buffer.from(root)) || cp.size !== size) {
    throw fail(
      "ERR_SIGSTORE_TLOG_INVALID",
      "the checkpoint is for another tree than the inclusion proof",
      field,
    );
  }
}

/** The chain must verify at every verified time (sigstore-js verifySigningKey); returns the leaf's issuer. */
function verifyChainAtAll(
  leaf: CertificateInfo,
  times: VerifiedTimestamp[],
  cas: readonly CertificateAuthority[],
): { issuer: CertificateInfo; chain: CertificateInfo[] } {
  // RFC 5280 4.2.1.12 and Fulcio: the leaf signs code. (sigstore-js does not check this.)
  if (!leaf.extKeyUsage?.includes(OID.codeSigning)) {
    throw fail(
      "ERR_SIGSTORE_CERTIFICATE_INVALID",
      "the certificate is not for code signing (extended key usage)",
    );
  }
  if (leaf.keyUsage && !leaf.keyUsage.includes(0)) {
    throw fail(
      "ERR_SIGSTORE_CERTIFICATE_INVALID",
      "the certificate's key usage does not allow digital signatures",
    );
  }
  let issuer: CertificateInfo | undefined;
  // Every CA certificate a verified path went through (revocations match any of them).
  const used = new Set<CertificateInfo>();
  for (const t of times) {
    const path = verifyChain(leaf, t.time, cas);
    issuer = path[0];
    for (const c of path) used.add(c);
  }
  if (!issuer) throw fail("ERR_SIGSTORE_CERTIFICATE_INVALID", "the certificate's signing time is not proven");
  return { issuer, chain: [...used] };
}

/** The trusted part of a verified path at `t`: the leaf's issuer first, up to the root. */
function verifyChain(
  leaf: CertificateInfo,
  t: Date,
  cas: readonly CertificateAuthority[],
): CertificateInfo[] {
  let why = "no certificate authority of the trusted root was valid at the signing time";
  for (const ca of cas) {
    if (!validAt(ca.validFor, t)) continue;
    const chain = ca.certChain.certificates.map((c) => trustedCertificate(c.rawBytes));
    const start = chain.findIndex((c) => issued(c, leaf));
    if (start < 0) {
      why = "the certificate was not issued by a certificate authority of the trusted root";
      continue;
    }
    const path = [leaf, ...chain.slice(start)];
    const problem = checkPath(path, t);
    if (problem === undefined) return chain.slice(start);
    why = problem;
  }
  throw fail("ERR_SIGSTORE_CERTIFICATE_INVALID", why);
}

function issued(issuer: CertificateInfo, child: CertificateInfo): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

// Links between two trusted-root certificates, checked once per pair of parsed certificates
// (trustedCertificate's objects; the trusted root is read-only): otherwise every bundle would
// verify the intermediate's signature by the root again.
const trustedLinks = new WeakMap<CertificateInfo, WeakMap<CertificateInfo, boolean>>();
function trustedIssued(issuer: CertificateInfo, child: CertificateInfo): boolean {
  let byIssuer = trustedLinks.get(child);
  if (!byIssuer) {
    byIssuer = new WeakMap();
    trustedLinks.set(child, byIssuer);
  }
  let ok = byIssuer.get(issuer);
  if (ok === undefined) {
    ok = issued(issuer, child);
    byIssuer.set(issuer, ok);
  }
  return ok;
}

/** path[0] is the certificate to check; path[1..] come from the trusted root (trustedCertificate). */
function checkPath(path: CertificateInfo[], t: Date): string | undefined {
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (t < c.notBefore || t > c.notAfter) {
      return i === 0
        ? "the certificate was not valid at the signing time (expired or not yet valid)"
        : "a CA certificate was not valid at the signing time";
    }
    if (i === 0) continue;
    if (!c.isCA) return "an issuing certificate is not a CA";
    // RFC 5280 4.2.1.9: pathLenConstraint counts the intermediates below this CA.
    if (c.pathLen !== undefined && c.pathLen < i - 1) return "a CA's path length constraint is exceeded";
    if (i < path.length - 1 && !trustedIssued(path[i + 1]!, c)) return "the trusted root's chain is broken";
  }
  return undefined;
}

const TLS_HASH: Record<number, string> = { 4: "sha256", 5: "sha384", 6: "sha512" };

/** An embedded SCT that verified, and the trusted CT log that signed it. */
export interface VerifiedSct {
  logId: Buffer;
  timestamp: Date;
}

/**
 * Verifies the SCTs embedded in a certificate (RFC 6962 3.3) as a verifier must, and returns those
 * that verified. Each is checked over the precertificate (RFC 6962 3.2: the leaf's TBS without the
 * SCT list, and SHA-256 of the issuer's SubjectPublicKeyInfo) with the key of a trusted CT log
 * (`ctlogs`, a trusted root's) that has the SCT's log id and whose key was valid at the SCT's
 * timestamp; several logs may share one log id (a rotated key), any of them may verify it. An SCT
 * from a log not trusted then proves nothing and is not counted; one from a trusted log that does
 * not verify (the certificate was altered, or a log key misused) fails the whole check. Throws
 * ERR_SIGSTORE_SCT_INVALID for that, for a malformed SCT list, and when fewer than `threshold`
 * (default 1) SCTs verify. Certificates are DER or already parsed.
 */
export function verifyEmbeddedScts(
  leaf: Uint8Array | CertificateInfo,
  issuer: Uint8Array | CertificateInfo,
  ctlogs: readonly TransparencyLogInstance[],
  threshold = 1,
): VerifiedSct[] {
  const info = (c: Uint8Array | CertificateInfo) => (c instanceof Uint8Array ? parseCertificate(c) : c);
  const cert = info(leaf);
  let scts: ReturnType<typeof embeddedScts>;
  let tbs: Buffer;
  try {
    // (parseCertificate already refused a second SCT list: RFC 5280 4.2, each extension once.)
    scts = embeddedScts(cert);
    tbs = scts.length ? precertificateTbs(cert) : Buffer.alloc(0);
  } catch (err) {
    throw fail("ERR_SIGSTORE_SCT_INVALID", "the certificate's SCT list is malformed", undefined, err);
  }
  const verified: VerifiedSct[] = [];
  if (scts.length) {
    const issuerKeyHash = createHash("sha256")
      .update(spkiDerOf(info(issuer).publicKey))
      .digest();
    for (const sct of scts) {
      const when = new Date(Number(sct.timestamp));
      const logs = ctlogs.filter((l) => sameBytes(l.logId.keyId, sct.logId) && keyValidAt(l.publicKey, when));
      if (logs.length === 0) continue; // an SCT from a log we do not trust proves nothing
      const hash = TLS_HASH[sct.hashAlgorithm];
      const data = sctSignedData(sct, issuerKeyHash, tbs);
      const ok = logs.some((l) => {
        try {
          return hash !== undefined && verifyWithKey(loadPublicKey(l.publicKey), data, sct.signature, hash);
        } catch {
          return false;
        }
      });
      if (!ok) throw fail("ERR_SIGSTORE_SCT_INVALID", "an SCT from a trusted CT log does not verify");
      verified.push({ logId: Buffer.from(sct.logId), timestamp: when });
    }
  }
  if (verified.length < threshold) {
    throw fail(
      "ERR_SIGSTORE_SCT_INVALID",
      `the certificate has ${verified.length} verified SCT(s), ${threshold} needed`,
    );
  }
  return verified;
}

/** Verifies an RFC 3161 token over the signature bytes; returns the authority's genTime. */
function verifyRfc3161(
  der: Uint8Array,
  signature: Buffer,
  tsas: readonly CertificateAuthority[],
  i: number,
): VerifiedTimestamp {
  const F = `verificationMaterial.timestampVerificationData.rfc3161Timestamps[${i}]`;
  const tok = parseTimestampResponse(der);
  // RFC 3161 2.4.2: messageImprint is the hash of the time-stamped data, here the signature.
  const imprint = createHash(tok.imprintAlgorithm).update(signature).digest();
  if (!imprint.equals(tok.hashedMessage)) {
    throw fail(
      "ERR_SIGSTORE_TIMESTAMP_INVALID",
      "the timestamp is for other data than the bundle's signature",
      F,
    );
  }
  // RFC 5652 5.4: the message-digest attribute is the hash of the signed content (the TSTInfo).
  if (!createHash(tok.digestAlgorithm).update(tok.tstInfo).digest().equals(tok.messageDigest)) {
    throw fail("ERR_SIGSTORE_TIMESTAMP_INVALID", "the signed attributes do not match the TSTInfo", F);
  }
  for (const ca of tsas) {
    if (!validAt(ca.validFor, tok.genTime)) continue;
    let chain: CertificateInfo[];
    try {
      chain = ca.certChain.certificates.map((c) => trustedCertificate(c.rawBytes));
    } catch {
      continue;
    }
    const signer = chain[0]!;
    // RFC 3161 2.3: the TSA's certificate has one extended key usage, timeStamping, and the
    // extension is critical.
    const eku = signer.extensions.find((e) => e.oid === OID.extKeyUsage);
    if (!eku?.critical || signer.extKeyUsage?.length !== 1 || signer.extKeyUsage[0] !== OID.timeStamping)
      continue;
    if (
      tok.signerSerial &&
      !(sameBytes(signer.serial, tok.signerSerial) && sameBytes(signer.issuer, tok.signerIssuer))
    )
      continue;
    // RFC 5816 / RFC 5035: the signing-certificate attribute, when present, names this certificate.
    const ess = tok.signingCertificate;
    if (ess && !createHash(ess.algorithm).update(signer.der).digest().equals(ess.hash)) continue;
    if (checkPath(chain, tok.genTime) !== undefined) continue;
    const hash = signer.publicKey.asymmetricKeyType === "ed25519" ? null : tok.digestAlgorithm;
    if (verifyWithKey(signer.publicKey, tok.signedAttributes, tok.signature, hash)) {
      return { source: "timestamp-authority", time: tok.genTime, by: ca.uri };
    }
  }
  throw fail(
    "ERR_SIGSTORE_TIMESTAMP_INVALID",
    "the timestamp does not verify with a timestamp authority of the trusted root",
    F,
  );
}

function verifyMessage(
  bundle: Bundle,
  key: KeyObject,
  artifact: ArtifactInput | undefined,
  out: ContentResult,
  bodies: RekorBody[],
): void {
  const ms = bundle.messageSignature!;
  if (!artifact) {
    throw cairnError(
      "ERR_USAGE",
      "a message signature bundle is verified against the artifact or its digest",
    );
  }
  const mismatch = (message: string, field: string) => fail("ERR_SIGSTORE_ARTIFACT_MISMATCH", message, field);
  const declared = ms.messageDigest ? HASH_OF[ms.messageDigest.algorithm as string] : undefined;
  if (ms.messageDigest && declared) {
    const mine = digestOf(artifact, declared);
    if (mine && !mine.equals(Buffer.from(ms.messageDigest.digest))) {
      throw mismatch("the bundle's message digest is not the artifact's", "messageSignature.messageDigest");
    }
  }
  // The log entries must be about this artifact too.
  for (const body of bodies) {
    if (body.kind !== "hashedrekord") continue;
    const mine = digestOf(artifact, body.data.algorithm);
    if (mine && !body.data.value.equals(mine)) {
      throw mismatch("the log entry is for another artifact", "canonicalizedBody");
    }
  }
  let ok: boolean;
  if ("bytes" in artifact) ok = verifyWithKey(key, artifact.bytes, ms.signature);
  else {
    // From a digest alone: ECDSA and RSA only (Ed25519 signs the whole message), with the hash
    // the key's signatures use.
    const alg = (hashForKey(key) ?? "sha256") as PrehashAlgorithm;
    const d = digestOf(artifact, alg);
    if (!d)
      throw cairnError(
        "ERR_USAGE",
        `give the artifact's ${alg.toUpperCase()} digest: the key signs with ${alg}`,
      );
    ok = key.asymmetricKeyType !== "ed25519" && verifyPrehashed(key, alg, d, ms.signature);
  }
  if (!ok) {
    throw mismatch(
      "the signature does not verify over this artifact with the signing key",
      "messageSignature.signature",
    );
  }
  const sha256 = digestOf(artifact, "sha256");
  if (sha256) out.artifactDigest = sha256.toString("hex");
}

const HASH_OF: Record<string, PrehashAlgorithm> = {
  SHA2_256: "sha256",
  SHA2_384: "sha384",
  SHA2_512: "sha512",
};

function verifyDsse(
  bundle: Bundle,
  key: KeyObject,
  artifact: ArtifactInput | undefined,
  out: ContentResult,
): void {
  const env = bundle.dsseEnvelope!;
  const payload = fromBase64(env.payload, "dsseEnvelope.payload");
  const sig = fromBase64(env.signatures[0]!.sig, "dsseEnvelope.signatures[0].sig");
  if (!verifyWithKey(key, pae(env.payloadType, payload), sig)) {
    throw fail(
      "ERR_DSSE_SIGNATURE_INVALID",
      "the envelope's signature does not verify with the signing key",
      "dsseEnvelope.signatures[0]",
    );
  }
  // Verify returns the verified thing: the statement is read from the verified payload only.
  out.payloadType = env.payloadType;
  out.payload = payload;
  if (env.payloadType === INTOTO_PAYLOAD_TYPE) {
    try {
      out.statement = parseStatement(
        parseJson(payload, undefined, { maxBytes: payload.length + 1, maxDepth: 64 }),
      );
    } catch (err) {
      if (artifact) throw err instanceof CairnError ? err.underField("dsseEnvelope.payload") : err;
    }
  }
  if (!artifact) return;
  if (!out.statement) {
    throw fail(
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
      "the envelope is not an in-toto statement: it names no artifact",
      "dsseEnvelope.payloadType",
    );
  }
  const want = (["sha256", "sha384", "sha512"] as const).flatMap((a) => {
    const d = digestOf(artifact, a);
    return d ? [[a, d.toString("hex")] as const] : [];
  });
  const hit = out.statement.subject.some((s) =>
    want.some(([alg, hex]) => s.digest[alg]?.toLowerCase() === hex),
  );
  if (!hit) {
    throw fail(
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
      "no subject of the attestation has the artifact's digest",
      "dsseEnvelope.payload.subject",
    );
  }
  const sha256 = digestOf(artifact, "sha256");
  if (sha256) out.artifactDigest = sha256.toString("hex");
}
