// SPDX-License-Identifier: Apache-2.0
// The TUF engine: the client workflow of the specification (1.0.x section 5) over injected ports.
export * from "./client.js";
export * from "./online.js";
export * from "./ports.js";
export * from "./repository.js";
export * from "./repository-ports.js";
export * from "./trust.js";
