// SPDX-License-Identifier: Apache-2.0

export * from "./ca-store.js";
export * from "./docker-config.js";
export * from "./env.js";
export * from "./fs.js";
export * from "./keyfiles.js";
export * from "./oci-layout.js";
export * from "./registry-http.js";
export * from "./store-sql.js";
export * from "./tlog-sql.js";
export * from "./tuf-repo-store.js";
export * from "./tuf-store.js";
