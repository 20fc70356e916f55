// SPDX-License-Identifier: Apache-2.0
// A log for tests: a LogNode over in-memory storage and search index, with a fresh Ed25519 key,
// already the sequencer, cutting batches after 1 ms.
import { generateKeyPairSync } from "node:crypto";
import { LogNode, type LogNodeOptions } from "../engines/lognode/index.js";
import { MemorySearchIndex } from "../engines/store/index.js";
import { MemoryLogStorage } from "../engines/tlog/index.js";
import { openCheckpoint, verifyInclusion } from "../formats/tlog/index.js";

export async function memoryLogNode(
  extra: Partial<LogNodeOptions> = {},
): Promise<{ node: LogNode; storage: MemoryLogStorage }> {
  const storage = new MemoryLogStorage();
  const node = new LogNode({
    storage,
    key: generateKeyPairSync("ed25519").privateKey,
    origin: "test.local/log",
    searchIndex: new MemorySearchIndex(),
    sequencer: { maxBatchDelayMs: 1 },
    ...extra,
  });
  await node.becomeSequencer();
  return { node, storage };
}

/** An answer of cairn's submit API (JSON): its inclusion proof verifies against its signed checkpoint. */
export function verifyAnswerInclusion(
  node: LogNode,
  r: {
    leafHash: string;
    logIndex: number;
    inclusionProof: { treeSize: number; hashes: string[]; checkpoint: string };
  },
): void {
  const { checkpoint } = openCheckpoint(r.inclusionProof.checkpoint, {
    log: node.verifier,
    origin: node.origin,
  });
  verifyInclusion(
    Buffer.from(r.leafHash, "hex"),
    r.logIndex,
    r.inclusionProof.treeSize,
    r.inclusionProof.hashes.map((h) => Buffer.from(h, "hex")),
    checkpoint.rootHash,
  );
}
