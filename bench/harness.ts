// SPDX-License-Identifier: Apache-2.0
// Benchmark harness: runs a cairn command and a reference command alternately under GNU time, takes the
// median wall time and max RSS of each, and renders the comparison table. Standalone; never a unit test.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/** GNU time; `%e %M %U %S` is wall seconds, max RSS KiB, user and system CPU seconds. */
export const GNU_TIME = "/usr/bin/time";

/** One command to time: argv, working directory and environment. */
export interface Cmd {
  /** Short label for the table and the JSON ("cairn verify", "in-toto-verify", "sha256sum"). */
  label: string;
  argv: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Runs before each timed run, untimed (e.g. remove the previous run's link file). */
  before?: () => void;
  /**
   * For a command that times part of its own work (e.g. one refresh call, without the start-up of
   * its interpreter): reads those seconds from its stdout. Without it, stdout is discarded.
   */
  selfTimed?: (stdout: string) => number;
}

/** One timed run. */
export interface Sample {
  /** Wall seconds measured here with a monotonic clock around the process (includes `time`'s own tiny overhead). */
  wallS: number;
  /** Wall seconds as GNU time reports them (10 ms resolution). */
  timeWallS: number;
  /** Maximum resident set size in KiB, from GNU time. */
  maxRssKiB: number;
  /** User and system CPU seconds; more than wall means the command used several cores. */
  userS: number;
  sysS: number;
  /** The seconds the command reported for its own work (`Cmd.selfTimed`). */
  selfS?: number;
}

/** The figures of one side of a comparison. */
export interface Side {
  label: string;
  argv: string[];
  samples: Sample[];
  medianWallS: number;
  /** Median over runs of each run's max RSS. */
  medianRssMB: number;
  medianCpuS: number;
  /** Median of `Sample.selfS`, when the command reports it. */
  medianSelfS?: number;
}

/** A target stated for a benchmark: the speed ratio (reference/cairn) and, optionally, the memory ratio. */
export interface Target {
  minSpeedRatio: number;
  /** Reference MB / cairn MB must be at least this (3 means "at most a third of the memory"). */
  minMemoryRatio?: number;
  /** An absolute goal: cairn's median self-timed seconds (`Cmd.selfTimed`) at most this. */
  maxCairnSelfS?: number;
}

export interface Comparison {
  name: string;
  description: string;
  cairn: Side;
  reference: Side;
  /** reference seconds / cairn seconds: above 1 means cairn is faster. */
  speedRatio: number;
  /** reference MB / cairn MB: above 1 means cairn uses less memory. */
  memoryRatio: number;
  target?: Target;
  /** Undefined when there is no target. */
  met?: boolean;
  /** Bytes hashed per run, when the benchmark is about throughput; MB/s = bytes / 1e6 / seconds. */
  bytes?: number;
  /** What is done to `bytes` in the throughput line ("hashed", "copied"); default "hashed". */
  bytesVerb?: string;
  cairnMBps?: number;
  referenceMBps?: number;
  /** Reference self-timed seconds / cairn's, when both commands time their own work. */
  selfSpeedRatio?: number;
}

export interface CompareOptions {
  name: string;
  description: string;
  cairn: Cmd;
  reference: Cmd;
  repeat: number;
  /** Timed runs of the reference when fewer than `repeat` (a slow one, e.g. tuf-js at 70 s a run). */
  referenceRepeat?: number;
  warmup?: number;
  target?: Target;
  bytes?: number;
  bytesVerb?: string;
  /** Scratch directory for GNU time's output file. */
  scratch: string;
  log?: (line: string) => void;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const STDERR_KEEP = 4096;
/** What a self-timed command may print: its figures, not a dump. */
const STDOUT_KEEP = 64 * 1024;

/** Runs `cmd` once under GNU time; rejects, with the tail of its stderr, when it exits non-zero. */
export function timeOnce(cmd: Cmd, scratch: string): Promise<Sample> {
  cmd.before?.();
  const out = join(scratch, `time-${process.pid}.txt`);
  rmSync(out, { force: true });
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ["-f", "%e %M %U %S", "-o", out, "--", ...cmd.argv], {
      cwd: cmd.cwd,
      env: cmd.env ?? process.env,
      // stdout is discarded unless the command reports its own time; stderr is kept for the error message.
      stdio: ["ignore", cmd.selfTimed ? "pipe" : "ignore", "pipe"],
    });
    let err = "";
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < STDOUT_KEEP) stdout += d;
    });
    child.stderr!.setEncoding("utf8").on("data", (d: string) => {
      err = (err + d).slice(-STDERR_KEEP);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wallS = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) {
        reject(new Error(`${cmd.label} exited ${code}: ${cmd.argv.join(" ")}\n${err}`));
        return;
      }
      const lines = readFileSync(out, "utf8").trim().split("\n");
      const [e, m, u, s] = (lines[lines.length - 1] ?? "").split(" ").map(Number);
      if (e === undefined || m === undefined || u === undefined || s === undefined || Number.isNaN(m)) {
        reject(new Error(`cannot parse GNU time output: ${lines.join(" | ")}`));
        return;
      }
      const sample: Sample = { wallS, timeWallS: e, maxRssKiB: m, userS: u, sysS: s };
      if (cmd.selfTimed) {
        let self: number;
        try {
          self = cmd.selfTimed(stdout);
        } catch (err) {
          reject(err);
          return;
        }
        if (!(self >= 0 && self <= wallS)) {
          reject(
            new Error(
              `${cmd.label} reported ${self} s of its own in a ${wallS} s run: ${stdout.slice(0, 200)}`,
            ),
          );
          return;
        }
        sample.selfS = self;
      }
      resolve(sample);
    });
  });
}

