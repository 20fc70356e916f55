// SPDX-License-Identifier: Apache-2.0
// Verifying a signature over an artifact from the artifact's SHA-256 digest alone ("prehashed"),
// as Rekor's hashedrekord does: ECDSA (FIPS 186-5 6.4.2, P-256 and P-384), RSASSA-PKCS1-v1_5
// (RFC 8017 8.2.2) and RSASSA-PSS (RFC 8017 8.1.2, EMSA-PSS 9.1.2). Node's crypto.verify always
// hashes its input, so the last step of each scheme is written out here over public values only
// (no secret is ever handled, so constant time does not matter).
//
// Reviewed for issue 6 (hashedrekord verification from a digest): the curve constants are those
// of FIPS 186-5 D.1.2.3/D.1.2.4; doubling is dbl-2001-b and addition add-1998-cmo-2 in Jacobian
// coordinates (a = -3); the affine x is X/Z^2; r and s are range-checked before any arithmetic;
// signatures must be strict DER. prehashed.test.ts checks it against signatures node:crypto makes
// (P-256, P-384, RSA PKCS#1 v1.5 and PSS with several salt lengths, high-s forms) and that any
// change to the digest, the signature or the key fails. An audited library (@noble/curves) would
// do the same with one more dependency; these 200 lines suffice for verification only.
import { constants, createHash, type KeyObject, publicDecrypt } from "node:crypto";

interface Curve {
  p: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
}

// SEC 2 / FIPS 186-5 D.1.2.3 and D.1.2.4; both curves have a = -3.
const CURVES: Record<string, Curve> = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
};

type Jacobian = [bigint, bigint, bigint]; // Z = 0 is the point at infinity

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let result = 1n;
  let base = mod(b, m);
  let x = e;
  while (x > 0n) {
    if (x & 1n) result = (result * base) % m;
    base = (base * base) % m;
    x >>= 1n;
  }
  return result;
}

// Fermat inversion: m is prime for both the field and the group order.
const inv = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

function double([x, y, z]: Jacobian, p: bigint): Jacobian {
  if (z === 0n || y === 0n) return [0n, 1n, 0n];
  // dbl-2001-b for a = -3.
  const delta = (z * z) % p;
  const gamma = (y * y) % p;
  const beta = (x * gamma) % p;
  const alpha = mod(3n * (x - delta) * (x + delta), p);
  const x3 = mod(alpha * alpha - 8n * beta, p);
  const z3 = mod((y + z) * (y + z) - gamma - delta, p);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, p);
  return [x3, y3, z3];
}

function add(a: Jacobian, b: Jacobian, p: bigint): Jacobian {
  if (a[2] === 0n) return b;
  if (b[2] === 0n) return a;
  const [x1, y1, z1] = a;
  const [x2, y2, z2] = b;
  const z1z1 = (z1 * z1) % p;
  const z2z2 = (z2 * z2) % p;
  const u1 = (x1 * z2z2) % p;
  const u2 = (x2 * z1z1) % p;
  const s1 = (y1 * z2 * z2z2) % p;
  const s2 = (y2 * z1 * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? double(a, p) : [0n, 1n, 0n];
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const x3 = mod(r * r - hhh - 2n * u1 * hh, p);
  const y3 = mod(r * (u1 * hh - x3) - s1 * hhh, p);
  const z3 = (h * z1 * z2) % p;
  return [x3, y3, z3];
}

// u1 * G + u2 * Q by Shamir's trick (verification only: no secrets, no constant-time need).
function twoMul(u1: bigint, g: Jacobian, u2: bigint, q: Jacobian, p: bigint): Jacobian {
  const gq = add(g, q, p);
  let r: Jacobian = [0n, 1n, 0n];
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    r = double(r, p);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) r = add(r, gq, p);
    else if (b1) r = add(r, g, p);
    else if (b2) r = add(r, q, p);
  }
  return r;
}

