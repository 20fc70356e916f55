// SPDX-License-Identifier: Apache-2.0
// Keys: ed25519, ECDSA P-256/P-384 and RSA (RSASSA-PSS, PKCS#1 v1.5), loaded from PEM (PKCS#8,
// SPKI, PKCS#1, SEC1, encrypted) or from securesystemslib's JSON key format, with key ids computed
// exactly as securesystemslib does (sha256 over the canonical JSON of the public key object).
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { canonicalize } from "./canonical.js";
import { digestHex } from "./digest.js";
import { fromHex, parsePemBlocks, toHex } from "./encoding.js";
import { CairnError, cairnError } from "./errors.js";
import { isJsonObject, parseJson } from "./json.js";
import { decryptSslibKey, encryptSslibKey, isSslibEncrypted } from "./sslib-encryption.js";

export type KeyType = "ed25519" | "ecdsa" | "rsa";

/** Signature schemes, named as securesystemslib names them. */
export const SCHEMES = {
  ed25519: { keytype: "ed25519", hash: null },
  "ecdsa-sha2-nistp256": { keytype: "ecdsa", hash: "sha256", curve: "P-256" },
  "ecdsa-sha2-nistp384": { keytype: "ecdsa", hash: "sha384", curve: "P-384" },
  "rsassa-pss-sha256": { keytype: "rsa", hash: "sha256", pss: true },
  "rsassa-pss-sha384": { keytype: "rsa", hash: "sha384", pss: true },
  "rsassa-pss-sha512": { keytype: "rsa", hash: "sha512", pss: true },
  "rsa-pkcs1v15-sha256": { keytype: "rsa", hash: "sha256", pss: false },
  "rsa-pkcs1v15-sha384": { keytype: "rsa", hash: "sha384", pss: false },
  "rsa-pkcs1v15-sha512": { keytype: "rsa", hash: "sha512", pss: false },
} as const;
export type Scheme = keyof typeof SCHEMES;

/** securesystemslib's default `keyid_hash_algorithms`, part of the hashed object in in-toto 1.x. */
export const LEGACY_KEYID_HASH_ALGORITHMS = ["sha256", "sha512"];

/** A public key in securesystemslib's metadata form. */
export interface SslibPublicKey {
  keytype: string;
  scheme: string;
  keyval: { public: string };
  keyid_hash_algorithms?: string[];
  [extra: string]: unknown;
}

/** A public key cairn can verify with, and the id under which metadata names it. */
export interface PublicKey {
  keyid: string;
  keytype: KeyType;
  scheme: Scheme;
  /** The securesystemslib metadata object, exactly as given (unknown fields kept). */
  meta: SslibPublicKey;
  key: KeyObject;
}

/** A private key with its public half. */
export interface PrivateKey {
  public: PublicKey;
  key: KeyObject;
}

function keyError(message: string, field?: string): CairnError {
  return cairnError("ERR_KEY_INVALID", message, field === undefined ? {} : { field });
}

/** The key id of a securesystemslib public key object: sha256 of its canonical JSON (private parts dropped). */
export function computeKeyId(meta: SslibPublicKey): string {
  const { keyid: _k, keyval, ...rest } = meta as SslibPublicKey & { keyid?: unknown };
  return digestHex("sha256", canonicalize({ ...rest, keyval: { public: keyval.public } }));
}

/**
 * Both key ids a key has in practice: in-toto 1.x and in-toto-golang hash an object that includes
 * `keyid_hash_algorithms`; newer securesystemslib releases hash it without.
 */
export function keyIdVariants(meta: SslibPublicKey): { legacy: string; modern: string } {
  const { keyid_hash_algorithms: _a, ...modern } = meta;
  return {
    legacy: computeKeyId({
      ...modern,
      keyid_hash_algorithms: meta.keyid_hash_algorithms ?? LEGACY_KEYID_HASH_ALGORITHMS,
    }),
    modern: computeKeyId(modern as SslibPublicKey),
  };
}

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function ed25519Raw(key: KeyObject): Buffer {
  const der = key.export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32);
}

function curveOf(key: KeyObject): "P-256" | "P-384" {
  const c = key.asymmetricKeyDetails?.namedCurve;
  if (c === "prime256v1" || c === "P-256") return "P-256";
  if (c === "secp384r1" || c === "P-384") return "P-384";
  throw keyError(`unsupported elliptic curve ${c ?? "(unknown)"}: only P-256 and P-384 are supported`);
}

