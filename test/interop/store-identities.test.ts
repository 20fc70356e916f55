// SPDX-License-Identifier: Apache-2.0
// Certificate identities in the attestation store's signer index, on SQLite (temp files) and a
// real PostgreSQL (src/testing/postgres.ts): an intoto entry signed with a Fulcio-style
// certificate is found by its SAN (and OIDC issuer) and by key id; a store written before
// identities were indexed (schema version 2) is migrated to version 3 and back-filled from the log.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { toPem } from "../../src/core/encoding.js";
import { parsePublicKey } from "../../src/core/index.js";
import { LogNode } from "../../src/engines/lognode/index.js";
import { INTOTO_PAYLOAD_TYPE } from "../../src/engines/tlog/index.js";
import { pae } from "../../src/formats/dsse/index.js";
import { postgresSearchIndex, type SqlSearchIndex, sqliteSearchIndex } from "../../src/runtime/store-sql.js";
import { postgresLogStorage, type SqlLogStorage, sqliteLogStorage } from "../../src/runtime/tlog-sql.js";
import { execSql, startPostgres, type TestPostgres } from "../../src/testing/postgres.js";
import { ecPair, issueLeaf, makeTestCa } from "../../src/testing/sigstore-ca.js";
import { intotoProposal } from "../../src/testing/sigstore-kit.js";

const ISSUER = "https://issuer.example";
const CI = "https://github.com/acme/app/.github/workflows/build.yml@refs/heads/main";

interface Site {
  openLog(): Promise<SqlLogStorage>;
  openStore(): Promise<SqlSearchIndex>;
  /** Runs a statement on the store's database behind cairn's back. */
  tamper(stmt: string): Promise<void>;
}

let dir = "";
let server: TestPostgres | undefined;
const sites: { name: string; make(): Promise<Site> }[] = [
  {
    name: "SQLite",
    async make() {
      const store = join(dir, "store.db");
      return {
        openLog: () => sqliteLogStorage(join(dir, "log.db")),
        openStore: () => sqliteSearchIndex(store),
        tamper: (stmt) => execSql(store, stmt),
      };
    },
  },
  {
    name: "PostgreSQL",
    async make() {
      const url = await server!.createDatabase();
      return {
        openLog: () => postgresLogStorage(url, { maxConnections: 4 }),
        openStore: () => postgresSearchIndex(url, { maxConnections: 4 }),
        tamper: (stmt) => execSql(url, stmt),
      };
    },
  },
];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cairn-store-ids-"));
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const logKey = generateKeyPairSync("ed25519").privateKey;

for (const s of sites) {
  describe(`store signer identities on ${s.name}`, () => {
    test("found by SAN, SAN and issuer, and key id; an old store is migrated and back-filled", async () => {
      const site = await s.make();
      const open = async () => {
        const storage = await site.openLog();
        const searchIndex = await site.openStore();
        const node = new LogNode({
          storage,
          searchIndex,
          key: logKey,
          origin: "cairn.test/ids",
          sequencer: { maxBatchDelayMs: 1 },
        });
        return {
          node,
          close: async () => {
            await node.close();
            await searchIndex.close();
            await storage.close();
          },
        };
      };
      const first = await open();
      // A new store has nothing to back-fill.
      assert.equal(await first.node.backfillStoreIdentities(), 0);
      await first.node.becomeSequencer();
      const ca = makeTestCa();
      const ci = ecPair();
      const cert = toPem("CERTIFICATE", issueLeaf(ca, ci.spki, { uri: CI, issuer: ISSUER }));
      const payload = Buffer.from(
        JSON.stringify({
          _type: "https://in-toto.io/Statement/v1",
          subject: [{ name: "app", digest: { sha256: "5".repeat(64) } }],
          predicateType: "https://slsa.dev/provenance/v1",
          predicate: {},
        }),
      );
      const sig = sign("sha256", pae(INTOTO_PAYLOAD_TYPE, payload), ci.privateKey).toString("base64");
      const env = {
        payloadType: INTOTO_PAYLOAD_TYPE,
        payload: payload.toString("base64"),
        signatures: [{ sig }],
      };
      const created = await first.node.submitRekor(intotoProposal(env, [cert]));
      const at = created.entry.logIndex;
      // Another entry, not in the store: the back-fill reads it and adds nothing.
      await first.node.appendLeaf(Buffer.from("unrelated leaf"));
      const keyId = parsePublicKey(ci.publicKey.export({ type: "spki", format: "pem" }) as string).keyid;
      const find = async (n: LogNode, signer: { identity?: string; issuer?: string; keyId?: string }) =>
        (await n.search({ signer })).results.map((r) => r.logIndex);
      assert.deepEqual(await find(first.node, { identity: CI }), [at]);
      assert.deepEqual(await find(first.node, { identity: CI, issuer: ISSUER }), [at]);
      assert.deepEqual(await find(first.node, { identity: CI, issuer: "https://other.example" }), []);
      assert.deepEqual(await find(first.node, { keyId }), [at]);
      await first.close();

      // A store written by a cairn before identities were signers: key ids only, version 2.
      await site.tamper("delete from store_signers where signer not like 'key:%'");
      await site.tamper("drop table store_backfill");
      await site.tamper("update cairn_schema set version = 2 where component = 'store'");
      const second = await open();
      assert.deepEqual(await find(second.node, { identity: CI }), []);
      assert.equal(await second.node.backfillStoreIdentities(), 2);
      assert.deepEqual(await find(second.node, { identity: CI }), [at]);
      assert.deepEqual(await find(second.node, { identity: CI, issuer: ISSUER }), [at]);
      assert.deepEqual(await find(second.node, { keyId }), [at]);
      // Done: the next start reads nothing.
      assert.equal(await second.node.backfillStoreIdentities(), 0);
      await second.close();
    });
  });
}
