// SPDX-License-Identifier: Apache-2.0
// What every cairn entry shares: the program's name, version and output, the exit codes, and the
// CliIO of a real process. Used by main.ts (every command) and by tuf-client-main.ts (the
// `cairn tuf client` bundle, which must not load main.ts's command table).
import { Command, CommanderError } from "commander";
import { asCairnError, EXIT_CODE } from "../core/errors.js";
import { readEnvironment } from "../runtime/env.js";
import type { CliIO } from "./io.js";

export const VERSION = "0.1.0";

/** The top-level `cairn` command, with no subcommand yet. */
export function newProgram(io: CliIO): Command {
  return new Command("cairn")
    .description("cairn secures software artifacts from the first build step to the machine that runs them")
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
}

/** Makes every command and subcommand throw instead of exiting (runProgram maps the codes). */
export function exitOverrideAll(program: Command): Command {
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

/** Runs `argv` through `program`; resolves to the exit code. Never throws, never prints a stack trace. */
export async function runProgram(
  program: () => Promise<Command>,
  argv: string[],
  io: CliIO,
): Promise<number> {
  process.exitCode = undefined;
  try {
    await (await program()).parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; commander already printed its message.
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      )
        return 0;
      return 2;
    }
    const err = asCairnError(e);
    io.stderr.write(`cairn: ${err.describe()}\n`);
    if (err.category === "internal" && io.env.debug) io.stderr.write(`${(e as Error).stack}\n`);
    return EXIT_CODE[err.category];
  }
}

/** The CliIO of this process. */
export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: readEnvironment(),
    cwd: process.cwd(),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}

/** Runs the CLI as this process: `argv` without node and script; sets the exit code. */
export function runAsProcess(main: (argv: string[], io: CliIO) => Promise<number>, argv: string[]): void {
  main(argv, processIO()).then((code) => {
    process.exitCode = code;
  });
}
