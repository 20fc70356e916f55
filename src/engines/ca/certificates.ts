// SPDX-License-Identifier: Apache-2.0
// X.509 v3 certificates (RFC 5280 4.1) assembled with @peculiar/asn1-x509 and signed through the
// core `Signer` port, so a CA key may live in a file, in memory or in a KMS. Reading goes through
// Node's X509Certificate; extensions Node does not expose are read with @peculiar/asn1-x509.
//
// Why not @peculiar/x509's generator: it needs a CryptoKey (no KMS) and, in 2.2.0, a global
// Reflect metadata polyfill that is not among its dependencies (tsyringe throws at import).
import { createHash, randomBytes, X509Certificate } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn from "@peculiar/asn1-x509";
import { cairnError } from "../../core/errors.js";
import type { Signer } from "../../core/signer.js";
import { EKU_OID, X509_EXTENSION_OID } from "../../formats/x509/index.js";

/** One extension to write (RFC 5280 4.1 Extension): `value` is the DER inside extnValue. */
export interface ExtensionSpec {
  oid: string;
  critical: boolean;
  value: Uint8Array;
}

/** What a certificate says, before it is signed. Names are DER (an issuer's is copied byte for byte). */
export interface CertificateTemplate {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the certified key. */
  spki: Buffer;
  extensions: readonly ExtensionSpec[];
}

/** Largest certificate or CSR the CA reads (an identity certificate is a few KiB). */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

// RFC 5758 3.2 (ecdsa-with-SHA256/384) and RFC 8410 3 (Ed25519): parameters absent.
const SIGNATURE_OIDS: Record<string, string> = {
  "ecdsa-sha2-nistp256": "1.2.840.10045.4.3.2",
  "ecdsa-sha2-nistp384": "1.2.840.10045.4.3.3",
  ed25519: "1.3.101.112",
};

/** The AlgorithmIdentifier OID for what a signer's scheme produces; CA keys are ECDSA or Ed25519. */
export function signatureOidOf(signer: Signer): string {
  const oid = SIGNATURE_OIDS[signer.publicKey.scheme];
  if (!oid) {
    throw cairnError(
      "ERR_KEY_INVALID",
      `a CA key must be ECDSA P-256/P-384 or Ed25519, not ${signer.publicKey.scheme}`,
    );
  }
  return oid;
}

/** RFC 5280 4.1.2.2: a positive serial of at most 20 octets; 16 random octets (the CA/B 64-bit minimum and more). */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b;
}

/** DER of a Name with the given organization and common name (UTF8String values), or the empty Name. */
export function distinguishedName(parts: { organization?: string; commonName?: string } = {}): Buffer {
  const rdns: asn.RelativeDistinguishedName[] = [];
  const add = (type: string, v: string | undefined) => {
    if (v === undefined) return;
    rdns.push(
      new asn.RelativeDistinguishedName([
        new asn.AttributeTypeAndValue({ type, value: new asn.AttributeValue({ utf8String: v }) }),
      ]),
    );
  };
  add("2.5.4.10", parts.organization);
  add("2.5.4.3", parts.commonName);
  return Buffer.from(AsnConvert.serialize(new asn.Name(rdns)));
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes. */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const info = AsnConvert.parse(spki, asn.SubjectPublicKeyInfo);
  return createHash("sha1").update(Buffer.from(info.subjectPublicKey)).digest();
}

const ext = (oid: string, critical: boolean, value: unknown): ExtensionSpec => ({
  oid,
  critical,
  value: Buffer.from(AsnConvert.serialize(value)),
});

/** RFC 5280 4.2.1.9 basicConstraints, always critical. */
export function basicConstraints(ca: boolean, pathLen?: number): ExtensionSpec {
  const v = new asn.BasicConstraints(
    ca ? (pathLen === undefined ? { cA: true } : { cA: true, pathLenConstraint: pathLen }) : {},
  );
  return ext(X509_EXTENSION_OID.basicConstraints, true, v);
}

/** RFC 5280 4.2.1.3 keyUsage, critical. */
export function keyUsage(flags: number): ExtensionSpec {
  return ext(X509_EXTENSION_OID.keyUsage, true, new asn.KeyUsage(flags));
}
export const KEY_USAGE = asn.KeyUsageFlags;

/** RFC 5280 4.2.1.12 extKeyUsage, not critical unless asked (RFC 3161 2.3: a TSA's is critical). */
export function extendedKeyUsage(oids: readonly string[], critical = false): ExtensionSpec {
  return ext(X509_EXTENSION_OID.extKeyUsage, critical, new asn.ExtendedKeyUsage([...oids]));
}
export { EKU_OID };

