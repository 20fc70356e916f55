// SPDX-License-Identifier: Apache-2.0
// Building, signing and writing TUF metadata (specification 1.0.x section 4), for the repository
// side. Signatures are hex over the canonical JSON of "signed" (TUF 4.2). Files are written with
// keys in code point order, so readers take canonical JSON straight from the bytes.
import { canonicalBytes, compareCodePoints } from "../../core/canonical.js";
import { toHex } from "../../core/encoding.js";
import { computeKeyId, type PublicKey } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import {
  type Delegations,
  formatDateTime,
  type Metadata,
  type MetaFile,
  type RoleKeys,
  type Root,
  type Signature,
  type SignedBase,
  type Snapshot,
  SPEC_VERSION,
  type TargetFile,
  type Targets,
  type Timestamp,
  type TufKey,
} from "./metadata.js";

/** Fields common to every new role. */
export interface NewSignedOptions {
  /** Defaults to 1. */
  version?: number;
  /** A Date (whole seconds kept) or a TUF date-time string. */
  expires: Date | string;
  /** Defaults to SPEC_VERSION. */
  specVersion?: string;
}

function base(opts: NewSignedOptions): { spec_version: string; version: number; expires: string } {
  return {
    spec_version: opts.specVersion ?? SPEC_VERSION,
    version: opts.version ?? 1,
    expires: typeof opts.expires === "string" ? opts.expires : formatDateTime(opts.expires),
  };
}

/** An object without a prototype: any JSON key, "__proto__" included, is an own field. */
function dict<V>(entries?: Iterable<readonly [string, V]>): Record<string, V> {
  const o = Object.create(null) as Record<string, V>;
  if (entries !== undefined) for (const [k, v] of entries) o[k] = v;
  return o;
}

/**
 * The TUF key object of a public key (TUF 4.2: keytype, scheme, keyval.public) and its key id, the
 * SHA-256 of its canonical JSON as python-tuf computes it (no keyid_hash_algorithms).
 */
export function tufKeyOf(pub: PublicKey): { keyid: string; key: TufKey } {
  const key: TufKey = {
    keytype: pub.meta.keytype,
    scheme: pub.meta.scheme,
    keyval: { public: pub.meta.keyval.public },
  };
  return { keyid: computeKeyId(key as PublicKey["meta"]), key };
}

/** `signer` relabelled with the TUF key id of its public key (see tufKeyOf). */
export function tufSigner(signer: Signer): Signer {
  const keyid = tufKeyOf(signer.publicKey).keyid;
  return { keyid, publicKey: signer.publicKey, sign: (data) => signer.sign(data) };
}

/** A role's entry in root: its key ids and threshold. */
export interface NewRootOptions extends NewSignedOptions {
  /** Keys by key id (see tufKeyOf). */
  keys: Record<string, TufKey>;
  /** root, targets, snapshot and timestamp (and optionally mirrors). */
  roles: Record<string, RoleKeys>;
  /** Defaults to true (issue 4: consistent snapshots on by default). */
  consistentSnapshot?: boolean;
}

/** A new root (TUF 4.3). */
export function newRoot(opts: NewRootOptions): Root {
  return {
    _type: "root",
    ...base(opts),
    consistent_snapshot: opts.consistentSnapshot ?? true,
    keys: dict(Object.entries(opts.keys)),
    roles: dict(Object.entries(opts.roles)),
  };
}

export interface NewTargetsOptions extends NewSignedOptions {
  targets?: Iterable<readonly [string, TargetFile]>;
  delegations?: Delegations;
}

/** A new targets role (TUF 4.5), top-level or delegated. */
export function newTargets(opts: NewTargetsOptions): Targets {
  const t: Targets = { _type: "targets", ...base(opts), targets: dict(opts.targets) };
  if (opts.delegations !== undefined) t.delegations = opts.delegations;
  return t;
}

export interface NewSnapshotOptions extends NewSignedOptions {
  /** METAFILES by file name ("targets.json", "<role>.json"). */
  meta: Iterable<readonly [string, MetaFile]>;
}

