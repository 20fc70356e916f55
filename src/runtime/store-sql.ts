// SPDX-License-Identifier: Apache-2.0
// The attestation store's search index (SearchIndex, src/engines/store/search-index.ts) over SQL,
// with one kysely data-access layer for SQLite (better-sqlite3) and PostgreSQL (pg), following
// src/runtime/tlog-sql.ts: the schema is versioned in cairn_schema (component 'store') and migrated
// on open; SQLite writes run as synchronous better-sqlite3 transactions (BEGIN IMMEDIATE).
//
// Tables: store_envelopes (one row per log index, the envelope as bytes), and the key tables
// store_subjects and store_signers, whose primary keys (key, log_index) are the indexes a search
// walks in log-index order. store_envelopes has (predicate_type, log_index, integrated_time),
// (integrated_time, log_index) and (log_index, predicate_type, integrated_time): a search reads
// indexes only, never an envelope row (see `search` for how one key is picked to drive it).

import { createHash } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import {
  type ColumnType,
  type CompiledQuery,
  Kysely,
  PostgresDialect,
  type RawBuilder,
  SqliteDialect,
  sql,
} from "kysely";
import { CairnError, cairnError } from "../core/errors.js";
import type { IndexQuery, IndexRecord, SearchIndex } from "../engines/store/index.js";
import {
  driverErrorKind,
  insertRows,
  isPostgresUrl,
  migrateSchema,
  openPostgresPool,
  openSqlite,
  requireSafeInteger,
  type SqliteDurability,
  SqlWriter,
} from "./sql.js";

/** Integers come back as bigint (SQLite, safe-integer mode) or string (pg int8); written as numbers. */
type DbInt = ColumnType<bigint | number | string, number, number>;

interface Tables {
  cairn_schema: { component: string; version: DbInt };
  store_envelopes: { log_index: DbInt; envelope: Buffer; predicate_type: string; integrated_time: DbInt };
  store_subjects: { digest: string; log_index: DbInt };
  store_signers: { signer: string; log_index: DbInt };
  store_backfill: { name: string; next: DbInt };
}

type Dialect = "sqlite" | "postgres";

/** Rows per INSERT: at most 4 parameters a row stays far below SQLite's 32766 and pg's 65535. */
const INSERT_CHUNK = 1000;

