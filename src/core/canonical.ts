// SPDX-License-Identifier: Apache-2.0
// Canonical JSON as securesystemslib, in-toto and TUF produce it (OLPC canonical JSON,
// http://wiki.laptop.org/go/Canonical_JSON): keys sorted by Unicode code point, no whitespace,
// only `"` and `\` escaped, integers only. See docs/design/deps.md for why this is ours and
// not @tufjs/canonical-json (which sorts by UTF-16 code unit and prints 1e21 as "1e+21").
import { cairnError } from "./errors.js";

/**
 * Compares two strings by Unicode code point, as Python's `sorted()` does.
 * JavaScript's default order compares UTF-16 code units, which puts U+E000..U+FFFF after
 * astral characters (surrogates D800..DFFF); remapping the code units fixes that.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

function encodeString(s: string): string {
  // Most strings (hex digests, paths) need no escaping: skip the regular expressions for them.
  if (s.indexOf('"') === -1 && s.indexOf("\\") === -1) return `"${s}"`;
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

const BEYOND_SURROGATES = /[\uD800-\uFFFF]/;

/**
 * Keys in code point order. The default sort (UTF-16 code units) agrees with it unless a key has a
 * character at or above U+D800, so the slower comparison runs only then.
 */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj).sort();
  for (const k of keys) {
    if (BEYOND_SURROGATES.test(k)) return keys.sort(compareCodePoints);
  }
  return keys;
}

/** The field path of the value being encoded, built only when an error needs it. */
function pathString(path: Array<string | number>): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out || "$";
}

function encodeInto(value: unknown, out: string[], path: Array<string | number>): void {
  if (value === null) {
    out.push("null");
  } else if (typeof value === "string") {
    out.push(encodeString(value));
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "number") {
    // A float has no canonical form; unsafe integers have lost precision already.
    if (!Number.isSafeInteger(value)) {
      throw cairnError(
        "ERR_CANONICAL_JSON_UNSUPPORTED",
        `${value} is not an integer canonical JSON can encode (floats and integers beyond 2^53 are refused)`,
        { field: pathString(path) },
      );
    }
    out.push(Object.is(value, -0) ? "0" : String(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      path.push(i);
      encodeInto(value[i], out, path);
      path.pop();
    }
    out.push("]");
  } else if (typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = sortedKeys(obj);
    out.push("{");
    let first = true;
    for (const k of keys) {
      const v = obj[k];
      if (v === undefined) continue; // as JSON.stringify: an absent field
      if (!first) out.push(",");
      first = false;
      out.push(encodeString(k), ":");
      path.push(k);
      encodeInto(v, out, path);
      path.pop();
    }
    out.push("}");
  } else {
    throw cairnError(
      "ERR_CANONICAL_JSON_UNSUPPORTED",
      `a ${typeof value} cannot be encoded as canonical JSON`,
      {
        field: pathString(path),
      },
    );
  }
}

/** Encodes a JSON value as OLPC canonical JSON text. Throws ERR_CANONICAL_JSON_UNSUPPORTED for floats. */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  encodeInto(value, out, []);
  return out.join("");
}

/** The canonical JSON encoding as UTF-8 bytes: what signatures over metablocks cover. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), "utf8");
}
