// SPDX-License-Identifier: Apache-2.0
// TUF signature verification (4.2, and the arbitrary software attack checks of 5.3-5.6): every
// refusal is a test, then a PyPI-sized snapshot parsed and verified with the work counted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKey, type PrivateKey, type PublicKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  checkSignatures,
  type Metadata,
  newRoot,
  newSnapshot,
  newTargets,
  newTimestamp,
  parseMetadata,
  parseMetadataBytes,
  publicKeysFor,
  type Root,
  roleVerifier,
  type Snapshot,
  serializeCompact,
  serializePretty,
  signedBytes,
  signMetadata,
  type TufKey,
  tufKeyOf,
  tufLimits,
  tufSigner,
  verifyDelegate,
  verifyMetadata,
} from "./index.js";

const EXPIRES = "2030-01-01T00:00:00Z";
const k1 = generateKey("ed25519");
const k2 = generateKey("ecdsa");
const k3 = generateKey("ed25519");
const outsider = generateKey("ed25519");

function idOf(k: PrivateKey): string {
  return tufKeyOf(k.public).keyid;
}
function signer(k: PrivateKey): Signer {
  return tufSigner(keySigner(k));
}
function keysOf(...ks: PrivateKey[]): Map<string, PublicKey> {
  const obj: Record<string, TufKey> = {};
  for (const k of ks) obj[idOf(k)] = tufKeyOf(k.public).key;
  return publicKeysFor(obj, Object.keys(obj));
}

const SIG_INVALID = "ERR_TUF_SIGNATURE_INVALID";

async function signedSnapshot(signers: Signer[]): Promise<Metadata<Snapshot>> {
  return signMetadata(newSnapshot({ expires: EXPIRES, meta: [["targets.json", { version: 1 }]] }), signers);
}

