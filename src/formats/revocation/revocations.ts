// SPDX-License-Identifier: Apache-2.0
// Revocation lists (issue 6, section 4): which keys, certificates and identities verifiers must no
// longer trust, from when. Published by cairn's TUF repository as the target
// `cairn-trust/revocations.json` beside `cairn-trust/trusted_root.json`, so its bytes are what the
// targets keys signed (TUF 5.7) before this parser sees them. Pure data: parse, serialize, match.
//
//   {"cairn_revocations": 1,
//    "revocations": [{"id": "ci-key-leak", "reason": "key compromise",
//                     "effective": "2026-12-02T14:00:00Z", "scope": "signed-after",
//                     "spki_sha256": "<hex>"}]}
//
// Each entry names exactly one subject: `spki_sha256` (SHA-256 of a DER SubjectPublicKeyInfo: a
// signing key, a layout key, a CA's key), `keyid` (a securesystemslib key id: in-toto layout keys),
// `certificate_sha256` (SHA-256 of a DER certificate: a leaf or a CA certificate), `identity` (a
// certificate SAN, with the OIDC issuer it must come from or any issuer) or `spiffe_id` (exact, or
// `spiffe_id_regexp`, anchored). `scope` "signed-after" refuses what was signed at or after
// `effective` (as a log or timestamp authority proves it); "all" refuses everything, earlier too.
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { formatDateTime, parseDateTime } from "../tuf/index.js";

/** Bounds on a revocation list (it comes over the network; signed, but not trusted to be small). */
export const REVOCATIONS_MAX_BYTES = 4 * 1024 * 1024;
export const REVOCATIONS_MAX_ENTRIES = 10_000;
const MAX_TEXT = 1024;

export type RevocationScope = "signed-after" | "all";

/** What a revocation names: one key, certificate or identity. */
export type RevokedSubject =
  | { kind: "spki_sha256"; sha256: string }
  | { kind: "keyid"; keyid: string }
  | { kind: "certificate_sha256"; sha256: string }
  | { kind: "identity"; san: string; issuer?: string }
  | { kind: "spiffe_id"; exact: string }
  | { kind: "spiffe_id_regexp"; regexp: string };

export interface Revocation {
  /** Unique in the list: verifiers name it when they refuse. */
  id: string;
  reason: string;
  /** From this time on (inclusive) the subject's signatures are refused. */
  effective: Date;
  scope: RevocationScope;
  subject: RevokedSubject;
}

