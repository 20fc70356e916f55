// SPDX-License-Identifier: Apache-2.0
// The entry of `cairn tuf client ...` in the built CLI: bundled with everything it needs (commander
// included) into one CommonJS file, dist/cli/tuf-client.cjs, that the launcher (bin.ts) requires
// for that command line. One file through the CommonJS loader instead of an ES module graph: an
// updater runs this at every update, and module loading was a quarter of its CPU time.
import { registerTufClientOnly } from "./commands/tuf-client.js";
import type { CliIO } from "./io.js";
import { exitOverrideAll, newProgram, runAsProcess, runProgram } from "./program.js";

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

/** Runs `cairn tuf client ...` as this process: `argv` without node and script. */
export function run(argv: string[]): void {
  runAsProcess(main, argv);
}
