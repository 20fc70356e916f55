// SPDX-License-Identifier: Apache-2.0
// Trust distribution (issue 4, section 3): cairn's own trust material (in-toto layout keys,
// certificate-authority roots, transparency-log keys, each with a validity period) published as
// targets of a cairn TUF repository and fetched through a TufClient, so a rotation or a revocation
// reaches every verifier at its next update (TUF 1.1: "the update framework ... for distributing
// trust"). One target per kind, `cairn-trust/<kind>.json`, a trust bundle:
//   {"cairn_trust": 1, "kind": "layout-key",
//    "items": [{"name": "owner", "not_before": "2026-01-01T00:00:00Z",
//               "not_after": "2027-01-01T00:00:00Z", "key": "-----BEGIN PUBLIC KEY-----..."}]}
// Its bytes are checked against the TUF-signed length and hashes before they are parsed (TUF 5.7),
// so what it says is what the repository's targets keys signed. A bundle is bounded; an item
// outside its validity period is not trusted; revoking is publishing a bundle without the item.

// revoke: trusted roots and revocation lists
import { digestHex } from "../../core/digest.js";
import { parsePemBlocks } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { type PublicKey, parsePublicKey, spkiDerOf } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import {
  findRevocation,
  parseRevocations,
  REVOCATIONS_MAX_BYTES,
  type Revocation,
  type RevocationList,
  type RevokedSubject,
  revokedError,
  serializeRevocations,
} from "../../formats/revocation/index.js";
import { parseTrustedRootJson, type TrustedRoot } from "../../formats/sigstore/trusted-root.js";
import { fieldKey, formatDateTime, parseDateTime } from "../../formats/tuf/index.js";
import type { TufClient } from "./client.js";
import type { TufRepository } from "./repository.js";

/** The kinds of trust material cairn distributes. */
export const TRUST_KINDS = ["layout-key", "ca-root", "tlog-key"] as const;
export type TrustKind = (typeof TRUST_KINDS)[number];

/** Bounds on a fetched trust bundle (it comes over the network, signed but not trusted to be small). */
export const TRUST_BUNDLE_MAX_BYTES = 1024 * 1024;
export const TRUST_BUNDLE_MAX_ITEMS = 256;
const MAX_ITEM_CHARS = 64 * 1024;

/** One piece of trust material with the period it is valid in. */
export interface TrustItem {
  /** A label: the functionary, CA or log it belongs to. */
  name: string;
  /** Valid from (inclusive); undefined: from the start. */
  notBefore?: Date;
  /** Valid until (exclusive). */
  notAfter: Date;
  /** The material as text: a public key (PEM or securesystemslib JSON) or a certificate (PEM). */
  key: string;
}

/** The target path of a kind's bundle. */
export function trustBundlePath(kind: TrustKind): string {
  return `cairn-trust/${kind}.json`;
}

function checkKind(kind: string): TrustKind {
  if (!(TRUST_KINDS as readonly string[]).includes(kind)) {
    throw cairnError(
      "ERR_USAGE",
      `trust kind ${JSON.stringify(kind)} is not one of ${TRUST_KINDS.join(", ")}`,
    );
  }
  return kind as TrustKind;
}

/** A bundle's bytes (sorted keys, one item per name). */
export function buildTrustBundle(kind: TrustKind, items: readonly TrustItem[]): Uint8Array {
  checkKind(kind);
  if (items.length > TRUST_BUNDLE_MAX_ITEMS)
    throw cairnError("ERR_USAGE", `at most ${TRUST_BUNDLE_MAX_ITEMS} items in a trust bundle`);
  const names = new Set<string>();
  const out = items.map((i) => {
    if (names.has(i.name)) throw cairnError("ERR_USAGE", `trust item ${i.name} is given twice`);
    names.add(i.name);
    if (i.notBefore !== undefined && i.notBefore.getTime() >= i.notAfter.getTime())
      throw cairnError("ERR_USAGE", `trust item ${i.name}: its validity ends before it starts`);
    return {
      key: i.key,
      name: i.name,
      ...(i.notBefore !== undefined ? { not_before: formatDateTime(i.notBefore) } : {}),
      not_after: formatDateTime(i.notAfter),
    };
  });
  return Buffer.from(`${JSON.stringify({ cairn_trust: 1, items: out, kind }, null, 1)}\n`);
}

/**
 * Parses a bundle of `kind` within the bounds. Throws ERR_TUF_METADATA_INVALID naming the field,
 * ERR_TUF_BOUND_EXCEEDED past a bound, ERR_JSON_* for bytes that are not JSON.
 */