function defaultScheme(key: KeyObject): Scheme {
  switch (key.asymmetricKeyType) {
    case "ed25519":
      return "ed25519";
    case "ec":
      return curveOf(key) === "P-256" ? "ecdsa-sha2-nistp256" : "ecdsa-sha2-nistp384";
    case "rsa":
    case "rsa-pss":
      return "rsassa-pss-sha256";
    default:
      throw keyError(
        `unsupported key type ${key.asymmetricKeyType}: use ed25519, ecdsa (P-256/P-384) or rsa`,
      );
  }
}

function checkSchemeFits(key: KeyObject, scheme: Scheme, field = "scheme"): void {
  const s = SCHEMES[scheme];
  const kt =
    key.asymmetricKeyType === "ec"
      ? "ecdsa"
      : key.asymmetricKeyType === "rsa-pss"
        ? "rsa"
        : key.asymmetricKeyType;
  if (kt !== s.keytype) throw keyError(`scheme ${scheme} needs a ${s.keytype} key, not ${kt}`, field);
  if ("curve" in s && curveOf(key) !== s.curve)
    throw keyError(`scheme ${scheme} needs a ${s.curve} key`, field);
}

function isScheme(s: unknown): s is Scheme {
  return typeof s === "string" && Object.hasOwn(SCHEMES, s);
}

/** The securesystemslib metadata form of a Node public key (as in-toto 1.x writes it: legacy key id fields). */
export function sslibMetaOf(key: KeyObject, scheme: Scheme = defaultScheme(key)): SslibPublicKey {
  checkSchemeFits(key, scheme);
  const keytype = SCHEMES[scheme].keytype;
  const pub =
    keytype === "ed25519"
      ? toHex(ed25519Raw(key))
      : keytype === "rsa"
        ? (key.export({ type: "spki", format: "pem" }) as string).trimEnd()
        : (key.export({ type: "spki", format: "pem" }) as string);
  return {
    keytype,
    scheme,
    keyid_hash_algorithms: [...LEGACY_KEYID_HASH_ALGORITHMS],
    keyval: { public: pub },
  };
}

/** Builds a PublicKey from a Node key object. */
export function publicKeyFromKeyObject(key: KeyObject, scheme?: Scheme): PublicKey {
  const pubKey = key.type === "private" ? createPublicKey(key) : key;
  const meta = sslibMetaOf(pubKey, scheme);
  return {
    keyid: computeKeyId(meta),
    keytype: meta.keytype as KeyType,
    scheme: meta.scheme as Scheme,
    meta,
    key: pubKey,
  };
}

/**
 * Reads a securesystemslib public key object (as in a layout's `keys` or a `.pub` file).
 * `keyid` is the id the metadata uses; when absent it is computed from the object as given.
 */
export function publicKeyFromSslib(obj: unknown, keyid?: string): PublicKey {
  if (!isJsonObject(obj)) throw keyError("a key must be a JSON object");
  const { keytype, scheme, keyval } = obj;
  if (typeof keytype !== "string") throw keyError("missing or non-string keytype", "keytype");
  if (!isScheme(scheme)) throw keyError(`unsupported or missing scheme ${JSON.stringify(scheme)}`, "scheme");
  if (!isJsonObject(keyval) || typeof keyval.public !== "string") {
    throw keyError("keyval.public must be a string", "keyval.public");
  }
  const want = SCHEMES[scheme].keytype;
  const typeOk = keytype === want || (want === "ecdsa" && keytype.startsWith("ecdsa-sha2-nistp"));
  if (!typeOk) throw keyError(`keytype ${keytype} does not match scheme ${scheme}`, "keytype");
  let key: KeyObject;
  try {
    if (want === "ed25519") {
      const raw = fromHex(keyval.public, "keyval.public");
      if (raw.length !== 32) throw keyError("an ed25519 public key is 32 bytes", "keyval.public");
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    } else {
      key = createPublicKey({ key: keyval.public, format: "pem" });
    }
  } catch (e) {
    if (e instanceof Error && "code" in e && String((e as { code: unknown }).code).startsWith("ERR_KEY"))
      throw e;
    throw keyError(`keyval.public is not a valid ${want} public key`, "keyval.public");
  }
  // createPublicKey quietly derives a public key from a private PEM: refuse private material here.
  if (key.type !== "public" || /PRIVATE KEY-----/.test(keyval.public)) {
    throw keyError("keyval.public holds a private key", "keyval.public");
  }
  checkSchemeFits(key, scheme);
  const meta = { ...obj } as SslibPublicKey & { keyid?: unknown };
  delete meta.keyid;
  meta.keyval = { public: keyval.public };
  return { keyid: keyid ?? computeKeyId(meta), keytype: want, scheme, meta, key };
}

