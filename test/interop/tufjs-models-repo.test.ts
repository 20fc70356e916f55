// SPDX-License-Identifier: Apache-2.0
// Interop, the other way (issue 4, section 5): a small repository made and signed by another
// implementation, @tufjs/models (tuf-js's metadata library: it creates and signs metadata; kept
// small because it is quadratic), published with consistent-snapshot names. cairn's client
// refreshes and downloads from it; cairn's repository tools adopt it (TufRepository.adopt: all
// verified as a client would), add targets with the keys @tufjs/models signed with, and publish
// into the same directory; cairn's client, a returning one included, and tuf-js follow.
// Key ids are the maker's own names (not cairn's formula): TAP 12 says clients take them as given.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  Key,
  Metadata,
  MetaFile,
  Root,
  Signature,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from "@tufjs/models";
import type { CairnError } from "../../src/core/errors.js";
import { generateKey, type PrivateKey, signWith } from "../../src/core/keys.js";
import { keySigner } from "../../src/core/signer.js";
import { initTrustedRoot, TufClient } from "../../src/engines/tuf/client.js";
import { TufRepository } from "../../src/engines/tuf/repository.js";
import { AREA_BASE, AreaServer, areaFetcher, MemoryArea, tufjsDownload } from "../../src/testing/tuf-area.js";
import { MemoryStore } from "../../src/testing/tuf-repo.js";

