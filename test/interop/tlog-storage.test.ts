// SPDX-License-Identifier: Apache-2.0
// The LogStorage contract (src/engines/tlog/storage.ts), one suite run against MemoryLogStorage,
// SQLite (a temp file) and a real PostgreSQL server started on 127.0.0.1 (src/testing/postgres.ts);
// then a Sequencer end to end on each, and the sequencer lock (one writer per log) on SQLite and
// PostgreSQL, including a lock holder killed with SIGKILL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { toPem } from "../../src/core/encoding.js";
import {
  FaultyLogStorage,
  type LogStorage,
  MemoryLogStorage,
  Sequencer,
  type StoredLeaf,
  type SubmitResult,
} from "../../src/engines/tlog/index.js";
import {
  hashLeaf,
  MerkleTree,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../../src/formats/tlog/index.js";
import { SqliteWriterThread } from "../../src/runtime/sqlite-writer.js";
import {
  postgresLogStorage,
  type SqlLogStorage,
  sqliteLogStorage,
  sqlLogStorage,
} from "../../src/runtime/tlog-sql.js";
import { execSql, startPostgres, type TestPostgres } from "../../src/testing/postgres.js";
import { freePort } from "../../src/testing/registry.js";
import { ecPair, issueLeaf, makeTestCa } from "../../src/testing/sigstore-ca.js";

const ORIGIN = "example.com/cairn-storage-test";
const { privateKey: KEY } = generateKeyPairSync("ed25519");

const leaf = (s: string): StoredLeaf => ({ data: Buffer.from(s), leafHash: hashLeaf(Buffer.from(s)) });
const leaves = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => leaf(`${prefix} ${i}`));
const cp = (size: number) => ({ size, note: `checkpoint ${size}\n` });

/** One log's location: every `open()` is another storage object (another "process") on it. */
interface Site {
  open(): Promise<LogStorage>;
  /** SQL sites: the `--database` value (a file path or a URL). */
  location?: string;
  /** SQL sites: runs a statement behind the log's back (corruption tests). */
  tamper?(stmt: string): Promise<void>;
}

interface Backend {
  name: string;
  /** SQL backends keep leaf hashes unique and have a sequencer lock. */
  sql: boolean;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  site(): Promise<Site>;
}

// Storages opened by a test, closed after it.
const opened: SqlLogStorage[] = [];
const track = (s: SqlLogStorage) => {
  opened.push(s);
  return s;
};
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
});

const memory: Backend = {
  name: "MemoryLogStorage",
  sql: false,
  setup: async () => {},
  teardown: async () => {},
  async site() {
    const s = new MemoryLogStorage();
    return { open: async () => s };
  },
};

let sqliteDir = "";
let sqliteSerial = 0;
const sqlite: Backend = {
  name: "SQLite",
  sql: true,
  async setup() {
    sqliteDir = mkdtempSync(join(tmpdir(), "cairn-tlog-sqlite-"));
  },
  async teardown() {
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  },
  async site() {
    const path = join(sqliteDir, `log-${++sqliteSerial}.db`);
    return {
      location: path,
      open: async () => track(await sqliteLogStorage(path)),
      tamper: (stmt) => execSql(path, stmt),
    };
  },
};

// The same files, appends made on a writer thread (runtime/sqlite-writer.ts), as `cairn serve`
// opens a SQLite data directory: every storage object of a site has a thread of its own.
const threads: SqliteWriterThread[] = [];
afterEach(async () => {
  await Promise.allSettled(threads.splice(0).map((t) => t.close()));
});
const sqliteThreaded: Backend = {
  ...sqlite,
  name: "SQLite (writer thread)",
  async site() {
    const path = join(sqliteDir, `log-${++sqliteSerial}.db`);
    return {
      location: path,
      open: async () => {
        const s = track(await sqliteLogStorage(path));
        const thread = new SqliteWriterThread({ logPath: path });
        threads.push(thread);
        s.appendThrough((batch) => thread.append(batch));
        return s;
      },
      tamper: (stmt) => execSql(path, stmt),
    };
  },
};

