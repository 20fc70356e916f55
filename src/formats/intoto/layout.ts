// SPDX-License-Identifier: Apache-2.0
// in-toto layout (in-toto specification v1.0, section 4.3 "Layout"): the supply chain's steps,
// who may perform them (functionary keys, thresholds), inspections, artifact rules and expiry.
import { cairnError, fieldError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import { type PublicKey, publicKeyFromSslib, type SslibPublicKey } from "../../core/keys.js";
import { type ArtifactRule, parseRules } from "./rules.js";

export interface Step {
  _type: "step";
  name: string;
  threshold: number;
  pubkeys: string[];
  expected_command: string[];
  expected_materials: string[][];
  expected_products: string[][];
  [extra: string]: unknown;
}

export interface Inspection {
  _type: "inspection";
  name: string;
  run: string[];
  expected_materials: string[][];
  expected_products: string[][];
  [extra: string]: unknown;
}

export interface Layout {
  _type: "layout";
  expires: string;
  readme: string;
  keys: Record<string, SslibPublicKey>;
  steps: Step[];
  inspect: Inspection[];
  [extra: string]: unknown;
}

/** A layout with its keys and rules parsed, for the verifier. */
export interface ParsedLayout {
  layout: Layout;
  expires: Date;
  /** Functionary keys by the id the layout gives them. */
  keys: Map<string, PublicKey>;
  steps: Array<{ step: Step; materials: ArtifactRule[]; products: ArtifactRule[] }>;
  inspections: Array<{ inspection: Inspection; materials: ArtifactRule[]; products: ArtifactRule[] }>;
}

/** ISO 8601 UTC as in-toto writes it: 2030-01-01T00:00:00Z. */
const EXPIRES_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function strList(v: unknown, field: string, file?: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw fieldError(field, "must be a list of strings", file);
  return v;
}

/** Validates a layout's "signed" part, parsing its keys and artifact rules; errors name the field. */
export function parseLayout(obj: unknown, file?: string): ParsedLayout {
  try {
    return parseLayoutInner(obj, file);
  } catch (e) {
    if (file && e instanceof Error && "inFile" in e) (e as ReturnType<typeof fieldError>).inFile(file);
    throw e;
  }
}

function parseLayoutInner(obj: unknown, file?: string): ParsedLayout {
  if (!isJsonObject(obj)) throw fieldError("signed", "a layout must be an object", file);
  if (obj._type !== "layout")
    throw fieldError("_type", `must be "layout", not ${JSON.stringify(obj._type)}`, file);
  if (typeof obj.expires !== "string" || !EXPIRES_RE.test(obj.expires)) {
    throw fieldError("expires", "must be an ISO 8601 UTC time such as 2030-01-01T00:00:00Z", file);
  }
  const expires = new Date(obj.expires);
  if (Number.isNaN(expires.getTime())) throw fieldError("expires", "is not a valid date", file);
  if (obj.readme !== undefined && typeof obj.readme !== "string")
    throw fieldError("readme", "must be a string", file);
  if (!isJsonObject(obj.keys))
    throw fieldError("keys", "must be an object mapping key ids to public keys", file);
  const keys = new Map<string, PublicKey>();
  for (const [id, k] of Object.entries(obj.keys)) {
    try {
      keys.set(id, publicKeyFromSslib(k, id));
    } catch (e) {
      if (e instanceof Error && "underField" in e)
        (e as ReturnType<typeof fieldError>).underField(`keys.${id}`);
      throw e;
    }
  }
  if (!Array.isArray(obj.steps)) throw fieldError("steps", "must be a list", file);
  if (!Array.isArray(obj.inspect ?? [])) throw fieldError("inspect", "must be a list", file);
  const names = new Set<string>();
  const uniqueName = (name: unknown, field: string): string => {
    if (typeof name !== "string" || name === "") throw fieldError(field, "must be a non-empty string", file);
    if (names.has(name)) throw fieldError(field, `step or inspection name "${name}" is used twice`, file);
    names.add(name);
    return name;
  };
  const steps = obj.steps.map((s, i) => {
    const f = `steps[${i}]`;
    if (!isJsonObject(s)) throw fieldError(f, "must be an object", file);
    if (s._type !== undefined && s._type !== "step") throw fieldError(`${f}._type`, 'must be "step"', file);
    uniqueName(s.name, `${f}.name`);
    const threshold = s.threshold ?? 1;
    if (!Number.isSafeInteger(threshold) || (threshold as number) < 1) {
      throw fieldError(`${f}.threshold`, "must be a positive integer", file);
    }
    const pubkeys = strList(s.pubkeys ?? [], `${f}.pubkeys`, file);
    if (new Set(pubkeys).size !== pubkeys.length) {
      throw cairnError("ERR_KEY_DUPLICATE", "a key id is listed twice", {
        field: `${f}.pubkeys`,
        ...(file ? { file } : {}),
      });
    }
    strList(s.expected_command ?? [], `${f}.expected_command`, file);
    const step = {
      ...s,
      _type: "step",
      threshold,
      pubkeys,
      expected_command: s.expected_command ?? [],
      expected_materials: s.expected_materials ?? [],
      expected_products: s.expected_products ?? [],
    } as Step;
    return {
      step,
      materials: parseRules(step.expected_materials, `${f}.expected_materials`),
      products: parseRules(step.expected_products, `${f}.expected_products`),
    };
  });
  const inspections = ((obj.inspect ?? []) as unknown[]).map((s, i) => {
    const f = `inspect[${i}]`;
    if (!isJsonObject(s)) throw fieldError(f, "must be an object", file);
    uniqueName(s.name, `${f}.name`);
    const run = strList(s.run ?? [], `${f}.run`, file);
    if (run.length === 0) throw fieldError(`${f}.run`, "an inspection needs a command to run", file);
    const inspection = {
      ...s,
      _type: "inspection",
      run,
      expected_materials: s.expected_materials ?? [],
      expected_products: s.expected_products ?? [],
    } as Inspection;
    return {
      inspection,
      materials: parseRules(inspection.expected_materials, `${f}.expected_materials`),
      products: parseRules(inspection.expected_products, `${f}.expected_products`),
    };
  });
  return { layout: obj as Layout, expires, keys, steps, inspections };
}
