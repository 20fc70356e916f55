// SPDX-License-Identifier: Apache-2.0
// Write tokens in DIR/tokens changed by several writers at once (`cairn serve token add|revoke`
// from two shells): every change survives, because each read-modify-write holds DIR/tokens.lock;
// a lock left by a crashed writer is removed once stale.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createToken, readTokenHashes, revokeToken } from "./log-node.js";

const hash = (t: string) => createHash("sha256").update(t).digest("hex");
const root = mkdtempSync(join(tmpdir(), "cairn-tokens-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

describe("write tokens: concurrent writers", () => {
  it("25 concurrent adds: all 25 tokens are in the file, and no lock is left", async () => {
    const dir = fresh();
    const tokens = await Promise.all(Array.from({ length: 25 }, () => createToken(dir, hash)));
    const stored = await readTokenHashes(dir);
    assert.equal(stored.length, 25);
    assert.deepEqual(new Set(stored), new Set(tokens.map(hash)));
    assert.equal(existsSync(join(dir, "tokens.lock")), false);
  });

  it("concurrent revokes and adds: the revoked are gone, the added are there", async () => {
    const dir = fresh();
    const first = await Promise.all(Array.from({ length: 10 }, () => createToken(dir, hash)));
    const [added] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, () => createToken(dir, hash))),
      ...first.slice(0, 6).map((t) => revokeToken(dir, hash(t))),
    ]);
    const want = [...first.slice(6), ...added].map(hash);
    assert.deepEqual(new Set(await readTokenHashes(dir)), new Set(want));
  });

  it("a stale lock (a crashed writer's) is removed; a fresh one is waited for", async () => {
    const dir = fresh();
    await createToken(dir, hash);
    const lock = join(dir, "tokens.lock");
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    await createToken(dir, hash);
    assert.equal((await readTokenHashes(dir)).length, 2);
    writeFileSync(lock, "");
    const waiting = createToken(dir, hash);
    setTimeout(() => rmSync(lock), 100);
    await waiting;
    assert.equal((await readTokenHashes(dir)).length, 3);
  });
});
