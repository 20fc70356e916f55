// SPDX-License-Identifier: Apache-2.0
// cairn run, cairn record start | stop: record a step and write its signed link (in-toto-run's flags).
import { unlink } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { checkDigestAlgorithms } from "../../core/digest.js";
import { cairnError } from "../../core/errors.js";
import { parseJson } from "../../core/json.js";
import { KeyRing, type Signer } from "../../core/signer.js";
import type { RecordOptions } from "../../engines/intoto/artifacts.js";
import { recordStart, recordStop, runStep, signLink } from "../../engines/intoto/runlib.js";
import { bundleEnvelope } from "../../engines/sigstore/index.js";
import type { Envelope } from "../../formats/dsse/index.js";
import { parseLink, unfinishedLinkFileName } from "../../formats/intoto/link.js";
import {
  parseSignedDocument,
  serializeDocument,
  verifySignedDocument,
} from "../../formats/intoto/metablock.js";
import { serializeBundle } from "../../formats/sigstore/index.js";
import { readFileIfExists, writeFileAtomic } from "../../runtime/fs.js";
import { loadSigner } from "../../runtime/keyfiles.js";
import { type CliIO, progressBar, write } from "../io.js";
import { readCertificate, withTransparencyLog } from "../sigstore-flags.js";
import { passphraseFrom, signerRef } from "./key.js";

interface CommonFlags {
  stepName: string;
  key: string;
  keyType?: string;
  exclude?: string[];
  basePath?: string;
  lstripPaths?: string[];
  followSymlinkDirs?: boolean;
  normalizeLineEndings?: boolean;
  hashAlgorithms?: string[];
  useDsse?: boolean;
  metadataDirectory?: string;
  passphraseEnv?: string;
  json?: boolean;
}

function addCommonOptions(c: Command): Command {
  return c
    .requiredOption("-n, --step-name <name>", "the step's name, as in the layout")
    .requiredOption(
      "-k, --key <path>",
      "private key to sign with: a file (PEM or securesystemslib JSON) or env:NAME",
    )
    .option("-t, --key-type <type>", "accepted for in-toto-run compatibility; the key type is detected")
    .option("--exclude <patterns...>", "gitignore-style patterns of paths not to record")
    .option("--base-path <dir>", "record artifact paths relative to this directory")
    .option("--lstrip-paths <prefixes...>", "strip these prefixes from recorded paths")
    .option(
      "--follow-symlink-dirs",
      "accepted for in-toto-run compatibility (symlinked directories are followed)",
    )
    .option("--normalize-line-endings", "hash files with CRLF and lone CR turned into LF")
    .option("--hash-algorithms <algs...>", "digest algorithms to record (default sha256)")
    .option("--use-dsse", "write the link as a DSSE envelope instead of a metablock")
    .option("-d, --metadata-directory <dir>", "where to write the link", ".")
    .option("--passphrase-env <NAME>", "passphrase for an encrypted key, from this environment variable")
    .option("--json", "print the result as JSON");
}

function recordOptionsOf(io: CliIO, o: CommonFlags): RecordOptions & { cwd: string } {
  const out: RecordOptions & { cwd: string } = {
    cwd: io.cwd,
    onProgress: progressBar(io, "hashing"),
    onWarning: (m) => write(io.stderr, `cairn: warning: ${m}`),
  };
  if (o.exclude) out.excludePatterns = o.exclude;
  if (o.basePath) out.basePath = o.basePath;
  if (o.lstripPaths) out.lstripPaths = o.lstripPaths;
  if (o.normalizeLineEndings) out.normalizeLineEndings = true;
  if (o.hashAlgorithms) out.algorithms = checkDigestAlgorithms(o.hashAlgorithms);
  return out;
}

async function signerOf(io: CliIO, o: CommonFlags): Promise<Signer> {
  if (o.keyType && !["rsa", "ed25519", "ecdsa"].includes(o.keyType)) {
    throw cairnError("ERR_USAGE", `--key-type must be rsa, ed25519 or ecdsa, not ${o.keyType}`);
  }
  const s = await loadSigner(signerRef(io, o.key), passphraseFrom(io, o.passphraseEnv));
  if (o.keyType && s.publicKey.keytype !== o.keyType) {
    throw cairnError(
      "ERR_KEY_INVALID",
      `--key-type ${o.keyType} given, but the key is ${s.publicKey.keytype}`,
      {
        file: o.key,
      },
    );
  }
  return s;
}

interface BundleFlags {
  bundle?: boolean;
  certificate?: string;
  logDir: string;
  logUrl?: string;
  rekorUrl?: string;
}

function addBundleOptions(c: Command): Command {
  return c
    .option(
      "--bundle",
      "also write the link's DSSE envelope as a Sigstore bundle (v0.3), logged, beside it: LINK.sigstore.json (implies --use-dsse)",
    )
    .option(
      "--certificate <file>",
      "with --bundle: PEM certificate for the key (else the bundle names the key)",
    )
    .option("--log-dir <dir>", "with --bundle: the local transparency log (created when new)", ".cairn/log")
    .option("--log-url <url>", "with --bundle: the base URL a new local log is known by")
    .option("--rekor-url <url>", "with --bundle: log in this Rekor v1 API instead (token: CAIRN_TOKEN)");
}

/**
 * issue 6, section 2: the link's own envelope (same signature) logged and wrapped in a Sigstore
 * bundle. Logged before anything is written, so a log failure leaves neither file.
 */
