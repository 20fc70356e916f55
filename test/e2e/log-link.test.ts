// SPDX-License-Identifier: Apache-2.0
// in-toto links in the log: what `cairn run --use-dsse` writes (a DSSE envelope around a classic
// link) is logged and found by its products' digests under the link v0.3 predicate type; a link
// v0.3 Statement likewise; a metablock link is refused with ERR_TLOG_ENTRY_INVALID (exit 12).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cairn, tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

const LINK_V03 = "https://in-toto.io/attestation/link/v0.3";

describe("cairn log upload of in-toto links", () => {
  const { dir, cleanup } = tempDir("log-link");
  let server: Served;
  let token: string;
  const product = "the step's product";
  const productDigest = createHash("sha256").update(product).digest("hex");

  before(async () => {
    server = await serve(["--data", "data"], dir);
    token = readFileSync(join(dir, "data", "initial-token"), "utf8").trim();
    writeFileSync(join(dir, "out.txt"), product);
    assert.equal((await run(["key", "generate", "bob"])).code, 0);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
    cleanup();
  });

  const run = (args: string[]) => cairn(args, dir, { CAIRN_TOKEN: token });
  const linkFile = (suffix: string) =>
    readdirSync(dir).find((f) => f.startsWith(`${suffix}.`) && f.endsWith(".link"))!;
  const upload = (file: string) =>
    run(["log", "upload", "--server", server.url, "--envelope", file, "--public-key", "bob.pub", "--json"]);

  test("a DSSE link from cairn run --use-dsse is logged and found by its product", async () => {
    const r = await run(["run", "-n", "package", "-k", "bob", "--use-dsse", "-p", "out.txt", "--", "true"]);
    assert.equal(r.code, 0, r.stderr);
    const up = await upload(linkFile("package"));
    assert.equal(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).stored, true);
    const found = await run([
      "log",
      "search",
      "--server",
      server.url,
      "--subject",
      `sha256:${productDigest}`,
      "--predicate-type",
      LINK_V03,
      "--json",
    ]);
    assert.equal(found.code, 0, found.stderr);
    assert.equal(JSON.parse(found.stdout).results.length, 1);
  });

  test("a DSSE link without products is logged, about no artifact", async () => {
    const r = await run(["run", "-n", "clone", "-k", "bob", "--use-dsse", "--", "true"]);
    assert.equal(r.code, 0, r.stderr);
    const up = await upload(linkFile("clone"));
    assert.equal(up.code, 0, up.stderr);
    const found = await run([
      "log",
      "search",
      "--server",
      server.url,
      "--predicate-type",
      LINK_V03,
      "--json",
    ]);
    assert.equal(JSON.parse(found.stdout).results.length, 2);
  });

  test("a metablock link is refused by name (exit 12), nothing logged", async () => {
    const r = await run(["run", "-n", "legacy", "-k", "bob", "-p", "out.txt", "--", "true"]);
    assert.equal(r.code, 0, r.stderr);
    const up = await upload(linkFile("legacy"));
    assert.equal(up.code, 12);
    assert.match(up.stderr, /ERR_TLOG_ENTRY_INVALID/);
  });
});
