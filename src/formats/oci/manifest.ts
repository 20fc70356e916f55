// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 manifest.md and image-index.md (and the Docker schema 2 manifest and
// manifest list, which share their shapes). A manifest is kept as the exact bytes it came in:
// digests are over bytes, so cairn never re-serializes a manifest it did not create.
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import {
  checkAnnotations,
  checkMediaType,
  type Descriptor,
  descriptorOf,
  ociInvalid,
  validateDescriptor,
} from "./descriptor.js";
import { digestOf, type OciDigest, verifyDigest } from "./digest.js";
import {
  type IndexMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type ManifestMediaType,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_SCHEMA1,
  MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED,
  MEDIA_TYPE_EMPTY_JSON,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
} from "./media-types.js";

/**
 * Largest manifest or index accepted, in bytes. Registries refuse larger ones (distribution
 * and most hosted registries cap manifests at 4 MiB), so nothing portable is lost.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Deepest JSON nesting accepted in a manifest, index or config. */
export const MAX_MANIFEST_DEPTH = 64;

/** manifest.md "Image Manifest Property Descriptions" (also Docker schema 2). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/** image-index.md "Image Index Property Descriptions" (also the Docker manifest list). */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

/** The exact bytes of a manifest or index with their digest: what is stored and sent. */
export interface ManifestBytes {
  mediaType: string;
  bytes: Uint8Array;
  digest: OciDigest;
  size: number;
}

export type ParsedManifest = ManifestBytes & {
  kind: "manifest";
  mediaType: ManifestMediaType;
  manifest: ImageManifest;
};
export type ParsedIndex = ManifestBytes & { kind: "index"; mediaType: IndexMediaType; index: ImageIndex };
export type ParsedManifestOrIndex = ParsedManifest | ParsedIndex;

function checkSchemaVersion(doc: Record<string, unknown>): void {
  // manifest.md / image-index.md: "this MUST be 2".
  if (doc.schemaVersion !== 2) {
    throw ociInvalid("schemaVersion", doc.schemaVersion === undefined ? "is missing" : "must be 2");
  }
}

function checkDescriptorList(v: unknown, field: string): Descriptor[] {
  if (!Array.isArray(v))
    throw ociInvalid(field, v === undefined ? "is missing" : "must be an array of descriptors");
  return v.map((d, i) => validateDescriptor(d, `${field}[${i}]`));
}

/**
 * Validates a parsed image manifest (OCI, or Docker schema 2 when `mediaType` says so) in place;
 * unknown fields kept. Errors are ERR_OCI_MANIFEST_INVALID naming the field, e.g. `layers[2].digest`.
 */
export function validateImageManifest(
  doc: unknown,
  mediaType: ManifestMediaType = MEDIA_TYPE_OCI_MANIFEST,
): ImageManifest {
  if (!isJsonObject(doc)) throw ociInvalid(undefined, "a manifest must be a JSON object");
  checkSchemaVersion(doc);
  if (doc.mediaType !== undefined && doc.mediaType !== mediaType) {
    throw cairnError(
      "ERR_OCI_MEDIA_TYPE",
      `mediaType is "${String(doc.mediaType)}", expected "${mediaType}"`,
      {
        field: "mediaType",
      },
    );
  }
  // Docker schema 2: mediaType is REQUIRED (manifest-v2-2.md).
  if (mediaType === MEDIA_TYPE_DOCKER_MANIFEST && doc.mediaType === undefined) {
    throw cairnError("ERR_OCI_MEDIA_TYPE", "a Docker schema 2 manifest must carry its mediaType", {
      field: "mediaType",
    });
  }
  // GHSA-77vh-xpmg-72qh (image-spec 1.0.2): a document that is both a manifest and an index is
  // read differently by different tools. Refuse the ambiguity.
  if (doc.manifests !== undefined) throw ociInvalid("manifests", "an image manifest must not have manifests");
  if (doc.artifactType !== undefined) checkMediaType(doc.artifactType, "artifactType");
  if (doc.config === undefined) throw ociInvalid("config", "is missing");
  const config = validateDescriptor(doc.config, "config");
  checkDescriptorList(doc.layers, "layers");
  if (doc.subject !== undefined) validateDescriptor(doc.subject, "subject");
  if (doc.annotations !== undefined) checkAnnotations(doc.annotations, "annotations");
  // manifest.md `artifactType`: "This MUST be set when config.mediaType is set to the empty value."
  if (config.mediaType === MEDIA_TYPE_EMPTY_JSON && doc.artifactType === undefined) {
    throw ociInvalid("artifactType", `must be set when config.mediaType is ${MEDIA_TYPE_EMPTY_JSON}`);
  }
  return doc as ImageManifest;
}

