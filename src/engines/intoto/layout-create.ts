// SPDX-License-Identifier: Apache-2.0
// Builds an in-toto layout (specification v1.0 section 4.3) from a readable description:
//   expires: 2030-01-01T00:00:00Z | "6 months" | "30d"
//   readme: text
//   keys: { alice: alice.pub, bob: bob.pub }        # functionary name -> public key (file or inline)
//   steps: [{ name, functionaries: [bob], threshold, expected_command: "git clone ..." | [argv],
//             expected_materials: ["MATCH * WITH PRODUCTS FROM clone", ...], expected_products: [...] }]
//   inspect: [{ name, run: "tar xzf foo.tar.gz" | [argv], expected_materials, expected_products }]
// Rules may be strings (split on spaces) or lists (for patterns containing spaces).
import { cairnError, fieldError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import type { PublicKey, SslibPublicKey } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import { type Envelope, signEnvelope } from "../../formats/dsse/envelope.js";
import { type Layout, parseLayout } from "../../formats/intoto/layout.js";
import {
  type Metablock,
  type SignedDocument,
  signDsseDocument,
  signMetablock,
} from "../../formats/intoto/metablock.js";
import { parseRule, ruleToList } from "../../formats/intoto/rules.js";

/** Resolves a key reference from the description (a file path, usually) to a public key. */
export type KeyResolver = (ref: string, field: string) => PublicKey;

const DURATION_RE = /^(\d+)\s*(d|day|days|w|week|weeks|m|month|months|y|year|years)$/;

/** Parses `expires`: an ISO 8601 UTC time, or a duration from `now` such as "30d" or "6 months". */
export function parseExpiry(v: unknown, now: Date, field = "expires"): string {
  if (v instanceof Date) return isoSeconds(v);
  if (typeof v !== "string")
    throw fieldError(field, "must be a time (2030-01-01T00:00:00Z) or a duration (30d, 6 months)");
  const m = DURATION_RE.exec(v.trim());
  if (m) {
    const n = Number(m[1]);
    const unit = m[2]![0]!;
    const d = new Date(now.getTime());
    if (unit === "d") d.setUTCDate(d.getUTCDate() + n);
    else if (unit === "w") d.setUTCDate(d.getUTCDate() + 7 * n);
    else if (unit === "m") d.setUTCMonth(d.getUTCMonth() + n);
    else d.setUTCFullYear(d.getUTCFullYear() + n);
    return isoSeconds(d);
  }
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v) || Number.isNaN(d.getTime())) {
    throw fieldError(field, `"${v}" is neither an ISO 8601 UTC time nor a duration such as 30d`);
  }
  return isoSeconds(d);
}

function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function argv(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return v.split(/\s+/).filter((x) => x !== "");
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  throw fieldError(field, "must be a command string or a list of strings");
}

function rules(v: unknown, field: string): string[][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fieldError(field, "must be a list of rules");
  return v.map((r, i) =>
    ruleToList(parseRule(typeof r === "string" ? argv(r, `${field}[${i}]`) : r, `${field}[${i}]`)),
  );
}

const STEP_FIELDS = new Set([
  "name",
  "functionaries",
  "pubkeys",
  "threshold",
  "expected_command",
  "expected_materials",
  "expected_products",
]);
const INSPECT_FIELDS = new Set(["name", "run", "expected_materials", "expected_products"]);
const TOP_FIELDS = new Set(["expires", "readme", "keys", "steps", "inspect"]);

function noUnknown(obj: Record<string, unknown>, allowed: Set<string>, field: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k))
      throw fieldError(
        field ? `${field}.${k}` : k,
        `unknown field (expected one of ${[...allowed].join(", ")})`,
      );
  }
}

/**
 * Builds the layout's signed object from a description. The result has passed `parseLayout`,
 * so what cairn writes is what cairn (and the reference tool) will read.
 */
