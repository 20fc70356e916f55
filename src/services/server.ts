// SPDX-License-Identifier: Apache-2.0
// The HTTP server (Fastify): routes and limits only, no business logic (DESIGN.md, services/).
// `buildServer` composes route plugins (the log, the Rekor v1 subset; later a CA, TUF static
// serving), each a separate file registering its routes, and adds what every service shares:
// bearer-token auth for writes, a bounded JSON body parser, problem+json errors (RFC 9457) mapped
// from the error catalog's categories, health, Prometheus metrics and structured logs that never
// carry a request's headers (so never a token).
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type preHandlerHookHandler,
} from "fastify";
import { asCairnError, CairnError, cairnError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { Metrics } from "./metrics.js";
import { sendProblem } from "./problem.js";

/** Default request body limit: envelopes (SBOMs) run to megabytes; Rekor stops at 100 KB. */
export const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024;
/** Nesting bound of JSON request bodies. */
export const MAX_BODY_DEPTH = 64;

/** How writes are authorized. */
export type AuthOptions =
  /** `--dev`: anyone may write (local trials only). */
  | { mode: "none" }
  /**
   * Writes need `Authorization: Bearer <token>`; `tokenHashes` are SHA-256 hex of the tokens, or
   * a function asked on every write (tokens added or revoked while the server runs).
   */
  | { mode: "bearer"; tokenHashes: readonly string[] | (() => readonly string[]) };

// One child logger per parent logger for the write routes, made on first use.
const writeLoggers = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>();

/**
 * Logging of the hot write routes: no per-request info lines (level warn: warnings and errors
 * still are logged; GET /metrics counts requests by route and status, with latencies), and one
 * child logger shared by all their requests instead of one made per request (pino rebuilds every
 * log method of a child whose level differs from its parent's). Their lines carry no reqId:
 * these routes log no request lines for one to correlate.
 */
export const WRITE_ROUTE_LOGGING = {
  logLevel: "warn",
  childLoggerFactory(
    logger: FastifyBaseLogger,
    _bindings: unknown,
    opts: Parameters<FastifyBaseLogger["child"]>[1],
  ) {
    let child = writeLoggers.get(logger);
    if (child === undefined) {
      child = logger.child({}, opts);
      writeLoggers.set(logger, child);
    }
    return child;
  },
} as const;

/** What a plugin gets to register its routes. */
export interface ServiceContext {
  /** A preHandler that refuses the request unless it carries a valid bearer token (or auth is off). */
  requireWriter: preHandlerHookHandler;
  metrics: Metrics;
}

/** A route plugin: a separate file registering its routes (log, Rekor API, CA, TUF...). */
export interface ServicePlugin {
  name: string;
  register(app: FastifyInstance, ctx: ServiceContext): void | Promise<void>;
  /** Checked by GET /healthz; a failing check makes it answer 503. */
  health?(): Promise<Record<string, unknown> & { ok: boolean }>;
}

export interface ServerOptions {
  plugins: readonly ServicePlugin[];
  auth: AuthOptions;
  /** Largest request body in bytes (default DEFAULT_BODY_LIMIT). */
  bodyLimit?: number;
  /** `false` (tests) or a pino logger; default: JSON lines at level info on `logStream`. */
  logger?: FastifyBaseLogger | boolean;
  /** Where the default logger writes (default stderr). */
  logStream?: NodeJS.WritableStream;
  metrics?: Metrics;
}

/** Hashes a bearer token as the token file stores it. */
export function tokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

function bearerCheck(auth: AuthOptions): preHandlerHookHandler {
  if (auth.mode === "none") return async () => {};
  const source = auth.tokenHashes;
  const toBuffers = (hs: readonly string[]) => hs.map((h) => Buffer.from(h, "hex"));
  // A live source is converted again only when it hands out another list.
  let seen: readonly string[] | undefined;
  let known: Buffer[] = typeof source === "function" ? [] : toBuffers(source);
  return async (req: FastifyRequest) => {
    if (typeof source === "function") {
      const now = source();
      if (now !== seen) {
        seen = now;
        known = toBuffers(now);
      }
    }
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    // Compare hashes in constant time: the token never reaches a log line or an error message.
    const got = m ? createHash("sha256").update(m[1]!, "utf8").digest() : undefined;
    if (!got || !known.some((k) => k.length === got.length && timingSafeEqual(k, got))) {
      throw cairnError("ERR_HTTP_UNAUTHORIZED", "this write needs a valid bearer token");
    }
  };
}

/** Builds the server (not listening yet: call `listen`, or `inject` in tests). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = opts.bodyLimit ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1)
    throw cairnError("ERR_USAGE", "the body limit is a positive integer");
  const logger =
    opts.logger === undefined
      ? {
          level: "info",
          stream: opts.logStream ?? process.stderr,
          // Requests are logged by method, URL and remote address only: never headers (tokens).
          serializers: {
            req: (r: FastifyRequest) => ({ method: r.method, url: r.url, remoteAddress: r.ip }),
          },
        }
      : opts.logger;
  const app = Fastify({
    bodyLimit,
    ...(typeof logger === "object" && "child" in logger
      ? { loggerInstance: logger as FastifyBaseLogger }
      : { logger }),
    // Request URLs are attacker-controlled: bound them (tile paths and queries are short).
    routerOptions: { maxParamLength: 256 },
    return503OnClosing: true,
  });
  const metrics = opts.metrics ?? new Metrics();

  // JSON bodies through cairn's bounded parser (size is bounded by bodyLimit, depth here).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      done(null, parseJson(body as Buffer, undefined, { maxBytes: bodyLimit, maxDepth: MAX_BODY_DEPTH }));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const e = fromFastify(err);
    if (e.category === "internal") req.log.error({ err: e.cause ?? e, code: e.code }, "internal error");
    return sendProblem(reply, e);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      cairnError("ERR_HTTP_NOT_FOUND", `no route for ${req.method} ${req.url.split("?")[0]}`),
    ),
  );

  app.addHook("onResponse", async (req, reply) => {
    metrics.observeRequest(
      req.method,
      req.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  const ctx: ServiceContext = { requireWriter: bearerCheck(opts.auth), metrics };
  for (const p of opts.plugins) await p.register(app, ctx);

  app.get("/healthz", async (_req, reply) => {
    const checks: Record<string, unknown> = {};
    let ok = true;
    for (const p of opts.plugins) {
      if (!p.health) continue;
      const h = await p.health().catch((e) => ({ ok: false, error: asCairnError(e).code }));
      checks[p.name] = h;
      ok &&= h.ok;
    }
    return reply.code(ok ? 200 : 503).send({ ok, checks });
  });
  app.get("/metrics", async (_req, reply) =>
    reply.type("text/plain; version=0.0.4; charset=utf-8").send(await metrics.render()),
  );
  return app;
}

// Fastify's own errors (body limits, media types) as catalog errors; anything else unexpected is internal.
function fromFastify(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return cairnError("ERR_HTTP_BODY_TOO_LARGE", "the request body is larger than the service accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return cairnError("ERR_HTTP_UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return cairnError("ERR_JSON_MALFORMED", "the request body is not JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return cairnError("ERR_USAGE", "the Content-Length does not match the body");
  }
  const status = (err as { statusCode?: unknown })?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return cairnError("ERR_USAGE", (err as Error).message ?? "bad request");
  }
  return asCairnError(err);
}
