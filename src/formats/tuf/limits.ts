// SPDX-License-Identifier: Apache-2.0
// Every bound cairn applies to untrusted TUF input, in one place (DESIGN.md habit 5). The byte
// bounds play the part of the specification's X, Y and Z download limits (TUF 5.4, 5.5, 5.6) and
// the visit bound is the "application-specific maximum number of roles" of TUF 5.6.7.1.
import { cairnError } from "../../core/errors.js";

/** Bounds on untrusted TUF metadata. Every field is a count or a size in bytes. */
export interface TufLimits {
  /** Largest root metadata accepted, in bytes. */
  rootMaxBytes: number;
  /** Largest timestamp metadata accepted, in bytes (its length is unknown before download). */
  timestampMaxBytes: number;
  /** Largest snapshot metadata accepted when the timestamp gives no length. */
  snapshotMaxBytes: number;
  /** Largest targets (top-level or delegated) metadata accepted when the snapshot gives no length. */
  targetsMaxBytes: number;
  /** Deepest nesting of JSON arrays and objects (custom target metadata is free-form). */
  maxDepth: number;
  /** Signatures on one metadata document. */
  maxSignatures: number;
  /** Keys in root's "keys" or in one "delegations.keys". */
  maxKeys: number;
  /** Key ids listed for one role. */
  maxKeyidsPerRole: number;
  /** Delegated roles in one "delegations.roles" list (PEP 458 without TAP 15 lists 16,384). */
  maxRoles: number;
  /** Patterns or hash prefixes of one delegated role. */
  maxPathsPerRole: number;
  /** Target entries in one targets metadata document. */
  maxTargets: number;
  /** Entries in the "meta" of one snapshot. */
  maxMetaEntries: number;
  /** Delegated roles a client visits while looking for one target (TUF 5.6.7.1). */
  maxDelegations: number;
  /** New root versions a client accepts in one update (TUF 5.3). */
  maxRootRotations: number;
}

/**
 * Defaults: generous enough for a PyPI-sized repository (PEP 458: 16,384 hash bins listed in a
 * snapshot of a few megabytes), far below what would exhaust memory.
 */
export const DEFAULT_TUF_LIMITS: Readonly<TufLimits> = Object.freeze({
  rootMaxBytes: 512_000,
  timestampMaxBytes: 16_384,
  snapshotMaxBytes: 64 * 1024 * 1024,
  targetsMaxBytes: 64 * 1024 * 1024,
  maxDepth: 64,
  maxSignatures: 256,
  maxKeys: 1024,
  maxKeyidsPerRole: 256,
  maxRoles: 65_536,
  maxPathsPerRole: 65_536,
  maxTargets: 4_000_000,
  maxMetaEntries: 4_000_000,
  maxDelegations: 32,
  maxRootRotations: 256,
});

/** The defaults with some bounds replaced. */
export function tufLimits(overrides: Partial<TufLimits> = {}): TufLimits {
  return { ...DEFAULT_TUF_LIMITS, ...overrides };
}

/** Throws ERR_TUF_BOUND_EXCEEDED when `count` is above the bound `name`. */
export function checkBound(limits: TufLimits, name: keyof TufLimits, count: number, field: string): void {
  const max = limits[name];
  if (count > max) {
    throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${count} is more than the limit ${name} = ${max}`, { field });
  }
}
