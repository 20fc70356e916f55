// SPDX-License-Identifier: Apache-2.0
// The entry of `cairn tuf client ...` in the built CLI: bundled with everything it needs (commander
// included) into one CommonJS file, dist/cli/tuf-client.cjs, that the launcher (bin.ts) requires
// for that command line. One file through the CommonJS loader instead of an ES module graph: an
// updater runs this at every update, and module loading was a quarter of its CPU time.
import { registerTufClientOnly } from "./commands/tuf-client.js";
import type { CliIO } from "./io.js";
import { exitOverrideAll, newProgram, processIO, runProgram } from "./program.js";

/** Runs `cairn tuf client ...`; resolves to the exit code (0 or 1 for the protocol's commands). */
export function main(argv: string[], io: CliIO): Promise<number> {
  return runProgram(
    async () => {
      const program = newProgram(io);
      registerTufClientOnly(program, io);
      return exitOverrideAll(program);
    },
    argv,
    io,
  );
}

/**
 * Runs `cairn tuf client ...` as this process: `argv` without node and script. The process exits
 * as soon as the command is done and its output is flushed: the client has nothing left to do
 * (every metadata write was awaited), and Node's own teardown of the heap it leaves behind took
 * 15-22 ms of the time an updater waits (a cold PEP 458 refresh: output to process exit, 15 runs,
 * median 22.0 -> 16.8 ms, fastest 15.7 -> 9.8 ms).
 */
export function run(argv: string[]): void {
  main(argv, processIO()).then((code) => {
    process.exitCode = code;
    // Each callback runs once what was written before it is out (pipes can be asynchronous).
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
  });
}
