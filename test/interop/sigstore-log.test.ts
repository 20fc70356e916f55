// SPDX-License-Identifier: Apache-2.0
// The real sigstore npm client against cairn's Rekor-compatible API: @sigstore/sign's RekorWitness
// posts hashedrekord, dsse and intoto entries to `cairn serve`'s routes (in process, on a free port), the
// bundles it builds are checked by @sigstore/verify with a trusted root naming cairn's log key
// (SET, checkpoint signature, inclusion proof, body), and by cairn's own bundle parser.
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bundleFromJSON, bundleToJSON } from "@sigstore/bundle";
import { PublicKeyDetails, TrustedRoot } from "@sigstore/protobuf-specs";
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, RekorWitness, type Signer } from "@sigstore/sign";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import type { FastifyInstance } from "fastify";
import { LogNode } from "../../src/engines/lognode/index.js";
import { MemorySearchIndex } from "../../src/engines/store/index.js";
import { MemoryLogStorage } from "../../src/engines/tlog/index.js";
import { checkEntryMatchesBundle, parseBundle } from "../../src/formats/sigstore/index.js";
import { buildServer, logRoutes, rekorRoutes } from "../../src/services/index.js";

const ORIGIN = "cairn.test/log";
const BASE_URL = `https://${ORIGIN}`;

function signerOf(key: KeyObject, pub: KeyObject, hint: string, hash: string | null): Signer {
  const pem = pub.export({ type: "spki", format: "pem" }) as string;
  return {
    sign: async (data: Buffer) => ({
      signature: sign(hash, data, key),
      key: { $case: "publicKey", publicKey: pem, hint },
    }),
  };
}

