// SPDX-License-Identifier: Apache-2.0
// Moved to src/core/prehashed.ts (reviewed there, with its tests); kept so existing imports resolve.
export * from "../../core/prehashed.js";
