// SPDX-License-Identifier: Apache-2.0
// The transparency log's storage (LogStorage, src/engines/tlog/storage.ts) over SQL, with one
// kysely data-access layer for two dialects: SQLite (better-sqlite3, one file, the embedded
// default) and PostgreSQL (pg, selected by a connection URL). Also elects the one sequencer of a
// log with a database lock: a PostgreSQL session-level advisory lock, or on SQLite a write
// transaction held open on a sibling lock file; the kernel and the server drop both when the
// holder dies, so a SIGKILLed sequencer never leaves the log without a writer.
//
// The drivers are imported lazily so commands that never touch a database do not load them.

import { createHash } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import { type ColumnType, type CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { CairnError, cairnError } from "../core/errors.js";
import {
  type AppendBatch,
  checkAppendBatch,
  checkIndexes,
  hashesOfLeaf,
  type LogStorage,
  type StorageHead,
} from "../engines/tlog/index.js";
import {
  driverErrorKind,
  insertRows,
  isPostgresUrl,
  migrateSchema,
  openPostgresPool,
  openSqlite,
  postgresConfig,
  requireSafeInteger,
  SqlWriter,
} from "./sql.js";

/** Integers come back as bigint (SQLite, safe-integer mode) or string (pg int8); written as numbers. */
type DbInt = ColumnType<bigint | number | string, number, number>;

interface Tables {
  cairn_schema: { component: string; version: DbInt };
  tlog_entries: { idx: DbInt; leaf_hash: Buffer; data: Buffer; integrated_time: DbInt };
  tlog_head: { id: number; size: DbInt; note: string | null };
  tlog_sequencer: { id: number; url: string };
  tlog_hashes: { hash: string; idx: DbInt };
  tlog_hash_backfill: { id: number; next: DbInt };
}

type Dialect = "sqlite" | "postgres";

/** Rows per INSERT statement: 4 parameters a row stays far below SQLite's 32766 and pg's 65535. */
const INSERT_CHUNK = 1000;
/** How long a SQLite writer waits for another process's write transaction (SQLITE_BUSY after). */

// The schema per version, per dialect. Version n's statements bring a version n-1 database to n.
// leaf_hash is unique: the sequencer never stores one leaf twice (a duplicate submission returns
// the existing entry), so a second row with the same hash can only come from another writer.
const MIGRATIONS: Record<Dialect, string[]>[] = [
  {
    sqlite: [
      // INTEGER PRIMARY KEY is the 64-bit rowid itself: entries are stored in index order.
      `create table if not exists tlog_entries (
         idx integer primary key check (idx >= 0),
         leaf_hash blob not null unique check (length(leaf_hash) = 32),
         data blob not null)`,
      `create table if not exists tlog_head (
         id integer primary key check (id = 1),
         size integer not null check (size >= 0),
         note text)`,
      "insert into tlog_head (id, size, note) values (1, 0, null) on conflict do nothing",
    ],
    postgres: [
      `create table if not exists tlog_entries (
         idx bigint primary key check (idx >= 0),
         leaf_hash bytea not null unique check (length(leaf_hash) = 32),
         data bytea not null)`,
      `create table if not exists tlog_head (
         id integer primary key check (id = 1),
         size bigint not null check (size >= 0),
         note text)`,
      "insert into tlog_head (id, size, note) values (1, 0, null) on conflict do nothing",
    ],
  },
  // Version 2: when each entry was integrated (Unix seconds; 0 for entries of version 1).
  {
    sqlite: ["alter table tlog_entries add column integrated_time integer not null default 0"],
    postgres: ["alter table tlog_entries add column integrated_time bigint not null default 0"],
  },
  // Version 3: where the current sequencer takes writes (for the other servers to forward them).
  {
    sqlite: [
      "create table if not exists tlog_sequencer (id integer primary key check (id = 1), url text not null)",
    ],
    postgres: [
      "create table if not exists tlog_sequencer (id integer primary key check (id = 1), url text not null)",
    ],
  },
  // Version 4: the hash index behind POST /api/v1/index/retrieve (engines/tlog `hashesOfLeaf`),
  // written in each append's transaction. Entries of earlier versions are back-filled at open
  // from `tlog_hash_backfill.next` (see `backfillHashes`), which the row's absence marks done.
  {
    sqlite: [
      `create table if not exists tlog_hashes (
         hash text not null,
         idx integer not null,
         primary key (hash, idx)) without rowid`,
      `create table if not exists tlog_hash_backfill (
         id integer primary key check (id = 1),
         next integer not null)`,
      "insert into tlog_hash_backfill (id, next) values (1, 0) on conflict do nothing",
    ],
    postgres: [
      `create table if not exists tlog_hashes (
         hash text not null,
         idx bigint not null,
         primary key (hash, idx))`,
      `create table if not exists tlog_hash_backfill (
         id integer primary key check (id = 1),
         next bigint not null)`,
      "insert into tlog_hash_backfill (id, next) values (1, 0) on conflict do nothing",
    ],
  },
  // Version 5: certificate identities join the hash index (the `identity:` and `oidc:` keys of
  // `hashesOfLeaf`): the back-fill indexes the whole log again from 0 (its inserts skip the keys
  // already there), resumable as in version 4.
  {
    sqlite: [
      "insert into tlog_hash_backfill (id, next) values (1, 0) on conflict (id) do update set next = 0",
    ],
    postgres: [
      "insert into tlog_hash_backfill (id, next) values (1, 0) on conflict (id) do update set next = 0",
    ],
  },
];

/** Entries read per back-fill transaction (`backfillHashes`). */
const BACKFILL_CHUNK = 4096;
/** Most log indexes `findByHash` returns. */
const MAX_FIND_BY_HASH = 10_000;

/** Held by the one sequencer of a log; see `SqlLogStorage.acquireSequencerLock`. */
export interface SequencerLock {
  /**
   * Aborted when the lock is released or lost (the dedicated PostgreSQL connection dropped: the
   * server then lets another process take it). A sequencer whose lock is lost must stop
   * appending; if it does not, its next append fails with ERR_TLOG_STORAGE_CONFLICT once the new
   * sequencer has written.
   */
  readonly signal: AbortSignal;
  /** Releases the lock; idempotent. */
  release(): Promise<void>;
}

/** Options of `postgresLogStorage`. */
export interface PostgresLogStorageOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

// 64-bit advisory lock keys from names (PostgreSQL advisory locks are per database).
const lockKey = (name: string) => createHash("sha256").update(name).digest().readBigInt64BE(0).toString();
const LOCK_KEY = lockKey("cairn tlog sequencer");
const MIGRATE_KEY = lockKey("cairn tlog migration");

/**
 * A `LogStorage` over SQLite or PostgreSQL. Create it with `sqliteLogStorage` or
 * `postgresLogStorage`, which create or migrate the schema.
 *
 * Durability: an append is one transaction (the entries and the checkpoint together) and is
 * committed durably before its promise resolves (SQLite: WAL with synchronous=FULL; PostgreSQL:
 * synchronous_commit=on, forced per connection). Concurrency: reads from any number of processes;
 * one writer, elected with `acquireSequencerLock`. `append` re-reads the stored size inside its
 * transaction (PostgreSQL: with the head row locked FOR UPDATE; SQLite: BEGIN IMMEDIATE) and
 * refuses with ERR_TLOG_STORAGE_CONFLICT when it is not `start`, so a second writer can never
 * fork the tree. Errors: as the port says; also ERR_USAGE after `close()`, ERR_USAGE for a batch
 * holding one leaf hash twice, ERR_TLOG_STORAGE_CONFLICT for a leaf hash already stored, and
 * ERR_TLOG_STORAGE for a stored integer beyond 2^53 - 1 (refused, never rounded).
 */
export class SqlLogStorage implements LogStorage {
  private closed = false;
  private readonly locks = new Set<SequencerLock>();

  private readonly writer: SqlWriter;
  // Set by `appendThrough`: where appends run instead of this connection.
  private appender: ((batch: AppendBatch) => Promise<void>) | undefined;

  private constructor(
    /** Which database this is. */
    readonly dialect: Dialect,
    private readonly db: Kysely<Tables>,
    private readonly takeLock: () => Promise<SequencerLock>,
    // The better-sqlite3 handle kysely drives, for the synchronous write transactions.
    private readonly sqlite: BetterSqlite3.Database | undefined,
  ) {
    this.writer = new SqlWriter(db, sqlite);
  }

  /** @internal Used by the factories below. */
  static async create(
    dialect: Dialect,
    db: Kysely<Tables>,
    takeLock: () => Promise<SequencerLock>,
    sqlite?: BetterSqlite3.Database,
  ): Promise<SqlLogStorage> {
    const s = new SqlLogStorage(dialect, db, takeLock, sqlite);
    try {
      await s.migrate();
      await s.checkConsistent();
      await s.backfillHashes();
    } catch (e) {
      await db.destroy().catch(() => {});
      // kysely closes the handle only if it ran a query itself.
      if (sqlite?.open) sqlite.close();
      throw failure(e, "opening the log database failed");
    }
    return s;
  }

  async head(): Promise<StorageHead> {
    return this.run("reading the log head", async () => {
      const row = await this.db
        .selectFrom("tlog_head")
        .select(["size", "note"])
        .where("id", "=", 1)
        .executeTakeFirst();
      if (!row) throw cairnError("ERR_TLOG_STORAGE", "the log database has no head row");
      const size = toSafe(row.size, "the stored log size");
      return { size, checkpoint: row.note === null ? undefined : { size, note: row.note } };
    });
  }

  async append(batch: AppendBatch): Promise<void> {
    this.open();
    checkAppendBatch(batch);
    const seen = new Set<string>();
    for (const [i, l] of batch.leaves.entries()) {
      const key = Buffer.from(l.leafHash).toString("hex");
      if (seen.has(key)) throw cairnError("ERR_USAGE", `leaf ${i} repeats a leaf hash of the same batch`);
      seen.add(key);
    }
    if (this.appender) return this.appender(batch);
    const { start, leaves, checkpoint } = batch;
    await this.run("appending to the log", async () => {
      // Built once by kysely for either dialect: the size as of the transaction (the last line of
      // defence against a second writer; PostgreSQL locks the head row until the commit), the
      // entries, and the head with its checkpoint.
      let size = this.db.selectFrom("tlog_head").select("size").where("id", "=", 1);
      if (this.dialect === "postgres") size = size.forUpdate();
      const writes: CompiledQuery[] = [];
      const entryRows = leaves.map((l, i) => ({
        idx: start + i,
        // Copies: a caller mutating its buffers later must not change what is written.
        leaf_hash: Buffer.from(l.leafHash),
        data: Buffer.from(l.data),
        integrated_time: l.time ?? 0,
      }));
      writes.push(
        ...insertRows(this.dialect, entryRows, INSERT_CHUNK, (rows) =>
          this.db.insertInto("tlog_entries").values(rows).compile(),
        ),
      );
      // The hash index, in the same transaction as its entries.
      const hashes = hashRows(
        start,
        leaves.map((l) => l.data),
      );
      writes.push(
        ...insertRows(this.dialect, hashes, INSERT_CHUNK, (rows) =>
          this.db
            .insertInto("tlog_hashes")
            .values(rows)
            .onConflict((c) => c.doNothing())
            .compile(),
        ),
      );
      writes.push(
        this.db
          .updateTable("tlog_head")
          .set({ size: checkpoint.size, note: checkpoint.note })
          .where("id", "=", 1)
          .compile(),
      );
      await this.writeTransaction([], size.compile(), (row) => {
        const stored = row ? toSafe((row as { size: unknown }).size, "the stored log size") : 0;
        if (stored !== start) {
          throw cairnError(
            "ERR_TLOG_STORAGE_CONFLICT",
            `append at ${start} but the storage holds ${stored} entries (another writer?)`,
          );
        }
        return writes;
      });
    });
  }

  /**
   * Runs every later `append` through `appender` (runtime/sqlite-writer.ts: the same append on
   * another connection to this file, on a writer thread) once this one has checked the batch.
   */
  appendThrough(appender: (batch: AppendBatch) => Promise<void>): void {
    this.appender = appender;
  }

  async readEntries(start: number, end: number): Promise<Buffer[]> {
    return this.run("reading log entries", async () => {
      await this.checkRange(start, end);
      const rows = await this.db
        .selectFrom("tlog_entries")
        .select("data")
        .where("idx", ">=", start)
        .where("idx", "<", end)
        .orderBy("idx")
        .execute();
      return this.complete(rows, start, end).map((r) => r.data);
    });
  }

  async readLeafHashes(start: number, end: number): Promise<Buffer[]> {
    return this.run("reading log leaf hashes", async () => {
      await this.checkRange(start, end);
      const rows = await this.db
        .selectFrom("tlog_entries")
        .select("leaf_hash")
        .where("idx", ">=", start)
        .where("idx", "<", end)
        .orderBy("idx")
        .execute();
      return this.complete(rows, start, end).map((r) => r.leaf_hash);
    });
  }

  async readIntegratedTimes(start: number, end: number): Promise<number[]> {
    return this.run("reading log entry times", async () => {
      await this.checkRange(start, end);
      const rows = await this.db
        .selectFrom("tlog_entries")
        .select("integrated_time")
        .where("idx", ">=", start)
        .where("idx", "<", end)
        .orderBy("idx")
        .execute();
      return this.complete(rows, start, end).map((r) => toSafe(r.integrated_time, "an entry time"));
    });
  }

  async readEntriesAt(indexes: readonly number[]): Promise<{ data: Buffer; time: number }[]> {
    return this.run("reading log entries", async () => {
      checkIndexes(indexes, (await this.head()).size);
      const ids = [...new Set(indexes)];
      const found = new Map<number, { data: Buffer; time: number }>();
      for (let at = 0; at < ids.length; at += INSERT_CHUNK) {
        const rows = await this.db
          .selectFrom("tlog_entries")
          .select(["idx", "data", "integrated_time"])
          .where("idx", "in", ids.slice(at, at + INSERT_CHUNK))
          .execute();
        for (const r of rows) {
          found.set(toSafe(r.idx, "a stored index"), {
            data: r.data,
            time: toSafe(r.integrated_time, "an entry time"),
          });
        }
      }
      return indexes.map((i) => {
        const e = found.get(i);
        // Below the stored size: written with it (see `complete`).
        if (!e) {
          throw cairnError(
            "ERR_TLOG_STORAGE",
            `the log database is missing entry ${i}: it was modified outside cairn`,
          );
        }
        return { data: Buffer.from(e.data), time: e.time };
      });
    });
  }

  async findLeafHashes(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    return this.run("looking up leaf hashes", async () => {
      const found = new Map<string, number>();
      for (let at = 0; at < leafHashes.length; at += INSERT_CHUNK) {
        const chunk = leafHashes.slice(at, at + INSERT_CHUNK).map((h) => Buffer.from(h));
        const rows = await this.db
          .selectFrom("tlog_entries")
          .select(["idx", "leaf_hash"])
          .where("leaf_hash", "in", chunk)
          .execute();
        for (const r of rows)
          found.set(Buffer.from(r.leaf_hash).toString("hex"), toSafe(r.idx, "a stored index"));
      }
      return leafHashes.map((h) => found.get(Buffer.from(h).toString("hex")));
    });
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    return this.run("looking up a leaf hash", async () => {
      const row = await this.db
        .selectFrom("tlog_entries")
        .select("idx")
        .where("leaf_hash", "=", Buffer.from(leafHash))
        .executeTakeFirst();
      return row === undefined ? undefined : toSafe(row.idx, "a stored index");
    });
  }

  /**
   * Records the URL where this process, the holder of the sequencer lock, takes writes, so the
   * other servers of the database can forward theirs (`sequencerUrl`). Call it only while holding
   * the lock: the last holder's URL stays until the next one advertises (forwarding to a dead
   * sequencer fails, and the caller answers 503).
   */
  async advertiseSequencer(url: string): Promise<void> {
    await this.run("advertising the sequencer", async () => {
      await this.db
        .insertInto("tlog_sequencer")
        .values({ id: 1, url })
        .onConflict((oc) => oc.column("id").doUpdateSet({ url }))
        .execute();
    });
  }

  /** The URL the current sequencer advertised, or undefined. */
  async sequencerUrl(): Promise<string | undefined> {
    return this.run("reading the sequencer's URL", async () => {
      const row = await this.db
        .selectFrom("tlog_sequencer")
        .select("url")
        .where("id", "=", 1)
        .executeTakeFirst();
      return row?.url;
    });
  }

  /**
   * Takes the log's sequencer lock: only its holder may run a `Sequencer` on this database.
   * PostgreSQL: `pg_try_advisory_lock` on a dedicated connection (the server releases it when that
   * connection ends, including when the process dies). SQLite: a write transaction held open on
   * the file `PATH-sequencer` (the kernel releases it when the process dies). Never waits: when
   * another process (or another storage object) holds it, rejects with ERR_TLOG_SEQUENCER_LOCKED,
   * and the caller serves reads and forwards or queues writes (or tries again later). Also
   * ERR_TLOG_STORAGE when the database cannot be reached. `close()` releases it.
   */
  async acquireSequencerLock(): Promise<SequencerLock> {
    this.open();
    const lock = await this.takeLock();
    this.locks.add(lock);
    lock.signal.addEventListener("abort", () => this.locks.delete(lock), { once: true });
    return lock;
  }

  /** Releases any sequencer lock taken through this object and closes the connections; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.locks].map((l) => l.release()));
    await this.db.destroy();
    if (this.sqlite?.open) this.sqlite.close();
  }

  private open(): void {
    if (this.closed) throw cairnError("ERR_USAGE", "the log storage is closed");
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.open();
    try {
      return await fn();
    } catch (e) {
      throw failure(e, `${what} failed`);
    }
  }

  private writeTransaction(
    first: readonly CompiledQuery[],
    read: CompiledQuery,
    plan: (row: unknown) => readonly CompiledQuery[],
  ): Promise<void> {
    return this.writer.transaction(first, read, plan);
  }

  private async checkRange(start: number, end: number): Promise<void> {
    const { size } = await this.head();
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      start > end ||
      end > size
    ) {
      throw cairnError("ERR_USAGE", `range [${start}, ${end}) is not within [0, ${size}]`);
    }
  }

  // Entries below the stored size always exist (they were written in the same transaction as
  // the size): a gap means the database was changed behind the log's back.
  private complete<T>(rows: T[], start: number, end: number): T[] {
    if (rows.length !== end - start) {
      throw cairnError(
        "ERR_TLOG_STORAGE",
        `the log database is missing entries in [${start}, ${end}): it was modified outside cairn`,
      );
    }
    return rows;
  }

  /**
   * Log indexes of the entries indexed under a key of engines/tlog `hashesOfLeaf` (`sha256:<hex>`,
   * `identity:<san>`, `oidc:<issuer> <san>`), ascending, at most `limit` (1..10000): one indexed
   * query, no scan of the log.
   */
  async findByHash(hash: string, limit: number): Promise<number[]> {
    this.open();
    const n = Math.max(1, Math.min(MAX_FIND_BY_HASH, Math.trunc(limit)));
    return this.run("looking up an entry hash", async () => {
      const rows = await this.db
        .selectFrom("tlog_hashes")
        .select("idx")
        .where("hash", "=", hash)
        .orderBy("idx")
        .limit(n)
        .execute();
      return rows.map((r) => toSafe(r.idx, "a stored log index"));
    });
  }

  // Schema version 4 back-fill: indexes the hashes of entries logged before the hash table
  // existed, a chunk per transaction, so a crash resumes where it stopped (inserts are
  // idempotent). Appends made meanwhile index their own entries.
  private async backfillHashes(): Promise<void> {
    for (;;) {
      const row = await this.db
        .selectFrom("tlog_hash_backfill")
        .select("next")
        .where("id", "=", 1)
        .executeTakeFirst();
      if (!row) return;
      const next = toSafe(row.next, "the back-fill position");
      const { size } = await this.head();
      // Re-read in the write transaction: another server opening the log may back-fill too.
      const again = this.db.selectFrom("tlog_hash_backfill").select("next").where("id", "=", 1).compile();
      const same = (r: unknown) =>
        r !== undefined && toSafe((r as { next: unknown }).next, "the back-fill position") === next;
      if (next >= size) {
        const done = this.db.deleteFrom("tlog_hash_backfill").where("id", "=", 1).compile();
        await this.writer.transaction([], again, (r) => (same(r) ? [done] : []));
        return;
      }
      const end = Math.min(size, next + BACKFILL_CHUNK);
      const rows = hashRows(next, await this.readEntries(next, end));
      const writes: CompiledQuery[] = [];
      for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
        writes.push(
          this.db
            .insertInto("tlog_hashes")
            .values(rows.slice(at, at + INSERT_CHUNK))
            .onConflict((c) => c.doNothing())
            .compile(),
        );
      }
      writes.push(this.db.updateTable("tlog_hash_backfill").set({ next: end }).where("id", "=", 1).compile());
      await this.writer.transaction([], again, (r) => (same(r) ? writes : []));
    }
  }

  // Creates or upgrades the schema in one write transaction (concurrent first starts of several
  // servers: one migrates, the others then find the current version).
  private migrate(): Promise<void> {
    return migrateSchema(this.db, this.writer, this.dialect, {
      component: "tlog",
      migrations: MIGRATIONS,
      migrateLockKey: MIGRATE_KEY,
      refuse: (message) => cairnError("ERR_TLOG_STORAGE", message),
    });
  }

  // The stored size and the last entry agree (both are written by every append's transaction).
  private async checkConsistent(): Promise<void> {
    const { size } = await this.head();
    const row = await this.db
      .selectFrom("tlog_entries")
      .select((eb) => eb.fn.max("idx").as("last"))
      .executeTakeFirst();
    const last = row?.last === null || row?.last === undefined ? -1 : toSafe(row.last, "the last index");
    if (last + 1 !== size) {
      throw cairnError(
        "ERR_TLOG_STORAGE",
        `the log database holds entries up to ${last} but its head says ${size}: it was modified outside cairn`,
      );
    }
  }
}