let server: TestPostgres | undefined;
const postgres: Backend = {
  name: "PostgreSQL",
  sql: true,
  async setup() {
    server = await startPostgres();
  },
  async teardown() {
    await server?.stop();
  },
  async site() {
    if (!server) throw new Error("the PostgreSQL server did not start");
    const url = await server.createDatabase();
    return {
      location: url,
      open: async () => track(await postgresLogStorage(url)),
      tamper: (stmt) => execSql(url, stmt),
    };
  },
};

function checkResult(seq: Sequencer, r: SubmitResult, data: Buffer): void {
  const { checkpoint } = openCheckpoint(r.checkpoint, { log: seq.verifier, origin: ORIGIN });
  assert.equal(checkpoint.size, r.treeSize);
  assert.deepEqual(r.leafHash, hashLeaf(data));
  verifyInclusion(r.leafHash, r.index, r.treeSize, r.inclusionProof, checkpoint.rootHash);
}

async function treeOf(s: LogStorage): Promise<MerkleTree> {
  const { size } = await s.head();
  const t = new MerkleTree();
  for (const h of await s.readLeafHashes(0, size)) t.append(h);
  return t;
}

for (const backend of [memory, sqlite, sqliteThreaded, postgres]) {
  describe(`LogStorage contract: ${backend.name}`, () => {
    before(() => backend.setup());
    after(() => backend.teardown());

    test("appends a batch with its checkpoint, reads ranges, finds leaf hashes", async () => {
      const s = await (await backend.site()).open();
      assert.deepEqual(await s.head(), { size: 0, checkpoint: undefined });
      await s.append({ start: 0, leaves: [], checkpoint: cp(0) });
      assert.deepEqual(await s.head(), { size: 0, checkpoint: cp(0) });
      await s.append({ start: 0, leaves: [leaf("a"), leaf("b")], checkpoint: cp(2) });
      await s.append({ start: 2, leaves: [leaf("c")], checkpoint: cp(3) });
      assert.deepEqual(await s.head(), { size: 3, checkpoint: cp(3) });
      assert.deepEqual((await s.readEntries(0, 3)).map(String), ["a", "b", "c"]);
      assert.deepEqual((await s.readEntries(1, 3)).map(String), ["b", "c"]);
      assert.deepEqual(await s.readEntries(3, 3), []);
      assert.deepEqual(await s.readLeafHashes(2, 3), [hashLeaf(Buffer.from("c"))]);
      assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("a"))), 0);
      assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("c"))), 2);
      assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("z"))), undefined);
      if (s.findLeafHashes) {
        const hs = ["c", "z", "a"].map((x) => hashLeaf(Buffer.from(x)));
        assert.deepEqual(await s.findLeafHashes(hs), [2, undefined, 0]);
      }
    });

    test("records each entry's integration time with it", async () => {
      const s = await (await backend.site()).open();
      await s.append({
        start: 0,
        leaves: [{ ...leaf("a"), time: 1700000000 }, leaf("b")],
        checkpoint: cp(2),
      });
      if (s.readIntegratedTimes) assert.deepEqual(await s.readIntegratedTimes(0, 2), [1700000000, 0]);
      if (s.readEntriesAt) {
        // Scattered reads: the order given, repeats kept, data and time together.
        const got = await s.readEntriesAt([1, 0, 1]);
        assert.deepEqual(
          got.map((e) => [String(e.data), e.time]),
          [
            ["b", 0],
            ["a", 1700000000],
            ["b", 0],
          ],
        );
        await assert.rejects(s.readEntriesAt([0, 2]), { code: "ERR_USAGE" });
        await assert.rejects(s.readEntriesAt([-1]), { code: "ERR_USAGE" });
      }
      await assert.rejects(s.append({ start: 2, leaves: [{ ...leaf("c"), time: -1 }], checkpoint: cp(3) }), {
        code: "ERR_USAGE",
      });
    });

    test("keeps binary data and large entries byte for byte; stored buffers are copies", async () => {
      const s = await (await backend.site()).open();
      const big = Buffer.alloc(3 * 1024 * 1024, 0xa5);
      big[0] = 0;
      const bin = Buffer.from([0, 255, 0, 10, 13, 39, 92]);
      const batch = [
        { data: big, leafHash: hashLeaf(big) },
        { data: bin, leafHash: hashLeaf(bin) },
      ];
      await s.append({ start: 0, leaves: batch, checkpoint: cp(2) });
      big[1] = 0;
      const [a, b] = await s.readEntries(0, 2);
      assert.equal(a?.length, big.length);
      assert.equal(a?.[1], 0xa5);
      assert.deepEqual(b, bin);
    });

    test("refuses a wrong start, a checkpoint of the wrong size, a malformed leaf and bad ranges: nothing changes", async () => {
      const s = await (await backend.site()).open();
      await s.append({ start: 0, leaves: [leaf("a")], checkpoint: cp(1) });
      await assert.rejects(s.append({ start: 0, leaves: [leaf("b")], checkpoint: cp(1) }), {
        code: "ERR_TLOG_STORAGE_CONFLICT",
      });
      await assert.rejects(s.append({ start: 2, leaves: [leaf("b")], checkpoint: cp(3) }), {
        code: "ERR_TLOG_STORAGE_CONFLICT",
      });
      await assert.rejects(s.append({ start: 1, leaves: [leaf("b")], checkpoint: cp(5) }), {
        code: "ERR_USAGE",
      });
      await assert.rejects(
        s.append({
          start: 1,
          leaves: [{ data: Buffer.from("x"), leafHash: Buffer.alloc(3) }],
          checkpoint: cp(2),
        }),
        { code: "ERR_USAGE" },
      );
      await assert.rejects(s.append({ start: -1, leaves: [], checkpoint: cp(-1) }), { code: "ERR_USAGE" });
      await assert.rejects(s.readEntries(0, 2), { code: "ERR_USAGE" });
      await assert.rejects(s.readEntries(-1, 1), { code: "ERR_USAGE" });
      await assert.rejects(s.readLeafHashes(1, 0), { code: "ERR_USAGE" });
      await assert.rejects(s.readLeafHashes(0, 1.5), { code: "ERR_USAGE" });
      assert.deepEqual(await s.head(), { size: 1, checkpoint: cp(1) });
      assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("b"))), undefined);
    });

    test("a failing append leaves nothing: not the entries written before the failure, not the checkpoint", async () => {
      const s = await (await backend.site()).open();
      await s.append({ start: 0, leaves: leaves("first", 10), checkpoint: cp(10) });
      // A batch larger than one INSERT statement whose very last leaf is already stored: the
      // first statements succeed inside the transaction before the failure.
      const batch = [...leaves("second", 2500), leaf("first 3")];
      const dupInBatch = [leaf("third 0"), leaf("third 1"), leaf("third 0")];
      if (backend.sql) {
        await assert.rejects(s.append({ start: 10, leaves: batch, checkpoint: cp(10 + batch.length) }), {
          code: "ERR_TLOG_STORAGE_CONFLICT",
        });
        // A batch holding the same leaf twice.
        await assert.rejects(s.append({ start: 10, leaves: dupInBatch, checkpoint: cp(13) }), {
          code: "ERR_USAGE",
        });
        assert.deepEqual(await s.head(), { size: 10, checkpoint: cp(10) });
        assert.equal(await s.findLeafHash(batch[0]!.leafHash), undefined);
        assert.equal(await s.findLeafHash(dupInBatch[1]!.leafHash), undefined);
        await assert.rejects(s.readEntries(10, 11), { code: "ERR_USAGE" });
        // The log goes on from where it was.
        await s.append({ start: 10, leaves: leaves("fourth", 2), checkpoint: cp(12) });
        assert.deepEqual((await s.readEntries(9, 12)).map(String), ["first 9", "fourth 0", "fourth 1"]);
      } else {
        // The in-memory reference stores duplicates and finds the first (the sequencer never
        // appends one: it deduplicates before appending).
        await s.append({ start: 10, leaves: batch, checkpoint: cp(10 + batch.length) });
        assert.equal(await s.findLeafHash(leaf("first 3").leafHash), 3);
      }
    });

    test("two writers: the second append at the same start is refused, whichever wins", async () => {
      const site = await backend.site();
      const w1 = await site.open();
      const w2 = await site.open();
      await w1.append({ start: 0, leaves: [leaf("base")], checkpoint: cp(1) });
      assert.equal((await w2.head()).size, 1);
      const results = await Promise.allSettled([
        w1.append({ start: 1, leaves: leaves("one", 50), checkpoint: cp(51) }),
        w2.append({ start: 1, leaves: leaves("two", 30), checkpoint: cp(31) }),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      assert.equal(ok.length, 1);
      assert.equal(refused.length, 1);
      assert.equal((refused[0] as PromiseRejectedResult).reason.code, "ERR_TLOG_STORAGE_CONFLICT");
      const winner = results[0]!.status === "fulfilled" ? "one" : "two";
      const size = winner === "one" ? 51 : 31;
      for (const s of [w1, w2]) {
        assert.deepEqual(await s.head(), { size, checkpoint: cp(size) });
        assert.equal(String((await s.readEntries(size - 1, size))[0]), `${winner} ${size - 2}`);
      }
      // The loser re-reads the head and appends after the winner.
      const loser = winner === "one" ? w2 : w1;
      await loser.append({ start: size, leaves: [leaf("after")], checkpoint: cp(size + 1) });
      assert.equal(await w1.findLeafHash(leaf("after").leafHash), size);
    });

    test("a reopened storage holds every entry, leaf hash and the checkpoint", async () => {
      const site = await backend.site();
      const s = await site.open();
      const all: StoredLeaf[] = [];
      for (let b = 0; b < 10; b++) {
        const batch = leaves(`batch ${b}`, 100);
        await s.append({ start: all.length, leaves: batch, checkpoint: cp(all.length + batch.length) });
        all.push(...batch);
      }
      await (s as Partial<SqlLogStorage>).close?.();
      if (backend.sql) await assert.rejects(s.head(), { code: "ERR_USAGE" });
      const r = await site.open();
      assert.deepEqual(await r.head(), { size: 1000, checkpoint: cp(1000) });
      assert.deepEqual(
        await r.readEntries(0, 1000),
        all.map((l) => l.data),
      );
      assert.deepEqual(
        await r.readLeafHashes(0, 1000),
        all.map((l) => l.leafHash),
      );
      assert.equal(await r.findLeafHash(all[777]!.leafHash), 777);
    });

    test("a Sequencer on this storage: submit, restart from storage, every checkpoint consistent", async () => {
      const site = await backend.site();
      const storage = await site.open();
      const opts = { origin: ORIGIN, key: KEY, maxBatchSize: 64, maxBatchDelayMs: 2 };
      const seq = await Sequencer.open({ storage, ...opts });
      const data = Array.from({ length: 300 }, (_, i) => Buffer.from(`statement ${i}`));
      const results = await Promise.all(data.map((d) => seq.submit(d)));
      for (const [i, r] of results.entries()) checkResult(seq, r, data[i]!);
      assert.deepEqual(new Set(results.map((r) => r.index)).size, 300);
      assert.equal(seq.size, 300);
      const first = openCheckpoint(seq.checkpoint, { log: seq.verifier }).checkpoint;
      await seq.close();
      await (storage as Partial<SqlLogStorage>).close?.();

      // A restarted sequencer (another process) rebuilds the same tree and checkpoint from storage.
      const storage2 = await site.open();
      const seq2 = await Sequencer.open({ storage: storage2, ...opts });
      assert.equal(seq2.size, 300);
      assert.equal(seq2.checkpoint, (await storage2.head()).checkpoint?.note);
      const again = await seq2.submit(data[42]!);
      assert.equal(again.duplicate, true);
      assert.equal(again.index, results[42]!.index);
      const more = Array.from({ length: 50 }, (_, i) => Buffer.from(`later ${i}`));
      const later = await Promise.all(more.map((d) => seq2.submit(d)));
      for (const [i, r] of later.entries()) checkResult(seq2, r, more[i]!);
      await seq2.close();

      const head = await storage2.head();
      assert.equal(head.size, 350);
      const final = openCheckpoint(head.checkpoint!.note, { log: seq2.verifier }).checkpoint;
      const tree = await treeOf(storage2);
      assert.deepEqual(final.rootHash, tree.rootHash());
      // Every checkpoint a submitter was given is consistent with the final tree.
      for (const r of [...results, ...later]) {
        const c = openCheckpoint(r.checkpoint, { log: seq2.verifier }).checkpoint;
        verifyConsistency(
          c.size,
          final.size,
          tree.consistencyProof(c.size, final.size),
          c.rootHash,
          final.rootHash,
        );
      }
      verifyConsistency(
        first.size,
        final.size,
        tree.consistencyProof(first.size),
        first.rootHash,
        final.rootHash,
      );
    });

    test("a crash between commit and acknowledgement: the restarted sequencer finds the entries", async () => {
      const site = await backend.site();
      const storage = new FaultyLogStorage(await site.open(), { failAt: 2, when: "after" });
      const opts = { origin: ORIGIN, key: KEY, maxBatchSize: 10, maxBatchDelayMs: 1 };
      const seq = await Sequencer.open({ storage, ...opts });
      const data = Array.from({ length: 10 }, (_, i) => Buffer.from(`crash ${i}`));
      const lost = await Promise.allSettled(data.map((d) => seq.submit(d)));
      assert.ok(lost.every((r) => r.status === "rejected" && r.reason.code === "ERR_TLOG_STORAGE"));
      await seq.close();
      // The restarted process sees what was committed, and a resubmission is a duplicate.
      const reopened = await site.open();
      const seq2 = await Sequencer.open({ storage: reopened, ...opts });
      assert.equal(seq2.size, 10);
      const again = await Promise.all(data.map((d) => seq2.submit(d)));
      again.forEach((r, i) => {
        assert.equal(r.duplicate, true);
        assert.equal(r.index, i);
        checkResult(seq2, r, data[i]!);
      });
      await seq2.close();
    });

    if (!backend.sql) return;

    test("several processes opening a new database at once: one creates the schema", async () => {
      const site = await backend.site();
      const all = await Promise.all(Array.from({ length: 4 }, () => site.open()));
      for (const s of all) assert.deepEqual(await s.head(), { size: 0, checkpoint: undefined });
    });

    test("the sequencer lock: a second storage cannot take it until the first releases it or closes", async () => {
      const site = await backend.site();
      const a = (await site.open()) as SqlLogStorage;
      const b = (await site.open()) as SqlLogStorage;
      const lockA = await a.acquireSequencerLock();
      assert.equal(lockA.signal.aborted, false);
      await assert.rejects(b.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
      // Not re-entrant either: one sequencer per log, also within one process.
      await assert.rejects(a.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
      // A storage without the lock still reads.
      assert.equal((await b.head()).size, 0);
      await lockA.release();
      assert.equal(lockA.signal.aborted, true);
      await lockA.release();
      const lockB = await b.acquireSequencerLock();
      await assert.rejects(a.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
      // Closing the storage releases its lock.
      await b.close();
      assert.equal(lockB.signal.aborted, true);
      const c = (await site.open()) as SqlLogStorage;
      await c.acquireSequencerLock();
      await assert.rejects(a.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
    });

    test("the sequencer lock dies with its process (SIGKILL)", async () => {
      const site = await backend.site();
      const module = pathToFileURL(resolve("src/runtime/tlog-sql.ts")).href;
      const code = `
        const m = await import(${JSON.stringify(module)});
        const s = await m.sqlLogStorage(${JSON.stringify(site.location)});
        await s.acquireSequencerLock();
        process.stdout.write("locked\\n");
        setInterval(() => {}, 60000);`;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      const exited = new Promise((r) => child.once("exit", r));
      try {
        await new Promise<void>((ok, fail) => {
          child.stdout.on("data", (d) => String(d).includes("locked") && ok());
          child.once("exit", () => fail(new Error(`the lock holder exited early: ${stderr}`)));
        });
        const s = (await site.open()) as SqlLogStorage;
        await assert.rejects(s.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
        child.kill("SIGKILL");
        await exited;
        // The kernel (SQLite) or the server noticing the closed connection (PostgreSQL) releases it.
        const deadline = Date.now() + 10_000;
        for (;;) {
          try {
            await s.acquireSequencerLock();
            break;
          } catch (e) {
            if ((e as { code?: string }).code !== "ERR_TLOG_SEQUENCER_LOCKED" || Date.now() > deadline)
              throw e;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      } finally {
        child.kill("SIGKILL");
        await exited;
      }
    });

    test("integers beyond 2^53 - 1 are refused, never rounded", async () => {
      const site = await backend.site();
      const s = await site.open();
      await s.append({ start: 0, leaves: [leaf("a")], checkpoint: cp(1) });
      await site.tamper!("update tlog_head set size = 9007199254740993");
      await assert.rejects(s.head(), { code: "ERR_TLOG_STORAGE" });
      await assert.rejects(s.append({ start: 1, leaves: [leaf("b")], checkpoint: cp(2) }), {
        code: "ERR_TLOG_STORAGE",
      });
    });

    test("a database changed behind the log's back, or by a newer cairn, is refused at open", async () => {
      const site = await backend.site();
      const s = await site.open();
      await s.append({ start: 0, leaves: leaves("x", 5), checkpoint: cp(5) });
      await site.tamper!("delete from tlog_entries where idx = 4");
      await assert.rejects(site.open(), { code: "ERR_TLOG_STORAGE" });
      await assert.rejects(s.readEntries(0, 5), { code: "ERR_TLOG_STORAGE" });
      const other = await backend.site();
      await (await other.open()).head();
      await other.tamper!("update cairn_schema set version = 99 where component = 'tlog'");
      await assert.rejects(other.open(), { code: "ERR_TLOG_STORAGE" });
    });

    test("the hash index (index/retrieve) is stored with the entries; a version 3 log is back-filled", async () => {
      if (!backend.sql) return;
      const site = await backend.site();
      const s = await site.open();
      const artifact = (c: string) => ({ kind: "artifact/v1", digest: { sha256: c.repeat(64) } });
      const data = ["a", "b", "a"].map((c, i) => Buffer.from(JSON.stringify({ ...artifact(c), n: i })));
      await s.append({
        start: 0,
        leaves: data.map((d) => ({ leafHash: hashLeaf(d), data: d })),
        checkpoint: cp(3),
      });
      const find = (x: LogStorage, c: string) => x.findByHash!(`sha256:${c.repeat(64)}`, 100);
      assert.deepEqual(await find(s, "a"), [0, 2]);
      assert.deepEqual(await find(s, "b"), [1]);
      assert.deepEqual(await find(s, "c"), []);
      assert.deepEqual(await s.findByHash!(`sha256:${"a".repeat(64)}`, 1), [0]);
      // A log written by a version 3 cairn: no hash tables. Opening migrates and back-fills.
      await (s as SqlLogStorage).close();
      await site.tamper!("drop table tlog_hashes");
      await site.tamper!("drop table tlog_hash_backfill");
      await site.tamper!("update cairn_schema set version = 3 where component = 'tlog'");
      const again = await site.open();
      assert.deepEqual(await find(again, "a"), [0, 2]);
      assert.deepEqual(await find(again, "b"), [1]);
      const more = Buffer.from(JSON.stringify(artifact("b")));
      await again.append({ start: 3, leaves: [{ leafHash: hashLeaf(more), data: more }], checkpoint: cp(4) });
      assert.deepEqual(await find(again, "b"), [1, 3]);
      // Reopening after the back-fill finished does not redo it.
      assert.deepEqual(await find(await site.open(), "b"), [1, 3]);
    });

    test("certificate identities join the hash index; a version 4 log is migrated and re-indexed", async () => {
      if (!backend.sql) return;
      const site = await backend.site();
      const s = await site.open();
      // A hashedrekord body whose verifier is a Fulcio-style certificate (no signature needed:
      // storage indexes what the log accepted).
      const ca = makeTestCa();
      const cert = (email: string) =>
        issueLeaf(ca, ecPair().spki, { email, issuer: "https://issuer.example" });
      const body = (email: string, digest: string) =>
        Buffer.from(
          JSON.stringify({
            apiVersion: "0.0.1",
            kind: "hashedrekord",
            spec: {
              data: { hash: { algorithm: "sha256", value: digest.repeat(64) } },
              signature: {
                content: "AA==",
                publicKey: { content: Buffer.from(toPem("CERTIFICATE", cert(email))).toString("base64") },
              },
            },
          }),
        );
      const data = [
        body("alice@example.com", "a"),
        body("bob@example.com", "b"),
        body("alice@example.com", "c"),
      ];
      await s.append({
        start: 0,
        leaves: data.map((d) => ({ leafHash: hashLeaf(d), data: d })),
        checkpoint: cp(3),
      });
      const alice = "identity:alice@example.com";
      const aliceAtIssuer = "oidc:https://issuer.example alice@example.com";
      assert.deepEqual(await s.findByHash!(alice, 10), [0, 2]);
      assert.deepEqual(await s.findByHash!(aliceAtIssuer, 10), [0, 2]);
      assert.deepEqual(await s.findByHash!("identity:bob@example.com", 10), [1]);
      // A log written by a version 4 cairn: hashes indexed, identities not. Opening migrates to 5
      // and indexes the whole log again.
      await (s as SqlLogStorage).close();
      await site.tamper!("delete from tlog_hashes where hash not like 'sha256:%'");
      await site.tamper!("update cairn_schema set version = 4 where component = 'tlog'");
      const again = await site.open();
      assert.deepEqual(await again.findByHash!(alice, 10), [0, 2]);
      assert.deepEqual(await again.findByHash!(aliceAtIssuer, 10), [0, 2]);
      assert.deepEqual(await again.findByHash!(`sha256:${"b".repeat(64)}`, 10), [1]);
    });

    test("sqlLogStorage picks the dialect from the location", async () => {
      const site = await backend.site();
      const s = track(await sqlLogStorage(site.location!));
      assert.equal(s.dialect, backend.name.startsWith("SQLite") ? "sqlite" : "postgres");
    });
  });
}

describe("PostgreSQL sequencer lock: a lost connection", () => {
  before(() => postgres.setup());
  after(() => postgres.teardown());

  test("aborts the lock's signal and lets another process take the lock", async () => {
    const site = await postgres.site();
    const a = (await site.open()) as SqlLogStorage;
    const lock = await a.acquireSequencerLock();
    // The server ends the lock's session (an operator, a network cut, a server restart).
    await site.tamper!(
      "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    );
    await new Promise<void>((r) =>
      lock.signal.aborted ? r() : lock.signal.addEventListener("abort", () => r(), { once: true }),
    );
    const b = (await site.open()) as SqlLogStorage;
    await b.acquireSequencerLock();
    await assert.rejects(a.acquireSequencerLock(), { code: "ERR_TLOG_SEQUENCER_LOCKED" });
    // The storage itself (its pool) is unaffected.
    assert.equal((await a.head()).size, 0);
  });
});

describe("SQL log storage: unusable locations", () => {
  test("an unreachable PostgreSQL is ERR_TLOG_STORAGE", async () => {
    const port = await freePort();
    await assert.rejects(postgresLogStorage(`postgres://postgres@127.0.0.1:${port}/none`), {
      code: "ERR_TLOG_STORAGE",
    });
  });

  test("a SQLite file that cannot be created is ERR_TLOG_STORAGE; an in-memory one is ERR_USAGE", async () => {
    await assert.rejects(sqliteLogStorage("/nonexistent-dir/for/sure/log.db"), { code: "ERR_TLOG_STORAGE" });
    await assert.rejects(sqliteLogStorage(":memory:"), { code: "ERR_USAGE" });
  });
});
