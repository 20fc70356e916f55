// SPDX-License-Identifier: Apache-2.0
// cairn tuf client end to end: the tuf-conformance client protocol (CLIENT-CLI.md: init, refresh,
// download; exit 0 or 1; non-versioned metadata names in the metadata dir) against a repository
// built with src/formats/tuf and served over HTTP on 127.0.0.1; the HTTP fetcher's bounds; and
// tuf-js (devDependency) and cairn refreshing the same repository and agreeing on a target.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Updater } from "tuf-js";
import { fetchBounded, openBounded } from "../../src/runtime/http.js";
import { fileNameFor } from "../../src/runtime/tuf-store.js";
import { ecKey, makeCertificate } from "../../src/testing/sigstore-kit.js";
import { RepoSim, sha256 } from "../../src/testing/tuf-repo.js";
import { CAIRN, type CliResult, cairn, sh, tempDir } from "./cli.js";

const MIB = 1024 * 1024;
/** A target larger than the memory a streamed download uses. */
const BIG = 128 * MIB;

/** Runs `cairn tuf client ARGS` with the built CLI, as the conformance suite would. */
function tufClient(args: string[], cwd: string): Promise<CliResult> {
  return cairn(["tuf", "client", ...args], cwd);
}

describe("cairn tuf client (tuf-conformance protocol)", () => {
  const t = tempDir("tuf-client");
  let repo: RepoSim;
  let server: Server;
  let base: string;
  const requests: string[] = [];

  before(async () => {
    repo = await RepoSim.create();
    repo.addArtifact("targets", "README.txt", "top-level target\n");
    // Larger than the memory a streamed download may use (see "streams a large target").
    repo.addArtifact("targets", "big.bin", randomBytes(BIG));
    for (const n of ["big-short.bin", "big-long.bin", "big-evil.bin"])
      repo.addArtifact("targets", n, randomBytes(MIB));
    repo.addDelegation("targets", { name: "alice", threshold: 1, terminating: true, paths: ["alice/*"] });
    repo.addArtifact("alice", "alice/tool-1.0.tgz", "alice's tool\n");
    repo.addDelegation("targets", { name: "pkgs", threshold: 1, paths: ["packages/*"] });
    const bins = repo.addSuccinctRoles("pkgs", 2, "bin");
    const { SuccinctRoles } = await import("../../src/formats/tuf/index.js");
    const sr = new SuccinctRoles(repo.targets("pkgs").delegations!.succinct_roles!);
    for (const p of ["packages/foo-1.0.tar.gz", "packages/bar-2.1.whl"]) {
      repo.addArtifact(sr.roleForTarget(p), p, `contents of ${p}\n`);
    }
    await repo.publish([...bins, "pkgs", "alice", "targets", "snapshot", "timestamp"]);
    await repo.publish(["root"]);
    server = createServer((req, res) => {
      const path = (req.url ?? "/").slice(1);
      requests.push(path);
      if (path === "endless") {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (res.write(chunk)) {}
        };
        res.on("drain", pump);
        pump();
        return;
      }
      if (path === "silent") return; // never answers
      if (path.startsWith("moved/")) {
        res.writeHead(302, { location: `/${path.slice("moved/".length)}` }).end();
        return;
      }
      if (path === "loop") {
        res.writeHead(301, { location: "/loop" }).end();
        return;
      }
      if (path === "broken") {
        res.writeHead(500).end("no");
        return;
      }
      if (path === "short") {
        // Announces more than it sends, then hangs up: a body cut short.
        res.writeHead(200, { "content-length": 1000 });
        res.write("partial");
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      const body = repo.serve(path);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    writeFileSync(join(t.dir, "initial_root.json"), repo.initialRoot());
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    t.cleanup();
  });

  const md = (name: string) => join(t.dir, name, "metadata");
  const common = (name: string) => ["--metadata-dir", md(name), "--metadata-url", `${base}/metadata`];
  const download = (name: string, targets: string[]) => [
    ...common(name),
    ...targets.flatMap((x) => ["--target-name", x]),
    "--target-base-url",
    `${base}/targets`,
    "--target-dir",
    join(t.dir, name, "targets"),
    "download",
  ];
  async function init(name: string): Promise<void> {
    mkdirSync(md(name), { recursive: true });
    const r = await tufClient(["--metadata-dir", md(name), "init", join(t.dir, "initial_root.json")], t.dir);
    assert.equal(r.code, 0, r.stderr);
  }

  it("init, refresh: trusted metadata under non-versioned names, exactly as served", async () => {
    await init("a");
    assert.deepEqual(readdirSync(md("a")), ["root.json"]);
    const r = await tufClient([...common("a"), "refresh"], t.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(md("a")).sort(), [
      "root.json",
      "snapshot.json",
      "targets.json",
      "timestamp.json",
    ]);
    for (const role of ["root", "timestamp", "snapshot", "targets"]) {
      assert.equal(sha256(readFileSync(join(md("a"), `${role}.json`))), sha256(repo.latest(role)), role);
    }
  });

  it("--json: the trusted versions, the refresh's own seconds, and each target's file and role", async () => {
    mkdirSync(md("j"), { recursive: true });
    const i = await tufClient(
      ["--metadata-dir", md("j"), "--json", "init", join(t.dir, "initial_root.json")],
      t.dir,
    );
    assert.equal(i.code, 0, i.stderr);
    assert.deepEqual(JSON.parse(i.stdout), { versions: { root: 1 } });
    const r = await tufClient([...common("j"), "--json", "refresh"], t.dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { versions: Record<string, number>; refreshSeconds: number };
    assert.deepEqual(out.versions, {
      root: repo.root.version,
      timestamp: repo.timestamp.version,
      snapshot: repo.snapshot.version,
      targets: repo.targets().version,
    });
    assert.ok(out.refreshSeconds > 0 && out.refreshSeconds < 60, String(out.refreshSeconds));
    const names = ["alice/tool-1.0.tgz", "README.txt"];
    const first = await tufClient([...download("j", names).slice(0, -1), "--json", "download"], t.dir);
    assert.equal(first.code, 0, first.stderr);
    const file = (n: string) => join(t.dir, "j", "targets", fileNameFor(n));
    assert.deepEqual(JSON.parse(first.stdout).targets, [
      { name: "alice/tool-1.0.tgz", file: file("alice/tool-1.0.tgz"), role: "alice", downloaded: true },
      { name: "README.txt", file: file("README.txt"), role: "targets", downloaded: true },
    ]);
    const again = await tufClient(
      [...download("j", ["README.txt"]).slice(0, -1), "--json", "download"],
      t.dir,
    );
    assert.deepEqual(JSON.parse(again.stdout).targets, [
      { name: "README.txt", file: file("README.txt"), role: "targets", downloaded: false },
    ]);
    // A failure prints no document: one error line and exit code 1.
    const bad = await tufClient(
      [...download("j", ["README.txt", "nope.txt"]).slice(0, -1), "--json", "download"],
      t.dir,
    );
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /ERR_TUF_TARGET_NOT_FOUND.*nope\.txt/);
  });

  it("download: targets of the top-level role, a delegation and a hash bin, then from cache", async () => {
    await init("b");
    const names = ["README.txt", "alice/tool-1.0.tgz", "packages/foo-1.0.tar.gz"];
    let r = await tufClient(download("b", names), t.dir);
    assert.equal(r.code, 0, r.stderr);
    for (const n of names) {
      assert.equal(
        readFileSync(join(t.dir, "b", "targets", fileNameFor(n)), "utf8"),
        Buffer.from(repo.artifacts.get(n)!).toString(),
      );
    }
    assert.ok(readdirSync(md("b")).includes("alice.json"));
    requests.length = 0;
    r = await tufClient(download("b", ["README.txt"]), t.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      requests.filter((x) => x.startsWith("targets/")).length,
      0,
      "a current cached target is not fetched again",
    );
  });

  it("exit code 1: an unknown target, a tampered target (nothing written), an unreachable repository", async () => {
    await init("c");
    assert.equal((await tufClient(download("c", ["nope.txt"]), t.dir)).code, 1);
    repo.tamperArtifact(
      "packages/bar-2.1.whl",
      "contents of packages/bar-9.9.whl\n".slice(0, repo.artifacts.get("packages/bar-2.1.whl")!.length),
    );
    const r = await tufClient(download("c", ["packages/bar-2.1.whl"]), t.dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_TUF_HASH_MISMATCH/);
    assert.equal(existsSync(join(t.dir, "c", "targets", fileNameFor("packages/bar-2.1.whl"))), false);
    const dead = await tufClient(
      ["--metadata-dir", md("c"), "--metadata-url", "http://127.0.0.1:9/metadata", "refresh"],
      t.dir,
    );
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /ERR_IO/);
  });

  it("streams a large target to disk: bounded memory, and a truncated, overlong or tampered one leaves nothing", async () => {
    await init("big");
    const dir = join(t.dir, "big", "targets");
    // GNU time's maximum resident set size (KiB) of the CLI process.
    const timed = await sh(
      "/usr/bin/time",
      ["-f", "%M", process.execPath, CAIRN, "tuf", "client", ...download("big", ["big.bin"])],
      t.dir,
    );
    assert.equal(timed.code, 0, timed.stderr);
    assert.equal(sha256(readFileSync(join(dir, "big.bin"))), sha256(repo.artifacts.get("big.bin")!));
    const rssBytes = Number(timed.stderr.trim().split("\n").at(-1)) * 1024;
    // Buffered, the process would hold the whole target (and a copy) on top of Node's own memory.
    assert.ok(rssBytes < BIG, `max RSS ${rssBytes} bytes for a ${BIG}-byte target`);
    const good = (n: string) => repo.artifacts.get(n)!;
    repo.tamperArtifact("big-short.bin", good("big-short.bin").subarray(0, MIB - 1));
    repo.tamperArtifact("big-long.bin", Buffer.concat([good("big-long.bin"), Buffer.from("x")]));
    const evil = Buffer.from(good("big-evil.bin"));
    evil[MIB - 1]! ^= 1;
    repo.tamperArtifact("big-evil.bin", evil);
    for (const [name, code] of [
      ["big-short.bin", "ERR_TUF_HASH_MISMATCH"],
      ["big-long.bin", "ERR_TUF_BOUND_EXCEEDED"],
      ["big-evil.bin", "ERR_TUF_HASH_MISMATCH"],
    ] as const) {
      const r = await tufClient(download("big", [name]), t.dir);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, new RegExp(code), name);
      // Neither the target nor a temporary file is left.
      assert.deepEqual(readdirSync(dir), ["big.bin"], name);
    }
  });

  it("exit code 1 on a rollback, and the trusted timestamp stays", async () => {
    await init("d");
    assert.equal((await tufClient([...common("d"), "refresh"], t.dir)).code, 0);
    const before = readFileSync(join(md("d"), "timestamp.json"));
    await repo.publish(["timestamp"]);
    assert.equal((await tufClient([...common("d"), "refresh"], t.dir)).code, 0);
    const newer = readFileSync(join(md("d"), "timestamp.json"));
    assert.notDeepEqual(newer, before);
    repo.overrides.set("metadata/timestamp.json", before);
    try {
      const r = await tufClient([...common("d"), "refresh"], t.dir);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ERR_TUF_ROLLBACK/);
      assert.deepEqual(readFileSync(join(md("d"), "timestamp.json")), newer);
    } finally {
      repo.overrides.clear();
    }
  });

  it("init refuses a root that is not signed by its own keys", async () => {
    mkdirSync(md("e"), { recursive: true });
    const bad = JSON.parse(Buffer.from(repo.initialRoot()).toString());
    bad.signatures = [];
    writeFileSync(join(t.dir, "bad_root.json"), JSON.stringify(bad));
    const r = await tufClient(["--metadata-dir", md("e"), "init", join(t.dir, "bad_root.json")], t.dir);
    assert.equal(r.code, 1);
    assert.equal(existsSync(join(md("e"), "root.json")), false);
  });

  it("tuf-js and cairn refresh the same repository and agree on a target", async () => {
    const dir = join(t.dir, "tufjs");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "root.json"), repo.initialRoot());
    const u = new Updater({
      metadataDir: dir,
      metadataBaseUrl: `${base}/metadata`,
      targetDir: dir,
      targetBaseUrl: `${base}/targets`,
      config: { fetchRetries: 0 },
    });
    await u.refresh();
    const path = "packages/foo-1.0.tar.gz";
    const info = await u.getTargetInfo(path);
    assert.ok(info);
    await init("f");
    const r = await tufClient(download("f", [path]), t.dir);
    assert.equal(r.code, 0, r.stderr);
    const ours = readFileSync(join(t.dir, "f", "targets", fileNameFor(path)));
    assert.equal(ours.length, info.length);
    assert.equal(sha256(ours), info.hashes.sha256);
    const theirs = readFileSync((await u.downloadTarget(info, join(dir, "foo")))!);
    assert.deepEqual(ours, theirs);
    // Both trust the same versions.
    for (const role of ["root", "timestamp", "snapshot", "targets"]) {
      assert.equal(
        JSON.parse(readFileSync(join(dir, `${role}.json`), "utf8")).signed.version,
        JSON.parse(readFileSync(join(md("f"), `${role}.json`), "utf8")).signed.version,
        role,
      );
    }
  });

  it("the HTTP fetcher: 404 is absent, endless data is cut off at the bound, silence times out", async () => {
    assert.equal(await fetchBounded(`${base}/metadata/999.root.json`, 1000), undefined);
    const t0 = Date.now();
    await assert.rejects(fetchBounded(`${base}/endless`, 1_000_000), { code: "ERR_TUF_BOUND_EXCEEDED" });
    assert.ok(Date.now() - t0 < 5000);
    await assert.rejects(fetchBounded(`${base}/silent`, 1000, { timeoutMs: 200 }), { code: "ERR_IO" });
    await assert.rejects(fetchBounded(`${base}/metadata/1.root.json`, 10), {
      code: "ERR_TUF_BOUND_EXCEEDED",
    });
    await assert.rejects(fetchBounded("file:///etc/passwd", 10), { code: "ERR_USAGE" });
  });

  it("the HTTP fetcher speaks https, and refuses a server certificate it cannot verify", async () => {
    // A self-signed certificate from the test kit: a working TLS server that nothing trusts.
    const key = ecKey();
    const der = makeCertificate({ subject: "127.0.0.1", key });
    const cert = `-----BEGIN CERTIFICATE-----\n${der.toString("base64")}\n-----END CERTIFICATE-----\n`;
    const pem = key.privateKey.export({ type: "pkcs8", format: "pem" });
    const tls = createHttpsServer({ key: pem, cert }, (_q, r) => r.end("over tls"));
    await new Promise<void>((ok) => tls.listen(0, "127.0.0.1", ok));
    try {
      const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/x`;
      // Self-signed: not trusted, so no body (fail closed), as a transport error naming the cause.
      await assert.rejects(fetchBounded(url, 1000), { code: "ERR_IO", message: /SELF_SIGNED|certificate/i });
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((ok) => tls.close(() => ok()));
    }
  });

  it("the HTTP fetcher keeps one connection for requests in a row, and retries once when the server closed it", async () => {
    // Every request is answered by `answer`, swapped as the test goes; `seen` counts requests.
    let connections = 0;
    let seen = 0;
    let answer: (q: IncomingMessage, r: ServerResponse) => void = (_q, r) => {
      r.end("ok");
    };
    const srv = createServer((q, r) => {
      seen++;
      answer(q, r);
    });
    srv.on("connection", () => connections++);
    await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
    const at = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      for (const n of [1, 2, 3])
        assert.equal(Buffer.from((await fetchBounded(`${at}/m${n}`, 10))!).toString(), "ok");
      assert.equal(connections, 1, "three requests in a row, one connection");
      // The kept connection is closed, unanswered, as the next request arrives (a server's idle
      // timeout racing the client): the request is sent once more, on a new connection.
      let dropped = 0;
      answer = (q, r) => {
        if (dropped++ === 0) q.socket.destroy();
        else r.end("again");
      };
      assert.equal(Buffer.from((await fetchBounded(`${at}/m4`, 10))!).toString(), "again");
      assert.equal(connections, 2);
      // On a new connection the same failure is the server's answer: a transport error, not a retry.
      answer = (q) => {
        q.socket.destroy();
      };
      srv.closeIdleConnections();
      await new Promise((ok) => setTimeout(ok, 50));
      const before = seen;
      await assert.rejects(fetchBounded(`${at}/drop`, 10), { code: "ERR_IO" });
      assert.equal(seen - before, 1, "a failed request on a new connection is not sent again");
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((ok) => srv.close(() => ok()));
    }
  });

  it("the HTTP fetcher follows redirects (bounded), and a failed status or a cut body is a transport error", async () => {
    const root = await fetchBounded(`${base}/metadata/1.root.json`, 1_000_000);
    assert.deepEqual(await fetchBounded(`${base}/moved/metadata/1.root.json`, 1_000_000), root);
    assert.equal(await fetchBounded(`${base}/moved/metadata/999.root.json`, 1000), undefined);
    await assert.rejects(fetchBounded(`${base}/loop`, 1000), { code: "ERR_IO", message: /redirects/ });
    await assert.rejects(fetchBounded(`${base}/broken`, 1000), { code: "ERR_IO", message: /status 500/ });
    await assert.rejects(fetchBounded(`${base}/short`, 1_000_000), { code: "ERR_IO" });
    // Streamed: the bound is enforced by the iterator, chunk by chunk.
    const body = await openBounded(`${base}/endless`, 300_000);
    assert.ok(body !== undefined);
    let got = 0;
    await assert.rejects(
      (async () => {
        for await (const c of body) got += c.byteLength;
      })(),
      { code: "ERR_TUF_BOUND_EXCEEDED" },
    );
    assert.ok(got <= 300_000);
  });
});