const toBig = (b: Uint8Array): bigint =>
  b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString("hex")}`);

// Strict DER ECDSA-Sig-Value (RFC 3279 2.2.3): SEQUENCE { r INTEGER, s INTEGER }, short-form
// lengths (a P-384 signature is at most 104 bytes), minimal positive integers.
function parseDerSignature(sig: Uint8Array): [bigint, bigint] | undefined {
  if (sig.length < 8 || sig.length > 127 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) return undefined;
  let off = 2;
  const ints: bigint[] = [];
  for (let k = 0; k < 2; k++) {
    if (sig[off] !== 0x02) return undefined;
    const len = sig[off + 1]!;
    if (len === 0 || len > 0x7f || off + 2 + len > sig.length) return undefined;
    const body = sig.subarray(off + 2, off + 2 + len);
    if (body[0]! & 0x80) return undefined; // negative
    if (body[0] === 0 && len > 1 && !(body[1]! & 0x80)) return undefined; // not minimal
    ints.push(toBig(body));
    off += 2 + len;
  }
  if (off !== sig.length) return undefined;
  return [ints[0]!, ints[1]!];
}

function verifyEcdsaPrehashed(key: KeyObject, digest: Uint8Array, sig: Uint8Array): boolean {
  const jwk = key.export({ format: "jwk" });
  const curve = jwk.crv === undefined ? undefined : CURVES[jwk.crv];
  if (!curve || jwk.x === undefined || jwk.y === undefined) return false;
  const rs = parseDerSignature(sig);
  if (!rs) return false;
  const [r, s] = rs;
  const { p, n } = curve;
  // FIPS 186-5 6.4.2 step 2: r and s in [1, n - 1].
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  // Step 3-4: e is the leftmost bits of the hash, as many as n has.
  let e = toBig(digest);
  const excess = digest.length * 8 - n.toString(2).length;
  if (excess > 0) e >>= BigInt(excess);
  const w = inv(s, n);
  const u1 = mod(e * w, n);
  const u2 = mod(r * w, n);
  // Node validated the public point (on the curve, not infinity) when it imported the key.
  const q: Jacobian = [toBig(Buffer.from(jwk.x, "base64url")), toBig(Buffer.from(jwk.y, "base64url")), 1n];
  const [x, , z] = twoMul(u1, [curve.gx, curve.gy, 1n], u2, q, p);
  if (z === 0n) return false;
  const zi = inv(z, p);
  const xa = (x * zi * zi) % p;
  return mod(xa, n) === r;
}

/** Digests the prehashed verifiers take, with their sizes. */
export type PrehashAlgorithm = "sha256" | "sha384" | "sha512";
const DIGEST_SIZE: Record<PrehashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

// RFC 8017 9.2 note 1: DigestInfo prefixes.
const DIGEST_INFO: Record<PrehashAlgorithm, Buffer> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

function rsaRaw(key: KeyObject, sig: Uint8Array, padding: number): Buffer | undefined {
  try {
    return publicDecrypt({ key, padding }, sig);
  } catch {
    return undefined;
  }
}

function mgf1(alg: PrehashAlgorithm, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let c = 0; out.length * DIGEST_SIZE[alg] < length; c++) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(c);
    out.push(createHash(alg).update(seed).update(counter).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

// RFC 8017 9.1.2 EMSA-PSS-VERIFY with the digest's hash for both the message and MGF1, any salt length.
function verifyPssPrehashed(
  key: KeyObject,
  alg: PrehashAlgorithm,
  digest: Uint8Array,
  sig: Uint8Array,
): boolean {
  const modBits = key.asymmetricKeyDetails?.modulusLength;
  if (modBits === undefined) return false;
  const raw = rsaRaw(key, sig, constants.RSA_NO_PADDING);
  if (!raw) return false;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // The integer is k bytes; when emLen < k its leading byte must be zero.
  if (raw.length > emLen && raw.subarray(0, raw.length - emLen).some((b) => b !== 0)) return false;
  const em = raw.subarray(raw.length - emLen);
  const hLen = DIGEST_SIZE[alg];
  if (emLen < hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  const topMask = 0xff >> topBits;
  if ((maskedDb[0]! & ~topMask & 0xff) !== 0) return false;
  const db = Buffer.from(mgf1(alg, h, maskedDb.length).map((b, i) => b ^ maskedDb[i]!));
  db[0]! &= topMask;
  const one = db.findIndex((b) => b !== 0);
  if (one < 0 || db[one] !== 0x01) return false;
  const salt = db.subarray(one + 1);
  const h2 = createHash(alg).update(Buffer.alloc(8)).update(digest).update(salt).digest();
  return h2.equals(h);
}

function verifyPkcs1Prehashed(
  key: KeyObject,
  alg: PrehashAlgorithm,
  digest: Uint8Array,
  sig: Uint8Array,
): boolean {
  const raw = rsaRaw(key, sig, constants.RSA_PKCS1_PADDING);
  return raw?.equals(Buffer.concat([DIGEST_INFO[alg], digest])) === true;
}

/** Key types `verifyPrehashedSha256` supports. Ed25519 signs the message itself, never a digest. */
export function supportsPrehashed(key: KeyObject): boolean {
  const t = key.asymmetricKeyType;
  if (t === "ec") {
    const c = key.asymmetricKeyDetails?.namedCurve;
    return c === "prime256v1" || c === "secp384r1";
  }
  return t === "rsa";
}

/**
 * True when `sig` is a signature by `key` over a message whose SHA-256 digest is `digest`:
 * ECDSA P-256/P-384 (DER) with SHA-256, or RSA with SHA-256 under PKCS#1 v1.5 or PSS (any salt
 * length). False for anything else, never throws for a bad signature.
 */
export function verifyPrehashedSha256(key: KeyObject, digest: Uint8Array, sig: Uint8Array): boolean {
  return verifyPrehashed(key, "sha256", digest, sig);
}

/**
 * As verifyPrehashedSha256, for a SHA-256, SHA-384 or SHA-512 digest (Sigstore pairs P-384 keys
 * with SHA-384: PKIX_ECDSA_P384_SHA_384).
 */
export function verifyPrehashed(
  key: KeyObject,
  alg: PrehashAlgorithm,
  digest: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (DIGEST_SIZE[alg] === undefined || digest.length !== DIGEST_SIZE[alg]) return false;
  if (key.type !== "public" || !supportsPrehashed(key)) return false;
  // The signature is attacker-controlled: bound it before any big-number work (RSA-16384 max).
  if (sig.length === 0 || sig.length > 2048) return false;
  if (key.asymmetricKeyType === "ec") return verifyEcdsaPrehashed(key, digest, sig);
  return verifyPkcs1Prehashed(key, alg, digest, sig) || verifyPssPrehashed(key, alg, digest, sig);
}
