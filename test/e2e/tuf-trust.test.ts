// SPDX-License-Identifier: Apache-2.0
// Trust distribution end to end (docs/tuf.md, "Trust distribution"): the project owner's layout
// key is published with `cairn tuf trust` in a cairn TUF repository served on 127.0.0.1, and
// `cairn verify --trust-metadata-dir` takes the layout keys from it; after a key rotation the
// verifier accepts the layout signed by the new key and refuses the one signed by the old key.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type CliResult, cairn, isOneErrorLine, tempDir } from "./cli.js";
import { type StaticServer, serveDirectory } from "./static-server.js";

describe("cairn verify with layout keys distributed by cairn tuf trust", () => {
  const t = tempDir("tuf-trust");
  const out = join(t.dir, "out");
  let server: StaticServer;
  let base: string;
  const run = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir);
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const verify = (layout: string) =>
    cairn(
      [
        "verify",
        "-l",
        layout,
        "--trust-metadata-dir",
        "m",
        "--trust-metadata-url",
        `${base}/metadata`,
      ].concat(["--trust-targets-url", `${base}/targets`]),
      t.dir,
    );

  before(async () => {
    server = await serveDirectory(out);
    base = server.url;
    for (const k of ["root", "targets", "online", "owner", "owner2"]) await run(["key", "generate", k]);
    writeFileSync(join(t.dir, "layout.yaml"), "expires: 30d\nsteps: []\n");
    await run(["layout", "create", "layout.yaml", "--key", "owner", "--output", "v1.layout"]);
    await run(["layout", "create", "layout.yaml", "--key", "owner2", "--output", "v2.layout"]);
  });

  after(async () => {
    await server.close();
    t.cleanup();
  });

  it("verifies with the published key, and follows a rotation", async () => {
    await run(
      ["tuf", "init", "trust-repo", "--root-key", "root", "--targets-key", "targets"].concat([
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
      ]),
    );
    await run(
      ["tuf", "trust", "trust-repo", "--kind", "layout-key", "--item", "owner=owner.pub"].concat([
        "--valid-until",
        "2099-01-01",
      ]),
    );
    await run(["tuf", "refresh", "trust-repo"]);
    await run(["tuf", "publish", "trust-repo", "out"]);
    await run(["tuf", "client", "--metadata-dir", "m", "init", join("out", "metadata", "1.root.json")]);

    const v1 = await verify("v1.layout");
    assert.equal(v1.code, 0, v1.stderr);
    assert.match(v1.stdout, /PASS/);
    const early = await verify("v2.layout");
    assert.equal(early.code, 10, early.stderr);

    // Rotation: the owner's new key replaces the old one in the bundle.
    await run(
      ["tuf", "trust", "trust-repo", "--kind", "layout-key", "--item", "owner=owner2.pub"].concat([
        "--valid-until",
        "2099-01-01",
      ]),
    );
    await run(["tuf", "refresh", "trust-repo"]);
    await run(["tuf", "publish", "trust-repo", "out"]);
    const v2 = await verify("v2.layout");
    assert.equal(v2.code, 0, v2.stderr);
    const old = await verify("v1.layout");
    assert.equal(old.code, 10, old.stderr);
    assert.match(old.stdout + old.stderr, /ERR_LAYOUT_SIGNATURE_INVALID/);

    // Every item expired: a verification failure with one error line, never a pass.
    await run(
      ["tuf", "trust", "trust-repo", "--kind", "layout-key", "--item", "owner=owner2.pub"].concat([
        "--valid-until",
        "2001-01-01",
      ]),
    );
    await run(["tuf", "refresh", "trust-repo"]);
    await run(["tuf", "publish", "trust-repo", "out"]);
    const expired = await verify("v2.layout");
    assert.equal(expired.code, 10, expired.stderr);
    assert.ok(isOneErrorLine(expired.stderr), expired.stderr);
    assert.match(expired.stderr, /ERR_TUF_EXPIRED/);

    // -k and --trust-metadata-dir together are a usage error.
    const both = await cairn(
      ["verify", "-l", "v2.layout", "-k", "owner2.pub", "--trust-metadata-dir", "m"],
      t.dir,
    );
    assert.equal(both.code, 2, both.stderr);
  });
});
