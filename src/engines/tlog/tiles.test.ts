// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from "../../formats/tlog/index.js";
import { Sequencer } from "./sequencer.js";
import { MemoryLogStorage } from "./storage.js";
import {
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entriesPath,
  parseTilePath,
  TileReader,
  TileServer,
  tilePath,
  tilesForSize,
  tileWidth,
  verifyCheckpointFromTiles,
} from "./tiles.js";

const leafHashes = (n: number, salt = "") =>
  Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`${salt}${i}`)));

/** A fetcher over a tree (as a TileServer would serve it), counting fetches. */
function fetcherFor(tree: MerkleTree, size: number) {
  const server = { size };
  return async (path: string) => {
    const r = parseTilePath(path);
    assert.equal(r.kind, "tile");
    if (r.kind !== "tile") throw new Error("unreachable");
    assert.equal(
      r.width,
      tileWidth(server.size, r.level, r.index),
      `${path} has the width the size requires`,
    );
    const out = Buffer.alloc(r.width * 32);
    for (let i = 0; i < r.width; i++) tree.nodeHash(8 * r.level, r.index * 256 + i)!.copy(out, i * 32);
    return out;
  };
}

describe("tile paths (c2sp.org/tlog-tiles, section Merkle Tree)", () => {
  test('"index 1234067 will be encoded as x001/x234/067"', () => {
    assert.equal(encodeTileIndex(1234067), "x001/x234/067");
    assert.equal(tilePath(0, 1234067), "tile/0/x001/x234/067");
    assert.deepEqual(parseTilePath("tile/0/x001/x234/067"), {
      kind: "tile",
      level: 0,
      index: 1234067,
      width: 256,
    });
  });

  test("partial tiles carry .p/<W>; entry bundles live under tile/entries/ (section Log entries)", () => {
    assert.equal(tilePath(2, 5, 17), "tile/2/005.p/17");
    assert.equal(entriesPath(1234067, 8), "tile/entries/x001/x234/067.p/8");
    assert.equal(entriesPath(0), "tile/entries/000");
    assert.deepEqual(parseTilePath("tile/entries/x001/x234/067.p/8"), {
      kind: "entries",
      index: 1234067,
      width: 8,
    });
    assert.deepEqual(parseTilePath("checkpoint"), { kind: "checkpoint" });
  });

  test("every index has exactly one path (round trip), and other spellings are refused", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 40 }),
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 1, max: 256 }),
        (n, l, w) => {
          assert.deepEqual(parseTilePath(tilePath(l, n, w)), { kind: "tile", level: l, index: n, width: w });
          assert.deepEqual(parseTilePath(entriesPath(n, w)), { kind: "entries", index: n, width: w });
        },
      ),
    );
    for (const bad of [
      "tile/0/1", // not 3 digits
      "tile/0/x000/001", // leading zero element
      "tile/0/001/002", // missing x
      "tile/0/x001", // last element with x
      "tile/00/001", // level with a leading zero
      "tile/64/001", // level out of range
      "tile/0/001.p/256", // a full tile has no .p
      "tile/0/001.p/0",
      "tile/0/001.p/012",
      "tile/data/001",
      "tiles/0/001",
      "checkpoint/",
      `tile/0/${"x001/".repeat(40)}001`,
    ]) {
      assert.throws(() => parseTilePath(bad), { code: "ERR_TLOG_TILE_NOT_FOUND" }, bad);
    }
  });

  test('"a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial level 2 tile of width 1"', () => {
    const tiles = tilesForSize(70000);
    const l0 = tiles.filter((t) => t.level === 0);
    assert.equal(l0.filter((t) => t.width === 256).length, 273);
    assert.deepEqual(l0.at(-1), { level: 0, index: 273, width: 112 });
    assert.deepEqual(
      tiles.filter((t) => t.level === 1),
      [
        { level: 1, index: 0, width: 256 },
        { level: 1, index: 1, width: 17 },
      ],
    );
    assert.deepEqual(
      tiles.filter((t) => t.level === 2),
      [{ level: 2, index: 0, width: 1 }],
    );
    assert.equal(tiles.length, 273 + 1 + 2 + 1);
  });

  test('"a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile of width 1"', () => {
    assert.deepEqual(tilesForSize(256), [
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
  });
});

describe("entry bundles (tlog-tiles, section Log entries)", () => {
  test("big-endian uint16 length-prefixed entries round-trip; truncation is refused", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (entries) => {
        const b = encodeEntryBundle(entries);
        assert.deepEqual(
          decodeEntryBundle(b).map((e) => Buffer.from(e)),
          entries.map((e) => Buffer.from(e)),
        );
        if (b.length > 0)
          assert.throws(() => decodeEntryBundle(b.subarray(0, b.length - 1)), {
            code: "ERR_TLOG_PROOF_INVALID",
          });
      }),
    );
    assert.deepEqual(encodeEntryBundle([Buffer.from("ab")]), Buffer.from([0, 2, 0x61, 0x62]));
  });
});

