// SPDX-License-Identifier: Apache-2.0
// Verification of log submissions on worker threads (verify-worker.ts): a small pool, one thread
// per core but one (the main thread keeps HTTP and the sequencer), at least one. The log
// (engines/lognode) takes it as its `verify` port; only entries a thread verified reach the
// sequencer. Threads start on first use and never keep an idle process alive.
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { cairnError, ERROR_CATALOG, type ErrorCode } from "../core/errors.js";
import {
  DEFAULT_MAX_PENDING,
  type EntryLimits,
  type VerifiedBytesEntry,
  type VerifiedEntry,
} from "../engines/tlog/index.js";
import { type Packed, unpack } from "./packed.js";
import { startModuleWorker } from "./worker-start.js";

/**
 * A submission for a verify thread: parsed (`input`, structured-cloned), or its JSON bytes
 * (`bytes`, transferred: the thread parses them).
 */
export interface VerifyRequest {
  seq: number;
  input?: unknown;
  bytes?: ArrayBuffer;
}

/**
 * A verify thread's answer: the verified entry, or the error verification raised. An entry's
 * byte strings travel in the message's `bytes` (see VerifyReplies), not here.
 */
export interface VerifyReply {
  seq: number;
  entry?: Pick<VerifiedBytesEntry, "kind" | "indexed"> & { envelopeJson: boolean };
  error?: { code?: string; message: string; field?: string };
}

/**
 * One message of answers: for each entry answered, in order, its leaf, leaf hash and envelope
 * JSON (empty when it has none) packed in one transferred buffer (runtime/packed.ts: cloned, each
 * Buffer would take its whole backing store along, 8 KiB for a slice of Node's pool).
 */
export interface VerifyReplies {
  replies: VerifyReply[];
  bytes: Packed;
}

/** Threads by default: the cores but one, at least one. */
export function defaultVerifyThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** A verify thread on verify-worker.ts (runtime/worker-start.ts). */
async function startWorker(limits: EntryLimits): Promise<Worker> {
  const { VERIFY_WORKER_ROLE, VERIFY_WORKER_URL } = await import("./verify-worker.js");
  return startModuleWorker(VERIFY_WORKER_URL, { role: VERIFY_WORKER_ROLE, limits });
}

function errorFrom(e: NonNullable<VerifyReply["error"]>): Error {
  const code = e.code !== undefined && e.code in ERROR_CATALOG ? (e.code as ErrorCode) : "ERR_INTERNAL";
  return cairnError(code, e.message, e.field === undefined ? {} : { field: e.field });
}

class VerifyThread {
  readonly worker: Promise<Worker>;
  readonly pending = new Map<
    number,
    { resolve: (e: VerifiedBytesEntry) => void; reject: (e: unknown) => void }
  >();
  dead = false;
  // Submissions waiting to be posted: everything that arrives in one turn of the event loop goes
  // in one message (measured: a message per entry cost more CPU than the verification it moved).
  private batch: VerifyRequest[] = [];
  // The request bodies the batch hands over (transferred, not copied).
  private transfer: ArrayBuffer[] = [];

  constructor(limits: EntryLimits, onDeath: (t: VerifyThread) => void) {
    this.worker = startWorker(limits).then((w) => {
      w.unref();
      w.on("message", (m: VerifyReplies) => {
        const bytes = unpack(m.bytes);
        let at = 0;
        for (const r of m.replies) {
          const e = r.entry;
          // This entry's byte strings, taken whether or not anyone still waits for it.
          const [leaf, leafHash, envelopeJson] = e === undefined ? [] : bytes.slice(at, at + 3);
          if (e !== undefined) at += 3;
          const p = this.pending.get(r.seq);
          if (p === undefined) continue;
          this.pending.delete(r.seq);
          if (r.error !== undefined || e === undefined) {
            p.reject(errorFrom(r.error ?? { message: "the verify thread answered nothing" }));
            continue;
          }
          p.resolve({
            kind: e.kind,
            leaf: leaf!,
            leafHash: leafHash!,
            ...(e.indexed ? { indexed: e.indexed } : {}),
            ...(e.envelopeJson ? { envelopeJson: envelopeJson! } : {}),
          });
        }
        if (this.pending.size === 0) w.unref();
      });
      const fail = (e: unknown) => {
        this.dead = true;
        onDeath(this);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      w.on("error", (e) => fail(cairnError("ERR_INTERNAL", `a verify thread failed: ${e.message}`)));
      w.on("exit", () => fail(cairnError("ERR_INTERNAL", "a verify thread exited")));
      return w;
    });
    this.worker.catch(() => {
      this.dead = true;
      onDeath(this);
    });
  }

  /**
   * Queues a request, posted with the others of this turn of the event loop (its `bytes`
   * transferred with them).
   */
  post(w: Worker, req: VerifyRequest): void {
    this.batch.push(req);
    if (req.bytes !== undefined) this.transfer.push(req.bytes);
    if (this.batch.length === 1) setImmediate(() => this.flush(w));
  }

  private flush(w: Worker): void {
    const b = this.batch;
    const t = this.transfer;
    this.batch = [];
    this.transfer = [];
    w.postMessage(b, t);
  }
}

/** `bytes` in an ArrayBuffer of their own, which can be transferred (a pool slice is copied). */
function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const ab = bytes.buffer;
  if (ab instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === ab.byteLength) return ab;
  const own = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(own).set(bytes);
  return own;
}

