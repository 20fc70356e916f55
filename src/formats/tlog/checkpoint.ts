// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text of a log's signed tree head
// (origin, tree size, root hash, optional extension lines), and opening a signed checkpoint with
// the log's key and, when given, witness cosigners' keys (c2sp.org/tlog-cosignature).
import { cairnError } from "../../core/errors.js";
import { HASH_SIZE } from "./merkle.js";
import {
  type Note,
  type NoteLimits,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  signNote,
  type VerifiedNote,
} from "./note.js";
import { decodeStdBase64, noteTextProblem } from "./text.js";

/** The largest checkpoint text we read, in UTF-16 units (a plain checkpoint is under 200). */
export const MAX_CHECKPOINT_CHARS = 64 * 1024;

/** A log's tree head, as the note text of a checkpoint carries it. */
export interface Checkpoint {
  /** The log's identity, e.g. `example.com/log42`. */
  origin: string;
  /** The number of leaves. */
  size: number;
  /** The RFC 6962 root hash at that size (32 bytes). */
  rootHash: Buffer;
  /** Opaque extension lines, kept as given so the text round-trips. */
  extensions: string[];
}

function invalid(message: string, field?: string): Error {
  return cairnError("ERR_TLOG_CHECKPOINT_INVALID", message, field === undefined ? {} : { field });
}

const DECIMAL = /^(?:0|[1-9][0-9]{0,15})$/;

function checkLine(line: string, field: string): void {
  if (line.length === 0) throw invalid("a checkpoint line must not be empty", field);
  if (line.includes("\n")) throw invalid("a checkpoint line must not contain a newline", field);
  const problem = noteTextProblem(line);
  if (problem) throw invalid(`a checkpoint line ${problem}`, field);
}

/**
 * Parses a checkpoint's note text strictly (tlog-checkpoint "Note text"): at least three non-empty
 * lines each ending in a newline; a non-empty origin; the tree size in decimal without leading
 * zeroes; the root hash in canonical standard base64 of 32 bytes; non-empty extension lines.
 * Throws ERR_TLOG_CHECKPOINT_INVALID.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== "string") throw invalid("a checkpoint is text");
  if (text.length > MAX_CHECKPOINT_CHARS)
    throw invalid(`a checkpoint is longer than ${MAX_CHECKPOINT_CHARS} characters`);
  if (!text.endsWith("\n")) throw invalid("a checkpoint must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw invalid("a checkpoint has at least three lines");
  const names = ["origin", "size", "rootHash"];
  lines.forEach((l, i) => {
    checkLine(l, names[i] ?? `extensions[${i - 3}]`);
  });
  const [origin, sizeText, rootText] = lines as [string, string, string];
  // Line 2: ASCII decimal, no leading zeroes (unless 0); we also need it exact as a number.
  if (!DECIMAL.test(sizeText)) throw invalid("the tree size is not a decimal without leading zeroes", "size");
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw invalid("the tree size is larger than 2^53 - 1", "size");
  const rootHash = decodeStdBase64(rootText);
  if (rootHash === undefined) throw invalid("the root hash is not canonical standard base64", "rootHash");
  if (rootHash.length !== HASH_SIZE) throw invalid(`the root hash is not ${HASH_SIZE} bytes`, "rootHash");
  return { origin, size, rootHash, extensions: lines.slice(3) };
}

/** Serializes a checkpoint to its note text. Throws ERR_TLOG_CHECKPOINT_INVALID for bad fields. */
export function serializeCheckpoint(c: Checkpoint): string {
  checkLine(c.origin, "origin");
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw invalid("the tree size must be a non-negative safe integer", "size");
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== HASH_SIZE) {
    throw invalid(`the root hash must be ${HASH_SIZE} bytes`, "rootHash");
  }
  c.extensions.forEach((l, i) => {
    checkLine(l, `extensions[${i}]`);
  });
  const root = Buffer.from(c.rootHash).toString("base64");
  return [c.origin, String(c.size), root, ...c.extensions].map((l) => `${l}\n`).join("");
}

/** Signs a checkpoint: its note text with the log's signer (and any others). */
export function signCheckpoint(c: Checkpoint, signers: readonly NoteSigner[]): Note {
  return signNote(serializeCheckpoint(c), signers);
}

/** What a checkpoint must satisfy to be opened. */
export interface OpenCheckpointOptions {
  /** The log's key: its signature must be present and valid. */
  log: NoteVerifier;
  /** The expected origin line; when given, any other origin is refused. */
  origin?: string;
  /** Trusted witness cosigners (tlog-cosignature): their cosignatures are verified when present. */
  witnesses?: readonly NoteVerifier[];
  /** How many distinct witnesses must have cosigned; default 0. */
  minWitnesses?: number;
  limits?: NoteLimits;
}

/** A cosignature that verified. */
export interface VerifiedCosignature {
  name: string;
  keyId: number;
  /** The POSIX time the witness cosigned at (type 0x04 cosignatures), if it says. */
  timestamp?: number;
}

/** A checkpoint whose log signature (and the cosignatures of known witnesses) verified. */
export interface VerifiedCheckpoint {
  checkpoint: Checkpoint;
  note: VerifiedNote;
  cosignatures: VerifiedCosignature[];
}

/**
 * Opens a signed checkpoint: verifies the note with the log's key and the witnesses' keys
 * (signatures by other keys are ignored; a bad signature by a known key rejects the note), then
 * parses the verified text. Throws ERR_NOTE_MALFORMED, ERR_NOTE_SIGNATURE_INVALID (no valid log
 * signature, a bad known signature, too few witnesses) or ERR_TLOG_CHECKPOINT_INVALID (bad text,
 * wrong origin).
 */
export function openCheckpoint(
  input: string | Uint8Array | Note,
  opts: OpenCheckpointOptions,
): VerifiedCheckpoint {
  const witnesses = opts.witnesses ?? [];
  const note = openNote(input, [opts.log, ...witnesses], opts.limits);
  const same = (a: { name: string; keyId: number }, b: { name: string; keyId: number }) =>
    a.name === b.name && a.keyId === b.keyId;
  if (!note.verified.some((s) => same(s, opts.log))) {
    throw cairnError(
      "ERR_NOTE_SIGNATURE_INVALID",
      `the checkpoint is not signed by the log key ${opts.log.name}`,
      {
        field: "signatures",
      },
    );
  }
  const checkpoint = parseCheckpoint(note.text);
  // A well-formed checkpoint of another log is a verification failure, not bad input.
  if (opts.origin !== undefined && checkpoint.origin !== opts.origin) {
    throw cairnError(
      "ERR_TLOG_ORIGIN_MISMATCH",
      `the checkpoint is for ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(opts.origin)}`,
      { field: "origin" },
    );
  }
  const cosignatures: VerifiedCosignature[] = [];
  const seen = new Set<string>();
  for (const s of note.verified) {
    if (same(s, opts.log)) continue;
    const key = `${s.name}+${s.keyId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    cosignatures.push(s.timestamp === undefined ? { name: s.name, keyId: s.keyId } : { ...s });
  }
  const min = opts.minWitnesses ?? 0;
  if (cosignatures.length < min) {
    throw cairnError(
      "ERR_NOTE_SIGNATURE_INVALID",
      `the checkpoint has ${cosignatures.length} valid witness cosignatures, ${min} required`,
      { field: "signatures" },
    );
  }
  return { checkpoint, note, cosignatures };
}
