// SPDX-License-Identifier: Apache-2.0
// The C2SP tlog-tiles read API (c2sp.org/tlog-tiles): tile and entry-bundle paths, serving
// `checkpoint`, `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]` from a log's storage, and
// the client side: recomputing a checkpoint's root and RFC 9162 proofs from fetched tiles, so
// anyone can audit the log from static files.
import { cairnError } from "../../core/errors.js";
import {
  emptyRoot,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  MerkleTree,
  type NoteVerifier,
  openCheckpoint,
  type VerifiedCheckpoint,
} from "../../formats/tlog/index.js";
import type { LogStorage } from "./storage.js";

/** tlog-tiles "Merkle Tree": a tile spans 8 tree levels. */
export const TILE_HEIGHT = 8;
/** tlog-tiles: "Full tiles MUST be exactly 256 hashes wide". */
export const TILE_WIDTH = 256;
/** tlog-tiles: `<L>` "MUST be a decimal ASCII integer between 0 and 63". */
export const MAX_TILE_LEVEL = 63;
/** The longest tile path we parse (a 2^53 index has 6 path elements). */
export const MAX_TILE_PATH_CHARS = 128;

/** A resource of the tlog-tiles API. */
export type TileResource =
  | { kind: "checkpoint" }
  | { kind: "tile"; level: number; index: number; width: number }
  | { kind: "entries"; index: number; width: number };

function notFound(message: string): Error {
  return cairnError("ERR_TLOG_TILE_NOT_FOUND", message);
}

/** tlog-tiles: `<N>` as zero-padded 3-digit path elements, all but the last prefixed with `x`. */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw cairnError("ERR_USAGE", "a tile index is a non-negative integer");
  const parts: string[] = [];
  let x = n;
  do {
    parts.unshift(String(x % 1000).padStart(3, "0"));
    x = Math.floor(x / 1000);
  } while (x > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join("/");
}

function suffix(width: number): string {
  if (!Number.isSafeInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw cairnError("ERR_USAGE", `a tile width is 1..${TILE_WIDTH}`);
  }
  return width === TILE_WIDTH ? "" : `.p/${width}`;
}

/** The path of hash tile N at level L of the given width: `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  if (!Number.isSafeInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw cairnError("ERR_USAGE", `a tile level is 0..${MAX_TILE_LEVEL}`);
  }
  return `tile/${level}/${encodeTileIndex(index)}${suffix(width)}`;
}

/** The path of entry bundle N of the given width: `tile/entries/<N>[.p/<W>]`. */
export function entriesPath(index: number, width: number = TILE_WIDTH): string {
  return `tile/entries/${encodeTileIndex(index)}${suffix(width)}`;
}

const LEVEL = /^(?:0|[1-9][0-9]?)$/;
const WIDTH = /^[1-9][0-9]{0,2}$/;

/**
 * Parses a path of the API (relative to the log's prefix, no leading slash). Strict: the encoding
 * of every resource is unique, so `tile/0/1`, `tile/0/x000/001` or `.p/256` are refused. Throws
 * ERR_TLOG_TILE_NOT_FOUND.
 */
export function parseTilePath(path: string): TileResource {
  // The path is attacker-controlled (a URL): bound it first.
  if (typeof path !== "string" || path.length > MAX_TILE_PATH_CHARS) throw notFound("no such resource");
  if (path === "checkpoint") return { kind: "checkpoint" };
  const parts = path.split("/");
  if (parts[0] !== "tile" || parts.length < 3) throw notFound(`no such resource ${JSON.stringify(path)}`);
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const last = rest[rest.length - 1]!;
  if (rest.length >= 2 && rest[rest.length - 2]!.endsWith(".p")) {
    if (!WIDTH.test(last) || Number(last) >= TILE_WIDTH) throw notFound("a partial tile width is 1..255");
    width = Number(last);
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = rest[rest.length - 1]!.slice(0, -2);
  }
  let index = 0;
  rest.forEach((el, i) => {
    const isLast = i === rest.length - 1;
    const m = (isLast ? /^([0-9]{3})$/ : /^x([0-9]{3})$/).exec(el);
    if (!m) throw notFound(`bad tile index element ${JSON.stringify(el)}`);
    index = index * 1000 + Number(m[1]);
  });
  // No leading all-zero elements (x000/001 is 001): every index has one path.
  if (rest.length > 1 && rest[0] === "x000") throw notFound("a tile index has no leading zero elements");
  if (!Number.isSafeInteger(index)) throw notFound("a tile index is too large");
  if (parts[1] === "entries") return { kind: "entries", index, width };
  if (!LEVEL.test(parts[1]!) || Number(parts[1]) > MAX_TILE_LEVEL) throw notFound("a tile level is 0..63");
  return { kind: "tile", level: Number(parts[1]), index, width };
}

