// SPDX-License-Identifier: Apache-2.0
// The transparency log's storage port (DESIGN.md habit 7: ports are contracts), an in-memory
// implementation, and a fault-injecting wrapper used by the crash-consistency tests.
import { cairnError } from "../../core/errors.js";
import { HASH_SIZE } from "../../formats/tlog/index.js";

/** One entry as it is stored: the leaf data and its RFC 6962 leaf hash HASH(0x00 || data). */
export interface StoredLeaf {
  data: Buffer;
  leafHash: Buffer;
  /**
   * When the sequencer integrated the entry, Unix seconds (Rekor's integratedTime; the search
   * store's time); 0 or absent when unknown. Not part of the leaf: the Merkle tree never sees it.
   */
  time?: number;
}

/** The latest signed checkpoint, as the storage keeps it. */
export interface StoredCheckpoint {
  /** The tree size the checkpoint covers. */
  size: number;
  /** The signed note text (C2SP tlog-checkpoint signed by the log). */
  note: string;
}

/** One atomic write: a batch of entries at [start, start + leaves.length) and the checkpoint covering them. */
export interface AppendBatch {
  /** The index of the first entry: must equal the stored size, or the append is refused. */
  start: number;
  /** May be empty (to store the first checkpoint of an empty log, or a re-signed one). */
  leaves: readonly StoredLeaf[];
  /** Must cover exactly start + leaves.length entries. */
  checkpoint: StoredCheckpoint;
}

/** What the storage holds when a sequencer starts. */
export interface StorageHead {
  /** The number of durable entries. */
  size: number;
  /** The checkpoint stored with the last append; undefined for a storage never written. */
  checkpoint: StoredCheckpoint | undefined;
}

/**
 * The storage port of a transparency log.
 *
 * Durability: an `append` is durable when its promise resolves; after that, a crash (process
 * killed, power lost) never loses the entries or the checkpoint. A batch is atomic: after a crash
 * either all of its entries and its checkpoint are stored, or none of them are (so the stored
 * checkpoint always covers exactly the stored entries). A rejected append has an unknown outcome
 * (a timeout may hide a commit): the writer must re-read `head()` before appending again.
 *
 * Concurrency: one writer (one sequencer) per storage. Reads may run concurrently with each other
 * and with an append, and see either the state before or after it, never a torn batch. The
 * SQLite/PostgreSQL adapters will elect the one sequencer with a database lock (PostgreSQL advisory
 * lock, SQLite's exclusive write transaction) and refuse a second writer; `append` checks `start`
 * against the stored size inside its transaction as a last line of defence.
 *
 * Errors (every method): ERR_TLOG_STORAGE (transport) when the backend failed or is unreachable;
 * ERR_TLOG_OVERLOADED (overload) when the backend asks callers to back off (HTTP 503 with
 * Retry-After, cf. tessera's ErrPushback); `append` also ERR_TLOG_STORAGE_CONFLICT (internal)
 * when `start` is not the stored size (another writer) and ERR_USAGE for a malformed batch; range
 * reads ERR_USAGE when the range is not within [0, size]. No method retries on its own: the
 * sequencer decides (a retry of an append is safe only after re-reading `head()`).
 */