const EXPIRES = new Date(Date.now() + 30 * 86400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A key as @tufjs/models holds it, under a key id of the maker's choosing. */
function tufjsKey(k: PrivateKey, name: string): Key {
  return new Key({
    keyID: sha256(Buffer.from(`maker's id for ${name}`)),
    keyType: "ed25519",
    scheme: "ed25519",
    keyVal: { public: k.public.meta.keyval.public as string },
  });
}

function sign(md: Metadata<Root | Targets | Snapshot | Timestamp>, k: PrivateKey, key: Key): void {
  md.sign((data) => new Signature({ keyID: key.keyID, sig: signWith(k, data).toString("hex") }));
}

/** The repository @tufjs/models makes: root, targets delegating dev/* to "dev", snapshot, timestamp. */
function makeRepository() {
  const priv = {
    root: generateKey("ed25519"),
    targets: generateKey("ed25519"),
    online: generateKey("ed25519"),
    dev: generateKey("ed25519"),
  };
  const keys = {
    root: tufjsKey(priv.root, "root"),
    targets: tufjsKey(priv.targets, "targets"),
    online: tufjsKey(priv.online, "online"),
    dev: tufjsKey(priv.dev, "dev"),
  };
  const out = new MemoryArea();
  const contents = new Map<string, Buffer>();
  const target = (path: string, text: string): TargetFile => {
    const bytes = Buffer.from(text);
    contents.set(path, bytes);
    const slash = path.lastIndexOf("/");
    out.files.set(`targets/${path.slice(0, slash + 1)}${sha256(bytes)}.${path.slice(slash + 1)}`, bytes);
    return new TargetFile({ path, length: bytes.length, hashes: { sha256: sha256(bytes) } });
  };
  const common = { version: 1, specVersion: "1.0.31", expires: EXPIRES };
  const root = new Root({ ...common, consistentSnapshot: true });
  root.addKey(keys.root, "root");
  root.addKey(keys.targets, "targets");
  root.addKey(keys.online, "snapshot");
  root.addKey(keys.online, "timestamp");
  const rootMd = new Metadata(root);
  sign(rootMd, priv.root, keys.root);

  const targets = new Targets({ ...common });
  targets.addTarget(target("app/app-1.0.tgz", "app 1.0\n"));
  targets.addTarget(target("README", "read me\n"));
  // Delegations are not exported by @tufjs/models: they come through fromJSON, as when it reads.
  const withDelegation = Targets.fromJSON({
    ...targets.toJSON(),
    delegations: {
      keys: { [keys.dev.keyID]: keys.dev.toJSON() },
      roles: [{ name: "dev", keyids: [keys.dev.keyID], threshold: 1, terminating: true, paths: ["dev/*"] }],
    },
  });
  const targetsMd = new Metadata(withDelegation);
  sign(targetsMd, priv.targets, keys.targets);
  const dev = new Targets({ ...common });
  dev.addTarget(target("dev/tool-0.1", "dev tool 0.1\n"));
  const devMd = new Metadata(dev);
  sign(devMd, priv.dev, keys.dev);

  const bytes = (md: Metadata<Root | Targets | Snapshot | Timestamp>) =>
    Buffer.from(JSON.stringify(md.toJSON()));
  const tBytes = bytes(targetsMd);
  const dBytes = bytes(devMd);
  const snapshot = new Snapshot({
    ...common,
    meta: {
      "targets.json": new MetaFile({ version: 1, length: tBytes.length, hashes: { sha256: sha256(tBytes) } }),
      "dev.json": new MetaFile({ version: 1, length: dBytes.length, hashes: { sha256: sha256(dBytes) } }),
    },
  });
  const snapMd = new Metadata(snapshot);
  sign(snapMd, priv.online, keys.online);
  const sBytes = bytes(snapMd);
  const tsMd = new Metadata(
    new Timestamp({
      ...common,
      snapshotMeta: new MetaFile({ version: 1, length: sBytes.length, hashes: { sha256: sha256(sBytes) } }),
    }),
  );
  sign(tsMd, priv.online, keys.online);
  out.files.set("metadata/1.root.json", bytes(rootMd));
  out.files.set("metadata/1.targets.json", tBytes);
  out.files.set("metadata/1.dev.json", dBytes);
  out.files.set("metadata/1.snapshot.json", sBytes);
  out.files.set("metadata/timestamp.json", bytes(tsMd));
  return { priv, out, contents };
}

async function cairnClient(out: MemoryArea, store?: MemoryStore) {
  const s = store ?? new MemoryStore();
  if (store === undefined) await initTrustedRoot(s, (await out.read("metadata/1.root.json"))!);
  return {
    store: s,
    client: new TufClient({
      metadataUrl: `${AREA_BASE}/metadata`,
      targetBaseUrl: `${AREA_BASE}/targets`,
      store: s,
      fetcher: areaFetcher(() => out),
    }),
  };
}

async function download(c: TufClient, path: string): Promise<Buffer> {
  const info = await c.getTargetInfo(path);
  assert.ok(info, `no metadata for ${path}`);
  return Buffer.from(await c.downloadTarget(info));
}

describe("interop: a repository made by @tufjs/models, read and extended by cairn", () => {
  const server = new AreaServer();
  let dir: string;
  before(async () => {
    await server.start();
    dir = mkdtempSync(join(tmpdir(), "cairn-tufjs-models-"));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("cairn's client refreshes and downloads every target, the delegated one included", async () => {
    const { out, contents } = makeRepository();
    const { client } = await cairnClient(out);
    assert.deepEqual(await client.refresh(), { root: 1, timestamp: 1, snapshot: 1, targets: 1 });
    for (const [path, bytes] of contents) assert.deepEqual(await download(client, path), bytes);
    // tuf-js reads its own library's repository too (a check on the fixture itself).
    assert.deepEqual(await tufjsDownload(server, out, dir, "dev/tool-0.1"), contents.get("dev/tool-0.1"));
  });

  it("cairn's repository adopts it, adds targets with the maker's keys, publishes; clients follow", async () => {
    const { priv, out, contents } = makeRepository();
    const returning = await cairnClient(out);
    await returning.client.refresh();
    const store = new MemoryArea();
    const repo = await TufRepository.adopt(store, out);
    assert.deepEqual(await repo.problems(), []);
    assert.deepEqual(await repo.targetsRoles(), ["targets", "dev"]);

    const app2 = Buffer.from("app 2.0\n");
    const tool = Buffer.from("dev tool 0.2\n");
    await repo.addTargets("targets", [{ path: "app/app-2.0.tgz", bytes: app2 }], [keySigner(priv.targets)]);
    await repo.addTargets("dev", [{ path: "dev/tool-0.2", bytes: tool }], [keySigner(priv.dev)]);
    await repo.refresh([keySigner(priv.online)]);
    const report = await repo.publish(out);
    assert.equal(report.written.at(-1), "metadata/timestamp.json");
    assert.deepEqual(report.versions, { root: 1, targets: 2, snapshot: 2, timestamp: 2 });

    const fresh = await cairnClient(out);
    await fresh.client.refresh();
    assert.deepEqual(await download(fresh.client, "app/app-2.0.tgz"), app2);
    assert.deepEqual(await download(fresh.client, "dev/tool-0.2"), tool);
    assert.deepEqual(await download(fresh.client, "README"), contents.get("README"));
    assert.deepEqual((await returning.client.refresh()).snapshot, 2);
    assert.deepEqual(await download(returning.client, "dev/tool-0.2"), tool);
    assert.deepEqual(await tufjsDownload(server, out, dir, "app/app-2.0.tgz"), app2);
    assert.deepEqual(await tufjsDownload(server, out, dir, "dev/tool-0.1"), contents.get("dev/tool-0.1"));
    // The developer's delegation still binds: dev cannot list paths outside dev/*.
    await assert.rejects(
      repo.addTargets("dev", [{ path: "app/evil", bytes: tool }], [keySigner(priv.dev)]),
      (e: CairnError) => e.code === "ERR_TUF_PATH_NOT_DELEGATED",
    );
  });

  it("refuses to adopt a repository that does not verify, and writes nothing", async () => {
    const cases: Array<[string, (out: MemoryArea) => void, string]> = [
      [
        "a target's content changed",
        (out) => {
          const name = [...out.files.keys()].find((n) => n.startsWith("targets/app/"))!;
          out.files.set(name, Buffer.from("evil\n"));
        },
        "ERR_TUF_HASH_MISMATCH",
      ],
      [
        "the delegated role re-signed by the wrong key",
        (out) => {
          const md = JSON.parse(Buffer.from(out.files.get("metadata/1.dev.json")!).toString());
          md.signatures[0].sig = "00".repeat(64);
          out.files.set("metadata/1.dev.json", Buffer.from(JSON.stringify(md)));
        },
        "ERR_TUF_HASH_MISMATCH", // the snapshot's hash catches it first
      ],
      [
        "the timestamp's signature",
        (out) => {
          const md = JSON.parse(Buffer.from(out.files.get("metadata/timestamp.json")!).toString());
          md.signed.version = 7;
          out.files.set("metadata/timestamp.json", Buffer.from(JSON.stringify(md)));
        },
        "ERR_TUF_SIGNATURE_INVALID",
      ],
      ["a missing snapshot", (out) => out.files.delete("metadata/1.snapshot.json"), "ERR_NOT_FOUND"],
    ];
    for (const [what, damage, code] of cases) {
      const { out } = makeRepository();
      damage(out);
      const store = new MemoryArea();
      await assert.rejects(TufRepository.adopt(store, out), (e: CairnError) => {
        assert.equal(e.code, code, `${what}: ${e.message}`);
        return true;
      });
      assert.equal(await store.read("config.json"), undefined, what);
    }
  });
});
