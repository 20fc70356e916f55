// SPDX-License-Identifier: Apache-2.0
// SQLite durability modes (runtime/sql.ts): "commit" syncs inside every commit; "writer" leaves the
// sync to SqlWriter, whose transaction resolves after the WAL is synced. Real SQLite files.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { Kysely, SqliteDialect, sql } from "kysely";
import { insertChunks, openSqlite, SqlWriter } from "./sql.js";

const dir = mkdtempSync(join(tmpdir(), "cairn-sql-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const fail = (e: unknown) => e as Error;

describe("openSqlite durability", () => {
  test("'commit' (the default, the log's) syncs in every commit: synchronous=FULL, WAL", async () => {
    const db = await openSqlite(join(dir, "a.db"), fail);
    assert.equal(Number(db.pragma("synchronous", { simple: true })), 2);
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
  });

  test("'writer' leaves the sync to SqlWriter, whose writes are read back once it resolves", async () => {
    const path = join(dir, "b.db");
    const db = await openSqlite(path, fail, "writer");
    assert.equal(Number(db.pragma("synchronous", { simple: true })), 1);
    const k = new Kysely<{ t: { v: number } }>({ dialect: new SqliteDialect({ database: db }) });
    const writer = new SqlWriter(k, db);
    await writer.transaction(
      [sql`create table t (v integer not null)`.compile(k)],
      sql`select count(*) as n from t`.compile(k),
      () => [sql`insert into t (v) values (${7})`.compile(k)],
    );
    // Another connection (as another process would) sees the committed row.
    const other = await openSqlite(path, fail);
    assert.equal(Number(other.prepare("select v from t").pluck().get()), 7);
    other.close();
    await k.destroy();
  });
});

test("insertChunks: every row once in order; SQLite chunks are powers of two, PostgreSQL's as few as fit", () => {
  fc.assert(
    fc.property(fc.nat(5000), fc.integer({ min: 1, max: 1500 }), (n, max) => {
      const rows = Array.from({ length: n }, (_, i) => i);
      const lite = insertChunks(rows, max, "sqlite");
      const pg = insertChunks(rows, max, "postgres");
      assert.deepEqual(lite.flat(), rows);
      assert.deepEqual(pg.flat(), rows);
      for (const c of lite) {
        assert.ok(c.length >= 1 && c.length <= max);
        assert.equal(c.length & (c.length - 1), 0, `${c.length} is a power of two`);
      }
      assert.equal(pg.length, Math.ceil(n / max));
      // A statement text per chunk size: few, whatever the batch sizes.
      assert.ok(new Set(lite.map((c) => c.length)).size <= Math.log2(max) + 1);
    }),
  );
});
