// SPDX-License-Identifier: Apache-2.0
// The one reader of process.env: every environment setting cairn honours is named here.
export interface Environment {
  /** Passphrase for encrypted private keys, when not given otherwise. */
  keyPassphrase?: string;
  /** NO_COLOR (https://no-color.org): no ANSI colours when set. */
  noColor: boolean;
  /** CI=true: never draw progress bars. */
  ci: boolean;
  /** CAIRN_DEBUG: print stack traces of internal errors (bugs) only. */
  debug: boolean;
  /** CAIRN_TOKEN: the bearer token `cairn log upload` sends to a log service. */
  token?: string;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  const out: Environment = {
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== "",
    ci: env.CI === "true",
    debug: Boolean(env.CAIRN_DEBUG),
  };
  if (env.CAIRN_KEY_PASSPHRASE !== undefined) out.keyPassphrase = env.CAIRN_KEY_PASSPHRASE;
  if (env.CAIRN_TOKEN !== undefined && env.CAIRN_TOKEN !== "") out.token = env.CAIRN_TOKEN;
  return out;
}

/** Reads a named environment variable (for flags such as --passphrase-env NAME). */
export function readVariable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name];
}
