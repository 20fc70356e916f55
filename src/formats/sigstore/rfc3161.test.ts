// SPDX-License-Identifier: Apache-2.0
// RFC 3161 responses and the certificate fields a Sigstore verifier reads: what the test TSA and
// CA make parses back; BER, a refused status and malformed SCT lists are refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { derSeq, derUint, parseDer, TAG, tlv } from "../../core/der.js";
import { ecPair, issueLeaf, makeTestCa, makeTestTsa, timestampResponse } from "../../testing/sigstore-ca.js";
import { sctListExtensionValue } from "../x509/index.js";
import {
  embeddedScts,
  fulcioExtension,
  fulcioIssuer,
  OID,
  parseCertificate,
  precertificateTbs,
} from "./certificate.js";
import { parseTimestampResponse } from "./rfc3161.js";

describe("RFC 3161 timestamp responses", () => {
  const tsa = makeTestTsa();
  const data = Buffer.from("signature bytes");
  const at = new Date("2026-03-04T05:06:07Z");
  const der = timestampResponse(tsa, data, at);

  it("reads genTime, the imprint, the signer and the signed attributes", () => {
    const t = parseTimestampResponse(der);
    assert.equal(t.genTime.toISOString(), at.toISOString());
    assert.equal(t.imprintAlgorithm, "sha256");
    assert.deepEqual(t.hashedMessage, createHash("sha256").update(data).digest());
    assert.deepEqual(t.messageDigest, createHash("sha256").update(t.tstInfo).digest());
    assert.equal(t.signedAttributes[0], TAG.SET);
    assert.ok(t.signerSerial && t.signerIssuer);
  });

  it("refuses BER (a constructed OCTET STRING for the TSTInfo) and a status that is not granted", () => {
    const ber = timestampResponse(tsa, data, at, { berContent: true });
    assert.throws(() => parseTimestampResponse(ber), { code: "ERR_SIGSTORE_TIMESTAMP_INVALID" });
    const rejected = derSeq(derSeq(derUint(2)));
    assert.throws(() => parseTimestampResponse(rejected), { code: "ERR_SIGSTORE_TIMESTAMP_INVALID" });
  });

  it("property: any single-byte change is refused or parses to a token (never another error)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const b = Buffer.from(der);
        b[pos % b.length] = (b[pos % b.length] ?? 0) ^ x;
        try {
          parseTimestampResponse(b);
          return true;
        } catch (e) {
          return (e as { code?: string }).code === "ERR_SIGSTORE_TIMESTAMP_INVALID";
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("certificate fields", () => {
  const ca = makeTestCa();
  const ct = ecPair();
  const der = issueLeaf(ca, ecPair().spki, {
    email: "a@b.test",
    issuer: "https://issuer.test",
    claims: { "1.3.6.1.4.1.57264.1.12": "https://github.com/o/r" },
    ctlog: ct,
  });
  const c = parseCertificate(der);

  it("reads SANs, key usage, EKU, the Fulcio issuer and claims", () => {
    assert.deepEqual(c.san.emails, ["a@b.test"]);
    assert.deepEqual(c.keyUsage, [0]);
    assert.deepEqual(c.extKeyUsage, [OID.codeSigning]);
    assert.equal(fulcioIssuer(c), "https://issuer.test");
    assert.equal(fulcioExtension(c, "sourceRepositoryUri"), "https://github.com/o/r");
    assert.equal(c.isCA, false);
    assert.equal(parseCertificate(ca.interCert).isCA, true);
    assert.equal(parseCertificate(ca.interCert).pathLen, 0);
  });

  it("the SCT list round-trips and the precertificate TBS is the TBS without it", () => {
    const scts = embeddedScts(c);
    assert.equal(scts.length, 1);
    const ext = c.extensions.find((e) => e.oid === OID.sctList)!;
    assert.deepEqual(sctListExtensionValue(scts), ext.value);
    const pre = precertificateTbs(c);
    // Smaller by the extension, give or take the enclosing length octets.
    assert.ok(Math.abs(pre.length - (c.tbs.length - ext.raw.length)) <= 4);
    assert.ok(!pre.includes(ext.raw));
    const exts = parseDer(pre)
      .children()
      .find((x) => x.isContext(3))!;
    assert.equal(exts.child(0).children().length, c.extensions.length - 1);
  });

  it("refuses a truncated SCT list and duplicate extensions", () => {
    const ext = c.extensions.find((e) => e.oid === OID.sctList)!;
    const broken = {
      ...c,
      extensions: [{ ...ext, value: tlv(TAG.OCTET_STRING, Buffer.from([0, 9, 0, 1])) }],
    };
    assert.throws(() => embeddedScts(broken), { code: "ERR_SIGSTORE_CERTIFICATE_INVALID" });
    assert.throws(() => parseCertificate(Buffer.from("3000", "hex")), {
      code: "ERR_SIGSTORE_CERTIFICATE_INVALID",
    });
  });
});
