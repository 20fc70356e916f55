// SPDX-License-Identifier: Apache-2.0
// The port of the TUF repository (specification 1.0.x sections 4 and 7): a flat area of named
// files. The repository keeps its working state (metadata, configuration, target contents) in one
// area and publishes into another, which a static web server serves as is.
import { cairnError } from "../../core/errors.js";

/**
 * Files by name. A name is a relative path of "/"-separated segments (see checkAreaName); the
 * engine only ever makes such names, and an adapter maps each segment to one directory entry.
 *
 * Contract:
 * - `read` returns the whole content last written under the name, or undefined when there is
 *   none. Never a partial file. Failure to read is ERR_IO (never "absent").
 * - `write` replaces the content durably and atomically: once it resolves the content survives a
 *   crash (file and directory entry synced); a crash or failure before then leaves the old content
 *   or none, never a part. Failure is ERR_IO. Writes are visible to readers in the order they
 *   resolve: the publish protocol relies on it (timestamp.json last).
 * - `remove` forgets a name (no error when absent). Failure is ERR_IO.
 * - Concurrency: one writer at a time (the engine does not lock); readers may run concurrently
 *   with it (a web server serving a published area). No retries.
 */
export interface FileArea {
  read(name: string): Promise<Uint8Array | undefined>;
  write(name: string, bytes: Uint8Array): Promise<void>;
  remove(name: string): Promise<void>;
  /**
   * Optional: writes many files at once (16,384 hash bins, tens of thousands of targets), each
   * atomically, all durable once it resolves (an adapter may sync them together instead of one by
   * one). On failure or crash, any subset of them may have been written, each whole or not at
   * all; none is visible before the call starts. Files given twice: the last wins.
   */
  writeMany?(files: readonly AreaFile[]): Promise<void>;
  /**
   * Optional: whether a name holds content, without reading it (the consistency check asks this
   * of 65,536 target contents). Same answers as `read(name) !== undefined`; failure is ERR_IO.
   */
  has?(name: string): Promise<boolean>;
}

/** A named file for FileArea.writeMany. */
export interface AreaFile {
  name: string;
  bytes: Uint8Array;
}

/** Writes `files` with the area's writeMany, or one by one when it has none. */
export async function writeAll(area: FileArea, files: readonly AreaFile[]): Promise<void> {
  if (files.length === 0) return;
  if (area.writeMany !== undefined) return area.writeMany(files);
  for (const f of files) await area.write(f.name, f.bytes);
}

/**
 * Reads many names with up to `concurrency` reads in flight (an adapter's reads are often
 * round trips: one at a time, 16,384 bins would cost seconds). Results in the order of `names`.
 */
export async function readAll(
  area: FileArea,
  names: readonly string[],
  concurrency = 32,
): Promise<Array<Uint8Array | undefined>> {
  const out: Array<Uint8Array | undefined> = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      out[i] = await area.read(names[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  return out;
}

/**
 * Throws ERR_FIELD_INVALID unless `name` is a safe area name: non-empty segments, none "." or
 * "..", no backslash, no NUL, no leading "/". Target paths become names when published, and a
 * developer chooses them: this is what keeps "../../etc/passwd" inside the published directory.
 */
export function checkAreaName(name: string): void {
  const bad = (why: string) => cairnError("ERR_FIELD_INVALID", `${JSON.stringify(name)} ${why}`);
  if (name === "") throw bad("is empty");
  if (name.includes("\\") || name.includes("\0")) throw bad("contains a backslash or NUL");
  for (const seg of name.split("/")) {
    if (seg === "") throw bad("has an empty path segment (or a leading or doubled /)");
    if (seg === "." || seg === "..") throw bad(`has a "${seg}" path segment`);
  }
}
