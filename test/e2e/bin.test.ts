// SPDX-License-Identifier: Apache-2.0
// The built CLI's launcher (src/cli/bin.ts, dist/cairn.mjs): `cairn tuf client ...` runs from its
// own self-contained CommonJS bundle, every other command line from the main bundle, and both give
// the same program for the same command line as src/cli/main.ts does.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../../src/testing/cli-io.js";
import { CAIRN, cairn, sh, tempDir } from "./cli.js";

const DIST = dirname(CAIRN);
const CLIENT = join(DIST, "cli", "tuf-client.cjs");

describe("the launcher, dist/cairn.mjs", () => {
  const t = tempDir("bin");
  after(t.cleanup);

  it("runs `tuf client` from tuf-client.cjs alone: no main bundle, no node_modules", async () => {
    // The launcher and the client's bundle, copied where neither dist/cli/main.mjs nor any
    // node_modules can be found: the client needs nothing else, and is routed there.
    const lone = join(t.dir, "lone");
    mkdirSync(join(lone, "cli"), { recursive: true });
    copyFileSync(CAIRN, join(lone, "cairn.mjs"));
    copyFileSync(CLIENT, join(lone, "cli", "tuf-client.cjs"));
    const help = await sh(process.execPath, [join(lone, "cairn.mjs"), "tuf", "client", "--help"], t.dir);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: cairn tuf client/);
    for (const c of ["init", "refresh", "download"]) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
    // Options before the command's words still route there (the words are what count).
    const missing = await sh(
      process.execPath,
      [join(lone, "cairn.mjs"), "tuf", "client", "--metadata-dir", join(t.dir, "m"), "refresh"],
      t.dir,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^cairn: ERR_USAGE: --metadata-url is required\n$/);
    // Anything else needs the main bundle, which is not there.
    const version = await sh(process.execPath, [join(lone, "cairn.mjs"), "--version"], t.dir);
    assert.notEqual(version.code, 0);
    assert.match(version.stderr, /main\.mjs/);
  });

  it("requires only node: built-ins from the client's bundle", () => {
    const text = readFileSync(CLIENT, "utf8");
    const required = [...text.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    assert.ok(required.length > 0);
    for (const r of required) assert.match(r, /^node:/, r);
  });

  it("loads no node:child_process for `tuf client` (commander's is required only when used)", async () => {
    // The client's bundle, loaded as the launcher loads it, then a refresh's own modules.
    const probe =
      `require(${JSON.stringify(CLIENT)}); require("node:http"); ` +
      `const loaded = process.moduleLoadList.filter((m) => /^NativeModule (child_process|dgram)$/.test(m)); ` +
      "process.stdout.write(JSON.stringify(loaded));";
    const r = await sh(process.execPath, ["-e", probe], t.dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  it("runs every other command line from the main bundle", async () => {
    const version = await cairn(["--version"], t.dir);
    assert.equal(version.code, 0);
    assert.equal(version.stdout, "0.1.0\n");
    const tuf = await cairn(["tuf", "--help"], t.dir);
    assert.equal(tuf.code, 0, tuf.stderr);
    for (const c of ["client", "publish", "status"]) assert.match(tuf.stdout, new RegExp(`\\n  ${c}\\b`));
    const unknown = await cairn(["nosuch"], t.dir);
    assert.equal(unknown.code, 2);
  });

  it("gives `tuf client` the same help as the program of src/cli/main.ts", async () => {
    for (const argv of [
      ["tuf", "client", "--help"],
      ["tuf", "client", "refresh", "--help"],
      ["tuf", "client", "download", "--help"],
    ]) {
      const built = await cairn(argv, t.dir);
      const { io, stdout } = captureIO({ ci: true });
      assert.equal(await main(argv, io), 0);
      assert.equal(built.code, 0, built.stderr);
      assert.equal(built.stdout, stdout(), argv.join(" "));
    }
  });

  it("`cairn log` statically loads no server code: no chunk it imports imports fastify", () => {
    // The log client's module and every chunk it imports, transitively (static imports only:
    // the commands' own modules are loaded with import() when named).
    const files = readdirSync(join(DIST, "cli"));
    const log = files.find((f) => /^log-[A-Z0-9]+\.mjs$/.test(f));
    assert.ok(log, "the log command's module is in dist/cli");
    const seen = new Set<string>();
    const visit = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      const text = readFileSync(join(DIST, "cli", f), "utf8");
      assert.ok(!/from "fastify"/.test(text), `${f} (imported by the log command) imports fastify`);
      for (const m of text.matchAll(/from "\.\/([^"]+\.mjs)"/g)) visit(m[1]!);
    };
    visit(log);
    assert.ok(seen.size > 1);
  });
});
