// SPDX-License-Identifier: Apache-2.0
// The OCI adapters of the public API (package.json "./runtime/oci"), to run the OCI engine
// (`cairn/engines/oci`) with real I/O: the image layout store (image-spec 1.1 image-layout.md, the
// embedded default store), the registry HttpPort over node:http/https, and credentials from the
// Docker config file and credential helpers.
export * from "./docker-config.js";
export * from "./oci-layout.js";
export * from "./registry-http.js";
