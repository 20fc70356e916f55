// SPDX-License-Identifier: Apache-2.0
// A test helper, not a test: an in-memory TUF repository built with src/formats/tuf (modelled on
// the RepositorySimulator of theupdateframework/tuf-conformance: mutable roles, `publish` bumps,
// signs and records each version), an in-memory Fetcher over it that logs every request, and an
// in-memory MetadataStore. Named *.test.ts so that the build leaves it (and its keys) out.
import { createHash } from "node:crypto";
import { cairnError } from "../core/errors.js";
import { generateKey } from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import type { Fetcher, MetadataStore } from "../engines/tuf/ports.js";
import {
  type MetaFile,
  newRoot,
  newSnapshot,
  newTargets,
  newTimestamp,
  type Root,
  type SignedBase,
  type Snapshot,
  serializeMetadata,
  setMeta,
  setTarget,
  signMetadata,
  type Targets,
  type Timestamp,
  tufKeyOf,
  tufSigner,
} from "../formats/tuf/index.js";

export const BASE = "http://repo.test";
export const METADATA_URL = `${BASE}/metadata`;
export const TARGETS_URL = `${BASE}/targets`;
export const DAY = 24 * 3600 * 1000;
/** Far enough that nothing expires unless a test says so. */
export const FAR = new Date(Date.now() + 365 * DAY);

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export interface SimKey {
  keyid: string;
  signer: Signer;
}

export function newKey(): SimKey {
  const signer = tufSigner(keySigner(generateKey("ed25519")));
  return { keyid: signer.keyid, signer };
}

const TOP = new Set(["root", "timestamp", "snapshot", "targets"]);

export class RepoSim {
  /** The current (unpublished) signed part of each role. */
  readonly mds = new Map<string, SignedBase>();
  /** Who signs each role at its next publish, by key id. */
  readonly signers = new Map<string, Map<string, Signer>>();
  /** Every published version of each role, as served bytes. */
  readonly published = new Map<string, Uint8Array[]>();
  /** Target contents by target path. */
  readonly artifacts = new Map<string, Uint8Array>();
  /** URL paths fetched, in order ("metadata/2.root.json", "targets/<hash>.a.txt"). */
  readonly requests: string[] = [];
  /** Bytes served instead of the published ones, by URL path. */
  readonly overrides = new Map<string, Uint8Array>();
  /** Whether snapshot and timestamp list lengths and hashes of what they describe. */
  computeHashes = true;

  static async create(opts: { consistentSnapshot?: boolean } = {}): Promise<RepoSim> {
    const sim = new RepoSim();
    const root = newRoot({
      expires: FAR,
      keys: {},
      roles: {
        root: { keyids: [], threshold: 1 },
        targets: { keyids: [], threshold: 1 },
        snapshot: { keyids: [], threshold: 1 },
        timestamp: { keyids: [], threshold: 1 },
      },
      consistentSnapshot: opts.consistentSnapshot ?? true,
    });
    sim.mds.set("root", root);
    sim.mds.set("targets", newTargets({ expires: FAR }));
    sim.mds.set("snapshot", newSnapshot({ expires: FAR, meta: [["targets.json", { version: 1 }]] }));
    sim.mds.set("timestamp", newTimestamp({ expires: FAR, snapshot: { version: 1 } }));
    for (const role of TOP) sim.addKey(role);
    await sim.publish(["targets", "snapshot", "timestamp", "root"]);
    return sim;
  }

  get root(): Root {
    return this.mds.get("root") as Root;
  }
  get timestamp(): Timestamp {
    return this.mds.get("timestamp") as Timestamp;
  }
  get snapshot(): Snapshot {
    return this.mds.get("snapshot") as Snapshot;
  }
  targets(role = "targets"): Targets {
    return this.mds.get(role) as Targets;
  }

  /** The bytes a client is initialized with: root version 1. */
  initialRoot(): Uint8Array {
    return this.published.get("root")![0]!;
  }

