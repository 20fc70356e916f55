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
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import type { Signer } from "../../core/signer.js";
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