export function buildLayout(desc: unknown, resolveKey: KeyResolver, now: Date): Layout {
  if (!isJsonObject(desc)) throw fieldError("$", "a layout description must be a mapping");
  noUnknown(desc, TOP_FIELDS, "");
  const keyByName = new Map<string, PublicKey>();
  const keys: Record<string, SslibPublicKey> = {};
  if (desc.keys !== undefined) {
    if (!isJsonObject(desc.keys)) throw fieldError("keys", "must map functionary names to public key files");
    for (const [name, ref] of Object.entries(desc.keys)) {
      if (typeof ref !== "string") throw fieldError(`keys.${name}`, "must be a public key file path");
      const k = resolveKey(ref, `keys.${name}`);
      if (keys[k.keyid]) {
        throw cairnError("ERR_KEY_DUPLICATE", `the same key is listed twice`, { field: `keys.${name}` });
      }
      keyByName.set(name, k);
      // in-toto 1.x requires each key object to carry its keyid (ANYKEY_SCHEMA), as its own layouts do.
      keys[k.keyid] = { keyid: k.keyid, ...k.meta };
    }
  }
  const keyRef = (ref: unknown, field: string): string => {
    if (typeof ref !== "string") throw fieldError(field, "must be a functionary name or key id");
    const byName = keyByName.get(ref);
    if (byName) return byName.keyid;
    if (keys[ref]) return ref;
    throw fieldError(field, `"${ref}" is not a functionary named under keys`);
  };
  if (!Array.isArray(desc.steps)) throw fieldError("steps", "must be a list of steps");
  const steps = desc.steps.map((s, i) => {
    const f = `steps[${i}]`;
    if (!isJsonObject(s)) throw fieldError(f, "must be a mapping");
    noUnknown(s, STEP_FIELDS, f);
    const who = s.functionaries ?? s.pubkeys ?? [];
    if (!Array.isArray(who)) throw fieldError(`${f}.functionaries`, "must be a list of functionary names");
    return {
      _type: "step",
      name: s.name,
      threshold: s.threshold ?? 1,
      pubkeys: who.map((r, j) => keyRef(r, `${f}.functionaries[${j}]`)),
      expected_command: argv(s.expected_command, `${f}.expected_command`),
      expected_materials: rules(s.expected_materials, `${f}.expected_materials`),
      expected_products: rules(s.expected_products, `${f}.expected_products`),
    };
  });
  const inspect = ((desc.inspect ?? []) as unknown[]).map((s, i) => {
    const f = `inspect[${i}]`;
    if (!isJsonObject(s)) throw fieldError(f, "must be a mapping");
    noUnknown(s, INSPECT_FIELDS, f);
    return {
      _type: "inspection",
      name: s.name,
      run: argv(s.run, `${f}.run`),
      expected_materials: rules(s.expected_materials, `${f}.expected_materials`),
      expected_products: rules(s.expected_products, `${f}.expected_products`),
    };
  });
  if (desc.inspect !== undefined && !Array.isArray(desc.inspect))
    throw fieldError("inspect", "must be a list");
  if (desc.readme !== undefined && typeof desc.readme !== "string")
    throw fieldError("readme", "must be a string");
  const layout = {
    _type: "layout",
    expires: parseExpiry(desc.expires ?? "1y", now),
    readme: (desc.readme as string | undefined) ?? "",
    keys,
    steps,
    inspect,
  };
  return parseLayout(layout).layout;
}

/** Signs a layout with one or more keys, in the metablock (default) or DSSE form. */
export async function signLayout(
  layout: Layout,
  signers: Signer[],
  format: "metablock" | "dsse" = "metablock",
): Promise<Metablock | Envelope> {
  if (signers.length === 0) throw cairnError("ERR_USAGE", "a layout needs at least one signing key");
  return format === "dsse" ? signDsseDocument(layout, signers) : signMetablock(layout, signers);
}

/**
 * Adds signatures to an existing signed layout (metablock form) — for a layout that several
 * owners sign in turn. Existing signatures by other keys are kept.
 */
export async function addLayoutSignatures(
  doc: SignedDocument,
  signers: Signer[],
): Promise<Metablock | Envelope> {
  if (doc.format === "metablock")
    return signMetablock(doc.metablock.signed, signers, doc.metablock.signatures);
  const extra = await signEnvelope(
    doc.envelope.payloadType,
    Buffer.from(doc.envelope.payload, "base64"),
    signers,
  );
  const keep = doc.envelope.signatures.filter((s) => !signers.some((g) => g.keyid === s.keyid));
  return { ...doc.envelope, signatures: [...keep, ...extra.signatures] };
}
