// SPDX-License-Identifier: Apache-2.0
// securesystemslib's encrypted key file format (rsa_keys._encrypt/_decrypt):
// hex(salt) @@@@ iterations @@@@ hex(hmac-sha256(ciphertext)) @@@@ hex(iv) @@@@ hex(ciphertext),
// with the AES-256-CTR key derived by PBKDF2-HMAC-SHA256 from the passphrase.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { fromHex } from "./encoding.js";
import { cairnError } from "./errors.js";

const DELIM = "@@@@";
/** securesystemslib's default iteration count. */
export const SSLIB_PBKDF2_ITERATIONS = 100000;
/** Bound on attacker-chosen work: an encrypted key file names its own iteration count. */
const MAX_ITERATIONS = 10_000_000;

export function isSslibEncrypted(text: string): boolean {
  return /^[0-9a-f]+@@@@\d+@@@@[0-9a-f]+@@@@[0-9a-f]+@@@@[0-9a-f]+$/.test(text.trim());
}

export function encryptSslibKey(
  plaintext: string,
  passphrase: string,
  iterations = SSLIB_PBKDF2_ITERATIONS,
): string {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(passphrase, salt, iterations, 32, "sha256");
  const c = createCipheriv("aes-256-ctr", key, iv);
  const ct = Buffer.concat([c.update(plaintext, "utf8"), c.final()]);
  const mac = createHmac("sha256", key).update(ct).digest("hex");
  return [salt.toString("hex"), String(iterations), mac, iv.toString("hex"), ct.toString("hex")].join(DELIM);
}

export function decryptSslibKey(text: string, passphrase: string): string {
  const parts = text.trim().split(DELIM);
  if (parts.length !== 5) throw cairnError("ERR_KEY_INVALID", "not a securesystemslib encrypted key");
  const [saltHex, iterText, macHex, ivHex, ctHex] = parts as [string, string, string, string, string];
  const iterations = Number(iterText);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw cairnError("ERR_KEY_INVALID", `iteration count ${iterText} is out of range`);
  }
  const key = pbkdf2Sync(passphrase, fromHex(saltHex), iterations, 32, "sha256");
  const ct = fromHex(ctHex);
  const mac = createHmac("sha256", key).update(ct).digest();
  const given = fromHex(macHex);
  if (given.length !== mac.length || !timingSafeEqual(given, mac)) {
    throw cairnError("ERR_KEY_PASSPHRASE", "the passphrase does not decrypt the key");
  }
  const d = createDecipheriv("aes-256-ctr", key, fromHex(ivHex));
  return Buffer.concat([d.update(ct), d.final()]).toString("utf8");
}
