// SPDX-License-Identifier: Apache-2.0
// Signing into Sigstore bundles v0.3 (sigstore_bundle.proto): a message signature over an
// artifact (hashedrekord 0.0.1 entry) or a DSSE envelope (dsse 0.0.1 entry), with a key or a
// certificate and its key, logged through a transparency-log port that answers with everything a
// bundle needs to be verified offline: index, integrated time, inclusion proof, signed checkpoint
// and inclusion promise (SET).
import { createHash, X509Certificate } from "node:crypto";
import { digestHex } from "../../core/digest.js";
import { fromBase64, toBase64, toPem } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import type { PrehashAlgorithm } from "../../core/prehashed.js";
import type { Signer } from "../../core/signer.js";
import { type Envelope, pae } from "../../formats/dsse/envelope.js";
import { INTOTO_PAYLOAD_TYPE } from "../../formats/intoto/metablock.js";
import { newStatement } from "../../formats/intoto/statement.js";
import {
  BUNDLE_V03_MEDIA_TYPE,
  type Bundle,
  type TransparencyLogEntry,
} from "../../formats/sigstore/bundle.js";

/** An entry proposed to the log (the role of Rekor's proposed entry): the log verifies it first. */
export type ProposedEntry =
  | {
      kind: "hashedrekord";
      /** The artifact's digest, with the hash the signature uses. */
      algorithm: PrehashAlgorithm;
      digest: Uint8Array;
      signature: Uint8Array;
      /** PEM of the signer's certificate or SPKI public key. */
      verifierPem: string;
    }
  | {
      kind: "dsse";
      envelope: Envelope;
      /** PEM of the certificate or key that verifies each signature. */
      verifierPems: string[];
    };

/**
 * The transparency log, as a signer sees it.
 *
 * Contract: `submit` resolves only once the entry is durable in the log, with the bundle's
 * TransparencyLogEntry for it: canonicalized body, log index, log id, integrated time, an
 * inclusion proof with a checkpoint signed by the log, and an inclusion promise (SET). A log
 * refuses (ERR_TLOG_ENTRY_INVALID, ERR_SIGNATURE_INVALID, ERR_DSSE_SIGNATURE_INVALID) a proposed
 * entry whose signature does not verify. Transport failures reject with transport-category
 * errors and overload with ERR_TLOG_OVERLOADED; submitting again is then safe (the log answers
 * for an entry it already holds). Concurrent calls are allowed.
 */
export interface TransparencyLogPort {
  submit(entry: ProposedEntry): Promise<TransparencyLogEntry>;
}

/**
 * An RFC 3161 timestamp authority, as a signer sees it.
 *
 * Contract: `timestamp` resolves with a DER TimeStampResp (RFC 3161 2.4.2) whose messageImprint
 * is the SHA-256 of `signature` (the bytes the bundle's signature field holds), granted. It
 * rejects with transport errors when the authority cannot be reached; retrying is safe.
 */
export interface TimestampAuthorityPort {
  timestamp(signature: Uint8Array): Promise<Uint8Array>;
}

/** Optional extras for signing. */
export interface SignOptions {
  /** Authorities to ask for RFC 3161 timestamps over the signature, besides the log's promise. */
  timestampAuthorities?: TimestampAuthorityPort[];
}

/**
 * The RFC 3161 timestamps over `sig`, asked for before the entry is logged: when an authority
 * cannot answer, nothing is logged and no bundle is written.
 */
async function stamp(
  sig: Uint8Array,
  o: SignOptions,
): Promise<Bundle["verificationMaterial"]["timestampVerificationData"]> {
  const tsas = o.timestampAuthorities ?? [];
  if (tsas.length === 0) return undefined;
  const tokens = await Promise.all(tsas.map((t) => t.timestamp(sig)));
  return { rfc3161Timestamps: tokens.map((t) => ({ signedTimestamp: Buffer.from(t) })) };
}

function withTimestamps(
  vm: Bundle["verificationMaterial"],
  tsd: Bundle["verificationMaterial"]["timestampVerificationData"],
): Bundle["verificationMaterial"] {
  if (tsd) vm.timestampVerificationData = tsd;
  return vm;
}

/** Who signs: a signer (key reference) and, for keyless-style bundles, its certificate. */
export interface BundleSigner {
  signer: Signer;
  /** DER leaf certificate for the signer's key; without one the bundle names the key by hint. */
  certificate?: Uint8Array;
}

function verifierPem(s: BundleSigner): string {
  if (s.certificate) return toPem("CERTIFICATE", s.certificate);
  return s.signer.publicKey.key.export({ type: "spki", format: "pem" }) as string;
}

function keyMaterial(s: BundleSigner): Bundle["verificationMaterial"] {
  return s.certificate
    ? { certificate: { rawBytes: Buffer.from(s.certificate) }, tlogEntries: [] }
    : { publicKey: { hint: s.signer.keyid }, tlogEntries: [] };
}

