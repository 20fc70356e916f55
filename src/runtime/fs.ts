// SPDX-License-Identifier: Apache-2.0
// Filesystem adapters: atomic writes (temp file + fsync + rename, so a crash or an error never
// leaves a partial file) and reads that distinguish "missing" from "unreadable".
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cairnError } from "../core/errors.js";

/** Writes a file atomically: readers see the old content or the whole new content, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(tmp, "wx", mode);
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    throw cairnError(
      "ERR_IO",
      `cannot write ${path}: ${err.code ?? err.message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** Reads a file, or undefined when it does not exist; other failures are ERR_IO naming the file. */
export async function readFileIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") return undefined;
    throw cairnError(
      "ERR_IO",
      `cannot read ${path}: ${err.code ?? err.message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** Reads a file that must exist: ERR_NOT_FOUND or ERR_IO naming it otherwise. */
export async function readFileRequired(path: string, what = "file"): Promise<Buffer> {
  const b = await readFileIfExists(path);
  if (b === undefined) throw cairnError("ERR_NOT_FOUND", `${what} does not exist`, { file: path });
  return b;
}