  /** Adds a new key to `role` (in root for top-level roles, else in `delegator`), and its signer. */
  addKey(role: string, delegator = "targets", key: SimKey = newKey()): SimKey {
    const { key: tufKey } = tufKeyOf(key.signer.publicKey);
    if (TOP.has(role)) {
      this.root.keys[key.keyid] = tufKey;
      this.root.roles[role]!.keyids.push(key.keyid);
    } else {
      const d = this.targets(delegator).delegations!;
      d.keys[key.keyid] = tufKey;
      if (d.succinct_roles !== undefined) d.succinct_roles.keyids.push(key.keyid);
      else d.roles!.find((r) => r.name === role)!.keyids.push(key.keyid);
    }
    this.addSigner(role, key.signer);
    return key;
  }

  addSigner(role: string, signer: Signer): void {
    if (!this.signers.has(role)) this.signers.set(role, new Map());
    this.signers.get(role)!.set(signer.keyid, signer);
  }

  /** Replaces every key of a top-level role with one new key (root's old signers are kept for root). */
  rotateKeys(role: string): SimKey {
    for (const id of this.root.roles[role]!.keyids) delete this.root.keys[id];
    this.root.roles[role]!.keyids = [];
    if (role !== "root") this.signers.set(role, new Map());
    return this.addKey(role);
  }

  /** Delegates from `delegator` to a new role (with one new key) and creates its empty metadata. */
  addDelegation(
    delegator: string,
    role: {
      name: string;
      threshold: number;
      terminating?: boolean;
      paths?: string[];
      path_hash_prefixes?: string[];
    },
  ): SimKey {
    const t = this.targets(delegator);
    t.delegations ??= { keys: {}, roles: [] };
    t.delegations.roles!.push({ terminating: false, ...role, keyids: [] });
    if (!this.mds.has(role.name)) this.mds.set(role.name, newTargets({ expires: FAR }));
    return this.addKey(role.name, delegator);
  }

  /** TAP 15: `delegator` delegates to 2^bitLength bins sharing one new key; returns the bin names. */
  addSuccinctRoles(delegator: string, bitLength: number, prefix: string): string[] {
    const key = newKey();
    const t = this.targets(delegator);
    t.delegations = {
      keys: { [key.keyid]: tufKeyOf(key.signer.publicKey).key },
      succinct_roles: { keyids: [key.keyid], threshold: 1, bit_length: bitLength, name_prefix: prefix },
    };
    const width = (2 ** bitLength - 1).toString(16).length;
    const names: string[] = [];
    for (let i = 0; i < 2 ** bitLength; i++) {
      const name = `${prefix}-${i.toString(16).padStart(width, "0")}`;
      names.push(name);
      this.mds.set(name, newTargets({ expires: FAR }));
      this.addSigner(name, key.signer);
    }
    return names;
  }

  /** Adds a target file to `role` and serves its content. */
  addArtifact(role: string, path: string, content: string | Uint8Array): void {
    const bytes = typeof content === "string" ? Buffer.from(content) : content;
    setTarget(this.targets(role), path, { length: bytes.length, hashes: { sha256: sha256(bytes) } });
    this.artifacts.set(path, bytes);
  }

  metaOf(bytes: Uint8Array, version: number): MetaFile {
    return this.computeHashes
      ? { version, length: bytes.length, hashes: { sha256: sha256(bytes) } }
      : { version };
  }

  /**
   * Publishes roles in order: bumps the version of a role published before (unless `bump` is
   * false), signs with its signers, records the bytes, and updates snapshot (for targets roles)
   * or timestamp (for snapshot) to describe the new version.
   */
  async publish(roles: string[], opts: { bump?: boolean } = {}): Promise<void> {
    for (const role of roles) {
      const signed = this.mds.get(role)!;
      if (this.published.has(role) && opts.bump !== false) signed.version++;
      const md = await signMetadata(structuredClone(signed), [...(this.signers.get(role)?.values() ?? [])]);
      const bytes = serializeMetadata(md, "compact");
      if (!this.published.has(role)) this.published.set(role, []);
      this.published.get(role)![signed.version - 1] = bytes;
      if (!TOP.has(role) || role === "targets")
        setMeta(this.snapshot, `${role}.json`, this.metaOf(bytes, signed.version));
      if (role === "snapshot") this.timestamp.meta["snapshot.json"] = this.metaOf(bytes, signed.version);
    }
  }

