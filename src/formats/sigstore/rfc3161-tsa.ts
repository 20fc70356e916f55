// SPDX-License-Identifier: Apache-2.0
// What an RFC 3161 time-stamp authority reads and writes: the TimeStampReq (RFC 3161 2.4.1) in
// DER or in the JSON form of sigstore/timestamp-authority (what the `sigstore` npm client sends),
// and the DER TimeStampResp it answers: a TSTInfo (2.4.2) in CMS SignedData (RFC 5652 5) signed
// over content-type, message-digest and signing-certificate-v2 (RFC 5816 ESSCertIDv2) attributes.
// DER throughout: Sigstore verifiers refuse BER (a constructed OCTET STRING, an indefinite length).
// Requests are untrusted: every field is bounded and checked before anything is signed.
import {
  TAG as DER_TAG,
  type Der,
  derOctets,
  derOid,
  derSeq,
  derTime,
  derUint,
  parseDer,
  tlv,
} from "../../core/der.js";
import { fromBase64 } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import {
  HASH_OIDS,
  OID_CONTENT_TYPE_ATTR,
  OID_MESSAGE_DIGEST_ATTR,
  OID_SIGNED_DATA,
  OID_TST_INFO,
} from "./rfc3161.js";

export type TimestampHash = "sha256" | "sha384" | "sha512";

/** RFC 5816 2.2.1 id-aa-signingCertificateV2. */
export const OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";

/** Digest lengths (FIPS 180-4): a request's hashedMessage must have its algorithm's length. */
export const DIGEST_BYTES: Record<TimestampHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

const OID_OF_HASH = Object.fromEntries(Object.entries(HASH_OIDS).map(([oid, h]) => [h, oid])) as Record<
  TimestampHash,
  string
>;

/** Largest time-stamp request read, DER or JSON (a request is a digest and a few small fields). */
export const MAX_TIMESTAMP_REQUEST_BYTES = 16 * 1024;
/** Longest nonce accepted, octets (RFC 3161 2.4.1: "a large random number", 64 bits is typical). */
export const MAX_NONCE_BYTES = 32;

/** A time-stamp request, whichever form it came in. */
export interface TimestampRequest {
  hashAlgorithm: TimestampHash;
  /** The hash of the data to time-stamp (for Sigstore: of the signature bytes). */
  hashedMessage: Buffer;
  /** reqPolicy: the TSA policy the requester asks for (refused unless it is the TSA's). */
  policy?: string;
  /** Echoed in the TSTInfo (RFC 3161 2.4.2: "MUST be present if it was present in the request"). */
  nonce?: bigint;
  /** certReq: the response carries the TSA's certificate. */
  certReq: boolean;
}

function invalid(message: string, field?: string): CairnError {
  return cairnError(
    "ERR_TSA_REQUEST_INVALID",
    `time-stamp request: ${message}`,
    field === undefined ? {} : { field },
  );
}

function hashOfOid(oid: string): TimestampHash {
  const h = HASH_OIDS[oid];
  if (!h)
    throw cairnError("ERR_TSA_HASH_UNSUPPORTED", `the hash algorithm ${oid} is not accepted`, {
      field: "messageImprint.hashAlgorithm",
    });
  return h;
}

function checkDigest(h: TimestampHash, digest: Buffer, field: string): void {
  if (digest.length !== DIGEST_BYTES[h])
    throw invalid(`a ${h} digest has ${DIGEST_BYTES[h]} bytes, not ${digest.length}`, field);
}

function checkNonce(n: bigint, field: string): bigint {
  if (n < 0n || n >= 1n << BigInt(8 * MAX_NONCE_BYTES))
    throw invalid(`the nonce must be a non-negative integer of at most ${MAX_NONCE_BYTES} bytes`, field);
  return n;
}