/**
 * Opens (creating or migrating) a log stored in the SQLite file at `path`, in WAL mode with
 * synchronous=FULL so that an acknowledged append survives a crash or power loss. The sequencer
 * lock lives in `PATH-sequencer`. Throws ERR_TLOG_STORAGE when the file cannot be opened or holds
 * something else, ERR_USAGE for an in-memory path (use MemoryLogStorage).
 */
export async function sqliteLogStorage(path: string): Promise<SqlLogStorage> {
  if (path === "" || path === ":memory:" || path.startsWith("file:")) {
    throw cairnError("ERR_USAGE", "a SQLite log needs a file path (MemoryLogStorage keeps a log in memory)");
  }
  const database = await openSqlite(path, (e) => failure(e, `cannot open the SQLite log ${path}`));
  const { default: Database } = await import("better-sqlite3");
  const lockPath = `${path}-sequencer`;
  const takeLock = async (): Promise<SequencerLock> => {
    let lockDb: InstanceType<typeof Database> | undefined;
    try {
      // A rollback-journal database whose RESERVED lock (BEGIN IMMEDIATE) is the sequencer lock:
      // SQLite's POSIX locks are per process and per inode, and vanish when the process dies.
      lockDb = new Database(lockPath, { timeout: 0 });
      lockDb.exec("BEGIN IMMEDIATE");
    } catch (e) {
      lockDb?.close();
      if ((e as { code?: unknown }).code === "SQLITE_BUSY") {
        throw cairnError(
          "ERR_TLOG_SEQUENCER_LOCKED",
          `another process is the sequencer of ${path} (it holds ${lockPath})`,
        );
      }
      throw failure(e, `cannot take the sequencer lock ${lockPath}`);
    }
    const held = lockDb;
    const ac = new AbortController();
    return {
      signal: ac.signal,
      release: async () => {
        if (ac.signal.aborted) return;
        ac.abort();
        try {
          held.exec("ROLLBACK");
        } finally {
          held.close();
        }
      },
    };
  };
  return SqlLogStorage.create(
    "sqlite",
    new Kysely<Tables>({ dialect: new SqliteDialect({ database }) }),
    takeLock,
    database,
  );
}