/** The path of a resource (inverse of parseTilePath). */
export function resourcePath(r: TileResource): string {
  if (r.kind === "checkpoint") return "checkpoint";
  return r.kind === "tile" ? tilePath(r.level, r.index, r.width) : entriesPath(r.index, r.width);
}

/**
 * The width the tile N at `level` has in a tree of `size` leaves: 256 when full, the partial width
 * `floor(size / 256^level) mod 256` for the rightmost one, 0 when the tree does not reach it.
 */
export function tileWidth(size: number, level: number, index: number): number {
  const span = TILE_WIDTH ** level; // leaves under one hash of the tile
  const hashes = Math.floor(size / span); // complete hashes at this level
  const start = index * TILE_WIDTH;
  if (hashes >= start + TILE_WIDTH) return TILE_WIDTH;
  return Math.max(0, hashes - start);
}

/** Every tile a tree of `size` leaves is served as (tlog-tiles "Partial Tiles"), level 0 first. */
export function tilesForSize(size: number): { level: number; index: number; width: number }[] {
  const out: { level: number; index: number; width: number }[] = [];
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < hashes; index++) {
      out.push({ level, index, width: tileWidth(size, level, index) });
    }
  }
  return out;
}

/** A tile's bytes: the concatenated hashes at tree level 8L, indices N*256 .. N*256+W-1. */
export function tileFromTree(tree: MerkleTree, level: number, index: number, width: number): Buffer {
  const out = Buffer.alloc(width * HASH_SIZE);
  for (let i = 0; i < width; i++) {
    const h = tree.nodeHash(TILE_HEIGHT * level, index * TILE_WIDTH + i);
    if (!h) throw notFound(`tile ${level}/${index} is not complete at width ${width}`);
    h.copy(out, i * HASH_SIZE);
  }
  return out;
}

/** tlog-tiles "Log entries": big-endian uint16 length-prefixed entries. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > 0xffff)
      throw cairnError("ERR_USAGE", "an entry bundle holds entries of at most 65535 bytes");
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length);
    parts.push(len, Buffer.from(e));
  }
  return Buffer.concat(parts);
}

/** Splits an entry bundle; throws ERR_TLOG_PROOF_INVALID when it is truncated. */
export function decodeEntryBundle(bundle: Uint8Array): Buffer[] {
  const b = Buffer.from(bundle);
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw cairnError("ERR_TLOG_PROOF_INVALID", "a truncated entry bundle");
    const len = b.readUInt16BE(off);
    if (off + 2 + len > b.length) throw cairnError("ERR_TLOG_PROOF_INVALID", "a truncated entry bundle");
    out.push(b.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

/**
 * Serves the tlog-tiles API from a storage: path -> bytes, so an HTTP layer only maps errors to
 * statuses. It keeps its own Merkle tree (every complete subtree hash), extended from storage by
 * `sync()`; resources are served only up to the size of the stored checkpoint, so nothing that is
 * not yet durable and signed is ever visible. One per process; `serve` may run concurrently.
 */
export class TileServer {
  private readonly tree = new MerkleTree();
  private checkpointNote: string | undefined;
  private checkpointSize = 0;

  constructor(private readonly storage: LogStorage) {}

  /** Reads new leaf hashes and the latest checkpoint from storage. */
  async sync(): Promise<void> {
    const head = await this.storage.head();
    if (head.size > this.tree.size) {
      const hashes = await this.storage.readLeafHashes(this.tree.size, head.size);
      for (const h of hashes) this.tree.append(h);
    }
    if (head.checkpoint && head.checkpoint.size <= this.tree.size) {
      this.checkpointNote = head.checkpoint.note;
      this.checkpointSize = head.checkpoint.size;
    }
  }

  /** The tree size resources are served for. */
  get size(): number {
    return this.checkpointSize;
  }

  /** The signed checkpoint (signed-note text) of `size`, or undefined before the first one. */
  get checkpoint(): string | undefined {
    return this.checkpointNote;
  }

  /** The number of leaf hashes read so far (may run ahead of `size` until the checkpoint is read). */
  get syncedSize(): number {
    return this.tree.size;
  }

  /** MTH(D[0:size]) for any size up to the signed size. Throws ERR_USAGE beyond it. */
  rootHash(size: number = this.checkpointSize): Buffer {
    this.within(size, "size");
    return this.tree.rootHash(size);
  }

  /** The leaf hash at `index` (< the signed size). */
  leafHash(index: number): Buffer {
    this.within(index + 1, "index");
    return this.tree.leafHash(index);
  }

  /** RFC 9162 2.1.3.1 PATH(index, D[size]), size up to the signed size. Throws ERR_USAGE outside. */
  inclusionProof(index: number, size: number = this.checkpointSize): Buffer[] {
    this.within(size, "size");
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw cairnError("ERR_USAGE", `leaf index ${index} is not in a tree of size ${size}`);
    }
    return this.tree.inclusionProof(index, size);
  }

  /** RFC 9162 2.1.4.1 PROOF(m, D[n]), 0 <= m <= n <= the signed size. Throws ERR_USAGE outside. */
  consistencyProof(m: number, n: number = this.checkpointSize): Buffer[] {
    this.within(n, "size");
    if (!Number.isSafeInteger(m) || m < 0 || m > n) {
      throw cairnError("ERR_USAGE", `size ${m} is not between 0 and ${n}`);
    }
    return this.tree.consistencyProof(m, n);
  }

  // Sizes and indexes come from requests (attacker-controlled): only the signed tree is answered.
  private within(size: number, field: string): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.checkpointSize) {
      throw cairnError(
        "ERR_USAGE",
        `${field} ${size} is beyond the log's signed size ${this.checkpointSize}`,
        {
          field,
        },
      );
    }
  }

  /**
   * The bytes at `path` (relative to the log prefix). Throws ERR_TLOG_TILE_NOT_FOUND for a bad path
   * or a resource the signed tree does not reach (tlog-tiles: "Empty tiles MUST NOT be served"),
   * and the storage's errors for entry bundles.
   */
  async serve(path: string): Promise<Buffer> {
    const r = parseTilePath(path);
    if (r.kind === "checkpoint") {
      if (this.checkpointNote === undefined) throw notFound("the log has no checkpoint yet");
      return Buffer.from(this.checkpointNote, "utf8");
    }
    const level = r.kind === "tile" ? r.level : 0;
    // Any width up to what the signed size reaches: past partial tiles stay servable.
    const have = Math.floor(this.checkpointSize / TILE_WIDTH ** level) - r.index * TILE_WIDTH;
    if (have < r.width) throw notFound(`${path} is beyond the log's signed size ${this.checkpointSize}`);
    if (r.kind === "tile") return tileFromTree(this.tree, r.level, r.index, r.width);
    const start = r.index * TILE_WIDTH;
    return encodeEntryBundle(await this.storage.readEntries(start, start + r.width));
  }
}

