// SPDX-License-Identifier: Apache-2.0
// The submit route writes its answer by hand (submitAnswer): for any values, the bytes must be
// JSON that parses to what Fastify's serializer compiled from SUBMIT_ANSWER wrote before.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import Fastify from "fastify";
import { SUBMIT_ANSWER, type SubmitAnswerFields, submitAnswer } from "./submit-answer.js";

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u));
const fields: fc.Arbitrary<SubmitAnswerFields> = fc.record({
  kind: fc.constantFrom("dsse" as const, "artifact" as const),
  index: fc.maxSafeNat(),
  leaf: fc.uint8Array({ maxLength: 3000 }).map((u) => Buffer.from(u)),
  leafHash: hash,
  integratedTime: fc.maxSafeNat(),
  duplicate: fc.boolean(),
  stored: fc.boolean(),
  treeSize: fc.maxSafeNat(),
  inclusionProof: fc.array(hash, { maxLength: 64 }),
  // Signed notes: newlines, an em dash, anything a origin may hold (quotes, backslashes, controls).
  checkpoint: fc.oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc
      .tuple(fc.string({ maxLength: 40 }), fc.maxSafeNat(), fc.base64String({ maxLength: 88 }))
      .map(([o, n, s]) => `${o}\n${n}\n${s}\n\n\u2014 ${o} ${s}\n`),
  ),
});

test("submitAnswer parses to what the schema-compiled serializer wrote, members in its order", async () => {
  const app = Fastify({ logger: false });
  let current: SubmitAnswerFields | undefined;
  app.post("/", { schema: { response: { 200: SUBMIT_ANSWER } } }, async () => {
    const r = current!;
    return {
      kind: r.kind,
      logIndex: r.index,
      leaf: r.leaf.toString("base64"),
      leafHash: r.leafHash.toString("hex"),
      integratedTime: r.integratedTime,
      duplicate: r.duplicate,
      stored: r.stored,
      inclusionProof: {
        treeSize: r.treeSize,
        hashes: r.inclusionProof.map((h) => h.toString("hex")),
        checkpoint: r.checkpoint,
      },
    };
  });
  try {
    await fc.assert(
      fc.asyncProperty(fields, async (f) => {
        current = f;
        const want = (await app.inject({ method: "POST", url: "/" })).body;
        const got = submitAnswer(f, JSON.stringify(f.checkpoint)).toString("utf8");
        assert.deepEqual(JSON.parse(got), JSON.parse(want));
        assert.deepEqual(Object.keys(JSON.parse(got)), Object.keys(JSON.parse(want)));
      }),
      { numRuns: 300 },
    );
  } finally {
    await app.close();
  }
});

test("submitAnswer: the bytes are UTF-8 of the checkpoint's text, escaped", () => {
  const f: SubmitAnswerFields = {
    kind: "dsse",
    index: 7,
    leaf: Buffer.from("leaf"),
    leafHash: Buffer.alloc(32, 0xab),
    integratedTime: 1700000000,
    duplicate: false,
    stored: true,
    treeSize: 8,
    inclusionProof: [Buffer.alloc(32, 1), Buffer.alloc(32, 2)],
    checkpoint: 'o.test/log\n8\nAAAA\n\n\u2014 o.test/log "q" \\ x\n',
  };
  const b = submitAnswer(f, JSON.stringify(f.checkpoint));
  assert.equal(
    b.toString("utf8"),
    `{"kind":"dsse","logIndex":7,"leaf":"bGVhZg==","leafHash":"${"ab".repeat(32)}","integratedTime":1700000000,` +
      `"duplicate":false,"stored":true,"inclusionProof":{"treeSize":8,"hashes":["${"01".repeat(32)}","${"02".repeat(32)}"],` +
      `"checkpoint":"o.test/log\\n8\\nAAAA\\n\\n\u2014 o.test/log \\"q\\" \\\\ x\\n"}}`,
  );
});
