// SPDX-License-Identifier: Apache-2.0
// OLPC canonical JSON (http://wiki.laptop.org/go/Canonical_JSON) straight from JSON text bytes,
// without building JavaScript values: the fast path for checking signatures over multi-megabyte
// in-toto links. It accepts only the easy form that in-toto (json.dumps(sort_keys=True)) and cairn
// write: keys already strictly increasing by code point, integers in canonical form, valid UTF-8.
// Anything else returns undefined and the caller falls back to canonicalize(JSON.parse(...)).
// Threat: a transcoder that disagreed with canonicalize(JSON.parse(text)) would let a signature
// over one document vouch for another, so every doubt gives up rather than guesses.
// Text that is already canonical (what cairn writes) is recognized first by scanCanonicalJson, a
// check that reads no string byte by byte and copies nothing: the signed bytes are then a slice of
// the input, and a caller can find a nested object's members without parsing the document.
import { isUtf8 } from "node:buffer";

/** Deepest nesting the transcoder follows before giving up (the fallback applies the real limit). */
const MAX_DEPTH = 128;
/** Longest integer token transcoded: 15 digits are always below 2^53. */
const MAX_DIGITS = 15;

const TRUE = [116, 114, 117, 101];
const FALSE = [102, 97, 108, 115, 101];
const NULL = [110, 117, 108, 108];

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Four hex digits at src[i..] as a UTF-16 code unit, or -1. */
function hex4(src: Uint8Array, i: number): number {
  if (i + 4 > src.length) return -1;
  const a = hexValue(src[i]!);
  const b = hexValue(src[i + 1]!);
  const c = hexValue(src[i + 2]!);
  const d = hexValue(src[i + 3]!);
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * The end of the integer token at src[i]: 0 or -?[1-9][0-9]*, short enough to be exact, or -1.
 * -0 (0 on the slow path), fractions, exponents and leading zeros give up.
 */
function integerEnd(src: Uint8Array, i: number, n: number): number {
  const negative = src[i] === 45;
  if (negative) i++;
  if (i >= n) return -1;
  const first = src[i]!;
  if (first === 48) {
    if (negative) return -1;
    i++;
  } else {
    if (first < 49 || first > 57) return -1;
    const digitsStart = i;
    while (i < n) {
      const d = src[i]!;
      if (d < 48 || d > 57) break;
      i++;
    }
    if (i - digitsStart > MAX_DIGITS) return -1;
  }
  if (i < n) {
    const d = src[i]!;
    if (d === 46 || d === 101 || d === 69 || (d >= 48 && d <= 57)) return -1;
  }
  return i;
}

/** The end of the literal true, false or null at src[i], or -1. */
function literalEnd(src: Uint8Array, i: number, n: number): number {
  const c = src[i];
  const word = c === 116 ? TRUE : c === 102 ? FALSE : c === 110 ? NULL : undefined;
  if (word === undefined || i + word.length > n) return -1;
  for (let k = 0; k < word.length; k++) if (src[i + k] !== word[k]) return -1;
  return i + word.length;
}

function isCont(src: Uint8Array, i: number): boolean {
  return i < src.length && (src[i]! & 0xc0) === 0x80;
}

// The two helpers below handle the rare parts of strings. They return (bytes consumed << 3) |
// (bytes written), or -1 to give up.

/**
 * Copies one well-formed UTF-8 sequence with lead byte src[i] >= 0x80 (Unicode 15, table 3-7: no
 * overlongs, no encoded surrogates, nothing above U+10FFFF). Ill-formed bytes would decode to
 * U+FFFD on the slow path, so they are never copied through.
 */
function copyUtf8(src: Uint8Array, i: number, out: Uint8Array, o: number): number {
  const c = src[i]!;
  if (c >= 0xc2 && c <= 0xdf) {
    if (!isCont(src, i + 1)) return -1;
    out[o] = c;
    out[o + 1] = src[i + 1]!;
    return (2 << 3) | 2;
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (i + 2 >= src.length) return -1;
    const c1 = src[i + 1]!;
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    if (c1 < lo || c1 > hi || !isCont(src, i + 2)) return -1;
    out[o] = c;
    out[o + 1] = c1;
    out[o + 2] = src[i + 2]!;
    return (3 << 3) | 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (i + 3 >= src.length) return -1;
    const c1 = src[i + 1]!;
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    if (c1 < lo || c1 > hi || !isCont(src, i + 2) || !isCont(src, i + 3)) return -1;
    out[o] = c;
    out[o + 1] = c1;
    out[o + 2] = src[i + 2]!;
    out[o + 3] = src[i + 3]!;
    return (4 << 3) | 4;
  }
  return -1;
}

/** Decodes the escape whose backslash is at src[i], writing the character raw (`"` and `\` escaped). */
function decodeEscape(src: Uint8Array, i: number, out: Uint8Array, o: number): number {
  if (i + 1 >= src.length) return -1;
  const e = src[i + 1]!;
  let c: number;
  switch (e) {
    case 34:
    case 92:
      out[o] = 92;
      out[o + 1] = e;
      return (2 << 3) | 2;
    case 47:
      c = 47;
      break;
    case 98:
      c = 8;
      break;
    case 102:
      c = 12;
      break;
    case 110:
      c = 10;
      break;
    case 114:
      c = 13;
      break;
    case 116:
      c = 9;
      break;
    case 117: {
      const u = hex4(src, i + 2);
      if (u < 0 || (u >= 0xdc00 && u <= 0xdfff)) return -1; // not hex, or a lone low surrogate
      if (u >= 0xd800 && u <= 0xdbff) {
        // Only a high surrogate followed by an escaped low one makes a character.
        if (src[i + 6] !== 92 || src[i + 7] !== 117) return -1;
        const l = hex4(src, i + 8);
        if (l < 0xdc00 || l > 0xdfff) return -1;
        const cp = 0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00);
        out[o] = 0xf0 | (cp >> 18);
        out[o + 1] = 0x80 | ((cp >> 12) & 0x3f);
        out[o + 2] = 0x80 | ((cp >> 6) & 0x3f);
        out[o + 3] = 0x80 | (cp & 0x3f);
        return (12 << 3) | 4;
      }
      if (u === 34 || u === 92) {
        out[o] = 92;
        out[o + 1] = u;
        return (6 << 3) | 2;
      }
      if (u < 0x80) {
        out[o] = u;
        return (6 << 3) | 1;
      }
      if (u < 0x800) {
        out[o] = 0xc0 | (u >> 6);
        out[o + 1] = 0x80 | (u & 0x3f);
        return (6 << 3) | 2;
      }
      out[o] = 0xe0 | (u >> 12);
      out[o + 1] = 0x80 | ((u >> 6) & 0x3f);
      out[o + 2] = 0x80 | (u & 0x3f);
      return (6 << 3) | 3;
    }
    default:
      return -1;
  }
  out[o] = c;
  return (2 << 3) | 1;
}

