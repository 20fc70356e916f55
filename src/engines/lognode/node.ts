// SPDX-License-Identifier: Apache-2.0
// One server process's view of a transparency log (issue 3, sections 1, 3 and 4): the sequencer
// when this process holds the log's sequencer lock, a read view (tiles, proofs, entries) kept in
// step with the storage, the attestation store for DSSE statements, and the Rekor v1 entry model
// (engines/tlog/rekor.ts). The HTTP layer (src/services) maps requests to these methods and
// errors to statuses; nothing here knows about HTTP.
//
// Several processes may serve one database: exactly one holds the sequencer lock and writes; the
// others serve reads and refuse writes with ERR_TLOG_SEQUENCER_LOCKED (HTTP 503 + Retry-After),
// so a client or load balancer retries, until the holder dies and one of them takes over.
import { createPublicKey, type KeyObject } from "node:crypto";
import { type Clock, systemClock } from "../../core/clock.js";
import { toBase64 } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import {
  ed25519NoteVerifier,
  ed25519Vkey,
  type NoteVerifier,
  parseCheckpoint,
  parseNote,
} from "../../formats/tlog/index.js";
import {
  AttestationStore,
  type PreparedEnvelope,
  type SearchIndex,
  type SearchPage,
  type StoreQuery,
} from "../store/index.js";
import {
  type CertificateIdentity,
  type EntryLimits,
  hashesOfLeaf,
  INTOTO_PAYLOAD_TYPE,
  identityIndexKeys,
  type LogStorage,
  MAX_IDENTITY_BYTES,
  MAX_READ_AT,
  rekorCheckpointSigner,
  rekorLogId,
  Sequencer,
  type SequencerOptions,
  type SubmitResult,
  signEntryTimestamp,
  TileServer,
  type VerifiedBytesEntry,
  type VerifiedEntry,
  verifyRekorProposedEntry,
  verifySubmission,
  verifySubmissionBytes,
} from "../tlog/index.js";

/** Envelopes per store group commit. */
const STORE_BATCH = 1024;

interface StoreItem {
  prepared: PreparedEnvelope;
  logIndex: number;
  integratedTime: number;
}

/** The store back-fill of certificate identities (store schema version 3). */
const IDENTITY_BACKFILL = "identities";

/** Entry data read per storage call while indexing hashes. */
const SYNC_CHUNK = 4096;
/** A follower re-reads the storage head at most this often when asked for something it lacks. */
export const DEFAULT_FOLLOWER_SYNC_MS = 200;

export interface LogNodeOptions {
  storage: LogStorage;
  /** The log's Ed25519 private key (checkpoints, SETs). */
  key: KeyObject;
  /** The checkpoint origin and signed-note key name. */
  origin: string;
  /** The attestation store's index; without it DSSE statements are logged but not searchable. */
  searchIndex?: SearchIndex;
  /** Largest envelope the store keeps (bytes). */
  maxEnvelopeBytes?: number;
  /** Bounds for cairn-native submissions. */
  entryLimits?: EntryLimits;
  /**
   * Verifies a cairn-native submission elsewhere (e.g. runtime `VerifyThreads`, on worker threads),
   * as `verifySubmission(input, entryLimits)` does, resolving with the entry's leaf, leaf hash and
   * index keys (`indexed`). Default: `verifySubmission` on the calling thread.
   */
  verify?: (input: unknown) => Promise<VerifiedEntry>;
  /**
   * Verifies a cairn-native submission given as its JSON bytes elsewhere (e.g. runtime
   * `VerifyThreads.verifyBytes`), as `verifySubmissionBytes(bytes, entryLimits)` does, resolving
   * with the entry's leaf, leaf hash, index keys and, for DSSE, the envelope as JSON. It may take
   * the bytes over (detach them). Default: `verifySubmissionBytes` on the calling thread.
   */
  verifyBytes?: (bytes: Uint8Array) => Promise<VerifiedBytesEntry>;
  /** Largest envelope a Rekor dsse entry may carry (bytes). */
  maxRekorEnvelopeBytes?: number;
  /** Sequencer batching options. */
  sequencer?: Pick<SequencerOptions, "maxBatchSize" | "maxBatchDelayMs" | "maxPending" | "retryAfterSeconds">;
  clock?: Clock;
}

