// SPDX-License-Identifier: Apache-2.0
// The tuf-pep458 fixture: a TUF repository shaped like PyPI's under PEP 458 (targets delegating to
// 16,384 TAP 15 succinct hash bins, 65,536 targets), built by cairn's repository engine in this
// process over directories, exactly as `cairn tuf init | delegate --succinct-bins | add | refresh |
// publish` would build it (the repository's config names the key files, so the CLI can add to it
// unattended afterwards). Target contents are small and a function of the index. Also: a static
// file server over the published directory that counts the bytes it serves.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Signer } from "../src/core/signer.js";
import { type TargetInput, TufRepository } from "../src/engines/tuf/repository.js";
import { loadSigner, writeNewKeyPair } from "../src/runtime/keyfiles.js";
import { directoryFileArea } from "../src/runtime/tuf-repo-store.js";
import { pythonEnv } from "./fixtures.js";
import { type Cmd, type Comparison, compare, median, timeOnce } from "./harness.js";

export interface TufFixture {
  dir: string;
  /** The repository's working directory. */
  repo: string;
  /** The published directory (metadata/, targets/). */
  out: string;
  bins: number;
  targets: number;
  /** Seconds per build phase. */
  phases: Record<string, number>;
  /** The path of target i. */
  pathOf: (i: number) => string;
  snapshotBytes: number;
}

/** The target path of package i: 256 directories, as a file server would shard them. */
export const pep458Path = (i: number) =>
  `packages/${(i % 256).toString(16).padStart(2, "0")}/pkg${i}-1.0.tar.gz`;

/** Builds and publishes the repository; logs each phase. */
export async function makeTufFixture(
  dir: string,
  sizes: { bins: number; targets: number },
  log: (line: string) => void,
  /** false: snapshot and timestamp list versions only (`cairn tuf init --no-meta-hashes`). */
  metaHashes = true,
): Promise<TufFixture> {
  mkdirSync(dir, { recursive: true });
  const phases: Record<string, number> = {};
  const phase = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    const v = await f();
    phases[name] = Number(process.hrtime.bigint() - t) / 1e9;
    log(`fixture: tuf ${name} (${phases[name]!.toFixed(1)} s)`);
    return v;
  };
  const keys: Record<string, Signer> = {};
  for (const k of ["root", "targets", "online", "bins"]) {
    await writeNewKeyPair(join(dir, k), "ed25519");
    keys[k] = await loadSigner(join(dir, k));
  }
  const repoDir = join(dir, "repo");
  const out = join(dir, "out");
  mkdirSync(repoDir, { recursive: true });
  mkdirSync(out, { recursive: true });
  const store = directoryFileArea(repoDir);
  const repo = await phase("init", () =>
    TufRepository.init(store, {
      keys: {
        root: [keys.root!.publicKey],
        targets: [keys.targets!.publicKey],
        snapshot: [keys.online!.publicKey],
        timestamp: [keys.online!.publicKey],
      },
      signers: [keys.root!, keys.targets!, keys.online!],
      signing: {
        targets: [join(dir, "targets")],
        snapshot: [join(dir, "online")],
        timestamp: [join(dir, "online")],
        "targets:bins": [join(dir, "bins")],
      },
      metaHashes,
    }),
  );
  await phase(`delegate to ${sizes.bins} bins`, () =>
    repo.delegate({ name: "bins", keys: [keys.bins!.publicKey], bins: sizes.bins }, [
      keys.targets!,
      keys.bins!,
    ]),
  );
  function* inputs(): Generator<TargetInput> {
    for (let i = 0; i < sizes.targets; i++) {
      yield { path: pep458Path(i), bytes: Buffer.from(`package ${i} version 1.0\n`) };
    }
  }
  await phase(`add ${sizes.targets} targets`, () => repo.addTargets("targets", inputs(), [keys.bins!]));
  await phase("refresh", () => repo.refresh([keys.online!]));
  await phase("publish", () => repo.publish(directoryFileArea(out)));
  const ts = JSON.parse(readFileSync(join(out, "metadata", "timestamp.json"), "utf8"));
  const snapV = ts.signed.meta["snapshot.json"].version as number;
  return {
    dir,
    repo: repoDir,
    out,
    bins: sizes.bins,
    targets: sizes.targets,
    phases,
    pathOf: pep458Path,
    snapshotBytes: statSync(join(out, "metadata", `${snapV}.snapshot.json`)).size,
  };
}

