// SPDX-License-Identifier: Apache-2.0
// tree and copy between OCI layouts (fast; layout <-> registry is in test/e2e/oci.test.ts): a
// multi-platform index with a signature per platform, signatures and attestations on the index,
// copied whole with every digest identical, and verified again at the destination.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
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
import { copyImage } from "./copy.js";
import {
  ARTIFACT_TYPE_ATTESTATION,
  ARTIFACT_TYPE_SIGNATURE,
  attestImage,
  cosignTag,
  signImage,
} from "./sign.js";
import { verifyAttestation, verifyImage } from "./sign-verify.js";
import { layoutStore } from "./store.js";
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
