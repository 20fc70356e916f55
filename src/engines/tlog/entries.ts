// SPDX-License-Identifier: Apache-2.0
// Log entry kinds and their verification before acceptance: a DSSE envelope carrying an in-toto
// Statement (DSSE protocol.md, in-toto attestation spec v1 statement.md), and a signed-artifact
// record verified over the artifact's SHA-256 digest (the role of Rekor's hashedrekord).
// The log never accepts a signature that does not verify: every signature recorded in a leaf was
// checked with the public key recorded next to it.
import { createPublicKey, type KeyObject } from "node:crypto";
import { canonicalBytes } from "../../core/canonical.js";
import { digestHex } from "../../core/digest.js";
import { fromBase64, fromHex, toBase64 } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { KeyRing, type PublicKey, parsePublicKey } from "../../core/index.js";
import { DEFAULT_JSON_LIMITS, isJsonObject, parseJson } from "../../core/json.js";
import { type Envelope, MAX_SIGNATURES, parseEnvelope, verifyEnvelope } from "../../formats/dsse/index.js";
import {
  type InTotoPayload,
  type Link,
  readInTotoPayload,
  type Statement,
} from "../../formats/intoto/index.js";
import { hashLeaf } from "../../formats/tlog/index.js";
import { supportsPrehashed, verifyPrehashedSha256 } from "./prehashed.js";

/**
 * The largest leaf: tlog-tiles "Log entries" serves entries in bundles of big-endian uint16
 * length-prefixed entries, so no leaf may exceed 65535 bytes. Leaves therefore commit to the
 * payload by digest; the store keeps whole envelopes (issue 3, section 3).
 */
export const MAX_LEAF_BYTES = 0xffff;

/** Most submissions one batch request carries (POST /cairn/v1/log/entries/batch, `cairn log upload`). */
export const DEFAULT_MAX_BATCH_ENTRIES = 1000;

/** The largest DSSE payload accepted by default (SBOMs run to megabytes; Rekor stops at 100 KB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;

/** The in-toto DSSE payload type (in-toto attestation spec v1, envelope.md). */
export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** A DSSE submission: the envelope and the public keys (PEM or securesystemslib JSON) that verify it. */
export interface DsseSubmission {
  kind: "dsse";
  envelope: unknown;
  publicKeys: string[];
}

/** A signed-artifact submission: a signature over the artifact, checked against its SHA-256 digest. */
export interface ArtifactSubmission {
  kind: "artifact";
  /** The artifact's digest: lowercase hex SHA-256. */
  digest: { sha256: string };
  /** base64 of the signature over the artifact bytes (ECDSA DER, or RSA PKCS#1 v1.5 / PSS). */
  signature: string;
  /** The signer's public key, PEM (SPKI). */
  publicKey: string;
}

export type EntrySubmission = DsseSubmission | ArtifactSubmission;

/** An entry whose signatures verified, with the exact leaf bytes the log will hash. */
export interface VerifiedEntry {
  kind: "dsse" | "artifact";
  /** The leaf data: canonical JSON (see `dsseLeaf` and `artifactLeaf`). */
  leaf: Buffer;
  /** HASH(0x00 || leaf) (RFC 6962 2.1). */
  leafHash: Buffer;
  /**
   * For DSSE entries: the envelope as given, and its payload read only after verification: a
   * Statement (any predicate), or a classic in-toto link (`cairn run --use-dsse`).
   */
  envelope?: Envelope;
  statement?: Statement;
  link?: Link;
  /**
   * For DSSE entries: what the attestation store indexes, read once here from the verified
   * payload (predicate type and subject digests), and the securesystemslib key ids of the keys
   * the leaf records, in signature order (each computed from the key's SPKI PEM as in the leaf).
   */
  indexed?: { payload: InTotoPayload; keyids: string[] };
}

/** Bounds for verifying submissions. */
export interface EntryLimits {
  /** Maximum DSSE payload size in bytes; default DEFAULT_MAX_PAYLOAD_BYTES. */
  maxPayloadBytes?: number;
  /**
   * Largest submission read from bytes (`verifySubmissionBytes`), e.g. the server's body limit;
   * default DEFAULT_JSON_LIMITS.maxBytes.
   */
  maxSubmissionBytes?: number;
}