/** Reads a key file's text: securesystemslib JSON or PEM (type detected). */
export function parsePublicKey(text: string, file?: string, scheme?: Scheme): PublicKey {
  try {
    const trimmed = text.trimStart();
    if (trimmed.startsWith("{")) {
      const obj = parseJson(text, file);
      const pk = publicKeyFromSslib(obj);
      // A private key file also carries the public part; never keep the private value.
      if (isJsonObject(obj) && typeof obj.keyid === "string" && obj.keyid !== pk.keyid) {
        return { ...pk, keyid: pk.keyid };
      }
      return pk;
    }
    const blocks = parsePemBlocks(text);
    const block = blocks.find((b) => b.label === "PUBLIC KEY" || b.label === "RSA PUBLIC KEY");
    if (!block) {
      if (blocks.some((b) => b.label.includes("PRIVATE"))) {
        return publicFromPrivatePem(text, scheme);
      }
      throw keyError("no PEM public key block and not a JSON key");
    }
    const key = createPublicKey({ key: block.text, format: "pem" });
    const s = scheme ?? defaultScheme(key);
    const meta = sslibMetaOf(key, s);
    // securesystemslib keeps the RSA PEM exactly as in the file, trimmed to header..footer.
    if (meta.keytype === "rsa" && block.label === "PUBLIC KEY") meta.keyval.public = block.text;
    return { keyid: computeKeyId(meta), keytype: meta.keytype as KeyType, scheme: s, meta, key };
  } catch (e) {
    throw withFile(e, file);
  }
}

function publicFromPrivatePem(text: string, scheme?: Scheme): PublicKey {
  try {
    return publicKeyFromKeyObject(createPrivateKey({ key: text, format: "pem" }), scheme);
  } catch {
    throw keyError("the PEM holds an encrypted private key, not a public key");
  }
}

function withFile(e: unknown, file?: string): unknown {
  // Node's own errors (ERR_OSSL_*, ...) also have ERR_ codes: only a CairnError passes through as is.
  const err = e instanceof CairnError ? e : keyError(`not a valid key: ${(e as Error).message}`);
  return file ? err.inFile(file) : err;
}

/**
 * Reads a private key file: PEM (PKCS#8, PKCS#1, SEC1, passphrase-encrypted) or securesystemslib
 * JSON (plain or encrypted as securesystemslib encrypts it).
 */
export function parsePrivateKey(
  text: string,
  opts: { passphrase?: string; file?: string; scheme?: Scheme } = {},
): PrivateKey {
  const { passphrase, file } = opts;
  try {
    let body = text.trim();
    if (isSslibEncrypted(body)) {
      if (passphrase === undefined)
        throw cairnError("ERR_KEY_PASSPHRASE", "the key is encrypted: give its passphrase");
      body = decryptSslibKey(body, passphrase);
    }
    if (body.startsWith("{")) return privateFromSslib(parseJson(body, file), opts.scheme);
    const blocks = parsePemBlocks(body);
    const block = blocks.find((b) => b.label.endsWith("PRIVATE KEY"));
    if (!block) throw keyError("no PEM private key block and not a JSON key");
    const encrypted =
      block.label === "ENCRYPTED PRIVATE KEY" || block.headers["Proc-Type"]?.includes("ENCRYPTED");
    if (encrypted && passphrase === undefined) {
      throw cairnError("ERR_KEY_PASSPHRASE", "the key is encrypted: give its passphrase");
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: block.text, format: "pem", ...(encrypted ? { passphrase } : {}) });
    } catch (e) {
      if (encrypted) throw cairnError("ERR_KEY_PASSPHRASE", "the passphrase does not decrypt the key");
      throw keyError(`not a valid private key: ${(e as Error).message}`);
    }
    return { key, public: publicKeyFromKeyObject(key, opts.scheme) };
  } catch (e) {
    throw withFile(e, file);
  }
}

function privateFromSslib(obj: unknown, scheme?: Scheme): PrivateKey {
  if (!isJsonObject(obj) || !isJsonObject(obj.keyval) || typeof obj.keyval.private !== "string") {
    throw keyError("a securesystemslib private key needs keyval.private", "keyval.private");
  }
  const pub = publicKeyFromSslib(obj);
  const priv = obj.keyval.private;
  let key: KeyObject;
  try {
    if (pub.keytype === "ed25519") {
      const seed = fromHex(priv, "keyval.private");
      if (seed.length !== 32) throw keyError("an ed25519 private key is 32 bytes", "keyval.private");
      key = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
        format: "der",
        type: "pkcs8",
      });
    } else {
      key = createPrivateKey({ key: priv, format: "pem" });
    }
  } catch (e) {
    if (e instanceof Error && "category" in e) throw e;
    throw keyError("keyval.private is not a valid private key", "keyval.private");
  }
  const derived = toHex(createPublicKey(key).export({ type: "spki", format: "der" }));
  if (derived !== toHex(pub.key.export({ type: "spki", format: "der" }))) {
    throw keyError("keyval.private does not belong to keyval.public", "keyval.private");
  }
  return { key, public: scheme ? { ...pub, scheme } : pub };
}

