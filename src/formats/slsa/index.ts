// SPDX-License-Identifier: Apache-2.0
export * from "./provenance-v1.js";