/**
 * Parses a DER TimeStampReq (RFC 3161 2.4.1):
 *   SEQUENCE { version INTEGER (1), messageImprint SEQUENCE { AlgorithmIdentifier, OCTET STRING },
 *              reqPolicy OID OPTIONAL, nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE,
 *              extensions [0] IMPLICIT Extensions OPTIONAL }
 * Extensions are refused (2.4.1: an unrecognised one "SHALL" be rejected). Throws
 * ERR_TSA_REQUEST_INVALID, ERR_TSA_HASH_UNSUPPORTED or ERR_TSA_REQUEST_TOO_LARGE.
 */
export function parseTimestampRequest(der: Uint8Array): TimestampRequest {
  if (der.length > MAX_TIMESTAMP_REQUEST_BYTES)
    throw cairnError(
      "ERR_TSA_REQUEST_TOO_LARGE",
      `a time-stamp request is larger than ${MAX_TIMESTAMP_REQUEST_BYTES} bytes`,
    );
  try {
    return readRequest(der);
  } catch (e) {
    if (e instanceof CairnError && e.code === "ERR_ENCODING_INVALID")
      throw invalid(`not a DER TimeStampReq: ${e.message}`);
    throw e;
  }
}

function readRequest(der: Uint8Array): TimestampRequest {
  const parts = parseDer(der).expect(DER_TAG.SEQUENCE).children();
  if (parts[0]?.uint() !== 1n) throw invalid("the version must be 1", "version");
  const mi = parts[1]?.expect(DER_TAG.SEQUENCE).children() ?? [];
  const alg = mi[0]?.expect(DER_TAG.SEQUENCE).children() ?? [];
  if (mi.length !== 2 || alg.length < 1 || alg.length > 2)
    throw invalid("malformed messageImprint", "messageImprint");
  // RFC 5754 2: SHA-2 parameters are absent (or, from older encoders, NULL).
  if (alg[1] && (alg[1].tag !== DER_TAG.NULL || alg[1].value.length !== 0))
    throw invalid("hash algorithm parameters must be absent or NULL", "messageImprint.hashAlgorithm");
  const hashAlgorithm = hashOfOid(alg[0]!.oid());
  const hashedMessage = mi[1]!.expect(DER_TAG.OCTET_STRING).value;
  checkDigest(hashAlgorithm, hashedMessage, "messageImprint.hashedMessage");
  const out: TimestampRequest = { hashAlgorithm, hashedMessage: Buffer.from(hashedMessage), certReq: false };
  // The optional fields, each at most once and in the order of the ASN.1 definition.
  let k = 2;
  const next = (tag: number): Der | undefined => (parts[k]?.tag === tag ? parts[k++] : undefined);
  const policy = next(DER_TAG.OID);
  if (policy) out.policy = policy.oid();
  const nonce = next(DER_TAG.INTEGER);
  if (nonce) {
    if (nonce.value.length > MAX_NONCE_BYTES + 1) throw invalid("the nonce is too long", "nonce");
    out.nonce = checkNonce(nonce.uint(), "nonce");
  }
  const certReq = next(DER_TAG.BOOLEAN);
  if (certReq) out.certReq = certReq.bool();
  if (parts[k]?.isContext(0)) throw invalid("request extensions are not supported", "extensions");
  if (k !== parts.length) throw invalid("unexpected fields after the known ones");
  return out;
}

/**
 * Reads the JSON form of sigstore/timestamp-authority's POST /api/v1/timestamp:
 * `{artifactHash: base64, hashAlgorithm: "sha256"|"sha384"|"sha512", nonce?, certificates?, tsaPolicyOID?}`.
 * Unknown members are ignored, as the reference server does.
 */
