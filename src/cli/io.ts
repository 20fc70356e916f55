// SPDX-License-Identifier: Apache-2.0
// Injected output streams and a progress bar (stderr, only on a TTY, never in CI).
import type { Writable } from "node:stream";
import { cairnError } from "../core/errors.js";
import type { Environment } from "../runtime/env.js";

export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  env: Environment;
  cwd: string;
  /** Whether stderr is a terminal (progress bars only then). */
  stderrIsTTY: boolean;
}

export function write(s: Writable, text: string): void {
  s.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** A progress callback that draws a bar for long work, or does nothing when not on a terminal. */
export function progressBar(io: CliIO, label: string, minTotal = 200): (done: number, total: number) => void {
  if (!io.stderrIsTTY || io.env.ci) return () => {};
  let last = 0;
  return (done, total) => {
    if (total < minTotal) return;
    const now = Date.now();
    if (done !== total && now - last < 100) return;
    last = now;
    const width = 30;
    const fill = Math.round((done / total) * width);
    io.stderr.write(`\r${label} [${"#".repeat(fill)}${" ".repeat(width - fill)}] ${done}/${total}`);
    if (done === total) io.stderr.write("\n");
  };
}

export function color(io: CliIO, code: number, text: string): string {
  return io.env.noColor || !io.stderrIsTTY ? text : `\x1b[${code}m${text}\x1b[0m`;
}

/** A flag's value as an integer of at least `min` (default 1). */
export function intFlag(v: string, flag: string, min = 1): number {
  if (!/^[0-9]{1,15}$/.test(v) || Number(v) < min)
    throw cairnError("ERR_USAGE", `${flag} must be an integer >= ${min}`);
  return Number(v);
}
