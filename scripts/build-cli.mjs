// SPDX-License-Identifier: Apache-2.0
// Bundles the compiled CLI (dist/src/cli, from tsc) into what the package ships (npm run build):
//   dist/cairn.mjs          the launcher (src/cli/bin.ts), which "bin" names
//   dist/cli/main.mjs       every command, one chunk per command module (loaded when it runs)
//   dist/cli/tuf-client.cjs `cairn tuf client`, self-contained: commander included, one file,
//                           whitespace and comments removed
// npm packages stay external imports of the main bundle; the client's bundle may hold only
// commander (a dependency of its own would be loaded by every update: refused here).
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

const common = { bundle: true, platform: "node", logLevel: "warning", target: "node20" };

rmSync("dist/cli", { recursive: true, force: true });

await build({
  ...common,
  entryPoints: { main: "dist/src/cli/main.js" },
  splitting: true,
  format: "esm",
  packages: "external",
  outdir: "dist/cli",
  chunkNames: "[name]-[hash]",
  outExtension: { ".js": ".mjs" },
});

// commander requires node:child_process as it loads, for git-style executable subcommands, which
// cairn never declares; child_process brings dgram and more with it. In the client's bundle it is
// required when first used instead: `cairn tuf client --help`, hyperfine 30 runs, 89.5 -> 85.4 ms.
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes("node_modules/commander/")
        ? { path: "child_process", namespace: "lazy" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "lazy" }, () => ({
      contents: 'module.exports = new Proxy({}, { get: (_, k) => require("node:child_process")[k] });',
      loader: "js",
    }));
  },
};
// Whitespace and comments out (names and code as they are): V8 scans the whole file at every
// start, and commander's documentation comments were half of it. 230 KB -> 137 KB; callgrind,
// `cairn tuf client --help`, 4 runs each: 190.5 M -> 183.8 M instructions.
const client = await build({
  ...common,
  entryPoints: ["dist/src/cli/tuf-client-main.js"],
  format: "cjs",
  outfile: "dist/cli/tuf-client.cjs",
  minifyWhitespace: true,
  metafile: true,
  plugins: [lazyChildProcess],
});
const packages = new Set(
  Object.keys(client.metafile.inputs)
    .map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1])
    .filter((p) => p !== undefined),
);
for (const p of packages) {
  if (p !== "commander") {
    throw new Error(`dist/cli/tuf-client.cjs would bundle ${p}: \`cairn tuf client\` loads only commander`);
  }
}

await build({
  ...common,
  entryPoints: ["dist/src/cli/bin.js"],
  format: "esm",
  packages: "external",
  outfile: "dist/cairn.mjs",
});
// Runnable as ./dist/cairn.mjs too (npm sets the mode of an installed "bin" itself).
chmodSync("dist/cairn.mjs", 0o755);
