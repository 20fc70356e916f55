// SPDX-License-Identifier: Apache-2.0
// The log service over HTTP (Fastify inject, real crypto, in-memory storage): cairn's API, the
// C2SP tiles, the Rekor v1 subset, auth, bad input and problem+json codes.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { canonicalBytes } from "../core/canonical.js";
import { toBase64, toPem } from "../core/encoding.js";
import { generateKey, keySigner, type PrivateKey, parsePublicKey } from "../core/index.js";
import { LogNode, type RekorLogEntry } from "../engines/lognode/index.js";
import { MemorySearchIndex } from "../engines/store/index.js";
import {
  INTOTO_PAYLOAD_TYPE,
  MemoryLogStorage,
  TileReader,
  verifyCheckpointFromTiles,
} from "../engines/tlog/index.js";
import { pae, signEnvelope } from "../formats/dsse/index.js";
import { hashLeaf, parseNote, verifyConsistency, verifyInclusion } from "../formats/tlog/index.js";
import { memoryLogNode, verifyAnswerInclusion } from "../testing/log-node.js";
import { ecPair, issueLeaf, makeTestCa } from "../testing/sigstore-ca.js";
import { intotoProposal } from "../testing/sigstore-kit.js";
import { logRoutes } from "./log-routes.js";
import { rekorRoutes } from "./rekor-routes.js";
import { buildServer, tokenHash, WRITE_ROUTE_LOGGING } from "./server.js";

const TOKEN = "test-token-0123456789";
const pem = (k: PrivateKey | KeyObject) =>
  ("public" in k ? k.public.key : k).export({ type: "spki", format: "pem" }) as string;

function statement(digest: string, predicateType = "https://slsa.dev/provenance/v1") {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "app.tar.gz", digest: { sha256: digest } }],
    predicateType,
    predicate: { buildDefinition: {} },
  };
}

async function dsseSubmission(key: PrivateKey, payload: unknown) {
  const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(payload)), [
    keySigner(key),
  ]);
  return { kind: "dsse", envelope, publicKeys: [pem(key)] };
}

function hashedRekord(data: Buffer, key: KeyObject, pub: string, sig?: Buffer) {
  const digest = createHash("sha256").update(data).digest("hex");
  return {
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: digest } },
      signature: {
        content: (sig ?? sign("sha256", data, key)).toString("base64"),
        publicKey: { content: Buffer.from(pub).toString("base64") },
      },
    },
  };
}

/** The SET as sigstore-js checks it: the log key's signature over {body, integratedTime, logID, logIndex}. */
function checkSet(entry: RekorLogEntry, logKeyPem: string) {
  const set = canonicalBytes({
    body: entry.body,
    integratedTime: entry.integratedTime,
    logID: entry.logID,
    logIndex: entry.logIndex,
  });
  assert.ok(verify(null, set, logKeyPem, Buffer.from(entry.verification.signedEntryTimestamp, "base64")));
}

/** The entry's inclusion proof verifies for its UUID (the leaf hash) against the proof's root. */
function checkInclusion(uuid: string, entry: RekorLogEntry) {
  verifyInclusion(
    Buffer.from(uuid, "hex"),
    entry.logIndex,
    entry.verification.inclusionProof.treeSize,
    entry.verification.inclusionProof.hashes.map((h: string) => Buffer.from(h, "hex")),
    Buffer.from(entry.verification.inclusionProof.rootHash, "hex"),
  );
}

