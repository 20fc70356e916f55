// SPDX-License-Identifier: Apache-2.0
// Starting a worker thread on one of this project's modules, in the bundled CLI and from the
// TypeScript sources alike. The caller finds the entry module's URL through a dynamic import (the
// CLI bundle then keeps the entry, and what it imports, in a chunk of its own). Run from the
// sources (tests, under tsx), a worker does not inherit the main thread's loader hooks: it
// registers tsx's itself before importing the entry.
import { Worker } from "node:worker_threads";

const BOOT = `
  const { workerData } = require("node:worker_threads");
  (async () => {
    if (workerData.tsx !== undefined) (await import(workerData.tsx)).register();
    await import(workerData.url);
  })();`;

/** A worker running the module at `url`; `data` joins its workerData (with `url` and `tsx`). */
export function startModuleWorker(url: string, data: Record<string, unknown>): Worker {
  const tsx = url.endsWith(".ts") ? import.meta.resolve("tsx/esm/api") : undefined;
  return new Worker(BOOT, { eval: true, workerData: { ...data, url, tsx } });
}
