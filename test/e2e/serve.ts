// SPDX-License-Identifier: Apache-2.0
// Starts `cairn serve` as a process on a free port and stops it (SIGTERM, or SIGKILL for crash tests).
import { type ChildProcess, spawn } from "node:child_process";
import { CAIRN } from "./cli.js";

export interface Served {
  url: string;
  info: { url: string; origin: string; vkey: string; logID: string; auth: string; sequencer: boolean };
  proc: ChildProcess;
  stderr: () => string;
  /** Sends a signal and resolves with the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs `cairn serve --listen 127.0.0.1:0 --json ARGS` and waits for its startup line. */
export function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Served> {
  return new Promise((res, rej) => {
    const proc = spawn(process.execPath, [CAIRN, "serve", "--listen", "127.0.0.1:0", "--json", ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
    });
    let out = "";
    let err = "";
    const exited = new Promise<number | string>((r) => proc.on("exit", (code, sig) => r(code ?? sig ?? -1)));
    proc.stderr.on("data", (d) => {
      err += d;
    });
    proc.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      try {
        const info = JSON.parse(out.slice(0, nl));
        res({
          url: info.url,
          info,
          proc,
          stderr: () => err,
          stop: (signal = "SIGTERM") => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      } catch (e) {
        rej(e);
      }
    });
    proc.on("exit", (code) => rej(new Error(`cairn serve exited (${code}) before listening: ${err}`)));
  });
}
