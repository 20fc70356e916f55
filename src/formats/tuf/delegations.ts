// SPDX-License-Identifier: Apache-2.0
// TUF delegations (specification 1.0.x section 4.5 "paths" and "path_hash_prefixes", 5.6.7 the
// delegation search order) and TAP 15 succinct hashed bin delegations. Which role may speak for a
// target path is a trust decision: every function here errs toward "not delegated".
import { createHash } from "node:crypto";
import { fnmatch } from "../../core/fnmatch.js";
import { type PublicKey, publicKeyFromSslib } from "../../core/keys.js";
import type { DelegatedRole, Delegations, Root, SuccinctRolesInfo, Targets, TufKey } from "./metadata.js";

/** The SHA-256 of a target path's UTF-8 bytes, hex (TUF 4.5 "path_hash_prefixes", TAP 15). */
export function targetPathHash(targetPath: string): string {
  return createHash("sha256").update(targetPath, "utf8").digest("hex");
}

/**
 * TUF 4.5 PATHPATTERN: Unix shell-style wildcards, where "a path separator in a path SHOULD NOT be
 * matched by a wildcard". As the reference implementation (python-tuf), the pattern and the path
 * are split at "/" and must have as many parts, each part matched with Python's fnmatch: so `*`
 * and `?` never cross a "/", `*.tgz` matches "foo.tgz" but not "targets/foo.tgz".
 */
export function matchesPathPattern(targetPath: string, pattern: string): boolean {
  const t = targetPath.split("/");
  const p = pattern.split("/");
  if (t.length !== p.length) return false;
  for (let i = 0; i < t.length; i++) if (!fnmatch(t[i]!, p[i]!)) return false;
  return true;
}

/** TUF 4.5: the path's SHA-256 hex digest starts with one of the prefixes (compared as written). */
export function matchesHashPrefixes(targetPath: string, prefixes: readonly string[], hash?: string): boolean {
  const h = hash ?? targetPathHash(targetPath);
  for (const p of prefixes) if (h.startsWith(p)) return true;
  return false;
}

/**
 * True when `role` is trusted for `targetPath`: one of its paths matches, or one of its hash
 * prefixes does. A role with neither delegates nothing.
 */
export function isDelegatedPath(role: DelegatedRole, targetPath: string, hash?: string): boolean {
  if (role.paths !== undefined) {
    for (const p of role.paths) if (matchesPathPattern(targetPath, p)) return true;
    return false;
  }
  if (role.path_hash_prefixes !== undefined) {
    return matchesHashPrefixes(targetPath, role.path_hash_prefixes, hash);
  }
  return false;
}

/**
 * TAP 15 succinct hashed bin delegations: 2^bit_length bins, bin i holding the target paths whose
 * SHA-256 starts with the bit_length bits of i, named `${name_prefix}-${i in hex}`, zero-padded
 * to the hex width of the last bin (as python-tuf and tuf-js name them: bit_length 14 gives
 * "bins-0000" .. "bins-3fff").
 */
export class SuccinctRoles {
  readonly info: SuccinctRolesInfo;
  readonly numberOfBins: number;
  /** Hex digits in a bin name's suffix. */
  readonly suffixLength: number;

  constructor(info: SuccinctRolesInfo) {
    this.info = info;
    this.numberOfBins = 2 ** info.bit_length;
    this.suffixLength = (this.numberOfBins - 1).toString(16).length;
  }

  /** The bin a target path falls in: the first bit_length bits of SHA-256(path). */
  binIndexFor(targetPath: string): number {
    const d = createHash("sha256").update(targetPath, "utf8").digest();
    return d.readUInt32BE(0) >>> (32 - this.info.bit_length);
  }

  /** The name of bin `i`. */
  roleName(i: number): string {
    return `${this.info.name_prefix}-${i.toString(16).padStart(this.suffixLength, "0")}`;
  }

  /** The name of the bin role trusted for a target path. */
  roleForTarget(targetPath: string): string {
    return this.roleName(this.binIndexFor(targetPath));
  }

  /**
   * The bin number a role name denotes, or undefined when it is not exactly one of the bin names
   * (a suffix must have the padded width and lowercase hex, so each bin has one name).
   */
  binIndexOf(roleName: string): number | undefined {
    const prefix = `${this.info.name_prefix}-`;
    if (!roleName.startsWith(prefix)) return undefined;
    const suffix = roleName.slice(prefix.length);
    if (suffix.length !== this.suffixLength || !/^[0-9a-f]+$/.test(suffix)) return undefined;
    const i = Number.parseInt(suffix, 16);
    return i < this.numberOfBins ? i : undefined;
  }

  /** True when `roleName` is one of the bins. */
  isDelegatedRole(roleName: string): boolean {
    return this.binIndexOf(roleName) !== undefined;
  }

