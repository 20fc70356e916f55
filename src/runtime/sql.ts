// SPDX-License-Identifier: Apache-2.0
// What cairn's SQL storages (the log, the search index) share: opening SQLite and PostgreSQL the
// durable way, write transactions that never yield while SQLite holds its write lock, prepared
// statements, exact integers, and the classification of driver errors.
import { open } from "node:fs/promises";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { CompiledQuery, type Kysely, sql } from "kysely";

/** How long a SQLite connection waits for another's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** True for a `postgres://` or `postgresql://` URL; anything else names a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * How a SQLite file is made durable. "commit": WAL with synchronous=FULL, the WAL synced inside
 * every commit, before the write lock is released, so no reader (of any process) ever sees a
 * transaction that a power loss could take back; the process waits for the disk. "writer": WAL
 * with synchronous=NORMAL (SQLite syncs only around checkpoints: the WAL before, the database
 * after, so checkpointed pages are durable before the WAL is reused), and SqlWriter syncs the WAL
 * file itself after each write transaction, on libuv's thread pool, resolving only then: durable
 * on return like "commit", and the event loop runs meanwhile, but readers may see a transaction a
 * moment before it is durable. Use "writer" only for data whose early sight commits nobody (the
 * store's index: not the log, whose checkpoints must never be seen before they are durable).
 */
export type SqliteDurability = "commit" | "writer";

/**
 * Opens a SQLite file durably (see SqliteDurability; a write made without SqlWriter is durable only
 * under "commit"), with integers read back as bigint so they are checked, never rounded
 * (toSafeInteger). `fail` maps an opening failure to the caller's code.
 */
export async function openSqlite(
  path: string,
  fail: (e: unknown) => Error,
  durability: SqliteDurability = "commit",
): Promise<BetterSqlite3.Database> {
  const { default: Database } = await import("better-sqlite3");
  try {
    const database = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    database.pragma("journal_mode = WAL");
    database.pragma(durability === "commit" ? "synchronous = FULL" : "synchronous = NORMAL");
    database.defaultSafeIntegers(true);
    return database;
  } catch (e) {
    throw fail(e);
  }
}

/**
 * Makes the committed transactions of a WAL-mode SQLite file durable: fsync of its `-wal` file (of
 * the inode, whichever descriptor: every commit made before the call is covered), and once per
 * process and file of its directory, so a WAL file created since the open is not lost with its
 * directory entry. Runs on libuv's thread pool.
 */
async function syncWal(path: string, dirSynced: { done: boolean }): Promise<void> {
  // No WAL file (a transaction that wrote nothing before any other did): sync the database file.
  const wal = await open(`${path}-wal`, "r+").catch((e: NodeJS.ErrnoException) =>
    e.code === "ENOENT" ? open(path, "r+") : Promise.reject(e),
  );
  try {
    await wal.sync();
  } finally {
    await wal.close();
  }
  if (!dirSynced.done) {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    dirSynced.done = true;
  }
}

/** The connection settings of a PostgreSQL URL: synchronous_commit=on whatever the server's default. */
export function postgresConfig(url: string): { connectionString: string; options: string } {
  return { connectionString: url, options: "-c synchronous_commit=on" };
}

/** A pool for `url`. An idle connection that dies must not crash the process: the next query reports it. */
export async function openPostgresPool(url: string, max = 10): Promise<import("pg").Pool> {
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ ...postgresConfig(url), max });
  pool.on("error", () => {});
  return pool;
}

/** A stored integer as a JS number, or undefined when it does not fit exactly (never rounded). */
export function toSafeInteger(v: unknown): number | undefined {
  let n: bigint | undefined;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^-?[0-9]{1,20}$/.test(v)) n = BigInt(v);
  if (n === undefined || n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(n);
}

/** toSafeInteger, or the caller's error naming what was stored (refused, never rounded). */
export function requireSafeInteger(v: unknown, what: string, refuse: (message: string) => Error): number {
  const n = toSafeInteger(v);
  if (n === undefined) throw refuse(`${what} (${String(v)}) is not an integer in [0, 2^53 - 1]`);
  return n;
}

