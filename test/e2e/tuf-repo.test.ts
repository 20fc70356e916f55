// SPDX-License-Identifier: Apache-2.0
// cairn tuf init | add | delegate | sign | refresh | rotate | revoke | publish end to end: the
// worked example of docs/tuf.md ("Repository"), run with the built CLI; the published directory is
// served over node:http on 127.0.0.1 as a static web server would, and `cairn tuf client`
// downloads from it after each step.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliResult, cairn, isOneErrorLine, tempDir } from "./cli.js";
import { type StaticServer, serveDirectory } from "./static-server.js";

describe("cairn tuf repository (init, add, delegate, refresh, publish) served to cairn tuf client", () => {
  const t = tempDir("tuf-repo");
  const out = join(t.dir, "out");
  let server: StaticServer;
  let base: string;

  const run = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const client = (name: string, args: string[]) =>
    cairn(["tuf", "client", "--metadata-dir", join(t.dir, name, "metadata"), ...args], t.dir);
  const download = async (name: string, target: string): Promise<Buffer> => {
    const r = await client(name, [
      "--metadata-url",
      `${base}/metadata`,
      "--target-name",
      target,
      "--target-base-url",
      `${base}/targets`,
      "--target-dir",
      join(t.dir, name, "targets"),
      "download",
    ]);
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(join(t.dir, name, "targets", encodeURIComponent(target)));
  };
  const newClient = async (name: string) => {
    const r = await client(name, ["init", join(out, "metadata", "1.root.json")]);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    // A static file server over OUT (what nginx or an object store would do).
    server = await serveDirectory(out);
    base = server.url;
    for (const k of ["root", "root2", "targets", "online", "alice", "alice2"]) {
      await run(["key", "generate", k]);
    }
    mkdirSync(join(t.dir, "dist"));
    writeFileSync(join(t.dir, "dist", "app-1.0.tgz"), "app 1.0\n");
    writeFileSync(join(t.dir, "dist", "README"), "read me\n");
    writeFileSync(join(t.dir, "tool-2.0.tgz"), "alice's tool 2.0\n");
  });

  after(async () => {
    await server.close();
    t.cleanup();
  });

  it("runs the worked example: init, add, delegate, developer signs, refresh, publish, client downloads", async () => {
    await run(
      ["tuf", "init", "repo", "--root-key", "root", "--targets-key", "targets"].concat([
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
        "--expires",
        "timestamp=2",
      ]),
    );
    await run(["tuf", "add", "repo", "dist", "--prefix", "releases/", "--custom", '{"channel":"stable"}']);
    await run([
      "tuf",
      "delegate",
      "repo",
      "--name",
      "alice",
      "--key",
      "alice.pub",
      "alice2.pub",
      "--paths",
      "alice/*",
    ]);
    await run([
      "tuf",
      "add",
      "repo",
      "tool-2.0.tgz",
      "--role",
      "alice",
      "--prefix",
      "alice/",
      "--key",
      "alice",
    ]);
    // Not refreshed yet: publish refuses (verification failed, exit 10) and writes nothing.
    const stale = await cairn(["tuf", "publish", "repo", "out"], t.dir);
    assert.equal(stale.code, 10, stale.stderr);
    assert.ok(isOneErrorLine(stale.stderr), stale.stderr);
    assert.match(stale.stderr, /ERR_TUF_REPOSITORY_INCONSISTENT/);
    assert.equal(existsSync(join(out, "metadata", "timestamp.json")), false);
    await run(["tuf", "refresh", "repo"]);
    const pub = await run(["tuf", "publish", "repo", "out", "--json"]);
    const report = JSON.parse(pub.stdout);
    assert.equal(report.written.at(-1), "metadata/timestamp.json");

    await newClient("c1");
    assert.equal((await download("c1", "releases/app-1.0.tgz")).toString(), "app 1.0\n");
    assert.equal((await download("c1", "alice/tool-2.0.tgz")).toString(), "alice's tool 2.0\n");

    // A developer cannot sign outside their paths: policy refusal, exit 11.
    const outside = await cairn(
      ["tuf", "add", "repo", "tool-2.0.tgz", "--role", "alice", "--prefix", "bob/", "--key", "alice"],
      t.dir,
    );
    assert.equal(outside.code, 11, outside.stderr);
    assert.match(outside.stderr, /ERR_TUF_PATH_NOT_DELEGATED.*bob\/tool-2\.0\.tgz/);
  });

  it("publishes without consistent snapshots (init --no-consistent-snapshot): plain names, clients follow an update and refuse a tampered target", async () => {
    const plain = join(out, "plain");
    await run(
      ["tuf", "init", "plain-repo", "--root-key", "root", "--targets-key", "targets"].concat([
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
        "--no-consistent-snapshot",
      ]),
    );
    writeFileSync(join(t.dir, "plain.txt"), "plain 1\n");
    await run(["tuf", "add", "plain-repo", "plain.txt", "--prefix", "files/"]);
    await run(["tuf", "refresh", "plain-repo"]);
    await run(["tuf", "publish", "plain-repo", plain]);
    // Fixed names for targets, snapshot and targets metadata; root versions stay numbered.
    for (const f of [
      "metadata/1.root.json",
      "metadata/snapshot.json",
      "metadata/targets.json",
      "files/plain.txt",
    ])
      assert.ok(existsSync(join(plain, f.startsWith("files/") ? join("targets", f) : f)), f);
    assert.equal(existsSync(join(plain, "metadata", "1.snapshot.json")), false);
    const fetch = async (name: string): Promise<CliResult> =>
      cairn(
        ["tuf", "client", "--metadata-dir", join(t.dir, name, "metadata")].concat([
          "--metadata-url",
          `${base}/plain/metadata`,
          "--target-name",
          "files/plain.txt",
          "--target-base-url",
          `${base}/plain/targets`,
          "--target-dir",
          join(t.dir, name, "targets"),
          "download",
        ]),
        t.dir,
      );
    assert.equal((await client("p1", ["init", join(plain, "metadata", "1.root.json")])).code, 0);
    assert.equal((await fetch("p1")).code, 0);
    const got = () =>
      readFileSync(join(t.dir, "p1", "targets", encodeURIComponent("files/plain.txt")), "utf8");
    assert.equal(got(), "plain 1\n");
    // An update replaces the files in place; the returning client gets the new content.
    writeFileSync(join(t.dir, "plain.txt"), "plain 2\n");
    await run(["tuf", "add", "plain-repo", "plain.txt", "--prefix", "files/"]);
    await run(["tuf", "refresh", "plain-repo"]);
    await run(["tuf", "publish", "plain-repo", plain]);
    assert.equal((await fetch("p1")).code, 0);
    assert.equal(got(), "plain 2\n");
    // A target altered on the server: refused (exit 1, the conformance protocol's), nothing kept.
    writeFileSync(join(plain, "targets", "files", "plain.txt"), "plain 3\n");
    assert.equal((await client("p2", ["init", join(plain, "metadata", "1.root.json")])).code, 0);
    const bad = await fetch("p2");
    assert.equal(bad.code, 1, bad.stderr);
    assert.equal(existsSync(join(t.dir, "p2", "targets", encodeURIComponent("files/plain.txt"))), false);
  });

  it("rotates the root key; a returning client follows the new root", async () => {
    await run(
      ["tuf", "rotate", "repo", "--role", "root", "--add", "root2.pub", "--remove", "root.pub"].concat([
        "--root-key",
        "root",
        "root2",
      ]),
    );
    await run(["tuf", "refresh", "repo"]);
    await run(["tuf", "publish", "repo", "out"]);
    const r = await client("c1", ["--metadata-url", `${base}/metadata`, "refresh"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /root v2/);
    await newClient("c2");
    assert.equal((await download("c2", "releases/README")).toString(), "read me\n");
  });

  it("revokes a developer key: nothing publishes until the role is re-signed by a key it still trusts", async () => {
    await run(["tuf", "revoke", "repo", "--name", "alice", "--key", "alice.pub"]);
    await run(["tuf", "refresh", "repo"]);
    const status = await run(["tuf", "status", "repo", "--json"]);
    assert.ok(JSON.parse(status.stdout).problems.some((p: string) => p.includes("alice")));
    const refused = await cairn(["tuf", "publish", "repo", "out"], t.dir);
    assert.equal(refused.code, 10, refused.stderr);
    await run(["tuf", "sign", "repo", "alice", "--key", "alice2", "--new-version"]);
    await run(["tuf", "refresh", "repo"]);
    await run(["tuf", "publish", "repo", "out"]);
    assert.equal((await download("c1", "alice/tool-2.0.tgz")).toString(), "alice's tool 2.0\n");
    // The revoked key no longer counts for alice.
    const revoked = await cairn(
      ["tuf", "add", "repo", "tool-2.0.tgz", "--role", "alice", "--prefix", "alice/", "--key", "alice"],
      t.dir,
    );
    assert.equal(revoked.code, 11, revoked.stderr);
    assert.match(revoked.stderr, /ERR_TUF_KEY_NOT_IN_ROLE/);
  });
});
