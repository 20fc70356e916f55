// SPDX-License-Identifier: Apache-2.0
// The few DER (ITU-T X.690) encodings the CA writes by hand: extension values that are a single
// string or octet string. Certificates themselves are assembled with @peculiar/asn1-x509 in
// src/engines/ca; reading is Node's X509Certificate.
import { cairnError } from "../../core/errors.js";

const TAG = { octetString: 0x04, null: 0x05, utf8String: 0x0c, ia5String: 0x16 } as const;

/** X.690 8.1.3: definite length, short form below 128, else long form in the fewest bytes. */
export function derLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw cairnError("ERR_INTERNAL", `bad DER length ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One tag-length-value with a single-byte tag. */
export function derTlv(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

export const derUtf8String = (s: string): Buffer => derTlv(TAG.utf8String, Buffer.from(s, "utf8"));
export const derOctetString = (b: Uint8Array): Buffer => derTlv(TAG.octetString, b);
/** ASN.1 NULL (the value of the RFC 6962 3.1 poison extension). */
export const DER_NULL: Buffer = Buffer.from([TAG.null, 0x00]);

/**
 * Reads one whole DER value of the given tag (single-byte tag, definite length, minimal length
 * encoding), refusing trailing bytes: extension values are attacker-controlled in a certificate.
 */
export function readDerValue(der: Uint8Array, tag: number, what: string): Buffer {
  const b = Buffer.from(der);
  const bad = (why: string) => cairnError("ERR_X509_INVALID", `${what}: ${why}`);
  if (b.length < 2 || b[0] !== tag) throw bad(`expected tag 0x${tag.toString(16)}`);
  let len = b[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || b.length < 2 + n) throw bad("bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
    off = 2 + n;
    if (len < 0x80 || b[2] === 0) throw bad("length not minimally encoded (not DER)");
  }
  if (off + len !== b.length) throw bad("length does not match the value");
  return b.subarray(off);
}

/** Decodes a DER UTF8String whose bytes are valid UTF-8. */
export function readDerUtf8String(der: Uint8Array, what = "UTF8String"): string {
  const body = readDerValue(der, TAG.utf8String, what);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw cairnError("ERR_X509_INVALID", `${what}: not valid UTF-8`);
  }
}

export const readDerOctetString = (der: Uint8Array, what = "OCTET STRING"): Buffer =>
  readDerValue(der, TAG.octetString, what);

/** One DER element: its identifier octet, where its contents lie, and where it ends. */
export interface DerElement {
  /** The whole identifier octet (class, constructed bit, tag number below 31). */
  tag: number;
  contents: Buffer;
  end: number;
}

/**
 * Reads the DER element at `offset` of `buf` (X.690 8.1: low tag numbers, definite minimal
 * lengths of at most 4 octets), never reading past `buf`. Throws ERR_X509_INVALID.
 */
export function readDerElement(buf: Buffer, offset: number, what: string): DerElement {
  const bad = (why: string) => cairnError("ERR_X509_INVALID", `${what}: ${why}`);
  if (offset + 2 > buf.length) throw bad("truncated");
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw bad("high tag numbers are not used here");
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw bad("bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    if (len < 0x80 || buf[start] === 0) throw bad("length not minimally encoded (not DER)");
    start += n;
  }
  if (start + len > buf.length) throw bad("length runs past the end");
  return { tag, contents: buf.subarray(start, start + len), end: start + len };
}
