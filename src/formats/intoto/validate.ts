// SPDX-License-Identifier: Apache-2.0
// zod -> cairn errors: runs a zod schema over untrusted input and turns the first issue into an
// ERR_FIELD_INVALID that names the field path (`subject[0].digest.sha256`), for every format parser.
import type { z } from "zod";
import { type FormatError, fieldError } from "../../core/errors.js";

type Issue = z.core.$ZodIssue;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a zod path as a field path: `a.b[0].c`, with keys that are not identifiers quoted
 * (`materials["src/a.c"]`), prefixed by `prefix` if given. The empty path is `prefix` or `$`.
 */
export function formatFieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else {
      const key = typeof seg === "symbol" ? (seg.description ?? "") : seg;
      if (IDENT.test(key)) out += out === "" ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === "" ? "$" : out;
}

/**
 * The issue that best explains a failure: for a union, the branch that got furthest into the
 * value (the longest path), so `{uri: 3}` reports `uri`, not "invalid input" at the root.
 */
function mostSpecific(issue: Issue, base: readonly PropertyKey[]): { issue: Issue; path: PropertyKey[] } {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    let best: { issue: Issue; path: PropertyKey[] } | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (!first) continue;
      const cand = mostSpecific(first, path);
      if (!best || cand.path.length > best.path.length) best = cand;
    }
    if (best) return best;
  }
  return { issue, path };
}

/** One zod issue as ERR_FIELD_INVALID naming the field path (under `prefix`, e.g. `predicate`). */
export function zodIssueToFieldError(issue: Issue, file?: string, prefix = ""): FormatError {
  const { issue: best, path } = mostSpecific(issue, []);
  return fieldError(formatFieldPath(path, prefix), best.message, file);
}

/**
 * Validates `value` against `schema` and returns `value` itself, typed: nothing is copied,
 * reordered or dropped, so unknown fields survive (DESIGN.md habit 9: signed formats are lossless).
 * Use schemas without transforms or defaults. Throws ERR_FIELD_INVALID for the first issue;
 * `prefix` is prepended to field paths when validating a part of a larger document.
 */
export function validateWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  file?: string,
  prefix = "",
): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const first = r.error.issues[0];
    if (!first) throw fieldError(prefix || "$", "invalid value", file);
    const err = zodIssueToFieldError(first, file, prefix);
    const more = r.error.issues.length - 1;
    if (more > 0) err.message += ` (and ${more} more problem${more === 1 ? "" : "s"})`;
    throw err;
  }
  return value as z.output<S>;
}
