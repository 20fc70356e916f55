// SPDX-License-Identifier: Apache-2.0
// Key files on disk: public keys (PEM or securesystemslib JSON, type detected or forced as
// in-toto's --key-types), private keys as signers, new key pairs written as in-toto-keygen does.
import { cairnError } from "../core/errors.js";
import {
  exportKeyFiles,
  generateKey,
  type KeyType,
  type PrivateKey,
  type PublicKey,
  parsePrivateKey,
  parsePublicKey,
} from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import { readVariable } from "./env.js";
import { readFileRequired, writeFileAtomic } from "./fs.js";

/** Loads a public key file; `type` (rsa, ed25519, ecdsa) is checked when given. */
export async function loadPublicKeyFile(path: string, type?: string): Promise<PublicKey> {
  const text = (await readFileRequired(path, "key file")).toString("utf8");
  const k = parsePublicKey(text, path);
  if (type !== undefined && k.keytype !== type) {
    throw cairnError("ERR_KEY_INVALID", `expected a ${type} key, found ${k.keytype}`, {
      file: path,
      field: "keytype",
    });
  }
  return k;
}

export async function loadPrivateKeyFile(path: string, passphrase?: string): Promise<PrivateKey> {
  const text = (await readFileRequired(path, "key file")).toString("utf8");
  return parsePrivateKey(text, passphrase === undefined ? { file: path } : { file: path, passphrase });
}

/**
 * A signer for a key reference, addressed by URI so other signers (KMS, hardware, keyless) plug in
 * here: `file:PATH` or a plain path (a key file), `env:NAME` (the key's PEM or JSON text in an
 * environment variable, as CI systems hand out secrets; the value is never logged).
 */
export async function loadSigner(ref: string, passphrase?: string): Promise<Signer> {
  if (ref.startsWith("env:")) {
    const name = ref.slice(4);
    const text = readVariable(name);
    if (text === undefined || text === "") {
      throw cairnError("ERR_NOT_FOUND", `environment variable ${name} holds no key`, { field: ref });
    }
    return keySigner(
      parsePrivateKey(text, passphrase === undefined ? { file: ref } : { file: ref, passphrase }),
    );
  }
  const path = ref.startsWith("file:") ? ref.slice(5) : ref;
  return keySigner(await loadPrivateKeyFile(path, passphrase));
}

/** Generates a key pair and writes `<path>` (private, mode 0600) and `<path>.pub`. */
export async function writeNewKeyPair(
  path: string,
  type: KeyType,
  opts: { bits?: number; curve?: "P-256" | "P-384"; passphrase?: string } = {},
): Promise<PublicKey> {
  const k = generateKey(type, {
    ...(opts.bits === undefined ? {} : { bits: opts.bits }),
    ...(opts.curve === undefined ? {} : { curve: opts.curve }),
  });
  const files = exportKeyFiles(k, opts.passphrase);
  await writeFileAtomic(path, files.privateText, 0o600);
  await writeFileAtomic(`${path}.pub`, files.publicText);
  return k.public;
}
