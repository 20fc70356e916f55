// SPDX-License-Identifier: Apache-2.0
// Hashing and writing a blob, on the main thread or off it. A large blob arriving from the network
// costs three passes over its bytes: the socket read, SHA-256, and the copy into the page cache.
// Off the main thread, a blob thread (blob-worker.ts) hashes and writes it; for a registry pull
// the same thread also makes the GET (WorkerSink, filled by registryHttp), so the main thread does
// no per-byte work and the blobs of a copy move side by side on as many threads (bench/ oci-copy,
// the pull direction). The threads are one process-wide pool, started on first use and never
// keeping the process alive when idle.
//
// Ownership: a buffer given to `write` belongs to the writer until the promise gives it back
// (to the worker it is transferred, not copied); the caller fills another one meanwhile.
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { cairnError, ERROR_CATALOG, type ErrorCode } from "../core/errors.js";
import type { BodySink, HttpMethod, HttpRequest, HttpResponse } from "../engines/oci/index.js";
import { startModuleWorker } from "./worker-start.js";

/**
 * Largest single write(2). Measured on Linux 6.18 ext4 (this project's CI machine): writing 1 GiB
 * into the page cache takes 0.6-1.0 s in writes of 64-256 KiB and 2-7 s in writes of 1-2 MiB
 * (large page-cache folios are slower to get than small ones), so batches are written in slices.
 */
export const WRITE_SLICE_BYTES = 128 * 1024;

export interface HashWriter {
  /** Hashes and appends `buf[0, len)`; resolves with `buf` (to be filled again) once written. */
  write(buf: Buffer, len: number): Promise<Buffer>;
  /** The hex digest of everything written (after every write has resolved). */
  digest(): Promise<string>;
  /** Resolves once no write is in flight (before the file is closed, whatever happened). */
  settle(): Promise<void>;
}

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

// ---- the blob threads (runtime/blob-worker.ts) ----

/** Messages to a blob thread (blob-worker.ts); every one is answered by a Reply with its `seq`. */
export type BlobOp =
  | { op: "open"; id: number; fd: number; alg: string; limit?: number }
  | { op: "write"; id: number; buf: ArrayBuffer; len: number }
  | { op: "reset"; id: number }
  | { op: "digest"; id: number }
  | { op: "drop"; id: number }
  | {
      op: "fetch";
      id: number;
      method: HttpMethod;
      url: string;
      headers: Record<string, string>;
      maxBytes: number;
      /** Bytes of an error answer's body read at most (the client reads no more of one). */
      errorBytes: number;
      timeoutMs?: number;
    }
  | { op: "fill"; id: number }
  | { op: "cancel"; id: number };

export interface Reply {
  seq: number;
  /** A `fill`'s progress note (not its answer): the bytes written so far. */
  progress?: boolean;
  /** The blob's bytes written so far (write, reset, fill, and with an error). */
  written?: number;
  buf?: ArrayBuffer;
  digest?: string;
  /** fetch: the answer's status line and headers; `held` when its body waits for fill. */
  status?: number;
  headers?: Record<string, string>;
  url?: string;
  body?: Uint8Array;
  held?: boolean;
  error?: { code?: string; message: string };
}

/** A blob thread on this project's blob-worker module (runtime/worker-start.ts). */
async function startWorker(): Promise<Worker> {
  const { BLOB_WORKER_ROLE, BLOB_WORKER_URL } = await import("./blob-worker.js");
  return startModuleWorker(BLOB_WORKER_URL, { role: BLOB_WORKER_ROLE });
}

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: unknown) => void;
  onProgress?: ((written: number) => void) | undefined;
}

class BlobThread {
  readonly #worker: Promise<Worker>;
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  /** Blobs open on this thread (opened and not yet digested or dropped). */
  open = 0;

  constructor() {
    this.#worker = startWorker().then((w) => {
      w.unref();
      w.on("message", (r: Reply) => {
        const p = this.#pending.get(r.seq);
        if (p === undefined) return;
        if (r.progress === true) {
          p.onProgress?.(r.written ?? 0);
          return;
        }
        this.#pending.delete(r.seq);
        if (this.#pending.size === 0) w.unref();
        p.resolve(r);
      });
      w.on("error", (e) => this.#failAll(e));
      w.on("exit", () => this.#failAll(new Error("the blob thread exited")));
      return w;
    });
    this.#worker.catch((e: unknown) => this.#failAll(e));
  }

  #failAll(e: unknown) {
    threads = threads.filter((t) => t !== this);
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  async call(
    msg: BlobOp,
    transfer: ArrayBuffer[] = [],
    onProgress?: (written: number) => void,
  ): Promise<Reply> {
    const w = await this.#worker;
    const seq = ++this.#seq;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject, onProgress });
      // Referenced while a reply is awaited, so the process does not exit under a pending put.
      w.ref();
      w.postMessage({ ...msg, seq }, transfer);
    });
  }
}

let threads: BlobThread[] = [];
let nextId = 0;

/**
 * Blob threads at most. Each thread now does all of a blob's per-byte work (socket read, hash,
 * write), so threads beyond the cores only cost memory (about 50 MB each: an isolate and its
 * not-yet-collected 64 KiB read buffers) and CPU (fewer bytes per socket read): on the 2-core
 * bench machine four threads used 20% more CPU and 100 MB more than two for the same pull. Two at
 * least, so that a write the kernel holds back (dirty-page throttling) stalls only the blobs
 * sharing one thread.
 */
export const MAX_HASH_WORKERS = 4;
const POOL_SIZE = Math.max(2, Math.min(MAX_HASH_WORKERS, availableParallelism()));