/** A static file server over `root`, counting bytes served (`served.bytes`, reset at will). */
export async function serveStatic(root: string): Promise<{
  url: string;
  served: { bytes: number; requests: number };
  stop: () => Promise<void>;
}> {
  const served = { bytes: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    const rel = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!)).replace(/^[/\\]+/, "");
    const file = join(root, rel);
    let body: Buffer;
    try {
      if (rel.startsWith("..") || !file.startsWith(root + sep)) throw new Error("outside");
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    served.bytes += body.length;
    served.requests++;
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** What the tuf-pep458 benchmark reports besides its comparisons. */
export interface TufFigures {
  bins: number;
  targets: number;
  snapshotBytes: number;
  /** Seconds per phase of building the repository in-process. */
  build: Record<string, number>;
  /** Median seconds of `cairn tuf add` (one target), `refresh` and `publish`, and their sum. */
  addOne: {
    addS: number;
    refreshS: number;
    publishS: number;
    totalS: number;
    /** Median CPU seconds (user + system) of the three commands together. */
    totalCpuS: number;
    samples: number[];
  };
  /** A returning cairn client downloading the one changed target: bytes and requests served. */
  returning: { bytes: number; requests: number };
}

export interface TufBenchContext {
  work: string;
  sizes: { bins: number; targets: number };
  repeat: number;
  /** Timed tuf-js runs per comparison (tuf-js takes about 70 s a refresh at full size). */
  tufjsRuns: number;
  scratch: string;
  log: (line: string) => void;
  /** The cairn CLI: node and its main file. */
  cairnArgv: string[];
  env: NodeJS.ProcessEnv;
  /** False: the snapshot and timestamp list versions only (python-tuf's default), a 0.5 MB snapshot. */
  metaHashes: boolean;
}

/**
 * tuf-pep458: cold and warm refresh of `cairn tuf client` against tuf-js on the same repository in
 * the same run, then the time to add one target and republish with the CLI, and the bytes a
 * returning client downloads to get the changed target.
 */
export async function tufPep458Bench(
  ctx: TufBenchContext,
): Promise<{ comparisons: Comparison[]; figures: TufFigures }> {
  const f = await makeTufFixture(join(ctx.work, "tuf"), ctx.sizes, ctx.log, ctx.metaHashes);
  const srv = await serveStatic(f.out);
  try {
    const root = readFileSync(join(f.out, "metadata", "1.root.json"));
    const clientDir = (name: string) => join(f.dir, "clients", name);
    const fresh = (d: string) => () => {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "root.json"), root);
    };
    const cairnRefresh = (d: string, before?: () => void): Cmd => ({
      label: "cairn tuf client",
      argv: [
        ...ctx.cairnArgv,
        "tuf",
        "client",
        "--metadata-dir",
        d,
        "--metadata-url",
        `${srv.url}/metadata`,
        "--json",
        "refresh",
      ],
      cwd: f.dir,
      env: ctx.env,
      selfTimed: refreshSeconds,
      ...(before ? { before } : {}),
    });
    const tufjs = (d: string, before?: () => void): Cmd => ({
      label: "tuf-js 5",
      argv: [process.execPath, TUFJS_CLIENT, d, `${srv.url}/metadata`],
      cwd: f.dir,
      env: ctx.env,
      selfTimed: refreshSeconds,
      ...(before ? { before } : {}),
    });
    const what = `a PEP 458-shaped repository (${f.bins} succinct hash bins, ${f.targets} targets, snapshot ${(f.snapshotBytes / 1e6).toFixed(2)} MB${ctx.metaHashes ? "" : ", versions only"})`;
    const common = { repeat: ctx.repeat, referenceRepeat: ctx.tufjsRuns, scratch: ctx.scratch, log: ctx.log };
    // tuf-js takes minutes a refresh at full size: with --tufjs-runs 0 its rows are left out.
    const tufjsRows: Comparison[] = [];
    if (ctx.tufjsRuns === 0) ctx.log("  tuf-js: --tufjs-runs 0: its rows are skipped");
    const withTufjs = async (o: Parameters<typeof compare>[0]) => {
      if (ctx.tufjsRuns > 0) tufjsRows.push(await compare(o));
    };
    await withTufjs({
      ...common,
      name: "tuf-refresh/cold",
      description: `refresh from the initial root only: root, timestamp, snapshot, targets of ${what}`,
      cairn: cairnRefresh(clientDir("cold-cairn"), fresh(clientDir("cold-cairn"))),
      reference: tufjs(clientDir("cold-tufjs"), fresh(clientDir("cold-tufjs"))),
      target: { minSpeedRatio: 100 },
    });
    // Warm: each client's directory holds the current metadata (one untimed refresh first).
    fresh(clientDir("warm-cairn"))();
    await timeOnce(cairnRefresh(clientDir("warm-cairn")), ctx.scratch);
    if (ctx.tufjsRuns > 0) {
      fresh(clientDir("warm-tufjs"))();
      await timeOnce(tufjs(clientDir("warm-tufjs")), ctx.scratch);
    }
    await withTufjs({
      ...common,
      name: "tuf-refresh/warm",
      description: `refresh with every metadata file current on disk (nothing new on the server) from ${what}`,
      cairn: cairnRefresh(clientDir("warm-cairn")),
      reference: tufjs(clientDir("warm-tufjs")),
      target: { minSpeedRatio: 100 },
    });

    // python-tuf's ngclient, the reference client of the goal, when it can be imported.
    const py = pythonTuf();
    const pythonRows: Comparison[] = [];
    if (py === undefined) {
      ctx.log(
        "  python-tuf: not importable by $CAIRN_BENCH_PYTHON (default /usr/bin/python3) with $CAIRN_BENCH_PYTHONPATH: rows skipped",
      );
    } else {
      const pytuf = (d: string, before?: () => void): Cmd => ({
        label: `python-tuf ${py.version}`,
        argv: [py.python, PYTHON_TUF_CLIENT, d, `${srv.url}/metadata`],
        cwd: f.dir,
        env: py.env,
        selfTimed: refreshSeconds,
        ...(before ? { before } : {}),
      });
      const pyCommon = { ...common, referenceRepeat: ctx.repeat };
      pythonRows.push(
        await compare({
          ...pyCommon,
          name: "tuf-refresh/cold-python-tuf",
          description: `cold refresh against python-tuf's ngclient, ${what}`,
          cairn: cairnRefresh(clientDir("cold-cairn"), fresh(clientDir("cold-cairn"))),
          reference: pytuf(clientDir("cold-python"), fresh(clientDir("cold-python"))),
          // The goal: at least as fast as python-tuf's 111 ms cold refresh, a figure only
          // its refresh call can reach (its interpreter and imports alone take longer here).
          target: { minSpeedRatio: 1, maxCairnSelfS: 0.111 },
        }),
      );
      fresh(clientDir("warm-python"))();
      await timeOnce(pytuf(clientDir("warm-python")), ctx.scratch);
      pythonRows.push(
        await compare({
          ...pyCommon,
          name: "tuf-refresh/warm-python-tuf",
          description: `warm refresh against python-tuf's ngclient, ${what}`,
          cairn: cairnRefresh(clientDir("warm-cairn")),
          reference: pytuf(clientDir("warm-python")),
          target: { minSpeedRatio: 1, maxCairnSelfS: 0.094 },
        }),
      );
    }

    // Add one target and republish, with the CLI (the config names the keys).
    const changed = f.pathOf(7);
    const slash = changed.lastIndexOf("/");
    const file = join(f.dir, "changed", changed.slice(slash + 1));
    mkdirSync(join(f.dir, "changed"), { recursive: true });
    const cli = (label: string, args: string[]): Cmd => ({
      label,
      argv: [...ctx.cairnArgv, "tuf", ...args],
      cwd: f.dir,
      env: ctx.env,
    });
    const add = cli("cairn tuf add", ["add", f.repo, file, "--prefix", changed.slice(0, slash + 1)]);
    const refresh = cli("cairn tuf refresh", ["refresh", f.repo]);
    const publish = cli("cairn tuf publish", ["publish", f.repo, f.out]);
    const samples: Array<{ a: number; r: number; p: number; cpu: number }> = [];
    const returning = { bytes: 0, requests: 0 };
    for (let i = 0; i < ctx.repeat; i++) {
      writeFileSync(file, `package 7 version 1.${i + 1}\n`);
      const a = await timeOnce(add, ctx.scratch);
      const r = await timeOnce(refresh, ctx.scratch);
      const p = await timeOnce(publish, ctx.scratch);
      const cpu = [a, r, p].reduce((n, x) => n + x.userS + x.sysS, 0);
      samples.push({ a: a.wallS, r: r.wallS, p: p.wallS, cpu });
      ctx.log(
        `  tuf-add-one #${i + 1}: add ${a.wallS.toFixed(3)} s, refresh ${r.wallS.toFixed(3)} s, publish ${p.wallS.toFixed(3)} s (CPU ${cpu.toFixed(2)} s)`,
      );
      if (i === 0) {
        // The returning client (warm, one version behind) downloads the changed target.
        srv.served.bytes = 0;
        srv.served.requests = 0;
        const dl = cli("cairn tuf client", [
          "client",
          "--metadata-dir",
          clientDir("warm-cairn"),
          "--metadata-url",
          `${srv.url}/metadata`,
          "--target-name",
          changed,
          "--target-base-url",
          `${srv.url}/targets`,
          "--target-dir",
          join(f.dir, "dl"),
          "download",
        ]);
        await timeOnce(dl, ctx.scratch);
        returning.bytes = srv.served.bytes;
        returning.requests = srv.served.requests;
        ctx.log(`  returning client: ${returning.bytes} bytes in ${returning.requests} requests`);
      }
    }
    const totals = samples.map((s) => s.a + s.r + s.p);
    return {
      comparisons: [...tufjsRows, ...pythonRows],
      figures: {
        bins: f.bins,
        targets: f.targets,
        snapshotBytes: f.snapshotBytes,
        build: f.phases,
        addOne: {
          addS: median(samples.map((s) => s.a)),
          refreshS: median(samples.map((s) => s.r)),
          publishS: median(samples.map((s) => s.p)),
          totalS: median(totals),
          totalCpuS: median(samples.map((s) => s.cpu)),
          samples: totals,
        },
        returning,
      },
    };
  } finally {
    await srv.stop();
  }
}

