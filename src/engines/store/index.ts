// SPDX-License-Identifier: Apache-2.0
// The attestation store (issue 3, section 3): envelopes kept whole and searchable by subject
// digest, predicate type, signer and time, behind the SearchIndex port.
export * from "./search-index.js";
export * from "./store.js";