/** A Rekor v1 LogEntry (openapi.yaml `LogEntry`), keyed by UUID in responses. */
export interface RekorLogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    inclusionProof: {
      checkpoint: string;
      hashes: string[];
      logIndex: number;
      rootHash: string;
      treeSize: number;
    };
    signedEntryTimestamp: string;
  };
}

/** An entry read from the log, with its inclusion proof at the latest checkpoint. */
export interface LogEntryView {
  logIndex: number;
  leaf: Buffer;
  leafHash: Buffer;
  integratedTime: number;
  treeSize: number;
  /** The root hash of the tree of treeSize (the checkpoint's). */
  rootHash: Buffer;
  inclusionProof: Buffer[];
  checkpoint: string;
}

/** What a cairn-native submission returns. */
export interface NativeSubmitResult extends SubmitResult {
  kind: "dsse" | "artifact";
  /** The logged leaf bytes (what `cairn log verify` hashes and reads the artifact digest from). */
  leaf: Buffer;
  /** True when the envelope is kept in the attestation store (DSSE in-toto statements). */
  stored: boolean;
}

/** The outcome of a Rekor create-entry call. */
export interface RekorCreateResult {
  uuid: string;
  entry: RekorLogEntry;
  /** The entry was already in the log (Rekor answers 409 with its Location). */
  duplicate: boolean;
}

export class LogNode {
  readonly origin: string;
  /** Verifies this log's checkpoints (C2SP signed note, the log's own key). */
  readonly verifier: NoteVerifier;
  /** The C2SP vkey of the log's key (what clients pin). */
  readonly vkey: string;
  /** SHA-256 of the log key's DER SPKI: Rekor's logID. */
  readonly logId: Buffer;
  /** The log's public key as PEM (SPKI), for trusted roots. */
  readonly publicKeyPem: string;
  readonly store: AttestationStore | undefined;

