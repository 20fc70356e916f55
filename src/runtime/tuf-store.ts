// SPDX-License-Identifier: Apache-2.0
// A TUF client's trusted metadata in a directory, laid out as the TUF conformance suite's client
// protocol expects (root.json, timestamp.json, ...; delegated roles as <encoded name>.json).
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { cairnError } from "../core/errors.js";
import type { MetadataStore } from "../engines/tuf/index.js";
import { readFileIfExists, writeFileAtomic } from "./fs.js";

/**
 * A name as one file name: percent-encoded, so "/", "..", "?" in attacker-chosen role names or
 * target paths can neither leave the directory nor collide ("." and ".." are encoded too).
 */
export function fileNameFor(name: string): string {
  const enc = encodeURIComponent(name);
  // "%" alone is never an encoding's output: the empty name cannot collide with another.
  if (enc === "") return "%";
  return enc === "." || enc === ".." ? enc.replaceAll(".", "%2E") : enc;
}

/**
 * Trusted metadata in a directory, as the conformance protocol wants it: `root.json`,
 * `timestamp.json`, ... (never versioned names), delegated roles as `<encoded name>.json`.
 * Writes are atomic and durable (writeFileAtomic); failures are ERR_IO.
 */
export function directoryMetadataStore(dir: string): MetadataStore {
  const path = (role: string) => join(dir, `${fileNameFor(role)}.json`);
  return {
    load: (role) => readFileIfExists(path(role)),
    save: (role, bytes) => writeFileAtomic(path(role), bytes),
    remove: async (role) => {
      await rm(path(role), { force: true }).catch((e) => {
        throw cairnError("ERR_IO", `cannot remove ${path(role)}: ${(e as Error).message}`, {
          file: path(role),
        });
      });
    },
  };
}
