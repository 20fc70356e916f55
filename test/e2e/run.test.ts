// SPDX-License-Identifier: Apache-2.0
// cairn run and record, end to end: links the reference can read, flags as in-toto-run, bad input refused.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cairn, isOneErrorLine, sh, tempDir } from "./cli.js";

const t = tempDir("run");
const d = t.dir;
let keyid = "";

before(async () => {
  const r = await cairn(["key", "generate", "bob", "--type", "ed25519", "--json"], d);
  assert.equal(r.code, 0, r.stderr);
  keyid = JSON.parse(r.stdout).keyid;
  mkdirSync(join(d, "src", "sub"), { recursive: true });
  writeFileSync(join(d, "src", "a.txt"), "a\r\nb\r\n");
  writeFileSync(join(d, "src", "sub", "b.py"), "print(1)\n");
  writeFileSync(join(d, "src", "skip.log"), "noise\n");
});
after(t.cleanup);

const linkOf = (dir: string, step: string) =>
  JSON.parse(readFileSync(join(dir, `${step}.${keyid.slice(0, 8)}.link`), "utf8"));

describe("cairn run", () => {
  it("records materials, products, streams and the return value, and signs the link", async () => {
    mkdirSync(join(d, "out1"));
    const r = await cairn(
      [
        "run",
        "-n",
        "build",
        "-k",
        "bob",
        "-m",
        "src",
        "-p",
        "src",
        "--exclude",
        "*.log",
        "-s",
        "-d",
        "out1",
        "--json",
        "--",
        "sh",
        "-c",
        "echo hi; echo err >&2; exit 3",
      ],
      d,
    );
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(summary.returnValue, 3);
    const link = linkOf(join(d, "out1"), "build");
    assert.deepEqual(Object.keys(link.signed.materials).sort(), ["src/a.txt", "src/sub/b.py"]);
    assert.equal(link.signed.byproducts["return-value"], 3);
    assert.equal(link.signed.byproducts.stdout, "hi\n");
    assert.equal(link.signed.byproducts.stderr, "err\n");
    assert.deepEqual(link.signed.command, ["sh", "-c", "echo hi; echo err >&2; exit 3"]);
    assert.equal(link.signatures[0].keyid, keyid);
    // The reference tool accepts the signature.
    const v = await sh(
      "in-toto-sign",
      ["-f", join("out1", `build.${keyid.slice(0, 8)}.link`), "-k", "bob.pub", "-t", "ed25519", "--verify"],
      d,
    );
    assert.equal(v.code, 0, v.stderr + v.stdout);
  });

  it("normalizes line endings, strips prefixes and hashes relative to a base path", async () => {
    mkdirSync(join(d, "out2"));
    const r = await cairn(
      [
        "run",
        "-n",
        "norm",
        "-k",
        "bob",
        "-p",
        "a.txt",
        "sub",
        "--base-path",
        "src",
        "--normalize-line-endings",
        "-x",
        "-d",
        "out2",
      ],
      d,
    );
    assert.equal(r.code, 0, r.stderr);
    const products = linkOf(join(d, "out2"), "norm").signed.products;
    assert.deepEqual(Object.keys(products).sort(), ["a.txt", "sub/b.py"]);
    // sha256("a\nb\n"): the CRLFs were normalized before hashing.
    assert.equal(
      products["a.txt"].sha256,
      "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2",
    );
    const r2 = await cairn(
      ["run", "-n", "strip", "-k", "bob", "-p", "src/sub", "--lstrip-paths", "src/", "-x", "-d", "out2"],
      d,
    );
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(Object.keys(linkOf(join(d, "out2"), "strip").signed.products), ["sub/b.py"]);
  });

  it("signs with P-384 and RSA keys that the reference accepts", async () => {
    for (const [name, extra, type] of [
      ["p384", ["--type", "ecdsa", "--curve", "P-384"], "ecdsa"],
      ["rsa", ["--type", "rsa", "--bits", "2048"], "rsa"],
    ] as const) {
      const k = await cairn(["key", "generate", name, ...extra, "--json"], d);
      assert.equal(k.code, 0, k.stderr);
      const id = JSON.parse(k.stdout).keyid as string;
      mkdirSync(join(d, `out-${name}`));
      const r = await cairn(["run", "-n", "s", "-k", name, "-p", "src", "-x", "-d", `out-${name}`], d);
      assert.equal(r.code, 0, r.stderr);
      const file = join(`out-${name}`, `s.${id.slice(0, 8)}.link`);
      const v = await sh("in-toto-sign", ["-f", file, "-k", `${name}.pub`, "-t", type, "--verify"], d);
      assert.equal(v.code, 0, `${name}: ${v.stderr}${v.stdout}`);
    }
  });

  it("signs with a key handed over in an environment variable (env:NAME), never printing it", async () => {
    const secret = readFileSync(join(d, "bob"), "utf8");
    mkdirSync(join(d, "out-env"));
    const r = await cairn(
      ["run", "-n", "envkey", "-k", "env:BOB_KEY", "-p", "src", "-x", "-d", "out-env"],
      d,
      {
        BOB_KEY: secret,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(linkOf(join(d, "out-env"), "envkey").signatures[0].keyid, keyid);
    const bad = await cairn(
      ["run", "-n", "envkey", "-k", "env:BOB_KEY", "-p", "src", "-x", "-d", "out-env"],
      d,
      {
        BOB_KEY: secret.replace(/[0-9a-f]{64}"\s*}\s*}?\s*$/, ""),
      },
    );
    assert.notEqual(bad.code, 0);
    const missing = await cairn(["run", "-n", "envkey", "-k", "env:NO_SUCH_VAR", "-p", "src", "-x"], d);
    assert.equal(missing.code, 13);
    for (const out of [r, bad, missing]) {
      assert.ok(
        !(out.stdout + out.stderr).includes(JSON.parse(secret).keyval.private),
        "the private key leaked",
      );
    }
  });

  it("writes the DSSE form with --use-dsse", async () => {
    mkdirSync(join(d, "out3"));
    const r = await cairn(
      ["run", "-n", "dsse", "-k", "bob", "-p", "src", "-x", "--use-dsse", "-d", "out3"],
      d,
    );
    assert.equal(r.code, 0, r.stderr);
    const env = linkOf(join(d, "out3"), "dsse");
    assert.equal(env.payloadType, "application/vnd.in-toto+json");
    assert.equal(JSON.parse(Buffer.from(env.payload, "base64").toString()).name, "dsse");
  });

  it("record start / stop produce one link and remove the unfinished file", async () => {
    mkdirSync(join(d, "out4"));
    let r = await cairn(["record", "start", "-n", "edit", "-k", "bob", "-m", "src"], d);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(d, `.edit.${keyid.slice(0, 8)}.link-unfinished`)));
    writeFileSync(join(d, "src", "new.txt"), "new\n");
    r = await cairn(["record", "stop", "-n", "edit", "-k", "bob", "-p", "src", "-d", "out4"], d);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(join(d, `.edit.${keyid.slice(0, 8)}.link-unfinished`)), false);
    const link = linkOf(join(d, "out4"), "edit").signed;
    assert.ok("src/new.txt" in link.products && !("src/new.txt" in link.materials));
  });

  it("record stop refuses an unfinished link it did not sign", async () => {
    let r = await cairn(["key", "generate", "eve", "--type", "ed25519", "--json"], d);
    const eve = JSON.parse(r.stdout).keyid as string;
    r = await cairn(["record", "start", "-n", "forged", "-k", "eve", "-m", "src"], d);
    assert.equal(r.code, 0, r.stderr);
    // Eve's unfinished link renamed to look like Bob's.
    const names = readdirSync(d).filter((n) => n.startsWith(".forged."));
    writeFileSync(join(d, `.forged.${keyid.slice(0, 8)}.link-unfinished`), readFileSync(join(d, names[0]!)));
    assert.notEqual(eve, keyid);
    r = await cairn(["record", "stop", "-n", "forged", "-k", "bob", "-p", "src"], d);
    assert.equal(r.code, 10, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    assert.equal(existsSync(join(d, `forged.${keyid.slice(0, 8)}.link`)), false);
  });

  it("refuses bad input with one error line and writes no link", async () => {
    mkdirSync(join(d, "bad"));
    const cases: Array<[string[], number, string]> = [
      [["run", "-n", "x", "-k", "nokey", "-p", "src", "-x", "-d", "bad"], 13, "ERR_NOT_FOUND"],
      [["run", "-n", "x", "-k", "bob.pub", "-p", "src", "-x", "-d", "bad"], 12, "ERR_KEY_INVALID"],
      [
        ["run", "-n", "x", "-k", "bob", "-p", "src", "-d", "bad", "--", "/nonexistent/command"],
        14,
        "ERR_COMMAND_FAILED",
      ],
      [
        ["run", "-n", "x", "-k", "bob", "-p", "src", "-x", "-d", "bad", "--hash-algorithms", "md5"],
        12,
        "ERR_DIGEST_UNSUPPORTED",
      ],
      [["run", "-n", "x", "-k", "bob", "-p", "src", "-x", "-d", "bad", "--exclude", "[z-a]"], 2, "ERR_USAGE"],
      [["run", "-n", "x", "-k", "bob", "-p", "src", "-x", "-d", "bad", "-t", "rsa"], 12, "ERR_KEY_INVALID"],
      [["record", "stop", "-n", "never-started", "-k", "bob", "-p", "src", "-d", "bad"], 13, "ERR_NOT_FOUND"],
    ];
    for (const [args, exit, code] of cases) {
      const r = await cairn(args, d);
      assert.equal(r.code, exit, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(isOneErrorLine(r.stderr), `${args.join(" ")}: ${JSON.stringify(r.stderr)}`);
      assert.match(r.stderr, new RegExp(`^cairn: ${code}: `));
    }
    assert.deepEqual(readdirSync(join(d, "bad")), [], "no partial link file");
    // Usage: neither a command nor --no-command.
    assert.equal((await cairn(["run", "-n", "x", "-k", "bob", "-p", "src"], d)).code, 2);
  });
});