/**
 * Whether the key whose escaped content is out[a..aEnd) sorts strictly before out[b..bEnd).
 * The output escapes only `"` and `\`, so skipping a backslash recovers the key's own bytes; for
 * well-formed UTF-8, byte order is code point order (Python's sorted()).
 */
function keyBefore(out: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  while (a < aEnd && b < bEnd) {
    let x = out[a++]!;
    if (x === 92) x = out[a++]!;
    let y = out[b++]!;
    if (y === 92) y = out[b++]!;
    if (x !== y) return x < y;
  }
  return a >= aEnd && b < bEnd;
}

interface Transcoded {
  out: Buffer;
  /** Output ranges [keyStart, keyEnd, valueStart, valueEnd] of the top-level object's members. */
  top: number[];
}

/**
 * One pass over the bytes with an explicit stack (no recursion, state in locals: this runs over
 * tens of megabytes). Returns undefined to give up.
 */
function transcode(bytes: Uint8Array): Transcoded | undefined {
  const n = bytes.length;
  // Plain Uint8Array views of input and output: one element kind for the optimizer.
  const src = new Uint8Array(bytes.buffer, bytes.byteOffset, n);
  // The output is never longer than the input: every escape shrinks or keeps its length.
  const outBuf = Buffer.allocUnsafe(n);
  const out = new Uint8Array(outBuf.buffer, outBuf.byteOffset, n);
  const top: number[] = [];
  // Per open container (1-based depth): 1 for an object, 0 for an array; for objects, the output
  // range of the previous key.
  const isObject = new Uint8Array(MAX_DEPTH + 1);
  const prevStart = new Int32Array(MAX_DEPTH + 1);
  const prevEnd = new Int32Array(MAX_DEPTH + 1);
  let depth = 0;
  let o = 0;
  let i = 0;
  let expectKey = false;
  let keyStart = 0;
  let topKeyStart = 0;
  let topKeyEnd = 0;
  let topValueStart = 0;
  for (;;) {
    while (i < n) {
      const w = src[i]!;
      if (w === 32 || w === 10 || w === 13 || w === 9) i++;
      else break;
    }
    if (i >= n) return undefined;
    const c = src[i]!;
    if (expectKey && c !== 34) return undefined;
    if (c === 34) {
      // A string: written with only `"` and `\` escaped.
      out[o++] = 34;
      i++;
      const contentStart = o;
      for (;;) {
        if (i >= n) return undefined;
        const ch = src[i]!;
        if (ch >= 0x20 && ch < 0x80 && ch !== 34 && ch !== 92) {
          out[o++] = ch;
          i++;
          continue;
        }
        if (ch === 34) break;
        if (ch < 0x20) return undefined; // raw control characters are not JSON
        const r = ch === 92 ? decodeEscape(src, i, out, o) : copyUtf8(src, i, out, o);
        if (r < 0) return undefined;
        i += r >> 3;
        o += r & 7;
      }
      const contentEnd = o;
      out[o++] = 34;
      i++;
      if (expectKey) {
        keyStart = contentStart;
        // Keys strictly increasing: unsorted input, and duplicates (JSON.parse keeps the last), give up.
        const ps = prevStart[depth]!;
        if (ps >= 0 && !keyBefore(out, ps, prevEnd[depth]!, keyStart, contentEnd)) return undefined;
        prevStart[depth] = keyStart;
        prevEnd[depth] = contentEnd;
        while (i < n) {
          const w = src[i]!;
          if (w === 32 || w === 10 || w === 13 || w === 9) i++;
          else break;
        }
        if (i >= n || src[i] !== 58) return undefined;
        out[o++] = 58;
        i++;
        if (depth === 1) {
          topKeyStart = keyStart;
          topKeyEnd = contentEnd;
          topValueStart = o;
        }
        expectKey = false;
        continue; // the member's value
      }
    } else if (c === 123 || c === 91) {
      if (depth === MAX_DEPTH) return undefined;
      depth++;
      isObject[depth] = c === 123 ? 1 : 0;
      prevStart[depth] = -1;
      out[o++] = c;
      i++;
      while (i < n) {
        const w = src[i]!;
        if (w === 32 || w === 10 || w === 13 || w === 9) i++;
        else break;
      }
      if (i < n && src[i] === c + 2) {
        // Empty: } is { + 2 and ] is [ + 2.
        out[o++] = c + 2;
        i++;
        depth--;
      } else {
        expectKey = c === 123;
        continue;
      }
    } else {
      // An integer or a literal, copied as it is.
      const e = c === 45 || (c >= 48 && c <= 57) ? integerEnd(src, i, n) : literalEnd(src, i, n);
      if (e < 0) return undefined;
      while (i < e) out[o++] = src[i++]!;
    }
    // A value is complete: close containers, or go on to the next element or member.
    for (;;) {
      while (i < n) {
        const w = src[i]!;
        if (w === 32 || w === 10 || w === 13 || w === 9) i++;
        else break;
      }
      if (depth === 0) return i === n ? { out: outBuf.subarray(0, o), top } : undefined;
      if (i >= n) return undefined;
      const d = src[i]!;
      if (isObject[depth] === 1) {
        if (depth === 1) top.push(topKeyStart, topKeyEnd, topValueStart, o);
        if (d === 125) {
          out[o++] = 125;
          i++;
          depth--;
          continue;
        }
        if (d !== 44) return undefined;
        out[o++] = 44;
        i++;
        expectKey = true;
        break;
      }
      if (d === 93) {
        out[o++] = 93;
        i++;
        depth--;
        continue;
      }
      if (d !== 44) return undefined;
      out[o++] = 44;
      i++;
      break;
    }
  }
}

