// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { CairnError } from "../core/errors.js";
import {
  ANNOTATION_REF_NAME,
  type Descriptor,
  descriptorOf,
  digestOf,
  EMPTY_JSON_BYTES,
  emptyDescriptor,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  newImageIndex,
  newImageManifest,
} from "../formats/oci/index.js";
import { OciLayout } from "./oci-layout.js";

const root = mkdtempSync(join(tmpdir(), "cairn-oci-layout-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `l${n++}`);

async function rejectsCode(
  p: Promise<unknown>,
  code: string,
  check?: (e: CairnError) => void,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code, e.describe());
    check?.(e);
    return true;
  });
}

/** Files in the layout other than oci-layout, index.json and blobs/<alg>/<hex>: temp leftovers. */
function strayFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => !["oci-layout", "index.json", "blobs"].includes(f));
}

function blobFiles(dir: string): string[] {
  return readdirSync(join(dir, "blobs"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

/** A small image: config + 2 layers + manifest. */
async function smallImage(l: OciLayout, tag?: string) {
  const layers = [Buffer.from("layer one"), Buffer.from("layer two")].map((b) => ({
    bytes: b,
    desc: descriptorOf(b, MEDIA_TYPE_OCI_LAYER_GZIP),
  }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((x) => x.desc.digest) },
    }),
  );
  const cdesc = descriptorOf(config, MEDIA_TYPE_OCI_CONFIG);
  await l.putBlob(config, cdesc);
  for (const x of layers) await l.putBlob(x.bytes, x.desc);
  const m = newImageManifest({ config: cdesc, layers: layers.map((x) => x.desc) });
  const desc = await l.putManifest(m.bytes, tag === undefined ? {} : { tag });
  return { m, desc, layers, config: cdesc };
}

describe("creating and opening a layout", () => {
  test("init writes oci-layout, index.json and blobs/; init again is a no-op", async () => {
    const dir = fresh();
    await OciLayout.init(dir);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), {
      imageLayoutVersion: "1.0.0",
    });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    assert.deepEqual(index, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    });
    const before = readFileSync(join(dir, "index.json"));
    await OciLayout.init(dir);
    assert.deepEqual(readFileSync(join(dir, "index.json")), before);
    await OciLayout.open(dir);
  });

  test("open refuses what is not a layout, naming the file", async () => {
    const dir = fresh();
    await rejectsCode(OciLayout.open(dir), "ERR_OCI_LAYOUT_INVALID", (e) =>
      assert.equal(e.file, join(dir, "oci-layout")),
    );
    await OciLayout.init(dir);
    writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"9.9.9"}');
    await rejectsCode(OciLayout.open(dir), "ERR_OCI_LAYOUT_INVALID", (e) =>
      assert.equal(e.field, "imageLayoutVersion"),
    );
    writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(join(dir, "index.json"), '{"schemaVersion":2,"manifests":[{"mediaType":"x/y"}]}');
    await rejectsCode(OciLayout.open(dir), "ERR_OCI_MANIFEST_INVALID", (e) => {
      assert.equal(e.file, join(dir, "index.json"));
      assert.equal(e.field, "manifests[0].digest");
    });
    writeFileSync(join(dir, "index.json"), "{not json");
    await rejectsCode(OciLayout.open(dir), "ERR_JSON_MALFORMED", (e) =>
      assert.equal(e.file, join(dir, "index.json")),
    );
    rmSync(join(dir, "index.json"));
    await rejectsCode(OciLayout.open(dir), "ERR_OCI_LAYOUT_INVALID");
  });

  test("index.json larger than its bound is refused", async () => {
    const dir = fresh();
    await OciLayout.init(dir);
    await rejectsCode(OciLayout.open(dir, { maxIndexBytes: 10 }), "ERR_OCI_TOO_LARGE");
  });
});