/**
 * Opens (creating or migrating) a log stored in the PostgreSQL database at `url`
 * (`postgres://user:password@host:port/database`). Throws ERR_TLOG_STORAGE when the server
 * cannot be reached or the database holds something else.
 */
export async function postgresLogStorage(
  url: string,
  options: PostgresLogStorageOptions = {},
): Promise<SqlLogStorage> {
  const { default: pg } = await import("pg");
  // synchronous_commit=on whatever the server's default: an acknowledged append must be durable.
  const config = postgresConfig(url);
  const pool = await openPostgresPool(url, options.maxConnections ?? 10);
  const takeLock = async (): Promise<SequencerLock> => {
    // A dedicated connection, outside the pool: the session-level lock lives exactly as long as it.
    const client = new pg.Client({ ...config, keepAlive: true });
    const ac = new AbortController();
    client.on("error", () => ac.abort());
    client.on("end", () => ac.abort());
    let got: boolean;
    try {
      await client.connect();
      const r = await client.query<{ ok: boolean }>("select pg_try_advisory_lock($1::bigint) as ok", [
        LOCK_KEY,
      ]);
      got = r.rows[0]?.ok === true;
    } catch (e) {
      await client.end().catch(() => {});
      throw failure(e, "cannot take the sequencer lock");
    }
    if (!got) {
      await client.end().catch(() => {});
      throw cairnError(
        "ERR_TLOG_SEQUENCER_LOCKED",
        "another process is the sequencer of this database (it holds the advisory lock)",
      );
    }
    return {
      signal: ac.signal,
      release: async () => {
        if (ac.signal.aborted) return;
        ac.abort();
        // Ending the session releases a session-level advisory lock.
        await client.end().catch(() => {});
      },
    };
  };
  return SqlLogStorage.create(
    "postgres",
    new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }),
    takeLock,
  );
}

