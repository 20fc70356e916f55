// SPDX-License-Identifier: Apache-2.0
// Hashing and writing a blob's batches, on the main thread or off it. A large blob arriving from
// the network costs three passes over its bytes: the socket read, SHA-256, and the copy into the
// page cache. On the main thread the first two are serial; a worker thread that hashes and writes
// each batch while the main thread reads the next one overlaps them (bench/ oci-copy, the pull
// direction). The workers are one process-wide pool, started on first use and never keeping the
// process alive when idle.
//
// Ownership: a buffer given to `write` belongs to the writer until the promise gives it back
// (to the worker it is transferred, not copied); the caller fills another one meanwhile.
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { cairnError } from "../core/errors.js";

export interface HashWriter {
  /** Hashes and appends `buf[0, len)`; resolves with `buf` (to be filled again) once written. */
  write(buf: Buffer, len: number): Promise<Buffer>;
  /** The hex digest of everything written (after every write has resolved). */
  digest(): Promise<string>;
  /** Resolves once no write is in flight (before the file is closed, whatever happened). */
  settle(): Promise<void>;
}

/**
 * Largest single write(2). Measured on Linux 6.18 ext4 (this project's CI machine): writing 1 GiB
 * into the page cache takes 0.6-1.0 s in writes of 64-256 KiB and 2-7 s in writes of 1-2 MiB
 * (large page-cache folios are slower to get than small ones), so batches are written in slices.
 */
export const WRITE_SLICE_BYTES = 128 * 1024;

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, Math.min(WRITE_SLICE_BYTES, chunk.byteLength - off));
    off += bytesWritten;
  }
}

/** Hashes on the calling thread, writes through the libuv pool. */
export function mainThreadHashWriter(fh: FileHandle, algorithm: string): HashWriter {
  const hash = createHash(algorithm);
  let last: Promise<unknown> = Promise.resolve();
  return {
    write(buf, len) {
      hash.update(buf.subarray(0, len));
      const p = last.then(() => writeAll(fh, buf.subarray(0, len))).then(() => buf);
      last = p.catch(() => {});
      return p;
    },
    async digest() {
      await last;
      return hash.digest("hex");
    },
    async settle() {
      await last;
    },
  };
}

// The worker: plain CommonJS evaluated from this string, so the one-file bundle needs no second
// file. Per blob id a hash; each "write" hashes the batch, writes it to the fd with writeSync and
// sends the buffer back.
const WORKER_SOURCE = `
// generated from hash-writer.ts
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { writeSync } = require("node:fs");
const hashes = new Map();
parentPort.on("message", (m) => {
  try {
    if (m.op === "write") {
      let h = hashes.get(m.id);
      if (h === undefined) { h = createHash(m.alg); hashes.set(m.id, h); }
      const b = Buffer.from(m.buf, 0, m.len);
      h.update(b);
      for (let off = 0; off < m.len; ) off += writeSync(m.fd, b, off, Math.min(${WRITE_SLICE_BYTES}, m.len - off));
      parentPort.postMessage({ seq: m.seq, buf: m.buf }, [m.buf]);
    } else if (m.op === "digest") {
      const h = hashes.get(m.id) ?? createHash(m.alg);
      hashes.delete(m.id);
      parentPort.postMessage({ seq: m.seq, digest: h.digest("hex") });
    } else if (m.op === "drop") {
      hashes.delete(m.id);
      parentPort.postMessage({ seq: m.seq });
    }
  } catch (e) {
    if (m.op !== "digest") hashes.delete(m.id);
    parentPort.postMessage({ seq: m.seq, error: String((e && e.code) || e), buf: m.buf }, m.buf ? [m.buf] : []);
  }
});
`;

interface Reply {
  seq: number;
  buf?: ArrayBuffer;
  digest?: string;
  error?: string;
}

class HashWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  #seq = 0;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.unref();
    this.#worker.on("message", (r: Reply) => {
      const p = this.#pending.get(r.seq);
      if (p === undefined) return;
      this.#pending.delete(r.seq);
      if (this.#pending.size === 0) this.#worker.unref();
      p.resolve(r);
    });
    this.#worker.on("error", (e) => this.#failAll(e));
    this.#worker.on("exit", () => this.#failAll(new Error("the hashing thread exited")));
  }

  #failAll(e: unknown) {
    workers = workers.filter((w) => w !== this);
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const seq = ++this.#seq;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      // Referenced while a reply is awaited, so the process does not exit under a pending put.
      this.#worker.ref();
      this.#worker.postMessage({ ...msg, seq }, transfer);
    });
  }
}

let workers: HashWorker[] = [];
let nextWorker = 0;
let nextId = 0;

/**
 * Hashing threads at most: the main thread reads sockets, these hash and write. One per blob
 * transfer of a default copy (DEFAULT_COPY_CONCURRENCY), not one per core: a write the kernel
 * holds back (dirty-page throttling while other processes fill the disk) then stalls one blob,
 * not every blob sharing its thread (seen in bench/ on a loaded machine).
 */
export const MAX_HASH_WORKERS = 4;

function pickWorker(): HashWorker {
  const size = MAX_HASH_WORKERS;
  if (workers.length < size) workers.push(new HashWorker());
  const w = workers[nextWorker % workers.length]!;
  nextWorker++;
  return w;
}

/**
 * Hashes and writes in a worker thread (to `fh`'s descriptor, at its current position, in
 * order). `buf` must own its whole ArrayBuffer (Buffer.allocUnsafeSlow): it is transferred.
 */
export function workerHashWriter(fh: FileHandle, algorithm: string): HashWriter {
  const w = pickWorker();
  const id = ++nextId;
  let last: Promise<unknown> = Promise.resolve();
  let failed: unknown;
  const fail = (r: Reply) => cairnError("ERR_IO", `cannot write blob: ${r.error ?? "unknown error"}`, {});
  return {
    write(buf, len) {
      if (buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.byteLength) {
        throw cairnError("ERR_INTERNAL", "a hash-writer buffer must own its memory");
      }
      const p = w
        .call({ op: "write", id, alg: algorithm, fd: fh.fd, buf: buf.buffer, len }, [
          buf.buffer as ArrayBuffer,
        ])
        .then((r) => {
          if (r.error !== undefined) {
            failed ??= fail(r);
            throw failed;
          }
          return Buffer.from(r.buf as ArrayBuffer);
        });
      last = p.catch(() => {});
      return p;
    },
    async digest() {
      await last;
      if (failed !== undefined) throw failed;
      const r = await w.call({ op: "digest", id, alg: algorithm });
      if (r.digest === undefined) throw fail(r);
      return r.digest;
    },
    async settle() {
      await last;
      // Forget the hash of an abandoned blob (replies are in order: every write is done).
      await w.call({ op: "drop", id }).catch(() => {});
    },
  };
}