/**
 * The OLPC canonical JSON of the JSON text in `bytes` (UTF-8), equal byte for byte to
 * `canonicalBytes(JSON.parse(text))` whenever it is defined. Undefined unless the text is already
 * in the easy form: object keys strictly increasing by code point (so no duplicates), integers
 * only (no -0, fractions or exponents, at most 15 digits), well-formed UTF-8, no lone surrogate
 * escapes, no byte order mark. Insignificant whitespace is dropped and escapes decoded.
 */
export function canonicalFromJsonBytes(bytes: Uint8Array): Buffer | undefined {
  return transcode(bytes)?.out;
}

// --- already canonical: a check without a copy ------------------------------------------------

/** scanCanonicalJson's window for plainMember: its size, and how much of it must be left ahead. */
const PLAIN_WINDOW = 64 * 1024;
const PLAIN_WINDOW_MIN = 4 * 1024;

/** What scanCanonicalJson found in a text that is already canonical. */
export interface CanonicalScan {
  /** [keyStart, keyEnd, valueStart, valueEnd] per member of the top-level object (keys unquoted). */
  top: number[];
  /** The deepest nesting of arrays and objects. */
  maxDepth: number;
  /**
   * With `collect`: the byte range of the object at that key path ([start, end), braces included)
   * and its members as [keyStart, keyEnd, valueStart, valueEnd] quadruples, in key order.
   */
  collected?: {
    start: number;
    end: number;
    members: Int32Array;
    count: number;
    /** 1 for each member whose value `plainMember` matched (by position). */
    plain: Uint8Array;
  };
}

