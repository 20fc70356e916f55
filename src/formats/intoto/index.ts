// SPDX-License-Identifier: Apache-2.0
export * from "./fnmatch.js";
export * from "./layout.js";
export * from "./link.js";
export * from "./metablock.js";
export * from "./rules.js";
