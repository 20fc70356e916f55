// SPDX-License-Identifier: Apache-2.0
// Runs every *.test.ts under src/ and test/ (Node 20's test runner does not expand globs), each
// file in its own process, two at a time. A file whose process goes silent for WATCHDOG_MS is
// killed and run once more: Node 20's off-thread module hooks (used by tsx) can rarely deadlock
// a process before its tests finish (the main thread parked on a futex, no CPU used); that is a
// runtime fault, not a test result, so one retry is allowed and said in the output. A file that
// fails, or hangs twice, fails the run. Extra arguments: test files to run instead of all.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const WATCHDOG_MS = Number(process.env.CAIRN_TEST_WATCHDOG_MS ?? 240_000);
const CONCURRENCY = 2;

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "vectors" ? [] : find(p);
    return e.name.endsWith(".test.ts") ? [p] : [];
  });
}

const args = process.argv.slice(2);
const files = args.length > 0 ? args : [...find("src"), ...find("test")].sort();

function runOnce(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve({ out, code: null, hung: true });
      }, WATCHDOG_MS);
    };
    arm();
    const take = (d) => {
      out += d;
      arm();
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ out, code, hung: false });
    });
  });
}

function count(out, what) {
  const m = new RegExp(`^ℹ ${what} (\\d+)$`, "m").exec(out);
  return m ? Number(m[1]) : 0;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failedFiles = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    let r = await runOnce(file);
    if (r.hung) {
      process.stdout.write(
        `\n# ${file}: no output for ${WATCHDOG_MS / 1000} s (a hung process): running it again\n`,
      );
      r = await runOnce(file);
    }
    process.stdout.write(`\n# ${file}\n${r.out}`);
    const p = count(r.out, "pass");
    const f = count(r.out, "fail");
    passed += p;
    failed += f;
    skipped += count(r.out, "skipped");
    if (r.hung || r.code !== 0 || f > 0 || p === 0) {
      failedFiles.push(r.hung ? `${file} (hung twice)` : file);
      if (f === 0) failed += 1;
    }
  }
}
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
if (failedFiles.length > 0)
  process.stdout.write(`\nfailed files:\n${failedFiles.map((f) => `  ${f}`).join("\n")}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failedFiles.length > 0 ? 1 : 0);
