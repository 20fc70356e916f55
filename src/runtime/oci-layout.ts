// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 image-layout.md as cairn's embedded store: a directory with `oci-layout`,
// `index.json` and `blobs/<alg>/<encoded>`, read and written the way skopeo's `oci:DIR[:TAG]` does
// (tags are the `org.opencontainers.image.ref.name` annotation on index.json entries).
//
// Crash consistency: a blob is streamed into a temp file while it is hashed, checked against the
// expected digest and size, fsynced, then renamed into place, so a blob path never holds a partial
// or wrong blob. index.json is replaced atomically (writeFileAtomic). Writes go in a garbage-free
// order: blobs before the manifest that names them, the manifest before the index entry that tags
// it, so index.json never names something missing.
//
// Concurrency: index.json updates are serialized within this process (per directory). Separate
// processes writing the same layout at once are not coordinated (skopeo does not lock either); the
// last index.json writer wins, but no writer can leave it torn.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { CairnError, cairnError } from "../core/errors.js";
import type { BodySink } from "../engines/oci/index.js";
import {
  ANNOTATION_REF_NAME,
  blobRelativePath,
  type Descriptor,
  digestAlgorithm,
  type ImageIndex,
  isIndexMediaType,
  isManifestMediaType,
  isValidRefName,
  layoutHeaderBytes,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_OCI_INDEX,
  manifestDescriptor,
  type OciDigest,
  type OciDigestAlgorithm,
  type ParsedManifestOrIndex,
  parseDigest,
  parseImageIndex,
  parseLayoutHeader,
  parseManifestOrIndex,
  validateDescriptor,
  verifyDigest,
} from "../formats/oci/index.js";
import { readFileIfExists, writeFileAtomic } from "./fs.js";
import { type HashWriter, mainThreadHashWriter, workerHashWriter } from "./hash-writer.js";

/** Largest index.json accepted (it grows by one entry, a few hundred bytes, per tag). */
export const MAX_LAYOUT_INDEX_BYTES = 16 * 1024 * 1024;
/** Largest blob read whole into memory by getBlob; larger blobs go through blobStream. */
export const MAX_BLOB_READ_BYTES = 64 * 1024 * 1024;
/** Deepest chain of nested indexes followed by verifyContents. */
export const MAX_INDEX_NESTING = 8;
/** Most manifests and blobs verifyContents visits in one layout. */
export const MAX_LAYOUT_OBJECTS = 100_000;

export interface OciLayoutOptions {
  /** Bound on index.json, default MAX_LAYOUT_INDEX_BYTES. */
  maxIndexBytes?: number;
}

/** What a put must match. Without `digest` the blob is named by what was hashed. */
export interface PutBlobOptions {
  digest?: string;
  size?: number;
  /** Refuse sources longer than this (ERR_OCI_TOO_LARGE), checked while streaming. */
  maxBytes?: number;
  /** Algorithm when no digest is expected; default sha256. */
  algorithm?: OciDigestAlgorithm;
  /**
   * Called once the whole source has been read and checked, before the blob is made durable
   * (fsync, rename): a caller may start its next transfer while this one is synced. The put
   * still resolves only when the blob is durable and in place.
   */
  onReceived?: () => void;
}

/**
 * Bytes, chunks from a stream (a Node Readable is an AsyncIterable), or a function that fills the
 * sink it is given (a registry GET: RegistryClient.blobInto), which is a blob thread's: the body
 * is then hashed and written off the main thread as it arrives (see hash-writer.ts).
 */
export type BlobSource =
  | Uint8Array
  | Iterable<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | ((sink: BodySink) => Promise<void>);

export interface PutManifestOptions {
  /** The expected media type (from a descriptor or Content-Type); must agree with the content's. */
  mediaType?: string;
  /** The expected digest of the bytes. */
  digest?: string;
  /** Tag the manifest in index.json after storing it. */
  tag?: string;
}

// Per-directory queue of index.json updates in this process.
const indexQueues = new Map<string, Promise<unknown>>();

function ioError(e: unknown, file: string, verb: string): CairnError {
  if (e instanceof CairnError) return e;
  const err = e as NodeJS.ErrnoException;
  return cairnError("ERR_IO", `cannot ${verb} ${file}: ${err.code ?? err.message}`, { file }, { cause: e });
}

