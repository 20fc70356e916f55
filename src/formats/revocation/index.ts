// SPDX-License-Identifier: Apache-2.0
// Revocation lists: keys, certificates and identities revoked from an effective time (issue 6, section 4).
export * from "./revocations.js";
