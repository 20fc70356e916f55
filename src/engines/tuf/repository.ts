// SPDX-License-Identifier: Apache-2.0
// The TUF repository (The Update Framework specification 1.0.x: section 4 document formats,
// section 6 "Usage" for key management, section 7 "Consistent snapshots"): init, targets, path
// delegations to developers who sign their own metadata, snapshot and timestamp re-signing,
// root rotation and key revocation, and publishing as static files. I/O only through FileArea
// (./repository-ports.ts). Nothing is published unless the whole set verifies as a client would
// verify it, and timestamp.json is written last, so a crash never leaves an inconsistent set.
import { canonicalBytes } from "../../core/canonical.js";
import { type Clock, systemClock } from "../../core/clock.js";
import { digestHex } from "../../core/digest.js";
import { cairnError } from "../../core/errors.js";
import { parseJson } from "../../core/json.js";
import { keyFingerprint, type PublicKey } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import {
  checkNotExpired,
  checkSignatures,
  DEFAULT_TUF_LIMITS,
  type DelegatedRole,
  fieldKey,
  formatDateTime,
  isDelegatedPath,
  type Metadata,
  type MetaFile,
  newRoot,
  newSnapshot,
  newTargets,
  newTimestamp,
  parseMetadata,
  parseMetadataBytes,
  publicKeysFor,
  type RoleType,
  type Root,
  roleTypeOf,
  type SignatureReport,
  type SignedBase,
  type Snapshot,
  SuccinctRoles,
  type SuccinctRolesInfo,
  serializeMetadata,
  setTarget,
  signMetadata,
  type TargetFile,
  type Targets,
  type Timestamp,
  TOP_LEVEL_ROLES,
  type TopLevelRole,
  type TufKey,
  type TufLimits,
  tufKeyOf,
  verifyDelegate,
} from "../../formats/tuf/index.js";
import { checkLengthAndHashes } from "./client.js";
import { type AreaFile, checkAreaName, type FileArea, readAll, writeAll } from "./repository-ports.js";

const DAY = 24 * 3600;

/** How long each role's metadata stays valid once signed, in seconds. */
export interface ExpiryConfig {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
  /** Roles delegated to developers. */
  delegated: number;
}

/** Defaults in the spirit of TUF 6.1: offline roles long-lived, online roles short-lived. */
export const DEFAULT_EXPIRY: Readonly<ExpiryConfig> = Object.freeze({
  root: 365 * DAY,
  targets: 90 * DAY,
  snapshot: 7 * DAY,
  timestamp: 1 * DAY,
  delegated: 90 * DAY,
});

/** The repository's configuration, kept as `config.json` in its working area. */
export interface RepositoryConfig {
  cairnTufRepository: 1;
  expiry: ExpiryConfig;
  /** Whether snapshot and timestamp give lengths and hashes of what they list (TUF 4.4 optional). */
  metaHashes: boolean;
  /**
   * Opaque references to the signers of each role (key files, `env:NAME`), for tools that sign
   * unattended (the CLI's refresh). The engine never reads them; keep offline keys out of here.
   */
  signing: Record<string, string[]>;
}

/** Options of TufRepository.init. */
export interface InitOptions {
  /** The public keys of each top-level role. */
  keys: Record<TopLevelRole, PublicKey[]>;
  /** Per role; each defaults to 1. */
  thresholds?: Partial<Record<TopLevelRole, number>>;
  expiry?: Partial<ExpiryConfig>;
  /**
   * Defaults to true (TUF 7: versioned metadata names, hash-prefixed target names, so clients
   * never see a mix of two publishes). False publishes every file but the root versions under one
   * name replaced in place, for servers that cannot keep old versions.
   */
  consistentSnapshot?: boolean;
  /** Defaults to true. */
  metaHashes?: boolean;
  signing?: Record<string, string[]>;
  /** Signers of any of the roles: each signs every role that trusts its key. */
  signers: readonly Signer[];
}

/** A target to add: its path in the repository, its content, and optional custom metadata. */
export interface TargetInput {
  path: string;
  bytes: Uint8Array;
  custom?: Record<string, unknown>;
}

/** A delegation from a targets role to a developer's role (TUF 4.5 DELEGATIONS). */
export interface DelegateOptions {
  /** The role delegated to: letters, digits, ".", "_" and "-", not starting with ".". */
  name: string;
  /** The delegating role; defaults to "targets". */
  delegator?: string;
  /** The developer's public keys. */
  keys: PublicKey[];
  /** Defaults to 1. */
  threshold?: number;
  /**
   * Shell-style path patterns (TUF 4.5 PATHPATTERN); exactly one of paths, pathHashPrefixes and
   * bins.
   */
  paths?: string[];
  pathHashPrefixes?: string[];
  /**
   * TAP 15 succinct hash bins: this many bins (a power of two, 2 to 65,536), named
   * `${name}-${bin in hex}`, all trusted through `keys`. The delegator may then delegate nothing
   * else, and targets added to it go to their bins.
   */
  bins?: number;
  /** Defaults to false. */
  terminating?: boolean;
}

/** A change to a top-level role's keys, made by a new root version (TUF 6.1). */
export interface KeyChange {
  add?: PublicKey[];
  /** Key ids or keys. */
  remove?: Array<string | PublicKey>;
  threshold?: number;
}

/** What publish wrote. */
export interface PublishReport {
  /** Names written, in order (timestamp.json last). */
  written: string[];
  /** Files already published with the same content. */
  unchanged: number;
  versions: { root: number; targets: number; snapshot: number; timestamp: number };
}

/** A role's state, for status reports. */
export interface RoleStatus {
  role: string;
  version: number | undefined;
  expires: string | undefined;
  /** Distinct trusted keys that signed, and how many are needed (root: its own threshold). */
  signed: number;
  threshold: number;
  targets: number;
}

const SAFE_ROLE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** Bound on roles walked in the repository's own delegation tree. */
const MAX_ROLES = DEFAULT_TUF_LIMITS.maxRoles;

function enc(role: string): string {
  return encodeURIComponent(role);
}

/** Names in the working area. */
const CONFIG = "config.json";
/**
 * INDEX (`index.json`): each targets role's version, length, SHA-256 and expiry, as refresh last
 * read them. CHANGED (`changed.json`): the roles edited since, recorded before each edit. Together:
 * for every role not in CHANGED, INDEX describes its current file, so refresh and publish read
 * only the roles in CHANGED and those whose published version differs. Derived data: refresh
 * --full rebuilds both from the files, and publish still checks every role it reads.
 */
const INDEX = "index.json";
const CHANGED = "changed.json";

/** One targets role in INDEX. */
interface IndexEntry {
  version: number;
  length: number;
  sha256: string;
  expires: string;
}
type RoleIndex = Record<string, IndexEntry>;

function metaOfEntry(e: IndexEntry): MetaFile {
  return { version: e.version, length: e.length, hashes: { sha256: e.sha256 } };
}
const rootName = (v: number) => `metadata/root/${v}.json`;
const roleName = (role: string) => `metadata/${enc(role)}.json`;
const blobName = (sha256: string) => `blobs/${sha256}`;

function sha256(b: Uint8Array): string {
  return digestHex("sha256", b);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b)) === 0;
}

/** The key id each signer's key has among `keyids` of `keys` (TAP 12: ids are the delegator's). */
function matchSigners(
  keys: Record<string, TufKey>,
  keyids: readonly string[],
  signers: readonly Signer[],
): { matched: Signer[]; unmatched: Signer[] } {
  const byFp = new Map<string, string>();
  for (const [id, k] of publicKeysFor(keys, keyids))
    if (!byFp.has(keyFingerprint(k))) byFp.set(keyFingerprint(k), id);
  const matched: Signer[] = [];
  const unmatched: Signer[] = [];
  for (const s of signers) {
    const id = byFp.get(keyFingerprint(s.publicKey));
    if (id === undefined) unmatched.push(s);
    else matched.push({ keyid: id, publicKey: s.publicKey, sign: (d) => s.sign(d) });
  }
  return { matched, unmatched };
}

function notInRole(role: string, s: Signer): Error {
  return cairnError(
    "ERR_TUF_KEY_NOT_IN_ROLE",
    `key ${tufKeyOf(s.publicKey).keyid} is not a key of role ${role}`,
    { field: "signers" },
  );
}

/**
 * Throws ERR_TUF_METADATA_INVALID unless a target path is safe to publish: relative, "/"-separated,
 * no empty, "." or ".." segment (the path becomes a file name under targets/ when published).
 */
export function checkTargetPath(path: string): void {
  try {
    checkAreaName(path);
  } catch (e) {
    throw cairnError("ERR_TUF_METADATA_INVALID", `target path ${(e as Error).message}`, {
      field: fieldKey("signed.targets", path),
    });
  }
}

/** Published root versions (`metadata/<N>.root.json`), the files a publish never replaces. */
const ROOT_VERSION_NAME = /^metadata\/[1-9][0-9]*\.root\.json$/;

/** Where a target is published with consistent snapshots (TUF 7): `targets/<dir>/<sha256>.<file>`. */
export function publishedTargetName(path: string, file: TargetFile): string {
  const h = file.hashes.sha256;
  if (h === undefined) {
    throw cairnError("ERR_TUF_METADATA_INVALID", `target ${path} has no sha256 hash`, {
      field: fieldKey("signed.targets", path),
    });
  }
  const slash = path.lastIndexOf("/");
  return `targets/${path.slice(0, slash + 1)}${h.toLowerCase()}.${path.slice(slash + 1)}`;
}

/** Roles read and verified in one pass, with the distinct trusted keys that signed each. */
type Verified = Map<string, { md: Metadata<SignedBase>; signed: number }>;

/** An onReport for verifyDelegate that records the count in `verified` (when collecting). */
function noteSigned(verified: Verified | undefined, role: string, md: Metadata<SignedBase>) {
  return verified === undefined
    ? undefined
    : (r: SignatureReport) => verified.set(role, { md, signed: r.verified.length });
}

/** One link of the delegation chain from top-level targets to a role. */
interface Link {
  delegatorName: string;
  delegator: Targets;
  role: DelegatedRole;
  /** Set when `role` is a hash bin of the delegator's succinct_roles (TAP 15). */
  bins?: SuccinctRoles;
}

