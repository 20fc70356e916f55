// SPDX-License-Identifier: Apache-2.0
// Test-only: runs Python code against the reference implementation (Debian's in-toto and
// securesystemslib, importable from the system /usr/bin/python3), JSON in on stdin, JSON out on stdout.
import { spawn, spawnSync } from "node:child_process";

export const PYTHON = "/usr/bin/python3";

/** The environment without variables that would point Python at another installation (pyenv). */
export const pythonEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => k !== "PYTHONPATH" && k !== "PYTHONHOME"),
);

/** Why the reference is unusable, or undefined when `module` imports. Tests assert on this, never skip. */
export function referenceMissing(module = "securesystemslib.formats, in_toto"): string | undefined {
  const r = spawnSync(PYTHON, ["-c", `import ${module}`], { env: pythonEnv, encoding: "utf8" });
  return r.status === 0
    ? undefined
    : `needs ${module} for ${PYTHON} (scripts/test.sh installs Debian's in-toto)`;
}

/** Runs `script` synchronously; `input` goes in as JSON, stdout is parsed as JSON. */
export function runPython(script: string, input: unknown): unknown {
  const r = spawnSync(PYTHON, ["-c", script], {
    input: JSON.stringify(input),
    encoding: "utf8",
    env: pythonEnv,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The same without blocking, for tests that run other processes meanwhile. */
export function runPythonAsync(script: string, input: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, ["-c", script], { env: pythonEnv, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
    });
    p.stderr.setEncoding("utf8").on("data", (d) => {
      err += d;
    });
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) reject(new Error(`python exited ${code}: ${err}`));
      else resolve(JSON.parse(out));
    });
    p.stdin.end(JSON.stringify(input));
  });
}
