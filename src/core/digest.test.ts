// SPDX-License-Identifier: Apache-2.0
// File digests: known values, securesystemslib's normalize_line_endings (reference values computed by
// securesystemslib.hash.digest_filename at test time), chunk-boundary CRs, parallel hashing.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { referenceMissing, runPython } from "../testing/python.js";
import {
  checkDigestAlgorithms,
  type DigestAlgorithm,
  digestBytes,
  digestHex,
  digestSetOf,
  HASH_CHUNK_BYTES,
  hashFile,
  hashFiles,
  normalizeChunk,
  SUPPORTED_DIGESTS,
} from "./digest.js";
import { asCairnError, CairnError } from "./errors.js";

const pythonMissing = referenceMissing("securesystemslib.hash");

// FIPS 180-2 appendix examples and the digests of the empty string.
const KNOWN = {
  empty: {
    sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    sha512:
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
  },
  abc: {
    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    sha512:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  },
};

let dir: string;
const file = (name: string) => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "cairn-digest-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("digests of fixed contents", () => {
  it("hashFile gives the known sha256 and sha512 of empty and 'abc' files", async () => {
    writeFileSync(file("empty"), "");
    writeFileSync(file("abc"), "abc");
    const algorithms: DigestAlgorithm[] = ["sha256", "sha512"];
    assert.deepEqual(await hashFile(file("empty"), { algorithms }), KNOWN.empty);
    assert.deepEqual(await hashFile(file("abc"), { algorithms }), KNOWN.abc);
    // sha256 is the default, and the only digest given by default.
    assert.deepEqual(await hashFile(file("empty")), { sha256: KNOWN.empty.sha256 });
    assert.deepEqual(await hashFile(file("empty"), { normalizeLineEndings: true }), {
      sha256: KNOWN.empty.sha256,
    });
  });

  it("digestHex, digestBytes and digestSetOf agree with the known values", () => {
    assert.equal(digestHex("sha256", "abc"), KNOWN.abc.sha256);
    assert.equal(digestHex("sha512", Buffer.from("abc")), KNOWN.abc.sha512);
    assert.deepEqual(digestBytes("sha256", ""), Buffer.from(KNOWN.empty.sha256, "hex"));
    assert.deepEqual(digestSetOf(Buffer.from("abc"), ["sha512", "sha256"]), KNOWN.abc);
  });

  it("hashes a file larger than one chunk the same as in memory", async () => {
    const data = Buffer.alloc(2 * HASH_CHUNK_BYTES + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
    writeFileSync(file("big"), data);
    assert.deepEqual(await hashFile(file("big"), { algorithms: ["sha256", "sha384", "sha1"] }), {
      sha256: digestHex("sha256", data),
      sha384: digestHex("sha384", data),
      sha1: digestHex("sha1", data),
    });
  });
});

/** Files whose line endings test normalization; contents chosen around the 1 MiB read chunk. */
function lineEndingFixtures(): Record<string, Buffer> {
  const M = HASH_CHUNK_BYTES;
  const filled = (size: number, at: Record<number, number>) => {
    const b = Buffer.alloc(size, 0x61);
    for (let i = 0; i < size; i += 80) b[i] = 0x0a;
    for (const [i, c] of Object.entries(at)) b[Number(i)] = c;
    return b;
  };
  return {
    crlf: Buffer.from("line one\r\nline two\r\n\r\nend"),
    "lone-cr": Buffer.from("a\rb\r\rc\r"),
    mixed: Buffer.from("\r\r\n\n\r\n\r\r\rx\n\r"),
    "trailing-cr": Buffer.from("abc\r"),
    "only-cr": Buffer.from("\r"),
    "only-crlf": Buffer.from("\r\n"),
    lf: Buffer.from("unix\nlines\n"),
    binaryish: Buffer.from([0, 13, 255, 13, 10, 10, 13, 0, 13]),
    // CR as the last byte of the first chunk, LF as the first byte of the second: one CRLF.
    "crlf-at-boundary": filled(M + 10, { [M - 1]: 13, [M]: 10 }),
    // CR as the last byte of the first chunk, not followed by LF.
    "cr-at-boundary": filled(M + 10, { [M - 1]: 13, [M]: 0x62 }),
    // CR CR across the boundary, then LF.
    "crcr-lf-at-boundary": filled(M + 10, { [M - 2]: 13, [M - 1]: 13, [M]: 10 }),
    // CR LF where the CR is the first byte of the second chunk.
    "crlf-after-boundary": filled(M + 10, { [M]: 13, [M + 1]: 10 }),
    // The file is exactly one chunk and ends in CR: the held-back CR must still be written.
    "cr-at-eof-of-one-chunk": filled(M, { [M - 1]: 13 }),
    // Exactly one chunk ending in CR, then a second chunk that is just LF.
    "crlf-straddling-eof": filled(M + 1, { [M - 1]: 13, [M]: 10 }),
    // Boundaries of both chunks.
    "two-boundaries": filled(2 * M + 3, {
      [M - 1]: 13,
      [M]: 10,
      [2 * M - 1]: 13,
      [2 * M]: 13,
      [2 * M + 1]: 10,
    }),
  };
}

