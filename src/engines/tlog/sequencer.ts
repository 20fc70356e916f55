// SPDX-License-Identifier: Apache-2.0
// The log's sequencer: batches submitted leaves by count and by time, makes each batch durable
// through the LogStorage port together with a C2SP tlog-checkpoint signed as a C2SP signed note
// (ed25519), and only then answers each submitter with its index, an RFC 9162 2.1.3 inclusion
// proof and the signed checkpoint covering it.
//
// One sequencer per storage: the in-memory tree is the writer's view. The SQLite/PostgreSQL
// adapters will elect the single sequencer with a database lock; the storage refuses an append
// whose start is not its size (ERR_TLOG_STORAGE_CONFLICT) as a last line of defence.
import { createPublicKey, type KeyObject } from "node:crypto";
import { type Clock, systemClock } from "../../core/clock.js";
import { CairnError, cairnError } from "../../core/errors.js";
import {
  ed25519NoteSigner,
  ed25519NoteVerifier,
  hashLeaf,
  MerkleTree,
  type NoteSigner,
  type NoteVerifier,
  openCheckpoint,
  serializeNote,
  signCheckpoint,
} from "../../formats/tlog/index.js";
import type { VerifiedEntry } from "./entries.js";
import type { LogStorage, StoredLeaf } from "./storage.js";

/** A timer the sequencer arms for time-based batching; injectable so tests control time. */
export interface BatchTimer {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** The real timer. It is armed only while entries wait, so it never keeps an idle process alive. */
export const systemTimer: BatchTimer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Default batch size bound; a batch is cut as soon as this many entries wait. Larger batches
 * share more index pages per commit: a SQLite log + store commit costs ~70 us per entry at 256
 * entries and ~50 at 512, ~50 again at 1,024 (CPU, runtime/tlog-sql.ts + store-sql.ts).
 */
export const DEFAULT_MAX_BATCH_SIZE = 512;
/** Default time bound: an entry waits at most this long for its batch to be cut. */
export const DEFAULT_MAX_BATCH_DELAY_MS = 25;
/**
 * Default quiet period: a batch is also cut once no entry arrived for this long. Clients that wait
 * for their answer before sending more (every HTTP client) cannot fill a batch by count: with the
 * time bound alone each batch waits it out, capping C such clients near C entries per bound
 * (64 at 25 ms: about 2,500 entries/s before any work). A short quiet period cuts the batch as
 * soon as they have all sent; while entries keep arriving the batch keeps filling, up to the bound
 * or the count, so batches stay large under load. Timers fire only when the event loop is free,
 * so a busy process does not cut early.
 */
export const DEFAULT_BATCH_QUIET_MS = 1;
/** Default bound on entries waiting or in flight; beyond it submit fails with ERR_TLOG_OVERLOADED. */
export const DEFAULT_MAX_PENDING = 16 * 1024;
/** Leaf hashes read per storage call when rebuilding the tree. */
export const RELOAD_CHUNK = 64 * 1024;

export interface SequencerOptions {
  storage: LogStorage;
  /** The checkpoint origin line, e.g. `log.example.com/cairn` (tlog-tiles "Parameters"). */
  origin: string;
  /** The log's Ed25519 private key. */
  key: KeyObject;
  /** The signed-note key name; default the origin. */
  keyName?: string;
  /** Cut a batch when this many entries wait (default DEFAULT_MAX_BATCH_SIZE). */
  maxBatchSize?: number;
  /** Cut a batch at most this long after its first entry arrived (default DEFAULT_MAX_BATCH_DELAY_MS). */
  maxBatchDelayMs?: number;
  /**
   * Also cut a batch once no entry arrived for this long (default DEFAULT_BATCH_QUIET_MS); not
   * used when it is not below maxBatchDelayMs (e.g. Infinity: the time bound alone).
   */
  batchQuietMs?: number;
  /** Entries waiting or in flight before submit refuses with ERR_TLOG_OVERLOADED. */
  maxPending?: number;
  /** The Retry-After the overload error suggests, in seconds (default 1). */
  retryAfterSeconds?: number;
  timer?: BatchTimer;
  /** Supplies each batch's integration time (default the system clock). */
  clock?: Clock;
  /**
   * More signers of every checkpoint, next to the log's own C2SP signature: e.g. the same key
   * under a Rekor-style key hint (engines/tlog/rekor.ts), so Sigstore clients can verify it.
   */
  extraSigners?: readonly NoteSigner[];
}

/** What a submitter gets once its entry is durable. */
export interface SubmitResult {
  index: number;
  leafHash: Buffer;
  /** The tree size the proof and checkpoint are for. */
  treeSize: number;
  /** RFC 9162 2.1.3.1 PATH(index, D[treeSize]). */
  inclusionProof: Buffer[];
  /** The signed checkpoint (signed-note text) of size treeSize. */
  checkpoint: string;
  /** True when the leaf was already in the log (or submitted twice in one batch). */
  duplicate: boolean;
  /** When the entry was integrated, Unix seconds (0 when the storage does not know). */
  integratedTime: number;
}

interface Pending {
  leaf: Buffer;
  leafHash: Buffer;
  resolve: (r: SubmitResult) => void;
  reject: (e: unknown) => void;
  promise: Promise<SubmitResult>;
}

function storageError(e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  return cairnError(
    "ERR_TLOG_STORAGE",
    `the log storage failed: ${(e as Error)?.message ?? e}`,
    {},
    { cause: e },
  );
}

/**
 * Sequences entries into the log. Create it with `Sequencer.open`, which rebuilds the tree from
 * storage and checks the stored checkpoint. `submit` may be called concurrently; batches are
 * written one at a time, in order.
 */
export class Sequencer {
  readonly origin: string;
  /** Verifies this log's checkpoints. */
  readonly verifier: NoteVerifier;
  private readonly signer: NoteSigner;
  private readonly storage: LogStorage;
  private readonly maxBatchSize: number;
  private readonly maxBatchDelayMs: number;
  private readonly batchQuietMs: number;
  private readonly maxPending: number;
  private readonly retryAfterSeconds: number;
  private readonly timer: BatchTimer;
  private readonly clock: Clock;
  private readonly extraSigners: readonly NoteSigner[];

