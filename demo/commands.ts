// SPDX-License-Identifier: Apache-2.0
// The cairn commands the demo runs, one small function each, so that a change of flags is made in
// one place; what each prints is shown under a `$ cairn ...` line. By default a command runs
// through the CLI's own entry point (`main(argv, io)` of src/cli/main.ts: the same parsing,
// output and exit codes) in this process, which saves a Node.js start and cairn's module loading
// (about half a second of CPU) per command; `--spawn` runs each as its own process, the built
// dist/cairn.mjs, exactly as a user types it. `cairn serve` always runs as a process in the
// background on 127.0.0.1 (a free port) and is always stopped, also when the demo fails.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Writable } from "node:stream";
import { main } from "../src/cli/main.js";
import { readEnvironment } from "../src/runtime/env.js";

const CAIRN = resolve(import.meta.dirname, "..", "cairn.mjs");
const SPAWN = process.argv.includes("--spawn");
const ENV = { ...process.env, NO_COLOR: "1" };

/** What a command did: its exit code and output. */
export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

async function runCli(cwd: string, args: string[]): Promise<Ran> {
  if (SPAWN) {
    const r = spawnSync(process.execPath, [CAIRN, ...args], { cwd, encoding: "utf8", env: ENV });
    return { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }
  const out = collector();
  const err = collector();
  const status = await main(args, {
    stdout: out.stream,
    stderr: err.stream,
    env: readEnvironment(ENV),
    cwd,
    stderrIsTTY: false,
  });
  // A command may set process.exitCode (cairn verify does); main already returned it.
  process.exitCode = undefined;
  return { status, stdout: out.text(), stderr: err.text() };
}

/**
 * Runs `cairn ARGS` in `cwd`, showing the command and its output. An exit code not in `allowed`
 * (default: only 0) stops the demo: a step of the genuine story must work.
 */
export async function cairn(cwd: string, args: string[], allowed: number[] = [0]): Promise<Ran> {
  const shown = args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ");
  console.log(`\n$ cairn ${shown}`);
  const ran = await runCli(cwd, args);
  process.stdout.write(ran.stdout + ran.stderr);
  if (!allowed.includes(ran.status)) {
    throw new Error(`cairn ${shown} exited ${ran.status}, expected ${allowed.join(" or ")}`);
  }
  return ran;
}

// A verification may pass (0) or refuse (10 failed, 11 signed by someone else); anything else
// (usage, bad input, not found, transport) is a broken demo, never a verdict.
const VERDICTS = [0, 10, 11];

// --- in-toto (docs/key.md, run.md, layout.md, verify.md) ---

export const keyGenerate = (cwd: string, name: string, type: "ed25519" | "ecdsa" | "rsa") =>
  cairn(cwd, ["key", "generate", name, "--type", type]);

export const layoutCreate = (cwd: string, desc: string, key: string, out: string) =>
  cairn(cwd, ["layout", "create", desc, "--key", key, "--output", out]);

export const intotoVerify = (cwd: string, layout: string, ownerPub: string, linkDir: string) =>
  cairn(cwd, ["verify", "--layout", layout, "--layout-keys", ownerPub, "--link-dir", linkDir], VERDICTS);

// --- OCI images in a layout on disk (docs/oci.md) ---

export const ociSign = (cwd: string, image: string, key: string, identity: string) =>
  cairn(cwd, ["oci", "sign", image, "--key", key, "--identity", identity]);

export const ociAttest = (cwd: string, image: string, key: string, predicate: string, type: string) =>
  cairn(cwd, ["oci", "attest", image, "--key", key, "--predicate", predicate, "--type", type]);

export const ociTree = (cwd: string, image: string) => cairn(cwd, ["oci", "tree", image]);

export const ociVerify = (cwd: string, image: string, pub: string, identity: string) =>
  cairn(cwd, ["oci", "verify", image, "--key", pub, "--identity", identity], VERDICTS);

export const ociVerifyAttestation = (cwd: string, image: string, pub: string, type: string) =>
  cairn(cwd, ["oci", "verify-attestation", image, "--key", pub, "--type", type], VERDICTS);

// --- Sigstore bundles (docs/sign-blob.md) ---

export const signBlob = (cwd: string, file: string, key: string, bundle: string, logDir: string) =>
  cairn(cwd, ["sign-blob", file, "--key", key, "--bundle", bundle, "--log-dir", logDir]);

export const trustRoot = (cwd: string, out: string, logDir: string) =>
  cairn(cwd, ["trust", "root", "-o", out, "--log-dir", logDir]);

export const verifyBlob = (cwd: string, file: string, bundle: string, root: string, pub: string) =>
  cairn(cwd, ["verify-blob", file, "--bundle", bundle, "--trusted-root", root, "--key", pub], VERDICTS);

// --- the transparency log (docs/serve.md, log.md) ---

export type Upload = { envelope: string } | { artifact: string; signature: string };

export function logUpload(cwd: string, server: Server, what: Upload, pub: string, out: string): Promise<Ran> {
  const body =
    "envelope" in what
      ? ["--envelope", what.envelope]
      : ["--artifact", what.artifact, "--signature", what.signature];
  return cairn(cwd, [
    "log",
    "upload",
    "--server",
    server.url,
    "--token-file",
    relative(cwd, server.tokenFile),
    ...body,
    "--public-key",
    pub,
    "-o",
    out,
  ]);
}

export const logGet = (cwd: string, server: Server, index: number, out: string) =>
  cairn(cwd, ["log", "get", "--server", server.url, "--index", String(index), "-o", out]);

export const logSearch = (cwd: string, server: Server, subject: string) =>
  cairn(cwd, ["log", "search", "--server", server.url, "--subject", subject]);

export function logVerify(cwd: string, vkey: string, entry: string, artifact?: string): Promise<Ran> {
  const args = ["log", "verify", "--entry", entry, "--vkey", vkey];
  return cairn(cwd, artifact === undefined ? args : [...args, "--artifact", artifact], VERDICTS);
}

/** A running `cairn serve`. */
export interface Server {
  url: string;
  /** The log's C2SP verifier key, the file clients pin. */
  vkeyFile: string;
  /** The write token the first start made. */
  tokenFile: string;
  /** SIGTERM, then waits for a clean exit (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
}

/** How long `cairn serve` may take to print its startup line on a loaded machine. */
const SERVE_START_MS = 60_000;

/**
 * Starts `cairn serve --data DATA --listen 127.0.0.1:0 --json` (SQLite in DATA, bearer tokens:
 * the first start writes DATA/initial-token) and waits for its startup line. Its request log
 * (JSON lines on stderr) goes to DATA/../serve.log, not to the demo's output.
 */
export function serve(cwd: string, data: string): Promise<Server> {
  const args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--json"];
  console.log(`\n$ cairn ${args.join(" ")} &`);
  const logFile = join(resolve(cwd, data), "..", "serve.log");
  const err = openSync(logFile, "w");
  const proc: ChildProcess = spawn(process.execPath, [CAIRN, ...args], {
    cwd,
    stdio: ["ignore", "pipe", err],
    env: ENV,
  });
  closeSync(err);
  // Whatever happens to the demo, the server does not outlive it.
  const killOnExit = () => proc.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<number | string>((r) => proc.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  const stop = async (graceMs = 10_000): Promise<number | string> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    process.removeListener("exit", killOnExit);
    return code;
  };
  return new Promise((res, rej) => {
    let out = "";
    let started = false;
    const fail = (why: string) => {
      if (started) return;
      started = true;
      void stop(1000);
      rej(new Error(`cairn serve ${why}:\n${readFileSync(logFile, "utf8")}`));
    };
    const timer = setTimeout(
      () => fail(`printed no startup line in ${SERVE_START_MS / 1000} s`),
      SERVE_START_MS,
    );
    proc.once("exit", (code) => {
      clearTimeout(timer);
      fail(`exited (${code}) before listening`);
    });
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString("utf8");
      const nl = out.indexOf("\n");
      if (nl < 0 || started) return;
      clearTimeout(timer);
      try {
        const info = JSON.parse(out.slice(0, nl)) as { url: string; origin: string; auth: string };
        started = true;
        console.log(out.slice(0, nl));
        const dir = resolve(cwd, data);
        res({ url: info.url, vkeyFile: join(dir, "log.vkey"), tokenFile: join(dir, "initial-token"), stop });
      } catch (e) {
        fail(`printed an unexpected startup line: ${(e as Error).message}`);
      }
    });
  });
}
