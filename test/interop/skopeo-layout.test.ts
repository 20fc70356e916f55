// SPDX-License-Identifier: Apache-2.0
// OCI image layouts against Debian's skopeo (1.9.3): cairn writes an image that skopeo inspects and
// copies with identical digests, and cairn opens the layouts skopeo writes, verifying every blob.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { CairnError } from "../../src/core/errors.js";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_LAYER_ZSTD,
  newImageManifest,
  type ParsedManifest,
  parseImageConfig,
} from "../../src/formats/oci/index.js";
import { OciLayout } from "../../src/runtime/oci-layout.js";

const SKOPEO = "/usr/bin/skopeo";
const missing = spawnSync(SKOPEO, ["--version"]).status === 0 ? undefined : "needs skopeo";

let tmp = "";
let policy = "";

function skopeo(...args: string[]): string {
  // Global flags first: a permissive policy file, as the layouts here are unsigned test images.
  const global = ["--policy", policy];
  if (args[0] === "copy") global.push("--insecure-policy");
  const r = spawnSync(SKOPEO, [...global, ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(" ")}: ${r.status} ${r.stderr}`);
  return r.stdout;
}

/** A one-file ustar archive (POSIX.1-1988 header, two zero blocks at the end). */
function tar(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return Buffer.concat([h, content, Buffer.alloc((512 - (content.length % 512)) % 512), Buffer.alloc(1024)]);
}

interface Written {
  manifest: ParsedManifest;
  config: Buffer;
  layerDigests: string[];
}

/** cairn writes config + 2 gzip layers + manifest, tagged, in the garbage-free order. */
async function writeImage(layout: OciLayout, tag: string): Promise<Written> {
  const tars = [tar("hello.txt", Buffer.from("hello\n")), tar("world.txt", Buffer.from("world\n"))];
  const config = Buffer.from(
    JSON.stringify({
      created: "2024-01-02T03:04:05Z",
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/sh"], Labels: { "org.example.by": "cairn" } },
      rootfs: { type: "layers", diff_ids: tars.map((t) => digestOf(t)) },
      history: [{ created_by: "cairn test" }, { created_by: "cairn test" }],
    }),
  );
  const cdesc = descriptorOf(config, MEDIA_TYPE_OCI_CONFIG);
  await layout.putBlob(config, { digest: cdesc.digest, size: cdesc.size });
  const layers = [];
  for (const t of tars) {
    const gz = gzipSync(t);
    const d = descriptorOf(gz, MEDIA_TYPE_OCI_LAYER_GZIP);
    await layout.putBlob(gz, { digest: d.digest, size: d.size });
    layers.push(d);
  }
  const manifest = newImageManifest({
    config: cdesc,
    layers,
    annotations: { "org.opencontainers.image.created": "2024-01-02T03:04:05Z" },
  });
  await layout.putManifest(manifest.bytes, { tag });
  return { manifest, config, layerDigests: layers.map((l) => l.digest) };
}

describe("OCI image layout interop with skopeo", () => {
  test("has skopeo (scripts/test.sh installs it)", () => assert.equal(missing, undefined));
  let src = "";
  let layout: OciLayout;
  let img: Written;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "cairn-skopeo-layout-"));
    policy = join(tmp, "policy.json");
    writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    src = join(tmp, "src");
    layout = await OciLayout.init(src);
    img = await writeImage(layout, "v1");
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("skopeo inspect reads cairn's layout: same manifest bytes, digest, config and layers", () => {
    const raw = skopeo("inspect", "--raw", `oci:${src}:v1`);
    assert.equal(raw, Buffer.from(img.manifest.bytes).toString("utf8"));
    const info = JSON.parse(skopeo("inspect", `oci:${src}:v1`));
    assert.equal(info.Digest, img.manifest.digest);
    assert.deepEqual(info.Layers, img.layerDigests);
    assert.equal(info.Architecture, "amd64");
    assert.equal(info.Os, "linux");
    assert.deepEqual(info.Labels, { "org.example.by": "cairn" });
    const config = skopeo("inspect", "--config", "--raw", `oci:${src}:v1`);
    assert.equal(config, img.config.toString("utf8"));
  });

  test("skopeo copy cairn's layout to a new layout: identical digests, and cairn verifies every blob", async () => {
    const dst = join(tmp, "copy");
    skopeo("copy", `oci:${src}:v1`, `oci:${dst}:v1`);
    const copied = await OciLayout.open(dst);
    const d = await copied.resolve("v1");
    assert.equal(d.digest, img.manifest.digest);
    assert.equal(d.size, img.manifest.size);
    const m = await copied.getManifest(d);
    assert.deepEqual(Buffer.from(m.bytes), Buffer.from(img.manifest.bytes));
    assert.deepEqual(await copied.verifyContents(), { manifests: 1, blobs: 3 });
    for (const l of img.layerDigests) {
      assert.deepEqual(readFileSync(copied.blobPath(l)), readFileSync(layout.blobPath(l)));
    }
  });

  test("skopeo adds a tag to cairn's layout; cairn reads both tags", async () => {
    skopeo("copy", `oci:${src}:v1`, `oci:${src}:other`);
    const again = await OciLayout.open(src);
    assert.deepEqual((await again.listTags()).sort(), ["other", "v1"]);
    assert.equal((await again.resolve("other")).digest, img.manifest.digest);
    await again.verifyContents();
  });

  test("skopeo writes a new image (recompressed to zstd); cairn opens it and verifies every digest", async () => {
    const dst = join(tmp, "zstd");
    skopeo("copy", "--dest-compress-format", "zstd", `oci:${src}:v1`, `oci:${dst}:z`);
    const z = await OciLayout.open(dst);
    const d = await z.resolve("z");
    const raw = skopeo("inspect", "--raw", `oci:${dst}:z`);
    assert.equal(d.digest, digestOf(raw));
    const m = await z.getManifest(d);
    assert.equal(m.kind, "manifest");
    if (m.kind !== "manifest") return;
    assert.notEqual(m.digest, img.manifest.digest);
    assert.equal(m.manifest.layers.length, 2);
    for (const l of m.manifest.layers) assert.equal(l.mediaType, MEDIA_TYPE_OCI_LAYER_ZSTD);
    const config = parseImageConfig(
      await z.getBlob(m.manifest.config.digest, { size: m.manifest.config.size }),
    );
    assert.deepEqual(config.rootfs.diff_ids, JSON.parse(img.config.toString()).rootfs.diff_ids);
    assert.deepEqual(await z.verifyContents(), { manifests: 1, blobs: 3 });

    // And back: cairn tags skopeo's image under a second name in skopeo's layout; skopeo reads it.
    await z.tag("from-cairn", d);
    assert.equal(JSON.parse(skopeo("inspect", `oci:${dst}:from-cairn`)).Digest, d.digest);
    // cairn stores its own image beside skopeo's; skopeo copies it out unchanged.
    const mine = await writeImage(z, "cairn-image");
    const out = join(tmp, "out");
    skopeo("copy", `oci:${dst}:cairn-image`, `oci:${out}:x`);
    assert.equal((await (await OciLayout.open(out)).resolve("x")).digest, mine.manifest.digest);
  });

  test("a tampered layer is refused by cairn and by skopeo alike", async () => {
    const dst = join(tmp, "tampered");
    skopeo("copy", `oci:${src}:v1`, `oci:${dst}:v1`);
    const t = await OciLayout.open(dst);
    writeFileSync(t.blobPath(img.layerDigests[1]!), gzipSync(tar("evil.txt", Buffer.from("evil\n"))));
    await assert.rejects(
      t.verifyContents(),
      (e: unknown) => e instanceof CairnError && e.code === "ERR_OCI_DIGEST_MISMATCH",
    );
    assert.throws(() => skopeo("copy", `oci:${dst}:v1`, `oci:${join(tmp, "never")}:v1`));
  });
});
