// SPDX-License-Identifier: Apache-2.0
// cairn serve: the transparency log, attestation search and Rekor v1 API over HTTP (docs/serve.md).
import { resolve } from "node:path";
import type { Command } from "commander";
import type { FastifyBaseLogger } from "fastify";
import { cairnError } from "../../core/errors.js";
import { LogNode } from "../../engines/lognode/index.js";
import { readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import {
  createToken,
  dataFiles,
  openDataDir,
  readTokenHashes,
  revokeToken,
  runElection,
  watchTokenHashes,
} from "../../runtime/log-node.js";
import { defaultVerifyThreads, VerifyThreads } from "../../runtime/verify-threads.js";
import { buildServer, DEFAULT_BODY_LIMIT, logRoutes, rekorRoutes, tokenHash } from "../../services/index.js";
import { type CliIO, intFlag, write } from "../io.js";
import { caServeOptions, caServePlugin, type ServeCaFlags } from "./serve-ca.js";
import { type ServeTsaFlags, tsaServeOptions, tsaServePlugin } from "./serve-tsa.js";
import { type ServeTufFlags, tufServeOptions, tufServePlugin } from "./serve-tuf.js";

interface ServeFlags extends ServeCaFlags, ServeTufFlags, ServeTsaFlags {
  listen: string;
  data?: string;
  database?: string;
  origin?: string;
  dev?: boolean;
  newToken?: boolean;
  bodyLimit: string;
  batchSize?: string;
  batchDelayMs?: string;
  verifyThreads?: string;
  json?: boolean;
}

/** HOST:PORT (IPv6 in brackets); the port may be 0 (any free port). */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) throw cairnError("ERR_USAGE", `--listen takes HOST:PORT, not ${JSON.stringify(v)}`);
  return { host: (m[1] ?? m[2])!, port };
}

