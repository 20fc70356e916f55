// SPDX-License-Identifier: Apache-2.0
// No tests here: a CliIO for running cairn's CLI in process, capturing what it writes: stdout and
// stderr apart, and both interleaved as a terminal would show them.
import { Writable } from "node:stream";
import type { CliIO } from "../cli/io.js";

export interface CapturedIO {
  io: CliIO;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved, in the order written. */
  text(): string;
}

export function captureIO(
  o: { tty?: boolean; ci?: boolean; cwd?: string; keyPassphrase?: string } = {},
): CapturedIO {
  let out = "";
  let err = "";
  let all = "";
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        const s = String(chunk);
        f(s);
        all += s;
        cb();
      },
    });
  const io: CliIO = {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env: {
      noColor: true,
      ci: o.ci ?? false,
      debug: false,
      ...(o.keyPassphrase ? { keyPassphrase: o.keyPassphrase } : {}),
    },
    cwd: o.cwd ?? "/",
    stderrIsTTY: o.tty ?? false,
  };
  return { io, stdout: () => out, stderr: () => err, text: () => all };
}
