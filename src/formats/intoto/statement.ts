// SPDX-License-Identifier: Apache-2.0
// in-toto Attestation Framework v1 (github.com/in-toto/attestation, spec/v1): the Statement
// (statement.md), ResourceDescriptor (resource_descriptor.md), DigestSet (digest_set.md) and the
// common field types TypeURI, ResourceURI and Timestamp (field_types.md).
import { z } from "zod";
import type { DigestSet } from "../../core/digest.js";
import { fromBase64 } from "../../core/encoding.js";
import { validateWith } from "./validate.js";

export type { DigestSet } from "../../core/digest.js";

/** statement.md `_type`: "Always `https://in-toto.io/Statement/v1` for this version of the spec." */
export const STATEMENT_TYPE_V1 = "https://in-toto.io/Statement/v1";
/** The pre-v1 `_type` (spec v0.1.0). Accepted when parsing; never written. */
export const STATEMENT_TYPE_V01 = "https://in-toto.io/Statement/v0.1";

/**
 * digest_set.md "Supported algorithms": the lowercase-hex lengths each named algorithm may have.
 * `[min, max]` pairs mark variable-length output (shake, blake2); any even length in range.
 * Algorithms not listed are allowed ("`{"somecoolhash": "abcd"}` uses a non-predefined
 * algorithm") with any non-empty value, since their encoding is not ours to know.
 */
export const KNOWN_DIGEST_ALGORITHMS: Readonly<
  Record<string, { lengths: readonly number[] } | { range: readonly [number, number] }>
> = {
  sha256: { lengths: [64] },
  sha224: { lengths: [56] },
  sha384: { lengths: [96] },
  sha512: { lengths: [128] },
  sha512_224: { lengths: [56] },
  sha512_256: { lengths: [64] },
  sha3_224: { lengths: [56] },
  sha3_256: { lengths: [64] },
  sha3_384: { lengths: [96] },
  sha3_512: { lengths: [128] },
  shake128: { range: [2, 1024] },
  shake256: { range: [2, 1024] },
  blake2b: { range: [2, 128] },
  blake2s: { range: [2, 64] },
  ripemd160: { lengths: [40] },
  sm3: { lengths: [64] },
  // GOST R 34.11-94 and Streebog-256 are 256 bits, Streebog-512 is 512.
  gost: { lengths: [64, 128] },
  sha1: { lengths: [40] },
  md5: { lengths: [32] },
  // digest_set.md `dirHash`: sha256-based; the spec's own example spells the key `dirHash1`.
  dirHash: { lengths: [64] },
  dirHash1: { lengths: [64] },
  // spec v0.1.0 field_types.md: the earlier name of the go module dirhash.
  goModuleH1: { lengths: [64] },
  // digest_set.md `gitCommit`...: "lowercase hex SHA-1 (40 character) or SHA-256 (64 character)".
  gitCommit: { lengths: [40, 64] },
  gitTree: { lengths: [40, 64] },
  gitBlob: { lengths: [40, 64] },
  gitTag: { lengths: [40, 64] },
};

const LOWER_HEX = /^[0-9a-f]*$/;

/** Why `value` is not a valid digest for `alg`, or undefined when it is. */
export function digestValueProblem(alg: string, value: string): string | undefined {
  const known = Object.hasOwn(KNOWN_DIGEST_ALGORITHMS, alg) ? KNOWN_DIGEST_ALGORITHMS[alg] : undefined;
  if (!known) return value === "" ? "must not be empty" : undefined;
  if (!LOWER_HEX.test(value)) return `a ${alg} digest must be lowercase hex`;
  if ("lengths" in known) {
    return known.lengths.includes(value.length)
      ? undefined
      : `a ${alg} digest is ${known.lengths.join(" or ")} hex characters, not ${value.length}`;
  }
  const [min, max] = known.range;
  return value.length >= min && value.length <= max && value.length % 2 === 0
    ? undefined
    : `a ${alg} digest is an even number of hex characters from ${min} to ${max}, not ${value.length}`;
}

/** digest_set.md: a non-empty map from algorithm name to digest value. */
export const digestSetSchema = z
  .record(z.string(), z.string({ error: "must be a string" }), {
    error: "must be a digest set (an object mapping algorithm to digest)",
  })
  .superRefine((ds, ctx) => {
    const algs = Object.keys(ds);
    if (algs.length === 0) ctx.addIssue({ code: "custom", message: "must hold at least one digest" });
    for (const alg of algs) {
      if (alg === "") {
        ctx.addIssue({ code: "custom", message: "an algorithm name must not be empty", path: [alg] });
        continue;
      }
      const problem = digestValueProblem(alg, ds[alg]!);
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [alg] });
    }
  });

const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

function uriProblem(s: string): string | undefined {
  const m = URI_SCHEME.exec(s);
  if (!m) return "must be a URI with a scheme (RFC 3986), such as https: or pkg:";
  // field_types.md: "MUST be case normalized as per section 6.2.2.1 of RFC 3986".
  if (m[0] !== m[0].toLowerCase()) return "the URI scheme must be lowercase (RFC 3986 6.2.2.1)";
  if (/\s/.test(s)) return "a URI must not contain whitespace";
  return undefined;
}

