// SPDX-License-Identifier: Apache-2.0
// A writer thread for a SQLite data directory (sqlite-writer-worker.ts): the log's appends and the
// store's puts leave the main thread. Each is a synchronous better-sqlite3 transaction, the log's
// ending in an fsync (synchronous=FULL); on the main thread they held the event loop for a
// batch's whole write, so requests arriving meanwhile waited and the next batch could not be
// cut. The main thread keeps its own connections for reads (WAL: they see each commit once it is
// made) and for the rare other writes (migrations, the sequencer's address, back-fills).
//
// Semantics are the storages' own: the thread runs the same `SqlLogStorage.append` and
// `SqlSearchIndex.putMany` on its own connections, and a call resolves only once the thread's
// transaction committed (durably, as the storage defines it). Errors come back with their code,
// message and field. A thread that dies fails what it was doing (ERR_TLOG_STORAGE /
// ERR_STORE_STORAGE: the outcome is unknown, as for any failed append) and a new one starts on the
// next call. The thread is unreferenced while idle: it never keeps a process alive.
import type { Worker } from "node:worker_threads";
import { cairnError, ERROR_CATALOG, type ErrorCode } from "../core/errors.js";
import type { IndexRecord } from "../engines/store/index.js";
import type { AppendBatch } from "../engines/tlog/index.js";
import { type Packed, pack } from "./packed.js";
import { startModuleWorker } from "./worker-start.js";

/** A log batch as it travels to the thread. */
export interface PackedBatch {
  start: number;
  checkpoint: AppendBatch["checkpoint"];
  data: Packed;
  leafHashes: Packed;
  times: (number | undefined)[];
}

/** Store records as they travel to the thread: the envelopes packed, the rest as is. */
export interface PackedRecords {
  envelopes: Packed;
  records: Omit<IndexRecord, "envelope">[];
}

/** A request to the writer thread. */
export type SqliteWriterRequest =
  | { seq: number; op: "append"; batch: PackedBatch }
  | { seq: number; op: "putMany"; records: PackedRecords }
  | { seq: number; op: "close" };

/** The writer thread's answer: nothing, or the error the storage raised. */
export interface SqliteWriterReply {
  seq: number;
  error?: { code?: string; message: string; field?: string };
}

type Pending = { resolve: () => void; reject: (e: unknown) => void; failCode: ErrorCode };

export class SqliteWriterThread {
  private worker: Promise<Worker> | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;

  /** `logPath`/`storePath`: the SQLite files (already opened and migrated by the caller). */
  constructor(private readonly paths: { logPath?: string; storePath?: string }) {}

  /** Appends a log batch on the thread (SqlLogStorage.append's contract). */
  append(batch: AppendBatch): Promise<void> {
    const data = pack(batch.leaves.map((l) => l.data));
    const leafHashes = pack(batch.leaves.map((l) => l.leafHash));
    const packed: PackedBatch = {
      start: batch.start,
      checkpoint: batch.checkpoint,
      data,
      leafHashes,
      times: batch.leaves.map((l) => l.time),
    };
    return this.call({ op: "append", batch: packed }, [data.bytes, leafHashes.bytes], "ERR_TLOG_STORAGE");
  }

  /** Stores envelopes on the thread (SqlSearchIndex.putMany's contract). */
  putMany(records: readonly IndexRecord[]): Promise<void> {
    const envelopes = pack(records.map((r) => r.envelope));
    const packed: PackedRecords = {
      envelopes,
      records: records.map(({ envelope: _, ...rest }) => rest),
    };
    return this.call({ op: "putMany", records: packed }, [envelopes.bytes], "ERR_STORE_STORAGE");
  }

  /** Closes the thread's connections and stops it; what waits is answered first. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    const worker = await w.catch(() => undefined);
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const seq = ++this.seq;
      this.pending.set(seq, { resolve, reject: () => resolve(), failCode: "ERR_INTERNAL" });
      worker.ref();
      worker.postMessage({ seq, op: "close" } satisfies SqliteWriterRequest);
    });
    await worker.terminate();
  }

  private async call(
    req: { op: "append"; batch: PackedBatch } | { op: "putMany"; records: PackedRecords },
    transfer: ArrayBuffer[],
    failCode: ErrorCode,
  ): Promise<void> {
    if (this.closed) throw cairnError("ERR_USAGE", "the SQLite writer thread is closed");
    const worker = await this.start();
    const seq = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, failCode });
      // Referenced while an answer is awaited, so the process does not exit under a write.
      worker.ref();
      worker.postMessage({ seq, ...req } as SqliteWriterRequest, transfer);
    });
  }

  private start(): Promise<Worker> {
    if (this.worker) return this.worker;
    const w = (async () => {
      const { SQLITE_WRITER_ROLE, SQLITE_WRITER_URL } = await import("./sqlite-writer-worker.js");
      const worker = startModuleWorker(SQLITE_WRITER_URL, { role: SQLITE_WRITER_ROLE, ...this.paths });
      worker.unref();
      worker.on("message", (r: SqliteWriterReply) => {
        const p = this.pending.get(r.seq);
        if (p === undefined) return;
        this.pending.delete(r.seq);
        if (r.error === undefined) p.resolve();
        else p.reject(errorFrom(r.error, p.failCode));
        if (this.pending.size === 0) worker.unref();
      });
      const fail = (message: string) => {
        if (this.worker === w) this.worker = undefined;
        for (const p of this.pending.values()) p.reject(cairnError(p.failCode, message));
        this.pending.clear();
      };
      worker.on("error", (e) => fail(`the SQLite writer thread failed: ${e.message}`));
      worker.on("exit", () => fail("the SQLite writer thread exited"));
      return worker;
    })();
    this.worker = w;
    w.catch(() => {
      if (this.worker === w) this.worker = undefined;
    });
    return w;
  }
}

function errorFrom(e: NonNullable<SqliteWriterReply["error"]>, fallback: ErrorCode): Error {
  const code = e.code !== undefined && e.code in ERROR_CATALOG ? (e.code as ErrorCode) : fallback;
  return cairnError(code, e.message, e.field === undefined ? {} : { field: e.field });
}