describe("verifyMetadata: threshold counting", () => {
  it("returns the verified signed object when the threshold is met", async () => {
    const md = await signedSnapshot([signer(k1), signer(k2)]);
    assert.equal(verifyMetadata(md, keysOf(k1, k2), 2, "snapshot"), md.signed);
    assert.equal(verifyMetadata(md, keysOf(k1, k2, k3), 1, "snapshot"), md.signed);
  });

  it("refuses when the threshold is not met", async () => {
    const md = await signedSnapshot([signer(k1)]);
    assert.throws(() => verifyMetadata(md, keysOf(k1, k2), 2, "snapshot"), { code: SIG_INVALID });
  });

  it("refuses unsigned metadata", async () => {
    const md = await signedSnapshot([]);
    assert.throws(() => verifyMetadata(md, keysOf(k1), 1, "snapshot"), { code: SIG_INVALID });
  });

  it("counts one key once, even listed under two key ids and signing under both", async () => {
    const md = await signedSnapshot([signer(k1), { ...signer(k1), keyid: "alias-of-k1" }]);
    const keys = keysOf(k1);
    keys.set("alias-of-k1", { ...keys.get(idOf(k1))!, keyid: "alias-of-k1" });
    assert.equal(md.signatures.length, 2);
    assert.throws(() => verifyMetadata(md, keys, 2, "snapshot"), { code: SIG_INVALID });
    const r = checkSignatures(md, keys);
    assert.deepEqual(r.verified, [idOf(k1)]);
    assert.deepEqual(r.duplicate, ["alias-of-k1"]);
  });

  it("counts a signature repeated under the same key id once (metadata built in memory)", async () => {
    const md = await signedSnapshot([signer(k1)]);
    md.signatures.push({ ...md.signatures[0]! });
    assert.throws(() => verifyMetadata(md, keysOf(k1), 2, "snapshot"), { code: SIG_INVALID });
  });

  it("ignores signatures by unknown key ids", async () => {
    const md = await signedSnapshot([signer(outsider), signer(k1)]);
    assert.equal(verifyMetadata(md, keysOf(k1), 1, "snapshot"), md.signed);
    assert.throws(() => verifyMetadata(md, keysOf(k1), 2, "snapshot"), { code: SIG_INVALID });
    assert.deepEqual(checkSignatures(md, keysOf(k1)).unknown, [idOf(outsider)]);
  });

  it("ignores a bad signature among good ones, and refuses when only bad ones remain", async () => {
    const md = await signedSnapshot([signer(k1), signer(k2)]);
    const s = md.signatures[0]!;
    s.sig = s.sig.slice(0, -2) + (s.sig.endsWith("00") ? "01" : "00");
    assert.equal(verifyMetadata(md, keysOf(k1, k2), 1, "snapshot"), md.signed);
    assert.throws(() => verifyMetadata(md, keysOf(k1, k2), 2, "snapshot"), { code: SIG_INVALID });
    assert.deepEqual(checkSignatures(md, keysOf(k1, k2)).invalid, [idOf(k1)]);
  });

  it("treats a signature that is not hex as bad", async () => {
    const md = await signedSnapshot([signer(k1)]);
    md.signatures[0]!.sig = "not hex";
    assert.throws(() => verifyMetadata(md, keysOf(k1), 1, "snapshot"), { code: SIG_INVALID });
  });

  it("refuses a signature by a trusted key over other content (tampered signed)", async () => {
    const md = await signedSnapshot([signer(k1)]);
    md.signed.version = 2;
    assert.throws(() => verifyMetadata(md, keysOf(k1), 1, "snapshot"), { code: SIG_INVALID });
  });

  it("refuses metadata of another role type, however well signed (mix-and-match)", async () => {
    const md = await signedSnapshot([signer(k1)]);
    assert.throws(() => verifyMetadata(md, keysOf(k1), 1, "timestamp"), {
      code: "ERR_TUF_METADATA_INVALID",
      field: "signed._type",
    });
    // A delegated role's type is "targets".
    assert.throws(() => verifyMetadata(md, keysOf(k1), 1, "bins-00"), { code: "ERR_TUF_METADATA_INVALID" });
  });

  it("refuses a threshold below 1 rather than accept unsigned metadata", async () => {
    const md = await signedSnapshot([]);
    assert.throws(() => verifyMetadata(md, keysOf(k1), 0, "snapshot"), { code: "ERR_TUF_METADATA_INVALID" });
  });

  it("bounds the signatures it looks at", async () => {
    const md = await signedSnapshot([signer(k1), signer(k2)]);
    assert.throws(() => verifyMetadata(md, keysOf(k1, k2), 1, "snapshot", tufLimits({ maxSignatures: 1 })), {
      code: "ERR_TUF_BOUND_EXCEEDED",
    });
  });

  it("never recomputes key ids (TAP 12): a key listed under any id verifies under that id", async () => {
    const md = await signedSnapshot([{ ...keySigner(k1), keyid: "my-name-for-k1" }]);
    const keys = publicKeysFor({ "my-name-for-k1": tufKeyOf(k1.public).key }, ["my-name-for-k1"]);
    assert.equal(verifyMetadata(md, keys, 1, "snapshot"), md.signed);
  });

  it("skips key objects cairn cannot use instead of failing", () => {
    const keys = publicKeysFor(
      {
        a: { keytype: "sigstore-oidc", scheme: "Fulcio", keyval: { identity: "x" } },
        b: tufKeyOf(k1.public).key,
      },
      ["a", "b", "missing"],
    );
    assert.deepEqual([...keys.keys()], ["b"]);
  });
});

