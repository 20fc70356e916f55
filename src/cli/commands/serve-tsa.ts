// SPDX-License-Identifier: Apache-2.0
// `cairn serve --tsa DIR`: the RFC 3161 time-stamp authority (sigstore/timestamp-authority's API)
// in the log's server. The directory (cairn tsa init) is loaded with its key passphrase from an
// environment variable or a file, before anything is opened, so a bad setup stops the start.
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { describeTsaDirectory, loadTsaDirectory } from "../../runtime/tsa-store.js";
import { type ServicePlugin, tsaRoutes } from "../../services/index.js";
import type { CliIO } from "../io.js";
import { servePassphrase } from "./serve-ca.js";

export interface ServeTsaFlags {
  tsa?: string;
  tsaPassphraseEnv?: string;
  tsaPassphraseFile?: string;
  tsaRatePerMinute?: string;
}

/** Adds the time-stamp authority's flags to `cairn serve`. */
export function tsaServeOptions(cmd: Command): Command {
  return cmd
    .option(
      "--tsa <dir>",
      "also serve an RFC 3161 TSA (POST /api/v1/timestamp) from this directory (cairn tsa init)",
    )
    .option(
      "--tsa-passphrase-env <NAME>",
      "the TSA keys' passphrase is in this environment variable (default CAIRN_KEY_PASSPHRASE)",
    )
    .option("--tsa-passphrase-file <file>", "the TSA keys' passphrase is the first line of this file")
    .option("--tsa-rate-per-minute <n>", "time-stamp requests per client address and minute (default 6000)");
}

/** What `cairn serve --json` adds to its startup line when it serves a TSA. */
export interface ServedTsa {
  policy: string;
  notAfter: string;
}

/** Loads the TSA for `cairn serve`, or undefined without `--tsa`. */
export async function tsaServePlugin(
  io: CliIO,
  o: ServeTsaFlags,
): Promise<{ plugin: ServicePlugin; info: ServedTsa } | undefined> {
  if (o.tsa === undefined) {
    if (
      o.tsaPassphraseEnv !== undefined ||
      o.tsaPassphraseFile !== undefined ||
      o.tsaRatePerMinute !== undefined
    )
      throw cairnError("ERR_USAGE", "--tsa-passphrase-* and --tsa-rate-per-minute go with --tsa DIR");
    return undefined;
  }
  let perMinute: number | undefined;
  if (o.tsaRatePerMinute !== undefined) {
    perMinute = Number(o.tsaRatePerMinute);
    if (!Number.isSafeInteger(perMinute) || perMinute < 1)
      throw cairnError("ERR_USAGE", "--tsa-rate-per-minute must be a positive whole number");
  }
  const dir = resolve(io.cwd, o.tsa);
  const tsa = await loadTsaDirectory(
    dir,
    await servePassphrase(io, "tsa", o.tsaPassphraseEnv, o.tsaPassphraseFile),
  );
  const desc = await describeTsaDirectory(dir);
  return {
    info: { policy: desc.policy, notAfter: desc.notAfter },
    plugin: tsaRoutes(
      tsa,
      perMinute ? { rateLimit: { perMinute, burst: Math.max(1, Math.ceil(perMinute / 30)) } } : {},
    ),
  };
}
