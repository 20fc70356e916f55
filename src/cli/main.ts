#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The cairn command line: parse flags, call an engine, render text or --json, exit with a documented code.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { asCairnError, EXIT_CODE } from "../core/errors.js";
import { readEnvironment } from "../runtime/env.js";
import { registerBlob } from "./commands/blob.js";
import { registerCa } from "./commands/ca.js";
import { registerKey } from "./commands/key.js";
import { registerLayout } from "./commands/layout.js";
import { registerLog } from "./commands/log.js";
import { registerOci } from "./commands/oci.js";
import { registerRecord, registerRun } from "./commands/run.js";
import { registerServe } from "./commands/serve.js";
import { registerTrust } from "./commands/trust.js";
import { registerTuf } from "./commands/tuf.js";
import { registerVerify } from "./commands/verify.js";
import type { CliIO } from "./io.js";

export const VERSION = "0.1.0";

export function buildProgram(io: CliIO): Command {
  const program = new Command("cairn")
    .description("cairn secures software artifacts from the first build step to the machine that runs them")
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  registerRun(program, io);
  registerRecord(program, io);
  registerLayout(program, io);
  registerVerify(program, io);
  registerKey(program, io);
  registerTuf(program, io);
  registerOci(program, io);
  // --- log service (src/services) ---
  registerLog(program, io);
  registerServe(program, io);
  // --- certificate authority (src/engines/ca) ---
  registerCa(program, io);
  // --- sigstore bundles (src/engines/sigstore) ---
  registerBlob(program, io);
  registerTrust(program, io);
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
    await buildProgram(io).parseAsync(argv, { from: "user" });
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
