#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// dist/cairn.mjs, the command the package's "bin" names: a launcher that loads as little as it can
// before choosing an entry. `cairn tuf client ...` (run by updaters at every update, timed in
// bench/) gets its own CommonJS bundle, dist/cli/tuf-client.cjs, loaded with require: one file,
// no ES module graph to resolve, link and evaluate. Everything else is the main ES module bundle,
// dist/cli/main.mjs, with a chunk per command. Both are built by scripts/build-cli.mjs.
import { createRequire } from "node:module";
import { isTufClient } from "./route.js";

interface Entry {
  run(argv: string[]): void;
}

const argv = process.argv.slice(2);
// Relative to dist/cairn.mjs, where the build puts this launcher (not to this source file).
if (isTufClient(argv)) {
  (createRequire(import.meta.url)("./cli/tuf-client.cjs") as Entry).run(argv);
} else {
  const main = "./cli/main.mjs";
  ((await import(main)) as Entry).run(argv);
}
