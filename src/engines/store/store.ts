// SPDX-License-Identifier: Apache-2.0
// The attestation store (issue 3, section 3; the role of Archivista/Grafeas next to the log): keeps
// every envelope the log accepted whole, indexed by subject digest (in-toto attestation v1
// statement.md `subject[*].digest`, digest_set.md), predicate type, signer and integrated time,
// and answers AND-searches page by page in log-index order, each result with its inclusion proof.
//
// The store never indexes what the log did not verify: an envelope is taken only with the
// VerifiedEntry that tlog/entries.ts returned for it, and its bytes must be the ones that entry's
// leaf commits to (payload digest, payload type, signatures).

import { type Clock, systemClock } from "../../core/clock.js";
import { fromBase64 } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import type { PublicKey } from "../../core/index.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { parseEnvelope } from "../../formats/dsse/index.js";
import { type InTotoPayload, readInTotoPayload } from "../../formats/intoto/index.js";
import {
  type CertificateIdentity,
  dsseLeaf,
  INTOTO_PAYLOAD_TYPE,
  identityIndexKeys,
  parsePublicKeyCached,
  type VerifiedEntry,
} from "../tlog/index.js";
import type { IndexQuery, IndexRecord, SearchIndex } from "./search-index.js";

/** Default envelope size limit: SBOM attestations run to megabytes (Rekor stops at 100 KB). */
export const DEFAULT_MAX_ENVELOPE_BYTES = 64 * 1024 * 1024;
/** Default bound on the distinct subject digests one envelope may be indexed under. */
export const DEFAULT_MAX_SUBJECT_DIGESTS = 4096;
/** Longest index key (digest, predicate type, identity) in UTF-8 bytes: fits a B-tree index entry. */
export const MAX_INDEX_KEY_BYTES = 1024;
/** Default and largest page sizes (results per search call). */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
/** Default bound on the envelope bytes of one page (a page always holds at least one result). */
export const DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024;
/** Nesting bound for the envelope and the statement JSON. */
const MAX_JSON_DEPTH = 64;

/** An inclusion proof for a stored envelope's log entry (RFC 9162 2.1.3.1). */
export interface InclusionProof {
  /** The tree size the proof and the checkpoint are for. */
  treeSize: number;
  /** PATH(logIndex, D[treeSize]). */
  hashes: Buffer[];
  /** The signed checkpoint (signed-note text) of size treeSize. */
  checkpoint: string;
}

/**
 * The proof port: an inclusion proof for the entry at a log index, e.g. from the log's Merkle
 * tree and latest checkpoint. Rejects with the log's errors (ERR_TLOG_STORAGE when it cannot
 * answer); the store passes them through, never drops a result's proof silently.
 */
export type InclusionProver = (logIndex: number) => Promise<InclusionProof>;

export interface AttestationStoreOptions {
  index: SearchIndex;
  /** Proofs for results; without it results carry none. */
  prover?: InclusionProver;
  /** Largest envelope accepted, in bytes (default DEFAULT_MAX_ENVELOPE_BYTES). */
  maxEnvelopeBytes?: number;
  /** Most distinct subject digests per envelope (default DEFAULT_MAX_SUBJECT_DIGESTS). */
  maxSubjectDigests?: number;
  /** Bound on the envelope bytes of a page (default DEFAULT_MAX_PAGE_BYTES). */
  maxPageBytes?: number;
  /** Supplies integratedTime when `add` is not given one. */
  clock?: Clock;
}

/** An envelope the log accepted, to be stored and indexed. */
export interface AcceptedEnvelope {
  /** The index the log gave the entry (SubmitResult.index). */
  logIndex: number;
  /** The envelope's JSON bytes exactly as submitted; stored and returned byte for byte. */
  envelope: Uint8Array;
  /** What verifySubmission returned for this envelope (kind "dsse"). */
  entry: VerifiedEntry;
  /** Unix seconds; default the store's clock. */
  integratedTime?: number;
  /**
   * Certificate identities of the signers (a SAN, with the Fulcio OIDC issuer when the
   * certificate has one; a string is an identity without issuer), indexed as signers next to the
   * key ids (tlog `identityIndexKeys`). The log sets them from the certificates a Rekor entry's
   * signatures verified with; it does not verify their chains (a lookup aid, as in Rekor).
   */
  identities?: readonly (string | CertificateIdentity)[];
}

