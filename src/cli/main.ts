#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The cairn command line: parse flags, call an engine, render text or --json, exit with a documented code.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { asCairnError, EXIT_CODE } from "../core/errors.js";
import { readEnvironment } from "../runtime/env.js";
import type { CliIO } from "./io.js";

export const VERSION = "0.1.0";

type Register = (program: Command, io: CliIO) => void;

/**
 * Every top-level command, with the module that defines it. A module is loaded only when one of
 * its commands runs (or for help over all of them): the build splits each into its own chunk, so
 * `cairn run` does not pay for loading the HTTP server, the SQL layer or the ASN.1 packages.
 * The order here is the order of `cairn --help`.
 */
const COMMANDS: ReadonlyArray<readonly [names: readonly string[], load: () => Promise<Register[]>]> = [
  [
    ["run", "record"],
    async () => {
      const m = await import("./commands/run.js");
      return [m.registerRun, m.registerRecord];
    },
  ],
  [["layout"], async () => [(await import("./commands/layout.js")).registerLayout]],
  [["verify"], async () => [(await import("./commands/verify.js")).registerVerify]],
  [["key"], async () => [(await import("./commands/key.js")).registerKey]],
  [["tuf"], async () => [(await import("./commands/tuf.js")).registerTuf]],
  [["oci"], async () => [(await import("./commands/oci.js")).registerOci]],
  [["log"], async () => [(await import("./commands/log.js")).registerLog]],
  [["serve"], async () => [(await import("./commands/serve.js")).registerServe]],
  [["ca"], async () => [(await import("./commands/ca.js")).registerCa]],
  [["tsa"], async () => [(await import("./commands/tsa.js")).registerTsa]],
  [
    ["sign-blob", "attest-blob", "verify-blob", "verify-blob-attestation"],
    async () => [(await import("./commands/blob.js")).registerBlob],
  ],
  [["trust"], async () => [(await import("./commands/trust.js")).registerTrust]],
];

/**
 * Subcommands loaded without their siblings: `cairn tuf client ...` runs at every update of a
 * TUF client (and is timed against other clients in bench/); it needs none of the repository
 * side's modules. The module registers the parent command with this one subcommand under it.
 */
const SUBCOMMANDS: ReadonlyArray<
  readonly [path: readonly [string, string], load: () => Promise<Register[]>]
> = [[["tuf", "client"], async () => [(await import("./commands/tuf-client.js")).registerTufClientOnly]]];

/** The arguments that are not options: the command's name first (none for `cairn --help`). */
function words(argv: readonly string[]): string[] {
  return argv.filter((a) => !a.startsWith("-"));
}

/** The program with the commands `argv` needs: the one it names, or all of them. */
export async function buildProgram(io: CliIO, argv: readonly string[] = []): Promise<Command> {
  const program = new Command("cairn")
    .description("cairn secures software artifacts from the first build step to the machine that runs them")
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  const [name, sub] = words(argv);
  const narrow = SUBCOMMANDS.filter(([path]) => path[0] === name && path[1] === sub);
  const named =
    narrow.length > 0 ? narrow : COMMANDS.filter(([names]) => name !== undefined && names.includes(name));
  // `cairn --version` needs no command; help and an unknown name get all of them.
  const versionOnly = name === undefined && argv.some((a) => a === "--version" || a === "-V");
  for (const [, load] of named.length > 0 ? named : versionOnly ? [] : COMMANDS) {
    for (const register of await load()) register(program, io);
  }
  for (const c of program.commands) {
    c.exitOverride();
    for (const sub of c.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI; resolves to the exit code. Never throws, never prints a stack trace. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  process.exitCode = undefined;
  try {
    await (await buildProgram(io, argv)).parseAsync(argv, { from: "user" });
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

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: readEnvironment(),
    cwd: process.cwd(),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  });
}