describe("signatures over the canonical JSON of signed as received", () => {
  it("verifies files whatever their layout, unknown fields included", async () => {
    const t = newTargets({
      expires: EXPIRES,
      targets: [["a.txt", { length: 1, hashes: { sha256: "00" }, "x-new": { z: 1, a: [2] } }]],
    });
    (t as Record<string, unknown>)["x-top"] = "kept";
    const md = await signMetadata(t, [signer(k1)]);
    const keys = keysOf(k1);
    for (const bytes of [
      serializeCompact(md),
      serializePretty(md),
      Buffer.from(JSON.stringify(md, null, 4)),
    ]) {
      const back = parseMetadataBytes(bytes, "targets");
      assert.deepEqual(signedBytes(back), signedBytes(md));
      assert.equal(verifyMetadata(back, keys, 1, "targets"), back.signed);
    }
  });

  it("refuses a file whose signed part was changed, on the byte fast path and the slow one", async () => {
    const md = await signMetadata(
      newTargets({ expires: EXPIRES, targets: [["a.txt", { length: 1, hashes: { sha256: "00" } }]] }),
      [signer(k1)],
    );
    const fast = Buffer.from(serializeCompact(md)).toString("utf8").replace('"length":1', '"length":2');
    const slow = JSON.stringify(md, null, 2).replace('"length": 1', '"length": 2');
    for (const text of [fast, slow]) {
      const back = parseMetadataBytes(Buffer.from(text), "targets");
      assert.equal(back.signed.targets["a.txt"]?.length, 2);
      assert.throws(() => verifyMetadata(back, keysOf(k1), 1, "targets"), { code: SIG_INVALID });
    }
  });
});

describe("verifyDelegate: keys and thresholds from the delegator", () => {
  async function repo() {
    const rootKeys: Record<string, TufKey> = {};
    for (const k of [k1, k2, k3]) rootKeys[idOf(k)] = tufKeyOf(k.public).key;
    const root: Root = newRoot({
      expires: EXPIRES,
      keys: rootKeys,
      roles: {
        root: { keyids: [idOf(k1), idOf(k2)], threshold: 2 },
        targets: { keyids: [idOf(k3)], threshold: 1 },
        snapshot: { keyids: [idOf(k3)], threshold: 1 },
        timestamp: { keyids: [idOf(k3)], threshold: 1 },
      },
    });
    const targets = newTargets({
      expires: EXPIRES,
      delegations: {
        keys: { [idOf(k1)]: tufKeyOf(k1.public).key },
        roles: [{ name: "alice", keyids: [idOf(k1)], threshold: 1, terminating: true, paths: ["alice/*"] }],
      },
    });
    const bins = newTargets({
      expires: EXPIRES,
      delegations: {
        keys: { [idOf(k2)]: tufKeyOf(k2.public).key },
        succinct_roles: { keyids: [idOf(k2)], threshold: 1, bit_length: 4, name_prefix: "bins" },
      },
    });
    return { root, targets, bins };
  }

  it("root signs itself with its threshold; the other top-level roles with theirs", async () => {
    const { root } = await repo();
    const both = await signMetadata(root, [signer(k1), signer(k2)]);
    assert.equal(verifyDelegate(root, "root", both), root);
    const one = await signMetadata(root, [signer(k1)]);
    assert.throws(() => verifyDelegate(root, "root", one), { code: SIG_INVALID });
    const ts = await signMetadata(newTimestamp({ expires: EXPIRES, snapshot: { version: 1 } }), [signer(k3)]);
    assert.equal(verifyDelegate(root, "timestamp", ts), ts.signed);
    // Signed by a root key, not the timestamp key.
    const wrongKey = await signMetadata(newTimestamp({ expires: EXPIRES, snapshot: { version: 1 } }), [
      signer(k1),
    ]);
    assert.throws(() => verifyDelegate(root, "timestamp", wrongKey), { code: SIG_INVALID });
  });

  it("a delegated role and a succinct bin verify with their delegator's keys only", async () => {
    const { targets, bins } = await repo();
    const alice = await signMetadata(newTargets({ expires: EXPIRES }), [signer(k1)]);
    assert.equal(verifyDelegate(targets, "alice", alice), alice.signed);
    assert.throws(() => verifyDelegate(targets, "bob", alice), { code: SIG_INVALID });
    const bin = await signMetadata(newTargets({ expires: EXPIRES }), [signer(k2)]);
    assert.equal(verifyDelegate(bins, "bins-a", bin), bin.signed);
    assert.throws(() => verifyDelegate(bins, "bins-10", bin), { code: SIG_INVALID });
    assert.throws(() => verifyDelegate(bins, "bins-a", alice), { code: SIG_INVALID });
    assert.equal(roleVerifier(bins, "bins-f")?.threshold, 1);
  });

  it("cairn-signed metadata passes its own parser", async () => {
    const { root } = await repo();
    const md = await signMetadata(root, [signer(k1), signer(k2)]);
    const back = parseMetadata(JSON.parse(Buffer.from(serializePretty(md)).toString("utf8")), "root");
    assert.deepEqual(verifyDelegate(back.signed, "root", back), JSON.parse(JSON.stringify(root)));
  });
});

