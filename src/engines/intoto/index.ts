// SPDX-License-Identifier: Apache-2.0
export * from "./artifacts.js";
export * from "./layout-create.js";
export * from "./params.js";
export * from "./rules.js";
export * from "./runlib.js";
export * from "./verify.js";
