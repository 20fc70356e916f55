// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OciDigest } from "../formats/oci/index.js";
import { captureIO } from "../testing/cli-io.js";
import { copyProgress } from "./copy-progress.js";

const capture = (tty: boolean, ci = false) => captureIO({ tty, ci });

const a = `sha256:${"a".repeat(64)}` as OciDigest;
const b = `sha256:${"b".repeat(64)}` as OciDigest;
const MiB = 2 ** 20;

describe("copyProgress", () => {
  it("draws bytes and blobs on a terminal, at most every 100 ms, and erases itself at the end", () => {
    const { io, text } = capture(true);
    let now = 0;
    const p = copyProgress(io, { now: () => now })!;
    p.onProgress({ kind: "start", blob: a, size: 4 * MiB });
    now += 200;
    p.onProgress({ kind: "bytes", blob: a, size: 4 * MiB, done: 2 * MiB });
    assert.match(text(), /copying \[#{12} {12}\] 2\.0\/4\.0 MiB, 0\/1 blobs/);
    p.onProgress({ kind: "bytes", blob: a, size: 4 * MiB, done: 3 * MiB }); // within 100 ms: not drawn
    assert.doesNotMatch(text(), /3\.0\/4\.0/);
    p.onProgress({ kind: "done", blob: b, size: 4 * MiB, how: "present" });
    now += 200;
    p.onProgress({ kind: "done", blob: a, size: 4 * MiB, how: "copied" });
    assert.match(text(), /8\.0\/8\.0 MiB, 2\/2 blobs\x1b\[K$/);
    p.finish();
    assert.ok(text().endsWith("\r\x1b[K"));
  });

  it("is off under --json, off a terminal and in CI", () => {
    assert.equal(copyProgress(capture(true).io, { json: true }), undefined);
    assert.equal(copyProgress(capture(false).io, {}), undefined);
    assert.equal(copyProgress(capture(true, true).io, {}), undefined);
  });
});
