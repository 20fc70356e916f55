// SPDX-License-Identifier: Apache-2.0
// Which entry runs a command line: read by the launcher (bin.ts) before anything else is loaded,
// so it imports nothing.

/** The arguments that are not options: the command's name first (none for `cairn --help`). */
export function words(argv: readonly string[]): string[] {
  return argv.filter((a) => !a.startsWith("-"));
}

/**
 * Whether `argv` is `cairn tuf client ...`: its first two words are "tuf" and "client". The
 * launcher then loads the client's own bundle, and main.ts (run from the sources) registers the
 * same one subcommand: the two entries give that command line the same program.
 */
export function isTufClient(argv: readonly string[]): boolean {
  const [name, sub] = words(argv);
  return name === "tuf" && sub === "client";
}
