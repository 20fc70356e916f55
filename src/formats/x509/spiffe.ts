// SPDX-License-Identifier: Apache-2.0
// SPIFFE IDs (spiffe/spiffe standards/SPIFFE-ID.md) and the X.509-SVID profile checks
// (standards/X509-SVID.md) that apply to a leaf certificate's SAN and constraints.
import { cairnError } from "../../core/errors.js";

/** SPIFFE-ID.md 2.3: "URIs with a total length longer than 2048 bytes SHOULD NOT be used" - we refuse them. */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** SPIFFE-ID.md 2.3: trust domain names are at most 255 bytes. */
export const MAX_TRUST_DOMAIN_BYTES = 255;

/** A parsed, valid SPIFFE ID. */
export interface SpiffeId {
  trustDomain: string;
  /** "" for the trust domain's own ID, otherwise "/seg/seg". */
  path: string;
  /** The ID in its one valid spelling: `spiffe://${trustDomain}${path}`. */
  uri: string;
}

// SPIFFE-ID.md 2.1: "The trust domain name MUST consist only of lowercase letters, numbers, dots,
// dashes, and underscores"; 2.2: path segments of letters, numbers, dots, dashes, underscores.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

function invalid(text: string, why: string): Error {
  return cairnError("ERR_SPIFFE_ID_INVALID", `${JSON.stringify(text.slice(0, 200))}: ${why}`);
}

/** Validates a trust domain name (SPIFFE-ID.md 2.1). */
export function checkTrustDomain(td: string): string {
  if (td.length === 0) throw invalid(td, "the trust domain is empty");
  if (td.length > MAX_TRUST_DOMAIN_BYTES)
    throw invalid(td, `trust domain longer than ${MAX_TRUST_DOMAIN_BYTES}`);
  if (!TRUST_DOMAIN.test(td))
    throw invalid(
      td,
      "a trust domain has only lowercase letters, digits, '.', '-' and '_' (no port, no user)",
    );
  return td;
}

/** Validates a SPIFFE ID path ("" or "/seg/..."), SPIFFE-ID.md 2.2. */
export function checkSpiffePath(path: string): string {
  if (path === "") return path;
  if (!path.startsWith("/")) throw invalid(path, "a path starts with '/'");
  for (const seg of path.slice(1).split("/")) {
    // 2.2: "Paths MUST NOT include empty segments", no "." or ".." segments, no trailing slash.
    if (seg === "") throw invalid(path, "empty path segment or trailing '/'");
    if (seg === "." || seg === "..") throw invalid(path, "'.' and '..' segments are not allowed");
    if (!SEGMENT.test(seg))
      throw invalid(
        path,
        "path segments have only letters, digits, '.', '-' and '_' (no %-encoding, query or fragment)",
      );
  }
  return path;
}

/**
 * Parses a SPIFFE ID strictly: scheme `spiffe` in lowercase, a valid trust domain, a valid path,
 * no query, fragment, port or user info, at most MAX_SPIFFE_ID_BYTES. Throws ERR_SPIFFE_ID_INVALID.
 */
export function parseSpiffeId(text: string): SpiffeId {
  if (typeof text !== "string") throw invalid(String(text), "not a string");
  if (Buffer.byteLength(text, "utf8") > MAX_SPIFFE_ID_BYTES)
    throw invalid(text, `longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
  // SPIFFE-ID.md 2: "The scheme ... MUST be set to spiffe" and comparisons are case-sensitive here.
  if (!text.startsWith("spiffe://")) throw invalid(text, "the scheme must be 'spiffe://'");
  const rest = text.slice("spiffe://".length);
  const slash = rest.indexOf("/");
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  checkTrustDomain(trustDomain);
  checkSpiffePath(path);
  return { trustDomain, path, uri: `spiffe://${trustDomain}${path}` };
}

/** Builds a SPIFFE ID from a trust domain and path segments (each checked, none %-encoded). */
export function spiffeIdOf(trustDomain: string, segments: readonly string[]): SpiffeId {
  return parseSpiffeId(`spiffe://${trustDomain}${segments.map((s) => `/${s}`).join("")}`);
}

/**
 * X509-SVID.md 2: a leaf X.509-SVID carries exactly one URI SAN, its SPIFFE ID; and a leaf is a
 * workload, so its ID has a path (the bare trust-domain ID names the trust domain itself).
 * `uris` are the certificate's URI SANs. Returns the parsed ID.
 */
export function leafSpiffeIdOf(uris: readonly string[]): SpiffeId {
  if (uris.length !== 1)
    throw cairnError("ERR_SPIFFE_ID_INVALID", `an X.509-SVID has exactly one URI SAN, not ${uris.length}`);
  const id = parseSpiffeId(uris[0]!);
  if (id.path === "") throw invalid(id.uri, "a leaf SVID's SPIFFE ID has a path");
  return id;
}
