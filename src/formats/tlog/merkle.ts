// SPDX-License-Identifier: Apache-2.0
// Merkle hash trees as RFC 6962 section 2.1 / RFC 9162 section 2.1 define them: leaf and node
// hashing, the tree head, inclusion and consistency proofs, and their verification.
import * as crypto from "node:crypto";
import { createHash } from "node:crypto";
import { cairnError } from "../../core/errors.js";

/** Bytes in every hash of the tree (SHA-256). */
export const HASH_SIZE = 32;

/**
 * The longest inclusion proof we read. A tree of at most 2^53 - 1 leaves (the largest size we
 * accept) has inclusion proofs of at most 53 hashes.
 */
export const MAX_INCLUSION_PROOF_HASHES = 64;

/** The longest consistency proof we read: at most about 2 * 53 + 1 hashes for any size we accept. */
export const MAX_CONSISTENCY_PROOF_HASHES = 128;

/** RFC 9162 2.1.1: the hash of an empty list is the hash of an empty string. */
export function emptyRoot(): Buffer {
  return createHash("sha256").digest();
}

/** RFC 9162 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). */
export function hashLeaf(data: Uint8Array): Buffer {
  return createHash("sha256").update(LEAF_PREFIX).update(data).digest();
}

// One-shot hashing (node:crypto `hash`, Node 20.12+) of a reused 65-byte node buffer: a third of
// the CPU of a Hash object fed three times, and no Hash object for the collector. Single-threaded
// per isolate, so the buffer is never shared by two calls at once.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: "buffer") => Buffer }).hash;
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** RFC 9162 2.1.1: an interior node is HASH(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (oneShot !== undefined && left.length === HASH_SIZE && right.length === HASH_SIZE) {
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 1 + HASH_SIZE);
    return oneShot("sha256", NODE_INPUT, "buffer");
  }
  return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
}

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

function proofError(message: string, field?: string): Error {
  return cairnError("ERR_TLOG_PROOF_INVALID", message, field === undefined ? {} : { field });
}

// The largest power of two strictly smaller than n (n >= 2). Safe for any n up to 2^53.
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let x = n;
  while (x % 2 === 0) x /= 2;
  return x === 1;
}

// Bitwise operators work on 32 bits: tree sizes go to 2^53, so shifts are divisions.
const lsb = (x: number): boolean => x % 2 === 1;
const shr = (x: number): number => Math.floor(x / 2);

function checkSize(n: unknown, field: string): number {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
    throw proofError(`${field} must be a non-negative safe integer`, field);
  }
  return n;
}

function checkHash(h: unknown, field: string): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw proofError(`${field} must be a ${HASH_SIZE}-byte hash`, field);
  }
  return h;
}

function checkProof(proof: unknown, max: number): readonly Uint8Array[] {
  // The proof is attacker-controlled: bound its length before looking at its elements.
  if (!Array.isArray(proof)) throw proofError("a proof must be an array of hashes", "proof");
  if (proof.length > max) throw proofError(`a proof has at most ${max} hashes`, "proof");
  proof.forEach((h, i) => {
    checkHash(h, `proof[${i}]`);
  });
  return proof as readonly Uint8Array[];
}

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

// --- reference algorithms over a list of leaf hashes (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1) ---------

function mth(leaves: readonly Uint8Array[], start: number, end: number): Buffer {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (n === 1) return Buffer.from(leaves[start]!);
  const k = splitPoint(n);
  return hashChildren(mth(leaves, start, start + k), mth(leaves, start + k, end));
}

function checkLeafHashes(leafHashes: readonly Uint8Array[]): void {
  leafHashes.forEach((h, i) => {
    checkHash(h, `leafHashes[${i}]`);
  });
}

/** RFC 9162 2.1.1: the Merkle Tree Hash MTH(D[n]) of a list of leaf hashes (already HASH(0x00 || d)). */
export function rootHash(leafHashes: readonly Uint8Array[]): Buffer {
  checkLeafHashes(leafHashes);
  return mth(leafHashes, 0, leafHashes.length);
}