export interface RevocationList {
  revocations: Revocation[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const SUBJECT_FIELDS = [
  "spki_sha256",
  "keyid",
  "certificate_sha256",
  "identity",
  "spiffe_id",
  "spiffe_id_regexp",
] as const;
const ENTRY_FIELDS = new Set<string>(["id", "reason", "effective", "scope", ...SUBJECT_FIELDS]);

function bad(field: string, message: string, file?: string) {
  return cairnError("ERR_REVOCATION_INVALID", message, file === undefined ? { field } : { field, file });
}

function text(v: unknown, field: string, file?: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > MAX_TEXT)
    throw bad(field, `must be a string of 1 to ${MAX_TEXT} characters`, file);
  return v;
}

/** Checks a subject's values (shared by the parser and the builder). */
function checkSubject(s: RevokedSubject, at: string, file?: string): RevokedSubject {
  switch (s.kind) {
    case "spki_sha256":
    case "certificate_sha256":
      if (!HEX64.test(s.sha256)) throw bad(`${at}.${s.kind}`, "must be 64 lowercase hex digits", file);
      return s;
    case "keyid":
      if (!HEX64.test(s.keyid)) throw bad(`${at}.keyid`, "must be 64 lowercase hex digits", file);
      return s;
    case "identity":
      text(s.san, `${at}.identity.san`, file);
      if (s.issuer !== undefined) text(s.issuer, `${at}.identity.issuer`, file);
      return s;
    case "spiffe_id":
      if (!text(s.exact, `${at}.spiffe_id`, file).startsWith("spiffe://"))
        throw bad(`${at}.spiffe_id`, "must be a spiffe:// ID", file);
      return s;
    case "spiffe_id_regexp":
      text(s.regexp, `${at}.spiffe_id_regexp`, file);
      try {
        new RegExp(`^(?:${s.regexp})$`);
      } catch {
        throw bad(`${at}.spiffe_id_regexp`, "is not a valid regular expression", file);
      }
      return s;
  }
}

function parseSubject(v: Record<string, unknown>, at: string, file?: string): RevokedSubject {
  const present = SUBJECT_FIELDS.filter((f) => v[f] !== undefined);
  if (present.length !== 1) {
    throw bad(at, `must name exactly one of ${SUBJECT_FIELDS.join(", ")} (names ${present.length})`, file);
  }
  const f = present[0]!;
  const val = v[f];
  if (f === "identity") {
    if (!isJsonObject(val)) throw bad(`${at}.identity`, "must be an object {san, issuer?}", file);
    for (const k of Object.keys(val))
      if (k !== "san" && k !== "issuer") throw bad(`${at}.identity.${k}`, "unknown field", file);
    const s: RevokedSubject = { kind: "identity", san: text(val.san, `${at}.identity.san`, file) };
    if (val.issuer !== undefined) s.issuer = text(val.issuer, `${at}.identity.issuer`, file);
    return s;
  }
  if (typeof val !== "string") throw bad(`${at}.${f}`, "must be a string", file);
  if (f === "spki_sha256" || f === "certificate_sha256")
    return checkSubject({ kind: f, sha256: val }, at, file);
  if (f === "keyid") return checkSubject({ kind: f, keyid: val }, at, file);
  if (f === "spiffe_id") return checkSubject({ kind: f, exact: val }, at, file);
  return checkSubject({ kind: f, regexp: val }, at, file);
}

/**
 * Parses a revocation list strictly: unknown fields, duplicate ids, a subject missing or given
 * twice, a bad date, are ERR_REVOCATION_INVALID naming the field path (`revocations[2].effective`);
 * past a bound, ERR_TUF_BOUND_EXCEEDED; bytes that are not JSON, ERR_JSON_*.
 */
export function parseRevocations(bytes: Uint8Array, file = "revocations.json"): RevocationList {
  const doc = parseJson(bytes, file, { maxBytes: REVOCATIONS_MAX_BYTES, maxDepth: 8 });
  if (!isJsonObject(doc)) throw bad("$", "a revocation list is a JSON object", file);
  for (const k of Object.keys(doc))
    if (k !== "cairn_revocations" && k !== "revocations") throw bad(k, "unknown field", file);
  if (doc.cairn_revocations !== 1)
    throw bad("cairn_revocations", "unsupported revocation list version (cairn reads 1)", file);
  if (!Array.isArray(doc.revocations)) throw bad("revocations", "must be a list", file);
  if (doc.revocations.length > REVOCATIONS_MAX_ENTRIES) {
    throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${REVOCATIONS_MAX_ENTRIES} revocations`, {
      field: "revocations",
      file,
    });
  }
  const ids = new Set<string>();
  const revocations = doc.revocations.map((v: unknown, i: number): Revocation => {
    const at = `revocations[${i}]`;
    if (!isJsonObject(v)) throw bad(at, "must be an object", file);
    for (const k of Object.keys(v)) if (!ENTRY_FIELDS.has(k)) throw bad(`${at}.${k}`, "unknown field", file);
    const id = text(v.id, `${at}.id`, file);
    if (ids.has(id)) throw bad(`${at}.id`, `revocation ${JSON.stringify(id)} is listed twice`, file);
    ids.add(id);
    const reason = text(v.reason, `${at}.reason`, file);
    const effective = typeof v.effective === "string" ? parseDateTime(v.effective) : undefined;
    if (effective === undefined)
      throw bad(`${at}.effective`, "must be a date-time YYYY-MM-DDTHH:MM:SSZ", file);
    const scope = v.scope ?? "signed-after";
    if (scope !== "signed-after" && scope !== "all")
      throw bad(`${at}.scope`, 'must be "signed-after" or "all"', file);
    return { id, reason, effective, scope, subject: parseSubject(v, at, file) };
  });
  return { revocations };
}

function subjectJson(s: RevokedSubject): Record<string, unknown> {
  switch (s.kind) {
    case "spki_sha256":
    case "certificate_sha256":
      return { [s.kind]: s.sha256 };
    case "keyid":
      return { keyid: s.keyid };
    case "identity":
      return { identity: s.issuer === undefined ? { san: s.san } : { issuer: s.issuer, san: s.san } };
    case "spiffe_id":
      return { spiffe_id: s.exact };
    case "spiffe_id_regexp":
      return { spiffe_id_regexp: s.regexp };
  }
}

/** A list's bytes (sorted keys, one entry a line); checked as the parser checks. Throws ERR_REVOCATION_INVALID. */
export function serializeRevocations(list: RevocationList): Uint8Array {
  if (list.revocations.length > REVOCATIONS_MAX_ENTRIES)
    throw bad("revocations", `at most ${REVOCATIONS_MAX_ENTRIES} revocations`);
  const ids = new Set<string>();
  const entries = list.revocations.map((r, i) => {
    const at = `revocations[${i}]`;
    text(r.id, `${at}.id`);
    if (ids.has(r.id)) throw bad(`${at}.id`, `revocation ${JSON.stringify(r.id)} is listed twice`);
    ids.add(r.id);
    text(r.reason, `${at}.reason`);
    if (Number.isNaN(r.effective.getTime()) || r.effective.getUTCMilliseconds() !== 0)
      throw bad(`${at}.effective`, "must be a time in whole seconds");
    checkSubject(r.subject, at);
    const e: Record<string, unknown> = {
      effective: formatDateTime(r.effective),
      id: r.id,
      reason: r.reason,
      scope: r.scope,
      ...subjectJson(r.subject),
    };
    return JSON.stringify(Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1))));
  });
  const body = entries.length ? `[\n  ${entries.join(",\n  ")}\n ]` : "[]";
  return Buffer.from(`{"cairn_revocations":1,\n "revocations":${body}}\n`);
}

/** What a verified signature is known by, to be matched against revocations. */
export interface SignatureSubject {
  /** SHA-256 (hex) of the SPKI of every key involved: the signing key, CA keys of its chain. */
  spkiSha256?: readonly string[];
  /** securesystemslib key ids (layout keys). */
  keyids?: readonly string[];
  /** SHA-256 (hex) of every certificate involved: the leaf and its verified chain. */
  certificateSha256?: readonly string[];
  /** The leaf's identity, when it has a certificate. */
  identity?: { sans: readonly string[]; issuer: string | undefined; spiffeId: string | undefined };
}

/** Whether a revocation names this subject (whatever the time). */
export function revocationMatches(r: Revocation, s: SignatureSubject): boolean {
  const sub = r.subject;
  switch (sub.kind) {
    case "spki_sha256":
      return (s.spkiSha256 ?? []).includes(sub.sha256);
    case "keyid":
      return (s.keyids ?? []).includes(sub.keyid);
    case "certificate_sha256":
      return (s.certificateSha256 ?? []).includes(sub.sha256);
    case "identity":
      return (
        s.identity?.sans.includes(sub.san) === true &&
        (sub.issuer === undefined || s.identity.issuer === sub.issuer)
      );
    case "spiffe_id":
      return s.identity?.spiffeId === sub.exact;
    case "spiffe_id_regexp":
      return (
        s.identity?.spiffeId !== undefined && new RegExp(`^(?:${sub.regexp})$`).test(s.identity.spiffeId)
      );
  }
}

/**
 * The first revocation that refuses a signature by `s` whose signing times are proven to be
 * `provenTimes` (by a log or a timestamp authority; never the bundle's own claims). One applies
 * when it names the subject and: its scope is "all"; or no time is proven (fail closed); or any
 * proven time is at or after its effective time (the signature must predate the revocation at
 * every proven time, as a certificate chain must be valid at every one). Undefined: none applies.
 */
export function findRevocation(
  list: RevocationList,
  s: SignatureSubject,
  provenTimes: readonly Date[],
): Revocation | undefined {
  return list.revocations.find(
    (r) =>
      revocationMatches(r, s) &&
      (r.scope === "all" ||
        provenTimes.length === 0 ||
        provenTimes.some((t) => t.getTime() >= r.effective.getTime())),
  );
}

/** The error code a revocation is refused under: ERR_IDENTITY_REVOKED or ERR_KEY_REVOKED. */
export function revocationCode(r: Revocation): "ERR_IDENTITY_REVOKED" | "ERR_KEY_REVOKED" {
  return r.subject.kind === "identity" ||
    r.subject.kind === "spiffe_id" ||
    r.subject.kind === "spiffe_id_regexp"
    ? "ERR_IDENTITY_REVOKED"
    : "ERR_KEY_REVOKED";
}

/** The policy error for a signature a revocation refuses: says which revocation, from when, and why. */
export function revokedError(r: Revocation, what: string) {
  return cairnError(
    revocationCode(r),
    `${what} is revoked by ${JSON.stringify(r.id)} (${r.reason}) ${r.scope === "all" ? "for everything it signed" : `from ${formatDateTime(r.effective)}`}`,
    { field: `revocations.${r.id}` },
  );
}