export interface LogStorage {
  /** The durable size and checkpoint. */
  head(): Promise<StorageHead>;
  /** Appends a batch and replaces the checkpoint, atomically and durably (see above). */
  append(batch: AppendBatch): Promise<void>;
  /** The leaf data of entries [start, end). */
  readEntries(start: number, end: number): Promise<Buffer[]>;
  /** The leaf hashes of entries [start, end). */
  readLeafHashes(start: number, end: number): Promise<Buffer[]>;
  /** The index of the first entry with this leaf hash, or undefined (duplicate detection). */
  findLeafHash(leafHash: Uint8Array): Promise<number | undefined>;
  /** Optional: `findLeafHash` for many hashes in one round trip (a batch's duplicate check). */
  findLeafHashes?(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]>;
  /**
   * The integration times (Unix seconds, 0 when unknown) of entries [start, end), stored in the
   * same transaction as the entries. Optional: storages without it report no times.
   */
  readIntegratedTimes?(start: number, end: number): Promise<number[]>;
  /**
   * Optional batch read of scattered entries (POST /api/v1/log/entries/retrieve): the leaf data
   * and integration time (0 when unknown) of the entries at `indexes` (each below the size, at
   * most MAX_READ_AT of them, repeats allowed), in the order given, in a fixed number of round
   * trips instead of one per entry. ERR_USAGE when an index is not within [0, size).
   */
  readEntriesAt?(indexes: readonly number[]): Promise<{ data: Buffer; time: number }[]>;
  /**
   * Optional persistent hash index (POST /api/v1/index/retrieve): log indexes of the entries whose
   * `hashesOfLeaf` (rekor.ts) include `hash` (`sha256:<hex>`, or a certificate identity key
   * `identity:<san>` / `oidc:<issuer> <san>`), ascending, at most `limit`. Written
   * in the same transaction as the entries, so it never lags the log. Storages without it are
   * indexed in memory by the log node.
   */
  findByHash?(hash: string, limit: number): Promise<number[]>;
}

/** Checks a batch's shape; shared by adapters so they refuse the same things. */
export function checkAppendBatch(batch: AppendBatch): void {
  const { start, leaves, checkpoint } = batch;
  if (!Number.isSafeInteger(start) || start < 0) throw cairnError("ERR_USAGE", "start must be an index");
  for (const [i, l] of leaves.entries()) {
    if (
      !(l.data instanceof Uint8Array) ||
      !(l.leafHash instanceof Uint8Array) ||
      l.leafHash.length !== HASH_SIZE ||
      (l.time !== undefined && !(Number.isSafeInteger(l.time) && l.time >= 0))
    ) {
      throw cairnError("ERR_USAGE", `leaf ${i} needs data and a ${HASH_SIZE}-byte leaf hash`);
    }
  }
  if (checkpoint.size !== start + leaves.length || typeof checkpoint.note !== "string") {
    throw cairnError("ERR_USAGE", `the checkpoint must cover ${start + leaves.length} entries`);
  }
}

/** Most indexes one `readEntriesAt` call takes. */
export const MAX_READ_AT = 10_000;

/** Checks `readEntriesAt`'s indexes against the stored size (for adapters). */
export function checkIndexes(indexes: readonly number[], size: number): void {
  if (indexes.length > MAX_READ_AT) throw cairnError("ERR_USAGE", `at most ${MAX_READ_AT} indexes per read`);
  for (const i of indexes) {
    if (!Number.isSafeInteger(i) || i < 0 || i >= size) {
      throw cairnError("ERR_USAGE", `index ${i} is not within [0, ${size})`);
    }
  }
}

function checkRange(start: number, end: number, size: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > size) {
    throw cairnError("ERR_USAGE", `range [${start}, ${end}) is not within [0, ${size}]`);
  }
}

/**
 * Storage in memory: durable for as long as the object lives (tests, `--dev`, the reference for
 * the database adapters). Appends are atomic: the batch is checked before anything changes.
 */
export class MemoryLogStorage implements LogStorage {
  private readonly data: Buffer[] = [];
  private readonly hashes: Buffer[] = [];
  private readonly times: number[] = [];
  private readonly byHash = new Map<string, number>();
  private checkpoint: StoredCheckpoint | undefined;

  async head(): Promise<StorageHead> {
    return { size: this.data.length, checkpoint: this.checkpoint && { ...this.checkpoint } };
  }

