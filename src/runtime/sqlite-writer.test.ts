// SPDX-License-Identifier: Apache-2.0
// The SQLite writer thread (sqlite-writer.ts) beyond the storage contracts it also passes
// (test/interop/tlog-storage.test.ts and store.test.ts run every contract test through it): a
// log opened with `openDataDir` writes on the thread and reads what it wrote on the main
// connection; a file the thread cannot open is the storage's own error, and the next call tries
// again; a closed thread refuses; an idle thread never keeps a process alive.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { hashLeaf } from "../formats/tlog/index.js";
import { openDataDir } from "./log-node.js";
import { pack, unpack } from "./packed.js";
import { SqliteWriterThread } from "./sqlite-writer.js";
import { sqliteLogStorage } from "./tlog-sql.js";

const dir = mkdtempSync(join(tmpdir(), "cairn-sqlite-writer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const leaf = (s: string) => ({ data: Buffer.from(s), leafHash: hashLeaf(Buffer.from(s)), time: 7 });

test("pack/unpack: any byte strings, empty ones and none included, come back equal, in order", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }), (items) => {
      // Views into a larger buffer, as Buffers sliced from Node's pool are.
      const views = items.map((b) => Buffer.concat([Buffer.from("pad"), b]).subarray(3));
      const p = pack(views);
      assert.equal(
        p.bytes.byteLength,
        items.reduce((n, b) => n + b.length, 0),
      );
      assert.deepEqual(
        unpack(p).map((b) => [...b]),
        items.map((b) => [...b]),
      );
    }),
  );
});

test("a data directory's appends and puts run on the thread and are read on the main connection", async () => {
  const opened = await openDataDir(join(dir, "data"));
  try {
    await opened.storage.append({
      start: 0,
      leaves: [leaf("a"), leaf("b")],
      checkpoint: { size: 2, note: "n2\n" },
    });
    assert.deepEqual(await opened.storage.head(), { size: 2, checkpoint: { size: 2, note: "n2\n" } });
    assert.deepEqual((await opened.storage.readEntries(0, 2)).map(String), ["a", "b"]);
    assert.deepEqual(await opened.storage.readIntegratedTimes!(0, 2), [7, 7]);
    // The thread's own check of the stored size, with its code and message intact.
    await assert.rejects(
      opened.storage.append({ start: 1, leaves: [leaf("c")], checkpoint: { size: 2, note: "x\n" } }),
      (e: { code?: string; message?: string }) =>
        e.code === "ERR_TLOG_STORAGE_CONFLICT" && /append at 1 but the storage holds 2/.test(e.message ?? ""),
    );
    const record = {
      logIndex: 0,
      envelope: Buffer.from('{"payload":""}'),
      predicateType: "https://slsa.dev/provenance/v1",
      subjectDigests: ["sha256:00"],
      signers: ["key:k"],
      integratedTime: 7,
    };
    await opened.searchIndex.putMany!([record, { ...record, logIndex: 1 }]);
    assert.deepEqual(
      await opened.searchIndex.search({ subjectDigest: "sha256:00", after: -1, limit: 10 }),
      [0, 1],
    );
    // Idempotent for the same bytes, refused for others: the store's rules, on the thread.
    await opened.searchIndex.put({ ...record });
    await assert.rejects(opened.searchIndex.put({ ...record, envelope: Buffer.from("{}") }), {
      code: "ERR_STORE_CONFLICT",
    });
  } finally {
    await opened.close();
  }
});

test("a file the thread cannot open is the storage's error; the next call opens it", async () => {
  const where = join(dir, "later");
  const path = join(where, "log.db");
  const thread = new SqliteWriterThread({ logPath: path });
  try {
    await assert.rejects(thread.append({ start: 0, leaves: [], checkpoint: { size: 0, note: "n\n" } }), {
      code: "ERR_TLOG_STORAGE",
    });
    mkdirSync(where);
    (await sqliteLogStorage(path)).close();
    await thread.append({ start: 0, leaves: [leaf("a")], checkpoint: { size: 1, note: "n\n" } });
    const s = await sqliteLogStorage(path);
    assert.equal((await s.head()).size, 1);
    await s.close();
  } finally {
    await thread.close();
  }
  await assert.rejects(thread.append({ start: 1, leaves: [], checkpoint: { size: 1, note: "n\n" } }), {
    code: "ERR_USAGE",
  });
});

test("an idle writer thread does not keep the process alive", () => {
  // A process that writes through the thread and never closes it must still exit on its own.
  const script = `
    import { openDataDir } from ${JSON.stringify(new URL("./log-node.ts", import.meta.url).href)};
    import { hashLeaf } from ${JSON.stringify(new URL("../formats/tlog/index.ts", import.meta.url).href)};
    const o = await openDataDir(${JSON.stringify(join(dir, "exit"))});
    const d = Buffer.from("x");
    await o.storage.append({ start: 0, leaves: [{ data: d, leafHash: hashLeaf(d) }], checkpoint: { size: 1, note: "n\\n" } });
    console.log("appended");`;
  const file = join(dir, "idle.mts");
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ["--import", "tsx", file], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /appended/);
});