/** What a driver error means to a storage port: a uniqueness conflict, "back off", or a failure. */
export function driverErrorKind(e: unknown): "conflict" | "busy" | "failure" {
  const code = (e as { code?: unknown })?.code;
  if (
    code === "23505" || // PostgreSQL unique_violation
    code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    code === "SQLITE_CONSTRAINT_UNIQUE"
  ) {
    return "conflict";
  }
  if (
    (typeof code === "string" && /^53[0-9A-Z]{3}$/.test(code)) || // insufficient resources, too many connections
    code === "57P03" || // cannot connect now (starting up, shutting down)
    (typeof code === "string" && code.startsWith("SQLITE_BUSY"))
  ) {
    return "busy";
  }
  return "failure";
}

/**
 * The INSERT statements of `rows` for a write transaction, from `build` (kysely: the table, the
 * rows, conflict handling). PostgreSQL pays per statement (a round trip): multi-row statements of
 * at most `max` rows. SQLite pays nothing per statement but much per multi-row statement (measured:
 * a batch of 64 entries as one 64-row VALUES list cost 1.4x the same rows inserted one by one,
 * and kysely's compile of it more still): one single-row statement per row, compiled by kysely
 * once from the first row and run with each row's values (SqlWriter caches it prepared). Every
 * row must have the same columns in the same order (kysely binds them in key order; checked).
 */
export function insertRows<T extends Record<string, unknown>>(
  dialect: SqlDialect,
  rows: readonly T[],
  max: number,
  build: (rows: T[]) => CompiledQuery,
): CompiledQuery[] {
  if (rows.length === 0) return [];
  if (dialect === "postgres") {
    const out: CompiledQuery[] = [];
    for (let at = 0; at < rows.length; at += max) out.push(build(rows.slice(at, at + max)));
    return out;
  }
  const first = build([rows[0]!]);
  const columns = Object.keys(rows[0]!);
  const bound = (row: T) => columns.map((c) => row[c]);
  const same = (a: readonly unknown[], b: readonly unknown[]) =>
    a.length === b.length && a.every((v, i) => v === b[i]);
  // kysely binds the row's values as they are, in its key order: anything else (a value it
  // rewrites, a column it adds) and the rows are compiled one by one instead.
  if (!same(first.parameters, bound(rows[0]!))) return rows.map((r) => build([r]));
  return rows.map((row, i) => {
    if (i === 0) return first;
    const keys = Object.keys(row);
    if (!same(keys, columns)) return build([row]);
    return CompiledQuery.raw(first.sql, bound(row));
  });
}

/**
 * Runs write transactions over kysely, or, on SQLite, synchronously through better-sqlite3.
 * One transaction: `first` (statements whose results are not needed), `read`, then the writes
 * `plan` makes from read's first row (it throws to roll back).
 * SQLite: BEGIN IMMEDIATE (a deferred BEGIN could fail to upgrade after reading) and the whole
 * transaction runs synchronously, so no other code of this process interleaves with it; if it
 * yielded to the event loop while holding the write lock, another connection of this process
 * waiting on the lock would block the loop until its busy timeout. On a connection that does not
 * sync at commit (SqliteDurability "writer"), the WAL file is then synced off the event loop and
 * only then does the promise resolve. PostgreSQL: an ordinary kysely transaction (synchronous_commit=on); `read`
 * locks what it must FOR UPDATE.
 */
