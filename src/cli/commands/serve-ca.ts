// SPDX-License-Identifier: Apache-2.0
// `cairn serve --ca DIR --oidc-issuers FILE`: the certificate authority in the log's server (issue
// 6, section 1: "cairn serve runs it"). The CA directory (cairn ca init) is loaded with its key
// passphrase from an environment variable or a file (never a flag value: flags show in `ps`),
// the trusted issuers come from a JSON or YAML file, and the CT log records precertificates in
// this server's own transparency log, so certificates and signatures share one log and one
// database. Kept apart from serve.ts so the log's server stays readable.
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { sequencerCertificateLog } from "../../engines/ca/index.js";
import type { LogNode } from "../../engines/lognode/index.js";
import {
  caServiceFrom,
  describeCaDirectory,
  loadCaDirectory,
  readIssuerConfigFile,
  readSecretFile,
} from "../../runtime/ca-store.js";
import { readVariable } from "../../runtime/env.js";
import { caRoutes, forwardWrites, type SequencerLocator, type ServicePlugin } from "../../services/index.js";
import type { CliIO } from "../io.js";

export interface ServeCaFlags {
  openRekor?: boolean;
  ca?: string;
  oidcIssuers?: string;
  caPassphraseEnv?: string;
  caPassphraseFile?: string;
}

/** Adds the flags of keyless signing (the CA, Rekor writes from Sigstore clients) to `cairn serve`. */
export function caServeOptions(cmd: Command): Command {
  return cmd
    .option(
      "--open-rekor",
      "accept Rekor API writes without a token (Sigstore clients send none; entries are verified first)",
    )
    .option("--ca <dir>", "also serve the Fulcio v2 API from this CA directory (cairn ca init)")
    .option("--oidc-issuers <file>", "the CA's trusted OIDC issuers (JSON or YAML; required with --ca)")
    .option(
      "--ca-passphrase-env <NAME>",
      "the CA keys' passphrase is in this environment variable (default CAIRN_KEY_PASSPHRASE)",
    )
    .option("--ca-passphrase-file <file>", "the CA keys' passphrase is the first line of this file");
}

/**
 * A served authority's key passphrase (`--<flag>-passphrase-env NAME` or `--<flag>-passphrase-file
 * FILE`, default CAIRN_KEY_PASSPHRASE): never a flag value, since flags show in `ps`.
 */
export async function servePassphrase(
  io: CliIO,
  flag: "ca" | "tsa",
  env: string | undefined,
  file: string | undefined,
): Promise<string> {
  if (env !== undefined && file !== undefined)
    throw cairnError("ERR_USAGE", `give --${flag}-passphrase-env or --${flag}-passphrase-file, not both`);
  if (file !== undefined) return readSecretFile(resolve(io.cwd, file));
  const p = env !== undefined ? readVariable(env) : io.env.keyPassphrase;
  if (!p)
    throw cairnError(
      "ERR_USAGE",
      `the ${flag.toUpperCase()} keys are encrypted: set ${env ?? "CAIRN_KEY_PASSPHRASE"} or give --${flag}-passphrase-file`,
    );
  return p;
}

/** What `cairn serve --json` adds to its startup line when it serves a CA. */
export interface ServedCa {
  ctLogID: string;
  issuers: string[];
}

/**
 * Loads the CA for `cairn serve`, or undefined without `--ca`: decrypts its keys and checks the
 * issuer file first, so a bad setup stops the start before anything is opened or written. The
 * route plugin is made once the server's log is open (`plugin(node)`).
 */
export async function caServePlugin(
  io: CliIO,
  o: ServeCaFlags,
): Promise<
  { plugin: (node: LogNode, locateSequencer?: SequencerLocator) => ServicePlugin; info: ServedCa } | undefined
> {
  if (o.ca === undefined) {
    if (o.oidcIssuers !== undefined || o.caPassphraseEnv !== undefined || o.caPassphraseFile !== undefined)
      throw cairnError("ERR_USAGE", "--oidc-issuers and --ca-passphrase-* go with --ca DIR");
    return undefined;
  }
  if (o.oidcIssuers === undefined)
    throw cairnError("ERR_USAGE", "--ca needs --oidc-issuers FILE: the issuers whose tokens the CA trusts");
  const dir = resolve(io.cwd, o.ca);
  const issuers = await readIssuerConfigFile(resolve(io.cwd, o.oidcIssuers));
  const loaded = await loadCaDirectory(
    dir,
    await servePassphrase(io, "ca", o.caPassphraseEnv, o.caPassphraseFile),
  );
  const { ct } = await describeCaDirectory(dir);
  return {
    info: { ctLogID: ct.logId, issuers: issuers.map((i) => i.issuerUrl) },
    plugin: (node, locateSequencer) =>
      caRoutes(
        caServiceFrom(loaded, {
          issuers,
          // The CT log records into this server's log: durable before any SCT is signed.
          log: sequencerCertificateLog({ submit: (leaf) => node.appendLeaf(leaf) }),
        }),
        // Servers sharing one database: certificate requests go to the sequencer (its CT log can
        // append, and its replay guard and rate limits see every request); when it cannot be
        // reached the CA answers 503 with Retry-After.
        { preHandler: forwardWrites(node, locateSequencer) },
      ),
  };
}
