// SPDX-License-Identifier: Apache-2.0
// Fulcio's v2 REST API (sigstore/fulcio fulcio.proto, its HTTP mappings): POST
// /api/v2/signingCert, GET /api/v2/trustBundle, GET /api/v2/configuration, over the CA engine.
// Routes and limits only: the engine decides. Errors are RFC 9457 problem details carrying
// cairn's stable code; the status follows Fulcio's (400 bad request, 401 bad token, 429 limited).
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerHookHandler,
} from "fastify";
import { asCairnError, type CairnError, type ErrorCode } from "../core/errors.js";
import {
  type CaService,
  MAX_REQUEST_BYTES,
  type RetryableError,
  signingCertificateJson,
  trustBundleJson,
} from "../engines/ca/index.js";
import type { ServicePlugin } from "./server.js";

export interface FulcioRoutesOptions {
  service: CaService;
  /** Largest request body, bytes (default MAX_REQUEST_BYTES, 64 KiB). */
  bodyLimit?: number;
  /**
   * Runs before a certificate request (cairn serve: `forwardWrites`, so a server that is not the
   * log's sequencer passes the request to the one that is, whose CT log can append).
   */
  preHandler?: preHandlerHookHandler;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_CA_REQUEST_TOO_LARGE: 413,
  ERR_CA_TOKEN_INVALID: 401,
  ERR_CA_TOKEN_EXPIRED: 401,
  ERR_CA_TOKEN_AUDIENCE: 401,
  ERR_CA_TOKEN_REPLAYED: 401,
  ERR_CA_ISSUER_UNTRUSTED: 401,
  ERR_CA_IDENTITY_REFUSED: 403,
  ERR_CA_RATE_LIMITED: 429,
  ERR_CA_NOT_READY: 503,
};

const STATUS_BY_CATEGORY: Record<CairnError["category"], number> = {
  format: 400,
  verification: 400,
  policy: 403,
  "not-found": 404,
  transport: 503,
  overload: 503,
  usage: 400,
  internal: 500,
};

/** Fastify's own refusals (body too large, bad media type, malformed JSON), as catalog errors. */
function fromFastify(e: FastifyError): { code: ErrorCode; status: number; detail: string } | undefined {
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { code: "ERR_CA_REQUEST_TOO_LARGE", status: 413, detail: "the request body is too large" };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        code: "ERR_CA_REQUEST_INVALID",
        status: 415,
        detail: "the request body must be application/json",
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return { code: "ERR_JSON_MALFORMED", status: 400, detail: "the request body is not valid JSON" };
    default:
      // Fastify's JSON parser throws a SyntaxError with status 400 on bad JSON, and on __proto__ keys.
      if (e instanceof SyntaxError || e.statusCode === 400)
        return { code: "ERR_JSON_MALFORMED", status: 400, detail: "the request body is not valid JSON" };
      return undefined;
  }
}

function sendProblem(reply: FastifyReply, err: unknown, req: FastifyRequest): FastifyReply {
  let code: ErrorCode;
  let status: number;
  let detail: string;
  const fst = (err as FastifyError)?.code?.startsWith?.("FST_") || err instanceof SyntaxError;
  const mapped = fst ? fromFastify(err as FastifyError) : undefined;
  if (mapped) {
    ({ code, status, detail } = mapped);
  } else {
    const e = asCairnError(err);
    code = e.code;
    status = STATUS_BY_CODE[e.code] ?? STATUS_BY_CATEGORY[e.category];
    // Internal errors say nothing of the cause to the caller; the log has it.
    detail = e.category === "internal" ? "internal error" : e.message;
    if (e.category === "internal") req.log.error({ err }, "certificate request failed");
    const retry = (e as RetryableError).retryAfterSeconds;
    if (retry !== undefined) reply.header("retry-after", String(retry));
    else if (status === 503) reply.header("retry-after", "1");
  }
  return reply
    .code(status)
    .type("application/problem+json")
    .send({ type: "about:blank", title: code, status, detail, code, message: detail });
}

/**
 * The Fulcio v2 routes as a Fastify plugin: `app.register(fulcioRoutes, { service })`. It is
 * encapsulated (its error handler answers only its own routes), so it composes with other route
 * plugins in one server. Register it as is: wrapped in `fastify-plugin`, its error handler would
 * become the whole server's.
 */
export async function fulcioRoutes(app: FastifyInstance, opts: FulcioRoutesOptions): Promise<void> {
  const { service } = opts;
  const bodyLimit = opts.bodyLimit ?? MAX_REQUEST_BYTES;
  app.setErrorHandler((err, req, reply) => sendProblem(reply, err, req));

  // fulcio.proto CreateSigningCertificate: "post: /api/v2/signingCert", answered 201 Created.
  const routeOpts = { bodyLimit, ...(opts.preHandler ? { preHandler: opts.preHandler } : {}) };
  app.post("/api/v2/signingCert", routeOpts, async (req, reply) => {
    const issued = await service.createSigningCertificate(req.body);
    req.log.info({ identity: issued.principal.id, logIndex: issued.sct?.index }, "issued a certificate");
    return reply.code(201).type("application/json").send(signingCertificateJson(issued));
  });

  // fulcio.proto GetTrustBundle: "get: /api/v2/trustBundle".
  app.get("/api/v2/trustBundle", async (_req, reply) =>
    reply.type("application/json").send(trustBundleJson(service.ca.trustBundle())),
  );

  // fulcio.proto GetConfiguration: "get: /api/v2/configuration", the issuers and their challenge claims.
  app.get("/api/v2/configuration", async (_req, reply) =>
    reply.type("application/json").send({
      issuers: service.oidc.issuers.map((i) => ({
        issuerUrl: i.issuerUrl,
        audience: i.audience,
        challengeClaim: i.type === "email" ? "email" : "sub",
        ...(i.type === "spiffe" && i.spiffeTrustDomain ? { spiffeTrustDomain: i.spiffeTrustDomain } : {}),
      })),
    }),
  );
}

/**
 * The Fulcio v2 routes as a `buildServer` plugin, beside the log's: `cairn serve --ca DIR`. The
 * Fulcio plugin is registered encapsulated, so its error handler (Fulcio's statuses) answers only
 * its routes. Certificate requests carry their own credential (the ID token): no bearer token.
 */
export function caRoutes(service: CaService, opts: Omit<FulcioRoutesOptions, "service"> = {}): ServicePlugin {
  return {
    name: "ca",
    async register(app: FastifyInstance) {
      await app.register(fulcioRoutes, { ...opts, service });
    },
  };
}
