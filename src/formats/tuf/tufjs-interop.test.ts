// SPDX-License-Identifier: Apache-2.0
// Interop: metadata that cairn builds and signs is accepted by the tuf-js client (the "tuf-js"
// npm package, a devDependency). cairn writes a small consistent-snapshot repository in memory
// (root rotated once, ed25519, ECDSA P-256 and RSA-PSS keys, a path delegation, a TAP 15 succinct
// hash-bin delegation) and serves it on 127.0.0.1; tuf-js refreshes and downloads targets from it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Updater } from "tuf-js";
import { generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  type Metadata,
  newRoot,
  newSnapshot,
  newTargets,
  newTimestamp,
  type SignedBase,
  SuccinctRoles,
  serializeCompact,
  serializePretty,
  signMetadata,
  type TargetFile,
  type TufKey,
  tufKeyOf,
  tufSigner,
} from "./index.js";

const EXPIRES = new Date(Date.now() + 7 * 24 * 3600 * 1000);
const rootV1 = generateKey("ed25519");
const rootV2a = generateKey("ecdsa");
const rootV2b = generateKey("rsa", { bits: 2048 });
const targetsKey = generateKey("ecdsa");
const onlineKey = generateKey("ed25519");
const aliceKey = generateKey("rsa", { bits: 2048 });
const binKey = generateKey("ed25519");

const id = (k: PrivateKey) => tufKeyOf(k.public).keyid;
const key = (k: PrivateKey) => tufKeyOf(k.public).key;
const signer = (k: PrivateKey): Signer => tufSigner(keySigner(k));
const keysOf = (...ks: PrivateKey[]): Record<string, TufKey> =>
  Object.fromEntries(ks.map((k) => [id(k), key(k)]));

/** Repository files by URL path. */
const files = new Map<string, Uint8Array>();
const targetBytes = new Map<string, Buffer>();

function fileInfo(bytes: Uint8Array): TargetFile {
  return { length: bytes.length, hashes: { sha256: createHash("sha256").update(bytes).digest("hex") } };
}

function publishTarget(path: string, content: string): [string, TargetFile] {
  const bytes = Buffer.from(content);
  const info = fileInfo(bytes);
  const slash = path.lastIndexOf("/");
  // Consistent snapshots (TUF 7): targets are stored as HASH.FILENAME.
  const stored = `${path.slice(0, slash + 1)}${info.hashes.sha256}.${path.slice(slash + 1)}`;
  files.set(`/targets/${stored}`, bytes);
  targetBytes.set(path, bytes);
  return [path, info];
}

function publish(name: string, md: Metadata<SignedBase>, pretty = false): Uint8Array {
  const bytes = pretty ? serializePretty(md) : serializeCompact(md);
  files.set(`/metadata/${md.signed.version}.${name}.json`, bytes);
  return bytes;
}

