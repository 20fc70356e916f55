// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hashLeaf } from "../../formats/tlog/index.js";
import { FaultyLogStorage, MemoryLogStorage } from "./storage.js";

const l = (s: string) => ({ data: Buffer.from(s), leafHash: hashLeaf(Buffer.from(s)) });
const cp = (size: number) => ({ size, note: `checkpoint ${size}\n` });

describe("MemoryLogStorage", () => {
  test("appends atomically with the checkpoint, reads ranges, finds leaf hashes", async () => {
    const s = new MemoryLogStorage();
    assert.deepEqual(await s.head(), { size: 0, checkpoint: undefined });
    await s.append({ start: 0, leaves: [l("a"), l("b")], checkpoint: cp(2) });
    await s.append({ start: 2, leaves: [l("c")], checkpoint: cp(3) });
    assert.deepEqual(await s.head(), { size: 3, checkpoint: cp(3) });
    assert.deepEqual((await s.readEntries(1, 3)).map(String), ["b", "c"]);
    assert.deepEqual(await s.readLeafHashes(2, 3), [hashLeaf(Buffer.from("c"))]);
    assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("b"))), 1);
    assert.equal(await s.findLeafHash(hashLeaf(Buffer.from("z"))), undefined);
  });

  test("refuses a wrong start (another writer), a checkpoint of the wrong size, bad ranges; nothing changes", async () => {
    const s = new MemoryLogStorage();
    await s.append({ start: 0, leaves: [l("a")], checkpoint: cp(1) });
    await assert.rejects(s.append({ start: 0, leaves: [l("b")], checkpoint: cp(1) }), {
      code: "ERR_TLOG_STORAGE_CONFLICT",
    });
    await assert.rejects(s.append({ start: 1, leaves: [l("b")], checkpoint: cp(5) }), { code: "ERR_USAGE" });
    await assert.rejects(
      s.append({
        start: 1,
        leaves: [{ data: Buffer.from("x"), leafHash: Buffer.alloc(3) }],
        checkpoint: cp(2),
      }),
      {
        code: "ERR_USAGE",
      },
    );
    await assert.rejects(s.readEntries(0, 2), { code: "ERR_USAGE" });
    await assert.rejects(s.readLeafHashes(1, 0), { code: "ERR_USAGE" });
    assert.deepEqual(await s.head(), { size: 1, checkpoint: cp(1) });
  });

  test("stored buffers are copies", async () => {
    const s = new MemoryLogStorage();
    const leaf = l("a");
    await s.append({ start: 0, leaves: [leaf], checkpoint: cp(1) });
    leaf.data[0] = 0x7a;
    assert.equal(String((await s.readEntries(0, 1))[0]), "a");
  });
});

describe("FaultyLogStorage", () => {
  test('"before": the k-th append stores nothing and the storage is dead until restart', async () => {
    const inner = new MemoryLogStorage();
    const s = new FaultyLogStorage(inner, { failAt: 2, when: "before" });
    await s.append({ start: 0, leaves: [l("a")], checkpoint: cp(1) });
    await assert.rejects(s.append({ start: 1, leaves: [l("b")], checkpoint: cp(2) }), {
      code: "ERR_TLOG_STORAGE",
    });
    assert.equal(s.crashed, true);
    await assert.rejects(s.head(), { code: "ERR_TLOG_STORAGE" });
    await assert.rejects(s.readEntries(0, 1), { code: "ERR_TLOG_STORAGE" });
    s.restart();
    assert.equal((await s.head()).size, 1);
  });

  test('"after": the k-th append is committed but reported as failed', async () => {
    const inner = new MemoryLogStorage();
    const s = new FaultyLogStorage(inner, { failAt: 1, when: "after" });
    await assert.rejects(s.append({ start: 0, leaves: [l("a")], checkpoint: cp(1) }), {
      code: "ERR_TLOG_STORAGE",
    });
    assert.equal((await inner.head()).size, 1);
  });
});
