// SPDX-License-Identifier: Apache-2.0
// Prehashed verification against node:crypto: every signature Node makes over a message verifies
// from the message's SHA-256 alone, and any change to the digest, signature or key fails.
import assert from "node:assert/strict";
import { constants, createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { supportsPrehashed, verifyPrehashed, verifyPrehashedSha256 } from "./prehashed.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

const ec256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const ec384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const N256 = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

type Signing = { name: string; pub: KeyObject; sign: (m: Buffer) => Buffer };
const SCHEMES: Signing[] = [
  { name: "ECDSA P-256", pub: ec256.publicKey, sign: (m) => sign("sha256", m, ec256.privateKey) },
  {
    name: "ECDSA P-384 with SHA-256",
    pub: ec384.publicKey,
    sign: (m) => sign("sha256", m, ec384.privateKey),
  },
  { name: "RSA PKCS#1 v1.5", pub: rsa.publicKey, sign: (m) => sign("sha256", m, rsa.privateKey) },
  ...[0, 20, 32, 64].map((saltLength) => ({
    name: `RSA PSS salt ${saltLength}`,
    pub: rsa.publicKey,
    sign: (m: Buffer) =>
      sign("sha256", m, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
  })),
];

/** DER of r, s (RFC 3279 2.2.3), minimal positive integers. */
function derSig(r: bigint, s: bigint): Buffer {
  const int = (n: bigint) => {
    let h = n.toString(16);
    if (h.length % 2) h = `0${h}`;
    let b = Buffer.from(h, "hex");
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([2, b.length]), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

function parseRs(sig: Buffer): [bigint, bigint] {
  const rl = sig[3]!;
  const r = BigInt(`0x${sig.subarray(4, 4 + rl).toString("hex")}`);
  const sl = sig[5 + rl]!;
  const s = BigInt(`0x${sig.subarray(6 + rl, 6 + rl + sl).toString("hex")}`);
  return [r, s];
}

describe("verifyPrehashedSha256", () => {
  for (const sch of SCHEMES) {
    it(`${sch.name}: Node's signatures verify from the digest; altered digests and signatures do not`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (m, pos, x) => {
            const msg = Buffer.from(m);
            const sig = sch.sign(msg);
            const d = sha256(msg);
            if (!verifyPrehashedSha256(sch.pub, d, sig)) return false;
            const d2 = Buffer.from(d);
            d2[pos % 32] = (d2[pos % 32] ?? 0) ^ x;
            const s2 = Buffer.from(sig);
            s2[pos % s2.length] = (s2[pos % s2.length] ?? 0) ^ x;
            return !verifyPrehashedSha256(sch.pub, d2, sig) && !verifyPrehashedSha256(sch.pub, d, s2);
          },
        ),
        { numRuns: sch.name.startsWith("RSA") ? 15 : 40 },
      );
    });
  }

  it("accepts the high-s form of an ECDSA signature, as node:crypto does, and refuses r or s out of range", () => {
    const msg = Buffer.from("high s");
    const sig = sign("sha256", msg, ec256.privateKey);
    const [r, s] = parseRs(sig);
    const d = sha256(msg);
    assert.ok(verifyPrehashedSha256(ec256.publicKey, d, derSig(r, N256 - s)));
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, d, derSig(r + N256, s)));
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, d, derSig(r, 0n)));
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, d, derSig(0n, s)));
  });

  it("refuses another key, non-DER signatures, wrong digest sizes and Ed25519", () => {
    const msg = Buffer.from("m");
    const sig = sign("sha256", msg, ec256.privateKey);
    const d = sha256(msg);
    assert.ok(
      !verifyPrehashedSha256(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey, d, sig),
    );
    // A long-form length where the short form fits is not DER.
    const ber = Buffer.concat([Buffer.from([0x30, 0x81, sig[1]!]), sig.subarray(2)]);
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, d, ber));
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, Buffer.concat([d, Buffer.alloc(1)]), sig));
    assert.ok(!verifyPrehashedSha256(ec256.publicKey, d, Buffer.alloc(0)));
    const ed = generateKeyPairSync("ed25519");
    assert.equal(supportsPrehashed(ed.publicKey), false);
    assert.ok(!verifyPrehashedSha256(ed.publicKey, d, sign(null, msg, ed.privateKey)));
    // A private key is not a verification key.
    assert.ok(!verifyPrehashedSha256(ec256.privateKey, d, sig));
  });

  it("SHA-384 and SHA-512 digests: P-384 with SHA-384, RSA PKCS#1 v1.5 and PSS with SHA-512", () => {
    const msg = Buffer.from("other digests");
    const d384 = createHash("sha384").update(msg).digest();
    const d512 = createHash("sha512").update(msg).digest();
    const ecSig = sign("sha384", msg, ec384.privateKey);
    assert.ok(verifyPrehashed(ec384.publicKey, "sha384", d384, ecSig));
    assert.ok(!verifyPrehashed(ec384.publicKey, "sha256", sha256(msg), ecSig));
    assert.ok(!verifyPrehashed(ec384.publicKey, "sha384", d512.subarray(0, 48), ecSig));
    const pkcs1 = sign("sha512", msg, rsa.privateKey);
    assert.ok(verifyPrehashed(rsa.publicKey, "sha512", d512, pkcs1));
    assert.ok(!verifyPrehashed(rsa.publicKey, "sha384", d384, pkcs1));
    const pss = sign("sha512", msg, {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 64,
    });
    assert.ok(verifyPrehashed(rsa.publicKey, "sha512", d512, pss));
    assert.ok(
      !verifyPrehashed(rsa.publicKey, "sha512", d512, sign("sha512", Buffer.from("x"), rsa.privateKey)),
    );
  });

  it("property: random bytes are never a valid signature", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 120 }),
        (b) => !verifyPrehashedSha256(ec256.publicKey, sha256(Buffer.from("x")), Buffer.from(b)),
      ),
      { numRuns: 200 },
    );
  });
});
