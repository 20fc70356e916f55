// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { derNull } from "../../core/der.js";
import type { CairnError } from "../../core/errors.js";
import { generateKey, spkiDerOf } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import {
  CT_POISON_OID,
  CT_SCT_LIST_OID,
  EKU_OID,
  FULCIO_OID,
  fulcioExtensions,
  parseSubjectAltName,
} from "../../formats/x509/index.js";
import { clientKey } from "../../testing/ca-kit.js";
import {
  basicConstraints,
  distinguishedName,
  type ExtensionSpec,
  extendedKeyUsage,
  KEY_USAGE,
  keyUsage,
  randomSerial,
  signCertificate,
  subjectAltName,
  tbsWithout,
} from "./certificates.js";
import { checkX509Svid, readCertificateIdentity } from "./inspect.js";

const code = (c: string) => (e: CairnError) => e.code === c;
const signer = keySigner(generateKey("ecdsa", { curve: "P-256" }));
const spki = spkiDerOf(clientKey().publicKey);

function leaf(extensions: ExtensionSpec[]): Promise<Buffer> {
  return signCertificate(
    {
      serial: randomSerial(),
      issuer: distinguishedName({ organization: "o", commonName: "ca" }),
      subject: distinguishedName(),
      notBefore: new Date(1_800_000_000_000),
      notAfter: new Date(1_800_000_600_000),
      spki,
      extensions,
    },
    signer,
  );
}

const svid = (
  over: { san?: ExtensionSpec; ku?: ExtensionSpec; bc?: ExtensionSpec; eku?: ExtensionSpec | null } = {},
) =>
  leaf([
    over.ku ?? keyUsage(KEY_USAGE.digitalSignature),
    over.bc ?? basicConstraints(false),
    over.san ?? subjectAltName({ uri: ["spiffe://example.org/w"] }, true),
    ...(over.eku === null ? [] : [over.eku ?? extendedKeyUsage([EKU_OID.serverAuth, EKU_OID.clientAuth])]),
  ]);

describe("subjectAltName (RFC 5280 4.2.1.6)", () => {
  it("round-trips emails and URIs (property)", () => {
    const ascii = fc.stringMatching(/^[\x21-\x7e]{1,60}$/);
    fc.assert(
      fc.property(fc.array(ascii, { maxLength: 4 }), fc.array(ascii, { maxLength: 4 }), (email, uri) => {
        fc.pre(email.length + uri.length > 0);
        const got = parseSubjectAltName(subjectAltName({ email, uri }, true).value);
        assert.deepEqual([got.email, got.uri, got.other], [email, uri, 0]);
      }),
    );
  });
  it("refuses empty, truncated, trailing and non-ASCII SANs", () => {
    for (const hex of ["3000", "3005860361", "300386016100", "30038601ff", "3003040161"])
      assert.throws(() => parseSubjectAltName(Buffer.from(hex, "hex")), code("ERR_X509_INVALID"));
  });
});

describe("reading a certificate's identity", () => {
  it("reads the SAN and the Fulcio extensions from the DER", async () => {
    const der = await leaf([
      subjectAltName({ email: ["dev@example.com"] }, true),
      ...fulcioExtensions({ issuer: "https://issuer.example", buildTrigger: "push" }).map((e) => ({
        ...e,
        critical: false,
      })),
    ]);
    const id = readCertificateIdentity(der);
    assert.deepEqual(id.san.email, ["dev@example.com"]);
    assert.deepEqual(id.fulcio, {
      issuerV1: "https://issuer.example",
      issuer: "https://issuer.example",
      buildTrigger: "push",
    });
  });
  it("refuses a certificate with two SAN extensions or two copies of a Fulcio extension", async () => {
    const san = subjectAltName({ email: ["a@example.com"] }, true);
    const twoSans = await leaf([san, san]);
    assert.throws(() => readCertificateIdentity(twoSans), code("ERR_X509_INVALID"));
    const [, v2] = fulcioExtensions({ issuer: "https://i.example" });
    const dup = { ...v2!, critical: false };
    assert.equal(dup.oid, FULCIO_OID.issuer);
    const twoIssuers = await leaf([san, dup, dup]);
    assert.throws(() => readCertificateIdentity(twoIssuers), code("ERR_X509_INVALID"));
  });
});

