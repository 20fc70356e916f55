// SPDX-License-Identifier: Apache-2.0
// The time-stamp routes in cairn's server over HTTP: DER and JSON requests answered 201 with a
// DER TimeStampResp, the PEM chain, and every bad request (malformed, unsupported hash, wrong
// digest length, oversized, wrong media type, too many) refused with problem+json and nothing signed.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { derOctets, derOid, derSeq, derUint } from "../core/der.js";
import { parsePemBlocks } from "../core/encoding.js";
import { encodeTimestampRequest, parseTimestampResponse } from "../formats/sigstore/index.js";
import { makeTsaKit, type TestTsaKit, timestampRequestFor } from "../testing/tsa-kit.js";
import { buildServer } from "./server.js";
import { tsaRoutes } from "./tsa-routes.js";

let kit: TestTsaKit;
let app: FastifyInstance;
let base: string;

async function serve(k: TestTsaKit, rateLimit?: { burst: number; perMinute: number }) {
  const a = await buildServer({
    plugins: [tsaRoutes(k.tsa, rateLimit ? { rateLimit } : {})],
    auth: { mode: "bearer", tokenHashes: [] },
    logger: false,
  });
  return { app: a, base: await a.listen({ host: "127.0.0.1", port: 0 }) };
}

before(async () => {
  kit = await makeTsaKit();
  ({ app, base } = await serve(kit));
});
after(() => app.close());

async function post(body: Uint8Array | string, type: string, url = base) {
  const res = await fetch(`${url}/api/v1/timestamp`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? "",
    retryAfter: res.headers.get("retry-after"),
    bytes,
    problem: () => JSON.parse(bytes.toString("utf8")) as { code: string; status: number; field?: string },
  };
}

const sig = Buffer.from("the bundle's signature");

describe("TSA API", () => {
  it("answers a DER application/timestamp-query with 201 and a DER application/timestamp-reply, no token needed", async () => {
    const r = await post(
      encodeTimestampRequest(timestampRequestFor(sig, { nonce: 42n })),
      "application/timestamp-query",
    );
    assert.equal(r.status, 201);
    assert.equal(r.type, "application/timestamp-reply");
    const t = parseTimestampResponse(r.bytes);
    assert.deepEqual(t.hashedMessage, timestampRequestFor(sig).hashedMessage);
  });

  it("answers the JSON form the sigstore client sends", async () => {
    const body = JSON.stringify({
      artifactHash: timestampRequestFor(sig).hashedMessage.toString("base64"),
      hashAlgorithm: "sha256",
    });
    const r = await post(body, "application/json");
    assert.equal(r.status, 201);
    assert.deepEqual(parseTimestampResponse(r.bytes).hashedMessage, timestampRequestFor(sig).hashedMessage);
  });

  it("serves the certificate chain as PEM, signing certificate first", async () => {
    const res = await fetch(`${base}/api/v1/timestamp/certchain`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/pem-certificate-chain/);
    const certs = parsePemBlocks(await res.text()).map((b) => new X509Certificate(b.der));
    assert.equal(certs.length, 2);
    assert.deepEqual(certs[0]!.keyUsage, ["1.3.6.1.5.5.7.3.8"]);
    assert.ok(certs[0]!.checkIssued(certs[1]!));
  });

  it("reports health from the signing certificate's validity, and counts what it issued", async () => {
    const h = (await fetch(`${base}/healthz`).then((r) => r.json())) as { checks: { tsa: { ok: boolean } } };
    assert.equal(h.checks.tsa.ok, true);
    const m = await fetch(`${base}/metrics`).then((r) => r.text());
    assert.match(m, /^cairn_tsa_timestamps_total 2$/m);
    const lapsed = await makeTsaKit({ at: new Date("2032-01-01T00:00:00Z") });
    const s = await serve(lapsed);
    try {
      const res = await fetch(`${s.base}/healthz`);
      assert.equal(res.status, 503);
      const r = await post(
        encodeTimestampRequest(timestampRequestFor(sig)),
        "application/timestamp-query",
        s.base,
      );
      assert.equal(r.status, 503);
      assert.equal(r.problem().code, "ERR_TSA_NOT_READY");
    } finally {
      await s.app.close();
    }
  });

  it("refuses bad requests with problem+json and signs nothing", async () => {
    const imprint = (oid: string, n: number) => derSeq(derSeq(derOid(oid)), derOctets(Buffer.alloc(n)));
    const cases: [Uint8Array | string, string, number, string][] = [
      [Buffer.from("not DER"), "application/timestamp-query", 400, "ERR_TSA_REQUEST_INVALID"],
      [Buffer.alloc(0), "application/timestamp-query", 400, "ERR_TSA_REQUEST_INVALID"],
      [
        derSeq(derUint(1), imprint("1.3.14.3.2.26", 20)),
        "application/timestamp-query",
        400,
        "ERR_TSA_HASH_UNSUPPORTED",
      ],
      [
        derSeq(derUint(1), imprint("2.16.840.1.101.3.4.2.1", 20)),
        "application/timestamp-query",
        400,
        "ERR_TSA_REQUEST_INVALID",
      ],
      [
        encodeTimestampRequest(timestampRequestFor(sig, { policy: "1.2.3.4" })),
        "application/timestamp-query",
        400,
        "ERR_TSA_REQUEST_INVALID",
      ],
      [
        JSON.stringify({ artifactHash: "AAAA", hashAlgorithm: "sha256" }),
        "application/json",
        400,
        "ERR_TSA_REQUEST_INVALID",
      ],
      [
        JSON.stringify({ artifactHash: "AAAA", hashAlgorithm: "md5" }),
        "application/json",
        400,
        "ERR_TSA_HASH_UNSUPPORTED",
      ],
      ["{", "application/json", 400, "ERR_JSON_MALFORMED"],
      [Buffer.alloc(17 * 1024), "application/timestamp-query", 413, "ERR_TSA_REQUEST_TOO_LARGE"],
      [JSON.stringify({ pad: "x".repeat(20_000) }), "application/json", 413, "ERR_TSA_REQUEST_TOO_LARGE"],
      ["hello", "text/plain", 415, "ERR_HTTP_UNSUPPORTED_MEDIA_TYPE"],
    ];
    const before = kit.signatures();
    for (const [body, type, status, code] of cases) {
      const r = await post(body, type);
      assert.equal(r.status, status, `${code} ${type}`);
      assert.match(r.type, /^application\/problem\+json/);
      assert.equal(r.problem().code, code);
    }
    assert.equal(kit.signatures(), before, "a refused request signs nothing");
  });

  it("limits requests per client: 429 with Retry-After, nothing signed", async () => {
    const k = await makeTsaKit();
    const s = await serve(k, { burst: 2, perMinute: 1 });
    try {
      const q = encodeTimestampRequest(timestampRequestFor(sig));
      assert.equal((await post(q, "application/timestamp-query", s.base)).status, 201);
      assert.equal((await post(q, "application/timestamp-query", s.base)).status, 201);
      const r = await post(q, "application/timestamp-query", s.base);
      assert.equal(r.status, 429);
      assert.equal(r.problem().code, "ERR_TSA_RATE_LIMITED");
      assert.ok(Number(r.retryAfter) >= 1);
      assert.equal(k.signatures(), 2);
    } finally {
      await s.app.close();
    }
  });
});
