// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import {
  hashLeaf,
  MerkleTree,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../../formats/tlog/index.js";
import { type BatchTimer, Sequencer, type SubmitResult } from "./sequencer.js";
import {
  type AppendBatch,
  FaultyLogStorage,
  type LogStorage,
  MemoryLogStorage,
  type StorageHead,
} from "./storage.js";

const ORIGIN = "example.com/cairn-test";
const { privateKey: KEY } = generateKeyPairSync("ed25519");

/** A timer that fires only when the test says so. */
class FakeTimer implements BatchTimer {
  private next = 0;
  readonly armed = new Map<number, { fn: () => void; ms: number }>();
  set(fn: () => void, ms: number): unknown {
    this.armed.set(++this.next, { fn, ms });
    return this.next;
  }
  clear(h: unknown): void {
    this.armed.delete(h as number);
  }
  fire(): void {
    const all = [...this.armed.values()];
    this.armed.clear();
    for (const t of all) t.fn();
  }
  /** Fires only the armed timers of this delay. */
  fireDelay(ms: number): void {
    for (const [h, t] of [...this.armed]) {
      if (t.ms !== ms) continue;
      this.armed.delete(h);
      t.fn();
    }
  }
}

/** Lets promise chains and storage calls run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

/** Storage whose appends wait for the test to release them, recording the order of events. */
class GatedStorage implements LogStorage {
  readonly inner = new MemoryLogStorage();
  gate: Promise<void> | undefined;
  release: () => void = () => {};
  readonly events: string[] = [];
  hold(): void {
    this.gate = new Promise((r) => {
      this.release = () => {
        this.gate = undefined;
        r();
      };
    });
  }
  head(): Promise<StorageHead> {
    return this.inner.head();
  }
  async append(b: AppendBatch): Promise<void> {
    this.events.push(`append-start ${b.start}+${b.leaves.length}`);
    if (this.gate) await this.gate;
    await this.inner.append(b);
    this.events.push(`append-done ${b.start}+${b.leaves.length}`);
  }
  readEntries(s: number, e: number) {
    return this.inner.readEntries(s, e);
  }
  readLeafHashes(s: number, e: number) {
    return this.inner.readLeafHashes(s, e);
  }
  findLeafHash(h: Uint8Array) {
    return this.inner.findLeafHash(h);
  }
}

const leaf = (i: number) => Buffer.from(`entry ${i}`);

function checkResult(seq: Sequencer, r: SubmitResult, data: Buffer): void {
  const { checkpoint } = openCheckpoint(r.checkpoint, { log: seq.verifier, origin: ORIGIN });
  assert.equal(checkpoint.size, r.treeSize);
  assert.deepEqual(r.leafHash, hashLeaf(data));
  verifyInclusion(r.leafHash, r.index, r.treeSize, r.inclusionProof, checkpoint.rootHash);
}

function open(storage: LogStorage, extra: Partial<Parameters<typeof Sequencer.open>[0]> = {}) {
  return Sequencer.open({ storage, origin: ORIGIN, key: KEY, timer: new FakeTimer(), ...extra });
}

describe("Sequencer.open", () => {
  test("signs and stores a checkpoint for an empty log", async () => {
    const storage = new MemoryLogStorage();
    const seq = await open(storage);
    const head = await storage.head();
    assert.equal(head.size, 0);
    assert.equal(head.checkpoint?.note, seq.checkpoint);
    assert.equal(openCheckpoint(seq.checkpoint, { log: seq.verifier }).checkpoint.size, 0);
  });

  test("refuses a storage whose checkpoint is by another key", async () => {
    const storage = new MemoryLogStorage();
    await open(storage);
    const other = generateKeyPairSync("ed25519").privateKey;
    await assert.rejects(open(storage, { key: other }), { code: "ERR_NOTE_SIGNATURE_INVALID" });
  });

  test("refuses a storage whose checkpoint is for another origin", async () => {
    const storage = new MemoryLogStorage();
    await open(storage);
    await assert.rejects(open(storage, { origin: "other.example/log", keyName: ORIGIN }), {
      code: "ERR_TLOG_ORIGIN_MISMATCH",
    });
  });

  test("refuses bad options", async () => {
    await assert.rejects(open(new MemoryLogStorage(), { maxBatchSize: 0 }), { code: "ERR_USAGE" });
    await assert.rejects(open(new MemoryLogStorage(), { maxPending: -1 }), { code: "ERR_USAGE" });
  });
});