/** Staged state of one role: parsed (frozen) metadata and the exact bytes kept. */
interface Staged<T extends SignedBase> {
  md: Metadata<T>;
  bytes: Uint8Array;
}

/**
 * A TUF repository over a working FileArea. Every method reads what it needs from the area and
 * writes what it changes: instances hold no state between calls, so several tools (or CLI runs)
 * may take turns on one area (one at a time: the area is not locked).
 *
 * Signing: methods take a flat list of signers and use those whose keys the role trusts (matched
 * by key material, signing under the key id the delegator lists). A signer that the role does not
 * trust is refused (ERR_TUF_KEY_NOT_IN_ROLE). Fewer signers than the threshold is allowed: the
 * metadata is staged half-signed, more holders add signatures with `sign`, and `publish` refuses
 * until every threshold is met.
 */
export class TufRepository {
  readonly store: FileArea;
  readonly clock: Clock;
  readonly limits: TufLimits;

  constructor(opts: { store: FileArea; clock?: Clock; limits?: TufLimits }) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.limits = opts.limits ?? DEFAULT_TUF_LIMITS;
  }

  /**
   * Creates root v1, targets v1, snapshot v1 and timestamp v1 (TUF 6.1) in an empty area.
   * Throws ERR_USAGE when the area already holds a repository.
   */
  static async init(
    store: FileArea,
    opts: InitOptions,
    extra: { clock?: Clock; limits?: TufLimits } = {},
  ): Promise<TufRepository> {
    const repo = new TufRepository({ store, ...extra });
    if ((await store.read(CONFIG)) !== undefined) {
      throw cairnError("ERR_USAGE", "a TUF repository already exists here");
    }
    const config: RepositoryConfig = {
      cairnTufRepository: 1,
      expiry: { ...DEFAULT_EXPIRY, ...(opts.expiry ?? {}) },
      metaHashes: opts.metaHashes ?? true,
      signing: opts.signing ?? {},
    };
    const keys: Record<string, TufKey> = {};
    const roles: Record<string, { keyids: string[]; threshold: number }> = {};
    for (const role of TOP_LEVEL_ROLES) {
      const list = opts.keys[role] ?? [];
      const threshold = opts.thresholds?.[role] ?? 1;
      if (list.length < threshold) {
        throw cairnError(
          "ERR_USAGE",
          `role ${role} has ${list.length} key(s), fewer than its threshold ${threshold}`,
        );
      }
      const ids: string[] = [];
      for (const k of list) {
        const { keyid, key } = tufKeyOf(k);
        keys[keyid] = key;
        if (!ids.includes(keyid)) ids.push(keyid);
      }
      roles[role] = { keyids: ids, threshold };
    }
    const root = newRoot({
      expires: repo.#expires(config.expiry.root),
      keys,
      roles,
      consistentSnapshot: opts.consistentSnapshot ?? true,
    });
    for (const s of opts.signers) {
      if (!TOP_LEVEL_ROLES.some((r) => matchSigners(keys, roles[r]!.keyids, [s]).matched.length > 0)) {
        throw notInRole("root, targets, snapshot or timestamp", s);
      }
    }
    const pick = (role: TopLevelRole) => matchSigners(keys, roles[role]!.keyids, opts.signers).matched;
    await store.write(CONFIG, Buffer.from(`${JSON.stringify(config, null, 1)}\n`));
    const targets = newTargets({ expires: repo.#expires(config.expiry.targets) });
    await repo.#save("targets", await signMetadata(targets, pick("targets")));
    const rootMd = await signMetadata(root, pick("root"));
    await repo.#saveRoot(rootMd);
    await repo.#refreshWith(root, config, pick("snapshot"), pick("timestamp"), true);
    return repo;
  }

  /**
   * Takes over a repository another TUF implementation published (consistent-snapshot layout, as
   * publish writes it: `metadata/N.root.json`, `metadata/V.ROLE.json`, `metadata/timestamp.json`,
   * `targets/<dir>/<sha256>.<file>`), so that cairn's tools extend it: everything is verified as
   * a client would (TUF 5.3-5.6: the root chain from version 1, timestamp, snapshot, every targets
   * role reachable from "targets" through its delegator, every target's length and hashes), then
   * the exact bytes are kept in `store`. Signing references for later unattended runs go in
   * `opts.signing`. Throws ERR_USAGE when `store` already holds a repository or `source` does not
   * use consistent snapshots, ERR_NOT_FOUND for a missing file, and the verification codes.
   */
  static async adopt(
    store: FileArea,
    source: FileArea,
    opts: { signing?: Record<string, string[]>; clock?: Clock; limits?: TufLimits } = {},
  ): Promise<TufRepository> {
    const repo = new TufRepository({
      store,
      ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    });
    const limits = repo.limits;
    if ((await store.read(CONFIG)) !== undefined) {
      throw cairnError("ERR_USAGE", "a TUF repository already exists here");
    }
    const need = async (name: string): Promise<Uint8Array> => {
      const b = await source.read(name);
      if (b === undefined) throw cairnError("ERR_NOT_FOUND", `${name} is missing from the repository`);
      return b;
    };
    // TUF 5.3: root 1, then each next version signed by the previous and its own thresholds.
    const roots: Array<Staged<Root>> = [];
    for (let v = 1; ; v++) {
      const b = v === 1 ? await need("metadata/1.root.json") : await source.read(`metadata/${v}.root.json`);
      if (b === undefined) break;
      if (v > limits.maxRootRotations + 1)
        throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${limits.maxRootRotations} root rotations`);
      const md = parseMetadataBytes(b, "root", { file: `metadata/${v}.root.json`, limits });
      if (md.signed.version !== v) {
        throw cairnError(
          "ERR_TUF_VERSION_MISMATCH",
          `metadata/${v}.root.json has version ${md.signed.version}`,
          {
            field: "signed.version",
          },
        );
      }
      const prev = roots[roots.length - 1]?.md.signed;
      if (prev !== undefined) verifyDelegate(prev, "root", md, limits);
      verifyDelegate(md.signed, "root", md, limits);
      roots.push({ md, bytes: b });
    }
    const root = roots[roots.length - 1]!.md.signed;
    if (root.consistent_snapshot !== true)
      throw cairnError(
        "ERR_USAGE",
        "the repository does not use consistent snapshots: cairn publishes only those",
      );
    const tsBytes = await need("metadata/timestamp.json");
    const ts = parseMetadataBytes(tsBytes, "timestamp", { file: "metadata/timestamp.json", limits });
    verifyDelegate(root, "timestamp", ts, limits);
    const sm = ts.signed.meta["snapshot.json"];
    const snapName = `metadata/${sm.version}.snapshot.json`;
    const snapBytes = await need(snapName);
    checkLengthAndHashes(snapBytes, sm, snapName);
    const snap = parseMetadataBytes(snapBytes, "snapshot", { file: snapName, limits });
    verifyDelegate(root, "snapshot", snap, limits);
    // Targets roles from "targets" down, each verified by its delegator (TUF 5.6).
    const roleFiles: AreaFile[] = [];
    const blobs: Array<{ source: string; file: TargetFile; path: string }> = [];
    const seen = new Set<string>();
    const stack: Array<{ name: string; delegator: Root | Targets }> = [{ name: "targets", delegator: root }];
    let metaHashes = true;
    while (stack.length > 0) {
      const { name, delegator } = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (seen.size > MAX_ROLES) throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${MAX_ROLES} roles`);
      if (name !== "targets" && !SAFE_ROLE.test(name))
        throw cairnError("ERR_TUF_METADATA_INVALID", `role name ${JSON.stringify(name)} cannot be published`);
      const entry = Object.hasOwn(snap.signed.meta, `${name}.json`)
        ? snap.signed.meta[`${name}.json`]
        : undefined;
      if (entry === undefined) {
        if (name === "targets")
          throw cairnError("ERR_TUF_METADATA_MISSING", "the snapshot does not list targets.json");
        continue; // a delegated role with no metadata yet: its developer submits it later
      }
      if (entry.hashes === undefined) metaHashes = false;
      const file = `metadata/${entry.version}.${name}.json`;
      const bytes = await need(file);
      checkLengthAndHashes(bytes, entry, file);
      const md = parseMetadataBytes(bytes, "targets", { file, limits });
      verifyDelegate(delegator, name, md, limits);
      if (md.signed.version !== entry.version) {
        throw cairnError("ERR_TUF_VERSION_MISMATCH", `${file} has version ${md.signed.version}`, {
          field: "signed.version",
        });
      }
      roleFiles.push({ name: roleName(name), bytes });
      for (const [path, f] of Object.entries(md.signed.targets)) {
        checkTargetPath(path);
        blobs.push({ source: publishedTargetName(path, f), file: f, path });
      }
      const d = md.signed.delegations;
      if (d?.succinct_roles !== undefined) {
        const bins = new SuccinctRoles(d.succinct_roles);
        for (let i = bins.numberOfBins - 1; i >= 0; i--)
          stack.push({ name: bins.roleName(i), delegator: md.signed });
      }
      const roles = d?.roles ?? [];
      for (let i = roles.length - 1; i >= 0; i--) stack.push({ name: roles[i]!.name, delegator: md.signed });
    }
    // Target contents, checked against their entries (TUF 5.7) and kept by SHA-256, in batches.
    for (let i = 0; i < blobs.length; i += PUBLISH_BATCH) {
      const chunk = blobs.slice(i, i + PUBLISH_BATCH);
      const got = await readAll(
        source,
        chunk.map((b) => b.source),
      );
      const batch: AreaFile[] = [];
      chunk.forEach((b, j) => {
        const bytes = got[j];
        if (bytes === undefined)
          throw cairnError("ERR_NOT_FOUND", `${b.source} is missing from the repository`);
        checkLengthAndHashes(bytes, b.file, `target ${b.path}`);
        batch.push({ name: blobName(b.file.hashes.sha256!.toLowerCase()), bytes });
      });
      await writeAll(store, batch);
    }
    const config: RepositoryConfig = {
      cairnTufRepository: 1,
      expiry: { ...DEFAULT_EXPIRY },
      metaHashes: metaHashes && sm.hashes !== undefined,
      signing: opts.signing ?? {},
    };
    await writeAll(store, [
      ...roleFiles,
      ...roots.map((r) => ({ name: rootName(r.md.signed.version), bytes: r.bytes })),
    ]);
    await store.write(roleName("root"), roots[roots.length - 1]!.bytes);
    await store.write(roleName("snapshot"), snapBytes);
    await store.write(roleName("timestamp"), tsBytes);
    // The configuration last: until it is written the area holds no repository.
    await store.write(CONFIG, Buffer.from(`${JSON.stringify(config, null, 1)}\n`));
    return repo;
  }

  // --- reading -------------------------------------------------------------------------------

  /** The repository's configuration. Throws ERR_NOT_FOUND when the area holds no repository. */
  async config(): Promise<RepositoryConfig> {
    const b = await this.store.read(CONFIG);
    if (b === undefined) throw cairnError("ERR_NOT_FOUND", "no TUF repository here (run init first)");
    return parseJson(b, CONFIG) as RepositoryConfig;
  }

  /** Replaces the opaque signing references of the configuration. */
  async setSigning(signing: Record<string, string[]>): Promise<void> {
    const c = await this.config();
    c.signing = signing;
    await this.store.write(CONFIG, Buffer.from(`${JSON.stringify(c, null, 1)}\n`));
  }

  /** The current (latest) root. */
  async root(): Promise<Root> {
    return (await this.#loadRoot()).md.signed;
  }

  /** The current metadata of a role ("root" gives the latest root), or undefined when it has none. */
  async metadata(role: string): Promise<Metadata<SignedBase> | undefined> {
    if (role === "root") return (await this.#loadRoot()).md;
    return (await this.#load(role))?.md;
  }

  /** The exact bytes of a role's current metadata (what publish writes). */
  async metadataBytes(role: string): Promise<Uint8Array | undefined> {
    if (role === "root") return (await this.#loadRoot()).bytes;
    return (await this.#load(role))?.bytes;
  }

  /**
   * The content of a target `role` lists (kept in the repository), or undefined when it does not
   * list `path`. (revoke: read the current revocation list before adding to it.)
   */
  async targetContent(role: string, path: string): Promise<Uint8Array | undefined> {
    const t = (await this.#load(role))?.md.signed as Targets | undefined;
    const file = t?.targets[path];
    const digest = file?.hashes.sha256?.toLowerCase();
    return digest === undefined ? undefined : this.store.read(blobName(digest));
  }

  /** Every targets role: "targets", then the delegated roles, preorder. */
  async targetsRoles(): Promise<string[]> {
    const out: string[] = [];
    await this.#walk((name) => {
      out.push(name);
    });
    return out;
  }

  /**
   * The hash bins (TAP 15) `role` delegates to: their name prefix and number, or undefined. Targets
   * added to or removed from such a role go to their bins, signed by the bins' keys.
   */
  async hashBins(role: string): Promise<{ namePrefix: string; count: number } | undefined> {
    const b = await this.#binsOf(role);
    return b === undefined ? undefined : { namePrefix: b.info.name_prefix, count: b.bins.numberOfBins };
  }

  /** The targets role that delegates to `role`. Throws ERR_TUF_ROLE_UNKNOWN. */
  async delegatorOf(role: string): Promise<string> {
    const chain = await this.#chain(role);
    const link = chain[chain.length - 1];
    if (link === undefined) throw cairnError("ERR_TUF_ROLE_UNKNOWN", `${role} is not a delegated role`);
    return link.delegatorName;
  }

  /** Versions, expiry and signature counts of every role. */
  async status(): Promise<RoleStatus[]> {
    return this.#status(new Map());
  }

  /**
   * status() and problems() in one pass: each role's metadata is read and its signatures
   * verified once, not twice (16,384 hash bins: half the time).
   */
  async report(): Promise<{ roles: RoleStatus[]; problems: string[] }> {
    const seen: Verified = new Map();
    const { problems } = await this.#plan(undefined, seen);
    return { roles: await this.#status(seen), problems };
  }

  /** Role statuses; roles in `known` were read and verified already (by #plan). */
  async #status(known: Verified): Promise<RoleStatus[]> {
    const root = await this.#loadRoot();
    const out: RoleStatus[] = [];
    const count = (role: string, md: Metadata<SignedBase>, keys: Record<string, TufKey>, keyids: string[]) =>
      known.get(role)?.signed ??
      checkSignatures(md, publicKeysFor(keys, keyids), this.limits).verified.length;
    const r = root.md.signed;
    for (const role of TOP_LEVEL_ROLES) {
      const md = role === "root" ? root.md : (known.get(role)?.md ?? (await this.#load(role))?.md);
      const rk = r.roles[role]!;
      out.push({
        role,
        version: md?.signed.version,
        expires: md?.signed.expires,
        signed: md === undefined ? 0 : count(role, md, r.keys, rk.keyids),
        threshold: rk.threshold,
        targets:
          role === "targets" && md !== undefined ? Object.keys((md.signed as Targets).targets).length : 0,
      });
    }
    const entries = (await this.#roles()).filter((e) => e.chain.length > 0);
    const unknown = entries.filter((e) => !known.has(e.name)).map((e) => e.name);
    const staged = new Map<string, Metadata<SignedBase> | undefined>();
    const loaded = await this.#loadAll(unknown);
    for (let i = 0; i < unknown.length; i++) staged.set(unknown[i]!, loaded[i]?.md);
    for (const e of entries) {
      const name = e.name;
      const link = e.chain[e.chain.length - 1]!;
      const md = (known.get(name)?.md ?? staged.get(name)) as Metadata<Targets> | undefined;
      const d = link.delegator.delegations!;
      out.push({
        role: name,
        version: md?.signed.version,
        expires: md?.signed.expires,
        signed: md === undefined ? 0 : count(name, md, d.keys, link.role.keyids),
        threshold: link.role.threshold,
        targets: md === undefined ? 0 : Object.keys(md.signed.targets).length,
      });
    }
    return out;
  }

  // --- targets -------------------------------------------------------------------------------

  /**
   * Adds or replaces targets of `role` (top-level "targets" or a delegated role): length,
   * sha256 and sha512 hashes and custom metadata; keeps the contents for publishing; bumps the
   * role's version and re-signs it with `signers` (its keys). A delegated role may only list
   * paths inside its delegation (ERR_TUF_PATH_NOT_DELEGATED, naming the path).
   */
  async addTargets(
    role: string,
    files: Iterable<TargetInput> | AsyncIterable<TargetInput>,
    signers: readonly Signer[],
    onProgress?: (done: number, total: number) => void,
    total?: number,
  ): Promise<Record<string, TargetFile>> {
    const chain = role === "targets" ? [] : await this.#chain(role);
    const bins = await this.#binsOf(role);
    if (bins === undefined) await this.#checkSigners(role, signers);
    else this.#binSigners(bins, signers);
    const added: Record<string, TargetFile> = Object.create(null);
    // Contents are stored as they come, in batches: memory holds one batch, not the whole set. A
    // refusal part-way leaves only unreferenced content-addressed blobs; no metadata changes.
    let batch: AreaFile[] = [];
    let batchBytes = 0;
    let done = 0;
    const flush = async () => {
      await writeAll(this.store, batch);
      done += batch.length;
      batch = [];
      batchBytes = 0;
      onProgress?.(done, Math.max(total ?? 0, done));
    };
    const seenBlobs = new Set<string>();
    for await (const f of files) {
      checkTargetPath(f.path);
      this.#checkInDelegation(role, chain, f.path);
      const file: TargetFile = {
        length: f.bytes.length,
        hashes: { sha256: sha256(f.bytes), sha512: digestHex("sha512", f.bytes) },
      };
      if (f.custom !== undefined) file.custom = f.custom;
      if (!seenBlobs.has(file.hashes.sha256!)) {
        seenBlobs.add(file.hashes.sha256!);
        batch.push({ name: blobName(file.hashes.sha256!), bytes: f.bytes });
        batchBytes += f.bytes.length;
      } else done++;
      added[f.path] = file;
      if (batch.length >= ADD_BATCH_FILES || batchBytes >= ADD_BATCH_BYTES) await flush();
    }
    await flush();
    if (bins === undefined) {
      await this.#editTargets(role, signers, (t) => {
        for (const [p, file] of Object.entries(added)) setTarget(t, p, file);
      });
    } else {
      const byBin = new Map<string, Array<[string, TargetFile]>>();
      for (const [p, file] of Object.entries(added)) {
        const b = bins.bins.roleForTarget(p);
        const l = byBin.get(b);
        if (l === undefined) byBin.set(b, [[p, file]]);
        else l.push([p, file]);
      }
      // Updating from a directory: a bin none of whose entries changed is left as it is.
      await this.#editBins(bins, signers, byBin.keys(), (name, t) => {
        let changed = false;
        for (const [p, file] of byBin.get(name)!) {
          const was = Object.hasOwn(t.targets, p) ? t.targets[p] : undefined;
          if (was !== undefined && sameTargetFile(was, file)) continue;
          setTarget(t, p, file);
          changed = true;
        }
        return changed;
      });
    }
    return added;
  }

  /**
   * Removes targets from `role` (from their hash bins when `role` delegates to bins); a path it
   * does not list is ERR_TUF_TARGET_NOT_FOUND.
   */
  async removeTargets(role: string, paths: readonly string[], signers: readonly Signer[]): Promise<void> {
    const bins = await this.#binsOf(role);
    if (bins !== undefined) {
      const byBin = new Map<string, string[]>();
      for (const p of paths) {
        const b = bins.bins.roleForTarget(p);
        const l = byBin.get(b);
        if (l === undefined) byBin.set(b, [p]);
        else l.push(p);
      }
      await this.#editBins(bins, signers, byBin.keys(), (name, t) => {
        for (const p of byBin.get(name)!) {
          if (!Object.hasOwn(t.targets, p))
            throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `bin ${name} of ${role} does not list target ${p}`);
          delete t.targets[p];
        }
      });
      return;
    }
    await this.#editTargets(role, signers, (t) => {
      for (const p of paths) {
        if (!Object.hasOwn(t.targets, p)) {
          throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `role ${role} does not list target ${p}`);
        }
        delete t.targets[p];
      }
    });
  }

  /** Bumps a targets role's version and expiry and signs it afresh with `signers`. */
  async resign(role: string, signers: readonly Signer[]): Promise<void> {
    await this.#editTargets(role, signers, () => {});
  }

  /**
   * Adds `signers`' signatures to a role's current metadata without changing it (threshold
   * signing: key holders sign in turn). For root, the latest version is signed, by keys of the
   * previous root or its own.
   */
  async sign(role: string, signers: readonly Signer[]): Promise<void> {
    if (role === "root") {
      const cur = await this.#loadRoot();
      const v = cur.md.signed.version;
      const prev = v > 1 ? (await this.#loadRootVersion(v - 1)).md.signed : undefined;
      const chosen = rootSigners(cur.md.signed, prev, signers);
      await this.#saveRoot(await signMetadata(structuredClone(cur.md.signed), chosen, cur.md.signatures));
      return;
    }
    const cur = await this.#load(role);
    if (cur === undefined) throw cairnError("ERR_TUF_ROLE_UNKNOWN", `role ${role} has no metadata yet`);
    const { keys, keyids } = await this.#trust(role);
    const m = matchSigners(keys, keyids, signers);
    if (m.unmatched.length > 0) throw notInRole(role, m.unmatched[0]!);
    await this.#save(role, await signMetadata(structuredClone(cur.md.signed), m.matched, cur.md.signatures));
  }

  // --- delegations ---------------------------------------------------------------------------

  /**
   * Delegates `opts.paths` (or hash prefixes) from a targets role to a new developer role, re-signing
   * the delegator with `signers`. Signers among `signers` holding the developer's keys also create
   * the role's first (empty) metadata; otherwise the developer submits it (see submit).
   */
  async delegate(opts: DelegateOptions, signers: readonly Signer[]): Promise<void> {
    const delegator = opts.delegator ?? "targets";
    if (!SAFE_ROLE.test(opts.name) || (TOP_LEVEL_ROLES as readonly string[]).includes(opts.name)) {
      throw cairnError(
        "ERR_USAGE",
        `role name ${JSON.stringify(opts.name)} must be letters, digits, ".", "_" and "-", not a top-level role`,
      );
    }
    const kinds = [opts.paths, opts.pathHashPrefixes, opts.bins].filter((x) => x !== undefined).length;
    if (kinds !== 1) {
      throw cairnError(
        "ERR_USAGE",
        "a delegation has exactly one of paths, path hash prefixes and hash bins",
      );
    }
    const threshold = opts.threshold ?? 1;
    if (opts.keys.length < threshold) {
      throw cairnError("ERR_USAGE", `${opts.keys.length} key(s) cannot meet threshold ${threshold}`);
    }
    const entries = await this.#roles();
    const all = new Set(entries.map((e) => e.name));
    const from = entries.find((e) => e.name === delegator);
    if (from === undefined) throw cairnError("ERR_TUF_ROLE_UNKNOWN", `no targets role ${delegator}`);
    if (from.bin) throw cairnError("ERR_USAGE", `${delegator} is a hash bin: bins do not delegate further`);
    const ids: string[] = [];
    const keys: Record<string, TufKey> = {};
    for (const k of opts.keys) {
      const { keyid, key } = tufKeyOf(k);
      keys[keyid] = key;
      if (!ids.includes(keyid)) ids.push(keyid);
    }
    if (opts.bins !== undefined) {
      await this.#delegateBins(delegator, opts.name, opts.bins, keys, ids, threshold, all, signers);
      return;
    }
    if (all.has(opts.name)) throw cairnError("ERR_USAGE", `role ${opts.name} is already delegated`);
    const role: DelegatedRole = {
      name: opts.name,
      keyids: ids,
      threshold,
      terminating: opts.terminating ?? false,
    };
    if (opts.paths !== undefined) role.paths = [...opts.paths];
    else role.path_hash_prefixes = opts.pathHashPrefixes!.map((p) => p.toLowerCase());
    const own = matchSigners(keys, ids, signers);
    const forDelegator = own.unmatched;
    await this.#editTargets(delegator, forDelegator, (t) => {
      t.delegations ??= { keys: {}, roles: [] };
      if (t.delegations.succinct_roles !== undefined) {
        throw cairnError("ERR_USAGE", `${delegator} delegates to hash bins: it cannot add a named role`);
      }
      for (const [id, k] of Object.entries(keys)) t.delegations.keys[id] = k;
      t.delegations.roles!.push(role);
    });
    if (own.matched.length > 0) {
      const config = await this.config();
      const t = newTargets({ expires: this.#expires(config.expiry.delegated) });
      await this.#save(opts.name, await signMetadata(t, own.matched));
    }
  }

  /**
   * TAP 15: the delegator's delegations become `succinct_roles` over `count` bins; every bin gets
   * its first (empty) metadata, signed by the bins' keys among `signers` (required: 16,384 roles
   * cannot wait for a developer each). The empty bins are identical documents, so they are signed
   * once. Bins are written before the delegator names them: a crash leaves unreferenced files.
   */
  async #delegateBins(
    delegator: string,
    prefix: string,
    count: number,
    keys: Record<string, TufKey>,
    ids: string[],
    threshold: number,
    existing: ReadonlySet<string>,
    signers: readonly Signer[],
  ): Promise<void> {
    const bitLength = Math.log2(count);
    if (!Number.isInteger(bitLength) || bitLength < 1 || bitLength > 16) {
      throw cairnError("ERR_USAGE", `hash bins: ${count} is not a power of two from 2 to 65536`);
    }
    const info: SuccinctRolesInfo = { bit_length: bitLength, keyids: ids, name_prefix: prefix, threshold };
    const bins = new SuccinctRoles(info);
    if (existing.size + count > MAX_ROLES)
      throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${MAX_ROLES} roles`);
    for (const n of bins.roleNames()) {
      if (existing.has(n)) throw cairnError("ERR_USAGE", `role ${n} already exists: choose another bin name`);
    }
    const own = matchSigners(keys, ids, signers);
    if (own.matched.length === 0)
      throw cairnError("ERR_USAGE", `give a private key of the hash bins ${prefix}-* to sign them`);
    const cur = await this.#load(delegator);
    const d = (cur?.md.signed as Targets | undefined)?.delegations;
    if (d !== undefined && (d.succinct_roles !== undefined || (d.roles ?? []).length > 0)) {
      throw cairnError(
        "ERR_USAGE",
        `${delegator} already delegates: TAP 15 allows hash bins only as a role's one delegation`,
      );
    }
    // Check the delegator's signers before writing 16,384 files.
    await this.#checkSigners(delegator, own.unmatched);
    const config = await this.config();
    const empty = await signMetadata(
      newTargets({ expires: this.#expires(config.expiry.delegated) }),
      own.matched,
    );
    parseMetadata(structuredClone(empty), "targets", { limits: this.limits });
    const bytes = serializeMetadata(empty, "pretty");
    const files: AreaFile[] = [];
    for (const n of bins.roleNames()) files.push({ name: roleName(n), bytes });
    await this.#markChanged(bins.roleNames());
    await writeAll(this.store, files);
    await this.#editTargets(delegator, own.unmatched, (t) => {
      t.delegations = { keys: { ...keys }, succinct_roles: info };
    });
  }

  /**
   * Accepts metadata a developer signed offline for their delegated role (TUF 4.5): it must be
   * signed by the threshold of the keys delegated to the role (ERR_TUF_SIGNATURE_INVALID), newer
   * than the current version (ERR_TUF_ROLLBACK), unexpired, and list only targets inside the
   * role's delegated paths, at every level of the delegation chain (ERR_TUF_PATH_NOT_DELEGATED,
   * naming the first such target). `files` are target contents, checked against their entries.
   */
  async submit(role: string, bytes: Uint8Array, files: readonly TargetInput[] = []): Promise<Targets> {
    const chain = await this.#chain(role);
    const md = parseMetadataBytes(bytes, "targets", { file: `${role}.json`, limits: this.limits });
    const parent = chain[chain.length - 1]!;
    const signed = verifyDelegate(parent.delegator, role, md, this.limits);
    const cur = await this.#load(role);
    if (cur !== undefined && signed.version <= cur.md.signed.version) {
      throw cairnError(
        "ERR_TUF_ROLLBACK",
        `${role} version ${signed.version} is not newer than the repository's version ${cur.md.signed.version}`,
        { field: "signed.version" },
      );
    }
    checkNotExpired(signed, this.clock.now(), role);
    for (const path of Object.keys(signed.targets)) {
      checkTargetPath(path);
      this.#checkInDelegation(role, chain, path);
    }
    for (const r of signed.delegations?.roles ?? []) {
      if (!SAFE_ROLE.test(r.name)) {
        throw cairnError(
          "ERR_TUF_METADATA_INVALID",
          `role name ${JSON.stringify(r.name)} cannot be published`,
          {
            field: "signed.delegations.roles",
          },
        );
      }
    }
    if (signed.delegations?.succinct_roles !== undefined) {
      // The bins need their own metadata, which the repository signs: `delegate` with `bins`.
      throw cairnError(
        "ERR_TUF_METADATA_INVALID",
        "submitted metadata cannot delegate to hash bins: the repository makes them (delegate with bins)",
        { field: "signed.delegations.succinct_roles" },
      );
    }
    if (parent.bins !== undefined && signed.delegations !== undefined) {
      throw cairnError("ERR_TUF_METADATA_INVALID", `${role} is a hash bin: bins do not delegate further`, {
        field: "signed.delegations",
      });
    }
    for (const f of files) {
      const entry = Object.hasOwn(signed.targets, f.path) ? signed.targets[f.path] : undefined;
      if (entry === undefined) {
        throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `${role} metadata does not list ${f.path}`);
      }
      checkLengthAndHashes(f.bytes, entry, `target ${f.path}`);
    }
    for (const f of files) await this.store.write(blobName(sha256(f.bytes)), f.bytes);
    await this.#markChanged([role]);
    await this.store.write(roleName(role), bytes);
    return signed;
  }

  /**
   * Removes a developer's key from the role delegated to them (the delegator re-signed by
   * `signers`). The threshold is lowered to the keys left unless `threshold` is given; a role left
   * without keys is refused (ERR_USAGE). The role's metadata must then be re-signed by a key it
   * still trusts before anything is published.
   */
  async revokeKey(
    role: string,
    key: string | PublicKey,
    signers: readonly Signer[],
    opts: { threshold?: number } = {},
  ): Promise<void> {
    const chain = await this.#chain(role);
    const parent = chain[chain.length - 1]!;
    await this.#editTargets(parent.delegatorName, signers, (t) => {
      const d = t.delegations!;
      const r = d.roles!.find((x) => x.name === role)!;
      const id = typeof key === "string" ? key : keyIdIn(d.keys, r.keyids, key);
      if (id === undefined || !r.keyids.includes(id)) {
        throw cairnError("ERR_TUF_KEY_NOT_IN_ROLE", `that key is not a key of role ${role}`, {
          field: "keyids",
        });
      }
      const left = r.keyids.filter((x) => x !== id);
      const threshold = opts.threshold ?? Math.min(r.threshold, left.length);
      if (left.length === 0 || threshold < 1 || threshold > left.length) {
        throw cairnError(
          "ERR_USAGE",
          `revoking ${id} would leave role ${role} with ${left.length} key(s) for threshold ${threshold}: delegate another key first`,
        );
      }
      r.keyids = left;
      r.threshold = threshold;
      // The key object goes too unless another role of this delegator still uses it.
      if (!d.roles!.some((x) => x.keyids.includes(id))) delete d.keys[id];
    });
  }

  // --- root ----------------------------------------------------------------------------------

  /**
   * Changes a top-level role's keys or threshold with a new root version (TUF 6.1, 5.3.4): signed
   * by `signers` holding keys of the current root's root role or the new one's. Publishing needs
   * both thresholds met (more holders add theirs with `sign("root", ...)`). The current root must be
   * complete first. When the targets, snapshot or timestamp keys change, re-sign that role
   * (`resign`, `refresh`) with the new keys before publishing.
   */
  async rotate(role: TopLevelRole, change: KeyChange, signers: readonly Signer[]): Promise<Root> {
    const cur = await this.#loadRoot();
    const old = cur.md.signed;
    const prev = old.version > 1 ? (await this.#loadRootVersion(old.version - 1)).md.signed : undefined;
    const problems: string[] = [];
    checkRootSigned(cur, prev, problems, this.limits);
    if (problems.length > 0) {
      throw cairnError(
        "ERR_TUF_REPOSITORY_INCONSISTENT",
        `root version ${old.version} is not fully signed yet (${problems.join("; ")}): sign it before rotating again`,
      );
    }
    const config = await this.config();
    const next = structuredClone(old) as Root;
    next.version = old.version + 1;
    next.expires = formatDateTime(this.#expires(config.expiry.root));
    const r = next.roles[role]!;
    for (const k of change.remove ?? []) {
      const id = typeof k === "string" ? k : keyIdIn(next.keys, r.keyids, k);
      if (id === undefined || !r.keyids.includes(id)) {
        throw cairnError("ERR_TUF_KEY_NOT_IN_ROLE", `that key is not a key of role ${role}`, {
          field: "keyids",
        });
      }
      r.keyids = r.keyids.filter((x) => x !== id);
    }
    for (const k of change.add ?? []) {
      const { keyid, key } = tufKeyOf(k);
      next.keys[keyid] = key;
      if (!r.keyids.includes(keyid)) r.keyids.push(keyid);
    }
    if (change.threshold !== undefined) r.threshold = change.threshold;
    if (!Number.isSafeInteger(r.threshold) || r.threshold < 1 || r.threshold > r.keyids.length) {
      throw cairnError(
        "ERR_USAGE",
        `role ${role} would have ${r.keyids.length} key(s) for threshold ${r.threshold}`,
      );
    }
    // Keys no role uses any more leave root.
    const used = new Set(Object.values(next.roles).flatMap((x) => x.keyids));
    for (const id of Object.keys(next.keys)) if (!used.has(id)) delete next.keys[id];
    const md = await signMetadata(next, rootSigners(next, old, signers));
    await this.#saveRoot(md);
    return next;
  }

  // --- online roles --------------------------------------------------------------------------

  /**
   * Re-signs snapshot and timestamp with the online keys among `signers` (TUF 6.1): the snapshot
   * lists every targets role's current version (with length and hashes when configured), the
   * timestamp the new snapshot; both versions are bumped and their expiry set from now.
   */
  async refresh(
    signers: readonly Signer[],
    opts: { full?: boolean } = {},
  ): Promise<{ snapshot: number; timestamp: number }> {
    const root = await this.root();
    const config = await this.config();
    const snap = matchSigners(root.keys, root.roles.snapshot!.keyids, signers);
    const ts = matchSigners(root.keys, root.roles.timestamp!.keyids, signers);
    for (const s of signers) {
      if (
        !snap.matched.some((m) => m.publicKey === s.publicKey) &&
        !ts.matched.some((m) => m.publicKey === s.publicKey)
      ) {
        throw notInRole("snapshot or timestamp", s);
      }
    }
    return this.#refreshWith(root, config, snap.matched, ts.matched, false, opts.full === true);
  }

  async #refreshWith(
    _root: Root,
    config: RepositoryConfig,
    snapSigners: Signer[],
    tsSigners: Signer[],
    first: boolean,
    full = false,
  ): Promise<{ snapshot: number; timestamp: number }> {
    // Only the roles changed since the last refresh are read (see INDEX): one changed bin among
    // 16,384 costs one read. `full` (or no index yet) reads every role.
    const index = full || first ? undefined : await this.#index();
    const changed = index === undefined ? undefined : await this.#changedRoles();
    const meta: Array<[string, MetaFile]> = [];
    const roles = (await this.#roles()).map((e) => e.name);
    const toRead = roles.filter((r) => changed === undefined || changed.has(r) || !Object.hasOwn(index!, r));
    const staged = await this.#loadAll(toRead);
    const read = new Map<string, Staged<SignedBase> | undefined>();
    for (let i = 0; i < toRead.length; i++) read.set(toRead[i]!, staged[i]);
    const next: RoleIndex = Object.create(null);
    for (const r of roles) {
      let e: IndexEntry | undefined;
      if (read.has(r)) {
        const cur = read.get(r);
        if (cur !== undefined)
          e = {
            version: cur.md.signed.version,
            length: cur.bytes.length,
            sha256: sha256(cur.bytes),
            expires: cur.md.signed.expires,
          };
      } else e = index![r];
      if (e === undefined) continue; // delegated, not yet submitted: publish refuses until it is
      next[r] = e;
      meta.push([`${r}.json`, config.metaHashes ? metaOfEntry(e) : { version: e.version }]);
    }
    // The index first: it is right for every role not in the journal, whatever happens next.
    await this.store.write(INDEX, Buffer.from(JSON.stringify(next)));
    // The staged timestamp names the staged snapshot's version: no need to parse a 2 MB snapshot
    // for it (a crash between the two writes leaves a snapshot that was never published).
    const oldTs = first ? undefined : await this.#load("timestamp");
    const snapshot = newSnapshot({
      version: ((oldTs?.md.signed as Timestamp | undefined)?.meta["snapshot.json"].version ?? 0) + 1,
      expires: this.#expires(config.expiry.snapshot),
      meta,
    });
    const snapBytes = await this.#save("snapshot", await signMetadata(snapshot, snapSigners));
    const timestamp = newTimestamp({
      version: (oldTs?.md.signed.version ?? 0) + 1,
      expires: this.#expires(config.expiry.timestamp),
      snapshot: this.#metaOf(config, snapBytes, snapshot.version),
    });
    await this.#save("timestamp", await signMetadata(timestamp, tsSigners));
    await this.store.write(CHANGED, Buffer.from("[]"));
    return { snapshot: snapshot.version, timestamp: timestamp.version };
  }

  // --- consistency and publishing --------------------------------------------------------------

  /**
   * Verifies the whole staged set as a client would (TUF 5.3-5.6): the root chain (each version
   * signed by the previous and its own thresholds), every targets role signed by its delegator's
   * threshold and inside its delegated paths, snapshot listing exactly the current version, length
   * and hashes of every targets role, timestamp naming the current snapshot, nothing expired.
   * Returns the problems found (empty when publishable).
   */
  async problems(): Promise<string[]> {
    return (await this.#plan()).problems;
  }

  /**
   * Publishes the staged set into `out` with consistent-snapshot names (TUF 7):
   * `targets/<dir>/<sha256>.<file>`, `metadata/<V>.<role>.json` for targets roles and snapshot,
   * `metadata/<N>.root.json` for every root version, and `metadata/timestamp.json`, written last.
   * Nothing is written unless the set verifies (ERR_TUF_REPOSITORY_INCONSISTENT, listing every
   * problem), and a versioned file already published is never changed: until timestamp.json is
   * replaced, clients see the previous set, whose files are all still there. A root without
   * consistent_snapshot publishes `targets/<path>`, `metadata/<role>.json` and
   * `metadata/snapshot.json` instead, replaced in place in the same order (root versions keep
   * their numbered names, which clients fetch either way, TUF 5.3.3).
   */
  async publish(out: FileArea, onProgress?: (done: number, total: number) => void): Promise<PublishReport> {
    const plan = await this.#plan(await publishedMeta(out, this.limits));
    const problems = plan.problems;
    // Pre-flight: a published version must never change (clients may hold it already).
    const todoTargets: Array<{ name: string; blob: string }> = [];
    const todo: Array<{ name: string; bytes: Uint8Array }> = [];
    let unchanged = 0;
    if (problems.length === 0) {
      for (let i = 0; i < plan.targets.length; i += PUBLISH_BATCH) {
        const chunk = plan.targets.slice(i, i + PUBLISH_BATCH);
        for (const f of chunk) checkAreaName(f.name);
        const there = await readAll(
          out,
          chunk.map((f) => f.name),
        );
        for (let j = 0; j < chunk.length; j++) {
          const existing = there[j];
          if (existing === undefined) todoTargets.push(chunk[j]!);
          else if (sameBytes(existing, (await this.store.read(blobName(chunk[j]!.blob))) ?? new Uint8Array()))
            unchanged++;
          else if (!plan.consistent) todoTargets.push(chunk[j]!);
          else
            problems.push(`published ${chunk[j]!.name} differs from its content (the file name is its hash)`);
        }
      }
      for (const f of plan.files) checkAreaName(f.name);
      const there = await readAll(
        out,
        plan.files.map((f) => f.name),
      );
      plan.files.forEach((f, i) => {
        const existing = there[i];
        if (existing === undefined) todo.push(f);
        else if (f.name === "metadata/timestamp.json") {
          const v = publishedVersion(existing);
          if (v !== undefined && v > plan.versions.timestamp) {
            problems.push(
              `the published timestamp has version ${v}, newer than this repository's ${plan.versions.timestamp}`,
            );
          } else if (sameBytes(existing, f.bytes)) unchanged++;
          else todo.push(f);
        } else if (sameBytes(existing, f.bytes)) unchanged++;
        // Without consistent snapshots a role keeps its name; root versions never change.
        else if (!plan.consistent && !ROOT_VERSION_NAME.test(f.name)) todo.push(f);
        else problems.push(`${f.name} is already published with other content: bump the role's version`);
      });
    }
    if (problems.length > 0) {
      throw cairnError("ERR_TUF_REPOSITORY_INCONSISTENT", `nothing published: ${problems.join("; ")}`);
    }
    const written: string[] = [];
    const total = todoTargets.length + todo.length;
    // Target contents first, in batches (memory holds one batch), then the targets roles together,
    // then snapshot, root versions and timestamp one by one, timestamp last (TUF 7: clients only
    // see the new set once timestamp.json names it, and by then every file it reaches is there).
    for (let i = 0; i < todoTargets.length; i += PUBLISH_BATCH) {
      const chunk = todoTargets.slice(i, i + PUBLISH_BATCH);
      const blobs = await readAll(
        this.store,
        chunk.map((f) => blobName(f.blob)),
      );
      const batch: AreaFile[] = [];
      chunk.forEach((f, j) => {
        const b = blobs[j];
        if (b === undefined)
          throw cairnError("ERR_IO", `the content of ${f.name} disappeared during publish`);
        batch.push({ name: f.name, bytes: b });
      });
      await writeAll(out, batch);
      for (const f of chunk) written.push(f.name);
      onProgress?.(written.length, total);
    }
    const roles = todo.filter((f) => plan.roleFiles.has(f.name));
    await writeAll(out, roles);
    for (const f of roles) written.push(f.name);
    onProgress?.(written.length, total);
    for (const f of todo) {
      if (plan.roleFiles.has(f.name)) continue;
      await out.write(f.name, f.bytes);
      written.push(f.name);
    }
    onProgress?.(written.length, total);
    return { written, unchanged, versions: plan.versions };
  }

  /**
   * `published`: the METAFILES of the snapshot `out` currently serves (see publishedMeta). A role
   * whose staged bytes have the version and SHA-256 published there, below delegators that are all
   * unchanged too, is settled: the publish that wrote it verified its signatures, paths and
   * targets, whose results depend only on those bytes, and wrote all its files before its
   * timestamp. Settled roles are checked for expiry only, and none of their files is read or
   * written again: adding one target to 65,536 touches one bin, not every target.
   */
  async #plan(
    published: ReadonlyMap<string, MetaFile> = new Map(),
    verified?: Verified,
  ): Promise<{
    problems: string[];
    /** Target contents to publish: the published name and the blob's SHA-256. */
    targets: Array<{ name: string; blob: string }>;
    /** Metadata to publish, in order: targets roles, snapshot, root versions, timestamp. */
    files: Array<{ name: string; bytes: Uint8Array }>;
    /** The names among `files` of targets roles (written together). */
    roleFiles: ReadonlySet<string>;
    versions: PublishReport["versions"];
    /** Consistent-snapshot names (root's consistent_snapshot), else names replaced in place. */
    consistent: boolean;
  }> {
    const problems: string[] = [];
    const now = this.clock.now();
    const expired = (s: SignedBase, role: string) => {
      try {
        checkNotExpired(s, now, role);
      } catch (e) {
        problems.push((e as Error).message);
      }
    };
    const guard = (what: string, f: () => void) => {
      try {
        f();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    // Root chain (TUF 5.3.4, 5.3.5).
    const cur = await this.#loadRoot();
    const roots: Array<Staged<Root>> = [];
    for (let v = 1; v <= cur.md.signed.version; v++)
      roots.push(v === cur.md.signed.version ? cur : await this.#loadRootVersion(v));
    for (let i = 0; i < roots.length; i++)
      checkRootSigned(roots[i]!, roots[i - 1]?.md.signed, problems, this.limits);
    const root = cur.md.signed;
    expired(root, "root");
    // TUF 7: with consistent snapshots, versioned metadata names and hash-prefixed target names;
    // without, every file but the root versions keeps one name, replaced at each publish.
    const consistent = root.consistent_snapshot === true;
    const config = await this.config();
    const targetFiles: Array<{ name: string; blob: string }> = [];
    const roleFiles: Array<{ name: string; bytes: Uint8Array }> = [];
    const expectMeta = new Map<string, MetaFile>();
    const seenBlobs = new Set<string>();
    let targetsVersion = 0;
    const entries = await this.#roles();
    const settled = new Set<string>();
    // Settled without reading: the index describes the file (not in the journal) and says it is
    // the published version, below settled delegators ("targets" itself is always read).
    const index = published.size > 0 ? await this.#index() : undefined;
    const changed = index === undefined ? undefined : await this.#changedRoles();
    const quick = new Set<string>();
    if (index !== undefined && changed !== undefined) {
      const targetsBytes = (await this.#load("targets"))?.bytes;
      const tWas = published.get("targets.json");
      const targetsSettled =
        targetsBytes !== undefined &&
        !changed.has("targets") &&
        tWas?.hashes?.sha256?.toLowerCase() === sha256(targetsBytes);
      for (const { name, chain } of entries) {
        if (name === "targets" || changed.has(name) || !Object.hasOwn(index, name)) continue;
        const e = index[name]!;
        const was = published.get(`${name}.json`);
        if (was?.version !== e.version || was.hashes?.sha256?.toLowerCase() !== e.sha256) continue;
        if (
          !chain.every((l) => (l.delegatorName === "targets" ? targetsSettled : quick.has(l.delegatorName)))
        )
          continue;
        quick.add(name);
      }
    }
    const toRead = entries.filter((e) => !quick.has(e.name));
    const nowText = formatDateTime(now);
    const loaded = await this.#loadAll(toRead.map((e) => e.name));
    const byName = new Map<string, Staged<SignedBase> | undefined>();
    for (let i = 0; i < toRead.length; i++) byName.set(toRead[i]!.name, loaded[i]);
    let missing = 0;
    for (let i = 0; i < entries.length; i++) {
      const { name, chain } = entries[i]!;
      const link = chain[chain.length - 1];
      if (quick.has(name)) {
        const e = index![name]!;
        // TUF 4.2 date-times (YYYY-MM-DDTHH:MM:SSZ) sort as text in time order: no parsing for
        // 16,384 bins. An entry not of that shape counts as expired.
        if (typeof e.expires !== "string" || e.expires.length !== 20 || e.expires <= nowText)
          problems.push(`${name} metadata expired at ${e.expires}`);
        expectMeta.set(`${name}.json`, config.metaHashes ? metaOfEntry(e) : { version: e.version });
        settled.add(name);
        continue;
      }
      const st = byName.get(name);
      if (st === undefined) {
        // Name the first few: 16,384 unsigned bins would make an unreadable message.
        if (++missing <= 10) problems.push(`role ${name} has no metadata yet (its developer must submit it)`);
        continue;
      }
      const t = st.md.signed as Targets;
      if (name === "targets") targetsVersion = t.version;
      expired(t, name);
      expectMeta.set(`${name}.json`, this.#metaOf(config, st.bytes, t.version));
      const was = published.get(`${name}.json`);
      if (
        name !== "targets" &&
        was?.version === t.version &&
        was.hashes?.sha256 !== undefined &&
        was.hashes.sha256.toLowerCase() === sha256(st.bytes) &&
        chain.every((l) => l.delegatorName === "targets" || settled.has(l.delegatorName)) &&
        settled.has("targets")
      ) {
        settled.add(name);
        continue;
      }
      if (
        name === "targets" &&
        was?.version === t.version &&
        was.hashes?.sha256?.toLowerCase() === sha256(st.bytes)
      ) {
        // Top-level targets is re-verified against the current root (one check), but its own
        // children may count it as unchanged.
        settled.add("targets");
      }
      if (name !== "targets" && !SAFE_ROLE.test(name))
        problems.push(`role name ${JSON.stringify(name)} cannot be published`);
      const delegator = link === undefined ? root : link.delegator;
      verified?.set(name, { md: st.md, signed: 0 });
      guard(name, () =>
        verifyDelegate(delegator, name, st.md, this.limits, noteSigned(verified, name, st.md)),
      );
      if (entries[i]!.bin && t.delegations !== undefined)
        problems.push(`${name} is a hash bin: bins do not delegate further`);
      for (const [path, file] of Object.entries(t.targets)) {
        guard(`${name}`, () => {
          checkTargetPath(path);
          this.#checkInDelegation(name, chain, path);
          const pub = consistent ? publishedTargetName(path, file) : `targets/${path}`;
          if (seenBlobs.has(pub)) return;
          seenBlobs.add(pub);
          targetFiles.push({ name: pub, blob: file.hashes.sha256!.toLowerCase() });
        });
      }
      roleFiles.push({
        name: consistent ? `metadata/${t.version}.${name}.json` : `metadata/${name}.json`,
        bytes: st.bytes,
      });
    }
    if (missing > 10) problems.push(`${missing - 10} more roles have no metadata yet`);
    // Target contents (TUF 5.7: clients check length and hashes; a missing blob would 404). Only
    // their presence matters here (publish reads them to write them): `has` when the area has it,
    // else read in batches and dropped.
    const store = this.store;
    for (let i = 0; i < targetFiles.length; i += PUBLISH_BATCH) {
      const chunk = targetFiles.slice(i, i + PUBLISH_BATCH);
      const names = chunk.map((f) => blobName(f.blob));
      const present =
        store.has !== undefined
          ? await Promise.all(names.map((n) => store.has!(n)))
          : (await readAll(store, names)).map((b) => b !== undefined);
      for (let j = 0; j < chunk.length; j++)
        if (!present[j]) problems.push(`no content for ${chunk[j]!.name}: add the file`);
    }
    // Snapshot (TUF 5.5) and timestamp (TUF 5.4).
    const snap = await this.#load("snapshot");
    const ts = await this.#load("timestamp");
    let versions = { root: root.version, targets: targetsVersion, snapshot: 0, timestamp: 0 };
    const files: Array<{ name: string; bytes: Uint8Array }> = [...roleFiles];
    if (snap === undefined || ts === undefined) problems.push("no snapshot or timestamp: run refresh");
    else {
      const s = snap.md.signed as Snapshot;
      const t = ts.md.signed as Timestamp;
      versions = { ...versions, snapshot: s.version, timestamp: t.version };
      for (const [role, st] of [
        ["snapshot", snap],
        ["timestamp", ts],
      ] as const) {
        verified?.set(role, { md: st.md, signed: 0 });
        guard(role, () => verifyDelegate(root, role, st.md, this.limits, noteSigned(verified, role, st.md)));
      }
      expired(s, "snapshot");
      expired(t, "timestamp");
      const listed = new Set(Object.keys(s.meta));
      let stale = false;
      for (const [file, want] of expectMeta) {
        const got = Object.hasOwn(s.meta, file) ? s.meta[file]! : undefined;
        if (got === undefined || !sameMeta(got, want)) stale = true;
        listed.delete(file);
      }
      if (listed.size > 0) stale = true;
      const tm = t.meta["snapshot.json"];
      if (tm.version !== s.version || !sameMeta(tm, this.#metaOf(config, snap.bytes, s.version), true))
        stale = true;
      if (stale)
        problems.push(
          "snapshot or timestamp does not describe the current metadata: run refresh (--full if files were edited by hand)",
        );
      files.push({
        name: consistent ? `metadata/${s.version}.snapshot.json` : "metadata/snapshot.json",
        bytes: snap.bytes,
      });
    }
    for (const r of roots) files.push({ name: `metadata/${r.md.signed.version}.root.json`, bytes: r.bytes });
    if (ts !== undefined) files.push({ name: "metadata/timestamp.json", bytes: ts.bytes });
    return {
      problems,
      targets: targetFiles,
      files,
      roleFiles: new Set(roleFiles.map((f) => f.name)),
      versions,
      consistent,
    };
  }

  // --- internals -----------------------------------------------------------------------------

  #expires(seconds: number): Date {
    return new Date(Math.floor(this.clock.now().getTime() / 1000) * 1000 + seconds * 1000);
  }

  #metaOf(config: RepositoryConfig, bytes: Uint8Array, version: number): MetaFile {
    return config.metaHashes
      ? { version, length: bytes.length, hashes: { sha256: sha256(bytes) } }
      : { version };
  }

  async #load(role: string): Promise<Staged<SignedBase> | undefined> {
    const bytes = await this.store.read(roleName(role));
    if (bytes === undefined) return undefined;
    const md = parseMetadataBytes(bytes, roleTypeOf(role), { file: roleName(role), limits: this.limits });
    return { md, bytes };
  }

  async #save(role: string, md: Metadata<SignedBase>): Promise<Uint8Array> {
    // Validated as a reader would (parseMetadata neither changes nor freezes what it checks).
    parseMetadata(md, roleTypeOf(role) as RoleType, { limits: this.limits });
    // Every client downloads the snapshot at each update: compact (16% smaller than pretty with
    // 16,384 bins, and canonical already). The other roles stay readable in the working area.
    const bytes = serializeMetadata(md, role === "snapshot" || role === "timestamp" ? "compact" : "pretty");
    if (role !== "snapshot" && role !== "timestamp") await this.#markChanged([role]);
    await this.store.write(roleName(role), bytes);
    return bytes;
  }

  async #loadRootVersion(v: number): Promise<Staged<Root>> {
    const bytes = await this.store.read(rootName(v));
    if (bytes === undefined)
      throw cairnError("ERR_NOT_FOUND", `root version ${v} is missing`, { file: rootName(v) });
    return { md: parseMetadataBytes(bytes, "root", { file: rootName(v), limits: this.limits }), bytes };
  }

  async #loadRoot(): Promise<Staged<Root>> {
    const b = await this.store.read(roleName("root"));
    if (b === undefined) throw cairnError("ERR_NOT_FOUND", "no TUF repository here (run init first)");
    return { md: parseMetadataBytes(b, "root", { file: roleName("root"), limits: this.limits }), bytes: b };
  }

  /** Saves a root version: its history entry first, then the pointer to the latest. */
  async #saveRoot(md: Metadata<Root>): Promise<void> {
    parseMetadata(structuredClone(md), "root", { limits: this.limits });
    const bytes = serializeMetadata(md, "pretty");
    await this.store.write(rootName(md.signed.version), bytes);
    await this.store.write(roleName("root"), bytes);
  }

  /** The keys and key ids that may sign `role`. */
  async #trust(role: string): Promise<{ keys: Record<string, TufKey>; keyids: string[]; threshold: number }> {
    if (role === "targets" || role === "snapshot" || role === "timestamp") {
      const root = await this.root();
      const r = root.roles[role]!;
      return { keys: root.keys, keyids: r.keyids, threshold: r.threshold };
    }
    const chain = await this.#chain(role);
    const link = chain[chain.length - 1]!;
    return {
      keys: link.delegator.delegations!.keys,
      keyids: link.role.keyids,
      threshold: link.role.threshold,
    };
  }

  /** The role index refresh wrote (see INDEX), or undefined when there is none or it is unreadable. */
  async #index(): Promise<RoleIndex | undefined> {
    const b = await this.store.read(INDEX);
    if (b === undefined) return undefined;
    try {
      const v = JSON.parse(Buffer.from(b).toString("utf8")) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
      return Object.assign(Object.create(null), v) as RoleIndex;
    } catch {
      return undefined;
    }
  }

  /** The roles in the journal (see CHANGED), or undefined when there is no journal. */
  async #changedRoles(): Promise<Set<string> | undefined> {
    const b = await this.store.read(CHANGED);
    if (b === undefined) return undefined;
    try {
      const v = JSON.parse(Buffer.from(b).toString("utf8")) as unknown;
      return Array.isArray(v) && v.every((x) => typeof x === "string") ? new Set(v) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Write-ahead: records that `roles` are about to change, before their files are written, so a
   * crash between the two leaves them listed (refresh then reads them: harmless). Without a
   * journal (no refresh yet, an adopted repository) nothing is recorded: the next refresh reads
   * every role anyway.
   */
  async #markChanged(roles: Iterable<string>): Promise<void> {
    const cur = await this.#changedRoles();
    if (cur === undefined) return;
    const before = cur.size;
    for (const r of roles) cur.add(r);
    if (cur.size !== before) await this.store.write(CHANGED, Buffer.from(JSON.stringify([...cur])));
  }

  /** Edits a targets role: version bumped, expiry renewed, signed afresh by `signers` (its keys). */
  async #editTargets(role: string, signers: readonly Signer[], edit: (t: Targets) => void): Promise<void> {
    if (role === "root" || role === "snapshot" || role === "timestamp") {
      throw cairnError("ERR_USAGE", `${role} is not a targets role (use rotate, sign or refresh)`);
    }
    const { keys, keyids } = await this.#trust(role);
    const m = matchSigners(keys, keyids, signers);
    if (m.unmatched.length > 0) throw notInRole(role, m.unmatched[0]!);
    const config = await this.config();
    const cur = await this.#load(role);
    const t = (
      cur === undefined
        ? newTargets({ expires: this.#expires(config.expiry.delegated) })
        : structuredClone(cur.md.signed)
    ) as Targets;
    if (cur !== undefined) t.version = cur.md.signed.version + 1;
    t.expires = formatDateTime(
      this.#expires(role === "targets" ? config.expiry.targets : config.expiry.delegated),
    );
    edit(t);
    await this.#save(role, await signMetadata(t, m.matched));
  }

  /** Throws ERR_TUF_KEY_NOT_IN_ROLE unless every signer holds a key of `role`. */
  async #checkSigners(role: string, signers: readonly Signer[]): Promise<void> {
    if (role === "root" || role === "snapshot" || role === "timestamp") {
      throw cairnError("ERR_USAGE", `${role} is not a targets role (use rotate, sign or refresh)`);
    }
    const { keys, keyids } = await this.#trust(role);
    const m = matchSigners(keys, keyids, signers);
    if (m.unmatched.length > 0) throw notInRole(role, m.unmatched[0]!);
  }

  /** The hash bins `role` delegates to (TAP 15), or undefined when it delegates none. */
  async #binsOf(role: string): Promise<BinsInfo | undefined> {
    if (role === "root" || role === "snapshot" || role === "timestamp") return undefined;
    const st = await this.#load(role);
    const t = st?.md.signed as Targets | undefined;
    const d = t?.delegations;
    if (d?.succinct_roles === undefined) return undefined;
    return {
      delegatorName: role,
      keys: d.keys,
      info: d.succinct_roles,
      bins: new SuccinctRoles(d.succinct_roles),
    };
  }

  /** The bins' signers among `signers` (each signs under the key id the delegator lists). */
  #binSigners(b: BinsInfo, signers: readonly Signer[]): Signer[] {
    const m = matchSigners(b.keys, b.info.keyids, signers);
    if (m.unmatched.length > 0) throw notInRole(`${b.info.name_prefix}-* (hash bins)`, m.unmatched[0]!);
    if (m.matched.length === 0)
      throw cairnError("ERR_USAGE", `give a private key of the hash bins ${b.info.name_prefix}-*`);
    return m.matched;
  }

  /**
   * Edits the named hash bins in one pass: each read once (concurrently), edited, its version
   * bumped and expiry renewed, signed, and all written together (FileArea.writeMany). Linear in
   * the bins touched; the trust is read once from the delegator instead of once per bin.
   */
  async #editBins(
    b: BinsInfo,
    signers: readonly Signer[],
    names: Iterable<string>,
    edit: (name: string, t: Targets) => boolean | undefined,
  ): Promise<void> {
    const chosen = this.#binSigners(b, signers);
    const list = [...names];
    const config = await this.config();
    const cur = await this.#loadAll(list);
    const expires = formatDateTime(this.#expires(config.expiry.delegated));
    const files: AreaFile[] = [];
    const touched: string[] = [];
    for (let i = 0; i < list.length; i++) {
      const c = cur[i];
      const t = (c === undefined ? newTargets({ expires }) : structuredClone(c.md.signed)) as Targets;
      // `false`: nothing changed in this bin; it keeps its version (clients need not fetch it).
      if (edit(list[i]!, t) === false && c !== undefined) continue;
      if (c !== undefined) t.version = c.md.signed.version + 1;
      t.expires = expires;
      const md = await signMetadata(t, chosen);
      parseMetadata(md, "targets", { limits: this.limits });
      files.push({ name: roleName(list[i]!), bytes: serializeMetadata(md, "pretty") });
      touched.push(list[i]!);
    }
    await this.#markChanged(touched);
    await writeAll(this.store, files);
  }

  /** TUF 4.5: a delegated role speaks only for paths every delegation above it gives it. */
  #checkInDelegation(role: string, chain: readonly Link[], path: string): void {
    for (const link of chain) {
      const inside =
        link.bins !== undefined
          ? link.bins.roleForTarget(path) === link.role.name
          : isDelegatedPath(link.role, path);
      if (!inside) {
        throw cairnError(
          "ERR_TUF_PATH_NOT_DELEGATED",
          `role ${role} may not list target ${path}: ${link.delegatorName} delegates only ${describePaths(link.role, link.bins)} to ${link.role.name}`,
          { field: fieldKey("signed.targets", path) },
        );
      }
    }
  }

  /** The delegation chain from "targets" down to `role`. Throws ERR_TUF_ROLE_UNKNOWN. */
  async #chain(role: string): Promise<Link[]> {
    if (role === "targets") return [];
    for (const e of await this.#roles()) if (e.name === role) return e.chain;
    throw cairnError("ERR_TUF_ROLE_UNKNOWN", `no targets role delegates to ${role}`);
  }

  /** Visits every targets role as #roles lists them. */
  async #walk(
    visit: (name: string, link: Link | undefined, chain: Link[]) => void | Promise<void>,
  ): Promise<void> {
    for (const e of await this.#roles()) await visit(e.name, e.chain[e.chain.length - 1], e.chain);
  }

  /**
   * Every targets role, preorder from "targets" (each role once: the first delegation to a name
   * wins), with the chain of links from the top; at most MAX_ROLES. The hash bins of a succinct
   * delegation (TAP 15) are listed in bin order without being read: the repository makes them
   * leaves (a bin never delegates further), so 16,384 bins cost no reads here.
   */
  async #roles(): Promise<RoleEntry[]> {
    const out: RoleEntry[] = [];
    const seen = new Set<string>();
    const stack: Array<{ name: string; chain: Link[]; bin: boolean }> = [
      { name: "targets", chain: [], bin: false },
    ];
    while (stack.length > 0) {
      const { name, chain, bin } = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      if (seen.size > MAX_ROLES) throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${MAX_ROLES} roles`);
      out.push({ name, chain, bin });
      if (bin) continue;
      const st = await this.#load(name);
      const t = st?.md.signed as Targets | undefined;
      const d = t?.delegations;
      if (d?.succinct_roles !== undefined) {
        const bins = new SuccinctRoles(d.succinct_roles);
        if (bins.numberOfBins + seen.size > MAX_ROLES)
          throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${name} delegates to more than ${MAX_ROLES} bins`);
        const s = d.succinct_roles;
        for (let i = bins.numberOfBins - 1; i >= 0; i--) {
          const role: DelegatedRole = {
            name: bins.roleName(i),
            keyids: s.keyids,
            threshold: s.threshold,
            terminating: false,
          };
          stack.push({
            name: role.name,
            chain: [...chain, { delegatorName: name, delegator: t!, role, bins }],
            bin: true,
          });
        }
      }
      const roles = d?.roles ?? [];
      for (let i = roles.length - 1; i >= 0; i--) {
        const r = roles[i]!;
        stack.push({
          name: r.name,
          chain: [...chain, { delegatorName: name, delegator: t!, role: r }],
          bin: false,
        });
      }
    }
    return out;
  }

  /** Staged metadata of many roles, read concurrently (16,384 bins one by one would take seconds). */
  async #loadAll(names: readonly string[]): Promise<Array<Staged<SignedBase> | undefined>> {
    const bytes = await readAll(
      this.store,
      names.map((n) => roleName(n)),
    );
    return bytes.map((b, i) =>
      b === undefined
        ? undefined
        : {
            md: parseMetadataBytes(b, roleTypeOf(names[i]!), {
              file: roleName(names[i]!),
              limits: this.limits,
            }),
            bytes: b,
          },
    );
  }
}