export class SqlWriter {
  // SQLite's prepared statements, by SQL text (bounded: batch sizes vary).
  private readonly prepared = new Map<string, BetterSqlite3.Statement>();
  // Whether the SQLite file's directory was synced since the open (see syncWal).
  private readonly dirSynced = { done: false };
  // SQLite below synchronous=FULL ("writer" durability): this writer syncs the WAL itself.
  private readonly syncAfterCommit: boolean;

  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: the writer only executes compiled queries.
    private readonly db: Kysely<any>,
    private readonly sqlite: BetterSqlite3.Database | undefined,
  ) {
    // PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA (bigint with safe integers on).
    this.syncAfterCommit = sqlite !== undefined && Number(sqlite.pragma("synchronous", { simple: true })) < 2;
  }

  async transaction(
    first: readonly CompiledQuery[],
    read: CompiledQuery,
    plan: (row: unknown) => readonly CompiledQuery[],
  ): Promise<void> {
    const sqlite = this.sqlite;
    if (sqlite) {
      sqlite
        .transaction(() => {
          for (const q of first) this.statement(q.sql).run(...q.parameters);
          const writes = plan(this.statement(read.sql).get(...read.parameters));
          for (const w of writes) this.statement(w.sql).run(...w.parameters);
        })
        .immediate();
      // Durability point: nothing is reported written before the WAL holding it is synced.
      if (this.syncAfterCommit) await syncWal(sqlite.name, this.dirSynced);
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      for (const q of first) await trx.executeQuery(q);
      const writes = plan((await trx.executeQuery(read)).rows[0]);
      for (const w of writes) await trx.executeQuery(w);
    });
  }

  private statement(text: string): BetterSqlite3.Statement {
    let st = this.prepared.get(text);
    if (!st) {
      st = this.sqlite!.prepare(text);
      if (this.prepared.size < 64) this.prepared.set(text, st);
    }
    return st;
  }
}

/** The two databases cairn speaks. */
export type SqlDialect = "sqlite" | "postgres";

/** A component's schema: its name in `cairn_schema`, and the statements of each version in order. */
export interface SchemaPlan {
  component: string;
  migrations: ReadonlyArray<Record<SqlDialect, readonly string[]>>;
  /** PostgreSQL advisory lock key serializing concurrent first opens. */
  migrateLockKey: bigint | number | string;
  /** The error for a database written by a newer cairn, or a stored version that is not an integer. */
  refuse: (message: string) => Error;
}

/**
 * Creates or migrates a component's tables in one write transaction: reads its version from
 * `cairn_schema`, runs the missing migrations, records the new version; refuses a newer schema.
 */
export async function migrateSchema(
  // biome-ignore lint/suspicious/noExplicitAny: migrations are raw SQL over any schema.
  db: Kysely<any>,
  writer: SqlWriter,
  dialect: SqlDialect,
  plan: SchemaPlan,
): Promise<void> {
  const latest = plan.migrations.length;
  const read = sql<{
    version: unknown;
  }>`select version from cairn_schema where component = ${plan.component}`.compile(db);
  const statements = (row: unknown): CompiledQuery[] => {
    const raw = row ? (row as { version: unknown }).version : 0;
    const version = toSafeInteger(raw);
    if (version === undefined) throw plan.refuse(`the schema version (${String(raw)}) is not an integer`);
    if (version > latest) {
      throw plan.refuse(
        `the ${plan.component} database has schema version ${version}; this cairn knows up to ${latest}: upgrade cairn`,
      );
    }
    const out: CompiledQuery[] = [];
    for (let v = version + 1; v <= latest; v++) {
      for (const stmt of plan.migrations[v - 1]![dialect]) out.push(sql.raw(stmt).compile(db));
    }
    if (version < latest) {
      out.push(
        sql`insert into cairn_schema (component, version) values (${plan.component}, ${latest})
            on conflict (component) do update set version = excluded.version`.compile(db),
      );
    }
    return out;
  };
  const first = [
    sql`create table if not exists cairn_schema (component text primary key, version integer not null)`.compile(
      db,
    ),
  ];
  // PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one: serialize.
  if (dialect === "postgres") {
    first.unshift(sql`select pg_advisory_xact_lock(${plan.migrateLockKey}::bigint)`.compile(db));
  }
  await writer.transaction(first, read, statements);
}
