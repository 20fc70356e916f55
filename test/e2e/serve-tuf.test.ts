// SPDX-License-Identifier: Apache-2.0
// `cairn serve --tuf-repo OUT --tuf-working DIR`: the built CLI serves a published TUF repository
// under /tuf and re-signs snapshot and timestamp before they lapse. The timestamp's validity is
// injected short (a few seconds, in the repository's config.json); cairn's client and tuf-js keep
// updating past the first timestamp's expiry while the service runs, and once only a server
// without the re-signer is left, both see the freeze (TUF 5.4.4 / 5.3.10: ERR_TUF_EXPIRED).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Updater } from "tuf-js";
import { type CliResult, cairn, tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

const TIMESTAMP_VALIDITY_S = 6;
const MARGIN_S = 3;

describe("cairn serve --tuf-repo: static TUF serving and the online-role re-signer", () => {
  const t = tempDir("serve-tuf");
  const repo = join(t.dir, "repo");
  const out = join(t.dir, "out");
  let served: Served | undefined;
  let n = 0;

  const run = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const published = () =>
    JSON.parse(readFileSync(join(out, "metadata", "timestamp.json"), "utf8")).signed as {
      version: number;
      expires: string;
    };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Polls (no timing asserted) until the published timestamp's version passes `v`. */
  const publishedAfter = async (v: number) => {
    while (published().version <= v) await sleep(200);
    return published();
  };
  const cairnClient = (name: string, cmd: "refresh" | "download") =>
    cairn(
      [
        "tuf",
        "client",
        "--metadata-dir",
        join(t.dir, name),
        "--metadata-url",
        `${served!.url}/tuf/metadata`,
        ...(cmd === "download"
          ? ["--target-name", "app.tgz", "--target-base-url", `${served!.url}/tuf/targets`]
          : []),
        ...(cmd === "download" ? ["--target-dir", join(t.dir, `${name}-targets`)] : []),
        cmd,
      ],
      t.dir,
    );
  const tufjs = (dir: string) =>
    new Updater({
      metadataDir: dir,
      metadataBaseUrl: `${served!.url}/tuf/metadata`,
      targetDir: dir,
      targetBaseUrl: `${served!.url}/tuf/targets`,
      config: { fetchRetries: 0 },
    });

  before(async () => {
    for (const k of ["root", "targets", "online"]) await run(["key", "generate", k]);
    await run(["key", "generate", "signer", "-t", "ecdsa"]);
    writeFileSync(join(t.dir, "app.tgz"), "app 1.0\n");
    await run([
      "tuf",
      "init",
      "repo",
      "--root-key",
      "root",
      "--targets-key",
      "targets",
      "--snapshot-key",
      "online",
      "--timestamp-key",
      "online",
    ]);
    await run(["tuf", "add", "repo", "app.tgz"]);
    // A signed release and the Sigstore trusted root for its log key, published through TUF.
    await run([
      "sign-blob",
      "app.tgz",
      "--key",
      "signer",
      "--bundle",
      "app.sigstore.json",
      "--log-dir",
      "log1",
      "--log-url",
      "https://log.example.com",
    ]);
    await run(["trust", "root", "-o", "trusted_root.json", "--log-dir", "log1"]);
    await run(["tuf", "trust", "repo", "--trusted-root", "trusted_root.json"]);
    // And the in-toto layout key, for cairn verify.
    await run(["key", "generate", "owner"]);
    writeFileSync(join(t.dir, "layout.yaml"), "expires: 30d\nsteps: []\n");
    await run(["layout", "create", "layout.yaml", "--key", "owner", "--output", "root.layout"]);
    await run([
      "tuf",
      "trust",
      "repo",
      "--kind",
      "layout-key",
      "--item",
      "owner=owner.pub",
      "--valid-until",
      "2099-01-01",
    ]);
    // The injected short expiry: the timestamp is valid for a few seconds from each refresh.
    const config = JSON.parse(readFileSync(join(repo, "config.json"), "utf8"));
    config.expiry.timestamp = TIMESTAMP_VALIDITY_S;
    writeFileSync(join(repo, "config.json"), JSON.stringify(config));
    await run(["tuf", "refresh", "repo"]);
    await run(["tuf", "publish", "repo", "out"]);
    mkdirSync(join(t.dir, "data"));
  });
  after(async () => {
    await served?.stop();
    t.cleanup();
  });

  it("refuses re-signing flags without --tuf-repo, and a margin not shorter than the validity", async () => {
    const a = await cairn(["serve", "--data", "data", "--dev", "--tuf-working", "repo"], t.dir);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /ERR_USAGE/);
    const b = await cairn(
      [
        "serve",
        "--data",
        "data",
        "--dev",
        "--tuf-repo",
        "out",
        "--tuf-working",
        "repo",
        "--tuf-refresh-margin",
        "99",
      ],
      t.dir,
    );
    assert.equal(b.code, 2);
    assert.match(b.stderr, /ERR_USAGE/);
  });

  it("serves the repository to cairn's client and tuf-js, re-signing the timestamp before it lapses", async () => {
    const first = published();
    served = await serve(
      [
        "--data",
        "data",
        "--dev",
        "--tuf-repo",
        "out",
        "--tuf-working",
        "repo",
        "--tuf-online-key",
        "file:online",
        "--tuf-refresh-margin",
        String(MARGIN_S),
        "--tuf-retry-seconds",
        "1",
      ],
      t.dir,
    );
    assert.equal((served.info as unknown as { tuf: { refresh: boolean } }).tuf.refresh, true);
    await run([
      "tuf",
      "client",
      "--metadata-dir",
      join(t.dir, "c"),
      "init",
      join(out, "metadata", "1.root.json"),
    ]);
    const d = await cairnClient("c", "download");
    assert.equal(d.code, 0, d.stderr);
    assert.equal(readFileSync(join(t.dir, "c-targets", "app.tgz"), "utf8"), "app 1.0\n");
    const tj = join(t.dir, "tj");
    mkdirSync(tj);
    writeFileSync(join(tj, "root.json"), readFileSync(join(out, "metadata", "1.root.json")));
    // Keep updating until the service has re-signed at least twice and past the first timestamp's
    // expiry (on a loaded machine one late re-sign can already reach past it).
    let seen = first.version;
    while (
      seen < first.version + 2 ||
      Date.parse(published().expires) <= Date.parse(first.expires) + TIMESTAMP_VALIDITY_S * 1000
    ) {
      const next = await publishedAfter(seen);
      seen = next.version;
      const r = await cairnClient("c", "refresh");
      assert.equal(r.code, 0, r.stderr);
      const u = tufjs(tj);
      await u.refresh();
      const info = await u.getTargetInfo("app.tgz");
      assert.ok(info);
      const file = join(tj, `dl${n++}`);
      await u.downloadTarget(info, file);
      assert.equal(readFileSync(file, "utf8"), "app 1.0\n");
    }
    // verify-blob and verify read the trusted root and layout keys from the served repository (docs/trust.md).
    await run([
      "tuf",
      "client",
      "--metadata-dir",
      join(t.dir, "m"),
      "init",
      join(out, "metadata", "1.root.json"),
    ]);
    const trust = [
      "--trust-metadata-dir",
      "m",
      "--trust-metadata-url",
      `${served.url}/tuf/metadata`,
      "--trust-targets-url",
      `${served.url}/tuf/targets`,
    ];
    const v = await cairn(
      ["verify-blob", "app.tgz", "--bundle", "app.sigstore.json", "--key", "signer.pub", ...trust],
      t.dir,
    );
    assert.equal(v.code, 0, v.stderr);
    const other = await cairn(
      ["verify-blob", "app.tgz", "--bundle", "app.sigstore.json", "--key", "online.pub", ...trust],
      t.dir,
    );
    assert.equal(other.code, 10, other.stderr); // the bundle names another key: verification failed
    assert.match(other.stderr, /ERR_SIGSTORE_/);
    const layout = await cairn(["verify", "-l", "root.layout", ...trust], t.dir);
    assert.equal(layout.code, 0, layout.stderr);
    // The key reference never reaches the log.
    assert.ok(!served.stderr().includes("online"), "a key reference was logged");
  });

  it("a client against a stopped re-signer sees the freeze: ERR_TUF_EXPIRED", async () => {
    await served!.stop();
    // The same repository, served without a re-signer: the last timestamp lapses.
    served = await serve(["--data", "data", "--dev", "--tuf-repo", "out"], t.dir);
    const last = published();
    while (Date.now() <= Date.parse(last.expires) + 1000) await sleep(200);
    const r = await cairnClient("c", "refresh");
    // The client speaks the tuf-conformance protocol: any failure exits 1, the code is on stderr.
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_TUF_EXPIRED/);
    const tj = join(t.dir, "tj");
    // tuf-js refuses too (it wraps its ExpiredMetadataError in a plain Error, so no class to check).
    await assert.rejects(tufjs(tj).refresh());
  });
});
