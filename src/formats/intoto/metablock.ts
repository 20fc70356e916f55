// SPDX-License-Identifier: Apache-2.0
// The in-toto signature wrappers (in-toto specification v1.0 section 4.2 "Metadata"): the classic
// metablock {"signed": ..., "signatures": [{"keyid", "sig"}]} with signatures over the canonical
// JSON of "signed" as received, and the DSSE envelope form (payloadType application/vnd.in-toto+json).
import { canonicalBytes } from "../../core/canonical.js";
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
  const data = canonicalBytes(doc.metablock.signed);
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

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isJsonObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/** JSON with sorted keys and one-space indent, as in-toto's Metablock.dump. */
export function stableStringify(v: unknown): string {
  return JSON.stringify(sortKeys(v), null, 1);
}
