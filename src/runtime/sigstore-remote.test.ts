// SPDX-License-Identifier: Apache-2.0
// The keyless clients' pure parts: Rekor v1 proposed entries, a LogEntry answer as a bundle's
// TransparencyLogEntry (malformed answers refused as transport errors, never half-read), and the
// claim Fulcio's proof of possession signs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { CairnError } from "../core/errors.js";
import { rekorProposedEntry, tlogEntryOfRekor, tokenChallenge } from "./sigstore-remote.js";

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;

const answer = () => ({
  ["ab".repeat(32)]: {
    body: Buffer.from('{"kind":"hashedrekord"}').toString("base64"),
    integratedTime: 1_700_000_000,
    logID: "cd".repeat(32),
    logIndex: 7,
    verification: {
      inclusionProof: {
        checkpoint: "cairn.test/log\n8\nAAAA\n\n— x y\n",
        hashes: ["ef".repeat(32)],
        logIndex: 7,
        rootHash: "01".repeat(32),
        treeSize: 8,
      },
      signedEntryTimestamp: Buffer.from("set").toString("base64"),
    },
  },
});

describe("Rekor v1 client parts", () => {
  test("proposed entries name the kind and carry the verifier PEM base64-encoded", () => {
    const h = rekorProposedEntry({
      kind: "hashedrekord",
      algorithm: "sha256",
      digest: Buffer.alloc(32, 1),
      signature: Buffer.from("sig"),
      verifierPem: "-----BEGIN PUBLIC KEY-----\n",
    }) as {
      kind: string;
      spec: { data: { hash: { value: string } }; signature: { publicKey: { content: string } } };
    };
    assert.equal(h.kind, "hashedrekord");
    assert.equal(h.spec.data.hash.value, "01".repeat(32));
    assert.equal(
      Buffer.from(h.spec.signature.publicKey.content, "base64").toString(),
      "-----BEGIN PUBLIC KEY-----\n",
    );
    const d = rekorProposedEntry({
      kind: "dsse",
      envelope: { payloadType: "t", payload: "", signatures: [{ keyid: "", sig: "" }] },
      verifierPems: ["pem"],
    }) as { kind: string; spec: { proposedContent: { envelope: string; verifiers: string[] } } };
    assert.equal(d.kind, "dsse");
    assert.equal(JSON.parse(d.spec.proposedContent.envelope).payloadType, "t");
  });

  test("a LogEntry answer becomes the bundle's entry", () => {
    const e = tlogEntryOfRekor(answer(), "hashedrekord");
    assert.equal(e.logIndex, 7);
    assert.equal(e.integratedTime, 1_700_000_000);
    assert.equal(e.inclusionProof?.treeSize, 8);
    assert.equal(Buffer.from(e.logId.keyId).toString("hex"), "cd".repeat(32));
    assert.deepEqual(e.kindVersion, { kind: "hashedrekord", version: "0.0.1" });
  });

  test("malformed answers are refused as transport errors", () => {
    const bad: ((a: ReturnType<typeof answer>) => unknown)[] = [
      () => ({}),
      (a) => ({ ...a, other: {} }),
      (a) => {
        Object.values(a)[0]!.logIndex = -1;
        return a;
      },
      (a) => {
        (Object.values(a)[0]!.verification as { inclusionProof: unknown }).inclusionProof = "x";
        return a;
      },
      (a) => {
        (Object.values(a)[0] as { integratedTime: unknown }).integratedTime = "now";
        return a;
      },
    ];
    for (const f of bad)
      assert.throws(
        () => tlogEntryOfRekor(f(answer()), "dsse"),
        (e: CairnError) => e.code === "ERR_HTTP_ERROR",
      );
  });
});

describe("tokenChallenge", () => {
  test("the email when there is one, else sub", () => {
    assert.equal(tokenChallenge(jwt({ sub: "u1", email: "dev@example.com" })), "dev@example.com");
    assert.equal(tokenChallenge(jwt({ sub: "spiffe://td/ns/a/sa/b" })), "spiffe://td/ns/a/sa/b");
  });
  test("not a JWT, or no subject: ERR_USAGE", () => {
    for (const t of ["nope", jwt({ aud: "x" }), "a.!!!.b"])
      assert.throws(
        () => tokenChallenge(t),
        (e: CairnError) => e.code === "ERR_USAGE",
      );
  });
});