  private tree = new MerkleTree();
  private committedSize = 0;
  private committedCheckpoint = "";
  // After a failed append the outcome is unknown: reload from storage before the next batch.
  private broken = false;
  private closed = false;

  private queue: Pending[] = [];
  // Entries waiting or in flight, by leaf hash (hex): a second submission shares the first's fate.
  private readonly inflight = new Map<string, Pending>();
  private timerHandle: unknown;
  // The quiet-period timer: re-armed at every arrival, it fires once arrivals pause.
  private quietHandle: unknown;
  private due = false;
  private running: Promise<void> | undefined;

  private constructor(opts: SequencerOptions) {
    this.storage = opts.storage;
    this.origin = opts.origin;
    const name = opts.keyName ?? opts.origin;
    this.signer = ed25519NoteSigner(name, opts.key);
    this.verifier = ed25519NoteVerifier(name, createPublicKey(opts.key));
    this.maxBatchSize = positive(opts.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE, "maxBatchSize");
    this.maxBatchDelayMs = opts.maxBatchDelayMs ?? DEFAULT_MAX_BATCH_DELAY_MS;
    if (!(this.maxBatchDelayMs >= 0)) throw cairnError("ERR_USAGE", "maxBatchDelayMs must be >= 0");
    this.batchQuietMs = opts.batchQuietMs ?? DEFAULT_BATCH_QUIET_MS;
    if (!(this.batchQuietMs >= 0)) throw cairnError("ERR_USAGE", "batchQuietMs must be >= 0");
    this.maxPending = positive(opts.maxPending ?? DEFAULT_MAX_PENDING, "maxPending");
    this.retryAfterSeconds = opts.retryAfterSeconds ?? 1;
    this.timer = opts.timer ?? systemTimer;
    this.clock = opts.clock ?? systemClock;
    this.extraSigners = opts.extraSigners ?? [];
  }

  /**
   * Opens the log on a storage: rebuilds the tree from the stored leaf hashes, checks that the
   * stored checkpoint is signed by this log's key and matches them, and stores a first (or
   * fresh) checkpoint when none covers the stored size. Throws the storage's errors,
   * ERR_NOTE_SIGNATURE_INVALID or ERR_TLOG_CHECKPOINT_INVALID (a checkpoint by another key or
   * origin, or one that does not match the entries: the storage belongs to another log or is corrupt).
   */
  static async open(opts: SequencerOptions): Promise<Sequencer> {
    const s = new Sequencer(opts);
    await s.reload();
    return s;
  }

