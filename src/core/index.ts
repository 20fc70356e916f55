// SPDX-License-Identifier: Apache-2.0
// cairn's core: encodings, canonical JSON, bounded JSON, digests, keys, signers, errors, clock.
export * from "./canonical.js";
export * from "./clock.js";
export * from "./digest.js";
export * from "./encoding.js";
export * from "./errors.js";
export * from "./fnmatch.js";
export * from "./json.js";
export * from "./keys.js";
export * from "./signer.js";
