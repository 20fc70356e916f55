// SPDX-License-Identifier: Apache-2.0
// The in-toto signature wrappers (in-toto specification v1.0 section 4.2 "Metadata"): the classic
// metablock {"signed": ..., "signatures": [{"keyid", "sig"}]} with signatures over the canonical
// JSON of "signed" as received, and the DSSE envelope form (payloadType application/vnd.in-toto+json).
import { canonicalBytes, compareCodePoints } from "../../core/canonical.js";
import { canonicalSignedFromMetablockBytes } from "../../core/canonical-bytes.js";
import { fromHex, toHex } from "../../core/encoding.js";
import { cairnError, fieldError } from "../../core/errors.js";
import { type KeyRing, keyFingerprint, type Signer } from "../../core/index.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { type Envelope, parseEnvelope, signEnvelope, verifyEnvelope } from "../dsse/envelope.js";

export const INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface MetablockSignature {
  keyid: string;
  sig: string;
  [extra: string]: unknown;
}

export interface Metablock {
  signed: Record<string, unknown>;
  signatures: MetablockSignature[];
}

/** A signed in-toto document in either wrapper, before verification. */
export type SignedDocument =
  | { format: "metablock"; metablock: Metablock; file?: string }
  | { format: "dsse"; envelope: Envelope; file?: string };

/** What verification returns: the signed object, and which trusted keys signed it. */
export interface VerifiedDocument {
  signed: Record<string, unknown>;
  keyids: string[];
}

/** Recognizes and validates the wrapper of a signed in-toto document. */
export function parseSignedDocument(obj: unknown, file?: string): SignedDocument {
  if (isJsonObject(obj) && "payloadType" in obj) {
    const envelope = parseEnvelope(obj, file);
    return file === undefined ? { format: "dsse", envelope } : { format: "dsse", envelope, file };
  }
  if (!isJsonObject(obj)) throw fieldError("$", "a signed in-toto document must be a JSON object", file);
  if (!isJsonObject(obj.signed)) throw fieldError("signed", "must be an object", file);
  if (!Array.isArray(obj.signatures)) throw fieldError("signatures", "must be a list", file);
  const seen = new Set<string>();
  obj.signatures.forEach((s, i) => {
    if (!isJsonObject(s) || typeof s.keyid !== "string" || typeof s.sig !== "string") {
      throw fieldError(`signatures[${i}]`, "a signature needs string keyid and sig", file);
    }
    if (seen.has(s.keyid)) {
      throw cairnError("ERR_KEY_DUPLICATE", `key ${s.keyid} signed twice`, {
        field: `signatures[${i}].keyid`,
        ...(file ? { file } : {}),
      });
    }
    seen.add(s.keyid);
  });
  const metablock = obj as unknown as Metablock;
  return file === undefined ? { format: "metablock", metablock } : { format: "metablock", metablock, file };
}

/**
 * The bytes each metablock was parsed from, for the fast path to its canonical JSON; keyed by the
 * metablock object and set only by readSignedDocument, so no caller can pair a metablock with
 * bytes it was not parsed from.
 */
const RAW = new WeakMap<Metablock, { bytes: Uint8Array; signed: Record<string, unknown> }>();

/**
 * Parses a signed in-toto document from a file's bytes (bounded JSON, then parseSignedDocument)
 * and keeps the bytes so that verifySignedDocument can take the canonical JSON of "signed"
 * straight from them. The document must not be modified before it is verified.
 */
export function readSignedDocument(bytes: Uint8Array, file?: string): SignedDocument {
  const doc = parseSignedDocument(parseJson(bytes, file), file);
  if (doc.format === "metablock") RAW.set(doc.metablock, { bytes, signed: doc.metablock.signed });
  return doc;
}

/**
 * What metablock signatures cover: the canonical JSON of "signed" as received. From the file's
 * bytes when they are already in canonical key order (canonical-bytes.ts proves the result equal to
 * the slow path's), else by encoding the parsed object.
 */
function signedCanonicalBytes(metablock: Metablock): Uint8Array {
  const raw = RAW.get(metablock);
  // The same signed object that was parsed from the bytes, or the bytes say nothing about it.
  if (raw !== undefined && raw.signed === metablock.signed) {
    const fast = canonicalSignedFromMetablockBytes(raw.bytes);
    if (fast !== undefined) return fast;
  }
  return canonicalBytes(metablock.signed);
}

/** The unverified signed object, for looking at (names, key ids) before the keys are known. */
export function peekSigned(doc: SignedDocument): Record<string, unknown> {
  if (doc.format === "metablock") return doc.metablock.signed;
  const obj = parseJson(Buffer.from(doc.envelope.payload, "base64"), doc.file);
  if (!isJsonObject(obj)) throw fieldError("payload", "the DSSE payload must be a JSON object", doc.file);
  return obj;
}