  /** The latest published bytes of a role. */
  latest(role: string): Uint8Array {
    const list = this.published.get(role)!;
    return list[list.length - 1]!;
  }

  /** Serves what a static web server holding the published repository would serve. */
  serve(path: string): Uint8Array | undefined {
    const o = this.overrides.get(path);
    if (o !== undefined) return o;
    if (path.startsWith("metadata/") && path.endsWith(".json")) {
      const name = path.slice("metadata/".length, -".json".length);
      const m = /^(\d+)\.(.+)$/.exec(name);
      const consistent = this.root.consistent_snapshot === true;
      if (m !== null && (m[2] === "root" || consistent)) {
        return this.published.get(decodeURIComponent(m[2]!))?.[Number(m[1]) - 1];
      }
      if (name === "root") return undefined;
      const role = decodeURIComponent(name);
      if (consistent && role !== "timestamp") return undefined;
      const list = this.published.get(role);
      return list === undefined ? undefined : list[list.length - 1];
    }
    if (path.startsWith("targets/")) {
      const parts = path.slice("targets/".length).split("/").map(decodeURIComponent);
      let file = parts.pop()!;
      let hash: string | undefined;
      if (this.root.consistent_snapshot === true) {
        const dot = file.indexOf(".");
        hash = file.slice(0, dot);
        file = file.slice(dot + 1);
      }
      const target = [...parts, file].join("/");
      const bytes = this.artifacts.get(target);
      if (bytes === undefined) return undefined;
      // A static server stores each version under its hash: a stale hash finds nothing...
      // unless a test replaced the content (arbitrary software): then the old name serves it.
      if (hash !== undefined && !this.hashNames.has(`${hash}.${target}`) && sha256(bytes) !== hash)
        return undefined;
      return bytes;
    }
    return undefined;
  }

  /** Target names (`<hash>.<path>`) that keep serving whatever content the artifact now has. */
  readonly hashNames = new Set<string>();

  /** Replaces a target's content without touching its metadata (an attacker on the mirror). */
  tamperArtifact(path: string, content: string | Uint8Array): void {
    const old = this.artifacts.get(path)!;
    this.hashNames.add(`${sha256(old)}.${path}`);
    this.artifacts.set(path, typeof content === "string" ? Buffer.from(content) : content);
  }

  /** A Fetcher over this repository honouring the port contract (404 -> undefined, bound -> error). */
  fetcher(): Fetcher {
    return {
      fetch: async (url, maxBytes) => {
        if (!url.startsWith(`${BASE}/`)) throw cairnError("ERR_IO", `unknown host in ${url}`);
        const path = url.slice(BASE.length + 1);
        this.requests.push(path);
        const bytes = this.serve(path);
        if (bytes === undefined) return undefined;
        if (bytes.length > maxBytes) {
          throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${url} is larger than ${maxBytes} bytes`, {
            file: url,
          });
        }
        return bytes;
      },
    };
  }

  /** Metadata requests, without the "metadata/" prefix. */
  metadataRequests(): string[] {
    return this.requests.filter((r) => r.startsWith("metadata/")).map((r) => r.slice("metadata/".length));
  }
}

/** An in-memory MetadataStore, with a copy of its content for "trusted state unchanged" checks. */
export class MemoryStore implements MetadataStore {
  readonly files = new Map<string, Uint8Array>();
  saves = 0;
  async load(role: string): Promise<Uint8Array | undefined> {
    return this.files.get(role);
  }
  async save(role: string, bytes: Uint8Array): Promise<void> {
    this.saves++;
    this.files.set(role, Uint8Array.from(bytes));
  }
  async remove(role: string): Promise<void> {
    this.files.delete(role);
  }
  /** Role -> sha256 of the trusted bytes. */
  state(): Record<string, string> {
    return Object.fromEntries([...this.files].map(([k, v]) => [k, sha256(v)]).sort());
  }
  /** Role -> trusted version. */
  versions(): Record<string, number> {
    return Object.fromEntries(
      [...this.files].map(([k, v]) => [k, JSON.parse(Buffer.from(v).toString()).signed.version]).sort(),
    );
  }
}
