// SPDX-License-Identifier: Apache-2.0
// sigstore/timestamp-authority's REST API (its openapi.yaml) over the TSA engine: POST
// /api/v1/timestamp takes a DER TimeStampReq (application/timestamp-query, RFC 3161 3.4) or the
// JSON form the `sigstore` npm client sends, and answers 201 with a DER TimeStampResp
// (application/timestamp-reply); GET /api/v1/timestamp/certchain serves the chain as PEM. Routes
// and limits only: a bounded body, a rate limit per client address, problem+json refusals from
// the catalog with nothing signed. As in Sigstore, writes need no bearer token: the TSA signs a
// hash and a time, nothing else.
import type { FastifyError, FastifyInstance } from "fastify";
import { systemClock } from "../core/clock.js";
import { asCairnError, cairnError } from "../core/errors.js";
import { RateLimiter, type RateLimitOptions } from "../engines/ca/index.js";
import type { TimestampAuthority } from "../engines/tsa/index.js";
import {
  MAX_TIMESTAMP_REQUEST_BYTES,
  parseTimestampRequest,
  parseTimestampRequestJson,
} from "../formats/sigstore/index.js";
import { sendProblem } from "./problem.js";
import type { ServiceContext, ServicePlugin } from "./server.js";

export interface TsaRoutesOptions {
  /** Requests per client address (default: bursts of 200, 6,000 a minute). */
  rateLimit?: RateLimitOptions;
  /** Largest request body, bytes (default MAX_TIMESTAMP_REQUEST_BYTES, 16 KiB). */
  bodyLimit?: number;
}

export const DEFAULT_TSA_RATE_LIMIT: RateLimitOptions = { burst: 200, perMinute: 6000 };

// RFC 3161 3.4 (time-stamp protocol via HTTP) media types.
const QUERY_TYPE = "application/timestamp-query";
const REPLY_TYPE = "application/timestamp-reply";

/** Fastify's own refusals (body size, media type, JSON syntax) as catalog errors. */
function fromFastify(e: FastifyError) {
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return cairnError("ERR_TSA_REQUEST_TOO_LARGE", "the time-stamp request is larger than the TSA accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return cairnError(
        "ERR_HTTP_UNSUPPORTED_MEDIA_TYPE",
        `send the request as ${QUERY_TYPE} or application/json`,
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return cairnError("ERR_JSON_MALFORMED", "the request body is not JSON");
  }
  return asCairnError(e);
}

/**
 * The time-stamp routes as a `buildServer` plugin (`cairn serve --tsa DIR`). Registered
 * encapsulated: its body parser and error handler answer only its routes.
 */
export function tsaRoutes(tsa: TimestampAuthority, opts: TsaRoutesOptions = {}): ServicePlugin {
  return {
    name: "tsa",
    // GET /healthz: unhealthy once the signing certificate has lapsed (every request would be refused).
    async health() {
      const r = tsa.readiness();
      return { ok: r.ready, notAfter: r.notAfter.toISOString() };
    },
    async register(app: FastifyInstance, ctx: ServiceContext) {
      await app.register(async (scope) => {
        const bodyLimit = opts.bodyLimit ?? MAX_TIMESTAMP_REQUEST_BYTES;
        const limiter = new RateLimiter(systemClock, {
          ...DEFAULT_TSA_RATE_LIMIT,
          ...opts.rateLimit,
          code: "ERR_TSA_RATE_LIMITED",
        });
        scope.addContentTypeParser(QUERY_TYPE, { parseAs: "buffer", bodyLimit }, (_req, body, done) =>
          done(null, body),
        );
        scope.setErrorHandler((err, req, reply) => {
          const e = fromFastify(err as FastifyError);
          if (e.category === "internal")
            req.log.error({ err: e.cause ?? e, code: e.code }, "time-stamp request failed");
          return sendProblem(reply, e);
        });

        // openapi.yaml getTimestampResponse: answered 201 with the DER TimeStampResp.
        scope.post(
          "/api/v1/timestamp",
          {
            bodyLimit,
            // Before the body is read: oversized and malformed requests count against the limit too.
            onRequest: async (req) => limiter.take(req.ip),
          },
          async (req, reply) => {
            const request = Buffer.isBuffer(req.body)
              ? parseTimestampRequest(req.body)
              : parseTimestampRequestJson(req.body);
            const der = await tsa.timestamp(request);
            ctx.metrics.inc("cairn_tsa_timestamps_total", "RFC 3161 timestamps issued.");
            return reply.code(201).type(REPLY_TYPE).send(der);
          },
        );

        // openapi.yaml getTimestampCertChain: the PEM chain, signing certificate first.
        scope.get("/api/v1/timestamp/certchain", async (_req, reply) =>
          reply.type("application/pem-certificate-chain").send(tsa.certChainPem()),
        );
      });
    },
  };
}