/** True when `b` has a backslash or a byte below 0x20 (memchr per byte value: no JavaScript loop). */
function hasEscapesOrControls(b: Buffer): boolean {
  if (b.indexOf(92) >= 0) return true;
  for (let c = 0; c < 0x20; c++) if (b.indexOf(c) >= 0) return true;
  return false;
}

/** Whether src[a..aEnd) sorts strictly before src[b..bEnd), bytewise (code point order for UTF-8). */
function rangeBefore(src: Uint8Array, a: number, aEnd: number, b: number, bEnd: number): boolean {
  while (a < aEnd && b < bEnd) {
    const x = src[a++]!;
    const y = src[b++]!;
    if (x !== y) return x < y;
  }
  return a >= aEnd && b < bEnd;
}

function rangeEquals(src: Uint8Array, a: number, aEnd: number, key: Uint8Array): boolean {
  if (aEnd - a !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (src[a + k] !== key[k]) return false;
  return true;
}

/**
 * Recognizes JSON text that is exactly its own OLPC canonical form, with no escape at all:
 * `canonicalBytes(JSON.parse(text))` equals the bytes whenever this is defined. Undefined (the
 * caller falls back to canonicalFromJsonBytes) for any whitespace, any backslash, a byte below
 * 0x20, ill-formed UTF-8, keys not strictly increasing, a number other than a short canonical
 * integer, nesting deeper than it follows, or anything that is not JSON. Strings are skipped with
 * indexOf, so the work is per token, not per byte. `collect` names a key path (e.g. "signed",
 * "meta") whose object's members are returned as byte ranges. `plainMember`, a sticky regular
 * expression, is tried on each of those members' values first: what it matches is skipped at
 * native speed and flagged. The caller vouches that it matches only canonical JSON values (with
 * the checks above already made: no escapes, no controls, well-formed UTF-8): no key order or
 * number form is checked inside what it matches.
 */
export function scanCanonicalJson(
  bytes: Uint8Array,
  collect: readonly string[] = [],
  plainMember?: RegExp,
): CanonicalScan | undefined {
  const n = bytes.length;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, n);
  if (n === 0 || !isUtf8(buf) || hasEscapesOrControls(buf)) return undefined;
  const src = new Uint8Array(bytes.buffer, bytes.byteOffset, n);
  // For plainMember: a window of the bytes as one-byte characters, [textStart, textStart +
  // text.length), slid forward as the scan goes (a copy of the whole file would be fresh memory as
  // large as the file; windows this size are reused by the young generation).
  let text = "";
  let textStart = 0;
  let plain = new Uint8Array(0);
  const path = collect.map((k) => Buffer.from(k, "utf8"));
  // The container at this depth holds the collected members: the one at the end of the path.
  const collectDepth = path.length > 0 ? path.length + 1 : 0;
  const top: number[] = [];
  let members = new Int32Array(path.length > 0 ? 64 : 0);
  let count = 0;
  let collectStart = -1;
  let collectEnd = -1;
  const isObject = new Uint8Array(MAX_DEPTH + 1);
  const prevStart = new Int32Array(MAX_DEPTH + 1);
  const prevEnd = new Int32Array(MAX_DEPTH + 1);
  // 1 when the container at this depth is on the collect path (the top level always is).
  const onPath = new Uint8Array(MAX_DEPTH + 2);
  let pending = 1;
  let depth = 0;
  let maxDepth = 0;
  let i = 0;
  let expectKey = false;
  // Set when plainMember consumed a member's value: go straight to what follows it.
  let valueDone = false;
  for (;;) {
    if (i >= n) return undefined;
    const c = src[i]!;
    if (expectKey) {
      if (c !== 34) return undefined;
      const ks = i + 1;
      // Keys are short: a loop costs less than a call to indexOf.
      let ke = ks;
      while (ke < n && src[ke] !== 34) ke++;
      if (ke >= n) return undefined;
      // Keys strictly increasing: unsorted input, and duplicates (JSON.parse keeps the last), give up.
      const ps = prevStart[depth]!;
      if (ps >= 0 && !rangeBefore(src, ps, prevEnd[depth]!, ks, ke)) return undefined;
      prevStart[depth] = ks;
      prevEnd[depth] = ke;
      i = ke + 1;
      if (src[i] !== 58) return undefined;
      i++;
      if (depth === 1) top.push(ks, ke, i, -1);
      if (onPath[depth] === 1) {
        if (depth === collectDepth) {
          if (members.length < (count + 1) * 4) {
            const grown = new Int32Array(members.length * 2);
            grown.set(members);
            members = grown;
          }
          members[count * 4] = ks;
          members[count * 4 + 1] = ke;
          members[count * 4 + 2] = i;
          members[count * 4 + 3] = -1;
          count++;
          if (plainMember !== undefined) {
            if (plain.length < count) {
              const grown = new Uint8Array(members.length / 4);
              grown.set(plain);
              plain = grown;
            }
            // The caller's shape, matched natively: the whole value at once, no token loop. A
            // match in the window is a match in the file (the expression looks at nothing past
            // what it matches); a value cut off by the window's end is scanned token by token.
            if (textStart + text.length - i < PLAIN_WINDOW_MIN && textStart + text.length < n) {
              textStart = i;
              text = buf.toString("latin1", i, Math.min(n, i + PLAIN_WINDOW));
            }
            plainMember.lastIndex = i - textStart;
            if (plainMember.test(text)) {
              plain[count - 1] = 1;
              i = textStart + plainMember.lastIndex;
              expectKey = false;
              pending = 0;
              valueDone = true;
            }
          }
        } else if (depth < collectDepth && rangeEquals(src, ks, ke, path[depth - 1]!)) pending = 1;
      }
      expectKey = false;
      if (!valueDone) continue;
      valueDone = false;
    } else if (c === 34) {
      const e = buf.indexOf(34, i + 1);
      if (e < 0) return undefined;
      i = e + 1;
    } else if (c === 123 || c === 91) {
      if (depth === MAX_DEPTH) return undefined;
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      isObject[depth] = c === 123 ? 1 : 0;
      prevStart[depth] = -1;
      onPath[depth] = pending;
      if (pending === 1 && depth === collectDepth && c === 123) collectStart = i;
      pending = 0;
      i++;
      if (src[i] === c + 2) {
        // Empty: } is { + 2 and ] is [ + 2.
        i++;
        if (depth === collectDepth && onPath[depth] === 1) collectEnd = i;
        depth--;
      } else {
        expectKey = c === 123;
        continue;
      }
    } else {
      i = c === 45 || (c >= 48 && c <= 57) ? integerEnd(src, i, n) : literalEnd(src, i, n);
      if (i < 0) return undefined;
    }
    pending = 0;
    // A value is complete: close containers, or go on to the next element or member.
    for (;;) {
      if (depth === 0) {
        if (i !== n) return undefined;
        const r: CanonicalScan = { top, maxDepth };
        if (collectStart >= 0)
          r.collected = {
            start: collectStart,
            end: collectEnd,
            members,
            count,
            plain: plain.length >= count ? plain : new Uint8Array(count),
          };
        return r;
      }
      if (i >= n) return undefined;
      const d = src[i]!;
      if (isObject[depth] === 1) {
        if (depth === 1) top[top.length - 1] = i;
        if (depth === collectDepth && onPath[depth] === 1) members[count * 4 - 1] = i;
        if (d === 125) {
          i++;
          if (depth === collectDepth && onPath[depth] === 1) collectEnd = i;
          depth--;
          continue;
        }
        if (d !== 44) return undefined;
        i++;
        expectKey = true;
        break;
      }
      if (d === 93) {
        i++;
        depth--;
        continue;
      }
      if (d !== 44) return undefined;
      i++;
      break;
    }
  }
}

