// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { derUtf8 } from "../../core/der.js";
import type { CairnError } from "../../core/errors.js";
import {
  decodeFulcioExtension,
  FULCIO_OID,
  fulcioExtensions,
  leafSpiffeIdOf,
  parseSct,
  parseSctListExtension,
  parseSpiffeId,
  readDerUtf8String,
  type Sct,
  sctListExtensionValue,
  serializeSct,
  spiffeIdOf,
} from "./index.js";

const code = (c: string) => (e: CairnError) => e.code === c;

describe("SPIFFE IDs (SPIFFE-ID.md 2)", () => {
  it("accepts valid IDs and keeps their one spelling", () => {
    assert.deepEqual(parseSpiffeId("spiffe://example.org/ns/default/sa/builder"), {
      trustDomain: "example.org",
      path: "/ns/default/sa/builder",
      uri: "spiffe://example.org/ns/default/sa/builder",
    });
    assert.equal(parseSpiffeId("spiffe://td").path, "");
    assert.equal(spiffeIdOf("cluster.local", ["ns", "a_b-c.d"]).uri, "spiffe://cluster.local/ns/a_b-c.d");
  });
  // Each refusal SPIFFE-ID.md requires: 2 scheme, 2.1 trust domain charset (no port, user, upper case),
  // 2.2 path (empty, dot segments, trailing slash, %-encoding, query, fragment), 2.3 length.
  for (const bad of [
    "SPIFFE://example.org/a",
    "spiffe:/example.org/a",
    "https://example.org/a",
    "spiffe://",
    "spiffe:///a",
    "spiffe://Example.org/a",
    "spiffe://example.org:8080/a",
    "spiffe://user@example.org/a",
    "spiffe://example.org/",
    "spiffe://example.org//a",
    "spiffe://example.org/a/",
    "spiffe://example.org/./a",
    "spiffe://example.org/a/..",
    "spiffe://example.org/a%20b",
    "spiffe://example.org/a?x=1",
    "spiffe://example.org/a#f",
    `spiffe://${"a".repeat(256)}/x`,
    `spiffe://example.org/${"a/".repeat(1100)}a`,
  ]) {
    it(`refuses ${bad.slice(0, 40)}`, () => {
      assert.throws(() => parseSpiffeId(bad), code("ERR_SPIFFE_ID_INVALID"));
    });
  }
  it("a leaf X.509-SVID has exactly one URI SAN with a path (X509-SVID.md 2)", () => {
    assert.equal(leafSpiffeIdOf(["spiffe://td/w"]).uri, "spiffe://td/w");
    assert.throws(() => leafSpiffeIdOf([]), code("ERR_SPIFFE_ID_INVALID"));
    assert.throws(() => leafSpiffeIdOf(["spiffe://td/a", "spiffe://td/b"]), code("ERR_SPIFFE_ID_INVALID"));
    assert.throws(() => leafSpiffeIdOf(["spiffe://td"]), code("ERR_SPIFFE_ID_INVALID"));
  });
  it("valid IDs round-trip (property)", () => {
    const seg = fc
      .stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,10}$/)
      .filter((s) => s !== "." && s !== "..");
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9._-]{1,30}$/), fc.array(seg, { maxLength: 5 }), (td, segs) => {
        const id = spiffeIdOf(td, segs);
        assert.deepEqual(parseSpiffeId(id.uri), id);
      }),
    );
  });
});

describe("DER strings", () => {
  it("encodes lengths minimally (X.690 8.1.3)", () => {
    const lengthOctets = (n: number) => derUtf8("a".repeat(n)).subarray(1, -n).toString("hex");
    assert.equal(lengthOctets(5), "05");
    assert.equal(lengthOctets(200), "81c8");
    assert.equal(lengthOctets(300), "82012c");
  });
  it("round-trips UTF8String and refuses non-DER", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => assert.equal(readDerUtf8String(derUtf8(s)), s)),
    );
    assert.throws(() => readDerUtf8String(Buffer.from("0c810161", "hex")), code("ERR_X509_INVALID"));
    assert.throws(() => readDerUtf8String(Buffer.from("0c0261", "hex")), code("ERR_X509_INVALID"));
    assert.throws(() => readDerUtf8String(Buffer.from("0c016100", "hex")), code("ERR_X509_INVALID"));
    assert.throws(() => readDerUtf8String(Buffer.from("0c01ff", "hex")), code("ERR_X509_INVALID"));
  });
});

describe("Fulcio extensions (oid-info.md)", () => {
  it("writes the issuer in both forms, raw for .1 and DER UTF8String for .8 onwards", () => {
    const exts = fulcioExtensions({ issuer: "https://issuer.test", sourceRepositoryRef: "refs/heads/main" });
    assert.deepEqual(
      exts.map((e) => e.oid),
      [FULCIO_OID.issuerV1, FULCIO_OID.issuer, FULCIO_OID.sourceRepositoryRef],
    );
    assert.equal(exts[0]!.value.toString(), "https://issuer.test");
    assert.equal(exts[1]!.value.toString("hex"), derUtf8("https://issuer.test").toString("hex"));
    for (const e of exts) assert.ok(decodeFulcioExtension(e.oid, e.value).length > 0);
    assert.equal(decodeFulcioExtension(exts[2]!.oid, exts[2]!.value), "refs/heads/main");
  });
  it("refuses oversized claim values", () => {
    assert.throws(() => fulcioExtensions({ issuer: "x".repeat(5000) }), code("ERR_CA_REQUEST_TOO_LARGE"));
  });
});

describe("RFC 6962 SCTs", () => {
  const arb = fc
    .record({
      version: fc.constant(0),
      logId: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
      timestamp: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      extensions: fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b)),
      hashAlgorithm: fc.constant(4),
      signatureAlgorithm: fc.constant(3),
      signature: fc.uint8Array({ minLength: 1, maxLength: 80 }).map((b) => Buffer.from(b)),
    })
    .map((r) => ({ ...r }));
  it("round-trips an SCT and an SCT list extension (property)", () => {
    fc.assert(
      fc.property(fc.array(arb, { minLength: 1, maxLength: 4 }), (scts: Sct[]) => {
        for (const s of scts) assert.deepEqual(parseSct(serializeSct(s)), s);
        assert.deepEqual(parseSctListExtension(sctListExtensionValue(scts)), scts);
      }),
    );
  });
  it("refuses truncated and padded SCTs", () => {
    const s: Sct = {
      version: 0,
      logId: Buffer.alloc(32, 1),
      timestamp: 1n,
      extensions: Buffer.alloc(0),
      hashAlgorithm: 4,
      signatureAlgorithm: 3,
      signature: Buffer.from([1, 2, 3]),
    };
    const b = serializeSct(s);
    assert.throws(() => parseSct(b.subarray(0, b.length - 1)), code("ERR_X509_INVALID"));
    assert.throws(() => parseSct(Buffer.concat([b, Buffer.from([0])])), code("ERR_X509_INVALID"));
    assert.throws(() => parseSct(Buffer.concat([Buffer.from([1]), b.subarray(1)])), code("ERR_X509_INVALID"));
  });
});
