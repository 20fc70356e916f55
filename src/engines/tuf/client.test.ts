// SPDX-License-Identifier: Apache-2.0
// The TUF client workflow (specification 1.0.x section 5) against an in-memory repository built
// with src/formats/tuf: the happy path, then every refusal the specification requires, each with
// its error code and a check that the trusted metadata did not change.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { type CairnError, cairnError } from "../../core/errors.js";
import { tufLimits } from "../../formats/tuf/index.js";
import {
  DAY,
  METADATA_URL,
  MemoryStore,
  newKey,
  RepoSim,
  sha256,
  TARGETS_URL,
} from "../../testing/tuf-repo.js";
import { checkLengthAndHashes, initTrustedRoot, TufClient, type TufClientOptions } from "./client.js";
import type { Fetcher, TargetSink } from "./ports.js";

async function setup(opts: { consistentSnapshot?: boolean } = {}) {
  const repo = await RepoSim.create(opts);
  const store = new MemoryStore();
  await initTrustedRoot(store, repo.initialRoot());
  return { repo, store };
}

function client(repo: RepoSim, store: MemoryStore, extra: Partial<TufClientOptions> = {}): TufClient {
  return new TufClient({
    metadataUrl: METADATA_URL,
    targetBaseUrl: TARGETS_URL,
    store,
    fetcher: repo.fetcher(),
    ...extra,
  });
}

/**
 * `before`, with the roles in `verified` replaced by the repository's latest version: the roles
 * verified before the refused one are kept (the workflow persists each role once it passes).
 */
function plus(repo: RepoSim, before: Record<string, string>, ...verified: string[]): Record<string, string> {
  const out = { ...before };
  for (const r of verified) out[r] = sha256(repo.latest(r));
  return Object.fromEntries(Object.entries(out).sort());
}

