// SPDX-License-Identifier: Apache-2.0
// The command table of src/cli/main.ts: every command module is in it, and naming a command loads
// only the module that defines it (start-up cost), while help and unknown names still get them all.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { captureIO } from "../testing/cli-io.js";
import { buildProgram, main } from "./main.js";

const quietIO = () => captureIO({ ci: true });

const names = async (argv: string[]) =>
  (await buildProgram(quietIO().io, argv)).commands.map((c) => c.name()).sort();

describe("the command table", () => {
  it("names every command module's register function", () => {
    const dir = join(import.meta.dirname, "commands");
    const source = readFileSync(join(import.meta.dirname, "main.ts"), "utf8");
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
      const text = readFileSync(join(dir, f), "utf8");
      // A module that adds top-level commands exports register*(program: Command, ...).
      for (const m of text.matchAll(/export function (register\w+)\(program: Command/g)) {
        assert.ok(source.includes(`.${m[1]}`), `${f}: ${m[1]} is not in main.ts's command table`);
      }
    }
  });

  it("loads only the named command's module, and all of them for help or an unknown name", async () => {
    const all = await names([]);
    assert.ok(all.length >= 15, `only ${all.length} commands`);
    assert.deepEqual(await names(["nosuch"]), all);
    assert.deepEqual(await names(["--version"]), []);
    assert.deepEqual(await names(["run", "-n", "x"]), ["record", "run"]);
    assert.deepEqual(await names(["verify-blob", "f"]), [
      "attest-blob",
      "sign-blob",
      "verify-blob",
      "verify-blob-attestation",
    ]);
    for (const name of all) {
      if (name === "help") continue;
      assert.ok((await names([name])).includes(name), `${name} is not loaded when named`);
      assert.ok((await names([name])).length < all.length, `${name} loads every module`);
    }
  });

  it("loads `tuf client` without the repository side, and all of `tuf` otherwise", async () => {
    const subs = async (argv: string[]) =>
      (await buildProgram(quietIO().io, argv)).commands
        .find((c) => c.name() === "tuf")!
        .commands.map((c) => c.name());
    assert.deepEqual(await subs(["tuf", "client", "--metadata-dir", "d", "refresh"]), ["client"]);
    const all = await subs(["tuf", "--help"]);
    assert.ok(all.includes("client") && all.includes("publish") && all.includes("status"), all.join(" "));
    assert.deepEqual(await subs(["tuf", "status", "client"]), all);
  });

  it("an unknown command is a usage error (exit 2)", async () => {
    const { io } = quietIO();
    assert.equal(await main(["nosuch"], io), 2);
  });
});