export function registerServe(program: Command, io: CliIO): void {
  const cmd = program
    .command("serve")
    .description("serve the transparency log, attestation search and the Rekor v1 API over HTTP")
    .option("--listen <host:port>", "address to listen on (port 0: any free port)", "127.0.0.1:3000")
    .option("--data <dir>", "data directory: log key, write tokens, SQLite databases")
    .option("--database <url>", "keep the log and store in PostgreSQL (postgres://...)")
    .option("--origin <name>", `checkpoint origin of a new log (default cairn.local/log)`)
    .option("--dev", "accept writes without a token (local trials only)")
    .option("--new-token", "create a write token, print it once, and exit")
    .option("--body-limit <bytes>", "largest request body", String(DEFAULT_BODY_LIMIT))
    .option("--batch-size <n>", "entries per sequenced batch (default 256)")
    .option("--batch-delay-ms <ms>", "longest wait for a batch to fill (default 25)")
    .option(
      "--verify-threads <n>",
      `threads verifying submitted signatures (default ${defaultVerifyThreads()}: the cores but one; 0: on the main thread)`,
    )
    .option("--json", "print the listening address and log identity as JSON");
  registerTokenCommands(cmd, io);
  tufServeOptions(tsaServeOptions(caServeOptions(cmd))).action(async (o: ServeFlags) => {
    if (o.data === undefined) throw cairnError("ERR_USAGE", "--data DIR is required");
    const dir = resolve(io.cwd, o.data);
    if (o.newToken) {
      write(io.stdout, await createToken(dir, tokenHash));
      return;
    }
    const { host, port } = parseListen(o.listen);
    const bodyLimit = intFlag(o.bodyLimit, "--body-limit");
    const ca = await caServePlugin(io, o);
    const tsa = await tsaServePlugin(io, o);
    let appLog: () => FastifyBaseLogger = () => {
      throw cairnError("ERR_INTERNAL", "the server is not built yet");
    };
    const tuf = await tufServePlugin(io, o, () => appLog());
    const opened = await openDataDir(dir, {
      ...(o.origin !== undefined ? { origin: o.origin } : {}),
      ...(o.database !== undefined ? { database: o.database } : {}),
    });
    const files = dataFiles(dir);
    if (!o.dev && (await readTokenHashes(dir)).length === 0) {
      // First start: one token, readable only by the owner; its hash is what the server keeps.
      const token = await createToken(dir, tokenHash);
      await writeFileAtomic(files.initialToken, `${token}\n`, 0o600);
      io.stderr.write(`cairn: a first write token is in ${files.initialToken} (move it somewhere safe)\n`);
    }
    // Tokens added or revoked while running (`cairn serve token add|revoke`) apply at once: the
    // file is watched, and SIGHUP re-reads it.
    let tokenLog: (e: { count: number; error?: { code: string } }) => void = () => {};
    const tokens = o.dev ? undefined : await watchTokenHashes(dir, (e) => tokenLog(e));
    // Signatures are checked on worker threads while this one serves HTTP and sequences.
    const threads =
      o.verifyThreads === undefined
        ? defaultVerifyThreads()
        : intFlag(o.verifyThreads, "--verify-threads", 0);
    // Submission bodies are parsed where they are verified, within the body limit.
    const entryLimits = { maxSubmissionBytes: bodyLimit };
    const verifier = threads > 0 ? new VerifyThreads(entryLimits, threads) : undefined;
    const node = new LogNode({
      storage: opened.storage,
      key: opened.key,
      origin: opened.origin,
      searchIndex: opened.searchIndex,
      maxEnvelopeBytes: bodyLimit,
      entryLimits,
      ...(verifier
        ? {
            verify: (input: unknown) => verifier.verify(input),
            verifyBytes: (bytes: Uint8Array) => verifier.verifyBytes(bytes),
          }
        : {}),
      sequencer: {
        ...(o.batchSize !== undefined ? { maxBatchSize: intFlag(o.batchSize, "--batch-size") } : {}),
        ...(o.batchDelayMs !== undefined
          ? { maxBatchDelayMs: intFlag(o.batchDelayMs, "--batch-delay-ms", 0) }
          : {}),
      },
    });
    const locateSequencer = () => opened.storage.sequencerUrl();
    const app = await buildServer({
      plugins: [
        logRoutes(node, { locateSequencer }),
        rekorRoutes(node, { locateSequencer, openWrites: o.openRekor === true }),
        ...(ca ? [ca.plugin(node, locateSequencer)] : []),
        ...(tsa ? [tsa.plugin] : []),
        ...(tuf ? [tuf.plugin] : []),
      ],
      auth: tokens ? { mode: "bearer", tokenHashes: tokens.current } : { mode: "none" },
      bodyLimit,
    });
    appLog = () => app.log;
    // A store from before certificate identities were signers catches up in the background.
    const backfill = node.backfillStoreIdentities().then(
      (n) => n > 0 && app.log.info({ entries: n }, "store: certificate identities back-filled"),
      (e) =>
        app.log.error(
          { code: e?.code },
          "store: the identity back-fill failed (it resumes on the next start)",
        ),
    );
    // Counts and codes only: never a token or a hash.
    tokenLog = (e) =>
      e.error
        ? app.log.error({ code: e.error.code }, "the tokens file is unreadable: no write token is valid")
        : app.log.info({ tokens: e.count }, "write tokens reloaded");
    const onHup = () => {
      void tokens?.reload();
    };
    process.on("SIGHUP", onHup);
    const stop = new AbortController();
    let firstRole: () => void = () => {};
    const roleKnown = new Promise<void>((res) => {
      firstRole = res;
    });
    // The address is known once listening; a takeover later advertises it too.
    let address: string | undefined;
    const advertise = async () => {
      if (address !== undefined && node.isSequencer) await opened.storage.advertiseSequencer(address);
    };
    const election = runElection(opened.storage, node, stop.signal, (role, err) => {
      app.log.info(
        { role, code: err?.code },
        role === "sequencer" ? "this process is the sequencer" : "following another sequencer",
      );
      advertise().catch((e) => app.log.error({ code: e?.code }, "could not advertise the sequencer"));
      firstRole();
    });
    await roleKnown;
    // Not secret: what clients pin to verify checkpoints and entries.
    await writeFileAtomic(`${dir}/log.vkey`, `${node.vkey}\n`);
    await writeFileAtomic(`${dir}/log-public.pem`, node.publicKeyPem);
    address = await app.listen({ host, port });
    await advertise();
    tuf?.refresher?.start();
    const info = {
      url: address,
      origin: node.origin,
      vkey: node.vkey,
      logID: node.logId.toString("hex"),
      auth: o.dev ? "none" : "bearer",
      sequencer: node.isSequencer,
      ...(ca ? { ca: ca.info } : {}),
      ...(tsa ? { tsa: tsa.info } : {}),
      ...(tuf ? { tuf: tuf.info } : {}),
    };
    if (o.json) write(io.stdout, JSON.stringify(info));
    else write(io.stdout, `cairn: serving ${node.origin} on ${address}${o.dev ? " (dev: no auth)" : ""}`);
    await new Promise<void>((res) => {
      const done = () => res();
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
    // Stop taking requests, write what waits, release the lock, close the databases.
    process.off("SIGHUP", onHup);
    tokens?.close();
    await backfill;
    await tuf?.refresher?.stop();
    await app.close();
    stop.abort();
    await election;
    await node.close();
    await verifier?.close();
    await opened.close();
  });
}

// cairn serve token add|revoke|list --data DIR: the write tokens of a data directory, changed
// while a server runs (it re-reads DIR/tokens on change and on SIGHUP). `--data` and `--json` are
// `serve`'s own options, which commander parses wherever they stand: read with optsWithGlobals.
function registerTokenCommands(serve: Command, io: CliIO): void {
  const token = serve
    .command("token")
    .description("add, revoke or list the write tokens of a data directory");
  const flags = (cmd: Command) => cmd.optsWithGlobals() as { data?: string; json?: boolean };
  const dataDir = (cmd: Command) => {
    const { data } = flags(cmd);
    if (data === undefined) throw cairnError("ERR_USAGE", "--data DIR is required");
    return resolve(io.cwd, data);
  };
  token
    .command("add")
    .description("create a write token, print it once (a running server accepts it at once)")
    .action(async (_o: unknown, cmd: Command) => {
      write(io.stdout, await createToken(dataDir(cmd), tokenHash));
    });
  token
    .command("revoke")
    .description("revoke a write token (a running server refuses it at once)")
    .option("--token-file <file>", "a file holding the token to revoke")
    .option("--hash <hex>", "the token's SHA-256, as `cairn serve token list` shows it")
    .action(async (o: { tokenFile?: string; hash?: string }, cmd: Command) => {
      const dir = dataDir(cmd);
      if ((o.tokenFile === undefined) === (o.hash === undefined))
        throw cairnError("ERR_USAGE", "give --token-file FILE or --hash HEX");
      // The token is read from a file, never a command-line argument (shell history, ps).
      const hash =
        o.hash ??
        tokenHash(
          (await readFileRequired(resolve(io.cwd, o.tokenFile!), "token file")).toString("utf8").trim(),
        );
      await revokeToken(dir, hash);
    });
  token
    .command("list")
    .description("the SHA-256 hashes of the write tokens (the tokens themselves are not kept)")
    .action(async (_o: unknown, cmd: Command) => {
      const hashes = await readTokenHashes(dataDir(cmd));
      write(io.stdout, flags(cmd).json ? JSON.stringify(hashes) : hashes.join("\n") || "no write tokens");
    });
}
