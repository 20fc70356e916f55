// SPDX-License-Identifier: Apache-2.0
// The time-stamp authority's directory (`cairn tsa init`): a root and a signing certificate (PEM),
// their keys (passphrase-encrypted PKCS#8 PEM, mode 0600, or a signer reference such as
// `env:NAME`), and tsa.json naming them with the TSA's policy OID. Laid out as the CA's directory
// is (runtime/ca-store.ts), with which it shares key writing and reading.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, systemClock } from "../core/clock.js";
import { toPem } from "../core/encoding.js";
import { cairnError } from "../core/errors.js";
import { type CaSubject, createRootCertificate, x509 } from "../engines/ca/index.js";
import { createTsaCertificate, TimestampAuthority } from "../engines/tsa/index.js";
import { isDottedOid } from "../formats/sigstore/index.js";
import {
  type CaInitOptions,
  certOf,
  DAY,
  keyRef,
  manifestFiles,
  readManifest,
  requirePassphrase,
  writeKey,
} from "./ca-store.js";
import { writeFileAtomic } from "./fs.js";
import { loadSigner } from "./keyfiles.js";

/** tsa.json, version 1. File names are relative to the directory. */
export interface TsaManifest {
  version: 1;
  subject: CaSubject;
  /** The TSA policy OID every token names (RFC 3161 2.4.2). */
  policy: string;
  root: { certificate: string; key: string };
  signer: { certificate: string; key: string };
}

export const TSA_MANIFEST = "tsa.json";
/**
 * The default policy: the one sigstore/timestamp-authority issues under (Sigstore's arc,
 * 1.3.6.1.4.1.57264.2). An operator with its own policy passes `--policy OID`.
 */
export const DEFAULT_TSA_POLICY = "1.3.6.1.4.1.57264.2";
/** As a CA's (keys always encrypted), with a policy and the signing certificate's validity. */
export interface TsaInitOptions extends Omit<CaInitOptions, "intermediateDays"> {
  policy?: string;
  /** Validity of the signing certificate in days (within the root's). */
  days?: number;
}

/**
 * Creates a TSA in `dir`: a root (ECDSA P-384) and a signing certificate (P-256, critical
 * timeStamping usage). Refuses a directory that already holds one (ERR_USAGE): its tokens would
 * stop verifying against a new chain.
 */
export async function initTsaDirectory(dir: string, opts: TsaInitOptions): Promise<TsaManifest> {
  const passphrase = requirePassphrase(opts.passphrase);
  const exists = await access(join(dir, TSA_MANIFEST)).then(
    () => true,
    () => false,
  );
  if (exists)
    throw cairnError("ERR_USAGE", "the directory already holds a TSA", { file: join(dir, TSA_MANIFEST) });
  const policy = opts.policy ?? DEFAULT_TSA_POLICY;
  if (!isDottedOid(policy))
    throw cairnError("ERR_USAGE", `--policy ${policy} is not a dotted object identifier`);
  // X.509 times have whole seconds.
  const now = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);
  const rootEnd = new Date(now.getTime() + (opts.rootDays ?? 3650) * DAY);
  const rootSigner = await writeKey(dir, "tsa-root.key", "P-384", passphrase);
  const root = await createRootCertificate({
    signer: rootSigner,
    subject: { ...opts.subject, commonName: `${opts.subject.commonName} root` },
    notBefore: now,
    notAfter: rootEnd,
  });
  await writeFileAtomic(join(dir, "tsa-root.pem"), toPem("CERTIFICATE", root));
  const signer = await writeKey(dir, "tsa-1.key", "P-256", passphrase);
  const leaf = await createTsaCertificate({
    root: { certificate: root, signer: rootSigner },
    publicKey: signer.publicKey.key,
    subject: opts.subject,
    notBefore: now,
    notAfter: new Date(Math.min(now.getTime() + (opts.days ?? 1825) * DAY, rootEnd.getTime())),
  });
  await writeFileAtomic(join(dir, "tsa-1.pem"), toPem("CERTIFICATE", leaf));
  const m: TsaManifest = {
    version: 1,
    subject: opts.subject,
    policy,
    root: { certificate: "tsa-root.pem", key: "tsa-root.key" },
    signer: { certificate: "tsa-1.pem", key: "tsa-1.key" },
  };
  // Written last: a directory without tsa.json holds no TSA, whatever else a failed init left.
  await writeFileAtomic(join(dir, TSA_MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
  return m;
}

/** Reads and checks tsa.json. */
export async function readTsaManifest(dir: string): Promise<TsaManifest> {
  const m = await readManifest(
    join(dir, TSA_MANIFEST),
    "TSA manifest",
    (m) =>
      typeof m.policy === "string" &&
      isDottedOid(m.policy) &&
      manifestFiles([m.root, m.signer], ["certificate", "key"]),
  );
  return m as unknown as TsaManifest;
}

/** Loads the TSA (decrypting its signing key) for issuance. */
export async function loadTsaDirectory(
  dir: string,
  passphrase: string | undefined,
  clock: Clock = systemClock,
): Promise<TimestampAuthority> {
  const m = await readTsaManifest(dir);
  return new TimestampAuthority({
    signer: await loadSigner(keyRef(dir, m.signer.key), passphrase),
    chain: [await certOf(dir, m.signer.certificate), await certOf(dir, m.root.certificate)],
    policy: m.policy,
    clock,
  });
}

/** The public side of the TSA (no passphrase needed): its chain (PEM, signing certificate first), validity and policy. */
export async function describeTsaDirectory(dir: string): Promise<{
  certificates: string[];
  notBefore: string;
  notAfter: string;
  fingerprint: string;
  policy: string;
}> {
  const m = await readTsaManifest(dir);
  const leaf = await certOf(dir, m.signer.certificate);
  const root = await certOf(dir, m.root.certificate);
  const c = x509(leaf);
  return {
    certificates: [toPem("CERTIFICATE", leaf), toPem("CERTIFICATE", root)],
    notBefore: new Date(c.validFrom).toISOString(),
    notAfter: new Date(c.validTo).toISOString(),
    fingerprint: c.fingerprint256,
    policy: m.policy,
  };
}
