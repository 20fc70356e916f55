// SPDX-License-Identifier: Apache-2.0
// The repository side of TAP 15 succinct hash-bin delegations: the bins a delegation creates,
// targets landing in the bin their path hash names, bins signed by the bins' keys, the snapshot
// listing every bin, cairn's client and tuf-js (over HTTP on 127.0.0.1) downloading targets behind
// the bins, an incremental publish that rewrites one bin for one changed target, and the refusals.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CairnError } from "../../core/errors.js";
import { generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  newTargets,
  type Snapshot,
  SuccinctRoles,
  serializeMetadata,
  setTarget,
  signMetadata,
  type Targets,
  tufSigner,
  verifyDelegate,
} from "../../formats/tuf/index.js";
import { AREA_BASE, AreaServer, areaFetcher, MemoryArea, tufjsDownload } from "../../testing/tuf-area.js";
import { MemoryStore, sha256 } from "../../testing/tuf-repo.js";
import { initTrustedRoot, TufClient } from "./client.js";
import { TufRepository } from "./repository.js";

const key = () => generateKey("ed25519");
const sg = (k: PrivateKey): Signer => keySigner(k);

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: CairnError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function setup() {
  const k = { root: key(), targets: key(), online: key(), bins: key() };
  const store = new MemoryArea();
  const repo = await TufRepository.init(store, {
    keys: {
      root: [k.root.public],
      targets: [k.targets.public],
      snapshot: [k.online.public],
      timestamp: [k.online.public],
    },
    signers: [sg(k.root), sg(k.targets), sg(k.online)],
  });
  return { k, store, repo, out: new MemoryArea() };
}

async function client(out: MemoryArea, store?: MemoryStore, served?: { bytes: number; urls: string[] }) {
  const s = store ?? new MemoryStore();
  if (store === undefined) await initTrustedRoot(s, (await out.read("metadata/1.root.json"))!);
  const c = new TufClient({
    metadataUrl: `${AREA_BASE}/metadata`,
    targetBaseUrl: `${AREA_BASE}/targets`,
    store: s,
    fetcher: areaFetcher(() => out, served),
  });
  return { store: s, client: c };
}

async function cairnDownload(out: MemoryArea, path: string): Promise<{ bytes: Buffer; role: string }> {
  const { client: c } = await client(out);
  await c.refresh();
  const info = await c.getTargetInfo(path);
  assert.ok(info, `cairn found no metadata for ${path}`);
  return { bytes: Buffer.from(await c.downloadTarget(info)), role: info.role };
}

const files = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    path: `pkg/p${i}/p${i}-1.0.tgz`,
    bytes: Buffer.from(`package ${i}\n`),
  }));

