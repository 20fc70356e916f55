// SPDX-License-Identifier: Apache-2.0
// Sigstore formats: bundles (v0.1-v0.3), trusted roots, and Rekor v1 entry bodies.
export * from "./bundle.js";
// --- sigstore bundles (src/engines/sigstore): certificate fields, SCTs, RFC 3161, DER ---
export * from "./certificate.js";
export { timestampNanos } from "./proto-json.js";
export * from "./rekor.js";
export * from "./rfc3161.js";
export * from "./rfc3161-tsa.js";
export * from "./trusted-root.js";