export function parseTrustBundle(
  bytes: Uint8Array,
  kind: TrustKind,
  file = trustBundlePath(kind),
): TrustItem[] {
  const bad = (field: string, msg: string) => cairnError("ERR_TUF_METADATA_INVALID", msg, { field, file });
  const doc = parseJson(bytes, file, { maxBytes: TRUST_BUNDLE_MAX_BYTES, maxDepth: 8 });
  if (!isJsonObject(doc)) throw bad("$", "a trust bundle is a JSON object");
  if (doc.cairn_trust !== 1) throw bad("cairn_trust", "unsupported trust bundle version (cairn reads 1)");
  // Mix-and-match: a bundle of CA roots must not pass for layout keys.
  if (doc.kind !== kind) throw bad("kind", `expected a ${kind} bundle, got ${JSON.stringify(doc.kind)}`);
  if (!Array.isArray(doc.items)) throw bad("items", "must be a list");
  if (doc.items.length > TRUST_BUNDLE_MAX_ITEMS) {
    throw cairnError("ERR_TUF_BOUND_EXCEEDED", `more than ${TRUST_BUNDLE_MAX_ITEMS} trust items`, {
      field: "items",
      file,
    });
  }
  const names = new Set<string>();
  return doc.items.map((v: unknown, i: number) => {
    const at = (f: string) => `items[${i}].${f}`;
    if (!isJsonObject(v)) throw bad(`items[${i}]`, "must be an object");
    if (typeof v.name !== "string" || v.name === "") throw bad(at("name"), "must be a non-empty string");
    if (names.has(v.name)) throw bad(at("name"), `item ${v.name} is listed twice`);
    names.add(v.name);
    if (typeof v.key !== "string" || v.key.length === 0 || v.key.length > MAX_ITEM_CHARS)
      throw bad(at("key"), `must be a string of 1 to ${MAX_ITEM_CHARS} characters`);
    const date = (f: "not_before" | "not_after") => {
      const s = v[f];
      const d = typeof s === "string" ? parseDateTime(s) : undefined;
      if (d === undefined) throw bad(at(f), "must be a date-time YYYY-MM-DDTHH:MM:SSZ");
      return d;
    };
    const item: TrustItem = { name: v.name, notAfter: date("not_after"), key: v.key };
    if (v.not_before !== undefined) item.notBefore = date("not_before");
    return item;
  });
}

/** Whether `item` is valid at `now`: from notBefore (inclusive) until notAfter (exclusive). */
export function isTrustItemValid(item: TrustItem, now: Date): boolean {
  return (item.notBefore === undefined || item.notBefore <= now) && now < item.notAfter;
}

/**
 * Fetches the `kind` bundle through `client` (refreshing its metadata: a rotation or revocation
 * published since the last run is seen now) and returns the items valid at `now`. Throws
 * ERR_TUF_TARGET_NOT_FOUND when the repository has no such bundle, ERR_TUF_EXPIRED when it has
 * items but none is valid now, and whatever the client throws (never a pass on failure).
 */
