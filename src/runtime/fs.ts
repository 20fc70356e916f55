// SPDX-License-Identifier: Apache-2.0
// Filesystem adapters: atomic writes (temp file + fsync + rename, so a crash or an error never
// leaves a partial file) and reads that distinguish "missing" from "unreadable".
import { randomBytes } from "node:crypto";
import { type FileHandle, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cairnError } from "../core/errors.js";

/**
 * A file written in parts, atomically: the parts go to a temporary file beside `path`; `commit`
 * fsyncs it and renames it into place, `abort` removes it. Until `commit` resolves nothing at
 * `path` changes, and after a failure nothing is left behind. Failures are ERR_IO naming `path`.
 */
export interface AtomicFileWriter {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Opens an AtomicFileWriter for `path` (its directory must exist). */
export async function openFileAtomic(path: string, mode = 0o644): Promise<AtomicFileWriter> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const failed = (e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    return cairnError(
      "ERR_IO",
      `cannot write ${path}: ${err.code ?? err.message}`,
      { file: path },
      { cause: e },
    );
  };
  let fh: FileHandle;
  try {
    fh = await open(tmp, "wx", mode);
  } catch (e) {
    throw failed(e);
  }
  let open_ = true;
  const abort = async () => {
    if (open_) await fh.close().catch(() => {});
    open_ = false;
    await unlink(tmp).catch(() => {});
  };
  return {
    async write(chunk) {
      try {
        for (let off = 0; off < chunk.byteLength; ) off += (await fh.write(chunk, off)).bytesWritten;
      } catch (e) {
        await abort();
        throw failed(e);
      }
    },
    async commit() {
      try {
        await fh.sync();
        await fh.close();
        open_ = false;
        await rename(tmp, path);
      } catch (e) {
        await abort();
        throw failed(e);
      }
    },
    abort,
  };
}

/** Writes a file atomically: readers see the old content or the whole new content, never a part. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const w = await openFileAtomic(path, mode);
  await w.write(typeof data === "string" ? Buffer.from(data, "utf8") : data);
  await w.commit();
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
