// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note (c2sp.org/signed-note): text signed by one or more keys, Ed25519 signatures
// (type 0x01), verifier keys ("vkeys"), and the timestamped Ed25519 witness cosignatures of
// C2SP tlog-cosignature (type 0x04, "cosignature/v1").
import {
  createHash,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { type Clock, systemClock } from "../../core/clock.js";
import { cairnError } from "../../core/errors.js";
import { decodeStdBase64, noteTextProblem } from "./text.js";

/** signed-note "Signature types": Ed25519 signatures over the note text. */
export const SIG_TYPE_ED25519 = 0x01;
/** signed-note "Signature types" and tlog-cosignature: timestamped Ed25519 witness cosignatures. */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/**
 * The most signature lines we read in one note. signed-note "Format": verifiers SHOULD bound the
 * count but MUST accept at least 16.
 */
export const MAX_NOTE_SIGNATURES = 100;

/** The largest note we read, in UTF-8 bytes (100 post-quantum signatures of ~5 kB still fit). */
export const MAX_NOTE_BYTES = 1024 * 1024;

/** Bounds applied while parsing untrusted notes. */
export interface NoteLimits {
  /** Maximum size in UTF-8 bytes; default MAX_NOTE_BYTES. */
  maxBytes?: number;
  /** Maximum number of signature lines; default MAX_NOTE_SIGNATURES. */
  maxSignatures?: number;
}

/** One signature line: `— <name> base64(keyId || signature)`. */
export interface NoteSignature {
  /** The key name. */
  name: string;
  /** The 32-bit key ID (big-endian on the wire). */
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Buffer;
}

/** A parsed signed note. The text is untrusted until `openNote` has verified it. */
export interface Note {
  /** The note text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

/** A signature that verified, as `openNote` reports it. */
export interface VerifiedNoteSignature {
  name: string;
  keyId: number;
  /** For cosignatures (type 0x04): the POSIX time the cosigner signed at. */
  timestamp?: number;
}

/** A note whose text has been verified by at least one trusted key. */
export interface VerifiedNote {
  text: string;
  /** Signatures by known keys, all of which verified. */
  verified: VerifiedNoteSignature[];
  /** Signatures by keys the caller did not give (ignored, as signed-note requires). */
  unverified: NoteSignature[];
}

/** What a verifier reports for a signature that verified. */
export interface NoteSignatureCheck {
  timestamp?: number;
}

/** Checks signatures by one key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /**
   * Checks `signature` (the bytes after the key ID) over the note `text` (UTF-8, final newline
   * included). Returns null for a bad signature; never throws for one.
   */
  verify(text: Buffer, signature: Buffer): NoteSignatureCheck | null;
}

/** Makes signatures by one key. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** Signs the note `text`; returns the signature bytes that follow the key ID. */
  sign(text: Buffer): Buffer;
}

const EM_DASH_PREFIX = "\u2014 ";
// Key names MUST NOT contain Unicode spaces or "+" (signed-note "Format"). \s covers the Unicode
// White_Space characters but U+0085, which Go's unicode.IsSpace also counts.
const BAD_NAME_CHAR = /[\s\u0085+]/u;

function malformed(message: string, field?: string): Error {
  return cairnError("ERR_NOTE_MALFORMED", message, field === undefined ? {} : { field });
}

function keyInvalid(message: string, field?: string): Error {
  return cairnError("ERR_KEY_INVALID", message, field === undefined ? {} : { field });
}

/** True when `name` is a valid key name: non-empty, valid text, no Unicode spaces, no "+". */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    !BAD_NAME_CHAR.test(name) &&
    noteTextProblem(name) === undefined
  );
}

/** signed-note "Signatures": key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]. */
export function noteKeyId(name: string, sigType: number, publicKey: Uint8Array): number {
  const h = createHash("sha256")
    .update(name, "utf8")
    .update(Buffer.from([0x0a, sigType]))
    .update(publicKey);
  return h.digest().readUInt32BE(0);
}