function trustedRoot(logKey: KeyObject, logId: Buffer): TrustedRoot {
  return TrustedRoot.fromJSON({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [
      {
        baseUrl: BASE_URL,
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: logKey.export({ type: "spki", format: "der" }).toString("base64"),
          keyDetails: "PKIX_ED25519",
          validFor: { start: "2020-01-01T00:00:00Z" },
        },
        logId: { keyId: logId.toString("base64") },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

describe("sigstore-js against cairn's Rekor v1 API", () => {
  let app: FastifyInstance;
  let node: LogNode;
  let url: string;
  const logKey = generateKeyPairSync("ed25519");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ed = generateKeyPairSync("ed25519");
  const keys = {
    ec: {
      rawBytes: ec.publicKey.export({ type: "spki", format: "der" }),
      keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
    },
    ed: {
      rawBytes: ed.publicKey.export({ type: "spki", format: "der" }),
      keyDetails: PublicKeyDetails.PKIX_ED25519,
    },
  };
  const verifierOpts = { ctlogThreshold: 0, tlogThreshold: 1, timestampThreshold: 1 };

  before(async () => {
    node = new LogNode({
      storage: new MemoryLogStorage(),
      key: logKey.privateKey,
      origin: ORIGIN,
      searchIndex: new MemorySearchIndex(),
      sequencer: { maxBatchDelayMs: 1 },
    });
    await node.becomeSequencer();
    // Sigstore clients cannot send a bearer token: the Rekor API is used as `cairn serve --dev` serves it.
    app = await buildServer({
      plugins: [logRoutes(node), rekorRoutes(node)],
      auth: { mode: "none" },
      logger: false,
    });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => {
    await app.close();
    await node.close();
  });

  const verifier = () =>
    new Verifier(toTrustMaterial(trustedRoot(logKey.publicKey, node.logId), keys), verifierOpts);

  test("hashedrekord: RekorWitness logs a message signature; @sigstore/verify accepts the bundle", async () => {
    const witness = new RekorWitness({ rekorBaseURL: url, entryType: "dsse" });
    const builder = new MessageSignatureBundleBuilder({
      signer: signerOf(ec.privateKey, ec.publicKey, "ec", "sha256"),
      witnesses: [witness],
    });
    const artifact = Buffer.from("hello, cairn");
    const bundle = await builder.create({ data: artifact });
    const entry = bundle.verificationMaterial.tlogEntries[0]!;
    assert.equal(entry.kindVersion?.kind, "hashedrekord");
    assert.ok(entry.inclusionPromise, "the SET is in the bundle");
    assert.ok(entry.inclusionProof?.checkpoint, "the inclusion proof and checkpoint are in the bundle");
    const json = bundleToJSON(bundle);
    verifier().verify(toSignedEntity(bundleFromJSON(json), artifact));
    // cairn reads the same bundle and finds the entry is about its signature and key.
    const parsed = parseBundle(JSON.parse(JSON.stringify(json)));
    checkEntryMatchesBundle(parsed.verificationMaterial.tlogEntries[0]!, parsed, { publicKey: ec.publicKey });

    // Another artifact, the same bundle: refused.
    assert.throws(() => verifier().verify(toSignedEntity(bundleFromJSON(json), Buffer.from("other"))));
    // A trusted root naming another log key: refused (SET and checkpoint).
    const stranger = generateKeyPairSync("ed25519").publicKey;
    const wrong = new Verifier(toTrustMaterial(trustedRoot(stranger, node.logId), keys), verifierOpts);
    assert.throws(() => wrong.verify(toSignedEntity(bundleFromJSON(json), artifact)));
    // Without the SET, the checkpoint signature (Rekor-style key hint) and the proof alone verify.
    const proofOnly = JSON.parse(JSON.stringify(json));
    delete proofOnly.verificationMaterial.tlogEntries[0].inclusionPromise;
    new Verifier(toTrustMaterial(trustedRoot(logKey.publicKey, node.logId), keys), {
      ...verifierOpts,
      timestampThreshold: 0,
    }).verify(toSignedEntity(bundleFromJSON(proofOnly), artifact));
    // A tampered inclusion proof: refused.
    const tampered = JSON.parse(JSON.stringify(json));
    const proof = tampered.verificationMaterial.tlogEntries[0].inclusionProof;
    proof.rootHash = Buffer.alloc(32, 7).toString("base64");
    delete tampered.verificationMaterial.tlogEntries[0].inclusionPromise;
    assert.throws(() => verifier().verify(toSignedEntity(bundleFromJSON(tampered), artifact)));
  });

  test("dsse: RekorWitness logs a DSSE envelope; the bundle verifies; a repeat gets 409 and the existing entry", async () => {
    const statement = Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: "a", digest: { sha256: "cd".repeat(32) } }],
        predicateType: "https://example.com/p",
        predicate: {},
      }),
    );
    // Ed25519 signatures are deterministic: the second upload is the same entry.
    const witness = new RekorWitness({ rekorBaseURL: url, entryType: "dsse", fetchOnConflict: true });
    const builder = new DSSEBundleBuilder({
      signer: signerOf(ed.privateKey, ed.publicKey, "ed", null),
      witnesses: [witness],
    });
    const first = await builder.create({ data: statement, type: "application/vnd.in-toto+json" });
    assert.equal(first.verificationMaterial.tlogEntries[0]!.kindVersion?.kind, "dsse");
    verifier().verify(toSignedEntity(bundleFromJSON(bundleToJSON(first))));
    const second = await builder.create({ data: statement, type: "application/vnd.in-toto+json" });
    const a = first.verificationMaterial.tlogEntries[0]!;
    const b = second.verificationMaterial.tlogEntries[0]!;
    assert.equal(b.logIndex, a.logIndex);
    assert.deepEqual(b.canonicalizedBody, a.canonicalizedBody);
    verifier().verify(toSignedEntity(bundleFromJSON(bundleToJSON(second))));
  });

  test("intoto 0.0.2: RekorWitness logs a DSSE envelope as intoto; @sigstore/verify accepts the bundle", async () => {
    const statement = Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: "b", digest: { sha256: "ef".repeat(32) } }],
        predicateType: "https://example.com/intoto",
        predicate: {},
      }),
    );
    const builder = new DSSEBundleBuilder({
      signer: signerOf(ec.privateKey, ec.publicKey, "ec", "sha256"),
      witnesses: [new RekorWitness({ rekorBaseURL: url, entryType: "intoto" })],
    });
    const bundle = await builder.create({ data: statement, type: "application/vnd.in-toto+json" });
    const entry = bundle.verificationMaterial.tlogEntries[0]!;
    assert.equal(entry.kindVersion?.kind, "intoto");
    assert.equal(entry.kindVersion?.version, "0.0.2");
    const json = bundleToJSON(bundle);
    // SET, checkpoint, inclusion proof and the intoto body's signature and payload hash.
    verifier().verify(toSignedEntity(bundleFromJSON(json)));
    const parsed = parseBundle(JSON.parse(JSON.stringify(json)));
    checkEntryMatchesBundle(parsed.verificationMaterial.tlogEntries[0]!, parsed, { publicKey: ec.publicKey });
    // Stored and searchable like cairn's own DSSE entries.
    const page = await node.search({ subject: `sha256:${"ef".repeat(32)}` });
    assert.deepEqual(
      page.results.map((r) => r.logIndex),
      [Number(entry.logIndex)],
    );
    // Another payload under the bundle's signature: @sigstore/verify refuses it.
    const tampered = JSON.parse(JSON.stringify(json));
    tampered.dsseEnvelope.payload = Buffer.from("{}").toString("base64");
    assert.throws(() => verifier().verify(toSignedEntity(bundleFromJSON(tampered))));
  });

  test("a DSSE bundle whose envelope signature was made by another key is refused by the log", async () => {
    const other = generateKeyPairSync("ed25519");
    const lying: Signer = {
      sign: async (data) => ({
        signature: sign(null, data, other.privateKey),
        key: {
          $case: "publicKey",
          publicKey: ed.publicKey.export({ type: "spki", format: "pem" }) as string,
          hint: "ed",
        },
      }),
    };
    const builder = new DSSEBundleBuilder({
      signer: lying,
      witnesses: [new RekorWitness({ rekorBaseURL: url, entryType: "dsse" })],
    });
    await assert.rejects(
      builder.create({ data: Buffer.from("{}"), type: "application/vnd.in-toto+json" }),
      (e: Error) => {
        assert.match(String((e as { cause?: unknown }).cause ?? e), /422|verif/i);
        return true;
      },
    );
  });
});
