// SPDX-License-Identifier: Apache-2.0
// Client-side checks of a log's answers, offline: an entry's inclusion in a signed checkpoint
// (RFC 9162 2.1.3.2), consistency between two signed checkpoints (RFC 9162 2.1.4.2), and a
// monitor step that follows a log and refuses a split view (a new checkpoint that is not an
// append-only extension of the last one seen, C2SP tlog-witness's core check).
import { cairnError } from "../../core/errors.js";
import {
  type Checkpoint,
  hashLeaf,
  type NoteVerifier,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../../formats/tlog/index.js";

/** An entry with its inclusion proof, as the service returns it (hashes as hex). */
export interface EntryProofInput {
  logIndex: number;
  /** The leaf data (base64) or only its leaf hash (hex). */
  leaf?: string;
  leafHash?: string;
  inclusionProof: { treeSize: number; hashes: string[]; checkpoint: string };
}

/** What `verifyEntryInclusion` returns once everything checked. */
export interface VerifiedEntryInclusion {
  logIndex: number;
  leafHash: Buffer;
  /** The leaf data, when it was given (its hash checked). */
  leaf?: Buffer;
  checkpoint: Checkpoint;
}

function proofError(message: string, field?: string): Error {
  return cairnError("ERR_TLOG_PROOF_INVALID", message, field === undefined ? {} : { field });
}

function hexHash(v: unknown, field: string): Buffer {
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) {
    throw cairnError("ERR_FIELD_INVALID", "a hash is 64 lowercase hex digits", { field });
  }
  return Buffer.from(v, "hex");
}

/**
 * Verifies an entry's inclusion offline: the checkpoint (the proof's own, or `against`, a
 * checkpoint the caller trusts, which must be of the proof's tree size) is signed by the log key
 * (and of `origin`), and the proof leads from the leaf hash to its root. Throws ERR_FIELD_INVALID
 * for malformed input, ERR_NOTE_* / ERR_TLOG_ORIGIN_MISMATCH for the checkpoint, and
 * ERR_TLOG_PROOF_INVALID when the proof, leaf or size does not match, or when `artifactSha256`
 * (hex) is given and the verified leaf does not name it.
 */
export function verifyEntryInclusion(
  input: EntryProofInput,
  log: NoteVerifier,
  opts: { origin?: string; against?: string; artifactSha256?: string } = {},
): VerifiedEntryInclusion {
  const p = input?.inclusionProof;
  if (!p || typeof p !== "object" || !Array.isArray(p.hashes) || typeof p.checkpoint !== "string") {
    throw cairnError("ERR_FIELD_INVALID", "the entry has no inclusion proof", { field: "inclusionProof" });
  }
  const cpText = opts.against ?? p.checkpoint;
  const { checkpoint } = openCheckpoint(
    cpText,
    opts.origin === undefined ? { log } : { log, origin: opts.origin },
  );
  if (checkpoint.size !== p.treeSize) {
    throw proofError(
      `the proof is for a tree of ${p.treeSize} entries but the checkpoint covers ${checkpoint.size}: fetch the entry again`,
      "inclusionProof.treeSize",
    );
  }
  let leaf: Buffer | undefined;
  let leafHash: Buffer;
  if (typeof input.leaf === "string") {
    leaf = Buffer.from(input.leaf, "base64");
    leafHash = hashLeaf(leaf);
    if (input.leafHash !== undefined && !hexHash(input.leafHash, "leafHash").equals(leafHash)) {
      throw proofError("the leaf does not hash to the leaf hash", "leafHash");
    }
  } else {
    leafHash = hexHash(input.leafHash, "leafHash");
  }
  const hashes = p.hashes.map((h, i) => hexHash(h, `inclusionProof.hashes[${i}]`));
  verifyInclusion(leafHash, input.logIndex, p.treeSize, hashes, checkpoint.rootHash);
  if (opts.artifactSha256 !== undefined && !leaf?.toString("utf8").includes(`"${opts.artifactSha256}"`)) {
    throw proofError("the entry does not name this artifact's SHA-256", "leaf");
  }
  return { logIndex: input.logIndex, leafHash, ...(leaf ? { leaf } : {}), checkpoint };
}

/**
 * Verifies that `newer` is an append-only extension of `older`: both signed by the log, of the
 * same origin, and the consistency proof (hex hashes) leads from one root to the other. Equal
 * sizes need equal roots. Throws ERR_NOTE_*, ERR_TLOG_ORIGIN_MISMATCH, and ERR_TLOG_PROOF_INVALID
 * for a shrinking log or a proof that fails: a split view.
 */
export function verifyCheckpointConsistency(
  older: string,
  newer: string,
  proof: readonly string[],
  log: NoteVerifier,
  origin?: string,
): { older: Checkpoint; newer: Checkpoint } {
  const a = openCheckpoint(older, origin === undefined ? { log } : { log, origin }).checkpoint;
  const b = openCheckpoint(newer, { log, origin: a.origin }).checkpoint;
  if (b.size < a.size) throw proofError(`the log shrank from ${a.size} to ${b.size} entries`, "size");
  const hashes = proof.map((h, i) => hexHash(h, `hashes[${i}]`));
  if (a.size === b.size) {
    if (!a.rootHash.equals(b.rootHash))
      throw proofError("two checkpoints of one size with different roots: a split view");
    return { older: a, newer: b };
  }
  verifyConsistency(a.size, b.size, hashes, a.rootHash, b.rootHash);
  return { older: a, newer: b };
}

/**
 * One monitor step: opens `latest` (signed by the log, of the log key's name) and, when a
 * checkpoint was `saved` before, fetches the consistency proof from its size through `proof` and
 * verifies that `latest` extends it. Throws ERR_TLOG_PROOF_INVALID for a split view or a rewritten
 * log (the caller keeps its saved checkpoint then). Returns the size verified from and the newest
 * checkpoint.
 */
export async function monitorStep(
  saved: string | undefined,
  latest: string,
  log: NoteVerifier,
  proof: (from: number, to: number) => Promise<readonly string[]>,
): Promise<{ from: number; newest: Checkpoint }> {
  const newest = openCheckpoint(latest, { log, origin: log.name }).checkpoint;
  if (saved === undefined) return { from: 0, newest };
  const from = openCheckpoint(saved, { log }).checkpoint.size;
  const hashes = newest.size > from ? await proof(from, newest.size) : [];
  verifyCheckpointConsistency(saved, latest, hashes, log);
  return { from, newest };
}