/**
 * Submission verification (tlog `verifySubmission`) on `threads` worker threads. `verify` resolves
 * with the entry (leaf, leaf hash, the store's index keys; not the parsed envelope or statement)
 * or rejects with verification's own error (code, message, field), as on the main thread.
 */
export class VerifyThreads {
  readonly size: number;
  private threads: VerifyThread[] = [];
  private seq = 0;
  private closed = false;
  // Submissions handed to the threads and not yet answered (each holds its request body).
  private inFlight = 0;

  constructor(
    private readonly limits: EntryLimits = {},
    threads = defaultVerifyThreads(),
    /** Submissions waiting at most; beyond them `verify` refuses with ERR_TLOG_OVERLOADED. */
    private readonly maxPending = DEFAULT_MAX_PENDING,
  ) {
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw cairnError("ERR_USAGE", "the verify threads are a positive integer");
    this.size = threads;
  }

  /**
   * Verifies one submission on the thread with the fewest waiting. Refuses with
   * ERR_TLOG_OVERLOADED (HTTP 503, Retry-After) while maxPending submissions wait: a queue that
   * grew without bound would hold every waiting request body in memory.
   */
  async verify(input: unknown): Promise<VerifiedEntry> {
    return this.submit({ input });
  }

  /**
   * `verify` of a submission given as its JSON bytes (tlog `verifySubmissionBytes`: parsed on
   * the thread, with the limits' maxSubmissionBytes), resolving also with the envelope as JSON
   * for the store. The bytes are handed to the thread: when they fill their whole ArrayBuffer it
   * is transferred (detached here: the caller must not read them again); a slice (e.g. of Node's
   * Buffer pool) is copied first.
   */
  verifyBytes(bytes: Uint8Array): Promise<VerifiedBytesEntry> {
    if (this.closed) return Promise.reject(cairnError("ERR_USAGE", "the verify threads are closed"));
    return this.submit({ bytes: ownArrayBuffer(bytes) });
  }

  private async submit(req: Omit<VerifyRequest, "seq">): Promise<VerifiedBytesEntry> {
    if (this.closed) throw cairnError("ERR_USAGE", "the verify threads are closed");
    if (this.inFlight >= this.maxPending) {
      throw cairnError(
        "ERR_TLOG_OVERLOADED",
        `${this.inFlight} submissions wait for verification: retry later`,
      );
    }
    this.inFlight++;
    try {
      return await this.verifyOn(req);
    } finally {
      this.inFlight--;
    }
  }

  private async verifyOn(req: Omit<VerifyRequest, "seq">): Promise<VerifiedBytesEntry> {
    const t = this.pick();
    const w = await t.worker;
    const seq = ++this.seq;
    return new Promise<VerifiedBytesEntry>((resolve, reject) => {
      if (t.dead) {
        reject(cairnError("ERR_INTERNAL", "a verify thread exited"));
        return;
      }
      t.pending.set(seq, { resolve, reject });
      // Referenced while an answer is awaited, so the process does not exit under a submission.
      w.ref();
      t.post(w, { seq, ...req });
    });
  }

  /** Stops the threads (what waits on them is rejected). */
  async close(): Promise<void> {
    this.closed = true;
    const ts = this.threads;
    this.threads = [];
    await Promise.allSettled(ts.map(async (t) => (await t.worker).terminate()));
  }

  private pick(): VerifyThread {
    if (this.threads.length < this.size) {
      const t = new VerifyThread(this.limits, (dead) => {
        this.threads = this.threads.filter((x) => x !== dead);
      });
      this.threads.push(t);
      return t;
    }
    let best = this.threads[0]!;
    for (const t of this.threads) if (t.pending.size < best.pending.size) best = t;
    return best;
  }
}