/** Validates a parsed image index (OCI, or Docker manifest list when `mediaType` says so) in place. */
export function validateImageIndex(
  doc: unknown,
  mediaType: IndexMediaType = MEDIA_TYPE_OCI_INDEX,
): ImageIndex {
  if (!isJsonObject(doc)) throw ociInvalid(undefined, "an index must be a JSON object");
  checkSchemaVersion(doc);
  if (doc.mediaType !== undefined && doc.mediaType !== mediaType) {
    throw cairnError(
      "ERR_OCI_MEDIA_TYPE",
      `mediaType is "${String(doc.mediaType)}", expected "${mediaType}"`,
      {
        field: "mediaType",
      },
    );
  }
  if (mediaType === MEDIA_TYPE_DOCKER_MANIFEST_LIST && doc.mediaType === undefined) {
    throw cairnError("ERR_OCI_MEDIA_TYPE", "a Docker manifest list must carry its mediaType", {
      field: "mediaType",
    });
  }
  // GHSA-77vh-xpmg-72qh: an index with config or layers is ambiguous.
  if (doc.config !== undefined) throw ociInvalid("config", "an image index must not have config");
  if (doc.layers !== undefined) throw ociInvalid("layers", "an image index must not have layers");
  if (doc.artifactType !== undefined) checkMediaType(doc.artifactType, "artifactType");
  // image-index.md `manifests`: "While this property MUST be present, the size of the array MAY be zero."
  // An unknown mediaType in an entry "MUST NOT generate an error": only its grammar is checked.
  checkDescriptorList(doc.manifests, "manifests");
  if (doc.subject !== undefined) validateDescriptor(doc.subject, "subject");
  if (doc.annotations !== undefined) checkAnnotations(doc.annotations, "annotations");
  return doc as ImageIndex;
}

/** Options for parsing a manifest or index from bytes. */
export interface ParseManifestOptions {
  /** Verify the bytes against this digest (and `size`) before parsing them. */
  digest?: string;
  size?: number;
  /** Names the source in errors. */
  file?: string;
  /** Size bound, default MAX_MANIFEST_BYTES. */
  maxBytes?: number;
}

/**
 * Parses the exact bytes of a manifest or index, dispatching on its `mediaType` (or the hint, from a
 * descriptor or a Content-Type header, when the document has none; the two must agree). Verifies
 * `opts.digest` first when given. The bytes are kept as they came; the digest is sha256 of them
 * (or of the given digest's algorithm).
 */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  mediaTypeHint?: string,
  opts: ParseManifestOptions = {},
): ParsedManifestOrIndex {
  const file = opts.file;
  try {
    const max = opts.maxBytes ?? MAX_MANIFEST_BYTES;
    if (bytes.byteLength > max) {
      throw cairnError(
        "ERR_OCI_TOO_LARGE",
        `manifest is ${bytes.byteLength} bytes, more than the limit of ${max}`,
      );
    }
    // descriptor.md "Verification": verify before any heavy processing.
    let digest: OciDigest;
    if (opts.digest !== undefined) {
      verifyDigest(bytes, opts.digest, opts.size === undefined ? {} : { size: opts.size });
      digest = opts.digest as OciDigest;
    } else digest = digestOf(bytes);
    const doc = parseJson(bytes, file, { maxBytes: max, maxDepth: MAX_MANIFEST_DEPTH });
    if (!isJsonObject(doc)) throw ociInvalid(undefined, "a manifest must be a JSON object");
    const mediaType = resolveMediaType(doc, mediaTypeHint);
    const base = { bytes, digest, size: bytes.byteLength };
    if (isManifestMediaType(mediaType)) {
      return { kind: "manifest", mediaType, manifest: validateImageManifest(doc, mediaType), ...base };
    }
    return { kind: "index", mediaType, index: validateImageIndex(doc, mediaType), ...base };
  } catch (e) {
    if (file !== undefined && e instanceof CairnError) e.inFile(file);
    throw e;
  }
}

