// SPDX-License-Identifier: Apache-2.0
// tuf-js (the reference TypeScript TUF client) as a process, for bench/run.ts tuf-pep458:
//   node bench/tufjs-client.mjs METADATA_DIR METADATA_URL [TARGET_BASE_URL TARGET_PATH OUT_FILE]
// Refreshes (METADATA_DIR holds root.json and whatever a previous run left), then optionally
// downloads one target. Plain JavaScript so that no TypeScript loader is timed. The snapshot cap
// is raised from tuf-js's default 2 MB, which refuses a PEP 458-sized snapshot. Prints
// {"refreshSeconds": S}: the refresh timed inside the process, without Node's start-up.
import { Updater } from "tuf-js";

const [metadataDir, metadataBaseUrl, targetBaseUrl, target, outFile] = process.argv.slice(2);
const start = performance.now();
const u = new Updater({
  metadataDir,
  metadataBaseUrl,
  targetDir: metadataDir,
  ...(targetBaseUrl ? { targetBaseUrl } : {}),
  config: { fetchRetries: 0, snapshotMaxLength: 64 * 1024 * 1024, targetsMaxLength: 64 * 1024 * 1024 },
});
await u.refresh();
const refreshSeconds = (performance.now() - start) / 1000;
if (target) {
  const info = await u.getTargetInfo(target);
  if (!info) throw new Error(`tuf-js: no target ${target}`);
  await u.downloadTarget(info, outFile);
}
console.log(JSON.stringify({ refreshSeconds }));
