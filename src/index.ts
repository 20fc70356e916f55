// SPDX-License-Identifier: Apache-2.0
// cairn's library entry point: the core, the in-toto and DSSE formats, and the in-toto engines.
// Narrower entry points: "cairn/core", "cairn/formats/dsse", "cairn/formats/intoto",
// "cairn/formats/slsa", "cairn/engines/intoto".
export * from "./core/index.js";
export * from "./engines/intoto/index.js";
export * from "./formats/dsse/index.js";
export * from "./formats/intoto/index.js";
export * from "./formats/slsa/index.js";
