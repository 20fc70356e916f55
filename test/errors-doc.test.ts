// SPDX-License-Identifier: Apache-2.0
// docs/errors.md lists every code of the catalog with its category and exit code: kept in sync here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { test } from "node:test";
import { ERROR_CATALOG, EXIT_CODE } from "../src/core/errors.js";

test("docs/errors.md documents every error code with its category and exit code", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "..", "docs", "errors.md"), "utf8");
  const missing: string[] = [];
  for (const [code, [category]] of Object.entries(ERROR_CATALOG)) {
    const row = new RegExp(`^\\| \`${code}\` \\| ${category} \\| ${EXIT_CODE[category]} \\|`, "m");
    if (!row.test(doc)) missing.push(code);
  }
  assert.deepEqual(
    missing,
    [],
    "regenerate with: node --import tsx scripts/gen-errors-doc.ts > docs/errors.md",
  );
  const documented = [...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
  assert.deepEqual(
    documented.filter((c) => !(c! in ERROR_CATALOG)),
    [],
    "docs/errors.md lists codes that no longer exist",
  );
});
