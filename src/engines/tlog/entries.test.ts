// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { constants, createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, test } from "node:test";
import { toBase64 } from "../../core/encoding.js";
import { generateKey, keySigner, type PrivateKey } from "../../core/index.js";
import { signEnvelope } from "../../formats/dsse/index.js";
import { hashLeaf } from "../../formats/tlog/index.js";
import {
  INTOTO_PAYLOAD_TYPE,
  MAX_LEAF_BYTES,
  MAX_SUBMISSION_DEPTH,
  verifySubmission,
  verifySubmissionBytes,
} from "./entries.js";
import { verifyPrehashedSha256 } from "./prehashed.js";

const pem = (k: PrivateKey | KeyObject) =>
  ("public" in k ? k.public.key : k).export({ type: "spki", format: "pem" }) as string;

const statement = {
  _type: "https://in-toto.io/Statement/v1",
  subject: [{ name: "app.tar.gz", digest: { sha256: "a".repeat(64) } }],
  predicateType: "https://slsa.dev/provenance/v1",
  predicate: { buildDefinition: {} },
};

async function envelope(signers: PrivateKey[], payload: unknown = statement, type = INTOTO_PAYLOAD_TYPE) {
  return signEnvelope(type, Buffer.from(JSON.stringify(payload)), signers.map(keySigner));
}