// KeyObjects are immutable: a key's fingerprint is computed once (exporting costs more than a verify).
const fingerprints = new WeakMap<KeyObject, string>();

/** A stable identity for the key material itself (hex SPKI DER), whatever id names it. */
export function keyFingerprint(k: PublicKey): string {
  let f = fingerprints.get(k.key);
  if (f === undefined) {
    f = toHex(spkiDerOf(k.key));
    fingerprints.set(k.key, f);
  }
  return f;
}

const spkis = new WeakMap<KeyObject, Buffer>();

/**
 * A public (or private) key's DER SubjectPublicKeyInfo, exported once per key object. The buffer
 * is shared between callers: compare or copy it, never modify it.
 */
export function spkiDerOf(key: KeyObject): Buffer {
  let d = spkis.get(key);
  if (d === undefined) {
    d = (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });
    spkis.set(key, d);
  }
  return d;
}

/** Generates a new key pair. */
export function generateKey(
  type: KeyType,
  opts: { bits?: number; curve?: "P-256" | "P-384" } = {},
): PrivateKey {
  const pair =
    type === "ed25519"
      ? generateKeyPairSync("ed25519")
      : type === "ecdsa"
        ? generateKeyPairSync("ec", { namedCurve: opts.curve ?? "P-256" })
        : generateKeyPairSync("rsa", { modulusLength: opts.bits ?? 3072 });
  return { key: pair.privateKey, public: publicKeyFromKeyObject(pair.publicKey) };
}

/**
 * The files in-toto-keygen writes: RSA as PEM (private PKCS#1 or encrypted PKCS#8; public SPKI),
 * ed25519 and ECDSA as securesystemslib JSON (private encrypted the securesystemslib way).
 */
export function exportKeyFiles(
  k: PrivateKey,
  passphrase?: string,
): { privateText: string; publicText: string } {
  const pub = k.public;
  if (pub.keytype === "rsa") {
    const privateText = (
      passphrase
        ? k.key.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase })
        : k.key.export({ type: "pkcs1", format: "pem" })
    ) as string;
    return { privateText, publicText: pub.meta.keyval.public };
  }
  const priv =
    pub.keytype === "ed25519"
      ? toHex((k.key.export({ type: "pkcs8", format: "der" }) as Buffer).subarray(16))
      : (k.key.export({ type: "sec1", format: "pem" }) as string);
  const full = { ...pub.meta, keyid: pub.keyid, keyval: { public: pub.meta.keyval.public, private: priv } };
  const json = JSON.stringify(full);
  return {
    privateText: passphrase ? encryptSslibKey(json, passphrase) : json,
    publicText: JSON.stringify(pub.meta),
  };
}

/** Signs `data` as the key's scheme prescribes (RSASSA-PSS with a digest-length salt, as securesystemslib). */
export function signWith(k: PrivateKey, data: Uint8Array): Buffer {
  const s = SCHEMES[k.public.scheme];
  if (s.hash === null) return nodeSign(null, data, k.key);
  if (s.keytype === "ecdsa") return nodeSign(s.hash, data, { key: k.key, dsaEncoding: "der" });
  const pss = "pss" in s && s.pss;
  return nodeSign(s.hash, data, {
    key: k.key,
    padding: pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
    ...(pss ? { saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {}),
  });
}

/** Verifies a signature under the key's scheme; false on any failure, never throws for bad signatures. */
export function verifyWith(pub: PublicKey, data: Uint8Array, sig: Uint8Array): boolean {
  const s = SCHEMES[pub.scheme];
  try {
    if (s.hash === null) return nodeVerify(null, data, pub.key, sig);
    if (s.keytype === "ecdsa") return nodeVerify(s.hash, data, { key: pub.key, dsaEncoding: "der" }, sig);
    const pss = "pss" in s && s.pss;
    return nodeVerify(
      s.hash,
      data,
      {
        key: pub.key,
        padding: pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING,
        ...(pss ? { saltLength: constants.RSA_PSS_SALTLEN_AUTO } : {}),
      },
      sig,
    );
  } catch {
    return false;
  }
}
