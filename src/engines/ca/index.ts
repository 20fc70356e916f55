// SPDX-License-Identifier: Apache-2.0
// The certificate authority: hierarchy and issuance, CT log and SCTs, OIDC and workload identity,
// proof of possession, abuse limits, and the Fulcio-compatible request workflow.
export * from "./authority.js";
export * from "./certificates.js";
export * from "./ct.js";
export * from "./identity.js";
export * from "./inspect.js";
export * from "./limits.js";
export * from "./oidc.js";
export * from "./possession.js";
export * from "./service.js";