  /** The size of the durable tree, covered by `checkpoint`. */
  get size(): number {
    return this.committedSize;
  }

  /** The latest durable signed checkpoint (signed-note text). */
  get checkpoint(): string {
    return this.committedCheckpoint;
  }

  /** Entries waiting or in flight. */
  get pending(): number {
    return this.inflight.size;
  }

  /**
   * Submits a verified entry (see entries.ts); resolves once it is durable. The entry's leaf hash
   * is the verifier's (`hashLeaf` of its leaf, computed where it was verified, e.g. on a verify
   * thread): it is not computed again, and the entry's leaf is not copied (a VerifiedEntry is not
   * changed after it was made).
   */
  submitEntry(entry: VerifiedEntry): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(cairnError("ERR_USAGE", "the sequencer is closed"));
    return this.enqueue(entry.leaf, entry.leafHash);
  }

  /**
   * Submits leaf data; resolves once the batch holding it is durable and a checkpoint covering it
   * is stored. Rejects with ERR_TLOG_OVERLOADED when too many entries are pending (retry after
   * `retryAfterSeconds`), ERR_USAGE after `close()`, or the storage's error for its batch (the
   * outcome is then unknown: resubmitting is safe, a stored entry comes back as a duplicate).
   */
  submit(leaf: Uint8Array): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(cairnError("ERR_USAGE", "the sequencer is closed"));
    const data = Buffer.from(leaf);
    return this.enqueue(data, hashLeaf(data));
  }

  private enqueue(data: Buffer, leafHash: Buffer): Promise<SubmitResult> {
    const key = leafHash.toString("hex");
    const same = this.inflight.get(key);
    if (same) return same.promise.then((r) => ({ ...r, duplicate: true }));
    if (this.inflight.size >= this.maxPending) {
      return Promise.reject(
        cairnError(
          "ERR_TLOG_OVERLOADED",
          `${this.inflight.size} entries are pending: retry after ${this.retryAfterSeconds} s`,
        ),
      );
    }
    let resolve!: (r: SubmitResult) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<SubmitResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = { leaf: data, leafHash, resolve, reject, promise };
    this.inflight.set(key, p);
    this.queue.push(p);
    this.armQuiet();
    this.kick();
    return promise;
  }

  /** Cuts a batch now with whatever waits, and resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.running) {
      if (this.queue.length > 0) this.due = true;
      this.kick();
      await this.running;
    }
  }

  /** Refuses new submissions, writes what waits, and stops the timer. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.clearTimer();
  }

  // Starts a batch when none is running and one is due: maxBatchSize entries wait, or the time
  // bound of a waiting entry passed (`due`, set by the timer and kept until the queue drains).
  private kick(): void {
    if (this.queue.length === 0) {
      this.due = false;
      this.clearTimer();
      return;
    }
    // The time bound runs from an entry's arrival, also while a batch is being written.
    if (!this.due && this.timerHandle === undefined) {
      this.timerHandle = this.timer.set(() => {
        this.timerHandle = undefined;
        this.due = true;
        this.kick();
      }, this.maxBatchDelayMs);
    }
    if (this.running) return;
    if (!this.due && this.queue.length < this.maxBatchSize) return;
    const batch = this.queue.splice(0, this.maxBatchSize);
    if (this.queue.length === 0) {
      this.due = false;
      this.clearTimer();
    } else {
      // Entries left behind by a full batch get a quiet period of their own.
      this.armQuiet();
    }
    this.running = this.runBatch(batch).finally(() => {
      this.running = undefined;
      this.kick();
    });
  }

  // (Re)starts the quiet period: when it passes with entries waiting, their batch is due.
  private armQuiet(): void {
    if (!(this.batchQuietMs < this.maxBatchDelayMs)) return;
    if (this.quietHandle !== undefined) this.timer.clear(this.quietHandle);
    this.quietHandle = this.timer.set(() => {
      this.quietHandle = undefined;
      if (this.queue.length === 0) return;
      this.due = true;
      this.kick();
    }, this.batchQuietMs);
  }

  private clearTimer(): void {
    if (this.timerHandle !== undefined) this.timer.clear(this.timerHandle);
    this.timerHandle = undefined;
    if (this.quietHandle !== undefined) this.timer.clear(this.quietHandle);
    this.quietHandle = undefined;
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const settle = (p: Pending) => this.inflight.delete(p.leafHash.toString("hex"));
    try {
      if (this.broken) await this.reload();
      const found = this.storage.findLeafHashes
        ? await this.storage.findLeafHashes(batch.map((p) => p.leafHash))
        : await Promise.all(batch.map((p) => this.storage.findLeafHash(p.leafHash)));
      const fresh = batch.filter((_, i) => found[i] === undefined);
      const time = Math.floor(this.clock.now().getTime() / 1000);
      const times = await Promise.all(found.map((f) => (f === undefined ? time : this.timeOf(f))));
      if (fresh.length > 0) {
        const start = this.committedSize;
        const leaves: StoredLeaf[] = fresh.map((p) => ({ data: p.leaf, leafHash: p.leafHash, time }));
        for (const l of leaves) this.tree.append(l.leafHash);
        const size = start + leaves.length;
        const note = this.sign(size);
        try {
          // Durability point: nobody is answered before this resolves.
          await this.storage.append({ start, leaves, checkpoint: { size, note } });
        } catch (e) {
          this.broken = true;
          throw storageError(e);
        }
        this.committedSize = size;
        this.committedCheckpoint = note;
      }
      const firstFresh = this.committedSize - fresh.length;
      const freshIndex = new Map(fresh.map((p, i) => [p, firstFresh + i]));
      batch.forEach((p, i) => {
        const index = found[i] ?? freshIndex.get(p)!;
        settle(p);
        p.resolve(this.answer(index, p.leafHash, found[i] !== undefined, times[i]!));
      });
    } catch (e) {
      for (const p of batch) {
        settle(p);
        p.reject(e);
      }
    }
  }

  private async timeOf(index: number): Promise<number> {
    if (!this.storage.readIntegratedTimes) return 0;
    return (await this.storage.readIntegratedTimes(index, index + 1))[0] ?? 0;
  }

  private answer(index: number, leafHash: Buffer, duplicate: boolean, integratedTime: number): SubmitResult {
    const treeSize = this.committedSize;
    return {
      index,
      leafHash,
      treeSize,
      inclusionProof: this.tree.inclusionProof(index, treeSize),
      checkpoint: this.committedCheckpoint,
      duplicate,
      integratedTime,
    };
  }

  private sign(size: number): string {
    const rootHash = this.tree.rootHash(size);
    return serializeNote(
      signCheckpoint({ origin: this.origin, size, rootHash, extensions: [] }, [
        this.signer,
        ...this.extraSigners,
      ]),
    );
  }

  // Rebuilds the writer's view from storage (at open, and after a failed append).
  private async reload(): Promise<void> {
    const head = await this.storage.head();
    const tree = new MerkleTree();
    for (let at = 0; at < head.size; at += RELOAD_CHUNK) {
      const hashes = await this.storage.readLeafHashes(at, Math.min(head.size, at + RELOAD_CHUNK));
      for (const h of hashes) tree.append(h);
    }
    let note: string | undefined;
    if (head.checkpoint) {
      const { checkpoint } = openCheckpoint(head.checkpoint.note, {
        log: this.verifier,
        origin: this.origin,
      });
      if (checkpoint.size !== head.checkpoint.size || checkpoint.size > head.size) {
        throw cairnError(
          "ERR_TLOG_CHECKPOINT_INVALID",
          "the stored checkpoint's size does not match the storage",
        );
      }
      if (!checkpoint.rootHash.equals(tree.rootHash(checkpoint.size))) {
        throw cairnError(
          "ERR_TLOG_CHECKPOINT_INVALID",
          "the stored checkpoint does not match the stored entries",
        );
      }
      if (checkpoint.size === head.size) note = head.checkpoint.note;
    }
    this.tree = tree;
    this.committedSize = head.size;
    if (note === undefined) {
      // A new log, or (for adapters that store checkpoints apart) one whose last checkpoint lags:
      // sign the stored size and store it before answering anyone.
      note = this.sign(head.size);
      await this.storage.append({ start: head.size, leaves: [], checkpoint: { size: head.size, note } });
    }
    this.committedCheckpoint = note;
    this.broken = false;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw cairnError("ERR_USAGE", `${name} must be a positive integer`);
  return n;
}
