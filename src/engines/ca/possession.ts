// SPDX-License-Identifier: Apache-2.0
// Proof of possession of the key to certify, the two ways Fulcio's v2 API accepts it
// (fulcio.proto CreateSigningCertificateRequest): a public key with a signature over the
// principal's challenge (the email, else `sub`), or a PKCS#10 CSR (RFC 2986 section 4) whose
// self-signature verifies. Only key types cairn can verify signatures with are accepted.
import { createPublicKey, type KeyObject, verify as nodeVerify } from "node:crypto";
import { CertificationRequest } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import { fromBase64, parsePemBlocks } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";

/** Largest public key, CSR or signature text accepted in a request. */
export const MAX_KEY_MATERIAL_BYTES = 16 * 1024;
/** RSA modulus sizes accepted (Fulcio: 2048 to 4096 bits). */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 4096;

/** A key to certify, after its type and size were checked. */
export interface CertifiableKey {
  key: KeyObject;
  /** DER SubjectPublicKeyInfo. */
  spki: Buffer;
  kind: "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "ed25519" | "rsa";
}

function bad(message: string, field: string, cause?: unknown): CairnError {
  return cairnError("ERR_CA_REQUEST_INVALID", message, { field }, { cause });
}

/** Reads PEM (the first block with `label`) or bare base64 DER. */
function derOf(text: unknown, label: string, field: string): Buffer {
  if (typeof text !== "string" || text.length === 0) throw bad(`${field} must be a non-empty string`, field);
  if (text.length > MAX_KEY_MATERIAL_BYTES)
    throw cairnError("ERR_CA_REQUEST_TOO_LARGE", `${field} is longer than ${MAX_KEY_MATERIAL_BYTES} bytes`, {
      field,
    });
  try {
    if (text.includes("-----BEGIN")) {
      const block = parsePemBlocks(text).find((b) => b.label === label);
      if (!block) throw bad(`${field} has no ${label} PEM block`, field);
      return block.der;
    }
    return fromBase64(text.trim(), field);
  } catch (e) {
    if (e instanceof CairnError && e.code === "ERR_CA_REQUEST_INVALID") throw e;
    throw bad(`${field} is neither PEM nor base64 DER`, field, e);
  }
}

/** Checks a public key is of a type and size the CA certifies (ERR_CA_KEY_UNSUPPORTED otherwise). */
export function certifiableKey(key: KeyObject, field = "publicKey"): CertifiableKey {
  if (key.type !== "public") throw bad("a public key is expected", field);
  const spki = key.export({ type: "spki", format: "der" });
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case "ec": {
      const kind = { prime256v1: "ecdsa-p256", secp384r1: "ecdsa-p384", secp521r1: "ecdsa-p521" }[
        d.namedCurve ?? ""
      ] as CertifiableKey["kind"] | undefined;
      if (kind) return { key, spki, kind };
      throw cairnError("ERR_CA_KEY_UNSUPPORTED", `elliptic curve ${d.namedCurve} is not supported`, {
        field,
      });
    }
    case "ed25519":
      return { key, spki, kind: "ed25519" };
    case "rsa": {
      const bits = d.modulusLength ?? 0;
      if (bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS) return { key, spki, kind: "rsa" };
      throw cairnError("ERR_CA_KEY_UNSUPPORTED", `RSA keys of ${bits} bits are not supported`, { field });
    }
    default:
      throw cairnError("ERR_CA_KEY_UNSUPPORTED", `${key.asymmetricKeyType} keys are not supported`, {
        field,
      });
  }
}

/** Parses a PEM or base64-DER SubjectPublicKeyInfo and checks it is certifiable. */
export function parseCertifiableKey(
  text: unknown,
  field = "publicKeyRequest.publicKey.content",
): CertifiableKey {
  const der = derOf(text, "PUBLIC KEY", field);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch (e) {
    throw bad("not a DER SubjectPublicKeyInfo", field, e);
  }
  return certifiableKey(key, field);
}

// The hashes tried for a challenge signature: SHA-256 (what Sigstore clients use for every key
// type), then the curve's own hash for the larger curves.
const CHALLENGE_HASHES: Record<CertifiableKey["kind"], (string | null)[]> = {
  "ecdsa-p256": ["sha256"],
  "ecdsa-p384": ["sha256", "sha384"],
  "ecdsa-p521": ["sha256", "sha512"],
  ed25519: [null],
  rsa: ["sha256"],
};

/**
 * Fulcio's proof of possession: `signature` (base64) is the key's signature over the principal's
 * challenge text. Throws ERR_CA_PROOF_INVALID when it does not verify.
 */
export function verifyChallenge(k: CertifiableKey, challenge: string, signature: unknown): void {
  const field = "publicKeyRequest.proofOfPossession";
  if (typeof signature !== "string" || signature.length === 0) throw bad("no proof of possession", field);
  if (signature.length > MAX_KEY_MATERIAL_BYTES)
    throw cairnError("ERR_CA_REQUEST_TOO_LARGE", "the proof of possession is too long", { field });
  const sig = fromBase64(signature, field);
  const data = Buffer.from(challenge, "utf8");
  const ok = CHALLENGE_HASHES[k.kind].some((h) => {
    try {
      return nodeVerify(h, data, k.key, sig);
    } catch {
      return false;
    }
  });
  if (!ok)
    throw cairnError("ERR_CA_PROOF_INVALID", "the proof of possession does not verify with the key", {
      field,
    });
}

// RFC 5758 3.2, RFC 4055 5 / RFC 8017 A.2.4, RFC 8410 3: CSR signature algorithms and their hashes.
const CSR_SIGNATURE_HASH: Record<string, string | null> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.3.101.112": null,
};

/**
 * Reads a PKCS#10 CSR (PEM "CERTIFICATE REQUEST" or base64 DER), checks its key is certifiable
 * and that its self-signature over the CertificationRequestInfo verifies with that key (RFC 2986
 * 4.2); returns the key. The CSR's subject and attributes are ignored: the token names the subject.
 */
export function verifyCsr(text: unknown): CertifiableKey {
  const field = "certificateSigningRequest";
  const der = derOf(text, "CERTIFICATE REQUEST", field);
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch (e) {
    throw bad("not a DER PKCS#10 certificate request", field, e);
  }
  const info = csr.certificationRequestInfo;
  let key: KeyObject;
  try {
    key = createPublicKey({
      key: Buffer.from(AsnConvert.serialize(info.subjectPKInfo)),
      format: "der",
      type: "spki",
    });
  } catch (e) {
    throw bad("the CSR's public key cannot be read", field, e);
  }
  const k = certifiableKey(key, field);
  const alg = csr.signatureAlgorithm.algorithm;
  if (!(alg in CSR_SIGNATURE_HASH))
    throw cairnError("ERR_CA_KEY_UNSUPPORTED", `CSR signature algorithm ${alg} is not supported`, { field });
  // The signed bytes are the CertificationRequestInfo's DER: a CSR signed over a BER encoding fails here.
  const signed = Buffer.from(AsnConvert.serialize(info));
  let ok = false;
  try {
    ok = nodeVerify(CSR_SIGNATURE_HASH[alg]!, signed, key, Buffer.from(csr.signature));
  } catch {
    ok = false;
  }
  if (!ok) throw cairnError("ERR_CA_PROOF_INVALID", "the CSR's self-signature does not verify", { field });
  return k;
}
