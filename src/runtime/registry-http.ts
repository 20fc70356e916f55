// SPDX-License-Identifier: Apache-2.0
// The HttpPort of the OCI registry client (engines/oci/ports.ts) over node:http and node:https:
// keep-alive connections (one agent per port), a timeout for the answer and an idle timeout while
// a body streams, a byte bound enforced as the body arrives (a registry may send endless data,
// whatever Content-Length claims), redirects followed for GET and HEAD only, and the
// Authorization header dropped when a redirect leaves the origin (blob storage elsewhere).
//
// Why not fetch: undici's fetch hands a body over through a WHATWG stream, a promise per chunk,
// and pauses the socket at a small high-water mark; bodies of hundreds of MiB then arrive in
// stop-and-go. A Node response stream with a larger buffer keeps the connection flowing while the
// consumer hashes and writes (measured in bench/: the pull direction of `oci-copy`).
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { CairnError, cairnError } from "../core/errors.js";
import type { HttpPort, HttpRequest, HttpResponse } from "../engines/oci/index.js";
import { WorkerSink } from "./hash-writer.js";

export interface RegistryHttpOptions {
  /** Milliseconds to wait for the response headers, and for each chunk of a body. Default 60,000. */
  timeoutMs?: number;
  /** Connections kept per registry host. Default MAX_SOCKETS_PER_HOST. */
  maxSockets?: number;
}

/** Most redirects followed for one GET or HEAD. */
export const MAX_REDIRECTS = 10;
/** Connections at once to one host (bounded concurrency of blob transfers stays below it). */
export const MAX_SOCKETS_PER_HOST = 16;
/** Bytes a response may buffer before the socket is paused: enough to ride out a slow write. */
export const RESPONSE_BUFFER_BYTES = 1024 * 1024;

