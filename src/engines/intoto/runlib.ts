// SPDX-License-Identifier: Apache-2.0
// Recording a supply chain step (in-toto specification v1.0 section 4.4 "Link"), as in-toto 1.3.1
// runlib does it: in_toto_run (materials, command, products), in_toto_record_start (materials only)
// and in_toto_record_stop (products added to the preliminary link), and the inspection runs of
// verifylib.run_all_inspections. Links are returned unsigned; signLink wraps one in a metablock or a
// DSSE envelope. Nothing here writes files: the CLI does.
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import { resolve as resolvePath } from "node:path";
import { cairnError } from "../../core/errors.js";
import type { Signer } from "../../core/signer.js";
import type { Envelope } from "../../formats/dsse/envelope.js";
import { type Link, linkFileName, newLink, unfinishedLinkFileName } from "../../formats/intoto/link.js";
import { type Metablock, signDsseDocument, signMetablock } from "../../formats/intoto/metablock.js";
import { type RecordOptions, recordArtifacts } from "./artifacts.js";

/** Captured bytes per stream: output beyond this is still echoed but not recorded (a warning says so). */
export const MAX_STREAM_BYTES = 64 * 1024 * 1024;

/** Where a recorded command's output is echoed as it runs (the reference duplicates it to the terminal). */
export interface OutputSink {
  write(chunk: Uint8Array): unknown;
}

/** Options shared by runStep, recordStart and recordStop. */
export interface StepRecordOptions extends RecordOptions {
  /**
   * The directory the step runs in (default: the process's). Artifacts are recorded relative to it,
   * or to `basePath` resolved against it, and the command runs in it.
   */
  cwd?: string;
}

export interface RunStepOptions extends StepRecordOptions {
  /** The step (or inspection) name. */
  name: string;
  materials?: readonly string[];
  products?: readonly string[];
  /** argv, run without a shell; empty or absent records no command (in-toto-run --no-command). */
  command?: readonly string[];
  /** Capture stdout and stderr as byproducts (and echo them to `echo`); otherwise they are discarded. */
  recordStreams?: boolean;
  /** Record {"workdir": cwd} as the link's environment (the reference's record_environment). */
  recordEnvironment?: boolean;
  /** Kill the command and fail after this many seconds (in-toto's LINK_CMD_EXEC_TIMEOUT); none by default. */
  timeoutSeconds?: number;
  /** Receives the command's output as it runs when recordStreams is true. */
  echo?: { stdout?: OutputSink; stderr?: OutputSink };
}

export interface RecordStartOptions extends StepRecordOptions {
  name: string;
  materials?: readonly string[];
  recordEnvironment?: boolean;
}

export interface RecordStopOptions extends StepRecordOptions {
  products?: readonly string[];
}

/** What a step run returns: the unsigned link and the command's exit status (-N if killed by signal N). */
export interface StepResult {
  link: Link;
  returnValue: number;
}

function recordOptions(opts: StepRecordOptions): RecordOptions {
  // in_toto_run and in_toto_record_* always pass follow_symlink_dirs=True.
  const out: RecordOptions = { ...opts, followSymlinkDirs: opts.followSymlinkDirs ?? true };
  if (opts.cwd !== undefined) out.basePath = resolvePath(opts.cwd, opts.basePath ?? ".");
  return out;
}

function environmentOf(
  recordEnvironment: boolean | undefined,
  cwd: string | undefined,
): Record<string, unknown> {
  return recordEnvironment ? { workdir: resolvePath(cwd ?? process.cwd()).replace(/\\/g, "/") } : {};
}

/** Python's universal-newline text mode, which the reference reads captured output with. */
function decodeStream(bytes: Buffer): string {
  return bytes.toString("utf8").replace(/\r\n?/g, "\n");
}

interface CommandOutcome {
  returnValue: number;
  stdout: string;
  stderr: string;
}