describe("batching", () => {
  test("a batch is cut as soon as maxBatchSize entries wait", async () => {
    const storage = new GatedStorage();
    const timer = new FakeTimer();
    // The time bound alone (no quiet period), so only the count cuts until the timer fires.
    const seq = await open(storage, { maxBatchSize: 4, timer, batchQuietMs: Number.POSITIVE_INFINITY });
    storage.events.length = 0;
    const results = Array.from({ length: 10 }, (_, i) => seq.submit(leaf(i)));
    await settle();
    // Two full batches written without the timer; the last two wait for it.
    assert.deepEqual(storage.events, [
      "append-start 0+4",
      "append-done 0+4",
      "append-start 4+4",
      "append-done 4+4",
    ]);
    assert.equal(seq.size, 8);
    assert.equal(timer.armed.size, 1);
    timer.fire();
    const all = await Promise.all(results);
    assert.equal(seq.size, 10);
    all.forEach((r, i) => {
      assert.equal(r.index, i);
      assert.equal(r.duplicate, false);
      checkResult(seq, r, leaf(i));
    });
    assert.deepEqual(
      all.map((r) => r.treeSize),
      [4, 4, 4, 4, 8, 8, 8, 8, 10, 10],
    );
  });

  test("a batch is cut when the time bound passes, with the configured delay", async () => {
    const storage = new MemoryLogStorage();
    const timer = new FakeTimer();
    const seq = await open(storage, {
      maxBatchSize: 100,
      maxBatchDelayMs: 7,
      batchQuietMs: Number.POSITIVE_INFINITY,
      timer,
    });
    let done = false;
    const p = seq.submit(leaf(1)).then((r) => {
      done = true;
      return r;
    });
    void seq.submit(leaf(2));
    await settle();
    assert.equal(done, false, "nothing is written before the batch is cut");
    assert.equal((await storage.head()).size, 0);
    assert.deepEqual(
      [...timer.armed.values()].map((t) => t.ms),
      [7],
    );
    timer.fire();
    const r = await p;
    assert.equal(r.treeSize, 2);
    checkResult(seq, r, leaf(1));
  });

  test("a batch is cut once arrivals pause for the quiet period, before the time bound", async () => {
    const storage = new GatedStorage();
    const timer = new FakeTimer();
    const seq = await open(storage, { maxBatchSize: 100, maxBatchDelayMs: 25, batchQuietMs: 1, timer });
    storage.events.length = 0;
    const first = [0, 1, 2].map((i) => seq.submit(leaf(i)));
    await settle();
    assert.deepEqual(storage.events, [], "nothing is cut while entries may still arrive");
    // One time bound and one quiet timer, re-armed at each arrival (not one per entry).
    assert.deepEqual(
      [...timer.armed.values()].map((t) => t.ms).sort((a, b) => a - b),
      [1, 25],
    );
    timer.fireDelay(1);
    const rs = await Promise.all(first);
    assert.deepEqual(storage.events, ["append-start 0+3", "append-done 0+3"]);
    assert.deepEqual(
      rs.map((r) => [r.index, r.treeSize]),
      [
        [0, 3],
        [1, 3],
        [2, 3],
      ],
    );
    assert.equal(timer.armed.size, 0, "no timer is left armed once the queue is empty");
    // The next arrivals wait for their own quiet period.
    const next = seq.submit(leaf(3));
    await settle();
    assert.equal(seq.size, 3);
    timer.fireDelay(1);
    assert.equal((await next).treeSize, 4);
  });

  test("the real timer cuts a batch", async () => {
    const seq = await Sequencer.open({
      storage: new MemoryLogStorage(),
      origin: ORIGIN,
      key: KEY,
      maxBatchDelayMs: 1,
    });
    const r = await seq.submit(leaf(0));
    checkResult(seq, r, leaf(0));
  });

  test("flush and close write what waits; submit after close is refused", async () => {
    const seq = await open(new MemoryLogStorage(), { maxBatchSize: 100 });
    const p = seq.submit(leaf(1));
    await seq.close();
    assert.equal((await p).index, 0);
    await assert.rejects(seq.submit(leaf(2)), { code: "ERR_USAGE" });
  });
});

