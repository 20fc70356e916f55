// SPDX-License-Identifier: Apache-2.0
// The TUF client workflow (The Update Framework specification 1.0.x section 5, "Detailed client
// workflow"): root update loop with fast-forward attack recovery (5.3), timestamp (5.4), snapshot
// (5.5) and targets (5.6) checks, the delegation search (5.6.7, TAP 15 hash bins) and target
// download (5.7). Everything fetched is untrusted until verified, and every download is bounded.
// I/O goes through the ports of ./ports.ts only; trusted metadata is saved as the exact bytes
// received, once verified (the conformance suite compares them), one atomic write per role.

import { createHash } from "node:crypto";
import { canonicalBytes } from "../../core/canonical.js";
import { type Clock, systemClock } from "../../core/clock.js";
import { SUPPORTED_DIGESTS } from "../../core/digest.js";
import { cairnError } from "../../core/errors.js";
import {
  checkNotExpired,
  DEFAULT_TUF_LIMITS,
  getMeta,
  getTarget,
  isExpired,
  type Metadata,
  type MetaFile,
  parseMetadataBytes,
  type Root,
  rolesForTarget,
  type Snapshot,
  snapshotRollback,
  type TargetFile,
  type Targets,
  type Timestamp,
  type TufLimits,
  verifyDelegate,
} from "../../formats/tuf/index.js";
import type { Fetcher, MetadataStore, TargetSink } from "./ports.js";

/** How to reach a repository and where to keep what the client trusts. */
export interface TufClientOptions {
  /** Base URL of the repository's metadata (where `1.root.json` and `timestamp.json` are). */
  metadataUrl: string;
  /** Base URL of the target files; needed only by downloadTarget. */
  targetBaseUrl?: string;
  store: MetadataStore;
  fetcher: Fetcher;
  /** Defaults to the system clock; read once at the start of each refresh (TUF 5.1). */
  clock?: Clock;
  limits?: TufLimits;
  /**
   * TUF 5.7.2: with consistent snapshots, targets are fetched as `<hash>.<name>`. Defaults to
   * true; false for repositories that use consistent snapshots for metadata only.
   */
  prefixTargetsWithHash?: boolean;
}

/** The versions the client trusts after a refresh. */
export interface TrustedVersions {
  root: number;
  timestamp: number;
  snapshot: number;
  targets: number;
}

/** A target found by the delegation search: its path, what the metadata says of it, who said so. */
export interface TargetInfo {
  path: string;
  file: TargetFile;
  /** The targets role (top-level or delegated) that lists it. */
  role: string;
}

/** `base/name`, with one slash between. */
function joinUrl(base: string, name: string): string {
  return base.endsWith("/") ? `${base}${name}` : `${base}/${name}`;
}

/** A role name as one URL path segment (role names are attacker-chosen: "../x", "?", "#"). */
function roleSegment(role: string): string {
  return encodeURIComponent(role);
}

/** A length and hashes check over bytes that arrive in parts (see lengthAndHashChecker). */
export interface LengthAndHashChecker {
  update(chunk: Uint8Array): void;
  /** Throws ERR_TUF_HASH_MISMATCH unless everything given so far has the length and hashes. */
  finish(): void;
}

/**
 * Checks bytes, given in parts, against the length and every hash of `expected` (TUF 5.5.2,
 * 5.6.2, 5.7.1: arbitrary software attack). A hash algorithm cairn does not know fails closed at
 * once, before anything is read: the bytes could not be shown to match it.
 */
