// SPDX-License-Identifier: Apache-2.0
// The TUF repository's directory FileArea: writeMany writes every file whole into nested
// directories (more files than one batch), leaves no temporary file behind, and fails with ERR_IO
// naming the file when a directory cannot be made; read answers undefined only for a missing file.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { directoryFileArea } from "./tuf-repo-store.js";

describe("directoryFileArea", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-area-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const all = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? all(join(d, e.name)).map((n) => `${e.name}/${n}`) : [e.name],
    );

  it("writes many files whole, in nested directories, with no temporary file left", async () => {
    const area = directoryFileArea(join(dir, "a"));
    const files = Array.from({ length: 600 }, (_, i) => ({
      name: `t/${i % 7}/${i % 3}/f${i}`,
      bytes: Buffer.from(`content ${i}\n`.repeat(i % 5)),
    }));
    await area.writeMany!([...files, { name: "t/0/0/f0", bytes: Buffer.from("last wins") }]);
    for (const f of files.slice(1)) assert.deepEqual(Buffer.from((await area.read(f.name))!), f.bytes);
    assert.equal(Buffer.from((await area.read("t/0/0/f0"))!).toString(), "last wins");
    assert.equal(await area.read("t/none"), undefined);
    assert.equal(await area.has!("t/0/0/f0"), true);
    assert.equal(await area.has!("t/none"), false);
    assert.equal(await area.has!("t/0"), false, "a directory holds no content");
    const names = all(join(dir, "a"));
    assert.equal(names.length, 600);
    assert.ok(names.every((n) => !n.endsWith(".tmp")));
  });

  it("fails with ERR_IO naming the file when its directory cannot be made", async () => {
    const area = directoryFileArea(join(dir, "b"));
    await area.write("blocker", Buffer.from("a file, not a directory"));
    await assert.rejects(
      area.writeMany!([
        { name: "ok/x", bytes: Buffer.from("x") },
        { name: "blocker/y", bytes: Buffer.from("y") },
      ]),
      (e: { code: string; file?: string }) => e.code === "ERR_IO" && (e.file ?? "").endsWith("y"),
    );
    assert.ok(all(join(dir, "b")).every((n) => !n.endsWith(".tmp")));
    await assert.rejects(area.writeMany!([{ name: "../escape", bytes: Buffer.from("") }]), {
      code: "ERR_FIELD_INVALID",
    });
    writeFileSync(join(dir, "b", "plain"), "p");
    assert.equal(Buffer.from((await area.read("plain"))!).toString(), "p");
  });
});