/** A succinct hash-bin delegation (TAP 15) as the repository edits it. */
interface BinsInfo {
  delegatorName: string;
  keys: Record<string, TufKey>;
  info: SuccinctRolesInfo;
  bins: SuccinctRoles;
}

/** Files read and written per batch by publish. */
const PUBLISH_BATCH = 256;

/** Target contents stored per batch by addTargets (files, bytes). */
const ADD_BATCH_FILES = 256;
const ADD_BATCH_BYTES = 64 * 1024 * 1024;

/** A targets role in the repository's delegation tree. */
interface RoleEntry {
  name: string;
  /** Links from "targets" down to this role (empty for "targets"). */
  chain: Link[];
  /** A hash bin of a succinct delegation (TAP 15). */
  bin: boolean;
}

function describePaths(r: DelegatedRole, bins?: SuccinctRoles): string {
  if (bins !== undefined) return `the paths whose SHA-256 falls in hash bin ${r.name} (TAP 15)`;
  if (r.paths !== undefined) return `paths ${r.paths.map((p) => JSON.stringify(p)).join(", ")}`;
  if (r.path_hash_prefixes !== undefined) return `hash prefixes ${r.path_hash_prefixes.join(", ")}`;
  return "nothing";
}

function keyIdIn(keys: Record<string, TufKey>, keyids: readonly string[], k: PublicKey): string | undefined {
  const fp = keyFingerprint(k);
  for (const [id, pk] of publicKeysFor(keys, keyids)) if (keyFingerprint(pk) === fp) return id;
  return undefined;
}

