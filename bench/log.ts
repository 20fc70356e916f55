// SPDX-License-Identifier: Apache-2.0
// Transparency log append throughput with durable acknowledgement (issue 3, section 6):
//   node --import tsx bench/log.ts [--entries N] [--clients C] [--kind dsse|artifact] [--no-postgres]
//   node --import tsx bench/log.ts --latency 1000000   (read latency at a million entries)
// Starts `cairn serve --dev` (dist/cairn.mjs) on SQLite and on a PostgreSQL the bench starts, and
// C concurrent HTTP/1.1 keep-alive clients on loopback each POST pre-signed entries (signing is
// not timed); every answer is an acknowledgement after the entry's batch was committed durably
// (SQLite WAL synchronous=FULL; PostgreSQL synchronous_commit=on). Also the same entries through
// the sequencer in process (no HTTP) for the cost split. Prints entries/s, ack latency p50/p99
// and the ratio to the target (5,000 entries/s on SQLite). No reference log runs here
// (Rekor and tile-based logs are not installable offline): their published figures are quoted in
// bench/README.md.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { generateKey, keySigner } from "../src/core/index.js";
import { LogNode } from "../src/engines/lognode/index.js";
import type { IndexQuery } from "../src/engines/store/index.js";
import { encodeTileIndex, Sequencer } from "../src/engines/tlog/index.js";
import { signEnvelope } from "../src/formats/dsse/index.js";
import { openDataDir } from "../src/runtime/log-node.js";
import { startPostgres } from "../src/testing/postgres.js";
import { sh } from "../test/e2e/cli.js";