  async append(batch: AppendBatch): Promise<void> {
    checkAppendBatch(batch);
    if (batch.start !== this.data.length) {
      throw cairnError(
        "ERR_TLOG_STORAGE_CONFLICT",
        `append at ${batch.start} but the storage holds ${this.data.length} entries`,
      );
    }
    for (const l of batch.leaves) {
      const index = this.data.length;
      // Copies: a caller mutating its buffers later must not change the log.
      this.data.push(Buffer.from(l.data));
      this.hashes.push(Buffer.from(l.leafHash));
      this.times.push(l.time ?? 0);
      const key = Buffer.from(l.leafHash).toString("hex");
      if (!this.byHash.has(key)) this.byHash.set(key, index);
    }
    this.checkpoint = { ...batch.checkpoint };
  }

  async readEntries(start: number, end: number): Promise<Buffer[]> {
    checkRange(start, end, this.data.length);
    return this.data.slice(start, end).map((b) => Buffer.from(b));
  }

  async readEntriesAt(indexes: readonly number[]): Promise<{ data: Buffer; time: number }[]> {
    checkIndexes(indexes, this.data.length);
    return indexes.map((i) => ({ data: Buffer.from(this.data[i]!), time: this.times[i]! }));
  }

  async readLeafHashes(start: number, end: number): Promise<Buffer[]> {
    checkRange(start, end, this.hashes.length);
    return this.hashes.slice(start, end).map((b) => Buffer.from(b));
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    return this.byHash.get(Buffer.from(leafHash).toString("hex"));
  }

  async readIntegratedTimes(start: number, end: number): Promise<number[]> {
    checkRange(start, end, this.times.length);
    return this.times.slice(start, end);
  }
}

/** How a fault-injecting storage misbehaves. */
export interface FaultPlan {
  /**
   * The 1-based number of the append at which the fault strikes; appends before it pass through.
   * After the fault every call fails with ERR_TLOG_STORAGE (the process is "dead") until `restart()`.
   */
  failAt: number;
  /**
   * "before": the fault strikes before the write (nothing stored). "after": the write is committed
   * but the caller never learns it (the crash hits between commit and acknowledgement).
   */
  when: "before" | "after";
}

/**
 * Wraps a storage and injects a crash at the k-th append (sunlight-style crash testing). Reads of
 * the wrapped storage after `restart()` show exactly what a restarted process would find.
 */
export class FaultyLogStorage implements LogStorage {
  private appends = 0;
  private dead = false;
  constructor(
    readonly inner: LogStorage,
    private plan: FaultPlan | undefined,
  ) {}

  /** The number of appends attempted so far (including the failed one). */
  get appendCount(): number {
    return this.appends;
  }

  /** True once the fault struck. */
  get crashed(): boolean {
    return this.dead;
  }

  /** "Restarts the process": clears the fault, optionally arming a new one. */
  restart(plan?: FaultPlan): void {
    this.dead = false;
    this.appends = 0;
    this.plan = plan;
  }

  private check(): void {
    if (this.dead) throw cairnError("ERR_TLOG_STORAGE", "injected fault: the storage is unreachable");
  }

  async head(): Promise<StorageHead> {
    this.check();
    return this.inner.head();
  }

  async append(batch: AppendBatch): Promise<void> {
    this.check();
    this.appends++;
    if (this.plan && this.appends === this.plan.failAt) {
      if (this.plan.when === "after") await this.inner.append(batch);
      this.dead = true;
      throw cairnError("ERR_TLOG_STORAGE", `injected fault at append ${this.appends} (${this.plan.when})`);
    }
    return this.inner.append(batch);
  }

  async readEntries(start: number, end: number): Promise<Buffer[]> {
    this.check();
    return this.inner.readEntries(start, end);
  }

  async readLeafHashes(start: number, end: number): Promise<Buffer[]> {
    this.check();
    return this.inner.readLeafHashes(start, end);
  }

  async findLeafHash(leafHash: Uint8Array): Promise<number | undefined> {
    this.check();
    return this.inner.findLeafHash(leafHash);
  }

  async readIntegratedTimes(start: number, end: number): Promise<number[]> {
    this.check();
    return this.inner.readIntegratedTimes
      ? this.inner.readIntegratedTimes(start, end)
      : new Array(end - start).fill(0);
  }
}
