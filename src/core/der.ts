// SPDX-License-Identifier: Apache-2.0
// A small strict DER reader and writer (ITU-T X.690 8 and 10: definite, minimal lengths; single
// byte tags), the one cairn uses: what a Sigstore verifier reads inside certificates and RFC 3161
// tokens (extensions, SCT lists, CMS SignedData) and the extension values the CA writes. Input is untrusted: every read is bounds-checked,
// nesting is bounded, and nothing is decoded before it is asked for.
import { cairnError } from "./errors.js";

/** Deepest nesting `children()` will follow (certificates and CMS stay under 12). */
export const MAX_DER_DEPTH = 32;

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

function bad(message: string): Error {
  return cairnError("ERR_ENCODING_INVALID", `DER: ${message}`);
}

/** One TLV: `raw` is the whole encoding, `value` its contents. */
export class Der {
  constructor(
    readonly tag: number,
    readonly raw: Buffer,
    readonly value: Buffer,
    readonly depth = 0,
  ) {}

  get constructed(): boolean {
    return (this.tag & 0x20) !== 0;
  }

  /** True for a context-specific tag [n] (constructed or not). */
  isContext(n: number): boolean {
    return (this.tag & 0xc0) === 0x80 && (this.tag & 0x1f) === n;
  }

  /** The TLVs inside a constructed value. */
  children(): Der[] {
    if (!this.constructed) throw bad(`tag 0x${this.tag.toString(16)} is not constructed`);
    if (this.depth >= MAX_DER_DEPTH) throw bad("nested too deeply");
    const out: Der[] = [];
    let off = 0;
    while (off < this.value.length) {
      const d = readTlv(this.value, off, this.depth + 1);
      out.push(d);
      off += d.raw.length;
    }
    return out;
  }

  /** The i-th child, which must exist (and have `tag` when given). */
  child(i: number, tag?: number): Der {
    const c = this.children()[i];
    if (!c) throw bad(`missing element ${i}`);
    if (tag !== undefined && c.tag !== tag) throw bad(`element ${i} has tag 0x${c.tag.toString(16)}`);
    return c;
  }

  expect(tag: number): this {
    if (this.tag !== tag) throw bad(`expected tag 0x${tag.toString(16)}, found 0x${this.tag.toString(16)}`);
    return this;
  }

  /** An OBJECT IDENTIFIER in dotted form. */
  oid(): string {
    this.expect(TAG.OID);
    return decodeOid(this.value);
  }

  /** A non-negative INTEGER as a bigint (negative integers are refused). */
  uint(): bigint {
    this.expect(TAG.INTEGER);
    const v = this.value;
    if (v.length === 0 || v[0]! & 0x80) throw bad("expected a non-negative INTEGER");
    if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) throw bad("INTEGER is not minimally encoded");
    return BigInt(`0x${v.toString("hex")}`);
  }

  /** A BOOLEAN (DER: 0x00 or 0xff). */
  bool(): boolean {
    this.expect(TAG.BOOLEAN);
    if (this.value.length !== 1 || (this.value[0] !== 0 && this.value[0] !== 0xff))
      throw bad("BOOLEAN must be 0x00 or 0xff");
    return this.value[0] === 0xff;
  }

  /** A UTCTime or GeneralizedTime (RFC 5280 4.1.2.5: "YYMMDDHHMMSSZ" / "YYYYMMDDHHMMSS[.f]Z"). */
  time(): Date {
    const s = this.value.toString("latin1");
    let m: RegExpExecArray | null;
    let y: number;
    if (this.tag === TAG.UTC_TIME) {
      m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
      if (!m) throw bad("malformed UTCTime");
      const yy = Number(m[1]);
      y = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 4.1.2.5.1
    } else if (this.tag === TAG.GENERALIZED_TIME) {
      // RFC 3161 2.4.2 allows fractional seconds in genTime.
      m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
      if (!m) throw bad("malformed GeneralizedTime");
      y = Number(m[1]);
    } else throw bad("expected a time");
    const [, , mo, d, h, mi, se] = m.map(Number) as number[];
    const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
    const ms = Date.UTC(y, mo! - 1, d, h, mi, se) + Math.floor(frac);
    const back = new Date(ms);
    if (
      Number.isNaN(ms) ||
      back.getUTCMonth() !== mo! - 1 ||
      back.getUTCDate() !== d ||
      h! > 23 ||
      mi! > 59 ||
      se! > 59
    )
      throw bad("time out of range");
    return back;
  }

  /** The string value of a UTF8String, IA5String or PrintableString. */
  text(): string {
    if (this.tag === TAG.UTF8_STRING) return this.value.toString("utf8");
    if (this.tag === TAG.IA5_STRING || this.tag === TAG.PRINTABLE_STRING)
      return this.value.toString("latin1");
    throw bad(`tag 0x${this.tag.toString(16)} is not a string`);
  }
}

