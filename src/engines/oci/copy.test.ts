// SPDX-License-Identifier: Apache-2.0
// tree and copy between OCI layouts (fast; layout <-> registry is in test/e2e/oci.test.ts): a
// multi-platform index with a signature per platform, signatures and attestations on the index,
// copied whole with every digest identical, and verified again at the destination.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  manifestDescriptor,
  newImageIndex,
  newImageManifest,
} from "../../formats/oci/index.js";
import { OciLayout } from "../../runtime/oci-layout.js";
import { ARTIFACT_TYPE_ATTESTATION, ARTIFACT_TYPE_SIGNATURE, cosignTag } from "./attached.js";
import { copyImage } from "./copy.js";
import { attestImage, signImage } from "./sign.js";
import { verifyAttestation, verifyImage } from "./sign-verify.js";
import { type ImageStore, layoutStore, MAX_BUFFERED_BLOB } from "./store.js";
import { formatTree, imageTree, type TreeJson, treeToJson } from "./tree.js";

const tmp = mkdtempSync(join(tmpdir(), "cairn-copy-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const key = generateKey("ecdsa");
const signer = keySigner(key);

/** A layout with a two-platform index tagged `multi`, one platform manifest with a big layer. */
async function multiPlatform(dir: string) {
  const layout = await OciLayout.init(join(tmp, dir));
  const platforms = [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
  ];
  const children = [];
  for (const [i, p] of platforms.entries()) {
    // One layer above the in-memory threshold, so the streaming path is taken too.
    const layer =
      i === 0
        ? new TextEncoder().encode(`small layer ${p.architecture}\n`)
        : new Uint8Array(9 * 1024 * 1024).map((_, j) => (j * 7) & 0xff);
    const config = new TextEncoder().encode(
      JSON.stringify({ ...p, rootfs: { type: "layers", diff_ids: [digestOf(layer)] }, config: {} }),
    );
    await layout.putBlob(layer);
    await layout.putBlob(config);
    const m = newImageManifest({
      config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
      layers: [descriptorOf(layer, MEDIA_TYPE_OCI_LAYER)],
    });
    await layout.putManifest(m.bytes);
    children.push(manifestDescriptor(m, { platform: p }));
  }
  const index = newImageIndex({ manifests: children });
  await layout.putManifest(index.bytes, { tag: "multi" });
  return { layout, store: layoutStore(layout, `oci:${layout.dir}:multi`, "multi"), index, children };
}

/** Digests of every node, depth first, with kinds and tags. */
function flatten(t: TreeJson): string[] {
  return [`${t.kind} ${t.digest} ${t.tag ?? ""}`, ...t.children.flatMap(flatten)];
}

describe("imageTree", () => {
  it("lists platforms, cosign tags and referrers with their artifact types", async () => {
    const { store, index, children } = await multiPlatform("tree");
    await signImage(store, { signer });
    await attestImage(store, { signer, predicateType: "https://example.com/p", predicate: { a: 1 } });
    await signImage(store, { signer, ref: children[0]!.digest, forms: ["cosign"] });
    const t = treeToJson(await imageTree(store));
    assert.equal(t.kind, "index");
    assert.equal(t.digest, index.digest);
    const kinds = t.children.map((c) => `${c.kind}:${c.via}`).sort();
    assert.deepEqual(kinds, [
      "attestation:referrers",
      "attestations:tag",
      "platform:index",
      "platform:index",
      "signature:referrers",
      "signatures:tag",
    ]);
    const amd = t.children.find((c) => c.platform === "linux/amd64")!;
    assert.equal(amd.children.length, 1);
    assert.equal(amd.children[0]!.tag, cosignTag(children[0]!.digest, ".sig"));
    assert.ok(t.children.some((c) => c.artifactType === ARTIFACT_TYPE_SIGNATURE));
    const att = t.children.find((c) => c.artifactType === ARTIFACT_TYPE_ATTESTATION)!;
    assert.equal(att.layers?.[0]?.predicateType, "https://example.com/p");
    const text = formatTree(store.name, t);
    assert.match(text, /├── |└── /);
    assert.match(text, /signatures {2}tag sha256-[0-9a-f]{64}\.sig/);
    assert.match(text, /platform {2}linux\/arm64\/v8/);
    // Without attachments: the index and its platforms only.
    const bare = treeToJson(await imageTree(store, { attached: false }));
    assert.deepEqual(
      bare.children.map((c) => c.kind),
      ["platform", "platform"],
    );
  });
});

describe("copyImage between layouts", () => {
  it("copies an index whole with everything attached, every digest identical", async () => {
    const src = await multiPlatform("src");
    await signImage(src.store, { signer });
    await attestImage(src.store, { signer, predicateType: "https://example.com/p", predicate: { a: 1 } });
    await signImage(src.store, { signer, ref: src.children[1]!.digest });
    const dstLayout = await OciLayout.init(join(tmp, "dst"));
    const dst = layoutStore(dstLayout, `oci:${dstLayout.dir}:copied`, "copied");
    const r = await copyImage(src.store, dst);
    assert.equal(r.image.digest, src.index.digest);
    assert.ok(r.blobsCopied >= 5);
    const before = flatten(treeToJson(await imageTree(src.store)));
    const afterCopy = flatten(treeToJson(await imageTree(dst)));
    assert.deepEqual(afterCopy, before);
    await dstLayout.verifyContents();
    // The copies verify at the destination, by the same key.
    await verifyImage(dst, { keys: [key.public] });
    await verifyImage(dst, { keys: [key.public], ref: src.children[1]!.digest });
    await verifyAttestation(dst, { keys: [key.public] });
    // Copying again sends nothing new.
    const again = await copyImage(src.store, dst);
    assert.equal(again.blobsCopied, 0);
    assert.deepEqual(
      (await dstLayout.listTags()).sort(),
      [
        "copied",
        cosignTag(src.children[1]!.digest, ".sig"),
        cosignTag(src.index.digest, ".att"),
        cosignTag(src.index.digest, ".sig"),
      ].sort(),
    );
  });

  it("copies only the image when asked, and keeps an untagged root reachable", async () => {
    const src = await multiPlatform("src2");
    await signImage(src.store, { signer });
    const dstLayout = await OciLayout.init(join(tmp, "dst2"));
    const dst = layoutStore(dstLayout, `oci:${dstLayout.dir}`);
    await copyImage(src.store, dst, { attached: false });
    const index = await dstLayout.readIndex();
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [src.index.digest],
    );
    assert.equal((await dst.resolve()).digest, src.index.digest);
  });

  it("refuses a destination named by another digest", async () => {
    const src = await multiPlatform("src3");
    const dstLayout = await OciLayout.init(join(tmp, "dst3"));
    const dst = layoutStore(dstLayout, "x", digestOf("other"));
    await assert.rejects(
      copyImage(src.store, dst),
      (e) => e instanceof CairnError && e.code === "ERR_OCI_DIGEST_MISMATCH",
    );
  });
});

describe("copyImage checks every streamed blob exactly once", () => {
  const bigLayerOf = async (store: ImageStore) => {
    const tree = await imageTree(store, { attached: false });
    for (const c of tree.children) {
      const m = c.manifest;
      if (m.kind !== "manifest") continue;
      const big = m.manifest.layers.find((l) => l.size > MAX_BUFFERED_BLOB);
      if (big !== undefined) return big;
    }
    throw new Error("no streamed layer");
  };

  it("a source stream read unverified (verify: false) with tampered bytes is refused by the layout destination", async () => {
    const { store } = await multiPlatform("tamper-src1");
    const big = await bigLayerOf(store);
    let unverifiedReads = 0;
    // A source whose stream, when told the caller verifies, passes tampered bytes through unchecked.
    const lying: ImageStore = {
      ...store,
      async *blobStream(d, o) {
        if (o?.verify !== false || d.digest !== big.digest) {
          yield* store.blobStream(d, o);
          return;
        }
        unverifiedReads++;
        for await (const c of store.blobStream(d)) {
          const t = Buffer.from(c);
          t[0] = (t[0] ?? 0) ^ 0xff;
          yield t;
        }
      },
    };
    const dstLayout = await OciLayout.init(join(tmp, "tamper-dst1"));
    const dst = layoutStore(dstLayout, `oci:${dstLayout.dir}:copied`, "copied");
    await assert.rejects(
      copyImage(lying, dst, { attached: false }),
      (e) => e instanceof CairnError && e.code === "ERR_OCI_DIGEST_MISMATCH",
    );
    assert.equal(unverifiedReads, 1);
    assert.equal(await dstLayout.hasBlob(big.digest), false);
  });

  it("a destination told `verified: true` gets a checked stream that throws on a tampered source", async () => {
    const { layout, store } = await multiPlatform("tamper-src2");
    const big = await bigLayerOf(store);
    const bytes = readFileSync(layout.blobPath(big.digest));
    bytes[5] = (bytes[5] ?? 0) ^ 1;
    writeFileSync(layout.blobPath(big.digest), bytes);
    const kept: string[] = [];
    const verifiedFlags: boolean[] = [];
    // A destination that trusts a verified source (as a registry store does) and keeps a blob
    // only when the source stream ends without error.
    const dstLayout = await OciLayout.init(join(tmp, "tamper-dst2"));
    const inner = layoutStore(dstLayout, `oci:${dstLayout.dir}:copied`, "copied");
    const trusting: ImageStore = {
      ...inner,
      putBlobVerifies: false,
      async putBlob(d, source, o) {
        if (source instanceof Uint8Array) return inner.putBlob(d, source);
        verifiedFlags.push(o?.verified === true);
        for await (const _ of source) {
          // drained without hashing
        }
        kept.push(d.digest);
      },
    };
    await assert.rejects(
      copyImage(store, trusting, { attached: false }),
      (e) => e instanceof CairnError && e.code === "ERR_OCI_DIGEST_MISMATCH",
    );
    assert.deepEqual(verifiedFlags, [true]);
    assert.ok(!kept.includes(big.digest));
  });
});

describe("copyImage concurrency and progress", () => {
  it("never has more transfers in flight than asked, and reports every blob's progress", async () => {
    // An image of 6 layers (two above the in-memory threshold, streamed).
    const layout = await OciLayout.init(join(tmp, "many"));
    const layers = [];
    for (let i = 0; i < 6; i++) {
      const bytes = new Uint8Array(i < 2 ? 9 * 1024 * 1024 : 1000 + i).map((_, j) => (j * (i + 3)) & 0xff);
      await layout.putBlob(bytes);
      layers.push(descriptorOf(bytes, MEDIA_TYPE_OCI_LAYER));
    }
    const config = new TextEncoder().encode(JSON.stringify({ os: "linux", architecture: "amd64" }));
    await layout.putBlob(config);
    const m = newImageManifest({ config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG), layers });
    await layout.putManifest(m.bytes, { tag: "many" });
    const src = layoutStore(layout, `oci:${layout.dir}:many`, "many");
    for (const concurrency of [1, 3]) {
      const dstLayout = await OciLayout.init(join(tmp, `many-${concurrency}`));
      const inner = layoutStore(dstLayout, `oci:${dstLayout.dir}:many`, "many");
      let inFlight = 0;
      let most = 0;
      // A transfer is in flight from the put until its bytes are in (the fsync may overlap).
      const dst: ImageStore = {
        ...inner,
        async putBlob(d, source, o = {}) {
          most = Math.max(most, ++inFlight);
          let done = false;
          const finished = () => {
            if (!done) inFlight--;
            done = true;
          };
          try {
            await inner.putBlob(d, source, {
              ...o,
              onReceived: () => {
                finished();
                o.onReceived?.();
              },
            });
          } finally {
            finished();
          }
        },
      };
      const events: string[] = [];
      const bytes = new Map<string, number>();
      const r = await copyImage(src, dst, {
        concurrency,
        onProgress: (e) => {
          if (e.kind === "bytes") bytes.set(e.blob, e.done);
          else events.push(`${e.kind} ${e.kind === "manifest" ? e.digest : e.blob}`);
        },
      });
      assert.equal(r.blobsCopied, 7);
      assert.ok(most <= concurrency, `${most} transfers at once with concurrency ${concurrency}`);
      for (const d of [...layers, descriptorOf(config, MEDIA_TYPE_OCI_CONFIG)]) {
        assert.ok(events.includes(`start ${d.digest}`) && events.includes(`done ${d.digest}`));
      }
      // Streamed blobs report their bytes as they go, up to their size.
      for (const d of layers.slice(0, 2)) assert.equal(bytes.get(d.digest), d.size);
      assert.equal(events.at(-1), `manifest ${m.digest}`);
      await dstLayout.verifyContents();
    }
    await assert.rejects(
      copyImage(src, src, { concurrency: 0 }),
      (e) => e instanceof CairnError && e.code === "ERR_USAGE",
    );
  });
});