/** An envelope checked by `AttestationStore.prepare`, waiting for its log index. */
export interface PreparedEnvelope {
  readonly record: Omit<IndexRecord, "logIndex" | "integratedTime">;
}

/** A signer an envelope is indexed under. */
export interface SignerRef {
  /** The securesystemslib key id cairn computes for the verifying key (as `cairn key` shows it). */
  keyId?: string;
  /** A certificate identity (a SAN: email, URI or username), when the signer had a certificate. */
  identity?: string;
  /** With `identity`: the OIDC issuer the certificate names (Fulcio extension). */
  issuer?: string;
}

/** A search: every key given must match (AND). */
export interface StoreQuery {
  /** `alg:value`, e.g. `sha256:ab12...`. */
  subject?: string;
  predicateType?: string;
  signer?: SignerRef;
  /** integratedTime >= since (Unix seconds). */
  since?: number;
  /** integratedTime < until (Unix seconds). */
  until?: number;
  /** 1..MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE. */
  pageSize?: number;
  /** The previous page's nextCursor. */
  cursor?: string;
}

/** One stored envelope. */
export interface StoreResult {
  logIndex: number;
  /** The envelope bytes exactly as submitted. */
  envelope: Buffer;
  predicateType: string;
  subjectDigests: string[];
  signers: SignerRef[];
  integratedTime: number;
  /** Present when the store has a prover. */
  inclusionProof?: InclusionProof;
}

export interface SearchPage {
  results: StoreResult[];
  /** Present when more results may follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

function invalid(message: string, field?: string): CairnError {
  return cairnError("ERR_STORE_ENTRY_INVALID", message, field === undefined ? {} : { field });
}

// One code for "this is not a storable statement envelope", whatever parser refused it (the
// parser's code and field survive as the cause).
function notStored(e: unknown, what: string, field: string): unknown {
  if (!(e instanceof CairnError)) return e;
  const inner = e.underField(field);
  return cairnError(
    "ERR_STORE_ENTRY_INVALID",
    `${what}: ${inner.message}`,
    { field: inner.field ?? field },
    { cause: inner },
  );
}

// The verifying keys a dsse/v1 leaf records, in signature order. The leaf is OLPC canonical JSON
// (entries.ts dsseLeaf), which leaves control characters such as the PEM's newlines unescaped;
// outside strings it has no whitespace, so escaping every control character yields plain JSON.
function leafKeys(leaf: Buffer): PublicKey[] {
  let parsed: unknown;
  try {
    const text = leaf
      .toString("utf8")
      .replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    parsed = parseJson(text, undefined, { maxBytes: 4 * leaf.length + 16, maxDepth: 8 });
  } catch (e) {
    throw notStored(e, "the entry's leaf is not a dsse/v1 leaf", "entry.leaf");
  }
  if (!isJsonObject(parsed) || parsed.kind !== "dsse/v1" || !Array.isArray(parsed.signatures)) {
    throw invalid("the entry's leaf is not a dsse/v1 leaf", "entry.leaf");
  }
  return parsed.signatures.map((s, i) => {
    if (!isJsonObject(s) || typeof s.publicKey !== "string") {
      throw invalid("the entry's leaf names no key", `entry.leaf.signatures[${i}]`);
    }
    try {
      return parsePublicKeyCached(s.publicKey);
    } catch (e) {
      throw notStored(e, "the entry's leaf holds a bad key", `entry.leaf.signatures[${i}]`);
    }
  });
}

function badQuery(message: string, field: string): CairnError {
  return cairnError("ERR_STORE_QUERY_INVALID", message, { field });
}

function checkKey(value: string, what: string, err: (m: string) => CairnError): string {
  if (value.length === 0 || Buffer.byteLength(value) > MAX_INDEX_KEY_BYTES) {
    throw err(`${what} must be 1 to ${MAX_INDEX_KEY_BYTES} bytes`);
  }
  return value;
}

const CURSOR = /^c1\.(0|[1-9][0-9]{0,15})$/;

// The cursor is opaque to clients; it is the last log index returned, versioned.
function encodeCursor(logIndex: number): string {
  return `c1.${logIndex}`;
}

function decodeCursor(cursor: string): number {
  // The cursor is attacker-controlled: strict shape, safe integer.
  const m = CURSOR.exec(cursor);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw badQuery("not a cursor this store issued", "cursor");
  return n;
}

function positive(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw cairnError("ERR_USAGE", `${name} must be a positive integer`);
  return n;
}

function signerKey(s: SignerRef, field: string): string {
  const given = (s.keyId !== undefined ? 1 : 0) + (s.identity !== undefined ? 1 : 0);
  if (given !== 1) throw badQuery("a signer is either a keyId or an identity", field);
  if (s.keyId !== undefined) {
    if (s.issuer !== undefined) throw badQuery("an issuer goes with an identity, not a key id", field);
    return `key:${checkKey(s.keyId, "a key id", (m) => badQuery(m, field))}`;
  }
  const identity = checkKey(s.identity!, "an identity", (m) => badQuery(m, field));
  if (s.issuer === undefined) return `identity:${identity}`;
  const issuer = checkKey(s.issuer, "an issuer", (m) => badQuery(m, field));
  if (issuer.includes(" ")) throw badQuery("an issuer has no spaces", field);
  return identityIndexKeys({ identity, issuer }).at(-1)!;
}

/**
 * A signer given as one string (`cairn log search --signer`): a key id when it is 64 lowercase hex
 * digits (securesystemslib key ids, as `cairn key` shows them), otherwise a certificate identity,
 * with `issuer` when given.
 */
export function signerFromString(value: string, issuer?: string): SignerRef {
  if (/^[0-9a-f]{64}$/.test(value) && issuer === undefined) return { keyId: value };
  return issuer === undefined ? { identity: value } : { identity: value, issuer };
}

// A stored signer key back as a reference: `key:<id>`, `identity:<san>`, `oidc:<issuer> <san>`.
function signerRef(stored: string): SignerRef {
  if (stored.startsWith("key:")) return { keyId: stored.slice(4) };
  if (stored.startsWith("oidc:")) {
    const at = stored.indexOf(" ");
    return { identity: stored.slice(at + 1), issuer: stored.slice(5, at) };
  }
  return { identity: stored.slice(9) };
}

/**
 * The attestation store engine: `add` checks and indexes an envelope the log accepted, `search`
 * pages through matches in log-index order, `get` reads one by log index.
 */
export class AttestationStore {
  private readonly index: SearchIndex;
  private readonly prover: InclusionProver | undefined;
  private readonly maxEnvelopeBytes: number;
  private readonly maxSubjectDigests: number;
  private readonly maxPageBytes: number;
  private readonly clock: Clock;