function keyIdHex(id: number): string {
  return id.toString(16).padStart(8, "0");
}

// --- parse and serialize ---------------------------------------------------------------------------

function decodeInput(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === "string") {
    if (!input.isWellFormed()) throw malformed("a note is not valid Unicode");
    // UTF-8 is at most 3 bytes per UTF-16 unit: only measure when the bound could be exceeded.
    if (input.length * 3 > maxBytes && Buffer.byteLength(input, "utf8") > maxBytes) {
      throw malformed(`a note is larger than ${maxBytes} bytes`);
    }
    return input;
  }
  if (input.byteLength > maxBytes) throw malformed(`a note is larger than ${maxBytes} bytes`);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    throw malformed("a note is not valid UTF-8");
  }
}

/**
 * Parses a signed note (signed-note "Format") without verifying anything: the text is untrusted
 * until `openNote` has checked a signature by a trusted key. Throws ERR_NOTE_MALFORMED.
 */
export function parseNote(input: string | Uint8Array, limits: NoteLimits = {}): Note {
  const maxBytes = limits.maxBytes ?? MAX_NOTE_BYTES;
  const maxSignatures = limits.maxSignatures ?? MAX_NOTE_SIGNATURES;
  const s = decodeInput(input, maxBytes);
  const problem = noteTextProblem(s);
  if (problem) throw malformed(`a note ${problem}`);
  if (!s.endsWith("\n")) throw malformed("a note must end with a newline");
  // The text is separated from the signatures by the last empty line; it keeps its final newline.
  const split = s.lastIndexOf("\n\n");
  if (split < 0) throw malformed("a note has no blank line before its signatures");
  const text = s.slice(0, split + 1);
  const lines = s.slice(split + 2, -1).split("\n");
  if (lines.length === 1 && lines[0] === "") throw malformed("a note has no signature lines");
  // Untrusted input: bound the signature count before decoding any of them.
  if (lines.length > maxSignatures) throw malformed(`a note has more than ${maxSignatures} signatures`);
  const signatures = lines.map((line, i) => parseSignatureLine(line, `signatures[${i}]`));
  return { text, signatures };
}

function parseSignatureLine(line: string, field: string): NoteSignature {
  if (!line.startsWith(EM_DASH_PREFIX))
    throw malformed("a signature line must start with an em dash and a space", field);
  const rest = line.slice(EM_DASH_PREFIX.length);
  const sp = rest.indexOf(" ");
  if (sp < 0) throw malformed("a signature line needs a key name, a space and a signature", field);
  const name = rest.slice(0, sp);
  if (!isValidKeyName(name)) throw malformed(`invalid key name ${JSON.stringify(name)}`, field);
  const bytes = decodeStdBase64(rest.slice(sp + 1));
  if (bytes === undefined) throw malformed("a signature is not canonical standard base64", field);
  // 4 bytes of key ID and a non-empty signature.
  if (bytes.length < 5) throw malformed("a signature is shorter than a key ID and one byte", field);
  return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
}

function checkText(text: string): void {
  if (typeof text !== "string" || !text.endsWith("\n"))
    throw malformed("a note text must end with a newline", "text");
  const problem = noteTextProblem(text);
  if (problem) throw malformed(`a note text ${problem}`, "text");
}

function signatureLine(sig: NoteSignature, field: string): string {
  if (!isValidKeyName(sig.name)) throw malformed(`invalid key name ${JSON.stringify(sig.name)}`, field);
  if (!Number.isInteger(sig.keyId) || sig.keyId < 0 || sig.keyId > 0xffffffff) {
    throw malformed("a key ID is a 32-bit unsigned integer", field);
  }
  if (!(sig.signature instanceof Uint8Array) || sig.signature.length === 0) {
    throw malformed("a signature must not be empty", field);
  }
  const id = Buffer.alloc(4);
  id.writeUInt32BE(sig.keyId);
  return `${EM_DASH_PREFIX}${sig.name} ${Buffer.concat([id, sig.signature]).toString("base64")}\n`;
}