/** Nesting bound of a submission read from bytes (the server's MAX_BODY_DEPTH for JSON bodies). */
export const MAX_SUBMISSION_DEPTH = 64;

function invalid(message: string, field?: string): CairnError {
  return cairnError("ERR_TLOG_ENTRY_INVALID", message, field === undefined ? {} : { field });
}

/** Parsed public keys kept by their text: submitters reuse keys, and parsing one costs more than verifying. */
export const KEY_CACHE_SIZE = 4096;
const keyCache = new Map<string, PublicKey>();
const pemCache = new WeakMap<KeyObject, string>();

/**
 * `parsePublicKey` with a bounded cache keyed by the exact text (public data; a KeyObject is
 * immutable, so sharing one is safe). The oldest entry is dropped past KEY_CACHE_SIZE.
 */
export function parsePublicKeyCached(text: string): PublicKey {
  const hit = keyCache.get(text);
  if (hit) return hit;
  const k = Object.freeze(parsePublicKey(text));
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string);
  keyCache.set(text, k);
  return k;
}

// One normal form per key, whatever the submitter's encoding: SPKI PEM as Node writes it.
function spkiPem(key: KeyObject): string {
  let pem = pemCache.get(key);
  if (pem === undefined) {
    const pub = key.type === "public" ? key : createPublicKey(key);
    pem = pub.export({ type: "spki", format: "pem" }) as string;
    pemCache.set(key, pem);
  }
  return pem;
}

function readKey(text: unknown, field: string): PublicKey {
  if (typeof text !== "string") throw invalid("a public key is a PEM or JSON string", field);
  if (text.length > 16 * 1024) throw invalid("a public key is at most 16 KiB", field);
  try {
    return parsePublicKeyCached(text);
  } catch (e) {
    throw e instanceof CairnError ? e.underField(field) : e;
  }
}

function checkLeafSize(leaf: Buffer): Buffer {
  if (leaf.length > MAX_LEAF_BYTES) {
    throw invalid(`the entry's leaf is ${leaf.length} bytes, more than ${MAX_LEAF_BYTES}`);
  }
  return leaf;
}

/**
 * The leaf data of a DSSE entry: the UTF-8 bytes of the OLPC canonical JSON (keys sorted, no
 * whitespace, as src/core/canonical.ts) of
 * `{"kind":"dsse/v1","payloadSha256":<hex>,"payloadType":<string>,"signatures":[{"publicKey":<SPKI PEM>,"sig":<base64>},...]}`
 * with the signatures in envelope order, `sig` in standard base64 and `publicKey` the key that
 * verified that signature.
 */
export function dsseLeaf(
  payloadType: string,
  payload: Uint8Array,
  signatures: readonly { sig: Uint8Array; key: KeyObject }[],
): Buffer {
  return canonicalBytes({
    kind: "dsse/v1",
    payloadSha256: digestHex("sha256", payload),
    payloadType,
    signatures: signatures.map((s) => ({ publicKey: spkiPem(s.key), sig: toBase64(s.sig) })),
  });
}

/**
 * The leaf data of a signed-artifact entry: the UTF-8 bytes of the OLPC canonical JSON of
 * `{"digest":{"sha256":<hex>},"kind":"artifact/v1","publicKey":<SPKI PEM>,"signature":<base64>}`.
 */
export function artifactLeaf(sha256Hex: string, signature: Uint8Array, key: KeyObject): Buffer {
  return canonicalBytes({
    digest: { sha256: sha256Hex },
    kind: "artifact/v1",
    publicKey: spkiPem(key),
    signature: toBase64(signature),
  });
}

/**
 * Verifies a DSSE submission: every signature must verify with one of the supplied keys (the
 * keyid is only a hint, DSSE protocol.md), every supplied key must have made one of them (no key
 * rides along unproven), and the payload must be an in-toto Statement (any predicate) or a classic link. Throws
 * ERR_TLOG_ENTRY_INVALID, ERR_DSSE_SIGNATURE_INVALID, ERR_KEY_INVALID, ERR_ENCODING_INVALID,
 * ERR_JSON_* or ERR_FIELD_INVALID.
 */
