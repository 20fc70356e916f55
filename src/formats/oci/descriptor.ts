// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 descriptor.md: content descriptors (mediaType, digest, size, urls,
// annotations, data, artifactType) and the image-index.md `platform` object. Validation is strict
// about the spec's fields and lossless: unknown fields stay on the object as they came.
import { fromBase64 } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import { digestOf, type OciDigest, parseDigest, verifyDigest } from "./digest.js";
import { isValidMediaType, MEDIA_TYPE_EMPTY_JSON } from "./media-types.js";

/** image-index.md `platform`: the minimum runtime requirements of an image. */
export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  /** RESERVED by the spec; kept if present. */
  features?: string[];
  [extra: string]: unknown;
}

/** descriptor.md "Properties". */
export interface Descriptor {
  mediaType: string;
  digest: OciDigest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Base64 of the referenced content (descriptor.md "Embedded Content"); verified on parse. */
  data?: string;
  artifactType?: string;
  platform?: Platform;
  [extra: string]: unknown;
}

/** The annotation that names a tag in an image layout's index.json (annotations.md). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
export const ANNOTATION_CREATED = "org.opencontainers.image.created";

/** manifest.md "Guidance for an Empty Descriptor": the content `{}`. */
export const EMPTY_JSON_BYTES: Uint8Array = new Uint8Array([0x7b, 0x7d]);
/** manifest.md: "The blob digest of `{}` is sha256:44136fa3...". */
export const EMPTY_JSON_DIGEST: OciDigest =
  "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/** The empty descriptor (`DescriptorEmptyJSON` of the reference code), without `data`. */
export function emptyDescriptor(): Descriptor {
  return { mediaType: MEDIA_TYPE_EMPTY_JSON, digest: EMPTY_JSON_DIGEST, size: 2 };
}

/** Largest int64 size a JavaScript number holds exactly; a larger size cannot be checked. */
const MAX_SIZE = Number.MAX_SAFE_INTEGER;
// RFC 3986 section 3.1: a URI starts with a scheme; no whitespace or control characters anywhere.
const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$/;
// RFC 4648 section 4: standard base64 with padding (descriptor.md `data`).
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Throws ERR_OCI_MANIFEST_INVALID naming the field. */
export function ociInvalid(field: string | undefined, message: string) {
  return cairnError("ERR_OCI_MANIFEST_INVALID", message, field === undefined ? {} : { field });
}

const at = (prefix: string, name: string) => (prefix === "" ? name : `${prefix}.${name}`);

/** A string field: required unless `optional`. */
export function checkString(
  obj: Record<string, unknown>,
  key: string,
  prefix: string,
  optional = false,
): void {
  const v = obj[key];
  if (v === undefined && optional) return;
  if (typeof v !== "string")
    throw ociInvalid(at(prefix, key), v === undefined ? "is missing" : "must be a string");
}

export function checkStringArray(v: unknown, field: string): void {
  if (!Array.isArray(v)) throw ociInvalid(field, "must be an array of strings");
  v.forEach((s, i) => {
    if (typeof s !== "string") throw ociInvalid(`${field}[${i}]`, "must be a string");
  });
}

export function checkMediaType(v: unknown, field: string): void {
  if (typeof v !== "string") throw ociInvalid(field, v === undefined ? "is missing" : "must be a string");
  if (!isValidMediaType(v)) throw ociInvalid(field, `"${v}" is not an RFC 6838 media type`);
}

/** annotations.md "Rules": a string-to-string map. */
export function checkAnnotations(v: unknown, field: string): void {
  if (!isJsonObject(v)) throw ociInvalid(field, "must be a map of strings to strings");
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== "string") throw ociInvalid(`${field}.${k}`, "annotation values must be strings");
  }
}

/** image-index.md `platform`. */
export function validatePlatform(v: unknown, field = "platform"): Platform {
  if (!isJsonObject(v)) throw ociInvalid(field, "must be an object");
  checkString(v, "architecture", field);
  checkString(v, "os", field);
  checkString(v, "os.version", field, true);
  checkString(v, "variant", field, true);
  if (v["os.features"] !== undefined) checkStringArray(v["os.features"], `${field}.os.features`);
  if (v.features !== undefined) checkStringArray(v.features, `${field}.features`);
  return v as Platform;
}