/**
 * Opens the log storage a `--database` value names: a `postgres://` or `postgresql://` URL, or
 * the path of a SQLite file.
 */
export function sqlLogStorage(location: string): Promise<SqlLogStorage> {
  return isPostgresUrl(location) ? postgresLogStorage(location) : sqliteLogStorage(location);
}

// A stored integer as a JS number; anything that does not fit exactly is refused, never rounded.
function toSafe(v: unknown, what: string): number {
  return requireSafeInteger(v, what, (message) => cairnError("ERR_TLOG_STORAGE", message));
}

// Maps a driver error to the port's codes (storage.ts): constraint violations are another writer,
// "too busy" answers ask the caller to back off, everything else is a storage failure.
function failure(e: unknown, what: string): CairnError {
  if (e instanceof CairnError) return e;
  const message = `${what}: ${(e as Error)?.message ?? String(e)}`;
  switch (driverErrorKind(e)) {
    case "conflict":
      return cairnError(
        "ERR_TLOG_STORAGE_CONFLICT",
        `${message} (an index or leaf hash is already stored: another writer?)`,
        {},
        { cause: e },
      );
    case "busy":
      return cairnError("ERR_TLOG_OVERLOADED", message, {}, { cause: e });
    default:
      return cairnError("ERR_TLOG_STORAGE", message, {}, { cause: e });
  }
}

// The hash-index rows of entries start, start+1, ... (one per distinct hash of each leaf).
function hashRows(start: number, leaves: readonly Uint8Array[]): { hash: string; idx: number }[] {
  return leaves.flatMap((leaf, i) =>
    [...new Set(hashesOfLeaf(leaf))].map((hash) => ({ hash, idx: start + i })),
  );
}