/** RFC 9162 2.1.3.1: the inclusion proof PATH(index, D[n]) for the leaf at `index`. */
export function inclusionProof(index: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  checkLeafHashes(leafHashes);
  const n = leafHashes.length;
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw cairnError("ERR_USAGE", `leaf index ${index} is not in a tree of size ${n}`);
  }
  const out: Buffer[] = [];
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]).
  // Built from the root down, the hashes come out in reverse: collect and reverse at the end.
  let start = 0;
  let end = n;
  let m = index;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      out.push(mth(leafHashes, start + k, end));
      end = start + k;
    } else {
      out.push(mth(leafHashes, start, start + k));
      start += k;
      m -= k;
    }
  }
  return out.reverse();
}

/** RFC 9162 2.1.4.1: the consistency proof PROOF(m, D[n]) between the first `m` leaves and all of them. */
export function consistencyProof(m: number, leafHashes: readonly Uint8Array[]): Buffer[] {
  checkLeafHashes(leafHashes);
  const n = leafHashes.length;
  if (!Number.isSafeInteger(m) || m < 0 || m > n) {
    throw cairnError("ERR_USAGE", `size ${m} is not between 0 and the tree size ${n}`);
  }
  // 0 < m < n in the RFC; for m = 0 or m = n the proof is empty (nothing to show).
  if (m === 0 || m === n) return [];
  return subproof(m, n, true, (s, e) => mth(leafHashes, s, e));
}

// SUBPROOF(m, D[0:n], b) of RFC 9162 2.1.4.1, iteratively, with `hash(s, e)` giving MTH(D[s:e]).
// Shared by the list functions and MerkleTree.
function subproof(m: number, n: number, b0: boolean, hash: (s: number, e: number) => Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  let size = n;
  let mm = m;
  let b = b0;
  while (mm !== size) {
    const k = splitPoint(size);
    if (mm <= k) {
      // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      out.push(hash(start + k, start + size));
      size = k;
    } else {
      // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      out.push(hash(start, start + k));
      start += k;
      size -= k;
      mm -= k;
      b = false;
    }
  }
  // SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}.
  if (!b) out.push(hash(start, start + size));
  return out.reverse();
}

// --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------

