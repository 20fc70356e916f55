// SPDX-License-Identifier: Apache-2.0
// The RFC 3161 time-stamp authority: its certificate chain and the issuance of tokens.
export * from "./authority.js";
