// SPDX-License-Identifier: Apache-2.0
// The Rekor intoto 0.0.2 proposed-entry verifier (sigstore/rekor pkg/types/intoto/v0.0.2): entries
// made with cairn's DSSE signer verify and canonicalize to a body formats/sigstore reads back;
// any changed payload or signature, a key that did not sign, and malformed input are refused.
import assert from "node:assert/strict";
import { createHash, sign } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { toPem } from "../../core/encoding.js";
import { CairnError } from "../../core/errors.js";
import { generateKey, KeyRing, keySigner, type PrivateKey } from "../../core/index.js";
import { type Envelope, parseEnvelope, signEnvelope, verifyEnvelope } from "../../formats/dsse/index.js";
import {
  certificateNames,
  fulcioIssuer,
  parseCertificate,
  parseRekorBody,
} from "../../formats/sigstore/index.js";
import { hashLeaf } from "../../formats/tlog/index.js";
import { ecPair, issueLeaf, makeTestCa } from "../../testing/sigstore-ca.js";
import { intotoProposal } from "../../testing/sigstore-kit.js";
import {
  certificateIdentities,
  hashesOfLeaf,
  identityIndexKeys,
  verifyHashedRekord,
  verifyRekorIntoto,
  verifyRekorProposedEntry,
} from "./rekor.js";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const pemOf = (k: PrivateKey) => k.public.key.export({ type: "spki", format: "pem" }) as string;

const proposal = (env: Envelope, keys: PrivateKey[], hash = "ab".repeat(32)) =>
  intotoProposal(env, keys.map(pemOf), hash);

const ed = generateKey("ed25519");
const ec = generateKey("ecdsa");
const stranger = generateKey("ed25519");

const refused = (e: unknown) => e instanceof CairnError;

