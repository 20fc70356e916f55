// SPDX-License-Identifier: Apache-2.0
// Node 20's test runner does not expand globs: find every *.test.ts under src/ and test/ and run them.
// Extra arguments are passed to `node --test` (for example a name pattern or files to run).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "vectors" ? [] : find(p);
    return e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const args = process.argv.slice(2);
const files = args.some((a) => a.endsWith(".ts")) ? [] : [...find("src"), ...find("test")].sort();
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...args, ...files],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
