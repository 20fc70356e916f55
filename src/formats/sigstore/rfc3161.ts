// SPDX-License-Identifier: Apache-2.0
// RFC 3161 time-stamp responses as a Sigstore bundle carries them (timestampVerificationData:
// "the DER encoded TimeStampResponse"): TimeStampResp (RFC 3161 2.4.2) holding a TimeStampToken,
// a CMS ContentInfo of SignedData (RFC 5652 3, 5.1-5.4) whose encapsulated content is a TSTInfo.
// DER only: an indefinite length or a constructed (BER) OCTET STRING is refused. Parsing proves
// nothing; the engine checks the signature with a trusted timestamp authority's key.

import { type Der, parseDer, TAG } from "../../core/der.js";
import { cairnError } from "../../core/errors.js";

export const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
export const OID_TST_INFO = "1.2.840.113549.1.9.16.1.4";
export const OID_CONTENT_TYPE_ATTR = "1.2.840.113549.1.9.3";
export const OID_MESSAGE_DIGEST_ATTR = "1.2.840.113549.1.9.4";
/** RFC 2634 5.4 signing-certificate (ESSCertID, SHA-1) and RFC 5035 signing-certificate-v2. */
export const OID_SIGNING_CERTIFICATE_ATTR = "1.2.840.113549.1.9.16.2.12";
export const OID_SIGNING_CERTIFICATE_V2_ATTR = "1.2.840.113549.1.9.16.2.47";

