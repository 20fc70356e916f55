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
import { pack } from "./packed.js";
import type { VerifyReplies, VerifyReply, VerifyRequest } from "./verify-threads.js";

/** The `workerData.role` that makes this module run as a verify thread. */
export const VERIFY_WORKER_ROLE = "cairn-verify-worker";
/** This module's URL: the entry of the verify threads. */
export const VERIFY_WORKER_URL: string = import.meta.url;

const NONE = new Uint8Array(0);

// An entry's answer and its byte strings (leaf, leaf hash, envelope JSON or nothing).
function answer(req: VerifyRequest, limits: EntryLimits): { reply: VerifyReply; bytes?: Uint8Array[] } {
  try {
    const e: VerifiedBytesEntry =
      req.bytes !== undefined
        ? verifySubmissionBytes(new Uint8Array(req.bytes), limits)
        : verifySubmission(req.input, limits);
    // What the main thread needs: the leaf, its hash, the store's index keys and, for a body
    // parsed here, the envelope as JSON for the store. The parsed envelope, statement and link
    // stay here.
    return {
      reply: {
        seq: req.seq,
        entry: {
          kind: e.kind,
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
          envelopeJson: e.envelopeJson !== undefined,
        },
      },
      bytes: [e.leaf, e.leafHash, e.envelopeJson ?? NONE],
    };
  } catch (err) {
    if (err instanceof CairnError) {
      return {
        reply: {
          seq: req.seq,
          error: {
            code: err.code,
            message: err.message,
            ...(err.field === undefined ? {} : { field: err.field }),
          },
        },
      };
    }
    return { reply: { seq: req.seq, error: { message: (err as Error)?.message ?? String(err) } } };
  }
}

function serve(): void {
  const port = parentPort;
  if (port === null) return;
  const limits = ((workerData as { limits?: EntryLimits }).limits ?? {}) as EntryLimits;
  // A batch in, one message of answers out: one wake-up of each thread per batch, not per entry.
  port.on("message", (reqs: VerifyRequest[]) => {
    const replies: VerifyReply[] = [];
    const strings: Uint8Array[] = [];
    for (const r of reqs) {
      const a = answer(r, limits);
      replies.push(a.reply);
      if (a.bytes) strings.push(...a.bytes);
    }
    const bytes = pack(strings);
    port.postMessage({ replies, bytes } satisfies VerifyReplies, [bytes.bytes]);
  });
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === VERIFY_WORKER_ROLE) serve();
