// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { type CliIO, progressBar } from "./io.js";

function capture(tty: boolean, ci = false): { io: CliIO; text: () => string } {
  let out = "";
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk;
      cb();
    },
  });
  const io: CliIO = {
    stdout: sink,
    stderr: sink,
    env: { noColor: true, ci, debug: false },
    cwd: "/",
    stderrIsTTY: tty,
  };
  return { io, text: () => out };
}

describe("progressBar", () => {
  it("draws on a terminal for long work and ends with a newline", () => {
    const { io, text } = capture(true);
    const p = progressBar(io, "hashing");
    p(0, 1000);
    p(1000, 1000);
    assert.match(text(), /hashing \[#{30}\] 1000\/1000\n$/);
  });
  it("stays silent off a terminal, in CI, and for short work", () => {
    for (const [tty, ci, total] of [
      [false, false, 1000],
      [true, true, 1000],
      [true, false, 10],
    ] as const) {
      const { io, text } = capture(tty, ci);
      const p = progressBar(io, "hashing");
      p(total, total);
      assert.equal(text(), "");
    }
  });
});
