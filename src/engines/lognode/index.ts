// SPDX-License-Identifier: Apache-2.0
// A server process's view of a transparency log: sequencer (when it holds the lock), read view,
// attestation store and the Rekor v1 entry model, composed for src/services.
export * from "./node.js";