/** Asserts `p` rejects with `code` and that the trusted metadata is `before` (what it was). */
async function refused(
  p: Promise<unknown>,
  code: string,
  store: MemoryStore,
  before: Record<string, string>,
) {
  await assert.rejects(p, (e: CairnError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
  assert.deepEqual(store.state(), before, "trusted metadata must not change");
}

const inDays = (d: number) => fixedClock(new Date(Date.now() + d * DAY));

describe("TUF client: refresh (TUF 5.1-5.6)", () => {
  it("updates a fresh client and stores the exact bytes it verified", async () => {
    const { repo, store } = await setup();
    const v = await client(repo, store).refresh();
    assert.deepEqual(v, { root: 1, timestamp: 1, snapshot: 1, targets: 1 });
    assert.deepEqual(repo.metadataRequests(), [
      "2.root.json",
      "timestamp.json",
      "1.snapshot.json",
      "1.targets.json",
    ]);
    for (const role of ["timestamp", "snapshot", "targets"]) {
      assert.equal(Buffer.compare(store.files.get(role)!, repo.latest(role)), 0);
    }
  });

  it("fetches nothing more than root and timestamp when nothing changed", async () => {
    const { repo, store } = await setup();
    await client(repo, store).refresh();
    repo.requests.length = 0;
    const saves = store.saves;
    await client(repo, store).refresh();
    assert.deepEqual(repo.metadataRequests(), ["2.root.json", "timestamp.json"]);
    assert.equal(store.saves, saves, "an unchanged timestamp is not rewritten");
  });

  it("follows new versions of every role", async () => {
    const { repo, store } = await setup();
    await client(repo, store).refresh();
    repo.addArtifact("targets", "a.txt", "A");
    await repo.publish(["targets", "snapshot", "timestamp"]);
    await repo.publish(["root"]);
    const v = await client(repo, store).refresh();
    assert.deepEqual(v, { root: 2, timestamp: 2, snapshot: 2, targets: 2 });
    assert.deepEqual(store.versions(), { root: 2, snapshot: 2, targets: 2, timestamp: 2 });
  });

  it("uses unversioned names when consistent snapshots are off", async () => {
    const { repo, store } = await setup({ consistentSnapshot: false });
    repo.addArtifact("targets", "dir/a.txt", "A");
    await repo.publish(["targets", "snapshot", "timestamp"]);
    const c = client(repo, store);
    const info = await c.getTargetInfo("dir/a.txt");
    assert.ok(info);
    assert.equal(Buffer.from(await c.downloadTarget(info)).toString(), "A");
    assert.deepEqual(repo.requests, [
      "metadata/2.root.json",
      "metadata/timestamp.json",
      "metadata/snapshot.json",
      "metadata/targets.json",
      "targets/dir/a.txt",
    ]);
  });

  it("refuses a trusted root that is not signed by its own keys, before any request", async () => {
    const { repo } = await setup();
    const store = new MemoryStore();
    const md = JSON.parse(Buffer.from(repo.initialRoot()).toString());
    md.signatures[0].sig = "00".repeat(64);
    store.files.set("root", Buffer.from(JSON.stringify(md)));
    await assert.rejects(client(repo, store).refresh(), { code: "ERR_TUF_SIGNATURE_INVALID" });
    assert.deepEqual(repo.requests, []);
    await assert.rejects(initTrustedRoot(new MemoryStore(), Buffer.from(JSON.stringify(md))), {
      code: "ERR_TUF_SIGNATURE_INVALID",
    });
  });

  it("refuses to run without a trusted root", async () => {
    const { repo } = await setup();
    await assert.rejects(client(repo, new MemoryStore()).refresh(), { code: "ERR_TUF_METADATA_MISSING" });
  });

  it("ignores local metadata that no longer verifies (it proves nothing)", async () => {
    const { repo, store } = await setup();
    await client(repo, store).refresh();
    store.files.set("timestamp", Buffer.from("{ not json"));
    const md = JSON.parse(Buffer.from(store.files.get("snapshot")!).toString());
    md.signed.version = 7;
    store.files.set("snapshot", Buffer.from(JSON.stringify(md)));
    await client(repo, store).refresh();
    assert.deepEqual(store.versions(), { root: 1, snapshot: 1, targets: 1, timestamp: 1 });
  });
});

describe("TUF client: root rotation (TUF 5.3)", () => {
  it("follows a chain 1 -> 2 -> 3 with threshold changes and key removal", async () => {
    const { repo, store } = await setup();
    const a = [...repo.signers.get("root")!.values()][0]!;
    // v2: threshold 2 of {A, B}, signed by A (v1's threshold) and A, B (its own).
    const b = repo.addKey("root");
    repo.root.roles.root!.threshold = 2;
    await repo.publish(["root"]);
    // v3: drops A, threshold 2 of {B, C}: signed by A, B (v2's threshold) and B, C (its own).
    const c = repo.addKey("root");
    repo.root.roles.root!.keyids = [b.keyid, c.keyid];
    delete repo.root.keys[a.keyid];
    await repo.publish(["root"]);
    assert.equal((await client(repo, store).refresh()).root, 3);
    // v4 signed by A and B: A is no longer a root key, so only one of v3's keys signed.
    repo.signers.get("root")!.delete(c.keyid);
    await repo.publish(["root"]);
    const before = store.state();
    await refused(client(repo, store).refresh(), "ERR_TUF_SIGNATURE_INVALID", store, before);
  });

  it("refuses a new root not signed by the old root's threshold", async () => {
    const { repo, store } = await setup();
    const old = repo.rotateKeys("root");
    repo.signers.set("root", new Map([[old.keyid, old.signer]]));
    await repo.publish(["root"]);
    await refused(client(repo, store).refresh(), "ERR_TUF_SIGNATURE_INVALID", store, store.state());
  });

  it("refuses a new root not signed by its own threshold", async () => {
    const { repo, store } = await setup();
    const oldSigners = new Map(repo.signers.get("root")!);
    repo.rotateKeys("root");
    repo.signers.set("root", oldSigners);
    await repo.publish(["root"]);
    await refused(client(repo, store).refresh(), "ERR_TUF_SIGNATURE_INVALID", store, store.state());
  });

  it("refuses a root that skips a version, and one that goes back", async () => {
    const { repo, store } = await setup();
    repo.root.version = 3;
    await repo.publish(["root"], { bump: false });
    repo.overrides.set("metadata/2.root.json", repo.latest("root"));
    await refused(client(repo, store).refresh(), "ERR_TUF_VERSION_MISMATCH", store, store.state());
    repo.overrides.set("metadata/2.root.json", repo.initialRoot());
    await refused(client(repo, store).refresh(), "ERR_TUF_ROLLBACK", store, store.state());
  });

  it("stops after maxRootRotations new roots and goes on with the last", async () => {
    const { repo, store } = await setup();
    for (let i = 0; i < 4; i++) await repo.publish(["root"]);
    const v = await client(repo, store, { limits: tufLimits({ maxRootRotations: 2 }) }).refresh();
    assert.equal(v.root, 3);
    assert.equal((await client(repo, store).refresh()).root, 5);
  });

  it("refuses an expired final root but keeps the intermediate ones it verified", async () => {
    const { repo, store } = await setup();
    repo.root.expires = new Date(Date.now() + DAY).toISOString().slice(0, 19) + "Z";
    await repo.publish(["root"]);
    await assert.rejects(client(repo, store, { clock: inDays(2) }).refresh(), { code: "ERR_TUF_EXPIRED" });
    assert.equal(store.versions().root, 2);
    assert.equal(store.files.has("timestamp"), false);
  });

  it("updates from an expired trusted root to a valid new one", async () => {
    const { repo, store } = await setup();
    repo.root.expires = new Date(Date.now() + DAY).toISOString().slice(0, 19) + "Z";
    await repo.publish(["root"]);
    await client(repo, store).refresh();
    repo.root.expires = new Date(Date.now() + 30 * DAY).toISOString().slice(0, 19) + "Z";
    await repo.publish(["root"]);
    assert.equal((await client(repo, store, { clock: inDays(2) }).refresh()).root, 3);
  });
});

describe("TUF client: rollback attacks", () => {
  it("refuses a timestamp older than the trusted one", async () => {
    const { repo, store } = await setup();
    await repo.publish(["timestamp"]);
    await client(repo, store).refresh();
    repo.overrides.set("metadata/timestamp.json", repo.published.get("timestamp")![0]!);
    await refused(client(repo, store).refresh(), "ERR_TUF_ROLLBACK", store, store.state());
  });

  it("refuses a timestamp that names an older snapshot", async () => {
    const { repo, store } = await setup();
    await repo.publish(["snapshot", "timestamp"]);
    await client(repo, store).refresh();
    repo.timestamp.meta["snapshot.json"] = { version: 1 };
    await repo.publish(["timestamp"]);
    await refused(client(repo, store).refresh(), "ERR_TUF_ROLLBACK", store, store.state());
  });

  it("refuses a snapshot that lists an older targets version", async () => {
    const { repo, store } = await setup();
    await repo.publish(["targets", "snapshot", "timestamp"]);
    await client(repo, store).refresh();
    repo.snapshot.meta["targets.json"] = { version: 1 };
    await repo.publish(["snapshot", "timestamp"]);
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_ROLLBACK",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("refuses a snapshot that lists an older delegated targets version", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "dev", threshold: 1, paths: ["dev/*"] });
    await repo.publish(["dev", "targets", "snapshot", "timestamp"]);
    await repo.publish(["dev", "snapshot", "timestamp"]);
    await client(repo, store).refresh();
    repo.snapshot.meta["dev.json"] = { version: 1 };
    await repo.publish(["snapshot", "timestamp"]);
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_ROLLBACK",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("refuses a snapshot that drops a role", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "dev", threshold: 1, paths: ["dev/*"] });
    await repo.publish(["dev", "targets", "snapshot", "timestamp"]);
    await client(repo, store).refresh();
    delete repo.snapshot.meta["dev.json"];
    await repo.publish(["snapshot", "timestamp"]);
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_ROLLBACK",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("keeps the trusted timestamp when the repository serves the same version again", async () => {
    const { repo, store } = await setup();
    await client(repo, store).refresh();
    const before = store.state();
    const md = JSON.parse(Buffer.from(repo.latest("timestamp")).toString());
    repo.overrides.set("metadata/timestamp.json", Buffer.from(`${JSON.stringify(md, null, 2)}\n`));
    await client(repo, store).refresh();
    assert.deepEqual(store.state(), before);
  });
});

describe("TUF client: fast-forward attack recovery (TUF 5.3.11)", () => {
  it("recovers from an inflated timestamp version once the timestamp key is rotated", async () => {
    const { repo, store } = await setup();
    repo.timestamp.version = 99;
    await repo.publish(["timestamp"], { bump: false });
    await client(repo, store).refresh();
    assert.equal(store.versions().timestamp, 99);
    // Without a key rotation the inflated version blocks the repository: that is the attack.
    repo.timestamp.version = 1;
    repo.published.set("timestamp", []);
    await repo.publish(["timestamp"], { bump: false });
    await refused(client(repo, store).refresh(), "ERR_TUF_ROLLBACK", store, store.state());
    repo.rotateKeys("timestamp");
    await repo.publish(["root"]);
    repo.published.set("timestamp", []);
    await repo.publish(["timestamp"], { bump: false });
    const v = await client(repo, store).refresh();
    assert.equal(v.timestamp, 1);
    assert.equal(store.versions().timestamp, 1);
  });

  it("recovers from an inflated snapshot version once the snapshot key is rotated", async () => {
    const { repo, store } = await setup();
    repo.snapshot.version = 99;
    await repo.publish(["snapshot"], { bump: false });
    await repo.publish(["timestamp"]);
    await client(repo, store).refresh();
    repo.rotateKeys("snapshot");
    await repo.publish(["root"]);
    repo.snapshot.version = 1;
    repo.published.set("snapshot", []);
    await repo.publish(["snapshot"], { bump: false });
    await repo.publish(["timestamp"]);
    const v = await client(repo, store).refresh();
    assert.equal(v.snapshot, 1);
  });

  it("recovers from an inflated targets version once the snapshot key is rotated", async () => {
    const { repo, store } = await setup();
    repo.targets().version = 50;
    await repo.publish(["targets"], { bump: false });
    await repo.publish(["snapshot", "timestamp"]);
    await client(repo, store).refresh();
    assert.equal(store.versions().targets, 50);
    repo.rotateKeys("snapshot");
    await repo.publish(["root"]);
    repo.targets().version = 1;
    repo.published.set("targets", []);
    await repo.publish(["targets"], { bump: false });
    await repo.publish(["snapshot", "timestamp"]);
    const v = await client(repo, store).refresh();
    assert.equal(v.targets, 1);
  });
});

describe("TUF client: freeze attacks (expired metadata)", () => {
  const expiring = () => new Date(Date.now() + DAY).toISOString().slice(0, 19) + "Z";
  for (const role of ["timestamp", "snapshot", "targets"] as const) {
    it(`refuses an expired ${role}`, async () => {
      const { repo, store } = await setup();
      await client(repo, store).refresh();
      repo.mds.get(role)!.expires = expiring();
      const roles = {
        timestamp: ["timestamp"],
        snapshot: ["snapshot", "timestamp"],
        targets: ["targets", "snapshot", "timestamp"],
      }[role];
      await repo.publish(roles);
      await client(repo, store).refresh(); // valid today
      const before = store.state();
      await refused(client(repo, store, { clock: inDays(2) }).refresh(), "ERR_TUF_EXPIRED", store, before);
    });
  }

  it("refuses a new timestamp that has already expired, keeping the trusted one", async () => {
    const { repo, store } = await setup();
    await client(repo, store).refresh();
    repo.timestamp.expires = "2000-01-01T00:00:00Z";
    await repo.publish(["timestamp"]);
    await refused(client(repo, store).refresh(), "ERR_TUF_EXPIRED", store, store.state());
  });
});

describe("TUF client: signatures", () => {
  it("refuses a timestamp signed by fewer keys than the threshold", async () => {
    const { repo, store } = await setup();
    const second = repo.addKey("timestamp");
    repo.root.roles.timestamp!.threshold = 2;
    await repo.publish(["root"]);
    repo.signers.get("timestamp")!.delete(second.keyid);
    await repo.publish(["timestamp"]);
    await refused(client(repo, store).refresh(), "ERR_TUF_SIGNATURE_INVALID", store, {
      ...store.state(),
      // the new root verified before the timestamp failed: it is kept
      root: sha256(repo.latest("root")),
    });
  });

  for (const role of ["timestamp", "snapshot", "targets"]) {
    it(`refuses ${role} metadata signed by a key root does not trust`, async () => {
      const { repo, store } = await setup();
      const intruder = newKey();
      repo.signers.set(role, new Map([[intruder.keyid, intruder.signer]]));
      const roles = ["targets", "snapshot", "timestamp"];
      await repo.publish(roles.slice(roles.indexOf(role)));
      const kept = { timestamp: [], snapshot: ["timestamp"], targets: ["timestamp", "snapshot"] }[role]!;
      await refused(
        client(repo, store).refresh(),
        "ERR_TUF_SIGNATURE_INVALID",
        store,
        plus(repo, store.state(), ...kept),
      );
    });
  }

  it("refuses a document of another role served in its place", async () => {
    const { repo, store } = await setup();
    repo.overrides.set("metadata/timestamp.json", repo.latest("snapshot"));
    await refused(client(repo, store).refresh(), "ERR_TUF_METADATA_INVALID", store, store.state());
  });
});

describe("TUF client: mix-and-match, arbitrary software, endless data", () => {
  it("refuses a snapshot whose version is not the one the timestamp names", async () => {
    const { repo, store } = await setup();
    repo.computeHashes = false;
    await repo.publish(["snapshot", "timestamp"]);
    repo.overrides.set("metadata/2.snapshot.json", repo.published.get("snapshot")![0]!);
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_VERSION_MISMATCH",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("refuses targets whose version is not the one the snapshot names", async () => {
    const { repo, store } = await setup();
    repo.computeHashes = false;
    await repo.publish(["targets", "snapshot", "timestamp"]);
    repo.overrides.set("metadata/2.targets.json", repo.published.get("targets")![0]!);
    const before = store.state();
    await assert.rejects(client(repo, store).refresh(), { code: "ERR_TUF_VERSION_MISMATCH" });
    assert.equal(store.files.has("targets"), false);
    assert.deepEqual(before, { root: sha256(repo.initialRoot()) });
  });

  it("refuses a snapshot that does not have the hashes the timestamp gives", async () => {
    const { repo, store } = await setup();
    await repo.publish(["snapshot", "timestamp"]);
    // Same length, one byte changed: caught by the hash before anything parses it.
    const text = Buffer.from(repo.latest("snapshot")).toString().replace('"snapshot"', '"snapshoT"');
    repo.overrides.set("metadata/2.snapshot.json", Buffer.from(text));
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_HASH_MISMATCH",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("refuses a target whose content was replaced (same length)", async () => {
    const { repo, store } = await setup();
    repo.addArtifact("targets", "app.tgz", "good");
    await repo.publish(["targets", "snapshot", "timestamp"]);
    repo.tamperArtifact("app.tgz", "evil");
    const c = client(repo, store);
    const info = await c.getTargetInfo("app.tgz");
    assert.ok(info);
    await assert.rejects(c.downloadTarget(info), { code: "ERR_TUF_HASH_MISMATCH" });
  });

  it("refuses a target longer than its metadata says, without reading past the length", async () => {
    const { repo, store } = await setup();
    repo.addArtifact("targets", "app.tgz", "good");
    await repo.publish(["targets", "snapshot", "timestamp"]);
    repo.tamperArtifact("app.tgz", "good and then some more");
    const c = client(repo, store);
    const info = (await c.getTargetInfo("app.tgz"))!;
    await assert.rejects(c.downloadTarget(info), { code: "ERR_TUF_BOUND_EXCEEDED" });
  });

  it("a store that cannot save fails the refresh with its error, once every other write is done", async () => {
    const { repo, store } = await setup();
    let release: () => void = () => {};
    const slow = new Promise<void>((ok) => {
      release = ok;
    });
    // Timestamp's write is slow and succeeds; snapshot's fails at once.
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      save: async (role: string, bytes: Uint8Array) => {
        if (role === "snapshot") throw cairnError("ERR_IO", "disk full");
        if (role === "timestamp") await slow;
        return store.save(role, bytes);
      },
    });
    const p = client(repo, failing).refresh();
    let settled = false;
    void p
      .catch(() => {})
      .finally(() => {
        settled = true;
      });
    await new Promise((ok) => setTimeout(ok, 20));
    assert.equal(settled, false, "the refresh waits for the timestamp's write");
    release();
    await assert.rejects(p, { code: "ERR_IO", message: /disk full/ });
    assert.ok(store.files.has("timestamp") && !store.files.has("snapshot"));
  });

  it("downloadTargetTo streams into a sink: committed once checked; aborted, never committed, on any failure", async () => {
    const { repo, store } = await setup();
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    for (const n of ["big", "short", "long", "evil", "gone"]) repo.addArtifact("targets", n, big);
    await repo.publish(["targets", "snapshot", "timestamp"]);
    repo.tamperArtifact("short", big.subarray(0, big.length - 1));
    repo.tamperArtifact("long", Buffer.concat([big, Buffer.from("x")]));
    repo.tamperArtifact("evil", Buffer.from(big).fill(0xff, 0, 1));
    repo.artifacts.delete("gone");
    // The port's streaming side, in 16 KiB chunks and bounded as the contract says; whole-body
    // fetches of targets are refused, so a download that buffered would fail.
    const inner = repo.fetcher();
    const fetcher: Fetcher = {
      fetch: (url, max) => {
        if (url.startsWith(TARGETS_URL)) throw new Error("buffered a target");
        return inner.fetch(url, max);
      },
      open: async (url, max) => {
        const bytes = await inner.fetch(url, Number.MAX_SAFE_INTEGER);
        if (bytes === undefined) return undefined;
        return (async function* () {
          for (let off = 0; off < bytes.length; off += 16_384) {
            if (off + 16_384 > max && bytes.length > max)
              throw cairnError("ERR_TUF_BOUND_EXCEEDED", "too long");
            yield bytes.subarray(off, off + 16_384);
          }
        })();
      },
    };
    const c = client(repo, store, { fetcher });
    const sink = () => {
      const s = { chunks: [] as Uint8Array[], committed: 0, aborted: 0 };
      const port: TargetSink = {
        write: async (chunk) => void s.chunks.push(Buffer.from(chunk)),
        commit: async () => void s.committed++,
        abort: async () => void s.aborted++,
      };
      return { s, port };
    };
    const ok = sink();
    await c.downloadTargetTo((await c.getTargetInfo("big"))!, ok.port);
    assert.deepEqual(Buffer.concat(ok.s.chunks), big);
    assert.ok(ok.s.chunks.length > 10);
    assert.deepEqual([ok.s.committed, ok.s.aborted], [1, 0]);
    for (const [name, code] of [
      ["short", "ERR_TUF_HASH_MISMATCH"],
      ["long", "ERR_TUF_BOUND_EXCEEDED"],
      ["evil", "ERR_TUF_HASH_MISMATCH"],
      ["gone", "ERR_TUF_TARGET_NOT_FOUND"],
    ] as const) {
      const bad = sink();
      await assert.rejects(c.downloadTargetTo((await c.getTargetInfo(name))!, bad.port), { code }, name);
      assert.deepEqual([bad.s.committed, bad.s.aborted], [0, 1], name);
    }
    // A fetcher that cannot stream: the same checks over the whole body.
    const plain = sink();
    const p = client(repo, store);
    await p.downloadTargetTo((await p.getTargetInfo("big"))!, plain.port);
    assert.deepEqual([Buffer.concat(plain.s.chunks).equals(big), plain.s.committed], [true, 1]);
  });

  it("refuses endless metadata: a timestamp past its bound, a snapshot past the timestamp's length", async () => {
    const { repo, store } = await setup();
    repo.overrides.set("metadata/timestamp.json", new Uint8Array(20_000));
    await refused(client(repo, store).refresh(), "ERR_TUF_BOUND_EXCEEDED", store, store.state());
    repo.overrides.clear();
    await repo.publish(["snapshot", "timestamp"]);
    const big = Buffer.concat([repo.latest("snapshot"), Buffer.alloc(1000, 0x20)]);
    repo.overrides.set("metadata/2.snapshot.json", big);
    await refused(
      client(repo, store).refresh(),
      "ERR_TUF_BOUND_EXCEEDED",
      store,
      plus(repo, store.state(), "timestamp"),
    );
  });

  it("refuses a root larger than rootMaxBytes", async () => {
    const { repo, store } = await setup();
    await repo.publish(["root"]);
    const limits = tufLimits({ rootMaxBytes: 100 });
    store.files.set("root", repo.initialRoot());
    await assert.rejects(client(repo, store, { limits }).refresh(), { code: "ERR_TUF_BOUND_EXCEEDED" });
  });

  it("checkLengthAndHashes: any change to the bytes is refused (property)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (b, i, x) => {
          const sha512 = createHash("sha512").update(b).digest("hex");
          const expected = { length: b.length, hashes: { sha256: sha256(b), sha512 } };
          checkLengthAndHashes(b, expected, "t");
          const t = Uint8Array.from(b);
          t[i % t.length]! ^= x;
          assert.throws(() => checkLengthAndHashes(t, expected, "t"), { code: "ERR_TUF_HASH_MISMATCH" });
        },
      ),
    );
  });

  it("refuses hashes it cannot compute rather than skipping them", () => {
    assert.throws(() => checkLengthAndHashes(Buffer.from("x"), { hashes: { blake2b: "00" } }, "t"), {
      code: "ERR_TUF_HASH_MISMATCH",
    });
  });
});

describe("TUF client: delegations (TUF 5.6.7)", () => {
  it("finds targets through nested delegations and downloads them by hash", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "dev", threshold: 1, terminating: false, paths: ["dev/*"] });
    repo.addDelegation("dev", { name: "dev-nested", threshold: 1, paths: ["dev/*.tgz"] });
    repo.addArtifact("dev-nested", "dev/app.tgz", "app");
    await repo.publish(["dev-nested", "dev", "targets", "snapshot", "timestamp"]);
    const c = client(repo, store);
    const info = await c.getTargetInfo("dev/app.tgz");
    assert.equal(info?.role, "dev-nested");
    assert.equal(Buffer.from(await c.downloadTarget(info!)).toString(), "app");
    assert.equal(repo.requests.at(-1), `targets/dev/${sha256(Buffer.from("app"))}.app.tgz`);
    assert.deepEqual(store.versions(), {
      "dev-nested": 1,
      dev: 1,
      root: 1,
      snapshot: 2,
      targets: 2,
      timestamp: 2,
    });
  });

  it("visits roles in preorder depth-first order", async () => {
    const { repo, store } = await setup();
    for (const [from, to] of [
      ["targets", "A"],
      ["targets", "B"],
      ["A", "C"],
      ["A", "D"],
    ] as const) {
      repo.addDelegation(from, { name: to, threshold: 1, paths: ["*"] });
    }
    await repo.publish(["A", "B", "C", "D", "targets", "snapshot", "timestamp"]);
    assert.equal(await client(repo, store).getTargetInfo("missing"), undefined);
    assert.deepEqual(repo.metadataRequests().slice(4), ["1.A.json", "1.C.json", "1.D.json", "1.B.json"]);
  });

  it("stops at a terminating delegation: later roles are never consulted", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "A", threshold: 1, terminating: false, paths: ["*"] });
    repo.addDelegation("targets", { name: "B", threshold: 1, paths: ["*"] });
    repo.addDelegation("A", { name: "C", threshold: 1, terminating: true, paths: ["*"] });
    repo.addDelegation("A", { name: "D", threshold: 1, paths: ["*"] });
    repo.addArtifact("B", "x.txt", "from B");
    repo.addArtifact("D", "x.txt", "from D");
    await repo.publish(["A", "B", "C", "D", "targets", "snapshot", "timestamp"]);
    assert.equal(await client(repo, store).getTargetInfo("x.txt"), undefined);
    assert.deepEqual(repo.metadataRequests().slice(4), ["1.A.json", "1.C.json"]);
  });

  it("without the terminating flag, the search goes on to the next role", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "A", threshold: 1, terminating: false, paths: ["*"] });
    repo.addDelegation("targets", { name: "B", threshold: 1, paths: ["*"] });
    repo.addArtifact("B", "x.txt", "from B");
    await repo.publish(["A", "B", "targets", "snapshot", "timestamp"]);
    assert.equal((await client(repo, store).getTargetInfo("x.txt"))?.role, "B");
  });

  it("ignores what a delegated developer lists outside their paths", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "alice", threshold: 1, paths: ["alice/*"] });
    repo.addDelegation("targets", { name: "bob", threshold: 1, paths: ["bob/*"] });
    repo.addArtifact("alice", "bob/tool.tgz", "alice's trojan");
    repo.addArtifact("alice", "alice/tool.tgz", "alice's tool");
    await repo.publish(["alice", "bob", "targets", "snapshot", "timestamp"]);
    const c = client(repo, store);
    assert.equal(await c.getTargetInfo("bob/tool.tgz"), undefined);
    assert.equal((await c.getTargetInfo("alice/tool.tgz"))?.role, "alice");
  });

  it("refuses delegated metadata not signed by the keys its delegator gives", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "dev", threshold: 1, paths: ["*"] });
    const intruder = newKey();
    repo.signers.set("dev", new Map([[intruder.keyid, intruder.signer]]));
    await repo.publish(["dev", "targets", "snapshot", "timestamp"]);
    await assert.rejects(client(repo, store).getTargetInfo("x"), { code: "ERR_TUF_SIGNATURE_INVALID" });
    assert.equal(store.files.has("dev"), false);
  });

  it("verifies a role reached twice against each delegator (diamond)", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "pa", threshold: 1, paths: ["team-a/*"] });
    repo.addDelegation("targets", { name: "pb", threshold: 1, paths: ["team-b/*"] });
    const ka = repo.addDelegation("pa", { name: "release", threshold: 1, paths: ["team-a/*"] });
    repo.addDelegation("pb", { name: "release", threshold: 1, paths: ["team-b/*"] });
    // release is signed by pa's key only.
    repo.signers.set("release", new Map([[ka.keyid, ka.signer]]));
    repo.addArtifact("release", "team-a/x", "A");
    repo.addArtifact("release", "team-b/x", "B");
    await repo.publish(["release", "pa", "pb", "targets", "snapshot", "timestamp"]);
    const c = client(repo, store);
    assert.equal((await c.getTargetInfo("team-a/x"))?.role, "release");
    await assert.rejects(c.getTargetInfo("team-b/x"), { code: "ERR_TUF_SIGNATURE_INVALID" });
  });

  it("refuses a search that would visit more than maxDelegations roles", async () => {
    const { repo, store } = await setup();
    const names = ["r1", "r2", "r3", "r4", "r5"];
    let from = "targets";
    for (const n of names) {
      repo.addDelegation(from, { name: n, threshold: 1, paths: ["*"] });
      from = n;
    }
    repo.addArtifact("r5", "deep.txt", "deep");
    await repo.publish([...names, "targets", "snapshot", "timestamp"]);
    await assert.rejects(
      client(repo, store, { limits: tufLimits({ maxDelegations: 3 }) }).getTargetInfo("deep.txt"),
      { code: "ERR_TUF_BOUND_EXCEEDED" },
    );
    assert.equal((await client(repo, store).getTargetInfo("deep.txt"))?.role, "r5");
  });

  it("visits each role of a cycle once", async () => {
    const { repo, store } = await setup();
    for (const [from, to] of [
      ["targets", "A"],
      ["A", "B"],
      ["B", "A"],
    ] as const) {
      repo.addDelegation(from, { name: to, threshold: 1, paths: ["*"] });
    }
    await repo.publish(["A", "B", "targets", "snapshot", "timestamp"]);
    assert.equal(await client(repo, store).getTargetInfo("missing"), undefined);
    assert.deepEqual(repo.metadataRequests().slice(4), ["1.A.json", "1.B.json"]);
  });

  it("finds targets in succinct hash bins (TAP 15), fetching only the bin that holds them", async () => {
    const { repo, store } = await setup();
    const bins = repo.addSuccinctRoles("targets", 3, "bin");
    const { SuccinctRoles } = await import("../../formats/tuf/index.js");
    const sr = new SuccinctRoles(repo.targets().delegations!.succinct_roles!);
    const paths = ["pkg/a-1.0.tgz", "pkg/b-2.0.tgz", "pkg/c-3.1.tgz"];
    for (const p of paths) repo.addArtifact(sr.roleForTarget(p), p, `content of ${p}`);
    await repo.publish([...bins, "targets", "snapshot", "timestamp"]);
    for (const p of paths) {
      repo.requests.length = 0;
      const c = client(repo, store);
      const info = await c.getTargetInfo(p);
      assert.equal(info?.role, sr.roleForTarget(p));
      assert.equal(Buffer.from(await c.downloadTarget(info!)).toString(), `content of ${p}`);
      const fetched = repo.metadataRequests().filter((r) => r.includes("bin-"));
      assert.ok(fetched.length <= 1, fetched.join());
    }
    // a bin's metadata listing a path of another bin is not trusted for it
    const other = bins.find((b) => b !== sr.roleForTarget("pkg/x.tgz"))!;
    repo.addArtifact(other, "pkg/x.tgz", "misplaced");
    await repo.publish([other, "snapshot", "timestamp"]);
    assert.equal(await client(repo, store).getTargetInfo("pkg/x.tgz"), undefined);
  });

  it("refuses a delegated role the snapshot does not list", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "dev", threshold: 1, paths: ["*"] });
    await repo.publish(["targets", "snapshot", "timestamp"]);
    await assert.rejects(client(repo, store).getTargetInfo("x"), { code: "ERR_TUF_METADATA_MISSING" });
  });

  it("quotes odd role names in URLs", async () => {
    const { repo, store } = await setup();
    repo.addDelegation("targets", { name: "../x?#", threshold: 1, paths: ["*"] });
    await repo.publish(["../x?#", "targets", "snapshot", "timestamp"]);
    assert.equal(await client(repo, store).getTargetInfo("t"), undefined);
    assert.deepEqual(repo.metadataRequests().slice(4), [`1.${encodeURIComponent("../x?#")}.json`]);
  });
});

describe("TUF client: transport", () => {
  it("a transport failure is an error, never a pass", async () => {
    const { repo, store } = await setup();
    const fetcher = repo.fetcher();
    const failing: TufClientOptions["fetcher"] = {
      fetch: async (url, max) => {
        if (url.endsWith("timestamp.json")) {
          const { cairnError } = await import("../../core/errors.js");
          throw cairnError("ERR_IO", "connection reset");
        }
        return fetcher.fetch(url, max);
      },
    };
    await refused(client(repo, store, { fetcher: failing }).refresh(), "ERR_IO", store, store.state());
  });

  it("a missing timestamp or snapshot is ERR_TUF_METADATA_MISSING", async () => {
    const { repo, store } = await setup();
    repo.published.delete("timestamp");
    await refused(client(repo, store).refresh(), "ERR_TUF_METADATA_MISSING", store, store.state());
  });

  it("a target the repository does not have is ERR_TUF_TARGET_NOT_FOUND", async () => {
    const { repo, store } = await setup();
    repo.addArtifact("targets", "a", "A");
    await repo.publish(["targets", "snapshot", "timestamp"]);
    repo.artifacts.delete("a");
    const c = client(repo, store);
    await assert.rejects(c.downloadTarget((await c.getTargetInfo("a"))!), {
      code: "ERR_TUF_TARGET_NOT_FOUND",
    });
  });
});
