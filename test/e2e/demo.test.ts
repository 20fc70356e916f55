// SPDX-License-Identifier: Apache-2.0
// The Quick start demo, run as a user runs it: the three-party in-toto supply chain, the package
// as an OCI image in a layout (signed, attested, verified), a Sigstore bundle, the transparency
// log served on SQLite (upload, search, offline verification), and the refusals of everything
// tampered. This is also the worked example of docs/layout.md, docs/run.md and docs/verify.md.
// The demo runs each command through the CLI's entry point, main(argv, io), in its own process
// (`--spawn` runs each as a process of its own; the other e2e tests spawn the built CLI).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";

const DEMO = resolve(import.meta.dirname, "..", "..", "dist", "demo", "demo.js");

test("the demo runs cairn's main job end to end and refuses every tampered artifact", () => {
  assert.ok(existsSync(DEMO), `${DEMO} is missing: run "npm run build" first`);
  // Run from an empty directory: every file the demo's commands write must land in the demo's own
  // temporary directory (the in-process CLI honours its injected cwd), none here.
  const cwd = mkdtempSync(join(tmpdir(), "cairn-demo-cwd-"));
  const r = spawnSync(process.execPath, [DEMO], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // Every command it shows is the real CLI, and the report is readable.
  for (const cmd of [
    "cairn key generate",
    "cairn layout create",
    "cairn run --step-name clone",
    "cairn record start",
    "cairn record stop",
    "cairn verify",
    "cairn oci sign oci:image:v1",
    "cairn oci attest oci:image:v1",
    "cairn oci tree oci:image:v1",
    "cairn oci verify oci:image:v1",
    "cairn oci verify-attestation oci:image:v1",
    "cairn sign-blob demo-project.tar.gz",
    "cairn trust root",
    "cairn verify-blob demo-project.tar.gz",
    "cairn serve --data logdata --listen 127.0.0.1:0",
    "cairn log upload",
    "cairn log search",
    "cairn log get",
    "cairn log verify",
  ]) {
    assert.ok(r.stdout.includes(`$ ${cmd}`), `the demo does not show "${cmd}"`);
  }
  assert.match(r.stdout, /PASS {2}in-toto verification of root.layout/);
  assert.match(r.stdout, /FAIL {2}in-toto verification of root.layout/);
  assert.match(r.stdout, /FAILED: ERR_INTOTO_RULE_FAILED: untar materials/);
  // The image carries both forms of signature and attestation, and the log knows its provenance.
  assert.match(r.stdout, /├── signatures {2}tag sha256-[0-9a-f]{64}\.sig/);
  assert.match(r.stdout, /attestation {2}application\/vnd\.in-toto\+json/);
  const image = /cairn's library wrote oci:image:v1: .*the image is (sha256:[0-9a-f]{64})/.exec(
    r.stdout,
  )?.[1];
  assert.ok(image, "the demo names the image's digest");
  assert.match(r.stdout, new RegExp(`\\n0\\thttps://slsa\\.dev/provenance/v1\\t${image}\\n`));
  assert.match(r.stdout, /"url":"http:\/\/127\.0\.0\.1:\d+"/);
  // The summary: every genuine check passed, every tampered one was refused with its code.
  const summary = r.stdout.slice(r.stdout.indexOf("=== Summary ==="));
  for (const line of [
    "ok    genuine package, in-toto supply chain (cairn verify): exit 0 (verified)",
    "ok    genuine image signatures (cairn oci verify): exit 0 (verified)",
    "ok    genuine image provenance (cairn oci verify-attestation): exit 0 (verified)",
    "ok    genuine tarball, Sigstore bundle (cairn verify-blob): exit 0 (verified)",
    "ok    the log knows the image's provenance (cairn log search): exit 0 (found)",
    "ok    provenance is in the log (cairn log verify): exit 0 (verified)",
    "ok    tarball's signature is in the log (cairn log verify --artifact): exit 0 (verified)",
    "ok    cairn serve stopped cleanly on SIGTERM: exit 0 (stopped)",
    "ok    tampered package, in-toto supply chain (cairn verify): exit 10 (refused: ERR_INTOTO_RULE_FAILED)",
    "ok    tampered tarball, Sigstore bundle (cairn verify-blob): exit 10 (refused: ERR_SIGSTORE_ARTIFACT_MISMATCH)",
    "ok    tampered tarball, transparency log entry (cairn log verify --artifact): exit 10 (refused: ERR_TLOG_PROOF_INVALID)",
    "ok    image signed by another key (cairn oci verify): exit 10 (refused: ERR_OCI_SIGNATURE_INVALID)",
    "ok    tampered image with a moved signature (cairn oci verify): exit 10 (refused: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH)",
  ]) {
    assert.ok(summary.includes(`  ${line}\n`), `the summary lacks "${line}":\n${summary}`);
  }
  assert.doesNotMatch(summary, /^ {2}FAIL /m);
  assert.match(r.stdout, /demo passed in [\d.]+ s/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, "no stack traces");
  // It cleans up after itself, the server's data included.
  const workDir = /^working in (\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(workDir, "the demo names its temporary directory");
  assert.ok(!existsSync(workDir), `${workDir} is left behind`);
  assert.deepEqual(readdirSync(cwd), [], "the demo wrote into the directory it was started from");
  rmSync(cwd, { recursive: true, force: true });
});
