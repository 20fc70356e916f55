// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 config.md: the image configuration (application/vnd.oci.image.config.v1+json),
// checked for the fields that decide what runs: platform, rootfs.diff_ids, the execution config.
// Lossless: unknown fields are kept.
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { checkString, checkStringArray, ociInvalid } from "./descriptor.js";
import { parseDigest } from "./digest.js";
import { MAX_MANIFEST_DEPTH } from "./manifest.js";

/** Largest image config accepted, in bytes (configs carry history and labels, but not megabytes of it). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** config.md `config`: the execution parameters. */
export interface ExecutionConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  [extra: string]: unknown;
}

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  [extra: string]: unknown;
}

/** config.md "Properties". */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: ExecutionConfig;
  rootfs: { type: "layers"; diff_ids: string[]; [extra: string]: unknown };
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

// RFC 3339 section 5.6 date-time (config.md `created`).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function checkCreated(v: unknown, field: string): void {
  if (v === undefined) return;
  if (typeof v !== "string" || !RFC3339.test(v)) throw ociInvalid(field, "must be an RFC 3339 date-time");
}

function checkStringMap(v: unknown, field: string): void {
  if (!isJsonObject(v)) throw ociInvalid(field, "must be a map of strings to strings");
  for (const [k, s] of Object.entries(v))
    if (typeof s !== "string") throw ociInvalid(`${field}.${k}`, "must be a string");
}

/** Validates a parsed image config in place; ERR_OCI_MANIFEST_INVALID naming the field. */
export function validateImageConfig(doc: unknown): ImageConfig {
  if (!isJsonObject(doc)) throw ociInvalid(undefined, "an image config must be a JSON object");
  checkCreated(doc.created, "created");
  checkString(doc, "author", "", true);
  checkString(doc, "architecture", "");
  checkString(doc, "os", "");
  checkString(doc, "os.version", "", true);
  checkString(doc, "variant", "", true);
  if (doc["os.features"] !== undefined) checkStringArray(doc["os.features"], "os.features");
  if (doc.config !== undefined && doc.config !== null) {
    const c = doc.config;
    if (!isJsonObject(c)) throw ociInvalid("config", "must be an object");
    for (const k of ["User", "WorkingDir", "StopSignal"]) checkString(c, k, "config", true);
    if (c.Env !== undefined && c.Env !== null) checkStringArray(c.Env, "config.Env");
    for (const k of ["Entrypoint", "Cmd"])
      if (c[k] !== undefined && c[k] !== null) checkStringArray(c[k], `config.${k}`);
    for (const k of ["ExposedPorts", "Volumes"]) {
      if (c[k] !== undefined && c[k] !== null && !isJsonObject(c[k]))
        throw ociInvalid(`config.${k}`, "must be an object");
    }
    if (c.Labels !== undefined && c.Labels !== null) checkStringMap(c.Labels, "config.Labels");
  }
  // config.md `rootfs`: REQUIRED; `type` MUST be "layers"; `diff_ids` are layer DiffIDs (digests).
  const r = doc.rootfs;
  if (!isJsonObject(r)) throw ociInvalid("rootfs", r === undefined ? "is missing" : "must be an object");
  if (r.type !== "layers") throw ociInvalid("rootfs.type", 'must be "layers"');
  if (!Array.isArray(r.diff_ids)) throw ociInvalid("rootfs.diff_ids", "must be an array of digests");
  r.diff_ids.forEach((d, i) => {
    parseDigest(d, `rootfs.diff_ids[${i}]`);
  });
  if (doc.history !== undefined) {
    if (!Array.isArray(doc.history)) throw ociInvalid("history", "must be an array");
    doc.history.forEach((h, i) => {
      const f = `history[${i}]`;
      if (!isJsonObject(h)) throw ociInvalid(f, "must be an object");
      checkCreated(h.created, `${f}.created`);
      for (const k of ["author", "created_by", "comment"]) checkString(h, k, f, true);
      if (h.empty_layer !== undefined && typeof h.empty_layer !== "boolean") {
        throw ociInvalid(`${f}.empty_layer`, "must be a boolean");
      }
    });
  }
  return doc as ImageConfig;
}

/** Parses and validates the bytes of an image config (verify its digest first, e.g. with verifyDigest). */
export function parseImageConfig(bytes: Uint8Array, file?: string): ImageConfig {
  try {
    if (bytes.byteLength > MAX_CONFIG_BYTES) {
      throw cairnError(
        "ERR_OCI_TOO_LARGE",
        `image config is ${bytes.byteLength} bytes, more than ${MAX_CONFIG_BYTES}`,
      );
    }
    return validateImageConfig(
      parseJson(bytes, file, { maxBytes: MAX_CONFIG_BYTES, maxDepth: MAX_MANIFEST_DEPTH }),
    );
  } catch (e) {
    if (file !== undefined && e instanceof CairnError) e.inFile(file);
    throw e;
  }
}
