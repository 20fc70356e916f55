// SPDX-License-Identifier: Apache-2.0
export * from "./layout.js";
export * from "./link.js";
export * from "./metablock.js";
export * from "./predicates/link-v0.3.js";
export * from "./rules.js";
export * from "./statement.js";
export * from "./validate.js";