function side(cmd: Cmd, samples: Sample[]): Side {
  const s: Side = {
    label: cmd.label,
    argv: cmd.argv,
    samples,
    medianWallS: median(samples.map((x) => x.wallS)),
    medianRssMB: median(samples.map((x) => x.maxRssKiB)) / 1024,
    medianCpuS: median(samples.map((x) => x.userS + x.sysS)),
  };
  if (cmd.selfTimed) s.medianSelfS = median(samples.map((x) => x.selfS!));
  return s;
}

/**
 * Times the reference and cairn alternately (reference first on even rounds, cairn first on odd ones, so
 * neither always runs on a colder cache), `repeat` times each, after `warmup` untimed rounds.
 */
export async function compare(o: CompareOptions): Promise<Comparison> {
  const log = o.log ?? (() => {});
  for (let i = 0; i < (o.warmup ?? 0); i++) {
    await timeOnce(o.reference, o.scratch);
    await timeOnce(o.cairn, o.scratch);
  }
  const c: Sample[] = [];
  const r: Sample[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const order: Array<[Cmd, Sample[]]> =
      i % 2 === 0
        ? [
            [o.reference, r],
            [o.cairn, c],
          ]
        : [
            [o.cairn, c],
            [o.reference, r],
          ];
    for (const [cmd, into] of order) {
      if (cmd === o.reference && i >= (o.referenceRepeat ?? o.repeat)) continue;
      const s = await timeOnce(cmd, o.scratch);
      into.push(s);
      log(
        `  ${o.name} #${i + 1} ${cmd.label}: ${s.wallS.toFixed(3)} s, ${(s.maxRssKiB / 1024).toFixed(1)} MB`,
      );
    }
  }
  const cairn = side(o.cairn, c);
  const reference = side(o.reference, r);
  const speedRatio = reference.medianWallS / cairn.medianWallS;
  const memoryRatio = reference.medianRssMB / cairn.medianRssMB;
  const result: Comparison = {
    name: o.name,
    description: o.description,
    cairn,
    reference,
    speedRatio,
    memoryRatio,
  };
  if (cairn.medianSelfS !== undefined && reference.medianSelfS !== undefined) {
    result.selfSpeedRatio = reference.medianSelfS / cairn.medianSelfS;
  }
  if (o.target) {
    const t = o.target;
    result.target = t;
    result.met =
      speedRatio >= t.minSpeedRatio &&
      (t.minMemoryRatio === undefined || memoryRatio >= t.minMemoryRatio) &&
      (t.maxCairnSelfS === undefined || (cairn.medianSelfS ?? Number.POSITIVE_INFINITY) <= t.maxCairnSelfS);
  }
  if (o.bytes !== undefined) {
    result.bytes = o.bytes;
    if (o.bytesVerb !== undefined) result.bytesVerb = o.bytesVerb;
    result.cairnMBps = o.bytes / 1e6 / cairn.medianWallS;
    result.referenceMBps = o.bytes / 1e6 / reference.medianWallS;
  }
  return result;
}

function targetText(t: Target | undefined): string {
  if (!t) return "-";
  const parts = [`speed>=${t.minSpeedRatio}`];
  if (t.minMemoryRatio !== undefined) parts.push(`mem>=${t.minMemoryRatio}`);
  if (t.maxCairnSelfS !== undefined) parts.push(`self<=${t.maxCairnSelfS}s`);
  return parts.join(" ");
}

/** The comparison table, aligned for a terminal. */
export function renderTable(results: Comparison[]): string {
  const header = [
    "benchmark",
    "reference",
    "cairn s",
    "ref s",
    "speed x",
    "cairn MB",
    "ref MB",
    "mem x",
    "target",
    "met",
  ];
  const rows = results.map((r) => [
    r.name,
    r.reference.label,
    r.cairn.medianWallS.toFixed(3),
    r.reference.medianWallS.toFixed(3),
    r.speedRatio.toFixed(2),
    r.cairn.medianRssMB.toFixed(1),
    r.reference.medianRssMB.toFixed(1),
    r.memoryRatio.toFixed(2),
    targetText(r.target),
    r.met === undefined ? "-" : r.met ? "yes" : "NO",
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const fmt = (row: string[]) =>
    row
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const lines = [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)];
  const throughput = results.filter((r) => r.bytes !== undefined);
  for (const r of throughput) {
    lines.push(
      `${r.name}: ${(r.bytes! / 2 ** 20).toFixed(0)} MiB ${r.bytesVerb ?? "hashed"}; cairn ${r.cairnMBps!.toFixed(0)} MB/s, ` +
        `${r.reference.label} ${r.referenceMBps!.toFixed(0)} MB/s, ratio ${(r.cairnMBps! / r.referenceMBps!).toFixed(2)}`,
    );
  }
  for (const r of results.filter((x) => x.selfSpeedRatio !== undefined)) {
    lines.push(
      `${r.name}: timed inside each process (no interpreter start-up): cairn ${r.cairn.medianSelfS!.toFixed(3)} s, ` +
        `${r.reference.label} ${r.reference.medianSelfS!.toFixed(3)} s, ratio ${r.selfSpeedRatio!.toFixed(2)}`,
    );
  }
  lines.push("speed x = reference s / cairn s; mem x = reference MB / cairn MB (above 1: cairn is better)");
  return lines.join("\n");
}
