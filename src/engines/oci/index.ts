// SPDX-License-Identifier: Apache-2.0
// The OCI engine: a registry client for distribution-spec 1.1 over injected ports.
export * from "./attached.js";
export * from "./auth.js";
export * from "./bundle.js";
export * from "./copy.js";
export * from "./ports.js";
export * from "./reference.js";
export * from "./registry.js";
export * from "./sign.js";
export * from "./sign-verify.js";
export * from "./store.js";
export * from "./tree.js";