/** Hash algorithm OIDs (RFC 5754 2) cairn accepts in tokens. */
export const HASH_OIDS: Record<string, "sha256" | "sha384" | "sha512"> = {
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** Largest token we read. */
export const MAX_TIMESTAMP_BYTES = 64 * 1024;

export interface TimestampToken {
  /** TSTInfo genTime: when the authority says the data existed. */
  genTime: Date;
  /** TSTInfo nonce, when the request carried one (RFC 3161 2.4.2: echoed). */
  nonce?: bigint;
  /** TSTInfo messageImprint. */
  imprintAlgorithm: "sha256" | "sha384" | "sha512";
  hashedMessage: Buffer;
  /** The DER TSTInfo (the signed eContent). */
  tstInfo: Buffer;
  /** SignerInfo sid: IssuerAndSerialNumber, or a subjectKeyIdentifier. */
  signerIssuer?: Buffer;
  signerSerial?: Buffer;
  signerKeyId?: Buffer;
  digestAlgorithm: "sha256" | "sha384" | "sha512";
  signatureAlgorithm: string;
  /** The signed attributes re-tagged as a SET OF (RFC 5652 5.4: what the signature covers). */
  signedAttributes: Buffer;
  /** The message-digest attribute: the hash of tstInfo. */
  messageDigest: Buffer;
  /**
   * The signing certificate's hash from the signing-certificate(-v2) attribute (RFC 3161 2.4.1
   * via RFC 5816: the first ESSCertID(v2) names the certificate that signed), when present.
   */
  signingCertificate?: { algorithm: "sha1" | "sha256" | "sha384" | "sha512"; hash: Buffer };
  signature: Buffer;
}

function invalid(message: string): Error {
  return cairnError("ERR_SIGSTORE_TIMESTAMP_INVALID", `RFC 3161 timestamp: ${message}`);
}

/** Parses a DER TimeStampResp. Throws ERR_SIGSTORE_TIMESTAMP_INVALID. */
export function parseTimestampResponse(der: Uint8Array): TimestampToken {
  if (der.length > MAX_TIMESTAMP_BYTES) throw invalid(`larger than ${MAX_TIMESTAMP_BYTES} bytes`);
  try {
    return read(der);
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_SIGSTORE_TIMESTAMP_INVALID") throw e;
    throw invalid((e as Error).message);
  }
}

function hashOf(algId: Der): "sha256" | "sha384" | "sha512" {
  const oid = algId.expect(TAG.SEQUENCE).child(0).oid();
  const h = HASH_OIDS[oid];
  if (!h) throw invalid(`unsupported hash algorithm ${oid}`);
  return h;
}

function read(der: Uint8Array): TimestampToken {
  const resp = parseDer(der).expect(TAG.SEQUENCE).children();
  // RFC 3161 2.4.2: PKIStatus granted (0) or grantedWithMods (1) carry a token.
  const status = resp[0]?.expect(TAG.SEQUENCE).child(0).uint();
  if (status !== 0n && status !== 1n) throw invalid(`status ${status} is not granted`);
  const token = resp[1];
  if (!token) throw invalid("the response holds no timeStampToken");
  const ci = token.expect(TAG.SEQUENCE).children();
  if (ci[0]?.oid() !== OID_SIGNED_DATA) throw invalid("the token is not CMS SignedData");
  if (!ci[1]?.isContext(0)) throw invalid("the token has no content");
  const sd = ci[1].child(0, TAG.SEQUENCE).children();
  // SignedData: version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos.
  const eci = sd[2]?.expect(TAG.SEQUENCE).children() ?? [];
  if (eci[0]?.oid() !== OID_TST_INFO) throw invalid("the encapsulated content is not a TSTInfo");
  if (!eci[1]?.isContext(0)) throw invalid("the TSTInfo is missing");
  // RFC 5652 5.2: eContent is an OCTET STRING; DER requires the primitive form.
  const tstInfo = eci[1].child(0, TAG.OCTET_STRING).value;
  const signerInfos = sd[sd.length - 1]!.expect(TAG.SET).children();
  if (signerInfos.length !== 1) throw invalid("exactly one SignerInfo is supported");
  const si = signerInfos[0]!.expect(TAG.SEQUENCE).children();
  let k = 1;
  const sid = si[k++]!;
  const out: Partial<TimestampToken> = {};
  if (sid.tag === TAG.SEQUENCE) {
    out.signerIssuer = sid.child(0, TAG.SEQUENCE).raw;
    out.signerSerial = sid.child(1, TAG.INTEGER).value;
  } else if (sid.isContext(0)) out.signerKeyId = sid.value;
  else throw invalid("unrecognised signer identifier");
  const digestAlgorithm = hashOf(si[k++]!);
  const attrs = si[k];
  if (!attrs?.isContext(0) || !attrs.constructed) throw invalid("the SignerInfo has no signed attributes");
  k++;
  const sigAlg = si[k++]!.expect(TAG.SEQUENCE).child(0).oid();
  const signature = si[k]!.expect(TAG.OCTET_STRING).value;
  let messageDigest: Buffer | undefined;
  let contentType: string | undefined;
  let signingCertificate: TimestampToken["signingCertificate"];
  for (const a of attrs.children()) {
    const [type, values] = a.expect(TAG.SEQUENCE).children();
    const oid = type?.oid();
    const vals = values?.expect(TAG.SET).children() ?? [];
    if (vals.length !== 1) continue;
    if (oid === OID_MESSAGE_DIGEST_ATTR) messageDigest = vals[0]!.expect(TAG.OCTET_STRING).value;
    if (oid === OID_CONTENT_TYPE_ATTR) contentType = vals[0]!.oid();
    if (oid === OID_SIGNING_CERTIFICATE_V2_ATTR || oid === OID_SIGNING_CERTIFICATE_ATTR)
      signingCertificate = essCertId(vals[0]!, oid === OID_SIGNING_CERTIFICATE_V2_ATTR);
  }
  // RFC 5652 5.3: with signed attributes, content-type and message-digest MUST be present.
  if (contentType !== OID_TST_INFO) throw invalid("the content-type attribute is not id-ct-TSTInfo");
  if (!messageDigest) throw invalid("the message-digest attribute is missing");
  const signedAttributes = Buffer.from(attrs.raw);
  signedAttributes[0] = TAG.SET; // RFC 5652 5.4: the signature covers the EXPLICIT SET OF encoding
  const tst = parseDer(tstInfo).expect(TAG.SEQUENCE).children();
  const imprint = tst[2]!.expect(TAG.SEQUENCE).children();
  // After genTime: accuracy (SEQUENCE) and ordering (BOOLEAN), both optional, then the nonce.
  const nonce = tst.slice(5).find((d) => d.tag === TAG.INTEGER);
  return {
    genTime: tst[4]!.expect(TAG.GENERALIZED_TIME).time(),
    ...(nonce ? { nonce: nonce.uint() } : {}),
    imprintAlgorithm: hashOf(imprint[0]!),
    hashedMessage: imprint[1]!.expect(TAG.OCTET_STRING).value,
    tstInfo,
    ...out,
    digestAlgorithm,
    signatureAlgorithm: sigAlg,
    signedAttributes,
    messageDigest,
    ...(signingCertificate ? { signingCertificate } : {}),
    signature,
  };
}

// SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL };
// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256, certHash OCTET
// STRING, issuerSerial OPTIONAL } (RFC 5035 3); ESSCertID ::= SEQUENCE { certHash (SHA-1), ... }.
function essCertId(value: Der, v2: boolean): NonNullable<TimestampToken["signingCertificate"]> {
  const first = value.expect(TAG.SEQUENCE).child(0, TAG.SEQUENCE).child(0, TAG.SEQUENCE).children();
  if (!v2) return { algorithm: "sha1", hash: first[0]!.expect(TAG.OCTET_STRING).value };
  if (first[0]?.tag === TAG.SEQUENCE)
    return { algorithm: hashOf(first[0]), hash: first[1]!.expect(TAG.OCTET_STRING).value };
  return { algorithm: "sha256", hash: first[0]!.expect(TAG.OCTET_STRING).value };
}
