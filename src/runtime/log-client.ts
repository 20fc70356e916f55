// SPDX-License-Identifier: Apache-2.0
// A JSON client for cairn's log service (src/services): one request with a timeout and a bound on
// the answer's bytes, and the service's problem+json errors turned back into catalog errors with
// their codes, so `cairn log ...` exits as the server decided (a 422 signature failure is exit 10
// on the client too). Anything else that goes wrong is ERR_HTTP_ERROR (transport): a failure to
// ask never looks like an answer.
import { type CairnError, cairnError, ERROR_CATALOG, type ErrorCode } from "../core/errors.js";
import { isJsonObject, parseJson } from "../core/json.js";
import { DEFAULT_MAX_BATCH_ENTRIES } from "../engines/tlog/entries.js";
import { readBodyBounded } from "./http.js";

/** Default bound on an answer (a search page of envelopes can be large). */
export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface LogClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:3000. */
  server: string;
  /** Bearer token for writes. */
  token?: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface LogResponse {
  status: number;
  body: Buffer;
  headers: Headers;
}

/** Sends one request; resolves for 2xx, throws the server's error (by its code) otherwise. */
export async function logRequest(
  opts: LogClientOptions,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<LogResponse> {
  let url: URL;
  try {
    url = new URL(path, opts.server.endsWith("/") ? opts.server : `${opts.server}/`);
  } catch {
    throw cairnError("ERR_USAGE", `not a server URL: ${opts.server}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw cairnError("ERR_USAGE", "the server URL is http(s)");
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const max = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        signal: ac.signal,
        redirect: "error",
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const why = ac.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : (((e as Error).cause as Error)?.message ?? String(e));
      throw cairnError("ERR_HTTP_ERROR", `${method} ${url.href}: ${why}`, {}, { cause: e });
    }
    const bytes = await readBounded(res, max, url.href);
    if (res.ok) return { status: res.status, body: bytes, headers: res.headers };
    throw problemError(res.status, bytes, `${method} ${url.pathname}`);
  } finally {
    clearTimeout(timer);
  }
}

/** GET or POST and parse the JSON answer. */
export async function logJson<T = unknown>(
  opts: LogClientOptions,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await logRequest(opts, method, path, body);
  try {
    return parseJson(r.body, undefined, { maxBytes: r.body.length + 1, maxDepth: 128 }) as T;
  } catch (e) {
    throw cairnError("ERR_HTTP_ERROR", `the server's answer to ${path} is not JSON`, {}, { cause: e });
  }
}

async function readBounded(res: Response, max: number, url: string): Promise<Buffer> {
  const bytes = await readBodyBounded(res, max, {
    tooLarge: () => cairnError("ERR_HTTP_ERROR", `${url}: the answer is larger than ${max} bytes`),
    cutOff: (e) => cairnError("ERR_HTTP_ERROR", `${url}: the answer was cut off`, {}, { cause: e }),
  });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// The server's problem+json (src/services/problem.ts) as the error it names; a code this cairn
// does not know, or no problem document, is ERR_HTTP_ERROR with the status.
function problemError(status: number, body: Buffer, what: string): CairnError {
  let doc: unknown;
  try {
    doc = parseJson(body, undefined, { maxBytes: 1024 * 1024, maxDepth: 8 });
  } catch {
    doc = undefined;
  }
  return problemDocError(doc, status, what);
}

// A problem document (parsed) as the error it names, else ERR_HTTP_ERROR with the status.
function problemDocError(doc: unknown, status: number, what: string): CairnError {
  if (isJsonObject(doc) && typeof doc.code === "string" && doc.code in ERROR_CATALOG) {
    const detail = typeof doc.detail === "string" ? doc.detail : `HTTP ${status}`;
    const where = typeof doc.field === "string" ? { field: doc.field } : {};
    return cairnError(doc.code as ErrorCode, `${what}: ${detail}`, where);
  }
  return cairnError("ERR_HTTP_ERROR", `${what}: HTTP ${status}`);
}

/** One entry's outcome in a batch: the submit route's answer, or its problem document under `error`. */
export type BatchAnswer = Record<string, unknown> & {
  error?: { code?: string; detail?: string; status?: number };
};

/**
 * Submits entries through `POST cairn/v1/log/entries/batch`, DEFAULT_MAX_BATCH_ENTRIES per
 * request, in order; `onAnswers(start, answers)` runs as each request is answered (progress).
 * Resolves with every entry's answer, in order. A request refused whole throws its error.
 */
export async function submitBatches(
  opts: LogClientOptions,
  entries: readonly unknown[],
  onAnswers: (start: number, answers: BatchAnswer[]) => Promise<void> | void = () => {},
): Promise<BatchAnswer[]> {
  const all: BatchAnswer[] = [];
  for (let at = 0; at < entries.length; at += DEFAULT_MAX_BATCH_ENTRIES) {
    const slice = entries.slice(at, at + DEFAULT_MAX_BATCH_ENTRIES);
    const r = await logJson<{ results?: unknown }>(opts, "POST", "cairn/v1/log/entries/batch", {
      entries: slice,
    });
    if (!Array.isArray(r.results) || r.results.length !== slice.length || !r.results.every(isJsonObject)) {
      throw cairnError(
        "ERR_HTTP_ERROR",
        `the log answered a batch of ${slice.length} entries with something else`,
      );
    }
    const answers = r.results as BatchAnswer[];
    all.push(...answers);
    await onAnswers(at, answers);
  }
  return all;
}

/** The error a refused batch entry's problem document names (`what` says which entry). */
export function batchAnswerError(answer: BatchAnswer, what: string): CairnError {
  return problemDocError(answer.error, answer.error?.status ?? 0, what);
}