export function parseTimestampRequestJson(v: unknown): TimestampRequest {
  if (!isJsonObject(v)) throw invalid("the JSON request must be an object");
  const alg = v.hashAlgorithm;
  if (typeof alg !== "string") throw invalid("hashAlgorithm must be a string", "hashAlgorithm");
  if (!(alg in DIGEST_BYTES))
    throw cairnError(
      "ERR_TSA_HASH_UNSUPPORTED",
      `the hash algorithm ${JSON.stringify(alg.slice(0, 32))} is not accepted`,
      {
        field: "hashAlgorithm",
      },
    );
  const hashAlgorithm = alg as TimestampHash;
  if (typeof v.artifactHash !== "string")
    throw invalid("artifactHash must be a base64 string", "artifactHash");
  let hashedMessage: Buffer;
  try {
    hashedMessage = fromBase64(v.artifactHash, "artifactHash");
  } catch {
    throw invalid("artifactHash is not base64", "artifactHash");
  }
  checkDigest(hashAlgorithm, hashedMessage, "artifactHash");
  const out: TimestampRequest = { hashAlgorithm, hashedMessage, certReq: false };
  if (v.certificates !== undefined) {
    if (typeof v.certificates !== "boolean") throw invalid("certificates must be a boolean", "certificates");
    out.certReq = v.certificates;
  }
  if (v.nonce !== undefined) {
    const n = v.nonce;
    if (
      !(typeof n === "number" && Number.isSafeInteger(n)) &&
      !(typeof n === "string" && /^\d{1,80}$/.test(n))
    )
      throw invalid("nonce must be a non-negative integer", "nonce");
    out.nonce = checkNonce(BigInt(n), "nonce");
  }
  if (v.tsaPolicyOID !== undefined) {
    if (typeof v.tsaPolicyOID !== "string" || !isDottedOid(v.tsaPolicyOID))
      throw invalid("tsaPolicyOID must be a dotted object identifier", "tsaPolicyOID");
    out.policy = v.tsaPolicyOID;
  }
  return out;
}

/** A dotted OBJECT IDENTIFIER whose arcs cairn's DER writer encodes (each below 10^9, at most 31). */
export function isDottedOid(s: string): boolean {
  return /^[0-2](\.(0|[1-9]\d{0,8})){1,30}$/.test(s);
}

/** Encodes a DER TimeStampReq (the client side of RFC 3161 2.4.1). */
export function encodeTimestampRequest(r: TimestampRequest): Buffer {
  return derSeq(
    derUint(1),
    derSeq(derSeq(derOid(OID_OF_HASH[r.hashAlgorithm])), derOctets(r.hashedMessage)),
    ...(r.policy !== undefined ? [derOid(r.policy)] : []),
    ...(r.nonce !== undefined ? [derUint(r.nonce)] : []),
    // DER: a BOOLEAN DEFAULT FALSE is omitted when false.
    ...(r.certReq ? [tlv(DER_TAG.BOOLEAN, Buffer.from([0xff]))] : []),
  );
}

/** What a TSTInfo says (RFC 3161 2.4.2). */
export interface TstInfoFields {
  policy: string;
  hashAlgorithm: TimestampHash;
  hashedMessage: Uint8Array;
  /** A positive serial, unique per token (2.4.2: "MUST be unique for each TimeStampToken"). */
  serial: bigint;
  /** Whole seconds: sigstore-js reads a GeneralizedTime with no fraction or exactly three digits. */
  genTime: Date;
  accuracySeconds?: number;
  nonce?: bigint;
}

/**
 * TSTInfo ::= SEQUENCE { version (1), policy, messageImprint, serialNumber, genTime,
 *   accuracy Accuracy OPTIONAL, ordering DEFAULT FALSE (omitted), nonce OPTIONAL }
 */
export function encodeTstInfo(f: TstInfoFields): Buffer {
  return derSeq(
    derUint(1),
    derOid(f.policy),
    derSeq(derSeq(derOid(OID_OF_HASH[f.hashAlgorithm])), derOctets(f.hashedMessage)),
    derUint(f.serial),
    derTime(f.genTime, true),
    ...(f.accuracySeconds !== undefined ? [derSeq(derUint(f.accuracySeconds))] : []),
    ...(f.nonce !== undefined ? [derUint(f.nonce)] : []),
  );
}

