// SPDX-License-Identifier: Apache-2.0
// Spawns the built CLI (dist/) as a user would, capturing its output and exit code.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The CLI as it ships: the bundle the package.json "bin" names.
export const CAIRN = resolve(import.meta.dirname, "..", "..", "dist", "cairn.mjs");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a process to completion, capturing its output. */
function capture(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, env === undefined ? { cwd } : { cwd, env });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

/** Runs `cairn ARGS` in `cwd`. Fails clearly when the build is missing (npm test builds first). */
export function cairn(args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  if (!existsSync(CAIRN)) throw new Error(`${CAIRN} is missing: run "npm run build" first`);
  return capture(process.execPath, [CAIRN, ...args], cwd, { ...process.env, NO_COLOR: "1", ...env });
}

/** Runs any command, for the reference tools. */
export function sh(cmd: string, args: string[], cwd: string): Promise<CliResult> {
  return capture(cmd, args, cwd);
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cairn-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One clear error line: no stack trace, names the code. */
export function isOneErrorLine(stderr: string): boolean {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && /^cairn: ERR_[A-Z_]+: /.test(lines[0]!) && !/\n\s+at /.test(stderr);
}