/** The seconds a client's refresh took inside its process: the `refreshSeconds` of its last stdout line (JSON). */
function refreshSeconds(stdout: string): number {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  const s = (JSON.parse(last) as { refreshSeconds?: unknown }).refreshSeconds;
  if (typeof s !== "number")
    throw new Error(`no refreshSeconds in the client's output: ${last.slice(0, 200)}`);
  return s;
}

const TUFJS_CLIENT = fileURLToPath(new URL("./tufjs-client.mjs", import.meta.url));
const PYTHON_TUF_CLIENT = fileURLToPath(new URL("./python-tuf-client.py", import.meta.url));

/**
 * python-tuf is not a dependency of cairn (nor packaged by Debian bookworm): the rows run where
 * `import tuf.ngclient` works for $CAIRN_BENCH_PYTHON (default /usr/bin/python3) with
 * $CAIRN_BENCH_PYTHONPATH added (bench/README.md says how such a checkout was made).
 */
function pythonTuf(): { python: string; env: NodeJS.ProcessEnv; version: string } | undefined {
  const python = process.env.CAIRN_BENCH_PYTHON ?? "/usr/bin/python3";
  const path = process.env.CAIRN_BENCH_PYTHONPATH;
  // Bytecode caches allowed (some environments set PYTHONDONTWRITEBYTECODE): a checkout's modules
  // would otherwise be compiled at every start. This first, untimed import writes them.
  const { PYTHONDONTWRITEBYTECODE: _, ...base } = pythonEnv;
  const env = path ? { ...base, PYTHONPATH: path } : base;
  const r = spawnSync(python, ["-c", "import tuf, tuf.ngclient; print(tuf.__version__)"], {
    env,
    encoding: "utf8",
  });
  return r.status === 0 ? { python, env, version: r.stdout.trim() } : undefined;
}