/** runlib.execute_link: runs argv without a shell; stdin is inherited as in the reference. */
function executeCommand(argv: readonly string[], opts: RunStepOptions): Promise<CommandOutcome> {
  const record = opts.recordStreams ?? false;
  const warn = opts.onWarning ?? (() => {});
  return new Promise<CommandOutcome>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd,
      shell: false,
      stdio: ["inherit", record ? "pipe" : "ignore", record ? "pipe" : "ignore"],
    });
    const captured: { stdout: Buffer[]; stderr: Buffer[] } = { stdout: [], stderr: [] };
    const sizes = { stdout: 0, stderr: 0 };
    for (const name of ["stdout", "stderr"] as const) {
      child[name]?.on("data", (chunk: Buffer) => {
        opts.echo?.[name]?.write(chunk);
        if (sizes[name] >= MAX_STREAM_BYTES) return;
        const room = MAX_STREAM_BYTES - sizes[name];
        captured[name].push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        sizes[name] += Math.min(chunk.length, room);
        if (chunk.length > room)
          warn(`${name} of the command exceeds ${MAX_STREAM_BYTES} bytes: recording the start only`);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutSeconds !== undefined) {
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(
          cairnError(
            "ERR_COMMAND_FAILED",
            `command ${JSON.stringify(argv[0])} timed out after ${opts.timeoutSeconds} s`,
            {
              field: "command",
            },
          ),
        );
      }, opts.timeoutSeconds * 1000);
    }
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      fail(
        cairnError(
          "ERR_COMMAND_FAILED",
          `cannot run ${JSON.stringify(argv[0])}: ${e.code ?? e.message}`,
          { field: "command" },
          { cause: e },
        ),
      );
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (settled) return;
      settled = true;
      // Python's Popen.returncode is -N for a child killed by signal N.
      const returnValue = code ?? (signal ? -(osConstants.signals[signal] ?? 0) : 0);
      resolve({
        returnValue,
        stdout: decodeStream(Buffer.concat(captured.stdout)),
        stderr: decodeStream(Buffer.concat(captured.stderr)),
      });
    });
  });
}

/**
 * Records materials, runs the command, records products (runlib.in_toto_run). With a command the
 * byproducts are {"stdout", "stderr", "return-value"}; the streams are "" unless recordStreams.
 * Without a command the byproducts are {} and returnValue is 0.
 */
export async function runStep(opts: RunStepOptions): Promise<StepResult> {
  const ropts = recordOptions(opts);
  const materials = await recordArtifacts(opts.materials ?? [], ropts);
  const command = [...(opts.command ?? [])];
  let byproducts: Record<string, unknown> = {};
  let returnValue = 0;
  if (command.length > 0) {
    const r = await executeCommand(command, opts);
    returnValue = r.returnValue;
    byproducts = { stdout: r.stdout, stderr: r.stderr, "return-value": r.returnValue };
  }
  const products = await recordArtifacts(opts.products ?? [], ropts);
  const link = newLink({
    name: opts.name,
    command,
    materials,
    products,
    byproducts,
    environment: environmentOf(opts.recordEnvironment, opts.cwd),
  });
  return { link, returnValue };
}

/**
 * An inspection as verifylib.run_all_inspections runs it: "." recorded as materials and products
 * around the command, streams not recorded. The caller decides what a non-zero return value means.
 */
export function runInspection(name: string, argv: readonly string[], cwd?: string): Promise<StepResult> {
  const opts: RunStepOptions = { name, materials: ["."], products: ["."], command: argv };
  if (cwd !== undefined) opts.cwd = cwd;
  return runStep(opts);
}

/** The preliminary link of `in-toto-record start`: materials only, no command, no byproducts. */
export async function recordStart(opts: RecordStartOptions): Promise<Link> {
  const materials = await recordArtifacts(opts.materials ?? [], recordOptions(opts));
  return newLink({
    name: opts.name,
    command: [],
    materials,
    products: {},
    byproducts: {},
    environment: environmentOf(opts.recordEnvironment, opts.cwd),
  });
}

/**
 * The final link of `in-toto-record stop`: the preliminary link with products recorded (every
 * other field kept as is). The caller must first have verified the preliminary link's signature
 * with the same key it will sign the result with, as the reference does.
 */
export async function recordStop(opts: RecordStopOptions, unfinished: Link): Promise<Link> {
  const products = await recordArtifacts(opts.products ?? [], recordOptions(opts));
  return { ...unfinished, products };
}

/** A signed link and the file name the reference would store it under. */
export interface SignedLink {
  document: Metablock | Envelope;
  fileName: string;
}

/**
 * Signs a link as a metablock or a DSSE envelope. The file name is `<name>.<keyid8>.link` (or the
 * `.<name>.<keyid8>.link-unfinished` of record start) after the first signer's key id.
 */
export async function signLink(
  link: Link,
  signers: Signer[],
  format: "metablock" | "dsse",
  opts: { unfinished?: boolean } = {},
): Promise<SignedLink> {
  const first = signers[0];
  if (first === undefined) throw cairnError("ERR_USAGE", "a link needs at least one signing key");
  const document =
    format === "dsse" ? await signDsseDocument(link, signers) : await signMetablock(link, signers);
  const fileName = opts.unfinished
    ? unfinishedLinkFileName(link.name, first.keyid)
    : linkFileName(link.name, first.keyid);
  return { document, fileName };
}
