// SPDX-License-Identifier: Apache-2.0
// The cairn command line: parse flags, call an engine, render text or --json, exit with a documented
// code. The built CLI starts at bin.ts (dist/cairn.mjs), which loads this module as dist/cli/main.mjs.
import type { Command } from "commander";
import type { CliIO } from "./io.js";
import { exitOverrideAll, newProgram, runAsProcess, runProgram } from "./program.js";
import { isTufClient, words } from "./route.js";

export { VERSION } from "./program.js";

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
 * `cairn tuf client ...` runs at every update of a TUF client (and is timed against other clients
 * in bench/); it needs none of the repository side's modules. The module registers the parent
 * command with this one subcommand under it. The built CLI does not come here for it at all: its
 * launcher (bin.ts) loads the client's own bundle (tuf-client-main.ts), which does the same.
 */
const TUF_CLIENT = async (): Promise<Register[]> => [
  (await import("./commands/tuf-client.js")).registerTufClientOnly,
];

/** The program with the commands `argv` needs: the one it names, or all of them. */
export async function buildProgram(io: CliIO, argv: readonly string[] = []): Promise<Command> {
  const program = newProgram(io);
  const [name] = words(argv);
  const named = isTufClient(argv)
    ? [TUF_CLIENT]
    : COMMANDS.filter(([names]) => name !== undefined && names.includes(name)).map(([, load]) => load);
  // `cairn --version` needs no command; help and an unknown name get all of them.
  const versionOnly = name === undefined && argv.some((a) => a === "--version" || a === "-V");
  const loads = named.length > 0 ? named : versionOnly ? [] : COMMANDS.map(([, load]) => load);
  for (const load of loads) {
    for (const register of await load()) register(program, io);
  }
  return exitOverrideAll(program);
}

/** Runs the CLI; resolves to the exit code. Never throws, never prints a stack trace. */
export function main(argv: string[], io: CliIO): Promise<number> {
  return runProgram(() => buildProgram(io, argv), argv, io);
}

/** Runs the CLI as this process (the launcher, bin.ts, calls it): `argv` without node and script. */
export function run(argv: string[]): void {
  runAsProcess(main, argv);
}
