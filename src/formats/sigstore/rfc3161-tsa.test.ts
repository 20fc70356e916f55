// SPDX-License-Identifier: Apache-2.0
// Time-stamp requests (RFC 3161 2.4.1) in DER and in sigstore/timestamp-authority's JSON form:
// encode/parse round trips, and each malformed request refused with its code, never a crash.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { derOctets, derOid, derSeq, derUint, tlv } from "../../core/der.js";
import { CairnError } from "../../core/errors.js";
import {
  DIGEST_BYTES,
  encodeTimestampRequest,
  MAX_TIMESTAMP_REQUEST_BYTES,
  parseTimestampRequest,
  parseTimestampRequestJson,
  type TimestampHash,
  type TimestampRequest,
} from "./rfc3161-tsa.js";

const SHA256 = "2.16.840.1.101.3.4.2.1";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${e}`);
    return e.code;
  }
  return "accepted";
}

const requestArb: fc.Arbitrary<TimestampRequest> = fc
  .constantFrom<TimestampHash>("sha256", "sha384", "sha512")
  .chain((h) =>
    fc.record(
      {
        hashAlgorithm: fc.constant(h),
        hashedMessage: fc
          .uint8Array({ minLength: DIGEST_BYTES[h], maxLength: DIGEST_BYTES[h] })
          .map(Buffer.from),
        policy: fc.constantFrom("1.3.6.1.4.1.57264.2", "1.2.3.4.5"),
        nonce: fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        certReq: fc.boolean(),
      },
      { requiredKeys: ["hashAlgorithm", "hashedMessage", "certReq"] },
    ),
  )
  .map((r) => ({ ...r }));

describe("RFC 3161 time-stamp requests", () => {
  it("parse(encode(r)) is r, for every hash, policy, nonce and certReq", () => {
    fc.assert(
      fc.property(requestArb, (r) => {
        assert.deepEqual(parseTimestampRequest(encodeTimestampRequest(r)), r);
      }),
    );
  });

  it("reads the JSON form the sigstore client sends, and its optional members", () => {
    const digest = Buffer.alloc(32, 7);
    assert.deepEqual(
      parseTimestampRequestJson({ artifactHash: digest.toString("base64"), hashAlgorithm: "sha256" }),
      {
        hashAlgorithm: "sha256",
        hashedMessage: digest,
        certReq: false,
      },
    );
    assert.deepEqual(
      parseTimestampRequestJson({
        artifactHash: digest.toString("base64"),
        hashAlgorithm: "sha256",
        nonce: "123456789012345678901234567890",
        certificates: true,
        tsaPolicyOID: "1.2.3",
        unknown: "ignored",
      }),
      {
        hashAlgorithm: "sha256",
        hashedMessage: digest,
        certReq: true,
        nonce: 123456789012345678901234567890n,
        policy: "1.2.3",
      },
    );
  });

  it("refuses malformed JSON requests with the field named", () => {
    const ok = { artifactHash: Buffer.alloc(32).toString("base64"), hashAlgorithm: "sha256" };
    const cases: [unknown, string][] = [
      [[], "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, hashAlgorithm: "md5" }, "ERR_TSA_HASH_UNSUPPORTED"],
      [{ ...ok, hashAlgorithm: "sha1" }, "ERR_TSA_HASH_UNSUPPORTED"],
      [{ artifactHash: ok.artifactHash }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, artifactHash: Buffer.alloc(31).toString("base64") }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, hashAlgorithm: "sha384" }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, artifactHash: "not base64!" }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, nonce: -1 }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, nonce: 1.5 }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, nonce: "9".repeat(90) }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, certificates: "yes" }, "ERR_TSA_REQUEST_INVALID"],
      [{ ...ok, tsaPolicyOID: "not.an.oid" }, "ERR_TSA_REQUEST_INVALID"],
    ];
    for (const [body, want] of cases)
      assert.equal(
        codeOf(() => parseTimestampRequestJson(body)),
        want,
        JSON.stringify(body),
      );
  });

  it("refuses malformed DER requests: version, hash, digest length, extensions, trailing bytes, BER", () => {
    const imprint = (oid: string, n: number) => derSeq(derSeq(derOid(oid)), derOctets(Buffer.alloc(n)));
    const good = derSeq(derUint(1), imprint(SHA256, 32));
    assert.equal(
      codeOf(() => parseTimestampRequest(good)),
      "accepted",
    );
    const indefinite = Buffer.from(good);
    indefinite[1] = 0x80; // an indefinite length: BER, not DER
    const cases: [Buffer, string][] = [
      [derSeq(derUint(2), imprint(SHA256, 32)), "ERR_TSA_REQUEST_INVALID"],
      [derSeq(derUint(1), imprint("1.3.14.3.2.26", 20)), "ERR_TSA_HASH_UNSUPPORTED"], // SHA-1
      [derSeq(derUint(1), imprint("1.2.840.113549.2.5", 16)), "ERR_TSA_HASH_UNSUPPORTED"], // MD5
      [derSeq(derUint(1), imprint(SHA256, 31)), "ERR_TSA_REQUEST_INVALID"],
      [derSeq(derUint(1), imprint(SHA256, 64)), "ERR_TSA_REQUEST_INVALID"],
      [derSeq(derUint(1), imprint(SHA256, 32), tlv(0xa0, derSeq())), "ERR_TSA_REQUEST_INVALID"],
      [derSeq(derUint(1), imprint(SHA256, 32), derUint(1), derOid("1.2.3")), "ERR_TSA_REQUEST_INVALID"],
      [Buffer.concat([good, Buffer.from([0])]), "ERR_TSA_REQUEST_INVALID"],
      [indefinite, "ERR_TSA_REQUEST_INVALID"],
      [
        derSeq(derUint(1), imprint(SHA256, 32), derUint(Buffer.alloc(40, 0xff).readBigUInt64BE() << 256n)),
        "ERR_TSA_REQUEST_INVALID",
      ],
      [Buffer.alloc(MAX_TIMESTAMP_REQUEST_BYTES + 1), "ERR_TSA_REQUEST_TOO_LARGE"],
    ];
    for (const [der, want] of cases)
      assert.equal(
        codeOf(() => parseTimestampRequest(der)),
        want,
        der.toString("hex"),
      );
  });

  it("any bytes are either a request or refused with a time-stamp request code", () => {
    const codes = new Set(["accepted", "ERR_TSA_REQUEST_INVALID", "ERR_TSA_HASH_UNSUPPORTED"]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        assert.ok(codes.has(codeOf(() => parseTimestampRequest(b))));
      }),
    );
    // Mutations of valid requests: a flipped byte never passes as another hash algorithm's request.
    fc.assert(
      fc.property(requestArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, i, x) => {
        const der = encodeTimestampRequest(r);
        der[i % der.length]! ^= x;
        const c = codeOf(() => parseTimestampRequest(der));
        assert.ok(codes.has(c), c);
      }),
    );
  });
});