describe("TUF repository: succinct hash-bin delegations (TAP 15)", () => {
  const server = new AreaServer();
  let dir: string;
  before(async () => {
    await server.start();
    dir = mkdtempSync(join(tmpdir(), "cairn-tufbins-"));
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the bins, puts each target in its bin, signs bins with the bins' key; both clients download", async () => {
    const { k, store, repo, out } = await setup();
    await repo.delegate({ name: "bins", keys: [k.bins.public], bins: 16 }, [sg(k.targets), sg(k.bins)]);
    const targets = (await repo.metadata("targets"))!.signed as Targets;
    assert.deepEqual(targets.delegations!.succinct_roles!.bit_length, 4);
    assert.equal(targets.delegations!.roles, undefined);
    const roles = await repo.targetsRoles();
    assert.equal(roles.length, 17);
    assert.deepEqual(roles.slice(1, 4), ["bins-0", "bins-1", "bins-2"]);

    // Added to "targets", the files land in their bins, signed by the bins' key only.
    const list = files(40);
    await repo.addTargets("targets", list, [sg(k.bins)]);
    const bins = new SuccinctRoles(targets.delegations!.succinct_roles!);
    const after = (await repo.metadata("targets"))!.signed as Targets;
    assert.equal(after.version, targets.version, "targets itself is not re-signed");
    assert.equal(Object.keys(after.targets).length, 0);
    for (const f of list) {
      const bin = bins.roleForTarget(f.path);
      const md = (await repo.metadata(bin))!;
      assert.ok(Object.hasOwn((md.signed as Targets).targets, f.path), `${f.path} in ${bin}`);
      verifyDelegate(targets, bin, md);
      assert.equal(md.signatures.length, 1);
    }
    await repo.refresh([sg(k.online)]);
    const snap = (await repo.metadata("snapshot"))!.signed as Snapshot;
    assert.equal(Object.keys(snap.meta).length, 17);
    for (const n of bins.roleNames()) assert.ok(snap.meta[`${n}.json`], `snapshot lists ${n}`);

    await repo.publish(out);
    assert.ok(store.files.size > 0);
    for (const f of [list[0]!, list[17]!, list[39]!]) {
      const got = await cairnDownload(out, f.path);
      assert.deepEqual(got.bytes, f.bytes);
      assert.equal(got.role, bins.roleForTarget(f.path));
      assert.deepEqual(await tufjsDownload(server, out, dir, f.path), f.bytes);
    }
    // Removing goes through the bins too.
    await repo.removeTargets("targets", [list[0]!.path], [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const { client: c } = await client(out);
    await c.refresh();
    assert.equal(await c.getTargetInfo(list[0]!.path), undefined);
    await rejectsWith(repo.removeTargets("targets", ["nope"], [sg(k.bins)]), "ERR_TUF_TARGET_NOT_FOUND");
  });

  it("republishes one bin for one changed target; a returning client fetches only that bin", async () => {
    const { k, repo, out } = await setup();
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 256 }, [sg(k.targets), sg(k.bins)]);
    const list = files(300);
    await repo.addTargets("targets", list, [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const returning = await client(out);
    await returning.client.refresh();
    const changed = list[5]!;
    await returning.client.getTargetInfo(changed.path);

    const v2 = Buffer.from("package 5, version 2\n");
    await repo.addTargets("targets", [{ path: changed.path, bytes: v2 }], [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    const report = await repo.publish(out);
    const bin = binOf(changed.path, 8);
    const v = ((await repo.metadata(bin))!.signed as Targets).version;
    assert.deepEqual(report.written, [
      `targets/pkg/p5/${sha256(v2)}.p5-1.0.tgz`,
      `metadata/${v}.${bin}.json`,
      "metadata/3.snapshot.json",
      "metadata/timestamp.json",
    ]);
    const served = { bytes: 0, urls: [] as string[] };
    const back = await client(out, returning.store, served);
    await back.client.refresh();
    const info = await back.client.getTargetInfo(changed.path);
    assert.deepEqual(Buffer.from(await back.client.downloadTarget(info!)), v2);
    // (The probe for 2.root.json is a 404: not counted.)
    assert.deepEqual(served.urls, [
      "metadata/timestamp.json",
      "metadata/3.snapshot.json",
      `metadata/${v}.${bin}.json`,
      `targets/pkg/p5/${sha256(v2)}.p5-1.0.tgz`,
    ]);
    assert.deepEqual(await tufjsDownload(server, out, dir, changed.path), v2);
    // A full check (no published set to lean on) finds nothing wrong either.
    assert.deepEqual(await repo.problems(), []);
  });

  it("updating from the same set again re-signs only the bins whose targets changed", async () => {
    const { k, repo } = await setup();
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 16 }, [sg(k.targets), sg(k.bins)]);
    const list = files(64);
    await repo.addTargets("targets", list, [sg(k.bins)]);
    const versions = async () => {
      const out: Record<string, number> = {};
      for (const r of (await repo.targetsRoles()).slice(1))
        out[r] = ((await repo.metadata(r))!.signed as Targets).version;
      return out;
    };
    const before = await versions();
    await repo.addTargets("targets", files(64), [sg(k.bins)]);
    assert.deepEqual(await versions(), before);
    const changed = files(64);
    changed[9] = { ...changed[9]!, bytes: Buffer.from("package 9, rebuilt\n") };
    await repo.addTargets("targets", changed, [sg(k.bins)]);
    const after = await versions();
    const bumped = Object.keys(after).filter((r) => after[r] !== before[r]);
    assert.deepEqual(bumped, [binOf(changed[9]!.path, 4)]);
    // Custom metadata counts as a change too.
    await repo.addTargets("targets", [{ ...changed[3]!, custom: { channel: "beta" } }], [sg(k.bins)]);
    assert.equal((await versions())[binOf(changed[3]!.path, 4)], after[binOf(changed[3]!.path, 4)]! + 1);
  });

  it("a publish failing after any write leaves a set clients update from, and completes when rerun", async () => {
    const { k, repo, out } = await setup();
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 4 }, [sg(k.targets), sg(k.bins)]);
    await repo.addTargets("targets", files(8), [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const list = files(8).map((f) => ({ ...f, bytes: Buffer.concat([f.bytes, Buffer.from("v2\n")]) }));
    await repo.addTargets("targets", list, [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    const total = (await repo.publish(out.clone())).written.length;
    for (let fail = 0; fail < total; fail++) {
      const area = out.clone();
      area.failAfter = fail;
      await rejectsWith(repo.publish(area), "ERR_IO");
      area.failAfter = undefined;
      assert.deepEqual((await cairnDownload(area, list[3]!.path)).bytes, files(8)[3]!.bytes);
      await repo.publish(area);
      assert.deepEqual((await cairnDownload(area, list[3]!.path)).bytes, list[3]!.bytes);
    }
  });

  it("an incremental refresh lists what a full one lists, even after an edit that crashed part-way", async () => {
    const { k, store, repo } = await setup();
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 16 }, [sg(k.targets), sg(k.bins)]);
    await repo.addTargets("targets", files(40), [sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    const metaAfter = async (area: MemoryArea, full: boolean) => {
      const r = new TufRepository({ store: area });
      await r.refresh([sg(k.online)], { full });
      return ((await r.metadata("snapshot"))!.signed as Snapshot).meta;
    };
    const edit = (r: TufRepository) =>
      r.addTargets(
        "targets",
        files(40).map((f) => ({ ...f, bytes: Buffer.concat([f.bytes, Buffer.from("v2")]) })),
        [sg(k.bins)],
      );
    const probe = store.clone();
    const before = probe.writes;
    await edit(new TufRepository({ store: probe }));
    const writes = probe.writes - before;
    for (let fail = 0; fail <= writes; fail++) {
      const area = store.clone();
      area.failAfter = fail;
      await edit(new TufRepository({ store: area })).catch(() => {});
      area.failAfter = undefined;
      assert.deepEqual(
        await metaAfter(area.clone(), false),
        await metaAfter(area.clone(), true),
        `after ${fail} writes`,
      );
    }
  });

  it("refuses to publish once an unchanged, already published bin has expired", async () => {
    const k = { root: key(), targets: key(), online: key(), bins: key() };
    let now = new Date();
    const clock = { now: () => now };
    const repo = await TufRepository.init(
      new MemoryArea(),
      {
        keys: {
          root: [k.root.public],
          targets: [k.targets.public],
          snapshot: [k.online.public],
          timestamp: [k.online.public],
        },
        signers: [sg(k.root), sg(k.targets), sg(k.online)],
        expiry: { delegated: 10 * 86400, targets: 100 * 86400, root: 100 * 86400 },
      },
      { clock },
    );
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 4 }, [sg(k.targets), sg(k.bins)]);
    await repo.refresh([sg(k.online)]);
    const out = new MemoryArea();
    await repo.publish(out);
    now = new Date(now.getTime() + 11 * 86400_000);
    await repo.refresh([sg(k.online)]);
    await assert.rejects(repo.publish(out), (e: CairnError) => {
      assert.equal(e.code, "ERR_TUF_REPOSITORY_INCONSISTENT");
      assert.match(e.message, /b-0 metadata expired/);
      return true;
    });
  });

  it("accepts a bin's metadata signed offline by the bins' key, inside its bin only", async () => {
    const { k, repo } = await setup();
    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 8 }, [sg(k.targets), sg(k.bins)]);
    const path = "x/y.tgz";
    const bin = binOf(path, 3, "b");
    const ok = newTargets({ expires: new Date(Date.now() + 86400_000), version: 2 });
    setTarget(ok, path, { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    await repo.submit(bin, serializeMetadata(await signMetadata(ok, [tufSigner(sg(k.bins))]), "compact"), [
      { path, bytes: Buffer.from("x") },
    ]);
    // A path hashing to another bin is outside this bin's delegation.
    const other = Array.from({ length: 64 }, (_, i) => `z/${i}`).find((p) => binOf(p, 3, "b") !== bin)!;
    const bad = newTargets({ expires: new Date(Date.now() + 86400_000), version: 3 });
    setTarget(bad, other, { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
    await rejectsWith(
      repo.submit(bin, serializeMetadata(await signMetadata(bad, [tufSigner(sg(k.bins))]), "compact")),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    await rejectsWith(
      repo.addTargets(bin, [{ path: other, bytes: Buffer.from("x") }], [sg(k.bins)]),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    // A bin does not delegate further.
    const deleg = newTargets({ expires: new Date(Date.now() + 86400_000), version: 3 });
    deleg.delegations = { keys: {}, roles: [] };
    await rejectsWith(
      repo.submit(bin, serializeMetadata(await signMetadata(deleg, [tufSigner(sg(k.bins))]), "compact")),
      "ERR_TUF_METADATA_INVALID",
    );
    await rejectsWith(
      repo.delegate({ name: "deeper", delegator: bin, keys: [key().public], paths: ["*"] }, [sg(k.bins)]),
      "ERR_USAGE",
    );
  });

  it("refuses what TAP 15 and the bins' keys do not allow", async () => {
    const { k, repo } = await setup();
    // Not a power of two, too many, no bins key to sign the bins.
    await rejectsWith(
      repo.delegate({ name: "b", keys: [k.bins.public], bins: 12 }, [sg(k.targets), sg(k.bins)]),
      "ERR_USAGE",
    );
    await rejectsWith(
      repo.delegate({ name: "b", keys: [k.bins.public], bins: 2 ** 17 }, [sg(k.targets), sg(k.bins)]),
      "ERR_USAGE",
    );
    await rejectsWith(
      repo.delegate({ name: "b", keys: [k.bins.public], bins: 4 }, [sg(k.targets)]),
      "ERR_USAGE",
    );
    await rejectsWith(
      repo.delegate({ name: "b", keys: [k.bins.public], bins: 4, paths: ["*"] }, [sg(k.targets), sg(k.bins)]),
      "ERR_USAGE",
    );
    // The delegator's own key must sign it: refused before any bin is written.
    await rejectsWith(
      repo.delegate({ name: "b", keys: [k.bins.public], bins: 4 }, [sg(k.bins), sg(k.online)]),
      "ERR_TUF_KEY_NOT_IN_ROLE",
    );
    assert.deepEqual(await repo.targetsRoles(), ["targets"]);

    await repo.delegate({ name: "b", keys: [k.bins.public], bins: 4 }, [sg(k.targets), sg(k.bins)]);
    // One delegation kind per role (TAP 15): no named role next to the bins, no second set of bins.
    await rejectsWith(
      repo.delegate({ name: "alice", keys: [key().public], paths: ["a/*"] }, [sg(k.targets)]),
      "ERR_USAGE",
    );
    await rejectsWith(
      repo.delegate({ name: "c", keys: [k.bins.public], bins: 4 }, [sg(k.targets), sg(k.bins)]),
      "ERR_USAGE",
    );
    // Only the bins' key signs bins.
    await rejectsWith(
      repo.addTargets("targets", [{ path: "a", bytes: Buffer.from("a") }], [sg(k.targets)]),
      "ERR_TUF_KEY_NOT_IN_ROLE",
    );
    // A developer role with bins of its own: targets go to those bins, inside the role's paths.
    const { k: k2, repo: repo2, out: out2 } = await setup();
    const dev = key();
    await repo2.delegate({ name: "dev", keys: [dev.public], paths: ["dev/*"] }, [sg(k2.targets), sg(dev)]);
    await repo2.delegate({ name: "devbins", delegator: "dev", keys: [k2.bins.public], bins: 2 }, [
      sg(dev),
      sg(k2.bins),
    ]);
    await rejectsWith(
      repo2.addTargets("dev", [{ path: "other/x", bytes: Buffer.from("x") }], [sg(k2.bins)]),
      "ERR_TUF_PATH_NOT_DELEGATED",
    );
    await repo2.addTargets("dev", [{ path: "dev/x", bytes: Buffer.from("x") }], [sg(k2.bins)]);
    await repo2.refresh([sg(k2.online)]);
    await repo2.publish(out2);
    const got = await cairnDownload(out2, "dev/x");
    assert.equal(got.role, binOf("dev/x", 1, "devbins"));
  });
});

/** The TAP 15 bin of a path among 2^bits bins named `${prefix}-...`. */
function binOf(path: string, bits: number, prefix = "b"): string {
  return new SuccinctRoles({ keyids: [], threshold: 1, bit_length: bits, name_prefix: prefix }).roleForTarget(
    path,
  );
}
