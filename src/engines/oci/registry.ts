// SPDX-License-Identifier: Apache-2.0
// A registry client for the OCI distribution-spec 1.1 over an injected HttpPort: manifests
// (end-3, end-7, end-9), blobs (end-2, end-10) with verified streaming and resume, monolithic
// (end-4a + end-6) and chunked (end-5) uploads, cross-repository mounts (end-11), tags with
// pagination (end-8a/b), the referrers API (end-12a/b) and its tag-schema fallback, retries with
// backoff, and the token flow of distribution docs/spec/auth/token.md.
//
// Threats: everything a registry sends is untrusted. Content is verified against the digest
// that names it before it is returned (a stream's last chunk throws if the whole does not
// match); every body is bounded; Link and Location targets must stay on the registry's origin
// for credentials to be sent; registry messages are cleaned before they reach a terminal.
import { createHash } from "node:crypto";
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import {
  type Descriptor,
  digestAlgorithm,
  digestOf,
  isIndexMediaType,
  isManifestMediaType,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  manifestDescriptor,
  newImageIndex,
  type OciDigest,
  type ParsedManifestOrIndex,
  parseDigest,
  parseImageIndex,
  parseManifestOrIndex,
} from "../../formats/oci/index.js";
import {
  basicAuthorization,
  type Challenge,
  nextLink,
  parseChallenges,
  repositoryScope,
  TokenCache,
} from "./auth.js";
import type {
  BodySink,
  Credential,
  CredentialPort,
  HttpMethod,
  HttpPort,
  HttpResponse,
  Sleep,
} from "./ports.js";
import {
  apiHost,
  type ImageReference,
  isRepositoryName,
  isTag,
  type Repository,
  referrersTag,
} from "./reference.js";

/** Retries of an idempotent request after 429, 5xx or no answer. */
export const DEFAULT_MAX_RETRIES = 3;
/** First backoff delay; doubled each retry. */
export const DEFAULT_RETRY_BASE_MS = 250;
/** Longest wait between retries, Retry-After included: a registry cannot stall the client longer. */
export const MAX_RETRY_DELAY_MS = 30_000;
/** Default chunk of a chunked upload. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/** Largest chunk a registry may demand with OCI-Chunk-Min-Length (it is held in memory). */
export const MAX_CHUNK_BYTES = 256 * 1024 * 1024;
/** Largest blob `getBlob` holds in memory; larger blobs are read with `blobStream`. */
export const DEFAULT_MAX_BLOB_IN_MEMORY = 256 * 1024 * 1024;
/** Largest tag list or error body read. */
export const MAX_LIST_BYTES = 8 * 1024 * 1024;
/** Most pages followed through Link headers (tags, referrers). */
export const MAX_PAGES = 1000;
/** Most tags accepted from one repository listing. */
export const MAX_TAGS = 1_000_000;
/** Times a broken blob download is resumed with a Range request. */
export const MAX_RESUMES = 5;
/** Bytes of an error body read, and characters of a registry message shown. */
const MAX_ERROR_BODY = 64 * 1024;
const MAX_MESSAGE_CHARS = 300;

/** The media types a manifest GET accepts (distribution-spec "Pulling manifests": Accept). */
export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
];

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(["GET", "HEAD", "PUT", "DELETE"]);
const RETRY_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export interface RegistryClientOptions {
  http: HttpPort;
  /** Where credentials come from; anonymous when absent. */
  credentials?: CredentialPort;
  /** skopeo's --tls-verify: false talks plain HTTP (a local registry). Default true (HTTPS). */
  tlsVerify?: boolean;
  sleep?: Sleep;
  /** Milliseconds since the epoch (token expiry). */
  now?: () => number;
  maxRetries?: number;
  retryBaseMs?: number;
  /** Bound on manifests and indexes read (default MAX_MANIFEST_BYTES, 4 MiB). */
  maxManifestBytes?: number;
  userAgent?: string;
}

/** A registry error as the spec gives it: the HTTP status and the `errors` array (cleaned). */
export interface RegistryErrorDetail {
  status: number;
  errors: { code: string; message: string }[];
}

const errorDetails = new WeakMap<object, RegistryErrorDetail>();

/** The registry's own error codes behind a CairnError from the client, if it came from one. */
export function registryErrorOf(e: unknown): RegistryErrorDetail | undefined {
  return typeof e === "object" && e !== null ? errorDetails.get(e) : undefined;
}

/** A blob as the registry has it. */
export interface BlobInfo {
  digest: OciDigest;
  size: number;
}

/** The result of a blob push. */
export interface PushedBlob extends BlobInfo {
  /** True when the registry had the blob already and nothing was sent. */
  existed: boolean;
}

/** The result of a manifest push. */
export interface PushedManifest {
  digest: OciDigest;
  /** For a manifest with `subject`: how the referrer was recorded. */
  referrers?: "api" | "tag";
}

/** What listing referrers found, and how. */
export interface ReferrersResult {
  manifests: Descriptor[];
  /** "api": the referrers endpoint answered; "tag": the sha256-<hex> tag fallback was read. */
  source: "api" | "tag";
}

interface Call {
  method: HttpMethod;
  url: string;
  repo: Repository;
  scopes: string[];
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  maxBytes: number;
  response?: "bytes" | "stream" | "sink";
  sink?: BodySink;
  maxErrorBytes?: number;
  /** Statuses that are success. */
  ok: readonly number[];
  /** Return a 404 instead of throwing. */
  allow404?: boolean;
  /** Never retry, even when idempotent (upload steps whose session may have moved on). */
  noRetry?: boolean;
  /** What is being done, for messages. */
  what: string;
}

/**
 * A client for one or more registries. Methods throw CairnErrors: ERR_OCI_REGISTRY_NOT_FOUND,
 * ERR_OCI_REGISTRY_REFUSED, ERR_OCI_AUTH_REFUSED, ERR_OCI_REGISTRY_OVERLOADED and
 * ERR_OCI_REGISTRY_ERROR for registry answers (the spec's codes via `registryErrorOf`),
 * ERR_OCI_REGISTRY_UNREACHABLE when no answer comes, ERR_OCI_DIGEST_MISMATCH and
 * ERR_OCI_TOO_LARGE for content that does not match or does not fit.
 */
export class RegistryClient {
  readonly #http: HttpPort;
  readonly #creds: CredentialPort | undefined;
  readonly #scheme: "http" | "https";
  readonly #sleep: Sleep;
  readonly #maxRetries: number;
  readonly #retryBase: number;
  readonly #maxManifest: number;
  readonly #userAgent: string | undefined;
  readonly #tokens: TokenCache;
  /** The last challenge each registry host sent, so later requests authenticate up front. */
  readonly #challenges = new Map<string, Challenge>();
  readonly #credCache = new Map<string, Promise<Credential | undefined>>();