const MIGRATIONS: Record<Dialect, string[]>[] = [
  {
    sqlite: [
      `create table if not exists store_envelopes (
         log_index integer primary key check (log_index >= 0),
         envelope blob not null,
         predicate_type text not null,
         integrated_time integer not null)`,
      "create index if not exists store_envelopes_predicate on store_envelopes (predicate_type, log_index)",
      "create index if not exists store_envelopes_time on store_envelopes (integrated_time, log_index)",
      `create table if not exists store_subjects (
         digest text not null,
         log_index integer not null references store_envelopes (log_index),
         primary key (digest, log_index)) without rowid`,
      `create table if not exists store_signers (
         signer text not null,
         log_index integer not null references store_envelopes (log_index),
         primary key (signer, log_index)) without rowid`,
    ],
    postgres: [
      `create table if not exists store_envelopes (
         log_index bigint primary key check (log_index >= 0),
         envelope bytea not null,
         predicate_type text not null,
         integrated_time bigint not null)`,
      "create index if not exists store_envelopes_predicate on store_envelopes (predicate_type, log_index)",
      "create index if not exists store_envelopes_time on store_envelopes (integrated_time, log_index)",
      `create table if not exists store_subjects (
         digest text not null,
         log_index bigint not null references store_envelopes (log_index),
         primary key (digest, log_index))`,
      `create table if not exists store_signers (
         signer text not null,
         log_index bigint not null references store_envelopes (log_index),
         primary key (signer, log_index))`,
    ],
  },
  // Version 2: reading one envelope's keys by log index (get) must not scan the key tables.
  {
    sqlite: [
      "create index if not exists store_subjects_log_index on store_subjects (log_index)",
      "create index if not exists store_signers_log_index on store_signers (log_index)",
    ],
    postgres: [
      "create index if not exists store_subjects_log_index on store_subjects (log_index)",
      "create index if not exists store_signers_log_index on store_signers (log_index)",
    ],
  },
  // Version 3: certificate identities are signers (`identity:`, `oidc:` keys). Envelopes stored
  // before were indexed by key id only: the log node back-fills their identities from the log
  // (LogNode.backfillStoreIdentities), from `next`, until the row is gone.
  {
    sqlite: [
      "create table if not exists store_backfill (name text primary key, next integer not null)",
      "insert into store_backfill (name, next) values ('identities', 0) on conflict do nothing",
    ],
    postgres: [
      "create table if not exists store_backfill (name text primary key, next bigint not null)",
      "insert into store_backfill (name, next) values ('identities', 0) on conflict do nothing",
    ],
  },
  // Version 4: searches answered from indexes alone (the envelope rows hold megabyte blobs; on
  // SQLite, a column stored after the blob is read through its overflow pages). The predicate
  // index also covers the time, and (log_index, predicate_type, integrated_time) serves the
  // per-result checks and the log-order walk of a time-only search (`search` below).
  {
    sqlite: [
      "create index if not exists store_envelopes_predicate_time on store_envelopes (predicate_type, log_index, integrated_time)",
      "drop index if exists store_envelopes_predicate",
      "create index if not exists store_envelopes_keys on store_envelopes (log_index, predicate_type, integrated_time)",
      "analyze",
    ],
    postgres: [
      "create index if not exists store_envelopes_predicate_time on store_envelopes (predicate_type, log_index, integrated_time)",
      "drop index if exists store_envelopes_predicate",
      "create index if not exists store_envelopes_keys on store_envelopes (log_index, predicate_type, integrated_time)",
      "analyze store_envelopes",
      "analyze store_subjects",
      "analyze store_signers",
    ],
  },
];

/**
 * A search's estimates count at most this many index entries per key: enough to tell a selective
 * key from a common one, cheap enough to run before every search with two or more keys.
 */
const ESTIMATE_CAP = 2048;
/**
 * A time range drives a search (its rows sorted into log-index order) when it holds fewer rows
 * than this (in all, whatever the cursor); a wider one is a filter on a log-order walk. Sorting this many log
 * indexes costs about what walking as many index entries does.
 */
const TIME_SORT_CAP = 16384;

/** What a search walks in log-index order (`SqlSearchIndex.search`); "log": the whole store. */
export type SearchDriver = "subject" | "signer" | "predicate" | "time" | "log";

const MIGRATE_KEY = createHash("sha256")
  .update("cairn store migration")
  .digest()
  .readBigInt64BE(0)
  .toString();

/** Options of `postgresSearchIndex`. */
export interface PostgresSearchIndexOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

/**
 * A `SearchIndex` over SQLite or PostgreSQL; create it with `sqliteSearchIndex` or
 * `postgresSearchIndex`, which create or migrate the schema. Durability: a put is one transaction,
 * committed durably (SQLite: its WAL synced, runtime/sql.ts; PostgreSQL synchronous_commit=on) before it
 * resolves. Errors: as the port says; ERR_USAGE after `close()`; ERR_STORE_CONFLICT also when two
 * processes put the same log index at once (the loser's put is refused: repeat it, it is then a
 * no-op if the bytes are the same); ERR_STORE_STORAGE for a stored integer beyond 2^53 - 1.
 */
export class SqlSearchIndex implements SearchIndex {
  private closed = false;
  private readonly writer: SqlWriter;
  // Set by `putThrough`: where puts run instead of this connection.
  private putter: ((records: readonly IndexRecord[]) => Promise<void>) | undefined;

  private constructor(
    readonly dialect: Dialect,
    private readonly db: Kysely<Tables>,
    private readonly sqlite: BetterSqlite3.Database | undefined,
  ) {
    this.writer = new SqlWriter(db, sqlite);
  }

