// SPDX-License-Identifier: Apache-2.0
// cairn vs the reference tools (in-toto 1.3.1, sha256sum, skopeo 1.9) on the same inputs, in one run:
//   node --import tsx bench/run.ts [--quick] [--only NAME...] [--repeat N] [--warmup N] [--keep] [--cairn MAIN_JS]
// Prints the table and writes bench/results/latest.json. Needs `npm run build` first (cairn runs from dist/).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SKOPEO, startRegistry } from "../src/testing/registry.js";
import {
  IN_TOTO_RUN,
  IN_TOTO_VERIFY,
  keygen,
  makeTreeFixture,
  makeVerifyFixture,
  pythonEnv,
  type TreeFixture,
  type VerifyFixture,
  writeLargeFiles,
} from "./fixtures.js";
import { type Cmd, type Comparison, compare, renderTable } from "./harness.js";
import { makeOciImage, OCI_BENCH_TAG, taggedDigest } from "./oci.js";
// tuf: the PEP 458-shaped repository against tuf-js (issue 4)
import { type TufFigures, tufPep458Bench } from "./tuf.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUILT_CAIRN = join(ROOT, "dist", "cairn.mjs");
const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const SHA256SUM = "/usr/bin/sha256sum";
const OPENSSL = "/usr/bin/openssl";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    repeat: { type: "string" },
    warmup: { type: "string", default: "0" },
    keep: { type: "boolean", default: false },
    cairn: { type: "string" },
    // tuf: timed tuf-js runs in tuf-pep458 (about 70 s each at full size; 0 skips tuf-js)
    "tufjs-runs": { type: "string", default: "1" },
    // tuf: snapshot and timestamp list versions only (python-tuf's default), not lengths and hashes
    "tuf-versions-only": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const BENCHMARKS = ["verify-10k", "verify-50k", "run-10k", "run-large", "oci-copy", "tuf-pep458"] as const;
type BenchName = (typeof BENCHMARKS)[number];

if (args.help) {
  process.stdout.write(
    "usage: node --import tsx bench/run.ts [--quick] [--only NAME...] [--repeat N] [--warmup N] [--keep] [--cairn MAIN_JS] [--tufjs-runs N] [--tuf-versions-only]\n" +
      `benchmarks: ${BENCHMARKS.join(", ")}\n`,
  );
  process.exit(0);
}

const only = (args.only ?? []).flatMap((s) => s.split(","));
for (const n of only) {
  if (!(BENCHMARKS as readonly string[]).includes(n)) {
    process.stderr.write(`bench: unknown benchmark "${n}"; one of ${BENCHMARKS.join(", ")}\n`);
    process.exit(2);
  }
}
const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b));
const quick = args.quick;
const repeat = Number(args.repeat ?? 3);
const warmup = Number(args.warmup);

/** Sizes: the issue's, or small ones so the harness itself runs in about a minute. */
const SIZES = quick
  ? {
      small: 1_000,
      large: 2_000,
      bigFiles: 4,
      bigFileBytes: 16 * 2 ** 20,
      ociLayers: 4,
      ociLayerBytes: 16 * 2 ** 20,
      tufBins: 256,
      tufTargets: 1_024,
    }
  : {
      small: 10_000,
      large: 50_000,
      bigFiles: 4,
      bigFileBytes: 256 * 2 ** 20,
      ociLayers: 8,
      ociLayerBytes: 128 * 2 ** 20,
      tufBins: 16_384,
      tufTargets: 65_536,
    };

// --cairn: another build of the CLI's main.js (e.g. an installed cairn, or a branch built elsewhere).
const CAIRN = args.cairn ?? BUILT_CAIRN;
if (!existsSync(CAIRN)) {
  process.stderr.write(`bench: ${CAIRN} is missing; run \`npm run build\` first\n`);
  process.exit(2);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const work = mkdtempSync(join(tmpdir(), "cairn-bench-"));
const scratch = join(work, "scratch");
mkdirSync(scratch);
const cairnEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };

