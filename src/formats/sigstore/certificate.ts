// SPDX-License-Identifier: Apache-2.0
// What a Sigstore verifier reads from an X.509 signing certificate (RFC 5280 4.1, 4.2): validity,
// basic constraints, key usage and extended key usage, subject alternative names, the Fulcio
// extensions (sigstore/fulcio docs/oid-info.md, arc 1.3.6.1.4.1.57264.1), and the embedded
// signed certificate timestamps with the precertificate TBS they sign (RFC 6962 3.2, 3.3).
// node:crypto checks signatures; this module only reads the DER.
import { type KeyObject, X509Certificate } from "node:crypto";
import { derSeq, parseDer, TAG, tlv } from "../../core/der.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { parseSctListExtension, precertSignedData, type Sct } from "../x509/index.js";

export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  /** RFC 6962 3.3: the embedded SCT list. */
  sctList: "1.3.6.1.4.1.11129.2.4.2",
  /** RFC 6962 3.1: the precertificate poison. */
  ctPoison: "1.3.6.1.4.1.11129.2.4.3",
  /** Fulcio: the OIDC issuer (v1: raw bytes, deprecated; v2: DER UTF8String). */
  fulcioIssuerV1: "1.3.6.1.4.1.57264.1.1",
  fulcioIssuerV2: "1.3.6.1.4.1.57264.1.8",
  /** Fulcio OtherName SAN for non-email, non-URI identities ("username"). */
  fulcioOtherName: "1.3.6.1.4.1.57264.1.7",
} as const;

/** Fulcio certificate extensions by name (docs/oid-info.md). V1 ones are raw strings, later ones DER UTF8String. */
export const FULCIO_EXTENSIONS = {
  githubWorkflowTrigger: ["1.3.6.1.4.1.57264.1.2", "raw"],
  githubWorkflowSha: ["1.3.6.1.4.1.57264.1.3", "raw"],
  githubWorkflowName: ["1.3.6.1.4.1.57264.1.4", "raw"],
  githubWorkflowRepository: ["1.3.6.1.4.1.57264.1.5", "raw"],
  githubWorkflowRef: ["1.3.6.1.4.1.57264.1.6", "raw"],
  buildSignerUri: ["1.3.6.1.4.1.57264.1.9", "der"],
  buildSignerDigest: ["1.3.6.1.4.1.57264.1.10", "der"],
  runnerEnvironment: ["1.3.6.1.4.1.57264.1.11", "der"],
  sourceRepositoryUri: ["1.3.6.1.4.1.57264.1.12", "der"],
  sourceRepositoryDigest: ["1.3.6.1.4.1.57264.1.13", "der"],
  sourceRepositoryRef: ["1.3.6.1.4.1.57264.1.14", "der"],
  sourceRepositoryIdentifier: ["1.3.6.1.4.1.57264.1.15", "der"],
  sourceRepositoryOwnerUri: ["1.3.6.1.4.1.57264.1.16", "der"],
  sourceRepositoryOwnerIdentifier: ["1.3.6.1.4.1.57264.1.17", "der"],
  buildConfigUri: ["1.3.6.1.4.1.57264.1.18", "der"],
  buildConfigDigest: ["1.3.6.1.4.1.57264.1.19", "der"],
  buildTrigger: ["1.3.6.1.4.1.57264.1.20", "der"],
  runInvocationUri: ["1.3.6.1.4.1.57264.1.21", "der"],
  sourceRepositoryVisibilityAtSigning: ["1.3.6.1.4.1.57264.1.22", "der"],
} as const;

export type FulcioExtensionName = keyof typeof FULCIO_EXTENSIONS;

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue contents (the bytes inside the OCTET STRING). */
  value: Buffer;
  /** The whole Extension SEQUENCE. */
  raw: Buffer;
}

/** Subject alternative names by kind (RFC 5280 4.2.1.6). */
export interface SubjectAltNames {
  emails: string[];
  uris: string[];
  dnsNames: string[];
  /** Fulcio's OtherName "username" identities. */
  otherNames: string[];
}

/** One SCT from the embedded list (RFC 6962 3.2 SignedCertificateTimestamp). */
export type EmbeddedSct = Sct;

/** A parsed certificate: node's object for crypto, and the fields a Sigstore verifier reads. */
export interface CertificateInfo {
  x509: X509Certificate;
  /** The subject public key (read eagerly: a key that does not load makes the certificate unreadable). */
  publicKey: KeyObject;
  der: Buffer;
  tbs: Buffer;
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Extension[];
  isCA: boolean;
  pathLen?: number;
  /** RFC 5280 4.2.1.3 bits, bit 0 = digitalSignature; undefined without the extension. */
  keyUsage?: number[];
  extKeyUsage?: string[];
  san: SubjectAltNames;
}