export function verifyDsseSubmission(sub: DsseSubmission, limits: EntryLimits = {}): VerifiedEntry {
  const maxPayload = limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  // A legacy in-toto metablock ({signed, signatures}) signs canonical JSON, not a DSSE PAE: no
  // entry kind records that signature, so it is refused by name (sign links with --use-dsse).
  if (isJsonObject(sub.envelope) && "signed" in sub.envelope && !("payload" in sub.envelope)) {
    throw invalid("an in-toto metablock is not logged: sign the link as DSSE (--use-dsse)", "envelope");
  }
  const env = parseEnvelope(sub.envelope);
  if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw invalid(`the payload type must be ${INTOTO_PAYLOAD_TYPE}`, "envelope.payloadType");
  }
  // The payload is attacker-controlled: bound it before decoding (base64 is 4/3 of the bytes).
  if (env.payload.length > Math.ceil((maxPayload * 4) / 3) + 4) {
    throw invalid(`the payload is larger than ${maxPayload} bytes`, "envelope.payload");
  }
  if (env.signatures.length === 0) throw invalid("the envelope has no signatures", "envelope.signatures");
  if (env.signatures.length > MAX_SIGNATURES) {
    throw invalid(`the envelope has more than ${MAX_SIGNATURES} signatures`, "envelope.signatures");
  }
  if (!Array.isArray(sub.publicKeys) || sub.publicKeys.length === 0) {
    throw invalid("give the public key(s) that verify the envelope", "publicKeys");
  }
  if (sub.publicKeys.length > MAX_SIGNATURES) {
    throw invalid(`at most ${MAX_SIGNATURES} public keys`, "publicKeys");
  }
  const keys = sub.publicKeys.map((k, i) => readKey(k, `publicKeys[${i}]`));
  const ring = new KeyRing();
  keys.forEach((k, i) => {
    ring.add(k, String(i));
  });
  const used = new Set<number>();
  const signed: { sig: Buffer; key: KeyObject }[] = [];
  let payload: Buffer | undefined;
  env.signatures.forEach((s, i) => {
    // One signature at a time, keyid hint dropped: verifyEnvelope then tries every supplied key.
    const one: Envelope = {
      payloadType: env.payloadType,
      payload: env.payload,
      signatures: [{ sig: s.sig }],
    };
    let verified: ReturnType<typeof verifyEnvelope>;
    try {
      verified = verifyEnvelope(one, ring, 1);
    } catch (e) {
      throw e instanceof CairnError ? e.underField(`envelope.signatures[${i}]`) : e;
    }
    const k = Number(verified.keyids[0]);
    used.add(k);
    signed.push({ sig: fromBase64(s.sig, `envelope.signatures[${i}].sig`), key: keys[k]!.key });
    payload = verified.payload;
  });
  keys.forEach((_, i) => {
    if (!used.has(i)) {
      throw cairnError("ERR_DSSE_SIGNATURE_INVALID", "this key made none of the envelope's signatures", {
        field: `publicKeys[${i}]`,
      });
    }
  });
  // Verify returns the verified thing: the statement is read from the verified payload only.
  const verifiedPayload = payload!;
  if (verifiedPayload.length > maxPayload) {
    throw invalid(`the payload is larger than ${maxPayload} bytes`, "envelope.payload");
  }
  let read: ReturnType<typeof readInTotoPayload>;
  try {
    read = readInTotoPayload(parseJson(verifiedPayload, undefined, { maxBytes: maxPayload, maxDepth: 64 }));
  } catch (e) {
    throw e instanceof CairnError ? e.underField("envelope.payload") : e;
  }
  const leaf = checkLeafSize(dsseLeaf(env.payloadType, verifiedPayload, signed));
  return {
    kind: "dsse",
    leaf,
    leafHash: hashLeaf(leaf),
    envelope: env,
    ...(read.statement ? { statement: read.statement } : {}),
    ...(read.link ? { link: read.link } : {}),
    // The key ids of the leaf's keys, as the store derives them from the leaf (cached per key).
    indexed: { payload: read, keyids: signed.map((s) => parsePublicKeyCached(spkiPem(s.key)).keyid) },
  };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Verifies a signed-artifact submission: the signature must verify over the artifact, checked
 * from its SHA-256 digest (ECDSA P-256/P-384 or RSA; Ed25519 signs whole messages and cannot be
 * checked from a digest: submit a DSSE envelope instead). Throws ERR_TLOG_ENTRY_INVALID,
 * ERR_SIGNATURE_INVALID, ERR_KEY_INVALID or ERR_ENCODING_INVALID.
 */