function cairn(label: string, argv: string[], cwd: string, before?: () => void): Cmd {
  return {
    label,
    argv: [process.execPath, CAIRN, ...argv],
    cwd,
    env: cairnEnv,
    ...(before ? { before } : {}),
  };
}

function reference(label: string, argv: string[], cwd: string, before?: () => void): Cmd {
  return { label, argv, cwd, env: pythonEnv, ...(before ? { before } : {}) };
}

/** An empty output directory before each run, so no run finds the previous one's link. */
function freshDir(path: string): () => void {
  return () => {
    rmSync(path, { recursive: true, force: true });
    mkdirSync(path, { recursive: true });
  };
}

function timed<T>(what: string, f: () => T): T {
  const t = process.hrtime.bigint();
  const v = f();
  log(`${what} (${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s)`);
  return v;
}

const trees = new Map<number, TreeFixture>();
const verifies = new Map<number, VerifyFixture>();

function tree(files: number): TreeFixture {
  let t = trees.get(files);
  if (!t) {
    t = timed(`fixture: ${files} files, keys`, () => makeTreeFixture(join(work, `tree-${files}`), files));
    trees.set(files, t);
  }
  return t;
}

function verifyFixture(files: number): VerifyFixture {
  let v = verifies.get(files);
  if (!v) {
    const t = tree(files);
    v = timed(`fixture: ${files} files, links by in-toto-run, layout by in-toto`, () => makeVerifyFixture(t));
    verifies.set(files, v);
  }
  return v;
}

const common = { repeat, warmup, scratch, log };

async function verifyBench(name: string, files: number, minSpeedRatio: number, minMemoryRatio?: number) {
  const f = verifyFixture(files);
  return compare({
    ...common,
    name,
    description: `verify a signed three-step layout (clone, build, package) whose links record ${files} files per step`,
    cairn: cairn(
      "cairn verify",
      ["verify", "-l", f.layout, "-k", f.owner.pub, "--link-dir", f.linkDir],
      f.dir,
    ),
    reference: reference(
      "in-toto-verify",
      [IN_TOTO_VERIFY, "-l", f.layout, "-k", f.owner.pub, "-t", "ed25519", "--link-dir", f.linkDir],
      f.dir,
    ),
    target: minMemoryRatio === undefined ? { minSpeedRatio } : { minSpeedRatio, minMemoryRatio },
  });
}

async function runBench(name: string): Promise<Comparison> {
  const t = tree(SIZES.small);
  const outC = join(t.dir, "out-cairn");
  const outR = join(t.dir, "out-ref");
  return compare({
    ...common,
    name,
    description: `record ${t.files} files as products with --no-command and sign the link`,
    cairn: cairn(
      "cairn run",
      ["run", "-n", "x", "-k", t.functionary.priv, "-p", t.tree, "-x", "-d", outC],
      t.dir,
      freshDir(outC),
    ),
    reference: reference(
      "in-toto-run",
      [
        IN_TOTO_RUN,
        "-n",
        "x",
        "-k",
        t.functionary.priv,
        "-t",
        "ed25519",
        "-p",
        t.tree,
        "-x",
        "-d",
        outR,
        "-q",
      ],
      t.dir,
      freshDir(outR),
    ),
    target: { minSpeedRatio: 3 },
  });
}

