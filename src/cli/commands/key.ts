// SPDX-License-Identifier: Apache-2.0
// cairn key generate | show
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import type { KeyType } from "../../core/keys.js";
import { readVariable } from "../../runtime/env.js";
import { loadPublicKeyFile, writeNewKeyPair } from "../../runtime/keyfiles.js";
import { type CliIO, write } from "../io.js";

const TYPES = ["ed25519", "ecdsa", "rsa"];

export function passphraseFrom(io: CliIO, envName?: string): string | undefined {
  if (envName) {
    const v = readVariable(envName);
    if (v === undefined) throw cairnError("ERR_USAGE", `environment variable ${envName} is not set`);
    return v;
  }
  return io.env.keyPassphrase;
}

/** A --key value as a signer reference: `env:NAME` as is, a path (or `file:PATH`) resolved against the cwd. */
export function signerRef(io: CliIO, key: string): string {
  return key.startsWith("env:") ? key : resolve(io.cwd, key.replace(/^file:/, ""));
}

export function registerKey(program: Command, io: CliIO): void {
  const key = program.command("key").description("generate and inspect signing keys");
  key
    .command("generate")
    .description("generate a key pair: PATH (private) and PATH.pub, in the formats in-toto-keygen writes")
    .argument("<path>", "where to write the private key; the public key goes to PATH.pub")
    .option("-t, --type <type>", "ed25519, ecdsa (P-256) or rsa", "ed25519")
    .option("-b, --bits <n>", "RSA modulus size", "3072")
    .option("--curve <curve>", "ECDSA curve: P-256 or P-384", "P-256")
    .option(
      "--passphrase-env <NAME>",
      "encrypt the private key with the passphrase in this environment variable",
    )
    .option("--json", "print the public key as JSON")
    .action(
      async (path: string, o: { type: string; bits: string; passphraseEnv?: string; json?: boolean }) => {
        if (!TYPES.includes(o.type))
          throw cairnError("ERR_USAGE", `--type must be one of ${TYPES.join(", ")}`);
        const bits = Number(o.bits);
        if (!Number.isSafeInteger(bits) || bits < 2048)
          throw cairnError("ERR_USAGE", "--bits must be at least 2048");
        const passphrase = o.passphraseEnv ? passphraseFrom(io, o.passphraseEnv) : undefined;
        const pub = await writeNewKeyPair(resolve(io.cwd, path), o.type as KeyType, {
          bits,
          ...(passphrase !== undefined ? { passphrase } : {}),
        });
        if (o.json)
          write(
            io.stdout,
            JSON.stringify({ keyid: pub.keyid, keytype: pub.keytype, scheme: pub.scheme, path }),
          );
        else write(io.stdout, `${pub.keytype} key ${pub.keyid} written to ${path} and ${path}.pub`);
      },
    );
  key
    .command("show")
    .description("print a public key's type, scheme and key id")
    .argument("<path>")
    .option("--json", "as JSON")
    .action(async (path: string, o: { json?: boolean }) => {
      const pub = await loadPublicKeyFile(resolve(io.cwd, path));
      if (o.json)
        write(
          io.stdout,
          JSON.stringify({ keyid: pub.keyid, keytype: pub.keytype, scheme: pub.scheme, key: pub.meta }),
        );
      else write(io.stdout, `${pub.keyid}  ${pub.keytype}  ${pub.scheme}`);
    });
}
