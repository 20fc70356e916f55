// SPDX-License-Identifier: Apache-2.0
// Batch submission (POST /cairn/v1/log/entries/batch) over HTTP (Fastify inject, real crypto,
// in-memory storage): NDJSON and JSON bodies, per-entry results in order, refusals that leave the
// rest logged, the bounds, auth, and the NDJSON line splitter (property-tested).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { generateKey, keySigner, type PrivateKey } from "../core/index.js";
import type { LogNode } from "../engines/lognode/index.js";
import { INTOTO_PAYLOAD_TYPE } from "../engines/tlog/index.js";
import { signEnvelope } from "../formats/dsse/index.js";
import { hashLeaf } from "../formats/tlog/index.js";
import { memoryLogNode, verifyAnswerInclusion } from "../testing/log-node.js";
import { NDJSON, ndjsonLines } from "./log-batch.js";
import { logRoutes } from "./log-routes.js";
import { buildServer, tokenHash } from "./server.js";

const TOKEN = "batch-token-0123456789";
const BATCH = "/cairn/v1/log/entries/batch";
const auth = { authorization: `Bearer ${TOKEN}` };

const pem = (k: PrivateKey) => k.public.key.export({ type: "spki", format: "pem" }) as string;

async function submission(key: PrivateKey, digest: string) {
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "app.tar.gz", digest: { sha256: digest } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: {} },
  };
  const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), [
    keySigner(key),
  ]);
  return { kind: "dsse", envelope, publicKeys: [pem(key)] };
}

const digestOf = (i: number) => i.toString(16).padStart(64, "0");

describe("ndjsonLines", () => {
  test("returns every non-blank line with its number, whatever the line ends and blank lines", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.jsonValue(), fc.nat(2), fc.constantFrom("\n", "\r\n")), { maxLength: 20 }),
        fc.boolean(),
        (docs, finalNewline) => {
          let text = "";
          let line = 1;
          const expected: { line: number; text: string }[] = [];
          docs.forEach(([value, blanks, end], i) => {
            for (let b = 0; b < blanks; b++) {
              text += b % 2 === 0 ? `  \t${end}` : end;
              line++;
            }
            expected.push({ line, text: JSON.stringify(value) });
            text += JSON.stringify(value);
            if (i < docs.length - 1 || finalNewline) text += end;
            line++;
          });
          const got = ndjsonLines(Buffer.from(text), 1000).map((l) => ({
            line: l.line,
            text: l.bytes.toString(),
          }));
          assert.deepEqual(got, expected);
        },
      ),
    );
  });

  test("stops splitting one line past the bound", () => {
    const body = Buffer.from("1\n2\n3\n4\n5\n");
    assert.deepEqual(
      ndjsonLines(body, 2).map((l) => l.bytes.toString()),
      ["1", "2", "3"],
    );
  });
});