describe("X509-SVID leaf profile", () => {
  it("accepts a conforming leaf and returns its SPIFFE ID", async () => {
    assert.equal(checkX509Svid(await svid()).uri, "spiffe://example.org/w");
    assert.equal(checkX509Svid(await svid({ eku: null })).uri, "spiffe://example.org/w");
  });
  const refusals: [string, () => Promise<Buffer>, string][] = [
    [
      "two URI SANs",
      () =>
        svid({ san: subjectAltName({ uri: ["spiffe://example.org/a", "spiffe://example.org/b"] }, true) }),
      "ERR_SPIFFE_ID_INVALID",
    ],
    [
      "no URI SAN",
      () => svid({ san: subjectAltName({ email: ["a@example.com"] }, true) }),
      "ERR_SPIFFE_ID_INVALID",
    ],
    [
      "a trust-domain-only ID",
      () => svid({ san: subjectAltName({ uri: ["spiffe://example.org"] }, true) }),
      "ERR_SPIFFE_ID_INVALID",
    ],
    ["cA true", () => svid({ bc: basicConstraints(true) }), "ERR_X509_INVALID"],
    [
      "keyCertSign",
      () => svid({ ku: keyUsage(KEY_USAGE.digitalSignature | KEY_USAGE.keyCertSign) }),
      "ERR_X509_INVALID",
    ],
    ["no digitalSignature", () => svid({ ku: keyUsage(KEY_USAGE.keyEncipherment) }), "ERR_X509_INVALID"],
    [
      "a non-critical keyUsage",
      () => svid({ ku: { ...keyUsage(KEY_USAGE.digitalSignature), critical: false } }),
      "ERR_X509_INVALID",
    ],
    [
      "extKeyUsage without clientAuth",
      () => svid({ eku: extendedKeyUsage([EKU_OID.serverAuth, EKU_OID.codeSigning]) }),
      "ERR_X509_INVALID",
    ],
  ];
  for (const [what, make, c] of refusals) {
    it(`refuses ${what} (${c})`, async () => {
      const der = await make();
      assert.throws(() => checkX509Svid(der), code(c));
    });
  }
});

describe("precertificate and certificate (RFC 6962 3.2)", () => {
  it("the precertificate's TBS without the poison is the certificate's TBS without the SCT list (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 9999 }), fc.boolean(), fc.uint8Array({ maxLength: 40 })),
          { maxLength: 6 },
        ),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        async (exts, sctList) => {
          const base = exts.map(([n, critical, v]) => ({
            oid: `1.3.6.1.4.1.99999.${n}`,
            critical,
            value: Buffer.concat([Buffer.from([0x04, v.length]), v]),
          }));
          const t = {
            serial: randomSerial(),
            issuer: distinguishedName({ organization: "o", commonName: "ca" }),
            subject: distinguishedName(),
            notBefore: new Date(1_800_000_000_000),
            notAfter: new Date(1_800_000_600_000),
            spki,
          };
          const pre = await signCertificate(
            { ...t, extensions: [...base, { oid: CT_POISON_OID, critical: true, value: derNull() }] },
            signer,
          );
          const fin = await signCertificate(
            {
              ...t,
              extensions: [
                ...base,
                {
                  oid: CT_SCT_LIST_OID,
                  critical: false,
                  value: Buffer.concat([Buffer.from([0x04, sctList.length]), sctList]),
                },
              ],
            },
            signer,
          );
          assert.ok(tbsWithout(pre, [CT_POISON_OID]).equals(tbsWithout(fin, [CT_SCT_LIST_OID])));
        },
      ),
      { numRuns: 30 },
    );
  });
});
