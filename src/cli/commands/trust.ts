// SPDX-License-Identifier: Apache-2.0
// cairn trust root: build the trusted_root.json that Sigstore verifiers (cairn's, sigstore-js,
// cosign) use to check cairn's bundles: the local log's key, other log and CT log keys, CA and
// timestamp authority chains, each valid from --valid-from (and, for a rotated-out key or chain,
// until --valid-until). `--serve-data` and `--ca-dir` read them straight from a `cairn serve` data
// directory and a `cairn ca init` directory (runtime/trust-root-sources.ts assembles them).
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { serializeTrustedRoot } from "../../formats/sigstore/index.js";
import { writeFileAtomic } from "../../runtime/fs.js";
import { trustedRootFromSources, type UrlFile } from "../../runtime/trust-root-sources.js";
import { type CliIO, write } from "../io.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface RootOpts {
  output: string;
  logDir: string[];
  tlog: string[];
  ctlog: string[];
  ca: string[];
  tsa: string[];
  serveData: string[];
  caDir: string[];
  caUrl?: string;
  tsaDir: string[];
  tsaUrl?: string;
  validFrom?: string;
  validUntil: string[];
  json?: boolean;
}

/** `URL=FILE` pairs (a log's base URL and its PEM public key, or an authority's URI and PEM chain). */
function pair(v: string, flag: string): [string, string] {
  const i = v.indexOf("=");
  if (i <= 0) throw cairnError("ERR_USAGE", `--${flag} takes URL=FILE, not "${v}"`);
  return [v.slice(0, i), v.slice(i + 1)];
}

export function registerTrust(program: Command, io: CliIO): void {
  const trust = program.command("trust").description("trust material for Sigstore verification");
  trust
    .command("root")
    .description("build trusted_root.json for cairn's log, CT logs, CA and timestamp authorities")
    .requiredOption("-o, --output <file>", "where to write trusted_root.json")
    .option("--log-dir <dir>", "a local transparency log (cairn sign-blob --log-dir) to trust", collect, [])
    .option(
      "--serve-data <dir>",
      "a cairn serve data directory: its log key, valid from the log's creation, at https://ORIGIN",
      collect,
      [],
    )
    .option(
      "--ca-dir <dir>",
      "a cairn CA directory: every intermediate's chain with its validity, and the CT log key",
      collect,
      [],
    )
    .option(
      "--ca-url <url>",
      "the URL the --ca-dir CA and its CT log are known by (default https://ORIGIN's host)",
    )
    .option(
      "--tsa-dir <dir>",
      "a cairn TSA directory (cairn tsa init): its chain, valid while its signing certificate is",
      collect,
      [],
    )
    .option("--tsa-url <url>", "the URL the --tsa-dir TSA is known by (default https://ORIGIN's host)")
    .option("--tlog <url=key.pem>", "a transparency log: base URL and PEM public key", collect, [])
    .option(
      "--ctlog <url=key.pem>",
      "a certificate transparency log: base URL and PEM public key",
      collect,
      [],
    )
    .option(
      "--ca <uri=chain.pem>",
      "a certificate authority: URI and PEM chain, leaf-most first, root last",
      collect,
      [],
    )
    .option(
      "--tsa <uri=chain.pem>",
      "a timestamp authority: URI and PEM chain, signing certificate first",
      collect,
      [],
    )
    .option(
      "--valid-from <time>",
      "start of the validity of everything named (RFC 3339; default: now for keys, a local log's creation for --log-dir, the certificates' validity for authorities)",
    )
    // revoke: rotation keeps the old key or chain with an end of validity (issue 6, section 4)
    .option(
      "--valid-until <source=time>",
      "end the validity of one source (a --log-dir or --tsa-dir DIR, or the FILE of a --tlog/--ctlog/--ca/--tsa): it stays trusted for what was signed before (RFC 3339)",
      collect,
      [],
    )
    .option("--json", "print a summary as JSON")
    .action(async (o: RootOpts) => {
      const at = (p: string) => resolve(io.cwd, p);
      const time = (v: string, flag: string): Date => {
        const d = new Date(v);
        if (Number.isNaN(d.getTime())) throw cairnError("ERR_USAGE", `${flag} ${v} is not a time`);
        return d;
      };
      const files = (list: string[], flag: string) =>
        list.map((v) => {
          const [url, file] = pair(v, flag);
          return [url, at(file)] as UrlFile;
        });
      const root = await trustedRootFromSources({
        logDirs: o.logDir.map(at),
        serveData: o.serveData.map(at),
        caDirs: o.caDir.map(at),
        ...(o.caUrl === undefined ? {} : { caUrl: o.caUrl }),
        tsaDirs: o.tsaDir.map(at),
        ...(o.tsaUrl === undefined ? {} : { tsaUrl: o.tsaUrl }),
        tlogs: files(o.tlog, "tlog"),
        ctlogs: files(o.ctlog, "ctlog"),
        cas: files(o.ca, "ca"),
        tsas: files(o.tsa, "tsa"),
        ...(o.validFrom === undefined ? {} : { validFrom: time(o.validFrom, "--valid-from") }),
        validUntil: new Map(
          o.validUntil.map((v) => {
            const [source, end] = pair(v, "valid-until");
            return [at(source), time(end, `--valid-until ${v}:`)];
          }),
        ),
      });
      await writeFileAtomic(resolve(io.cwd, o.output), `${serializeTrustedRoot(root, 2)}\n`);
      const summary = {
        output: o.output,
        tlogs: root.tlogs.map((l) => l.baseUrl),
        ctlogs: root.ctlogs.map((l) => l.baseUrl),
        certificateAuthorities: root.certificateAuthorities.map((c) => c.uri),
        timestampAuthorities: root.timestampAuthorities.map((c) => c.uri),
      };
      if (o.json) write(io.stdout, JSON.stringify(summary, null, 2));
      else
        write(
          io.stdout,
          `wrote ${o.output}: ${summary.tlogs.length} log(s), ${summary.ctlogs.length} CT log(s), ${summary.certificateAuthorities.length} CA(s), ${summary.timestampAuthorities.length} TSA(s)`,
        );
    });
}
