// SPDX-License-Identifier: Apache-2.0
// OCI image-spec v1.1: descriptors, manifests, indexes, configs, media types, digests, layout data.
export * from "./config.js";
export * from "./descriptor.js";
export * from "./digest.js";
export * from "./layout.js";
export * from "./manifest.js";
export * from "./media-types.js";
