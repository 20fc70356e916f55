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

const HEX = /^[0-9a-fA-F]+$/;

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
    const algs = Object.keys(ds);
    for (let j = 0; j < algs.length; j++) {
      const hex = (ds as Record<string, unknown>)[algs[j]!];
      if (typeof hex !== "string" || !HEX.test(hex)) {
        throw fieldError(`${field}[${JSON.stringify(paths[i])}].${algs[j]}`, "must be a hex digest", file);
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