/** A new snapshot (TUF 4.4). */
export function newSnapshot(opts: NewSnapshotOptions): Snapshot {
  return { _type: "snapshot", ...base(opts), meta: dict(opts.meta) };
}

export interface NewTimestampOptions extends NewSignedOptions {
  /** The snapshot's entry: its version, and optionally length and hashes. */
  snapshot: MetaFile;
}

/** A new timestamp (TUF 4.6). */
export function newTimestamp(opts: NewTimestampOptions): Timestamp {
  const meta = dict<MetaFile>([["snapshot.json", opts.snapshot]]) as Timestamp["meta"];
  return { _type: "timestamp", ...base(opts), meta };
}

/** Sets a target entry; safe for any path ("__proto__" included) on objects from newTargets or parsing. */
export function setTarget(t: Targets, path: string, file: TargetFile): void {
  Object.defineProperty(t.targets, path, {
    value: file,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Sets a METAFILES entry of a snapshot. */
export function setMeta(s: Snapshot, name: string, file: MetaFile): void {
  Object.defineProperty(s.meta, name, { value: file, enumerable: true, writable: true, configurable: true });
}

/**
 * Signs `signed` with every signer (hex signatures over its canonical JSON, TUF 4.2). Signatures in
 * `existing` by other key ids are kept, so several key holders can sign in turn; a signer's own
 * earlier signature is replaced. Each signer's `keyid` must be the id the delegator lists (see tufSigner).
 */
export async function signMetadata<T extends SignedBase>(
  signed: T,
  signers: readonly Signer[],
  existing: readonly Signature[] = [],
): Promise<Metadata<T>> {
  const data = canonicalBytes(signed);
  const mine = new Set(signers.map((s) => s.keyid));
  const signatures: Signature[] = existing.filter((s) => !mine.has(s.keyid));
  const done = new Set<string>();
  for (const s of signers) {
    if (done.has(s.keyid)) continue;
    done.add(s.keyid);
    signatures.push({ keyid: s.keyid, sig: toHex(await s.sign(data)) });
  }
  return { signed, signatures };
}

/**
 * Canonical JSON (OLPC) of a document: the bytes signatures cover (TUF 4.2). Not always a JSON file:
 * canonical JSON leaves control characters in strings unescaped, so files are written compact or pretty.
 */
export function serializeCanonical(md: Metadata<SignedBase> | SignedBase): Uint8Array {
  return canonicalBytes(md);
}

/**
 * Compact JSON with keys in code point order (python-tuf's compact form). Equal to the canonical
 * JSON unless a string holds a control character, which JSON must escape.
 */
export function serializeCompact(md: Metadata<SignedBase> | SignedBase): Uint8Array {
  return Buffer.from(JSON.stringify(md, sortedReplacer), "utf8");
}

/**
 * Pretty JSON as python-tuf writes by default (sorted keys, one-space indent), with a final
 * newline. Keys are in code point order, so a reader's canonical JSON comes straight from the bytes.
 */
export function serializePretty(md: Metadata<SignedBase> | SignedBase): Uint8Array {
  return Buffer.from(`${JSON.stringify(md, sortedReplacer, 1)}\n`, "utf8");
}

/** How metadata is written: canonical (signature bytes), compact or pretty JSON files. */
export type MetadataFormat = "canonical" | "compact" | "pretty";

/** Serializes `md` in one of the three forms. */
export function serializeMetadata(
  md: Metadata<SignedBase> | SignedBase,
  format: MetadataFormat = "compact",
): Uint8Array {
  return format === "canonical"
    ? serializeCanonical(md)
    : format === "pretty"
      ? serializePretty(md)
      : serializeCompact(md);
}

/**
 * A JSON.stringify replacer emitting each object's keys in code point order (one copy per object
 * out of order). Integer-like keys are the exception JavaScript imposes (it lists them first, in
 * numeric order): such files still parse and verify, through canonicalize instead of the bytes.
 */
function sortedReplacer(_key: string, v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (compareCodePoints(keys[i - 1]!, keys[i]!) >= 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return v;
  keys.sort(compareCodePoints);
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of keys) out[k] = o[k];
  return out;
}