async function buildRepository(): Promise<Uint8Array> {
  const roles = (rootKeys: PrivateKey[], threshold: number) => ({
    root: { keyids: rootKeys.map(id), threshold },
    targets: { keyids: [id(targetsKey)], threshold: 1 },
    snapshot: { keyids: [id(onlineKey)], threshold: 1 },
    timestamp: { keyids: [id(onlineKey)], threshold: 1 },
  });
  const root1 = newRoot({
    expires: EXPIRES,
    keys: keysOf(rootV1, targetsKey, onlineKey),
    roles: roles([rootV1], 1),
  });
  const root1md = await signMetadata(root1, [signer(rootV1)]);
  const root1Bytes = publish("root", root1md, true);
  // TUF 5.3.4, 5.3.5: version 2 is signed by a threshold of version 1's root keys and of its own.
  const root2 = newRoot({
    version: 2,
    expires: EXPIRES,
    keys: keysOf(rootV2a, rootV2b, targetsKey, onlineKey),
    roles: roles([rootV2a, rootV2b], 2),
  });
  (root2 as Record<string, unknown>)["x-cairn-unknown"] = { kept: true };
  publish("root", await signMetadata(root2, [signer(rootV1), signer(rootV2a), signer(rootV2b)]));

  const bins = new SuccinctRoles({
    keyids: [id(binKey)],
    threshold: 1,
    bit_length: 4,
    name_prefix: "pkgs-bin",
  });
  const top = newTargets({
    expires: EXPIRES,
    targets: [publishTarget("README.txt", "top-level target\n")],
    delegations: {
      keys: keysOf(aliceKey, binKey),
      roles: [
        { name: "alice", keyids: [id(aliceKey)], threshold: 1, terminating: true, paths: ["alice/*"] },
        { name: "pkgs", keyids: [id(binKey)], threshold: 1, terminating: false, paths: ["packages/*"] },
      ],
    },
  });
  const alice = newTargets({
    expires: EXPIRES,
    targets: [publishTarget("alice/tool-1.0.tgz", "alice's tool\n")],
  });
  const pkgs = newTargets({
    expires: EXPIRES,
    delegations: { keys: keysOf(binKey), succinct_roles: { ...bins.info } },
  });
  // TAP 15: every bin exists, most of them empty.
  const binTargets = new Map<string, Array<[string, TargetFile]>>();
  for (const p of ["packages/foo-1.0.tar.gz", "packages/bar-2.1.whl", "packages/baz-0.1.zip"]) {
    const name = bins.roleForTarget(p);
    binTargets.set(name, [...(binTargets.get(name) ?? []), publishTarget(p, `contents of ${p}\n`)]);
  }
  const meta: Array<[string, { version: number }]> = [];
  const roleFiles: Array<[string, Metadata<SignedBase>]> = [
    ["targets", await signMetadata(top, [signer(targetsKey)])],
    ["alice", await signMetadata(alice, [signer(aliceKey)])],
    ["pkgs", await signMetadata(pkgs, [signer(binKey)])],
  ];
  for (const name of bins.roleNames()) {
    const t = newTargets({ expires: EXPIRES, targets: binTargets.get(name) ?? [] });
    roleFiles.push([name, await signMetadata(t, [signer(binKey)])]);
  }
  for (const [name, md] of roleFiles) {
    publish(name, md);
    meta.push([`${name}.json`, { version: md.signed.version }]);
  }
  const snapshot = await signMetadata(newSnapshot({ expires: EXPIRES, meta }), [signer(onlineKey)]);
  const snapshotBytes = publish("snapshot", snapshot);
  const timestamp = await signMetadata(
    newTimestamp({ expires: EXPIRES, snapshot: { version: 1, ...fileInfo(snapshotBytes) } }),
    [signer(onlineKey)],
  );
  files.set("/metadata/timestamp.json", serializeCompact(timestamp));
  return root1Bytes;
}

describe("tuf-js accepts a repository cairn signed", () => {
  let server: Server;
  let base: string;
  let dir: string;
  let root1: Uint8Array;

  before(async () => {
    root1 = await buildRepository();
    server = createServer((req, res) => {
      const body = files.get(req.url ?? "");
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), "cairn-tufjs-"));
  });

  after(async () => {
    await new Promise<void>((ok) => server.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  function updater(): Updater {
    writeFileSync(join(dir, "root.json"), root1);
    return new Updater({
      metadataDir: dir,
      metadataBaseUrl: `${base}/metadata`,
      targetDir: dir,
      targetBaseUrl: `${base}/targets`,
      config: { fetchRetries: 0 },
    });
  }

  it("refreshes through a root rotation and downloads targets of every kind of role", async () => {
    const u = updater();
    await u.refresh();
    // tuf-js kept root version 2, unknown field and all.
    const trusted = JSON.parse(readFileSync(join(dir, "root.json"), "utf8"));
    assert.equal(trusted.signed.version, 2);
    assert.deepEqual(trusted.signed["x-cairn-unknown"], { kept: true });
    for (const path of [
      "README.txt",
      "alice/tool-1.0.tgz",
      "packages/foo-1.0.tar.gz",
      "packages/bar-2.1.whl",
    ]) {
      const info = await u.getTargetInfo(path);
      assert.ok(info, `tuf-js found no metadata for ${path}`);
      const out = join(dir, path.replace(/\//g, "_"));
      await u.downloadTarget(info, out);
      assert.deepEqual(readFileSync(out), targetBytes.get(path));
    }
    assert.equal(await u.getTargetInfo("packages/missing-1.0.tar.gz"), undefined);
  });
});