describe("roots and proofs from tiles", () => {
  const big = MerkleTree.fromLeafHashes(leafHashes(3000));

  test("property: the root recomputed from tiles equals the MerkleTree root for sizes 1..3000", async () => {
    const sizes = fc.oneof(
      fc.integer({ min: 1, max: 3000 }),
      // around the 256-leaf tile boundaries
      fc.integer({ min: 1, max: 11 }).chain((k) => fc.integer({ min: k * 256 - 2, max: k * 256 + 2 })),
    );
    await fc.assert(
      fc.asyncProperty(sizes, async (size) => {
        const reader = new TileReader(fetcherFor(big, size), size);
        assert.deepEqual(await reader.rootHash(), big.rootHash(size));
      }),
      { numRuns: 150 },
    );
  });

  test("property: inclusion and consistency proofs from tiles equal the MerkleTree's and verify", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 3000 })
          .chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.nat({ max: n }))),
        async ([size, index, m]) => {
          const reader = new TileReader(fetcherFor(big, size), size);
          const proof = await reader.inclusionProof(index);
          assert.deepEqual(proof, big.inclusionProof(index, size));
          verifyInclusion(big.leafHash(index), index, size, proof, big.rootHash(size));
          const cproof = await reader.consistencyProof(m);
          assert.deepEqual(cproof, big.consistencyProof(m, size));
          verifyConsistency(m, size, cproof, big.rootHash(m), big.rootHash(size));
        },
      ),
      { numRuns: 100 },
    );
  });

  test("a tile of the wrong length is refused", async () => {
    const reader = new TileReader(async () => Buffer.alloc(31), 5);
    await assert.rejects(reader.rootHash(), { code: "ERR_TLOG_PROOF_INVALID" });
  });
});

describe("TileServer and auditing a log from its tiles", () => {
  const { privateKey } = generateKeyPairSync("ed25519");

  async function log(n: number) {
    const storage = new MemoryLogStorage();
    const seq = await Sequencer.open({
      storage,
      origin: "example.com/tiles",
      key: privateKey,
      maxBatchSize: 100,
    });
    const ps = Array.from({ length: n }, (_, i) => seq.submit(Buffer.from(`entry ${i}`)));
    await seq.flush();
    await Promise.all(ps);
    const server = new TileServer(storage);
    await server.sync();
    return { seq, storage, server };
  }

  test("a client recomputes the signed root, proofs and entries from served files", async () => {
    const { seq, server } = await log(600);
    const fetch = (p: string) => server.serve(p);
    const checkpoint = await server.serve("checkpoint");
    assert.equal(checkpoint.toString(), seq.checkpoint);
    const { verified, reader } = await verifyCheckpointFromTiles(
      fetch,
      checkpoint,
      seq.verifier,
      "example.com/tiles",
    );
    assert.equal(verified.checkpoint.size, 600);
    const proof = await reader.inclusionProof(300);
    verifyInclusion(hashLeaf(Buffer.from("entry 300")), 300, 600, proof, verified.checkpoint.rootHash);
    const entries = await reader.entries(250, 520);
    assert.equal(entries.length, 270);
    assert.equal(entries[0]!.toString(), "entry 250");
    assert.equal(entries.at(-1)!.toString(), "entry 519");
  });

  test("nothing beyond the signed size is served; past partial tiles are", async () => {
    const { server } = await log(300);
    await assert.rejects(server.serve("tile/0/001"), { code: "ERR_TLOG_TILE_NOT_FOUND" });
    await assert.rejects(server.serve("tile/0/001.p/45"), { code: "ERR_TLOG_TILE_NOT_FOUND" });
    await assert.rejects(server.serve("tile/1/000.p/2"), { code: "ERR_TLOG_TILE_NOT_FOUND" });
    await assert.rejects(server.serve("tile/entries/002.p/1"), { code: "ERR_TLOG_TILE_NOT_FOUND" });
    assert.equal((await server.serve("tile/0/001.p/44")).length, 44 * 32);
    assert.equal((await server.serve("tile/0/001.p/10")).length, 10 * 32);
    assert.equal((await server.serve("tile/0/000")).length, 256 * 32);
    assert.equal((await server.serve("tile/1/000.p/1")).length, 32);
    assert.equal(decodeEntryBundle(await server.serve("tile/entries/001.p/44")).length, 44);
  });

  test("tampered tiles do not lead to the signed root", async () => {
    const { seq, server } = await log(40);
    const fetch = async (p: string) => {
      const b = Buffer.from(await server.serve(p));
      if (p.startsWith("tile/0/")) b[5]! ^= 1;
      return b;
    };
    await assert.rejects(verifyCheckpointFromTiles(fetch, seq.checkpoint, seq.verifier), {
      code: "ERR_TLOG_PROOF_INVALID",
    });
  });

  test("a checkpoint by another key is refused before any tile is fetched", async () => {
    const { seq, server } = await log(3);
    const other = await Sequencer.open({
      storage: new MemoryLogStorage(),
      origin: "example.com/tiles",
      key: generateKeyPairSync("ed25519").privateKey,
    });
    await assert.rejects(
      verifyCheckpointFromTiles((p) => server.serve(p), seq.checkpoint, other.verifier),
      {
        code: "ERR_NOTE_SIGNATURE_INVALID",
      },
    );
  });
});
