// SPDX-License-Identifier: Apache-2.0
// The attestation store's search index port (DESIGN.md habit 7: ports are contracts) and an
// in-memory implementation, the reference for the SQL adapters (src/runtime/store-sql.ts).
// Issue 3, section 3: envelopes kept whole, indexed by subject digest, predicate type, signer and
// integrated time, searched with AND and paged in log-index order.
import { cairnError } from "../../core/errors.js";

/** One stored envelope with the keys it is indexed under. */
export interface IndexRecord {
  /** The envelope's index in the transparency log; the record's identity and sort key. */
  logIndex: number;
  /** The envelope exactly as submitted (JSON bytes). */
  envelope: Buffer;
  /** The Statement's predicateType. */
  predicateType: string;
  /** Every subject's every digest as `alg:value`, deduplicated. */
  subjectDigests: readonly string[];
  /** Signer keys: `key:<key id>` per verifying key; per certificate identity `identity:<san>`, and `oidc:<issuer> <san>` when it names an OIDC issuer. */
  signers: readonly string[];
  /** When the log accepted the envelope, Unix seconds (Rekor's integratedTime). */
  integratedTime: number;
}

/**
 * A validated search (AND of every key given), as the engine hands it to the port. Keys are index
 * values exactly as stored (`IndexRecord`); `since` is inclusive, `until` exclusive.
 */
export interface IndexQuery {
  subjectDigest?: string;
  predicateType?: string;
  signer?: string;
  since?: number;
  until?: number;
  /** Only log indexes strictly greater than this (-1 for the first page). */
  after: number;
  /** At most this many indexes (1..10000). */
  limit: number;
}

/**
 * The store's search index.
 *
 * Durability: `put` is durable when its promise resolves, and atomic: after a crash either the
 * envelope and all of its keys are stored, or nothing is (a search never finds a record `get`
 * cannot return). Idempotent: putting the same envelope bytes at the same log index again is a
 * no-op, so a caller unsure whether a put landed (a timeout) simply repeats it.
 *
 * Concurrency: any number of concurrent readers and writers (records are keyed by log index,
 * which the log's single sequencer hands out). Searches see each record whole or not at all.
 *
 * Errors (every method): ERR_STORE_STORAGE (transport) when the backend failed or is unreachable;
 * `put` also ERR_STORE_CONFLICT (internal) when other envelope bytes are stored at that log index
 * (never overwritten: the log would disagree with the store). Nothing retries on its own.
 */
export interface SearchIndex {
  /** Stores a record and its keys (see above). */
  put(record: IndexRecord): Promise<void>;
  /**
   * Optional group commit: stores several records (distinct log indexes) with `put`'s semantics
   * each, in as few durable transactions as the adapter can (one when none is stored yet).
   * Rejects as a whole with `put`'s errors; repeating it is safe.
   */
  putMany?(records: readonly IndexRecord[]): Promise<void>;
  /** The log indexes matching every key of `q`, ascending, each > `q.after`, at most `q.limit`. */
  search(q: IndexQuery): Promise<number[]>;
  /** The record at a log index, or undefined. */
  get(logIndex: number): Promise<IndexRecord | undefined>;
  /**
   * Optional batch read for a page of search results: the records at these log indexes (at most
   * 10000), those stored, in ascending log-index order, in a fixed number of queries (no query per
   * record). Same records as `get` for each index.
   */
  getMany?(logIndexes: readonly number[]): Promise<IndexRecord[]>;
  /**
   * Optional, for back-fills (signer keys of records stored before the store indexed them, e.g.
   * certificate identities): adds signer keys to the record at a log index, durably; keys it has
   * are skipped; a no-op when no record is there.
   */
  addSigners?(logIndex: number, signers: readonly string[]): Promise<void>;
  /** Optional: the next log index of a named back-fill, or undefined when it is done. */
  backfillNext?(name: string): Promise<number | undefined>;
  /** Optional: records a back-fill's progress (durably); undefined marks it done. */
  setBackfillNext?(name: string, next: number | undefined): Promise<void>;
}

/** Whether a record matches every key of a query (not the page bounds). Shared by adapters' tests. */
export function recordMatches(r: IndexRecord, q: Omit<IndexQuery, "after" | "limit">): boolean {
  return (
    (q.subjectDigest === undefined || r.subjectDigests.includes(q.subjectDigest)) &&
    (q.predicateType === undefined || r.predicateType === q.predicateType) &&
    (q.signer === undefined || r.signers.includes(q.signer)) &&
    (q.since === undefined || r.integratedTime >= q.since) &&
    (q.until === undefined || r.integratedTime < q.until)
  );
}

function copyRecord(r: IndexRecord): IndexRecord {
  return {
    logIndex: r.logIndex,
    envelope: Buffer.from(r.envelope),
    predicateType: r.predicateType,
    subjectDigests: [...r.subjectDigests],
    signers: [...r.signers],
    integratedTime: r.integratedTime,
  };
}

/**
 * A search index in memory (tests, `--dev`): a linear scan in log-index order, so only for small
 * stores. Records are copied in and out, so callers cannot change what is stored.
 */
export class MemorySearchIndex implements SearchIndex {
  private readonly records = new Map<number, IndexRecord>();
  // Log indexes, ascending.
  private readonly order: number[] = [];

  async put(record: IndexRecord): Promise<void> {
    const have = this.records.get(record.logIndex);
    if (have) {
      if (have.envelope.equals(record.envelope)) return;
      throw cairnError("ERR_STORE_CONFLICT", `log index ${record.logIndex} already holds another envelope`);
    }
    this.records.set(record.logIndex, copyRecord(record));
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.order[mid]! < record.logIndex) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, record.logIndex);
  }

  async search(q: IndexQuery): Promise<number[]> {
    const out: number[] = [];
    for (const i of this.order) {
      if (out.length >= q.limit) break;
      if (i > q.after && recordMatches(this.records.get(i)!, q)) out.push(i);
    }
    return out;
  }

  async get(logIndex: number): Promise<IndexRecord | undefined> {
    const r = this.records.get(logIndex);
    return r && copyRecord(r);
  }

  async addSigners(logIndex: number, signers: readonly string[]): Promise<void> {
    const r = this.records.get(logIndex);
    if (r) r.signers = [...new Set([...r.signers, ...signers])];
  }

  async getMany(logIndexes: readonly number[]): Promise<IndexRecord[]> {
    return [...new Set(logIndexes)]
      .sort((a, b) => a - b)
      .flatMap((i) => {
        const r = this.records.get(i);
        return r ? [copyRecord(r)] : [];
      });
  }
}
