// SPDX-License-Identifier: Apache-2.0
// OLPC canonical JSON (http://wiki.laptop.org/go/Canonical_JSON) straight from JSON text bytes,
// without building JavaScript values: the fast path for checking signatures over multi-megabyte
// in-toto links. It accepts only the easy form that in-toto (json.dumps(sort_keys=True)) and cairn
// write: keys already strictly increasing by code point, integers in canonical form, valid UTF-8.
// Anything else returns undefined and the caller falls back to canonicalize(JSON.parse(...)).
// Threat: a transcoder that disagreed with canonicalize(JSON.parse(text)) would let a signature
// over one document vouch for another, so every doubt gives up rather than guesses.

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
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      // An integer: 0 or -?[1-9][0-9]*, short enough to be exact. -0 (0 on the slow path),
      // fractions, exponents and leading zeros give up.
      if (c === 45) {
        out[o++] = 45;
        i++;
      }
      if (i >= n) return undefined;
      const first = src[i]!;
      if (first === 48) {
        if (c === 45) return undefined;
        out[o++] = 48;
        i++;
      } else {
        if (first < 49 || first > 57) return undefined;
        const digitsStart = i;
        while (i < n) {
          const d = src[i]!;
          if (d < 48 || d > 57) break;
          out[o++] = d;
          i++;
        }
        if (i - digitsStart > MAX_DIGITS) return undefined;
      }
      if (i < n) {
        const d = src[i]!;
        if (d === 46 || d === 101 || d === 69 || (d >= 48 && d <= 57)) return undefined;
      }
    } else {
      const word = c === 116 ? TRUE : c === 102 ? FALSE : c === 110 ? NULL : undefined;
      if (word === undefined || i + word.length > n) return undefined;
      for (let k = 0; k < word.length; k++) {
        if (src[i + k] !== word[k]) return undefined;
        out[o++] = word[k]!;
      }
      i += word.length;
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

const SIGNATURES = Buffer.from("signatures");
const SIGNED = Buffer.from("signed");

/**
 * The canonical JSON of the "signed" member of a metablock, from the metablock's JSON bytes:
 * what its signatures cover. Undefined unless the document is in the easy form (see
 * canonicalFromJsonBytes) and is an object with exactly the members "signatures" and "signed".
 */
export function canonicalSignedFromMetablockBytes(bytes: Uint8Array): Buffer | undefined {
  const t = transcode(bytes);
  if (t === undefined || t.out[0] !== 123 || t.top.length !== 8) return undefined;
  const [k0s, k0e, , , k1s, k1e, v1s, v1e] = t.top as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!SIGNATURES.equals(t.out.subarray(k0s, k0e)) || !SIGNED.equals(t.out.subarray(k1s, k1e)))
    return undefined;
  return t.out.subarray(v1s, v1e);
}