describe("batch submission", () => {
  let app: FastifyInstance;
  let node: LogNode;
  const signer = generateKey("ed25519");

  before(async () => {
    ({ node } = await memoryLogNode());
    app = await buildServer({
      plugins: [logRoutes(node)],
      auth: { mode: "bearer", tokenHashes: [tokenHash(TOKEN)] },
      logger: false,
      bodyLimit: 256 * 1024,
    });
  });
  after(async () => {
    await app.close();
    await node.close();
  });

  const postNdjson = (lines: string[], headers: Record<string, string> = auth) =>
    app.inject({
      method: "POST",
      url: BATCH,
      payload: `${lines.join("\n")}\n`,
      headers: { ...headers, "content-type": NDJSON },
    });

  test("NDJSON: every entry logged in order, each with a proof that verifies against its checkpoint", async () => {
    const subs = await Promise.all([0, 1, 2, 3, 4].map((i) => submission(signer, digestOf(100 + i))));
    const res = await postNdjson(subs.map((s) => JSON.stringify(s)));
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.accepted, 5);
    assert.equal(body.refused, 0);
    assert.equal(body.results.length, 5);
    for (const [i, r] of body.results.entries()) {
      assert.equal(r.kind, "dsse");
      assert.equal(r.duplicate, false);
      assert.equal(r.stored, true);
      // The result at position i is submission i's: its leaf carries that statement's subject.
      assert.equal(hashLeaf(Buffer.from(r.leaf, "base64")).toString("hex"), r.leafHash);
      // The result at position i is submission i's: submitted alone, it is a duplicate at that index.
      const alone = await app.inject({
        method: "POST",
        url: "/cairn/v1/log/entries",
        payload: subs[i],
        headers: auth,
      });
      assert.equal(alone.json().duplicate, true);
      assert.equal(alone.json().logIndex, r.logIndex, `result ${i} is the entry submitted at ${i}`);
      verifyAnswerInclusion(node, r);
    }
    // Searchable in the store like single submissions.
    const found = await app.inject({
      method: "GET",
      url: `/cairn/v1/search?subject=sha256:${digestOf(102)}`,
    });
    assert.deepEqual(
      found.json().results.map((x: { logIndex: number }) => x.logIndex),
      [body.results[2].logIndex],
    );
  });

  test("JSON {entries: [...]}: the same results; a repeat answers each as a duplicate at its index", async () => {
    const subs = await Promise.all([0, 1, 2].map((i) => submission(signer, digestOf(200 + i))));
    const first = await app.inject({ method: "POST", url: BATCH, payload: { entries: subs }, headers: auth });
    assert.equal(first.statusCode, 200);
    assert.equal(first.json().accepted, 3);
    const again = await app.inject({ method: "POST", url: BATCH, payload: { entries: subs }, headers: auth });
    assert.deepEqual(
      again.json().results.map((r: { logIndex: number; duplicate: boolean }) => [r.logIndex, r.duplicate]),
      first.json().results.map((r: { logIndex: number }) => [r.logIndex, true]),
    );
  });

  test("a bad entry is refused alone, with its code and position; the others are logged", async () => {
    const good = await submission(signer, digestOf(300));
    const other = generateKey("ed25519");
    // Signed by one key, presented with another: the signature does not verify.
    const wrongKey = { ...(await submission(signer, digestOf(301))), publicKeys: [pem(other)] };
    const before = (await app.inject({ method: "GET", url: "/cairn/v1/log" })).json().treeSize;
    const res = await postNdjson([
      JSON.stringify(good),
      "{not json",
      JSON.stringify(wrongKey),
      JSON.stringify({ kind: "nonsense" }),
    ]);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.accepted, 1);
    assert.equal(body.refused, 3);
    assert.equal(body.results[0].kind, "dsse");
    assert.equal(body.results[1].error.code, "ERR_JSON_MALFORMED");
    assert.equal(body.results[1].error.entry, 1);
    assert.match(body.results[1].error.detail, /line 2/);
    assert.equal(body.results[2].error.status, 422);
    assert.equal(body.results[2].error.entry, 2);
    assert.equal(body.results[3].error.status, 400);
    const after = (await app.inject({ method: "GET", url: "/cairn/v1/log" })).json().treeSize;
    assert.equal(after, before + 1, "only the good entry was logged");
  });

  test("refused as a whole: no token, empty, not a batch, too many entries, another media type", async () => {
    const sub = JSON.stringify(await submission(signer, digestOf(400)));
    const before = (await app.inject({ method: "GET", url: "/cairn/v1/log" })).json().treeSize;
    const noToken = await postNdjson([sub], {});
    assert.equal(noToken.statusCode, 401);
    const empty = await postNdjson([" ", ""]);
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().field, "entries");
    const notBatch = await app.inject({ method: "POST", url: BATCH, payload: { entry: [] }, headers: auth });
    assert.equal(notBatch.statusCode, 400);
    assert.equal(notBatch.json().field, "entries");
    const many = await postNdjson(Array.from({ length: 1001 }, () => "{}"));
    assert.equal(many.statusCode, 413);
    assert.match(many.json().detail, /limit of 1000/);
    const text = await app.inject({
      method: "POST",
      url: BATCH,
      payload: sub,
      headers: { ...auth, "content-type": "text/plain" },
    });
    assert.equal(text.statusCode, 415);
    const after = (await app.inject({ method: "GET", url: "/cairn/v1/log" })).json().treeSize;
    assert.equal(after, before, "nothing was logged");
  });

  test("under overload some entries are refused with ERR_TLOG_OVERLOADED and the rest are logged", async () => {
    // A sequencer that holds at most 2 entries in flight: a batch of 5 submitted at once.
    const { node: small } = await memoryLogNode({ sequencer: { maxPending: 2, maxBatchDelayMs: 1 } });
    const server = await buildServer({ plugins: [logRoutes(small)], auth: { mode: "none" }, logger: false });
    try {
      const subs = await Promise.all([0, 1, 2, 3, 4].map((i) => submission(signer, digestOf(600 + i))));
      const res = await server.inject({
        method: "POST",
        url: BATCH,
        payload: `${subs.map((x) => JSON.stringify(x)).join("\n")}\n`,
        headers: { "content-type": NDJSON },
      });
      assert.equal(res.statusCode, 200);
      const body = res.json();
      assert.equal(body.accepted, 2);
      assert.equal(body.refused, 3);
      const refused = body.results.filter((r: { error?: unknown }) => r.error !== undefined);
      for (const r of refused) {
        assert.equal(r.error.code, "ERR_TLOG_OVERLOADED");
        assert.equal(r.error.status, 503);
      }
      assert.equal((await server.inject({ method: "GET", url: "/cairn/v1/log" })).json().treeSize, 2);
    } finally {
      await server.close();
      await small.close();
    }
  });

  test("the single route does not take NDJSON", async () => {
    const sub = JSON.stringify(await submission(signer, digestOf(500)));
    const res = await app.inject({
      method: "POST",
      url: "/cairn/v1/log/entries",
      payload: sub,
      headers: { ...auth, "content-type": NDJSON },
    });
    assert.equal(res.statusCode, 415);
  });
});