describe("Rekor intoto 0.0.2 entries", () => {
  test("an envelope made with cairn's DSSE signer: verified, canonical body as Rekor stores it", async () => {
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    const env = await signEnvelope("application/vnd.in-toto+json", payload, [keySigner(ed), keySigner(ec)]);
    const e = verifyRekorProposedEntry(proposal(env, [ed, ec]));
    assert.equal(e.kind, "intoto");
    assert.deepEqual(e.leafHash, hashLeaf(e.leaf));
    const payloadHash = createHash("sha256").update(payload).digest("hex");
    const body = JSON.parse(e.leaf.toString());
    // No payload in the body (writeOnly), keys sorted, the submitter's envelope hash as given.
    assert.deepEqual(Object.keys(body.spec.content.envelope), ["payloadType", "signatures"]);
    assert.deepEqual(body.spec.content.hash, { algorithm: "sha256", value: "ab".repeat(32) });
    assert.deepEqual(body.spec.content.payloadHash, { algorithm: "sha256", value: payloadHash });
    const read = parseRekorBody(e.leaf, { kind: "intoto", version: "0.0.2" });
    assert.equal(read.kind, "intoto");
    if (read.kind !== "intoto") return;
    assert.deepEqual(
      read.signatures.map((s) => s.sig.toString("base64")),
      env.signatures.map((s) => s.sig),
    );
    assert.deepEqual(
      read.signatures.map((s) => s.publicKey.toString()),
      [pemOf(ed), pemOf(ec)],
    );
    assert.deepEqual(hashesOfLeaf(e.leaf), [`sha256:${payloadHash}`]);
    // The standard envelope handed to the store verifies with the keys the log recorded.
    const ring = new KeyRing();
    ring.add(ed.public);
    ring.add(ec.public);
    const standard = parseEnvelope(JSON.parse(e.dsse!.envelope));
    assert.deepEqual(verifyEnvelope(standard, ring, 2).payload, payload);
    assert.equal(e.dsse!.publicKeys.length, 2);
  });

  test("property: any payload, type and keyid round-trip; the leaf is deterministic", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        async (bytes, type, keyid) => {
          // Rekor refuses an empty payload ("missing envelope content"); so does the malformed case below.
          const payload = Buffer.from(bytes);
          const env = await signEnvelope(type, payload, [keySigner(ed)]);
          // An empty keyid is dropped from the body, as Go's omitempty does in Rekor.
          env.signatures[0]!.keyid = keyid ?? "";
          const a = verifyRekorIntoto(proposal(env, [ed]).spec);
          const b = verifyRekorIntoto(proposal(env, [ed]).spec);
          assert.deepEqual(a.leaf, b.leaf);
          const read = parseRekorBody(a.leaf);
          assert.ok(read.kind === "intoto");
          assert.equal(read.payloadType, type);
          assert.equal(read.signatures[0]!.keyid, keyid);
          assert.deepEqual(read.payloadHash.value, createHash("sha256").update(payload).digest());
          assert.deepEqual(read.signatures[0]!.sig.toString("base64"), env.signatures[0]!.sig);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("property: a changed payload, type or signature byte is refused", async () => {
    const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');
    const env = await signEnvelope("application/vnd.in-toto+json", payload, [keySigner(ec)]);
    const sig = Buffer.from(env.signatures[0]!.sig, "base64");
    await fc.assert(
      fc.property(
        fc.constantFrom("payload", "sig", "type"),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (what, at, flip) => {
          const p = Buffer.from(payload);
          const s = Buffer.from(sig);
          let type = env.payloadType;
          if (what === "payload") p[at % p.length]! ^= flip;
          else if (what === "sig") s[at % s.length]! ^= flip;
          else type = `${type}${String.fromCharCode(32 + (flip % 90))}`;
          const bad: Envelope = {
            payloadType: type,
            payload: p.toString("base64"),
            signatures: [{ sig: s.toString("base64") }],
          };
          assert.throws(() => verifyRekorIntoto(proposal(bad, [ec]).spec), refused);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a signature paired with a key that did not make it is refused (no swapped keys)", async () => {
    const env = await signEnvelope("text/plain", Buffer.from("x"), [keySigner(ed), keySigner(ec)]);
    assert.throws(() => verifyRekorIntoto(proposal(env, [ec, ed]).spec), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
      field: "spec.content.envelope.signatures[0]",
    });
    assert.throws(() => verifyRekorIntoto(proposal(env, [ed, stranger]).spec), {
      code: "ERR_DSSE_SIGNATURE_INVALID",
      field: "spec.content.envelope.signatures[1]",
    });
  });

  test("malformed proposals: a clear error naming the field", async () => {
    const env = await signEnvelope("text/plain", Buffer.from("x"), [keySigner(ed)]);
    const good = proposal(env, [ed]);
    const cases: [(p: ReturnType<typeof proposal>) => void, string, string][] = [
      [
        (p) => delete (p.spec.content as Record<string, unknown>).hash,
        "ERR_TLOG_ENTRY_INVALID",
        "spec.content.hash",
      ],
      [(p) => (p.spec.content.hash.value = "AB".repeat(32)), "ERR_TLOG_ENTRY_INVALID", "spec.content.hash"],
      [
        (p) => (p.spec.content.envelope.signatures = []),
        "ERR_TLOG_ENTRY_INVALID",
        "spec.content.envelope.signatures",
      ],
      [
        (p) => (p.spec.content.envelope.payload = ""),
        "ERR_TLOG_ENTRY_INVALID",
        "spec.content.envelope.payload",
      ],
      [
        (p) => (p.spec.content.envelope.payload = "%%%"),
        "ERR_ENCODING_INVALID",
        "spec.content.envelope.payload",
      ],
      // The payload given once-encoded (the DSSE text, not base64 of it): decodes to non-base64.
      [
        (p) => (p.spec.content.envelope.payload = b64(Buffer.from([0xff, 0xfe, 0x00]))),
        "ERR_ENCODING_INVALID",
        "spec.content.envelope.payload",
      ],
      [
        (p) => (p.spec.content.envelope.signatures[0]!.publicKey = b64("not a key")),
        "ERR_KEY_INVALID",
        "spec.content.envelope.signatures[0].publicKey",
      ],
      [
        (p) => delete (p.spec.content.envelope.signatures[0] as Record<string, unknown>).publicKey,
        "ERR_TLOG_ENTRY_INVALID",
        "spec.content.envelope.signatures[0].publicKey",
      ],
    ];
    for (const [mutate, code, field] of cases) {
      const p = structuredClone(good);
      mutate(p);
      assert.throws(() => verifyRekorProposedEntry(p), { code, field }, `${code} ${field}`);
    }
    assert.throws(() => verifyRekorProposedEntry({ ...good, apiVersion: "0.0.1" }), {
      code: "ERR_TLOG_ENTRY_INVALID",
      field: "kind",
    });
    // The envelope size bound applies to the doubly encoded payload before decoding.
    const big = await signEnvelope("text/plain", Buffer.alloc(4096, 1), [keySigner(ed)]);
    assert.throws(() => verifyRekorIntoto(proposal(big, [ed]).spec, 1024), {
      code: "ERR_TLOG_ENTRY_INVALID",
      field: "spec.content.envelope.payload",
    });
  });

  test("property: arbitrary JSON specs are refused with a CairnError, never a crash", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
        assert.throws(() => verifyRekorIntoto(v), refused);
        assert.throws(() => verifyRekorIntoto({ content: v }), refused);
        assert.throws(() => verifyRekorIntoto({ content: { envelope: v, hash: v } }), refused);
      }),
      { numRuns: 300 },
    );
  });

  test("certificate identities: SANs with the Fulcio issuer (v2 or legacy); none for keys and unreadable certificates", () => {
    const ca = makeTestCa();
    const k = ecPair();
    const pemOfCert = (der: Buffer) => toPem("CERTIFICATE", der);
    const issuer = "https://issuer.example";
    assert.deepEqual(
      certificateIdentities(pemOfCert(issueLeaf(ca, k.spki, { email: "a@example.com", issuer }))),
      [{ identity: "a@example.com", issuer }],
    );
    assert.deepEqual(
      certificateIdentities(
        pemOfCert(issueLeaf(ca, k.spki, { uri: "https://ci.example/x", issuer, legacyIssuer: true })),
      ),
      [{ identity: "https://ci.example/x", issuer }],
    );
    assert.deepEqual(certificateIdentities(pemOfCert(issueLeaf(ca, k.spki, { email: "b@example.com" }))), [
      { identity: "b@example.com" },
    ]);
    // The DER-only reader indexing uses agrees with the full certificate parser.
    for (const o of [
      { email: "a@example.com", issuer },
      { uri: "https://u.example", issuer, legacyIssuer: true },
      {},
    ]) {
      const der = issueLeaf(ca, k.spki, o);
      const full = parseCertificate(der);
      assert.deepEqual(certificateNames(der), {
        san: full.san,
        ...(fulcioIssuer(full) !== undefined ? { oidcIssuer: fulcioIssuer(full) } : {}),
      });
    }
    assert.deepEqual(certificateIdentities(pemOf(ed)), []);
    assert.deepEqual(certificateIdentities(pemOfCert(Buffer.from("not DER"))), []);
    // An issuer with a space cannot be told apart in an `oidc:` key: it is left out.
    assert.deepEqual(
      certificateIdentities(pemOfCert(issueLeaf(ca, k.spki, { email: "c@example.com", issuer: "a b" }))),
      [{ identity: "c@example.com" }],
    );
    assert.deepEqual(identityIndexKeys({ identity: "a@example.com", issuer }), [
      "identity:a@example.com",
      `oidc:${issuer} a@example.com`,
    ]);
  });

  test("a hashedrekord signed with a certificate is indexed under its identities; with a key, not", () => {
    const ca = makeTestCa();
    const k = ecPair();
    const cert = toPem(
      "CERTIFICATE",
      issueLeaf(ca, k.spki, { email: "a@example.com", issuer: "https://i.example" }),
    );
    const digest = createHash("sha256").update("data").digest("hex");
    const proposal = (pem: string) => ({
      data: { hash: { algorithm: "sha256", value: digest } },
      signature: {
        content: sign("sha256", Buffer.from("data"), k.privateKey).toString("base64"),
        publicKey: { content: b64(pem) },
      },
    });
    const e = verifyHashedRekord(proposal(cert));
    assert.deepEqual(e.identities, [{ identity: "a@example.com", issuer: "https://i.example" }]);
    assert.deepEqual(hashesOfLeaf(e.leaf), [
      `sha256:${digest}`,
      "identity:a@example.com",
      "oidc:https://i.example a@example.com",
    ]);
    const byKey = verifyHashedRekord(proposal(k.publicKey.export({ type: "spki", format: "pem" }) as string));
    assert.deepEqual(byKey.identities, []);
    assert.deepEqual(hashesOfLeaf(byKey.leaf), [`sha256:${digest}`]);
  });
});