export function subjectKeyIdentifier(spki: Uint8Array): ExtensionSpec {
  return ext(X509_EXTENSION_OID.subjectKeyIdentifier, false, new asn.KeyIdentifier(keyIdentifier(spki)));
}

export function authorityKeyIdentifier(issuerSpki: Uint8Array): ExtensionSpec {
  const v = new asn.AuthorityKeyIdentifier({
    keyIdentifier: new asn.KeyIdentifier(keyIdentifier(issuerSpki)),
  });
  return ext(X509_EXTENSION_OID.authorityKeyIdentifier, false, v);
}

/**
 * RFC 5280 4.2.1.6 subjectAltName. It is critical when the subject is empty ("If the subject
 * field contains an empty sequence, ... the subjectAltName extension ... MUST be critical").
 */
export function subjectAltName(
  names: { email?: string[]; uri?: string[] },
  critical: boolean,
): ExtensionSpec {
  const gn = [
    ...(names.email ?? []).map((e) => new asn.GeneralName({ rfc822Name: e })),
    ...(names.uri ?? []).map((u) => new asn.GeneralName({ uniformResourceIdentifier: u })),
  ];
  return ext(X509_EXTENSION_OID.subjectAltName, critical, new asn.SubjectAlternativeName(gn));
}

function tbsOf(t: CertificateTemplate, signatureOid: string): asn.TBSCertificate {
  return new asn.TBSCertificate({
    version: asn.Version.v3,
    serialNumber: new Uint8Array(t.serial).buffer,
    signature: new asn.AlgorithmIdentifier({ algorithm: signatureOid }),
    issuer: AsnConvert.parse(t.issuer, asn.Name),
    validity: new asn.Validity({ notBefore: t.notBefore, notAfter: t.notAfter }),
    subject: AsnConvert.parse(t.subject, asn.Name),
    subjectPublicKeyInfo: AsnConvert.parse(t.spki, asn.SubjectPublicKeyInfo),
    extensions: new asn.Extensions(
      t.extensions.map(
        (e) =>
          new asn.Extension({ extnID: e.oid, critical: e.critical, extnValue: new OctetString(e.value) }),
      ),
    ),
  });
}

/** Signs a template with `signer` (the issuer's key) and returns the certificate's DER. */
export async function signCertificate(t: CertificateTemplate, signer: Signer): Promise<Buffer> {
  const oid = signatureOidOf(signer);
  const tbs = tbsOf(t, oid);
  const sig = await signer.sign(Buffer.from(AsnConvert.serialize(tbs)));
  const cert = new asn.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: new asn.AlgorithmIdentifier({ algorithm: oid }),
    signatureValue: new Uint8Array(sig).buffer,
  });
  return Buffer.from(AsnConvert.serialize(cert));
}

/** An extension as read from a certificate. */
export interface ReadExtension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

/** Parses a certificate's DER with the ASN.1 schema (ERR_X509_INVALID when it is not one). */
export function parseCertificateDer(der: Uint8Array): asn.Certificate {
  if (der.length > MAX_CERTIFICATE_BYTES)
    throw cairnError(
      "ERR_CA_REQUEST_TOO_LARGE",
      `a certificate is larger than ${MAX_CERTIFICATE_BYTES} bytes`,
    );
  try {
    return AsnConvert.parse(der, asn.Certificate);
  } catch (e) {
    throw cairnError("ERR_X509_INVALID", `not a DER X.509 certificate: ${(e as Error).message}`);
  }
}

/** The extensions of a DER certificate, in order. */
export function certificateExtensions(der: Uint8Array): ReadExtension[] {
  const c = parseCertificateDer(der);
  return (c.tbsCertificate.extensions ?? []).map((e) => ({
    oid: e.extnID,
    critical: e.critical,
    value: Buffer.from(e.extnValue.buffer),
  }));
}

/** The DER TBSCertificate of a certificate with the extensions of `dropOids` removed (RFC 6962 3.2 PreCert). */
export function tbsWithout(der: Uint8Array, dropOids: readonly string[]): Buffer {
  const c = parseCertificateDer(der);
  const tbs = c.tbsCertificate;
  tbs.extensions = new asn.Extensions((tbs.extensions ?? []).filter((e) => !dropOids.includes(e.extnID)));
  return Buffer.from(AsnConvert.serialize(tbs));
}

/** The DER subject Name of a certificate, byte for byte (for use as the issuer of what it signs). */
export function subjectNameOf(der: Uint8Array): Buffer {
  return Buffer.from(AsnConvert.serialize(parseCertificateDer(der).tbsCertificate.subject));
}

/** Node's view of a DER certificate. */
export function x509(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw cairnError("ERR_X509_INVALID", `not an X.509 certificate: ${(e as Error).message}`);
  }
}