export async function fetchTrust(client: TufClient, kind: TrustKind, now: Date): Promise<TrustItem[]> {
  checkKind(kind);
  await client.refresh();
  const path = trustBundlePath(kind);
  const info = await client.getTargetInfo(path);
  if (info === undefined)
    throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `the trust repository publishes no ${path}`);
  if (info.file.length > TRUST_BUNDLE_MAX_BYTES) {
    throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${path} is ${info.file.length} bytes`, {
      field: fieldKey("signed.targets", path),
    });
  }
  const items = parseTrustBundle(await client.downloadTarget(info), kind, path);
  const valid = items.filter((i) => isTrustItemValid(i, now));
  if (valid.length === 0 && items.length > 0) {
    throw cairnError(
      "ERR_TUF_EXPIRED",
      `no ${kind} in ${path} is valid at ${formatDateTime(now)} (${items.map((i) => `${i.name} until ${formatDateTime(i.notAfter)}`).join(", ")})`,
    );
  }
  return valid;
}

/**
 * Publishes `items` as the whole `kind` bundle of `role` (default "targets"), replacing the
 * previous one: a key left out is revoked at every verifier's next update. Signed by `signers`
 * (the role's keys); refresh and publish as for any target.
 */
export async function publishTrust(
  repo: TufRepository,
  kind: TrustKind,
  items: readonly TrustItem[],
  signers: readonly Signer[],
  role = "targets",
): Promise<void> {
  await repo.addTargets(
    role,
    [{ path: trustBundlePath(kind), bytes: buildTrustBundle(kind, items) }],
    signers,
  );
}

// revoke: the Sigstore trusted root and the revocation list (issue 6, section 4) -----------------

/** The target path of the Sigstore trusted root (CA certificates, log, CT and timestamp keys). */
export const TRUSTED_ROOT_TARGET = "cairn-trust/trusted_root.json";
/** The target path of the revocation list. */
export const REVOCATIONS_TARGET = "cairn-trust/revocations.json";
/** A trusted root is bounded like a trust bundle. */
export const TRUSTED_ROOT_MAX_BYTES = TRUST_BUNDLE_MAX_BYTES;

/**
 * Publishes a Sigstore trusted root as `cairn-trust/trusted_root.json` of `role`, replacing the
 * previous one. Its bytes are parsed first (ERR_SIGSTORE_TRUSTED_ROOT_INVALID): a broken root is
 * never published.
 */
export async function publishTrustedRoot(
  repo: TufRepository,
  bytes: Uint8Array,
  signers: readonly Signer[],
  role = "targets",
): Promise<TrustedRoot> {
  if (bytes.length > TRUSTED_ROOT_MAX_BYTES)
    throw cairnError("ERR_USAGE", `a trusted root is at most ${TRUSTED_ROOT_MAX_BYTES} bytes`);
  const root = parseTrustedRootJson(bytes, TRUSTED_ROOT_TARGET);
  await repo.addTargets(role, [{ path: TRUSTED_ROOT_TARGET, bytes }], signers);
  return root;
}

/** The revocation list `role` lists now (empty when it lists none). */
export async function currentRevocations(repo: TufRepository, role = "targets"): Promise<RevocationList> {
  const bytes = await repo.targetContent(role, REVOCATIONS_TARGET);
  return bytes === undefined ? { revocations: [] } : parseRevocations(bytes, REVOCATIONS_TARGET);
}

/**
 * Adds revocations to the list `role` publishes (ids must be new: a revocation is never silently
 * replaced) and signs the new list. Returns the whole list.
 */
export async function publishRevocations(
  repo: TufRepository,
  add: readonly Revocation[],
  signers: readonly Signer[],
  role = "targets",
): Promise<RevocationList> {
  const list = await currentRevocations(repo, role);
  for (const r of add) {
    if (list.revocations.some((x) => x.id === r.id))
      throw cairnError("ERR_USAGE", `a revocation ${JSON.stringify(r.id)} is already published`);
    list.revocations.push(r);
  }
  await repo.addTargets(role, [{ path: REVOCATIONS_TARGET, bytes: serializeRevocations(list) }], signers);
  return list;
}

/** Downloads a target through the client, bounded, or undefined when no trusted role lists it. */
async function fetchTarget(
  client: TufClient,
  path: string,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const info = await client.getTargetInfo(path);
  if (info === undefined) return undefined;
  if (info.file.length > maxBytes) {
    throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${path} is ${info.file.length} bytes`, {
      field: fieldKey("signed.targets", path),
    });
  }
  return client.downloadTarget(info);
}

/** What a verifier trusts, as the trust repository publishes it now. */
export interface SigstoreTrust {
  trustedRoot: TrustedRoot;
  revocations: RevocationList;
}

/**
 * Refreshes the client (TUF 5: a rotation or revocation published since the last run is seen
 * now; an expired or rolled-back repository is refused) and returns the trusted root and the
 * revocation list, each checked against its TUF-signed length and hashes before it is parsed.
 * ERR_TUF_TARGET_NOT_FOUND when no trusted root is published; no revocation list is an empty
 * one. Transport failures are the client's ERR_IO: never a pass.
 */
export async function fetchSigstoreTrust(client: TufClient): Promise<SigstoreTrust> {
  await client.refresh();
  const root = await fetchTarget(client, TRUSTED_ROOT_TARGET, TRUSTED_ROOT_MAX_BYTES);
  if (root === undefined)
    throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `the trust repository publishes no ${TRUSTED_ROOT_TARGET}`);
  return {
    trustedRoot: parseTrustedRootJson(root, TRUSTED_ROOT_TARGET),
    revocations: await fetchRevocations(client, false),
  };
}