/** Key ids that claim to have signed (unverified). */
export function signatureKeyIds(doc: SignedDocument): string[] {
  const sigs = doc.format === "metablock" ? doc.metablock.signatures : doc.envelope.signatures;
  return sigs.map((s) => s.keyid).filter((k): k is string => typeof k === "string");
}

/**
 * Checks the document's signatures against trusted keys: at least `threshold` distinct keys must
 * verify. Metablock signatures cover the canonical JSON of "signed" exactly as received.
 */
export function verifySignedDocument(doc: SignedDocument, keys: KeyRing, threshold = 1): VerifiedDocument {
  if (doc.format === "dsse") {
    const v = verifyEnvelope(doc.envelope, keys, threshold);
    if (v.payloadType !== INTOTO_PAYLOAD_TYPE) {
      throw cairnError("ERR_SIGNATURE_INVALID", `unexpected payloadType ${v.payloadType}`, {
        field: "payloadType",
        ...(doc.file ? { file: doc.file } : {}),
      });
    }
    const obj = parseJson(v.payload, doc.file);
    if (!isJsonObject(obj)) throw fieldError("payload", "the DSSE payload must be a JSON object", doc.file);
    return { signed: obj, keyids: v.keyids };
  }
  const data = signedCanonicalBytes(doc.metablock);
  const keyids: string[] = [];
  const seen = new Set<string>();
  for (const s of doc.metablock.signatures) {
    const k = keys.get(s.keyid);
    if (!k) continue;
    const fp = keyFingerprint(k);
    if (seen.has(fp)) continue;
    let sig: Buffer;
    try {
      sig = fromHex(s.sig, "sig");
    } catch {
      continue;
    }
    if (keys.verify(s.keyid, data, sig)) {
      keyids.push(s.keyid);
      seen.add(fp);
    }
  }
  if (keyids.length < threshold) {
    throw cairnError(
      "ERR_SIGNATURE_INVALID",
      `${keyids.length} valid signature(s) from trusted keys, ${threshold} required`,
      doc.file ? { file: doc.file } : {},
    );
  }
  return { signed: doc.metablock.signed, keyids };
}

/** Signs an object in the classic metablock form (hex signatures over canonical JSON). */
export async function signMetablock(
  signed: Record<string, unknown>,
  signers: Signer[],
  existing: MetablockSignature[] = [],
): Promise<Metablock> {
  const data = canonicalBytes(signed);
  const signatures = existing.filter((s) => !signers.some((g) => g.keyid === s.keyid));
  for (const s of signers) signatures.push({ keyid: s.keyid, sig: toHex(await s.sign(data)) });
  return { signed, signatures };
}

/**
 * Signs an object in the DSSE form. The payload is plain JSON with sorted keys, not canonical
 * JSON: canonical JSON leaves control characters (the newlines of a PEM key) unescaped, which is
 * not valid JSON for the payload's readers. DSSE signs the payload bytes, so any encoding verifies.
 */
export function signDsseDocument(signed: Record<string, unknown>, signers: Signer[]): Promise<Envelope> {
  return signEnvelope(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(sortKeys(signed)), "utf8"), signers);
}

/** Serializes as the reference implementation writes files: sorted keys, indent 1. */
export function serializeDocument(doc: Metablock | Envelope): string {
  return `${stableStringify(doc)}\n`;
}

/**
 * `v` with the keys of every object in code point order (Python's sort_keys). Parts already in
 * order are shared, not copied: the artifact maps of large links usually are, and sorted files
 * let verifiers take canonical JSON straight from the bytes.
 */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const s = sortKeys(v[i]);
      if (s !== v[i]) {
        copy ??= v.slice();
        copy[i] = s;
      }
    }
    return copy ?? v;
  }
  if (isJsonObject(v)) {
    const keys = Object.keys(v);
    let changed = false;
    for (let i = 1; i < keys.length; i++) {
      if (compareCodePoints(keys[i - 1]!, keys[i]!) > 0) {
        keys.sort(compareCodePoints);
        changed = true;
        break;
      }
    }
    // Values are copied only once something below has changed (no arrays for the digest sets).
    let values: unknown[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const x = v[keys[i]!];
      const s = sortKeys(x);
      if (s !== x && values === undefined) {
        values = new Array<unknown>(keys.length);
        for (let j = 0; j < i; j++) values[j] = v[keys[j]!];
      }
      if (values !== undefined) values[i] = s;
    }
    if (!changed && values === undefined) return v;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const x = values === undefined ? v[k] : values[i];
      // "__proto__" as a plain assignment would set the prototype, not a field.
      if (k === "__proto__")
        Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out;
  }
  return v;
}

/** JSON with sorted keys and one-space indent, as in-toto's Metablock.dump. */
export function stableStringify(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 1);
}