async function linkBundle(io: CliIO, o: BundleFlags, signer: Signer, doc: object) {
  if (!o.bundle) return undefined;
  if (!("payloadType" in doc)) throw cairnError("ERR_INTERNAL", "a bundled link must be a DSSE envelope");
  const who = o.certificate ? { signer, certificate: await readCertificate(io, o.certificate) } : { signer };
  return withTransparencyLog(io, o, (log) => bundleEnvelope(doc as Envelope, who, log));
}

export function registerRun(program: Command, io: CliIO): void {
  addBundleOptions(
    addCommonOptions(
      program
        .command("run")
        .description("run a command as a supply-chain step and write its signed link")
        .argument("[command...]", "the command to run, after --"),
    ),
  )
    .option("-m, --materials <paths...>", "files or directories consumed by the step")
    .option("-p, --products <paths...>", "files or directories produced by the step")
    .option("-s, --record-streams", "record the command's stdout and stderr as byproducts")
    .option("-x, --no-command", "record artifacts without running a command")
    .action(
      async (
        command: string[],
        o: CommonFlags &
          BundleFlags & {
            materials?: string[];
            products?: string[];
            recordStreams?: boolean;
            command: boolean;
          },
      ) => {
        if (o.command === false && command.length > 0)
          throw cairnError("ERR_USAGE", "--no-command given with a command");
        if (o.command !== false && command.length === 0) {
          throw cairnError("ERR_USAGE", "give the command to run after --, or --no-command");
        }
        const signer = await signerOf(io, o);
        const result = await runStep({
          ...recordOptionsOf(io, o),
          name: o.stepName,
          materials: o.materials ?? [],
          products: o.products ?? [],
          command,
          recordStreams: Boolean(o.recordStreams),
          echo: { stdout: io.stdout, stderr: io.stderr },
        });
        const signed = await signLink(result.link, [signer], o.useDsse || o.bundle ? "dsse" : "metablock");
        const bundle = await linkBundle(io, o, signer, signed.document);
        const path = resolve(io.cwd, o.metadataDirectory ?? ".", signed.fileName);
        await writeFileAtomic(path, serializeDocument(signed.document));
        const bundlePath = bundle ? `${path}.sigstore.json` : undefined;
        if (bundle && bundlePath) await writeFileAtomic(bundlePath, `${serializeBundle(bundle, 2)}\n`);
        const summary = {
          link: path,
          ...(bundlePath ? { bundle: bundlePath } : {}),
          returnValue: result.returnValue,
          materials: Object.keys(result.link.materials).length,
          products: Object.keys(result.link.products).length,
        };
        if (o.json) write(io.stdout, JSON.stringify(summary));
        else
          write(
            io.stderr,
            `cairn: wrote ${signed.fileName} (${summary.materials} materials, ${summary.products} products, command exited ${result.returnValue})`,
          );
      },
    );
}

export function registerRecord(program: Command, io: CliIO): void {
  const record = program
    .command("record")
    .description("record a step that is not one command: start, work, stop");
  addCommonOptions(record.command("start").description("record materials and write the unfinished link"))
    .option("-m, --materials <paths...>", "files or directories consumed by the step")
    .action(async (o: CommonFlags & { materials?: string[] }) => {
      const signer = await signerOf(io, o);
      const link = await recordStart({
        ...recordOptionsOf(io, o),
        name: o.stepName,
        materials: o.materials ?? [],
      });
      const signed = await signLink(link, [signer], o.useDsse ? "dsse" : "metablock", { unfinished: true });
      await writeFileAtomic(resolve(io.cwd, signed.fileName), serializeDocument(signed.document));
      if (o.json)
        write(
          io.stdout,
          JSON.stringify({ unfinished: signed.fileName, materials: Object.keys(link.materials).length }),
        );
      else write(io.stderr, `cairn: wrote ${signed.fileName}; run "cairn record stop" when the step is done`);
    });
  addCommonOptions(
    record.command("stop").description("record products, sign and write the link, remove the unfinished one"),
  )
    .option("-p, --products <paths...>", "files or directories produced by the step")
    .action(async (o: CommonFlags & { products?: string[] }) => {
      const signer = await signerOf(io, o);
      const unfinishedName = unfinishedLinkFileName(o.stepName, signer.keyid);
      const unfinishedPath = resolve(io.cwd, unfinishedName);
      const bytes = await readFileIfExists(unfinishedPath);
      if (bytes === undefined) {
        throw cairnError(
          "ERR_NOT_FOUND",
          `no unfinished link: run "cairn record start" with the same step and key first`,
          {
            file: unfinishedName,
          },
        );
      }
      // The preliminary link must be ours: verify it with the key that will sign the final link.
      const doc = parseSignedDocument(parseJson(bytes, unfinishedName), unfinishedName);
      const verified = verifySignedDocument(doc, new KeyRing([signer.publicKey]), 1);
      const unfinished = parseLink(verified.signed, unfinishedName);
      const link = await recordStop({ ...recordOptionsOf(io, o), products: o.products ?? [] }, unfinished);
      const signed = await signLink(link, [signer], o.useDsse ? "dsse" : "metablock");
      const path = resolve(io.cwd, o.metadataDirectory ?? ".", signed.fileName);
      await writeFileAtomic(path, serializeDocument(signed.document));
      await unlink(unfinishedPath);
      if (o.json)
        write(io.stdout, JSON.stringify({ link: path, products: Object.keys(link.products).length }));
      else write(io.stderr, `cairn: wrote ${signed.fileName}`);
    });
}
