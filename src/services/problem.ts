// SPDX-License-Identifier: Apache-2.0
// Errors as RFC 9457 problem details (application/problem+json), the status chosen by the error
// catalog's category (src/core/errors.ts), so HTTP clients and the CLI see the same stable code.
import type { FastifyReply } from "fastify";
import type { CairnError, ErrorCategory, ErrorCode } from "../core/errors.js";

/** HTTP status per category: bad input is 400, a signature that does not verify 422. */
export const HTTP_STATUS: Record<ErrorCategory, number> = {
  usage: 400,
  format: 400,
  verification: 422,
  policy: 403,
  "not-found": 404,
  transport: 502,
  overload: 503,
  internal: 500,
};

/** Codes whose status is more specific than their category's. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  ERR_HTTP_UNAUTHORIZED: 401,
  ERR_HTTP_BODY_TOO_LARGE: 413,
  ERR_STORE_TOO_LARGE: 413,
  ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_TLOG_DUPLICATE_ENTRY: 409,
  // The storage is the service's own backend: it is unavailable, not a bad gateway.
  ERR_TLOG_STORAGE: 503,
  ERR_STORE_STORAGE: 503,
  ERR_TSA_REQUEST_TOO_LARGE: 413,
  ERR_TSA_RATE_LIMITED: 429,
  // The TSA's certificate is not valid now: the service is unavailable, the request was fine.
  ERR_TSA_NOT_READY: 503,
};

/** The status for an error. */
export function statusOf(e: CairnError): number {
  return STATUS_BY_CODE[e.code] ?? HTTP_STATUS[e.category];
}

/** The problem document: RFC 9457 members plus `code` and `field`; `message` for Rekor clients. */
export function problemOf(e: CairnError): Record<string, unknown> {
  const status = statusOf(e);
  // Internal errors never leak details (stack, driver messages): the log has them.
  const detail = e.category === "internal" ? "internal error" : e.message;
  return {
    type: "about:blank",
    title: e.code,
    status,
    detail,
    code: e.code,
    ...(e.field === undefined ? {} : { field: e.field }),
    message: detail,
  };
}

/** Sends an error as problem+json, with Retry-After for overload and WWW-Authenticate for 401. */
export function sendProblem(reply: FastifyReply, e: CairnError): FastifyReply {
  const status = statusOf(e);
  // A rate limiter says when to retry (RetryableError); other overloads, in a second.
  const retry = (e as { retryAfterSeconds?: number }).retryAfterSeconds;
  if (e.category === "overload") reply.header("retry-after", String(retry ?? 1));
  if (status === 401) reply.header("www-authenticate", 'Bearer realm="cairn"');
  return reply.code(status).type("application/problem+json").send(problemOf(e));
}
