// SPDX-License-Identifier: Apache-2.0
// RFC 6962 signed certificate timestamps: the SCT structure and the data its signature covers
// (section 3.2), and the SignedCertificateTimestampList carried in a certificate extension
// (section 3.3). TLS presentation-language encoding (RFC 5246 section 4).

import { derOctets } from "../../core/der.js";
import { cairnError } from "../../core/errors.js";
import { readDerOctetString } from "./der.js";

/** RFC 6962 3.2 `enum { v1(0), (255) } Version`. */
export const SCT_VERSION_V1 = 0;
/** RFC 6962 3.2 `enum { certificate_timestamp(0), tree_hash(1), (255) } SignatureType`. */
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP = 0;
/** RFC 6962 3.1 `enum { x509_entry(0), precert_entry(1), (65535) } LogEntryType`. */
const ENTRY_TYPE_PRECERT = 1;
/** RFC 5246 7.4.1.4.1 HashAlgorithm sha256(4) and SignatureAlgorithm ecdsa(3). */
export const TLS_HASH_SHA256 = 4;
export const TLS_SIGNATURE_ECDSA = 3;

/** Most SCTs we read from one certificate's list (a certificate carries a handful at most). */
export const MAX_SCTS = 16;

/** An RFC 6962 3.2 SignedCertificateTimestamp. */
export interface Sct {
  version: number;
  /** SHA-256 of the log's DER SubjectPublicKeyInfo (RFC 6962 3.2 LogID). */
  logId: Buffer;
  /** Milliseconds since the epoch, UTC (RFC 6962 3.2). */
  timestamp: bigint;
  extensions: Buffer;
  hashAlgorithm: number;
  signatureAlgorithm: number;
  signature: Buffer;
}

const u8 = (n: number) => Buffer.from([n]);
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u24(n: number): Buffer {
  if (n >= 1 << 24) throw cairnError("ERR_X509_INVALID", "a TBSCertificate is larger than 2^24-1 bytes");
  return Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
function vec16(b: Uint8Array): Buffer {
  if (b.length > 0xffff) throw cairnError("ERR_X509_INVALID", "a TLS vector is longer than 2^16-1 bytes");
  return Buffer.concat([u16(b.length), b]);
}

/**
 * The bytes an SCT for a precertificate signs (RFC 6962 3.2, `digitally-signed struct` with
 * entry_type precert_entry): version, signature_type, timestamp, entry_type, then the PreCert
 * (`opaque issuer_key_hash[32]` = SHA-256 of the issuer's SPKI, `TBSCertificate tbs_certificate<1..2^24-1>`
 * = the precertificate's TBS with the poison extension removed), then the extensions.
 */
export function precertSignedData(opts: {
  timestamp: bigint;
  issuerKeyHash: Uint8Array;
  tbsCertificate: Uint8Array;
  extensions?: Uint8Array;
}): Buffer {
  if (opts.issuerKeyHash.length !== 32) throw cairnError("ERR_INTERNAL", "issuer_key_hash is 32 bytes");
  return Buffer.concat([
    u8(SCT_VERSION_V1),
    u8(SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP),
    u64(opts.timestamp),
    u16(ENTRY_TYPE_PRECERT),
    opts.issuerKeyHash,
    u24(opts.tbsCertificate.length),
    opts.tbsCertificate,
    vec16(opts.extensions ?? Buffer.alloc(0)),
  ]);
}

/** RFC 6962 3.2: the TLS encoding of an SCT. */
export function serializeSct(s: Sct): Buffer {
  if (s.logId.length !== 32) throw cairnError("ERR_INTERNAL", "a LogID is 32 bytes");
  return Buffer.concat([
    u8(s.version),
    s.logId,
    u64(s.timestamp),
    vec16(s.extensions),
    u8(s.hashAlgorithm),
    u8(s.signatureAlgorithm),
    vec16(s.signature),
  ]);
}

class Reader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  take(n: number): Buffer {
    if (this.off + n > this.b.length) throw cairnError("ERR_X509_INVALID", "truncated SCT data");
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  u16(): number {
    return this.take(2).readUInt16BE();
  }
  get done(): boolean {
    return this.off === this.b.length;
  }
}

/** Parses one TLS-encoded SCT, refusing trailing bytes. */
export function parseSct(bytes: Uint8Array): Sct {
  const r = new Reader(Buffer.from(bytes));
  const version = r.u8();
  if (version !== SCT_VERSION_V1) throw cairnError("ERR_X509_INVALID", `unknown SCT version ${version}`);
  const logId = Buffer.from(r.take(32));
  const timestamp = r.take(8).readBigUInt64BE();
  const extensions = Buffer.from(r.take(r.u16()));
  const hashAlgorithm = r.u8();
  const signatureAlgorithm = r.u8();
  const signature = Buffer.from(r.take(r.u16()));
  if (!r.done) throw cairnError("ERR_X509_INVALID", "trailing bytes after an SCT");
  return { version, logId, timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature };
}

/**
 * RFC 6962 3.3: the value of the SCT list extension: an ASN.1 OCTET STRING holding the TLS
 * `SignedCertificateTimestampList` (`SerializedSCT sct_list<1..2^16-1>`, each `opaque SerializedSCT<1..2^16-1>`).
 */
export function sctListExtensionValue(scts: readonly Sct[]): Buffer {
  if (scts.length === 0) throw cairnError("ERR_INTERNAL", "an SCT list has at least one SCT");
  return derOctets(vec16(Buffer.concat(scts.map((s) => vec16(serializeSct(s))))));
}

/** Reads the SCTs from the SCT list extension's value (bounded by MAX_SCTS). */
export function parseSctListExtension(value: Uint8Array): Sct[] {
  const r = new Reader(readDerOctetString(value, "SCT list"));
  const list = new Reader(r.take(r.u16()));
  if (!r.done) throw cairnError("ERR_X509_INVALID", "trailing bytes after the SCT list");
  const out: Sct[] = [];
  while (!list.done) {
    if (out.length >= MAX_SCTS) throw cairnError("ERR_X509_INVALID", `more than ${MAX_SCTS} SCTs`);
    out.push(parseSct(list.take(list.u16())));
  }
  if (out.length === 0) throw cairnError("ERR_X509_INVALID", "an empty SCT list");
  return out;
}
