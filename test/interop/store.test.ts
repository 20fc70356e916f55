// SPDX-License-Identifier: Apache-2.0
// The attestation store (src/engines/store) and its SearchIndex contract, one suite run against
// MemorySearchIndex, SQLite (a temp file) and a real PostgreSQL server started on 127.0.0.1
// (src/testing/postgres.ts): indexing by every subject digest, predicate type, signer and time,
// AND-combinations, cursor pagination (fast-check: no duplicates or gaps), refusals, megabyte
// envelopes byte for byte, and inclusion proofs from a prover port.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import fc from "fast-check";
import { generateKey, keySigner, type PrivateKey, parsePublicKey } from "../../src/core/index.js";
import {
  AttestationStore,
  type AttestationStoreOptions,
  DEFAULT_MAX_ENVELOPE_BYTES,
  MAX_PAGE_SIZE,
  MemorySearchIndex,
  type SearchIndex,
  type StoreQuery,
} from "../../src/engines/store/index.js";
import { dsseLeaf, INTOTO_PAYLOAD_TYPE, verifySubmission } from "../../src/engines/tlog/index.js";
import { signEnvelope } from "../../src/formats/dsse/index.js";
import { hashLeaf, MerkleTree, verifyInclusion } from "../../src/formats/tlog/index.js";
import { SqliteWriterThread } from "../../src/runtime/sqlite-writer.js";
import { postgresSearchIndex, type SqlSearchIndex, sqliteSearchIndex } from "../../src/runtime/store-sql.js";
import { startPostgres, type TestPostgres } from "../../src/testing/postgres.js";

const pem = (k: PrivateKey) => k.public.key.export({ type: "spki", format: "pem" }) as string;
const ALICE = generateKey("ed25519");
const BOB = generateKey("ecdsa");
const keyId = (k: PrivateKey) => parsePublicKey(pem(k)).keyid;

const SLSA = "https://slsa.dev/provenance/v1";
const SPDX = "https://spdx.dev/Document";
const VULN = "https://cosign.sigstore.dev/attestation/vuln/v1";
const hex = (c: string, n = 64) => c.repeat(n);

interface Subject {
  name: string;
  digest: Record<string, string>;
}

function statement(subject: Subject[], predicateType: string, predicate: object = {}) {
  return { _type: "https://in-toto.io/Statement/v1", subject, predicateType, predicate };
}

/** Signs a statement and returns the envelope bytes (formatted as given) and what the log verified. */
async function accepted(
  stmt: object,
  signers: PrivateKey[],
  format: (env: object) => string = JSON.stringify,
) {
  const env = await signEnvelope(
    INTOTO_PAYLOAD_TYPE,
    Buffer.from(JSON.stringify(stmt)),
    signers.map(keySigner),
  );
  const bytes = Buffer.from(format(env));
  const entry = verifySubmission({
    kind: "dsse",
    envelope: JSON.parse(bytes.toString()),
    publicKeys: signers.map(pem),
  });
  return { envelope: bytes, entry };
}

interface Backend {
  name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A fresh, empty index (a new database for SQL backends). */
  fresh(): Promise<SearchIndex>;
  /** Another index object on the same database as `fresh`'s last (SQL: reopened). */
  reopen?(): Promise<SearchIndex>;
}

const opened: SqlSearchIndex[] = [];
const track = (s: SqlSearchIndex) => {
  opened.push(s);
  return s;
};
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
});

const memory: Backend = {
  name: "MemorySearchIndex",
  setup: async () => {},
  teardown: async () => {},
  fresh: async () => new MemorySearchIndex(),
};

let sqliteDir = "";
let sqliteSerial = 0;
const sqlite: Backend = {
  name: "SQLite",
  async setup() {
    sqliteDir = mkdtempSync(join(tmpdir(), "cairn-store-sqlite-"));
  },
  async teardown() {
    if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  },
  fresh: async () => track(await sqliteSearchIndex(join(sqliteDir, `store-${++sqliteSerial}.db`))),
  reopen: async () => track(await sqliteSearchIndex(join(sqliteDir, `store-${sqliteSerial}.db`))),
};

