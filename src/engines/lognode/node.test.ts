// SPDX-License-Identifier: Apache-2.0
// The log node's write path: one sequencer batch of DSSE statements reaches the attestation store
// as one group commit (real crypto, in-memory log storage and search index).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { generateKey, keySigner } from "../../core/index.js";
import { signEnvelope } from "../../formats/dsse/index.js";
import { type IndexRecord, MemorySearchIndex } from "../store/index.js";
import { INTOTO_PAYLOAD_TYPE, MemoryLogStorage } from "../tlog/index.js";
import { LogNode } from "./node.js";

/** A real in-memory index that also records the log indexes of each group commit. */
class RecordingIndex extends MemorySearchIndex {
  readonly commits: number[][] = [];
  async putMany(records: readonly IndexRecord[]): Promise<void> {
    this.commits.push(records.map((r) => r.logIndex));
    for (const r of records) await this.put(r);
  }
}

describe("LogNode store writes", () => {
  test("the DSSE statements of one sequencer batch are stored in one group commit", async () => {
    const index = new RecordingIndex();
    const node = new LogNode({
      storage: new MemoryLogStorage(),
      key: generateKeyPairSync("ed25519").privateKey,
      origin: "cairn.test/log",
      searchIndex: index,
      // The batch is cut by count, never by the timer: all 16 entries share one batch.
      sequencer: { maxBatchSize: 16, maxBatchDelayMs: 60_000 },
    });
    await node.becomeSequencer();
    const key = generateKey("ed25519");
    const publicKeys = [key.public.key.export({ type: "spki", format: "pem" }) as string];
    const submissions = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => ({
        kind: "dsse",
        envelope: await signEnvelope(
          INTOTO_PAYLOAD_TYPE,
          Buffer.from(
            JSON.stringify({
              _type: "https://in-toto.io/Statement/v1",
              subject: [{ name: `a${i}`, digest: { sha256: i.toString(16).padStart(64, "0") } }],
              predicateType: "https://slsa.dev/provenance/v1",
              predicate: {},
            }),
          ),
          [keySigner(key)],
        ),
        publicKeys,
      })),
    );
    const results = await Promise.all(submissions.map((s) => node.submitNative(s)));
    assert.deepEqual(
      results.map((r) => [r.stored, r.treeSize]),
      results.map(() => [true, 16]),
    );
    // Not a first commit of the first answered entry alone, then the rest.
    assert.equal(index.commits.length, 1);
    assert.deepEqual(
      index.commits[0]!.sort((a, b) => a - b),
      Array.from({ length: 16 }, (_, i) => i),
    );
    // And every statement is found by its subject.
    const page = await node.search({ subject: `sha256:${(5).toString(16).padStart(64, "0")}` });
    assert.deepEqual(
      page.results.map((r) => r.logIndex),
      [5],
    );
    await node.close();
  });
});