const SIGNATURES = Buffer.from("signatures");
const SIGNED = Buffer.from("signed");

/**
 * The canonical JSON of the "signed" member of a metablock, from the metablock's JSON bytes:
 * what its signatures cover. Undefined unless the document is in the easy form (see
 * canonicalFromJsonBytes) and is an object with exactly the members "signatures" and "signed".
 */
export function canonicalSignedFromMetablockBytes(bytes: Uint8Array): Buffer | undefined {
  const scan = scanCanonicalJson(bytes);
  if (scan !== undefined) {
    const r = signedRange(bytes, scan.top);
    return r === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset + r[0], r[1] - r[0]);
  }
  const t = transcode(bytes);
  const r = t === undefined ? undefined : signedRange(t.out, t.top);
  return r === undefined ? undefined : t!.out.subarray(r[0], r[1]);
}

/**
 * The [start, end) of the "signed" value of a metablock given its top-level members (as
 * scanCanonicalJson returns them), or undefined unless the members are exactly "signatures" and
 * "signed".
 */
export function signedRange(bytes: Uint8Array, top: readonly number[]): [number, number] | undefined {
  if (top.length !== 8 || bytes[0] !== 123) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!SIGNATURES.equals(b.subarray(top[0], top[1])) || !SIGNED.equals(b.subarray(top[4], top[5])))
    return undefined;
  return [top[6]!, top[7]!];
}