// The same files, puts made on a writer thread (runtime/sqlite-writer.ts), as `cairn serve` opens
// a SQLite data directory: every index object has a thread of its own.
const threads: SqliteWriterThread[] = [];
afterEach(async () => {
  await Promise.allSettled(threads.splice(0).map((t) => t.close()));
});
async function threaded(path: string): Promise<SqlSearchIndex> {
  const s = track(await sqliteSearchIndex(path));
  const thread = new SqliteWriterThread({ storePath: path });
  threads.push(thread);
  s.putThrough((records) => thread.putMany(records));
  return s;
}
const sqliteThreaded: Backend = {
  ...sqlite,
  name: "SQLite (writer thread)",
  fresh: () => threaded(join(sqliteDir, `store-${++sqliteSerial}.db`)),
  reopen: () => threaded(join(sqliteDir, `store-${sqliteSerial}.db`)),
};

let server: TestPostgres | undefined;
let lastUrl = "";
const postgres: Backend = {
  name: "PostgreSQL",
  async setup() {
    server = await startPostgres();
  },
  async teardown() {
    await server?.stop();
  },
  async fresh() {
    if (!server) throw new Error("the PostgreSQL server did not start");
    lastUrl = await server.createDatabase();
    return track(await postgresSearchIndex(lastUrl, { maxConnections: 4 }));
  },
  reopen: async () => track(await postgresSearchIndex(lastUrl, { maxConnections: 4 })),
};

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

/** Every page of a search, checked for shape; returns the log indexes in order. */
async function walk(store: AttestationStore, q: StoreQuery): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await store.search({ ...q, cursor });
    assert.ok(page.results.length <= (q.pageSize ?? 50));
    out.push(...page.results.map((r) => r.logIndex));
    if (page.nextCursor === undefined) return out;
    assert.ok(page.results.length > 0, "a page with a cursor holds results");
    cursor = page.nextCursor;
  }
  throw new Error("pagination did not end");
}

