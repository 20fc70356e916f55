// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 descriptor.md "Digests": the digest grammar, the registered algorithms
// (sha256 and sha512, lowercase hex of exact length), and verification of bytes against a digest.
import { createHash } from "node:crypto";
import { cairnError } from "../../core/errors.js";

/** Algorithms cairn computes and verifies (descriptor.md "Registered algorithms"). */
export type OciDigestAlgorithm = "sha256" | "sha512";

/** A digest string `<algorithm>:<encoded>`. */
export type OciDigest = `${string}:${string}`;

/** Longest digest string accepted: the grammar is unbounded, a digest from outside is not. */
export const MAX_DIGEST_LENGTH = 512;

// descriptor.md "Digests": the grammar every digest MUST match.
//   algorithm-component ::= [a-z0-9]+ ; algorithm-separator ::= [+._-] ; encoded ::= [a-zA-Z0-9=_-]+
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

// descriptor.md "SHA-256" / "SHA-512": the encoded portion MUST match /[a-f0-9]{64}/ and
// /[a-f0-9]{128}/; "[A-F] MUST NOT be used".
const ENCODED_RE: Record<OciDigestAlgorithm, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export interface ParsedDigest {
  algorithm: string;
  encoded: string;
  /** True for sha256 and sha512, whose content cairn can verify. */
  registered: boolean;
}

/**
 * Checks a digest string against the grammar and, for sha256/sha512, the exact lowercase hex
 * length. Unregistered algorithms pass if they match the grammar ("Implementations SHOULD allow
 * digests with unrecognized algorithms to pass validation"), but cannot be verified.
 * Throws ERR_OCI_MANIFEST_INVALID naming `field`.
 */
export function parseDigest(s: unknown, field = "digest"): ParsedDigest {
  if (typeof s !== "string") throw invalid(field, "must be a digest string");
  if (s.length > MAX_DIGEST_LENGTH) throw invalid(field, `is longer than ${MAX_DIGEST_LENGTH} characters`);
  if (!DIGEST_RE.test(s)) throw invalid(field, `"${s}" is not a digest (algorithm:encoded)`);
  const i = s.indexOf(":");
  const algorithm = s.slice(0, i);
  const encoded = s.slice(i + 1);
  if (algorithm === "sha256" || algorithm === "sha512") {
    if (!ENCODED_RE[algorithm].test(encoded)) {
      throw invalid(
        field,
        `a ${algorithm} digest must be ${algorithm === "sha256" ? 64 : 128} lowercase hex characters`,
      );
    }
    return { algorithm, encoded, registered: true };
  }
  return { algorithm, encoded, registered: false };
}

/** True when `s` is a valid digest string (see parseDigest). */
export function isDigest(s: unknown): s is OciDigest {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * The algorithm of a digest cairn can verify; ERR_DIGEST_UNSUPPORTED otherwise, so that "could
 * not check" never passes as "checked".
 */
export function digestAlgorithm(digest: string, field = "digest"): OciDigestAlgorithm {
  const p = parseDigest(digest, field);
  if (!p.registered) {
    throw cairnError("ERR_DIGEST_UNSUPPORTED", `digest algorithm "${p.algorithm}" cannot be verified`, {
      field,
    });
  }
  return p.algorithm as OciDigestAlgorithm;
}

/** The OCI digest of some bytes: "sha256:<hex>" unless another registered algorithm is asked for. */
export function digestOf(bytes: Uint8Array | string, algorithm: OciDigestAlgorithm = "sha256"): OciDigest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

/**
 * descriptor.md "Verification": checks the size first (when given), then the digest. Throws
 * ERR_OCI_DIGEST_MISMATCH, or ERR_DIGEST_UNSUPPORTED for an algorithm cairn cannot compute.
 * Returns the bytes, now verified.
 */
export function verifyDigest<T extends Uint8Array>(
  bytes: T,
  expected: string,
  opts: { size?: number; file?: string; field?: string } = {},
): T {
  const where = { ...(opts.file === undefined ? {} : { file: opts.file }), field: opts.field };
  const algorithm = digestAlgorithm(expected, opts.field);
  if (opts.size !== undefined && bytes.byteLength !== opts.size) {
    throw cairnError(
      "ERR_OCI_DIGEST_MISMATCH",
      `content is ${bytes.byteLength} bytes, but ${opts.size} were expected for ${expected}`,
      clean(where),
    );
  }
  const actual = digestOf(bytes, algorithm);
  if (actual !== expected) {
    throw cairnError(
      "ERR_OCI_DIGEST_MISMATCH",
      `content has digest ${actual}, expected ${expected}`,
      clean(where),
    );
  }
  return bytes;
}

function clean(where: { file?: string; field?: string | undefined }): { file?: string; field?: string } {
  const out: { file?: string; field?: string } = {};
  if (where.file !== undefined) out.file = where.file;
  if (where.field !== undefined) out.field = where.field;
  return out;
}

function invalid(field: string, message: string) {
  return cairnError("ERR_OCI_MANIFEST_INVALID", message, { field });
}
