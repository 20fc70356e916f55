// SPDX-License-Identifier: Apache-2.0
// The DER reader and writer (X.690 8, 10): round trips, strictness, and that no input makes it
// fail other than with ERR_ENCODING_INVALID.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { makeTestCa } from "../testing/sigstore-ca.js";
import { derOid, derSeq, derTime, derUint, derUtf8, parseDer, TAG, tlv } from "./der.js";
import { CairnError } from "./errors.js";

describe("DER", () => {
  it("property: INTEGER, OBJECT IDENTIFIER and UTF8String round-trip", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 200n }),
        fc.tuple(
          fc.integer({ min: 0, max: 2 }),
          fc.integer({ min: 0, max: 39 }),
          fc.array(fc.nat(), { maxLength: 8 }),
        ),
        fc.string(),
        (n, [a, b, rest], s) => {
          const oid = [a, b, ...rest].join(".");
          const seq = parseDer(derSeq(derUint(n), derOid(oid), derUtf8(s)));
          const [i, o, u] = seq.children();
          return i!.uint() === n && o!.oid() === oid && u!.text() === s;
        },
      ),
    );
  });

  it("property: long values get minimal long-form lengths and read back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70000 }), (n) => {
        const v = Buffer.alloc(n, 7);
        const d = parseDer(tlv(TAG.OCTET_STRING, v));
        return d.value.equals(v);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses indefinite and non-minimal lengths, trailing bytes, truncation and non-minimal integers", () => {
    for (const hex of [
      "3080",
      "3081050102030405",
      "0401",
      "020100ff",
      "020200017f",
      "0500ff",
      "3003020101ff",
      "0281",
    ]) {
      assert.throws(
        () => {
          const d = parseDer(Buffer.from(hex, "hex"));
          if (d.constructed) d.children();
          if (d.tag === TAG.INTEGER) d.uint();
        },
        { code: "ERR_ENCODING_INVALID" },
        hex,
      );
    }
  });

  it("reads UTCTime and GeneralizedTime as RFC 5280 4.1.2.5 says", () => {
    const t = new Date("2049-12-31T23:59:59Z");
    assert.equal(parseDer(derTime(t)).time().toISOString(), t.toISOString());
    const g = new Date("2050-01-01T00:00:00Z");
    assert.equal(parseDer(derTime(g)).tag, TAG.GENERALIZED_TIME);
    assert.equal(parseDer(derTime(g)).time().toISOString(), g.toISOString());
    assert.throws(() => parseDer(tlv(TAG.UTC_TIME, Buffer.from("491301000000Z"))).time(), {
      code: "ERR_ENCODING_INVALID",
    });
  });

  it("property: arbitrary bytes, and mutated certificates, fail only with ERR_ENCODING_INVALID", () => {
    const ca = makeTestCa();
    const cert = new X509Certificate(ca.interCert).raw;
    const walk = (d: ReturnType<typeof parseDer>, depth = 0): void => {
      if (d.constructed && depth < 40) for (const c of d.children()) walk(c, depth + 1);
    };
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }))),
        (x) => {
          let input: Buffer;
          if (x instanceof Uint8Array) input = Buffer.from(x);
          else {
            input = Buffer.from(cert);
            input[x[0] % input.length] = (input[x[0] % input.length] ?? 0) ^ x[1];
          }
          try {
            walk(parseDer(input));
            return true;
          } catch (e) {
            return e instanceof CairnError && e.code === "ERR_ENCODING_INVALID";
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
