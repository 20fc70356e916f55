// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 image-layout.md, the pure-data part: the `oci-layout` header, the
// `org.opencontainers.image.ref.name` grammar (annotations.md) and the blob path of a digest.
// The on-disk store is src/runtime/oci-layout.ts.
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { digestAlgorithm, parseDigest } from "./digest.js";

/** image-layout.md "oci-layout file": the version cairn writes and reads. */
export const IMAGE_LAYOUT_VERSION = "1.0.0";
/** The oci-layout file is a one-field marker; anything larger is not one. */
export const MAX_LAYOUT_HEADER_BYTES = 64 * 1024;

export interface LayoutHeader {
  imageLayoutVersion: string;
  [extra: string]: unknown;
}

/** The bytes of a new `oci-layout` file. */
export function layoutHeaderBytes(): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION }));
}

/**
 * Parses an `oci-layout` file: "It MUST be a JSON object", "It MUST contain an imageLayoutVersion
 * field", "It MAY include additional fields". Only version 1.0.0 is understood. ERR_OCI_LAYOUT_INVALID.
 */
export function parseLayoutHeader(bytes: Uint8Array, file?: string): LayoutHeader {
  const where = file === undefined ? {} : { file };
  let doc: unknown;
  try {
    doc = parseJson(bytes, file, { maxBytes: MAX_LAYOUT_HEADER_BYTES, maxDepth: 16 });
  } catch (e) {
    throw cairnError(
      "ERR_OCI_LAYOUT_INVALID",
      `oci-layout is not a JSON object: ${(e as Error).message}`,
      where,
      { cause: e },
    );
  }
  if (!isJsonObject(doc))
    throw cairnError("ERR_OCI_LAYOUT_INVALID", "oci-layout must be a JSON object", where);
  if (typeof doc.imageLayoutVersion !== "string") {
    throw cairnError("ERR_OCI_LAYOUT_INVALID", "oci-layout must contain imageLayoutVersion", {
      ...where,
      field: "imageLayoutVersion",
    });
  }
  if (doc.imageLayoutVersion !== IMAGE_LAYOUT_VERSION) {
    throw cairnError(
      "ERR_OCI_LAYOUT_INVALID",
      `imageLayoutVersion "${doc.imageLayoutVersion}" is not supported (only ${IMAGE_LAYOUT_VERSION})`,
      {
        ...where,
        field: "imageLayoutVersion",
      },
    );
  }
  return doc as LayoutHeader;
}

// annotations.md `org.opencontainers.image.ref.name`:
//   ref ::= component ("/" component)* ; component ::= alphanum (separator alphanum)*
//   alphanum ::= [A-Za-z0-9]+ ; separator ::= [-._:@+] | "--"
const REF_NAME_RE =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;
/** Longest tag cairn writes (distribution-spec caps tags at 128 characters). */
export const MAX_REF_NAME_LENGTH = 128;

/** True when `s` matches the ref.name grammar of annotations.md (what cairn accepts as a new tag). */
export function isValidRefName(s: string): boolean {
  return s.length > 0 && s.length <= MAX_REF_NAME_LENGTH && REF_NAME_RE.test(s);
}

/**
 * image-layout.md "Blobs": the relative path `blobs/<alg>/<encoded>` of a digest. Only registered
 * algorithms (whose encoded part is lowercase hex) make paths, so a digest can never name a path
 * outside blobs/.
 */
export function blobRelativePath(digest: string): string {
  const alg = digestAlgorithm(digest);
  return `blobs/${alg}/${parseDigest(digest).encoded}`;
}