/** Signers of a root version: holders of the previous root's root keys or the new one's. */
function rootSigners(next: Root, prev: Root | undefined, signers: readonly Signer[]): Signer[] {
  const mine = matchSigners(next.keys, next.roles.root!.keyids, signers);
  const theirs =
    prev === undefined
      ? { matched: [], unmatched: mine.unmatched }
      : matchSigners(prev.keys, prev.roles.root!.keyids, mine.unmatched);
  if (theirs.unmatched.length > 0) throw notInRole("root", theirs.unmatched[0]!);
  return [...mine.matched, ...theirs.matched];
}

/** TUF 5.3.4, 5.3.5: version N signed by the thresholds of N-1 (if any) and of itself. */
function checkRootSigned(
  st: Staged<Root>,
  prev: Root | undefined,
  problems: string[],
  limits: TufLimits,
): void {
  const v = st.md.signed.version;
  if (prev !== undefined) {
    try {
      verifyDelegate(prev, "root", st.md, limits);
    } catch (e) {
      problems.push(`root version ${v} (by root version ${prev.version}'s keys): ${(e as Error).message}`);
    }
  }
  try {
    verifyDelegate(st.md.signed, "root", st.md, limits);
  } catch (e) {
    problems.push(`root version ${v} (by its own keys): ${(e as Error).message}`);
  }
}