  /** Every bin name in order (2^bit_length of them: up to 4 billion, so iterate, never collect blindly). */
  *roleNames(): Generator<string> {
    for (let i = 0; i < this.numberOfBins; i++) yield this.roleName(i);
  }
}

/** A delegation the client may follow, in the order it must follow them (TUF 5.6.7.2). */
export interface RoleForTarget {
  name: string;
  /** TAP 15: bins of succinct_roles are never terminating. */
  terminating: boolean;
}

/**
 * The delegated roles trusted for `targetPath`, in order of appearance (TUF 4.5: "the first
 * delegation is trusted over the second one"). The client visits them in this order and stops
 * after a terminating one (TUF 5.6.7.2.2).
 */
export function rolesForTarget(delegations: Delegations, targetPath: string): RoleForTarget[] {
  if (delegations.succinct_roles !== undefined) {
    return [
      { name: new SuccinctRoles(delegations.succinct_roles).roleForTarget(targetPath), terminating: false },
    ];
  }
  const out: RoleForTarget[] = [];
  let hash: string | undefined;
  for (const r of delegations.roles ?? []) {
    if (r.path_hash_prefixes !== undefined) hash ??= targetPathHash(targetPath);
    if (isDelegatedPath(r, targetPath, hash)) out.push({ name: r.name, terminating: r.terminating === true });
  }
  return out;
}

/** Roles by name, built once per roles list: lookups stay O(1) with 16,384 roles. */
const ROLE_INDEX = new WeakMap<readonly DelegatedRole[], Map<string, DelegatedRole>>();

/** The delegated role named `name` (a bin of succinct_roles included), or undefined. */
export function findDelegatedRole(
  delegations: Delegations,
  name: string,
): { name: string; keyids: string[]; threshold: number; terminating: boolean } | undefined {
  if (delegations.succinct_roles !== undefined) {
    const s = delegations.succinct_roles;
    if (!new SuccinctRoles(s).isDelegatedRole(name)) return undefined;
    return { name, keyids: s.keyids, threshold: s.threshold, terminating: false };
  }
  const roles = delegations.roles ?? [];
  let index = ROLE_INDEX.get(roles);
  if (index === undefined) {
    index = new Map();
    for (const r of roles) if (!index.has(r.name)) index.set(r.name, r);
    ROLE_INDEX.set(roles, index);
  }
  const r = index.get(name);
  return r === undefined
    ? undefined
    : { name: r.name, keyids: r.keyids, threshold: r.threshold, terminating: r.terminating === true };
}

/** Keys read from metadata, per key object; null for a key cairn cannot use (its type or scheme). */
const KEY_CACHE = new WeakMap<object, PublicKey | null>();

/**
 * The usable public keys among `keyids`, each under the key id the metadata gives it (TAP 12: key
 * ids are names chosen by the delegator, never recomputed). Ids without a key object and keys
 * cairn cannot read are left out: they cannot count toward a threshold.
 */
export function publicKeysFor(
  keys: Record<string, TufKey>,
  keyids: readonly string[],
): Map<string, PublicKey> {
  const out = new Map<string, PublicKey>();
  for (const id of keyids) {
    if (!Object.hasOwn(keys, id)) continue;
    const obj = keys[id]!;
    let k = KEY_CACHE.get(obj);
    if (k === undefined) {
      try {
        k = publicKeyFromSslib(obj, id);
      } catch {
        k = null;
      }
      KEY_CACHE.set(obj, k);
    }
    if (k !== null) out.set(id, k.keyid === id ? k : { ...k, keyid: id });
  }
  return out;
}

/** The keys and threshold a delegator gives a role. */
export interface RoleVerifier {
  role: string;
  keys: Map<string, PublicKey>;
  keyids: string[];
  threshold: number;
}

/**
 * Who may sign `roleName`: root for the top-level roles (TUF 4.3), a targets role for the roles
 * it delegates to (TUF 4.5, TAP 15). Undefined when the delegator does not name that role.
 */
export function roleVerifier(delegator: Root | Targets, roleName: string): RoleVerifier | undefined {
  if (delegator._type === "root") {
    const root = delegator as Root;
    if (!Object.hasOwn(root.roles, roleName)) return undefined;
    const r = root.roles[roleName]!;
    return {
      role: roleName,
      keys: publicKeysFor(root.keys, r.keyids),
      keyids: r.keyids,
      threshold: r.threshold,
    };
  }
  const d = (delegator as Targets).delegations;
  if (d === undefined) return undefined;
  const r = findDelegatedRole(d, roleName);
  if (r === undefined) return undefined;
  return { role: roleName, keys: publicKeysFor(d.keys, r.keyids), keyids: r.keyids, threshold: r.threshold };
}
