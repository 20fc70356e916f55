// SPDX-License-Identifier: Apache-2.0
// DSSE v1 (github.com/secure-systems-lab/dsse, protocol.md and envelope.md): the envelope, the
// pre-authentication encoding, signing with several signers and threshold verification.
import { fromBase64, toBase64 } from "../../core/encoding.js";
import { cairnError, fieldError } from "../../core/errors.js";
import { type KeyRing, keyFingerprint, type Signer } from "../../core/index.js";
import { isJsonObject } from "../../core/json.js";

export interface DsseSignature {
  keyid?: string;
  sig: string;
  [extra: string]: unknown;
}

export interface Envelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** What verifyEnvelope returns: the payload, only after the signatures were checked. */
export interface VerifiedEnvelope {
  payloadType: string;
  payload: Buffer;
  /** Key ids of the distinct trusted keys whose signatures verified. */
  keyids: string[];
}

/** Most signatures one envelope may carry: each one without a keyid is tried against every key. */
export const MAX_SIGNATURES = 32;

/** protocol.md: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  // Lone surrogates all encode to U+FFFD: two different types would share one PAE.
  if (!payloadType.isWellFormed()) {
    throw cairnError("ERR_FIELD_INVALID", "payloadType is not well-formed Unicode", { field: "payloadType" });
  }
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "ascii"),
    type,
    Buffer.from(` ${payload.byteLength} `, "ascii"),
    payload,
  ]);
}

/** Validates the shape of an envelope read from outside. */
export function parseEnvelope(obj: unknown, file?: string): Envelope {
  if (!isJsonObject(obj)) throw fieldError("$", "a DSSE envelope must be a JSON object", file);
  if (typeof obj.payloadType !== "string") throw fieldError("payloadType", "must be a string", file);
  if (typeof obj.payload !== "string") throw fieldError("payload", "must be a base64 string", file);
  if (!Array.isArray(obj.signatures)) throw fieldError("signatures", "must be an array", file);
  obj.signatures.forEach((s, i) => {
    if (!isJsonObject(s) || typeof s.sig !== "string")
      throw fieldError(`signatures[${i}].sig`, "must be a string", file);
    if (s.keyid !== undefined && typeof s.keyid !== "string") {
      throw fieldError(`signatures[${i}].keyid`, "must be a string", file);
    }
  });
  fromBase64(obj.payload, "payload");
  return obj as unknown as Envelope;
}

/** Signs a payload with every signer (each adds one signature). */
export async function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signers: Signer[],
): Promise<Envelope> {
  const msg = pae(payloadType, payload);
  const signatures: DsseSignature[] = [];
  for (const s of signers) signatures.push({ keyid: s.keyid, sig: toBase64(await s.sign(msg)) });
  return { payloadType, payload: toBase64(payload), signatures };
}

/**
 * Verifies an envelope: at least `threshold` distinct trusted keys must have signed PAE(type, payload).
 * A signature's keyid is only a hint (protocol.md): with no keyid every trusted key is tried.
 * Throws ERR_DSSE_SIGNATURE_INVALID otherwise.
 */
export function verifyEnvelope(env: Envelope, keys: KeyRing, threshold = 1): VerifiedEnvelope {
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw cairnError("ERR_USAGE", "threshold must be an integer of at least 1");
  }
  // The signature list is attacker-controlled: bound the work it can cause.
  if (env.signatures.length > MAX_SIGNATURES) {
    throw cairnError("ERR_DSSE_SIGNATURE_INVALID", `more than ${MAX_SIGNATURES} signatures`, {
      field: "signatures",
    });
  }
  const payload = fromBase64(env.payload, "payload");
  const msg = pae(env.payloadType, payload);
  const accepted = new Set<string>();
  const acceptedKeys = new Set<string>();
  for (const s of env.signatures) {
    let sig: Buffer;
    try {
      sig = fromBase64(s.sig, "sig");
    } catch {
      continue;
    }
    const candidates = s.keyid ? [s.keyid] : keys.ids();
    for (const id of candidates) {
      const k = keys.get(id);
      // One key counts once, even when registered under two ids.
      if (!k) continue;
      const fp = keyFingerprint(k);
      if (acceptedKeys.has(fp)) continue;
      if (keys.verify(id, msg, sig)) {
        accepted.add(id);
        acceptedKeys.add(fp);
        break;
      }
    }
  }
  if (accepted.size < threshold) {
    throw cairnError(
      "ERR_DSSE_SIGNATURE_INVALID",
      `${accepted.size} valid signature(s) from trusted keys, ${threshold} required`,
    );
  }
  return { payloadType: env.payloadType, payload, keyids: [...accepted] };
}
