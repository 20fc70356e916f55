// SPDX-License-Identifier: Apache-2.0
// The oci-copy fixture: a multi-layer image in an OCI image layout, written with cairn's own
// OciLayout (runtime/oci-layout.ts), layers of AES-128-CTR keystream (deterministic,
// incompressible, made at memory speed), stored uncompressed (application/vnd.oci.image.layer.v1.tar)
// so that neither tool has a reason to compress or decompress anything: both move the same bytes
// and the digests stay the same.
import { createCipheriv } from "node:crypto";
import { OciLayout } from "../src/runtime/oci-layout.js";

/** The tag the fixture image has in its layout. */
export const OCI_BENCH_TAG = "bench";

const CHUNK = 16 * 2 ** 20;

/** `size` bytes of AES-128-CTR keystream under a fixed key, the IV naming the stream, in 16 MiB chunks. */
export function* keystream(stream: number, size: number): Generator<Buffer> {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(stream, 0);
  iv.writeUInt32BE(0x6f6369, 4); // "oci": not the run-large files' streams
  const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 0x42), iv);
  const zeros = Buffer.alloc(CHUNK);
  for (let left = size; left > 0; left -= CHUNK) {
    yield cipher.update(left >= CHUNK ? zeros : zeros.subarray(0, left));
  }
}

export interface OciImageFixture {
  dir: string;
  /** `oci:DIR:bench`. */
  name: string;
  /** The image manifest's digest, the same wherever a copy puts it. */
  digest: string;
  /** Layer bytes plus config bytes plus manifest bytes: what a copy moves. */
  bytes: number;
  layers: number;
  layerBytes: number;
}

/** Writes an image of `layers` layers of `layerBytes` each, a config and a manifest tagged `bench`. */
export async function makeOciImage(
  dir: string,
  layers: number,
  layerBytes: number,
): Promise<OciImageFixture> {
  const layout = await OciLayout.init(dir);
  const descs: { mediaType: string; digest: string; size: number }[] = [];
  for (let i = 0; i < layers; i++) {
    const { digest, size } = await layout.putBlob(keystream(i, layerBytes));
    descs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size });
  }
  // image-spec config.md: uncompressed layers, so each diff_id is the layer's own digest.
  const config = Buffer.from(
    JSON.stringify({
      created: "2024-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: descs.map((d) => d.digest) },
      history: descs.map((_, i) => ({
        created: "2024-01-01T00:00:00Z",
        created_by: `cairn bench layer ${i}`,
      })),
    }),
  );
  const cfg = await layout.putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cfg.digest, size: cfg.size },
      layers: descs,
    }),
  );
  const desc = await layout.putManifest(manifest, {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    tag: OCI_BENCH_TAG,
  });
  return {
    dir,
    name: `oci:${dir}:${OCI_BENCH_TAG}`,
    digest: desc.digest,
    bytes: layers * layerBytes + cfg.size + manifest.byteLength,
    layers,
    layerBytes,
  };
}

/** The digest index.json of a layout tags `tag` with (a check that a copy arrived whole and unchanged). */
export async function taggedDigest(dir: string, tag: string): Promise<string> {
  const layout = await OciLayout.open(dir);
  return (await layout.resolve(tag)).digest;
}
