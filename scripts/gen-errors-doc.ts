// SPDX-License-Identifier: Apache-2.0
// Prints docs/errors.md from the error catalog.
import { ERROR_CATALOG, EXIT_CODE } from "../src/core/errors.js";

const lines = [
  "# Errors and exit codes",
  "",
  "Every error cairn reports has a stable code. The category decides the exit code.",
  "Scripts should test codes (shown first on the error line and in `--json` output), never message text.",
  "",
  "| exit code | meaning |",
  "| --- | --- |",
  "| 0 | success |",
  "| 1 | internal error (a bug) |",
  "| 2 | usage: bad or missing arguments |",
  "| 10 | verification failed |",
  "| 11 | policy refused |",
  "| 12 | bad input (format) |",
  "| 13 | not found |",
  "| 14 | transport / I/O |",
  "| 15 | overloaded |",
  "",
  "| code | category | exit | meaning |",
  "| --- | --- | --- | --- |",
];
for (const [code, [category, text]] of Object.entries(ERROR_CATALOG)) {
  lines.push(`| \`${code}\` | ${category} | ${EXIT_CODE[category]} | ${text} |`);
}
process.stdout.write(`${lines.join("\n")}\n`);
