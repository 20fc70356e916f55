// SPDX-License-Identifier: Apache-2.0
// Rekor searchLogQuery (POST /api/v1/log/entries/retrieve) and the LogNode batch reads behind it,
// on SQLite (a temp file) and a real PostgreSQL (src/testing/postgres.ts): many entries found by
// UUID and by index come back in the order given, equal to the one-by-one reads, from one leaf-hash
// lookup and one entry read for the whole set (counted on the storage port), never a read per entry.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { LogNode } from "../../src/engines/lognode/index.js";
import type { LogStorage } from "../../src/engines/tlog/index.js";
import { postgresLogStorage, type SqlLogStorage, sqliteLogStorage } from "../../src/runtime/tlog-sql.js";
import { buildServer, rekorRoutes } from "../../src/services/index.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";

const ENTRIES = 300;

/** Counts the calls of each storage method (what a batch read must keep constant). */
function counted(inner: LogStorage) {
  const calls = new Map<string, number>();
  const storage = new Proxy(inner, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return v.apply(target, args);
      };
    },
  });
  return { storage, calls };
}

const reads = (calls: Map<string, number>) =>
  ["readEntries", "readEntriesAt", "readIntegratedTimes", "findLeafHash", "findLeafHashes"].reduce(
    (n, k) => n + (calls.get(k) ?? 0),
    0,
  );

let dir = "";
let pgServer: TestPostgres | undefined;
const backends: { name: string; open(): Promise<SqlLogStorage> }[] = [
  { name: "SQLite", open: () => sqliteLogStorage(join(dir, "log.db")) },
  {
    name: "PostgreSQL",
    open: async () => postgresLogStorage(await pgServer!.createDatabase(), { maxConnections: 4 }),
  },
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-retrieve-"));
  pgServer = await startPostgres();
});
after(async () => {
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const backend of backends) {
  describe(`Rekor retrieve on ${backend.name}`, () => {
    let sql: SqlLogStorage;
    let node: LogNode;
    let app: FastifyInstance;
    let calls: Map<string, number>;
    const uuids: string[] = [];

    before(async () => {
      sql = await backend.open();
      const c = counted(sql);
      calls = c.calls;
      node = new LogNode({
        storage: c.storage,
        key: generateKeyPairSync("ed25519").privateKey,
        origin: "cairn.test/retrieve",
        sequencer: { maxBatchDelayMs: 1 },
      });
      await node.becomeSequencer();
      const results = await Promise.all(
        Array.from({ length: ENTRIES }, (_, i) => node.appendLeaf(Buffer.from(`entry ${i}`))),
      );
      assert.deepEqual(
        results.map((r) => r.index).sort((a, b) => a - b),
        Array.from({ length: ENTRIES }, (_, i) => i),
      );
      for (let i = 0; i < ENTRIES; i++) uuids.push((await node.entryAt(i)).leafHash.toString("hex"));
      app = await buildServer({ plugins: [rekorRoutes(node)], auth: { mode: "none" }, logger: false });
    });
    after(async () => {
      await app.close();
      await node.close();
      await sql.close();
    });

    test("many UUIDs and indexes: the order given, unknown ones left out, one lookup and one read", async () => {
      // A shuffled selection with repeats, plus UUIDs the log does not have.
      const picks = Array.from({ length: 250 }, (_, k) => (k * 7919) % ENTRIES);
      const unknown = ["ab".repeat(32), `${"0".repeat(16)}${"cd".repeat(32)}`];
      const asked = [
        ...picks.slice(0, 100).map((i) => uuids[i]!),
        ...unknown,
        ...picks.slice(100).map((i) => uuids[i]!),
      ];
      calls.clear();
      const byUuid = await node.entriesByUuid(asked);
      assert.equal(reads(calls), 2, `storage reads: ${JSON.stringify([...calls])}`);
      assert.deepEqual(
        byUuid.map((e) => e.logIndex),
        picks,
      );
      calls.clear();
      const byIndex = await node.entriesAt([...picks, ENTRIES + 5]);
      assert.equal(reads(calls), 1, `storage reads: ${JSON.stringify([...calls])}`);
      assert.deepEqual(byIndex, byUuid);
      // Each equals the one-by-one read (leaf, time, proof at the same checkpoint).
      for (const e of byIndex.slice(0, 20)) {
        const one = await node.entryAt(e.logIndex);
        assert.deepEqual(one, e);
        assert.equal(e.leaf.toString(), `entry ${e.logIndex}`);
      }
      // A 64-hex UUID with its 16-hex tree-ID prefix finds the same entry.
      const [prefixed] = await node.entriesByUuid([`${"1".repeat(16)}${uuids[3]}`]);
      assert.equal(prefixed?.logIndex, 3);
    });

    test("POST /api/v1/log/entries/retrieve keeps Rekor's shape and order", async () => {
      const post = (payload: object) =>
        app.inject({ method: "POST", url: "/api/v1/log/entries/retrieve", payload });
      const askedUuids = [uuids[250]!, "ef".repeat(32), uuids[4]!, uuids[250]!, uuids[99]!];
      const askedIndexes = [17, ENTRIES + 1, 0, 299, 17];
      calls.clear();
      const res = await post({ entryUUIDs: askedUuids, logIndexes: askedIndexes });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(reads(calls), 2, `storage reads: ${JSON.stringify([...calls])}`);
      const got = res.json() as Record<string, { logIndex: number; body: string }>[];
      const expected = [250, 4, 250, 99, 17, 0, 299, 17];
      assert.deepEqual(
        got.map((o) => Object.values(o)[0]!.logIndex),
        expected,
      );
      for (const [k, o] of got.entries()) {
        const [uuid, entry] = Object.entries(o)[0]!;
        assert.equal(uuid, uuids[expected[k]!]);
        // Exactly what getLogEntryByIndex answers.
        const one = (
          await app.inject({ method: "GET", url: `/api/v1/log/entries?logIndex=${entry.logIndex}` })
        ).json();
        assert.deepEqual(o, one);
      }
      assert.equal((await post({ entryUUIDs: uuids.slice(0, 11) })).statusCode, 400);
      assert.equal((await post({ entryUUIDs: ["zz"] })).statusCode, 400);
      assert.equal((await post({ logIndexes: [-1] })).statusCode, 400);
      assert.deepEqual((await post({})).json(), []);
    });
  });
}