for (const backend of [memory, sqlite, sqliteThreaded, postgres]) {
  describe(`attestation store on ${backend.name}`, () => {
    before(() => backend.setup());
    after(() => backend.teardown());
    const open = async (opts: Partial<AttestationStoreOptions> = {}) =>
      new AttestationStore({ index: await backend.fresh(), ...opts });

    // Three envelopes: several subjects with several digests each, two predicate types, two signers.
    async function seed(store: AttestationStore) {
      const app = { name: "app", digest: { sha256: hex("a"), sha512: hex("b", 128) } };
      const lib = { name: "lib", digest: { sha256: hex("c"), gitCommit: hex("d", 40) } };
      const other = { name: "other", digest: { sha256: hex("e") } };
      const e0 = await accepted(statement([app, lib], SLSA), [ALICE]);
      const e1 = await accepted(statement([app], SPDX), [ALICE, BOB]);
      const e2 = await accepted(statement([other, lib], SLSA), [BOB]);
      await store.add({ logIndex: 0, ...e0, integratedTime: 1000 });
      await store.add({ logIndex: 5, ...e1, integratedTime: 2000, identities: ["builder@example.com"] });
      await store.add({ logIndex: 7, ...e2, integratedTime: 3000 });
      return { e0, e1, e2 };
    }

    test("every subject's every digest, the predicate type, signers and time are indexed", async () => {
      const store = await open();
      const { e1 } = await seed(store);
      const ids = async (q: StoreQuery) => (await store.search(q)).results.map((r) => r.logIndex);
      assert.deepEqual(await ids({ subject: `sha256:${hex("a")}` }), [0, 5]);
      assert.deepEqual(await ids({ subject: `sha512:${hex("b", 128)}` }), [0, 5]);
      assert.deepEqual(await ids({ subject: `sha256:${hex("c")}` }), [0, 7]);
      assert.deepEqual(await ids({ subject: `gitCommit:${hex("d", 40)}` }), [0, 7]);
      assert.deepEqual(await ids({ subject: `sha256:${hex("e")}` }), [7]);
      assert.deepEqual(await ids({ subject: `sha256:${hex("f")}` }), []);
      assert.deepEqual(await ids({ predicateType: SLSA }), [0, 7]);
      assert.deepEqual(await ids({ predicateType: SPDX }), [5]);
      assert.deepEqual(await ids({ signer: { keyId: keyId(ALICE) } }), [0, 5]);
      assert.deepEqual(await ids({ signer: { keyId: keyId(BOB) } }), [5, 7]);
      assert.deepEqual(await ids({ signer: { identity: "builder@example.com" } }), [5]);
      assert.deepEqual(await ids({ since: 2000 }), [5, 7]);
      assert.deepEqual(await ids({ until: 2000 }), [0]);
      assert.deepEqual(await ids({ since: 1500, until: 2500 }), [5]);
      assert.deepEqual(await ids({}), [0, 5, 7]);
      // AND of keys.
      assert.deepEqual(await ids({ subject: `sha256:${hex("a")}`, predicateType: SLSA }), [0]);
      assert.deepEqual(await ids({ subject: `sha256:${hex("c")}`, signer: { keyId: keyId(BOB) } }), [7]);
      assert.deepEqual(
        await ids({
          subject: `sha256:${hex("a")}`,
          signer: { keyId: keyId(BOB) },
          predicateType: SPDX,
          since: 2000,
        }),
        [5],
      );
      assert.deepEqual(await ids({ subject: `sha256:${hex("e")}`, predicateType: SPDX }), []);
      assert.deepEqual(await ids({ predicateType: SLSA, until: 3000 }), [0]);
      // A result is the envelope as given, with what it is indexed under.
      const [r] = (await store.search({ predicateType: SPDX })).results;
      assert.ok(r);
      assert.ok(r.envelope.equals(e1.envelope));
      assert.equal(r.integratedTime, 2000);
      assert.deepEqual([...r.subjectDigests].sort(), [`sha256:${hex("a")}`, `sha512:${hex("b", 128)}`]);
      assert.deepEqual(
        r.signers.map((s) => s.keyId ?? s.identity).sort(),
        [keyId(ALICE), keyId(BOB), "builder@example.com"].sort(),
      );
      assert.equal(r.inclusionProof, undefined);
      assert.ok((await store.get(5))?.envelope.equals(e1.envelope));
      assert.equal(await store.get(6), undefined);
    });

    test("adding again is a no-op; other bytes at a stored log index are refused", async () => {
      const store = await open();
      const { e0, e2 } = await seed(store);
      await store.add({ logIndex: 0, ...e0, integratedTime: 1000 });
      await rejectsWith(store.add({ logIndex: 0, ...e2 }), "ERR_STORE_CONFLICT");
      assert.deepEqual(
        (await store.search({})).results.map((r) => r.logIndex),
        [0, 5, 7],
      );
      assert.ok((await store.get(0))?.envelope.equals(e0.envelope));
    });

    test("an envelope over the size limit is refused and nothing is stored", async () => {
      assert.equal(DEFAULT_MAX_ENVELOPE_BYTES, 64 * 1024 * 1024);
      const big = await accepted(
        statement([{ name: "x", digest: { sha256: hex("a") } }], SLSA, { pad: "x".repeat(5000) }),
        [ALICE],
      );
      const store = await open({ maxEnvelopeBytes: big.envelope.length - 1 });
      await rejectsWith(store.add({ logIndex: 0, ...big }), "ERR_STORE_TOO_LARGE");
      assert.deepEqual((await store.search({})).results, []);
      assert.equal(await store.get(0), undefined);
      const exact = new AttestationStore({
        index: new MemorySearchIndex(),
        maxEnvelopeBytes: big.envelope.length,
      });
      await exact.add({ logIndex: 0, ...big });
    });

    test("a non-statement, an artifact entry, or bytes the log did not verify are refused", async () => {
      const store = await open();
      // A signed DSSE envelope whose payload is not an in-toto Statement, with a leaf made as
      // entries.ts makes it (verifySubmission itself would refuse it first).
      const payload = Buffer.from(JSON.stringify({ hello: "world" }));
      const env = await signEnvelope(INTOTO_PAYLOAD_TYPE, payload, [keySigner(ALICE)]);
      const leaf = dsseLeaf(INTOTO_PAYLOAD_TYPE, payload, [
        { sig: Buffer.from(env.signatures[0]!.sig, "base64"), key: ALICE.public.key },
      ]);
      await rejectsWith(
        store.add({
          logIndex: 0,
          envelope: Buffer.from(JSON.stringify(env)),
          entry: { kind: "dsse", leaf, leafHash: hashLeaf(leaf) },
        }),
        "ERR_STORE_ENTRY_INVALID",
      );
      // A signed-artifact entry has no envelope.
      const art = {
        kind: "artifact" as const,
        leaf: Buffer.from("{}"),
        leafHash: hashLeaf(Buffer.from("{}")),
      };
      const good = await accepted(statement([{ name: "x", digest: { sha256: hex("a") } }], SLSA), [ALICE]);
      await rejectsWith(
        store.add({ logIndex: 0, envelope: good.envelope, entry: art }),
        "ERR_STORE_ENTRY_INVALID",
      );
      // Another envelope's bytes than the verified one (payload swapped, signature swapped).
      const evil = await accepted(statement([{ name: "x", digest: { sha256: hex("f") } }], SLSA), [ALICE]);
      await rejectsWith(
        store.add({ logIndex: 0, envelope: evil.envelope, entry: good.entry }),
        "ERR_STORE_ENTRY_INVALID",
      );
      const swapped = JSON.parse(good.envelope.toString());
      swapped.signatures = JSON.parse(evil.envelope.toString()).signatures;
      await rejectsWith(
        store.add({ logIndex: 0, envelope: Buffer.from(JSON.stringify(swapped)), entry: good.entry }),
        "ERR_STORE_ENTRY_INVALID",
      );
      await rejectsWith(
        store.add({ logIndex: 0, envelope: Buffer.from("not json"), entry: good.entry }),
        "ERR_STORE_ENTRY_INVALID",
      );
      assert.deepEqual((await store.search({})).results, []);
    });

    test("malformed searches are refused", async () => {
      const store = await open();
      await seed(store);
      for (const q of [
        { pageSize: 0 },
        { pageSize: MAX_PAGE_SIZE + 1 },
        { pageSize: 1.5 },
        { cursor: "5" },
        { cursor: "c1.-1" },
        { cursor: "c1.99999999999999999" },
        { subject: hex("a") },
        { subject: "sha256:" },
        { subject: `sha256:${"a".repeat(2000)}` },
        { signer: {} },
        { signer: { keyId: "a", identity: "b" } },
        { since: 1.5 },
      ] as StoreQuery[]) {
        await rejectsWith(store.search(q), "ERR_STORE_QUERY_INVALID");
      }
    });

    test("megabyte envelopes round-trip byte for byte", async () => {
      const store = await open();
      const subject = [{ name: "sbom", digest: { sha256: hex("9") } }];
      // ~3 MiB of SBOM-like predicate, the envelope in an unusual but valid layout.
      const packages = Array.from({ length: 20_000 }, (_, i) => ({
        name: `pkg-${i}`,
        version: `1.${i}.0`,
        spdxId: `SPDXRef-${"é".repeat(40)}-${i}`,
      }));
      const big = await accepted(
        statement(subject, SPDX, { packages }),
        [ALICE],
        (env) => `\n${JSON.stringify(env, null, 3)}  \n`,
      );
      assert.ok(big.envelope.length > 3 * 1024 * 1024, `${big.envelope.length} bytes`);
      await store.add({ logIndex: 3, ...big });
      const [r] = (await store.search({ subject: `sha256:${hex("9")}` })).results;
      assert.ok(r?.envelope.equals(big.envelope));
      assert.ok((await store.get(3))?.envelope.equals(big.envelope));
    });

    test("a page holds at most maxPageBytes of envelopes (at least one), without gaps", async () => {
      const index = await backend.fresh();
      const e = await accepted(statement([{ name: "x", digest: { sha256: hex("a") } }], SLSA), [ALICE]);
      const store = new AttestationStore({ index, maxPageBytes: e.envelope.length * 2 });
      for (const i of [4, 1, 9, 2, 6]) await store.add({ logIndex: i, ...e });
      const first = await store.search({ pageSize: 10 });
      assert.equal(first.results.length, 2);
      assert.deepEqual(await walk(store, { pageSize: 10 }), [1, 2, 4, 6, 9]);
    });

    test("a search page is read in one batch (getMany), never one get per result", async () => {
      const index = await backend.fresh();
      const seeded = await seed(new AttestationStore({ index }));
      assert.ok(index.getMany, "the index reads a page in one batch");
      let gets = 0;
      const counting: SearchIndex = Object.assign(Object.create(index) as SearchIndex, {
        get: (i: number) => {
          gets++;
          return index.get(i);
        },
        getMany: (ids: readonly number[]) => index.getMany!(ids),
      });
      const page = await new AttestationStore({ index: counting }).search({ subject: `sha256:${hex("c")}` });
      assert.deepEqual(
        page.results.map((r) => r.logIndex),
        [0, 7],
      );
      assert.equal(gets, 0);
      assert.ok(page.results[0]!.envelope.equals(seeded.e0.envelope));
      // The same records as get, keys included; absent indexes are left out.
      const many = await index.getMany([7, 5, 0, 3, 5]);
      assert.deepEqual(
        many.map((r) => r.logIndex),
        [0, 5, 7],
      );
      for (const r of many) assert.deepEqual(r, await index.get(r.logIndex));
      assert.deepEqual(await index.getMany([]), []);
    });

    test("results carry inclusion proofs from the prover port", async () => {
      const tree = new MerkleTree();
      const entries = [];
      for (let i = 0; i < 5; i++) {
        const e = await accepted(statement([{ name: `x${i}`, digest: { sha256: hex(String(i)) } }], SLSA), [
          ALICE,
        ]);
        entries.push(e);
        tree.append(e.entry.leafHash);
      }
      const store = await open({
        prover: async (i) => ({
          treeSize: tree.size,
          hashes: tree.inclusionProof(i),
          checkpoint: `size ${tree.size}`,
        }),
      });
      for (const [i, e] of entries.entries()) await store.add({ logIndex: i, ...e });
      const page = await store.search({ predicateType: SLSA });
      assert.equal(page.results.length, 5);
      for (const r of page.results) {
        assert.ok(r.inclusionProof);
        verifyInclusion(
          entries[r.logIndex]!.entry.leafHash,
          r.logIndex,
          r.inclusionProof.treeSize,
          r.inclusionProof.hashes,
          tree.rootHash(),
        );
      }
    });

    if (backend.reopen) {
      test("the database keeps the store across reopening (migration is idempotent)", async () => {
        const first = new AttestationStore({ index: await backend.fresh() });
        const { e2 } = await seed(first);
        const again = new AttestationStore({ index: await backend.reopen!() });
        assert.deepEqual(
          (await again.search({ predicateType: SLSA })).results.map((r) => r.logIndex),
          [0, 7],
        );
        assert.ok((await again.get(7))?.envelope.equals(e2.envelope));
      });
    }

    test("pagination: every page walk equals the filtered log-index order (fast-check)", async () => {
      // A pool of signed envelopes, reused at random log indexes (signing is the slow part).
      const subjects = [hex("1"), hex("2"), hex("3"), hex("4")];
      const predicates = [SLSA, SPDX, VULN];
      const signerSets = [[ALICE], [BOB], [ALICE, BOB]];
      const pool: {
        e: Awaited<ReturnType<typeof accepted>>;
        subjects: string[];
        predicate: string;
        keys: string[];
      }[] = [];
      for (let k = 0; k < 12; k++) {
        const subs = subjects.filter((_, j) => (k + j) % 3 !== 0);
        const predicate = predicates[k % 3]!;
        const signers = signerSets[k % signerSets.length]!;
        const e = await accepted(
          statement(
            subs.map((d, j) => ({ name: `s${j}`, digest: { sha256: d } })),
            predicate,
          ),
          signers,
        );
        pool.push({ e, subjects: subs.map((d) => `sha256:${d}`), predicate, keys: signers.map(keyId) });
      }
      const record = fc.record({ pick: fc.nat(pool.length - 1), time: fc.integer({ min: 0, max: 100 }) });
      const query = fc.record(
        {
          subject: fc.constantFrom(...subjects.map((d) => `sha256:${d}`)),
          predicateType: fc.constantFrom(...predicates),
          signer: fc.constantFrom(keyId(ALICE), keyId(BOB)),
          since: fc.integer({ min: 0, max: 100 }),
          until: fc.integer({ min: 0, max: 100 }),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.nat(500), { maxLength: 40 }),
          fc.array(record, { minLength: 40, maxLength: 40 }),
          query,
          fc.integer({ min: 1, max: 7 }),
          async (indexes, picks, q, pageSize) => {
            const store = new AttestationStore({ index: await backend.fresh() });
            const stored = indexes.map((logIndex, n) => ({
              logIndex,
              ...picks[n]!,
              ...pool[picks[n]!.pick]!,
            }));
            // Out of log order, as concurrent writers may add them.
            for (const s of stored) await store.add({ logIndex: s.logIndex, ...s.e, integratedTime: s.time });
            const expected = stored
              .filter(
                (s) =>
                  (q.subject === undefined || s.subjects.includes(q.subject)) &&
                  (q.predicateType === undefined || s.predicate === q.predicateType) &&
                  (q.signer === undefined || s.keys.includes(q.signer)) &&
                  (q.since === undefined || s.time >= q.since) &&
                  (q.until === undefined || s.time < q.until),
              )
              .map((s) => s.logIndex)
              .sort((a, b) => a - b);
            const got = await walk(store, {
              ...q,
              signer: q.signer === undefined ? undefined : { keyId: q.signer },
              pageSize,
            });
            assert.deepEqual(got, expected);
            await Promise.allSettled(opened.splice(0).map((s) => s.close()));
          },
        ),
        { numRuns: backend === postgres ? 15 : 40 },
      );
    });
  });
}
