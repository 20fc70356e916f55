// SPDX-License-Identifier: Apache-2.0
// Transparency logs: RFC 6962/9162 Merkle trees and proofs, C2SP checkpoints, signed notes and
// witness cosignatures.
export * from "./checkpoint.js";
export * from "./merkle.js";
export * from "./note.js";