describe("log service", () => {
  let app: FastifyInstance;
  let node: LogNode;
  const logKey = generateKeyPairSync("ed25519").privateKey;
  const signer = generateKey("ecdsa");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecPem = ec.publicKey.export({ type: "spki", format: "pem" }) as string;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const storage = new MemoryLogStorage();

  before(async () => {
    node = new LogNode({
      storage,
      key: logKey,
      origin: "cairn.test/log",
      searchIndex: new MemorySearchIndex(),
      sequencer: { maxBatchDelayMs: 1 },
    });
    await node.becomeSequencer();
    app = await buildServer({
      plugins: [logRoutes(node), rekorRoutes(node)],
      auth: { mode: "bearer", tokenHashes: [tokenHash(TOKEN)] },
      logger: false,
      bodyLimit: 256 * 1024,
    });
  });
  after(async () => {
    await app.close();
    await node.close();
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
    app.inject({ method: "POST", url, payload: payload as object, headers });
  const get = (url: string) => app.inject({ method: "GET", url });
  const size = async () => (await get("/cairn/v1/log")).json().treeSize as number;

  test("a DSSE statement is logged, provable against the signed checkpoint, and searchable", async () => {
    const digest = "b".repeat(64);
    const res = await post("/cairn/v1/log/entries", await dsseSubmission(signer, statement(digest)));
    assert.equal(res.statusCode, 201);
    const r = res.json();
    assert.equal(r.duplicate, false);
    assert.equal(r.stored, true);
    verifyAnswerInclusion(node, r);
    const again = await post("/cairn/v1/log/entries", await dsseSubmission(signer, statement(digest)));
    // ECDSA signatures differ per signing: a re-signed statement is a new entry. The same body is a duplicate.
    assert.equal(again.statusCode, 201);

    const found = await get(`/cairn/v1/search?subject=sha256:${digest}`);
    assert.equal(found.statusCode, 200);
    const page = found.json();
    assert.equal(page.results.length, 2);
    assert.equal(page.results[0].logIndex, r.logIndex);
    assert.deepEqual(page.results[0].subjectDigests, [`sha256:${digest}`]);
    assert.ok(page.results[0].inclusionProof.hashes);
    const none = await get(`/cairn/v1/search?subject=sha256:${"c".repeat(64)}`);
    assert.deepEqual(none.json().results, []);
    const bad = await get("/cairn/v1/search?subject=nocolon");
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().code, "ERR_STORE_QUERY_INVALID");
  });

  test("resubmitting the same submission returns the existing entry", async () => {
    const sub = await dsseSubmission(signer, statement("d".repeat(64)));
    const a = await post("/cairn/v1/log/entries", sub);
    const b = await post("/cairn/v1/log/entries", sub);
    assert.equal(a.statusCode, 201);
    assert.equal(b.statusCode, 200);
    assert.equal(b.json().duplicate, true);
    assert.equal(b.json().logIndex, a.json().logIndex);
  });

  test("entries, inclusion and consistency proofs over the JSON API", async () => {
    const n0 = await size();
    const r = await post("/cairn/v1/log/entries", await dsseSubmission(signer, statement("e".repeat(64))));
    const idx = r.json().logIndex;
    const e = await get(`/cairn/v1/log/entries/${idx}`);
    assert.equal(e.statusCode, 200);
    assert.deepEqual(hashLeaf(Buffer.from(e.json().leaf, "base64")).toString("hex"), e.json().leafHash);
    const n1 = await size();
    assert.ok(n1 > n0);
    const inc = (await get(`/cairn/v1/log/proof/inclusion?index=${idx}&treeSize=${n1}`)).json();
    verifyInclusion(
      Buffer.from(inc.leafHash, "hex"),
      idx,
      n1,
      inc.hashes.map((h: string) => Buffer.from(h, "hex")),
      Buffer.from(inc.rootHash, "hex"),
    );
    const old = (await get(`/cairn/v1/log/proof/inclusion?index=0&treeSize=${n0}`)).json();
    const cons = (await get(`/cairn/v1/log/proof/consistency?from=${n0}&to=${n1}`)).json();
    verifyConsistency(
      n0,
      n1,
      cons.hashes.map((h: string) => Buffer.from(h, "hex")),
      Buffer.from(old.rootHash, "hex"),
      Buffer.from(cons.rootHash, "hex"),
    );
    assert.equal((await get(`/cairn/v1/log/entries/${n1 + 5}`)).json().code, "ERR_TLOG_ENTRY_NOT_FOUND");
    assert.equal((await get(`/cairn/v1/log/entries/${n1 + 5}`)).statusCode, 404);
    assert.equal((await get("/cairn/v1/log/entries/-1")).statusCode, 400);
    assert.equal((await get(`/cairn/v1/log/proof/consistency?from=${n1 + 1}`)).json().code, "ERR_USAGE");
  });

  test("the C2SP tiles audit the log up to its checkpoint", async () => {
    const cp = await get("/tlog/checkpoint");
    assert.equal(cp.statusCode, 200);
    assert.match(cp.headers["content-type"] as string, /^text\/plain/);
    const fetch = async (path: string) => {
      const r = await get(`/tlog/${path}`);
      if (r.statusCode !== 200) throw new Error(`${path}: ${r.statusCode}`);
      return r.rawPayload;
    };
    const { verified, reader } = await verifyCheckpointFromTiles(fetch, cp.body, node.verifier, node.origin);
    assert.ok(reader instanceof TileReader);
    const entries = await reader.entries(0, verified.checkpoint.size);
    assert.equal(entries.length, verified.checkpoint.size);
    const bad = await get("/tlog/tile/0/x000/001");
    assert.equal(bad.statusCode, 404);
    assert.equal(bad.json().code, "ERR_TLOG_TILE_NOT_FOUND");
    assert.equal((await get("/tlog/tile/0/999")).statusCode, 404);
  });

  test("Rekor: hashedrekord create, 409 on repeat, get by uuid and index, SET and proof verify", async () => {
    const data = Buffer.from("artifact bytes");
    const proposed = hashedRekord(data, ec.privateKey, ecPem);
    const res = await post("/api/v1/log/entries", proposed);
    assert.equal(res.statusCode, 201, res.body);
    const [[uuid, entry]] = Object.entries(res.json()) as [[string, RekorLogEntry]];
    assert.match(uuid, /^[0-9a-f]{64}$/);
    assert.equal(res.headers.location, `/api/v1/log/entries/${uuid}`);
    const body = Buffer.from(entry.body, "base64");
    assert.equal(hashLeaf(body).toString("hex"), uuid);
    assert.equal(JSON.parse(body.toString()).kind, "hashedrekord");
    checkSet(entry, node.publicKeyPem);
    assert.equal(
      entry.logID,
      createHash("sha256")
        .update(Buffer.from(pemDer(node.publicKeyPem)))
        .digest("hex"),
    );
    // The checkpoint carries a Rekor-style signature line: key hint logID[0:4].
    const note = parseNote(entry.verification.inclusionProof.checkpoint);
    assert.ok(note.signatures.some((s) => s.keyId === Buffer.from(entry.logID, "hex").readUInt32BE(0)));
    checkInclusion(uuid, entry);

    const dup = await post("/api/v1/log/entries", proposed);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().code, "ERR_TLOG_DUPLICATE_ENTRY");
    assert.equal(dup.headers.location, `/api/v1/log/entries/${uuid}`);

    const byUuid = (await get(`/api/v1/log/entries/${uuid}`)).json();
    assert.equal(byUuid[uuid].logIndex, entry.logIndex);
    assert.equal(byUuid[uuid].verification.signedEntryTimestamp, entry.verification.signedEntryTimestamp);
    const byIndex = (await get(`/api/v1/log/entries?logIndex=${entry.logIndex}`)).json();
    assert.deepEqual(Object.keys(byIndex), [uuid]);
    const found = await post(
      "/api/v1/index/retrieve",
      { hash: `sha256:${createHash("sha256").update(data).digest("hex")}` },
      {},
    );
    assert.deepEqual(found.json(), [uuid]);
    const retrieved = await post(
      "/api/v1/log/entries/retrieve",
      { entryUUIDs: [uuid], logIndexes: [entry.logIndex] },
      {},
    );
    assert.equal(retrieved.json().length, 2);

    const info = (await get("/api/v1/log")).json();
    assert.ok(info.treeSize > entry.logIndex);
    assert.match(info.signedTreeHead, /^cairn\.test\/log\n/);
    const proof = (await get(`/api/v1/log/proof?firstSize=1&lastSize=${info.treeSize}`)).json();
    assert.equal(proof.rootHash, info.rootHash);
    assert.equal((await get("/api/v1/log/entries/zz")).statusCode, 400);
    assert.equal((await get(`/api/v1/log/entries/${"0".repeat(64)}`)).statusCode, 404);
  });

  test("Rekor: a dsse entry is verified and logged", async () => {
    const payload = Buffer.from(JSON.stringify(statement("f".repeat(64))));
    const pae = Buffer.concat([
      Buffer.from(`DSSEv1 ${INTOTO_PAYLOAD_TYPE.length} ${INTOTO_PAYLOAD_TYPE} ${payload.length} `),
      payload,
    ]);
    const env = {
      payloadType: INTOTO_PAYLOAD_TYPE,
      payload: toBase64(payload),
      signatures: [{ keyid: "", sig: toBase64(sign("sha256", pae, ec.privateKey)) }],
    };
    const proposed = {
      apiVersion: "0.0.1",
      kind: "dsse",
      spec: {
        proposedContent: {
          envelope: JSON.stringify(env),
          verifiers: [Buffer.from(ecPem).toString("base64")],
        },
      },
    };
    const res = await post("/api/v1/log/entries", proposed);
    assert.equal(res.statusCode, 201, res.body);
    const [entry] = Object.values(res.json()) as RekorLogEntry[];
    const body = JSON.parse(Buffer.from(entry!.body, "base64").toString());
    assert.equal(body.spec.payloadHash.value, createHash("sha256").update(payload).digest("hex"));
    // Kept whole in the attestation store, as cairn's own DSSE path does, found by its subject.
    const found = (await get(`/cairn/v1/search?subject=sha256:${"f".repeat(64)}`)).json();
    assert.deepEqual(
      found.results.map((r: { logIndex: number }) => r.logIndex),
      [entry!.logIndex],
    );
    assert.deepEqual(found.results[0].envelope, env);
    // A Rekor dsse entry of another payload type is logged, not stored.
    const raw = Buffer.from("not a statement");
    const rawPae = Buffer.concat([Buffer.from(`DSSEv1 10 text/plain ${raw.length} `), raw]);
    const plain = {
      payloadType: "text/plain",
      payload: toBase64(raw),
      signatures: [{ keyid: "", sig: toBase64(sign("sha256", rawPae, ec.privateKey)) }],
    };
    const plainRes = await post("/api/v1/log/entries", {
      ...proposed,
      spec: { proposedContent: { ...proposed.spec.proposedContent, envelope: JSON.stringify(plain) } },
    });
    assert.equal(plainRes.statusCode, 201, plainRes.body);
    // A signature by another key is refused, and nothing is stored.
    const n = await size();
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    env.signatures[0]!.sig = toBase64(sign("sha256", pae, other.privateKey));
    proposed.spec.proposedContent.envelope = JSON.stringify(env);
    const bad = await post("/api/v1/log/entries", proposed);
    assert.equal(bad.statusCode, 422);
    assert.equal(bad.json().code, "ERR_DSSE_SIGNATURE_INVALID");
    assert.equal(await size(), n);
  });

  test("Rekor: an intoto 0.0.2 entry from cairn's DSSE signer is verified, logged, stored and served", async () => {
    const digest = "9".repeat(64);
    const env = await signEnvelope(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement(digest))), [
      keySigner(signer),
    ]);
    const b64 = (t: string) => Buffer.from(t).toString("base64");
    // As cosign and sigstore-js send it: payload and sig base64-encoded again, a key per signature.
    const proposed = intotoProposal(env, [pem(signer)]);
    const res = await post("/api/v1/log/entries", proposed);
    assert.equal(res.statusCode, 201, res.body);
    const [[uuid, entry]] = Object.entries(res.json()) as [[string, RekorLogEntry]];
    assert.equal(res.headers.location, `/api/v1/log/entries/${uuid}`);
    const body = Buffer.from(entry.body, "base64");
    assert.equal(hashLeaf(body).toString("hex"), uuid);
    const content = JSON.parse(body.toString()).spec.content;
    assert.equal(content.envelope.payload, undefined);
    assert.equal(
      content.payloadHash.value,
      createHash("sha256").update(Buffer.from(env.payload, "base64")).digest("hex"),
    );
    checkSet(entry, node.publicKeyPem);
    checkInclusion(uuid, entry);
    // Served by uuid and by index with the same body.
    assert.equal((await get(`/api/v1/log/entries/${uuid}`)).json()[uuid].body, entry.body);
    assert.equal((await get(`/api/v1/log/entries?logIndex=${entry.logIndex}`)).json()[uuid].body, entry.body);
    assert.deepEqual((await post("/api/v1/index/retrieve", { hash: content.payloadHash.value }, {})).json(), [
      uuid,
    ]);
    // Kept whole in the attestation store as a standard DSSE envelope, indexed like cairn's own.
    const found = (await get(`/cairn/v1/search?subject=sha256:${digest}`)).json();
    assert.deepEqual(
      found.results.map((r: { logIndex: number }) => r.logIndex),
      [entry.logIndex],
    );
    assert.deepEqual(found.results[0].envelope, env);
    assert.equal(found.results[0].predicateType, "https://slsa.dev/provenance/v1");
    assert.deepEqual(found.results[0].signers, [{ keyId: signer.public.keyid }]);

    // The same entry again: 409 with the existing entry's location; nothing new logged.
    const n = await size();
    const dup = await post("/api/v1/log/entries", proposed);
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().code, "ERR_TLOG_DUPLICATE_ENTRY");
    assert.equal(dup.headers.location, `/api/v1/log/entries/${uuid}`);
    assert.equal(await size(), n);

    // A signature that does not verify (another statement under the same signature): refused,
    // nothing logged, nothing stored.
    const forged = structuredClone(proposed);
    const otherDigest = "8".repeat(64);
    forged.spec.content.envelope.payload = b64(
      Buffer.from(JSON.stringify(statement(otherDigest))).toString("base64"),
    );
    const bad = await post("/api/v1/log/entries", forged);
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().code, "ERR_DSSE_SIGNATURE_INVALID");
    assert.equal(await size(), n);
    assert.deepEqual((await get(`/cairn/v1/search?subject=sha256:${otherDigest}`)).json().results, []);
  });

  test("certificate identities: Rekor entries are found by the SAN (and OIDC issuer) of their certificate", async () => {
    const ca = makeTestCa();
    const issuer = "https://issuer.example";
    const alice = ecPair();
    const aliceCert = toPem("CERTIFICATE", issueLeaf(ca, alice.spki, { email: "alice@example.com", issuer }));
    const ci = ecPair();
    const ciUri = "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main";
    const ciCert = toPem("CERTIFICATE", issueLeaf(ca, ci.spki, { uri: ciUri, issuer }));
    // A hashedrekord signed with Alice's certificate: in the log's index, not in the store.
    const data = Buffer.from("signed by alice");
    const hr = await post("/api/v1/log/entries", hashedRekord(data, alice.privateKey, aliceCert));
    assert.equal(hr.statusCode, 201, hr.body);
    const [hrUuid] = Object.keys(hr.json());
    // An intoto in-toto statement signed with the CI certificate: in the log's index and the store.
    const digest = "7".repeat(64);
    const payload = Buffer.from(JSON.stringify(statement(digest)));
    const sig = sign("sha256", pae(INTOTO_PAYLOAD_TYPE, payload), ci.privateKey).toString("base64");
    const env = {
      payloadType: INTOTO_PAYLOAD_TYPE,
      payload: payload.toString("base64"),
      signatures: [{ sig }],
    };
    const it = await post("/api/v1/log/entries", intotoProposal(env, [ciCert]));
    assert.equal(it.statusCode, 201, it.body);
    const [itUuid, itEntry] = Object.entries(it.json())[0] as [string, RekorLogEntry];

    const byIndex = async (q: object) => (await post("/api/v1/index/retrieve", q, {})).json();
    assert.deepEqual(await byIndex({ email: "alice@example.com" }), [hrUuid]);
    assert.deepEqual(await byIndex({ identity: "alice@example.com", issuer }), [hrUuid]);
    assert.deepEqual(await byIndex({ identity: "alice@example.com", issuer: "https://other.example" }), []);
    assert.deepEqual(await byIndex({ identity: ciUri }), [itUuid]);
    assert.deepEqual(await byIndex({ email: "bob@example.com" }), []);
    assert.equal((await post("/api/v1/index/retrieve", { email: "a", hash: "b" }, {})).statusCode, 400);
    assert.equal(
      (await post("/api/v1/index/retrieve", { hash: "ab".repeat(32), issuer }, {})).statusCode,
      400,
    );

    // The store's signer index: by the certificate's identity, with or without its issuer, and by key id.
    const search = async (q: string) =>
      (await get(`/cairn/v1/search?${q}`)).json().results.map((r: { logIndex: number }) => r.logIndex);
    const enc = encodeURIComponent;
    assert.deepEqual(await search(`signer=${enc(ciUri)}`), [itEntry.logIndex]);
    assert.deepEqual(await search(`signer=${enc(ciUri)}&issuer=${enc(issuer)}`), [itEntry.logIndex]);
    assert.deepEqual(await search(`identity=${enc(ciUri)}&issuer=${enc("https://other.example")}`), []);
    const keyId = parsePublicKey(ci.publicKey.export({ type: "spki", format: "pem" }) as string).keyid;
    assert.deepEqual(await search(`signer=${keyId}`), [itEntry.logIndex]);
    assert.deepEqual(await search(`keyId=${keyId}&subject=sha256:${digest}`), [itEntry.logIndex]);
    const [result] = (await get(`/cairn/v1/search?signer=${enc(ciUri)}`)).json().results;
    assert.deepEqual(result.signers, [{ keyId }, { identity: ciUri }, { identity: ciUri, issuer }]);
    assert.equal((await get(`/cairn/v1/search?keyId=${keyId}&issuer=${enc(issuer)}`)).statusCode, 400);
    assert.equal((await get(`/cairn/v1/search?keyId=${keyId}&signer=x`)).statusCode, 400);
  });

  test("writes need the bearer token; reads do not", async () => {
    const sub = await dsseSubmission(signer, statement("1".repeat(64)));
    const tries: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Basic ${TOKEN}` },
    ];
    for (const headers of tries) {
      const r = await post("/cairn/v1/log/entries", sub, headers);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().code, "ERR_HTTP_UNAUTHORIZED");
      assert.match(r.headers["content-type"] as string, /^application\/problem\+json/);
      assert.ok(!r.body.includes(TOKEN));
    }
    const r = await post("/api/v1/log/entries", hashedRekord(Buffer.from("x"), ec.privateKey, ecPem), {});
    assert.equal(r.statusCode, 401);
    assert.equal((await get("/tlog/checkpoint")).statusCode, 200);
  });

  test("refusal order on cairn's submit route: 413 and 415 before the token, the token before the JSON", async () => {
    const n = await size();
    const raw = (url: string, payload: string, type = "application/json") =>
      app.inject({ method: "POST", url, payload, headers: { "content-type": type } });
    // The body is read as JSON where it is verified, after the token check: no token, 401.
    for (const body of ["{not json", "", "[".repeat(100)]) {
      const r = await raw("/cairn/v1/log/entries", body);
      assert.equal(r.statusCode, 401, JSON.stringify(body));
      assert.equal(r.json().code, "ERR_HTTP_UNAUTHORIZED");
    }
    const big = await raw("/cairn/v1/log/entries", `{"pad":"${"x".repeat(300 * 1024)}"}`);
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, "ERR_HTTP_BODY_TOO_LARGE");
    const text = await raw("/cairn/v1/log/entries", "hello", "text/plain");
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().code, "ERR_HTTP_UNSUPPORTED_MEDIA_TYPE");
    // The Rekor route parses its body before the token check, as before.
    const rekor = await raw("/api/v1/log/entries", "{not json");
    assert.equal(rekor.statusCode, 400);
    assert.equal(rekor.json().code, "ERR_JSON_MALFORMED");
    assert.equal(await size(), n);
  });

  test("a submission's answer is JSON (application/json; charset=utf-8) with the entry and its proof", async () => {
    const sub = await dsseSubmission(signer, statement("5".repeat(64)));
    const r = await post("/cairn/v1/log/entries", sub);
    assert.equal(r.statusCode, 201);
    assert.equal(r.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(Number(r.headers["content-length"]), Buffer.byteLength(r.body));
    const a = r.json();
    const e = (await get(`/cairn/v1/log/entries/${a.logIndex}`)).json();
    assert.equal(a.kind, "dsse");
    assert.equal(a.leaf, e.leaf);
    assert.equal(a.leafHash, e.leafHash);
    assert.equal(a.integratedTime, e.integratedTime);
    assert.equal(a.stored, true);
    assert.equal(a.duplicate, false);
    assert.match(a.inclusionProof.checkpoint, /^cairn\.test\/log\n\d+\n/);
    assert.ok(a.inclusionProof.hashes.every((h: string) => /^[0-9a-f]{64}$/.test(h)));
    const again = await post("/cairn/v1/log/entries", sub);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().duplicate, true);
    assert.equal(again.json().logIndex, a.logIndex);
  });

  test("bad input: clear 4xx with the error code, nothing stored", async () => {
    const n = await size();
    const cases: [unknown, number, string][] = [
      [{ kind: "nope" }, 400, "ERR_TLOG_ENTRY_INVALID"],
      [{ kind: "dsse", envelope: { payloadType: 1 }, publicKeys: [pem(signer)] }, 400, "ERR_FIELD_INVALID"],
      [{ apiVersion: "0.0.2", kind: "intoto", spec: {} }, 400, "ERR_TLOG_ENTRY_INVALID"],
      [[], 400, "ERR_TLOG_ENTRY_INVALID"],
    ];
    for (const [payload, status, code] of cases) {
      const url = isRekor(payload) ? "/api/v1/log/entries" : "/cairn/v1/log/entries";
      const r = await post(url, payload);
      assert.equal(r.statusCode, status, JSON.stringify(payload));
      assert.equal(r.json().code, code, JSON.stringify(payload));
    }
    // A signature that does not verify.
    const sub = await dsseSubmission(signer, statement("2".repeat(64)));
    sub.envelope.signatures[0]!.sig = toBase64(Buffer.alloc(64, 1));
    const sig = await post("/cairn/v1/log/entries", sub);
    assert.equal(sig.statusCode, 422);
    assert.equal(sig.json().code, "ERR_DSSE_SIGNATURE_INVALID");
    const data = Buffer.from("y");
    const hr = hashedRekord(data, ec.privateKey, ecPem, sign("sha256", Buffer.from("z"), ec.privateKey));
    const hrr = await post("/api/v1/log/entries", hr);
    assert.equal(hrr.statusCode, 422);
    assert.equal(hrr.json().code, "ERR_SIGNATURE_INVALID");
    // Malformed JSON, wrong media type, oversized body, too deep.
    const malformed = await app.inject({
      method: "POST",
      url: "/cairn/v1/log/entries",
      headers: { ...auth, "content-type": "application/json" },
      payload: "{not json",
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().code, "ERR_JSON_MALFORMED");
    const text = await app.inject({
      method: "POST",
      url: "/cairn/v1/log/entries",
      headers: { ...auth, "content-type": "text/plain" },
      payload: "hello",
    });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().code, "ERR_HTTP_UNSUPPORTED_MEDIA_TYPE");
    const big = await post("/cairn/v1/log/entries", { kind: "dsse", pad: "x".repeat(300 * 1024) });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, "ERR_HTTP_BODY_TOO_LARGE");
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    const d = await post("/cairn/v1/log/entries", { kind: "dsse", deep });
    assert.equal(d.statusCode, 400);
    assert.equal(d.json().code, "ERR_JSON_TOO_LARGE");
    assert.equal(await size(), n);
    assert.equal((await get("/nowhere")).json().code, "ERR_HTTP_NOT_FOUND");
  });

  test("health and Prometheus metrics", async () => {
    const h = await get("/healthz");
    assert.equal(h.statusCode, 200);
    assert.equal(h.json().checks.log.sequencer, true);
    const m = await get("/metrics");
    assert.equal(m.statusCode, 200);
    assert.match(
      m.body,
      /^cairn_http_requests_total\{method="POST",route="\/cairn\/v1\/log\/entries",status="201"\} \d+$/m,
    );
    assert.match(m.body, /^cairn_tlog_tree_size \d+$/m);
    assert.match(m.body, /^cairn_tlog_is_sequencer 1$/m);
  });
});

function isRekor(p: unknown): boolean {
  return typeof p === "object" && p !== null && "apiVersion" in p;
}

function pemDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s/g, ""), "base64");
}

describe("a process that is not the sequencer", () => {
  test("serves reads and refuses writes with 503 + Retry-After (ERR_TLOG_SEQUENCER_LOCKED)", async () => {
    const storage = new MemoryLogStorage();
    const key = generateKeyPairSync("ed25519").privateKey;
    const writer = new LogNode({ storage, key, origin: "o.test/log" });
    await writer.becomeSequencer();
    const reader = new LogNode({ storage, key, origin: "o.test/log" });
    const app = await buildServer({ plugins: [logRoutes(reader)], auth: { mode: "none" }, logger: false });
    const r = await app.inject({
      method: "POST",
      url: "/cairn/v1/log/entries",
      payload: await dsseSubmission(generateKey("ed25519"), statement("3".repeat(64))),
    });
    assert.equal(r.statusCode, 503);
    assert.equal(r.json().code, "ERR_TLOG_SEQUENCER_LOCKED");
    assert.equal(r.headers["retry-after"], "1");
    assert.equal((await app.inject({ method: "GET", url: "/tlog/checkpoint" })).statusCode, 200);
    await app.close();
    await writer.close();
  });
});

describe("request logs", () => {
  test("the write routes log no line per request, reads do, and a write's failure is still an answer", async () => {
    const { node } = await memoryLogNode();
    const lines: { level: number; reqId?: string; req?: { url: string }; msg: string }[] = [];
    const logStream = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
        done();
      },
    });
    const app = await buildServer({
      plugins: [logRoutes(node), rekorRoutes(node)],
      auth: { mode: "none" },
      logStream,
    });
    const key = generateKey("ed25519");
    const ok = await app.inject({
      method: "POST",
      url: "/cairn/v1/log/entries",
      payload: await dsseSubmission(key, statement("4".repeat(64))),
    });
    assert.equal(ok.statusCode, 201);
    const sub = await dsseSubmission(key, statement("5".repeat(64)));
    sub.publicKeys = [pem(generateKey("ed25519"))];
    const refused = await app.inject({ method: "POST", url: "/cairn/v1/log/entries", payload: sub });
    assert.equal(refused.statusCode, 422);
    assert.match(refused.headers["content-type"] as string, /^application\/problem\+json/);
    assert.equal(refused.json().code, "ERR_DSSE_SIGNATURE_INVALID");
    const rekor = await app.inject({ method: "POST", url: "/api/v1/log/entries", payload: { kind: "x" } });
    assert.equal(rekor.statusCode, 400);
    assert.equal((await app.inject({ method: "GET", url: "/cairn/v1/log" })).statusCode, 200);
    await app.close();
    await node.close();
    const urls = lines.filter((l) => l.req).map((l) => l.req!.url);
    // The read is logged (incoming and completed); no write is, neither accepted nor refused.
    assert.deepEqual(urls, ["/cairn/v1/log"]);
    assert.equal(lines.filter((l) => l.msg === "request completed").length, 1);
  });
});

test("write-route logging: warnings and errors only, through one child logger shared by the requests", async () => {
  const lines: { level: number; msg: string }[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const loggers: unknown[] = [];
  const app = await buildServer({
    plugins: [
      {
        name: "probe",
        register(a) {
          a.post("/probe", { ...WRITE_ROUTE_LOGGING }, async (req) => {
            loggers.push(req.log);
            req.log.info("an info line");
            req.log.warn("a warning");
            req.log.error("an error");
            return { ok: true };
          });
        },
      },
    ],
    auth: { mode: "none" },
    logStream,
  });
  for (let i = 0; i < 2; i++)
    assert.equal((await app.inject({ method: "POST", url: "/probe" })).statusCode, 200);
  await app.close();
  assert.equal(loggers.length, 2);
  assert.equal(loggers[0], loggers[1]);
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      [40, "a warning"],
      [50, "an error"],
      [40, "a warning"],
      [50, "an error"],
    ],
  );
});
