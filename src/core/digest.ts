// SPDX-License-Identifier: Apache-2.0
// Digests and digest sets (in-toto DigestSet: algorithm name -> lowercase hex), streaming file
// hashing in bounded memory, and parallel hashing of many files.
import { createHash, type Hash } from "node:crypto";
import { open } from "node:fs/promises";
import { cairnError } from "./errors.js";

export type DigestAlgorithm = "sha256" | "sha384" | "sha512" | "sha224" | "sha1";
/** in-toto DigestSet: algorithm -> hex digest. */
export type DigestSet = Record<string, string>;

export const SUPPORTED_DIGESTS: readonly DigestAlgorithm[] = ["sha256", "sha384", "sha512", "sha224", "sha1"];

/** Throws ERR_DIGEST_UNSUPPORTED unless every name is a digest cairn computes. */
export function checkDigestAlgorithms(names: readonly string[]): DigestAlgorithm[] {
  for (const n of names) {
    if (!(SUPPORTED_DIGESTS as readonly string[]).includes(n)) {
      throw cairnError("ERR_DIGEST_UNSUPPORTED", `digest algorithm "${n}" is not supported`, {
        field: "hash algorithms",
      });
    }
  }
  return names as DigestAlgorithm[];
}

export function digestBytes(alg: DigestAlgorithm, data: Uint8Array | string): Buffer {
  return createHash(alg).update(data).digest();
}

export function digestHex(alg: DigestAlgorithm, data: Uint8Array | string): string {
  return createHash(alg).update(data).digest("hex");
}

export function digestSetOf(data: Uint8Array, algorithms: readonly DigestAlgorithm[]): DigestSet {
  const out: DigestSet = {};
  for (const a of algorithms) out[a] = digestHex(a, data);
  return out;
}

/** Options for hashing files. */
export interface HashFileOptions {
  algorithms?: readonly DigestAlgorithm[];
  /** Replace CRLF and lone CR with LF before hashing, as securesystemslib's normalize_line_endings. */
  normalizeLineEndings?: boolean;
}

/** Chunk size for streaming: memory per file in flight is bounded by this. */
export const HASH_CHUNK_BYTES = 1024 * 1024;

/** Streams a file through every hash in bounded memory (one chunk buffer per file). */
export async function hashFile(path: string, opts: HashFileOptions = {}): Promise<DigestSet> {
  // Algorithm names may come from untrusted input at runtime: refuse md5 and unknown names.
  const algorithms = checkDigestAlgorithms(opts.algorithms ?? ["sha256"]);
  const hashes: Hash[] = algorithms.map((a) => createHash(a));
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    let pendingCR = false;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let chunk: Buffer = buf.subarray(0, bytesRead);
      if (opts.normalizeLineEndings) {
        const r = normalizeChunk(chunk, pendingCR);
        chunk = r.out;
        pendingCR = r.pendingCR;
      }
      for (const h of hashes) h.update(chunk);
    }
    if (pendingCR) for (const h of hashes) h.update("\n");
  } finally {
    await fh.close();
  }
  const out: DigestSet = {};
  algorithms.forEach((a, i) => {
    out[a] = hashes[i]!.digest("hex");
  });
  return out;
}

/**
 * CRLF -> LF and lone CR -> LF across chunk boundaries: a CR at the end of a chunk is held
 * back until the next byte shows whether it starts a CRLF.
 */
export function normalizeChunk(chunk: Buffer, pendingCR: boolean): { out: Buffer; pendingCR: boolean } {
  // An empty chunk says nothing about whether a held-back CR starts a CRLF: keep holding it.
  if (chunk.length === 0) return { out: chunk, pendingCR };
  const out = Buffer.allocUnsafe(chunk.length + 1);
  let n = 0;
  let i = 0;
  if (pendingCR) {
    out[n++] = 10;
    if (chunk[0] === 10) i = 1;
  }
  let pending = false;
  for (; i < chunk.length; i++) {
    const c = chunk[i]!;
    if (c === 13) {
      if (i + 1 === chunk.length) {
        pending = true;
        break;
      }
      out[n++] = 10;
      if (chunk[i + 1] === 10) i++;
    } else out[n++] = c;
  }
  return { out: out.subarray(0, n), pendingCR: pending };
}

/**
 * Hashes many files with at most `concurrency` open at a time; results in input order.
 * `onProgress` is called after each file.
 */
export async function hashFiles(
  paths: readonly string[],
  opts: HashFileOptions & { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<DigestSet[]> {
  const results: DigestSet[] = new Array(paths.length);
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const i = next++;
      results[i] = await hashFile(paths[i]!, opts);
      done++;
      opts.onProgress?.(done, paths.length);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}
