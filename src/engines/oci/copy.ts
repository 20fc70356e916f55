// SPDX-License-Identifier: Apache-2.0
// Copying an image with everything attached to it from one image store to another (layout <->
// registry, registry <-> registry, layout <-> layout): every manifest and index is sent as the
// exact bytes read (image-spec descriptor.md: a digest names bytes, so nothing is re-serialized
// and every digest stays), a multi-platform index whole with all its platform manifests, and the
// cosign tags and referrers found by tree.ts.
//
// Order (so that a store never names something it lacks, and an interrupted copy can simply be run
// again): blobs before the manifest that names them, platform manifests before their index, the
// image before what is attached to it, tags last for each manifest.
import { cairnError } from "../../core/errors.js";
import type { Descriptor, OciDigest } from "../../formats/oci/index.js";
import { type ImageStore, MAX_BUFFERED_BLOB } from "./store.js";
import { imageTree, type TreeNode } from "./tree.js";

/** Blobs copied at once. */
export const DEFAULT_COPY_CONCURRENCY = 4;

export interface CopyOptions {
  /** A tag or digest in the source instead of its name's own reference. */
  ref?: string;
  /** The destination tag; default the destination name's tag. */
  tag?: string;
  /** Copy signatures, attestations, SBOMs and referrers too (default true). */
  attached?: boolean;
  concurrency?: number;
  onProgress?: (event: { blob: OciDigest; size: number; copied: boolean }) => void;
}

export interface CopiedManifest {
  digest: OciDigest;
  mediaType: string;
  kind: TreeNode["kind"];
  tag?: string;
}

export interface CopyResult {
  /** The image (or index) copied, with the same digest in the destination. */
  image: Descriptor;
  manifests: CopiedManifest[];
  /** Blobs sent, and blobs the destination had already. */
  blobsCopied: number;
  blobsPresent: number;
  bytesCopied: number;
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

/**
 * Copies the image named by `src` (and, unless `attached: false`, everything attached) into
 * `dst`. The destination tag is `opts.tag`, else the destination name's tag; a layout
 * destination without one keeps the image as an untagged index.json entry. Cosign tags keep their
 * names (they are derived from digests, which do not change); referrers are recorded as referrers.
 */
export async function copyImage(
  src: ImageStore,
  dst: ImageStore,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const tree = await imageTree(src, {
    ...(opts.ref === undefined ? {} : { ref: opts.ref }),
    attached: opts.attached ?? true,
  });
  const tag = opts.tag ?? dst.tag;
  const concurrency = opts.concurrency ?? DEFAULT_COPY_CONCURRENCY;
  const result: CopyResult = {
    image: tree.descriptor,
    manifests: [],
    blobsCopied: 0,
    blobsPresent: 0,
    bytesCopied: 0,
  };
  const blobsDone = new Set<string>();
  const manifestsDone = new Set<string>();

  const copyBlob = async (d: Descriptor) => {
    if (blobsDone.has(d.digest)) return;
    blobsDone.add(d.digest);
    if (await dst.hasBlob(d)) {
      result.blobsPresent++;
      opts.onProgress?.({ blob: d.digest, size: d.size, copied: false });
      return;
    }
    // image-spec descriptor.md `urls`: a foreign layer may be absent; it is fetched from its URLs.
    if (d.urls !== undefined && d.urls.length > 0 && !(await src.hasBlob(d))) return;
    if (d.size <= MAX_BUFFERED_BLOB) await dst.putBlob(d, await src.getBlob(d, MAX_BUFFERED_BLOB));
    // Streamed in bounded memory, the digest and size checked exactly once before the blob is
    // kept: by the destination when it checks whatever it is given (a layout), else by the
    // source stream, which throws instead of ending, so the destination keeps nothing.
    else if (dst.putBlobVerifies) await dst.putBlob(d, src.blobStream(d, { verify: false }));
    else await dst.putBlob(d, src.blobStream(d), { verified: true });
    result.blobsCopied++;
    result.bytesCopied += d.size;
    opts.onProgress?.({ blob: d.digest, size: d.size, copied: true });
  };

  const copyNode = async (n: TreeNode, putOpts: { tag?: string; keep?: boolean }) => {
    const m = n.manifest;
    if (!manifestsDone.has(m.digest)) {
      if (m.kind === "manifest") {
        await pool([m.manifest.config, ...m.manifest.layers], concurrency, copyBlob);
      } else {
        for (const c of n.children) if (c.via === "index") await copyNode(c, {});
      }
    }
    if (!manifestsDone.has(m.digest) || putOpts.tag !== undefined) {
      await dst.putManifest(m, putOpts);
      manifestsDone.add(m.digest);
      result.manifests.push({
        digest: m.digest,
        mediaType: m.mediaType,
        kind: n.kind,
        ...(putOpts.tag === undefined ? {} : { tag: putOpts.tag }),
      });
    }
    for (const c of n.children) {
      if (c.via === "tag") await copyNode(c, c.tag === undefined ? {} : { tag: c.tag });
      else if (c.via === "referrers") await copyNode(c, {});
    }
  };

  // A destination named by digest must be that digest: nothing is rewritten to make it fit.
  if (dst.digest !== undefined && dst.digest !== tree.descriptor.digest) {
    throw cairnError(
      "ERR_OCI_DIGEST_MISMATCH",
      `the destination names ${dst.digest}, the image is ${tree.descriptor.digest}`,
    );
  }
  await copyNode(tree, tag === undefined ? { keep: true } : { tag });
  return result;
}
