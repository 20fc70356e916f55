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
import type { Descriptor, ManifestBytes, OciDigest } from "../../formats/oci/index.js";
import { type ImageStore, MAX_BUFFERED_BLOB, type PutOptions } from "./store.js";
import { imageTree, type TreeNode } from "./tree.js";

/** Blob transfers at once, unless `concurrency` says otherwise (skopeo's default is 6). */
export const DEFAULT_COPY_CONCURRENCY = 4;
/** Most blob transfers at once a caller may ask for. */
export const MAX_COPY_CONCURRENCY = 32;

/** What a copy reports as it goes (progress bars). */
export type CopyEvent =
  /** A blob is about to be sent. */
  | { kind: "start"; blob: OciDigest; size: number }
  /** `done` bytes of it have been read from the source. */
  | { kind: "bytes"; blob: OciDigest; size: number; done: number }
  /** It is in the destination: sent, already there, or mounted from the source repository. */
  | { kind: "done"; blob: OciDigest; size: number; how: "copied" | "present" | "mounted" }
  /** A manifest (or index) has been stored. */
  | { kind: "manifest"; digest: OciDigest; mediaType: string; tag?: string };

export interface CopyOptions {
  /** A tag or digest in the source instead of its name's own reference. */
  ref?: string;
  /** The destination tag; default the destination name's tag. */
  tag?: string;
  /** Copy signatures, attestations, SBOMs and referrers too (default true). */
  attached?: boolean;
  /** Blob transfers at once, across every manifest of the copy (1..MAX_COPY_CONCURRENCY). */
  concurrency?: number;
  /**
   * Try a cross-repository mount (distribution-spec end-11) before sending a blob when source
   * and destination are repositories of the same registry (default true).
   */
  mount?: boolean;
  onProgress?: (event: CopyEvent) => void;
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
  /** Blobs sent, blobs the destination had already, blobs mounted from the source repository. */
  blobsCopied: number;
  blobsPresent: number;
  blobsMounted: number;
  bytesCopied: number;
}

/** A counting semaphore: at most `n` holders at once, served in order. */
function limiter(n: number) {
  let free = n;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<() => void> {
      if (free > 0) free--;
      else await new Promise<void>((r) => waiting.push(r));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = waiting.shift();
        if (next !== undefined) next();
        else free++;
      };
    },
  };
}

async function* counted(
  source: AsyncIterable<Uint8Array>,
  onBytes: (done: number) => void,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  for await (const c of source) {
    done += c.byteLength;
    onBytes(done);
    yield c;
  }
}

/**
 * Copies the image named by `src` (and, unless `attached: false`, everything attached) into
 * `dst`. The destination tag is `opts.tag`, else the destination name's tag; a layout
 * destination without one keeps the image as an untagged index.json entry. Cosign tags keep their
 * names (they are derived from digests, which do not change); referrers are recorded as referrers.
 * Blobs move `concurrency` at a time across the whole copy (the platform manifests of an index
 * and the attached manifests are copied side by side); memory stays bounded by that number.
 */