  constructor(opts: RegistryClientOptions) {
    this.#http = opts.http;
    this.#creds = opts.credentials;
    this.#scheme = opts.tlsVerify === false ? "http" : "https";
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.#retryBase = opts.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.#maxManifest = opts.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    this.#userAgent = opts.userAgent;
    this.#tokens = new TokenCache({
      http: opts.http,
      now: opts.now ?? Date.now,
      allowHttpRealm: this.#scheme === "http",
      ...(opts.userAgent === undefined ? {} : { userAgent: opts.userAgent }),
    });
  }

  // ---- URLs ----

  /** The base URL of a registry's API: `https://HOST/v2/`. */
  baseUrl(registry: string): string {
    return `${this.#scheme}://${apiHost(registry)}/v2/`;
  }

  #repoUrl(repo: Repository, path: string): string {
    checkRepository(repo);
    return `${this.baseUrl(repo.registry)}${repo.repository}/${path}`;
  }

  // ---- API version check (end-1) ----

  /** end-1 `GET /v2/`: resolves when the registry implements the spec (authenticating if asked). */
  async ping(registry: string): Promise<void> {
    const repo = { registry, repository: "" };
    await this.#call({
      method: "GET",
      url: this.baseUrl(registry),
      repo,
      scopes: [],
      maxBytes: MAX_ERROR_BODY,
      ok: [200],
      what: "check the API version",
    });
  }

  // ---- manifests ----

  /**
   * end-3 `GET /v2/<name>/manifests/<reference>`. The bytes are verified against the reference's
   * digest, or for a tag against Docker-Content-Digest when the registry sends one, then parsed
   * (and validated) as a manifest or index. Returns the verified document.
   */
  async getManifest(
    ref: ImageReference,
    accept: readonly string[] = DEFAULT_MANIFEST_ACCEPT,
  ): Promise<ParsedManifestOrIndex> {
    const res = await this.#manifestRequest("GET", ref, accept, false);
    return this.#parseManifestResponse(ref, res);
  }

  async #manifestRequest(
    method: "GET" | "HEAD",
    ref: ImageReference,
    accept: readonly string[],
    allow404: boolean,
  ) {
    const reference = referenceOf(ref);
    return this.#call({
      method,
      url: this.#repoUrl(ref, `manifests/${reference}`),
      repo: ref,
      scopes: [repositoryScope(ref.repository, ["pull"])],
      headers: { accept: accept.join(", ") },
      maxBytes: this.#maxManifest,
      ok: [200],
      allow404,
      what: `${method === "GET" ? "get" : "check"} manifest ${reference} of ${ref.registry}/${ref.repository}`,
    });
  }

  #parseManifestResponse(ref: ImageReference, res: HttpResponse): ParsedManifestOrIndex {
    const ct = contentType(res);
    const hint = ct !== undefined && (isManifestMediaType(ct) || isIndexMediaType(ct)) ? ct : undefined;
    const headerDigest = verifiableDigest(res.headers["docker-content-digest"]);
    if (ref.digest !== undefined && headerDigest !== undefined && headerDigest !== ref.digest) {
      throw cairnError(
        "ERR_OCI_DIGEST_MISMATCH",
        `asked for ${ref.digest}, the registry says it sent ${headerDigest}`,
        { file: res.url },
      );
    }
    // distribution-spec "Pulling manifests": the client SHOULD verify the returned manifest
    // against the digest it asked for (or the one the registry claims for a tag).
    const expected = ref.digest ?? headerDigest;
    return parseManifestOrIndex(res.body, hint, {
      file: res.url,
      maxBytes: this.#maxManifest,
      ...(expected === undefined ? {} : { digest: expected }),
    });
  }

  /** getManifest, or undefined when the registry says it does not exist (404). */
  async getManifestIfExists(ref: ImageReference): Promise<ParsedManifestOrIndex | undefined> {
    const res = await this.#manifestRequest("GET", ref, DEFAULT_MANIFEST_ACCEPT, true);
    if (res.status === 404) return undefined;
    return this.#parseManifestResponse(ref, res);
  }

  /**
   * end-3 `HEAD /v2/<name>/manifests/<reference>`: the manifest's descriptor (media type,
   * digest, size as the registry reports them, unverified: nothing was downloaded), or undefined.
   */
  async headManifest(
    ref: ImageReference,
    accept: readonly string[] = DEFAULT_MANIFEST_ACCEPT,
  ): Promise<Descriptor | undefined> {
    const res = await this.#manifestRequest("HEAD", ref, accept, true);
    if (res.status === 404) return undefined;
    const digest = (res.headers["docker-content-digest"] ?? ref.digest) as OciDigest | undefined;
    if (digest === undefined) {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: the registry sent no Docker-Content-Digest`);
    }
    parseDigest(digest, "Docker-Content-Digest");
    if (ref.digest !== undefined && digest !== ref.digest) {
      throw cairnError(
        "ERR_OCI_DIGEST_MISMATCH",
        `asked for ${ref.digest}, the registry answered for ${digest}`,
        {
          file: res.url,
        },
      );
    }
    return { mediaType: contentType(res) ?? MEDIA_TYPE_OCI_MANIFEST, digest, size: contentLength(res) };
  }

  /**
   * end-7 `PUT /v2/<name>/manifests/<reference>` (a tag, or the manifest's own digest). The
   * exact bytes are sent. For a manifest with `subject`, when the registry does not answer with
   * OCI-Subject (it has no referrers API), the referrers tag `<alg>-<hex>` is updated as
   * distribution-spec 1.1 "Pushing Manifests with Subject" asks of clients.
   */
  async putManifest(ref: ImageReference, m: ParsedManifestOrIndex): Promise<PushedManifest> {
    const reference = referenceOf(ref);
    if (ref.digest !== undefined && ref.digest !== m.digest) {
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", `the manifest is ${m.digest}, not ${ref.digest}`);
    }
    const res = await this.#call({
      method: "PUT",
      url: this.#repoUrl(ref, `manifests/${reference}`),
      repo: ref,
      scopes: [repositoryScope(ref.repository, ["pull", "push"])],
      headers: { "content-type": m.mediaType },
      body: m.bytes,
      maxBytes: MAX_ERROR_BODY,
      ok: [201],
      what: `push manifest ${reference} to ${ref.registry}/${ref.repository}`,
    });
    const said = verifiableDigest(res.headers["docker-content-digest"]);
    if (said !== undefined && digestAlgorithm(said) === digestAlgorithm(m.digest) && said !== m.digest) {
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", `pushed ${m.digest}, the registry stored ${said}`, {
        file: res.url,
      });
    }
    const subject = m.kind === "manifest" ? m.manifest.subject : m.index.subject;
    if (subject === undefined) return { digest: m.digest };
    if (res.headers["oci-subject"] !== undefined) return { digest: m.digest, referrers: "api" };
    await this.#addToReferrersTag(ref, subject.digest, referrerDescriptor(m));
    return { digest: m.digest, referrers: "tag" };
  }

  async #addToReferrersTag(repo: Repository, subject: string, desc: Descriptor): Promise<void> {
    // distribution-spec 1.1 "Pushing Manifests with Subject", registries without the referrers
    // API: pull the index at the referrers tag (or start an empty one), add the descriptor,
    // push it back. Two writers at once may lose an entry: the spec accepts that race.
    const tagRef = { registry: repo.registry, repository: repo.repository, tag: referrersTag(subject) };
    const existing = await this.getManifestIfExists(tagRef);
    if (existing !== undefined && existing.kind !== "index") {
      throw cairnError(
        "ERR_OCI_MEDIA_TYPE",
        `the referrers tag ${tagRef.tag} holds ${existing.mediaType}, not an index`,
      );
    }
    const manifests = existing?.index.manifests ?? [];
    if (manifests.some((d) => d.digest === desc.digest)) return;
    await this.putManifest(tagRef, newImageIndex({ manifests: [...manifests, desc] }));
  }

  /** end-9 `DELETE /v2/<name>/manifests/<reference>` (a digest; some registries accept a tag). */
  async deleteManifest(ref: ImageReference): Promise<void> {
    const reference = referenceOf(ref);
    await this.#call({
      method: "DELETE",
      url: this.#repoUrl(ref, `manifests/${reference}`),
      repo: ref,
      scopes: [repositoryScope(ref.repository, ["delete"])],
      maxBytes: MAX_ERROR_BODY,
      ok: [202],
      what: `delete manifest ${reference} from ${ref.registry}/${ref.repository}`,
    });
  }

  // ---- referrers ----

  /**
   * end-12a/b `GET /v2/<name>/referrers/<digest>[?artifactType=]`: the manifests whose subject
   * is `digest`. When the registry answers 404 (no referrers API, e.g. distribution 2.8), the
   * referrers tag `<alg>-<hex>` is read instead (distribution-spec 1.1 "Referrers Tag Schema").
   * The artifactType filter is applied here when the registry did not (OCI-Filters-Applied).
   */
  async referrers(
    repo: Repository,
    digest: string,
    opts: { artifactType?: string } = {},
  ): Promise<ReferrersResult> {
    parseDigest(digest, "digest");
    const filter = (ds: Descriptor[]) =>
      opts.artifactType === undefined ? ds : ds.filter((d) => d.artifactType === opts.artifactType);
    let url = this.#repoUrl(repo, `referrers/${digest}`);
    if (opts.artifactType !== undefined) url += `?artifactType=${encodeURIComponent(opts.artifactType)}`;
    const origin = new URL(url).origin;
    const out: Descriptor[] = [];
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw tooManyPages(url);
      const res = await this.#call({
        method: "GET",
        url,
        repo,
        scopes: [repositoryScope(repo.repository, ["pull"])],
        headers: { accept: MEDIA_TYPE_OCI_INDEX },
        maxBytes: this.#maxManifest,
        ok: [200],
        allow404: page === 0,
        what: `list referrers of ${digest} in ${repo.registry}/${repo.repository}`,
      });
      if (res.status === 404)
        return { manifests: filter(await this.#referrersFromTag(repo, digest)), source: "tag" };
      const idx = parseImageIndex(res.body, MEDIA_TYPE_OCI_INDEX, {
        file: res.url,
        maxBytes: this.#maxManifest,
      });
      const applied = (res.headers["oci-filters-applied"] ?? "").split(",").map((s) => s.trim());
      out.push(...(applied.includes("artifactType") ? idx.index.manifests : filter(idx.index.manifests)));
      const next = nextLink(res.headers.link);
      if (next === undefined) return { manifests: out, source: "api" };
      url = sameOrigin(next, res.url, origin);
    }
  }

  async #referrersFromTag(repo: Repository, digest: string): Promise<Descriptor[]> {
    const tagRef = { registry: repo.registry, repository: repo.repository, tag: referrersTag(digest) };
    const m = await this.getManifestIfExists(tagRef);
    if (m === undefined) return [];
    if (m.kind !== "index") {
      throw cairnError(
        "ERR_OCI_MEDIA_TYPE",
        `the referrers tag ${tagRef.tag} holds ${m.mediaType}, not an index`,
      );
    }
    return m.index.manifests;
  }

  // ---- tags ----

  /**
   * end-8a/b `GET /v2/<name>/tags/list[?n=&last=]`, following Link rel="next" to the end:
   * every tag, in the registry's order. `pageSize` asks for pages of that size.
   */
  async listTags(repo: Repository, opts: { pageSize?: number; last?: string } = {}): Promise<string[]> {
    const out: string[] = [];
    let page = await this.listTagsPage(repo, opts);
    for (let n = 1; ; n++) {
      out.push(...page.tags);
      if (out.length > MAX_TAGS)
        throw cairnError("ERR_OCI_TOO_LARGE", `more than ${MAX_TAGS} tags in ${repo.repository}`);
      if (page.next === undefined) return out;
      if (n >= MAX_PAGES) throw tooManyPages(page.next);
      page = await this.#tagsPageAt(repo, page.next);
    }
  }

  /** One page of end-8b: the tags and the URL of the next page (from the Link header), if any. */
  async listTagsPage(
    repo: Repository,
    opts: { pageSize?: number; last?: string } = {},
  ): Promise<{ tags: string[]; next?: string }> {
    const q = new URLSearchParams();
    if (opts.pageSize !== undefined) {
      if (!Number.isSafeInteger(opts.pageSize) || opts.pageSize < 0) {
        throw cairnError("ERR_USAGE", "the page size must be a non-negative integer");
      }
      q.set("n", String(opts.pageSize));
    }
    if (opts.last !== undefined) q.set("last", opts.last);
    const qs = q.toString();
    return this.#tagsPageAt(repo, this.#repoUrl(repo, `tags/list${qs === "" ? "" : `?${qs}`}`));
  }

  async #tagsPageAt(repo: Repository, url: string): Promise<{ tags: string[]; next?: string }> {
    const origin = new URL(this.baseUrl(repo.registry)).origin;
    const res = await this.#call({
      method: "GET",
      url,
      repo,
      scopes: [repositoryScope(repo.repository, ["pull"])],
      headers: { accept: "application/json" },
      maxBytes: MAX_LIST_BYTES,
      ok: [200],
      what: `list tags of ${repo.registry}/${repo.repository}`,
    });
    const doc = parseJson(res.body, res.url, { maxBytes: MAX_LIST_BYTES, maxDepth: 4 });
    if (!isJsonObject(doc))
      throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: the tag list is not a JSON object`);
    const tags = doc.tags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === "string")) {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: "tags" is not an array of strings`, {
        field: "tags",
      });
    }
    const next = nextLink(res.headers.link);
    return next === undefined ? { tags } : { tags, next: sameOrigin(next, res.url, origin) };
  }

  // ---- blobs ----

  /** end-2 `HEAD /v2/<name>/blobs/<digest>`: the size the registry reports, or undefined (404). */
  async headBlob(repo: Repository, digest: string): Promise<BlobInfo | undefined> {
    parseDigest(digest, "digest");
    const res = await this.#call({
      method: "HEAD",
      url: this.#repoUrl(repo, `blobs/${digest}`),
      repo,
      scopes: [repositoryScope(repo.repository, ["pull"])],
      maxBytes: MAX_ERROR_BODY,
      ok: [200],
      allow404: true,
      what: `check blob ${digest} in ${repo.registry}/${repo.repository}`,
    });
    if (res.status === 404) return undefined;
    return { digest: digest as OciDigest, size: contentLength(res) };
  }

  /**
   * end-2 `GET /v2/<name>/blobs/<digest>` as a stream of chunks. At most `size` bytes are read;
   * a broken connection is resumed with `Range: bytes=N-` (up to MAX_RESUMES times). The digest
   * is checked when the last byte is in: the final `next()` throws ERR_OCI_DIGEST_MISMATCH (or
   * ERR_OCI_TOO_LARGE) instead of finishing, so chunks are unverified until the iteration
   * completes: write them somewhere temporary and keep them only then.
   */
  async *blobStream(
    repo: Repository,
    desc: BlobInfo,
    opts: {
      onProgress?: (done: number, total: number) => void;
      /**
       * false: the digest is not hashed here, because the caller checks digest and size itself
       * before it keeps or reports anything (an OciLayout's putBlob with both given). The size is
       * still bounded and a short blob still refused. Default true.
       */
      verify?: boolean;
    } = {},
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const algorithm = digestAlgorithm(desc.digest, "digest");
    checkBlobSize(desc);
    const hash = opts.verify === false ? undefined : createHash(algorithm);
    let received = 0;
    let resumes = 0;
    const url = this.#repoUrl(repo, `blobs/${desc.digest}`);
    for (;;) {
      const headers: Record<string, string> = {};
      if (received > 0) headers.range = `bytes=${received}-`;
      const res = await this.#call({
        method: "GET",
        url,
        repo,
        scopes: [repositoryScope(repo.repository, ["pull"])],
        headers,
        // One byte over the size is enough to know the blob is too long. A resumed request is
        // bounded by the whole size too: a server that ignores Range answers 200 with all of it
        // (skipped below); what is kept is counted against the descriptor's size either way.
        maxBytes: desc.size + 1,
        response: "stream",
        ok: received > 0 ? [200, 206, 416] : [200],
        what: `get blob ${desc.digest} from ${repo.registry}/${repo.repository}`,
      });
      if (res.status === 416) {
        // Nothing after byte `received`: the blob is shorter than its descriptor says.
        await res.cancel();
        break;
      }
      // A server that ignores Range sends the whole blob again: skip what we have.
      let skip = res.status === 200 ? received : 0;
      if (res.status === 206) await checkResumedAt(res, received);
      const before = received;
      try {
        for await (let chunk of res.stream ?? []) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.byteLength);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.byteLength === 0) continue;
          }
          received += chunk.byteLength;
          // The descriptor's size bounds the download (a registry may send endless data).
          if (received > desc.size) {
            throw cairnError(
              "ERR_OCI_TOO_LARGE",
              `blob ${desc.digest} is longer than its ${desc.size} bytes`,
              { file: url },
            );
          }
          hash?.update(chunk);
          opts.onProgress?.(received, desc.size);
          yield chunk;
        }
      } catch (e) {
        await cancelForResume(e, res, resumes);
        resumes++;
        continue;
      }
      if (received < desc.size && received > before && resumes < MAX_RESUMES) {
        // The body ended early without an error: resume where it stopped.
        resumes++;
        continue;
      }
      break;
    }
    if (received !== desc.size) throw truncated(desc, received, url);
    if (hash === undefined) return;
    const actual = `${algorithm}:${hash.digest("hex")}`;
    if (actual !== desc.digest) {
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", `blob has digest ${actual}, expected ${desc.digest}`, {
        file: url,
      });
    }
  }

  /**
   * end-2 `GET /v2/<name>/blobs/<digest>` into a sink (a blob being stored), with the resumes of
   * `blobStream`: a broken connection, or a body that ends early, is resumed with
   * `Range: bytes=N-` (up to MAX_RESUMES times); a server that answers a Range with the whole blob
   * has the sink reset first. Resolves once the sink holds exactly `desc.size` bytes; refuses a
   * longer body (ERR_OCI_TOO_LARGE) and a shorter one (ERR_OCI_BLOB_TRUNCATED). The digest is NOT
   * checked here: the sink's owner hashes what it was given and checks it before keeping it.
   */
  async blobInto(
    repo: Repository,
    desc: BlobInfo,
    sink: BodySink,
    opts: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<void> {
    digestAlgorithm(desc.digest, "digest");
    checkBlobSize(desc);
    if (sink.written !== 0) await sink.reset();
    let resumes = 0;
    const url = this.#repoUrl(repo, `blobs/${desc.digest}`);
    const tooLong = () =>
      cairnError("ERR_OCI_TOO_LARGE", `blob ${desc.digest} is longer than its ${desc.size} bytes`, {
        file: redact(url),
      });
    for (;;) {
      const before = sink.written;
      const res = await this.#call({
        method: "GET",
        url,
        repo,
        scopes: [repositoryScope(repo.repository, ["pull"])],
        headers: before > 0 ? { range: `bytes=${before}-` } : {},
        // As in blobStream: one byte over the size is enough to know the blob is too long.
        maxBytes: desc.size + 1,
        response: "sink",
        sink,
        // An error answer is read for its spec error codes only (readErrorBody).
        maxErrorBytes: MAX_ERROR_BODY,
        ok: before > 0 ? [200, 206, 416] : [200],
        what: `get blob ${desc.digest} from ${repo.registry}/${repo.repository}`,
      });
      if (res.status === 416) {
        await res.cancel();
        break;
      }
      if (res.status === 206) await checkResumedAt(res, before);
      else if (before > 0) {
        // A 200 to a Range request is the whole blob again: start over.
        await sink.reset();
      }
      const from = sink.written;
      try {
        if (res.fill !== undefined) await res.fill((n) => opts.onProgress?.(n, desc.size));
        else {
          // A port that does not fill sinks streams the body; it is written here.
          for await (const chunk of res.stream ?? []) {
            if (sink.written + chunk.byteLength > desc.size) throw tooLong();
            await sink.write(chunk);
            opts.onProgress?.(sink.written, desc.size);
          }
        }
      } catch (e) {
        await cancelForResume(e, res, resumes);
        resumes++;
        continue;
      }
      if (sink.written > desc.size) throw tooLong();
      if (sink.written < desc.size && sink.written > from && resumes < MAX_RESUMES) {
        // The body ended early without an error: resume where it stopped.
        resumes++;
        continue;
      }
      break;
    }
    if (sink.written !== desc.size) throw truncated(desc, sink.written, url);
  }

  /** A whole blob in memory, verified against its digest and size (at most `maxBytes`). */
  async getBlob(repo: Repository, desc: BlobInfo, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const max = opts.maxBytes ?? DEFAULT_MAX_BLOB_IN_MEMORY;
    if (desc.size > max) {
      throw cairnError(
        "ERR_OCI_TOO_LARGE",
        `blob ${desc.digest} is ${desc.size} bytes, more than the ${max} held in memory`,
      );
    }
    const chunks: Uint8Array[] = [];
    for await (const c of this.blobStream(repo, desc)) chunks.push(c);
    return Buffer.concat(chunks);
  }

  /**
   * Monolithic upload: end-4a `POST /v2/<name>/blobs/uploads/` then end-6 `PUT <location>?digest=`
   * with the whole blob. Skipped when the registry has the blob already (HEAD first).
   */
  async pushBlob(repo: Repository, bytes: Uint8Array): Promise<PushedBlob> {
    const digest = digestOf(bytes);
    const have = await this.headBlob(repo, digest);
    if (have !== undefined) return { digest, size: bytes.byteLength, existed: true };
    const { location } = await this.#startUpload(repo);
    const res = await this.#call({
      method: "PUT",
      url: withDigest(location, digest),
      repo,
      scopes: [repositoryScope(repo.repository, ["pull", "push"])],
      headers: { "content-type": "application/octet-stream", "content-length": String(bytes.byteLength) },
      body: bytes,
      maxBytes: MAX_ERROR_BODY,
      ok: [201],
      noRetry: true,
      what: `upload blob ${digest} to ${repo.registry}/${repo.repository}`,
    });
    await res.cancel();
    return { digest, size: bytes.byteLength, existed: false };
  }

  /**
   * Chunked upload: end-4a POST, then end-5 `PATCH <location>` per chunk with Content-Range,
   * then end-6 `PUT <location>?digest=`. The source is hashed on the way; a source that does not
   * match `expected` is refused (ERR_OCI_DIGEST_MISMATCH) and the upload cancelled before the
   * final PUT. The chunk size is raised to the registry's OCI-Chunk-Min-Length if it asks.
   */
  async pushBlobChunked(
    repo: Repository,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    expected: BlobInfo,
    opts: { chunkSize?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<PushedBlob> {
    const algorithm = digestAlgorithm(expected.digest, "digest");
    const have = await this.headBlob(repo, expected.digest);
    if (have !== undefined) return { ...expected, existed: true };
    const start = await this.#startUpload(repo);
    let location = start.location;
    const chunkSize = Math.min(
      Math.max(opts.chunkSize ?? DEFAULT_CHUNK_BYTES, start.minChunk, 1),
      MAX_CHUNK_BYTES,
    );
    const hash = createHash(algorithm);
    let offset = 0;
    const scopes = [repositoryScope(repo.repository, ["pull", "push"])];
    try {
      for await (const piece of rechunk(source, chunkSize)) {
        if (offset + piece.byteLength > expected.size) {
          throw cairnError(
            "ERR_OCI_DIGEST_MISMATCH",
            `the blob is longer than the ${expected.size} bytes expected`,
          );
        }
        hash.update(piece);
        const end = offset + piece.byteLength - 1;
        const res = await this.#call({
          method: "PATCH",
          url: location,
          repo,
          scopes,
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${offset}-${end}`,
            "content-length": String(piece.byteLength),
          },
          body: piece,
          maxBytes: MAX_ERROR_BODY,
          ok: [202],
          what: `upload a chunk of ${expected.digest} to ${repo.registry}/${repo.repository}`,
        });
        location = uploadLocation(res);
        // end-5: Range is the inclusive range the registry now holds, `0-<end>`.
        const range = res.headers.range;
        if (range !== undefined && range !== `0-${end}` && range !== `bytes=0-${end}`) {
          throw cairnError(
            "ERR_OCI_REGISTRY_ERROR",
            `after a chunk ending at ${end} the registry holds ${range}`,
          );
        }
        offset = end + 1;
        opts.onProgress?.(offset, expected.size);
      }
      const actual = `${algorithm}:${hash.digest("hex")}`;
      if (offset !== expected.size || actual !== expected.digest) {
        throw cairnError(
          "ERR_OCI_DIGEST_MISMATCH",
          `the blob read is ${offset} bytes with digest ${actual}, expected ${expected.size} bytes with ${expected.digest}`,
        );
      }
    } catch (e) {
      await this.#cancelUpload(repo, location);
      throw e;
    }
    return this.#finishUpload(repo, scopes, location, expected);
  }

  /** The final PUT ?digest= of an upload whose bytes were all sent (the registry checks the digest). */
  async #finishUpload(
    repo: ImageReference,
    scopes: string[],
    location: string,
    expected: { digest: OciDigest; size: number },
  ) {
    const res = await this.#call({
      method: "PUT",
      url: withDigest(location, expected.digest),
      repo,
      scopes,
      headers: { "content-type": "application/octet-stream", "content-length": "0" },
      maxBytes: MAX_ERROR_BODY,
      ok: [201],
      noRetry: true,
      what: `finish the upload of ${expected.digest} to ${repo.registry}/${repo.repository}`,
    });
    await res.cancel();
    return { ...expected, existed: false };
  }

  /**
   * Streamed upload, as skopeo does it: end-4a POST, then ONE end-5 `PATCH <location>` whose body
   * is the whole source streamed (no Content-Range, no Content-Length: chunked transfer), then
   * end-6 `PUT <location>?digest=` with no body. Nothing is committed before the final PUT, and
   * the PUT is only sent once the source has ended and matched `expected`:
   * - by default the source is hashed here and its size counted (ERR_OCI_DIGEST_MISMATCH, the
   *   upload cancelled, no PUT);
   * - with `verified: true` the caller promises the source is itself a digest-checked stream that
   *   throws from its last step instead of ending when it does not match `expected` (digest and
   *   size), as OciLayout.blobStream and RegistryClient.blobStream do; it is then not hashed again,
   *   but its size is still counted, and its error cancels the upload.
   * The registry checks the digest again on the PUT (distribution-spec end-6).
   */
  async pushBlobStream(
    repo: Repository,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    expected: BlobInfo,
    opts: { verified?: boolean; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<PushedBlob> {
    const algorithm = digestAlgorithm(expected.digest, "digest");
    const have = await this.headBlob(repo, expected.digest);
    if (have !== undefined) return { ...expected, existed: true };
    const start = await this.#startUpload(repo);
    let location = start.location;
    const scopes = [repositoryScope(repo.repository, ["pull", "push"])];
    const hash = opts.verified === true ? undefined : createHash(algorithm);
    let sent = 0;
    let ended = false;
    let sourceError: unknown;
    const body = async function* (): AsyncGenerator<Uint8Array> {
      try {
        const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
          source instanceof Uint8Array ? [source] : source;
        for await (const chunk of chunks) {
          sent += chunk.byteLength;
          if (sent > expected.size) {
            throw cairnError(
              "ERR_OCI_DIGEST_MISMATCH",
              `the blob is longer than the ${expected.size} bytes expected`,
            );
          }
          hash?.update(chunk);
          opts.onProgress?.(sent, expected.size);
          if (chunk.byteLength > 0) yield chunk;
        }
        ended = true;
      } catch (e) {
        sourceError = e;
        throw e;
      }
    };
    try {
      let res: HttpResponse;
      try {
        res = await this.#call({
          method: "PATCH",
          url: location,
          repo,
          scopes,
          headers: { "content-type": "application/octet-stream" },
          body: body(),
          maxBytes: MAX_ERROR_BODY,
          ok: [202],
          noRetry: true,
          what: `upload ${expected.digest} to ${repo.registry}/${repo.repository}`,
        });
      } catch (e) {
        // The source's own error (a digest mismatch) says more than the aborted request's.
        throw sourceError ?? e;
      }
      if (sourceError !== undefined) throw sourceError;
      await res.cancel();
      location = uploadLocation(res);
      if (!ended) {
        throw cairnError(
          "ERR_OCI_REGISTRY_ERROR",
          `the registry answered before the whole of ${expected.digest} was sent`,
        );
      }
      const range = res.headers.range;
      const end = sent - 1;
      if (sent > 0 && range !== undefined && range !== `0-${end}` && range !== `bytes=0-${end}`) {
        throw cairnError("ERR_OCI_REGISTRY_ERROR", `after ${sent} bytes the registry holds ${range}`);
      }
      if (sent !== expected.size) {
        throw cairnError(
          "ERR_OCI_DIGEST_MISMATCH",
          `the blob read is ${sent} bytes, expected ${expected.size} bytes`,
        );
      }
      if (hash !== undefined) {
        const actual = `${algorithm}:${hash.digest("hex")}`;
        if (actual !== expected.digest) {
          throw cairnError(
            "ERR_OCI_DIGEST_MISMATCH",
            `the blob read has digest ${actual}, expected ${expected.digest}`,
          );
        }
      }
    } catch (e) {
      await this.#cancelUpload(repo, location);
      throw e;
    }
    return this.#finishUpload(repo, scopes, location, expected);
  }

  /**
   * end-11 `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>`: true when the registry
   * mounted the blob (201); false when it would not (202: the upload session it opened instead
   * is cancelled), and the blob must be pushed.
   */
  async mountBlob(repo: Repository, from: string, digest: string): Promise<boolean> {
    parseDigest(digest, "digest");
    if (!isRepositoryName(from))
      throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${from}" is not a repository name`);
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.#call({
      method: "POST",
      url: this.#repoUrl(repo, `blobs/uploads/?${q}`),
      repo,
      scopes: [repositoryScope(repo.repository, ["pull", "push"]), repositoryScope(from, ["pull"])],
      headers: { "content-length": "0" },
      maxBytes: MAX_ERROR_BODY,
      ok: [201, 202],
      what: `mount ${digest} from ${from} into ${repo.registry}/${repo.repository}`,
    });
    if (res.status === 201) return true;
    if (res.headers.location !== undefined) await this.#cancelUpload(repo, uploadLocation(res));
    return false;
  }

  /** end-10 `DELETE /v2/<name>/blobs/<digest>`. */
  async deleteBlob(repo: Repository, digest: string): Promise<void> {
    parseDigest(digest, "digest");
    await this.#call({
      method: "DELETE",
      url: this.#repoUrl(repo, `blobs/${digest}`),
      repo,
      scopes: [repositoryScope(repo.repository, ["delete"])],
      maxBytes: MAX_ERROR_BODY,
      ok: [202],
      what: `delete blob ${digest} from ${repo.registry}/${repo.repository}`,
    });
  }

  async #startUpload(repo: Repository): Promise<{ location: string; minChunk: number }> {
    const res = await this.#call({
      method: "POST",
      url: this.#repoUrl(repo, "blobs/uploads/"),
      repo,
      scopes: [repositoryScope(repo.repository, ["pull", "push"])],
      headers: { "content-length": "0" },
      maxBytes: MAX_ERROR_BODY,
      ok: [202],
      what: `start an upload to ${repo.registry}/${repo.repository}`,
    });
    const min = Number(res.headers["oci-chunk-min-length"] ?? "0");
    return { location: uploadLocation(res), minChunk: Number.isSafeInteger(min) && min > 0 ? min : 0 };
  }

  async #cancelUpload(repo: Repository, location: string): Promise<void> {
    // Best effort: an abandoned session expires on the registry anyway.
    try {
      const res = await this.#call({
        method: "DELETE",
        url: location,
        repo,
        scopes: [repositoryScope(repo.repository, ["pull", "push"])],
        maxBytes: MAX_ERROR_BODY,
        ok: [204, 202, 200],
        allow404: true,
        noRetry: true,
        what: "cancel an upload",
      });
      await res.cancel();
    } catch {
      // ignored
    }
  }

  // ---- the request pipeline: authentication, retries, errors ----

  async #call(c: Call): Promise<HttpResponse> {
    const host = c.repo.registry;
    const registryOrigin = new URL(this.baseUrl(host)).origin;
    let authRetried = false;
    for (;;) {
      const headers: Record<string, string> = { ...c.headers };
      if (this.#userAgent !== undefined) headers["user-agent"] = this.#userAgent;
      // Credentials only ever go to the registry's own origin (a Location may point elsewhere).
      if (new URL(c.url).origin === registryOrigin) {
        const auth = await this.#authorization(host, c.scopes);
        if (auth !== undefined) headers.authorization = auth;
      }
      const res = await this.#withRetries(c, headers);
      if (res.status === 401 && !authRetried && replayable(c.body)) {
        const header = res.headers["www-authenticate"];
        const challenges = header === undefined ? [] : parseChallenges(header);
        const ch =
          challenges.find((x) => x.scheme === "bearer") ?? challenges.find((x) => x.scheme === "basic");
        if (ch !== undefined) {
          const before = this.#challenges.get(host);
          this.#challenges.set(host, ch);
          if (ch.scheme === "bearer") this.#tokens.forget(ch, c.scopes);
          const cred = await this.#credential(host);
          // Retry once, and only when something changed: a new challenge or a new token to try.
          const worthIt =
            ch.scheme === "bearer" ||
            (cred?.kind === "basic" && (before === undefined || before.scheme !== "basic"));
          if (worthIt) {
            authRetried = true;
            await res.cancel();
            continue;
          }
        }
      }
      if (c.ok.includes(res.status) || (c.allow404 === true && res.status === 404)) return res;
      throw await this.#errorFor(c, res);
    }
  }

  async #credential(host: string): Promise<Credential | undefined> {
    if (this.#creds === undefined) return undefined;
    let p = this.#credCache.get(host);
    if (p === undefined) {
      p = this.#creds.get(host);
      this.#credCache.set(host, p);
      p.catch(() => this.#credCache.delete(host));
    }
    return p;
  }

  async #authorization(host: string, scopes: string[]): Promise<string | undefined> {
    const ch = this.#challenges.get(host);
    if (ch === undefined) return undefined;
    const cred = await this.#credential(host);
    if (ch.scheme === "basic") {
      return cred?.kind === "basic" ? basicAuthorization(cred.username, cred.password) : undefined;
    }
    if (ch.scheme === "bearer") {
      if (cred?.kind === "bearer") return `Bearer ${cred.token}`;
      return `Bearer ${await this.#tokens.fetch(ch, scopes, cred)}`;
    }
    return undefined;
  }

  async #withRetries(c: Call, headers: Record<string, string>): Promise<HttpResponse> {
    const retryable = c.noRetry !== true && IDEMPOTENT.has(c.method) && replayable(c.body);
    for (let attempt = 0; ; attempt++) {
      const canRetry = retryable && attempt < this.#maxRetries;
      let res: HttpResponse;
      try {
        res = await this.#http.request({
          method: c.method,
          url: c.url,
          headers,
          ...(c.body === undefined ? {} : { body: c.body }),
          maxBytes: c.maxBytes,
          response: c.response ?? "bytes",
          ...(c.sink === undefined ? {} : { sink: c.sink }),
          ...(c.maxErrorBytes === undefined ? {} : { maxErrorBytes: c.maxErrorBytes }),
        });
      } catch (e) {
        if (canRetry && e instanceof CairnError && e.code === "ERR_OCI_REGISTRY_UNREACHABLE") {
          await this.#sleep(this.#backoff(attempt));
          continue;
        }
        throw e;
      }
      if (canRetry && RETRY_STATUS.has(res.status)) {
        const after = retryAfterMs(res.headers["retry-after"], Date.now());
        await res.cancel();
        await this.#sleep(Math.min(after ?? this.#backoff(attempt), MAX_RETRY_DELAY_MS));
        continue;
      }
      return res;
    }
  }

  #backoff(attempt: number): number {
    return Math.min(this.#retryBase * 2 ** attempt, MAX_RETRY_DELAY_MS);
  }

  async #errorFor(c: Call, res: HttpResponse): Promise<CairnError> {
    const body = await readErrorBody(res);
    const errors = parseRegistryErrors(body);
    const codes = new Set(errors.map((e) => e.code));
    const summary =
      errors.length > 0
        ? errors
            .slice(0, 5)
            .map((e) => (e.message === "" ? e.code : `${e.code}: ${e.message}`))
            .join("; ")
        : `HTTP ${res.status}`;
    const message = `cannot ${c.what}: ${summary} (HTTP ${res.status} from ${c.method} ${redact(c.url)})`;
    let code: Parameters<typeof cairnError>[0];
    if (res.status === 401 || res.status === 403 || codes.has("UNAUTHORIZED") || codes.has("DENIED")) {
      code = "ERR_OCI_AUTH_REFUSED";
    } else if (res.status === 429 || codes.has("TOOMANYREQUESTS") || res.status === 503) {
      code = "ERR_OCI_REGISTRY_OVERLOADED";
    } else if (
      res.status === 404 ||
      ["NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN"].some((x) => codes.has(x))
    ) {
      code = "ERR_OCI_REGISTRY_NOT_FOUND";
    } else if (res.status >= 400 && res.status < 500) {
      code = "ERR_OCI_REGISTRY_REFUSED";
    } else {
      code = "ERR_OCI_REGISTRY_ERROR";
    }
    let msg = message;
    if (code === "ERR_OCI_AUTH_REFUSED") {
      const cred = await this.#credential(c.repo.registry).catch(() => undefined);
      msg +=
        cred === undefined
          ? `; no credentials for ${c.repo.registry}`
          : `; the credentials for ${c.repo.registry} were refused`;
    }
    const err = cairnError(code, msg, { file: redact(c.url) });
    errorDetails.set(err, { status: res.status, errors });
    return err;
  }
}