const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** An HttpPort over node:http/https, with the contract of engines/oci/ports.ts. */
export function registryHttp(opts: RegistryHttpOptions = {}): HttpPort {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? MAX_SOCKETS_PER_HOST };
  const agents = { http: new HttpAgent(agentOpts), https: new HttpsAgent(agentOpts) };

  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      // A layout blob's sink: the whole GET (redirects, bounds and timeouts included, by this
      // same port) happens in the blob's thread, which hashes and writes the body as it arrives.
      if (req.response === "sink" && req.sink instanceof WorkerSink && req.method === "GET") {
        parseUrl(req.url);
        return req.sink.request(req, opts.timeoutMs);
      }
      let url = parseUrl(req.url);
      const headers = { ...req.headers };
      const follow = req.method === "GET" || req.method === "HEAD";
      for (let redirects = 0; ; redirects++) {
        const where = `${req.method} ${url.origin}${url.pathname}`;
        const res = await send(url, req, headers, where);
        const location = res.headers.location;
        if (!follow || !REDIRECTS.has(res.statusCode ?? 0) || location === undefined) {
          return respond(res, req, url, where);
        }
        res.destroy();
        if (redirects >= MAX_REDIRECTS) {
          throw unreachable(where, `more than ${MAX_REDIRECTS} redirects`, undefined);
        }
        const next = parseUrl(new URL(location, url).toString());
        // Credentials never follow a redirect to another origin (blob storage, a CDN).
        if (next.origin !== url.origin) delete headers.authorization;
        url = next;
      }
    },
  };

  /** Sends one request; resolves with the response once its headers are in. */
  function send(
    url: URL,
    req: HttpRequest,
    headers: Record<string, string>,
    where: string,
  ): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const isHttps = url.protocol === "https:";
      const h: Record<string, string> = { ...headers };
      if (req.body instanceof Uint8Array) h["content-length"] = String(req.body.byteLength);
      let settled = false;
      const fail = (why: string, e: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cr.destroy();
        // A streamed body's own error (a digest mismatch) is passed on as it is.
        reject(e instanceof CairnError ? e : unreachable(where, why, e));
      };
      // highWaterMark applies to the response and its socket (Node's http client honours it;
      // @types/node only declares it for servers).
      const options: RequestOptions & { highWaterMark: number } = {
        method: req.method,
        headers: h,
        agent: isHttps ? agents.https : agents.http,
        highWaterMark: RESPONSE_BUFFER_BYTES,
      };
      const cr: ClientRequest = (isHttps ? httpsRequest : httpRequest)(url, options);
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`, undefined), timeoutMs);
      cr.on("error", (e) => fail(describe(e), e));
      cr.on("response", (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(res);
      });
      const body = req.body;
      if (body === undefined) cr.end();
      else if (body instanceof Uint8Array) cr.end(body);
      else {
        // A streamed body (chunked transfer encoding unless content-length was given), written
        // with backpressure; its source's error aborts the request with that error.
        void (async () => {
          try {
            for await (const chunk of body) {
              if (cr.destroyed) return;
              if (!cr.write(chunk)) await drained(cr);
            }
            cr.end();
          } catch (e) {
            fail(describe(e), e);
          }
        })();
      }
    });
  }

  function respond(
    res: IncomingMessage,
    req: HttpRequest,
    url: URL,
    where: string,
  ): Promise<HttpResponse> | HttpResponse {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
    }
    const status = res.statusCode ?? 0;
    const cancel = async () => {
      res.destroy();
    };
    const base = { status, headers, url: url.toString(), cancel };
    const success = status >= 200 && status < 300;
    const announced = Number(headers["content-length"] ?? "NaN");
    if (success && req.method !== "HEAD" && Number.isFinite(announced) && announced > req.maxBytes) {
      res.destroy();
      throw tooLarge(where, req.maxBytes);
    }
    if (req.method === "HEAD") {
      res.resume();
      return { ...base, body: new Uint8Array(0) };
    }
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let total = 0;
      let stalled = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          stalled = true;
          res.destroy();
        }, timeoutMs);
      };
      arm();
      try {
        const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        for (;;) {
          let r: IteratorResult<Buffer>;
          try {
            r = await it.next();
          } catch (e) {
            throw unreachable(where, stalled ? `the body stalled for ${timeoutMs} ms` : describe(e), e);
          }
          if (r.done) {
            // A body cut short by the server without an error is seen by the caller as short.
            if (stalled) throw unreachable(where, `the body stalled for ${timeoutMs} ms`, undefined);
            if (!res.complete)
              throw unreachable(where, "the connection closed before the body ended", undefined);
            return;
          }
          arm();
          total += r.value.byteLength;
          // Endless data: stop the moment the bound is passed. An error answer's body is only
          // informative: it is cut at the bound rather than refused.
          if (total > req.maxBytes) {
            if (!success) {
              const keep = r.value.byteLength - (total - req.maxBytes);
              if (keep > 0) yield r.value.subarray(0, keep);
              return;
            }
            throw tooLarge(where, req.maxBytes);
          }
          yield r.value;
        }
      } finally {
        clearTimeout(timer);
        if (!res.complete) res.destroy();
      }
    }
    // A sink this port cannot fill from another thread is written by the caller from the stream.
    if (req.response === "stream" || req.response === "sink")
      return { ...base, body: new Uint8Array(0), stream: chunks() };
    return (async () => {
      const parts: Uint8Array[] = [];
      for await (const c of chunks()) parts.push(c);
      return { ...base, body: Buffer.concat(parts) };
    })();
  }
}

function parseUrl(s: string): URL {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw cairnError("ERR_USAGE", `not a URL: ${s.slice(0, 200)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw cairnError("ERR_USAGE", `only http and https URLs can be fetched, not ${url.protocol}`);
  }
  return url;
}

function drained(cr: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      cr.off("drain", done);
      cr.off("close", done);
      resolve();
    };
    cr.on("drain", done);
    cr.on("close", done);
  });
}

function tooLarge(where: string, maxBytes: number): CairnError {
  return cairnError("ERR_OCI_TOO_LARGE", `${where}: the answer is larger than the ${maxBytes} bytes allowed`);
}

function unreachable(where: string, why: string, cause: unknown): CairnError {
  return cairnError(
    "ERR_OCI_REGISTRY_UNREACHABLE",
    `cannot reach the registry (${where}): ${why}`,
    {},
    cause === undefined ? {} : { cause },
  );
}

function describe(e: unknown): string {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  return err.code ?? err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
