// SPDX-License-Identifier: Apache-2.0
// The SQL search index's query plans (src/runtime/store-sql.ts, schema version 4) against the
// in-memory reference (MemorySearchIndex, a linear scan with recordMatches), on SQLite (temp
// files) and a real PostgreSQL (src/testing/postgres.ts): every search shape (subject, predicate,
// signer, time range, each combination, first and deep pages) answers what the reference answers,
// on random small stores and on a skewed store large enough that each driver choice (selective
// key, capped counts, time range sorted or filtered) is taken; SQLite's plans walk an index in
// log order and never sort (except a bounded time range); and a version-3 database is migrated.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import fc from "fast-check";
import { type IndexQuery, type IndexRecord, MemorySearchIndex } from "../../src/engines/store/index.js";
import { postgresSearchIndex, type SqlSearchIndex, sqliteSearchIndex } from "../../src/runtime/store-sql.js";
import { execSql, querySql, startPostgres, type TestPostgres } from "../../src/testing/postgres.js";

const PREDICATES = [
  "https://slsa.dev/provenance/v1",
  "https://spdx.dev/Document",
  "https://example.com/rare",
];

interface Site {
  name: string;
  /** A fresh, empty database's location. */
  fresh(): Promise<string>;
  open(location: string): Promise<SqlSearchIndex>;
}

let dir = "";
let serial = 0;
let server: TestPostgres | undefined;
const sites: Site[] = [
  {
    name: "SQLite",
    fresh: async () => join(dir, `search-${++serial}.db`),
    open: (location) => sqliteSearchIndex(location),
  },
  {
    name: "PostgreSQL",
    fresh: () => server!.createDatabase(),
    open: (location) => postgresSearchIndex(location, { maxConnections: 2 }),
  },
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-store-search-"));
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const opened: SqlSearchIndex[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
});

/** A record from small key pools (so that keys repeat and combinations match). */
const recordArb = (logIndex: number) =>
  fc
    .record({
      predicateType: fc.constantFrom(...PREDICATES),
      subjectDigests: fc.uniqueArray(
        fc.nat(5).map((n) => `sha256:${String(n).repeat(64)}`),
        { maxLength: 3 },
      ),
      signers: fc.uniqueArray(
        fc.constantFrom("key:a", "key:b", "identity:ci@example.com", "oidc:https://i ci"),
        {
          maxLength: 3,
        },
      ),
      // Not monotone in the log index: a time filter must not assume it.
      integratedTime: fc.integer({ min: 0, max: 50 }),
    })
    .map((r): IndexRecord => ({ logIndex, envelope: Buffer.from(`envelope ${logIndex}`), ...r }));

const queryArb = fc.record(
  {
    subjectDigest: fc.nat(6).map((n) => `sha256:${String(n).repeat(64)}`),
    predicateType: fc.constantFrom(...PREDICATES),
    signer: fc.constantFrom("key:a", "key:b", "key:none", "identity:ci@example.com", "oidc:https://i ci"),
    since: fc.integer({ min: 0, max: 50 }),
    until: fc.integer({ min: 0, max: 51 }),
  },
  { requiredKeys: [] },
);

/** Every page of a search, following `after` as the engine's cursor does. */
async function allPages(index: { search(q: IndexQuery): Promise<number[]> }, q: Omit<IndexQuery, "after">) {
  const out: number[] = [];
  let after = -1;
  for (;;) {
    const page = await index.search({ ...q, after });
    out.push(...page);
    if (page.length < q.limit) return out;
    after = page[page.length - 1]!;
  }
}

/**
 * A skewed store large enough for every driver choice: key counts above the estimate cap and
 * below it, a time range above the sort cap and below it.
 */
function skewed(n: number): IndexRecord[] {
  const out: IndexRecord[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      logIndex: i * 2 + (i % 3 === 0 ? 1 : 0),
      envelope: Buffer.from(`e${i}`),
      // 90%, 9%, 1%.
      predicateType: PREDICATES[i % 100 === 0 ? 2 : i % 10 === 0 ? 1 : 0]!,
      subjectDigests: [`sha256:${String(i % 7).repeat(64)}`, `sha256:u${i}`],
      signers: [`key:${i % 4}`, ...(i % 50 === 0 ? ["identity:rare@example.com"] : [])],
      // Mostly increasing with the log index, with some stragglers far behind.
      integratedTime: i % 97 === 0 ? i - 5000 : i,
    });
  }
  return out;
}