export function verifyArtifactSubmission(sub: ArtifactSubmission): VerifiedEntry {
  if (
    !isJsonObject(sub.digest) ||
    typeof sub.digest.sha256 !== "string" ||
    !SHA256_HEX.test(sub.digest.sha256)
  ) {
    throw invalid("the digest must be {sha256: <64 lowercase hex>}", "digest.sha256");
  }
  if (typeof sub.signature !== "string" || sub.signature.length > 4096) {
    throw invalid("the signature is a base64 string of at most 4096 characters", "signature");
  }
  const sig = fromBase64(sub.signature, "signature");
  const key = readKey(sub.publicKey, "publicKey");
  if (!supportsPrehashed(key.key)) {
    throw invalid(
      `a ${key.keytype} key cannot verify a signature from a digest: use ECDSA P-256/P-384 or RSA, or a DSSE envelope`,
      "publicKey",
    );
  }
  const digest = fromHex(sub.digest.sha256, "digest.sha256");
  if (!verifyPrehashedSha256(key.key, digest, sig)) {
    throw cairnError("ERR_SIGNATURE_INVALID", "the signature does not verify over the artifact digest", {
      field: "signature",
    });
  }
  const leaf = checkLeafSize(artifactLeaf(sub.digest.sha256, sig, key.key));
  return { kind: "artifact", leaf, leafHash: hashLeaf(leaf) };
}

/**
 * Verifies a submission of any kind, read from untrusted input (e.g. a parsed request body).
 * Throws ERR_TLOG_ENTRY_INVALID for an unknown kind or a malformed submission, and the errors of
 * the kind's verifier.
 */
export function verifySubmission(input: unknown, limits: EntryLimits = {}): VerifiedEntry {
  if (!isJsonObject(input)) throw invalid("a submission is a JSON object");
  switch (input.kind) {
    case "dsse":
      return verifyDsseSubmission(input as unknown as DsseSubmission, limits);
    case "artifact":
      return verifyArtifactSubmission(input as unknown as ArtifactSubmission);
    default:
      throw invalid(`unknown entry kind ${JSON.stringify(input.kind)}: use "dsse" or "artifact"`, "kind");
  }
}

/** An entry verified from a submission's bytes, with what the attestation store keeps of it. */
export interface VerifiedBytesEntry extends VerifiedEntry {
  /**
   * For DSSE entries: the envelope as JSON (`JSON.stringify` of the submission's `envelope`
   * member), what the attestation store keeps.
   */
  envelopeJson?: Buffer;
}

/**
 * `verifySubmission` of a submission given as its JSON bytes (e.g. a request body, so a verify
 * thread parses it, not the thread that received it): parsed with `parseJson` within
 * `limits.maxSubmissionBytes` and MAX_SUBMISSION_DEPTH (ERR_JSON_MALFORMED, ERR_JSON_TOO_LARGE),
 * then verified as `verifySubmission` does. A DSSE entry also carries its envelope as JSON.
 */
export function verifySubmissionBytes(bytes: Uint8Array, limits: EntryLimits = {}): VerifiedBytesEntry {
  const input = parseJson(bytes, undefined, {
    maxBytes: limits.maxSubmissionBytes ?? DEFAULT_JSON_LIMITS.maxBytes,
    maxDepth: MAX_SUBMISSION_DEPTH,
  });
  const entry: VerifiedBytesEntry = verifySubmission(input, limits);
  if (entry.kind === "dsse" && isJsonObject(input)) {
    entry.envelopeJson = Buffer.from(JSON.stringify(input.envelope));
  }
  return entry;
}
