// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { clientKey, makeTestCa, proveChallenge, type TestCa } from "../testing/ca-kit.js";
import { startTestIssuer, type TestIssuer } from "../testing/oidc-issuer.js";
import { fulcioRoutes } from "./fulcio-routes.js";

let issuer: TestIssuer;
let t: TestCa;
let app: FastifyInstance;
let base: string;

before(async () => {
  issuer = await startTestIssuer();
  t = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }], {
    rateLimit: { burst: 3, perMinute: 0.001 },
  });
  app = Fastify({ logger: false });
  await app.register(fulcioRoutes, { service: t.service });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});
after(async () => {
  await app.close();
  await issuer.close();
});

async function post(body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) {
  const res = await fetch(`${base}/api/v2/signingCert`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    retryAfter: res.headers.get("retry-after"),
    json: JSON.parse(text),
  };
}

async function request(email = "dev@example.com") {
  const key = clientKey();
  const token = await issuer.mint({ sub: "u", email, email_verified: true });
  return {
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: {
      publicKey: { algorithm: "ECDSA", content: key.pem },
      proofOfPossession: proveChallenge(key.privateKey, email),
    },
  };
}

describe("Fulcio v2 API", () => {
  it("POST /api/v2/signingCert answers 201 with the PEM chain, leaf first, SCT embedded", async () => {
    const r = await post(await request());
    assert.equal(r.status, 201);
    const pems: string[] = r.json.signedCertificateEmbeddedSct.chain.certificates;
    assert.equal(pems.length, 3);
    const leaf = new X509Certificate(pems[0]!);
    assert.equal(leaf.subjectAltName, "email:dev@example.com");
    assert.ok(leaf.verify(new X509Certificate(pems[1]!).publicKey));
  });

  it("GET /api/v2/trustBundle lists the CA chains; GET /api/v2/configuration the issuers", async () => {
    const bundle = (await (await fetch(`${base}/api/v2/trustBundle`)).json()) as {
      chains: { certificates: string[] }[];
    };
    assert.equal(bundle.chains.length, 1);
    assert.equal(bundle.chains[0]!.certificates.length, 2);
    const conf = await (await fetch(`${base}/api/v2/configuration`)).json();
    assert.deepEqual(conf, {
      issuers: [{ issuerUrl: issuer.url, audience: "sigstore", challengeClaim: "email" }],
    });
  });

  // Each refusal: a problem+json with the catalog code and Fulcio's status, and nothing issued.
  const refusals: [string, number, string, () => Promise<Parameters<typeof post>>][] = [
    [
      "a forged token",
      401,
      "ERR_CA_TOKEN_INVALID",
      async () => {
        const r = await request();
        r.credentials.oidcIdentityToken = await issuer.mint(
          { sub: "u", email: "dev@example.com", email_verified: true },
          { forge: true },
        );
        return [r];
      },
    ],
    [
      "an expired token",
      401,
      "ERR_CA_TOKEN_EXPIRED",
      async () => {
        const r = await request();
        r.credentials.oidcIdentityToken = await issuer.mint(
          { sub: "u", email: "dev@example.com", email_verified: true },
          { expiresIn: -600, issuedAt: -900 },
        );
        return [r];
      },
    ],
    [
      "a failed proof of possession",
      400,
      "ERR_CA_PROOF_INVALID",
      async () => {
        const r = await request();
        r.publicKeyRequest.proofOfPossession = proveChallenge(clientKey().privateKey, "dev@example.com");
        return [r];
      },
    ],
    ["an oversized body", 413, "ERR_CA_REQUEST_TOO_LARGE", async () => [{ pad: "x".repeat(70_000) }]],
    ["malformed JSON", 400, "ERR_JSON_MALFORMED", async () => ["{not json"]],
    [
      "a __proto__ key (prototype poisoning)",
      400,
      "ERR_JSON_MALFORMED",
      async () => ['{"__proto__":{"x":1}}'],
    ],
    [
      "another media type",
      415,
      "ERR_CA_REQUEST_INVALID",
      async () => ["a=b", { "content-type": "application/x-www-form-urlencoded" }],
    ],
    [
      "a missing key",
      400,
      "ERR_CA_REQUEST_INVALID",
      async () => [{ credentials: { oidcIdentityToken: "x" } }],
    ],
  ];
  for (const [what, status, code, make] of refusals) {
    it(`refuses ${what}: ${status} ${code}`, async () => {
      const before = t.sequencer.size;
      const r = await post(...(await make()));
      assert.equal(r.status, status);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.json.code, code);
      assert.equal(r.json.status, status);
      assert.equal(t.sequencer.size, before);
    });
  }

  it("refuses a replayed token with 401 and rate-limits an identity with 429 and Retry-After", async () => {
    const req = await request("limited@example.com");
    assert.equal((await post(req)).status, 201);
    const replay = await post(req);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.code, "ERR_CA_TOKEN_REPLAYED");
    assert.equal((await post(await request("limited@example.com"))).status, 201);
    assert.equal((await post(await request("limited@example.com"))).status, 201);
    const limited = await post(await request("limited@example.com"));
    assert.equal(limited.status, 429);
    assert.equal(limited.json.code, "ERR_CA_RATE_LIMITED");
    assert.ok(Number(limited.retryAfter) >= 1);
  });
});