function uriSchema(what: string) {
  return z.string({ error: `${what} must be a string` }).superRefine((s, ctx) => {
    const problem = uriProblem(s);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

/** field_types.md TypeURI: an RFC 3986 URI naming a type, e.g. a predicateType. */
export const typeUriSchema = uriSchema("a type URI");
/** field_types.md ResourceURI: an RFC 3986 URI naming a resource (`pkg:`, `git+https:` ...). */
export const resourceUriSchema = uriSchema("a resource URI");

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?[Zz]$/;

/**
 * field_types.md Timestamp: "MUST be in RFC 3339 format in the UTC timezone ("Z")".
 * RFC 3339 section 5.6 date-time with a `Z` offset (either case, section 5.6 NOTE); the date and
 * time must exist (month days, leap years; second 60 for a leap second, section 5.7).
 */
export function isTimestamp(s: string): boolean {
  const m = RFC3339_UTC.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
  return day <= days;
}

export const timestampSchema = z.string({ error: "a timestamp must be a string" }).refine(isTimestamp, {
  message: 'must be an RFC 3339 timestamp in UTC, such as "1985-04-12T23:20:50.52Z"',
});

const jsonObject = (what: string) =>
  z.record(z.string(), z.unknown(), { error: `${what} must be an object` });

const resourceDescriptorShape = {
  name: z.string({ error: "must be a string" }).optional(),
  uri: resourceUriSchema.optional(),
  digest: digestSetSchema.optional(),
  content: z
    .string({ error: "must be a base64 string" })
    .refine(
      (s) => {
        try {
          fromBase64(s);
          return true;
        } catch {
          return false;
        }
      },
      { message: "must be a base64 string (standard or URL-safe)" },
    )
    .optional(),
  downloadLocation: resourceUriSchema.optional(),
  mediaType: z.string({ error: "must be a string" }).optional(),
  annotations: jsonObject("annotations").optional(),
};

/**
 * resource_descriptor.md: "a ResourceDescriptor MUST specify one of `uri`, `digest` or `content`
 * at a minimum". Unknown fields are kept.
 */
export const resourceDescriptorSchema = z
  .looseObject(resourceDescriptorShape, { error: "a resource descriptor must be an object" })
  .superRefine((rd, ctx) => {
    // An empty `content` is indistinguishable from an unset one (protobuf bytes).
    if (rd.uri === undefined && rd.digest === undefined && (rd.content === undefined || rd.content === "")) {
      ctx.addIssue({ code: "custom", message: "must set at least one of uri, digest or content" });
    }
  });

/** statement.md `subject`: a ResourceDescriptor that "MUST have `digest` set". */
export const subjectSchema = z.looseObject(
  { ...resourceDescriptorShape, digest: digestSetSchema },
  { error: "a subject must be an object" },
);

export const statementSchema = z.looseObject(
  {
    _type: z.union([z.literal(STATEMENT_TYPE_V1), z.literal(STATEMENT_TYPE_V01)], {
      error: `must be "${STATEMENT_TYPE_V1}" (or the legacy "${STATEMENT_TYPE_V01}")`,
    }),
    subject: z.array(subjectSchema, { error: "must be a list of subjects" }).min(1, {
      error: "must list at least one subject",
    }),
    predicateType: typeUriSchema,
    // statement.md: "`predicate` _object, optional_ ... Unset is treated the same as set-but-empty."
    predicate: jsonObject("predicate").optional(),
  },
  { error: "a statement must be a JSON object" },
);

/** resource_descriptor.md: a description of any software artifact or resource. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  /** base64 of the resource's bytes. */
  content?: string;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A statement subject: a ResourceDescriptor with a digest. */
export interface Subject extends ResourceDescriptor {
  digest: DigestSet;
}

/** statement.md: the middle layer of an attestation. `P` is the predicate's type. */
export interface Statement<P extends object = Record<string, unknown>> {
  _type: typeof STATEMENT_TYPE_V1 | typeof STATEMENT_TYPE_V01;
  subject: Subject[];
  predicateType: string;
  predicate?: P;
  [extra: string]: unknown;
}

/** Validates one ResourceDescriptor; `field` prefixes error paths (e.g. `predicate.materials[0]`). */
export function parseResourceDescriptor(obj: unknown, file?: string, field = ""): ResourceDescriptor {
  return validateWith(resourceDescriptorSchema, obj, file, field) as ResourceDescriptor;
}

/** Validates a DigestSet; `field` prefixes error paths (e.g. `subject[0].digest`). */
export function parseDigestSet(obj: unknown, file?: string, field = ""): DigestSet {
  return validateWith(digestSetSchema, obj, file, field);
}

/**
 * Validates an in-toto Statement (v1, or the legacy v0.1 `_type`) and returns it typed. The
 * predicate is only checked to be an object: parse it with its own predicate parser. The input
 * object is returned as is, unknown fields and key order intact. Throws ERR_FIELD_INVALID naming
 * the field, e.g. `subject[0].digest.sha256`.
 */
export function parseStatement(obj: unknown, file?: string): Statement {
  return validateWith(statementSchema, obj, file) as Statement;
}

/** A new v1 Statement; throws ERR_FIELD_INVALID if a subject or the predicateType is invalid. */
export function newStatement<P extends object>(
  subjects: Subject[],
  predicateType: string,
  predicate?: P,
): Statement<P> {
  const st: Statement<P> = { _type: STATEMENT_TYPE_V1, subject: subjects, predicateType };
  if (predicate !== undefined) st.predicate = predicate;
  validateWith(statementSchema, st);
  return st;
}