function checkCertificateKey(s: BundleSigner): void {
  if (!s.certificate) return;
  const certKey = new X509Certificate(Buffer.from(s.certificate)).publicKey;
  if (!spkiDerOf(certKey).equals(spkiDerOf(s.signer.publicKey.key)))
    throw cairnError("ERR_USAGE", "the certificate is not for the signing key");
}

/** Ed25519 cannot be checked from a digest (hashedrekord): message signatures need ECDSA or RSA. */
function checkMessageKey(s: BundleSigner): void {
  if (s.signer.publicKey.key.asymmetricKeyType === "ed25519") {
    throw cairnError(
      "ERR_KEY_INVALID",
      "an Ed25519 key cannot make a message signature a log can check from the digest: use an ECDSA or RSA key, or sign an attestation (DSSE)",
    );
  }
}

const HASH_NAME = { sha256: "SHA2_256", sha384: "SHA2_384", sha512: "SHA2_512" } as const;

function digestForKey(s: BundleSigner): PrehashAlgorithm {
  const k = s.signer.publicKey.key;
  const curve = k.asymmetricKeyDetails?.namedCurve;
  if (k.asymmetricKeyType === "ec" && curve === "secp384r1") return "sha384";
  if (k.asymmetricKeyType === "ec" && curve === "secp521r1") return "sha512";
  return "sha256";
}

/** Signs an artifact into a v0.3 message-signature bundle logged through `log`. */
export async function signBlob(
  artifact: Uint8Array,
  who: BundleSigner,
  log: TransparencyLogPort,
  options: SignOptions = {},
): Promise<Bundle> {
  checkCertificateKey(who);
  checkMessageKey(who);
  // The digest is the one the key's scheme signs with (Sigstore: P-384 with SHA-384).
  const algorithm = digestForKey(who);
  const digest = createHash(algorithm).update(artifact).digest();
  const signature = Buffer.from(await who.signer.sign(artifact));
  const tsd = await stamp(signature, options);
  const entry = await log.submit({
    kind: "hashedrekord",
    algorithm,
    digest,
    signature,
    verifierPem: verifierPem(who),
  });
  const vm = withTimestamps(keyMaterial(who), tsd);
  vm.tlogEntries = [entry];
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: vm,
    messageSignature: { messageDigest: { algorithm: HASH_NAME[algorithm], digest }, signature },
  };
}

/** Signs a payload into a DSSE envelope in a v0.3 bundle logged through `log`. */
export async function signDsse(
  payloadType: string,
  payload: Uint8Array,
  who: BundleSigner,
  log: TransparencyLogPort,
  options: SignOptions = {},
): Promise<Bundle> {
  checkCertificateKey(who);
  const sig = await who.signer.sign(pae(payloadType, payload));
  // A bundle's envelope keyid is empty for certificates and the key hint otherwise (sigstore_bundle.proto).
  const keyid = who.certificate ? "" : who.signer.keyid;
  const envelope: Envelope = {
    payloadType,
    payload: toBase64(payload),
    signatures: [{ keyid, sig: toBase64(sig) }],
  };
  return bundleEnvelope(envelope, who, log, options);
}

/**
 * Signs an in-toto statement about `data` (one subject: `name` and its SHA-256) with the given
 * predicate into a DSSE bundle logged through `log` (cosign attest-blob). The statement is
 * validated as in-toto v1 before anything is signed.
 */
export function attestBlob(
  data: Uint8Array,
  name: string,
  predicateType: string,
  predicate: Record<string, unknown>,
  who: BundleSigner,
  log: TransparencyLogPort,
  options: SignOptions = {},
): Promise<Bundle> {
  const statement = newStatement(
    [{ name, digest: { sha256: digestHex("sha256", data) } }],
    predicateType,
    predicate,
  );
  return signDsse(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), "utf8"), who, log, options);
}

/**
 * Logs a DSSE envelope `who` already signed (exactly one signature, such as an in-toto link
 * written with --use-dsse) and returns it in a v0.3 bundle, unchanged, so the bundle and the file
 * carry the same signature. The log refuses an envelope whose signature does not verify.
 */
export async function bundleEnvelope(
  envelope: Envelope,
  who: BundleSigner,
  log: TransparencyLogPort,
  options: SignOptions = {},
): Promise<Bundle> {
  checkCertificateKey(who);
  // sigstore_bundle.proto: a bundle's envelope holds exactly one signature.
  if (envelope.signatures.length !== 1)
    throw cairnError("ERR_USAGE", "a Sigstore bundle holds a DSSE envelope with exactly one signature");
  const tsd = await stamp(fromBase64(envelope.signatures[0]!.sig, "signatures[0].sig"), options);
  const entry = await log.submit({ kind: "dsse", envelope, verifierPems: [verifierPem(who)] });
  const vm = withTimestamps(keyMaterial(who), tsd);
  vm.tlogEntries = [entry];
  return { mediaType: BUNDLE_V03_MEDIA_TYPE, verificationMaterial: vm, dsseEnvelope: { ...envelope } };
}
