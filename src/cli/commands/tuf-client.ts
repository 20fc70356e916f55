// SPDX-License-Identifier: Apache-2.0
// cairn tuf client init | refresh | download: the TUF client, speaking the client protocol of the
// TUF conformance suite (theupdateframework/tuf-conformance, CLIENT-CLI.md): exit code 0 when the
// command succeeded fully, 1 on any failure (not cairn's usual codes: the suite expects 0 or 1).
// A module of its own, loaded without the repository side (main.ts's SUBCOMMANDS): a client run
// by an updater pays only for what an update needs.
import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { asCairnError, cairnError } from "../../core/errors.js";
import { initTrustedRoot, isTargetCurrent, TufClient } from "../../engines/tuf/client.js";
import { openFileAtomic, readFileRequired } from "../../runtime/fs.js";
import { httpFetcher } from "../../runtime/http.js";
import { directoryMetadataStore, fileNameFor } from "../../runtime/tuf-store.js";
import { type CliIO, write } from "../io.js";

interface ClientFlags {
  metadataDir: string;
  metadataUrl?: string;
  targetName?: string[];
  targetBaseUrl?: string;
  targetDir?: string;
  json?: boolean;
}

/** Runs one protocol command: 0 on success; on any failure one error line and exit code 1. */
async function protocol(io: CliIO, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    io.stderr.write(`cairn: ${asCairnError(e).describe()}\n`);
    process.exitCode = 1;
  }
}

function need(v: string | undefined, flag: string): string {
  if (v === undefined) throw cairnError("ERR_USAGE", `${flag} is required`);
  return v;
}

/** The `tuf` command, described once for both of its modules. */
export function tufCommand(program: Command): Command {
  return program.command("tuf").description("The Update Framework: secure distribution of targets and trust");
}

/** `cairn tuf client ...` alone (main.ts loads this module, not ./tuf.js, for it). */
export function registerTufClientOnly(program: Command, io: CliIO): void {
  registerTufClient(tufCommand(program), io);
}

/** `client init | refresh | download` under `tuf`. */
export function registerTufClient(tuf: Command, io: CliIO): void {
  const client = tuf
    .command("client")
    .description("a TUF client (the tuf-conformance client protocol: exit 0 on success, 1 on any failure)")
    .requiredOption(
      "--metadata-dir <dir>",
      "where the trusted metadata is kept (root.json, timestamp.json, ...)",
    )
    .option("--metadata-url <url>", "base URL of the repository's metadata")
    .option("--target-name <path...>", "target path to download (repeatable)")
    .option("--target-base-url <url>", "base URL of the repository's targets")
    .option("--target-dir <dir>", "where downloaded targets are written")
    .option("--json", "print the trusted versions (and the refresh's seconds, the targets) as JSON");
  const flags = (): ClientFlags => client.opts<ClientFlags>();
  const newClient = (o: ClientFlags) =>
    new TufClient({
      metadataUrl: need(o.metadataUrl, "--metadata-url"),
      ...(o.targetBaseUrl !== undefined ? { targetBaseUrl: o.targetBaseUrl } : {}),
      store: directoryMetadataStore(resolve(io.cwd, o.metadataDir)),
      fetcher: httpFetcher({ userAgent: "cairn-tuf-client" }),
    });

  client
    .command("init")
    .description("trust ROOT_FILE as the initial root (checked: well-formed and signed by its own keys)")
    .argument("<root-file>", "the initial root.json, obtained out of band")
    .action((rootFile: string) =>
      protocol(io, async () => {
        const o = flags();
        const dir = resolve(io.cwd, o.metadataDir);
        const bytes = await readFileRequired(resolve(io.cwd, rootFile), "trusted root");
        await mkdir(dir, { recursive: true });
        const root = await initTrustedRoot(directoryMetadataStore(dir), bytes);
        write(
          io.stdout,
          o.json
            ? JSON.stringify({ versions: { root: root.version } })
            : `trusted root version ${root.version} stored in ${o.metadataDir}`,
        );
      }),
    );

  /**
   * Refreshes, timing the update itself (not the process's start-up) for --json. With hrtime: the
   * global `performance` loads perf_hooks on first use, 1.6 ms of every update's start-up.
   */
  const refreshTimed = async (c: TufClient) => {
    const start = process.hrtime.bigint();
    const versions = await c.refresh();
    return { versions, refreshSeconds: Number(process.hrtime.bigint() - start) / 1e9 };
  };

  client
    .command("refresh")
    .description("update root, timestamp, snapshot and targets from the repository")
    .action(() =>
      protocol(io, async () => {
        const o = flags();
        const { versions: v, refreshSeconds } = await refreshTimed(newClient(o));
        write(
          io.stdout,
          o.json
            ? JSON.stringify({ versions: v, refreshSeconds })
            : `trusted: root v${v.root}, timestamp v${v.timestamp}, snapshot v${v.snapshot}, targets v${v.targets}`,
        );
      }),
    );

  client
    .command("download")
    .description("refresh, then download and verify each --target-name into --target-dir")
    .action(() =>
      protocol(io, async () => {
        const o = flags();
        const names = o.targetName ?? [];
        if (names.length === 0) throw cairnError("ERR_USAGE", "--target-name is required");
        const dir = resolve(io.cwd, need(o.targetDir, "--target-dir"));
        need(o.targetBaseUrl, "--target-base-url");
        const c = newClient(o);
        const { versions, refreshSeconds } = await refreshTimed(c);
        await mkdir(dir, { recursive: true });
        const done: Array<{ name: string; file: string; role: string; downloaded: boolean }> = [];
        // Each line as it is done (text), or one document at the end (--json, printed only when
        // every target was verified).
        const report = (name: string, file: string, role: string, downloaded: boolean) => {
          if (o.json) done.push({ name, file, role, downloaded });
          else if (downloaded) write(io.stdout, `${name}: downloaded to ${file} (listed by ${role})`);
          else write(io.stdout, `${name}: up to date in ${file}`);
        };
        // In order: a failure stops here, and what was verified before it stays written.
        for (const name of names) {
          const info = await c.getTargetInfo(name);
          if (info === undefined) {
            throw cairnError("ERR_TUF_TARGET_NOT_FOUND", `no trusted targets metadata lists ${name}`);
          }
          const file = join(dir, fileNameFor(name));
          // A cached copy of the right size is hashed as it is read (targets may be large).
          const size = await stat(file).then(
            (st) => st.size,
            () => undefined,
          );
          if (size === info.file.length && (await isTargetCurrent(info, createReadStream(file)))) {
            report(name, file, info.role, false);
            continue;
          }
          // Streamed to a temporary file, checked, then renamed: never a partial or unchecked target.
          await c.downloadTargetTo(info, await openFileAtomic(file));
          report(name, file, info.role, true);
        }
        if (o.json) write(io.stdout, JSON.stringify({ versions, refreshSeconds, targets: done }));
      }),
    );
}