// ---- helpers ----

function checkRepository(repo: Repository): void {
  if (!isRepositoryName(repo.repository)) {
    throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${repo.repository}" is not a repository name`, {
      field: "repository",
    });
  }
}

function referenceOf(ref: ImageReference): string {
  if (ref.digest !== undefined) {
    parseDigest(ref.digest, "digest");
    return ref.digest;
  }
  if (ref.tag !== undefined) {
    if (!isTag(ref.tag))
      throw cairnError("ERR_OCI_REFERENCE_INVALID", `"${ref.tag}" is not a valid tag`, { field: "tag" });
    return ref.tag;
  }
  throw cairnError("ERR_OCI_REFERENCE_INVALID", "the reference has neither a tag nor a digest");
}

function checkBlobSize(desc: BlobInfo): void {
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw cairnError("ERR_OCI_MANIFEST_INVALID", "a blob size must be a non-negative integer", {
      field: "size",
    });
  }
}

/** A blob body broke with `e`: its answer is cancelled; `e` is thrown unless a resume may follow. */
async function cancelForResume(e: unknown, res: HttpResponse, resumes: number): Promise<void> {
  await res.cancel();
  if (!(e instanceof CairnError && e.code === "ERR_OCI_REGISTRY_UNREACHABLE") || resumes >= MAX_RESUMES)
    throw e;
}