/** Same length, hashes and custom metadata (canonical JSON): re-adding it changes nothing. */
function sameTargetFile(a: TargetFile, b: TargetFile): boolean {
  return Buffer.compare(Buffer.from(canonicalBytes(a)), Buffer.from(canonicalBytes(b))) === 0;
}

function sameMeta(got: MetaFile, want: MetaFile, versionKnown = false): boolean {
  if (!versionKnown && got.version !== want.version) return false;
  if (want.length !== undefined && got.length !== want.length) return false;
  if (want.hashes !== undefined) {
    for (const [alg, h] of Object.entries(want.hashes))
      if (got.hashes?.[alg]?.toLowerCase() !== h) return false;
  }
  return true;
}

/**
 * The METAFILES of the snapshot `out` serves: its timestamp.json names the snapshot version, whose
 * file lists the roles. Empty when nothing is published or the files are not what cairn writes
 * (then publish checks and writes everything). `out` is the repository's own output: its
 * files are trusted to be what earlier publishes wrote.
 */
async function publishedMeta(out: FileArea, limits: TufLimits): Promise<Map<string, MetaFile>> {
  const map = new Map<string, MetaFile>();
  try {
    const tsBytes = await out.read("metadata/timestamp.json");
    if (tsBytes === undefined) return map;
    const ts = parseMetadataBytes(tsBytes, "timestamp", { limits });
    const v = ts.signed.meta["snapshot.json"].version;
    // Consistent snapshots name it by version; without them, snapshot.json must be that version.
    const snapBytes =
      (await out.read(`metadata/${v}.snapshot.json`)) ?? (await out.read("metadata/snapshot.json"));
    if (snapBytes === undefined) return map;
    const snap = parseMetadataBytes(snapBytes, "snapshot", { limits });
    if (snap.signed.version !== v) return map;
    for (const [k, m] of Object.entries(snap.signed.meta)) map.set(k, m);
  } catch {
    map.clear();
  }
  return map;
}

function publishedVersion(bytes: Uint8Array): number | undefined {
  try {
    const v = (JSON.parse(Buffer.from(bytes).toString("utf8")) as { signed?: { version?: unknown } }).signed
      ?.version;
    return typeof v === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}
