// SPDX-License-Identifier: Apache-2.0
// cairn trust root: build the trusted_root.json that Sigstore verifiers (cairn's, sigstore-js,
// cosign) use to check cairn's bundles: the local log's key, other log and CT log keys, CA and
// timestamp authority chains, each valid from --valid-from (and, for a rotated-out key or chain,
// until --valid-until). `--serve-data` and `--ca-dir` read them straight from a `cairn serve` data
// directory and a `cairn ca init` directory.
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { resolve } from "node:path";
import type { Command } from "commander";
import { parsePemBlocks } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { type AuthoritySpec, buildTrustedRoot, type LogKeySpec } from "../../engines/sigstore/index.js";
import { serializeTrustedRoot } from "../../formats/sigstore/index.js";
import { describeCaDirectory } from "../../runtime/ca-store.js";
import { readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import { describeDataDir } from "../../runtime/log-node.js";
import { localLogKeys } from "../../runtime/sigstore-log.js";
import { describeTsaDirectory } from "../../runtime/tsa-store.js";
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

async function pemKey(io: CliIO, file: string): Promise<KeyObject> {
  const path = resolve(io.cwd, file);
  try {
    return createPublicKey((await readFileRequired(path, "public key")).toString("utf8"));
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_NOT_FOUND") throw e;
    throw cairnError("ERR_KEY_INVALID", "not a PEM public key", { file: path }, { cause: e });
  }
}

async function pemChain(io: CliIO, file: string): Promise<Buffer[]> {
  const path = resolve(io.cwd, file);
  const certs = parsePemBlocks((await readFileRequired(path, "certificate chain")).toString("utf8"))
    .filter((b) => b.label === "CERTIFICATE")
    .map((b) => b.der);
  if (certs.length === 0)
    throw cairnError("ERR_KEY_INVALID", "no PEM certificates in the file", { file: path });
  return certs;
}

function certStart(der: Uint8Array): Date {
  return new Date(new X509Certificate(Buffer.from(der)).validFrom);
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
      const start = o.validFrom ? new Date(o.validFrom) : new Date();
      if (Number.isNaN(start.getTime()))
        throw cairnError("ERR_USAGE", `--valid-from ${o.validFrom} is not a time`);
      const validity = { start };
      const ends = new Map<string, Date>();
      for (const v of o.validUntil) {
        const [source, time] = pair(v, "valid-until");
        const end = new Date(time);
        if (Number.isNaN(end.getTime())) throw cairnError("ERR_USAGE", `--valid-until ${v}: not a time`);
        ends.set(source, end);
      }
      const used = new Set<string>();
      /** The validity of `source`, ended when --valid-until names it. */
      const ending = <T extends { start: Date } | undefined>(source: string, v: T) => {
        const end = ends.get(source);
        if (end === undefined) return v;
        used.add(source);
        return { start: v?.start ?? new Date(0), end };
      };
      const tlogs: LogKeySpec[] = [];
      for (const dir of o.logDir) {
        const { config, key } = await localLogKeys(resolve(io.cwd, dir));
        // A local log's key is valid from the log's creation unless --valid-from says otherwise.
        const from = o.validFrom ? validity : { start: new Date(config.createdAt) };
        tlogs.push({ baseUrl: config.baseUrl, publicKey: createPublicKey(key), validity: ending(dir, from) });
      }
      for (const v of o.tlog) {
        const [url, file] = pair(v, "tlog");
        tlogs.push({ baseUrl: url, publicKey: await pemKey(io, file), validity: ending(file, validity) });
      }
      let host = "cairn.local";
      for (const dir of o.serveData) {
        const d = await describeDataDir(resolve(io.cwd, dir));
        host = d.origin.split("/")[0]!;
        // Sigstore verifiers look for the checkpoint's key name (the origin) in the log's baseUrl.
        tlogs.push({
          baseUrl: `https://${d.origin}`,
          publicKey: d.publicKey,
          validity: ending(dir, o.validFrom ? validity : { start: d.createdAt }),
        });
      }
      const ctlogs: LogKeySpec[] = [];
      const caSpecs: AuthoritySpec[] = [];
      const caUrl = o.caUrl ?? `https://${host}`;
      for (const dir of o.caDir) {
        const d = await describeCaDirectory(resolve(io.cwd, dir));
        // One authority per intermediate, valid while it is: certificates issued before a
        // rotation keep verifying against the chain that issued them.
        for (const c of d.chains) {
          caSpecs.push({
            uri: caUrl,
            chain: c.certificates.flatMap((p) => parsePemBlocks(p).map((b) => b.der)),
            validity: o.validFrom ? validity : { start: new Date(c.notBefore), end: new Date(c.notAfter) },
          });
        }
        // The CT key was made with the CA: valid from its first certificate.
        const since = d.chains.map((c) => new Date(c.notBefore).getTime());
        ctlogs.push({
          baseUrl: `${caUrl.replace(/\/$/, "")}/ct`,
          publicKey: createPublicKey(d.ct.publicKey),
          validity: o.validFrom || since.length === 0 ? validity : { start: new Date(Math.min(...since)) },
        });
      }
      for (const v of o.ctlog) {
        const [url, file] = pair(v, "ctlog");
        ctlogs.push({ baseUrl: url, publicKey: await pemKey(io, file), validity: ending(file, validity) });
      }
      const authorities = async (list: string[], flag: string): Promise<AuthoritySpec[]> => {
        const out: AuthoritySpec[] = [];
        for (const v of list) {
          const [uri, file] = pair(v, flag);
          // An authority is valid from its certificates' validity unless --valid-from says otherwise.
          const chain = await pemChain(io, file);
          // Ended without --valid-from: from the first certificate's notBefore.
          const own = o.validFrom ? validity : ends.has(file) ? { start: certStart(chain[0]!) } : undefined;
          const range = ending(file, own);
          out.push(range ? { uri, chain, validity: range } : { uri, chain });
        }
        return out;
      };
      const certificateAuthorities = await authorities(o.ca, "ca");
      const timestampAuthorities: AuthoritySpec[] = [];
      for (const dir of o.tsaDir) {
        const d = await describeTsaDirectory(resolve(io.cwd, dir));
        const own = o.validFrom ? validity : { start: new Date(d.notBefore), end: new Date(d.notAfter) };
        timestampAuthorities.push({
          uri: o.tsaUrl ?? `https://${host}`,
          chain: d.certificates.flatMap((p) => parsePemBlocks(p).map((b) => b.der)),
          validity: ending(dir, own),
        });
      }
      timestampAuthorities.push(...(await authorities(o.tsa, "tsa")));
      for (const source of ends.keys())
        if (!used.has(source)) throw cairnError("ERR_USAGE", `--valid-until ${source}: no such source`);
      const root = buildTrustedRoot({
        tlogs,
        ctlogs,
        certificateAuthorities: [...caSpecs, ...certificateAuthorities],
        timestampAuthorities,
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
          `wrote ${o.output}: ${tlogs.length} log(s), ${ctlogs.length} CT log(s), ${summary.certificateAuthorities.length} CA(s), ${summary.timestampAuthorities.length} TSA(s)`,
        );
    });
}