/** A new thread while the pool is not full, else the one carrying the fewest blobs. */
function pickThread(): BlobThread {
  if (threads.length < POOL_SIZE && !threads.some((t) => t.open === 0)) threads.push(new BlobThread());
  let best = threads[0]!;
  for (const t of threads) if (t.open < best.open) best = t;
  best.open++;
  return best;
}

function errorFrom(r: Reply): Error {
  const e = r.error ?? { message: "cannot write blob: unknown error" };
  const code = e.code !== undefined && e.code in ERROR_CATALOG ? (e.code as ErrorCode) : "ERR_IO";
  return cairnError(code, e.message);
}

/** A worker-hashed blob: its HashWriter, and the sink a registry GET can fill in its thread. */
export interface WorkerBlob extends HashWriter {
  readonly sink: WorkerSink;
}

/**
 * The BodySink of a blob being hashed and written in a blob thread. `registryHttp` recognizes it
 * and makes the request in that thread (`request`), so the body never reaches the main thread.
 */
export class WorkerSink implements BodySink {
  written = 0;
  readonly #blob: WorkerBlobImpl;

  constructor(blob: WorkerBlobImpl) {
    this.#blob = blob;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const buf = Buffer.allocUnsafeSlow(chunk.byteLength);
    buf.set(chunk);
    await this.#blob.write(buf, buf.byteLength);
  }

  async reset(): Promise<void> {
    const r = await this.#blob.call({ op: "reset", id: this.#blob.id });
    if (r.error !== undefined) throw errorFrom(r);
    this.written = 0;
  }

  /**
   * `req` (a GET with `response: "sink"`) made by the blob thread: the status and headers come
   * back; a 2xx body stays there until `fill` writes it into this blob (or `cancel` drops it).
   */
  async request(req: HttpRequest, timeoutMs: number | undefined): Promise<HttpResponse> {
    const b = this.#blob;
    const r = await b.call({
      op: "fetch",
      id: b.id,
      method: req.method,
      url: req.url,
      headers: req.headers,
      maxBytes: req.maxBytes,
      errorBytes: req.maxErrorBytes ?? req.maxBytes,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    if (r.error !== undefined) throw errorFrom(r);
    const res: HttpResponse = {
      status: r.status ?? 0,
      headers: r.headers ?? {},
      url: r.url ?? req.url,
      body: r.body === undefined ? new Uint8Array(0) : Buffer.from(r.body),
      cancel: async () => {
        await b.call({ op: "cancel", id: b.id });
      },
    };
    if (r.held !== true) return res;
    return {
      ...res,
      fill: async (onBytes) => {
        const from = this.written;
        const f = await b.call({ op: "fill", id: b.id }, [], (n) => {
          this.written = n;
          onBytes?.(n);
        });
        this.written = f.written ?? this.written;
        if (f.error !== undefined) throw errorFrom(f);
        onBytes?.(this.written);
        return this.written - from;
      },
    };
  }
}

class WorkerBlobImpl implements WorkerBlob {
  readonly id = ++nextId;
  readonly sink: WorkerSink;
  readonly #thread: BlobThread;
  readonly #opened: Promise<Reply>;
  #last: Promise<unknown> = Promise.resolve();
  #failed: unknown;

  constructor(fh: FileHandle, algorithm: string, limit: number | undefined) {
    this.#thread = pickThread();
    this.sink = new WorkerSink(this);
    this.#opened = this.#thread.call({
      op: "open",
      id: this.id,
      fd: fh.fd,
      alg: algorithm,
      ...(limit === undefined ? {} : { limit }),
    });
    this.#opened.catch(() => {});
  }

  async call(msg: BlobOp, transfer: ArrayBuffer[] = [], onProgress?: (n: number) => void): Promise<Reply> {
    await this.#opened;
    return this.#thread.call(msg, transfer, onProgress);
  }

  write(buf: Buffer, len: number): Promise<Buffer> {
    if (buf.byteOffset !== 0 || buf.buffer.byteLength !== buf.byteLength) {
      throw cairnError("ERR_INTERNAL", "a hash-writer buffer must own its memory");
    }
    const p = this.call({ op: "write", id: this.id, buf: buf.buffer as ArrayBuffer, len }, [
      buf.buffer as ArrayBuffer,
    ]).then((r) => {
      if (r.written !== undefined) this.sink.written = r.written;
      if (r.error !== undefined) {
        this.#failed ??= errorFrom(r);
        throw this.#failed;
      }
      return Buffer.from(r.buf as ArrayBuffer);
    });
    this.#last = p.catch(() => {});
    return p;
  }

  async digest(): Promise<string> {
    await this.#last;
    if (this.#failed !== undefined) throw this.#failed;
    const r = await this.call({ op: "digest", id: this.id });
    this.#close();
    if (r.digest === undefined) throw errorFrom(r);
    return r.digest;
  }

  async settle(): Promise<void> {
    await this.#last;
    // Forget an abandoned blob, and any answer still held for it (replies come in order).
    await this.call({ op: "drop", id: this.id }).catch(() => {});
    this.#close();
  }

  #closed = false;
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#thread.open--;
  }
}

/**
 * Hashes and writes in a blob thread (to `fh`'s descriptor, from its start, in order), at most
 * `limit` bytes (ERR_OCI_TOO_LARGE past it). A buffer given to `write` must own its whole
 * ArrayBuffer (Buffer.allocUnsafeSlow): it is transferred. Its `sink` can be filled by a registry
 * GET made in the same thread (registryHttp).
 */
export function workerHashWriter(fh: FileHandle, algorithm: string, limit?: number): WorkerBlob {
  return new WorkerBlobImpl(fh, algorithm, limit);
}
