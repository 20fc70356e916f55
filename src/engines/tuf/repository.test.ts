// SPDX-License-Identifier: Apache-2.0
// The TUF repository engine: every published set is read by cairn's TufClient and by tuf-js (the
// reference TypeScript client, a devDependency, over HTTP on 127.0.0.1): after init, targets,
// a developer's delegated metadata, a root rotation and a key revocation. Then the refusals: paths
// outside a delegation, wrong keys, rollback, half-signed or stale sets, a published version that
// would change; and crash safety: publish failing after every possible number of writes leaves a
// published set that clients still update from.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Updater } from "tuf-js";
import type { CairnError } from "../../core/errors.js";
import { generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  newTargets,
  serializeMetadata,
  setTarget,
  signMetadata,
  type Targets,
  tufSigner,
} from "../../formats/tuf/index.js";
import { AREA_BASE, areaFetcher, MemoryArea } from "../../testing/tuf-area.js";
import { MemoryStore, sha256 } from "../../testing/tuf-repo.js";
import { initTrustedRoot, TufClient } from "./client.js";
import { TufRepository } from "./repository.js";

const BASE = AREA_BASE;

async function newClient(out: () => MemoryArea, store?: MemoryStore) {
  const s = store ?? new MemoryStore();
  if (store === undefined) await initTrustedRoot(s, (await out().read("metadata/1.root.json"))!);
  return {
    store: s,
    client: new TufClient({
      metadataUrl: `${BASE}/metadata`,
      targetBaseUrl: `${BASE}/targets`,
      store: s,
      fetcher: areaFetcher(out),
    }),
  };
}

/** Fetches and checks a target with a fresh cairn client; returns its bytes. */
async function cairnDownload(out: MemoryArea, path: string): Promise<Buffer> {
  const { client } = await newClient(() => out);
  await client.refresh();
  const info = await client.getTargetInfo(path);
  assert.ok(info, `cairn found no metadata for ${path}`);
  return Buffer.from(await client.downloadTarget(info));
}

const key = () => generateKey("ed25519");
const sg = (k: PrivateKey): Signer => keySigner(k);

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: CairnError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A repository with one key per role (root: rootKey, targets: targetsKey, online: onlineKey). */
async function setup(opts: { metaHashes?: boolean; consistentSnapshot?: boolean } = {}) {
  const k = { root: key(), targets: key(), online: key() };
  const store = new MemoryArea();
  const repo = await TufRepository.init(store, {
    keys: {
      root: [k.root.public],
      targets: [k.targets.public],
      snapshot: [k.online.public],
      timestamp: [k.online.public],
    },
    signers: [sg(k.root), sg(k.targets), sg(k.online)],
    ...(opts.metaHashes !== undefined ? { metaHashes: opts.metaHashes } : {}),
    ...(opts.consistentSnapshot !== undefined ? { consistentSnapshot: opts.consistentSnapshot } : {}),
  });
  const out = new MemoryArea();
  return { k, store, repo, out };
}