/**
 * Validates a descriptor in place and returns it, typed (unknown fields kept). `field` prefixes
 * error paths, e.g. `layers[2]` gives `layers[2].digest`. Embedded `data` is decoded and checked
 * against `size` and `digest` (ERR_OCI_DIGEST_MISMATCH) when the algorithm is registered.
 */
export function validateDescriptor(v: unknown, field = ""): Descriptor {
  if (!isJsonObject(v)) throw ociInvalid(field || undefined, "a descriptor must be an object");
  checkMediaType(v.mediaType, at(field, "mediaType"));
  const digest = parseDigest(v.digest, at(field, "digest"));
  const size = v.size;
  if (typeof size !== "number" || !Number.isInteger(size)) {
    throw ociInvalid(at(field, "size"), size === undefined ? "is missing" : "must be an integer");
  }
  // descriptor.md: "The size MUST NOT be negative."
  if (size < 0) throw ociInvalid(at(field, "size"), "must not be negative");
  if (size > MAX_SIZE) throw ociInvalid(at(field, "size"), "is larger than cairn can represent exactly");
  if (v.urls !== undefined) {
    checkStringArray(v.urls, at(field, "urls"));
    (v.urls as string[]).forEach((u, i) => {
      if (!URI_RE.test(u)) throw ociInvalid(`${at(field, "urls")}[${i}]`, "is not an RFC 3986 URI");
    });
  }
  if (v.annotations !== undefined) checkAnnotations(v.annotations, at(field, "annotations"));
  if (v.artifactType !== undefined) checkMediaType(v.artifactType, at(field, "artifactType"));
  if (v.platform !== undefined) validatePlatform(v.platform, at(field, "platform"));
  if (v.data !== undefined) {
    const f = at(field, "data");
    if (typeof v.data !== "string" || !BASE64_RE.test(v.data)) throw ociInvalid(f, "must be standard base64");
    // RFC 4648 section 3.5: non-zero pad bits make a second spelling of the same bytes; refuse it.
    if (Buffer.from(v.data, "base64").toString("base64") !== v.data) {
      throw ociInvalid(f, "is not canonical base64 (non-zero pad bits)");
    }
    // descriptor.md `data`: "The decoded data MUST be identical to the referenced content".
    // An embedded payload is attacker-controlled: check it now rather than trust it later.
    if (digest.registered) verifyDigest(fromBase64(v.data, f), v.digest as string, { size, field: f });
  }
  // manifest.md "Guidance for an Empty Descriptor": the empty media type's content is `{}`.
  if (v.mediaType === MEDIA_TYPE_EMPTY_JSON && digest.registered) {
    const alg = digest.algorithm as "sha256" | "sha512";
    if (size !== 2 || v.digest !== digestOf(EMPTY_JSON_BYTES, alg)) {
      throw ociInvalid(
        at(field, "digest"),
        `an ${MEDIA_TYPE_EMPTY_JSON} descriptor must describe the content {}`,
      );
    }
  }
  return v as Descriptor;
}

/**
 * The embedded content of a descriptor, verified against its digest and size; undefined when it
 * has no `data`. ERR_DIGEST_UNSUPPORTED when the digest algorithm cannot be verified.
 */
export function embeddedData(d: Descriptor): Buffer | undefined {
  if (d.data === undefined) return undefined;
  return verifyDigest(fromBase64(d.data, "data"), d.digest, { size: d.size, field: "data" });
}

/** A descriptor for content cairn holds: digest and size computed from the bytes. */
export function descriptorOf(
  bytes: Uint8Array,
  mediaType: string,
  extra: Partial<Omit<Descriptor, "digest" | "size" | "mediaType">> = {},
): Descriptor {
  if (!isValidMediaType(mediaType))
    throw ociInvalid("mediaType", `"${mediaType}" is not an RFC 6838 media type`);
  return { mediaType, digest: digestOf(bytes), size: bytes.byteLength, ...extra };
}
