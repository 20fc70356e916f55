// SPDX-License-Identifier: Apache-2.0
// The transparency log engine: the storage port, the sequencer, verified entry kinds and the
// C2SP tlog-tiles read API (serving and client-side auditing).

export * from "./audit.js";
export * from "./entries.js";
export * from "./prehashed.js";
export * from "./rekor.js";
export * from "./sequencer.js";
export * from "./storage.js";
export * from "./tiles.js";