/** A 206 answer to `Range: bytes=N-` must start at N (else it is cancelled and refused). */
async function checkResumedAt(res: HttpResponse, at: number): Promise<void> {
  const start = /^bytes (\d+)-/.exec(res.headers["content-range"] ?? "")?.[1];
  if (start !== undefined && Number(start) === at) return;
  await res.cancel();
  throw cairnError(
    "ERR_OCI_REGISTRY_ERROR",
    `${res.url}: asked to resume at byte ${at}, got ${res.headers["content-range"] ?? "no Content-Range"}`,
  );
}

/** A body that ended before its descriptor's size, after every resume (issue 5, bad input). */
function truncated(desc: BlobInfo, received: number, url: string): CairnError {
  return cairnError(
    "ERR_OCI_BLOB_TRUNCATED",
    `blob ${desc.digest} is truncated: the registry sent ${received} of its ${desc.size} bytes`,
    { file: redact(url) },
  );
}

/** The size a HEAD reports; a HEAD without one cannot describe anything. */
function contentLength(res: HttpResponse): number {
  const size = Number(res.headers["content-length"] ?? "NaN");
  if (!Number.isSafeInteger(size) || size < 0) {
    throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: the registry sent no valid Content-Length`);
  }
  return size;
}

function contentType(res: HttpResponse): string | undefined {
  const ct = res.headers["content-type"];
  return ct === undefined ? undefined : (ct.split(";")[0] ?? "").trim();
}

/** A Docker-Content-Digest cairn can verify; undefined when absent or of an unknown algorithm. */
function verifiableDigest(header: string | undefined): OciDigest | undefined {
  if (header === undefined) return undefined;
  const p = parseDigest(header.trim(), "Docker-Content-Digest");
  return p.registered ? (header.trim() as OciDigest) : undefined;
}

function referrerDescriptor(m: ParsedManifestOrIndex): Descriptor {
  // distribution-spec 1.1 "Listing Referrers": artifactType is the manifest's artifactType, or
  // its config's mediaType; annotations are copied.
  const doc = m.kind === "manifest" ? m.manifest : m.index;
  const artifactType = doc.artifactType ?? (m.kind === "manifest" ? m.manifest.config.mediaType : undefined);
  return manifestDescriptor(m, {
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(doc.annotations === undefined ? {} : { annotations: doc.annotations }),
  });
}

function uploadLocation(res: HttpResponse): string {
  const loc = res.headers.location;
  if (loc === undefined || loc === "") {
    throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: the registry sent no upload Location`);
  }
  try {
    const u = new URL(loc, res.url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
    return u.toString();
  } catch {
    throw cairnError("ERR_OCI_REGISTRY_ERROR", `${res.url}: the upload Location is not an http(s) URL`);
  }
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set("digest", digest);
  return u.toString();
}

