// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import {
  consistencyProof,
  emptyRoot,
  hashChildren,
  hashLeaf,
  inclusionProof,
  MAX_INCLUSION_PROOF_HASHES,
  MerkleTree,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";

function rejects(fn: () => unknown, code = "ERR_TLOG_PROOF_INVALID"): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code);
    return true;
  });
}

function fails(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    assert.ok(e instanceof CairnError && e.code === "ERR_TLOG_PROOF_INVALID", String(e));
    return true;
  }
}

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** Distinct leaves: the leaf hash of the decimal index. */
function leaves(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
}

// One tree of 2,000 leaves serves every size up to 2,000 (proofs at past sizes).
const BIG = 2000;
const bigLeaves = leaves(BIG);
const bigTree = MerkleTree.fromLeafHashes(bigLeaves);

function flip(b: Uint8Array, bit = 0): Buffer {
  const c = Buffer.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

// --- RFC 9162 section 2.1.1 definitions ------------------------------------------------------

describe("RFC 9162 2.1.1 hashing", () => {
  test("the empty tree hash is SHA-256 of the empty string", () => {
    // RFC 9162 2.1.1: "The hash of an empty list is the hash of an empty string: MTH({}) = HASH()."
    assert.equal(
      emptyRoot().toString("hex"),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    assert.deepEqual(rootHash([]), emptyRoot());
    assert.deepEqual(new MerkleTree().rootHash(), emptyRoot());
  });

  test("leaf and node hashes carry the 0x00 and 0x01 prefixes", () => {
    // RFC 9162 2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)); MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    const d = Buffer.from("hello");
    assert.deepEqual(hashLeaf(d), sha256(Buffer.from([0]), d));
    const l = hashLeaf(Buffer.from("l"));
    const r = hashLeaf(Buffer.from("r"));
    assert.deepEqual(hashChildren(l, r), sha256(Buffer.from([1]), l, r));
    assert.deepEqual(rootHash([l]), l);
    assert.deepEqual(rootHash([l, r]), hashChildren(l, r));
    // k is the largest power of two smaller than n: for n = 3, k = 2 (unbalanced on the right).
    const x = hashLeaf(Buffer.from("x"));
    assert.deepEqual(rootHash([l, r, x]), hashChildren(hashChildren(l, r), x));
  });
});

// --- RFC 6962 section 2.1.3 / RFC 9162 section 2.1.5: the seven-leaf example ------------------------

describe("RFC 9162 2.1.5 example (RFC 6962 2.1.3)", () => {
  // The binary Merkle tree with 7 leaves:
  //             hash
  //            /    \
  //           k      l
  //          / \    / \
  //         g   h  i   j
  //        / \ / \ / \ |
  //        a b c d e f d6
  //        | | | | | |
  //       d0 d1 d2 d3 d4 d5
  const d = Array.from({ length: 7 }, (_, i) => Buffer.from(`d${i}`));
  const [a, b, c, dd, e, f, j] = d.map(hashLeaf) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const g = hashChildren(a, b);
  const h = hashChildren(c, dd);
  const i = hashChildren(e, f);
  const k = hashChildren(g, h);
  const l = hashChildren(i, j);
  const hash = hashChildren(k, l);
  const lh = [a, b, c, dd, e, f, j];
  const tree = MerkleTree.fromLeafHashes(lh);
  // "The same tree, built incrementally": hash0 (3 leaves), hash1 = k (4), hash2 (6).
  const hash0 = hashChildren(g, c);
  const hash1 = k;
  const hash2 = hashChildren(k, i);

  test("the roots", () => {
    assert.deepEqual(rootHash(lh), hash);
    assert.deepEqual(tree.rootHash(), hash);
    assert.deepEqual(tree.rootHash(3), hash0);
    assert.deepEqual(tree.rootHash(4), hash1);
    assert.deepEqual(tree.rootHash(6), hash2);
  });

  // "The audit path for d0 is [b, h, l]. ... d3 is [c, g, l]. ... d4 is [f, j, k]. ... d6 is [i, k]."
  const paths: [number, Buffer[]][] = [
    [0, [b, h, l]],
    [3, [c, g, l]],
    [4, [f, j, k]],
    [6, [i, k]],
  ];
  for (const [idx, want] of paths) {
    test(`the audit path for d${idx}`, () => {
      assert.deepEqual(inclusionProof(idx, lh), want);
      assert.deepEqual(tree.inclusionProof(idx), want);
      verifyInclusion(lh[idx]!, idx, 7, want, hash);
    });
  }

  // "PROOF(3, D[7]) = [c, d, g, l]", "PROOF(4, D[7]) = [l]", "PROOF(6, D[7]) = [i, j, k]".
  const proofs: [number, Buffer, Buffer[]][] = [
    [3, hash0, [c, dd, g, l]],
    [4, hash1, [l]],
    [6, hash2, [i, j, k]],
  ];
  for (const [m, first, want] of proofs) {
    test(`the consistency proof PROOF(${m}, D[7])`, () => {
      assert.deepEqual(consistencyProof(m, lh), want);
      assert.deepEqual(tree.consistencyProof(m), want);
      verifyConsistency(m, 7, want, first, hash);
    });
  }
});

// --- the list functions and MerkleTree agree, exhaustively for small trees ---------------------

describe("MerkleTree agrees with the RFC's recursive definitions", () => {
  test("every root, inclusion proof and consistency proof for every size up to 70", () => {
    for (let n = 0; n <= 70; n++) {
      const lh = bigLeaves.slice(0, n);
      assert.deepEqual(bigTree.rootHash(n), rootHash(lh), `root ${n}`);
      for (let idx = 0; idx < n; idx++) {
        assert.deepEqual(bigTree.inclusionProof(idx, n), inclusionProof(idx, lh), `PATH(${idx}, ${n})`);
      }
      for (let m = 0; m <= n; m++) {
        assert.deepEqual(bigTree.consistencyProof(m, n), consistencyProof(m, lh), `PROOF(${m}, ${n})`);
      }
    }
  });

  test("every consistency proof between every pair of sizes up to 130 verifies", () => {
    for (let n = 0; n <= 130; n++) {
      const r2 = bigTree.rootHash(n);
      for (let m = 0; m <= n; m++) {
        verifyConsistency(m, n, bigTree.consistencyProof(m, n), bigTree.rootHash(m), r2);
      }
    }
  });

  test("proofs at a past size do not change as the tree grows", () => {
    const t = new MerkleTree();
    for (let n = 1; n <= 300; n++) {
      t.append(bigLeaves[n - 1]!);
      assert.equal(t.size, n);
      assert.deepEqual(t.rootHash(), bigTree.rootHash(n));
    }
    assert.deepEqual(t.inclusionProof(17, 100), bigTree.inclusionProof(17, 100));
    assert.deepEqual(t.consistencyProof(37, 255), bigTree.consistencyProof(37, 255));
  });

  test("any interleaving of appends, roots and proofs at any sizes agrees with the list functions", () => {
    // The tree reuses right-edge hashes between calls at one size: asking at other sizes, and
    // growing in between, must never return a stale one.
    const op = fc.oneof(
      fc.record({ append: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ root: fc.nat() }),
      fc.record({ path: fc.nat(), at: fc.nat() }),
      fc.record({ from: fc.nat(), to: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const t = new MerkleTree();
        for (const o of ops) {
          const size = t.size;
          if ("append" in o) {
            for (let i = 0; i < o.append && t.size < BIG; i++) t.append(bigLeaves[t.size]!);
          } else if ("root" in o) {
            const n = o.root % (size + 1);
            assert.deepEqual(t.rootHash(n), rootHash(bigLeaves.slice(0, n)));
          } else if ("path" in o) {
            if (size === 0) continue;
            const n = 1 + (o.at % size);
            const idx = o.path % n;
            assert.deepEqual(t.inclusionProof(idx, n), inclusionProof(idx, bigLeaves.slice(0, n)));
          } else {
            const n = o.to % (size + 1);
            const m = o.from % (n + 1);
            assert.deepEqual(t.consistencyProof(m, n), consistencyProof(m, bigLeaves.slice(0, n)));
          }
        }
      }),
    );
  });

  test("node hashes are the complete subtrees (the unit of tiles)", () => {
    assert.deepEqual(bigTree.nodeHash(0, 5), bigLeaves[5]);
    assert.deepEqual(bigTree.nodeHash(8, 1), rootHash(bigLeaves.slice(256, 512)));
    assert.equal(bigTree.nodeHash(11, 0), undefined); // 2048 > 2000 leaves
    assert.equal(bigTree.nodeHash(0, BIG), undefined);
  });

  test("returned hashes are copies", () => {
    const t = MerkleTree.fromLeafHashes(leaves(4));
    const before = t.rootHash();
    t.leafHash(0).fill(0);
    t.inclusionProof(1)[0]!.fill(0);
    t.rootHash().fill(0);
    assert.deepEqual(t.rootHash(), before);
  });

  test("out-of-range requests are usage errors", () => {
    const t = MerkleTree.fromLeafHashes(leaves(5));
    rejects(() => t.inclusionProof(5), "ERR_USAGE");
    rejects(() => t.inclusionProof(0, 6), "ERR_USAGE");
    rejects(() => t.consistencyProof(3, 6), "ERR_USAGE");
    rejects(() => t.consistencyProof(4, 3), "ERR_USAGE");
    rejects(() => t.rootHash(-1), "ERR_USAGE");
    rejects(() => t.append(Buffer.alloc(31)), "ERR_USAGE");
    rejects(() => inclusionProof(5, leaves(5)), "ERR_USAGE");
    rejects(() => consistencyProof(6, leaves(5)), "ERR_USAGE");
  });
});

// --- properties over random sizes (1..2000) --------------------------------------------------------

/**
 * An independent model of a proof's shape, from the RFC's recursive definitions: which side each
 * proof hash joins on. The verifiers' arithmetic must accept a proof exactly for sizes with the
 * same shape (the proof does not otherwise commit to the sizes: the signed checkpoint does).
 */
function pathShape(m: number, n: number): string {
  let s = "";
  let size = n;
  let mm = m;
  while (size > 1) {
    let k = 1;
    while (k * 2 < size) k *= 2;
    if (mm < k) {
      s = `R${s}`;
      size = k;
    } else {
      s = `L${s}`;
      size -= k;
      mm -= k;
    }
  }
  return s;
}

function proofShape(m: number, n: number): string {
  if (m <= 0 || m >= n) return m === n && m > 0 ? "=" : m === 0 ? "0" : "x";
  let s = "";
  let size = n;
  let mm = m;
  let b = true;
  while (mm !== size) {
    let k = 1;
    while (k * 2 < size) k *= 2;
    if (mm <= k) {
      s = `R${s}`;
      size = k;
    } else {
      s = `L${s}`;
      size -= k;
      mm -= k;
      b = false;
    }
  }
  return `${b ? "first" : "node"}${s}`;
}

describe("properties: every proof verifies, every tampered one is refused", () => {
  const size = fc.integer({ min: 1, max: BIG });

  test("every inclusion proof for every index verifies", () => {
    fc.assert(
      fc.property(size, (n) => {
        const root = bigTree.rootHash(n);
        for (let idx = 0; idx < n; idx++) {
          verifyInclusion(bigLeaves[idx]!, idx, n, bigTree.inclusionProof(idx, n), root);
        }
      }),
      { numRuns: 12 },
    );
  });

  test("every consistency proof from every smaller size verifies", () => {
    fc.assert(
      fc.property(size, (n) => {
        const root = bigTree.rootHash(n);
        for (let m = 0; m <= n; m++) {
          verifyConsistency(m, n, bigTree.consistencyProof(m, n), bigTree.rootHash(m), root);
        }
      }),
      { numRuns: 12 },
    );
  });

  const inclusionCase = size.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));

  test("a tampered inclusion proof, leaf, index or root is refused", () => {
    fc.assert(
      fc.property(inclusionCase, fc.nat(), fc.nat(255), (pair, pick, bit) => {
        const [n, idx] = pair;
        const proof = bigTree.inclusionProof(idx, n);
        const root = bigTree.rootHash(n);
        const leaf = bigLeaves[idx]!;
        rejects(() => verifyInclusion(flip(leaf, bit), idx, n, proof, root));
        rejects(() => verifyInclusion(leaf, idx, n, proof, flip(root, bit)));
        if (proof.length > 0) {
          const at = pick % proof.length;
          const bad = proof.map((p, i) => (i === at ? flip(p, bit) : p));
          rejects(() => verifyInclusion(leaf, idx, n, bad, root));
          rejects(() => verifyInclusion(leaf, idx, n, proof.slice(0, -1), root));
          rejects(() => verifyInclusion(leaf, idx, n, proof.slice(1), root));
        }
        rejects(() => verifyInclusion(leaf, idx, n, [...proof, root], root));
        rejects(() => verifyInclusion(leaf, idx, n, [root, ...proof], root));
        // Another index: always refused (each leaf has its own path from the root).
        const other = (idx + 1 + (pick % n)) % n;
        if (other !== idx) rejects(() => verifyInclusion(leaf, other, n, proof, root));
        rejects(() => verifyInclusion(leaf, n + (pick % 5), n, proof, root));
      }),
      { numRuns: 300 },
    );
  });

  test("a tampered tree size is refused unless the proof has the same shape", () => {
    fc.assert(
      fc.property(inclusionCase, fc.integer({ min: 0, max: 2 * BIG }), (pair, n2) => {
        const [n, idx] = pair;
        const proof = bigTree.inclusionProof(idx, n);
        const root = bigTree.rootHash(n);
        const refused = fails(() => verifyInclusion(bigLeaves[idx]!, idx, n2, proof, root));
        const sameShape = idx < n2 && pathShape(idx, n2) === pathShape(idx, n);
        assert.equal(refused, !sameShape, `index ${idx}, size ${n} claimed as ${n2}`);
      }),
      { numRuns: 2000 },
    );
  });

  const consistencyCase = fc
    .integer({ min: 2, max: BIG })
    .chain((n) => fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constant(n)));

  test("a tampered consistency proof or root is refused", () => {
    fc.assert(
      fc.property(consistencyCase, fc.nat(), fc.nat(255), (pair, pick, bit) => {
        const [m, n] = pair;
        const proof = bigTree.consistencyProof(m, n);
        const r1 = bigTree.rootHash(m);
        const r2 = bigTree.rootHash(n);
        rejects(() => verifyConsistency(m, n, proof, flip(r1, bit), r2));
        rejects(() => verifyConsistency(m, n, proof, r1, flip(r2, bit)));
        rejects(() => verifyConsistency(m, n, proof, r2, r1));
        const at = pick % proof.length;
        rejects(() =>
          verifyConsistency(
            m,
            n,
            proof.map((p, i) => (i === at ? flip(p, bit) : p)),
            r1,
            r2,
          ),
        );
        rejects(() => verifyConsistency(m, n, proof.slice(0, -1), r1, r2));
        rejects(() => verifyConsistency(m, n, proof.slice(1), r1, r2));
        rejects(() => verifyConsistency(m, n, [...proof, r1], r1, r2));
        rejects(() => verifyConsistency(m, n, [r1, ...proof], r1, r2));
        rejects(() => verifyConsistency(n, m, proof, r2, r1));
        if (proof.length > 1) {
          const swapped = [...proof];
          [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
          rejects(() => verifyConsistency(m, n, swapped, r1, r2));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("tampered sizes are refused unless the proof has the same shape", () => {
    fc.assert(
      fc.property(
        consistencyCase,
        fc.integer({ min: 0, max: 2 * BIG }),
        fc.integer({ min: 0, max: 2 * BIG }),
        fc.boolean(),
        (pair, x, y, both) => {
          const [m, n] = pair;
          const [m2, n2] = both ? [x, y] : x % 2 === 0 ? [x % n, n] : [m, y];
          const proof = bigTree.consistencyProof(m, n);
          const refused = fails(() =>
            verifyConsistency(m2, n2, proof, bigTree.rootHash(m), bigTree.rootHash(n)),
          );
          const sameShape = proofShape(m2, n2) === proofShape(m, n);
          assert.equal(refused, !sameShape, `PROOF(${m}, ${n}) claimed as (${m2}, ${n2})`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// --- edge cases and bounds ----------------------------------------------------------------------------

describe("verifier edge cases and bounds", () => {
  const lh = leaves(8);
  const t = MerkleTree.fromLeafHashes(lh);

  test("a one-leaf tree: empty proof, the root is the leaf hash", () => {
    verifyInclusion(lh[0]!, 0, 1, [], lh[0]!);
    rejects(() => verifyInclusion(lh[0]!, 0, 1, [lh[1]!], lh[0]!));
    rejects(() => verifyInclusion(lh[0]!, 0, 0, [], lh[0]!));
  });

  test("equal sizes: empty proof and equal roots", () => {
    verifyConsistency(8, 8, [], t.rootHash(), t.rootHash());
    rejects(() => verifyConsistency(8, 8, [], t.rootHash(), t.rootHash(7)));
    rejects(() => verifyConsistency(8, 8, [lh[0]!], t.rootHash(), t.rootHash()));
  });

  test("from the empty tree: empty proof and the empty root", () => {
    verifyConsistency(0, 8, [], emptyRoot(), t.rootHash());
    verifyConsistency(0, 0, [], emptyRoot(), emptyRoot());
    rejects(() => verifyConsistency(0, 8, [], t.rootHash(1), t.rootHash()));
    rejects(() => verifyConsistency(0, 8, [t.rootHash()], emptyRoot(), t.rootHash()));
    rejects(() => verifyConsistency(0, 0, [], emptyRoot(), t.rootHash()));
  });

  test("an empty consistency proof between different sizes is refused (RFC 9162 2.1.4.2 step 1)", () => {
    rejects(() => verifyConsistency(4, 8, [], t.rootHash(4), t.rootHash()));
    rejects(() => verifyConsistency(4, 4, [], t.rootHash(4), t.rootHash()));
  });

  test("sizes and indexes must be non-negative safe integers", () => {
    const p = t.inclusionProof(3);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "3" as unknown as number]) {
      rejects(() => verifyInclusion(lh[3]!, bad, 8, p, t.rootHash()));
      rejects(() => verifyInclusion(lh[3]!, 3, bad, p, t.rootHash()));
      rejects(() => verifyConsistency(bad, 8, t.consistencyProof(4), t.rootHash(4), t.rootHash()));
      rejects(() => verifyConsistency(4, bad, t.consistencyProof(4), t.rootHash(4), t.rootHash()));
    }
  });

  test("hashes must be 32 bytes", () => {
    const p = t.inclusionProof(3);
    rejects(() => verifyInclusion(lh[3]!.subarray(1), 3, 8, p, t.rootHash()));
    rejects(() => verifyInclusion(lh[3]!, 3, 8, p, Buffer.alloc(33)));
    rejects(() => verifyInclusion(lh[3]!, 3, 8, [...p.slice(0, 2), Buffer.alloc(31)], t.rootHash()));
    rejects(() => verifyInclusion(lh[3]!, 3, 8, "nope" as unknown as Buffer[], t.rootHash()));
    rejects(() => verifyConsistency(4, 8, [Buffer.alloc(16)], t.rootHash(4), t.rootHash()));
  });

  test("proofs longer than the bound are refused before hashing", () => {
    const long = Array.from({ length: MAX_INCLUSION_PROOF_HASHES + 1 }, () => lh[0]!);
    rejects(() => verifyInclusion(lh[0]!, 0, 2 ** 53 - 1, long, t.rootHash()));
    rejects(() => verifyConsistency(1, 2 ** 53 - 1, [...long, ...long], lh[0]!, t.rootHash()));
  });

  test("huge trees: sizes near 2^53 work (no 32-bit arithmetic)", () => {
    // A tree of 2^52 + 1 leaves: the last leaf hangs directly off the root, so its proof is the
    // root of the first 2^52 leaves (built here from one repeated subtree, level by level).
    let full: Buffer = lh[0]!;
    for (let level = 0; level < 52; level++) full = hashChildren(full, full);
    const last = lh[1]!;
    const root = hashChildren(full, last);
    verifyInclusion(last, 2 ** 52, 2 ** 52 + 1, [full], root);
    rejects(() => verifyInclusion(last, 2 ** 52 - 1, 2 ** 52 + 1, [full], root));
    // Consistency from 2^52 (a power of two: the proof is just the new leaf) to 2^52 + 1.
    verifyConsistency(2 ** 52, 2 ** 52 + 1, [last], full, root);
    // Index 2^32 + 1 in a tree of 2^32 + 2 leaves: 32-bit shifts would wrap around.
    let sub: Buffer = lh[2]!;
    for (let level = 0; level < 32; level++) sub = hashChildren(sub, sub);
    const pair = hashChildren(lh[3]!, lh[4]!);
    verifyInclusion(lh[4]!, 2 ** 32 + 1, 2 ** 32 + 2, [lh[3]!, sub], hashChildren(sub, pair));
  });
});

describe("MerkleTree at scale", () => {
  test("131,075 leaves: proofs at the edges verify and stay short", () => {
    const n = 2 ** 17 + 3;
    const t = new MerkleTree();
    for (let idx = 0; idx < n; idx++) t.appendData(Buffer.from(`e${idx}`));
    const root = t.rootHash();
    for (const idx of [0, 1, 2 ** 16, 2 ** 17 - 1, 2 ** 17, n - 1]) {
      const p = t.inclusionProof(idx);
      assert.ok(p.length <= 18);
      verifyInclusion(hashLeaf(Buffer.from(`e${idx}`)), idx, n, p, root);
    }
    for (const m of [1, 1000, 2 ** 16, 2 ** 17, n - 1]) {
      verifyConsistency(m, n, t.consistencyProof(m), t.rootHash(m), root);
    }
  });
});
