// SPDX-License-Identifier: Apache-2.0
// The classic in-toto three-party supply chain, end to end with the cairn CLI:
// Alice (project owner) signs a layout; Bob clones the project; Carol updates its version and
// packages it; at verification an inspection unpacks the tarball. Then Carol's package is
// tampered with and verification refuses it. Runs on embedded defaults in a temporary directory.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const CAIRN = resolve(import.meta.dirname, "..", "cairn.mjs");
const keep = process.argv.includes("--keep");
const root = mkdtempSync(join(tmpdir(), "cairn-demo-"));
const hasGit = spawnSync("git", ["--version"]).status === 0;

function sh(cwd: string, cmd: string, args: string[], quiet = true): { status: number; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" },
  });
  if (!quiet) process.stdout.write(r.stdout + r.stderr);
  return { status: r.status ?? 1, out: r.stdout + r.stderr };
}

function cairn(cwd: string, args: string[], show = true): number {
  const shown = args.map((a) => (a.includes(" ") ? JSON.stringify(a) : a)).join(" ");
  if (show) console.log(`\n$ cairn ${shown}`);
  const r = spawnSync(process.execPath, [CAIRN, ...args], { cwd, encoding: "utf8" });
  if (show) process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0 && !args.includes("verify")) {
    throw new Error(`cairn ${shown} failed with ${r.status}:\n${r.stderr}`);
  }
  return r.status ?? 1;
}

function heading(t: string): void {
  console.log(`\n=== ${t} ===`);
}

