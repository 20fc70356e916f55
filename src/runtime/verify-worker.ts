// SPDX-License-Identifier: Apache-2.0
// The verify thread of verify-threads.ts: checks log submissions (tlog `verifySubmission`: the
// signatures, the in-toto payload, the leaf and its hash) off the main thread, which meanwhile
// parses HTTP requests and sequences what was verified.
//
// This module is the worker's entry: verify-threads.ts starts a worker on this very file (its URL,
// from a dynamic import, so the CLI bundle keeps it in a chunk of its own) with `workerData.role`
// set; imported anywhere else it does nothing. It imports the entry verifier itself, not the tlog
// engine's index, so a thread loads no more than verification needs.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { CairnError } from "../core/errors.js";
import {
  type EntryLimits,
  type VerifiedBytesEntry,
  verifySubmission,
  verifySubmissionBytes,
} from "../engines/tlog/entries.js";
import type { VerifyReply, VerifyRequest } from "./verify-threads.js";

/** The `workerData.role` that makes this module run as a verify thread. */
export const VERIFY_WORKER_ROLE = "cairn-verify-worker";
/** This module's URL: the entry of the verify threads. */
export const VERIFY_WORKER_URL: string = import.meta.url;

function answer(req: VerifyRequest, limits: EntryLimits): VerifyReply {
  try {
    const e: VerifiedBytesEntry =
      req.bytes !== undefined
        ? verifySubmissionBytes(new Uint8Array(req.bytes), limits)
        : verifySubmission(req.input, limits);
    // What the main thread needs: the leaf, its hash, the store's index keys and, for a body
    // parsed here, the envelope as JSON for the store. The parsed envelope, statement and link
    // stay here.
    return {
      seq: req.seq,
      entry: {
        kind: e.kind,
        leaf: e.leaf,
        leafHash: e.leafHash,
        ...(e.indexed
          ? {
              indexed: {
                payload: {
                  predicateType: e.indexed.payload.predicateType,
                  digests: e.indexed.payload.digests,
                },
                keyids: e.indexed.keyids,
              },
            }
          : {}),
        ...(e.envelopeJson ? { envelopeJson: e.envelopeJson } : {}),
      },
    };
  } catch (err) {
    if (err instanceof CairnError) {
      return {
        seq: req.seq,
        error: {
          code: err.code,
          message: err.message,
          ...(err.field === undefined ? {} : { field: err.field }),
        },
      };
    }
    return { seq: req.seq, error: { message: (err as Error)?.message ?? String(err) } };
  }
}

function serve(): void {
  const port = parentPort;
  if (port === null) return;
  const limits = ((workerData as { limits?: EntryLimits }).limits ?? {}) as EntryLimits;
  // A batch in, one message of answers out: one wake-up of each thread per batch, not per entry.
  port.on("message", (reqs: VerifyRequest[]) => {
    const replies = reqs.map((r) => answer(r, limits));
    const pack = packBytes(replies);
    port.postMessage(replies, pack === undefined ? [] : [pack]);
  });
}

/**
 * Moves the answers' leaves, leaf hashes and envelopes into one ArrayBuffer, transferred with the
 * answers: structured cloning a Buffer copies its whole backing store (a leaf or hash in Node's
 * 8 KiB pool carried the pool), three per entry, and the copies stayed alive as long as the
 * main thread kept the entry.
 */
export function packBytes(replies: VerifyReply[]): ArrayBuffer | undefined {
  let total = 0;
  for (const r of replies) {
    const e = r.entry;
    if (e) total += e.leaf.byteLength + e.leafHash.byteLength + (e.envelopeJson?.byteLength ?? 0);
  }
  if (total === 0) return undefined;
  const pack = new ArrayBuffer(total);
  const all = Buffer.from(pack);
  let at = 0;
  const place = (b: Buffer): Buffer => {
    b.copy(all, at);
    const view = all.subarray(at, at + b.byteLength);
    at += b.byteLength;
    return view;
  };
  for (const r of replies) {
    const e = r.entry;
    if (!e) continue;
    e.leaf = place(e.leaf);
    e.leafHash = place(e.leafHash);
    if (e.envelopeJson) e.envelopeJson = place(e.envelopeJson);
  }
  return pack;
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === VERIFY_WORKER_ROLE) serve();
