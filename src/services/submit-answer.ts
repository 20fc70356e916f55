// SPDX-License-Identifier: Apache-2.0
// The answer to a submission of cairn's JSON API (POST /cairn/v1/log/entries, and each entry of
// POST /cairn/v1/log/entries/batch), written by hand as bytes: the hot write routes' serializer.
/**
 * The answer to a submission, as JSON Schema: every member required. The route writes it by hand
 * (`submitAnswer`); the schema documents it, and the tests check the hand-written bytes against
 * Fastify's serialization of this schema.
 */
export const SUBMIT_ANSWER = {
  type: "object",
  additionalProperties: false,
  required: [
    "kind",
    "logIndex",
    "leaf",
    "leafHash",
    "integratedTime",
    "duplicate",
    "stored",
    "inclusionProof",
  ],
  properties: {
    kind: { type: "string" },
    logIndex: { type: "integer" },
    leaf: { type: "string" },
    leafHash: { type: "string" },
    integratedTime: { type: "integer" },
    duplicate: { type: "boolean" },
    stored: { type: "boolean" },
    inclusionProof: {
      type: "object",
      additionalProperties: false,
      required: ["treeSize", "hashes", "checkpoint"],
      properties: {
        treeSize: { type: "integer" },
        hashes: { type: "array", items: { type: "string" } },
        checkpoint: { type: "string" },
      },
    },
  },
} as const;

/** What a submission's answer is written from. */
export interface SubmitAnswerFields {
  kind: "dsse" | "artifact";
  index: number;
  leaf: Buffer;
  leafHash: Buffer;
  integratedTime: number;
  duplicate: boolean;
  stored: boolean;
  treeSize: number;
  inclusionProof: readonly Buffer[];
  checkpoint: string;
}

/**
 * The answer to a submission as JSON bytes (SUBMIT_ANSWER, members in its order), written by
 * hand: every value but the checkpoint is a safe integer, a boolean, "dsse"/"artifact", hex or
 * base64, which need no escaping; the checkpoint (a signed note: newlines, and an em dash in its
 * signature lines) is escaped by `checkpointJson`, which the caller keeps for the batch's
 * submitters, who share one checkpoint.
 */
export function submitAnswer(r: SubmitAnswerFields, checkpointJson: string): Buffer {
  return Buffer.from(submitAnswerText(r, checkpointJson));
}

/** `submitAnswer` as text (the batch route joins its entries' answers before it encodes them). */
export function submitAnswerText(r: SubmitAnswerFields, checkpointJson: string): string {
  let hashes = "";
  for (let i = 0; i < r.inclusionProof.length; i++) {
    hashes += i === 0 ? '"' : ',"';
    hashes += r.inclusionProof[i]!.toString("hex");
    hashes += '"';
  }
  return (
    `{"kind":"${r.kind}","logIndex":${r.index},"leaf":"${r.leaf.toString("base64")}","leafHash":"${r.leafHash.toString("hex")}",` +
    `"integratedTime":${r.integratedTime},"duplicate":${r.duplicate},"stored":${r.stored},` +
    `"inclusionProof":{"treeSize":${r.treeSize},"hashes":[${hashes}],"checkpoint":${checkpointJson}}}`
  );
}
