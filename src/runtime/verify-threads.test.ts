// SPDX-License-Identifier: Apache-2.0
// Verification on worker threads answers exactly as verifySubmission on the main thread: the same
// leaf, leaf hash and index keys for each of many concurrent submissions (no answer goes to
// another submitter), the same refusal (code and field) for a bad one, and a LogNode using the
// threads never sequences what they refused.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { CairnError } from "../core/errors.js";
import { generateKey, keySigner, type PrivateKey } from "../core/index.js";
import type { LogNode } from "../engines/lognode/index.js";
import { INTOTO_PAYLOAD_TYPE, verifySubmission, verifySubmissionBytes } from "../engines/tlog/index.js";
import { signEnvelope } from "../formats/dsse/index.js";
import { memoryLogNode } from "../testing/log-node.js";
import { VerifyThreads } from "./verify-threads.js";

const pem = (k: PrivateKey) => k.public.key.export({ type: "spki", format: "pem" }) as string;

async function submission(key: PrivateKey, i: number) {
  const stmt = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: `a${i}`, digest: { sha256: i.toString(16).padStart(64, "0") } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: {},
  };
  const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(stmt)), [
    keySigner(key),
  ]);
  return { kind: "dsse", envelope, publicKeys: [pem(key)] };
}

const threads = new VerifyThreads({}, 2);
after(() => threads.close());

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CairnError);
    return { code: e.code, field: e.field, message: e.message };
  }
  assert.fail("accepted");
};

test("many concurrent submissions each get their own entry, as verified on the main thread", async () => {
  const keys = [generateKey("ed25519"), generateKey("ecdsa")];
  const subs = await Promise.all(Array.from({ length: 60 }, (_, i) => submission(keys[i % 2]!, i)));
  const got = await Promise.all(subs.map((s) => threads.verify(s)));
  got.forEach((e, i) => {
    const want = verifySubmission(subs[i]);
    assert.ok(Buffer.isBuffer(e.leaf) && e.leaf.equals(want.leaf));
    assert.ok(Buffer.isBuffer(e.leafHash) && e.leafHash.equals(want.leafHash));
    assert.equal(e.kind, "dsse");
    assert.deepEqual(e.indexed, {
      payload: { predicateType: want.indexed!.payload.predicateType, digests: want.indexed!.payload.digests },
      keyids: want.indexed!.keyids,
    });
  });
});

test("refusals, parsed inputs and bodies mixed in one message: each answer carries its own bytes", async () => {
  // The byte strings of a message's entries travel packed in order; a refusal has none, a parsed
  // input no envelope JSON. Any offset slip hands one submitter another's leaf.
  const key = generateKey("ed25519");
  const subs = await Promise.all(Array.from({ length: 24 }, (_, i) => submission(key, 1000 + i)));
  const calls = subs.map((s, i) => {
    if (i % 3 === 0) return threads.verify({ ...s, publicKeys: ["not a key"] });
    if (i % 3 === 1) return threads.verify(s);
    return threads.verifyBytes(Buffer.from(JSON.stringify(s)));
  });
  const got = await Promise.allSettled(calls);
  got.forEach((g, i) => {
    if (i % 3 === 0) {
      assert.equal(g.status, "rejected", `submission ${i} is refused`);
      return;
    }
    assert.equal(g.status, "fulfilled", `submission ${i} is accepted`);
    const e = (g as PromiseFulfilledResult<Awaited<ReturnType<typeof threads.verifyBytes>>>).value;
    const want = verifySubmissionBytes(Buffer.from(JSON.stringify(subs[i])));
    assert.ok(e.leaf.equals(want.leaf), `leaf ${i}`);
    assert.ok(e.leafHash.equals(want.leafHash), `leaf hash ${i}`);
    if (i % 3 === 1) assert.equal(e.envelopeJson, undefined);
    else assert.ok(e.envelopeJson?.equals(want.envelopeJson!), `envelope ${i}`);
  });
});

test("a refused submission is refused with the main thread's code, field and message", async () => {
  const key = generateKey("ed25519");
  const forged = await submission(key, 1);
  forged.publicKeys = [pem(generateKey("ed25519"))];
  const bad = [forged, { kind: "nope" }, { kind: "dsse", envelope: { payload: 3 }, publicKeys: [] }, "text"];
  for (const b of bad) {
    let local: unknown;
    try {
      verifySubmission(b);
    } catch (e) {
      local = e;
    }
    assert.ok(local instanceof CairnError);
    assert.deepEqual(await refusal(threads.verify(b)), {
      code: local.code,
      field: local.field,
      message: local.message,
    });
  }
});

