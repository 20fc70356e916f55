// SPDX-License-Identifier: Apache-2.0
// `cairn serve` and `cairn log upload|get|search|info|verify|prove|monitor`, spawned as a user
// would run them (the built CLI), with the server on a free port. The worked examples of
// docs/log.md and docs/serve.md.
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { keySigner, publicKeyFromKeyObject } from "../../src/core/index.js";
import { signEnvelope } from "../../src/formats/dsse/index.js";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

const STATEMENT_TYPE = "application/vnd.in-toto+json";

describe("cairn serve and cairn log", () => {
  const { dir, cleanup } = tempDir("log");
  const data = join(dir, "data");
  let server: Served;
  let token: string;
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });

  before(async () => {
    server = await serve(["--data", data], dir);
    token = readFileSync(join(data, "initial-token"), "utf8").trim();
    writeFileSync(join(dir, "key.pub"), ec.publicKey.export({ type: "spki", format: "pem" }));
    const statement = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "app.tar.gz", digest: { sha256: "ab".repeat(32) } }],
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: {},
    };
    const signer = keySigner({ public: publicKeyFromKeyObject(ec.publicKey), key: ec.privateKey } as never);
    const env = await signEnvelope(STATEMENT_TYPE, Buffer.from(JSON.stringify(statement)), [signer]);
    writeFileSync(join(dir, "statement.dsse.json"), JSON.stringify(env));
    writeFileSync(join(dir, "app.tar.gz"), "the artifact");
    writeFileSync(join(dir, "app.sig"), sign("sha256", Buffer.from("the artifact"), ec.privateKey));
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
    cleanup();
  });

  const run = (args: string[], env: Record<string, string> = {}) => cairn(args, dir, env);
  const withToken = { CAIRN_TOKEN: "" };

  test("the first start made a token file, a vkey and structured logs without secrets", () => {
    assert.equal(server.info.auth, "bearer");
    assert.equal(server.info.sequencer, true);
    assert.equal(readFileSync(join(data, "log.vkey"), "utf8").trim(), server.info.vkey);
    assert.ok(!server.stderr().includes(token));
  });

  test("upload needs the token; with it, a DSSE statement and a signed artifact are logged", async () => {
    const args = [
      "log",
      "upload",
      "--server",
      server.url,
      "--envelope",
      "statement.dsse.json",
      "--public-key",
      "key.pub",
    ];
    const no = await run([...args, "--json"], withToken);
    assert.equal(no.code, 11, no.stderr);
    assert.ok(isOneErrorLine(no.stderr));
    assert.match(no.stderr, /ERR_HTTP_UNAUTHORIZED/);
    const ok = await run([...args, "--json", "-o", "entry.json"], { CAIRN_TOKEN: token });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).logIndex, 0);
    writeFileSync(join(dir, "token"), token);
    const art = await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--artifact",
      "app.tar.gz",
      "--signature",
      "app.sig",
      "--public-key",
      "key.pub",
      "-o",
      "artifact-entry.json",
    ]);
    assert.equal(art.code, 0, art.stderr);
    assert.match(art.stdout, /^logged at index 1 /);
    const again = await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--artifact",
      "app.tar.gz",
      "--signature",
      "app.sig",
      "--public-key",
      "key.pub",
    ]);
    assert.match(again.stdout, /^already logged at index 1 /);
  });

  test("bad input is refused with its code and nothing is logged", async () => {
    writeFileSync(join(dir, "bad.sig"), sign("sha256", Buffer.from("other"), ec.privateKey));
    const before = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout).treeSize;
    const bad = await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--artifact",
      "app.tar.gz",
      "--signature",
      "bad.sig",
      "--public-key",
      "key.pub",
    ]);
    assert.equal(bad.code, 10);
    assert.match(bad.stderr, /^cairn: ERR_SIGNATURE_INVALID: /);
    writeFileSync(
      join(dir, "junk.json"),
      JSON.stringify({ payloadType: STATEMENT_TYPE, payload: "e30=", signatures: [] }),
    );
    const junk = await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--envelope",
      "junk.json",
      "--public-key",
      "key.pub",
    ]);
    assert.equal(junk.code, 12);
    assert.match(junk.stderr, /^cairn: ERR_TLOG_ENTRY_INVALID: /);
    const after = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout).treeSize;
    assert.equal(after, before);
    const down = await run(["log", "info", "--server", "http://127.0.0.1:1"]);
    assert.equal(down.code, 14);
    assert.match(down.stderr, /ERR_HTTP_ERROR/);
  });

  test("get, search and offline verify", async () => {
    const got = await run(["log", "get", "--server", server.url, "--index", "0", "--json", "-o", "got.json"]);
    assert.equal(got.code, 0, got.stderr);
    const leafHash = JSON.parse(got.stdout).leafHash;
    const byUuid = await run(["log", "get", "--server", server.url, "--uuid", leafHash, "--json"]);
    assert.equal(JSON.parse(byUuid.stdout).logIndex, 0);
    const missing = await run(["log", "get", "--server", server.url, "--index", "99"]);
    assert.equal(missing.code, 13);
    const found = await run([
      "log",
      "search",
      "--server",
      server.url,
      "--subject",
      `sha256:${"ab".repeat(32)}`,
      "--json",
    ]);
    assert.equal(found.code, 0, found.stderr);
    const results = JSON.parse(found.stdout).results;
    assert.equal(results.length, 1);
    assert.equal(results[0].envelope.payloadType, STATEMENT_TYPE);
    // --signer takes a key id (64 hex) or a certificate identity.
    const keyId = publicKeyFromKeyObject(ec.publicKey).keyid;
    const bySigner = async (...args: string[]) =>
      JSON.parse((await run(["log", "search", "--server", server.url, ...args, "--json"])).stdout).results;
    assert.deepEqual(
      (await bySigner("--signer", keyId)).map((r: { logIndex: number }) => r.logIndex),
      [results[0].logIndex],
    );
    assert.deepEqual(await bySigner("--signer", "alice@example.com"), []);
    assert.deepEqual(
      await bySigner("--signer", "alice@example.com", "--issuer", "https://issuer.example"),
      [],
    );

    const vkey = join(data, "log.vkey");
    for (const f of ["entry.json", "got.json", "artifact-entry.json"]) {
      const v = await run(["log", "verify", "--entry", f, "--vkey", vkey, "--json"]);
      assert.equal(v.code, 0, `${f}: ${v.stderr}`);
      assert.equal(JSON.parse(v.stdout).verified, true);
    }
    const art = await run([
      "log",
      "verify",
      "--entry",
      "got.json",
      "--vkey",
      vkey,
      "--artifact",
      "app.tar.gz",
    ]);
    assert.equal(art.code, 10, "entry 0 is the statement, not the artifact");
    const artOk = await run(["log", "get", "--server", server.url, "--index", "1", "-o", "art.json"]);
    assert.equal(artOk.code, 0);
    assert.equal(
      (await run(["log", "verify", "--entry", "art.json", "--vkey", vkey, "--artifact", "app.tar.gz"])).code,
      0,
    );
    // A tampered proof, a tampered leaf, another log's key: verification failures (exit 10).
    const e = JSON.parse(readFileSync(join(dir, "got.json"), "utf8"));
    e.inclusionProof.hashes[0] = "00".repeat(32);
    writeFileSync(join(dir, "tampered.json"), JSON.stringify(e));
    const t = await run(["log", "verify", "--entry", "tampered.json", "--vkey", vkey]);
    assert.equal(t.code, 10);
    assert.match(t.stderr, /^cairn: ERR_TLOG_PROOF_INVALID/);
    const other = await run([
      "log",
      "verify",
      "--entry",
      "got.json",
      "--vkey",
      "cairn.local/log+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ]);
    assert.notEqual(other.code, 0);
  });

  test("prove: consistency between two checkpoints, online and refused when forged", async () => {
    const vkey = join(data, "log.vkey");
    const first = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout);
    writeFileSync(join(dir, "old.cp"), first.checkpoint);
    await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--envelope",
      "statement.dsse.json",
      "--public-key",
      "key.pub",
    ]);
    writeFileSync(join(dir, "x.sig"), sign("sha256", Buffer.from("the artifact"), ec.privateKey));
    await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--artifact",
      "app.tar.gz",
      "--signature",
      "x.sig",
      "--public-key",
      "key.pub",
    ]);
    const second = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout);
    assert.ok(second.treeSize > first.treeSize);
    writeFileSync(join(dir, "new.cp"), second.checkpoint);
    const ok = await run([
      "log",
      "prove",
      "old.cp",
      "new.cp",
      "--vkey",
      vkey,
      "--server",
      server.url,
      "--json",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), {
      consistent: true,
      origin: "cairn.local/log",
      from: first.treeSize,
      to: second.treeSize,
    });
    writeFileSync(join(dir, "proof.json"), JSON.stringify({ hashes: ["11".repeat(32)] }));
    const forged = await run(["log", "prove", "old.cp", "new.cp", "--vkey", vkey, "--proof", "proof.json"]);
    assert.equal(forged.code, 10);
    const backwards = await run(["log", "prove", "new.cp", "old.cp", "--vkey", vkey, "--server", server.url]);
    assert.equal(backwards.code, 10);
  });

  test("monitor: follows the log, refuses a checkpoint from a forked log", async () => {
    const vkey = join(data, "log.vkey");
    const m1 = await run([
      "log",
      "monitor",
      "--server",
      server.url,
      "--vkey",
      vkey,
      "--state",
      "mon.cp",
      "--once",
      "--json",
    ]);
    assert.equal(m1.code, 0, m1.stderr);
    writeFileSync(join(dir, "m.sig"), sign("sha256", Buffer.from("the artifact"), ec.privateKey));
    const up = await run([
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--artifact",
      "app.tar.gz",
      "--signature",
      "m.sig",
      "--public-key",
      "key.pub",
    ]);
    assert.equal(up.code, 0, up.stderr);
    const m2 = await run([
      "log",
      "monitor",
      "--server",
      server.url,
      "--vkey",
      vkey,
      "--state",
      "mon.cp",
      "--once",
      "--json",
    ]);
    assert.equal(m2.code, 0, m2.stderr);
    // A fork: the same key signs a different tree of the same size (the log key leaked or the
    // operator lies). Made with a second server over a copy of the key.
    const fork = join(dir, "fork");
    const { mkdirSync, copyFileSync } = await import("node:fs");
    mkdirSync(fork);
    copyFileSync(join(data, "log-key.pem"), join(fork, "log-key.pem"));
    const other = await serve(["--data", fork, "--dev"], dir);
    try {
      const state = JSON.parse(m2.stdout);
      for (let i = 0; i < state.to; i++) {
        writeFileSync(join(dir, `f${i}.sig`), sign("sha256", Buffer.from(`fork ${i}`), ec.privateKey));
        writeFileSync(join(dir, `f${i}`), `fork ${i}`);
        const u = await run([
          "log",
          "upload",
          "--server",
          other.url,
          "--artifact",
          `f${i}`,
          "--signature",
          `f${i}.sig`,
          "--public-key",
          "key.pub",
        ]);
        assert.equal(u.code, 0, u.stderr);
      }
      const split = await run([
        "log",
        "monitor",
        "--server",
        other.url,
        "--vkey",
        vkey,
        "--state",
        "mon.cp",
        "--once",
      ]);
      assert.equal(split.code, 10, split.stderr);
      assert.match(split.stderr, /^cairn: ERR_TLOG_PROOF_INVALID/);
    } finally {
      assert.equal(await other.stop(), 0);
    }
  });

  test("several envelopes go in one batch: a line each, entries written, a refused one fails the run", async () => {
    const signer = keySigner({ public: publicKeyFromKeyObject(ec.publicKey), key: ec.privateKey } as never);
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const statement = {
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ name: `part${i}`, digest: { sha256: String(i).repeat(64) } }],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: {},
      };
      writeFileSync(
        join(dir, `part${i}.json`),
        JSON.stringify(await signEnvelope(STATEMENT_TYPE, Buffer.from(JSON.stringify(statement)), [signer])),
      );
      files.push(`part${i}.json`);
    }
    const args = [
      "log",
      "upload",
      "--server",
      server.url,
      "--token-file",
      "token",
      "--public-key",
      "key.pub",
    ];
    const ok = await run([...args, "--envelope", ...files, "--output-dir", "entries"]);
    assert.equal(ok.code, 0, ok.stderr);
    const lines = ok.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(":")[0]),
      files,
    );
    for (const l of lines) assert.match(l, /: logged at index \d+ \(leaf [0-9a-f]{64}\)$/);
    // Each written entry is the answer for its file, and verifies offline against the log key.
    const entry = JSON.parse(readFileSync(join(dir, "entries", "part1.entry.json"), "utf8"));
    assert.equal(entry.logIndex, Number(/index (\d+)/.exec(lines[1]!)![1]));
    const verified = await run([
      "log",
      "verify",
      "--entry",
      join("entries", "part1.entry.json"),
      "--vkey",
      join(data, "log.vkey"),
    ]);
    assert.equal(verified.code, 0, verified.stderr);

    // The same envelopes again, with one signed by another key among them: the run fails with the
    // refusal's code, the others answer as already logged.
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const stranger = keySigner({
      public: publicKeyFromKeyObject(other.publicKey),
      key: other.privateKey,
    } as never);
    writeFileSync(
      join(dir, "stranger.json"),
      JSON.stringify(await signEnvelope(STATEMENT_TYPE, Buffer.from("{}"), [stranger])),
    );
    const mixed = await run([...args, "--envelope", files[0]!, "stranger.json", files[2]!, "--json"]);
    assert.equal(mixed.code, 10, mixed.stderr);
    assert.ok(isOneErrorLine(mixed.stderr), mixed.stderr);
    assert.match(mixed.stderr, /1 of 3 envelopes were refused \(first: stranger\.json: /);
    const report = JSON.parse(mixed.stdout);
    assert.equal(report.accepted, 2);
    assert.equal(report.results[0].duplicate, true);
    assert.equal(report.results[1].file, "stranger.json");
    assert.equal(report.results[1].error.status, 422);
    assert.equal(report.results[2].duplicate, true);

    // -o names one file: several envelopes need --output-dir; a bad file logs nothing.
    const one = await run([...args, "--envelope", ...files, "-o", "x.json"]);
    assert.equal(one.code, 2, one.stderr);
    assert.match(one.stderr, /--output-dir/);
    writeFileSync(join(dir, "broken.json"), "{");
    const size = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout).treeSize;
    const broken = await run([...args, "--envelope", "stranger.json", "broken.json"]);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /broken\.json/);
    const after = JSON.parse((await run(["log", "info", "--server", server.url, "--json"])).stdout).treeSize;
    assert.equal(after, size);
  });
});
