// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles: offline verification against a trusted root with an identity policy,
// signing into v0.3 bundles through a transparency-log port, and building trusted roots.
export * from "./local-log.js";
export * from "./policy.js";
export * from "./sign.js";
export * from "./trust-root.js";
export * from "./verify.js";
