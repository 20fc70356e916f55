// SPDX-License-Identifier: Apache-2.0
// HTTP services (Fastify): the server and its route plugins.
export * from "./forward.js";
export * from "./fulcio-routes.js";
export * from "./log-routes.js";
export * from "./metrics.js";
export * from "./problem.js";
export * from "./rekor-routes.js";
export * from "./server.js";
export * from "./tsa-routes.js";
export * from "./tuf-routes.js";
