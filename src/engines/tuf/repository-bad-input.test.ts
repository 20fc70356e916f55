// SPDX-License-Identifier: Apache-2.0
// Bad input to the TUF repository (issue 4, section 7): malformed metadata, wrong spec versions,
// unknown roles, duplicate keys, signatures by unknown keys, a bad signature among good ones.
// Each is refused with a stable code, an error naming the role, the field and the key id, and no
// write at all to the working area; a half-signed or tampered set is never published.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CairnError } from "../../core/errors.js";
import { generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  newTargets,
  serializeMetadata,
  setTarget,
  signMetadata,
  type Targets,
  tufKeyOf,
  tufSigner,
} from "../../formats/tuf/index.js";
import { MemoryArea } from "../../testing/tuf-area.js";
import { sha256 } from "../../testing/tuf-repo.js";
import { TufRepository } from "./repository.js";

const key = () => generateKey("ed25519");
const sg = (k: PrivateKey): Signer => keySigner(k);
const dev = (k: PrivateKey): Signer => tufSigner(keySigner(k));
const idOf = (k: PrivateKey) => tufKeyOf(k.public).keyid;
const DAY = 86400_000;

/** A repository delegating alice/* to alice (keys a1, a2, threshold `threshold`). */
async function setup(threshold = 1) {
  const k = { root: key(), targets: key(), online: key(), a1: key(), a2: key() };
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
  await repo.delegate({ name: "alice", keys: [k.a1.public, k.a2.public], threshold, paths: ["alice/*"] }, [
    sg(k.targets),
  ]);
  return { k, store, repo };
}

/** alice's metadata, version 2, one target; `edit` changes the JSON document before it is serialized. */
// biome-ignore lint/suspicious/noExplicitAny: the tests damage documents freely
type Doc = Record<string, any>;

async function aliceDoc(signers: Signer[], edit: (d: Doc) => void = () => {}) {
  const t = newTargets({ expires: new Date(Date.now() + DAY), version: 2 });
  setTarget(t, "alice/tool", { length: 1, hashes: { sha256: sha256(Buffer.from("x")) } });
  const d = JSON.parse(Buffer.from(serializeMetadata(await signMetadata(t, signers), "compact")).toString());
  edit(d);
  return Buffer.from(JSON.stringify(d));
}

interface Expect {
  code: string;
  field?: string;
  /** Text the message must contain (a role name, a key id). */
  names?: (k: Keys) => string[];
}

type Keys = Awaited<ReturnType<typeof setup>>["k"];
let keys: Keys | undefined;

async function refused(p: Promise<unknown>, want: Expect) {
  await assert.rejects(p, (e: CairnError) => {
    assert.equal(e.code, want.code, e.message);
    if (want.field !== undefined) assert.equal(e.field, want.field, e.message);
    for (const n of want.names?.(keys!) ?? [])
      assert.ok(e.message.includes(n), `${e.message} should name ${n}`);
    return true;
  });
}