/** The published revocation list (refreshing first unless told not to); empty when none is published. */
export async function fetchRevocations(client: TufClient, refresh = true): Promise<RevocationList> {
  if (refresh) await client.refresh();
  const bytes = await fetchTarget(client, REVOCATIONS_TARGET, REVOCATIONS_MAX_BYTES);
  return bytes === undefined ? { revocations: [] } : parseRevocations(bytes, REVOCATIONS_TARGET);
}

/**
 * The layout keys valid now, with the revocation list applied. A layout's signatures carry no
 * proven time: the only bound on when they were made is `now` (they exist as we verify), so a
 * revocation that names a layout key (by key id or SPKI hash) and is effective by `now` refuses
 * (ERR_KEY_REVOKED, fail closed) whatever the layout says of itself: whether the key is still
 * listed, or the layout carries a signature under its key id (`signatureKeyids`).
 */
export async function fetchLayoutKeys(
  client: TufClient,
  now: Date,
  signatureKeyids: readonly string[] = [],
): Promise<PublicKey[]> {
  const path = trustBundlePath("layout-key");
  const items = await fetchTrust(client, "layout-key", now);
  if (items.length === 0) throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `${path} lists no layout key`);
  const keys = items.map((i) => parsePublicKey(i.key, `${path}:${i.name}`));
  const revocations = await fetchRevocations(client, false);
  const spki = (k: PublicKey) => digestHex("sha256", spkiDerOf(k.key));
  const r = findRevocation(
    revocations,
    { keyids: [...keys.map((k) => k.keyid), ...signatureKeyids], spkiSha256: keys.map(spki) },
    [now],
  );
  if (r) throw revokedError(r, "a layout key");
  return keys;
}

/** The kinds `revokedSubjectOf` takes: `key` and `certificate` name a file, the others a value. */
export const REVOKE_KINDS = [
  "key",
  "certificate",
  "identity",
  "spiffe-id",
  "spiffe-id-regexp",
  "keyid",
  "spki-sha256",
  "certificate-sha256",
] as const;

/**
 * What `KIND=VALUE` revokes: `key` (a public key's text, PEM or securesystemslib JSON: by its SPKI
 * hash, which also matches it as a layout key or a CA key), `certificate` (PEM or DER: by its
 * SHA-256), `identity` (a SAN, from `issuer` or any), a SPIFFE ID or pattern, or a hash or key id
 * given as is. Throws ERR_USAGE for an unknown kind, ERR_REVOCATION_INVALID for a bad value.
 */
export function revokedSubjectOf(
  kind: string,
  value: string,
  o: { material?: Uint8Array; issuer?: string } = {},
): RevokedSubject {
  const sha = (b: Uint8Array) => digestHex("sha256", b);
  let s: RevokedSubject;
  switch (kind) {
    case "key": {
      const k = parsePublicKey(Buffer.from(o.material ?? []).toString("utf8"), value);
      s = { kind: "spki_sha256", sha256: sha(spkiDerOf(k.key)) };
      break;
    }
    case "certificate": {
      const m = Buffer.from(o.material ?? []);
      const pem = parsePemBlocks(m.toString("latin1")).find((b) => b.label === "CERTIFICATE");
      s = { kind: "certificate_sha256", sha256: sha(pem ? pem.der : m) };
      break;
    }
    case "identity":
      s = { kind: "identity", san: value, ...(o.issuer !== undefined ? { issuer: o.issuer } : {}) };
      break;
    case "spiffe-id":
      s = { kind: "spiffe_id", exact: value };
      break;
    case "spiffe-id-regexp":
      s = { kind: "spiffe_id_regexp", regexp: value };
      break;
    case "keyid":
      s = { kind: "keyid", keyid: value.toLowerCase() };
      break;
    case "spki-sha256":
      s = { kind: "spki_sha256", sha256: value.toLowerCase() };
      break;
    case "certificate-sha256":
      s = { kind: "certificate_sha256", sha256: value.toLowerCase() };
      break;
    default:
      throw cairnError(
        "ERR_USAGE",
        `revoke what? ${JSON.stringify(kind)} is not one of ${REVOKE_KINDS.join(", ")}`,
      );
  }
  if (o.issuer !== undefined && s.kind !== "identity")
    throw cairnError("ERR_USAGE", "an issuer goes with an identity revocation only");
  // Checked as a published list would be (a bad hash or pattern is refused before publishing).
  parseRevocations(
    serializeRevocations({
      revocations: [{ id: "check", reason: "check", effective: new Date(0), scope: "all", subject: s }],
    }),
  );
  return s;
}
