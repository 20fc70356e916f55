// SPDX-License-Identifier: Apache-2.0
// The blob thread of hash-writer.ts: hashes and writes a blob's bytes into its temp file, and
// for a blob pulled from a registry also makes the GET itself (registryHttp, the same port as on
// the main thread) so that the socket read, the hash and the write of every byte happen here, in
// one pass over each chunk as it arrives, and the main thread touches no blob byte at all.
//
// This module is the worker's entry: hash-writer.ts starts a worker on this very file (its URL,
// from a dynamic import, so the CLI bundle keeps it in a chunk of its own) with `workerData.role`
// set; imported anywhere else it does nothing. It and what it imports (hash-writer.ts,
// registry-http.ts) take only types from the engine: one value from the engine's index would load
// the whole engine into every thread (measured: 15 MB more per thread, GC 0.1 s -> 0.5 s per GiB).
//
// State per blob id: the file descriptor, the hash, the write position, the most bytes allowed, and a
// response whose headers are in and whose body waits for `fill` (or `cancel`).
import { createHash, type Hash } from "node:crypto";
import { ftruncateSync, writeSync } from "node:fs";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { CairnError, cairnError } from "../core/errors.js";
import type { HttpPort, HttpResponse } from "../engines/oci/index.js";
import { type BlobOp, type Reply, WRITE_SLICE_BYTES } from "./hash-writer.js";
import { registryHttp } from "./registry-http.js";

/** The `workerData.role` that makes this module run as the blob thread. */
export const BLOB_WORKER_ROLE = "cairn-blob-worker";
/** This module's URL: the entry of the blob threads. */
export const BLOB_WORKER_URL: string = import.meta.url;

/** A fill reports the bytes written after about this many more (progress bars). */
export const FILL_PROGRESS_BYTES = 4 * 1024 * 1024;

interface OpenBlob {
  fd: number;
  alg: string;
  hash: Hash;
  pos: number;
  limit: number | undefined;
  res: HttpResponse | undefined;
}

function writeAt(b: OpenBlob, chunk: Uint8Array): void {
  if (b.limit !== undefined && b.pos + chunk.byteLength > b.limit) {
    throw cairnError("ERR_OCI_TOO_LARGE", `blob is longer than the expected ${b.limit} bytes`);
  }
  b.hash.update(chunk);
  for (let off = 0; off < chunk.byteLength; ) {
    const n = writeSync(b.fd, chunk, off, Math.min(WRITE_SLICE_BYTES, chunk.byteLength - off), b.pos);
    off += n;
    b.pos += n;
  }
}

function errorOf(e: unknown): { code?: string; message: string } {
  if (e instanceof CairnError) return { code: e.code, message: e.message };
  const err = e as NodeJS.ErrnoException;
  return { message: `cannot write blob: ${err?.code ?? err?.message ?? String(e)}` };
}

function serve(): void {
  const port = parentPort;
  if (port === null) return;
  const blobs = new Map<number, OpenBlob>();
  const https = new Map<number, HttpPort>();
  const httpFor = (timeoutMs: number | undefined): HttpPort => {
    const key = timeoutMs ?? -1;
    let h = https.get(key);
    if (h === undefined) {
      h = registryHttp(timeoutMs === undefined ? {} : { timeoutMs });
      https.set(key, h);
    }
    return h;
  };
  const blobOf = (id: number): OpenBlob => {
    const b = blobs.get(id);
    if (b === undefined) throw cairnError("ERR_INTERNAL", `blob ${id} is not open in the blob thread`);
    return b;
  };
  const handle = async (m: BlobOp, reply: (r: Omit<Reply, "seq">, transfer?: ArrayBuffer[]) => void) => {
    switch (m.op) {
      case "open":
        blobs.set(m.id, {
          fd: m.fd,
          alg: m.alg,
          hash: createHash(m.alg),
          pos: 0,
          limit: m.limit,
          res: undefined,
        });
        reply({});
        return;
      case "write": {
        const b = blobOf(m.id);
        try {
          writeAt(b, Buffer.from(m.buf, 0, m.len));
        } catch (e) {
          reply({ error: errorOf(e), written: b.pos, buf: m.buf }, [m.buf]);
          return;
        }
        reply({ written: b.pos, buf: m.buf }, [m.buf]);
        return;
      }
      case "reset": {
        const b = blobOf(m.id);
        ftruncateSync(b.fd, 0);
        b.hash = createHash(b.alg);
        b.pos = 0;
        reply({ written: 0 });
        return;
      }
      case "digest": {
        const b = blobOf(m.id);
        blobs.delete(m.id);
        reply({ digest: b.hash.digest("hex"), written: b.pos });
        return;
      }
      case "drop":
      case "cancel": {
        const b = blobs.get(m.id);
        const res = b?.res;
        if (b !== undefined) b.res = undefined;
        if (m.op === "drop") blobs.delete(m.id);
        await res?.cancel();
        reply({});
        return;
      }
      case "fetch": {
        const b = blobOf(m.id);
        await b.res?.cancel();
        b.res = undefined;
        const res = await httpFor(m.timeoutMs).request({
          method: m.method,
          url: m.url,
          headers: m.headers,
          maxBytes: m.maxBytes,
          response: "stream",
        });
        const head = { status: res.status, headers: res.headers, url: res.url };
        if (res.status >= 200 && res.status < 300 && m.method === "GET") {
          b.res = res;
          reply({ ...head, held: true });
          return;
        }
        // Not a body for the blob: an error answer, informative only. Its start goes back (as
        // much as the client reads of one); the rest, however long, is never read.
        const parts: Uint8Array[] = [];
        let kept = 0;
        try {
          for await (const c of res.stream ?? []) {
            parts.push(c);
            kept += c.byteLength;
            if (kept >= m.errorBytes) break;
          }
        } catch {
          // what arrived is enough to describe the error
        }
        await res.cancel();
        reply({ ...head, body: Buffer.concat(parts).subarray(0, m.errorBytes) });
        return;
      }
      case "fill": {
        const b = blobOf(m.id);
        const res = b.res;
        b.res = undefined;
        if (res === undefined) throw cairnError("ERR_INTERNAL", "no answer to fill the blob from");
        let next = b.pos + FILL_PROGRESS_BYTES;
        try {
          for await (const chunk of res.stream ?? []) {
            writeAt(b, chunk);
            if (b.pos >= next) {
              reply({ progress: true, written: b.pos });
              next = b.pos + FILL_PROGRESS_BYTES;
            }
          }
        } catch (e) {
          await res.cancel();
          reply({ error: errorOf(e), written: b.pos });
          return;
        }
        reply({ written: b.pos });
        return;
      }
    }
  };
  port.on("message", (m: BlobOp & { seq: number }) => {
    const reply = (r: Omit<Reply, "seq">, transfer: ArrayBuffer[] = []) =>
      port.postMessage({ ...r, seq: m.seq }, transfer);
    handle(m, reply).catch((e: unknown) => reply({ error: errorOf(e) }));
  });
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === BLOB_WORKER_ROLE) serve();
