// SPDX-License-Identifier: Apache-2.0
// in-toto link metadata (in-toto specification v1.0, section 4.4 "Link"): what one step consumed
// (materials) and produced (products), the command it ran and its byproducts.
import type { DigestSet } from "../../core/digest.js";
import { fieldError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";

export type ArtifactMap = Record<string, DigestSet>;

export interface Link {
  _type: "link";
  name: string;
  command: string[];
  materials: ArtifactMap;
  products: ArtifactMap;
  byproducts: Record<string, unknown>;
  environment: Record<string, unknown>;
  [extra: string]: unknown;
}

/** The link file name the reference tool writes: `<step>.<first 8 hex of keyid>.link`. */
export function linkFileName(step: string, keyid: string): string {
  return `${step}.${keyid.slice(0, 8)}.link`;
}

/** The in-progress file name `in-toto-record start` writes: `.<step>.<keyid8>.link-unfinished`. */
export function unfinishedLinkFileName(step: string, keyid: string): string {
  return `.${step}.${keyid.slice(0, 8)}.link-unfinished`;
}

/** 1 for the bytes 0-9 a-f A-F. */
const HEX_DIGIT = new Uint8Array(128);
for (const c of "0123456789abcdefABCDEF") HEX_DIGIT[c.charCodeAt(0)] = 1;

/** A non-empty string of hex digits (a loop over a table: ~2x a regular expression on 64 characters). */
function isHex(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || HEX_DIGIT[c] === 0) return false;
  }
  return true;
}

function parseArtifacts(v: unknown, field: string, file?: string): ArtifactMap {
  if (!isJsonObject(v)) throw fieldError(field, "must be an object mapping paths to digest sets", file);
  // Links carry tens of thousands of artifacts: field names are built only when something is wrong.
  const paths = Object.keys(v);
  for (let i = 0; i < paths.length; i++) {
    const ds = v[paths[i]!];
    if (typeof ds !== "object" || ds === null || Array.isArray(ds)) {
      throw fieldError(
        `${field}[${JSON.stringify(paths[i])}]`,
        "must be a digest set (algorithm -> hex)",
        file,
      );
    }
    // for-in over the small digest sets allocates no key array (they share one shape and its enum
    // cache). It also visits inherited enumerable keys, which can only make the check stricter.
    for (const alg in ds) {
      const hex = (ds as Record<string, unknown>)[alg];
      if (typeof hex !== "string" || !isHex(hex)) {
        throw fieldError(`${field}[${JSON.stringify(paths[i])}].${alg}`, "must be a hex digest", file);
      }
    }
  }
  return v as ArtifactMap;
}

/** Validates the "signed" part of a link; unknown fields are kept. */
export function parseLink(obj: unknown, file?: string): Link {
  if (!isJsonObject(obj)) throw fieldError("signed", "a link must be an object", file);
  if (obj._type !== "link")
    throw fieldError("_type", `must be "link", not ${JSON.stringify(obj._type)}`, file);
  if (typeof obj.name !== "string" || obj.name === "")
    throw fieldError("name", "must be a non-empty string", file);
  const command = obj.command ?? [];
  if (!Array.isArray(command) || !command.every((c) => typeof c === "string")) {
    throw fieldError("command", "must be a list of strings", file);
  }
  parseArtifacts(obj.materials ?? {}, "materials", file);
  parseArtifacts(obj.products ?? {}, "products", file);
  for (const f of ["byproducts", "environment"] as const) {
    if (obj[f] !== undefined && obj[f] !== null && !isJsonObject(obj[f]))
      throw fieldError(f, "must be an object", file);
  }
  return {
    ...obj,
    command,
    materials: (obj.materials ?? {}) as ArtifactMap,
    products: (obj.products ?? {}) as ArtifactMap,
    byproducts: (obj.byproducts ?? {}) as Record<string, unknown>,
    environment: (obj.environment ?? {}) as Record<string, unknown>,
  } as Link;
}

/** A new link object with the fields in the order the reference tool writes them. */
export function newLink(fields: {
  name: string;
  command?: string[];
  materials?: ArtifactMap;
  products?: ArtifactMap;
  byproducts?: Record<string, unknown>;
  environment?: Record<string, unknown>;
}): Link {
  return {
    _type: "link",
    name: fields.name,
    command: fields.command ?? [],
    materials: fields.materials ?? {},
    products: fields.products ?? {},
    byproducts: fields.byproducts ?? {},
    environment: fields.environment ?? {},
  };
}