/** The TSA's signing certificate as the signer identifier and ESSCertIDv2 name it. */
export interface TsaSignerId {
  /** DER of the certificate (hashed into ESSCertIDv2). */
  certificate: Uint8Array;
  /** DER Name of its issuer, byte for byte. */
  issuer: Uint8Array;
  /** Its serialNumber's INTEGER contents. */
  serial: Uint8Array;
}

const issuerAndSerial = (s: TsaSignerId) => derSeq(s.issuer, tlv(DER_TAG.INTEGER, s.serial));

/**
 * The signed attributes (RFC 5652 5.3) of a time-stamp token, sorted as DER's SET OF demands:
 * content-type id-ct-TSTInfo, message-digest over the TSTInfo, and signing-certificate-v2 (RFC 5816
 * 2.2.1) binding the token to the TSA's certificate (SHA-256, the ESSCertIDv2 default, so omitted).
 */
export function timestampSignedAttributes(
  /** The hash of the DER TSTInfo with the SignerInfo's digest algorithm. */
  tstInfoDigest: Uint8Array,
  signer: TsaSignerId,
  /** SHA-256 of the signer's certificate. */
  certHash: Uint8Array,
): Buffer[] {
  const essCertIdV2 = derSeq(
    derOctets(certHash),
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames (directoryName [4]), serialNumber }
    derSeq(derSeq(tlv(0xa4, signer.issuer)), tlv(DER_TAG.INTEGER, signer.serial)),
  );
  return [
    derSeq(derOid(OID_CONTENT_TYPE_ATTR), tlv(DER_TAG.SET, derOid(OID_TST_INFO))),
    derSeq(derOid(OID_MESSAGE_DIGEST_ATTR), tlv(DER_TAG.SET, derOctets(tstInfoDigest))),
    derSeq(derOid(OID_SIGNING_CERTIFICATE_V2), tlv(DER_TAG.SET, derSeq(derSeq(essCertIdV2)))),
  ].sort(Buffer.compare);
}

/** RFC 5652 5.4: the signature covers the attributes' DER as an EXPLICIT SET OF. */
export const signedAttributesToSign = (attrs: readonly Buffer[]): Buffer => tlv(DER_TAG.SET, ...attrs);

/** Assembles a granted TimeStampResp around a signed TSTInfo. */
export function encodeTimestampResponse(o: {
  tstInfo: Uint8Array;
  digestAlgorithm: TimestampHash;
  signatureAlgorithmOid: string;
  signer: TsaSignerId;
  signedAttributes: readonly Buffer[];
  signature: Uint8Array;
  /** Certificates for the SignedData certificates field (certReq). */
  certificates?: readonly Uint8Array[];
}): Buffer {
  const digestAlg = derSeq(derOid(OID_OF_HASH[o.digestAlgorithm]));
  const signerInfo = derSeq(
    derUint(1), // version 1: the sid is IssuerAndSerialNumber (RFC 5652 5.3)
    issuerAndSerial(o.signer),
    digestAlg,
    tlv(0xa0, ...o.signedAttributes),
    derSeq(derOid(o.signatureAlgorithmOid)),
    derOctets(o.signature),
  );
  const signedData = derSeq(
    derUint(3), // RFC 5652 5.1: version 3 when eContentType is not id-data
    tlv(DER_TAG.SET, digestAlg),
    derSeq(derOid(OID_TST_INFO), tlv(0xa0, derOctets(o.tstInfo))),
    ...(o.certificates?.length
      ? [tlv(0xa0, ...[...o.certificates].map((c) => Buffer.from(c)).sort(Buffer.compare))]
      : []),
    tlv(DER_TAG.SET, signerInfo),
  );
  // PKIStatusInfo { status granted (0) }, then the TimeStampToken (a ContentInfo).
  return derSeq(derSeq(derUint(0)), derSeq(derOid(OID_SIGNED_DATA), tlv(0xa0, signedData)));
}