  /** @internal Used by the factories below. */
  static async create(
    dialect: Dialect,
    db: Kysely<Tables>,
    sqlite?: BetterSqlite3.Database,
  ): Promise<SqlSearchIndex> {
    const s = new SqlSearchIndex(dialect, db, sqlite);
    try {
      await s.migrate();
    } catch (e) {
      await db.destroy().catch(() => {});
      if (sqlite?.open) sqlite.close();
      throw failure(e, "opening the store database failed");
    }
    return s;
  }

  /**
   * Runs every later `put`/`putMany` through `putter` (runtime/sqlite-writer.ts: the same putMany
   * on another connection to this file, on a writer thread).
   */
  putThrough(putter: (records: readonly IndexRecord[]) => Promise<void>): void {
    this.putter = putter;
  }

  async putMany(records: readonly IndexRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.putter) return this.run("storing envelopes", () => this.putter!(records));
    if (records.length === 1) return this.put(records[0]!);
    const indexes = records.map((r) => r.logIndex);
    if (new Set(indexes).size !== indexes.length)
      throw cairnError("ERR_USAGE", "putMany takes distinct log indexes");
    // The common case, one transaction: none of these indexes is stored yet. Otherwise (a repeat
    // after an unknown outcome) each record goes through put's idempotent check.
    let fresh = true;
    await this.run("storing envelopes", async () => {
      const read = this.db
        .selectFrom("store_envelopes")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("log_index", "in", indexes)
        .compile();
      await this.writeTransaction([], read, (row) => {
        const n = Number((row as { n: unknown } | undefined)?.n ?? 0);
        if (n > 0) {
          fresh = false;
          return [];
        }
        return this.writesOf(records);
      });
    });
    if (!fresh) for (const r of records) await this.put(r);
  }

  async put(record: IndexRecord): Promise<void> {
    if (this.putter) return this.run("storing an envelope", () => this.putter!([record]));
    await this.run("storing an envelope", async () => {
      const writes = this.writesOf([record]);
      const read = this.db
        .selectFrom("store_envelopes")
        .select("envelope")
        .where("log_index", "=", record.logIndex)
        .compile();
      await this.writeTransaction([], read, (row) => {
        if (!row) return writes;
        // Idempotent for the same bytes; never overwrites other bytes.
        if (Buffer.from((row as { envelope: Uint8Array }).envelope).equals(record.envelope)) return [];
        throw cairnError("ERR_STORE_CONFLICT", `log index ${record.logIndex} already holds another envelope`);
      });
    });
  }

  // The inserts of records: their envelope rows and subject and signer keys, as multi-row
  // statements (one round trip per table and chunk, not per record: PostgreSQL pays per statement).
  private writesOf(records: readonly IndexRecord[]): CompiledQuery[] {
    const writes: CompiledQuery[] = [];
    const chunked = <T extends Record<string, unknown>>(rows: T[], f: (chunk: T[]) => CompiledQuery) => {
      writes.push(...insertRows(this.dialect, rows, INSERT_CHUNK, f));
    };
    chunked(
      records.map((record) => ({
        log_index: record.logIndex,
        // A copy: a caller mutating its buffer later must not change what is written.
        envelope: Buffer.from(record.envelope),
        predicate_type: record.predicateType,
        integrated_time: record.integratedTime,
      })),
      (rows) => this.db.insertInto("store_envelopes").values(rows).compile(),
    );
    chunked(
      records.flatMap((record) =>
        [...new Set(record.subjectDigests)].map((digest) => ({ digest, log_index: record.logIndex })),
      ),
      (rows) => this.db.insertInto("store_subjects").values(rows).compile(),
    );
    chunked(
      records.flatMap((record) =>
        [...new Set(record.signers)].map((signer) => ({ signer, log_index: record.logIndex })),
      ),
      (rows) => this.db.insertInto("store_signers").values(rows).compile(),
    );
    return writes;
  }

  /**
   * The log indexes matching every key, from indexes alone, never sorting more than
   * TIME_SORT_CAP rows. One key (subject, signer or predicate type) is the driver: its (key, log_index) index is
   * walked from `after` in log-index order, and each row is checked against the other keys by
   * point lookups, so the cost is the driver's rows passed, not the store's size. The driver is
   * the most selective key, by bounded counts (`estimate`); a time range drives only when it
   * holds fewer rows than TIME_SORT_CAP (its index is in time order: those rows are sorted); a
   * search with no other key then walks (log_index, ..., integrated_time) in log order.
   */
  async search(q: IndexQuery): Promise<number[]> {
    return this.run("searching the store", async () => {
      const driver = await this.driver(q);
      if (driver === undefined) return [];
      const rows = await this.searchQuery(q, driver).execute(this.db);
      return rows.rows.map((r) => toSafe(r.log_index, "a stored log index"));
    });
  }

  /**
   * How `search` would answer q: the driver it picks and the database's plan of the query
   * (SQLite: EXPLAIN QUERY PLAN details; PostgreSQL: EXPLAIN lines), for tests and diagnosis.
   */
  async explainSearch(q: IndexQuery): Promise<{ driver: SearchDriver | undefined; plan: string[] }> {
    return this.run("explaining a search", async () => {
      const driver = await this.driver(q);
      if (driver === undefined) return { driver, plan: [] };
      const word = sql.raw(this.dialect === "sqlite" ? "explain query plan" : "explain");
      const { rows } = await sql<Record<string, unknown>>`${word} ${this.searchQuery(q, driver)}`.execute(
        this.db,
      );
      return { driver, plan: rows.map((r) => String(r.detail ?? r["QUERY PLAN"])) };
    });
  }

  // The most selective key to walk, or undefined when a key has no row (after q.after).
  private async driver(q: IndexQuery): Promise<SearchDriver | undefined> {
    const keys: SearchDriver[] = [];
    if (q.subjectDigest !== undefined) keys.push("subject");
    if (q.signer !== undefined) keys.push("signer");
    if (q.predicateType !== undefined) keys.push("predicate");
    const timed = q.since !== undefined || q.until !== undefined;
    // One key in log order: nothing to choose.
    if (keys.length === 1 && !timed) return keys[0];
    if (keys.length === 0 && !timed) return "log";
    if (timed) keys.push("time");
    const counts = await this.estimate(q, keys);
    let best: SearchDriver | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const k of keys) {
      let n = counts[k]!;
      if (n === 0) return undefined;
      // A capped count is at least the cap: possibly far more, so any time range below its own
      // cap (a bounded sort) beats it. Ties among capped keys go to the first in log order.
      if (k === "time") n = n < TIME_SORT_CAP ? n : Number.POSITIVE_INFINITY;
      else if (n >= ESTIMATE_CAP) n = ESTIMATE_CAP * TIME_SORT_CAP;
      if (n < least) {
        best = k;
        least = n;
      }
    }
    return best ?? "log";
  }

  // Each key's rows after q.after counted up to ESTIMATE_CAP (a time range's rows up to
  // TIME_SORT_CAP), in one round trip.
  private async estimate(
    q: IndexQuery,
    keys: readonly SearchDriver[],
  ): Promise<Partial<Record<SearchDriver, number>>> {
    const parts = keys.map((k) => {
      // A time range is counted whole, not from `after` (the time index cannot seek to a log
      // index: counting its rows after a deep cursor could pass most of the range first).
      const rows =
        k === "time"
          ? sql`${this.source({ ...q, after: -1 }, "time")} limit ${TIME_SORT_CAP}`
          : sql`${this.source(q, k, false)} limit ${ESTIMATE_CAP}`;
      return sql`(select count(*) from (select 1 from ${rows}) x) as ${sql.ref(k)}`;
    });
    const { rows } = await sql<Record<string, unknown>>`select ${sql.join(parts)}`.execute(this.db);
    const row = rows[0] ?? {};
    return Object.fromEntries(keys.map((k) => [k, toSafe(row[k], "a count")]));
  }

  // The driver's rows after q.after, as `FROM ... WHERE ...` (alias d), with the time range when
  // the driver is store_envelopes and `timed` (not in the estimates of keys: a count must not walk
  // far to find rows in range). SQLite: the index is named, so the walk is the one described
  // above whatever the statistics say.
  private source(q: IndexQuery, driver: SearchDriver, timed = true): RawBuilder<unknown> {
    const lite = this.dialect === "sqlite";
    const after = sql`d.log_index > ${q.after}`;
    const time = timed ? this.timeOf(q, "d") : sql``;
    switch (driver) {
      case "subject":
        return sql`store_subjects d where d.digest = ${q.subjectDigest} and ${after}`;
      case "signer":
        return sql`store_signers d where d.signer = ${q.signer} and ${after}`;
      case "predicate":
        return sql`store_envelopes d ${sql.raw(lite ? "indexed by store_envelopes_predicate_time " : "")}where d.predicate_type = ${q.predicateType} and ${after}${time}`;
      case "time":
        return sql`store_envelopes d ${sql.raw(lite ? "indexed by store_envelopes_time " : "")}where ${after}${time}`;
      case "log":
        return sql`store_envelopes d ${sql.raw(lite ? "indexed by store_envelopes_keys " : "")}where ${after}${time}`;
    }
  }

  // ` and <alias>.integrated_time >= since and ... < until`, or nothing.
  private timeOf(q: IndexQuery, alias: string): RawBuilder<unknown> {
    const t = sql.raw(`${alias}.integrated_time`);
    return sql`${q.since === undefined ? sql`` : sql` and ${t} >= ${q.since}`}${q.until === undefined ? sql`` : sql` and ${t} < ${q.until}`}`;
  }

  private searchQuery(q: IndexQuery, driver: SearchDriver): RawBuilder<{ log_index: unknown }> {
    // A check per driver row. Under a time driver (at most TIME_SORT_CAP rows) as a scalar
    // subquery, which PostgreSQL runs as a point lookup per row rather than turning it into a
    // join that reads the other key's every row; otherwise EXISTS (PostgreSQL may merge-join two
    // log-ordered indexes, which stops at the page's end).
    const has = (rows: RawBuilder<unknown>) =>
      driver === "time"
        ? sql`(select 1 from ${rows} limit 1) is not null`
        : sql`exists (select 1 from ${rows})`;
    const checks: RawBuilder<unknown>[] = [];
    if (q.subjectDigest !== undefined && driver !== "subject") {
      checks.push(
        has(sql`store_subjects s where s.digest = ${q.subjectDigest} and s.log_index = d.log_index`),
      );
    }
    if (q.signer !== undefined && driver !== "signer") {
      checks.push(has(sql`store_signers g where g.signer = ${q.signer} and g.log_index = d.log_index`));
    }
    // The envelope's own columns, unless the driver walks an index holding them: a point lookup
    // in the covering (log_index, predicate_type, integrated_time) index, never the row itself.
    const timed = driver !== "time" && (q.since !== undefined || q.until !== undefined);
    const predicate = driver !== "predicate" && q.predicateType !== undefined;
    if (driver !== "predicate" && driver !== "log" && (timed || predicate)) {
      const lite = this.dialect === "sqlite";
      checks.push(
        has(
          sql`store_envelopes e ${sql.raw(lite ? "indexed by store_envelopes_keys " : "")}where e.log_index = d.log_index${predicate ? sql` and e.predicate_type = ${q.predicateType}` : sql``}${timed ? this.timeOf(q, "e") : sql``}`,
        ),
      );
    }
    const more = checks.length === 0 ? sql`` : sql` and ${sql.join(checks, sql` and `)}`;
    // A time driver's rows come in time order and are sorted; `+ 0` keeps PostgreSQL's planner
    // from walking a log-ordered index instead, hoping to meet the range early.
    const order = driver === "time" ? sql`d.log_index + 0` : sql`d.log_index`;
    return sql<{
      log_index: unknown;
    }>`select d.log_index from ${this.source(q, driver)}${more} order by ${order} limit ${q.limit}`;
  }

  async get(logIndex: number): Promise<IndexRecord | undefined> {
    return this.run("reading an envelope", async () => {
      const row = await this.db
        .selectFrom("store_envelopes")
        .select(["envelope", "predicate_type", "integrated_time"])
        .where("log_index", "=", logIndex)
        .executeTakeFirst();
      if (!row) return undefined;
      // Written in put's transaction with the envelope; ordered so results are deterministic.
      const subjects = await this.db
        .selectFrom("store_subjects")
        .select("digest")
        .where("log_index", "=", logIndex)
        .orderBy("digest")
        .execute();
      const signers = await this.db
        .selectFrom("store_signers")
        .select("signer")
        .where("log_index", "=", logIndex)
        .orderBy("signer")
        .execute();
      return {
        logIndex,
        envelope: Buffer.from(row.envelope),
        predicateType: row.predicate_type,
        subjectDigests: subjects.map((s) => s.digest),
        signers: signers.map((s) => s.signer),
        integratedTime: toSafe(row.integrated_time, "a stored integrated time"),
      };
    });
  }

  /**
   * A page's records in two queries: the envelopes, then their subjects and signers together
   * (UNION ALL), instead of three queries per record.
   */
  async getMany(logIndexes: readonly number[]): Promise<IndexRecord[]> {
    const ids = [...new Set(logIndexes)];
    if (ids.length === 0) return [];
    return this.run("reading envelopes", async () => {
      const rows = await this.db
        .selectFrom("store_envelopes")
        .select(["log_index", "envelope", "predicate_type", "integrated_time"])
        .where("log_index", "in", ids)
        .orderBy("log_index")
        .execute();
      if (rows.length === 0) return [];
      const keys = await this.db
        .selectFrom("store_subjects")
        .select(["log_index", sql<string>`'s'`.as("kind"), "digest as value"])
        .where("log_index", "in", ids)
        .unionAll(
          this.db
            .selectFrom("store_signers")
            .select(["log_index", sql<string>`'g'`.as("kind"), "signer as value"])
            .where("log_index", "in", ids),
        )
        .execute();
      const subjects = new Map<number, string[]>();
      const signers = new Map<number, string[]>();
      for (const k of keys) {
        const into = k.kind === "s" ? subjects : signers;
        const at = toSafe(k.log_index, "a stored log index");
        const list = into.get(at);
        if (list) list.push(k.value);
        else into.set(at, [k.value]);
      }
      // Sorted as `get` returns them (code point order, like the per-record ORDER BY on both databases' C collation).
      const sorted = (l: string[] | undefined) => (l ?? []).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return rows.map((row) => {
        const logIndex = toSafe(row.log_index, "a stored log index");
        return {
          logIndex,
          envelope: Buffer.from(row.envelope),
          predicateType: row.predicate_type,
          subjectDigests: sorted(subjects.get(logIndex)),
          signers: sorted(signers.get(logIndex)),
          integratedTime: toSafe(row.integrated_time, "a stored integrated time"),
        };
      });
    });
  }

  async addSigners(logIndex: number, signers: readonly string[]): Promise<void> {
    if (signers.length === 0) return;
    await this.run("adding signers", async () => {
      // Only for a stored envelope (the key tables reference it); keys it has are skipped.
      const writes = [...new Set(signers)].map((signer) =>
        this.db
          .insertInto("store_signers")
          .columns(["signer", "log_index"])
          .expression(
            this.db
              .selectFrom("store_envelopes")
              .select([sql<string>`cast(${signer} as text)`.as("signer"), "log_index"])
              .where("log_index", "=", logIndex),
          )
          .onConflict((c) => c.doNothing())
          .compile(),
      );
      await this.writeTransaction(
        writes,
        this.db.selectFrom("store_backfill").select("next").compile(),
        () => [],
      );
    });
  }

  async backfillNext(name: string): Promise<number | undefined> {
    return this.run("reading a back-fill position", async () => {
      const row = await this.db
        .selectFrom("store_backfill")
        .select("next")
        .where("name", "=", name)
        .executeTakeFirst();
      return row === undefined ? undefined : toSafe(row.next, "a back-fill position");
    });
  }

  async setBackfillNext(name: string, next: number | undefined): Promise<void> {
    await this.run("recording a back-fill position", async () => {
      const write =
        next === undefined
          ? this.db.deleteFrom("store_backfill").where("name", "=", name).compile()
          : this.db.updateTable("store_backfill").set({ next }).where("name", "=", name).compile();
      await this.writeTransaction(
        [write],
        this.db.selectFrom("store_backfill").select("next").compile(),
        () => [],
      );
    });
  }

  /** Closes the connections; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.destroy();
    if (this.sqlite?.open) this.sqlite.close();
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw cairnError("ERR_USAGE", "the store index is closed");
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

  private migrate(): Promise<void> {
    return migrateSchema(this.db, this.writer, this.dialect, {
      component: "store",
      migrations: MIGRATIONS,
      migrateLockKey: MIGRATE_KEY,
      refuse: (message) => cairnError("ERR_STORE_STORAGE", message),
    });
  }
}

/**
 * Opens (creating or migrating) a store index in the SQLite file at `path` (it may be the log's
 * own file: the tables do not overlap), WAL mode, synced per write (openSqlite). Throws ERR_STORE_STORAGE when
 * the file cannot be opened, ERR_USAGE for an in-memory path (use MemorySearchIndex).
 */
