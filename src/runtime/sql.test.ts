// SPDX-License-Identifier: Apache-2.0
// SQLite durability modes (runtime/sql.ts): "commit" syncs inside every commit; "writer" leaves the
// sync to SqlWriter, whose transaction resolves after the WAL is synced. Real SQLite files.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Kysely, SqliteDialect, sql } from "kysely";
import { openSqlite, SqlWriter } from "./sql.js";

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