/** Serializes a note: text, a blank line, then one line per signature. Throws ERR_NOTE_MALFORMED. */
export function serializeNote(note: Note): string {
  checkText(note.text);
  if (note.signatures.length === 0) throw malformed("a note needs at least one signature", "signatures");
  return `${note.text}\n${note.signatures.map((s, i) => signatureLine(s, `signatures[${i}]`)).join("")}`;
}

// --- signing and verifying -------------------------------------------------------------------------

/**
 * Signs a note text, or adds signatures to an already signed note (a witness cosigning a
 * checkpoint). Returns the note; serialize it with `serializeNote`.
 */
export function signNote(note: string | Note, signers: readonly NoteSigner[]): Note {
  const text = typeof note === "string" ? note : note.text;
  checkText(text);
  const bytes = Buffer.from(text, "utf8");
  const added = signers.map((s) => ({ name: s.name, keyId: s.keyId, signature: s.sign(bytes) }));
  return { text, signatures: [...(typeof note === "string" ? [] : note.signatures), ...added] };
}

/**
 * Verifies a signed note against trusted keys, as signed-note "Signatures" requires: signatures
 * whose (name, key ID) match no given verifier are ignored; every signature by a known key must
 * verify (one that does not rejects the whole note); at least one must. Throws ERR_NOTE_MALFORMED
 * or ERR_NOTE_SIGNATURE_INVALID; returns the text only after the check.
 */