for (const site of sites) {
  describe(`SQL store search on ${site.name}`, () => {
    test("random small stores: every search shape answers as the in-memory reference (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .uniqueArray(fc.nat(200), { maxLength: 30 })
            .chain((indexes) => fc.tuple(...indexes.map(recordArb))),
          fc.array(fc.tuple(queryArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: -1, max: 200 })), {
            minLength: 1,
            maxLength: 12,
          }),
          async (records, queries) => {
            const index = await site.open(await site.fresh());
            opened.push(index);
            const reference = new MemorySearchIndex();
            if (records.length > 0) await index.putMany(records);
            for (const r of records) await reference.put(r);
            for (const [q, limit, after] of queries) {
              assert.deepEqual(
                await index.search({ ...q, limit, after }),
                await reference.search({ ...q, limit, after }),
              );
              assert.deepEqual(
                await allPages(index, { ...q, limit }),
                await allPages(reference, { ...q, limit }),
              );
            }
            await Promise.allSettled(opened.splice(0).map((s) => s.close()));
          },
        ),
        { numRuns: site.name === "SQLite" ? 40 : 12 },
      );
    });

    test("a skewed store of 24,000: every driver choice answers as the reference, pages included", async () => {
      const records = skewed(24_000);
      const index = await site.open(await site.fresh());
      opened.push(index);
      const reference = new MemorySearchIndex();
      for (let at = 0; at < records.length; at += 4000) await index.putMany(records.slice(at, at + 4000));
      for (const r of records) await reference.put(r);
      const [slsa, spdx, rare] = PREDICATES as [string, string, string];
      const subject = `sha256:${"3".repeat(64)}`;
      const shapes: [Omit<IndexQuery, "after" | "limit">, string | undefined][] = [
        [{}, "log"],
        [{ subjectDigest: subject }, "subject"],
        [{ subjectDigest: "sha256:u777" }, "subject"],
        [{ predicateType: rare }, "predicate"],
        [{ signer: "key:1" }, "signer"],
        [{ signer: "identity:rare@example.com" }, "signer"],
        [{ since: 100, until: 400 }, "time"], // a narrow range: sorted
        [{ since: 1000 }, "log"], // a wide one: a filter on the log-order walk
        [{ until: 1000 }, "time"],
        [{ since: 30_000 }, undefined], // nothing in range
        [{ signer: "key:1", predicateType: slsa }, "signer"], // both capped: the first in log order
        [{ signer: "identity:rare@example.com", predicateType: slsa }, "signer"],
        [{ signer: "key:2", predicateType: rare }, "predicate"], // the rare predicate is smaller
        [{ subjectDigest: "sha256:u777", predicateType: slsa }, "subject"],
        [{ subjectDigest: subject, signer: "key:3", predicateType: spdx }, "subject"],
        [{ predicateType: slsa, since: 5000, until: 5600 }, "time"],
        [{ signer: "key:0", since: 2000 }, "signer"], // a wide range: a filter
        [{ signer: "key:none", since: 100 }, undefined],
        [
          { subjectDigest: subject, signer: "key:1", predicateType: slsa, since: 100, until: 20_000 },
          "subject",
        ],
      ];
      for (const [q, driver] of shapes) {
        const what = JSON.stringify(q);
        assert.equal((await index.explainSearch({ ...q, after: -1, limit: 51 })).driver, driver, what);
        for (const after of [-1, 17_000, 47_999]) {
          assert.deepEqual(
            await index.search({ ...q, after, limit: 51 }),
            await reference.search({ ...q, after, limit: 51 }),
            `${what} after ${after}`,
          );
        }
        // Small pages walk the whole answer of the selective shapes.
        const expected = await allPages(reference, { ...q, limit: 500 });
        if (expected.length <= 2000)
          assert.deepEqual(await allPages(index, { ...q, limit: 37 }), expected, what);
      }
      if (site.name === "SQLite") {
        // Every plan walks an index in log order (no table scan, no sort), but a time range's.
        for (const [q, driver] of shapes) {
          if (driver === undefined) continue;
          const { plan } = await index.explainSearch({ ...q, after: -1, limit: 51 });
          const text = plan.join("\n");
          assert.doesNotMatch(text, /^SCAN/m, `${JSON.stringify(q)}:\n${text}`);
          if (driver === "time") assert.match(text, /store_envelopes_time/, text);
          else assert.doesNotMatch(text, /TEMP B-TREE/, `${JSON.stringify(q)}:\n${text}`);
        }
      }
    });

    test("a version-3 store is migrated to version 4, with the same answers", async () => {
      const location = await site.fresh();
      const records = skewed(3000);
      const first = await site.open(location);
      await first.putMany(records);
      await first.close();
      // The version-3 schema: the predicate index without the time, no covering key index.
      for (const stmt of [
        "drop index store_envelopes_keys",
        "drop index store_envelopes_predicate_time",
        "create index store_envelopes_predicate on store_envelopes (predicate_type, log_index)",
        "update cairn_schema set version = 3 where component = 'store'",
      ]) {
        await execSql(location, stmt);
      }
      const migrated = await site.open(location);
      opened.push(migrated);
      const indexes = await listIndexes(location);
      assert.ok(indexes.includes("store_envelopes_keys"), indexes.join());
      assert.ok(indexes.includes("store_envelopes_predicate_time"), indexes.join());
      assert.ok(!indexes.includes("store_envelopes_predicate"), indexes.join());
      assert.equal(await schemaVersion(location), 4);
      const reference = new MemorySearchIndex();
      for (const r of records) await reference.put(r);
      for (const q of [
        { predicateType: PREDICATES[1]! },
        { signer: "key:2", predicateType: PREDICATES[0]!, since: 500 },
        { subjectDigest: `sha256:${"5".repeat(64)}`, until: 2000 },
        { since: 1000, until: 1200 },
      ]) {
        assert.deepEqual(
          await migrated.search({ ...q, after: -1, limit: 100 }),
          await reference.search({ ...q, after: -1, limit: 100 }),
        );
      }
      assert.deepEqual(await migrated.get(7), await reference.get(7));
      // Opening again is a no-op.
      opened.push(await site.open(location));
      assert.equal(await schemaVersion(location), 4);
    });
  });
}

async function listIndexes(location: string): Promise<string[]> {
  const rows = await querySql(
    location,
    location.startsWith("postgres")
      ? "select indexname as name from pg_indexes where tablename = 'store_envelopes'"
      : "select name from sqlite_master where type = 'index' and tbl_name = 'store_envelopes'",
  );
  return rows.map((r) => String(r.name));
}

async function schemaVersion(location: string): Promise<number> {
  const [row] = await querySql(location, "select version from cairn_schema where component = 'store'");
  return Number(row?.version);
}