  constructor(opts: AttestationStoreOptions) {
    this.index = opts.index;
    this.prover = opts.prover;
    this.maxEnvelopeBytes = positive(opts.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES, "maxEnvelopeBytes");
    this.maxSubjectDigests = positive(
      opts.maxSubjectDigests ?? DEFAULT_MAX_SUBJECT_DIGESTS,
      "maxSubjectDigests",
    );
    this.maxPageBytes = positive(opts.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES, "maxPageBytes");
    this.clock = opts.clock ?? systemClock;
  }

  /**
   * Stores and indexes an accepted envelope; durable when it resolves; repeating it is a no-op.
   * Throws ERR_STORE_TOO_LARGE beyond the size limit; ERR_STORE_ENTRY_INVALID when the entry is
   * not a verified DSSE in-toto Statement, the bytes are not the envelope the entry's leaf commits
   * to, or an indexing bound is exceeded; ERR_USAGE for a bad log index or time; and the index's
   * errors (ERR_STORE_CONFLICT, ERR_STORE_STORAGE).
   */
  async add(accepted: AcceptedEnvelope): Promise<StoreResult> {
    const record = this.check(accepted);
    await this.index.put(record);
    return this.result(record, false);
  }

  /**
   * One page of the envelopes matching every key of `q`, in ascending log-index order. Pages
   * never repeat or skip a record that was stored before the first page was asked for. Throws
   * ERR_STORE_QUERY_INVALID for a malformed key, cursor or page size, and the index's and the
   * prover's errors.
   */
  async search(q: StoreQuery): Promise<SearchPage> {
    const pageSize = q.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw badQuery(`the page size must be 1 to ${MAX_PAGE_SIZE}`, "pageSize");
    }
    const iq: IndexQuery = {
      after: q.cursor === undefined ? -1 : decodeCursor(q.cursor),
      limit: pageSize + 1,
    };
    if (q.subject !== undefined) {
      const at = q.subject.indexOf(":");
      if (at < 1 || at === q.subject.length - 1) {
        throw badQuery("a subject digest is alg:value, e.g. sha256:<hex>", "subject");
      }
      iq.subjectDigest = checkKey(q.subject, "a subject digest", (m) => badQuery(m, "subject"));
    }
    if (q.predicateType !== undefined) {
      iq.predicateType = checkKey(q.predicateType, "a predicate type", (m) => badQuery(m, "predicateType"));
    }
    if (q.signer !== undefined) iq.signer = signerKey(q.signer, "signer");
    for (const f of ["since", "until"] as const) {
      const t = q[f];
      if (t === undefined) continue;
      if (!Number.isSafeInteger(t)) throw badQuery("a time is an integer of Unix seconds", f);
      iq[f] = t;
    }
    const ids = await this.index.search(iq);
    const page = ids.slice(0, pageSize);
    // One batch read for the page when the index offers it (no query per result).
    const batch = this.index.getMany
      ? new Map((await this.index.getMany(page)).map((r) => [r.logIndex, r]))
      : undefined;
    const results: StoreResult[] = [];
    let bytes = 0;
    for (const id of page) {
      const r = batch ? batch.get(id) : await this.index.get(id);
      if (!r)
        throw cairnError("ERR_STORE_STORAGE", `the index found log index ${id} but holds no envelope for it`);
      // Bound the page's bytes: stop before a record that would exceed them (one always fits).
      if (results.length > 0 && bytes + r.envelope.length > this.maxPageBytes) break;
      bytes += r.envelope.length;
      results.push(await this.result(r, true));
    }
    const more = results.length < ids.length;
    const last = results[results.length - 1];
    return more && last ? { results, nextCursor: encodeCursor(last.logIndex) } : { results };
  }