describe("TUF repository: bad input is refused with its code and nothing written", () => {
  it("refuses each kind of bad developer metadata, naming role, field and key id", async () => {
    const cases: Array<
      [string, (k: Awaited<ReturnType<typeof setup>>["k"]) => Promise<Buffer>, Expect, number?]
    > = [
      [
        "malformed JSON",
        async () => Buffer.from('{"signed": {"_type": "targets",'),
        { code: "ERR_JSON_MALFORMED" },
      ],
      [
        "a wrong spec version",
        (k) => aliceDoc([dev(k.a1)], (d) => (d.signed.spec_version = "2.0.0")),
        { code: "ERR_TUF_METADATA_INVALID", field: "signed.spec_version" },
      ],
      [
        "metadata of another role type",
        (k) => aliceDoc([dev(k.a1)], (d) => (d.signed._type = "root")),
        { code: "ERR_TUF_METADATA_INVALID", field: "signed._type" },
      ],
      [
        "the same key id signing twice",
        (k) => aliceDoc([dev(k.a1)], (d) => d.signatures.push({ ...d.signatures[0] })),
        { code: "ERR_TUF_METADATA_INVALID", field: "signatures[1].keyid", names: (k) => [idOf(k.a1)] },
      ],
      [
        "a delegation listing a key id twice",
        (k) =>
          aliceDoc([dev(k.a1)], (d) => {
            d.signed.delegations = {
              keys: {},
              roles: [{ name: "carol", keyids: ["ab", "ab"], threshold: 1, paths: ["alice/c/*"] }],
            };
          }),
        { code: "ERR_TUF_METADATA_INVALID", field: "signed.delegations.roles[0].keyids[1]" },
      ],
      [
        "signatures by unknown keys only",
        async () => aliceDoc([dev(stranger)]),
        { code: "ERR_TUF_SIGNATURE_INVALID", field: "signatures", names: () => ["alice", idOf(stranger)] },
      ],
      [
        "a bad signature among good ones, below the threshold",
        (k) =>
          aliceDoc([dev(k.a1), dev(k.a2)], (d) => {
            d.signatures[1].sig = "00".repeat(64);
          }),
        { code: "ERR_TUF_SIGNATURE_INVALID", field: "signatures", names: (k) => ["alice", idOf(k.a2)] },
        2,
      ],
      [
        "an unknown field type in a target",
        (k) => aliceDoc([dev(k.a1)], (d) => (d.signed.targets["alice/tool"].length = "1")),
        { code: "ERR_TUF_METADATA_INVALID", field: 'signed.targets["alice/tool"].length' },
      ],
    ];
    for (const [what, make, want, threshold] of cases) {
      const { k, store, repo } = await setup(threshold ?? 1);
      keys = k;
      const before = store.snapshot();
      const bytes = await make(k);
      await refused(repo.submit("alice", bytes, [{ path: "alice/tool", bytes: Buffer.from("x") }]), want);
      assert.deepEqual(store.snapshot(), before, `${what}: nothing written`);
    }
  });

  it("accepts a bad signature among enough good ones (TUF 5.4.2: invalid signatures do not count)", async () => {
    const { k, repo } = await setup(1);
    const bytes = await aliceDoc([dev(k.a1), dev(k.a2)], (d) => {
      d.signatures[1].sig = "00".repeat(64);
    });
    const t = await repo.submit("alice", bytes, [{ path: "alice/tool", bytes: Buffer.from("x") }]);
    assert.equal(t.version, 2);
  });

  it("refuses an unknown role, and a developer key for another role, writing nothing", async () => {
    const { k, store, repo } = await setup();
    keys = k;
    const before = store.snapshot();
    await refused(repo.submit("bob", await aliceDoc([dev(k.a1)])), {
      code: "ERR_TUF_ROLE_UNKNOWN",
      names: () => ["bob"],
    });
    await refused(repo.addTargets("bob", [{ path: "bob/x", bytes: Buffer.from("x") }], [sg(k.a1)]), {
      code: "ERR_TUF_ROLE_UNKNOWN",
    });
    await refused(repo.addTargets("targets", [{ path: "x", bytes: Buffer.from("x") }], [sg(k.a1)]), {
      code: "ERR_TUF_KEY_NOT_IN_ROLE",
      names: (k) => [idOf(k.a1), "targets"],
    });
    assert.deepEqual(store.snapshot(), before);
  });

  it("never publishes a half-signed role or a tampered working file, and writes nothing", async () => {
    const { k, store, repo } = await setup(2);
    keys = k;
    await repo.addTargets("alice", [{ path: "alice/tool", bytes: Buffer.from("x") }], [sg(k.a1)]);
    await repo.refresh([sg(k.online)]);
    const out = new MemoryArea();
    await refused(repo.publish(out), { code: "ERR_TUF_REPOSITORY_INCONSISTENT", names: () => ["alice"] });
    assert.equal(out.files.size, 0);
    await repo.sign("alice", [sg(k.a2)]);
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
    const published = out.snapshot();

    // Someone edits a staged file by hand (valid JSON, signature no longer over it).
    const name = "metadata/alice.json";
    const doc = JSON.parse(Buffer.from(store.files.get(name)!).toString());
    (doc.signed as Targets).targets["alice/tool"]!.length = 2;
    store.files.set(name, Buffer.from(JSON.stringify(doc)));
    // A full refresh reads every file (an incremental one trusts its journal of edits, and the
    // hand edit is not in it: the published set then stays as it was).
    await repo.refresh([sg(k.online)], { full: true });
    await refused(repo.publish(out), { code: "ERR_TUF_REPOSITORY_INCONSISTENT", names: () => ["alice"] });
    assert.deepEqual(out.snapshot(), published);
    assert.ok((await repo.problems()).some((p) => p.includes("alice")));
    // One pass (cairn tuf status) gives what status() and problems() give separately.
    const report = await repo.report();
    assert.deepEqual(report, { roles: await repo.status(), problems: await repo.problems() });
    assert.equal(report.roles.find((r) => r.role === "alice")?.signed, 0);
    assert.equal(report.roles.find((r) => r.role === "targets")?.signed, 1);
  });
});

const stranger = key();