export function openNote(
  input: string | Uint8Array | Note,
  verifiers: readonly NoteVerifier[],
  limits: NoteLimits = {},
): VerifiedNote {
  const note =
    typeof input === "string" || input instanceof Uint8Array
      ? parseNote(input, limits)
      : parseNote(serializeNote(input), limits);
  const byKey = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.name}+${keyIdHex(v.keyId)}`;
    if (byKey.has(k)) throw cairnError("ERR_USAGE", `two verifiers share the key name and ID ${k}`);
    byKey.set(k, v);
  }
  const text = Buffer.from(note.text, "utf8");
  const verified: VerifiedNoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of note.signatures) {
    // Only the pair (name, key ID) identifies a key: a match on one of them alone is an unknown key.
    const v = byKey.get(`${sig.name}+${keyIdHex(sig.keyId)}`);
    if (v === undefined) {
      unverified.push(sig);
      continue;
    }
    const check = v.verify(text, sig.signature);
    if (check === null) {
      throw cairnError("ERR_NOTE_SIGNATURE_INVALID", `the signature by ${sig.name} does not verify`, {
        field: "signatures",
      });
    }
    verified.push({
      name: sig.name,
      keyId: sig.keyId,
      ...(check.timestamp === undefined ? {} : { timestamp: check.timestamp }),
    });
  }
  if (verified.length === 0) {
    throw cairnError("ERR_NOTE_SIGNATURE_INVALID", "the note carries no signature by a trusted key", {
      field: "signatures",
    });
  }
  return { text: note.text, verified, unverified };
}

// --- Ed25519 keys ------------------------------------------------------------------------------------

function ed25519Raw(key: KeyObject, field: string): Buffer {
  if (key.asymmetricKeyType !== "ed25519") throw keyInvalid("an Ed25519 key is required", field);
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const { x } = pub.export({ format: "jwk" });
  return Buffer.from(x as string, "base64url");
}

function ed25519FromRaw(raw: Uint8Array, field: string): KeyObject {
  if (raw.length !== 32) throw keyInvalid("an Ed25519 public key is 32 bytes", field);
  try {
    return createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") },
      format: "jwk",
    });
  } catch {
    throw keyInvalid("not a valid Ed25519 public key", field);
  }
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) throw keyInvalid(`invalid key name ${JSON.stringify(name)}`, "name");
}

function checkPrivate(key: KeyObject): void {
  if (key.type !== "private") throw keyInvalid("a signer needs a private key", "key");
}

function ed25519Verify(data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    return nodeVerify(null, data, key, sig);
  } catch {
    return false;
  }
}

/** A signer of type 0x01: Ed25519 over the note text. */
export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  checkName(name);
  checkPrivate(privateKey);
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, ed25519Raw(privateKey, "key"));
  return { name, keyId, sign: (text) => nodeSign(null, text, privateKey) };
}

/** A verifier of type 0x01: Ed25519 over the note text. */
export function ed25519NoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  checkName(name);
  const raw = ed25519Raw(publicKey, "key");
  const key = ed25519FromRaw(raw, "key");
  const keyId = noteKeyId(name, SIG_TYPE_ED25519, raw);
  return { name, keyId, verify: (text, sig) => (ed25519Verify(text, key, sig) ? {} : null) };
}

// --- tlog-cosignature/v1 (type 0x04) -------------------------------------------------------------------

/** Options for checking cosignatures. */
export interface CosignatureVerifyOptions {
  /** When given, cosignatures dated after now + maxFutureSeconds are refused (tlog-cosignature "Format": MAY). */
  clock?: Clock;
  /** Allowed clock skew for `clock`, in seconds; default 60. */
  maxFutureSeconds?: number;
}

/** tlog-cosignature "Ed25519 signed message": "cosignature/v1\ntime <t>\n" || note text. */
export function cosignatureV1Message(timestamp: number, text: Uint8Array | string): Buffer {
  const body = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  return Buffer.concat([Buffer.from(`cosignature/v1\ntime ${timestamp}\n`, "utf8"), body]);
}

/**
 * A cosigner of type 0x04 (tlog-cosignature): signs "cosignature/v1\ntime <t>\n" || text and
 * returns the timestamped_signature (u64 big-endian timestamp || 64-byte signature), dated by `clock`.
 */
export function cosignatureV1Signer(
  name: string,
  privateKey: KeyObject,
  clock: Clock = systemClock,
): NoteSigner {
  checkName(name);
  checkPrivate(privateKey);
  const keyId = noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, ed25519Raw(privateKey, "key"));
  return {
    name,
    keyId,
    sign: (text) => {
      const t = Math.floor(clock.now().getTime() / 1000);
      if (!Number.isSafeInteger(t) || t < 0) throw cairnError("ERR_USAGE", "the clock is before 1970");
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(BigInt(t));
      return Buffer.concat([ts, nodeSign(null, cosignatureV1Message(t, text), privateKey)]);
    },
  };
}

/** A verifier of type 0x04 (tlog-cosignature): reports the cosignature's timestamp when it verifies. */
export function cosignatureV1Verifier(
  name: string,
  publicKey: KeyObject,
  opts: CosignatureVerifyOptions = {},
): NoteVerifier {
  checkName(name);
  const raw = ed25519Raw(publicKey, "key");
  const key = ed25519FromRaw(raw, "key");
  const keyId = noteKeyId(name, SIG_TYPE_COSIGNATURE_V1, raw);
  const maxFuture = opts.maxFutureSeconds ?? 60;
  return {
    name,
    keyId,
    verify: (text, sig) => {
      // timestamped_signature: u64 timestamp || ed25519_signature[64].
      if (sig.length !== 8 + 64) return null;
      const big = sig.readBigUInt64BE(0);
      // The spec caps the timestamp at 2^63 - 1; we also need it exact as a number.
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
      const timestamp = Number(big);
      if (opts.clock && timestamp > opts.clock.now().getTime() / 1000 + maxFuture) return null;
      return ed25519Verify(cosignatureV1Message(timestamp, text), key, sig.subarray(8))
        ? { timestamp }
        : null;
    },
  };
}

// --- verifier keys ("vkeys") -----------------------------------------------------------------------------

/** A parsed verifier key: `<name>+<hex key ID>+<base64(type || public key)>`. */
export interface Vkey {
  name: string;
  keyId: number;
  /** The signature type byte (0x01 Ed25519, 0x04 cosignature/v1, ...). */
  type: number;
  /** The public key material after the type byte. */
  publicKey: Buffer;
}

/** The most characters we read in a vkey (an ML-DSA-44 vkey is about 1,800). */
export const MAX_VKEY_CHARS = 8192;

/**
 * Parses a vkey (signed-note "Verifier keys"). For the types cairn knows (0x01, 0x04) the key ID
 * must be the one the spec derives from the name and key. Throws ERR_KEY_INVALID.
 */
export function parseVkey(vkey: string): Vkey {
  if (typeof vkey !== "string" || vkey.length > MAX_VKEY_CHARS) throw keyInvalid("not a verifier key");
  // The name and the ID contain no "+"; the base64 key may.
  const p1 = vkey.indexOf("+");
  const p2 = p1 < 0 ? -1 : vkey.indexOf("+", p1 + 1);
  if (p2 < 0) throw keyInvalid("a verifier key is <name>+<key ID>+<key>");
  const name = vkey.slice(0, p1);
  const idHex = vkey.slice(p1 + 1, p2);
  const b64 = vkey.slice(p2 + 1);
  if (!isValidKeyName(name)) throw keyInvalid(`invalid key name ${JSON.stringify(name)}`, "name");
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw keyInvalid("a key ID is 8 hex digits", "keyId");
  const bytes = decodeStdBase64(b64);
  if (bytes === undefined || bytes.length < 2)
    throw keyInvalid("the key is not base64 of a type and a key", "key");
  const type = bytes[0]!;
  const publicKey = bytes.subarray(1);
  const keyId = Number.parseInt(idHex, 16);
  if (type === SIG_TYPE_ED25519 || type === SIG_TYPE_COSIGNATURE_V1) {
    ed25519FromRaw(publicKey, "key");
    if (noteKeyId(name, type, publicKey) !== keyId) {
      throw keyInvalid("the key ID does not match the name and key", "keyId");
    }
  }
  return { name, keyId, type, publicKey };
}

/** Formats a vkey; the key ID is derived as signed-note recommends. */
export function formatVkey(name: string, type: number, publicKey: Uint8Array): string {
  checkName(name);
  if (!Number.isInteger(type) || type < 0 || type > 255)
    throw keyInvalid("a signature type is one byte", "type");
  const id = keyIdHex(noteKeyId(name, type, publicKey));
  return `${name}+${id}+${Buffer.concat([Buffer.from([type]), publicKey]).toString("base64")}`;
}

/** The vkey of an Ed25519 key for signatures of `type` (0x01 by default, 0x04 for a cosigner). */
export function ed25519Vkey(name: string, key: KeyObject, type: number = SIG_TYPE_ED25519): string {
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    throw keyInvalid("Ed25519 keys sign as type 0x01 or 0x04", "type");
  }
  return formatVkey(name, type, ed25519Raw(key, "key"));
}

/** A verifier for a vkey of type 0x01 or 0x04. Throws ERR_KEY_INVALID for other types. */
export function noteVerifierFromVkey(vkey: string, opts: CosignatureVerifyOptions = {}): NoteVerifier {
  const k = parseVkey(vkey);
  if (k.type === SIG_TYPE_ED25519) return ed25519NoteVerifier(k.name, ed25519FromRaw(k.publicKey, "key"));
  if (k.type === SIG_TYPE_COSIGNATURE_V1) {
    return cosignatureV1Verifier(k.name, ed25519FromRaw(k.publicKey, "key"), opts);
  }
  throw keyInvalid(`unsupported signature type 0x${k.type.toString(16).padStart(2, "0")}`, "type");
}
