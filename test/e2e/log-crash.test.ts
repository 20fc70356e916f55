// SPDX-License-Identifier: Apache-2.0
// Issue 3, section 5: while a load generator submits entries, `cairn serve` is SIGKILLed and
// restarted several times; afterwards every acknowledged entry is at its index (and provably in
// the final tree), and every checkpoint ever published is consistent with the final tree. Run on
// SQLite and on a real PostgreSQL the test starts.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { describe, test } from "node:test";
import { verifyCheckpointConsistency, verifyEntryInclusion } from "../../src/engines/tlog/index.js";
import { noteVerifierFromVkey } from "../../src/formats/tlog/index.js";
import { postgresMissing, startPostgres } from "../../src/testing/postgres.js";
import { tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

/** Concurrent submitters. */
const WORKERS = 8;
/** Kill-and-restart rounds. */
const ROUNDS = 4;

interface Ack {
  logIndex: number;
  leafHash: string;
  /** For DSSE statements: the subject digest the store must find it by. */
  subject?: string;
}

const PAYLOAD_TYPE = "application/vnd.in-toto+json";

// A DSSE in-toto statement about `digest`, signed with Ed25519 (DSSE protocol.md PAE).
function dsseSubmission(digest: string, key: KeyObject, publicKey: string) {
  const payload = Buffer.from(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "x", digest: { sha256: digest } }],
      predicateType: "https://example.com/crash-test",
      predicate: {},
    }),
  );
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${PAYLOAD_TYPE.length} ${PAYLOAD_TYPE} ${payload.length} `),
    payload,
  ]);
  return {
    kind: "dsse",
    envelope: {
      payloadType: PAYLOAD_TYPE,
      payload: payload.toString("base64"),
      signatures: [{ sig: sign(null, pae, key).toString("base64") }],
    },
    publicKeys: [publicKey],
  };
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

async function crashRun(extraArgs: string[]): Promise<void> {
  const { dir, cleanup } = tempDir("crash");
  const data = `${dir}/data`;
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicKey = ec.publicKey.export({ type: "spki", format: "pem" }) as string;
  const acks = new Map<string, Ack>();
  const checkpoints = new Set<string>();
  let server: Served = await serve(["--data", data, "--dev", "--batch-delay-ms", "5", ...extraArgs], dir);
  const vkeyText = server.info.vkey;
  const vkey = noteVerifierFromVkey(vkeyText);
  let running = true;
  let seq = 0;
  let failures = 0;

  const edKey = generateKeyPairSync("ed25519");
  const edPublic = edKey.publicKey.export({ type: "spki", format: "pem" }) as string;
  const worker = async (w: number) => {
    while (running) {
      const data = Buffer.from(`worker ${w} entry ${seq++}`);
      const digest = createHash("sha256").update(data).digest("hex");
      // Half the workers log DSSE statements, which the store must also keep before the ack.
      const body =
        w % 2 === 0
          ? {
              kind: "artifact",
              digest: { sha256: digest },
              signature: sign("sha256", data, ec.privateKey).toString("base64"),
              publicKey,
            }
          : dsseSubmission(digest, edKey.privateKey, edPublic);
      const url = server.url;
      try {
        const res = await fetch(`${url}/cairn/v1/log/entries`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        if (res.status !== 201 && res.status !== 200) {
          failures++;
          await res.body?.cancel();
          continue;
        }
        const r = (await res.json()) as Ack & { inclusionProof: { checkpoint: string } };
        // Acknowledged: it must survive every crash from now on.
        acks.set(r.leafHash, {
          logIndex: r.logIndex,
          leafHash: r.leafHash,
          ...(w % 2 === 1 ? { subject: `sha256:${digest}` } : {}),
        });
        checkpoints.add(r.inclusionProof.checkpoint);
      } catch {
        // The server died mid-request: not acknowledged, so nothing is promised.
        failures++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };

  try {
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
    for (let round = 0; round < ROUNDS; round++) {
      const before = acks.size;
      // Let the load run until a few batches were acknowledged, then kill without warning.
      while (acks.size < before + 50) await new Promise((r) => setTimeout(r, 25));
      const cp = await fetch(`${server.url}/tlog/checkpoint`)
        .then((r) => r.text())
        .catch(() => undefined);
      if (cp) checkpoints.add(cp);
      assert.equal(await server.stop("SIGKILL"), "SIGKILL");
      server = await serve(["--data", data, "--dev", "--batch-delay-ms", "5", ...extraArgs], dir);
      assert.equal(server.info.vkey, vkeyText);
    }
    running = false;
    await Promise.all(workers);

    const info = (await (await fetch(`${server.url}/cairn/v1/log`)).json()) as {
      checkpoint: string;
      treeSize: number;
    };
    assert.ok(acks.size >= ROUNDS * 50, `${acks.size} acknowledged, ${failures} requests failed`);
    // Every acknowledged entry is at its index and in the final tree.
    for (const a of acks.values()) {
      assert.ok(a.logIndex < info.treeSize);
      const e = await getJson<{ leafHash: string }>(`${server.url}/cairn/v1/log/entries/${a.logIndex}`);
      assert.equal(e.leafHash, a.leafHash, `entry ${a.logIndex}`);
      const proof = await getJson<{ hashes: string[] }>(
        `${server.url}/cairn/v1/log/proof/inclusion?index=${a.logIndex}&treeSize=${info.treeSize}`,
      );
      verifyEntryInclusion(
        {
          logIndex: a.logIndex,
          leafHash: a.leafHash,
          inclusionProof: { treeSize: info.treeSize, hashes: proof.hashes, checkpoint: info.checkpoint },
        },
        vkey,
        { origin: vkey.name },
      );
    }
    // Every published checkpoint is consistent with the final tree.
    for (const cp of checkpoints) {
      const size = Number(cp.split("\n")[1]);
      const p = await getJson<{ hashes: string[] }>(
        `${server.url}/cairn/v1/log/proof/consistency?from=${size}&to=${info.treeSize}`,
      );
      verifyCheckpointConsistency(cp, info.checkpoint, p.hashes, vkey);
    }
    // Every acknowledged DSSE statement is in the store, found by its subject.
    let statements = 0;
    for (const a of acks.values()) {
      if (a.subject === undefined) continue;
      statements++;
      const page = await getJson<{ results: { logIndex: number }[] }>(
        `${server.url}/cairn/v1/search?subject=${a.subject}`,
      );
      assert.deepEqual(
        page.results.map((r) => r.logIndex),
        [a.logIndex],
        `statement ${a.logIndex}`,
      );
    }
    assert.ok(statements > 0);
    // The indexes acknowledged are distinct: no entry was given two places, no place two entries.
    assert.equal(new Set([...acks.values()].map((a) => a.logIndex)).size, acks.size);
  } finally {
    running = false;
    await server.stop("SIGKILL");
    cleanup();
  }
}

describe("crash safety: SIGKILL under load", () => {
  test("SQLite: acknowledged entries survive, published checkpoints stay consistent", async () => {
    await crashRun([]);
  });

  test("PostgreSQL: acknowledged entries survive, published checkpoints stay consistent", async (t) => {
    const missing = postgresMissing();
    if (missing) {
      // The test setup installs PostgreSQL; a machine without it fails rather than skips.
      assert.fail(missing);
    }
    const pg = await startPostgres();
    t.after(() => pg.stop());
    await crashRun(["--database", await pg.createDatabase()]);
  });
});
