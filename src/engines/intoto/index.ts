// SPDX-License-Identifier: Apache-2.0
export * from "./layout-create.js";
export * from "./params.js";
export * from "./rules.js";
export * from "./verify.js";