  /** The envelope at a log index, or undefined; the index's and the prover's errors. */
  async get(logIndex: number): Promise<StoreResult | undefined> {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0)
      throw cairnError("ERR_USAGE", "a log index is an integer >= 0");
    const r = await this.index.get(logIndex);
    return r && this.result(r, true);
  }

  private async result(r: IndexRecord, prove: boolean): Promise<StoreResult> {
    const out: StoreResult = {
      logIndex: r.logIndex,
      envelope: r.envelope,
      predicateType: r.predicateType,
      subjectDigests: [...r.subjectDigests],
      signers: r.signers.map(signerRef),
      integratedTime: r.integratedTime,
    };
    if (prove && this.prover) out.inclusionProof = await this.prover(r.logIndex);
    return out;
  }

  // Binds the bytes to the verified leaf and derives the index keys from them.
  private check(a: AcceptedEnvelope): IndexRecord {
    return this.placed(this.prepare(a), a.logIndex, a.integratedTime);
  }

  // A prepared envelope at its log index and time.
  private placed(p: PreparedEnvelope, logIndex: number, time: number | undefined): IndexRecord {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0)
      throw cairnError("ERR_USAGE", "a log index is an integer >= 0");
    const integratedTime = time ?? Math.floor(this.clock.now().getTime() / 1000);
    if (!Number.isSafeInteger(integratedTime) || integratedTime < 0) {
      throw cairnError("ERR_USAGE", "integratedTime is an integer of Unix seconds >= 0");
    }
    return { ...p.record, logIndex, integratedTime };
  }

  /**
   * Checks an envelope before it is logged (so nothing is logged that the store would refuse) and
   * returns what `commit` stores once the log gave it an index. Throws as `add` does.
   */
  prepare(a: Omit<AcceptedEnvelope, "logIndex" | "integratedTime">): PreparedEnvelope {
    this.checkSize(a.envelope);
    const { entry } = a;
    if (entry?.kind !== "dsse")
      throw invalid("only DSSE envelopes of in-toto Statements are stored", "entry.kind");
    const keys = leafKeys(entry.leaf);
    // The envelope bytes are attacker-controlled: bounded parse, then bind them to the leaf.
    let env: ReturnType<typeof parseEnvelope>;
    try {
      env = parseEnvelope(
        parseJson(a.envelope, undefined, { maxBytes: this.maxEnvelopeBytes, maxDepth: MAX_JSON_DEPTH }),
      );
    } catch (e) {
      throw notStored(e, "the envelope is not a DSSE envelope", "envelope");
    }
    if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
      throw invalid(`the payload type must be ${INTOTO_PAYLOAD_TYPE}`, "envelope.payloadType");
    }
    if (env.signatures.length !== keys.length) {
      throw invalid("the envelope's signatures are not the ones the log verified", "envelope.signatures");
    }
    let payload: Buffer;
    let same: boolean;
    try {
      payload = fromBase64(env.payload, "envelope.payload");
      // The leaf the log hashed, recomputed from these bytes (entries.ts dsseLeaf): equal only if
      // payload type, payload and every signature are the ones the log verified with these keys.
      const again = dsseLeaf(
        env.payloadType,
        payload,
        env.signatures.map((sig, i) => ({
          sig: fromBase64(sig.sig, `envelope.signatures[${i}].sig`),
          key: keys[i]!.key,
        })),
      );
      same = again.equals(entry.leaf);
    } catch (e) {
      throw notStored(e, "the envelope is malformed", "envelope");
    }
    if (!same) throw invalid("the envelope is not the one the log verified", "envelope");
    let statement: ReturnType<typeof readInTotoPayload>;
    try {
      // A Statement (subjects) or a classic link (products), as the log accepted it.
      statement = readInTotoPayload(
        parseJson(payload, undefined, { maxBytes: payload.length, maxDepth: MAX_JSON_DEPTH }),
      );
    } catch (e) {
      throw notStored(e, "the payload is not an in-toto Statement or link", "envelope.payload");
    }
    return this.prepared(
      a.envelope,
      statement,
      keys.map((k) => k.keyid),
      a.identities,
    );
  }

  /**
   * `prepare` for the envelope the log's verifier itself read: `entry` is what
   * verifyDsseSubmission returned for exactly this `envelope` (bytes: its JSON), so the envelope
   * is bound to the leaf by construction and its payload was read there (`entry.indexed`); nothing
   * is parsed or hashed again. Throws as `prepare` does.
   */
  prepareVerified(a: Omit<AcceptedEnvelope, "logIndex" | "integratedTime">): PreparedEnvelope {
    this.checkSize(a.envelope);
    const { entry } = a;
    if (entry?.kind !== "dsse" || entry.indexed === undefined)
      throw invalid("only DSSE envelopes of in-toto Statements are stored", "entry.kind");
    return this.prepared(a.envelope, entry.indexed.payload, entry.indexed.keyids, a.identities);
  }

  private checkSize(envelope: Uint8Array): void {
    if (!(envelope instanceof Uint8Array)) throw invalid("the envelope must be bytes", "envelope");
    if (envelope.length > this.maxEnvelopeBytes) {
      throw cairnError(
        "ERR_STORE_TOO_LARGE",
        `the envelope is ${envelope.length} bytes, more than the store's limit of ${this.maxEnvelopeBytes}`,
        { field: "envelope" },
      );
    }
  }

  // The index keys of an envelope bound to its leaf: subject digests, predicate type, signers.
  private prepared(
    envelope: Uint8Array,
    statement: InTotoPayload,
    keyids: readonly string[],
    identities: AcceptedEnvelope["identities"],
  ): PreparedEnvelope {
    const digests = new Set<string>();
    statement.digests.forEach((digest, i) => {
      for (const [alg, value] of Object.entries(digest)) {
        digests.add(
          checkKey(`${alg}:${value}`, "a subject digest", (m) => invalid(m, `subject[${i}].digest.${alg}`)),
        );
        if (digests.size > this.maxSubjectDigests) {
          throw invalid(`more than ${this.maxSubjectDigests} subject digests`, "subject");
        }
      }
    });
    const signers = new Set<string>();
    for (const k of keyids) signers.add(`key:${k}`);
    (identities ?? []).forEach((id, i) => {
      const ref = typeof id === "string" ? { identity: id } : id;
      for (const k of identityIndexKeys(ref)) {
        signers.add(checkKey(k, "an identity", (m) => invalid(m, `identities[${i}]`)));
      }
    });
    return {
      record: {
        envelope: Buffer.from(envelope),
        predicateType: checkKey(statement.predicateType, "a predicate type", (m) =>
          invalid(m, "predicateType"),
        ),
        subjectDigests: [...digests],
        signers: [...signers],
      },
    };
  }

  /**
   * Stores prepared envelopes at the indexes the log gave them, in one durable group commit when
   * the index supports it (`SearchIndex.putMany`). Idempotent like `add`; the index's errors.
   */
  async commit(
    items: readonly { prepared: PreparedEnvelope; logIndex: number; integratedTime?: number }[],
  ): Promise<void> {
    const records = items.map((i) => this.placed(i.prepared, i.logIndex, i.integratedTime));
    if (this.index.putMany) await this.index.putMany(records);
    else for (const r of records) await this.index.put(r);
  }
}