export function lengthAndHashChecker(
  expected: { length?: number; hashes?: Record<string, string> },
  what: string,
): LengthAndHashChecker {
  const algs = Object.keys(expected.hashes ?? {});
  for (const alg of algs) {
    if (!(SUPPORTED_DIGESTS as readonly string[]).includes(alg)) {
      throw cairnError("ERR_TUF_HASH_MISMATCH", `${what}: cannot check hash algorithm ${alg}`, {
        field: `hashes.${alg}`,
      });
    }
  }
  const hashes = algs.map((alg) => createHash(alg));
  let length = 0;
  return {
    update(chunk) {
      length += chunk.byteLength;
      for (const h of hashes) h.update(chunk);
    },
    finish() {
      if (expected.length !== undefined && length !== expected.length) {
        throw cairnError(
          "ERR_TUF_HASH_MISMATCH",
          `${what} is ${length} bytes, its metadata says ${expected.length}`,
          { field: "length" },
        );
      }
      algs.forEach((alg, i) => {
        if (hashes[i]!.digest("hex") !== expected.hashes![alg]!.toLowerCase()) {
          throw cairnError("ERR_TUF_HASH_MISMATCH", `${what} does not have the ${alg} its metadata gives`, {
            field: `hashes.${alg}`,
          });
        }
      });
    },
  };
}

/** Throws ERR_TUF_HASH_MISMATCH unless `bytes` has the length and every hash of `expected`. */
export function checkLengthAndHashes(
  bytes: Uint8Array,
  expected: { length?: number; hashes?: Record<string, string> },
  what: string,
): void {
  const c = lengthAndHashChecker(expected, what);
  c.update(bytes);
  c.finish();
}

/**
 * True when `bytes` (whole, or read in parts) are the target `info` describes, length and every
 * hash: a cached copy is current. A cached copy that cannot be read is not current.
 */
export async function isTargetCurrent(
  info: TargetInfo,
  bytes: Uint8Array | AsyncIterable<Uint8Array>,
): Promise<boolean> {
  try {
    const check = lengthAndHashChecker(info.file, info.path);
    if (bytes instanceof Uint8Array) check.update(bytes);
    else for await (const chunk of bytes) check.update(chunk);
    check.finish();
    return true;
  } catch {
    return false;
  }
}

function targetMissing(info: TargetInfo, url: string) {
  return cairnError("ERR_TUF_TARGET_NOT_FOUND", `the repository has no file for target ${info.path}`, {
    file: url,
  });
}

/** Key ids and key material of a top-level role, as one comparable string. */
function roleKeysFingerprint(root: Root, role: string): string {
  const r = Object.hasOwn(root.roles, role) ? root.roles[role]! : { keyids: [] };
  const ids = [...r.keyids].sort();
  return JSON.stringify(
    ids.map((id) => [
      id,
      Object.hasOwn(root.keys, id) ? Buffer.from(canonicalBytes(root.keys[id]!)).toString("hex") : "",
    ]),
  );
}

/**
 * Validates a root document given out of band (TUF 5.2): well-formed and signed by a threshold of
 * its own root keys. Expiry is not checked here: an expired root may still update itself (5.3).
 * Returns the bytes to store. Throws ERR_TUF_METADATA_INVALID, ERR_TUF_SIGNATURE_INVALID.
 */
export function checkInitialRoot(bytes: Uint8Array, limits: TufLimits = DEFAULT_TUF_LIMITS): Root {
  const md = parseMetadataBytes(bytes, "root", { file: "root.json", limits });
  return verifyDelegate(md.signed, "root", md, limits);
}

/** Stores `bytes` as the trusted root after checking them with checkInitialRoot (`cairn tuf client init`). */
export async function initTrustedRoot(
  store: MetadataStore,
  bytes: Uint8Array,
  limits: TufLimits = DEFAULT_TUF_LIMITS,
): Promise<Root> {
  const root = checkInitialRoot(bytes, limits);
  await store.save("root", bytes);
  return root;
}

/**
 * A TUF client for one repository. `refresh` runs the update of the top-level metadata (TUF
 * 5.1-5.6); `getTargetInfo` searches the delegations (5.6.7), refreshing first if needed;
 * `downloadTarget` fetches and checks a target (5.7). Not safe for concurrent use: one refresh at
 * a time per store. Errors are CairnErrors; after any error the store holds only verified metadata.
 */
