// SPDX-License-Identifier: Apache-2.0
// SQLite durability modes (runtime/sql.ts): "commit" syncs inside every commit; "writer" leaves the
// sync to SqlWriter, whose transaction resolves after the WAL is synced. Real SQLite files.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import { Kysely, SqliteDialect, sql } from "kysely";
import { insertRows, openSqlite, SqlWriter } from "./sql.js";

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

test("insertRows: PostgreSQL as few multi-row statements as fit; SQLite one single-row statement per row, one text, each row's own values", () => {
  const db = new Kysely<{ t: { a: number; b: string } }>({
    dialect: new SqliteDialect({ database: new Database(":memory:") }),
  });
  const build = (rows: { a: number; b: string }[]) => db.insertInto("t").values(rows).compile();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer(), fc.string()), { maxLength: 300 }),
      fc.integer({ min: 1, max: 64 }),
      (pairs, max) => {
        const rows = pairs.map(([a, b]) => ({ a, b }));
        const pg = insertRows("postgres", rows, max, build);
        assert.equal(pg.length, Math.ceil(rows.length / max));
        assert.deepEqual(
          pg.flatMap((q) => q.parameters),
          rows.flatMap((r) => [r.a, r.b]),
        );
        const lite = insertRows("sqlite", rows, max, build);
        assert.equal(lite.length, rows.length);
        assert.ok(new Set(lite.map((q) => q.sql)).size <= 1);
        lite.forEach((q, i) => {
          assert.deepEqual(q.parameters, build([rows[i]!]).parameters);
          assert.equal(q.sql, build([rows[i]!]).sql);
        });
      },
    ),
  );
  // Rows whose keys come in another order are compiled as they are: never a value in the wrong column.
  const mixed = insertRows(
    "sqlite",
    [{ a: 1, b: "x" }, { b: "y", a: 2 } as { a: number; b: string }],
    8,
    build,
  );
  assert.deepEqual(mixed[1]!.parameters, build([{ b: "y", a: 2 } as { a: number; b: string }]).parameters);
  assert.equal(mixed[1]!.sql, build([{ b: "y", a: 2 } as { a: number; b: string }]).sql);
});
