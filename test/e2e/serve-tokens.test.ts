// SPDX-License-Identifier: Apache-2.0
// Write tokens changed while `cairn serve` runs (docs/serve.md, "Authentication"): `cairn serve token
// add` makes a token the running server accepts, `token revoke` one it then refuses, without a
// restart (it watches DIR/tokens); SIGHUP re-reads the file and does not stop the server; a
// malformed file leaves no token valid (fail closed) until it is fixed. The built CLI, spawned.
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

/** Status of a write with this token: 401 refused; anything else got past the token check. */
async function writeStatus(url: string, token: string): Promise<number> {
  // An empty submission: with a valid token it is refused as bad input (400), nothing is logged.
  const r = await fetch(`${url}/cairn/v1/log/entries`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  await r.arrayBuffer();
  return r.status;
}

/**
 * Waits until the server answers a write with this token as expected: the change is applied
 * asynchronously (a file event), so this polls, bounded (no assertion on how long it took).
 */
async function until(url: string, token: string, accepted: boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (((await writeStatus(url, token)) !== 401) === accepted) return;
    await sleep(25);
  }
  assert.fail(`the server never ${accepted ? "accepted" : "refused"} the token`);
}

describe("cairn serve token add|revoke on a running server", () => {
  const { dir, cleanup } = tempDir("tokens");
  const data = join(dir, "data");
  let server: Served;
  let first: string;

  before(async () => {
    server = await serve(["--data", data], dir);
    first = readFileSync(join(data, "initial-token"), "utf8").trim();
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
    cleanup();
  });

  const run = (args: string[]) => cairn(args, dir);

  test("a token added while running is accepted; a revoked one is refused; no restart", async () => {
    assert.notEqual(await writeStatus(server.url, first), 401);
    const added = await run(["serve", "token", "add", "--data", data]);
    assert.equal(added.code, 0, added.stderr);
    const second = added.stdout.trim();
    assert.match(second, /^cairn_[A-Za-z0-9_-]{43}$/);
    await until(server.url, second, true);

    writeFileSync(join(dir, "first.token"), `${first}\n`);
    const revoked = await run(["serve", "token", "revoke", "--data", data, "--token-file", "first.token"]);
    assert.equal(revoked.code, 0, revoked.stderr);
    await until(server.url, first, false);
    assert.notEqual(await writeStatus(server.url, second), 401);
    // Only hashes are kept and listed, never a token.
    const list = await run(["serve", "token", "list", "--data", data, "--json"]);
    assert.equal(JSON.parse(list.stdout).length, 1);
    assert.ok(!list.stdout.includes(second));
    assert.ok(!readFileSync(join(data, "tokens"), "utf8").includes(second));
    // Revoking it again: not found (exit 13), one error line.
    const again = await run(["serve", "token", "revoke", "--data", data, "--token-file", "first.token"]);
    assert.equal(again.code, 13);
    assert.ok(isOneErrorLine(again.stderr), again.stderr);
    assert.equal((await run(["serve", "token", "revoke", "--data", data])).code, 2);
    assert.ok(!server.stderr().includes(second) && !server.stderr().includes(first));
  });

  test("SIGHUP re-reads the tokens and keeps serving; a malformed file fails closed until fixed", async () => {
    const added = await run(["serve", "token", "add", "--data", data]);
    const token = added.stdout.trim();
    await until(server.url, token, true);
    server.proc.kill("SIGHUP");
    // Still serving, with the same tokens.
    assert.notEqual(await writeStatus(server.url, token), 401);
    const good = readFileSync(join(data, "tokens"), "utf8");
    // Replaced whole, as an editor saving atomically would: a plain write is first an empty file,
    // which the watcher may read (no tokens, also refused) before the malformed line is there.
    const replace = (text: string) => {
      writeFileSync(join(data, "tokens.new"), text);
      renameSync(join(data, "tokens.new"), join(data, "tokens"));
    };
    replace(`${good}not a hash\n`);
    server.proc.kill("SIGHUP");
    await until(server.url, token, false);
    for (let i = 0; i < 400 && !/ERR_FIELD_INVALID/.test(server.stderr()); i++) await sleep(25);
    assert.match(server.stderr(), /ERR_FIELD_INVALID/);
    replace(good);
    server.proc.kill("SIGHUP");
    await until(server.url, token, true);
    assert.equal(server.proc.exitCode, null);
  });
});
