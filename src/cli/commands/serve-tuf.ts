// SPDX-License-Identifier: Apache-2.0
// `cairn serve --tuf-repo OUT [--tuf-working DIR --tuf-online-key K...]`: a published TUF
// repository served by cairn's server (issue 4, section 2), and with a working directory the
// online roles kept fresh by the TUF engine's re-signer (src/engines/tuf/online.ts). Keys come
// from files or environment variables (`file:`/`env:` references, or the repository's config);
// they are never logged.
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import type { Signer } from "../../core/signer.js";
import { type OnlineRefresher, onlineRefresher, TufRepository } from "../../engines/tuf/index.js";
import { loadSigner } from "../../runtime/keyfiles.js";
import { directoryFileArea } from "../../runtime/tuf-repo-store.js";
import { type ServicePlugin, tufRoutes } from "../../services/index.js";
import type { CliIO } from "../io.js";
import { passphraseFrom, signerRef } from "./key.js";

export interface ServeTufFlags {
  tufRepo?: string;
  tufWorking?: string;
  tufOnlineKey?: string[];
  tufRefreshMargin?: string;
  tufRetrySeconds?: string;
}

/** Default margin: re-sign when the published timestamp has less than this left (seconds). */
export const DEFAULT_TUF_REFRESH_MARGIN = 6 * 3600;
/** Default wait before retrying a refresh or publish that failed (seconds). */
export const DEFAULT_TUF_RETRY_SECONDS = 60;
/** Adds the TUF flags to `cairn serve`. */
export function tufServeOptions(cmd: Command): Command {
  return cmd
    .option("--tuf-repo <out>", "also serve this published TUF repository (cairn tuf publish OUT) under /tuf")
    .option(
      "--tuf-working <dir>",
      "the repository's working directory: re-sign snapshot and timestamp before they lapse and publish into --tuf-repo",
    )
    .option(
      "--tuf-online-key <key...>",
      "snapshot and timestamp private key(s): path, file:PATH or env:NAME (default: the working directory's config)",
    )
    .option(
      "--tuf-refresh-margin <seconds>",
      `re-sign when the published timestamp expires within this many seconds (default ${DEFAULT_TUF_REFRESH_MARGIN})`,
    )
    .option(
      "--tuf-retry-seconds <seconds>",
      `wait before retrying a failed re-sign (default ${DEFAULT_TUF_RETRY_SECONDS})`,
    );
}

function seconds(v: string | undefined, flag: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min)
    throw cairnError("ERR_USAGE", `${flag} must be an integer >= ${min}`);
  return Number(v);
}

/** What `cairn serve --json` adds to its startup line when it serves a TUF repository. */
export interface ServedTuf {
  prefix: string;
  refresh: boolean;
}

/**
 * Checks the TUF flags and loads the online keys, or undefined without `--tuf-repo`; a bad setup
 * stops the start before anything is served.
 */
export async function tufServePlugin(
  io: CliIO,
  o: ServeTufFlags,
  log: () => { info(o: object, m: string): void; error(o: object, m: string): void },
): Promise<{ plugin: ServicePlugin; refresher?: OnlineRefresher; info: ServedTuf } | undefined> {
  if (o.tufRepo === undefined) {
    if (
      o.tufWorking !== undefined ||
      o.tufOnlineKey !== undefined ||
      o.tufRefreshMargin !== undefined ||
      o.tufRetrySeconds !== undefined
    )
      throw cairnError(
        "ERR_USAGE",
        "--tuf-working, --tuf-online-key and --tuf-refresh-* go with --tuf-repo OUT",
      );
    return undefined;
  }
  const out = resolve(io.cwd, o.tufRepo);
  const plugin = tufRoutes({ dir: out });
  const info: ServedTuf = { prefix: "/tuf", refresh: o.tufWorking !== undefined };
  if (o.tufWorking === undefined) {
    if (o.tufOnlineKey !== undefined || o.tufRefreshMargin !== undefined || o.tufRetrySeconds !== undefined)
      throw cairnError("ERR_USAGE", "--tuf-online-key and --tuf-refresh-* need --tuf-working DIR");
    return { plugin, info };
  }
  const margin = seconds(o.tufRefreshMargin, "--tuf-refresh-margin", DEFAULT_TUF_REFRESH_MARGIN, 1);
  const retry = seconds(o.tufRetrySeconds, "--tuf-retry-seconds", DEFAULT_TUF_RETRY_SECONDS, 1);
  const repo = new TufRepository({ store: directoryFileArea(resolve(io.cwd, o.tufWorking)) });
  const config = await repo.config();
  const refs =
    o.tufOnlineKey !== undefined && o.tufOnlineKey.length > 0
      ? o.tufOnlineKey.map((k) => signerRef(io, k))
      : [...(config.signing.snapshot ?? []), ...(config.signing.timestamp ?? [])];
  if (refs.length === 0)
    throw cairnError(
      "ERR_USAGE",
      "no snapshot or timestamp key: give --tuf-online-key (path, file: or env:)",
    );
  const signers: Signer[] = [];
  for (const r of new Set(refs)) signers.push(await loadSigner(r, passphraseFrom(io)));
  if (margin >= config.expiry.timestamp)
    throw cairnError(
      "ERR_USAGE",
      `--tuf-refresh-margin (${margin} s) must be shorter than the timestamp's validity (${config.expiry.timestamp} s)`,
    );
  return {
    plugin,
    info,
    refresher: onlineRefresher({
      repo,
      published: directoryFileArea(out),
      signers,
      marginMs: margin * 1000,
      retryMs: retry * 1000,
      // The server's logger exists only once it is built: look it up at each line.
      log: { info: (f, m) => log().info(f, m), error: (f, m) => log().error(f, m) },
    }),
  };
}