/** Most extensions we read in one certificate; a Fulcio leaf has about 20. */
export const MAX_EXTENSIONS = 64;

function invalid(message: string): Error {
  return cairnError("ERR_SIGSTORE_CERTIFICATE_INVALID", message);
}

/** Parses a DER certificate. Throws ERR_SIGSTORE_CERTIFICATE_INVALID when it cannot be read. */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  try {
    return readCertificate(Buffer.from(der));
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_SIGSTORE_CERTIFICATE_INVALID") throw e;
    throw invalid(`the certificate cannot be read: ${(e as Error).message}`);
  }
}

// The TBSCertificate's fields and extensions, from the DER alone.
function readTbs(der: Buffer) {
  const cert = parseDer(der).expect(TAG.SEQUENCE);
  const tbsDer = cert.child(0, TAG.SEQUENCE);
  const f = tbsDer.children();
  let i = 0;
  if (f[0]?.isContext(0)) i++; // [0] EXPLICIT version
  const serial = f[i++]!.expect(TAG.INTEGER).value;
  i++; // signature AlgorithmIdentifier
  const issuer = f[i++]!.expect(TAG.SEQUENCE).raw;
  const validity = f[i++]!.expect(TAG.SEQUENCE);
  const subject = f[i++]!.expect(TAG.SEQUENCE).raw;
  i++; // subjectPublicKeyInfo
  const extensions: Extension[] = [];
  for (; i < f.length; i++) {
    if (!f[i]!.isContext(3)) continue; // [1] issuerUniqueID and [2] subjectUniqueID are skipped
    const list = f[i]!.child(0, TAG.SEQUENCE).children();
    if (list.length > MAX_EXTENSIONS) throw invalid(`more than ${MAX_EXTENSIONS} extensions`);
    for (const e of list) {
      const parts = e.expect(TAG.SEQUENCE).children();
      const oid = parts[0]!.oid();
      const critical = parts.length === 3 ? parts[1]!.bool() : false;
      const value = parts[parts.length - 1]!.expect(TAG.OCTET_STRING).value;
      // RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a particular extension."
      if (extensions.some((x) => x.oid === oid)) throw invalid(`extension ${oid} appears twice`);
      extensions.push({ oid, critical, value, raw: e.raw });
    }
  }
  return { tbs: tbsDer.raw, serial, issuer, validity, subject, extensions };
}

// RFC 5280 4.2.1.6 GeneralNames of the SAN extension, by kind.
function readSan(extensions: readonly Extension[]): SubjectAltNames {
  const out: SubjectAltNames = { emails: [], uris: [], dnsNames: [], otherNames: [] };
  const san = extensions.find((e) => e.oid === OID.subjectAltName);
  if (!san) return out;
  for (const g of parseDer(san.value).expect(TAG.SEQUENCE).children()) {
    if (g.tag === 0x81) out.emails.push(g.value.toString("latin1"));
    else if (g.tag === 0x82) out.dnsNames.push(g.value.toString("latin1"));
    else if (g.tag === 0x86) out.uris.push(g.value.toString("latin1"));
    else if (g.tag === 0xa0) {
      // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (implicitly tagged [0]).
      const kids = g.children();
      if (kids[0]?.oid() === OID.fulcioOtherName && kids[1]?.isContext(0)) {
        out.otherNames.push(kids[1].child(0).text());
      }
    }
  }
  return out;
}

function readCertificate(der: Buffer): CertificateInfo {
  const x509 = new X509Certificate(der);
  const t = readTbs(der);
  const { extensions } = t;
  const info: CertificateInfo = {
    x509,
    publicKey: x509.publicKey,
    der,
    tbs: t.tbs,
    serial: t.serial,
    issuer: t.issuer,
    subject: t.subject,
    notBefore: t.validity.child(0).time(),
    notAfter: t.validity.child(1).time(),
    extensions,
    isCA: false,
    san: readSan(extensions),
  };
  const ext = (oid: string) => extensions.find((e) => e.oid === oid);
  const bc = ext(OID.basicConstraints);
  if (bc) {
    const kids = parseDer(bc.value).expect(TAG.SEQUENCE).children();
    let k = 0;
    if (kids[k]?.tag === TAG.BOOLEAN) info.isCA = kids[k++]!.bool();
    if (kids[k]?.tag === TAG.INTEGER) info.pathLen = Number(kids[k]!.uint());
  }
  const ku = ext(OID.keyUsage);
  if (ku) {
    const bits = parseDer(ku.value).expect(TAG.BIT_STRING).value;
    const set: number[] = [];
    for (let b = 0; b < (bits.length - 1) * 8; b++) if (bits[1 + (b >> 3)]! & (0x80 >> (b & 7))) set.push(b);
    info.keyUsage = set;
  }
  const eku = ext(OID.extKeyUsage);
  if (eku)
    info.extKeyUsage = parseDer(eku.value)
      .expect(TAG.SEQUENCE)
      .children()
      .map((c) => c.oid());
  return info;
}