async function runLargeBench(): Promise<Comparison[]> {
  const dir = join(work, "large");
  mkdirSync(dir, { recursive: true });
  const functionary = keygen(dir, "functionary");
  const names = timed(`fixture: ${SIZES.bigFiles} x ${SIZES.bigFileBytes / 2 ** 20} MiB`, () =>
    writeLargeFiles(join(dir, "large"), SIZES.bigFiles, SIZES.bigFileBytes),
  );
  const bytes = SIZES.bigFiles * SIZES.bigFileBytes;
  const outC = join(dir, "out-cairn");
  const outR = join(dir, "out-ref");
  const cairnRun = cairn(
    "cairn run",
    ["run", "-n", "big", "-k", functionary.priv, "-p", "large", "-x", "-d", outC],
    dir,
    freshDir(outC),
  );
  const description = `hash ${SIZES.bigFiles} files of ${SIZES.bigFileBytes / 2 ** 20} MiB (page cache warm)`;
  const vsSha = await compare({
    ...common,
    name: "run-large",
    description: `${description}: cairn run --products vs sha256sum of the same files`,
    cairn: cairnRun,
    reference: { label: "sha256sum", argv: [SHA256SUM, ...names.map((n) => join("large", n))], cwd: dir },
    target: { minSpeedRatio: 0.8 },
    bytes,
  });
  const vsInToto = await compare({
    ...common,
    name: "run-large/in-toto",
    description: `${description}: cairn run --products vs in-toto-run --products`,
    cairn: cairnRun,
    reference: reference(
      "in-toto-run",
      [
        IN_TOTO_RUN,
        "-n",
        "big",
        "-k",
        functionary.priv,
        "-t",
        "ed25519",
        "-p",
        "large",
        "-x",
        "-d",
        outR,
        "-q",
      ],
      dir,
      freshDir(outR),
    ),
    bytes,
  });
  // sha256sum (coreutils) does not use the CPU's SHA instructions where OpenSSL does; this row shows
  // how cairn compares with an accelerated single-threaded hasher. No target.
  const vsOpenssl = await compare({
    ...common,
    name: "run-large/openssl",
    description: `${description}: cairn run --products vs openssl dgst -sha256 of the same files`,
    cairn: cairnRun,
    reference: {
      label: "openssl dgst",
      argv: [OPENSSL, "dgst", "-sha256", ...names.map((n) => join("large", n))],
      cwd: dir,
    },
    bytes,
  });
  return [vsSha, vsInToto, vsOpenssl];
}

/** The digest a registry answers for REPO:TAG (a check that a push arrived whole and unchanged). */
async function registryDigest(url: string, repo: string, tag: string): Promise<string> {
  const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return r.headers.get("docker-content-digest") ?? `HTTP ${r.status}`;
}

/**
 * oci-copy: an image of SIZES.ociLayers uncompressed layers between an OCI layout and a local
 * docker-registry, both directions, cairn oci copy against skopeo copy. Every run pushes to a
 * repository of its own (nothing is skipped as already there), and skopeo gets an empty blob-info
 * cache each run (else it would mount the blobs from the previous run's repository instead of
 * sending them: `_CONTAINERS_ROOTLESS_UID` makes it look under XDG_DATA_HOME instead of
 * /var/lib/containers/cache). --preserve-digests (and, into a layout,
 * --dest-oci-accept-uncompressed-layers) keep skopeo from compressing the layers, so both move
 * the same bytes and the digests stay.
 */
