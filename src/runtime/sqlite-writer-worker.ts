// SPDX-License-Identifier: Apache-2.0
// The writer thread of sqlite-writer.ts: the log's appends and the store's puts of a SQLite data
// directory, each a synchronous better-sqlite3 transaction (the log's with its fsync), run here so
// that the main thread keeps parsing requests and cutting the next batch meanwhile.
//
// This module is the worker's entry: sqlite-writer.ts starts a worker on this very file (its URL,
// from a dynamic import, so the CLI bundle keeps it in a chunk of its own) with `workerData.role`
// set; imported anywhere else it does nothing. The thread opens its own connections to the files
// the main thread opened (and migrated) first, and runs the same storage code.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { CairnError } from "../core/errors.js";
import { unpack } from "./packed.js";
import type { SqliteWriterReply, SqliteWriterRequest } from "./sqlite-writer.js";
import { type SqlSearchIndex, sqliteSearchIndex } from "./store-sql.js";
import { type SqlLogStorage, sqliteLogStorage } from "./tlog-sql.js";

/** The `workerData.role` that makes this module run as the writer thread. */
export const SQLITE_WRITER_ROLE = "cairn-sqlite-writer";
/** This module's URL: the entry of the writer thread. */
export const SQLITE_WRITER_URL: string = import.meta.url;

function failed(seq: number, err: unknown): SqliteWriterReply {
  if (err instanceof CairnError) {
    return {
      seq,
      error: {
        code: err.code,
        message: err.message,
        ...(err.field === undefined ? {} : { field: err.field }),
      },
    };
  }
  return { seq, error: { message: (err as Error)?.message ?? String(err) } };
}

function serve(): void {
  const port = parentPort;
  if (port === null) return;
  const { logPath, storePath } = workerData as { logPath?: string; storePath?: string };
  // Opened once, on the first request that needs each; an open that fails is retried next time.
  let log: Promise<SqlLogStorage> | undefined;
  let store: Promise<SqlSearchIndex> | undefined;
  const openLog = () => {
    if (logPath === undefined) throw new Error("this writer thread has no log");
    log ??= sqliteLogStorage(logPath).catch((e) => {
      log = undefined;
      throw e;
    });
    return log;
  };
  const openStore = () => {
    if (storePath === undefined) throw new Error("this writer thread has no store");
    // This thread may wait for the disk: SQLite syncs the store's WAL inside each commit.
    store ??= sqliteSearchIndex(storePath, { durability: "commit" }).catch((e) => {
      store = undefined;
      throw e;
    });
    return store;
  };
  const run = async (r: SqliteWriterRequest): Promise<void> => {
    switch (r.op) {
      case "append": {
        const { start, checkpoint, times } = r.batch;
        const hashes = unpack(r.batch.leafHashes);
        const leaves = unpack(r.batch.data).map((data, i) => ({
          data,
          leafHash: hashes[i]!,
          ...(times[i] === undefined ? {} : { time: times[i] }),
        }));
        return (await openLog()).append({ start, leaves, checkpoint });
      }
      case "putMany": {
        const envelopes = unpack(r.records.envelopes);
        return (await openStore()).putMany(
          r.records.records.map((rec, i) => ({ ...rec, envelope: envelopes[i]! })),
        );
      }
      case "close":
        await Promise.allSettled([log?.then((l) => l.close()), store?.then((s) => s.close())]);
        log = store = undefined;
    }
  };
  // Each request runs as it arrives: the transactions themselves are synchronous, so two never
  // interleave; a store put waiting for its WAL sync lets the next log append run meanwhile.
  port.on("message", (r: SqliteWriterRequest) => {
    run(r).then(
      () => port.postMessage({ seq: r.seq } satisfies SqliteWriterReply),
      (e) => port.postMessage(failed(r.seq, e)),
    );
  });
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === SQLITE_WRITER_ROLE) serve();