function refNameOf(d: Descriptor): string | undefined {
  return d.annotations?.[ANNOTATION_REF_NAME];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw ioError(e, path, "stat");
  }
}

/** Bytes gathered before one write of a streamed blob (small network chunks are batched). */
export const BLOB_WRITE_BATCH_BYTES = 2 * 1024 * 1024;
/** Blobs at least this large (or of unknown size) are hashed and written by a worker thread. */
export const HASH_WORKER_MIN_BYTES = 8 * 1024 * 1024;

async function* chunksOf(source: BlobSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const c of source as AsyncIterable<Uint8Array | string>) {
    yield typeof c === "string" ? Buffer.from(c) : c;
  }
}

/** An OCI image layout directory opened as a content-addressed store. */
export class OciLayout {
  /** The layout's directory, absolute. */
  readonly dir: string;
  readonly indexPath: string;
  private readonly maxIndexBytes: number;

  private constructor(dir: string, opts: OciLayoutOptions) {
    this.dir = resolve(dir);
    this.indexPath = join(this.dir, "index.json");
    this.maxIndexBytes = opts.maxIndexBytes ?? MAX_LAYOUT_INDEX_BYTES;
  }

  /**
   * Opens the layout at `dir`, creating it (directory, blobs/, an empty index.json, then the
   * oci-layout marker last) when it does not exist yet. An existing layout is validated as by open.
   */
  static async init(dir: string, opts: OciLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(dir, opts);
    const headerPath = join(layout.dir, "oci-layout");
    try {
      await mkdir(join(layout.dir, "blobs"), { recursive: true });
    } catch (e) {
      throw ioError(e, layout.dir, "create");
    }
    if (!(await exists(layout.indexPath))) {
      await writeFileAtomic(
        layout.indexPath,
        `${JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [] })}\n`,
      );
    }
    if (!(await exists(headerPath))) await writeFileAtomic(headerPath, layoutHeaderBytes());
    await layout.check();
    return layout;
  }

  /** Opens an existing layout: ERR_OCI_LAYOUT_INVALID naming the file when it is not one. */
  static async open(dir: string, opts: OciLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(dir, opts);
    await layout.check();
    return layout;
  }

  private async check(): Promise<void> {
    // image-layout.md "Content": oci-layout and index.json MUST exist; blobs/ MUST exist.
    const headerPath = join(this.dir, "oci-layout");
    const header = await readFileIfExists(headerPath);
    if (header === undefined) {
      throw cairnError("ERR_OCI_LAYOUT_INVALID", "not an OCI image layout: oci-layout is missing", {
        file: headerPath,
      });
    }
    parseLayoutHeader(header, headerPath);
    const blobs = join(this.dir, "blobs");
    if (!(await exists(blobs)))
      throw cairnError("ERR_OCI_LAYOUT_INVALID", "the blobs directory is missing", { file: blobs });
    await this.readIndex();
  }