test("from bytes: the entry and the envelope JSON verifySubmissionBytes gives; a pool slice is copied, a whole buffer handed over", async () => {
  const key = generateKey("ed25519");
  const subs = await Promise.all(Array.from({ length: 20 }, (_, i) => submission(key, 200 + i)));
  // Small Buffers from strings are slices of Node's shared pool: they are copied, not detached.
  const slices = subs.map((s) => Buffer.from(JSON.stringify(s)));
  assert.ok(slices[0]!.byteLength < slices[0]!.buffer.byteLength);
  const whole = subs.map((s) => {
    const b = Buffer.from(JSON.stringify(s));
    const own = new Uint8Array(new ArrayBuffer(b.length));
    own.set(b);
    return own;
  });
  const got = await Promise.all([...slices, ...whole].map((b) => threads.verifyBytes(b)));
  got.forEach((e, i) => {
    const want = verifySubmissionBytes(Buffer.from(JSON.stringify(subs[i % subs.length])));
    assert.ok(Buffer.isBuffer(e.leaf) && e.leaf.equals(want.leaf));
    assert.ok(Buffer.isBuffer(e.leafHash) && e.leafHash.equals(want.leafHash));
    assert.ok(Buffer.isBuffer(e.envelopeJson) && e.envelopeJson.equals(want.envelopeJson!));
    // All three came in the batch's one transferred buffer (runtime/packed.ts), not in copies of a pool.
    assert.equal(e.leafHash.buffer, e.leaf.buffer);
    assert.equal(e.envelopeJson.buffer, e.leaf.buffer);
    assert.deepEqual(e.indexed, {
      payload: { predicateType: want.indexed!.payload.predicateType, digests: want.indexed!.payload.digests },
      keyids: want.indexed!.keyids,
    });
  });
  // The slices are intact; the whole buffers went to the threads.
  slices.forEach((b, i) => {
    assert.equal(b.toString(), JSON.stringify(subs[i]));
  });
  for (const w of whole) assert.equal(w.byteLength, 0);
});

test("from bytes: a refused body is refused with the main thread's code, field and message", async () => {
  const key = generateKey("ed25519");
  const forged = await submission(key, 1);
  forged.publicKeys = [pem(generateKey("ed25519"))];
  const deep = `${"[".repeat(65)}${"]".repeat(65)}`;
  const bad = [JSON.stringify(forged), '{"kind":"nope"}', "", "{not json", deep, '"text"'];
  for (const b of bad) {
    let local: unknown;
    try {
      verifySubmissionBytes(Buffer.from(b));
    } catch (e) {
      local = e;
    }
    assert.ok(local instanceof CairnError);
    assert.deepEqual(await refusal(threads.verifyBytes(Buffer.from(b))), {
      code: local.code,
      field: local.field,
      message: local.message,
    });
  }
});

test("a log verifying bodies on threads stores the envelope as submitNative does", async () => {
  const { node } = await memoryLogNode({
    verify: (input) => threads.verify(input),
    verifyBytes: (bytes) => threads.verifyBytes(bytes),
  });
  try {
    const key = generateKey("ed25519");
    const good = await submission(key, 9);
    const forged = await submission(key, 10);
    forged.publicKeys = [pem(generateKey("ed25519"))];
    const r = await node.submitNativeBytes(Buffer.from(JSON.stringify(good, null, 1)));
    assert.equal(r.kind, "dsse");
    assert.ok(r.stored && !r.duplicate);
    await assert.rejects(node.submitNativeBytes(Buffer.from(JSON.stringify(forged))), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
    const again = await node.submitNative(good);
    assert.ok(again.duplicate);
    assert.equal(again.index, r.index);
    const page = await node.search({ subject: `sha256:${(9).toString(16).padStart(64, "0")}` });
    assert.equal(page.results.length, 1);
    assert.equal(page.results[0]!.envelope.toString(), JSON.stringify(good.envelope));
  } finally {
    await node.close();
  }
});

test("a log verifying on threads sequences only what verified", async () => {
  const { node, storage } = await memoryLogNode({ verify: (input) => threads.verify(input) });
  try {
    const key = generateKey("ed25519");
    const good = await submission(key, 7);
    const forged = await submission(key, 8);
    forged.publicKeys = [pem(generateKey("ed25519"))];
    const [ok, refused] = await Promise.allSettled([node.submitNative(good), node.submitNative(forged)]);
    assert.equal(ok.status, "fulfilled");
    assert.equal(refused.status, "rejected");
    assert.equal((refused as PromiseRejectedResult).reason.code, "ERR_DSSE_SIGNATURE_INVALID");
    const r = (ok as PromiseFulfilledResult<Awaited<ReturnType<LogNode["submitNative"]>>>).value;
    assert.ok(r.stored);
    assert.equal((await storage.head()).size, 1);
    const page = await node.search({ subject: `sha256:${(7).toString(16).padStart(64, "0")}` });
    assert.equal(page.results.length, 1);
    assert.deepEqual(JSON.parse(page.results[0]!.envelope.toString()), good.envelope);
  } finally {
    await node.close();
  }
});

test("past maxPending waiting submissions, verification refuses with ERR_TLOG_OVERLOADED", async () => {
  const small = new VerifyThreads({}, 1, 2);
  try {
    const key = generateKey("ed25519");
    const subs = await Promise.all(Array.from({ length: 5 }, (_, i) => submission(key, 100 + i)));
    const got = await Promise.allSettled(subs.map((s) => small.verify(s)));
    assert.deepEqual(
      got.map((g) => (g.status === "fulfilled" ? "ok" : (g.reason as CairnError).code)),
      ["ok", "ok", "ERR_TLOG_OVERLOADED", "ERR_TLOG_OVERLOADED", "ERR_TLOG_OVERLOADED"],
    );
    // Once answered, they no longer count.
    assert.equal((await small.verify(subs[4])).kind, "dsse");
  } finally {
    await small.close();
  }
});
