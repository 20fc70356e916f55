// SPDX-License-Identifier: Apache-2.0
// The Quick start demo, run as a user runs it: the three-party supply chain passes verification
// and the tampered package is refused. This is also the worked example of docs/layout.md,
// docs/run.md and docs/verify.md.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";

const DEMO = resolve(import.meta.dirname, "..", "..", "dist", "demo", "demo.js");

test("the demo runs the classic three-party supply chain end to end", () => {
  assert.ok(existsSync(DEMO), `${DEMO} is missing: run "npm run build" first`);
  const r = spawnSync(process.execPath, [DEMO], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Every command it shows is the real CLI, and the report is readable.
  for (const cmd of [
    "cairn key generate",
    "cairn layout create",
    "cairn run --step-name clone",
    "cairn record start",
    "cairn record stop",
    "cairn verify",
  ]) {
    assert.ok(r.stdout.includes(cmd), `the demo does not show "${cmd}"`);
  }
  assert.match(r.stdout, /PASS {2}in-toto verification of root.layout/);
  assert.match(r.stdout, /FAIL {2}in-toto verification of root.layout/);
  assert.match(r.stdout, /FAILED: ERR_INTOTO_RULE_FAILED: untar materials/);
  assert.match(r.stdout, /genuine package: exit 0 \(verified\)/);
  assert.match(r.stdout, /tampered package: exit 10 \(refused\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, "no stack traces");
});
