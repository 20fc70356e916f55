// SPDX-License-Identifier: Apache-2.0
// TUF metadata (The Update Framework specification 1.0.x, section 4 "Document formats", and TAP 15
// succinct hashed bin delegations): the signed envelope and the root, targets, snapshot and
// timestamp roles. Parsing validates the object as received and returns that same object, typed:
// nothing is copied, reordered or dropped, so unknown fields survive (TUF 4: implementers "must
// include the data when calculating hashes or verifying signatures and must preserve the data
// when re-serializing") and the canonical JSON of "signed" as received still verifies.
// Every loop is over untrusted input and bounded by TufLimits; all of them are single passes.
import {
  type CanonicalScan,
  canonicalSignedFromMetablockBytes,
  scanCanonicalJson,
  signedRange,
} from "../../core/canonical-bytes.js";
import { type CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { checkBound, DEFAULT_TUF_LIMITS, type TufLimits } from "./limits.js";

/** The top-level roles (TUF 2.1). "mirrors" may also appear in root's roles (TUF 4.3). */
export const TOP_LEVEL_ROLES = ["root", "targets", "snapshot", "timestamp"] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];
/** The "_type" of a signed object. */
export type RoleType = TopLevelRole;

/** The major version of the specification cairn implements (TUF 4.3 SPEC_VERSION). */
export const SPEC_MAJOR = "1";
/** The spec_version cairn writes. */
export const SPEC_VERSION = "1.0.31";

/** One signature (TUF 4.2): `sig` is hex over the canonical JSON of "signed". */
export interface Signature {
  keyid: string;
  sig: string;
  [extra: string]: unknown;
}

/** A KEY object (TUF 4.2). Key types cairn cannot verify with still parse: they just never count. */
export interface TufKey {
  keytype: string;
  scheme: string;
  keyval: { [field: string]: unknown };
  [extra: string]: unknown;
}

/** The fields every signed role has (TUF 4.3). */
export interface SignedBase {
  _type: string;
  spec_version: string;
  version: number;
  expires: string;
  [extra: string]: unknown;
}

/** Key ids and threshold of a top-level role in root (TUF 4.3). */
export interface RoleKeys {
  keyids: string[];
  threshold: number;
  [extra: string]: unknown;
}

export interface Root extends SignedBase {
  _type: "root";
  consistent_snapshot?: boolean;
  keys: Record<string, TufKey>;
  roles: Record<string, RoleKeys>;
}

/** A target file (TUF 4.5 TARGETS). */
export interface TargetFile {
  length: number;
  hashes: Record<string, string>;
  custom?: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A delegated role (TUF 4.5 DELEGATIONS): at most one of `paths` and `path_hash_prefixes`. */
export interface DelegatedRole {
  name: string;
  keyids: string[];
  threshold: number;
  /** Absent reads as false (the example of TUF 4.5 leaves it out). */
  terminating?: boolean;
  paths?: string[];
  path_hash_prefixes?: string[];
  [extra: string]: unknown;
}

/** TAP 15: 2^bit_length hash bins named `${name_prefix}-${hex bin number}`, all with these keys. */
export interface SuccinctRolesInfo {
  keyids: string[];
  threshold: number;
  bit_length: number;
  name_prefix: string;
  [extra: string]: unknown;
}

/** TUF 4.5 DELEGATIONS, with TAP 15: exactly one of `roles` and `succinct_roles`. */
export interface Delegations {
  keys: Record<string, TufKey>;
  roles?: DelegatedRole[];
  succinct_roles?: SuccinctRolesInfo;
  [extra: string]: unknown;
}

export interface Targets extends SignedBase {
  _type: "targets";
  targets: Record<string, TargetFile>;
  delegations?: Delegations;
}

/** A METAFILES entry (TUF 4.4): version, and optionally length and hashes. */
export interface MetaFile {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
  [extra: string]: unknown;
}

export interface Snapshot extends SignedBase {
  _type: "snapshot";
  meta: Record<string, MetaFile>;
}

export interface Timestamp extends SignedBase {
  _type: "timestamp";
  /** TUF 4.6: only "snapshot.json". */
  meta: { "snapshot.json": MetaFile; [other: string]: MetaFile };
}

export type AnySigned = Root | Targets | Snapshot | Timestamp;

/** A signed metadata document (TUF 4.2). */
export interface Metadata<T extends SignedBase = AnySigned> {
  signed: T;
  signatures: Signature[];
  [extra: string]: unknown;
}

/** The signed type for a role type. */
export type SignedFor<R extends RoleType> = R extends "root"
  ? Root
  : R extends "targets"
    ? Targets
    : R extends "snapshot"
      ? Snapshot
      : Timestamp;

/** Options for parsing untrusted metadata. */
export interface ParseOptions {
  /** Names the source in errors. */
  file?: string;
  limits?: TufLimits;
}

// --- field paths and errors -------------------------------------------------------------------

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `base.key` or `base["odd key"]`, as core/errors field paths are written. */
export function fieldKey(base: string, key: string): string {
  return IDENT.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function bad(field: string, message: string): CairnError {
  return cairnError("ERR_TUF_METADATA_INVALID", message, { field });
}

/** Runs `f` and prefixes the field of any CairnError it throws (errors are built only on failure). */
function under<T>(prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof Error && "underField" in e) (e as CairnError).underField(prefix);
    throw e;
  }
}

