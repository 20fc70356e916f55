// SPDX-License-Identifier: Apache-2.0
// Several `cairn serve` processes over one PostgreSQL (issue 3, section 2): one sequencer elected
// by the database lock, the others serve reads and forward writes to it; when the sequencer is
// SIGKILLed another takes over, and the tree never forks.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { describe, test } from "node:test";
import { verifyCheckpointConsistency } from "../../src/engines/tlog/index.js";
import { noteVerifierFromVkey } from "../../src/formats/tlog/index.js";
import { postgresMissing, startPostgres } from "../../src/testing/postgres.js";
import { tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const publicKey = ec.publicKey.export({ type: "spki", format: "pem" }) as string;
let n = 0;

function submission(): Record<string, unknown> {
  const data = Buffer.from(`multi ${n++} ${Date.now()}`);
  return {
    kind: "artifact",
    digest: { sha256: createHash("sha256").update(data).digest("hex") },
    signature: sign("sha256", data, ec.privateKey).toString("base64"),
    publicKey,
  };
}

async function upload(server: Served): Promise<Response> {
  return fetch(`${server.url}/cairn/v1/log/entries`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(submission()),
  });
}

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

describe("several servers over one PostgreSQL", () => {
  test("one sequencer; the others forward writes; a SIGKILLed sequencer is replaced without a fork", async (t) => {
    const missing = postgresMissing();
    if (missing) assert.fail(missing);
    const pg = await startPostgres();
    t.after(() => pg.stop());
    const db = await pg.createDatabase();
    const { dir, cleanup } = tempDir("multi");
    t.after(cleanup);
    const args = ["--data", `${dir}/data`, "--database", db, "--dev", "--batch-delay-ms", "5"];
    let a = await serve(args, dir);
    const b = await serve(args, dir);
    t.after(async () => {
      await a.stop("SIGKILL");
      await b.stop("SIGKILL");
    });
    assert.equal(a.info.sequencer, true);
    assert.equal(b.info.sequencer, false);
    const vkey = noteVerifierFromVkey(a.info.vkey);

    // A write to the follower is forwarded; both serve it.
    const r1 = await upload(b);
    assert.equal(r1.status, 201, await r1.clone().text());
    const e1 = (await r1.json()) as {
      logIndex: number;
      leafHash: string;
      inclusionProof: { checkpoint: string };
    };
    const first = e1.inclusionProof.checkpoint;
    const fromB = await json<{ leafHash: string }>(`${b.url}/cairn/v1/log/entries/${e1.logIndex}`);
    assert.equal(fromB.leafHash, e1.leafHash);
    const health = await json<{ checks: { log: { sequencer: boolean } } }>(`${b.url}/healthz`);
    assert.equal(health.checks.log.sequencer, false);

    // An NDJSON batch to the follower is forwarded as it came: every entry logged.
    const batch = await fetch(`${b.url}/cairn/v1/log/entries/batch`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: `${[submission(), submission(), submission()].map((x) => JSON.stringify(x)).join("\n")}\n`,
    });
    assert.equal(batch.status, 200, await batch.clone().text());
    const answered = (await batch.json()) as { accepted: number; results: { logIndex: number }[] };
    assert.equal(answered.accepted, 3);
    assert.equal(new Set(answered.results.map((r) => r.logIndex)).size, 3);

    // Writes through both at once: distinct indexes, one tree.
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => upload(i % 2 ? a : b)));
    const idx = await Promise.all(rs.map(async (r) => ((await r.json()) as { logIndex: number }).logIndex));
    assert.equal(new Set(idx).size, 40);

    // The sequencer dies; the follower takes the lock (it retries every second) and writes.
    assert.equal(await a.stop("SIGKILL"), "SIGKILL");
    let took = false;
    for (let i = 0; i < 100 && !took; i++) {
      await new Promise((r) => setTimeout(r, 100));
      took = (await json<{ checks: { log: { sequencer: boolean } } }>(`${b.url}/healthz`)).checks.log
        .sequencer;
    }
    assert.ok(took, "the follower became the sequencer");
    const r2 = await upload(b);
    assert.equal(r2.status, 201);
    // The old sequencer comes back as a follower and forwards to the new one.
    a = await serve(args, dir);
    assert.equal(a.info.sequencer, false);
    const r3 = await upload(a);
    assert.equal(r3.status, 201, await r3.clone().text());

    // Never forked: the first checkpoint is consistent with the final tree, seen from both servers.
    const final = await json<{ checkpoint: string; treeSize: number }>(`${b.url}/cairn/v1/log`);
    assert.equal(final.treeSize, 46);
    const size1 = Number(first.split("\n")[1]);
    const p = await json<{ hashes: string[] }>(
      `${a.url}/cairn/v1/log/proof/consistency?from=${size1}&to=${final.treeSize}`,
    );
    verifyCheckpointConsistency(first, final.checkpoint, p.hashes, vkey);
  });
});