describe("durability", () => {
  test("a submitter is answered only after the storage append resolved", async () => {
    const storage = new GatedStorage();
    const seq = await open(storage, { maxBatchSize: 2 });
    storage.events.length = 0;
    storage.hold();
    const answered: number[] = [];
    const ps = [0, 1].map((i) => seq.submit(leaf(i)).then((r) => answered.push(r.index)));
    await settle();
    assert.deepEqual(storage.events, ["append-start 0+2"]);
    assert.deepEqual(answered, [], "no answer while the append is in flight");
    assert.equal(seq.size, 0, "the durable size does not move before the append resolves");
    storage.release();
    await Promise.all(ps);
    assert.deepEqual(answered.sort(), [0, 1]);
    assert.deepEqual(storage.events, ["append-start 0+2", "append-done 0+2"]);
  });

  test("one batch is in flight at a time; entries arriving meanwhile form the next", async () => {
    const storage = new GatedStorage();
    const timer = new FakeTimer();
    const seq = await open(storage, { maxBatchSize: 2, timer });
    storage.events.length = 0;
    storage.hold();
    const ps = [0, 1, 2, 3, 4].map((i) => seq.submit(leaf(i)));
    await settle();
    assert.deepEqual(storage.events, ["append-start 0+2"]);
    storage.release();
    timer.fire();
    const rs = await Promise.all(ps);
    assert.deepEqual(
      rs.map((r) => r.index),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(storage.events, [
      "append-start 0+2",
      "append-done 0+2",
      "append-start 2+2",
      "append-done 2+2",
      "append-start 4+1",
      "append-done 4+1",
    ]);
  });
});

describe("duplicates", () => {
  test("a resubmitted leaf returns the existing entry without growing the log", async () => {
    const storage = new MemoryLogStorage();
    const seq = await open(storage, { maxBatchSize: 1 });
    const first = await seq.submit(leaf(1));
    await seq.submit(leaf(2));
    const again = await seq.submit(leaf(1));
    assert.equal(again.index, first.index);
    assert.equal(again.duplicate, true);
    assert.equal(seq.size, 2);
    assert.equal(again.treeSize, 2);
    checkResult(seq, again, leaf(1));
  });

  test("two submissions of one leaf in the same batch share one index", async () => {
    const seq = await open(new MemoryLogStorage(), { maxBatchSize: 3 });
    const ps = [seq.submit(leaf(1)), seq.submit(leaf(1)), seq.submit(leaf(2)), seq.submit(leaf(3))];
    assert.equal(seq.pending, 3, "the second submission does not queue a second entry");
    await seq.flush();
    const [a, b, c] = (await Promise.all(ps)) as [SubmitResult, SubmitResult, SubmitResult, SubmitResult];
    assert.equal(a.index, b.index);
    assert.equal(a.duplicate, false);
    assert.equal(b.duplicate, true);
    assert.equal(c.index, 1);
    assert.equal(seq.size, 3);
  });

  test("duplicates are found after a restart (from storage)", async () => {
    const storage = new MemoryLogStorage();
    const seq = await open(storage, { maxBatchSize: 1 });
    const first = await seq.submit(leaf(9));
    const seq2 = await open(storage, { maxBatchSize: 1 });
    const again = await seq2.submit(leaf(9));
    assert.equal(again.index, first.index);
    assert.equal(again.duplicate, true);
  });
});

describe("overload", () => {
  test("beyond maxPending, submit fails with ERR_TLOG_OVERLOADED (category overload) instead of queueing", async () => {
    const storage = new GatedStorage();
    const seq = await open(storage, { maxBatchSize: 2, maxPending: 3 });
    storage.hold();
    const ok = [0, 1, 2].map((i) => seq.submit(leaf(i)));
    await settle();
    const err = await seq.submit(leaf(3)).catch((e) => e);
    assert.ok(err instanceof CairnError);
    assert.equal(err.code, "ERR_TLOG_OVERLOADED");
    assert.equal(err.category, "overload");
    assert.equal(seq.pending, 3);
    storage.release();
    await seq.flush();
    await Promise.all(ok);
    assert.equal(seq.pending, 0);
    // Once drained, submissions are accepted again.
    const r = seq.submit(leaf(3));
    await seq.flush();
    assert.equal((await r).index, 3);
  });
});

describe("storage failures", () => {
  test("a failed append rejects its batch; the sequencer reloads and resubmission finds the entry", async () => {
    const inner = new MemoryLogStorage();
    // The second append (the first batch after the empty checkpoint) commits, then "crashes".
    const storage = new FaultyLogStorage(inner, { failAt: 2, when: "after" });
    const seq = await open(storage, { maxBatchSize: 1 });
    await assert.rejects(seq.submit(leaf(1)), { code: "ERR_TLOG_STORAGE" });
    storage.restart();
    const again = await seq.submit(leaf(1));
    assert.equal(again.index, 0);
    assert.equal(again.duplicate, true);
    checkResult(seq, again, leaf(1));
  });

  test("a storage that is still down fails batches with its error", async () => {
    const storage = new FaultyLogStorage(new MemoryLogStorage(), { failAt: 2, when: "before" });
    const seq = await open(storage, { maxBatchSize: 1 });
    await assert.rejects(seq.submit(leaf(1)), { code: "ERR_TLOG_STORAGE" });
    await assert.rejects(seq.submit(leaf(2)), { code: "ERR_TLOG_STORAGE" });
    storage.restart();
    assert.equal((await seq.submit(leaf(2))).index, 0);
  });

  test("a second writer is refused with ERR_TLOG_STORAGE_CONFLICT", async () => {
    const storage = new MemoryLogStorage();
    const a = await open(storage, { maxBatchSize: 1 });
    const b = await open(storage, { maxBatchSize: 1 });
    await a.submit(leaf(1));
    await assert.rejects(b.submit(leaf(2)), { code: "ERR_TLOG_STORAGE_CONFLICT" });
  });
});

describe("crash consistency", () => {
  // sunlight-style: run a workload, crash the storage at the k-th append (before or after the
  // commit), restart from storage, and check the invariants:
  //  1. every acknowledged entry is present at its index;
  //  2. every checkpoint ever published (answered or stored) is consistent with the final tree.
  async function run(failAt: number, when: "before" | "after", batches: number[]) {
    const inner = new MemoryLogStorage();
    const storage = new FaultyLogStorage(inner, { failAt, when });
    const acked = new Map<number, Buffer>();
    const published: string[] = [];
    let seq = await open(storage, { maxBatchSize: 1000 }).catch(() => undefined);
    let n = 0;
    for (const size of batches) {
      if (!seq || storage.crashed) {
        storage.restart();
        seq = await open(storage, { maxBatchSize: 1000 });
      }
      published.push(seq.checkpoint);
      const items = Array.from({ length: size }, () => leaf(n++));
      const ps = items.map((d) => seq!.submit(d));
      await seq.flush();
      const rs = await Promise.allSettled(ps);
      rs.forEach((r, i) => {
        if (r.status === "fulfilled") {
          acked.set(r.value.index, items[i]!);
          published.push(r.value.checkpoint);
        } else assert.equal((r.reason as CairnError).code, "ERR_TLOG_STORAGE");
      });
      const head = await inner.head();
      if (head.checkpoint) published.push(head.checkpoint.note);
    }
    storage.restart();
    const final = await open(storage);
    const size = final.size;
    const entries = await inner.readEntries(0, size);
    for (const [index, data] of acked) assert.deepEqual(entries[index], data, `acknowledged entry ${index}`);
    const t = MerkleTree.fromLeafHashes(await inner.readLeafHashes(0, size));
    const finalCp = openCheckpoint(final.checkpoint, { log: final.verifier }).checkpoint;
    assert.deepEqual(finalCp.rootHash, t.rootHash());
    for (const note of published) {
      const cp = openCheckpoint(note, { log: final.verifier, origin: ORIGIN }).checkpoint;
      verifyConsistency(cp.size, size, t.consistencyProof(cp.size, size), cp.rootHash, t.rootHash());
    }
    return { acked: acked.size, size };
  }

  test("a crash at every append, before or after the commit, keeps the invariants", async () => {
    const batches = [3, 1, 5, 2, 4, 1];
    const total = batches.reduce((a, b) => a + b, 0);
    let lost = 0;
    for (const when of ["before", "after"] as const) {
      for (let failAt = 1; failAt <= batches.length + 2; failAt++) {
        const { acked } = await run(failAt, when, batches);
        lost += total - acked;
      }
    }
    assert.ok(lost > 0, "the crashes did refuse some submissions (the test is not vacuous)");
  });

  test("property: random workloads and crash points keep the invariants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom("before" as const, "after" as const),
        async (batches, failAt, when) => {
          await run(failAt, when, batches);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("verified entries end to end", () => {
  test("submitEntry logs the leaf of a verified DSSE envelope", async () => {
    const { generateKey, keySigner } = await import("../../core/index.js");
    const { signEnvelope } = await import("../../formats/dsse/index.js");
    const { verifySubmission } = await import("./entries.js");
    const k = generateKey("ecdsa");
    const st = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "x", digest: { sha256: "b".repeat(64) } }],
      predicateType: "https://example.com/p",
    };
    const env = await signEnvelope("application/vnd.in-toto+json", Buffer.from(JSON.stringify(st)), [
      keySigner(k),
    ]);
    const entry = verifySubmission({
      kind: "dsse",
      envelope: env,
      publicKeys: [k.public.key.export({ type: "spki", format: "pem" }) as string],
    });
    const storage = new MemoryLogStorage();
    const seq = await open(storage, { maxBatchSize: 1 });
    const r = await seq.submitEntry(entry);
    checkResult(seq, r, entry.leaf);
    assert.deepEqual((await storage.readEntries(r.index, r.index + 1))[0], entry.leaf);
  });
});
