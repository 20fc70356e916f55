// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1.1 media-types.md: the media types cairn reads and writes, plus the Docker
// schema 2 types that registries still serve (recognized for reading only).

/** descriptor.md */
export const MEDIA_TYPE_DESCRIPTOR = "application/vnd.oci.descriptor.v1+json";
/** image-layout.md "oci-layout file" */
export const MEDIA_TYPE_LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json";
/** image-index.md */
export const MEDIA_TYPE_OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** manifest.md */
export const MEDIA_TYPE_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** config.md */
export const MEDIA_TYPE_OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** layer.md */
export const MEDIA_TYPE_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
export const MEDIA_TYPE_OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const MEDIA_TYPE_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
/** layer.md "Non-distributable layers" (deprecated). */
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE =
  "application/vnd.oci.image.layer.nondistributable.v1.tar";
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_GZIP =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
export const MEDIA_TYPE_OCI_LAYER_NONDISTRIBUTABLE_ZSTD =
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/** manifest.md "Guidance for an Empty Descriptor": the blob is `{}`. */
export const MEDIA_TYPE_EMPTY_JSON = "application/vnd.oci.empty.v1+json";

/** Docker Image Manifest V2, Schema 2 (distribution docs/spec/manifest-v2-2.md). */
export const MEDIA_TYPE_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list (the Docker analogue of an OCI image index). */
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Docker image config (Docker Image Spec v1.2). */
export const MEDIA_TYPE_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP =
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** Docker schema 1: recognized only so that it can be refused by name. */
export const MEDIA_TYPE_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
export const MEDIA_TYPE_DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/** Media types of single-image manifests cairn reads. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST];
/** Media types of indexes (multi-manifest documents) cairn reads. */
export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST_LIST];

export type ManifestMediaType = typeof MEDIA_TYPE_OCI_MANIFEST | typeof MEDIA_TYPE_DOCKER_MANIFEST;
export type IndexMediaType = typeof MEDIA_TYPE_OCI_INDEX | typeof MEDIA_TYPE_DOCKER_MANIFEST_LIST;

export function isManifestMediaType(mt: string): mt is ManifestMediaType {
  return MANIFEST_MEDIA_TYPES.includes(mt);
}

export function isIndexMediaType(mt: string): mt is IndexMediaType {
  return INDEX_MEDIA_TYPES.includes(mt);
}

// RFC 6838 section 4.2: restricted-name = restricted-name-first *126restricted-name-chars, where
// first is ALPHA / DIGIT and chars add "!" "#" "$" "&" "-" "^" "_" "." "+". No parameters.
const RESTRICTED_NAME = "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}";
const MEDIA_TYPE_RE = new RegExp(`^${RESTRICTED_NAME}/${RESTRICTED_NAME}$`);

/** True when `s` is a `type/subtype` media type per RFC 6838 section 4.2 (descriptor.md `mediaType`). */
export function isValidMediaType(s: string): boolean {
  return MEDIA_TYPE_RE.test(s);
}
