// SPDX-License-Identifier: Apache-2.0
// The CA's directory: certificates (PEM), private keys (passphrase-encrypted PKCS#8 PEM, mode
// 0600, or any signer reference such as `env:NAME`), and ca.json naming which key belongs to
// which certificate. Rotation adds a root or an intermediate and never removes one: the old ones
// stay in the trust bundle until they expire, so certificates they issued keep verifying.

import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { isAbsolute, join } from "node:path";
import { type Clock, systemClock } from "../core/clock.js";
import { toPem } from "../core/encoding.js";
import { CairnError, cairnError } from "../core/errors.js";
import { isJsonObject, parseJson } from "../core/json.js";
import { parsePrivateKey, spkiDerOf } from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import {
  CaService,
  type CaSubject,
  CertificateAuthority,
  type CertificateLogPort,
  CtLog,
  createIntermediateCertificate,
  createRootCertificate,
  type DocumentFetcher,
  type IssuingCa,
  type OidcIssuerConfig,
  OidcVerifier,
  parseIssuerConfigs,
  type RateLimitOptions,
  type TokenReuse,
  x509,
} from "../engines/ca/index.js";
import { logIdOfKey } from "../formats/sigstore/index.js";
import { readDescription } from "./documents.js";
import { readFileRequired, writeFileAtomic } from "./fs.js";
import { httpFetcher } from "./http.js";
import { loadSigner } from "./keyfiles.js";

/** ca.json, version 1. File names are relative to the directory. */
export interface CaManifest {
  version: 1;
  subject: CaSubject;
  roots: { certificate: string; key: string }[];
  intermediates: { certificate: string; key: string; root: string }[];
  ct: { key: string; publicKey: string };
}

export const CA_MANIFEST = "ca.json";
export const DAY = 86_400_000;
/** Largest manifest (ca.json, tsa.json) read. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface CaInitOptions {
  subject: CaSubject;
  /** Encrypts every key file written (required: CA keys are never written in the clear). */
  passphrase: string;
  now?: Date;
  rootDays?: number;
  intermediateDays?: number;
}

/** Writes a new EC key, encrypted with `passphrase`, as `dir/name` (mode 0600); returns its signer. */
export async function writeKey(
  dir: string,
  name: string,
  curve: "P-256" | "P-384",
  passphrase: string,
): Promise<Signer> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
  const pem = privateKey.export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase,
  }) as string;
  await writeFileAtomic(join(dir, name), pem, 0o600);
  return keySigner(parsePrivateKey(pem, { passphrase }));
}

export function requirePassphrase(p: string | undefined): string {
  if (!p) throw cairnError("ERR_USAGE", "CA keys are encrypted: give a passphrase");
  return p;
}