describe("normalizeLineEndings agrees with securesystemslib's digest_filename", () => {
  it("has the reference to compare with", () => assert.equal(pythonMissing, undefined));
  it("on CRLF, lone CR, trailing CR and CRs at the 1 MiB chunk boundary", async () => {
    const fixtures = lineEndingFixtures();
    const paths = Object.keys(fixtures).map((name) => {
      writeFileSync(file(`le-${name}`), fixtures[name]!);
      return file(`le-${name}`);
    });
    const script = [
      "import json, sys",
      "from securesystemslib.hash import digest_filename",
      "out = []",
      "for p in json.loads(sys.stdin.read()):",
      "    out.append({a: {'norm': digest_filename(p, algorithm=a, normalize_line_endings=True).hexdigest(),",
      "                    'raw': digest_filename(p, algorithm=a).hexdigest()} for a in ('sha256', 'sha512')})",
      "print(json.dumps(out))",
    ].join("\n");
    const ref = runPython(script, paths) as Record<string, { norm: string; raw: string }>[];
    const algorithms: DigestAlgorithm[] = ["sha256", "sha512"];
    const names = Object.keys(fixtures);
    for (let i = 0; i < paths.length; i++) {
      const norm = await hashFile(paths[i]!, { algorithms, normalizeLineEndings: true });
      const raw = await hashFile(paths[i]!, { algorithms });
      assert.deepEqual(norm, { sha256: ref[i]!.sha256!.norm, sha512: ref[i]!.sha512!.norm }, names[i]);
      assert.deepEqual(raw, { sha256: ref[i]!.sha256!.raw, sha512: ref[i]!.sha512!.raw }, names[i]);
      if (fixtures[names[i]!]!.includes(13)) assert.notEqual(norm.sha256, raw.sha256, names[i]);
    }
    // And hashFiles does the same in one call.
    const all = await hashFiles(paths, {
      algorithms: ["sha256"],
      normalizeLineEndings: true,
      concurrency: 3,
    });
    assert.deepEqual(
      all.map((d) => d.sha256),
      ref.map((r) => r.sha256!.norm),
    );
  });
});

/** The reference: CRLF -> LF, then lone CR -> LF, over the whole buffer. */
function normalizeWhole(b: Uint8Array): Buffer {
  return Buffer.from(Buffer.from(b).toString("latin1").replace(/\r\n/g, "\n").replace(/\r/g, "\n"), "latin1");
}

function normalizeInChunks(chunks: Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  let pendingCR = false;
  for (const c of chunks) {
    const r = normalizeChunk(Buffer.from(c), pendingCR);
    out.push(Buffer.from(r.out));
    pendingCR = r.pendingCR;
  }
  if (pendingCR) out.push(Buffer.from("\n"));
  return Buffer.concat(out);
}