/**
 * The names a certificate claims, read from its DER alone (no X509Certificate, no key: about a
 * tenth of `parseCertificate`'s cost, for indexing many certificates): its SANs and its Fulcio
 * OIDC issuer. Nothing is verified. Throws ERR_SIGSTORE_CERTIFICATE_INVALID when unreadable.
 */
export function certificateNames(der: Uint8Array): { san: SubjectAltNames; oidcIssuer?: string } {
  try {
    const { extensions } = readTbs(Buffer.from(der));
    const oidcIssuer = fulcioIssuer({ extensions });
    return { san: readSan(extensions), ...(oidcIssuer !== undefined ? { oidcIssuer } : {}) };
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_SIGSTORE_CERTIFICATE_INVALID") throw e;
    throw invalid(`the certificate cannot be read: ${(e as Error).message}`);
  }
}

/** The value of a Fulcio extension, or undefined when the certificate has none. */
export function fulcioExtension(cert: CertificateInfo, name: FulcioExtensionName): string | undefined {
  const [oid, enc] = FULCIO_EXTENSIONS[name];
  const e = cert.extensions.find((x) => x.oid === oid);
  if (!e) return undefined;
  return enc === "raw" ? e.value.toString("utf8") : parseDer(e.value).text();
}

/** The OIDC issuer: extension .1.8 (DER UTF8String), or the deprecated .1.1 (raw bytes). */
export function fulcioIssuer(cert: Pick<CertificateInfo, "extensions">): string | undefined {
  const v2 = cert.extensions.find((x) => x.oid === OID.fulcioIssuerV2);
  if (v2) return parseDer(v2.value).text();
  const v1 = cert.extensions.find((x) => x.oid === OID.fulcioIssuerV1);
  return v1?.value.toString("utf8");
}

/**
 * The embedded SCTs (RFC 6962 3.3), read with the one SCT parser (src/formats/x509/sct.ts,
 * bounded by its MAX_SCTS); a malformed list is ERR_SIGSTORE_CERTIFICATE_INVALID.
 */
export function embeddedScts(cert: CertificateInfo): EmbeddedSct[] {
  const e = cert.extensions.find((x) => x.oid === OID.sctList);
  if (!e) return [];
  try {
    return parseSctListExtension(e.value);
  } catch (err) {
    if (err instanceof CairnError && err.code === "ERR_X509_INVALID") throw invalid(err.message);
    throw err;
  }
}

/**
 * The TBSCertificate of the precertificate the SCTs signed: the certificate's TBS with the SCT
 * list extension removed (RFC 6962 3.2, "the TBSCertificate component of the Precertificate ...
 * with the poison extension removed"; the final certificate then adds the SCT list).
 */
export function precertificateTbs(cert: CertificateInfo): Buffer {
  const tbs = parseDer(cert.tbs);
  const parts = tbs.children().map((c) => {
    if (!c.isContext(3)) return c.raw;
    const exts = c
      .child(0, TAG.SEQUENCE)
      .children()
      .filter((e) => e.child(0).oid() !== OID.sctList);
    return tlv(c.tag, derSeq(...exts.map((e) => e.raw)));
  });
  return tlv(tbs.tag, ...parts);
}

/**
 * RFC 6962 3.2 digitally-signed struct of an SCT over a precertificate entry, given the issuer's
 * key hash (SHA-256 of its SPKI) and the precertificate's TBS.
 */
export function sctSignedData(sct: EmbeddedSct, issuerKeyHash: Uint8Array, tbs: Uint8Array): Buffer {
  return precertSignedData({
    timestamp: sct.timestamp,
    issuerKeyHash,
    tbsCertificate: tbs,
    extensions: sct.extensions,
  });
}
