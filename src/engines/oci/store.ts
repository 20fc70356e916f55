// SPDX-License-Identifier: Apache-2.0
// An image store: the one port that signing, attesting, verifying, tree and copy work through,
// over an OCI image layout (image-spec 1.1 image-layout.md) or a registry repository
// (distribution-spec 1.1). Images are named as skopeo names them (containers-transports(5)):
// `oci:DIR[:TAG]` and `docker://HOST/REPO[:TAG|@DIGEST]`.
//
// The layout side is structural: this engine cannot import runtime/oci-layout.ts (layers point
// down), so `layoutStore` takes anything with OciLayout's methods.
import { cairnError } from "../../core/errors.js";
import {
  type Descriptor,
  isDigest,
  type ManifestBytes,
  manifestDescriptor,
  type OciDigest,
  type ParsedManifestOrIndex,
  parseManifestOrIndex,
} from "../../formats/oci/index.js";
import type { BodySink } from "./ports.js";
import {
  DOCKER_TRANSPORT,
  formatImageReference,
  type ImageReference,
  parseImageReference,
  type Repository,
} from "./reference.js";
import type { RegistryClient } from "./registry.js";

/** The transport prefix skopeo uses for image layouts. */
export const OCI_TRANSPORT = "oci:";
/** Most index.json entries read when looking for referrers in a layout. */
export const MAX_LAYOUT_REFERRER_SCAN = 10_000;
/** Blobs at most this large are copied through memory in one request; larger ones are streamed. */
export const MAX_BUFFERED_BLOB = 8 * 1024 * 1024;

/** An image name: a layout directory (with an optional tag or digest) or a registry reference. */
export type ImageName =
  | { transport: "oci"; dir: string; tag?: string; digest?: OciDigest }
  | { transport: "docker"; ref: ImageReference };

/**
 * Parses `oci:DIR[:TAG]` (also `oci:DIR@DIGEST`) or `docker://HOST/REPO[:TAG|@DIGEST]`. As
 * skopeo's oci transport does, DIR ends at the first colon. Throws ERR_OCI_REFERENCE_INVALID.
 */