try {
  const dirs = Object.fromEntries(
    ["owner", "bob", "carol", "final", "upstream"].map((n) => [n, join(root, n)]),
  );
  for (const d of Object.values(dirs)) mkdirSync(d);

  heading("Keys: Alice owns the project, Bob and Carol are functionaries");
  cairn(dirs.owner!, ["key", "generate", "alice", "--type", "ed25519"]);
  cairn(dirs.bob!, ["key", "generate", "bob", "--type", "ed25519"]);
  cairn(dirs.carol!, ["key", "generate", "carol", "--type", "ecdsa"]);
  cpSync(join(dirs.bob!, "bob.pub"), join(dirs.owner!, "bob.pub"));
  cpSync(join(dirs.carol!, "carol.pub"), join(dirs.owner!, "carol.pub"));

  // The upstream repository Bob clones (a local one: the demo needs no network).
  const upstream = join(dirs.upstream!, "demo-project");
  mkdirSync(upstream);
  writeFileSync(join(upstream, "foo.py"), 'VERSION = "foo-v0"\nprint("Hello in-toto")\n');
  if (hasGit) {
    sh(upstream, "git", ["init", "-q"]);
    sh(upstream, "git", ["add", "foo.py"]);
    sh(upstream, "git", [
      "-c",
      "user.name=demo",
      "-c",
      "user.email=demo@example.com",
      "commit",
      "-qm",
      "initial",
    ]);
  }
  const cloneCmd = hasGit ? ["git", "clone", "-q", upstream] : ["cp", "-r", upstream, "."];

  heading("Alice writes the layout and signs it");
  const desc = `# The supply chain of demo-project
expires: 1y
readme: "Bob clones, Carol updates the version and packages; the tarball must hold exactly what Carol changed"
keys:
  bob: bob.pub
  carol: carol.pub
steps:
  - name: clone
    functionaries: [bob]
    expected_command: [${cloneCmd.map((c) => JSON.stringify(c)).join(", ")}]
    expected_products:
      - CREATE demo-project/foo.py
      - ALLOW demo-project/.git/*
      - DISALLOW *
  - name: update-version
    functionaries: [carol]
    expected_materials:
      - MATCH demo-project/* WITH PRODUCTS FROM clone
      - DISALLOW *
    expected_products:
      - MODIFY demo-project/foo.py
      - ALLOW demo-project/*
      - DISALLOW *
  - name: package
    functionaries: [carol]
    expected_command: [tar, --exclude, .git, -zcvf, demo-project.tar.gz, demo-project]
    expected_materials:
      - MATCH demo-project/* WITH PRODUCTS FROM update-version
      - DISALLOW *
    expected_products:
      - CREATE demo-project.tar.gz
      - ALLOW demo-project/*
      - DISALLOW *
inspect:
  - name: untar
    run: [tar, xzf, demo-project.tar.gz]
    expected_materials:
      - MATCH demo-project.tar.gz WITH PRODUCTS FROM package
      - ALLOW *.pub
      - ALLOW root.layout
      - ALLOW *.link
      - DISALLOW *
    expected_products:
      - MATCH demo-project/foo.py WITH PRODUCTS FROM update-version
      - ALLOW demo-project.tar.gz
      - ALLOW *.pub
      - ALLOW root.layout
      - ALLOW *.link
      - DISALLOW *
`;
  writeFileSync(join(dirs.owner!, "layout.yaml"), desc);
  console.log(desc);
  cairn(dirs.owner!, ["layout", "create", "layout.yaml", "--key", "alice", "--output", "root.layout"]);

  heading("Bob clones the project, recording what he produced");
  cairn(dirs.bob!, [
    "run",
    "--step-name",
    "clone",
    "--key",
    "bob",
    "--products",
    "demo-project",
    "--",
    ...cloneCmd,
  ]);
  cpSync(join(dirs.bob!, "demo-project"), join(dirs.carol!, "demo-project"), { recursive: true });

  heading("Carol updates the version (not one command: record start / stop)");
  cairn(dirs.carol!, [
    "record",
    "start",
    "--step-name",
    "update-version",
    "--key",
    "carol",
    "--materials",
    "demo-project",
  ]);
  writeFileSync(join(dirs.carol!, "demo-project", "foo.py"), 'VERSION = "foo-v1"\nprint("Hello in-toto")\n');
  cairn(dirs.carol!, [
    "record",
    "stop",
    "--step-name",
    "update-version",
    "--key",
    "carol",
    "--products",
    "demo-project",
  ]);

  heading("Carol packages it");
  cairn(dirs.carol!, [
    "run",
    "--step-name",
    "package",
    "--key",
    "carol",
    "--materials",
    "demo-project",
    "--products",
    "demo-project.tar.gz",
    "demo-project",
    "--",
    "tar",
    "--exclude",
    ".git",
    "-zcvf",
    "demo-project.tar.gz",
    "demo-project",
  ]);

  heading("The client verifies the delivered tarball against Alice's layout");
  const final = dirs.final!;
  for (const [from, f] of [
    [dirs.owner!, "root.layout"],
    [dirs.owner!, "alice.pub"],
    [dirs.carol!, "demo-project.tar.gz"],
  ] as const)
    cpSync(join(from, f), join(final, f));
  for (const [from, step] of [
    [dirs.bob!, "clone"],
    [dirs.carol!, "update-version"],
    [dirs.carol!, "package"],
  ] as const) {
    for (const f of sh(from, "ls", [])
      .out.split("\n")
      .filter((n) => n.startsWith(`${step}.`) && n.endsWith(".link"))) {
      cpSync(join(from, f), join(final, f));
    }
  }
  const good = cairn(final, [
    "verify",
    "--layout",
    "root.layout",
    "--layout-keys",
    "alice.pub",
    "--link-dir",
    ".",
  ]);

  heading("An attacker swaps the tarball for one with a backdoor");
  const evil = join(root, "evil");
  mkdirSync(evil);
  cpSync(join(dirs.carol!, "demo-project"), join(evil, "demo-project"), { recursive: true });
  writeFileSync(
    join(evil, "demo-project", "foo.py"),
    'VERSION = "foo-v1"\nprint("Hello in-toto")\nimport os  # backdoor\n',
  );
  sh(evil, "tar", ["--exclude", ".git", "-zcf", join(final, "demo-project.tar.gz"), "demo-project"]);
  rmSync(join(final, "demo-project"), { recursive: true, force: true });
  const bad = cairn(final, [
    "verify",
    "--layout",
    "root.layout",
    "--layout-keys",
    "alice.pub",
    "--link-dir",
    ".",
  ]);

  heading("Result");
  console.log(`genuine package: exit ${good} (${good === 0 ? "verified" : "REFUSED"})`);
  console.log(`tampered package: exit ${bad} (${bad === 0 ? "verified" : "refused"})`);
  if (good !== 0 || bad === 0) {
    console.error("demo FAILED: the genuine package must pass and the tampered one must be refused");
    process.exitCode = 1;
  } else console.log("demo passed: cairn accepted the genuine supply chain and refused the tampered package");
} finally {
  if (keep) console.log(`\nfiles kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
