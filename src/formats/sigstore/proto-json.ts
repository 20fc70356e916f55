// SPDX-License-Identifier: Apache-2.0
// Strict readers for the proto3 JSON mapping (protobuf.dev/programming-guides/json) of the Sigstore
// protobuf-specs messages: lowerCamelCase field names, bytes as base64, int64 as decimal strings,
// enums by name, google.protobuf.Timestamp as RFC 3339 text. Internal to src/formats/sigstore.
import { X509Certificate } from "node:crypto";
import { fromBase64, toBase64 } from "../../core/encoding.js";
import { type CairnError, cairnError, type ErrorCode } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";

export type JsonObject = Record<string, unknown>;

/** Reads one document, raising every error with one code (and the document's file name). */
export class ProtoReader {
  constructor(
    readonly code: ErrorCode,
    readonly file?: string,
  ) {}

  fail(field: string, message: string): CairnError {
    const where = this.file === undefined ? { field } : { field, file: this.file };
    return cairnError(this.code, message, where);
  }

  /**
   * A field's value; proto3 JSON: "null is accepted for all field types and treated as the default
   * value", so null reads as absent.
   */
  get(o: JsonObject, key: string): unknown {
    const v = o[key];
    return v === null ? undefined : v;
  }

  obj(v: unknown, field: string): JsonObject {
    if (!isJsonObject(v)) throw this.fail(field, "must be a JSON object");
    return v;
  }

  arr(v: unknown, field: string, max: number): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw this.fail(field, "must be an array");
    // The list is attacker-controlled: bound the work it can cause.
    if (v.length > max) throw this.fail(field, `has ${v.length} items, more than the limit of ${max}`);
    return v;
  }

  /** A string field; absent is the proto3 default "". */
  str(v: unknown, field: string): string {
    if (v === undefined) return "";
    if (typeof v !== "string") throw this.fail(field, "must be a string");
    return v;
  }

  requiredStr(v: unknown, field: string): string {
    const s = this.str(v, field);
    if (s === "") throw this.fail(field, "is required and must be a non-empty string");
    return s;
  }

  /** A bytes field: standard or URL-safe base64. Absent is the proto3 default (empty). */
  bytes(v: unknown, field: string): Buffer {
    if (v === undefined) return Buffer.alloc(0);
    if (typeof v !== "string") throw this.fail(field, "must be a base64 string");
    try {
      return fromBase64(v, field);
    } catch {
      throw this.fail(field, "is not valid base64");
    }
  }

  requiredBytes(v: unknown, field: string): Buffer {
    const b = this.bytes(v, field);
    if (b.length === 0) throw this.fail(field, "is required and must not be empty");
    return b;
  }

  /**
   * An int64 field that must be non-negative. proto3 JSON writes int64 as a decimal string and
   * also accepts a JSON number; absent is 0. Values beyond 2^53 - 1 are refused rather than rounded.
   */
  uint(v: unknown, field: string): number {
    if (v === undefined) return 0;
    let n: number;
    if (typeof v === "string") {
      if (!/^(?:0|[1-9][0-9]{0,15})$/.test(v))
        throw this.fail(field, "must be a non-negative decimal integer");
      n = Number(v);
    } else if (typeof v === "number") n = v;
    else throw this.fail(field, "must be an integer (a decimal string)");
    if (!Number.isSafeInteger(n) || n < 0)
      throw this.fail(field, "must be a non-negative integer of at most 2^53 - 1");
    return n;
  }

  /** An enum by name (or by number, which proto3 JSON parsers also accept). */
  enumName<T extends string>(v: unknown, field: string, names: readonly T[]): T {
    if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < names.length) {
      const name = names[v];
      if (name !== undefined && name !== "") return name;
    }
    if (typeof v === "string" && v !== "" && (names as readonly string[]).includes(v)) return v as T;
    throw this.fail(field, `must be one of ${names.filter((n) => n !== "").join(", ")}`);
  }

  /**
   * The fields of `o` this schema does not know, kept so that they survive a round trip. A
   * snake_case spelling of a known field is refused: other proto3 parsers read it as that field,
   * so two readers would see two different documents. `__proto__` is refused outright.
   */
  extras(o: JsonObject, known: readonly string[], field: string): JsonObject {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(o)) {
      if (known.includes(k)) continue;
      const prefix = field === "" ? "" : `${field}.`;
      if (k === "__proto__") throw this.fail(`${prefix}${k}`, "is not an allowed field name");
      if (known.includes(snakeToCamel(k))) {
        throw this.fail(`${prefix}${k}`, `use the proto3 JSON name "${snakeToCamel(k)}"`);
      }
      out[k] = v;
    }
    return out;
  }

  /** A DER X.509 certificate: parsed by node:crypto, with no bytes before or after it. */
  certificate(v: unknown, field: string): Buffer {
    const der = this.requiredBytes(v, field);
    let cert: X509Certificate;
    try {
      if (der[0] !== 0x30) throw new Error("not DER");
      cert = new X509Certificate(der);
    } catch {
      throw this.fail(field, "is not a DER-encoded X.509 certificate");
    }
    if (!cert.raw.equals(der)) throw this.fail(field, "has bytes after the DER certificate");
    return der;
  }

  /** google.protobuf.Timestamp in JSON: RFC 3339 with "Z" and 0, 3, 6 or 9 fractional digits. */
  timestamp(v: unknown, field: string): string {
    if (typeof v !== "string" || timestampNanos(v) === undefined) {
      throw this.fail(field, "must be an RFC 3339 UTC timestamp such as 2021-03-14T00:00:00Z");
    }
    return v;
  }
}

function snakeToCamel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Copies the fields of `extras` after the known ones, in a fresh object. */
export function withExtras(known: JsonObject, extras: JsonObject): JsonObject {
  const out: JsonObject = { ...known };
  for (const [k, v] of Object.entries(extras)) if (!Object.hasOwn(known, k)) out[k] = v;
  return out;
}

/** The unknown fields of a model object (everything but the known keys). */
export function extrasOf(o: object, known: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!known.includes(k) && v !== undefined) out[k] = v;
  return out;
}

export function b64(bytes: Uint8Array): string {
  return toBase64(bytes);
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}|\d{9}))?Z$/;

/**
 * Nanoseconds since the Unix epoch of a proto3 JSON Timestamp (years 0001 to 9999, as
 * google.protobuf.Timestamp allows), or undefined if the text is not one.
 */
export function timestampNanos(s: string): bigint | undefined {
  const m = TIMESTAMP_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  // Date.UTC rolls 31 April over to 1 May: refuse days that do not exist.
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1) return undefined;
  const frac = BigInt((m[7] ?? "").padEnd(9, "0") || "0");
  // Date.UTC maps years 0-99 to 1900-1999: correct for it.
  const fixed = y < 100 ? new Date(ms).setUTCFullYear(y) : ms;
  return BigInt(fixed) * 1_000_000n + frac;
}
