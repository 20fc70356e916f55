// SPDX-License-Identifier: Apache-2.0
// The progress line of `cairn oci copy`: bytes and blobs so far, on stderr, only on a terminal
// (never under --json, in CI, or when stderr is a file or pipe), redrawn at most every 100 ms and
// erased at the end so that only the result stays.
import type { CopyEvent } from "../engines/oci/copy.js";
import type { CliIO } from "./io.js";

const WIDTH = 24;
const REDRAW_MS = 100;

export interface CopyProgress {
  onProgress: (e: CopyEvent) => void;
  /** Erases the line (call on success and on failure). */
  finish(): void;
}

function mib(n: number): string {
  return (n / 2 ** 20).toFixed(1);
}

/** A progress line for a copy, or undefined when none should be drawn. */
export function copyProgress(
  io: CliIO,
  opts: { json?: boolean; now?: () => number },
): CopyProgress | undefined {
  if (opts.json || !io.stderrIsTTY || io.env.ci) return undefined;
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { size: number; done: number; finished: boolean }>();
  let total = 0;
  let done = 0;
  let finished = 0;
  let last = 0;
  let drawn = false;
  const blob = (digest: string, size: number) => {
    let b = seen.get(digest);
    if (b === undefined) {
      b = { size, done: 0, finished: false };
      seen.set(digest, b);
      total += size;
    }
    return b;
  };
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - last < REDRAW_MS) return;
    last = t;
    const fill = total === 0 ? 0 : Math.min(WIDTH, Math.round((done / total) * WIDTH));
    io.stderr.write(
      `\rcopying [${"#".repeat(fill)}${" ".repeat(WIDTH - fill)}] ${mib(done)}/${mib(total)} MiB, ${finished}/${seen.size} blobs\x1b[K`,
    );
    drawn = true;
  };
  return {
    onProgress(e) {
      if (e.kind === "manifest") return;
      const b = blob(e.blob, e.size);
      if (e.kind === "bytes") {
        done += Math.max(0, e.done - b.done);
        b.done = e.done;
      } else if (e.kind === "done" && !b.finished) {
        b.finished = true;
        finished++;
        done += b.size - b.done;
        b.done = b.size;
      }
      draw(e.kind === "done" && finished === seen.size);
    },
    finish() {
      if (drawn) io.stderr.write("\r\x1b[K");
    },
  };
}
