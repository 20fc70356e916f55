// SPDX-License-Identifier: Apache-2.0
// The HttpPort of the OCI registry client (engines/oci/ports.ts) over Node's global fetch: a
// timeout for the answer and an idle timeout while a body streams, a byte bound enforced as the
// body arrives (a registry may send endless data, whatever Content-Length claims), redirects
// followed for GET and HEAD only (fetch drops Authorization on a cross-origin redirect).
import { type CairnError, cairnError } from "../core/errors.js";
import type { HttpPort, HttpRequest, HttpResponse } from "../engines/oci/index.js";

export interface RegistryHttpOptions {
  /** Milliseconds to wait for the response headers, and for each chunk of a body. Default 60,000. */
  timeoutMs?: number;
  /** The fetch implementation; defaults to the global one. */
  fetch?: typeof globalThis.fetch;
}

/** An HttpPort over fetch, with the contract of engines/oci/ports.ts. */
export function registryHttp(opts: RegistryHttpOptions = {}): HttpPort {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        throw cairnError("ERR_USAGE", `not a URL: ${req.url}`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw cairnError("ERR_USAGE", `only http and https URLs can be fetched, not ${url.protocol}`);
      }
      const where = `${req.method} ${url.origin}${url.pathname}`;
      const controller = new AbortController();
      let timer = setTimeout(() => controller.abort(), timeoutMs);
      const rearm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), timeoutMs);
      };
      const init: RequestInit & { duplex?: "half" } = {
        method: req.method,
        headers: req.headers,
        signal: controller.signal,
        redirect: req.method === "GET" || req.method === "HEAD" ? "follow" : "manual",
      };
      if (req.body !== undefined) {
        if (req.body instanceof Uint8Array) init.body = req.body;
        else {
          init.body = toReadableStream(req.body);
          init.duplex = "half";
          // A streamed body cannot be sent again, so no redirect can be followed; and with any
          // mode but "error" fetch clones the request, teeing the body stream, whose unread
          // branch then holds every byte sent (the whole blob in memory).
          init.redirect = "error";
        }
      }
      let res: Response;
      try {
        res = await doFetch(url, init);
      } catch (e) {
        clearTimeout(timer);
        throw unreachable(
          where,
          controller.signal.aborted ? `no answer within ${timeoutMs} ms` : describe(e),
          e,
        );
      }
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k.toLowerCase()] = v;
      });
      const cancel = async () => {
        clearTimeout(timer);
        await res.body?.cancel().catch(() => {});
      };
      const announced = Number(headers["content-length"] ?? "NaN");
      const success = res.status >= 200 && res.status < 300;
      if (success && req.method !== "HEAD" && Number.isFinite(announced) && announced > req.maxBytes) {
        await cancel();
        throw tooLarge(where, req.maxBytes);
      }
      const base = { status: res.status, headers, url: res.url || url.toString(), cancel };
      if (req.method === "HEAD" || res.body === null) {
        await cancel();
        return { ...base, body: new Uint8Array(0) };
      }
      const body = res.body;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        const reader = body.getReader();
        let total = 0;
        try {
          for (;;) {
            let r: Awaited<ReturnType<typeof reader.read>>;
            try {
              r = await reader.read();
            } catch (e) {
              throw unreachable(
                where,
                controller.signal.aborted ? `the body stalled for ${timeoutMs} ms` : describe(e),
                e,
              );
            }
            if (r.done) return;
            rearm();
            total += r.value.byteLength;
            // Endless data: stop the moment the bound is passed. An error answer's body is only
            // informative: it is cut at the bound rather than refused.
            if (total > req.maxBytes) {
              if (!success) return;
              throw tooLarge(where, req.maxBytes);
            }
            yield r.value;
          }
        } finally {
          clearTimeout(timer);
          await reader.cancel().catch(() => {});
        }
      }
      if (req.response === "stream") return { ...base, body: new Uint8Array(0), stream: chunks() };
      const parts: Uint8Array[] = [];
      for await (const c of chunks()) parts.push(c);
      return { ...base, body: Buffer.concat(parts) };
    },
  };
}

function toReadableStream(src: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = src[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
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
    { cause },
  );
}

function describe(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}