  /** The absolute path of a blob (only sha256 and sha512 digests name paths). */
  blobPath(digest: string): string {
    return join(this.dir, blobRelativePath(digest));
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /**
   * Stores a blob: streamed into a temp file while hashed, checked against `opts.digest` and
   * `opts.size` (ERR_OCI_DIGEST_MISMATCH; the size is enforced while streaming, so an over-long
   * source stops early), fsynced, then renamed into blobs/. A failed put leaves no blob and no temp
   * file. When the expected blob is already present with the expected size, the source is not read.
   */
  async putBlob(source: BlobSource, opts: PutBlobOptions = {}): Promise<{ digest: OciDigest; size: number }> {
    const algorithm = opts.digest !== undefined ? digestAlgorithm(opts.digest) : (opts.algorithm ?? "sha256");
    if (opts.digest !== undefined && opts.size !== undefined) {
      const st = await stat(this.blobPath(opts.digest)).catch(() => undefined);
      if (st?.isFile() && st.size === opts.size) return { digest: opts.digest as OciDigest, size: opts.size };
    }
    const tmp = join(this.dir, `.cairn-tmp-${randomBytes(8).toString("hex")}`);
    let fh: FileHandle | undefined;
    // Chunks are copied into one of two batch buffers of about BLOB_WRITE_BATCH_BYTES that only
    // this function holds (so what is hashed is exactly what is written, even if a source reuses
    // its buffers); each full buffer is hashed and written (by a worker thread for a large blob,
    // see hash-writer.ts) while the other is filled. Nothing is kept before the checks below pass.
    if (typeof source === "function") return this.putFilled(source, algorithm, opts);
    const known = source instanceof Uint8Array ? source.byteLength : opts.size;
    const batchSize = Math.max(1, Math.min(BLOB_WRITE_BATCH_BYTES, known ?? BLOB_WRITE_BATCH_BYTES));
    const offThread = known === undefined || known >= HASH_WORKER_MIN_BYTES;
    let buf: Buffer = Buffer.allocUnsafeSlow(batchSize);
    let inFlight: Promise<Buffer> | undefined;
    let used = 0;
    let writer: HashWriter | undefined;
    const flush = async (w: HashWriter) => {
      if (used === 0) return;
      const previous = inFlight;
      inFlight = w.write(buf, used);
      inFlight.catch(() => {}); // awaited later; not an unhandled rejection meanwhile
      used = 0;
      // The buffer of the write before this one comes back to be filled again.
      buf = previous === undefined ? Buffer.allocUnsafeSlow(batchSize) : await previous;
    };
    try {
      fh = await open(tmp, "wx", 0o644);
      const w = offThread ? workerHashWriter(fh, algorithm) : mainThreadHashWriter(fh, algorithm);
      writer = w;
      let n = 0;
      for await (const chunk of chunksOf(source)) {
        n += chunk.byteLength;
        // The source is untrusted: stop as soon as it is longer than it may be.
        if (opts.size !== undefined && n > opts.size) {
          throw cairnError(
            "ERR_OCI_DIGEST_MISMATCH",
            `blob is longer than the expected ${opts.size} bytes`,
            opts.digest === undefined ? {} : { file: this.blobPath(opts.digest) },
          );
        }
        if (opts.maxBytes !== undefined && n > opts.maxBytes) {
          throw cairnError("ERR_OCI_TOO_LARGE", `blob is larger than the limit of ${opts.maxBytes} bytes`);
        }
        for (let off = 0; off < chunk.byteLength; ) {
          const take = Math.min(batchSize - used, chunk.byteLength - off);
          buf.set(chunk.subarray(off, off + take), used);
          used += take;
          off += take;
          if (used === batchSize) await flush(w);
        }
      }
      await flush(w);
      // The batch buffers are not needed while the blob is synced (several may be syncing).
      buf = Buffer.alloc(0);
      inFlight = undefined;
      return await this.keep(w, algorithm, fh, tmp, n, opts);
    } catch (e) {
      return this.abandon(e, tmp, fh, writer);
    }
  }

  /** putBlob from a fill function: its sink is hashed and written in a blob thread. */
  private async putFilled(
    fill: (sink: BodySink) => Promise<void>,
    algorithm: OciDigestAlgorithm,
    opts: PutBlobOptions,
  ): Promise<{ digest: OciDigest; size: number }> {
    const tmp = join(this.dir, `.cairn-tmp-${randomBytes(8).toString("hex")}`);
    let fh: FileHandle | undefined;
    let writer: HashWriter | undefined;
    try {
      fh = await open(tmp, "wx", 0o644);
      // The source is untrusted: the thread refuses a byte past the size (or the limit).
      const w = workerHashWriter(fh, algorithm, opts.size ?? opts.maxBytes);
      writer = w;
      await fill(w.sink);
      const n = w.sink.written;
      if (opts.maxBytes !== undefined && n > opts.maxBytes) {
        throw cairnError("ERR_OCI_TOO_LARGE", `blob is larger than the limit of ${opts.maxBytes} bytes`);
      }
      return await this.keep(w, algorithm, fh, tmp, n, opts);
    } catch (e) {
      return this.abandon(e, tmp, fh, writer);
    }
  }

  /** A failed put: nothing is kept, neither the temp file nor a write still under way. */
  private async abandon(
    e: unknown,
    tmp: string,
    fh: FileHandle | undefined,
    writer: HashWriter | undefined,
  ): Promise<never> {
    // No write may still be under way when the descriptor is closed (its number is reused).
    await writer?.settle().catch(() => {});
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw ioError(e, tmp, "write blob");
  }

  /**
   * The last steps of a put, once all `n` bytes are in `tmp`: the digest taken from `w`, the size
   * and digest checked, then fsync, close and the rename into blobs/. (After a failure here the
   * caller's cleanup may settle `w` and close `fh` again: both are harmless.)
   */
  private async keep(
    w: HashWriter,
    algorithm: OciDigestAlgorithm,
    fh: FileHandle,
    tmp: string,
    n: number,
    opts: PutBlobOptions,
  ): Promise<{ digest: OciDigest; size: number }> {
    const digest = `${algorithm}:${await w.digest()}` as OciDigest;
    const final = this.blobPath(digest);
    if (opts.size !== undefined && n !== opts.size) {
      // Longer sources were stopped while streaming: this one ended early.
      throw cairnError(
        "ERR_OCI_BLOB_TRUNCATED",
        `blob is truncated: ${n} of the expected ${opts.size} bytes were received`,
        { file: final },
      );
    }
    if (opts.digest !== undefined && digest !== opts.digest) {
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", `blob has digest ${digest}, expected ${opts.digest}`, {
        file: this.blobPath(opts.digest),
      });
    }
    opts.onReceived?.();
    await fh.sync();
    await fh.close();
    await mkdir(join(this.dir, "blobs", algorithm), { recursive: true });
    await rename(tmp, final);
    return { digest, size: n };
  }

  /**
   * Reads a whole blob and verifies it (size first when given, then digest): ERR_OCI_BLOB_NOT_FOUND,
   * ERR_OCI_DIGEST_MISMATCH, or ERR_OCI_TOO_LARGE beyond `maxBytes` (default MAX_BLOB_READ_BYTES).
   */
  async getBlob(digest: string, opts: { size?: number; maxBytes?: number } = {}): Promise<Buffer> {
    const path = this.blobPath(digest);
    const max = opts.maxBytes ?? MAX_BLOB_READ_BYTES;
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw cairnError("ERR_OCI_BLOB_NOT_FOUND", `blob ${digest} is not in the layout`, { file: path });
      }
      throw ioError(e, path, "read");
    }
    try {
      const { size } = await fh.stat();
      if (opts.size !== undefined && size !== opts.size) {
        throw cairnError("ERR_OCI_DIGEST_MISMATCH", `blob is ${size} bytes, expected ${opts.size}`, {
          file: path,
        });
      }
      if (size > max)
        throw cairnError("ERR_OCI_TOO_LARGE", `blob is ${size} bytes, more than the limit of ${max}`, {
          file: path,
        });
      const bytes = await readFile(fh);
      return verifyDigest(bytes, digest, {
        file: path,
        ...(opts.size === undefined ? {} : { size: opts.size }),
      });
    } catch (e) {
      throw ioError(e, path, "read");
    } finally {
      await fh.close().catch(() => {});
    }
  }

  /**
   * Streams a blob of any size in bounded memory. The digest (and `size`, enforced as it streams) is
   * checked at the end: the stream errors with ERR_OCI_DIGEST_MISMATCH instead of ending, so a
   * consumer must treat what it read as unverified until the stream has ended without error.
   */
  blobStream(digest: string, opts: { size?: number } = {}): Readable {
    const path = this.blobPath(digest);
    const algorithm = digestAlgorithm(digest);
    async function* gen(): AsyncGenerator<Buffer> {
      const hash = createHash(algorithm);
      let n = 0;
      const rs = createReadStream(path, { highWaterMark: 1024 * 1024 });
      try {
        for await (const chunk of rs as AsyncIterable<Buffer>) {
          n += chunk.byteLength;
          if (opts.size !== undefined && n > opts.size) {
            throw cairnError(
              "ERR_OCI_DIGEST_MISMATCH",
              `blob is longer than the expected ${opts.size} bytes`,
              { file: path },
            );
          }
          hash.update(chunk);
          yield chunk;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
          throw cairnError("ERR_OCI_BLOB_NOT_FOUND", `blob ${digest} is not in the layout`, { file: path });
        }
        throw ioError(e, path, "read");
      } finally {
        rs.destroy();
      }
      if (opts.size !== undefined && n !== opts.size) {
        throw cairnError("ERR_OCI_DIGEST_MISMATCH", `blob is ${n} bytes, expected ${opts.size}`, {
          file: path,
        });
      }
      const actual = `${algorithm}:${hash.digest("hex")}`;
      if (actual !== digest) {
        throw cairnError("ERR_OCI_DIGEST_MISMATCH", `blob has digest ${actual}, expected ${digest}`, {
          file: path,
        });
      }
    }
    return Readable.from(gen(), { objectMode: false });
  }

  /**
   * Removes a blob; false when it was not there. The caller keeps index.json and manifests
   * consistent (delete the tag first, then the manifest, then the blobs no manifest names).
   */
  async deleteBlob(digest: string): Promise<boolean> {
    const path = this.blobPath(digest);
    try {
      await unlink(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw ioError(e, path, "delete");
    }
  }

  /** Reads and validates index.json (bounded; ERR_OCI_LAYOUT_INVALID when missing). */
  async readIndex(): Promise<ImageIndex> {
    const bytes = await readFileIfExists(this.indexPath);
    if (bytes === undefined) {
      throw cairnError("ERR_OCI_LAYOUT_INVALID", "not an OCI image layout: index.json is missing", {
        file: this.indexPath,
      });
    }
    // image-layout.md: index.json "MUST be an image index JSON object".
    return parseImageIndex(bytes, MEDIA_TYPE_OCI_INDEX, {
      file: this.indexPath,
      maxBytes: this.maxIndexBytes,
    }).index;
  }

  /**
   * Reads index.json, lets `mutate` change it (or return a replacement), validates the result and
   * replaces the file atomically. Updates in this process are serialized; if `mutate` throws, the
   * file is left as it was.
   */
  async updateIndex(
    mutate: (index: ImageIndex) => ImageIndex | undefined | Promise<ImageIndex | undefined>,
  ): Promise<ImageIndex> {
    const prev = indexQueues.get(this.dir) ?? Promise.resolve();
    const run = prev.then(async () => {
      const index = await this.readIndex();
      const next = (await mutate(index)) ?? index;
      const bytes = Buffer.from(`${JSON.stringify(next)}\n`);
      if (bytes.byteLength > this.maxIndexBytes) {
        throw cairnError(
          "ERR_OCI_TOO_LARGE",
          `index.json would be ${bytes.byteLength} bytes, more than ${this.maxIndexBytes}`,
          {
            file: this.indexPath,
          },
        );
      }
      parseImageIndex(bytes, MEDIA_TYPE_OCI_INDEX, { file: this.indexPath, maxBytes: this.maxIndexBytes });
      await writeFileAtomic(this.indexPath, bytes);
      return next;
    });
    const settled = run.catch(() => {});
    indexQueues.set(this.dir, settled);
    void settled.then(() => {
      if (indexQueues.get(this.dir) === settled) indexQueues.delete(this.dir);
    });
    return run;
  }

  /**
   * Stores a manifest or index as the exact bytes given, after checking that every blob it names
   * is already in the layout (config and layers; for an index, its manifests). Descriptors with
   * `urls` (foreign layers) may be absent. Tags it when `opts.tag` is given. Returns its descriptor.
   */
  async putManifest(bytes: Uint8Array, opts: PutManifestOptions = {}): Promise<Descriptor> {
    const parsed = parseManifestOrIndex(bytes, opts.mediaType, {
      maxBytes: MAX_MANIFEST_BYTES,
      ...(opts.digest === undefined ? {} : { digest: opts.digest }),
    });
    const children: [string, Descriptor][] =
      parsed.kind === "manifest"
        ? [
            ["config", parsed.manifest.config],
            ...parsed.manifest.layers.map((d, i): [string, Descriptor] => [`layers[${i}]`, d]),
          ]
        : parsed.index.manifests.map((d, i): [string, Descriptor] => [`manifests[${i}]`, d]);
    for (const [field, d] of children) {
      if (d.urls !== undefined && d.urls.length > 0) continue;
      if (!(await this.hasBlob(d.digest))) {
        throw cairnError(
          "ERR_OCI_BLOB_NOT_FOUND",
          `${d.digest} is not in the layout: store blobs before the manifest that names them`,
          {
            file: this.blobPath(d.digest),
            field,
          },
        );
      }
    }
    // Crash consistency: a blob's rename is durable once its directory is synced. One sync of
    // blobs/<alg> covers every blob put so far, before the manifest naming them is stored, and
    // again before index.json (written after this returns) names the manifest.
    await this.syncBlobDirs(children.map(([, d]) => d.digest));
    await this.putBlob(bytes, { digest: parsed.digest, size: parsed.size });
    await this.syncBlobDirs([parsed.digest]);
    const artifactType =
      parsed.kind === "manifest" ? parsed.manifest.artifactType : parsed.index.artifactType;
    const desc = manifestDescriptor(parsed, artifactType === undefined ? {} : { artifactType });
    if (opts.tag !== undefined) await this.tag(opts.tag, desc);
    return desc;
  }

  private async syncBlobDirs(digests: string[]): Promise<void> {
    for (const alg of new Set(digests.map((d) => d.slice(0, d.indexOf(":"))))) {
      const dir = join(this.dir, "blobs", alg);
      let fh: FileHandle | undefined;
      try {
        fh = await open(dir, "r");
        await fh.sync();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(e, dir, "sync");
      } finally {
        await fh?.close().catch(() => {});
      }
    }
  }

  /** Reads a manifest or index by digest or descriptor, verified and parsed (bytes kept exact). */
  async getManifest(ref: string | Descriptor): Promise<ParsedManifestOrIndex> {
    const d = typeof ref === "string" ? undefined : ref;
    const digest = typeof ref === "string" ? ref : ref.digest;
    const path = this.blobPath(digest);
    const bytes = await this.getBlob(digest, {
      maxBytes: MAX_MANIFEST_BYTES,
      ...(d ? { size: d.size } : {}),
    }).catch((e: unknown) => {
      if (e instanceof CairnError && e.code === "ERR_OCI_TOO_LARGE") {
        throw cairnError("ERR_OCI_TOO_LARGE", `manifest is more than ${MAX_MANIFEST_BYTES} bytes`, {
          file: path,
        });
      }
      throw e;
    });
    return parseManifestOrIndex(bytes, d?.mediaType, { digest, file: path });
  }

  /**
   * Points a tag at a manifest already in the layout: index.json gets the descriptor with the
   * `org.opencontainers.image.ref.name` annotation, replacing any entry with the same tag (as
   * skopeo's `oci:DIR:TAG` does).
   */
  async tag(tag: string, desc: Descriptor): Promise<void> {
    if (!isValidRefName(tag)) {
      throw cairnError("ERR_FIELD_INVALID", `"${tag}" is not a valid tag (annotations.md ref.name grammar)`, {
        field: "tag",
      });
    }
    const d = validateDescriptor(structuredClone(desc));
    if (!(await this.hasBlob(d.digest))) {
      throw cairnError(
        "ERR_OCI_BLOB_NOT_FOUND",
        `${d.digest} is not in the layout: store the manifest before tagging it`,
        {
          file: this.blobPath(d.digest),
        },
      );
    }
    await this.updateIndex((index) => {
      index.manifests = index.manifests.filter((m) => refNameOf(m) !== tag);
      index.manifests.push({ ...d, annotations: { ...d.annotations, [ANNOTATION_REF_NAME]: tag } });
      return index;
    });
  }

  /** Adds an untagged entry to index.json (for content that must stay reachable), once per digest. */
  async addIndexEntry(desc: Descriptor): Promise<void> {
    const d = validateDescriptor(structuredClone(desc));
    if (!(await this.hasBlob(d.digest))) {
      throw cairnError("ERR_OCI_BLOB_NOT_FOUND", `${d.digest} is not in the layout`, {
        file: this.blobPath(d.digest),
      });
    }
    await this.updateIndex((index) => {
      if (!index.manifests.some((m) => m.digest === d.digest && refNameOf(m) === undefined))
        index.manifests.push(d);
      return index;
    });
  }

  /** Removes a tag from index.json; false when there was none. The manifest blob stays. */
  async untag(tag: string): Promise<boolean> {
    let removed = false;
    await this.updateIndex((index) => {
      const kept = index.manifests.filter((m) => refNameOf(m) !== tag);
      removed = kept.length !== index.manifests.length;
      index.manifests = kept;
      return index;
    });
    return removed;
  }

  /** The tags in index.json, in index order, each once. */
  async listTags(): Promise<string[]> {
    const tags = new Set<string>();
    for (const m of (await this.readIndex()).manifests) {
      const t = refNameOf(m);
      if (t !== undefined) tags.add(t);
    }
    return [...tags];
  }

  /**
   * Resolves a reference to a manifest descriptor: a tag (ref.name annotation), a digest (an index
   * entry, or a manifest blob in the layout), or, with no reference, the only entry of index.json
   * (as skopeo's `oci:DIR` does). ERR_OCI_BLOB_NOT_FOUND when nothing matches.
   */
  async resolve(ref?: string): Promise<Descriptor> {
    const index = await this.readIndex();
    if (ref === undefined) {
      if (index.manifests.length === 1) return index.manifests[0]!;
      throw cairnError(
        "ERR_USAGE",
        `index.json has ${index.manifests.length} entries: name a tag or digest`,
        { file: this.indexPath },
      );
    }
    const asDigest = (() => {
      try {
        return parseDigest(ref).registered ? ref : undefined;
      } catch {
        return undefined;
      }
    })();
    if (asDigest !== undefined) {
      const entry = index.manifests.find((m) => m.digest === asDigest);
      if (entry) return entry;
      if (!(await this.hasBlob(asDigest))) {
        throw cairnError("ERR_OCI_BLOB_NOT_FOUND", `no manifest ${asDigest} in the layout`, {
          file: this.blobPath(asDigest),
        });
      }
      const m = await this.getManifest(asDigest);
      return manifestDescriptor(m);
    }
    const matches = index.manifests.filter((m) => refNameOf(m) === ref);
    if (matches.length === 0)
      throw cairnError("ERR_OCI_BLOB_NOT_FOUND", `no tag "${ref}" in the layout`, {
        file: this.indexPath,
        field: "tag",
      });
    if (matches.some((m) => m.digest !== matches[0]!.digest)) {
      throw cairnError("ERR_OCI_LAYOUT_INVALID", `tag "${ref}" names ${matches.length} different manifests`, {
        file: this.indexPath,
      });
    }
    return matches[0]!;
  }

  /**
   * Verifies everything reachable from index.json (or from `roots`): every manifest and index is
   * read, parsed and checked against its descriptor, and every config and layer blob is hashed in
   * bounded memory. Blobs with `urls` that are absent are skipped. Throws on the first problem.
   */
  async verifyContents(roots?: Descriptor[]): Promise<{ manifests: number; blobs: number }> {
    const seen = new Set<string>();
    let manifests = 0;
    let blobs = 0;
    const visit = async (d: Descriptor, depth: number): Promise<void> => {
      if (seen.has(d.digest)) return;
      seen.add(d.digest);
      if (seen.size > MAX_LAYOUT_OBJECTS) {
        throw cairnError("ERR_OCI_TOO_LARGE", `more than ${MAX_LAYOUT_OBJECTS} objects reachable`, {
          file: this.indexPath,
        });
      }
      const m = await this.getManifest(d);
      manifests++;
      if (m.kind === "index") {
        if (depth >= MAX_INDEX_NESTING) {
          throw cairnError("ERR_OCI_TOO_LARGE", `indexes nested deeper than ${MAX_INDEX_NESTING}`, {
            file: this.blobPath(d.digest),
          });
        }
        for (const child of m.index.manifests) {
          // image-index.md: an unknown mediaType MUST NOT generate an error; hash it as a blob.
          if (isManifestMediaType(child.mediaType) || isIndexMediaType(child.mediaType))
            await visit(child, depth + 1);
          else if (await this.verifyBlob(child, seen)) blobs++;
        }
        return;
      }
      for (const b of [m.manifest.config, ...m.manifest.layers]) if (await this.verifyBlob(b, seen)) blobs++;
    };
    for (const d of roots ?? (await this.readIndex()).manifests) await visit(d, 0);
    return { manifests, blobs };
  }

  private async verifyBlob(d: Descriptor, seen: Set<string>): Promise<boolean> {
    if (seen.has(d.digest)) return false;
    seen.add(d.digest);
    if (d.urls !== undefined && d.urls.length > 0 && !(await this.hasBlob(d.digest))) return false;
    for await (const _ of this.blobStream(d.digest, { size: d.size })) {
      // hashed as it streams; the stream errors on a mismatch
    }
    return true;
  }
}