/**
 * Reads the TLV that starts at `off` of `buf` (it may be followed by more bytes), never reading
 * past `buf`. Throws ERR_ENCODING_INVALID.
 */
export function readDerAt(buf: Buffer, off: number): Der {
  return readTlv(buf, off, 0);
}

function readTlv(buf: Buffer, off: number, depth: number): Der {
  if (off + 2 > buf.length) throw bad("truncated");
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw bad("multi-byte tags are not supported");
  let len = buf[off + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw bad("indefinite length is not DER");
    if (n > 4) throw bad("length too large");
    if (off + 2 + n > buf.length) throw bad("truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i]!;
    if (buf[off + 2] === 0 || len < 0x80) throw bad("length is not minimally encoded");
    hdr += n;
  }
  const end = off + hdr + len;
  if (end > buf.length) throw bad("truncated value");
  return new Der(tag, buf.subarray(off, end), buf.subarray(off + hdr, end), depth);
}

/** Parses exactly one DER TLV filling `input` (no trailing bytes). */
export function parseDer(input: Uint8Array): Der {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const d = readTlv(buf, 0, 0);
  if (d.raw.length !== buf.length) throw bad("trailing bytes");
  return d;
}

function decodeOid(v: Buffer): string {
  if (v.length === 0 || v.length > 64) throw bad("malformed OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (n === 0 && b === 0x80) throw bad("OID arc not minimal");
    n = n * 128 + (b & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw bad("OID arc too large");
    if (!(b & 0x80)) {
      arcs.push(n);
      n = 0;
    } else if (i === v.length - 1) throw bad("truncated OID");
  }
  const first = arcs.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...arcs].join(".");
}

// --- writer ---

/** Encodes one TLV with a minimal definite length. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export const derSeq = (...p: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...p);
export const derSet = (...p: Uint8Array[]): Buffer => tlv(TAG.SET, ...p);
export const derOctets = (b: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, b);
export const derUtf8 = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, "utf8"));
export const derIa5 = (s: string): Buffer => tlv(TAG.IA5_STRING, Buffer.from(s, "latin1"));
export const derBool = (b: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([b ? 0xff : 0]));
export const derNull = (): Buffer => tlv(TAG.NULL);
export const derBitString = (b: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.from([0]), b);

/** A non-negative INTEGER. */
export function derUint(n: bigint | number): Buffer {
  let hex = BigInt(n).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let b = Buffer.from(hex, "hex");
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(TAG.INTEGER, b);
}

export function derOid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes: number[] = [];
  for (const n of [a * 40 + b, ...rest]) {
    const enc = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) enc.unshift((v & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** GeneralizedTime (seconds, "Z") for dates from 2050, UTCTime before, as RFC 5280 4.1.2.5 asks. */
export function derTime(d: Date, generalized = d.getUTCFullYear() >= 2050): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return generalized
    ? tlv(TAG.GENERALIZED_TIME, Buffer.from(`${p(d.getUTCFullYear(), 4)}${body}`, "latin1"))
    : tlv(TAG.UTC_TIME, Buffer.from(`${p(d.getUTCFullYear() % 100)}${body}`, "latin1"));
}
