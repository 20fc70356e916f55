// SPDX-License-Identifier: Apache-2.0
// cairn tuf delegate --succinct-bins end to end (docs/tuf.md, "Hash bins"): the built CLI makes a
// repository whose targets live in TAP 15 hash bins, adds a directory of files (quiet off a
// terminal), publishes, and `cairn tuf client` downloads from it over HTTP on 127.0.0.1; one
// changed file republishes one bin. In-process runs check the progress bar on a terminal.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../../src/testing/cli-io.js";
import { type CliResult, cairn, isOneErrorLine, tempDir } from "./cli.js";
import { type StaticServer, serveDirectory } from "./static-server.js";

describe("cairn tuf delegate --succinct-bins, add, publish, client download", () => {
  const t = tempDir("tuf-bins");
  const out = join(t.dir, "out");
  let server: StaticServer;
  let base: string;

  const run = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const download = async (name: string, target: string): Promise<Buffer> => {
    const md = join(t.dir, name, "metadata");
    if (!existsSync(md)) {
      const r = await cairn(
        ["tuf", "client", "--metadata-dir", md, "init", join(out, "metadata", "1.root.json")],
        t.dir,
      );
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await cairn(
      [
        "tuf",
        "client",
        "--metadata-dir",
        md,
        "--metadata-url",
        `${base}/metadata`,
        "--target-name",
        target,
      ].concat([
        "--target-base-url",
        `${base}/targets`,
        "--target-dir",
        join(t.dir, name, "targets"),
        "download",
      ]),
      t.dir,
    );
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(join(t.dir, name, "targets", encodeURIComponent(target)));
  };

  before(async () => {
    server = await serveDirectory(out);
    base = server.url;
    for (const k of ["root", "targets", "online", "bins"]) await run(["key", "generate", k]);
    for (let i = 0; i < 300; i++) {
      mkdirSync(join(t.dir, "dist", `p${i % 30}`), { recursive: true });
      writeFileSync(join(t.dir, "dist", `p${i % 30}`, `f${i}.tgz`), `file ${i}\n`);
    }
  });

  after(async () => {
    await server.close();
    t.cleanup();
  });

  it("puts a directory's files in their bins and serves them to cairn tuf client", async () => {
    await run(
      ["tuf", "init", "repo", "--root-key", "root", "--targets-key", "targets"].concat([
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
      ]),
    );
    await run(["tuf", "delegate", "repo", "--name", "bins", "--succinct-bins", "64", "--bin-key", "bins"]);
    // Off a terminal: nothing on stderr; the bins' key comes from the config.
    const added = await run(["tuf", "add", "repo", "dist", "--prefix", "pkgs/", "--json"]);
    assert.equal(added.stderr, "");
    assert.equal(Object.keys(JSON.parse(added.stdout)).length, 300);
    await run(["tuf", "refresh", "repo"]);
    await run(["tuf", "publish", "repo", "out"]);
    const status = JSON.parse((await run(["tuf", "status", "repo", "--json"])).stdout);
    assert.equal(status.roles.filter((r: { role: string }) => r.role.startsWith("bins-")).length, 64);
    assert.deepEqual(status.problems, []);
    assert.equal((await download("c1", "pkgs/p7/f37.tgz")).toString(), "file 37\n");
    assert.equal((await download("c1", "pkgs/p0/f0.tgz")).toString(), "file 0\n");

    // One changed file: one bin, the snapshot and the timestamp are republished.
    writeFileSync(join(t.dir, "f37.tgz"), "file 37, v2\n");
    await run(["tuf", "add", "repo", "f37.tgz", "--prefix", "pkgs/p7/"]);
    await run(["tuf", "refresh", "repo"]);
    const pub = JSON.parse((await run(["tuf", "publish", "repo", "out", "--json"])).stdout);
    assert.equal(pub.written.length, 4, pub.written.join(", "));
    assert.match(pub.written[1], /^metadata\/\d+\.bins-[0-9a-f]{2}\.json$/);
    assert.equal((await download("c1", "pkgs/p7/f37.tgz")).toString(), "file 37, v2\n");

    // Usage errors: bins without their key, a named role next to the bins.
    const noKey = await cairn(["tuf", "delegate", "repo", "--name", "x", "--succinct-bins", "4"], t.dir);
    assert.equal(noKey.code, 2, noKey.stderr);
    const named = await cairn(
      ["tuf", "delegate", "repo", "--name", "alice", "--key", "bins.pub", "--paths", "a/*"],
      t.dir,
    );
    assert.equal(named.code, 2, named.stderr);
    assert.match(named.stderr, /ERR_USAGE/);
  });

  it("adopts the published repository into a new working directory and extends it", async () => {
    const r = await run([
      "tuf",
      "adopt",
      "repo-adopted",
      "out",
      "--snapshot-key",
      "online",
      "--timestamp-key",
      "online",
    ]);
    assert.match(r.stdout, /68 role\(s\), 300 target\(s\)/);
    writeFileSync(join(t.dir, "new.tgz"), "new file\n");
    await run(["tuf", "add", "repo-adopted", "new.tgz", "--prefix", "pkgs/", "--key", "bins"]);
    await run(["tuf", "refresh", "repo-adopted"]);
    await run(["tuf", "publish", "repo-adopted", "out"]);
    assert.equal((await download("c1", "pkgs/new.tgz")).toString(), "new file\n");
    // Adopting into a directory that holds a repository is a usage error.
    const again = await cairn(["tuf", "adopt", "repo-adopted", "out"], t.dir);
    assert.equal(again.code, 2, again.stderr);
  });

  it("refuses bad submitted metadata with one error line and its exit code, changing nothing", async () => {
    const before = readFileSync(join(t.dir, "repo", "metadata", "bins-00.json"));
    writeFileSync(join(t.dir, "bad.json"), '{"signed": {"_type": "targets",');
    const malformed = await cairn(["tuf", "submit", "repo", "bad.json", "--role", "bins-00"], t.dir);
    assert.equal(malformed.code, 12, malformed.stderr);
    assert.ok(isOneErrorLine(malformed.stderr), malformed.stderr);
    assert.match(malformed.stderr, /ERR_JSON_MALFORMED/);
    const doc = JSON.parse(before.toString());
    doc.signed.version = 99;
    doc.signed.spec_version = "2.0.0";
    writeFileSync(join(t.dir, "bad.json"), JSON.stringify(doc));
    const spec = await cairn(["tuf", "submit", "repo", "bad.json", "--role", "bins-00"], t.dir);
    assert.equal(spec.code, 12, spec.stderr);
    assert.match(spec.stderr, /ERR_TUF_METADATA_INVALID.*spec_version/);
    doc.signed.spec_version = "1.0.31";
    writeFileSync(join(t.dir, "bad.json"), JSON.stringify(doc));
    const unsigned = await cairn(["tuf", "submit", "repo", "bad.json", "--role", "bins-00"], t.dir);
    assert.equal(unsigned.code, 10, unsigned.stderr);
    assert.match(unsigned.stderr, /ERR_TUF_SIGNATURE_INVALID.*bins-00/);
    const unknown = await cairn(["tuf", "submit", "repo", "bad.json", "--role", "nobody"], t.dir);
    assert.equal(unknown.code, 13, unknown.stderr);
    assert.match(unknown.stderr, /ERR_TUF_ROLE_UNKNOWN/);
    assert.deepEqual(readFileSync(join(t.dir, "repo", "metadata", "bins-00.json")), before);
  });

  it("draws a progress bar on a terminal, and none with --json", async () => {
    const runIn = async (args: string[], tty: boolean) => {
      const c = captureIO({ tty, cwd: t.dir });
      const code = await main(args, c.io);
      assert.equal(code, 0, c.stderr());
      return { err: c.stderr(), out: c.stdout() };
    };
    for (const k of ["r2", "t2", "o2"]) await run(["key", "generate", k]);
    await runIn(
      [
        "tuf",
        "init",
        "repo2",
        "--root-key",
        "r2",
        "--targets-key",
        "t2",
        "--snapshot-key",
        "o2",
        "--timestamp-key",
        "o2",
      ],
      false,
    );
    const tty = await runIn(["tuf", "add", "repo2", "dist"], true);
    assert.match(tty.err, /adding targets \[#{30}\] 300\/300\n$/);
    assert.match(tty.out, /300 target\(s\) in targets/);
    const json = await runIn(["tuf", "add", "repo2", "dist", "--json"], true);
    assert.equal(json.err, "");
    await runIn(["tuf", "refresh", "repo2"], true);
    const pub = await runIn(["tuf", "publish", "repo2", "out2"], true);
    assert.match(pub.err, /publishing \[#{30}\] 30\d\/30\d\n$/);
  });
});