export class TufClient {
  readonly #opts: TufClientOptions;
  readonly #limits: TufLimits;
  readonly #clock: Clock;
  #now = new Date(0);
  #root: Root | undefined;
  #snapshot: Snapshot | undefined;
  /** Targets metadata verified in this refresh, by role name (re-verified for each delegator). */
  readonly #targets = new Map<string, Metadata<Targets>>();
  #refreshed = false;
  /** Durable writes in flight (#persist). */
  #writes: Promise<void>[] = [];
  /** Reads of the trusted timestamp, snapshot and targets begun as a refresh starts (#loadLocal). */
  #early = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(opts: TufClientOptions) {
    this.#opts = opts;
    this.#limits = opts.limits ?? DEFAULT_TUF_LIMITS;
    this.#clock = opts.clock ?? systemClock;
  }

  /**
   * Updates root, timestamp, snapshot and top-level targets (TUF 5.1-5.6) and returns the
   * versions now trusted. Throws ERR_TUF_* on a refused document (the store keeps what it had for
   * that role and everything after it), ERR_IO when the repository or the store cannot be reached.
   */
  refresh(): Promise<TrustedVersions> {
    return this.#settled(this.#refresh());
  }

  /**
   * Persists a verified document (TUF 5.4.5, 5.5.7, 5.6.6) without waiting for its durable
   * write (fsync): the next role is fetched and verified meanwhile. Only verified bytes are ever
   * saved, and every public method waits for all writes before it returns or throws (#settled),
   * so a caller sees the store as the update left it. Root versions are saved in order, awaited.
   */
  #persist(role: string, bytes: Uint8Array): void {
    const p = this.#opts.store.save(role, bytes);
    p.catch(() => {});
    this.#writes.push(p);
  }

  /** The result of `work` once every write it started is done; a failed write is its error. */
  async #settled<T>(work: Promise<T>): Promise<T> {
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = await work;
    } catch (error) {
      failure = { error };
    }
    const writes = this.#writes;
    this.#writes = [];
    const outcomes = await Promise.allSettled(writes);
    if (failure !== undefined) throw failure.error;
    for (const o of outcomes) if (o.status === "rejected") throw o.reason;
    return result as T;
  }

  async #refresh(): Promise<TrustedVersions> {
    this.#refreshed = false;
    this.#snapshot = undefined;
    this.#targets.clear();
    // TUF 5.1: one time for every expiry check of this update.
    this.#now = this.#clock.now();
    // The stored copies of these roles are read while the root is updated: only their bytes,
    // each parsed and verified where it is used, against the root trusted by then.
    this.#early.clear();
    for (const role of ["timestamp", "snapshot", "targets"]) {
      const read = this.#opts.store.load(role);
      read.catch(() => {}); // awaited (and its failure thrown) where it is used
      this.#early.set(role, read);
    }
    const root = await this.#updateRoot();
    const timestamp = await this.#updateTimestamp(root);
    const snapshot = await this.#updateSnapshot(root, timestamp);
    const targets = await this.#loadTargets("targets", root);
    this.#refreshed = true;
    return {
      root: root.version,
      timestamp: timestamp.version,
      snapshot: snapshot.version,
      targets: targets.version,
    };
  }

  /**
   * Finds what the trusted metadata says of `targetPath` (TUF 5.6.7): a preorder depth-first
   * search of the delegations trusted for the path, in the order each delegator lists them,
   * stopping after a terminating delegation, visiting at most `limits.maxDelegations` roles
   * (ERR_TUF_BOUND_EXCEEDED beyond). Undefined when no role on the way lists the path.
   */
  getTargetInfo(targetPath: string): Promise<TargetInfo | undefined> {
    return this.#settled(this.#findTarget(targetPath));
  }

  async #findTarget(targetPath: string): Promise<TargetInfo | undefined> {
    if (!this.#refreshed) await this.refresh();
    const root = this.#root!;
    const stack: { role: string; parent: string; delegator: Root | Targets }[] = [
      { role: "targets", parent: "root", delegator: root },
    ];
    // A role is visited once per delegator: reached through another, it is verified again with
    // that delegator's keys (a cached role must not keep the authority of an earlier path).
    const visited = new Set<string>();
    let visits = 0;
    while (stack.length > 0) {
      // TUF 5.6.7.1: an application-specific maximum number of roles to visit.
      if (visits >= this.#limits.maxDelegations) {
        throw cairnError(
          "ERR_TUF_BOUND_EXCEEDED",
          `more than ${this.#limits.maxDelegations} delegated roles to visit looking for ${targetPath} (limit maxDelegations)`,
          { field: "delegations" },
        );
      }
      const { role, parent, delegator } = stack.pop()!;
      const key = `${role}\u0000${parent}`;
      if (visited.has(key)) continue;
      const t = await this.#loadTargets(role, delegator);
      const file = getTarget(t, targetPath);
      if (file !== undefined) return { path: targetPath, file, role };
      visited.add(key);
      visits++;
      if (t.delegations === undefined) continue;
      const children: { role: string; parent: string; delegator: Root | Targets }[] = [];
      for (const c of rolesForTarget(t.delegations, targetPath)) {
        children.push({ role: c.name, parent: role, delegator: t });
        // TUF 5.6.7.2.1: a terminating delegation ends the search after its subtree: nothing
        // still waiting on the stack (siblings, uncles) may be consulted.
        if (c.terminating) {
          stack.length = 0;
          break;
        }
      }
      // Preorder: the first child listed is visited first.
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
    return undefined;
  }

  /** The URL a target is fetched from (TUF 5.7.2, 5.7.3). */
  targetUrl(info: TargetInfo): string {
    const base = this.#opts.targetBaseUrl;
    if (base === undefined) throw cairnError("ERR_USAGE", "no target base URL was given");
    const segments = info.path.split("/").map(encodeURIComponent);
    if (this.#root?.consistent_snapshot === true && this.#opts.prefixTargetsWithHash !== false) {
      // TUF 5.7.2: consistent snapshots store a target as <hash>.<file name> in its directory.
      const hashes = info.file.hashes;
      const alg = Object.hasOwn(hashes, "sha256") ? "sha256" : Object.keys(hashes)[0]!;
      segments[segments.length - 1] = `${encodeURIComponent(hashes[alg]!)}.${segments[segments.length - 1]}`;
    }
    return joinUrl(base, segments.join("/"));
  }

  /**
   * Downloads a target found by getTargetInfo, at most its length in bytes (endless data attack),
   * and returns its bytes once length and hashes match (TUF 5.7.1). Throws ERR_TUF_HASH_MISMATCH,
   * ERR_TUF_BOUND_EXCEEDED, ERR_TUF_TARGET_NOT_FOUND (the repository does not have it), ERR_IO.
   */
  async downloadTarget(info: TargetInfo): Promise<Uint8Array> {
    const url = this.targetUrl(info);
    const bytes = await this.#opts.fetcher.fetch(url, info.file.length);
    if (bytes === undefined) throw targetMissing(info, url);
    checkLengthAndHashes(bytes, info.file, `target ${info.path}`);
    return bytes;
  }

  /**
   * Downloads a target into `sink` as it arrives, in bounded memory whatever its size: at most its
   * length in bytes (the fetcher cuts off the rest), hashed while it streams, and committed only
   * once length and hashes match (TUF 5.7.1); on any failure the sink is aborted, so nothing is
   * left. A fetcher without `open` downloads into memory first. Errors as downloadTarget.
   */
  async downloadTargetTo(info: TargetInfo, sink: TargetSink): Promise<void> {
    try {
      const { fetcher } = this.#opts;
      if (fetcher.open === undefined) {
        await sink.write(await this.downloadTarget(info));
      } else {
        const url = this.targetUrl(info);
        // Before any byte: an algorithm that cannot be checked fails closed.
        const check = lengthAndHashChecker(info.file, `target ${info.path}`);
        const body = await fetcher.open(url, info.file.length);
        if (body === undefined) throw targetMissing(info, url);
        for await (const chunk of body) {
          check.update(chunk);
          await sink.write(chunk);
        }
        check.finish();
      }
    } catch (e) {
      await sink.abort();
      throw e;
    }
    await sink.commit();
  }

  // --- 5.2, 5.3: root ----------------------------------------------------------------------

  async #updateRoot(): Promise<Root> {
    const { store, fetcher, metadataUrl } = this.#opts;
    const limits = this.#limits;
    // TUF 5.2: the trusted root, given out of band; it must still be signed by its own keys.
    const bytes = await store.load("root");
    if (bytes === undefined) {
      throw cairnError(
        "ERR_TUF_METADATA_MISSING",
        "no trusted root: initialize the client with a root first",
        {
          file: "root.json",
        },
      );
    }
    let root = checkInitialRoot(bytes, limits);
    let onlineKeysRotated = false;
    // TUF 5.3: at most maxRootRotations new versions per update (a repository could otherwise
    // keep the client fetching forever). Past the bound the client goes on with what it has.
    for (let i = 0; i < limits.maxRootRotations; i++) {
      const next = root.version + 1;
      const name = `${next}.root.json`;
      // TUF 5.3.3: version N+1, at most rootMaxBytes; absent means N is the latest.
      const data = await fetcher.fetch(joinUrl(metadataUrl, name), limits.rootMaxBytes);
      if (data === undefined) break;
      const md = parseMetadataBytes(data, "root", { file: name, limits });
      // TUF 5.3.4: signed by a threshold of the trusted root's root keys (the chain of trust)...
      verifyDelegate(root, "root", md, limits);
      // TUF 5.3.5: exactly version N+1: neither a rollback nor a skipped version.
      if (md.signed.version !== next) {
        throw cairnError(
          md.signed.version < next ? "ERR_TUF_ROLLBACK" : "ERR_TUF_VERSION_MISMATCH",
          `${name} holds root version ${md.signed.version}, expected ${next}`,
          { file: name, field: "signed.version" },
        );
      }
      // ...and by a threshold of its own (the new keys are really held). 5.3.6: expiry of an
      // intermediate root does not matter.
      verifyDelegate(md.signed, "root", md, limits);
      for (const role of ["timestamp", "snapshot"]) {
        if (roleKeysFingerprint(root, role) !== roleKeysFingerprint(md.signed, role))
          onlineKeysRotated = true;
      }
      // TUF 5.3.7, 5.3.8: trust it, and persist it before going on.
      await store.save("root", data);
      root = md.signed;
    }
    this.#root = root;
    // TUF 5.3.10: freeze attack: the final root must not have expired.
    checkNotExpired(root, this.#now, "root");
    // TUF 5.3.11: fast-forward attack recovery: new timestamp or snapshot keys void the trusted
    // timestamp and snapshot, whose (possibly inflated) versions would block the repository.
    if (onlineKeysRotated) {
      // Their early reads are dropped, once finished (a role is never read while it is removed).
      await Promise.allSettled([this.#early.get("timestamp"), this.#early.get("snapshot")]);
      this.#early.delete("timestamp");
      this.#early.delete("snapshot");
      await store.remove("timestamp");
      await store.remove("snapshot");
    }
    return root;
  }

  /** Local metadata of a role, verified with today's delegator; undefined when absent or no longer valid. */
  async #loadLocal<R extends "timestamp" | "snapshot" | "targets">(
    role: string,
    type: R,
    delegator: Root | Targets,
  ): Promise<
    Metadata<R extends "timestamp" ? Timestamp : R extends "snapshot" ? Snapshot : Targets> | undefined
  > {
    const early = this.#early.get(role);
    this.#early.delete(role);
    const bytes = await (early ?? this.#opts.store.load(role));
    if (bytes === undefined) return undefined;
    try {
      const md = parseMetadataBytes(bytes, type, { limits: this.#limits });
      verifyDelegate(delegator, role, md, this.#limits);
      return md as never;
    } catch {
      // Corrupt, or signed by keys no longer trusted: it proves nothing, not even a version.
      return undefined;
    }
  }

  /** Fetches a metadata file that must exist: ERR_TUF_METADATA_MISSING when the repository lacks it. */
  async #fetchRequired(name: string, maxBytes: number): Promise<Uint8Array> {
    const url = joinUrl(this.#opts.metadataUrl, name);
    const data = await this.#opts.fetcher.fetch(url, maxBytes);
    if (data === undefined) {
      throw cairnError("ERR_TUF_METADATA_MISSING", `the repository has no ${name}`, { file: name });
    }
    return data;
  }

  // --- 5.4: timestamp ----------------------------------------------------------------------

  async #updateTimestamp(root: Root): Promise<Timestamp> {
    const limits = this.#limits;
    // The trusted timestamp, even expired, still guards against rollback.
    const trusted = (await this.#loadLocal("timestamp", "timestamp", root))?.signed;
    // TUF 5.4.1: timestamp.json, never versioned, at most timestampMaxBytes.
    const data = await this.#fetchRequired("timestamp.json", limits.timestampMaxBytes);
    const md = parseMetadataBytes(data, "timestamp", { file: "timestamp.json", limits });
    // TUF 5.4.2: signed by a threshold of root's timestamp keys.
    const ts = verifyDelegate(root, "timestamp", md, limits);
    let final = ts;
    if (trusted !== undefined) {
      // TUF 5.4.3.1: rollback of the timestamp version.
      if (ts.version < trusted.version) {
        throw cairnError(
          "ERR_TUF_ROLLBACK",
          `timestamp version ${ts.version} is lower than the trusted version ${trusted.version}`,
          { file: "timestamp.json", field: "signed.version" },
        );
      }
      // TUF 5.4.3.2: rollback of the snapshot version the timestamp names.
      const was = trusted.meta["snapshot.json"].version;
      const now = ts.meta["snapshot.json"].version;
      if (now < was) {
        throw cairnError(
          "ERR_TUF_ROLLBACK",
          `timestamp names snapshot version ${now}, lower than the trusted ${was}`,
          { file: "timestamp.json", field: 'signed.meta["snapshot.json"].version' },
        );
      }
      // The same version again: keep the trusted document (and its bytes) unchanged.
      if (ts.version === trusted.version) final = trusted;
    }
    // TUF 5.4.4: freeze attack.
    checkNotExpired(final, this.#now, "timestamp");
    // TUF 5.4.5: persist.
    if (final === ts) this.#persist("timestamp", data);
    return final;
  }

  // --- 5.5: snapshot -----------------------------------------------------------------------

  async #updateSnapshot(root: Root, timestamp: Timestamp): Promise<Snapshot> {
    const limits = this.#limits;
    const meta: MetaFile = timestamp.meta["snapshot.json"];
    const trusted = (await this.#loadLocal("snapshot", "snapshot", root))?.signed;
    // The trusted snapshot is current: nothing to fetch.
    if (trusted !== undefined && trusted.version === meta.version && !isExpired(trusted, this.#now)) {
      this.#snapshot = trusted;
      return trusted;
    }
    // TUF 5.5.1: versioned name with consistent snapshots; at most the length the timestamp gives.
    const name = root.consistent_snapshot === true ? `${meta.version}.snapshot.json` : "snapshot.json";
    const data = await this.#fetchRequired(name, meta.length ?? limits.snapshotMaxBytes);
    // TUF 5.5.2: the length and hashes the timestamp gives, before parsing.
    checkLengthAndHashes(data, meta, name);
    const md = parseMetadataBytes(data, "snapshot", { file: name, limits });
    // TUF 5.5.3: signed by a threshold of root's snapshot keys.
    const snap = verifyDelegate(root, "snapshot", md, limits);
    // TUF 5.5.4: mix-and-match: the version the timestamp names.
    if (snap.version !== meta.version) {
      throw cairnError(
        "ERR_TUF_VERSION_MISMATCH",
        `snapshot version ${snap.version} is not the version ${meta.version} the timestamp names`,
        { file: name, field: "signed.version" },
      );
    }
    // TUF 5.5.5: no targets role disappears or goes back in version.
    const rollback = trusted === undefined ? undefined : snapshotRollback(trusted, snap);
    if (rollback !== undefined) {
      const { file } = rollback;
      if (rollback.after === undefined) {
        throw cairnError("ERR_TUF_ROLLBACK", `snapshot no longer lists ${file}`, {
          file: name,
          field: `signed.meta[${JSON.stringify(file)}]`,
        });
      }
      throw cairnError(
        "ERR_TUF_ROLLBACK",
        `snapshot lists ${file} version ${rollback.after}, lower than the trusted ${rollback.before}`,
        { file: name, field: `signed.meta[${JSON.stringify(file)}].version` },
      );
    }
    // TUF 5.5.6: freeze attack.
    checkNotExpired(snap, this.#now, "snapshot");
    // TUF 5.5.7: persist.
    this.#persist("snapshot", data);
    this.#snapshot = snap;
    return snap;
  }

  // --- 5.6: targets, top-level and delegated -------------------------------------------------

  async #loadTargets(role: string, delegator: Root | Targets): Promise<Targets> {
    const limits = this.#limits;
    const cached = this.#targets.get(role);
    if (cached !== undefined) {
      // Verified before, maybe for another delegator: this one must trust it too.
      return verifyDelegate(delegator, role, cached, limits);
    }
    const snapshot = this.#snapshot!;
    const meta = getMeta(snapshot, `${role}.json`);
    if (meta === undefined) {
      throw cairnError("ERR_TUF_METADATA_MISSING", `the snapshot does not list ${role}.json`, {
        field: `signed.meta[${JSON.stringify(`${role}.json`)}]`,
      });
    }
    const local = await this.#loadLocal(role, "targets", delegator);
    if (local !== undefined && local.signed.version === meta.version && !isExpired(local.signed, this.#now)) {
      this.#targets.set(role, local);
      return local.signed;
    }
    // TUF 5.6.1: versioned name with consistent snapshots; at most the length the snapshot gives.
    const seg = roleSegment(role);
    const name = this.#root!.consistent_snapshot === true ? `${meta.version}.${seg}.json` : `${seg}.json`;
    const data = await this.#fetchRequired(name, meta.length ?? limits.targetsMaxBytes);
    // TUF 5.6.2: length and hashes from the snapshot, when it gives them.
    checkLengthAndHashes(data, meta, name);
    const md = parseMetadataBytes(data, "targets", { file: name, limits });
    // TUF 5.6.3: signed by a threshold of the keys its delegator gives it.
    const t = verifyDelegate(delegator, role, md, limits);
    // TUF 5.6.4: mix-and-match: the version the snapshot names.
    if (t.version !== meta.version) {
      throw cairnError(
        "ERR_TUF_VERSION_MISMATCH",
        `${role} version ${t.version} is not the version ${meta.version} the snapshot names`,
        { file: name, field: "signed.version" },
      );
    }
    // TUF 5.6.5: freeze attack.
    checkNotExpired(t, this.#now, role);
    // TUF 5.6.6: persist.
    this.#persist(role, data);
    this.#targets.set(role, md);
    return t;
  }
}