describe("TUF repository: what clients see", () => {
  let server: Server;
  let base: string;
  let served = new MemoryArea();
  let dir: string;

  before(async () => {
    server = createServer((req, res) => {
      const name = (req.url ?? "/").slice(1).split("/").map(decodeURIComponent).join("/");
      const body = served.files.get(name);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), "cairn-tufrepo-"));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** tuf-js refreshes `out` from its first root; returns the Updater. */
  async function tufjs(out: MemoryArea): Promise<Updater> {
    served = out;
    const d = join(dir, `c${n++}`);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "root.json"), out.files.get("metadata/1.root.json")!);
    const u = new Updater({
      metadataDir: d,
      metadataBaseUrl: `${base}/metadata`,
      targetDir: d,
      targetBaseUrl: `${base}/targets`,
      config: { fetchRetries: 0 },
    });
    await u.refresh();
    return u;
  }

  async function tufjsDownload(out: MemoryArea, path: string): Promise<Buffer> {
    const u = await tufjs(out);
    const info = await u.getTargetInfo(path);
    assert.ok(info, `tuf-js found no metadata for ${path}`);
    const file = join(dir, `dl${n++}`);
    await u.downloadTarget(info, file);
    return readFileSync(file);
  }

  it("init publishes root, targets, snapshot and timestamp v1 with consistent-snapshot names", async () => {
    const { repo, out } = await setup();
    const report = await repo.publish(out);
    assert.deepEqual(report.written, [
      "metadata/1.targets.json",
      "metadata/1.snapshot.json",
      "metadata/1.root.json",
      "metadata/timestamp.json",
    ]);
    assert.deepEqual(report.versions, { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
    const { client } = await newClient(() => out);
    assert.deepEqual(await client.refresh(), { root: 1, timestamp: 1, snapshot: 1, targets: 1 });
    await tufjs(out);
    // Publishing again writes nothing.
    const again = await repo.publish(out);
    assert.deepEqual(again.written, []);
    assert.equal(again.unchanged, 4);
  });

  it("publishes a repository without consistent snapshots under fixed names, replaced in place; both clients follow it", async () => {
    const { k, repo, out } = await setup({ consistentSnapshot: false });
    const a = Buffer.from("first\n");
    const b = Buffer.from("bee\n");
    await repo.addTargets("targets", [{ path: "a.txt", bytes: a }], [sg(k.targets)]);
    const alice = key();
    await repo.delegate({ name: "alice", keys: [alice.public], paths: ["alice/*"], threshold: 1 }, [
      sg(k.targets),
    ]);
    await repo.addTargets("alice", [{ path: "alice/b.txt", bytes: b }], [sg(alice)]);
    await repo.refresh([sg(k.online)]);
    assert.deepEqual(await repo.problems(), []);
    const first = await repo.publish(out);
    assert.deepEqual([...first.written].sort(), [
      "metadata/1.root.json",
      "metadata/alice.json",
      "metadata/snapshot.json",
      "metadata/targets.json",
      "metadata/timestamp.json",
      "targets/a.txt",
      "targets/alice/b.txt",
    ]);
    assert.deepEqual(await cairnDownload(out, "alice/b.txt"), b);
    assert.deepEqual(await tufjsDownload(out, "a.txt"), a);
    assert.deepEqual(await tufjsDownload(out, "alice/b.txt"), b);
    // A returning client of each kind, then a new version of a.txt: the same names, new content.
    const { store, client } = await newClient(() => out);
    await client.refresh();
    const a2 = Buffer.from("second\n");
    await repo.addTargets("targets", [{ path: "a.txt", bytes: a2 }], [sg(k.targets)]);
    await repo.refresh([sg(k.online)]);
    const second = await repo.publish(out);
    assert.deepEqual([...second.written].sort(), [
      "metadata/snapshot.json",
      "metadata/targets.json",
      "metadata/timestamp.json",
      "targets/a.txt",
    ]);
    assert.equal(second.written.at(-1), "metadata/timestamp.json");
    assert.ok(![...out.files.keys()].some((f) => /\/\d+\.(snapshot|targets)\.json$/.test(f)));
    const again = (await newClient(() => out, store)).client;
    assert.equal((await again.refresh()).targets, 4);
    assert.deepEqual(Buffer.from(await again.downloadTarget((await again.getTargetInfo("a.txt"))!)), a2);
    assert.deepEqual(await tufjsDownload(out, "a.txt"), a2);
    // Publishing again writes nothing; a root version is still never replaced.
    assert.deepEqual((await repo.publish(out)).written, []);
    out.files.set("metadata/1.root.json", Buffer.from("{}"));
    await rejectsWith(repo.publish(out), "ERR_TUF_REPOSITORY_INCONSISTENT");
  });

  it("adds, updates and removes targets (length, sha256, sha512, custom) that both clients download", async () => {
    const { k, repo, out } = await setup();
    const a = Buffer.from("first artifact\n");
    const added = await repo.addTargets(
      "targets",
      [
        { path: "a.txt", bytes: a, custom: { built: "ci" } },
        { path: "dir/sub/b.bin", bytes: Buffer.from([0, 1, 2]) },
      ],
      [sg(k.targets)],
    );
    assert.equal(added["a.txt"]!.length, a.length);
    assert.deepEqual(Object.keys(added["a.txt"]!.hashes), ["sha256", "sha512"]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    assert.ok(out.files.has(`targets/${sha256(a)}.a.txt`));
    assert.ok(out.files.has(`targets/dir/sub/${sha256(Buffer.from([0, 1, 2]))}.b.bin`));
    assert.deepEqual(await cairnDownload(out, "a.txt"), a);
    assert.deepEqual(await cairnDownload(out, "dir/sub/b.bin"), Buffer.from([0, 1, 2]));
    assert.deepEqual(await tufjsDownload(out, "a.txt"), a);
    assert.deepEqual(await tufjsDownload(out, "dir/sub/b.bin"), Buffer.from([0, 1, 2]));
    const u = await tufjs(out);
    assert.deepEqual((await u.getTargetInfo("a.txt"))!.custom, { built: "ci" });

    // Update a.txt and remove b.bin: a returning client follows.
    const { store, client } = await newClient(() => out);
    await client.refresh();
    const a2 = Buffer.from("second artifact\n");
    await repo.addTargets("targets", [{ path: "a.txt", bytes: a2 }], [sg(k.targets)]);
    await repo.removeTargets("targets", ["dir/sub/b.bin"], [sg(k.targets)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const again = (await newClient(() => out, store)).client;
    assert.deepEqual((await again.refresh()).targets, 4);
    assert.deepEqual(Buffer.from(await again.downloadTarget((await again.getTargetInfo("a.txt"))!)), a2);
    assert.equal(await again.getTargetInfo("dir/sub/b.bin"), undefined);
    assert.equal(await (await tufjs(out)).getTargetInfo("dir/sub/b.bin"), undefined);
    await rejectsWith(repo.removeTargets("targets", ["nope"], [sg(k.targets)]), "ERR_TUF_TARGET_NOT_FOUND");
  });

  it("accepts a developer's own signed metadata inside their delegation, and both clients follow it", async () => {
    const { k, repo, out } = await setup();
    const alice = key();
    await repo.delegate({ name: "alice", keys: [alice.public], paths: ["alice/*"], terminating: true }, [
      sg(k.targets),
    ]);
    // The developer signs offline and submits metadata and files.
    const tool = Buffer.from("alice's tool\n");
    const t = newTargets({ expires: new Date(Date.now() + 30 * 86400_000) });
    setTarget(t, "alice/tool-1.0.tgz", { length: tool.length, hashes: { sha256: sha256(tool) } });
    const md = await signMetadata(t, [keySignerTuf(alice)]);
    await repo.submit("alice", serializeMetadata(md, "compact"), [
      { path: "alice/tool-1.0.tgz", bytes: tool },
    ]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    assert.ok(out.files.has("metadata/1.alice.json"));
    assert.deepEqual(await cairnDownload(out, "alice/tool-1.0.tgz"), tool);
    assert.deepEqual(await tufjsDownload(out, "alice/tool-1.0.tgz"), tool);
    // The developer's exact bytes were published (their signature still verifies).
    assert.equal(
      Buffer.compare(out.files.get("metadata/1.alice.json")!, serializeMetadata(md, "compact")),
      0,
    );
  });

  it("rotates the root keys (new root signed by old and new thresholds) and the timestamp key", async () => {
    const { k, repo, out } = await setup();
    await repo.publish(out);
    const old = await newClient(() => out);
    await old.client.refresh();
    const r2a = key();
    const r2b = key();
    await repo.rotate("root", { add: [r2a.public, r2b.public], remove: [k.root.public], threshold: 2 }, [
      sg(k.root),
      sg(r2a),
    ]);
    // Half-signed: the new root's threshold of 2 is not met.
    await rejectsWith(repo.publish(out), "ERR_TUF_REPOSITORY_INCONSISTENT");
    await rejectsWith(repo.rotate("root", { threshold: 1 }, [sg(r2a)]), "ERR_TUF_REPOSITORY_INCONSISTENT");
    await repo.sign("root", [sg(r2b)]);
    // Version 3 changes the timestamp key, signed by version 2's root keys only.
    const ts2 = key();
    await repo.rotate("timestamp", { add: [ts2.public], remove: [k.online.public] }, [sg(r2a), sg(r2b)]);
    // The snapshot keeps the old online key; the timestamp is signed by the new one.
    await repo.refresh([sg(k.online), sg(ts2)]);
    await repo.publish(out);
    assert.ok(out.files.has("metadata/2.root.json") && out.files.has("metadata/3.root.json"));
    assert.equal((await old.client.refresh()).root, 3);
    assert.equal((await (await newClient(() => out)).client.refresh()).root, 3);
    await tufjs(out);
    const trusted = JSON.parse(Buffer.from(old.store.files.get("root")!).toString());
    assert.equal(trusted.signed.version, 3);
  });

  it("revokes a developer's key: the repository and both clients then refuse what it signs", async () => {
    // Without hashes in the snapshot, only signatures protect a delegated role's file.
    const { k, repo, out } = await setup({ metaHashes: false });
    const a1 = key();
    const a2 = key();
    await repo.delegate({ name: "alice", keys: [a1.public, a2.public], paths: ["alice/*"] }, [
      sg(k.targets),
      sg(a1),
    ]);
    const tool = Buffer.from("tool v1\n");
    await repo.addTargets("alice", [{ path: "alice/tool", bytes: tool }], [sg(a1)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    assert.deepEqual(await cairnDownload(out, "alice/tool"), tool);

    await repo.revokeKey("alice", a1.public, [sg(k.targets)]);
    await repo.refresh([sg(k.online)]);
    // alice's metadata is still signed by the revoked key only: not publishable.
    await rejectsWith(repo.publish(out), "ERR_TUF_REPOSITORY_INCONSISTENT");
    await rejectsWith(
      repo.addTargets("alice", [{ path: "alice/x", bytes: tool }], [sg(a1)]),
      "ERR_TUF_KEY_NOT_IN_ROLE",
    );
    await repo.resign("alice", [sg(a2)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    assert.deepEqual(await cairnDownload(out, "alice/tool"), tool);
    assert.deepEqual(await tufjsDownload(out, "alice/tool"), tool);
    const aliceVersion = ((await repo.metadata("alice"))!.signed as Targets).version;

    // The holder of the revoked key signs a newer version with an evil target.
    const evil = newTargets({ expires: new Date(Date.now() + 86400_000), version: aliceVersion + 1 });
    setTarget(evil, "alice/tool", { length: 4, hashes: { sha256: sha256(Buffer.from("evil")) } });
    const evilMd = serializeMetadata(await signMetadata(evil, [keySignerTuf(a1)]), "compact");
    await rejectsWith(repo.submit("alice", evilMd), "ERR_TUF_SIGNATURE_INVALID");
    // ...and swaps it in on the mirror, under the version the snapshot names.
    const mirror = out.clone();
    const sameVersion = newTargets({ expires: new Date(Date.now() + 86400_000), version: aliceVersion });
    setTarget(sameVersion, "alice/tool", { length: 4, hashes: { sha256: sha256(Buffer.from("evil")) } });
    mirror.files.set(
      `metadata/${aliceVersion}.alice.json`,
      serializeMetadata(await signMetadata(sameVersion, [keySignerTuf(a1)]), "compact"),
    );
    const { client } = await newClient(() => mirror);
    await client.refresh();
    await rejectsWith(client.getTargetInfo("alice/tool"), "ERR_TUF_SIGNATURE_INVALID");
    const u = await tufjs(mirror);
    await assert.rejects(u.getTargetInfo("alice/tool"));
  });
});

/** A signer under the TUF key id of its key (what a developer's own tool produces). */
function keySignerTuf(k: PrivateKey): Signer {
  return tufSigner(keySigner(k));
}

describe("TUF repository: refusals", () => {
  it("refuses developer metadata listing a target outside the delegation, naming it", async () => {
    const { k, repo } = await setup();
    const alice = key();
    await repo.delegate({ name: "alice", keys: [alice.public], paths: ["alice/*"] }, [sg(k.targets)]);
    const t = newTargets({ expires: new Date(Date.now() + 86400_000) });
    setTarget(t, "alice/ok", { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    setTarget(t, "bob/stolen", { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    const bytes = serializeMetadata(await signMetadata(t, [keySignerTuf(alice)]), "compact");
    await assert.rejects(repo.submit("alice", bytes), (e: CairnError) => {
      assert.equal(e.code, "ERR_TUF_PATH_NOT_DELEGATED");
      assert.match(e.message, /bob\/stolen/);
      return true;
    });
    // "*" does not cross "/" (TUF 4.5, as python-tuf).
    const deep = newTargets({ expires: new Date(Date.now() + 86400_000) });
    setTarget(deep, "alice/sub/x", { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    await rejectsWith(
      repo.submit("alice", serializeMetadata(await signMetadata(deep, [keySignerTuf(alice)]), "compact")),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    // The same rule when the repository signs for the developer.
    await rejectsWith(
      repo.addTargets("alice", [{ path: "bob/x", bytes: Buffer.from("x") }], [sg(alice)]),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    // Unsafe paths never reach the published directory.
    const up = newTargets({ expires: new Date(Date.now() + 86400_000) });
    setTarget(up, "alice/../../etc/passwd", { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    await rejectsWith(
      repo.submit("alice", serializeMetadata(await signMetadata(up, [keySignerTuf(alice)]), "compact")),
      "ERR_TUF_METADATA_INVALID",
    );
  });

  it("enforces a nested delegation's paths at every level", async () => {
    const { k, repo } = await setup();
    const alice = key();
    const carol = key();
    await repo.delegate({ name: "alice", keys: [alice.public], paths: ["alice/*"] }, [
      sg(k.targets),
      sg(alice),
    ]);
    // alice delegates more than she has: carol still only gets what both levels allow.
    await repo.delegate({ name: "carol", delegator: "alice", keys: [carol.public], paths: ["*/*"] }, [
      sg(alice),
    ]);
    await repo.addTargets("carol", [{ path: "alice/c", bytes: Buffer.from("c") }], [sg(carol)]);
    await rejectsWith(
      repo.addTargets("carol", [{ path: "bob/c", bytes: Buffer.from("c") }], [sg(carol)]),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    assert.deepEqual(await repo.targetsRoles(), ["targets", "alice", "carol"]);
  });

  it("refuses developer metadata not signed by the role's threshold, older, or expired", async () => {
    const { k, repo } = await setup();
    const a1 = key();
    const a2 = key();
    await repo.delegate({ name: "alice", keys: [a1.public, a2.public], threshold: 2, paths: ["alice/*"] }, [
      sg(k.targets),
    ]);
    const t = newTargets({ expires: new Date(Date.now() + 86400_000), version: 2 });
    await rejectsWith(
      repo.submit("alice", serializeMetadata(await signMetadata(t, [keySignerTuf(a1)]), "compact")),
      "ERR_TUF_SIGNATURE_INVALID",
    );
    await rejectsWith(
      repo.submit(
        "alice",
        serializeMetadata(await signMetadata(t, [keySignerTuf(a1), keySignerTuf(key())]), "compact"),
      ),
      "ERR_TUF_SIGNATURE_INVALID",
    );
    await repo.submit(
      "alice",
      serializeMetadata(await signMetadata(t, [keySignerTuf(a1), keySignerTuf(a2)]), "compact"),
    );
    await rejectsWith(
      repo.submit(
        "alice",
        serializeMetadata(await signMetadata(t, [keySignerTuf(a1), keySignerTuf(a2)]), "compact"),
      ),
      "ERR_TUF_ROLLBACK",
    );
    const old = newTargets({ expires: new Date(Date.now() - 1000), version: 3 });
    await rejectsWith(
      repo.submit(
        "alice",
        serializeMetadata(await signMetadata(old, [keySignerTuf(a1), keySignerTuf(a2)]), "compact"),
      ),
      "ERR_TUF_EXPIRED",
    );
    await rejectsWith(
      repo.submit("bob", serializeMetadata(await signMetadata(t, [keySignerTuf(a1)]), "compact")),
      "ERR_TUF_ROLE_UNKNOWN",
    );
  });

  it("refuses signers the role does not trust", async () => {
    const { k, repo } = await setup();
    await rejectsWith(repo.addTargets("targets", [], [sg(k.online)]), "ERR_TUF_KEY_NOT_IN_ROLE");
    await rejectsWith(repo.refresh([sg(k.targets)]), "ERR_TUF_KEY_NOT_IN_ROLE");
    await rejectsWith(
      repo.rotate("targets", { add: [key().public] }, [sg(k.targets)]),
      "ERR_TUF_KEY_NOT_IN_ROLE",
    );
    await rejectsWith(
      repo.delegate({ name: "root", keys: [key().public], paths: ["*"] }, [sg(k.targets)]),
      "ERR_USAGE",
    );
  });

  it("never publishes a stale snapshot, a missing delegated role, or a changed published version", async () => {
    const { k, repo, out } = await setup();
    await repo.publish(out);
    const before = out.snapshot();
    await repo.addTargets("targets", [{ path: "a", bytes: Buffer.from("a") }], [sg(k.targets)]);
    await rejectsWith(repo.publish(out), "ERR_TUF_REPOSITORY_INCONSISTENT");
    assert.deepEqual(out.snapshot(), before);
    await repo.delegate({ name: "bob", keys: [key().public], paths: ["bob/*"] }, [sg(k.targets)]);
    await repo.refresh([sg(k.online)]);
    assert.ok((await repo.problems()).some((p) => p.includes("bob")));
    assert.deepEqual(await repo.report(), { roles: await repo.status(), problems: await repo.problems() });
    await rejectsWith(repo.publish(out), "ERR_TUF_REPOSITORY_INCONSISTENT");
    assert.deepEqual(out.snapshot(), before);

    // Same version, other bytes: a second targets signature added after publishing.
    const { k: k2, repo: repo2, out: out2 } = await setup();
    await repo2.publish(out2);
    const t2 = key();
    await repo2.rotate("targets", { add: [t2.public] }, [sg(k2.root)]);
    await repo2.sign("targets", [sg(t2)]);
    await repo2.refresh([sg(k2.online)]);
    const before2 = out2.snapshot();
    await rejectsWith(repo2.publish(out2), "ERR_TUF_REPOSITORY_INCONSISTENT");
    assert.deepEqual(out2.snapshot(), before2);
    await repo2.resign("targets", [sg(k2.targets), sg(t2)]);
    await repo2.refresh([sg(k2.online)]);
    await repo2.publish(out2);
    assert.equal((await (await newClient(() => out2)).client.refresh()).targets, 2);
  });

  it("refuses an expired set until refreshed", async () => {
    const k = { root: key(), targets: key(), online: key() };
    const store = new MemoryArea();
    let now = new Date();
    const clock = { now: () => now };
    const repo = await TufRepository.init(
      store,
      {
        keys: {
          root: [k.root.public],
          targets: [k.targets.public],
          snapshot: [k.online.public],
          timestamp: [k.online.public],
        },
        signers: [sg(k.root), sg(k.targets), sg(k.online)],
      },
      { clock },
    );
    now = new Date(now.getTime() + 2 * 86400_000);
    await rejectsWith(repo.publish(new MemoryArea()), "ERR_TUF_REPOSITORY_INCONSISTENT");
    await repo.refresh([sg(k.online)]);
    const out = new MemoryArea();
    await repo.publish(out);
    assert.ok(out.files.has("metadata/2.snapshot.json"));
  });
});

describe("TUF repository: crash safety of publish", () => {
  it("a publish failing after any number of writes leaves a set clients update from", async () => {
    const { k, repo, out } = await setup();
    const v1 = Buffer.from("v1\n");
    await repo.addTargets("targets", [{ path: "pkg/app", bytes: v1 }], [sg(k.targets)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const returning = await newClient(() => out);
    await returning.client.refresh();

    // The next set: a new target version, a developer's role, a root rotation.
    const v2 = Buffer.from("v2\n");
    const alice = key();
    await repo.addTargets("targets", [{ path: "pkg/app", bytes: v2 }], [sg(k.targets)]);
    await repo.delegate({ name: "alice", keys: [alice.public], paths: ["alice/*"] }, [
      sg(k.targets),
      sg(alice),
    ]);
    await repo.addTargets("alice", [{ path: "alice/lib", bytes: Buffer.from("lib\n") }], [sg(alice)]);
    const r2 = key();
    await repo.rotate("root", { add: [r2.public], remove: [k.root.public] }, [sg(k.root), sg(r2)]);
    await repo.refresh([sg(k.online)]);

    const clean = out.clone();
    clean.failAfter = undefined;
    const full = await repo.publish(clean.clone());
    const total = full.written.length;
    assert.ok(total >= 7, `expected several writes, got ${total}`);
    assert.equal(full.written[total - 1], "metadata/timestamp.json");

    for (let fail = 0; fail < total; fail++) {
      const area = out.clone();
      area.failAfter = fail;
      await rejectsWith(repo.publish(area), "ERR_IO");
      area.failAfter = undefined;
      // Invariant: the published set is the old one, complete, for new and returning clients.
      const fresh = await newClient(() => area);
      const v = await fresh.client.refresh();
      assert.equal(v.timestamp, await versionOf(out, "metadata/timestamp.json"));
      const info = await fresh.client.getTargetInfo("pkg/app");
      assert.deepEqual(Buffer.from(await fresh.client.downloadTarget(info!)), v1, `after ${fail} writes`);
      const back = await newClient(() => area, cloneStore(returning.store));
      await back.client.refresh();
      // The crashed publish completes when run again.
      const done = await repo.publish(area);
      assert.equal(done.written[done.written.length - 1], "metadata/timestamp.json");
      const after = await newClient(() => area);
      await after.client.refresh();
      assert.deepEqual(
        Buffer.from(await after.client.downloadTarget((await after.client.getTargetInfo("pkg/app"))!)),
        v2,
      );
      assert.ok(await after.client.getTargetInfo("alice/lib"));
    }
  });
});

async function versionOf(a: MemoryArea, name: string): Promise<number> {
  return JSON.parse(Buffer.from((await a.read(name))!).toString()).signed.version;
}

function cloneStore(s: MemoryStore): MemoryStore {
  const c = new MemoryStore();
  for (const [k, v] of s.files) c.files.set(k, v);
  return c;
}
