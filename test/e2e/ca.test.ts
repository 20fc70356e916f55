// SPDX-License-Identifier: Apache-2.0
// `cairn ca` as a user runs it (the built CLI spawned): init, rotate, show, and its refusals as
// one clear error line with the documented exit code.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";

const { dir, cleanup } = tempDir("ca");
after(cleanup);

test("cairn ca init, rotate and show", async () => {
  const env = { CAIRN_KEY_PASSPHRASE: "correct horse" };
  const init = await cairn(["ca", "init", "ca", "--org", "example", "--json"], dir, env);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(JSON.parse(init.stdout).chains.length, 1);
  assert.equal((await cairn(["ca", "rotate", "ca"], dir, env)).code, 0);
  const shown = await cairn(["ca", "show", "ca", "--json"], dir);
  assert.equal(shown.code, 0);
  assert.equal(JSON.parse(shown.stdout).chains.length, 2);
});

test("cairn ca refuses unencrypted keys (exit 2), a wrong passphrase (2) and a missing CA (13)", async () => {
  const plain = await cairn(["ca", "init", "plain"], dir, { CAIRN_KEY_PASSPHRASE: "" });
  assert.equal(plain.code, 2);
  assert.ok(isOneErrorLine(plain.stderr), plain.stderr);
  assert.equal((await cairn(["ca", "init", "enc"], dir, { CAIRN_KEY_PASSPHRASE: "right" })).code, 0);
  const wrong = await cairn(["ca", "rotate", "enc"], dir, { CAIRN_KEY_PASSPHRASE: "wrong" });
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^cairn: ERR_KEY_PASSPHRASE/);
  const missing = await cairn(["ca", "show", "nowhere"], dir);
  assert.equal(missing.code, 13);
  assert.ok(isOneErrorLine(missing.stderr), missing.stderr);
});
