// SPDX-License-Identifier: Apache-2.0
// X.509 data for the certificate authority: OIDs, the Fulcio extensions, RFC 6962 SCTs, SPIFFE IDs.
export * from "./der.js";
export * from "./fulcio.js";
export * from "./oids.js";
export * from "./san.js";
export * from "./sct.js";
export * from "./spiffe.js";
