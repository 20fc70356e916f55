// SPDX-License-Identifier: Apache-2.0
// A small, valid single-layer image written into an OCI layout, for tests that need an image to
// sign, attest, copy or verify. The layer's bytes depend on `seed`, so two seeds give two images
// with different digests; the config names the layer's diff_id as the image spec requires.
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  newImageManifest,
  type OciDigest,
} from "../formats/oci/index.js";
import type { OciLayout } from "../runtime/oci-layout.js";

/** Writes a one-layer image into `layout`, tagged `tag`; returns its manifest digest. */
export async function writeSmallImage(layout: OciLayout, seed: string, tag: string): Promise<OciDigest> {
  const layer = new TextEncoder().encode(`layer ${seed}\n`);
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [digestOf(layer)] },
      config: {},
    }),
  );
  await layout.putBlob(layer);
  await layout.putBlob(config);
  const m = newImageManifest({
    config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
    layers: [descriptorOf(layer, MEDIA_TYPE_OCI_LAYER)],
  });
  await layout.putManifest(m.bytes, { tag });
  return m.digest;
}