describe("linear work on a PyPI-sized snapshot (counted, not timed)", () => {
  /** A snapshot listing `n` hash-bin roles (PEP 458 shape: version, length and hash per entry). */
  function snapshotOf(n: number): Snapshot {
    const meta: Array<[string, { version: number; length: number; hashes: { sha256: string } }]> = [];
    for (let i = 0; i < n; i++) {
      meta.push([
        `bins-${i.toString(16).padStart(5, "0")}.json`,
        { version: 1 + (i % 7), length: 1000 + i, hashes: { sha256: i.toString(16).padStart(64, "0") } },
      ]);
    }
    return newSnapshot({ expires: EXPIRES, meta: [["targets.json", { version: 1 }], ...meta] });
  }

  /** Wraps the meta object in a Proxy that counts every access the code under test makes. */
  function counted(md: Metadata<Snapshot>): { md: Metadata<Snapshot>; count: () => number } {
    let n = 0;
    const meta = new Proxy(md.signed.meta, {
      get(t, p, r) {
        n++;
        return Reflect.get(t, p, r);
      },
      ownKeys(t) {
        const keys = Reflect.ownKeys(t);
        n += keys.length;
        return keys;
      },
      getOwnPropertyDescriptor(t, p) {
        n++;
        return Reflect.getOwnPropertyDescriptor(t, p);
      },
      has(t, p) {
        n++;
        return Reflect.has(t, p);
      },
    });
    return { md: { signatures: md.signatures, signed: { ...md.signed, meta } }, count: () => n };
  }

  async function work(n: number): Promise<{ parse: number; verify: number }> {
    const md = await signMetadata(snapshotOf(n), [signer(k1)]);
    const c = counted(md);
    parseMetadata(c.md, "snapshot");
    const parse = c.count();
    verifyMetadata(c.md, keysOf(k1), 1, "snapshot");
    return { parse, verify: c.count() - parse };
  }

  it("parsing and verifying touch each of 100,000 entries a constant number of times", async () => {
    const small = await work(10_000);
    const large = await work(100_000);
    // Each entry is read a few times (keys, descriptor, value); a quadratic pass would be n times.
    for (const w of [small, large]) {
      assert.ok(w.parse <= 5 * 100_001, `parse touched the meta object ${w.parse} times`);
      assert.ok(w.verify <= 5 * 100_001, `verify touched the meta object ${w.verify} times`);
    }
    assert.ok(
      large.parse / small.parse < 11,
      `parse work grew ${large.parse / small.parse}x for 10x entries`,
    );
    assert.ok(
      large.verify / small.verify < 11,
      `verify work grew ${large.verify / small.verify}x for 10x entries`,
    );
  });

  it("a 100,000-entry snapshot file parses and verifies from its bytes (one signature check)", async () => {
    const md = await signMetadata(snapshotOf(100_000), [signer(k1), signer(k2)]);
    let verifications = 0;
    const keys = keysOf(k1, k2, k3);
    // Counting key uses: each signature is checked once, whatever the size of the document.
    for (const [id, k] of keys) {
      keys.set(id, {
        ...k,
        get key() {
          verifications++;
          return k.key;
        },
      });
    }
    for (const bytes of [serializeCompact(md), serializePretty(md)]) {
      verifications = 0;
      const back = parseMetadataBytes(bytes, "snapshot");
      assert.equal(Object.keys(back.signed.meta).length, 100_001);
      assert.equal(verifyMetadata(back, keys, 2, "snapshot"), back.signed);
      assert.ok(verifications <= 4, `${verifications} key uses for 2 signatures`);
    }
  });
});