async function ociCopyBench(): Promise<Comparison[]> {
  const dir = join(work, "oci");
  mkdirSync(dir, { recursive: true });
  const mib = SIZES.ociLayerBytes / 2 ** 20;
  const img = await (async () => {
    const t = process.hrtime.bigint();
    const f = await makeOciImage(join(dir, "image"), SIZES.ociLayers, SIZES.ociLayerBytes);
    log(
      `fixture: OCI layout, ${SIZES.ociLayers} x ${mib} MiB layers (${(Number(process.hrtime.bigint() - t) / 1e9).toFixed(1)} s)`,
    );
    return f;
  })();
  const registry = await startRegistry();
  try {
    let cacheN = 0;
    const skopeoEnv: NodeJS.ProcessEnv = { ...pythonEnv, _CONTAINERS_ROOTLESS_UID: "1000" };
    const freshCache = () => {
      const d = join(dir, `skopeo-cache-${++cacheN}`);
      mkdirSync(d, { recursive: true });
      skopeoEnv.XDG_DATA_HOME = d;
    };
    const skopeo = (label: string, argv: string[], before: () => void): Cmd => ({
      label,
      argv: [SKOPEO, "copy", "--preserve-digests", "--insecure-policy", ...argv],
      cwd: dir,
      env: skopeoEnv,
      before: () => {
        freshCache();
        before();
      },
    });
    const what = `${SIZES.ociLayers} x ${mib} MiB uncompressed layers + config + manifest`;
    const common2 = { ...common, bytes: img.bytes, bytesVerb: "copied", target: { minSpeedRatio: 1 } };

    // layout -> registry: a fresh repository per run; argv is rewritten before each run.
    let pushN = 0;
    const pushDst = (who: string) => `docker://${registry.host}/push-${who}-${pushN}:${OCI_BENCH_TAG}`;
    const cairnPush = cairn("cairn oci copy", [], dir);
    cairnPush.before = () => {
      pushN++;
      cairnPush.argv = [
        process.execPath,
        CAIRN,
        "oci",
        "copy",
        img.name,
        pushDst("cairn"),
        "--tls-verify=false",
      ];
    };
    const skopeoPush = skopeo("skopeo copy", [], () => {
      pushN++;
      skopeoPush.argv = [
        SKOPEO,
        "copy",
        "--preserve-digests",
        "--insecure-policy",
        "--dest-tls-verify=false",
        img.name,
        pushDst("skopeo"),
      ];
    });
    const push = await compare({
      ...common2,
      name: "oci-copy/push",
      description: `copy ${what} from an OCI layout to docker-registry on 127.0.0.1 (a new repository each run)`,
      cairn: cairnPush,
      reference: skopeoPush,
    });
    for (const a of [cairnPush, skopeoPush]) {
      const dst = a.argv.find((x) => x.startsWith("docker://"))!;
      const repo = dst.slice(`docker://${registry.host}/`.length).split(":")[0]!;
      const got = await registryDigest(registry.url, repo, OCI_BENCH_TAG);
      if (got !== img.digest) throw new Error(`${a.label} pushed ${got} to ${repo}, expected ${img.digest}`);
    }

    // registry -> layout: the source pushed once by skopeo (untimed); a fresh layout per run.
    const src = `docker://${registry.host}/pull-src:${OCI_BENCH_TAG}`;
    freshCache();
    execFileSync(
      SKOPEO,
      ["copy", "--preserve-digests", "--insecure-policy", "--dest-tls-verify=false", img.name, src],
      { cwd: dir, env: skopeoEnv, stdio: ["ignore", "ignore", "inherit"] },
    );
    const outC = join(dir, "pull-cairn");
    const outR = join(dir, "pull-skopeo");
    const pull = await compare({
      ...common2,
      name: "oci-copy/pull",
      description: `copy ${what} from docker-registry on 127.0.0.1 to a new OCI layout each run`,
      cairn: cairn(
        "cairn oci copy",
        ["oci", "copy", src, `oci:${outC}:${OCI_BENCH_TAG}`, "--tls-verify=false"],
        dir,
        () => rmSync(outC, { recursive: true, force: true }),
      ),
      reference: skopeo(
        "skopeo copy",
        [
          "--dest-oci-accept-uncompressed-layers",
          "--src-tls-verify=false",
          src,
          `oci:${outR}:${OCI_BENCH_TAG}`,
        ],
        () => rmSync(outR, { recursive: true, force: true }),
      ),
    });
    for (const out of [outC, outR]) {
      const got = await taggedDigest(out, OCI_BENCH_TAG);
      if (got !== img.digest) throw new Error(`${out} holds ${got}, expected ${img.digest}`);
    }
    return [push, pull];
  } finally {
    await registry.stop();
  }
}