describe("blobs", () => {
  test("put, has, get, stream, delete; the path is blobs/<alg>/<hex>", async () => {
    const l = await OciLayout.init(fresh());
    const b = Buffer.from("some content");
    const { digest, size } = await l.putBlob(b);
    assert.equal(digest, digestOf(b));
    assert.equal(size, b.length);
    assert.equal(l.blobPath(digest), join(l.dir, "blobs", "sha256", digest.slice(7)));
    assert.deepEqual(readFileSync(l.blobPath(digest)), b);
    assert.ok(await l.hasBlob(digest));
    assert.deepEqual(await l.getBlob(digest, { size }), b);
    const chunks: Buffer[] = [];
    for await (const c of l.blobStream(digest, { size })) chunks.push(c);
    assert.deepEqual(Buffer.concat(chunks), b);
    assert.ok(await l.deleteBlob(digest));
    assert.ok(!(await l.deleteBlob(digest)));
    await rejectsCode(l.getBlob(digest), "ERR_OCI_BLOB_NOT_FOUND", (e) =>
      assert.equal(e.file, l.blobPath(digest)),
    );
    await rejectsCode(Readable.from(l.blobStream(digest)).toArray(), "ERR_OCI_BLOB_NOT_FOUND");
  });

  test("sha512 blobs and streamed sources", async () => {
    const l = await OciLayout.init(fresh());
    const parts = [Buffer.from("a"), Buffer.from("bc"), Buffer.alloc(100_000, 7)];
    const all = Buffer.concat(parts);
    const r = await l.putBlob(Readable.from(parts), { digest: digestOf(all, "sha512"), size: all.length });
    assert.equal(r.digest, digestOf(all, "sha512"));
    assert.deepEqual(await l.getBlob(r.digest), all);
    const r2 = await l.putBlob(parts, { algorithm: "sha512" });
    assert.equal(r2.digest, r.digest);
  });

  test("a wrong digest or size leaves no blob and no temp file", async () => {
    const l = await OciLayout.init(fresh());
    const b = Buffer.from("payload");
    await rejectsCode(l.putBlob(b, { digest: digestOf("other") }), "ERR_OCI_DIGEST_MISMATCH");
    await rejectsCode(l.putBlob(b, { size: b.length + 1 }), "ERR_OCI_BLOB_TRUNCATED", (e) =>
      assert.match(e.message, /7 of the expected 8 bytes/),
    );
    await rejectsCode(l.putBlob(b, { digest: digestOf(b), size: b.length - 1 }), "ERR_OCI_DIGEST_MISMATCH");
    await rejectsCode(l.putBlob(b, { maxBytes: 3 }), "ERR_OCI_TOO_LARGE");
    assert.deepEqual(blobFiles(l.dir), []);
    assert.deepEqual(strayFiles(l.dir), []);
  });

  test("an endless source stops at the expected size (bounded), leaving nothing", async () => {
    const l = await OciLayout.init(fresh());
    let produced = 0;
    function* endless() {
      for (;;) {
        produced += 1024;
        yield Buffer.alloc(1024);
      }
    }
    await rejectsCode(l.putBlob(endless(), { size: 10_000 }), "ERR_OCI_DIGEST_MISMATCH");
    assert.ok(produced <= 11 * 1024);
    assert.deepEqual(blobFiles(l.dir), []);
    assert.deepEqual(strayFiles(l.dir), []);
  });

  test("a source that fails midway (a dropped connection) leaves no blob", async () => {
    const l = await OciLayout.init(fresh());
    async function* failing() {
      yield Buffer.from("first half");
      throw new Error("connection reset");
    }
    await assert.rejects(l.putBlob(failing()), /connection reset/);
    assert.deepEqual(blobFiles(l.dir), []);
    assert.deepEqual(strayFiles(l.dir), []);
  });

  test("a streamed put batches writes, keeps exactly the bytes hashed, and refuses a tampered stream", async () => {
    const l = await OciLayout.init(fresh());
    // 5 MiB in odd-sized chunks from one reused buffer (crossing the write batches): the stored
    // blob is what was hashed when each chunk arrived.
    const all = new Uint8Array(5 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    const reused = Buffer.alloc(85 * 1024 + 3);
    async function* source(data: Uint8Array) {
      for (let off = 0; off < data.byteLength; off += reused.byteLength) {
        const part = data.subarray(off, off + reused.byteLength);
        reused.set(part);
        yield reused.subarray(0, part.byteLength);
        reused.fill(0); // the source reuses its buffer once the chunk was taken
      }
    }
    const r = await l.putBlob(source(all), { digest: digestOf(all), size: all.byteLength });
    assert.ok(readFileSync(l.blobPath(r.digest)).equals(Buffer.from(all)));
    const tampered = all.slice();
    tampered[4 * 1024 * 1024] = (tampered[4 * 1024 * 1024] ?? 0) ^ 1;
    const l2 = await OciLayout.init(fresh());
    await rejectsCode(
      l2.putBlob(source(tampered), { digest: digestOf(all), size: all.byteLength }),
      "ERR_OCI_DIGEST_MISMATCH",
    );
    assert.deepEqual(blobFiles(l2.dir), []);
    assert.deepEqual(strayFiles(l2.dir), []);
  });

  test("tampered blobs are refused on read, whole or streamed", async () => {
    const l = await OciLayout.init(fresh());
    const b = Buffer.from("original content");
    const { digest, size } = await l.putBlob(b);
    writeFileSync(l.blobPath(digest), "tampered content");
    await rejectsCode(l.getBlob(digest), "ERR_OCI_DIGEST_MISMATCH", (e) =>
      assert.equal(e.file, l.blobPath(digest)),
    );
    await rejectsCode(Readable.from(l.blobStream(digest, { size })).toArray(), "ERR_OCI_DIGEST_MISMATCH");
    writeFileSync(l.blobPath(digest), "short");
    await rejectsCode(l.getBlob(digest, { size }), "ERR_OCI_DIGEST_MISMATCH");
    writeFileSync(l.blobPath(digest), Buffer.concat([b, b]));
    await rejectsCode(Readable.from(l.blobStream(digest, { size })).toArray(), "ERR_OCI_DIGEST_MISMATCH");
    await rejectsCode(l.getBlob(digest, { maxBytes: 4 }), "ERR_OCI_TOO_LARGE");
  });

  test("digests that are not sha256/sha512 hex never become paths", async () => {
    const l = await OciLayout.init(fresh());
    assert.throws(() => l.blobPath("sha256:../../etc/passwd"), CairnError);
    assert.throws(
      () => l.blobPath("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
      CairnError,
    );
  });
});

describe("manifests, tags and index.json", () => {
  test("blobs before the manifest: a manifest naming a missing blob is refused and not stored", async () => {
    const l = await OciLayout.init(fresh());
    const layer = descriptorOf(Buffer.from("never stored"), MEDIA_TYPE_OCI_LAYER_GZIP);
    await l.putBlob(EMPTY_JSON_BYTES);
    const m = newImageManifest({
      config: emptyDescriptor(),
      layers: [layer],
      artifactType: "application/vnd.example+type",
    });
    const before = readFileSync(l.indexPath);
    await rejectsCode(l.putManifest(m.bytes, { tag: "v1" }), "ERR_OCI_BLOB_NOT_FOUND", (e) =>
      assert.equal(e.field, "layers[0]"),
    );
    assert.ok(!(await l.hasBlob(m.digest)));
    assert.deepEqual(readFileSync(l.indexPath), before);
  });

  test("put a manifest with a tag; resolve by tag, digest, or the only entry; exact bytes kept", async () => {
    const l = await OciLayout.init(fresh());
    const { m, desc } = await smallImage(l, "v1");
    assert.deepEqual(desc, { mediaType: m.mediaType, digest: m.digest, size: m.size });
    assert.deepEqual(readFileSync(l.blobPath(m.digest)), Buffer.from(m.bytes));
    const byTag = await l.resolve("v1");
    assert.equal(byTag.digest, m.digest);
    assert.equal(byTag.annotations?.[ANNOTATION_REF_NAME], "v1");
    assert.equal((await l.resolve(m.digest)).digest, m.digest);
    assert.equal((await l.resolve()).digest, m.digest);
    const got = await l.getManifest(byTag);
    assert.equal(got.kind, "manifest");
    assert.deepEqual(got.bytes, Buffer.from(m.bytes));
    await rejectsCode(l.resolve("v2"), "ERR_OCI_BLOB_NOT_FOUND");
    await rejectsCode(l.resolve(digestOf("absent")), "ERR_OCI_BLOB_NOT_FOUND");
    assert.deepEqual(await l.verifyContents(), { manifests: 1, blobs: 3 });
  });

  test("resolve by digest of an untagged manifest builds its descriptor from the content", async () => {
    const l = await OciLayout.init(fresh());
    const { m } = await smallImage(l);
    assert.deepEqual(await l.resolve(m.digest), { mediaType: m.mediaType, digest: m.digest, size: m.size });
    await rejectsCode(l.resolve(), "ERR_USAGE");
  });

  test("retagging replaces the entry; untag; listTags; bad tags refused", async () => {
    const l = await OciLayout.init(fresh());
    const a = await smallImage(l, "latest");
    const b = newImageManifest({ config: a.config, layers: [a.layers[0]!.desc] });
    const bd = await l.putManifest(b.bytes, { tag: "v2" });
    await l.tag("latest", bd);
    const index = await l.readIndex();
    assert.equal(index.manifests.length, 2);
    assert.equal((await l.resolve("latest")).digest, b.digest);
    assert.deepEqual(await l.listTags(), ["v2", "latest"]);
    assert.ok(await l.untag("v2"));
    assert.ok(!(await l.untag("v2")));
    assert.deepEqual(await l.listTags(), ["latest"]);
    await rejectsCode(l.tag("bad tag", bd), "ERR_FIELD_INVALID", (e) => assert.equal(e.field, "tag"));
    const ghost: Descriptor = { mediaType: b.mediaType, digest: digestOf("ghost"), size: 5 };
    await rejectsCode(l.tag("ghost", ghost), "ERR_OCI_BLOB_NOT_FOUND");
    await l.addIndexEntry(a.desc);
    await l.addIndexEntry(a.desc);
    assert.equal((await l.readIndex()).manifests.length, 2);
  });

  test("a tag naming two different manifests is refused as ambiguous", async () => {
    const l = await OciLayout.init(fresh());
    const a = await smallImage(l, "x");
    const b = newImageManifest({ config: a.config, layers: [] });
    const bd = await l.putManifest(b.bytes);
    await l.updateIndex((i) => {
      i.manifests.push({ ...bd, annotations: { [ANNOTATION_REF_NAME]: "x" } });
      return i;
    });
    await rejectsCode(l.resolve("x"), "ERR_OCI_LAYOUT_INVALID");
  });

  test("unknown fields in index.json survive an update", async () => {
    const l = await OciLayout.init(fresh());
    await l.updateIndex((i) => {
      i.annotations = { "com.example.index.revision": "r124356" };
      i["com.example.extension"] = { kept: true };
      return i;
    });
    await smallImage(l, "v1");
    const raw = JSON.parse(readFileSync(l.indexPath, "utf8"));
    assert.deepEqual(raw["com.example.extension"], { kept: true });
    assert.equal(raw.annotations["com.example.index.revision"], "r124356");
  });

  test("index updates are atomic: a failing update changes nothing; concurrent updates all land", async () => {
    const l = await OciLayout.init(fresh());
    const { desc } = await smallImage(l, "v0");
    const before = readFileSync(l.indexPath);
    await assert.rejects(
      l.updateIndex((i) => {
        i.manifests = [];
        throw new Error("crash in the middle");
      }),
      /crash in the middle/,
    );
    assert.deepEqual(readFileSync(l.indexPath), before);
    // An update that would make index.json invalid is refused before anything is written.
    await rejectsCode(
      l.updateIndex((i) => {
        (i.manifests[0] as Record<string, unknown>).digest = "sha256:bad";
        return i;
      }),
      "ERR_OCI_MANIFEST_INVALID",
    );
    assert.deepEqual(readFileSync(l.indexPath), before);
    // Many writers, and a reader checking after every step that index.json is always whole.
    const other = await OciLayout.open(l.dir);
    let reads = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        await other.readIndex();
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(Array.from({ length: 25 }, (_, i) => (i % 2 ? l : other).tag(`t${i}`, desc)));
    done = true;
    await reader;
    assert.ok(reads > 0);
    const tags = await l.listTags();
    for (let i = 0; i < 25; i++) assert.ok(tags.includes(`t${i}`), `t${i}`);
    assert.deepEqual(strayFiles(l.dir), []);
  });

  test("index.json growth past its bound is refused and leaves the file as it was", async () => {
    const dir = fresh();
    const l = await OciLayout.init(dir);
    const { desc } = await smallImage(l, "v1");
    const small = await OciLayout.open(dir, { maxIndexBytes: readFileSync(l.indexPath).length + 10 });
    const before = readFileSync(l.indexPath);
    await rejectsCode(small.tag("a-much-longer-tag-name", desc), "ERR_OCI_TOO_LARGE");
    assert.deepEqual(readFileSync(l.indexPath), before);
  });

  test("an index of manifests: children must be stored first; verifyContents walks it", async () => {
    const l = await OciLayout.init(fresh());
    const a = await smallImage(l);
    const i = newImageIndex({
      manifests: [{ ...a.desc, platform: { architecture: "amd64", os: "linux" } }],
    });
    const missing = newImageIndex({ manifests: [{ ...a.desc, digest: digestOf("nope") }] });
    await rejectsCode(l.putManifest(missing.bytes), "ERR_OCI_BLOB_NOT_FOUND", (e) =>
      assert.equal(e.field, "manifests[0]"),
    );
    const id = await l.putManifest(i.bytes, { tag: "multi" });
    assert.equal((await l.getManifest(id)).kind, "index");
    assert.deepEqual(await l.verifyContents(), { manifests: 2, blobs: 3 });
    writeFileSync(l.blobPath(a.layers[1]!.desc.digest), "tampered");
    await rejectsCode(l.verifyContents(), "ERR_OCI_DIGEST_MISMATCH");
  });

  test("a tampered manifest blob is refused by getManifest and resolve-by-digest", async () => {
    const l = await OciLayout.init(fresh());
    const { m, desc } = await smallImage(l, "v1");
    writeFileSync(l.blobPath(m.digest), Buffer.from(m.bytes).toString().replace("tar+gzip", "tar+zstd"));
    await rejectsCode(l.getManifest(desc), "ERR_OCI_DIGEST_MISMATCH");
    await rejectsCode(l.getManifest(m.digest), "ERR_OCI_DIGEST_MISMATCH");
  });

  test("a manifest stored with the wrong expected digest or media type is refused", async () => {
    const l = await OciLayout.init(fresh());
    const { m } = await smallImage(l);
    await rejectsCode(l.putManifest(m.bytes, { digest: digestOf("x") }), "ERR_OCI_DIGEST_MISMATCH");
    await rejectsCode(
      l.putManifest(m.bytes, { mediaType: "application/vnd.oci.image.index.v1+json" }),
      "ERR_OCI_MEDIA_TYPE",
    );
  });
});