  private readonly storage: LogStorage;
  private readonly key: KeyObject;
  private readonly view: TileServer;
  private readonly clock: Clock;
  private readonly opts: LogNodeOptions;
  private sequencer: Sequencer | undefined;
  private readonly byHash = new Map<string, number[]>();
  private readonly storeQueue: { item: StoreItem; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private storeRunning = false;
  private storeScheduled = false;
  private indexedSize = 0;
  private syncing: Promise<void> | undefined;
  private lastSync = 0;
  private dirty = true;

  constructor(opts: LogNodeOptions) {
    this.opts = opts;
    this.storage = opts.storage;
    this.key = opts.key;
    this.origin = opts.origin;
    const pub = createPublicKey(opts.key);
    this.verifier = ed25519NoteVerifier(opts.origin, pub);
    this.vkey = ed25519Vkey(opts.origin, pub);
    this.logId = rekorLogId(pub);
    this.publicKeyPem = pub.export({ type: "spki", format: "pem" }) as string;
    this.view = new TileServer(opts.storage);
    this.clock = opts.clock ?? systemClock;
    this.store =
      opts.searchIndex &&
      new AttestationStore({
        index: opts.searchIndex,
        clock: this.clock,
        ...(opts.maxEnvelopeBytes !== undefined ? { maxEnvelopeBytes: opts.maxEnvelopeBytes } : {}),
        prover: async (logIndex) => {
          const v = await this.readView(logIndex + 1);
          return {
            treeSize: v.size,
            hashes: v.inclusionProof(logIndex, v.size),
            checkpoint: v.checkpoint ?? "",
          };
        },
      });
  }

  /** Becomes the log's writer: opens a sequencer on the storage (the caller holds the lock). */
  async becomeSequencer(): Promise<void> {
    if (this.sequencer) return;
    this.sequencer = await Sequencer.open({
      ...this.opts.sequencer,
      storage: this.storage,
      origin: this.origin,
      key: this.key,
      clock: this.clock,
      extraSigners: [rekorCheckpointSigner(this.origin, this.key)],
    });
    this.dirty = true;
  }

  /** Stops writing (the lock was lost or the server stops): pending entries are flushed first. */
  async stopSequencing(): Promise<void> {
    const s = this.sequencer;
    this.sequencer = undefined;
    if (s) await s.close().catch(() => {});
  }

  /** Whether this process is the log's writer. */
  get isSequencer(): boolean {
    return this.sequencer !== undefined;
  }

  /** Entries waiting in the sequencer. */
  get pending(): number {
    return this.sequencer?.pending ?? 0;
  }

  private writer(): Sequencer {
    if (!this.sequencer) {
      throw cairnError(
        "ERR_TLOG_SEQUENCER_LOCKED",
        "this server is not the log's sequencer (another process holds the lock): retry later",
      );
    }
    return this.sequencer;
  }

  /**
   * Verifies and appends a cairn-native submission (entries.ts: `{kind: "dsse"|"artifact", ...}`);
   * a DSSE in-toto statement is also kept whole in the attestation store. Resolves once durable.
   * `raw` is the envelope's JSON bytes as submitted, when known.
   */
  async submitNative(input: unknown): Promise<NativeSubmitResult> {
    const entry = this.opts.verify
      ? await this.opts.verify(input)
      : verifySubmission(input, this.opts.entryLimits);
    // Checked for the store before it is logged, so nothing is logged that the store refuses. The
    // store keeps the verified envelope (the input's, which the entry was verified from) as JSON;
    // the verifier already read its payload, so the store neither parses nor hashes it again.
    const prepared =
      this.store && entry.kind === "dsse" && isJsonObject(input)
        ? this.store.prepareVerified({ envelope: Buffer.from(JSON.stringify(input.envelope)), entry })
        : undefined;
    return this.appendNative(entry, prepared);
  }

  /**
   * `submitNative` of a submission given as its JSON bytes (e.g. a request body): parsed where it
   * is verified (the `verifyBytes` option, e.g. on a verify thread), so the calling thread never
   * parses it. JSON errors are ERR_JSON_MALFORMED / ERR_JSON_TOO_LARGE (entryLimits'
   * maxSubmissionBytes), then those of `submitNative`. `body` may be taken over (detached).
   */
  async submitNativeBytes(body: Uint8Array): Promise<NativeSubmitResult> {
    const entry = this.opts.verifyBytes
      ? await this.opts.verifyBytes(body)
      : verifySubmissionBytes(body, this.opts.entryLimits);
    // The store keeps the envelope as the verifier serialized it from the parsed body (the same
    // bytes `submitNative` stores for the same submission).
    const prepared =
      this.store && entry.kind === "dsse" && entry.envelopeJson !== undefined
        ? this.store.prepareVerified({ envelope: entry.envelopeJson, entry })
        : undefined;
    return this.appendNative(entry, prepared);
  }

  private async appendNative(
    entry: VerifiedEntry,
    prepared: PreparedEnvelope | undefined,
  ): Promise<NativeSubmitResult> {
    const r = await this.writer().submitEntry(entry);
    this.dirty = true;
    // A crash between the append and this commit loses only the store's copy: resubmitting the
    // entry returns the logged one (a duplicate) and commits it again (commits are idempotent).
    if (prepared) await this.commitToStore({ prepared, logIndex: r.index, integratedTime: r.integratedTime });
    return { ...r, kind: entry.kind, leaf: entry.leaf, stored: prepared !== undefined };
  }

  // Group commit: while one store transaction runs, later envelopes wait and go in the next one.
  private commitToStore(item: StoreItem): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.storeQueue.push({ item, resolve, reject });
      // The submitters of one sequencer batch are answered together: their continuations run
      // before the next turn of the event loop, so waiting for it stores the whole batch in one
      // transaction (one commit, one fsync) instead of a first one alone and then the rest.
      if (!this.storeScheduled && !this.storeRunning) {
        this.storeScheduled = true;
        setImmediate(() => {
          this.storeScheduled = false;
          this.kickStore();
        });
      }
    });
  }

  private kickStore(): void {
    if (this.storeRunning || this.storeQueue.length === 0) return;
    const batch = this.storeQueue.splice(0, STORE_BATCH);
    // One record per log index (a duplicate submitted twice at once is committed once).
    const byIndex = new Map<number, StoreItem>();
    for (const b of batch) byIndex.set(b.item.logIndex, b.item);
    this.storeRunning = true;
    this.store!.commit([...byIndex.values()])
      .then(
        () => {
          for (const b of batch) b.resolve();
        },
        (e) => {
          for (const b of batch) b.reject(e);
        },
      )
      .finally(() => {
        this.storeRunning = false;
        this.kickStore();
      });
  }

  /** Verifies and appends a Rekor v1 proposed entry (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2). */
  async submitRekor(input: unknown): Promise<RekorCreateResult> {
    const entry = verifyRekorProposedEntry(input, this.opts.maxRekorEnvelopeBytes);
    // A Rekor dsse or intoto entry of an in-toto payload goes to the attestation store as cairn's own DSSE
    // path does: checked by the store before it is logged (verified again as a native
    // submission, whose leaf the store binds the envelope bytes to). Other payload types are
    // logged only, as in Rekor.
    let prepared: PreparedEnvelope | undefined;
    // verifyRekorDsse already parsed the envelope (bounded), verifyRekorIntoto wrote it: it is JSON.
    const envelope: unknown = this.store && entry.dsse ? JSON.parse(entry.dsse.envelope) : undefined;
    if (this.store && entry.dsse && isJsonObject(envelope) && envelope.payloadType === INTOTO_PAYLOAD_TYPE) {
      const native = verifySubmission(
        { kind: "dsse", envelope, publicKeys: entry.dsse.publicKeys },
        this.opts.entryLimits,
      );
      // `native` was verified from these very bytes: the store need not read them again.
      prepared = this.store.prepareVerified({
        envelope: Buffer.from(entry.dsse.envelope),
        entry: native,
        identities: entry.identities,
      });
    }
    const r = await this.writer().submit(entry.leaf);
    this.dirty = true;
    if (prepared) await this.commitToStore({ prepared, logIndex: r.index, integratedTime: r.integratedTime });
    return {
      uuid: r.leafHash.toString("hex"),
      duplicate: r.duplicate,
      entry: this.rekorEntry({
        logIndex: r.index,
        leaf: entry.leaf,
        leafHash: r.leafHash,
        integratedTime: r.integratedTime,
        treeSize: r.treeSize,
        // The sequencer's own checkpoint: verified by construction, read for its root hash.
        rootHash: parseCheckpoint(parseNote(r.checkpoint).text).rootHash,
        inclusionProof: r.inclusionProof,
        checkpoint: r.checkpoint,
      }),
    };
  }

  /**
   * Appends a leaf another engine built and checked itself: the CA's CT log records RFC 6962 3.4
   * MerkleTreeLeaf bytes here (engines/ca `CertificateLogPort`), so certificates and signatures
   * share one log. Resolves once durable; a repeated leaf returns the existing index. Throws
   * ERR_TLOG_SEQUENCER_LOCKED on a process that is not the sequencer.
   */
  async appendLeaf(leaf: Uint8Array): Promise<{ index: number; duplicate: boolean }> {
    const r = await this.writer().submit(leaf);
    this.dirty = true;
    return { index: r.index, duplicate: r.duplicate };
  }

  /** Builds the Rekor LogEntry of an entry view (body, SET, proof in hex). */
  rekorEntry(v: LogEntryView): RekorLogEntry {
    return {
      body: toBase64(v.leaf),
      integratedTime: v.integratedTime,
      logID: this.logId.toString("hex"),
      logIndex: v.logIndex,
      verification: {
        inclusionProof: {
          checkpoint: v.checkpoint,
          hashes: v.inclusionProof.map((h) => h.toString("hex")),
          logIndex: v.logIndex,
          rootHash: v.rootHash.toString("hex"),
          treeSize: v.treeSize,
        },
        signedEntryTimestamp: toBase64(
          signEntryTimestamp(this.key, {
            leaf: v.leaf,
            integratedTime: v.integratedTime,
            logId: this.logId,
            logIndex: v.logIndex,
          }),
        ),
      },
    };
  }

  /**
   * Brings the read view up to the storage when it is behind `needed` entries (or stale): the
   * sequencer's own writes mark it dirty; another process's writes are seen within
   * DEFAULT_FOLLOWER_SYNC_MS. Concurrent callers share one sync.
   */
  async readView(needed = 0): Promise<TileServer> {
    const now = this.clock.now().getTime();
    const stale =
      this.dirty ||
      this.view.size < needed ||
      (!this.sequencer && now - this.lastSync > DEFAULT_FOLLOWER_SYNC_MS);
    if (stale) {
      if (!this.syncing) {
        this.dirty = false;
        this.syncing = this.sync().finally(() => {
          this.syncing = undefined;
        });
      }
      await this.syncing;
    }
    return this.view;
  }

  private async sync(): Promise<void> {
    try {
      await this.view.sync();
      this.lastSync = this.clock.now().getTime();
      // Index the new entries' hashes (POST /api/v1/index/retrieve), unless the storage keeps
      // that index itself (then nothing is read here).
      const size = this.storage.findByHash ? this.indexedSize : this.view.size;
      for (let at = this.indexedSize; at < size; at += SYNC_CHUNK) {
        const end = Math.min(size, at + SYNC_CHUNK);
        const leaves = await this.storage.readEntries(at, end);
        leaves.forEach((leaf, i) => {
          for (const h of hashesOfLeaf(leaf)) {
            const list = this.byHash.get(h);
            if (list) list.push(at + i);
            else this.byHash.set(h, [at + i]);
          }
        });
        this.indexedSize = end;
      }
    } catch (e) {
      this.dirty = true;
      throw e;
    }
  }

  /** The latest signed checkpoint and its size. Throws ERR_TLOG_TILE_NOT_FOUND before the first. */
  async latest(): Promise<{ size: number; checkpoint: string; rootHash: Buffer }> {
    const v = await this.readView();
    if (v.checkpoint === undefined)
      throw cairnError("ERR_TLOG_TILE_NOT_FOUND", "the log has no checkpoint yet");
    return { size: v.size, checkpoint: v.checkpoint, rootHash: v.rootHash(v.size) };
  }

  /** A tlog-tiles resource (path relative to the tiles prefix). */
  async tile(path: string): Promise<Buffer> {
    const v = await this.readView();
    return v.serve(path);
  }

  /** The entry at `logIndex` with its inclusion proof at the latest checkpoint. */
  async entryAt(logIndex: number): Promise<LogEntryView> {
    const [e] = await this.entriesAt([logIndex]);
    if (!e) throw cairnError("ERR_TLOG_ENTRY_NOT_FOUND", `the log has no entry ${logIndex}`);
    return e;
  }

  /**
   * The entries at these log indexes that the log has (those beyond it are left out), in the
   * order given, each with its inclusion proof at one latest checkpoint: one storage read for the
   * set when the storage offers `readEntriesAt`. Throws ERR_USAGE for an index that is not an
   * integer >= 0, or for more than MAX_READ_AT indexes.
   */
  async entriesAt(logIndexes: readonly number[]): Promise<LogEntryView[]> {
    if (logIndexes.length > MAX_READ_AT) {
      throw cairnError("ERR_USAGE", `at most ${MAX_READ_AT} entries per read`, { field: "logIndex" });
    }
    for (const i of logIndexes) {
      if (!Number.isSafeInteger(i) || i < 0) {
        throw cairnError("ERR_USAGE", "a log index is an integer >= 0", { field: "logIndex" });
      }
    }
    if (logIndexes.length === 0) return [];
    const v = await this.readView(Math.max(...logIndexes) + 1);
    // One size and checkpoint for the whole answer (the view may grow while storage is read).
    const size = v.size;
    const checkpoint = v.checkpoint!;
    const present = logIndexes.filter((i) => i < size);
    if (present.length === 0) return [];
    const read = this.storage.readEntriesAt
      ? await this.storage.readEntriesAt(present)
      : await Promise.all(
          present.map(async (i) => {
            const [data] = await this.storage.readEntries(i, i + 1);
            const [time] = this.storage.readIntegratedTimes
              ? await this.storage.readIntegratedTimes(i, i + 1)
              : [0];
            return { data: data!, time: time ?? 0 };
          }),
        );
    const rootHash = v.rootHash(size);
    return present.map((logIndex, k) => ({
      logIndex,
      leaf: read[k]!.data,
      leafHash: v.leafHash(logIndex),
      integratedTime: read[k]!.time,
      treeSize: size,
      rootHash,
      inclusionProof: v.inclusionProof(logIndex, size),
      checkpoint,
    }));
  }

  /** The entry with this leaf hash (Rekor UUID: 64 hex, or 80 with a tree ID prefix). */
  async entryByUuid(uuid: string): Promise<LogEntryView> {
    const [e] = await this.entriesByUuid([uuid]);
    if (!e) throw cairnError("ERR_TLOG_ENTRY_NOT_FOUND", "the log has no entry with this UUID");
    return e;
  }

  /**
   * The entries with these Rekor UUIDs that the log has (unknown ones are left out), in the order
   * given: one leaf-hash lookup and one entry read for the set. Throws ERR_USAGE for a malformed UUID.
   */
  async entriesByUuid(uuids: readonly string[]): Promise<LogEntryView[]> {
    return this.entriesAt(await this.indexesOfUuids(uuids));
  }

  /**
   * The log indexes of the entries with these Rekor UUIDs (unknown ones are left out), in the
   * order given, in one lookup when the storage offers `findLeafHashes`. Throws ERR_USAGE for a
   * malformed UUID.
   */
  async indexesOfUuids(uuids: readonly string[]): Promise<number[]> {
    const hashes = uuids.map((uuid) => {
      // The UUID is attacker-controlled: strict shape before any lookup.
      if (typeof uuid !== "string" || !/^([0-9a-f]{16})?[0-9a-f]{64}$/.test(uuid)) {
        throw cairnError("ERR_USAGE", "an entry UUID is 64 (or 80) lowercase hex digits", { field: "uuid" });
      }
      return Buffer.from(uuid.slice(-64), "hex");
    });
    if (hashes.length === 0) return [];
    const found = this.storage.findLeafHashes
      ? await this.storage.findLeafHashes(hashes)
      : await Promise.all(hashes.map((h) => this.storage.findLeafHash(h)));
    return found.filter((i): i is number => i !== undefined);
  }

  /** Log indexes of entries indexed under `sha256:<hex>` (ascending, at most `limit`). */
  async findByHash(hash: string, limit = 1000): Promise<number[]> {
    if (typeof hash !== "string" || !/^sha256:[0-9a-f]{64}$/.test(hash)) {
      throw cairnError("ERR_USAGE", "a hash is sha256:<64 lowercase hex>", { field: "hash" });
    }
    return this.findByKey(hash, limit);
  }

  /**
   * Log indexes of the Rekor entries with a certificate naming this identity (a SAN, exactly as in
   * the certificate) and, when given, this OIDC issuer: ascending, at most `limit`. A lookup
   * aid, not a trust decision (`certificateIdentities`).
   */
  async findByIdentity(id: CertificateIdentity, limit = 1000): Promise<number[]> {
    const bad = (v: unknown) =>
      typeof v !== "string" || v.length === 0 || Buffer.byteLength(v) > MAX_IDENTITY_BYTES;
    if (bad(id.identity)) {
      throw cairnError("ERR_USAGE", `an identity is 1 to ${MAX_IDENTITY_BYTES} bytes`, { field: "identity" });
    }
    if (id.issuer !== undefined && (bad(id.issuer) || id.issuer.includes(" "))) {
      throw cairnError("ERR_USAGE", `an issuer is 1 to ${MAX_IDENTITY_BYTES} bytes, without spaces`, {
        field: "issuer",
      });
    }
    return this.findByKey(identityIndexKeys(id).at(-1)!, limit);
  }

  private async findByKey(key: string, limit: number): Promise<number[]> {
    if (this.storage.findByHash) return this.storage.findByHash(key, limit);
    await this.readView();
    return (this.byHash.get(key) ?? []).slice(0, limit);
  }

  /**
   * Rekor UUIDs (leaf hashes) of the entries indexed under `sha256:<hex>`, ascending, at most
   * `limit`: read from the tree, without fetching each entry and its proof.
   */
  async leafHashesByHash(hash: string, limit = 1000): Promise<Buffer[]> {
    return this.leafHashesAt(await this.findByHash(hash, limit));
  }

  /** Rekor UUIDs of the entries `findByIdentity` finds, read from the tree. */
  async leafHashesByIdentity(id: CertificateIdentity, limit = 1000): Promise<Buffer[]> {
    return this.leafHashesAt(await this.findByIdentity(id, limit));
  }

  private async leafHashesAt(indexes: number[]): Promise<Buffer[]> {
    if (indexes.length === 0) return [];
    const v = await this.readView(Math.max(...indexes) + 1);
    return indexes.map((i) => {
      if (i >= v.size) throw cairnError("ERR_TLOG_ENTRY_NOT_FOUND", `the log has no entry ${i}`);
      return v.leafHash(i);
    });
  }

  /** RFC 9162 inclusion proof of `logIndex` in the tree of `treeSize` (default: latest). */
  async inclusion(
    logIndex: number,
    treeSize?: number,
  ): Promise<{ treeSize: number; hashes: Buffer[]; rootHash: Buffer; leafHash: Buffer }> {
    const v = await this.readView(Math.max(logIndex + 1, treeSize ?? 0));
    const size = treeSize ?? v.size;
    if (Number.isSafeInteger(logIndex) && logIndex >= 0 && logIndex >= v.size) {
      throw cairnError("ERR_TLOG_ENTRY_NOT_FOUND", `the log has no entry ${logIndex}`);
    }
    return {
      treeSize: size,
      hashes: v.inclusionProof(logIndex, size),
      rootHash: v.rootHash(size),
      leafHash: v.leafHash(logIndex),
    };
  }

  /** RFC 9162 consistency proof between sizes `from` and `to` (default: latest). */
  async consistency(
    from: number,
    to?: number,
  ): Promise<{ from: number; to: number; hashes: Buffer[]; rootHash: Buffer }> {
    const v = await this.readView(to ?? 0);
    const n = to ?? v.size;
    return { from, to: n, hashes: v.consistencyProof(from, n), rootHash: v.rootHash(n) };
  }

  /**
   * Store migration (store schema version 3): envelopes stored before certificate identities were
   * signers get them from their log entries (a Rekor dsse or intoto body whose verifiers are
   * certificates: the `identity:`/`oidc:` keys of `hashesOfLeaf`), reading the log a chunk at a
   * time from the position the store keeps, so a crash resumes where it stopped (adding a signer
   * twice is a no-op; entries logged meanwhile are indexed when stored). Returns the entries it
   * read; 0 when there is nothing to do or the store's index cannot back-fill. Storage errors.
   */
  async backfillStoreIdentities(): Promise<number> {
    const index = this.opts.searchIndex;
    if (!index?.addSigners || !index.backfillNext || !index.setBackfillNext) return 0;
    let read = 0;
    for (;;) {
      const next = await index.backfillNext(IDENTITY_BACKFILL);
      if (next === undefined) return read;
      const { size } = await this.storage.head();
      if (next >= size) {
        await index.setBackfillNext(IDENTITY_BACKFILL, undefined);
        return read;
      }
      const end = Math.min(size, next + SYNC_CHUNK);
      const leaves = await this.storage.readEntries(next, end);
      for (const [i, leaf] of leaves.entries()) {
        const keys = hashesOfLeaf(leaf).filter((k) => k.startsWith("identity:") || k.startsWith("oidc:"));
        if (keys.length > 0) await index.addSigners(next + i, keys);
      }
      read += leaves.length;
      await index.setBackfillNext(IDENTITY_BACKFILL, end);
    }
  }

  /** A page of the attestation store. Throws ERR_USAGE when this log has no store. */
  async search(q: StoreQuery): Promise<SearchPage> {
    if (!this.store) throw cairnError("ERR_USAGE", "this log has no attestation store");
    return this.store.search(q);
  }

  /** Health: whether the storage answers, and this process's role. */
  async health(): Promise<{ ok: boolean; sequencer: boolean; treeSize: number; error?: string }> {
    try {
      const head = await this.storage.head();
      return { ok: true, sequencer: this.isSequencer, treeSize: head.size };
    } catch (e) {
      return {
        ok: false,
        sequencer: this.isSequencer,
        treeSize: this.view.size,
        error: e instanceof CairnError ? e.code : "ERR_INTERNAL",
      };
    }
  }

  /** Stops sequencing (flushing what waits). The storage is the caller's to close. */
  async close(): Promise<void> {
    await this.stopSequencing();
  }
}
