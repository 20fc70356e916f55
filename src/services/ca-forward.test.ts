// SPDX-License-Identifier: Apache-2.0
// Servers of one log (issue 3, section 2) serving the CA (cairn serve --ca): only the sequencer's
// CT log can append, so a certificate request to another server is forwarded to the sequencer
// (which then also sees every token and identity for its replay guard and rate limits); when the
// sequencer cannot be reached the answer is 503 ERR_TLOG_SEQUENCER_LOCKED with Retry-After, and
// nothing is issued.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { sequencerCertificateLog } from "../engines/ca/index.js";
import { LogNode } from "../engines/lognode/index.js";
import { MemoryLogStorage } from "../engines/tlog/index.js";
import { clientKey, makeTestCa, proveChallenge } from "../testing/ca-kit.js";
import { startTestIssuer, type TestIssuer } from "../testing/oidc-issuer.js";
import { forwardWrites } from "./forward.js";
import { caRoutes } from "./fulcio-routes.js";
import { buildServer } from "./server.js";

let issuer: TestIssuer;
const storage = new MemoryLogStorage();
const key = generateKeyPairSync("ed25519").privateKey;
const node = () => new LogNode({ storage, key, origin: "cairn.test/log", sequencer: { maxBatchDelayMs: 1 } });
const sequencer = node();
const follower = node();
const apps: FastifyInstance[] = [];
let sequencerUrl: string;
let followerUrl: string;
let orphanUrl: string;

async function server(n: LogNode, locate: () => Promise<string | undefined>): Promise<string> {
  const t = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }], {
    logPort: sequencerCertificateLog({ submit: (leaf) => n.appendLeaf(leaf) }),
  });
  const app = await buildServer({
    plugins: [caRoutes(t.service, { preHandler: forwardWrites(n, locate) })],
    auth: { mode: "none" },
    logger: false,
  });
  apps.push(app);
  return app.listen({ host: "127.0.0.1", port: 0 });
}

before(async () => {
  issuer = await startTestIssuer();
  await sequencer.becomeSequencer();
  sequencerUrl = await server(sequencer, async () => undefined);
  followerUrl = await server(follower, async () => sequencerUrl);
  // A follower whose sequencer advertised an address where nothing listens.
  orphanUrl = await server(node(), async () => "http://127.0.0.1:1");
});
after(async () => {
  for (const a of apps) await a.close();
  await sequencer.close();
  await issuer.close();
});

async function ask(base: string, email: string) {
  const k = clientKey();
  const token = await issuer.mint({ sub: email, email, email_verified: true });
  const res = await fetch(`${base}/api/v2/signingCert`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      credentials: { oidcIdentityToken: token },
      publicKeyRequest: {
        publicKey: { algorithm: "ECDSA", content: k.pem },
        proofOfPossession: proveChallenge(k.privateKey, email),
      },
    }),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    json: (await res.json()) as Record<string, unknown>,
  };
}

describe("cairn serve --ca on servers sharing one log", () => {
  it("the sequencer issues, its precertificate in the shared log", async () => {
    const r = await ask(sequencerUrl, "a@example.com");
    assert.equal(r.status, 201);
    assert.equal((await storage.head()).size, 1);
  });

  it("a follower forwards the request to the sequencer: 201, logged once", async () => {
    const r = await ask(followerUrl, "b@example.com");
    assert.equal(r.status, 201);
    assert.ok(r.json.signedCertificateEmbeddedSct);
    assert.equal((await storage.head()).size, 2);
  });

  it("a follower that cannot reach the sequencer: 503 ERR_TLOG_SEQUENCER_LOCKED, Retry-After, nothing logged", async () => {
    const r = await ask(orphanUrl, "c@example.com");
    assert.equal(r.status, 503);
    assert.equal(r.json.code, "ERR_TLOG_SEQUENCER_LOCKED");
    assert.ok(r.retryAfter);
    assert.equal((await storage.head()).size, 2);
  });
});