export async function copyImage(
  src: ImageStore,
  dst: ImageStore,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const concurrency = opts.concurrency ?? DEFAULT_COPY_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_COPY_CONCURRENCY) {
    throw cairnError("ERR_USAGE", `the concurrency must be an integer from 1 to ${MAX_COPY_CONCURRENCY}`, {
      field: "concurrency",
    });
  }
  const tree = await imageTree(src, {
    ...(opts.ref === undefined ? {} : { ref: opts.ref }),
    attached: opts.attached ?? true,
  });
  const tag = opts.tag ?? dst.tag;
  const progress = opts.onProgress;
  const result: CopyResult = {
    image: tree.descriptor,
    manifests: [],
    blobsCopied: 0,
    blobsPresent: 0,
    blobsMounted: 0,
    bytesCopied: 0,
  };
  const slots = limiter(concurrency);
  const blobs = new Map<string, Promise<void>>();
  const manifests = new Map<string, Promise<void>>();
  // distribution-spec end-11: a blob in another repository of the same registry is mounted, not
  // sent (the registry links what it has; the digest is the registry's to check).
  const mountFrom =
    opts.mount !== false &&
    dst.mountBlob !== undefined &&
    src.repository !== undefined &&
    dst.repository !== undefined &&
    src.repository.registry === dst.repository.registry &&
    src.repository.repository !== dst.repository.repository
      ? src.repository.repository
      : undefined;

  let failed = false;
  const work: Promise<unknown>[] = [];
  const track = <T>(p: Promise<T>): Promise<T> => {
    work.push(p);
    return p;
  };

  const transfer = async (d: Descriptor) => {
    const release = await slots.acquire();
    try {
      if (failed) throw cairnError("ERR_INTERNAL", "the copy was abandoned after an earlier failure");
      if (await dst.hasBlob(d)) {
        result.blobsPresent++;
        progress?.({ kind: "done", blob: d.digest, size: d.size, how: "present" });
        return;
      }
      // image-spec descriptor.md `urls`: a foreign layer may be absent; it is fetched from its URLs.
      if (d.urls !== undefined && d.urls.length > 0 && !(await src.hasBlob(d))) return;
      if (mountFrom !== undefined && (await dst.mountBlob?.(d, mountFrom))) {
        result.blobsMounted++;
        progress?.({ kind: "done", blob: d.digest, size: d.size, how: "mounted" });
        return;
      }
      progress?.({ kind: "start", blob: d.digest, size: d.size });
      // The slot is given back once every byte is in and checked, while the destination makes
      // the blob durable (a layout's fsync), so the next transfer overlaps the sync.
      const putOpts = { onReceived: release };
      if (d.size <= MAX_BUFFERED_BLOB) {
        await dst.putBlob(d, await src.getBlob(d, MAX_BUFFERED_BLOB), putOpts);
      } else if (src.blobInto !== undefined && dst.putBlobFilled !== undefined) {
        // Source writes straight into the destination's sink (registry -> layout: the GET, the
        // hash and the write in one blob thread); the destination checks digest and size.
        const into = src.blobInto.bind(src);
        const onProgress =
          progress === undefined
            ? undefined
            : (done: number) => progress({ kind: "bytes", blob: d.digest, size: d.size, done });
        await dst.putBlobFilled(
          d,
          (sink) => into(d, sink, onProgress === undefined ? {} : { onProgress }),
          putOpts,
        );
      } else {
        // Streamed in bounded memory, the digest and size checked exactly once before the blob is
        // kept: by the destination when it checks whatever it is given (a layout), else by the
        // source stream, which throws instead of ending, so the destination keeps nothing.
        const verifyAtSource = !dst.putBlobVerifies;
        let stream = src.blobStream(d, { verify: verifyAtSource });
        if (progress !== undefined) {
          stream = counted(stream, (done) => progress({ kind: "bytes", blob: d.digest, size: d.size, done }));
        }
        await dst.putBlob(d, stream, verifyAtSource ? { ...putOpts, verified: true } : putOpts);
      }
      result.blobsCopied++;
      result.bytesCopied += d.size;
      progress?.({ kind: "done", blob: d.digest, size: d.size, how: "copied" });
    } finally {
      release();
    }
  };
  const copyBlob = (d: Descriptor): Promise<void> => {
    let p = blobs.get(d.digest);
    if (p === undefined) {
      p = track(transfer(d));
      blobs.set(d.digest, p);
    }
    return p;
  };

  // Manifests are stored one at a time: they are small, and a registry without the referrers API
  // records a referrer by rewriting the subject's referrers index (read, add, write back), which
  // two writers at once would race on, losing an entry.
  let manifestChain: Promise<unknown> = Promise.resolve();
  const putManifest = (m: ManifestBytes, o: PutOptions): Promise<unknown> => {
    const p = manifestChain.then(() => dst.putManifest(m, o));
    manifestChain = p.catch(() => {});
    return p;
  };

  const record = (n: TreeNode, t?: string) => {
    const m = n.manifest;
    result.manifests.push({
      digest: m.digest,
      mediaType: m.mediaType,
      kind: n.kind,
      ...(t === undefined ? {} : { tag: t }),
    });
    progress?.({
      kind: "manifest",
      digest: m.digest,
      mediaType: m.mediaType,
      ...(t === undefined ? {} : { tag: t }),
    });
  };

  // Each manifest is stored once (its blobs, or its platform manifests, first), with the tag or
  // `keep` of whoever gets there first; later callers wait for that, then add their own tag.
  const copyNode = async (n: TreeNode, putOpts: { tag?: string; keep?: boolean }): Promise<void> => {
    const m = n.manifest;
    const first = manifests.get(m.digest);
    if (first === undefined) {
      const p = (async () => {
        if (m.kind === "manifest") await Promise.all([m.manifest.config, ...m.manifest.layers].map(copyBlob));
        else
          await Promise.all(n.children.filter((c) => c.via === "index").map((c) => track(copyNode(c, {}))));
        // Tags last: the manifest is whole in the destination before its tag names it.
        await putManifest(m, putOpts);
        record(n, putOpts.tag);
      })();
      manifests.set(m.digest, track(p));
      await p;
    } else {
      await first;
      if (putOpts.tag !== undefined) {
        await putManifest(m, { tag: putOpts.tag });
        record(n, putOpts.tag);
      }
    }
    // What is attached goes after the image it is attached to. Its blobs all start now, side by
    // side; its manifests are stored in the source's order, so that referrers are listed in the
    // same order at the destination.
    const attached = n.children.filter((c) => c.via === "tag" || c.via === "referrers");
    for (const c of attached) prefetch(c);
    for (const c of attached) await copyNode(c, c.via === "tag" && c.tag !== undefined ? { tag: c.tag } : {});
  };

  /** Starts the blob transfers of a manifest (or of an index's manifests); errors surface later. */
  const prefetch = (n: TreeNode): void => {
    const m = n.manifest;
    if (manifests.has(m.digest)) return;
    if (m.kind === "manifest") {
      for (const d of [m.manifest.config, ...m.manifest.layers]) copyBlob(d).catch(() => {});
    } else for (const c of n.children) if (c.via === "index") prefetch(c);
  };

  // A destination named by digest must be that digest: nothing is rewritten to make it fit.
  if (dst.digest !== undefined && dst.digest !== tree.descriptor.digest) {
    throw cairnError(
      "ERR_OCI_DIGEST_MISMATCH",
      `the destination names ${dst.digest}, the image is ${tree.descriptor.digest}`,
    );
  }
  try {
    await copyNode(tree, tag === undefined ? { keep: true } : { tag });
  } catch (e) {
    // The first failure stops what has not started; what is under way finishes (or fails)
    // before the error is reported, so nothing keeps writing after copyImage has returned.
    failed = true;
    await Promise.allSettled(work);
    throw e;
  }
  return result;
}