describe("DSSE entries", () => {
  const ed = generateKey("ed25519");
  const ec = generateKey("ecdsa");
  const other = generateKey("ed25519");

  test("a valid envelope is accepted; the leaf is canonical JSON of the documented shape", async () => {
    const env = await envelope([ed]);
    const e = verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] });
    assert.equal(e.kind, "dsse");
    assert.deepEqual(e.leafHash, hashLeaf(e.leaf));
    assert.deepEqual(e.statement?.subject, statement.subject);
    const payloadSha = createHash("sha256").update(JSON.stringify(statement)).digest("hex");
    const expected =
      `{"kind":"dsse/v1","payloadSha256":"${payloadSha}","payloadType":"${INTOTO_PAYLOAD_TYPE}",` +
      `"signatures":[{"publicKey":"${pem(ed)}","sig":"${env.signatures[0]!.sig}"}]}`;
    assert.equal(e.leaf.toString("utf8"), expected);
  });

  test("two signers, keys in any order and encoding: the same leaf", async () => {
    const env = await envelope([ed, ec]);
    const a = verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed), pem(ec)] });
    const b = verifySubmission({
      kind: "dsse",
      envelope: env,
      publicKeys: [pem(ec), JSON.stringify(ed.public.meta)],
    });
    assert.deepEqual(a.leaf, b.leaf);
  });

  test("a keyid hint that names no supplied key does not matter (DSSE protocol.md)", async () => {
    const env = await envelope([ed]);
    env.signatures[0]!.keyid = "some-other-id";
    verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] });
  });

  test("refused: tampered payload", async () => {
    const env = await envelope([ed]);
    env.payload = toBase64(Buffer.from(JSON.stringify({ ...statement, predicateType: "https://evil" })));
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] }), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
  });

  test("refused: wrong key", async () => {
    const env = await envelope([ed]);
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(other)] }), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
  });

  test("refused: one of two signatures does not verify", async () => {
    const env = await envelope([ed, other]);
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] }), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
  });

  test("refused: a supplied key that made no signature rides along", async () => {
    const env = await envelope([ed]);
    assert.throws(
      () => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed), pem(other)] }),
      {
        code: "ERR_DSSE_SIGNATURE_INVALID",
        field: "publicKeys[1]",
      },
    );
  });

  test("refused: tampered signature, no signatures, no keys, bad key", async () => {
    const env = await envelope([ed]);
    const sig = Buffer.from(env.signatures[0]!.sig, "base64");
    sig[0]! ^= 1;
    const bad = { ...env, signatures: [{ sig: sig.toString("base64") }] };
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: bad, publicKeys: [pem(ed)] }), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
    assert.throws(
      () => verifySubmission({ kind: "dsse", envelope: { ...env, signatures: [] }, publicKeys: [pem(ed)] }),
      {
        code: "ERR_TLOG_ENTRY_INVALID",
      },
    );
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [] }), {
      code: "ERR_TLOG_ENTRY_INVALID",
    });
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: ["not a key"] }), {
      code: "ERR_KEY_INVALID",
    });
  });

  test("refused: a payload that is not an in-toto statement, or another payload type", async () => {
    const env = await envelope([ed], { hello: "world" });
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] }), {
      code: "ERR_FIELD_INVALID",
    });
    const env2 = await envelope([ed], statement, "text/plain");
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: env2, publicKeys: [pem(ed)] }), {
      code: "ERR_TLOG_ENTRY_INVALID",
    });
  });

  test("refused: a payload over the configured bound", async () => {
    const env = await envelope([ed]);
    assert.throws(
      () => verifySubmission({ kind: "dsse", envelope: env, publicKeys: [pem(ed)] }, { maxPayloadBytes: 10 }),
      { code: "ERR_TLOG_ENTRY_INVALID" },
    );
  });

  test("malformed submissions and unknown kinds", () => {
    assert.throws(() => verifySubmission(null), { code: "ERR_TLOG_ENTRY_INVALID" });
    assert.throws(() => verifySubmission({ kind: "rekord" }), {
      code: "ERR_TLOG_ENTRY_INVALID",
      field: "kind",
    });
    assert.throws(() => verifySubmission({ kind: "dsse", envelope: { payload: 1 }, publicKeys: [] }), {
      code: "ERR_FIELD_INVALID",
    });
  });
  test("MAX_LEAF_BYTES is the entry bundle bound (uint16)", () => assert.equal(MAX_LEAF_BYTES, 65535));

  test("from bytes: the same entry as verifySubmission, with the envelope as JSON for the store", async () => {
    const env = await envelope([ed]);
    const sub = { kind: "dsse", envelope: env, publicKeys: [pem(ed)] };
    const want = verifySubmission(sub);
    // Whitespace and member order of the body do not matter: the stored envelope is re-serialized.
    const e = verifySubmissionBytes(Buffer.from(JSON.stringify(sub, null, 2)));
    assert.equal(e.kind, "dsse");
    assert.deepEqual(e.leaf, want.leaf);
    assert.deepEqual(e.leafHash, want.leafHash);
    assert.deepEqual(e.indexed, want.indexed);
    assert.equal(e.envelopeJson?.toString("utf8"), JSON.stringify(env));
  });

  test("from bytes: JSON errors as the server's body parser, then verification's own", async () => {
    const bytes = (s: string) => Buffer.from(s);
    assert.throws(() => verifySubmissionBytes(bytes("")), { code: "ERR_JSON_MALFORMED" });
    assert.throws(() => verifySubmissionBytes(bytes("{kind:")), { code: "ERR_JSON_MALFORMED" });
    const deep = `${"[".repeat(MAX_SUBMISSION_DEPTH + 1)}${"]".repeat(MAX_SUBMISSION_DEPTH + 1)}`;
    assert.throws(() => verifySubmissionBytes(bytes(deep)), { code: "ERR_JSON_TOO_LARGE" });
    assert.throws(() => verifySubmissionBytes(bytes('{"kind":"x"}'), { maxSubmissionBytes: 5 }), {
      code: "ERR_JSON_TOO_LARGE",
    });
    assert.throws(() => verifySubmissionBytes(bytes("[]")), { code: "ERR_TLOG_ENTRY_INVALID" });
    assert.throws(() => verifySubmissionBytes(bytes('{"kind":"rekord"}')), {
      code: "ERR_TLOG_ENTRY_INVALID",
      field: "kind",
    });
    const env = await envelope([ed]);
    const sub = { kind: "dsse", envelope: env, publicKeys: [pem(other)] };
    assert.throws(() => verifySubmissionBytes(bytes(JSON.stringify(sub))), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
    });
  });
});

