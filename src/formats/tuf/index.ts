// SPDX-License-Identifier: Apache-2.0
// TUF metadata (The Update Framework specification 1.0.x section 4, TAP 12 key ids, TAP 15
// succinct hashed bin delegations): models, lossless parsing, verification, delegation helpers,
// building and signing. Pure data: no I/O.
export * from "./build.js";
export * from "./delegations.js";
export * from "./limits.js";
export * from "./metadata.js";
export * from "./verify.js";