/**
 * Verifies an inclusion proof exactly as RFC 9162 section 2.1.3.2 specifies. Throws
 * ERR_TLOG_PROOF_INVALID unless `leafHash` is the leaf at `index` of the tree of `treeSize`
 * leaves whose root is `root`.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  // index, treeSize and proof are attacker-controlled: check types and bounds first.
  checkHash(leafHash, "leafHash");
  checkHash(root, "root");
  checkSize(index, "index");
  checkSize(treeSize, "treeSize");
  const path = checkProof(proof, MAX_INCLUSION_PROOF_HASHES);
  // 1. If leaf_index >= tree_size, fail.
  if (index >= treeSize) throw proofError(`leaf index ${index} is not below tree size ${treeSize}`, "index");
  // 2. fn = leaf_index, sn = tree_size - 1. 3. r = hash.
  let fn = index;
  let sn = treeSize - 1;
  let r: Uint8Array = leafHash;
  // 4. For each p in inclusion_path:
  for (const p of path) {
    // a. If sn is 0, fail (the proof is longer than the tree is tall).
    if (sn === 0) throw proofError("the inclusion proof is too long", "proof");
    // b. If LSB(fn) is set or fn == sn: r = HASH(0x01 || p || r), then if LSB(fn) is not set,
    //    right-shift fn and sn until LSB(fn) is set or fn is 0. Otherwise r = HASH(0x01 || r || p).
    if (lsb(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    // c. Right-shift fn and sn once.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. Succeed only if sn is 0 and r equals the root hash.
  if (sn !== 0) throw proofError("the inclusion proof is too short", "proof");
  if (!equalHashes(r, root)) throw proofError("the inclusion proof does not lead to the root", "root");
}

/**
 * Verifies a consistency proof exactly as RFC 9162 section 2.1.4.2 specifies. Throws
 * ERR_TLOG_PROOF_INVALID unless the tree of `size1` leaves with root `root1` is a prefix of the
 * tree of `size2` leaves with root `root2`. Equal sizes need an empty proof and equal roots; size 0
 * needs an empty proof and the empty-tree root.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkSize(size1, "size1");
  checkSize(size2, "size2");
  checkHash(root1, "root1");
  checkHash(root2, "root2");
  const path = checkProof(proof, MAX_CONSISTENCY_PROOF_HASHES);
  if (size1 > size2) throw proofError(`size1 ${size1} is larger than size2 ${size2}`, "size1");
  if (size1 === 0) {
    // Every tree extends the empty tree; the only thing to check is that root1 is its root.
    if (path.length !== 0) throw proofError("a proof from the empty tree must be empty", "proof");
    if (!equalHashes(root1, emptyRoot())) throw proofError("root1 is not the empty tree's root", "root1");
    if (size2 === 0 && !equalHashes(root2, root1)) throw proofError("the roots differ", "root2");
    return;
  }
  if (size1 === size2) {
    if (path.length !== 0) throw proofError("a proof between equal sizes must be empty", "proof");
    if (!equalHashes(root1, root2)) throw proofError("equal sizes with different roots", "root2");
    return;
  }
  // 1. If consistency_path is empty, fail.
  if (path.length === 0) throw proofError("the consistency proof is empty", "proof");
  // 2. If first is an exact power of 2, prepend first_hash to consistency_path.
  const c: readonly Uint8Array[] = isPowerOfTwo(size1) ? [root1, ...path] : path;
  // 3. fn = first - 1, sn = second - 1.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  // 5. fr = sr = the first value of consistency_path.
  let fr: Uint8Array = c[0]!;
  let sr: Uint8Array = c[0]!;
  // 6. For each subsequent value in consistency_path:
  for (let i = 1; i < c.length; i++) {
    const v = c[i]!;
    // a. If sn is 0, fail.
    if (sn === 0) throw proofError("the consistency proof is too long", "proof");
    // b. If LSB(fn) is set or fn == sn: fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr),
    //    then if LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
    //    Otherwise sr = HASH(0x01 || sr || c).
    if (lsb(fn) || fn === sn) {
      fr = hashChildren(v, fr);
      sr = hashChildren(v, sr);
      if (!lsb(fn)) {
        while (!lsb(fn) && fn !== 0) {
          fn = shr(fn);
          sn = shr(sn);
        }
      }
    } else {
      sr = hashChildren(sr, v);
    }
    // c. Right-shift fn and sn once.
    fn = shr(fn);
    sn = shr(sn);
  }
  // 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
  if (sn !== 0) throw proofError("the consistency proof is too short", "proof");
  if (!equalHashes(fr, root1)) throw proofError("the consistency proof does not lead to root1", "root1");
  if (!equalHashes(sr, root2)) throw proofError("the consistency proof does not lead to root2", "root2");
}

// --- an in-memory tree that keeps every complete subtree hash ------------------------------------

// Hashes per storage chunk: one level is a list of fixed-size chunks, never one huge reallocation.
const CHUNK_HASHES = 4096;

// One level of the tree: hashes of the complete subtrees of 2^level leaves, left to right.
class Level {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(h: Uint8Array): void {
    const c = Math.floor(this.length / CHUNK_HASHES);
    if (c === this.chunks.length) this.chunks.push(Buffer.allocUnsafe(CHUNK_HASHES * HASH_SIZE));
    this.chunks[c]!.set(h, (this.length % CHUNK_HASHES) * HASH_SIZE);
    this.length++;
  }
  // A view of the stored hash (never handed out: callers get copies).
  at(i: number): Buffer {
    const off = (i % CHUNK_HASHES) * HASH_SIZE;
    return this.chunks[Math.floor(i / CHUNK_HASHES)]!.subarray(off, off + HASH_SIZE);
  }
}

/**
 * An append-only RFC 6962 Merkle tree in memory. It stores the hash of every complete subtree
 * (about 2n hashes for n leaves, so 64 MB for a million leaves), so appending costs O(1) hashes
 * amortized, and the root, inclusion proofs and consistency proofs at any past size cost O(log n)
 * stored lookups and at most O(log^2 n) hashes for the incomplete right edge.
 */
export class MerkleTree {
  // levels[l] holds the hashes of complete subtrees of 2^l leaves.
  private readonly levels: Level[] = [new Level()];
  // Hashes of the incomplete right edge D[start:edgeEnd] by start, for the last size proofs were
  // made at: every proof at one size needs the same ones (a batch's proofs share them), and a
  // range of an append-only tree never changes, so they are reused until another size is asked.
  private edgeEnd = -1;
  private readonly edge = new Map<number, Buffer>();

