// SPDX-License-Identifier: Apache-2.0
// A Fetcher (engines/tuf/ports.ts) over node:http and node:https: a timeout on the whole request
// and a byte bound enforced while the body streams in, so a server sending endless data is cut off
// as soon as it passes the bound (TUF "endless data attack"), whatever Content-Length claims.
// Why not the global fetch: loading undici costs a short-lived CLI (`cairn tuf client refresh`)
// more CPU time than the whole update of a small repository (profiled: about 25 ms of 100).
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { cairnError } from "../core/errors.js";
import type { Fetcher } from "../engines/tuf/index.js";

export interface HttpFetcherOptions {
  /** Milliseconds for one request, body included. Defaults to 30,000. */
  timeoutMs?: number;
  /** Sent as User-Agent. */
  userAgent?: string;
}

/** Most redirects followed for one request (as many as fetch follows). */
export const MAX_FETCH_REDIRECTS = 20;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw cairnError("ERR_USAGE", `not a URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw cairnError("ERR_USAGE", `only http and https URLs can be fetched, not ${parsed.protocol}`, {
      file: url,
    });
  }
  return parsed;
}

/**
 * Connections kept open between requests, one pool per scheme for the process: an update is a few
 * requests in a row to one host (root, timestamp, snapshot, targets, the target), and over HTTPS a
 * new connection each time is a TLS handshake each time. Idle sockets do not keep the process alive.
 */
const AGENT_OPTIONS = { keepAlive: true };
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;

/** One GET; resolves with the response once its headers are in (`signal` aborts it). */
async function get(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  // node:https (and TLS) is loaded only for an https URL: a client of a local mirror does not pay for it.
  let request: typeof httpRequest;
  let agent: HttpAgent;
  if (url.protocol === "https:") {
    const https = await import("node:https");
    request = https.request;
    agent = httpsAgent ??= new https.Agent(AGENT_OPTIONS);
  } else {
    request = httpRequest;
    agent = httpAgent ??= new HttpAgent(AGENT_OPTIONS);
  }
  // Set when the request failed on a kept-alive connection that the server reset.
  let stale = false;
  const once = () =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const cr: ClientRequest = request(url, { headers, signal, agent });
      cr.on("error", (e: NodeJS.ErrnoException) => {
        stale = cr.reusedSocket && e.code === "ECONNRESET";
        reject(e);
      });
      cr.on("response", resolve);
      cr.end();
    });
  try {
    return await once();
  } catch (e) {
    // The server closed the kept connection as the request arrived (its idle timeout racing this
    // client), without an answer: Node's documented case for sending it again. A GET is safe to
    // repeat; once, on a new connection. A reset on a new connection is the server's answer.
    if (!stale || signal.aborted) throw e;
    return once();
  }
}

/**
 * Opens `url` for reading, at most `maxBytes`, following redirects. Resolves to undefined for 404
 * and 403 (missing files on static hosts and object stores), else to the body's chunks: the
 * iterator throws ERR_TUF_BOUND_EXCEEDED once more than `maxBytes` arrive (or refuses at once
 * when Content-Length announces more), ERR_IO on a timeout (the whole request, body included,
 * within `timeoutMs`) or a connection cut short. Other statuses and network failures are ERR_IO.
 * Only http: and https: URLs are fetched. The caller reads the body to its end or returns early
 * (`break`): either way the connection and the timer are released.
 */
export async function openBounded(
  url: string,
  maxBytes: number,
  opts: HttpFetcherOptions = {},
): Promise<AsyncIterable<Buffer> | undefined> {
  let current = parseHttpUrl(url);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const controller = new AbortController();
  // Unreferenced: a body the caller drops unread must not keep the process alive until it fires.
  const timer = setTimeout(() => controller.abort(), timeoutMs).unref();
  const why = (e: unknown) => (controller.signal.aborted ? `no answer within ${timeoutMs} ms` : describe(e));
  const headers: Record<string, string> =
    opts.userAgent !== undefined ? { "user-agent": opts.userAgent } : {};
  let res: IncomingMessage;
  try {
    for (let redirects = 0; ; redirects++) {
      try {
        res = await get(current, headers, controller.signal);
      } catch (e) {
        throw transport(url, why(e), e);
      }
      const location = res.headers.location;
      if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) break;
      res.destroy();
      if (redirects >= MAX_FETCH_REDIRECTS)
        throw transport(url, `more than ${MAX_FETCH_REDIRECTS} redirects`);
      current = parseHttpUrl(new URL(location, current).toString());
    }
    if (res.statusCode === 404 || res.statusCode === 403) {
      res.destroy();
      clearTimeout(timer);
      return undefined;
    }
    if (res.statusCode !== 200) {
      res.destroy();
      throw transport(url, `HTTP status ${res.statusCode}`);
    }
    const announced = Number(res.headers["content-length"] ?? "NaN");
    if (Number.isFinite(announced) && announced > maxBytes) {
      res.destroy();
      throw tooLarge(url, maxBytes);
    }
  } catch (e) {
    clearTimeout(timer);
    throw e;
  }
  const body = res;
  async function* chunks(): AsyncGenerator<Buffer> {
    let total = 0;
    try {
      const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      for (;;) {
        let r: IteratorResult<Buffer>;
        try {
          r = await it.next();
        } catch (e) {
          throw transport(url, why(e), e);
        }
        if (r.done) {
          if (!body.complete) throw transport(url, "the connection closed before the body ended");
          return;
        }
        total += r.value.byteLength;
        // Endless data: stop reading the moment the bound is passed.
        if (total > maxBytes) throw tooLarge(url, maxBytes);
        yield r.value;
      }
    } finally {
      clearTimeout(timer);
      if (!body.complete) body.destroy();
    }
  }
  return chunks();
}

/**
 * Fetches `url` into memory, at most `maxBytes` (openBounded's bounds, statuses and errors):
 * undefined for 404 and 403, else the whole body.
 */
export async function fetchBounded(
  url: string,
  maxBytes: number,
  opts: HttpFetcherOptions = {},
): Promise<Uint8Array | undefined> {
  const body = await openBounded(url, maxBytes, opts);
  if (body === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * Reads a response body into memory, at most `maxBytes`: refuses at once when Content-Length
 * announces more, and cancels the stream the moment more arrives (endless data). `tooLarge` and
 * `cutOff` make the caller's errors for those two cases.
 */
export async function readBodyBounded(
  res: Response,
  maxBytes: number,
  errors: { tooLarge: () => Error; cutOff: (cause: unknown) => Error },
): Promise<Uint8Array> {
  const announced = Number(res.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(announced) && announced > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw errors.tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (e) {
        throw errors.cutOff(e);
      }
      if (r.done) break;
      total += r.value.byteLength;
      // Endless data: stop reading the moment the bound is passed.
      if (total > maxBytes) throw errors.tooLarge();
      chunks.push(r.value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** A Fetcher over HTTP(S) with openBounded's timeout and byte bound. */
export function httpFetcher(opts: HttpFetcherOptions = {}): Fetcher {
  return {
    fetch: (url, maxBytes) => fetchBounded(url, maxBytes, opts),
    open: (url, maxBytes) => openBounded(url, maxBytes, opts),
  };
}

function tooLarge(url: string, maxBytes: number) {
  return cairnError("ERR_TUF_BOUND_EXCEEDED", `${url} is larger than the ${maxBytes} bytes allowed`, {
    file: url,
  });
}

function transport(url: string, why: string, cause?: unknown) {
  return cairnError(
    "ERR_IO",
    `cannot fetch ${url}: ${why}`,
    { file: url },
    cause === undefined ? undefined : { cause },
  );
}

function describe(e: unknown): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  return err.code ?? err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
