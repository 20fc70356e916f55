// SPDX-License-Identifier: Apache-2.0
// cairn tuf trust --trusted-root | --revoke and verify-blob --trust-metadata-dir: flag combinations
// that cannot work are usage errors (exit 2) before anything is read or written.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { captureIO } from "../../testing/cli-io.js";
import { main } from "../main.js";

const work = mkdtempSync(join(tmpdir(), "cairn-trust-revoke-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function cairn(args: string[]) {
  const c = captureIO({ ci: true, cwd: work });
  return { code: await main(args, c.io), err: c.stderr() };
}

describe("cairn tuf trust and verify-blob: trust repository flags", () => {
  const cases: [string, string[]][] = [
    ["no mode", ["tuf", "trust", "repo"]],
    ["two modes", ["tuf", "trust", "repo", "--kind", "layout-key", "--trusted-root", "r.json"]],
    ["--kind without items", ["tuf", "trust", "repo", "--kind", "layout-key"]],
    ["--revoke without --effective", ["tuf", "trust", "repo", "--revoke", "identity=a@b", "--reason", "r"]],
    [
      "--revoke without KIND=",
      ["tuf", "trust", "repo", "--revoke", "a@b", "--effective", "2026-01-01T00:00:00Z", "--reason", "r"],
    ],
    [
      "--effective not a time",
      ["tuf", "trust", "repo", "--revoke", "identity=a@b", "--effective", "tomorrow", "--reason", "r"],
    ],
    [
      "unknown revocation kind",
      [
        "tuf",
        "trust",
        "repo",
        "--revoke",
        "password=x",
        "--effective",
        "2026-01-01T00:00:00Z",
        "--reason",
        "r",
      ],
    ],
    [
      "verify-blob with both roots",
      ["verify-blob", "f", "--bundle", "b", "--key", "k", "--trusted-root", "r", "--trust-metadata-dir", "m"],
    ],
    ["verify-blob without any root", ["verify-blob", "f", "--bundle", "b", "--key", "k"]],
    [
      "verify-blob without the URLs",
      ["verify-blob", "f", "--bundle", "b", "--key", "k", "--trust-metadata-dir", "m"],
    ],
  ];
  for (const [name, args] of cases) {
    it(`${name}: exit 2`, async () => {
      const r = await cairn(args);
      assert.equal(r.code, 2, r.err);
    });
  }
});