const { values: args } = parseArgs({
  options: {
    entries: { type: "string", default: "20000" },
    clients: { type: "string", default: "64" },
    kind: { type: "string", default: "dsse" },
    "no-postgres": { type: "boolean", default: false },
    // Only the HTTP rows (no in-process row).
    "http-only": { type: "boolean", default: false },
    latency: { type: "string" },
    // Writes a V8 CPU profile of each HTTP run's `cairn serve` into this directory (--cpu-prof).
    "server-prof": { type: "string" },
    // cairn serve's --verify-threads (default: the server's own, the cores but one).
    "verify-threads": { type: "string" },
    // How long wrk sends entries (it needs more entries than the server takes in that time).
    "wrk-seconds": { type: "string", default: "8" },
    // Extra node flags for the append runs' `cairn serve` (space-separated, e.g. "--single-threaded-gc").
    "server-node-flags": { type: "string" },
    // Also runs the HTTP load with K entries per request (POST /cairn/v1/log/entries/batch, NDJSON).
    batch: { type: "string" },
    postgres: { type: "boolean", default: false },
  },
});
const ENTRIES = Number(args.entries);
const SLSA = "https://slsa.dev/provenance/v1";
const SPDX = "https://spdx.dev/Document";
const VULN = "https://cosign.sigstore.dev/attestation/vuln/v1";
const CLIENTS = Number(args.clients);
const WRK_SECONDS = Number(args["wrk-seconds"]);
const BATCH = args.batch === undefined ? 1 : Number(args.batch);
if (!Number.isSafeInteger(BATCH) || BATCH < 1 || BATCH > 1000) throw new Error("--batch takes 1..1000");
const TARGET = 5000;
const CAIRN = fileURLToPath(new URL("../dist/cairn.mjs", import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

async function makeEntries(n: number): Promise<Buffer[]> {
  const t = Date.now();
  const out: Buffer[] = [];
  if (args.kind === "artifact") {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicKey = ec.publicKey.export({ type: "spki", format: "pem" });
    for (let i = 0; i < n; i++) {
      const data = Buffer.from(`artifact ${i} ${t}`);
      out.push(
        Buffer.from(
          JSON.stringify({
            kind: "artifact",
            digest: { sha256: createHash("sha256").update(data).digest("hex") },
            signature: sign("sha256", data, ec.privateKey).toString("base64"),
            publicKey,
          }),
        ),
      );
    }
  } else {
    const key = generateKey("ed25519");
    const signer = keySigner(key);
    const publicKeys = [key.public.key.export({ type: "spki", format: "pem" })];
    for (let i = 0; i < n; i++) {
      const statement = {
        _type: "https://in-toto.io/Statement/v1",
        subject: [
          { name: `a${i}`, digest: { sha256: createHash("sha256").update(`${i} ${t}`).digest("hex") } },
        ],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: { buildDefinition: { buildType: "bench" } },
      };
      const envelope = await signEnvelope(
        "application/vnd.in-toto+json",
        Buffer.from(JSON.stringify(statement)),
        [signer],
      );
      out.push(Buffer.from(JSON.stringify({ kind: "dsse", envelope, publicKeys })));
    }
  }
  log(`fixture: ${n} signed ${args.kind} entries (${((Date.now() - t) / 1000).toFixed(1)} s, untimed)`);
  return out;
}

/**
 * Starts `cairn serve --dev` on dataDir; resolves once it printed its URL. `nodeFlags` go to node
 * (e.g. --trace-gc), and every other line the server prints to stdout goes to `onLine`.
 */
function startServe(
  dataDir: string,
  extra: string[],
  nodeFlags: string[] = [],
  onLine: (line: string) => void = () => {},
): Promise<{ port: number; proc: ChildProcess }> {
  return new Promise((res, rej) => {
    const proc = spawn(
      process.execPath,
      [
        ...nodeFlags,
        CAIRN,
        "serve",
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--data",
        dataDir,
        ...extra,
      ],
      {
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    let out = "";
    let started = false;
    proc.stdout!.on("data", (d) => {
      out += d;
      let nl = out.indexOf("\n");
      while (nl >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        nl = out.indexOf("\n");
        if (!started && line.startsWith("{")) {
          started = true;
          res({ port: Number(new URL(JSON.parse(line).url).port), proc });
        } else onLine(line);
      }
    });
    proc.on("exit", (c) => rej(new Error(`cairn serve exited ${c}`)));
  });
}

interface Result {
  backend: string;
  path: string;
  entries: number;
  seconds: number;
  perSecond: number;
  p50ms?: number;
  p99ms?: number;
  /** CPU time (user + system) of the process holding the log, per entry: robust to other load. */
  cpuUsPerEntry?: number;
  /** The same for the log process's main thread alone (HTTP, sequencing; not the verify threads). */
  mainCpuUsPerEntry?: number;
  /** CPU time of the load generator (this process's HTTP clients), per entry. */
  clientCpuUsPerEntry?: number;
}

/**
 * User + system CPU microseconds a process (or, with `thread`, one of its threads: the main
 * thread's id is the pid) used so far (Linux /proc; undefined elsewhere).
 */
function processCpuUs(pid: number, thread?: number): number | undefined {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(
      thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
      "utf8",
    );
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU microseconds of a process and its children, live and ended (a PostgreSQL server's
 * postmaster and backends: a backend that exits moves its time into the postmaster's cutime and
 * cstime, so the sum never drops).
 */
function processTreeCpuUs(root: number): number {
  let sum = 0;
  try {
    const stat = readFileSync(`/proc/${root}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    sum += ((Number(f[13]) + Number(f[14])) * 1e6) / 100; // cutime, cstime
  } catch {
    // Not running.
  }
  for (const p of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number(p) === root || parent === root) sum += processCpuUs(Number(p)) ?? 0;
    } catch {
      // The process ended meanwhile.
    }
  }
  return sum;
}

/** A --trace-gc line's pause: "... Scavenge 3.9 (4.1) -> 3.6 (5.1) MB, 0.79 / 0.00 ms ...". */
const GC_LINE = /(?:Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)\b.*? MB, ([\d.]+) \/ [\d.]+ ms/;

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/**
 * CLIENTS concurrent clients submitting `bodies`, one entry per request, or with `batch` > 1 that
 * many per request (NDJSON to the batch route; every entry of every answer must be accepted).
 * Latency: per request, from sending to the whole answer.
 */
async function httpLoad(
  port: number,
  bodies: Buffer[],
  batch = 1,
): Promise<{ seconds: number; lat: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const requests: { body: Buffer; count: number }[] = [];
  if (batch === 1) for (const body of bodies) requests.push({ body, count: 1 });
  else {
    for (let i = 0; i < bodies.length; i += batch) {
      const group = bodies.slice(i, i + batch);
      requests.push({
        body: Buffer.concat(group.flatMap((b) => [b, Buffer.from("\n")])),
        count: group.length,
      });
    }
  }
  let next = 0;
  const lat: number[] = [];
  const post = ({ body, count }: { body: Buffer; count: number }) =>
    new Promise<void>((res, rej) => {
      const t = performance.now();
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: batch === 1 ? "/cairn/v1/log/entries" : "/cairn/v1/log/entries/batch",
          agent,
          headers: {
            "content-type": batch === 1 ? "application/json" : "application/x-ndjson",
            "content-length": body.length,
          },
        },
        (r) => {
          const chunks: Buffer[] = [];
          if (batch === 1) r.resume();
          else r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => {
            if (r.statusCode !== 201 && r.statusCode !== 200) return rej(new Error(`HTTP ${r.statusCode}`));
            if (batch !== 1) {
              const a = JSON.parse(Buffer.concat(chunks).toString()) as { accepted: number };
              if (a.accepted !== count)
                return rej(new Error(`a batch of ${count} had ${a.accepted} accepted`));
            }
            lat.push(performance.now() - t);
            res();
          });
        },
      );
      req.on("error", rej);
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < requests.length) await post(requests[next++]!);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { seconds, lat: lat.sort((a, b) => a - b) };
}

/** `cairn serve` for an append run in dir/data, with the bench's server flags. */
function startLoadedServe(dir: string, database: string | undefined) {
  const prof = args["server-prof"];
  return startServe(
    join(dir, "data"),
    [
      ...(database ? ["--database", database] : []),
      ...(args["verify-threads"] === undefined ? [] : ["--verify-threads", args["verify-threads"]]),
    ],
    [
      ...(prof === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", prof]),
      ...(args["server-node-flags"]?.split(" ").filter((f) => f !== "") ?? []),
    ],
  );
}

async function runHttp(backend: string, bodies: Buffer[], database?: string, batch = 1): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-log-"));
  const { port, proc } = await startLoadedServe(dir, database);
  try {
    // Warm up (JIT, connections, first checkpoint), untimed.
    await httpLoad(port, bodies.slice(0, 500));
    const cpu0 = processCpuUs(proc.pid!);
    const main0 = processCpuUs(proc.pid!, proc.pid!);
    const client0 = process.cpuUsage();
    const { seconds, lat } = await httpLoad(port, bodies.slice(500), batch);
    const client = process.cpuUsage(client0);
    const cpu1 = processCpuUs(proc.pid!);
    const main1 = processCpuUs(proc.pid!, proc.pid!);
    const n = bodies.length - 500;
    return {
      backend,
      path: batch === 1 ? `HTTP, ${CLIENTS} clients` : `HTTP batches of ${batch}, ${CLIENTS} clients`,
      entries: n,
      seconds,
      perSecond: n / seconds,
      p50ms: pct(lat, 50),
      p99ms: pct(lat, 99),
      ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUsPerEntry: (cpu1 - cpu0) / n } : {}),
      ...(main0 !== undefined && main1 !== undefined ? { mainCpuUsPerEntry: (main1 - main0) / n } : {}),
      clientCpuUsPerEntry: (client.user + client.system) / n,
    };
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same HTTP load driven by wrk (C, one thread, CLIENTS connections, for --wrk-seconds;
 * bench/log-wrk.lua sends each pre-signed entry at most once), so the client's CPU is small next
 * to the server's. Undefined when
 * wrk is not installed (Debian: apt-get install wrk).
 */
async function runWrk(backend: string, bodies: Buffer[], database?: string): Promise<Result | undefined> {
  const wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].find((p) => existsSync(p));
  if (wrk === undefined) {
    log("wrk is not installed: no wrk row");
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-log-"));
  const { port, proc } = await startLoadedServe(dir, database);
  try {
    await httpLoad(port, bodies.slice(0, 500));
    const file = join(dir, "entries.jsonl");
    writeFileSync(file, `${bodies.slice(500).join("\n")}\n`);
    const script = fileURLToPath(new URL("./log-wrk.lua", import.meta.url));
    const cpu0 = processCpuUs(proc.pid!);
    const main0 = processCpuUs(proc.pid!, proc.pid!);
    const t0 = performance.now();
    // /usr/bin/time reports wrk's own CPU (user and system seconds) on its last stderr line.
    const out = await sh(
      "/usr/bin/time",
      [
        "-f",
        "%U %S",
        wrk,
        "-t1",
        `-c${CLIENTS}`,
        `-d${WRK_SECONDS}s`,
        "--timeout",
        "60s",
        "-s",
        script,
      ].concat([`http://127.0.0.1:${port}`, "--", file, "1"]),
      dir,
    );
    if (out.code !== 0) throw new Error(`wrk exited ${out.code}: ${out.stderr}`);
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = processCpuUs(proc.pid!);
    const main1 = processCpuUs(proc.pid!, proc.pid!);
    const m = /entries (\d+) other (\d+) exhausted (\d) p50us (\d+) p99us (\d+)/.exec(out.stdout);
    if (!m || Number(m[2]) !== 0) throw new Error(`wrk: ${out.stdout}`);
    if (m[3] !== "0") throw new Error(`wrk ran out of entries: give more --entries or fewer --wrk-seconds`);
    // Entries answered 201 within wrk's run (the few still in flight at its end are not counted).
    const n = Number(m[1]);
    const [user, sys] = out.stderr.trim().split("\n").at(-1)!.split(" ").map(Number);
    return {
      backend,
      path: `HTTP (wrk), ${CLIENTS} connections`,
      entries: n,
      seconds,
      perSecond: n / seconds,
      p50ms: Number(m[4]) / 1000,
      p99ms: Number(m[5]) / 1000,
      ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuUsPerEntry: (cpu1 - cpu0) / n } : {}),
      ...(main0 !== undefined && main1 !== undefined ? { mainCpuUsPerEntry: (main1 - main0) / n } : {}),
      clientCpuUsPerEntry: (((user ?? 0) + (sys ?? 0)) * 1e6) / n,
    };
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runInProcess(backend: string, bodies: Buffer[], database?: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-log-"));
  const opened = await openDataDir(join(dir, "data"), database ? { database } : {});
  const node = new LogNode({
    storage: opened.storage,
    key: opened.key,
    origin: opened.origin,
    searchIndex: opened.searchIndex,
  });
  await node.becomeSequencer();
  try {
    const parsed = bodies.map((b) => JSON.parse(b.toString()));
    let next = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < parsed.length) await node.submitNative(parsed[next++]);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      backend,
      path: "in process, no HTTP",
      entries: parsed.length,
      seconds,
      perSecond: parsed.length / seconds,
      cpuUsPerEntry: (cpu.user + cpu.system) / parsed.length,
    };
  } finally {
    await node.close();
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * --latency N: a SQLite log of N entries (and N stored envelopes) is bulk-loaded through the
 * sequencer and the search index directly (untimed), then `cairn serve` answers sequential
 * requests for random indexes and subjects: inclusion proofs, Rekor entries and every search
 * shape (first and deep pages), p50/p99. With --postgres, the log and the store are in a
 * PostgreSQL the bench starts.
 */
async function latencyBench(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-bench-lat-"));
  const data = join(dir, "data");
  const t = Date.now();
  const pg = args.postgres ? await startPostgres() : undefined;
  const database = pg ? await pg.createDatabase() : undefined;
  const opened = await openDataDir(data, database ? { database } : {});
  const seq = await Sequencer.open({
    storage: opened.storage,
    key: opened.key,
    origin: opened.origin,
    maxBatchSize: 8192,
    maxBatchDelayMs: 1,
    maxPending: 1 << 20,
  });
  const digest = (i: number) => createHash("sha256").update(`subject ${i}`).digest("hex");
  const GROUPS = 10_000;
  const groupDigest = (g: number) => createHash("sha256").update(`group ${g}`).digest("hex");
  // 1% a rare predicate type, the rest half and half.
  const predicateOf = (i: number) => (i % 100 === 0 ? VULN : i % 2 ? SLSA : SPDX);
  const CHUNK = 16384;
  for (let at = 0; at < n; at += CHUNK) {
    const end = Math.min(n, at + CHUNK);
    const leaves = [];
    for (let i = at; i < end; i++) leaves.push(seq.submit(Buffer.from(`{"kind":"bench/v1","i":${i}}`)));
    await Promise.all(leaves);
    const records = [];
    for (let i = at; i < end; i++) {
      records.push({
        logIndex: i,
        envelope: Buffer.from(
          `{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[],"i":${i}}`,
        ),
        predicateType: predicateOf(i),
        // Its own subject, and one of 10,000 shared by 100 envelopes each.
        subjectDigests: [`sha256:${digest(i)}`, `sha256:${groupDigest(i % GROUPS)}`],
        // One of 16 keys (each signs one predicate type but the rare one), one of 1,000 identities.
        signers: [`key:${i % 16}`, `identity:builder-${i % 1000}@example.com`],
        integratedTime: 1_700_000_000 + i,
      });
    }
    await opened.searchIndex.putMany!(records);
    if (process.env.BENCH_DEBUG) log(`loaded ${end} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  await seq.close();
  await opened.close();
  log(`fixture: ${n} entries and stored envelopes (${((Date.now() - t) / 1000).toFixed(1)} s, untimed)`);
  const started = Date.now();
  // The server's GC pauses (--trace-gc lines), to tell its own pauses from the machine's load.
  const serverGc: { at: number; ms: number }[] = [];
  const { port, proc } = await startServe(
    data,
    database ? ["--database", database] : [],
    ["--trace-gc"],
    (line) => {
      const m = GC_LINE.exec(line);
      if (m) serverGc.push({ at: performance.now(), ms: Number(m[1]) });
    },
  );
  log(`cairn serve started on ${n} entries in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The search shapes, as /cairn/v1/search parameters for a random i.
  const T0 = 1_700_000_000;
  type Params = Record<string, string>;
  const key = (i: number): Params => ({ keyId: String(i % 16) });
  const identity = (i: number): Params => ({ identity: `builder-${i % 1000}@example.com` });
  const group = (i: number): Params => ({ subject: `sha256:${groupDigest(i % GROUPS)}` });
  const window = (i: number): Params => ({ since: String(T0 + i), until: String(T0 + i + 3600) });
  const slsa = { predicateType: SLSA };
  const searches: [string, (i: number) => Params][] = [
    ["subject (1 result)", (i) => ({ subject: `sha256:${digest(i)}` })],
    ["subject (100 results)", group],
    ["predicate (50%)", () => slsa],
    ["predicate (1%)", () => ({ predicateType: VULN })],
    ["signer: key id (6%)", key],
    ["signer: identity (0.1%)", identity],
    ["time: 1 h window", window],
    ["time: since", (i) => ({ since: String(T0 + i) })],
    ["time: until", (i) => ({ until: String(T0 + i) })],
    ["signer + predicate", (i) => ({ ...key(i), ...slsa })],
    ["identity + predicate", (i) => ({ ...identity(i), ...slsa })],
    ["subject + predicate", (i) => ({ ...group(i), ...slsa })],
    ["subject + signer", (i) => ({ ...group(i), ...key(i >> 4) })],
    ["predicate + 1 h window", (i) => ({ ...slsa, ...window(i) })],
    ["signer + 1 h window", (i) => ({ ...key(i), ...window(i) })],
    ["identity + since", (i) => ({ ...identity(i), since: String(T0 + i) })],
    [
      "subject + signer + predicate + time",
      (i) => ({ ...group(i), ...key(i >> 4), ...slsa, since: String(T0 + i - n / 2), until: String(T0 + i) }),
    ],
    ["deep: predicate (50%)", (i) => ({ ...slsa, cursor: `c1.${i}` })],
    ["deep: signer", (i) => ({ ...key(i >> 4), cursor: `c1.${i}` })],
    ["deep: signer + predicate", (i) => ({ ...key(i >> 4), ...slsa, cursor: `c1.${i}` })],
    ["deep: time since", (i) => ({ since: String(T0 + (i >> 1)), cursor: `c1.${i}` })],
  ];
  // The same as the index query the store hands its SearchIndex (a page of 50, plus one).
  const indexQuery = (p: Params): IndexQuery => ({
    after: p.cursor === undefined ? -1 : Number(p.cursor.slice(3)),
    limit: 51,
    ...(p.subject === undefined ? {} : { subjectDigest: p.subject }),
    ...(p.predicateType === undefined ? {} : { predicateType: p.predicateType }),
    ...(p.keyId === undefined ? {} : { signer: `key:${p.keyId}` }),
    ...(p.identity === undefined ? {} : { signer: `identity:${p.identity}` }),
    ...(p.since === undefined ? {} : { since: Number(p.since) }),
    ...(p.until === undefined ? {} : { until: Number(p.until) }),
  });
  const rows: string[][] = [];
  // CPU time of the answering side (cairn serve, and PostgreSQL's server processes with
  // --postgres): steadier than wall time on a loaded machine.
  const pgMain = pg ? Number(readFileSync(join(pg.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]) : 0;
  const serverCpuUs = () => (processCpuUs(proc.pid!) ?? 0) + (pg ? processTreeCpuUs(pgMain) : 0);
  // The bench process's own GC pauses while a row's HTTP samples ran, by row.
  const clientGcRows = new Map<string, string>();
  const row = (what: string, lat: number[], gcs: { ms: number }[], cpuUs: number) => {
    lat.sort((a, b) => a - b);
    rows.push([
      what,
      String(lat.length),
      pct(lat, 50).toFixed(2),
      pct(lat, 99).toFixed(2),
      lat[lat.length - 1]!.toFixed(2),
      (cpuUs / lat.length / 1000).toFixed(2),
      `${gcs.length} / ${Math.max(0, ...gcs.map((g) => g.ms)).toFixed(1)}`,
      clientGcRows.get(what) ?? "",
      loadavg()[0]!.toFixed(2),
    ]);
  };
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<number>((res, rej) => {
        const t0 = performance.now();
        request({ host: "127.0.0.1", port, path, agent }, (r) => {
          r.resume();
          r.on("end", () =>
            r.statusCode === 200
              ? res(performance.now() - t0)
              : rej(new Error(`${path}: HTTP ${r.statusCode}`)),
          );
        })
          .on("error", rej)
          .end();
      });
    // The fixture's garbage (a million-leaf tree, the records) goes now, not in a sample's time:
    // this process's own GC pauses delay the answers it times (reported per row as "client GCs").
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    const measure = async (what: string, path: (i: number) => string, samples = 1000) => {
      for (let i = 0; i < samples / 10; i++) await get(path(Math.floor(Math.random() * n)));
      const lat: number[] = [];
      const t0 = performance.now();
      const cpu0 = serverCpuUs();
      const clientGcs: number[] = [];
      const clientObs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) clientGcs.push(e.duration);
      });
      clientObs.observe({ entryTypes: ["gc"] });
      for (let i = 0; i < samples; i++) lat.push(await get(path(Math.floor(Math.random() * n))));
      await new Promise((r) => setImmediate(r));
      clientObs.disconnect();
      clientGcRows.set(what, `${clientGcs.length} / ${Math.max(0, ...clientGcs).toFixed(1)}`);
      const cpu = serverCpuUs() - cpu0;
      // GC lines reach us through a pipe: count those seen while the samples ran, plus a margin.
      await new Promise((r) => setTimeout(r, 50));
      row(
        what,
        lat,
        serverGc.filter((g) => g.at >= t0),
        cpu,
      );
    };
    await measure("inclusion proof (cairn API)", (i) => `/cairn/v1/log/proof/inclusion?index=${i}`, 5000);
    await measure("entry + proof + SET (Rekor API)", (i) => `/api/v1/log/entries?logIndex=${i}`);
    // Every search shape, each result with its inclusion proof; pages of 50 unless fewer match.
    // `i` is random: a random subject, signer, time; "deep" pages start at a cursor at log index i.
    for (const [what, query] of searches) {
      await measure(`search: ${what}`, (i) => `/cairn/v1/search?${new URLSearchParams(query(i))}`, 200);
    }
    await measure("level-0 tile", (i) => `/tlog/tile/0/${encodeTileIndex(Math.floor(i / 256 / 2))}`);
    agent.destroy();
    // The same proofs in this process, without HTTP or a second process: what the log's own code
    // costs, with this process's GC pauses observed alongside.
    const reader = await openDataDir(data, database ? { database } : {});
    try {
      const node = new LogNode({ storage: reader.storage, key: reader.key, origin: reader.origin });
      await node.inclusion(0);
      const gcs: { ms: number }[] = [];
      const obs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) gcs.push({ ms: e.duration });
      });
      obs.observe({ entryTypes: ["gc"] });
      const lat: number[] = [];
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < 20000; i++) {
        const t0 = performance.now();
        await node.inclusion(Math.floor(Math.random() * n));
        lat.push(performance.now() - t0);
      }
      await new Promise((r) => setImmediate(r));
      obs.disconnect();
      const cpu = process.cpuUsage(cpu0);
      row("inclusion proof (in process, no HTTP)", lat, gcs, cpu.user + cpu.system);
      // The searches alone: the search index's answer (log indexes), in process, without the
      // page's envelopes, proofs or HTTP. CPU: this process and, with --postgres, the server's.
      const index = reader.searchIndex;
      const dbCpuUs = () => (pg ? processTreeCpuUs(pgMain) : 0);
      for (const [what, query] of searches) {
        for (let i = 0; i < 20; i++) await index.search(indexQuery(query(Math.floor(Math.random() * n))));
        const lat: number[] = [];
        const seen: { ms: number }[] = [];
        const gcObs = new PerformanceObserver((l) => {
          for (const e of l.getEntries()) seen.push({ ms: e.duration });
        });
        gcObs.observe({ entryTypes: ["gc"] });
        const c0 = process.cpuUsage();
        const d0 = dbCpuUs();
        for (let i = 0; i < 200; i++) {
          const q = indexQuery(query(Math.floor(Math.random() * n)));
          const t0 = performance.now();
          await index.search(q);
          lat.push(performance.now() - t0);
        }
        const c = process.cpuUsage(c0);
        const d = dbCpuUs() - d0;
        await new Promise((r) => setImmediate(r));
        gcObs.disconnect();
        row(`index search: ${what}`, lat, seen, c.user + c.system + d);
      }
    } finally {
      await reader.close();
    }
    const head = [
      "request",
      "samples",
      "p50 ms",
      "p99 ms",
      "max ms",
      "CPU ms/req",
      "GCs / longest ms",
      "client GCs / longest ms",
      "load",
    ];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    process.stdout.write(
      `read latency at ${n} entries, ${database ? "PostgreSQL" : "SQLite"}, one client, sequential (${cpus().length} CPUs; target: proofs p99 < 5 ms)\n${line(head)}\n${line(widths.map((w) => "-".repeat(w)))}\n${rows.map(line).join("\n")}\n`,
    );
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.latency !== undefined) {
  await latencyBench(Number(args.latency));
  process.exit(0);
}

const results: Result[] = [];
const load = loadavg()[0]!;
if (load > 0.5) log(`warning: load average ${load.toFixed(2)}: other work on this machine skews the figures`);
const bodies = await makeEntries(ENTRIES + 500);
results.push(await runHttp("SQLite", bodies));
if (BATCH > 1) results.push(await runHttp("SQLite", bodies, undefined, BATCH));
const sqliteWrk = await runWrk("SQLite", bodies);
if (sqliteWrk) results.push(sqliteWrk);
if (!args["http-only"]) results.push(await runInProcess("SQLite", bodies.slice(500)));
if (!args["no-postgres"]) {
  const pg = await startPostgres();
  try {
    results.push(await runHttp("PostgreSQL", bodies, await pg.createDatabase()));
    if (BATCH > 1) results.push(await runHttp("PostgreSQL", bodies, await pg.createDatabase(), BATCH));
    const pgWrk = await runWrk("PostgreSQL", bodies, await pg.createDatabase());
    if (pgWrk) results.push(pgWrk);
    if (!args["http-only"])
      results.push(await runInProcess("PostgreSQL", bodies.slice(500), await pg.createDatabase()));
  } finally {
    await pg.stop();
  }
}

const rows = results.map((r) => [
  r.backend,
  r.path,
  String(r.entries),
  r.seconds.toFixed(2),
  r.perSecond.toFixed(0),
  r.p50ms === undefined ? "" : r.p50ms.toFixed(1),
  r.p99ms === undefined ? "" : r.p99ms.toFixed(1),
  r.cpuUsPerEntry === undefined ? "" : r.cpuUsPerEntry.toFixed(0),
  r.mainCpuUsPerEntry === undefined ? "" : r.mainCpuUsPerEntry.toFixed(0),
  r.clientCpuUsPerEntry === undefined ? "" : r.clientCpuUsPerEntry.toFixed(0),
  (r.perSecond / TARGET).toFixed(2),
]);
const head = [
  "backend",
  "path",
  "entries",
  "s",
  "entries/s",
  "ack p50 ms",
  "ack p99 ms",
  "log CPU us/entry",
  "main thread us/entry",
  "client CPU us/entry",
  `x ${TARGET}/s`,
];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
process.stdout.write(
  `log append, ${args.kind} entries, durable acks (${cpus().length} CPUs, load ${load.toFixed(2)})\n${line(head)}\n${line(widths.map((w) => "-".repeat(w)))}\n${rows.map(line).join("\n")}\n`,
);
