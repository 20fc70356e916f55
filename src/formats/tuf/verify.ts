// SPDX-License-Identifier: Apache-2.0
// TUF signature and threshold verification (specification 1.0.x, 4.2 and the "arbitrary software
// attack" checks of 5.3.4, 5.3.5, 5.4.2, 5.5.3, 5.6.3): a threshold of distinct keys, named by the
// key ids the delegating metadata gives them (TAP 12), must have signed the canonical JSON of
// "signed" exactly as received.
import { canonicalBytes } from "../../core/canonical.js";
import { fromHex } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { keyFingerprint, type PublicKey, verifyWith } from "../../core/keys.js";
import { roleVerifier } from "./delegations.js";
import { checkBound, DEFAULT_TUF_LIMITS, type TufLimits } from "./limits.js";
import {
  type Metadata,
  type RoleType,
  type Root,
  rawSignedBytes,
  type SignedBase,
  type Targets,
  TOP_LEVEL_ROLES,
} from "./metadata.js";

/**
 * Key fingerprints by key object: a DER export costs more than the signature check, and 16,384
 * bins are all verified with one key object (publicKeysFor reuses it).
 */
const FINGERPRINTS = new WeakMap<object, string>();
function fingerprintOf(k: PublicKey): string {
  const key = k.key;
  let fp = FINGERPRINTS.get(key);
  if (fp === undefined) {
    // keyFingerprint reads only the key object.
    fp = keyFingerprint({ key } as PublicKey);
    FINGERPRINTS.set(key, fp);
  }
  return fp;
}

/** The "_type" a role's metadata must have: its own name for top-level roles, else "targets". */
export function roleTypeOf(roleName: string): RoleType {
  return (TOP_LEVEL_ROLES as readonly string[]).includes(roleName) ? (roleName as RoleType) : "targets";
}

/** The bytes the signatures of `md` cover: canonical JSON of "signed" as received. */
export function signedBytes(md: Metadata<SignedBase>): Uint8Array {
  return rawSignedBytes(md) ?? canonicalBytes(md.signed);
}

/** What verification found, signature by signature (for reports; not needed to act). */
export interface SignatureReport {
  /** Key ids whose signatures verified with distinct trusted keys. */
  verified: string[];
  /** Key ids the role does not trust (or whose key cairn cannot use). */
  unknown: string[];
  /** Key ids whose signature does not verify. */
  invalid: string[];
  /** Key ids that verified but name a key already counted under another id. */
  duplicate: string[];
}

/** Counts the distinct trusted keys that signed `md`, without throwing for any signature. */
export function checkSignatures(
  md: Metadata<SignedBase>,
  keys: ReadonlyMap<string, PublicKey>,
  limits: TufLimits = DEFAULT_TUF_LIMITS,
): SignatureReport {
  // The parser bounds signatures too; a document built in memory may not have been parsed.
  checkBound(limits, "maxSignatures", md.signatures.length, "signatures");
  const report: SignatureReport = { verified: [], unknown: [], invalid: [], duplicate: [] };
  let data: Uint8Array | undefined;
  const counted = new Set<string>();
  const seenIds = new Set<string>();
  for (const s of md.signatures) {
    // TUF 4.2: one signature per key id; a repeated id never counts twice.
    if (seenIds.has(s.keyid)) {
      report.duplicate.push(s.keyid);
      continue;
    }
    seenIds.add(s.keyid);
    const k = keys.get(s.keyid);
    if (k === undefined) {
      report.unknown.push(s.keyid);
      continue;
    }
    let sig: Buffer;
    try {
      sig = fromHex(s.sig, "sig");
    } catch {
      report.invalid.push(s.keyid);
      continue;
    }
    data ??= signedBytes(md);
    if (!verifyWith(k, data, sig)) {
      report.invalid.push(s.keyid);
      continue;
    }
    // The same key material listed under two key ids is one key (threshold counting, TUF 4.2 note).
    const fp = fingerprintOf(k);
    if (counted.has(fp)) {
      report.duplicate.push(s.keyid);
      continue;
    }
    counted.add(fp);
    report.verified.push(s.keyid);
  }
  return report;
}

/**
 * Verifies that at least `threshold` distinct keys of `keys` signed `md`, whose "signed" must be
 * of the type of role `role` (a delegated role's type is "targets"). Signatures by unknown key ids
 * and signatures that do not verify are ignored; a key counts once however many ids name it.
 * Returns the verified signed object. Throws ERR_TUF_METADATA_INVALID for the wrong role type and
 * ERR_TUF_SIGNATURE_INVALID when the threshold is not met. `onReport` sees what the signatures
 * gave, met or not (a status report counts them without verifying twice).
 */
export function verifyMetadata<T extends SignedBase>(
  md: Metadata<T>,
  keys: ReadonlyMap<string, PublicKey>,
  threshold: number,
  role: string,
  limits: TufLimits = DEFAULT_TUF_LIMITS,
  onReport?: (r: SignatureReport) => void,
): T {
  const type = roleTypeOf(role);
  // Mix-and-match: a validly signed document of another role must not pass for this one.
  if (md.signed._type !== type) {
    throw cairnError(
      "ERR_TUF_METADATA_INVALID",
      `${role} metadata must have _type ${type}, not ${JSON.stringify(md.signed._type)}`,
      { field: "signed._type" },
    );
  }
  // A threshold below 1 would accept unsigned metadata: refuse rather than pass.
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw cairnError("ERR_TUF_METADATA_INVALID", `the threshold for ${role} must be at least 1`, {
      field: "threshold",
    });
  }
  const r = checkSignatures(md, keys, limits);
  onReport?.(r);
  if (r.verified.length < threshold) {
    const why: string[] = [];
    if (r.invalid.length > 0) why.push(`bad signature by ${r.invalid.join(", ")}`);
    if (r.unknown.length > 0) why.push(`signature by untrusted key ${r.unknown.join(", ")}`);
    if (r.duplicate.length > 0) why.push(`key counted once: ${r.duplicate.join(", ")}`);
    throw cairnError(
      "ERR_TUF_SIGNATURE_INVALID",
      `${role} metadata has ${r.verified.length} valid signature(s) from its keys, ${threshold} required` +
        (why.length > 0 ? ` (${why.join("; ")})` : ""),
      { field: "signatures" },
    );
  }
  return md.signed;
}

/**
 * Verifies `md` as the role `roleName` that `delegator` (root for the top-level roles, a targets
 * role for its delegations) trusts, with the keys and threshold the delegator gives it (TUF 5.3.4,
 * 5.4.2, 5.5.3, 5.6.3). Throws ERR_TUF_SIGNATURE_INVALID when the delegator does not name the role.
 */
export function verifyDelegate<T extends SignedBase>(
  delegator: Root | Targets,
  roleName: string,
  md: Metadata<T>,
  limits: TufLimits = DEFAULT_TUF_LIMITS,
  onReport?: (r: SignatureReport) => void,
): T {
  const v = roleVerifier(delegator, roleName);
  if (v === undefined) {
    throw cairnError(
      "ERR_TUF_SIGNATURE_INVALID",
      `${delegator._type} metadata does not delegate to a role named ${roleName}`,
      { field: "signed._type" },
    );
  }
  return verifyMetadata(md, v.keys, v.threshold, roleName, limits, onReport);
}