export function parseImageName(input: string): ImageName {
  if (input.startsWith(DOCKER_TRANSPORT)) return { transport: "docker", ref: parseImageReference(input) };
  if (!input.startsWith(OCI_TRANSPORT)) {
    throw cairnError(
      "ERR_OCI_REFERENCE_INVALID",
      `"${input.slice(0, 300)}": an image is named oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]`,
      { field: "image" },
    );
  }
  let rest = input.slice(OCI_TRANSPORT.length);
  let digest: OciDigest | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0 && isDigest(rest.slice(at + 1))) {
    digest = rest.slice(at + 1) as OciDigest;
    rest = rest.slice(0, at);
  }
  const colon = rest.indexOf(":");
  const dir = colon < 0 ? rest : rest.slice(0, colon);
  const tag = colon < 0 ? undefined : rest.slice(colon + 1);
  if (dir === "") throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${input}": the layout directory is empty`);
  if (tag !== undefined && digest !== undefined) {
    throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${input}": names both a tag and a digest; give one`);
  }
  if (tag === "") throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${input}": the tag is empty`);
  return {
    transport: "oci",
    dir,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The name back as text (the layout directory as given). */
export function formatImageName(n: ImageName): string {
  if (n.transport === "docker") return formatImageReference(n.ref);
  return `${OCI_TRANSPORT}${n.dir}${n.tag !== undefined ? `:${n.tag}` : n.digest !== undefined ? `@${n.digest}` : ""}`;
}

/**
 * Where images, and what is said about them, are kept.
 *
 * Contract:
 * - Everything read is verified against the digest that names it before it is returned
 *   (ERR_OCI_DIGEST_MISMATCH); a `blobStream` throws from its last step instead of ending when the
 *   whole does not match, so its chunks are unverified until the iteration completes.
 * - Absent things: `resolve` throws ERR_OCI_BLOB_NOT_FOUND or ERR_OCI_REGISTRY_NOT_FOUND;
 *   `getTagged` resolves to undefined; `referrers` to an empty list.
 * - Writes are durable when they resolve. Blobs go before the manifests that name them, and
 *   manifests before their tags; the store refuses a manifest whose blobs are missing.
 * - `putManifest` stores the exact bytes (never re-serialized: digests stay). A manifest with a
 *   `subject` is recorded as a referrer of it (registry: the referrers API or its tag-schema
 *   fallback; layout: an untagged index.json entry).
 * - No retries here: the registry client retries idempotent requests itself. Methods may run
 *   concurrently, except that two writers of the same tag race and the last one wins.
 */
export interface ImageStore {
  /** The name of the image this store was opened for, as the user wrote it. */
  readonly name: string;
  /** A docker reference for signatures (`HOST/REPO`), or undefined for a layout. */
  readonly identity: string | undefined;
  /** The tag in the image name, if it has one (what a copy into this store tags). */
  readonly tag: string | undefined;
  /** The digest in the image name, if it is named by digest. */
  readonly digest: OciDigest | undefined;
  /** The registry repository, or undefined for a layout. */
  readonly repository?: Repository;
  /**
   * distribution-spec end-11: links a blob that repository `from` of the same registry holds
   * into this one without sending it; false when the registry would not (the blob must be sent).
   * Absent for layouts.
   */
  mountBlob?(d: Descriptor, from: string): Promise<boolean>;
  /** The descriptor of a tag or digest, or of the reference in the image name when omitted. */
  resolve(ref?: string): Promise<Descriptor>;
  /** A manifest or index by descriptor (or digest), verified and parsed, bytes exact. */
  getManifest(d: Descriptor | OciDigest): Promise<ParsedManifestOrIndex>;
  /** The manifest a tag names, or undefined when there is no such tag. */
  getTagged(tag: string): Promise<ParsedManifestOrIndex | undefined>;
  /**
   * Stores a manifest's exact bytes (its blobs must be there), tagging it when `opts.tag` is
   * given; `opts.keep` keeps an untagged manifest reachable (layout: an untagged index.json entry).
   */
  putManifest(m: ManifestBytes, opts?: PutOptions): Promise<Descriptor>;
  hasBlob(d: Descriptor): Promise<boolean>;
  /** A whole blob in memory, verified (ERR_OCI_TOO_LARGE beyond `maxBytes`). */
  getBlob(d: Descriptor, maxBytes: number): Promise<Uint8Array>;
  /**
   * A blob of any size in bounded memory, verified when the iteration ends. With
   * `verify: false` the store may skip hashing (the size is still bounded): only for a caller
   * that hands the stream to a store whose `putBlobVerifies` is true, which checks the digest
   * and size before keeping anything.
   */
  blobStream(d: Descriptor, opts?: { verify?: boolean }): AsyncIterable<Uint8Array>;
  /**
   * Stores a blob that must match `d` (digest and size), read from `source`. With
   * `verified: true` the caller promises `source` is a digest-checked stream (a `blobStream`
   * read with verification on) that throws from its last step instead of ending when it does not
   * match `d`; the store may then skip its own hash, but keeps nothing if the source throws.
   * `onReceived` is called, when the store can tell, once the whole source is read and checked
   * but before the blob is durable (the put still resolves only when it is durable).
   */
  putBlob(
    d: Descriptor,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    opts?: { verified?: boolean; onReceived?: () => void },
  ): Promise<void>;
  /**
   * A blob from a source that writes into a sink (`blobInto` of another store): the store makes
   * the sink, checks digest and size of what it was given, and keeps it only then, as `putBlob`
   * does. Present only when the store checks everything itself (`putBlobVerifies`): an image
   * layout, whose sinks a registry GET fills in a blob thread.
   */
  putBlobFilled?(
    d: Descriptor,
    fill: (sink: BodySink) => Promise<void>,
    opts?: { onReceived?: () => void },
  ): Promise<void>;
  /**
   * The blob's bytes into a sink, unverified (the sink's owner checks them; see putBlobFilled),
   * the size bounded (ERR_OCI_TOO_LARGE, ERR_OCI_BLOB_TRUNCATED). Registry stores have it.
   */
  blobInto?(d: Descriptor, sink: BodySink, opts?: { onProgress?: (done: number) => void }): Promise<void>;
  /**
   * True when `putBlob` always hashes what it reads and checks the digest and size itself before
   * keeping it, whatever `verified` says (an image layout): a source for it need not verify.
   */
  readonly putBlobVerifies: boolean;
  /** Descriptors of the manifests whose `subject` is `digest` (unverified hints: fetch to check). */
  referrers(digest: OciDigest): Promise<Descriptor[]>;
}

export interface PutOptions {
  tag?: string;
  keep?: boolean;
}

/** The OciLayout methods a layout store uses (runtime/oci-layout.ts implements them). */
export interface LayoutLike {
  readonly dir: string;
  resolve(ref?: string): Promise<Descriptor>;
  getManifest(ref: string | Descriptor): Promise<ParsedManifestOrIndex>;
  putManifest(
    bytes: Uint8Array,
    opts?: { mediaType?: string; digest?: string; tag?: string },
  ): Promise<Descriptor>;
  addIndexEntry(desc: Descriptor): Promise<void>;
  readIndex(): Promise<{ manifests: Descriptor[] }>;
  hasBlob(digest: string): Promise<boolean>;
  getBlob(digest: string, opts?: { size?: number; maxBytes?: number }): Promise<Uint8Array>;
  blobStream(digest: string, opts?: { size?: number }): AsyncIterable<Uint8Array | string>;
  putBlob(
    source: Uint8Array | AsyncIterable<Uint8Array> | ((sink: BodySink) => Promise<void>),
    opts?: { digest?: string; size?: number; onReceived?: () => void },
  ): Promise<{ digest: OciDigest; size: number }>;
}

const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";

function subjectOf(m: ParsedManifestOrIndex): Descriptor | undefined {
  return m.kind === "manifest" ? m.manifest.subject : m.index.subject;
}

/** The descriptor the referrers API would list for a manifest (distribution-spec "Listing Referrers"). */
export function referrerDescriptorOf(m: ParsedManifestOrIndex): Descriptor {
  const doc = m.kind === "manifest" ? m.manifest : m.index;
  const artifactType = doc.artifactType ?? (m.kind === "manifest" ? m.manifest.config.mediaType : undefined);
  return manifestDescriptor(m, {
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(doc.annotations === undefined ? {} : { annotations: doc.annotations }),
  });
}

/** An image store over an OCI image layout; `ref` is the tag or digest of the image name. */
export function layoutStore(layout: LayoutLike, name: string, ref?: string): ImageStore {
  const store: ImageStore = {
    name,
    identity: undefined,
    tag: ref !== undefined && !isDigest(ref) ? ref : undefined,
    digest: ref !== undefined && isDigest(ref) ? ref : undefined,
    resolve: (r) => layout.resolve(r ?? ref),
    getManifest: (d) => layout.getManifest(d),
    async getTagged(tag) {
      const index = await layout.readIndex();
      const entry = index.manifests.find((m) => m.annotations?.[ANNOTATION_REF_NAME] === tag);
      return entry === undefined ? undefined : layout.getManifest(entry);
    },
    async putManifest(m, opts = {}) {
      const desc = await layout.putManifest(m.bytes, {
        mediaType: m.mediaType,
        digest: m.digest,
        ...(opts.tag === undefined ? {} : { tag: opts.tag }),
      });
      if (opts.tag === undefined) {
        // A referrer is reachable from nothing else: keep it in index.json, untagged (as oras does).
        const parsed = parseManifestOrIndex(m.bytes, m.mediaType, { digest: m.digest });
        if (subjectOf(parsed) !== undefined) await layout.addIndexEntry(referrerDescriptorOf(parsed));
        else if (opts.keep) await layout.addIndexEntry(desc);
      }
      return desc;
    },
    hasBlob: (d) => layout.hasBlob(d.digest),
    getBlob: (d, maxBytes) => layout.getBlob(d.digest, { size: d.size, maxBytes }),
    async *blobStream(d) {
      // Always verified: a layout's own files are checked as they are read.
      for await (const c of layout.blobStream(d.digest, { size: d.size }))
        yield typeof c === "string" ? Buffer.from(c) : c;
    },
    // OciLayout.putBlob hashes every source and checks digest and size before the rename that
    // keeps it, so `verified` is not needed (and not used) here.
    putBlobVerifies: true,
    async putBlob(d, source, o = {}) {
      await layout.putBlob(source, {
        digest: d.digest,
        size: d.size,
        ...(o.onReceived === undefined ? {} : { onReceived: o.onReceived }),
      });
    },
    async putBlobFilled(d, fill, o = {}) {
      await layout.putBlob(fill, {
        digest: d.digest,
        size: d.size,
        ...(o.onReceived === undefined ? {} : { onReceived: o.onReceived }),
      });
    },
    async referrers(digest) {
      // image-layout.md has no referrers index: read every index.json entry's manifest and keep
      // those whose subject is `digest` (bounded: index.json is attacker-writable input).
      const out: Descriptor[] = [];
      const entries = (await layout.readIndex()).manifests;
      if (entries.length > MAX_LAYOUT_REFERRER_SCAN) {
        throw cairnError(
          "ERR_OCI_TOO_LARGE",
          `index.json has ${entries.length} entries, more than the ${MAX_LAYOUT_REFERRER_SCAN} scanned for referrers`,
        );
      }
      const seen = new Set<string>();
      for (const e of entries) {
        if (seen.has(e.digest)) continue;
        seen.add(e.digest);
        if (!(await layout.hasBlob(e.digest))) continue;
        let m: ParsedManifestOrIndex;
        try {
          m = await layout.getManifest(e);
        } catch {
          continue; // not a manifest cairn reads: it cannot be a referrer cairn understands
        }
        if (subjectOf(m)?.digest === digest) out.push(referrerDescriptorOf(m));
      }
      return out;
    },
  };
  return store;
}

/** An image store over one registry repository; `ref` names the image (its tag or digest). */
export interface RegistryStoreOptions {
  /**
   * How blobs larger than MAX_BUFFERED_BLOB are uploaded: "stream" (default) sends the whole
   * blob in one PATCH then the PUT, as skopeo does; "chunked" sends PATCHes of `chunkSize` bytes
   * (for registries or proxies that refuse a long streamed request).
   */
  upload?: "stream" | "chunked";
  chunkSize?: number;
}

export function registryStore(
  client: RegistryClient,
  ref: ImageReference,
  opts: RegistryStoreOptions = {},
): ImageStore {
  const repo: Repository = { registry: ref.registry, repository: ref.repository };
  const at = (r: string): ImageReference => (isDigest(r) ? { ...repo, digest: r } : { ...repo, tag: r });
  return {
    name: formatImageReference(ref),
    identity: `${ref.registry}/${ref.repository}`,
    tag: ref.tag,
    digest: ref.digest,
    repository: repo,
    mountBlob: (d, from) => client.mountBlob(repo, from, d.digest),
    async resolve(r) {
      const target = r === undefined ? ref : at(r);
      // GET, not HEAD: the digest is then of bytes we hold, not a registry's claim.
      return manifestDescriptor(await client.getManifest(target));
    },
    getManifest: (d) => client.getManifest({ ...repo, digest: typeof d === "string" ? d : d.digest }),
    getTagged: (tag) => client.getManifestIfExists({ ...repo, tag }),
    async putManifest(m, opts = {}) {
      const parsed = parseManifestOrIndex(m.bytes, m.mediaType, { digest: m.digest });
      const target = opts.tag === undefined ? { ...repo, digest: m.digest } : { ...repo, tag: opts.tag };
      await client.putManifest(target, parsed);
      return manifestDescriptor(parsed);
    },
    hasBlob: async (d) => (await client.headBlob(repo, d.digest)) !== undefined,
    getBlob: (d, maxBytes) => client.getBlob(repo, d, { maxBytes }),
    blobStream: (d, o = {}) => client.blobStream(repo, d, o.verify === false ? { verify: false } : {}),
    blobInto: (d, sink, o = {}) =>
      client.blobInto(
        repo,
        d,
        sink,
        o.onProgress === undefined ? {} : { onProgress: (done) => o.onProgress?.(done) },
      ),
    // A verified source is not hashed again; anything else is hashed before the final PUT.
    putBlobVerifies: false,
    async putBlob(d, source, o = {}) {
      if (source instanceof Uint8Array && d.size <= MAX_BUFFERED_BLOB) {
        const pushed = await client.pushBlob(repo, source);
        if (pushed.digest !== d.digest) {
          throw cairnError(
            "ERR_OCI_DIGEST_MISMATCH",
            `blob has digest ${pushed.digest}, expected ${d.digest}`,
          );
        }
        return;
      }
      if (opts.upload === "chunked") {
        await client.pushBlobChunked(
          repo,
          source,
          d,
          opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize },
        );
        return;
      }
      await client.pushBlobStream(repo, source, d, o.verified === true ? { verified: true } : {});
    },
    async referrers(digest) {
      return (await client.referrers(repo, digest)).manifests;
    },
  };
}
