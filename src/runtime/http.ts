// SPDX-License-Identifier: Apache-2.0
// A Fetcher (engines/tuf/ports.ts) over Node's global fetch: a timeout on the whole request and a
// byte bound enforced while the body streams in, so a server sending endless data is cut off as
// soon as it passes the bound (TUF "endless data attack"), whatever Content-Length claims.
import { cairnError } from "../core/errors.js";
import type { Fetcher } from "../engines/tuf/index.js";

export interface HttpFetcherOptions {
  /** Milliseconds for one request, body included. Defaults to 30,000. */
  timeoutMs?: number;
  /** Sent as User-Agent. */
  userAgent?: string;
  /** The fetch implementation; defaults to the global one (tests may inject another). */
  fetch?: typeof globalThis.fetch;
}

/**
 * Fetches `url` into memory, at most `maxBytes`. Resolves to undefined for 404 and 403 (missing
 * files on static hosts and object stores). Throws ERR_TUF_BOUND_EXCEEDED once more than
 * `maxBytes` arrive (or Content-Length announces more), ERR_IO for any other status, a timeout,
 * or a network failure. Only http: and https: URLs are fetched.
 */
export async function fetchBounded(
  url: string,
  maxBytes: number,
  opts: HttpFetcherOptions = {},
): Promise<Uint8Array | undefined> {
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
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const doFetch = opts.fetch ?? globalThis.fetch;
  try {
    let res: Response;
    try {
      res = await doFetch(parsed, {
        signal: controller.signal,
        redirect: "follow",
        headers: opts.userAgent !== undefined ? { "user-agent": opts.userAgent } : {},
      });
    } catch (e) {
      throw transport(url, controller.signal.aborted ? `no answer within ${timeoutMs} ms` : describe(e), e);
    }
    if (res.status === 404 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw transport(url, `HTTP status ${res.status}`);
    }
    return await readBodyBounded(res, maxBytes, {
      tooLarge: () => tooLarge(url, maxBytes),
      cutOff: (e) =>
        transport(url, controller.signal.aborted ? `no answer within ${timeoutMs} ms` : describe(e), e),
    });
  } finally {
    clearTimeout(timer);
  }
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

/** A Fetcher over HTTP(S) with fetchBounded's timeout and byte bound. */
export function httpFetcher(opts: HttpFetcherOptions = {}): Fetcher {
  return { fetch: (url, maxBytes) => fetchBounded(url, maxBytes, opts) };
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
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