// --- the client side ------------------------------------------------------------------------------

/** Fetches a resource of the API by path (HTTP GET, a directory, a TileServer...). */
export type TileFetch = (path: string) => Promise<Uint8Array>;

/**
 * Reads a tree of a given size through its tiles, caching tiles for the reader's lifetime. All
 * fetched data is untrusted: tile sizes are checked, and the caller checks roots against a
 * verified checkpoint (see `verifyCheckpointFromTiles`).
 */
export class TileReader {
  private readonly cache = new Map<string, Promise<Buffer>>();
  constructor(
    private readonly fetch: TileFetch,
    readonly size: number,
  ) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw cairnError("ERR_USAGE", "a tree size is a non-negative integer");
  }

  private tile(level: number, index: number): Promise<Buffer> {
    const width = tileWidth(this.size, level, index);
    if (width === 0) throw cairnError("ERR_USAGE", `tile ${level}/${index} is beyond size ${this.size}`);
    const path = tilePath(level, index, width);
    let p = this.cache.get(path);
    if (!p) {
      p = this.fetch(path).then((b) => {
        if (b.length !== width * HASH_SIZE) {
          throw cairnError(
            "ERR_TLOG_PROOF_INVALID",
            `${path} is ${b.length} bytes, not ${width * HASH_SIZE}`,
          );
        }
        return Buffer.from(b);
      });
      this.cache.set(path, p);
    }
    return p;
  }

  /** The hash of the complete subtree of 2^k leaves starting at leaf j * 2^k. */
  async nodeHash(k: number, j: number): Promise<Buffer> {
    const level = Math.floor(k / TILE_HEIGHT);
    const r = k - level * TILE_HEIGHT;
    const first = j * 2 ** r; // index among the hashes at tree level 8 * level
    const index = Math.floor(first / TILE_WIDTH);
    const tile = await this.tile(level, index);
    const off = first - index * TILE_WIDTH;
    let row: Buffer[] = [];
    for (let i = 0; i < 2 ** r; i++)
      row.push(tile.subarray((off + i) * HASH_SIZE, (off + i + 1) * HASH_SIZE));
    // The levels between tile rows are "reconstructed by hashing the leaves" (tlog-tiles).
    while (row.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(hashChildren(row[i]!, row[i + 1]!));
      row = up;
    }
    return Buffer.from(row[0]!);
  }

  /** MTH(D[start:end]) for the ranges RFC 9162's recursions produce (start aligned to the split). */
  async rangeHash(start: number, end: number): Promise<Buffer> {
    const n = end - start;
    if (n === 0) return emptyRoot();
    let k = 0;
    while (2 ** (k + 1) <= n) k++;
    if (2 ** k === n && start % n === 0) return this.nodeHash(k, start / n);
    const split = 2 ** k === n ? n / 2 : 2 ** k;
    return hashChildren(await this.rangeHash(start, start + split), await this.rangeHash(start + split, end));
  }

  /** The root hash of the tree of `size` leaves. */
  rootHash(): Promise<Buffer> {
    return this.rangeHash(0, this.size);
  }

  /** RFC 9162 2.1.3.1 PATH(index, D[size]). */
  async inclusionProof(index: number): Promise<Buffer[]> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw cairnError("ERR_USAGE", `leaf index ${index} is not in a tree of size ${this.size}`);
    }
    const out: Buffer[] = [];
    let start = 0;
    let end = this.size;
    let m = index;
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        out.push(await this.rangeHash(start + k, end));
        end = start + k;
      } else {
        out.push(await this.rangeHash(start, start + k));
        start += k;
        m -= k;
      }
    }
    return out.reverse();
  }

  /** RFC 9162 2.1.4.1 PROOF(m, D[size]); empty for m = 0 or m = size. */
  async consistencyProof(m: number): Promise<Buffer[]> {
    if (!Number.isSafeInteger(m) || m < 0 || m > this.size) {
      throw cairnError("ERR_USAGE", `size ${m} is not between 0 and ${this.size}`);
    }
    if (m === 0 || m === this.size) return [];
    const out: Buffer[] = [];
    let start = 0;
    let size = this.size;
    let mm = m;
    let b = true;
    while (mm !== size) {
      const k = splitPoint(size);
      if (mm <= k) {
        out.push(await this.rangeHash(start + k, start + size));
        size = k;
      } else {
        out.push(await this.rangeHash(start, start + k));
        start += k;
        size -= k;
        mm -= k;
        b = false;
      }
    }
    if (!b) out.push(await this.rangeHash(start, start + size));
    return out.reverse();
  }

  /** The entries [start, end) of the tree, from entry bundles, checked against the level-0 tiles. */
  async entries(start: number, end: number): Promise<Buffer[]> {
    if (
      !(
        Number.isSafeInteger(start) &&
        Number.isSafeInteger(end) &&
        0 <= start &&
        start <= end &&
        end <= this.size
      )
    ) {
      throw cairnError("ERR_USAGE", `range [${start}, ${end}) is not within the tree of size ${this.size}`);
    }
    const out: Buffer[] = [];
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const width = tileWidth(this.size, 0, n);
      const bundle = decodeEntryBundle(await this.fetch(entriesPath(n, width)));
      const tile = await this.tile(0, n);
      if (bundle.length !== width)
        throw cairnError(
          "ERR_TLOG_PROOF_INVALID",
          `entry bundle ${n} has ${bundle.length} entries, not ${width}`,
        );
      bundle.forEach((e, i) => {
        const idx = n * TILE_WIDTH + i;
        // tlog-tiles: "Each entry in a bundle hashes to the corresponding entry" of the level 0 tile.
        if (!hashLeaf(e).equals(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))) {
          throw cairnError("ERR_TLOG_PROOF_INVALID", `entry ${idx} does not hash to its level 0 tile hash`);
        }
        if (idx >= start && idx < end) out.push(e);
      });
    }
    return out;
  }
}

function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Audits a log from its tiles: opens the signed checkpoint with the log's key (and origin), then
 * recomputes the root for its size from the tiles. Throws ERR_NOTE_*, ERR_TLOG_CHECKPOINT_INVALID,
 * or ERR_TLOG_PROOF_INVALID when the tiles do not lead to the signed root.
 */
export async function verifyCheckpointFromTiles(
  fetch: TileFetch,
  signedCheckpoint: string | Uint8Array,
  log: NoteVerifier,
  origin?: string,
): Promise<{ verified: VerifiedCheckpoint; reader: TileReader }> {
  const verified = openCheckpoint(signedCheckpoint, origin === undefined ? { log } : { log, origin });
  const reader = new TileReader(fetch, verified.checkpoint.size);
  const root = await reader.rootHash();
  if (!root.equals(verified.checkpoint.rootHash)) {
    throw cairnError("ERR_TLOG_PROOF_INVALID", "the tiles do not lead to the checkpoint's root hash", {
      field: "rootHash",
    });
  }
  return { verified, reader };
}