// --- scalar checks -------------------------------------------------------------------------------

function obj(v: unknown, field: string): Record<string, unknown> {
  if (!isJsonObject(v)) throw bad(field, "must be an object");
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== "string") throw bad(field, "must be a string");
  return v;
}

function int(v: unknown, field: string, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad(field, "must be an integer");
  if (v < min) throw bad(field, `must be at least ${min}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== "boolean") throw bad(field, "must be true or false");
  return v;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw bad(field, "must be a list");
  return v;
}

const SPEC_VERSION_RE = /^(\d+)\.(\d+)(?:\.(\d+))?$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const HEX_RE = /^[0-9a-fA-F]+$/;
const HEX_PREFIX_RE = /^[0-9a-fA-F]{0,64}$/;

/**
 * The instant of a TUF date-time (TUF 4.2 "Date-time": exactly YYYY-MM-DDTHH:MM:SSZ, UTC), or
 * undefined when the string is not one (wrong shape, or a day such as February 30).
 */
export function parseDateTime(s: string): Date | undefined {
  const m = DATE_TIME_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== se
  ) {
    return undefined;
  }
  return back;
}

/** Formats an instant as a TUF date-time, whole seconds (rounded down). */
export function formatDateTime(d: Date): string {
  return `${new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

// --- shared parts ---------------------------------------------------------------------------

function checkSignedBase(s: Record<string, unknown>, role: RoleType): void {
  if (s._type !== role) {
    throw bad("_type", `expected ${JSON.stringify(role)} metadata, got ${JSON.stringify(s._type)}`);
  }
  // TUF 4.3 SPEC_VERSION: clients MUST verify that it matches; cairn accepts major version 1.
  const sv = str(s.spec_version, "spec_version");
  const m = SPEC_VERSION_RE.exec(sv);
  if (!m) throw bad("spec_version", `${JSON.stringify(sv)} is not a version number such as 1.0.31`);
  if (m[1] !== SPEC_MAJOR) throw bad("spec_version", `unsupported specification version ${sv}`);
  // TUF 4.3 VERSION: "An integer that is greater than 0".
  int(s.version, "version", 1);
  const exp = str(s.expires, "expires");
  if (parseDateTime(exp) === undefined) {
    throw bad("expires", `${JSON.stringify(exp)} is not a date-time of the form YYYY-MM-DDTHH:MM:SSZ`);
  }
}

function checkKey(v: unknown): void {
  const k = obj(v, "");
  str(k.keytype, "keytype");
  str(k.scheme, "scheme");
  obj(k.keyval, "keyval");
}

function checkKeys(v: unknown, field: string, limits: TufLimits): Record<string, TufKey> {
  const keys = obj(v, field);
  const ids = Object.keys(keys);
  checkBound(limits, "maxKeys", ids.length, field);
  for (const id of ids) under(fieldKey(field, id), () => checkKey(keys[id]));
  return keys as Record<string, TufKey>;
}

/** Key ids of a role: strings, unique (a repeated id would be counted twice toward the threshold). */
function checkKeyids(v: unknown, field: string, limits: TufLimits): string[] {
  const ids = arr(v, field);
  checkBound(limits, "maxKeyidsPerRole", ids.length, field);
  const seen = new Set<string>();
  for (let i = 0; i < ids.length; i++) {
    const id = str(ids[i], `${field}[${i}]`);
    if (seen.has(id)) throw bad(`${field}[${i}]`, `key id ${id} is listed twice`);
    seen.add(id);
  }
  return ids as string[];
}

function checkThreshold(v: unknown, field: string): number {
  // TUF 4.5 THRESHOLD: "A positive integer number of keys (>=1)": 0 would accept unsigned metadata.
  return int(v, field, 1);
}

function checkHashes(v: unknown, field: string): Record<string, string> {
  const h = obj(v, field);
  let n = 0;
  for (const alg in h) {
    if (!Object.hasOwn(h, alg)) continue;
    n++;
    const d = h[alg];
    if (typeof d !== "string" || !HEX_RE.test(d)) throw bad(fieldKey(field, alg), "must be a hex digest");
  }
  if (n === 0) throw bad(field, "must name at least one hash");
  return h as Record<string, string>;
}

/** Validates a METAFILES entry (TUF 4.4). */
export function checkMetaFile(v: unknown): MetaFile {
  const m = obj(v, "");
  int(m.version, "version", 1);
  if (m.length !== undefined) int(m.length, "length", 0);
  if (m.hashes !== undefined) checkHashes(m.hashes, "hashes");
  return m as MetaFile;
}

/** Validates a TARGETS entry (TUF 4.5). */
export function checkTargetFile(v: unknown): TargetFile {
  const t = obj(v, "");
  int(t.length, "length", 0);
  checkHashes(t.hashes, "hashes");
  if (t.custom !== undefined) obj(t.custom, "custom");
  return t as TargetFile;
}

function checkStrings(v: unknown, field: string, limits: TufLimits, re?: RegExp, what?: string): string[] {
  const a = arr(v, field);
  checkBound(limits, "maxPathsPerRole", a.length, field);
  for (let i = 0; i < a.length; i++) {
    const s = str(a[i], `${field}[${i}]`);
    if (re !== undefined && !re.test(s)) throw bad(`${field}[${i}]`, `must be ${what}`);
  }
  return a as string[];
}

function checkDelegatedRole(v: unknown, limits: TufLimits): DelegatedRole {
  const r = obj(v, "");
  const name = str(r.name, "name");
  if (name === "") throw bad("name", "must not be empty");
  // A delegated role named like a top-level role would be fetched as that role's file.
  if ((TOP_LEVEL_ROLES as readonly string[]).includes(name)) {
    throw bad("name", `${name} is a top-level role and cannot be delegated to`);
  }
  checkKeyids(r.keyids, "keyids", limits);
  checkThreshold(r.threshold, "threshold");
  if (r.terminating !== undefined) bool(r.terminating, "terminating");
  // TUF 4.5: "if used, exactly one of them should be set".
  if (r.paths !== undefined && r.path_hash_prefixes !== undefined) {
    throw bad("path_hash_prefixes", "a role has either paths or path_hash_prefixes, not both");
  }
  if (r.paths !== undefined) checkStrings(r.paths, "paths", limits);
  if (r.path_hash_prefixes !== undefined) {
    checkStrings(r.path_hash_prefixes, "path_hash_prefixes", limits, HEX_PREFIX_RE, "a hex digest prefix");
  }
  return r as DelegatedRole;
}

function checkSuccinctRoles(v: unknown, limits: TufLimits): SuccinctRolesInfo {
  const s = obj(v, "");
  checkKeyids(s.keyids, "keyids", limits);
  checkThreshold(s.threshold, "threshold");
  // TAP 15: "BIT_LENGTH must be an integer between 1 and 32 (inclusive)".
  const bits = int(s.bit_length, "bit_length", 1);
  if (bits > 32) throw bad("bit_length", "must be at most 32");
  str(s.name_prefix, "name_prefix");
  return s as SuccinctRolesInfo;
}

function checkDelegations(v: unknown, limits: TufLimits): Delegations {
  const d = obj(v, "");
  checkKeys(d.keys, "keys", limits);
  // TAP 15: "Only one of succinct_roles or roles may be specified in a delegation".
  if ((d.roles === undefined) === (d.succinct_roles === undefined)) {
    throw bad("roles", "delegations have exactly one of roles and succinct_roles");
  }
  if (d.roles !== undefined) {
    const roles = arr(d.roles, "roles");
    checkBound(limits, "maxRoles", roles.length, "roles");
    const names = new Set<string>();
    for (let i = 0; i < roles.length; i++) {
      const r = under(`roles[${i}]`, () => checkDelegatedRole(roles[i], limits));
      // TUF 4.5 ROLENAME: "multiple roles with the same rolename are not allowed".
      if (names.has(r.name)) throw bad(`roles[${i}].name`, `role ${r.name} is delegated twice`);
      names.add(r.name);
    }
  } else {
    under("succinct_roles", () => checkSuccinctRoles(d.succinct_roles, limits));
  }
  return d as Delegations;
}

// --- the four roles ---------------------------------------------------------------------------

const ROOT_ROLE_NAMES = new Set<string>([...TOP_LEVEL_ROLES, "mirrors"]);

function checkRoot(s: Record<string, unknown>, limits: TufLimits): Root {
  checkSignedBase(s, "root");
  if (s.consistent_snapshot !== undefined) bool(s.consistent_snapshot, "consistent_snapshot");
  checkKeys(s.keys, "keys", limits);
  const roles = obj(s.roles, "roles");
  for (const name of Object.keys(roles)) {
    // TUF 4.3 ROLE: one of "root", "snapshot", "targets", "timestamp" or "mirrors".
    if (!ROOT_ROLE_NAMES.has(name)) throw bad(fieldKey("roles", name), `unknown role ${name}`);
    const r = obj(roles[name], fieldKey("roles", name));
    under(fieldKey("roles", name), () => {
      checkKeyids(r.keyids, "keyids", limits);
      checkThreshold(r.threshold, "threshold");
    });
  }
  for (const name of TOP_LEVEL_ROLES) {
    if (!Object.hasOwn(roles, name)) throw bad(fieldKey("roles", name), `root must define the ${name} role`);
  }
  return s as Root;
}

function checkTargets(s: Record<string, unknown>, limits: TufLimits): Targets {
  checkSignedBase(s, "targets");
  const targets = obj(s.targets, "targets");
  const paths = Object.keys(targets);
  checkBound(limits, "maxTargets", paths.length, "targets");
  for (const p of paths) {
    const v = targets[p];
    try {
      checkTargetFile(v);
    } catch (e) {
      throw (e as CairnError).underField(fieldKey("targets", p));
    }
  }
  if (s.delegations !== undefined) under("delegations", () => checkDelegations(s.delegations, limits));
  return s as Targets;
}

function checkSnapshot(s: Record<string, unknown>, limits: TufLimits): Snapshot {
  checkSignedBase(s, "snapshot");
  const meta = obj(s.meta, "meta");
  const names = Object.keys(meta);
  checkBound(limits, "maxMetaEntries", names.length, "meta");
  for (const n of names) {
    const v = meta[n];
    try {
      checkMetaFile(v);
    } catch (e) {
      throw (e as CairnError).underField(fieldKey("meta", n));
    }
  }
  return s as Snapshot;
}

function checkTimestamp(s: Record<string, unknown>): Timestamp {
  checkSignedBase(s, "timestamp");
  const meta = obj(s.meta, "meta");
  // TUF 4.6: METAFILES "MUST only include a description of the snapshot.json file".
  const names = Object.keys(meta);
  if (names.length !== 1 || names[0] !== "snapshot.json") {
    throw bad("meta", 'timestamp meta must list "snapshot.json" and nothing else');
  }
  under(fieldKey("meta", "snapshot.json"), () => checkMetaFile(meta["snapshot.json"]));
  return s as Timestamp;
}

/**
 * Validates a "signed" object of the given role type and returns it, typed (the same object).
 * Throws ERR_TUF_METADATA_INVALID naming the field, or ERR_TUF_BOUND_EXCEEDED.
 */
export function parseSigned<R extends RoleType>(
  value: unknown,
  role: R,
  limits: TufLimits = DEFAULT_TUF_LIMITS,
): SignedFor<R> {
  const s = obj(value, "");
  switch (role) {
    case "root":
      return checkRoot(s, limits) as SignedFor<R>;
    case "targets":
      return checkTargets(s, limits) as SignedFor<R>;
    case "snapshot":
      return checkSnapshot(s, limits) as SignedFor<R>;
    case "timestamp":
      return checkTimestamp(s) as SignedFor<R>;
    default:
      throw bad("_type", `unknown role type ${JSON.stringify(role)}`);
  }
}

/**
 * Validates a metadata document (TUF 4.2 envelope) whose "signed" is of type `role`, and returns
 * the same object, typed. Signatures are not checked here: see verifyMetadata.
 */
export function parseMetadata<R extends RoleType>(
  value: unknown,
  role: R,
  opts: ParseOptions = {},
): Metadata<SignedFor<R>> {
  const limits = opts.limits ?? DEFAULT_TUF_LIMITS;
  try {
    const md = obj(value, "$");
    const sigs = arr(md.signatures, "signatures");
    checkBound(limits, "maxSignatures", sigs.length, "signatures");
    const seen = new Set<string>();
    for (let i = 0; i < sigs.length; i++) {
      const s = obj(sigs[i], `signatures[${i}]`);
      const keyid = str(s.keyid, `signatures[${i}].keyid`);
      str(s.sig, `signatures[${i}].sig`);
      // TUF 4.2: "The keyid MUST be unique in the signatures array".
      if (seen.has(keyid)) throw bad(`signatures[${i}].keyid`, `key ${keyid} signed twice`);
      seen.add(keyid);
    }
    under("signed", () => parseSigned(md.signed, role, limits));
    return md as Metadata<SignedFor<R>>;
  } catch (e) {
    if (opts.file !== undefined && e instanceof Error && "inFile" in e) (e as CairnError).inFile(opts.file);
    throw e;
  }
}

/** The byte bound for a role type. */
export function maxBytesFor(role: RoleType, limits: TufLimits): number {
  switch (role) {
    case "root":
      return limits.rootMaxBytes;
    case "timestamp":
      return limits.timestampMaxBytes;
    case "snapshot":
      return limits.snapshotMaxBytes;
    default:
      return limits.targetsMaxBytes;
  }
}

/**
 * The bytes each document was parsed from, for the fast path to the canonical JSON of "signed"
 * (as formats/intoto/metablock.ts does). Set only by parseMetadataBytes, which freezes what it
 * returns: the signed object can then never differ from the bytes the signatures are checked over.
 * `canonical` is the signed member's canonical bytes once known (a slice of `bytes` when the
 * document is already canonical), null when they must be encoded from the object.
 */
const RAW = new WeakMap<object, { bytes: Uint8Array; signed: object; canonical?: Uint8Array | null }>();

function deepFreeze(v: unknown): void {
  // Iterative: depth is already bounded by limits.maxDepth, but no recursion is needed at all.
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x !== "object" || x === null || Object.isFrozen(x)) continue;
    Object.freeze(x);
    if (Array.isArray(x)) {
      for (const e of x) if (typeof e === "object" && e !== null) stack.push(e);
    } else {
      for (const k in x) {
        const e = (x as Record<string, unknown>)[k];
        if (typeof e === "object" && e !== null) stack.push(e);
      }
    }
  }
}

/** Where the snapshot's meta entries are in a canonical document: the key path scanned for. */
const META_PATH = ["signed", "meta"] as const;

/**
 * The common shape of a METAFILES entry in canonical JSON: optional hashes (one hex digest),
 * optional length, and a version of at least 1, integers of at most 15 digits. Given to
 * scanCanonicalJson as its plainMember, so it must match canonical JSON only (one hash, so no key
 * order to check; integers in canonical form): `metadata.test.ts` checks that whatever it matches
 * is canonical and passes checkMetaFile. Anything else (several hashes, extra fields) is scanned
 * token by token, then parsed and checked by checkMetaFile.
 */
const PLAIN_META_ENTRY =
  /\{(?:"hashes":\{"[^"]*":"[0-9a-fA-F]+"\},)?(?:"length":(?:0|[1-9][0-9]{0,14}),)?"version":[1-9][0-9]{0,14}\}/y;

/** For tests: the plain shape above. */
export const PLAIN_META_ENTRY_FOR_TESTS: RegExp = PLAIN_META_ENTRY;

/**
 * The "meta" of a snapshot parsed from canonical bytes: every entry validated when the document is
 * parsed (fail closed, as the eager parse), but an entry becomes an object only when asked for.
 * A PEP 458 snapshot lists 16,384 hash bins; a refresh needs one or two of them.
 */
class MetaIndex {
  readonly #src: Buffer;
  /** [keyStart, keyEnd, valueStart, valueEnd] per entry, in key order. */
  readonly #members: Int32Array;
  /** 1 for entries of the plain shape (their version is read from the bytes when asked). */
  readonly #plain: Uint8Array;
  /** Versions of the other entries, parsed and checked when indexed. */
  readonly #versions: Map<number, number>;
  readonly #built = new Map<number, MetaFile>();
  readonly count: number;

  constructor(
    src: Buffer,
    members: Int32Array,
    count: number,
    plain: Uint8Array,
    versions: Map<number, number>,
  ) {
    this.#src = src;
    this.#members = members;
    this.count = count;
    this.#plain = plain;
    this.#versions = versions;
  }

  /**
   * Validates every entry of `scan.collected` and indexes them; throws like checkSnapshot. Plain
   * entries were validated by matching PLAIN_META_ENTRY; only the others are parsed here.
   */
  static build(
    src: Buffer,
    collected: NonNullable<CanonicalScan["collected"]>,
    limits: TufLimits,
  ): MetaIndex {
    const { members, count, plain } = collected;
    checkBound(limits, "maxMetaEntries", count, "signed.meta");
    const versions = new Map<number, number>();
    for (let i = 0; i < count; i++) {
      if (plain[i] === 1) continue;
      const name = src.toString("utf8", members[i * 4]!, members[i * 4 + 1]!);
      try {
        const text = src.toString("utf8", members[i * 4 + 2]!, members[i * 4 + 3]!);
        versions.set(i, checkMetaFile(JSON.parse(text)).version);
      } catch (e) {
        throw (e as CairnError).underField(fieldKey("meta", name)).underField("signed");
      }
    }
    return new MetaIndex(src, members, count, plain, versions);
  }

  /** The entry's position, or -1 (a binary search over the sorted keys, bytewise). */
  find(name: string): number {
    const want = Buffer.from(name, "utf8");
    const m = this.#members;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.#src.compare(want, 0, want.length, m[mid * 4]!, m[mid * 4 + 1]!);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  name(i: number): string {
    return this.#src.toString("utf8", this.#members[i * 4]!, this.#members[i * 4 + 1]!);
  }

  version(i: number): number {
    if (this.#plain[i] !== 1) return this.#versions.get(i)!;
    // A plain entry ends with "version":DIGITS}.
    const src = this.#src;
    const end = this.#members[i * 4 + 3]! - 1;
    let d = end;
    while (src[d - 1]! >= 48 && src[d - 1]! <= 57) d--;
    let v = 0;
    for (; d < end; d++) v = v * 10 + (src[d]! - 48);
    return v;
  }

  entry(i: number): MetaFile {
    let e = this.#built.get(i);
    if (e === undefined) {
      e = JSON.parse(
        this.#src.toString("utf8", this.#members[i * 4 + 2]!, this.#members[i * 4 + 3]!),
      ) as MetaFile;
      deepFreeze(e);
      this.#built.set(i, e);
    }
    return e;
  }

  /** Compares entry i's name with entry j's of `other`, bytewise (code point order). */
  compareName(i: number, other: MetaIndex, j: number): number {
    const a = this.#members;
    const b = other.#members;
    return this.#src.compare(other.#src, b[j * 4]!, b[j * 4 + 1]!, a[i * 4]!, a[i * 4 + 1]!);
  }
}

/** The lazily read meta of snapshots parsed by parseMetadataBytes, by signed object. */
const META_INDEX = new WeakMap<object, MetaIndex>();

/**
 * A snapshot document in canonical form: everything but "meta" parsed as usual; "meta" validated
 * entry by entry from the bytes and built as one object only if someone reads `signed.meta`
 * (getMeta and snapshotRollback do not).
 */
function parseCanonicalSnapshot(
  buf: Buffer,
  collected: NonNullable<CanonicalScan["collected"]>,
  opts: ParseOptions,
  limits: TufLimits,
): Metadata<Snapshot> {
  const { start, end } = collected;
  // The rest of the document, with an empty meta in its place: validated by the usual rules.
  const rest = Buffer.concat([buf.subarray(0, start), Buffer.from("{}"), buf.subarray(end)]);
  const md = parseMetadata(JSON.parse(rest.toString("utf8")), "snapshot", opts);
  let index: MetaIndex;
  try {
    index = MetaIndex.build(buf, collected, limits);
  } catch (e) {
    if (opts.file !== undefined && e instanceof Error && "inFile" in e) (e as CairnError).inFile(opts.file);
    throw e;
  }
  const signed = md.signed as unknown as Record<string, unknown>;
  for (const k of Object.keys(signed)) deepFreeze(signed[k]);
  let meta: Record<string, MetaFile> | undefined;
  Object.defineProperty(signed, "meta", {
    enumerable: true,
    configurable: false,
    get: () => {
      if (meta === undefined) {
        meta = JSON.parse(buf.toString("utf8", start, end)) as Record<string, MetaFile>;
        deepFreeze(meta);
      }
      return meta;
    },
  });
  META_INDEX.set(signed, index);
  // Frozen first, so that deepFreeze(md) does not walk into it (reading "meta" would build it).
  Object.freeze(signed);
  deepFreeze(md);
  return md;
}

/**
 * Parses metadata from a file's bytes within the role's byte bound and the depth bound, validates
 * it (parseMetadata), and keeps the bytes so that verification can take the canonical JSON of
 * "signed" straight from them. The result is deeply frozen: copy it (structuredClone) to edit it.
 * A document already in canonical form (as cairn writes them) is recognized in one pass that also
 * bounds its depth; a snapshot's meta entries are then validated from the bytes and built as
 * objects only when read (getMeta), not all 16,384 of a PEP 458 repository.
 */
export function parseMetadataBytes<R extends RoleType>(
  bytes: Uint8Array,
  role: R,
  opts: ParseOptions = {},
): Metadata<SignedFor<R>> {
  const limits = opts.limits ?? DEFAULT_TUF_LIMITS;
  const maxBytes = maxBytesFor(role, limits);
  const scan =
    bytes.length > maxBytes
      ? undefined
      : role === "snapshot"
        ? scanCanonicalJson(bytes, META_PATH, PLAIN_META_ENTRY)
        : scanCanonicalJson(bytes);
  const range =
    scan !== undefined && scan.maxDepth <= limits.maxDepth ? signedRange(bytes, scan.top) : undefined;
  if (range !== undefined) {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let md: Metadata<SignedFor<R>>;
    if (scan!.collected !== undefined) {
      md = parseCanonicalSnapshot(buf, scan!.collected, opts, limits) as Metadata<SignedFor<R>>;
    } else {
      // Known to be JSON within the bounds: no second look for the depth.
      md = parseMetadata(JSON.parse(buf.toString("utf8")), role, opts);
      deepFreeze(md);
    }
    RAW.set(md, { bytes, signed: md.signed, canonical: buf.subarray(range[0], range[1]) });
    return md;
  }
  let value: unknown;
  try {
    value = parseJson(bytes, opts.file, { maxBytes, maxDepth: limits.maxDepth });
  } catch (e) {
    // A document over its byte bound is an exceeded bound of TUF, not merely large JSON.
    if ((e as CairnError).code === "ERR_JSON_TOO_LARGE") {
      throw cairnError("ERR_TUF_BOUND_EXCEEDED", (e as Error).message, {
        field: "$",
        ...(opts.file !== undefined ? { file: opts.file } : {}),
      });
    }
    throw e;
  }
  const md = parseMetadata(value, role, opts);
  deepFreeze(md);
  RAW.set(md, { bytes, signed: md.signed });
  return md;
}

/**
 * What the signatures of `md` cover: the canonical JSON of "signed" as received. Taken from the
 * bytes it was parsed from when they are already in canonical key order (core/canonical-bytes.ts
 * proves the result equal to encoding the parsed object), else by encoding the object.
 */
export function rawSignedBytes(md: Metadata<SignedBase>): Uint8Array | undefined {
  const raw = RAW.get(md);
  if (raw === undefined || raw.signed !== md.signed) return undefined;
  if (raw.canonical === undefined) raw.canonical = canonicalSignedFromMetablockBytes(raw.bytes) ?? null;
  return raw.canonical ?? undefined;
}

/**
 * TUF 5.5.5: the first file `before` lists that `after` no longer lists or lists with a lower
 * version (a rollback), or undefined. Every entry of `before` is compared; snapshots parsed from
 * canonical bytes are walked side by side in key order without building their entries.
 */
export function snapshotRollback(
  before: Snapshot,
  after: Snapshot,
): { file: string; before: number; after?: number } | undefined {
  const a = META_INDEX.get(before);
  const b = META_INDEX.get(after);
  if (a !== undefined && b !== undefined) {
    let j = 0;
    for (let i = 0; i < a.count; i++) {
      // Both in key order: skip what only `after` lists.
      while (j < b.count && b.compareName(j, a, i) < 0) j++;
      if (j >= b.count || b.compareName(j, a, i) !== 0) return { file: a.name(i), before: a.version(i) };
      if (b.version(j) < a.version(i)) return { file: a.name(i), before: a.version(i), after: b.version(j) };
    }
    return undefined;
  }
  for (const file of Object.keys(before.meta)) {
    const was = getMeta(before, file)!.version;
    const now = getMeta(after, file);
    if (now === undefined) return { file, before: was };
    if (now.version < was) return { file, before: was, after: now.version };
  }
  return undefined;
}

/** A target entry by path, own properties only (a path such as "constructor" is not inherited). */
export function getTarget(t: Targets, path: string): TargetFile | undefined {
  return Object.hasOwn(t.targets, path) ? t.targets[path] : undefined;
}

/** A snapshot or timestamp entry by file name ("targets.json", "bins-3f.json"), own properties only. */
export function getMeta(s: Snapshot | Timestamp, name: string): MetaFile | undefined {
  const index = META_INDEX.get(s);
  if (index !== undefined) {
    const i = index.find(name);
    return i < 0 ? undefined : index.entry(i);
  }
  return Object.hasOwn(s.meta, name) ? (s.meta as Record<string, MetaFile>)[name] : undefined;
}

/** The instant a signed object expires (validated by parsing). */
export function expiresAt(signed: SignedBase): Date {
  const d = parseDateTime(signed.expires);
  if (d === undefined) throw bad("signed.expires", "not a TUF date-time");
  return d;
}

/**
 * TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5: metadata is expired when the update start time is not lower
 * than its expiry ("The latest known time MUST be lower than the expiration timestamp").
 */
export function isExpired(signed: SignedBase, now: Date): boolean {
  return now.getTime() >= expiresAt(signed).getTime();
}

/** Throws ERR_TUF_EXPIRED when `signed` has expired at `now` (freeze attack protection). */
export function checkNotExpired(signed: SignedBase, now: Date, role: string = signed._type): void {
  if (isExpired(signed, now)) {
    throw cairnError(
      "ERR_TUF_EXPIRED",
      `${role} metadata version ${signed.version} expired at ${signed.expires}`,
      { field: "signed.expires" },
    );
  }
}