async function writeManifest(dir: string, m: CaManifest): Promise<void> {
  await writeFileAtomic(join(dir, CA_MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
}

/** Creates a CA in `dir`: a root (ECDSA P-384), an intermediate (P-384) and a CT log key (P-256). */
export async function initCaDirectory(dir: string, opts: CaInitOptions): Promise<CaManifest> {
  const passphrase = requirePassphrase(opts.passphrase);
  const now = opts.now ?? new Date();
  const rootSigner = await writeKey(dir, "root-1.key", "P-384", passphrase);
  const root = await createRootCertificate({
    signer: rootSigner,
    subject: { ...opts.subject, commonName: `${opts.subject.commonName} root` },
    notBefore: now,
    notAfter: new Date(now.getTime() + (opts.rootDays ?? 3650) * DAY),
  });
  await writeFileAtomic(join(dir, "root-1.pem"), toPem("CERTIFICATE", root));
  const m: CaManifest = {
    version: 1,
    subject: opts.subject,
    roots: [{ certificate: "root-1.pem", key: "root-1.key" }],
    intermediates: [],
    ct: { key: "ct.key", publicKey: "ct.pub" },
  };
  const ct = await writeKey(dir, "ct.key", "P-256", passphrase);
  await writeFileAtomic(
    join(dir, "ct.pub"),
    ct.publicKey.key.export({ type: "spki", format: "pem" }) as string,
  );
  await addIntermediate(
    dir,
    m,
    { certificate: root, signer: rootSigner },
    "root-1.pem",
    passphrase,
    now,
    opts.intermediateDays ?? 365,
  );
  await writeManifest(dir, m);
  return m;
}

async function addIntermediate(
  dir: string,
  m: CaManifest,
  root: { certificate: Buffer; signer: Signer },
  rootFile: string,
  passphrase: string,
  now: Date,
  days: number,
): Promise<void> {
  const n = m.intermediates.length + 1;
  const signer = await writeKey(dir, `intermediate-${n}.key`, "P-384", passphrase);
  const rootEnd = new Date(x509(root.certificate).validTo);
  const end = new Date(Math.min(now.getTime() + days * DAY, rootEnd.getTime()));
  if (end.getTime() - now.getTime() < DAY)
    throw cairnError("ERR_USAGE", "the root expires within a day: rotate the root (--root)");
  const cert = await createIntermediateCertificate({
    root,
    publicKey: signer.publicKey.key,
    subject: { ...m.subject, commonName: `${m.subject.commonName} intermediate ${n}` },
    notBefore: now,
    notAfter: end,
  });
  await writeFileAtomic(join(dir, `intermediate-${n}.pem`), toPem("CERTIFICATE", cert));
  m.intermediates.push({
    certificate: `intermediate-${n}.pem`,
    key: `intermediate-${n}.key`,
    root: rootFile,
  });
}

/**
 * Reads an authority's manifest (ca.json, tsa.json), at most MAX_MANIFEST_BYTES: version 1 and
 * the subject are checked here, the rest by `check`. ERR_FIELD_INVALID names the file otherwise.
 */
export async function readManifest(
  path: string,
  what: string,
  check: (m: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const bytes = await readFileRequired(path, what);
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw cairnError("ERR_JSON_TOO_LARGE", `the ${what} is too large`, { file: path });
  const m = parseJson(bytes.toString("utf8"), path);
  if (
    !isJsonObject(m) ||
    m.version !== 1 ||
    !isJsonObject(m.subject) ||
    typeof m.subject.organization !== "string" ||
    typeof m.subject.commonName !== "string" ||
    !check(m)
  )
    throw cairnError("ERR_FIELD_INVALID", `not a version 1 ${what}`, { file: path });
  return m;
}

/** True when `v` is a list of objects whose `keys` are non-empty strings (file names). */
export const manifestFiles = (v: unknown, keys: string[]): boolean =>
  Array.isArray(v) &&
  v.every((e) => isJsonObject(e) && keys.every((k) => typeof e[k] === "string" && e[k] !== ""));

/** Reads and checks ca.json. */
export async function readCaManifest(dir: string): Promise<CaManifest> {
  const m = await readManifest(
    join(dir, CA_MANIFEST),
    "CA manifest",
    (m) =>
      manifestFiles(m.roots, ["certificate", "key"]) &&
      manifestFiles(m.intermediates, ["certificate", "key", "root"]) &&
      manifestFiles([m.ct], ["key", "publicKey"]),
  );
  return m as unknown as CaManifest;
}

/** The DER of the PEM certificate `f` in `dir`. */
export const certOf = async (dir: string, f: string) =>
  x509Der(await readFileRequired(join(dir, f), "certificate"));
function x509Der(pem: Buffer): Buffer {
  return Buffer.from(x509(pem).raw);
}
// A key reference: a file in the directory, an absolute path, or a signer URI (env:NAME, later kms:).
export const keyRef = (dir: string, ref: string) =>
  /^[a-z]+:/.test(ref) || isAbsolute(ref) ? ref : join(dir, ref);

/** Adds an intermediate under the newest root (or, with `newRoot`, a new root and an intermediate under it). */
export async function rotateCaDirectory(
  dir: string,
  opts: { passphrase: string; newRoot?: boolean; now?: Date; rootDays?: number; intermediateDays?: number },
): Promise<CaManifest> {
  const passphrase = requirePassphrase(opts.passphrase);
  const m = await readCaManifest(dir);
  const now = opts.now ?? new Date();
  let rootEntry = m.roots[m.roots.length - 1]!;
  let root: { certificate: Buffer; signer: Signer };
  if (opts.newRoot) {
    const n = m.roots.length + 1;
    const signer = await writeKey(dir, `root-${n}.key`, "P-384", passphrase);
    const certificate = await createRootCertificate({
      signer,
      subject: { ...m.subject, commonName: `${m.subject.commonName} root ${n}` },
      notBefore: now,
      notAfter: new Date(now.getTime() + (opts.rootDays ?? 3650) * DAY),
    });
    await writeFileAtomic(join(dir, `root-${n}.pem`), toPem("CERTIFICATE", certificate));
    rootEntry = { certificate: `root-${n}.pem`, key: `root-${n}.key` };
    m.roots.push(rootEntry);
    root = { certificate, signer };
  } else {
    root = {
      certificate: await certOf(dir, rootEntry.certificate),
      signer: await loadSigner(keyRef(dir, rootEntry.key), passphrase),
    };
  }
  await addIntermediate(dir, m, root, rootEntry.certificate, passphrase, now, opts.intermediateDays ?? 365);
  await writeManifest(dir, m);
  return m;
}

/** What a running CA needs: every intermediate with its key and chain, and the CT log key. */
export interface LoadedCa {
  manifest: CaManifest;
  issuers: IssuingCa[];
  ctSigner: Signer;
}

/** Loads the CA (decrypting its keys) for issuance. */
export async function loadCaDirectory(dir: string, passphrase: string | undefined): Promise<LoadedCa> {
  const m = await readCaManifest(dir);
  const issuers: IssuingCa[] = [];
  for (const i of m.intermediates) {
    issuers.push({
      certificate: await certOf(dir, i.certificate),
      signer: await loadSigner(keyRef(dir, i.key), passphrase),
      parents: [await certOf(dir, i.root)],
    });
  }
  return { manifest: m, issuers, ctSigner: await loadSigner(keyRef(dir, m.ct.key), passphrase) };
}

/** The public side of the CA (no passphrase needed): chains with validity, and the CT log key and id. */
export async function describeCaDirectory(dir: string): Promise<{
  chains: { certificates: string[]; notBefore: string; notAfter: string; fingerprint: string }[];
  ct: { publicKey: string; logId: string };
}> {
  const m = await readCaManifest(dir);
  const chains = [];
  for (const i of m.intermediates) {
    const inter = await certOf(dir, i.certificate);
    const root = await certOf(dir, i.root);
    const c = x509(inter);
    chains.push({
      certificates: [toPem("CERTIFICATE", inter), toPem("CERTIFICATE", root)],
      notBefore: new Date(c.validFrom).toISOString(),
      notAfter: new Date(c.validTo).toISOString(),
      fingerprint: c.fingerprint256,
    });
  }
  const pub = (await readFileRequired(join(dir, m.ct.publicKey), "CT public key")).toString("utf8");
  const logId = logIdOfKey(spkiDerOf(createPublicKey(pub))).toString("base64");
  return { chains, ct: { publicKey: pub, logId } };
}

/** Everything a CA server needs besides the directory. */
export interface CaServiceSetup {
  issuers: OidcIssuerConfig[];
  /** The transparency log the CT log records into (e.g. `sequencerCertificateLog(sequencer)`). */
  log: CertificateLogPort;
  clock?: Clock;
  fetcher?: DocumentFetcher;
  rateLimit?: RateLimitOptions;
  tokenReuse?: TokenReuse;
}

/** Composes a loaded CA directory into the request workflow `fulcioRoutes` serves. */
export function caServiceFrom(loaded: LoadedCa, setup: CaServiceSetup): CaService {
  const clock = setup.clock ?? systemClock;
  const ctLog = new CtLog(loaded.ctSigner, setup.log, clock);
  const ca = new CertificateAuthority({ issuers: loaded.issuers, clock, ctLog });
  const oidc = new OidcVerifier({ issuers: setup.issuers, fetcher: setup.fetcher ?? httpFetcher(), clock });
  return new CaService({
    ca,
    oidc,
    clock,
    ...(setup.rateLimit ? { rateLimit: setup.rateLimit } : {}),
    ...(setup.tokenReuse ? { tokenReuse: setup.tokenReuse } : {}),
  });
}

/** Largest issuer configuration or passphrase file read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads the trusted OIDC issuers of a CA server from a file: JSON (`.json`) or YAML, either a list
 * of issuers or `{issuers: [...]}` (the fields of docs/ca.md). Errors name the file and the field
 * (`issuers[0].audience`); the codes are ERR_FIELD_INVALID, ERR_JSON_*, ERR_YAML_MALFORMED,
 * ERR_NOT_FOUND.
 */
export async function readIssuerConfigFile(path: string): Promise<OidcIssuerConfig[]> {
  const size = (await readFileRequired(path, "OIDC issuer configuration")).length;
  if (size > MAX_CONFIG_BYTES)
    throw cairnError("ERR_JSON_TOO_LARGE", "the issuer configuration is too large", { file: path });
  const doc = await readDescription(path);
  const list = isJsonObject(doc) && "issuers" in doc ? doc.issuers : doc;
  try {
    const issuers = parseIssuerConfigs(list);
    if (issuers.length === 0)
      throw cairnError("ERR_FIELD_INVALID", "name at least one trusted issuer", { field: "issuers" });
    return issuers;
  } catch (e) {
    throw e instanceof CairnError ? e.inFile(path) : e;
  }
}

/**
 * Reads a secret (a key passphrase) from a file: its first line, without the line ending. An
 * empty secret is refused (ERR_USAGE): CA keys are never used unencrypted. The secret is never
 * part of an error message.
 */
export async function readSecretFile(path: string, what = "passphrase file"): Promise<string> {
  const bytes = await readFileRequired(path, what);
  if (bytes.length > MAX_CONFIG_BYTES)
    throw cairnError("ERR_USAGE", `the ${what} is too large`, { file: path });
  const secret = bytes.toString("utf8").split(/\r?\n/, 1)[0] ?? "";
  if (secret === "") throw cairnError("ERR_USAGE", `the ${what} is empty`, { file: path });
  return secret;
}