describe("signed-artifact entries (prehashed)", () => {
  const artifact = Buffer.from("the artifact bytes");
  const sha256 = createHash("sha256").update(artifact).digest("hex");
  const cases: [string, ReturnType<typeof generateKeyPairSync>, object][] = [
    ["ECDSA P-256", generateKeyPairSync("ec", { namedCurve: "P-256" }), {}],
    ["ECDSA P-384", generateKeyPairSync("ec", { namedCurve: "P-384" }), {}],
    ["RSA PKCS#1 v1.5", generateKeyPairSync("rsa", { modulusLength: 2048 }), {}],
    [
      "RSA-PSS",
      generateKeyPairSync("rsa", { modulusLength: 3072 }),
      { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
    ],
  ];
  for (const [name, pair, opts] of cases) {
    test(`${name}: a signature over the artifact verifies from its digest; tampering is refused`, () => {
      const sig = sign("sha256", artifact, { key: pair.privateKey, ...opts });
      const sub = {
        kind: "artifact",
        digest: { sha256 },
        signature: sig.toString("base64"),
        publicKey: pem(pair.publicKey),
      };
      const e = verifySubmission(sub);
      assert.equal(e.kind, "artifact");
      assert.equal(
        e.leaf.toString(),
        `{"digest":{"sha256":"${sha256}"},"kind":"artifact/v1","publicKey":"${pem(pair.publicKey)}","signature":"${sub.signature}"}`,
      );
      const otherDigest = createHash("sha256").update("other").digest("hex");
      assert.throws(() => verifySubmission({ ...sub, digest: { sha256: otherDigest } }), {
        code: "ERR_SIGNATURE_INVALID",
      });
      const bad = Buffer.from(sig);
      bad[bad.length - 3]! ^= 1;
      assert.throws(() => verifySubmission({ ...sub, signature: bad.toString("base64") }), {
        code: "ERR_SIGNATURE_INVALID",
      });
      const wrong = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
      assert.throws(() => verifySubmission({ ...sub, publicKey: pem(wrong) }), {
        code: "ERR_SIGNATURE_INVALID",
      });
    });
  }

  test("ECDSA: many signatures verify, and a signature over a different message never does", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    for (let i = 0; i < 20; i++) {
      const m = Buffer.from(`m${i}`);
      const d = createHash("sha256").update(m).digest();
      assert.ok(verifyPrehashedSha256(publicKey, d, sign("sha256", m, privateKey)));
      assert.ok(!verifyPrehashedSha256(publicKey, d, sign("sha256", Buffer.from(`x${i}`), privateKey)));
    }
  });

  test("refused: Ed25519 (cannot be checked from a digest), bad digests, bad base64", () => {
    const ed = generateKeyPairSync("ed25519");
    const sig = sign(null, artifact, ed.privateKey).toString("base64");
    assert.throws(
      () =>
        verifySubmission({
          kind: "artifact",
          digest: { sha256 },
          signature: sig,
          publicKey: pem(ed.publicKey),
        }),
      { code: "ERR_TLOG_ENTRY_INVALID", field: "publicKey" },
    );
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const base = { kind: "artifact", signature: sig, publicKey: pem(ec.publicKey) };
    for (const digest of [
      { sha256: "A".repeat(64) },
      { sha256: "a".repeat(63) },
      "sha256:abc",
      { sha512: "a".repeat(128) },
    ]) {
      assert.throws(() => verifySubmission({ ...base, digest }), { code: "ERR_TLOG_ENTRY_INVALID" });
    }
    assert.throws(() => verifySubmission({ ...base, digest: { sha256 }, signature: "!!" }), {
      code: "ERR_ENCODING_INVALID",
    });
  });
});
