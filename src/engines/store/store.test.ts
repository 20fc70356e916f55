// SPDX-License-Identifier: Apache-2.0
// AttestationStore.prepareVerified (the log's path: the verifier's own reading of the envelope)
// must index exactly what prepare (the bytes re-read and bound to the leaf) indexes, whatever the
// statement, the signers and the form the submitter gave their keys in.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { generateKey, keySigner, type PrivateKey, sslibMetaOf } from "../../core/index.js";
import { signEnvelope } from "../../formats/dsse/index.js";
import { INTOTO_PAYLOAD_TYPE, verifySubmission } from "../tlog/index.js";
import { AttestationStore, MemorySearchIndex } from "./index.js";

const KEYS: PrivateKey[] = [generateKey("ed25519"), generateKey("ecdsa"), generateKey("ed25519")];
// A key as the submitter may give it: SPKI PEM, or securesystemslib JSON (another key id text).
const keyText = (k: PrivateKey, json: boolean) =>
  json
    ? JSON.stringify(sslibMetaOf(k.public.key))
    : (k.public.key.export({ type: "spki", format: "pem" }) as string);

const hexOf = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digestSet = fc.record(
  { sha256: hexOf(64), sha512: hexOf(128), gitCommit: hexOf(40) },
  { requiredKeys: ["sha256"] },
);

test("prepareVerified indexes what prepare indexes, and refuses an entry the verifier did not read", async () => {
  const store = new AttestationStore({ index: new MemorySearchIndex() });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), digest: digestSet }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.webUrl(),
      fc.subarray([0, 1, 2], { minLength: 1 }),
      fc.boolean(),
      fc.array(fc.emailAddress(), { maxLength: 2 }),
      async (subject, predicateType, signerIdx, json, identities) => {
        const signers = signerIdx.map((i) => KEYS[i]!);
        const stmt = { _type: "https://in-toto.io/Statement/v1", subject, predicateType, predicate: {} };
        const envelope = await signEnvelope(
          INTOTO_PAYLOAD_TYPE,
          Buffer.from(JSON.stringify(stmt)),
          signers.map(keySigner),
        );
        const entry = verifySubmission({
          kind: "dsse",
          envelope,
          publicKeys: signers.map((k) => keyText(k, json)),
        });
        const bytes = Buffer.from(JSON.stringify(envelope));
        const slow = store.prepare({ envelope: bytes, entry, identities });
        const fast = store.prepareVerified({ envelope: bytes, entry, identities });
        assert.deepEqual(fast, slow);
        // Without the verifier's reading, the fast path has nothing to go on: refused, not guessed.
        const { indexed: _, ...unread } = entry;
        assert.throws(
          () => store.prepareVerified({ envelope: bytes, entry: unread }),
          (e: { code?: string }) => e.code === "ERR_STORE_ENTRY_INVALID",
        );
      },
    ),
    { numRuns: 40 },
  );
});

test("prepareVerified keeps the size limit", async () => {
  const k = KEYS[0]!;
  const envelope = await signEnvelope(
    INTOTO_PAYLOAD_TYPE,
    Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: "a", digest: { sha256: "ab".repeat(32) } }],
        predicateType: "https://example.com/p",
        predicate: {},
      }),
    ),
    [keySigner(k)],
  );
  const entry = verifySubmission({ kind: "dsse", envelope, publicKeys: [keyText(k, false)] });
  const bytes = Buffer.from(JSON.stringify(envelope));
  const store = new AttestationStore({ index: new MemorySearchIndex(), maxEnvelopeBytes: bytes.length - 1 });
  assert.throws(
    () => store.prepareVerified({ envelope: bytes, entry }),
    (e: { code?: string }) => e.code === "ERR_STORE_TOO_LARGE",
  );
});
