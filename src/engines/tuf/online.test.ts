// SPDX-License-Identifier: Apache-2.0
// The online-role re-signer (TUF 6.1): reads the published timestamp's expiry as clients read it,
// re-signs and publishes when it is due, and reports a failure by its code without publishing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedClock } from "../../core/clock.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import { MemoryArea } from "../../testing/tuf-area.js";
import { onlineRefresher, publishedTimestampExpiry } from "./online.js";
import { TufRepository } from "./repository.js";

const text = (s: string) => new TextEncoder().encode(s);

async function published() {
  const k = { root: generateKey("ed25519"), targets: generateKey("ed25519"), online: generateKey("ed25519") };
  const repo = await TufRepository.init(new MemoryArea(), {
    keys: {
      root: [k.root.public],
      targets: [k.targets.public],
      snapshot: [k.online.public],
      timestamp: [k.online.public],
    },
    signers: [keySigner(k.root), keySigner(k.targets), keySigner(k.online)],
  });
  const out = new MemoryArea();
  await repo.publish(out);
  return { repo, out, online: keySigner(k.online) };
}

async function timestampVersion(out: MemoryArea): Promise<number> {
  const md = JSON.parse(new TextDecoder().decode(await out.read("metadata/timestamp.json")));
  return md.signed.version;
}

describe("online roles: the re-signer", () => {
  it("reads the published expiry as a client would: missing, malformed or not TUF's form is unknown", async () => {
    const area = new MemoryArea();
    assert.equal(await publishedTimestampExpiry(area), undefined);
    await area.write("metadata/timestamp.json", text("{not json"));
    assert.equal(await publishedTimestampExpiry(area), undefined);
    await area.write("metadata/timestamp.json", text('{"signed":{"expires":"2030-01-01"}}'));
    assert.equal(await publishedTimestampExpiry(area), undefined);
    await area.write("metadata/timestamp.json", text('{"signed":{"expires":"2030-01-01T00:00:00Z"}}'));
    assert.equal((await publishedTimestampExpiry(area))?.toISOString(), "2030-01-01T00:00:00.000Z");
  });

  it("re-signs and publishes a timestamp that is due, and a newer one is served", async () => {
    const { repo, out, online } = await published();
    const before = await timestampVersion(out);
    let resigned!: () => void;
    const done = new Promise<void>((ok) => {
      resigned = ok;
    });
    const r = onlineRefresher({
      repo,
      published: out,
      signers: [online],
      marginMs: 1000,
      retryMs: 60_000,
      // Far past every expiry: always due.
      clock: fixedClock("2999-01-01T00:00:00Z"),
      log: { info: () => resigned(), error: (f) => assert.fail(`unexpected failure ${JSON.stringify(f)}`) },
    });
    r.start();
    await done;
    await r.stop();
    assert.ok((await timestampVersion(out)) > before);
  });

  it("reports a failure by its code and publishes nothing", async () => {
    const { repo, out } = await published();
    const before = await out.read("metadata/timestamp.json");
    let failed!: (f: object) => void;
    const got = new Promise<object>((ok) => {
      failed = ok;
    });
    const r = onlineRefresher({
      repo,
      published: out,
      signers: [], // no online key: the refresh cannot sign
      marginMs: 1000,
      retryMs: 60_000,
      clock: fixedClock("2999-01-01T00:00:00Z"),
      log: { info: () => assert.fail("re-signed without a key"), error: (f) => failed(f) },
    });
    r.start();
    const fields = (await got) as { code?: unknown };
    await r.stop();
    assert.equal(typeof fields.code, "string");
    assert.match(String(fields.code), /^ERR_/);
    assert.deepEqual(await out.read("metadata/timestamp.json"), before);
  });
});