  /** Builds a tree from leaf hashes (each already HASH(0x00 || data)). */
  static fromLeafHashes(leafHashes: Iterable<Uint8Array>): MerkleTree {
    const t = new MerkleTree();
    for (const h of leafHashes) t.append(h);
    return t;
  }

  /** The number of leaves. */
  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends a leaf hash (already HASH(0x00 || data)); returns its index. */
  append(leafHash: Uint8Array): number {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
      throw cairnError("ERR_USAGE", `a leaf hash is ${HASH_SIZE} bytes`);
    }
    const index = this.size;
    this.levels[0]!.push(leafHash);
    // Each time a level gets an even count, its last two hashes complete a subtree one level up.
    let level = 0;
    let count = index + 1;
    while (count % 2 === 0) {
      const cur = this.levels[level]!;
      const parent = hashChildren(cur.at(count - 2), cur.at(count - 1));
      if (this.levels.length === level + 1) this.levels.push(new Level());
      this.levels[level + 1]!.push(parent);
      level++;
      count /= 2;
    }
    return index;
  }

  /** Hashes `data` as a leaf (HASH(0x00 || data)) and appends it; returns its index. */
  appendData(data: Uint8Array): number {
    return this.append(hashLeaf(data));
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Buffer {
    this.checkIndex(index, this.size, "index");
    return Buffer.from(this.levels[0]!.at(index));
  }

  /**
   * The hash of the complete subtree of 2^level leaves starting at leaf index * 2^level (the unit
   * of C2SP tlog-tiles), or undefined while that subtree is not complete.
   */
  nodeHash(level: number, index: number): Buffer | undefined {
    const l = this.levels[level];
    if (l === undefined || !Number.isSafeInteger(index) || index < 0 || index >= l.length) return undefined;
    return Buffer.from(l.at(index));
  }

  /** The root hash MTH(D[0:size]) at any size up to the current one. */
  rootHash(size: number = this.size): Buffer {
    this.checkIndex(size, this.size + 1, "size");
    if (size === 0) return emptyRoot();
    return Buffer.from(this.rangeHash(0, size));
  }

  /** The inclusion proof PATH(index, D[0:size]) for the leaf at `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkIndex(size, this.size + 1, "size");
    this.checkIndex(index, size, "index");
    const out: Buffer[] = [];
    let start = 0;
    let end = size;
    let m = index;
    while (end - start > 1) {
      const k = splitPoint(end - start);
      if (m < k) {
        out.push(Buffer.from(this.rangeHash(start + k, end)));
        end = start + k;
      } else {
        out.push(Buffer.from(this.rangeHash(start, start + k)));
        start += k;
        m -= k;
      }
    }
    return out.reverse();
  }

  /** The consistency proof PROOF(size1, D[0:size2]); empty when size1 is 0 or equals size2. */
  consistencyProof(size1: number, size2: number = this.size): Buffer[] {
    this.checkIndex(size2, this.size + 1, "size2");
    this.checkIndex(size1, size2 + 1, "size1");
    if (size1 === 0 || size1 === size2) return [];
    return subproof(size1, size2, true, (s, e) => Buffer.from(this.rangeHash(s, e)));
  }

  // MTH(D[start:end]) for the ranges the RFC recursion produces: `start` is a multiple of the
  // smallest power of two not below end - start, so every power-of-two part is a stored node.
  private rangeHash(start: number, end: number): Buffer {
    const n = end - start;
    if (isPowerOfTwo(n)) {
      let level = 0;
      while (2 ** level < n) level++;
      return this.levels[level]!.at(start / n);
    }
    // Not a power of two: end is the right edge of the tree the proof or root is for.
    if (end !== this.edgeEnd) {
      this.edge.clear();
      this.edgeEnd = end;
    }
    let h = this.edge.get(start);
    if (h === undefined) {
      const k = splitPoint(n);
      h = hashChildren(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
      this.edge.set(start, h);
    }
    return h;
  }

  private checkIndex(i: number, bound: number, name: string): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= bound) {
      throw cairnError("ERR_USAGE", `${name} ${i} is out of range (must be below ${bound})`);
    }
  }
}