export async function sqliteSearchIndex(
  path: string,
  opts: { durability?: SqliteDurability } = {},
): Promise<SqlSearchIndex> {
  if (path === "" || path === ":memory:" || path.startsWith("file:")) {
    throw cairnError("ERR_USAGE", "a SQLite store needs a file path (MemorySearchIndex keeps one in memory)");
  }
  // By default synced by its writer, off the event loop: an envelope seen by a search a moment
  // before it is durable commits nobody (its submitter is answered after the sync; a resubmission
  // stores it). A thread that only writes (runtime/sqlite-writer.ts) asks for "commit": SQLite
  // syncs inside the commit, with no file to open and close per transaction.
  const database = await openSqlite(
    path,
    (e) => failure(e, `cannot open the SQLite store ${path}`),
    opts.durability ?? "writer",
  );
  database.pragma("foreign_keys = ON");
  return SqlSearchIndex.create(
    "sqlite",
    new Kysely<Tables>({ dialect: new SqliteDialect({ database }) }),
    database,
  );
}

/**
 * Opens (creating or migrating) a store index in the PostgreSQL database at `url`. Throws
 * ERR_STORE_STORAGE when the server cannot be reached or the database holds something else.
 */
export async function postgresSearchIndex(
  url: string,
  options: PostgresSearchIndexOptions = {},
): Promise<SqlSearchIndex> {
  const pool = await openPostgresPool(url, options.maxConnections ?? 10);
  return SqlSearchIndex.create("postgres", new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }));
}

/** Opens the store index a `--database` value names: a `postgres://` URL or a SQLite file path. */
export function sqlSearchIndex(location: string): Promise<SqlSearchIndex> {
  return isPostgresUrl(location) ? postgresSearchIndex(location) : sqliteSearchIndex(location);
}

// A stored integer as a JS number; anything that does not fit exactly is refused, never rounded.
function toSafe(v: unknown, what: string): number {
  return requireSafeInteger(v, what, (message) => cairnError("ERR_STORE_STORAGE", message));
}

// Driver errors to the port's codes: a unique violation is a concurrent put of the same index;
// everything else is a storage failure (transport).
function failure(e: unknown, what: string): CairnError {
  if (e instanceof CairnError) return e;
  const message = `${what}: ${(e as Error)?.message ?? String(e)}`;
  if (driverErrorKind(e) === "conflict") {
    return cairnError(
      "ERR_STORE_CONFLICT",
      `${message} (a concurrent put of the same log index?)`,
      {},
      { cause: e },
    );
  }
  return cairnError("ERR_STORE_STORAGE", message, {}, { cause: e });
}
