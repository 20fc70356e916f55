// SPDX-License-Identifier: Apache-2.0
// docs/log.md's "Example", run as written: the commands are read from the doc's sh block, the
// server address and data folder are swapped for the test server's, and `| jq -r .checkpoint > F`
// is done here. A doc edit that breaks the example breaks this test.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { cairn, tempDir } from "./cli.js";
import { type Served, serve } from "./serve.js";

const DOC = resolve(import.meta.dirname, "..", "..", "docs", "log.md");
const DOC_URL = "http://127.0.0.1:3000";

/** The commands of the first sh block after "## Example": continuations joined, comments dropped. */
function exampleCommands(): string[] {
  const md = readFileSync(DOC, "utf8");
  const block = /## Example\s+```sh\n([\s\S]*?)```/.exec(md);
  assert.ok(block, "docs/log.md has an Example sh block");
  return block[1]!
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) =>
      l
        .replace(/\s+#.*$/, "")
        .replace(/^#.*$/, "")
        .trim(),
    )
    .filter((l) => l.length > 0);
}

describe("docs/log.md's example", () => {
  const { dir, cleanup } = tempDir("log-doc");
  let server: Served;
  let token: string;
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const artifact = Buffer.from("the artifact of the worked example");

  before(async () => {
    server = await serve(["--data", "logdata"], dir);
    token = readFileSync(join(dir, "logdata", "initial-token"), "utf8").trim();
    writeFileSync(join(dir, "key.pub"), ec.publicKey.export({ type: "spki", format: "pem" }));
    writeFileSync(join(dir, "app.tar.gz"), artifact);
    writeFileSync(join(dir, "app.sig"), sign("sha256", artifact, ec.privateKey));
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.stderr());
    cleanup();
  });

  test("every command of the example exits 0", async () => {
    const commands = exampleCommands();
    assert.ok(commands.length >= 6);
    const digest = createHash("sha256").update(artifact).digest("hex");
    let infos = 0;
    for (const line of commands) {
      const [command, jq] = line.split(/\s*\|\s*jq -r \.checkpoint > /);
      const args = command!
        .split(/\s+/)
        .map((a) => (a === DOC_URL ? server.url : a.replace(/^sha256:[0-9a-f]+\.\.\.$/, `sha256:${digest}`)));
      assert.equal(args.shift(), "cairn", line);
      if (args[1] === "info" && infos++ === 1) {
        // "# ... later": the log grows between the two checkpoints.
        writeFileSync(join(dir, "later.bin"), "later");
        writeFileSync(join(dir, "later.sig"), sign("sha256", Buffer.from("later"), ec.privateKey));
        const up = await cairn(
          [
            "log",
            "upload",
            "--server",
            server.url,
            "--artifact",
            "later.bin",
            "--signature",
            "later.sig",
          ].concat(["--public-key", "key.pub"]),
          dir,
          { CAIRN_TOKEN: token },
        );
        assert.equal(up.code, 0, up.stderr);
      }
      const r = await cairn(args, dir, { CAIRN_TOKEN: token });
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
      if (jq !== undefined) writeFileSync(join(dir, jq.trim()), `${JSON.parse(r.stdout).checkpoint}`);
    }
    assert.equal(infos, 2, "the example reads two checkpoints");
  });
});
