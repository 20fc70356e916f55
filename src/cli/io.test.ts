// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureIO } from "../testing/cli-io.js";
import { progressBar } from "./io.js";

const capture = (tty: boolean, ci = false) => captureIO({ tty, ci });

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