describe("normalizeChunk", () => {
  it("holds back a CR at the end of a chunk", () => {
    const r = normalizeChunk(Buffer.from("ab\r"), false);
    assert.deepEqual([r.out.toString("latin1"), r.pendingCR], ["ab", true]);
    const s = normalizeChunk(Buffer.from("\ncd"), true);
    assert.deepEqual([s.out.toString("latin1"), s.pendingCR], ["\ncd", false]);
    const t = normalizeChunk(Buffer.from("x"), true);
    assert.deepEqual([t.out.toString("latin1"), t.pendingCR], ["\nx", false]);
  });

  it("over any split into chunks (empty chunks included) equals normalizing the whole buffer", () => {
    const data = fc.array(fc.oneof(fc.constantFrom(13, 10, 13, 0x61), fc.integer({ min: 0, max: 255 })), {
      maxLength: 64,
    });
    fc.assert(
      fc.property(data, fc.array(fc.nat(64), { maxLength: 8 }), (arr, cuts) => {
        const buf = Uint8Array.from(arr);
        const points = [0, ...cuts.map((c) => Math.min(c, buf.length)).sort((a, b) => a - b), buf.length];
        const chunks = points.slice(1).map((end, i) => buf.subarray(points[i]!, end));
        assert.deepEqual(normalizeInChunks(chunks), normalizeWhole(buf));
      }),
      { numRuns: 2000 },
    );
  });

  it("hashFile with normalization equals the hash of the normalized bytes", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (b) => {
        const p = file(`prop-${n++}`);
        writeFileSync(p, b);
        const got = await hashFile(p, { normalizeLineEndings: true });
        assert.equal(got.sha256, digestHex("sha256", normalizeWhole(b)));
      }),
      { numRuns: 50 },
    );
  });
});

describe("hashFiles", () => {
  it("returns results in input order whatever order files finish in, and reports progress", async () => {
    // Big files first, so that with concurrency the small ones finish first.
    const sizes = [3 * HASH_CHUNK_BYTES, 5, 2 * HASH_CHUNK_BYTES, 0, 1, HASH_CHUNK_BYTES + 1, 7, 8];
    const paths = sizes.map((size, i) => {
      const p = file(`order-${i}`);
      writeFileSync(p, Buffer.alloc(size, i));
      return p;
    });
    const expected = sizes.map((size, i) => ({ sha256: digestHex("sha256", Buffer.alloc(size, i)) }));
    for (const concurrency of [1, 3, 32]) {
      const progress: [number, number][] = [];
      const got = await hashFiles(paths, {
        concurrency,
        onProgress: (done, total) => progress.push([done, total]),
      });
      assert.deepEqual(got, expected, `concurrency ${concurrency}`);
      assert.deepEqual(
        progress,
        paths.map((_, i) => [i + 1, paths.length]),
      );
    }
  });

  it("handles an empty list without calling onProgress", async () => {
    let calls = 0;
    assert.deepEqual(await hashFiles([], { onProgress: () => calls++ }), []);
    assert.equal(calls, 0);
  });

  it("fails for a missing file, which asCairnError reports as ERR_NOT_FOUND", async () => {
    writeFileSync(file("present"), "x");
    const missing = file("no-such-file");
    await assert.rejects(hashFiles([file("present"), missing]), (e: unknown) => {
      const c = asCairnError(e);
      assert.equal(c.code, "ERR_NOT_FOUND");
      assert.equal(c.file, missing);
      return true;
    });
  });
});

describe("unsupported digests", () => {
  it("checkDigestAlgorithms accepts every supported name and refuses others with ERR_DIGEST_UNSUPPORTED", () => {
    assert.deepEqual(checkDigestAlgorithms([...SUPPORTED_DIGESTS]), [...SUPPORTED_DIGESTS]);
    assert.deepEqual(checkDigestAlgorithms([]), []);
    for (const bad of ["md5", "SHA256", "sha-256", "sha3-256", "blake2b", "", "sha256 "]) {
      assert.throws(
        () => checkDigestAlgorithms(["sha256", bad]),
        (e: unknown) =>
          e instanceof CairnError && e.code === "ERR_DIGEST_UNSUPPORTED" && e.category === "format",
        JSON.stringify(bad),
      );
    }
  });

  it("hashFile refuses an unsupported algorithm with ERR_DIGEST_UNSUPPORTED (md5 is not silently computed)", async () => {
    writeFileSync(file("x"), "x");
    for (const bad of ["md5", "nope"]) {
      await assert.rejects(hashFile(file("x"), { algorithms: [bad as DigestAlgorithm] }), {
        code: "ERR_DIGEST_UNSUPPORTED",
      });
    }
  });
});
