// SPDX-License-Identifier: Apache-2.0
// cairn tsa init | show: an RFC 3161 time-stamp authority's directory, served by `cairn serve --tsa`.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_TSA_POLICY, describeTsaDirectory, initTsaDirectory } from "../../runtime/tsa-store.js";
import { type CliIO, write } from "../io.js";
import { days, passphrase } from "./ca.js";

export function registerTsa(program: Command, io: CliIO): void {
  const tsa = program.command("tsa").description("an RFC 3161 time-stamp authority for Sigstore bundles");
  tsa
    .command("init")
    .description("create a TSA in DIR: a root and a timeStamping certificate, keys encrypted")
    .argument("<dir>")
    .option("--org <name>", "organization in the TSA names", "cairn")
    .option("--name <name>", "common name of the TSA certificate", "cairn TSA")
    .option("--policy <oid>", "the TSA policy OID its tokens name", DEFAULT_TSA_POLICY)
    .option("--root-days <n>", "root validity", "3650")
    .option("--days <n>", "signing certificate validity (within the root's)", "1825")
    .option(
      "--passphrase-env <NAME>",
      "the key passphrase's environment variable (default CAIRN_KEY_PASSPHRASE)",
    )
    .option("--json", "print the TSA's public description as JSON")
    .action(async (d: string, o: Record<string, string | boolean | undefined>) => {
      const dir = resolve(io.cwd, d);
      const pass = passphrase(io, o.passphraseEnv as string | undefined, "TSA");
      await mkdir(dir, { recursive: true });
      await initTsaDirectory(dir, {
        subject: { organization: String(o.org), commonName: String(o.name) },
        passphrase: pass,
        policy: String(o.policy),
        rootDays: days(String(o.rootDays), "--root-days"),
        days: days(String(o.days), "--days"),
      });
      await show(io, dir, Boolean(o.json));
    });
  tsa
    .command("show")
    .description("print the TSA's signing certificate validity and policy (--pem: its chain)")
    .argument("<dir>")
    .option("--pem", "print the PEM chain, signing certificate first (for cairn trust root --tsa)")
    .option("--json", "as JSON")
    .action(async (d: string, o: { json?: boolean; pem?: boolean }) =>
      show(io, resolve(io.cwd, d), Boolean(o.json), Boolean(o.pem)),
    );
}

async function show(io: CliIO, dir: string, json: boolean, pem = false): Promise<void> {
  const desc = await describeTsaDirectory(dir);
  if (json) write(io.stdout, JSON.stringify(desc));
  else if (pem) io.stdout.write(desc.certificates.join(""));
  else
    write(io.stdout, `tsa ${desc.fingerprint}  ${desc.notBefore} .. ${desc.notAfter}  policy ${desc.policy}`);
}