function sameOrigin(target: string, base: string, origin: string): string {
  let u: URL;
  try {
    u = new URL(target, base);
  } catch {
    throw cairnError("ERR_OCI_REGISTRY_ERROR", `the Link target "${target.slice(0, 200)}" is not a URL`);
  }
  // A Link elsewhere would send our credentials to another host: refuse it.
  if (u.origin !== origin)
    throw cairnError("ERR_OCI_REGISTRY_ERROR", `the Link target ${u.origin} is not the registry ${origin}`);
  return u.toString();
}

function tooManyPages(url: string) {
  return cairnError("ERR_OCI_TOO_LARGE", `more than ${MAX_PAGES} pages at ${redact(url)}`);
}

function replayable(body: Call["body"]): boolean {
  return body === undefined || body instanceof Uint8Array;
}

/** RFC 9110 section 10.2.3: delay-seconds or an HTTP-date. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  if (/^\d{1,9}$/.test(h)) return Number(h) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

async function readErrorBody(res: HttpResponse): Promise<Uint8Array> {
  if (res.stream === undefined) return res.body.subarray(0, MAX_ERROR_BODY);
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const c of res.stream) {
      chunks.push(c);
      total += c.byteLength;
      if (total >= MAX_ERROR_BODY) break;
    }
  } catch {
    // the error body is informative only
  }
  await res.cancel();
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY);
}

/** distribution-spec "Error Codes": `{"errors": [{"code", "message", "detail"}]}`, cleaned. */
export function parseRegistryErrors(body: Uint8Array): { code: string; message: string }[] {
  let doc: unknown;
  try {
    doc = parseJson(body, undefined, { maxBytes: MAX_ERROR_BODY, maxDepth: 16 });
  } catch {
    return [];
  }
  if (!isJsonObject(doc) || !Array.isArray(doc.errors)) return [];
  return doc.errors.slice(0, 20).flatMap((e) =>
    isJsonObject(e) && typeof e.code === "string"
      ? [
          {
            code: clean(e.code).slice(0, 64),
            message: typeof e.message === "string" ? clean(e.message) : "",
          },
        ]
      : [],
  );
}

// Registry text goes to terminals: no control characters (escape sequences), bounded length.
function clean(s: string): string {
  const t = s.replace(/[\x00-\x1f\x7f-\x9f]/g, " ");
  return t.length > MAX_MESSAGE_CHARS ? `${t.slice(0, MAX_MESSAGE_CHARS)}...` : t;
}

/** A URL for messages: upload session state in query strings is dropped. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.search = u.search === "" ? "" : "?...";
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return url.slice(0, 200);
  }
}

async function* rechunk(
  source: Uint8Array | AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let i = 0; i < source.byteLength; i += size)
      yield source.subarray(i, Math.min(i + size, source.byteLength));
    return;
  }
  let buf: Uint8Array[] = [];
  let len = 0;
  for await (const c of source) {
    let chunk = c;
    while (len + chunk.byteLength >= size) {
      const take = size - len;
      buf.push(chunk.subarray(0, take));
      yield Buffer.concat(buf);
      chunk = chunk.subarray(take);
      buf = [];
      len = 0;
    }
    if (chunk.byteLength > 0) {
      buf.push(chunk);
      len += chunk.byteLength;
    }
  }
  if (len > 0) yield Buffer.concat(buf);
}
