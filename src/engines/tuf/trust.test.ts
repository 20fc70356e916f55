// SPDX-License-Identifier: Apache-2.0
// Trust distribution through TUF (issue 4, section 3): layout keys published as a bundle target
// of a cairn repository reach a verifier's client; a rotation and a revocation reach it at its
// next update; items outside their validity period are not trusted; a tampered or oversized
// bundle is refused; a bundle of another kind does not pass for this one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CairnError } from "../../core/errors.js";
import { exportKeyFiles, generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import { AREA_BASE, areaFetcher, MemoryArea } from "../../testing/tuf-area.js";
import { MemoryStore, sha256 } from "../../testing/tuf-repo.js";
import { initTrustedRoot, TufClient } from "./client.js";
import { TufRepository } from "./repository.js";
import {
  buildTrustBundle,
  fetchTrust,
  parseTrustBundle,
  publishTrust,
  TRUST_BUNDLE_MAX_ITEMS,
  trustBundlePath,
} from "./trust.js";

const key = () => generateKey("ed25519");
const sg = (k: PrivateKey): Signer => keySigner(k);
const pem = (k: PrivateKey) => exportKeyFiles(k).publicText;
const DAY = 86400_000;
const now = new Date();
const later = (days: number) => new Date(now.getTime() + days * DAY);

async function setup() {
  const k = { root: key(), targets: key(), online: key() };
  const repo = await TufRepository.init(new MemoryArea(), {
    keys: {
      root: [k.root.public],
      targets: [k.targets.public],
      snapshot: [k.online.public],
      timestamp: [k.online.public],
    },
    signers: [sg(k.root), sg(k.targets), sg(k.online)],
  });
  const out = new MemoryArea();
  const publish = async () => {
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
  };
  await publish();
  const store = new MemoryStore();
  await initTrustedRoot(store, (await out.read("metadata/1.root.json"))!);
  const client = new TufClient({
    metadataUrl: `${AREA_BASE}/metadata`,
    targetBaseUrl: `${AREA_BASE}/targets`,
    store,
    fetcher: areaFetcher(() => out),
  });
  return { k, repo, out, publish, client };
}

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: CairnError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe("trust distribution through TUF", () => {
  it("a rotation and a revocation reach the verifier at its next update", async () => {
    const { k, repo, publish, client } = await setup();
    await rejectsWith(fetchTrust(client, "layout-key", now), "ERR_TUF_TARGET_NOT_FOUND");
    const owner1 = key();
    const owner2 = key();
    await publishTrust(
      repo,
      "layout-key",
      [{ name: "owner", notAfter: later(365), key: pem(owner1) }],
      [sg(k.targets)],
    );
    await publish();
    assert.deepEqual(
      (await fetchTrust(client, "layout-key", now)).map((i) => i.key),
      [pem(owner1)],
    );
    // Rotation: the new key is added, the old one kept for a transition.
    await publishTrust(
      repo,
      "layout-key",
      [
        { name: "owner", notAfter: later(30), key: pem(owner1) },
        { name: "owner-2027", notBefore: now, notAfter: later(365), key: pem(owner2) },
      ],
      [sg(k.targets)],
    );
    await publish();
    assert.deepEqual(
      (await fetchTrust(client, "layout-key", now)).map((i) => i.name),
      ["owner", "owner-2027"],
    );
    // After the old key's period it no longer counts, without any new publish.
    assert.deepEqual(
      (await fetchTrust(client, "layout-key", later(31))).map((i) => i.name),
      ["owner-2027"],
    );
    // Revocation: a bundle without the key.
    await publishTrust(
      repo,
      "layout-key",
      [{ name: "owner-2027", notBefore: now, notAfter: later(365), key: pem(owner2) }],
      [sg(k.targets)],
    );
    await publish();
    assert.deepEqual(
      (await fetchTrust(client, "layout-key", now)).map((i) => i.key),
      [pem(owner2)],
    );
    // Nothing valid at all: a verification failure, not an empty pass.
    await rejectsWith(fetchTrust(client, "layout-key", later(400)), "ERR_TUF_EXPIRED");
    await rejectsWith(fetchTrust(client, "layout-key", new Date(now.getTime() - DAY)), "ERR_TUF_EXPIRED");
  });

  it("refuses a tampered bundle on the mirror, and a bundle of another kind", async () => {
    const { k, repo, out, publish, client } = await setup();
    await publishTrust(
      repo,
      "ca-root",
      [{ name: "ca", notAfter: later(365), key: pem(key()) }],
      [sg(k.targets)],
    );
    await publish();
    const name = [...out.files.keys()].find((n) => n.startsWith("targets/cairn-trust/"))!;
    const evil = Buffer.from(
      buildTrustBundle("ca-root", [{ name: "ca", notAfter: later(365), key: pem(key()) }]),
    );
    const saved = out.files.get(name)!;
    out.files.set(name, evil);
    await rejectsWith(fetchTrust(client, "ca-root", now), "ERR_TUF_HASH_MISMATCH");
    out.files.set(name, saved);
    assert.equal((await fetchTrust(client, "ca-root", now)).length, 1);
    // The ca-root bundle's bytes published under the layout-key name: signed, but the wrong kind.
    const bytes = buildTrustBundle("ca-root", [{ name: "ca", notAfter: later(365), key: pem(key()) }]);
    await repo.addTargets("targets", [{ path: trustBundlePath("layout-key"), bytes }], [sg(k.targets)]);
    await publish();
    await rejectsWith(fetchTrust(client, "layout-key", now), "ERR_TUF_METADATA_INVALID");
    assert.equal(sha256(bytes).length, 64);
  });

  it("bounds and validates bundles", () => {
    const item = { name: "a", notAfter: later(1), key: "k" };
    const doc = (items: unknown[]) =>
      Buffer.from(JSON.stringify({ cairn_trust: 1, kind: "tlog-key", items }));
    const many = Array.from({ length: TRUST_BUNDLE_MAX_ITEMS + 1 }, (_, i) => ({
      name: `k${i}`,
      not_after: "2030-01-01T00:00:00Z",
      key: "k",
    }));
    assert.throws(() => parseTrustBundle(doc(many), "tlog-key"), { code: "ERR_TUF_BOUND_EXCEEDED" });
    assert.throws(() => parseTrustBundle(doc([{ name: "a", key: "k" }]), "tlog-key"), {
      code: "ERR_TUF_METADATA_INVALID",
      field: "items[0].not_after",
    });
    const dup = { name: "a", key: "k", not_after: "2030-01-01T00:00:00Z" };
    assert.throws(() => parseTrustBundle(doc([dup, dup]), "tlog-key"), {
      code: "ERR_TUF_METADATA_INVALID",
      field: "items[1].name",
    });
    assert.throws(() => parseTrustBundle(Buffer.from("{"), "tlog-key"), { code: "ERR_JSON_MALFORMED" });
    assert.throws(() => buildTrustBundle("tlog-key", [item, item]), { code: "ERR_USAGE" });
    const round = parseTrustBundle(buildTrustBundle("tlog-key", [item]), "tlog-key");
    assert.equal(round[0]!.notAfter.getTime(), Math.floor(item.notAfter.getTime() / 1000) * 1000);
  });
});