function version(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { env: pythonEnv, encoding: "utf8" }).trim().split("\n")[0]!;
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  log(`bench: ${quick ? "quick sizes" : "full sizes"}, ${repeat} runs each, work dir ${work}`);
  const loadBefore = loadavg();
  // Other work on the machine skews both sides, and not equally (one side may use more cores).
  if (loadBefore[0]! > 0.5)
    log(`bench: warning: load average ${loadBefore[0]!.toFixed(2)}; the machine is not idle`);
  // Node 20 reads and parses every certificate of NODE_EXTRA_CA_CERTS at each start, before any
  // JavaScript: every timed node process pays for it, whatever it does (a 144-certificate bundle
  // took `node -e 0` from 92 M to 501 M instructions, about 52 -> 90 ms).
  if (process.env.NODE_EXTRA_CA_CERTS)
    log(
      `bench: warning: NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): every node process parses it at start; run with \`env -u NODE_EXTRA_CA_CERTS\` to time without it`,
    );
  const results: Comparison[] = [];
  let tuf: TufFigures | undefined;
  const k = (n: number) => (quick ? `${n}` : `${n / 1000}k`);
  for (const b of selected as BenchName[]) {
    log(`== ${b}`);
    switch (b) {
      case "verify-10k":
        results.push(await verifyBench(`verify-${k(SIZES.small)}`, SIZES.small, 6));
        break;
      case "verify-50k":
        results.push(await verifyBench(`verify-${k(SIZES.large)}`, SIZES.large, 20, 3));
        break;
      case "run-10k":
        results.push(await runBench(`run-${k(SIZES.small)}`));
        break;
      case "run-large":
        results.push(...(await runLargeBench()));
        break;
      case "oci-copy":
        results.push(...(await ociCopyBench()));
        break;
      case "tuf-pep458": {
        const r = await tufPep458Bench({
          work,
          sizes: { bins: SIZES.tufBins, targets: SIZES.tufTargets },
          repeat,
          tufjsRuns: Number(args["tufjs-runs"]),
          scratch,
          log,
          cairnArgv: [process.execPath, CAIRN],
          env: cairnEnv,
          metaHashes: !args["tuf-versions-only"],
        });
        results.push(...r.comparisons);
        tuf = r.figures;
        break;
      }
    }
  }
  const table = renderTable(results);
  process.stdout.write(`\n${table}\n`);
  if (tuf !== undefined) {
    const build = Object.entries(tuf.build)
      .map(([p, sec]) => `${p} ${sec.toFixed(1)} s`)
      .join(", ");
    process.stdout.write(
      `tuf-pep458: ${tuf.bins} bins, ${tuf.targets} targets, snapshot ${tuf.snapshotBytes} bytes; built in-process: ${build}\n` +
        `tuf-pep458: add one target + refresh + publish (CLI): ${tuf.addOne.totalS.toFixed(3)} s ` +
        `(add ${tuf.addOne.addS.toFixed(3)}, refresh ${tuf.addOne.refreshS.toFixed(3)}, publish ${tuf.addOne.publishS.toFixed(3)}; CPU ${tuf.addOne.totalCpuS.toFixed(2)} s)\n` +
        `tuf-pep458: a returning client fetching the changed target downloads ${tuf.returning.bytes} bytes in ${tuf.returning.requests} requests\n`,
    );
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  } catch {}
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    totalMemGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: { before: loadBefore, after: loadavg() },
    // Set, it adds its parsing to every node process timed (see the warning above).
    nodeExtraCaCerts: process.env.NODE_EXTRA_CA_CERTS ?? null,
    // With --cairn the build is someone else's: its commit is not this checkout's HEAD.
    cairn: args.cairn === undefined ? { version: pkg.version, commit, main: CAIRN } : { main: CAIRN },
    reference: {
      inToto: version([IN_TOTO_RUN, "--version"]),
      sha256sum: version([SHA256SUM, "--version"]),
      openssl: version([OPENSSL, "version"]),
      skopeo: version([SKOPEO, "--version"]),
    },
    quick,
    repeat,
    warmup,
    sizes: SIZES,
    results,
    ...(tuf !== undefined ? { tuf } : {}),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${join(RESULTS, "latest.json")}`);
}

try {
  await main();
} finally {
  if (args.keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