function resolveMediaType(
  doc: Record<string, unknown>,
  hint: string | undefined,
): ManifestMediaType | IndexMediaType {
  const own = doc.mediaType;
  if (own !== undefined && typeof own !== "string") throw ociInvalid("mediaType", "must be a string");
  if (
    doc.schemaVersion === 1 ||
    hint === MEDIA_TYPE_DOCKER_SCHEMA1 ||
    hint === MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED
  ) {
    throw cairnError("ERR_OCI_MEDIA_TYPE", "Docker schema 1 manifests are not supported", {
      field: "schemaVersion",
    });
  }
  // media-types.md "Media Type Conflicts": an expected type that disagrees with the content's own
  // is an error (the content, not the hint, is what the digest covers).
  if (own !== undefined && hint !== undefined && own !== hint) {
    throw cairnError("ERR_OCI_MEDIA_TYPE", `mediaType is "${own}", but "${hint}" was expected`, {
      field: "mediaType",
    });
  }
  let mt = own ?? hint;
  if (mt === undefined) {
    // OCI 1.0 made mediaType a SHOULD: infer from the shape, which validation keeps unambiguous.
    if (doc.manifests !== undefined && doc.config === undefined && doc.layers === undefined)
      mt = MEDIA_TYPE_OCI_INDEX;
    else if (doc.config !== undefined && doc.manifests === undefined) mt = MEDIA_TYPE_OCI_MANIFEST;
    else
      throw cairnError(
        "ERR_OCI_MEDIA_TYPE",
        "the document has no mediaType and is neither a manifest nor an index",
        { field: "mediaType" },
      );
  }
  if (!isManifestMediaType(mt) && !isIndexMediaType(mt)) {
    throw cairnError("ERR_OCI_MEDIA_TYPE", `"${mt}" is not a manifest or index media type cairn reads`, {
      field: "mediaType",
    });
  }
  return mt;
}

/** Parses bytes that must be an image manifest (ERR_OCI_MEDIA_TYPE for an index). */
export function parseImageManifest(
  bytes: Uint8Array,
  mediaTypeHint?: string,
  opts: ParseManifestOptions = {},
): ParsedManifest {
  const p = parseManifestOrIndex(bytes, mediaTypeHint, opts);
  if (p.kind !== "manifest") {
    throw cairnError(
      "ERR_OCI_MEDIA_TYPE",
      `expected an image manifest, got ${p.mediaType}`,
      opts.file === undefined ? {} : { file: opts.file },
    );
  }
  return p;
}

/** Parses bytes that must be an image index (ERR_OCI_MEDIA_TYPE for a manifest). */
export function parseImageIndex(
  bytes: Uint8Array,
  mediaTypeHint?: string,
  opts: ParseManifestOptions = {},
): ParsedIndex {
  const p = parseManifestOrIndex(bytes, mediaTypeHint, opts);
  if (p.kind !== "index") {
    throw cairnError(
      "ERR_OCI_MEDIA_TYPE",
      `expected an image index, got ${p.mediaType}`,
      opts.file === undefined ? {} : { file: opts.file },
    );
  }
  return p;
}

/** What a new OCI image manifest is made of. */
export interface NewManifestInput {
  config: Descriptor;
  layers: Descriptor[];
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/**
 * Builds and serializes a new OCI image manifest (validated, then its bytes are final). The result's
 * bytes are what must be stored and pushed; its digest names them.
 */
export function newImageManifest(input: NewManifestInput): ParsedManifest {
  const doc: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    ...(input.artifactType === undefined ? {} : { artifactType: input.artifactType }),
    config: input.config,
    layers: input.layers,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    ...(input.annotations === undefined ? {} : { annotations: input.annotations }),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  return parseImageManifest(bytes, MEDIA_TYPE_OCI_MANIFEST);
}

/** What a new OCI image index is made of. */
export interface NewIndexInput {
  manifests: Descriptor[];
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Builds and serializes a new OCI image index. */
export function newImageIndex(input: NewIndexInput): ParsedIndex {
  const doc: ImageIndex = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_INDEX,
    ...(input.artifactType === undefined ? {} : { artifactType: input.artifactType }),
    manifests: input.manifests,
    ...(input.subject === undefined ? {} : { subject: input.subject }),
    ...(input.annotations === undefined ? {} : { annotations: input.annotations }),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(doc));
  return parseImageIndex(bytes, MEDIA_TYPE_OCI_INDEX);
}

/** The descriptor of a parsed manifest or index (for an index entry, a subject, a tag). */
export function manifestDescriptor(
  m: ManifestBytes,
  extra: Partial<Omit<Descriptor, "digest" | "size" | "mediaType">> = {},
): Descriptor {
  const d = descriptorOf(m.bytes, m.mediaType, extra);
  d.digest = m.digest;
  return d;
}
