// SPDX-License-Identifier: Apache-2.0
// cairn ca init | rotate | show
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { describeCaDirectory, initCaDirectory, rotateCaDirectory } from "../../runtime/ca-store.js";
import { type CliIO, write } from "../io.js";
import { passphraseFrom } from "./key.js";

/** A whole number of days from a flag value (ERR_USAGE otherwise). */
export function days(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1)
    throw cairnError("ERR_USAGE", `${flag} must be a whole number of days`);
  return n;
}

/** The passphrase for an authority's new keys, required: they are always encrypted. */
export function passphrase(io: CliIO, envName?: string, what = "CA"): string {
  const p = passphraseFrom(io, envName);
  if (!p)
    throw cairnError(
      "ERR_USAGE",
      `${what} keys are always encrypted: set CAIRN_KEY_PASSPHRASE or give --passphrase-env NAME`,
    );
  return p;
}

export function registerCa(program: Command, io: CliIO): void {
  const ca = program
    .command("ca")
    .description("a certificate authority for keyless signing (Fulcio-compatible)");
  ca.command("init")
    .description("create a CA in DIR: a root, an intermediate and a CT log key, keys encrypted")
    .argument("<dir>")
    .option("--org <name>", "organization in the CA names", "cairn")
    .option("--name <name>", "common name prefix of the CA certificates", "cairn CA")
    .option("--root-days <n>", "root validity", "3650")
    .option("--intermediate-days <n>", "intermediate validity", "365")
    .option(
      "--passphrase-env <NAME>",
      "the key passphrase's environment variable (default CAIRN_KEY_PASSPHRASE)",
    )
    .option("--json", "print the CA's public description as JSON")
    .action(async (d: string, o: Record<string, string | boolean | undefined>) => {
      const dir = resolve(io.cwd, d);
      await mkdir(dir, { recursive: true });
      await initCaDirectory(dir, {
        subject: { organization: String(o.org), commonName: String(o.name) },
        passphrase: passphrase(io, o.passphraseEnv as string | undefined),
        rootDays: days(String(o.rootDays), "--root-days"),
        intermediateDays: days(String(o.intermediateDays), "--intermediate-days"),
      });
      await show(io, dir, Boolean(o.json));
    });
  ca.command("rotate")
    .description(
      "add a new intermediate (and with --root a new root); the old ones stay trusted until they expire",
    )
    .argument("<dir>")
    .option("--root", "also create a new root")
    .option("--root-days <n>", "new root validity", "3650")
    .option("--intermediate-days <n>", "new intermediate validity", "365")
    .option(
      "--passphrase-env <NAME>",
      "the key passphrase's environment variable (default CAIRN_KEY_PASSPHRASE)",
    )
    .option("--json", "print the CA's public description as JSON")
    .action(async (d: string, o: Record<string, string | boolean | undefined>) => {
      const dir = resolve(io.cwd, d);
      await rotateCaDirectory(dir, {
        passphrase: passphrase(io, o.passphraseEnv as string | undefined),
        newRoot: Boolean(o.root),
        rootDays: days(String(o.rootDays), "--root-days"),
        intermediateDays: days(String(o.intermediateDays), "--intermediate-days"),
      });
      await show(io, dir, Boolean(o.json));
    });
  ca.command("show")
    .description("print the CA chains with their validity, and the CT log key and log ID")
    .argument("<dir>")
    .option("--json", "as JSON")
    .action(async (d: string, o: { json?: boolean }) => show(io, resolve(io.cwd, d), Boolean(o.json)));
}

async function show(io: CliIO, dir: string, json: boolean): Promise<void> {
  const desc = await describeCaDirectory(dir);
  if (json) {
    write(io.stdout, JSON.stringify(desc));
    return;
  }
  for (const c of desc.chains)
    write(io.stdout, `intermediate ${c.fingerprint}  ${c.notBefore} .. ${c.notAfter}`);
  write(io.stdout, `ct log id ${desc.ct.logId}`);
}
