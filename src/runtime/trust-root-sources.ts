// SPDX-License-Identifier: Apache-2.0
// The trusted root of `cairn trust root`, assembled from where cairn keeps its keys: local log
// directories, `cairn serve` data directories, `cairn ca init` and `cairn tsa init` directories,
// and PEM files of other logs, CT logs and authorities. Each entry gets its validity: from
// `validFrom` when given, else from what its source says (a log's creation, a certificate's
// validity), ended where `validUntil` names the source (a rotated-out key or chain).
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { parsePemBlocks } from "../core/encoding.js";
import { cairnError } from "../core/errors.js";
import { type AuthoritySpec, buildTrustedRoot, type LogKeySpec } from "../engines/sigstore/index.js";
import type { TrustedRoot } from "../formats/sigstore/index.js";
import { describeCaDirectory } from "./ca-store.js";
import { readFileRequired } from "./fs.js";
import { describeDataDir } from "./log-node.js";
import { localLogKeys } from "./sigstore-log.js";
import { describeTsaDirectory } from "./tsa-store.js";

/** A base URL or URI and the PEM file of its key or chain. */
export type UrlFile = [url: string, file: string];

export interface TrustRootSources {
  /** Local transparency logs (cairn sign-blob --log-dir). */
  logDirs: string[];
  /** `cairn serve` data directories: the log key at https://ORIGIN. */
  serveData: string[];
  /** `cairn ca init` directories: every intermediate's chain and the CT key. */
  caDirs: string[];
  /** The URL the CA directories' CA and CT log are known by (default https://ORIGIN's host). */
  caUrl?: string;
  /** `cairn tsa init` directories. */
  tsaDirs: string[];
  tsaUrl?: string;
  tlogs: UrlFile[];
  ctlogs: UrlFile[];
  cas: UrlFile[];
  tsas: UrlFile[];
  /** The start of everything's validity, instead of what each source says. */
  validFrom?: Date;
  /** Ends the validity of a source, named as given (a directory or a PEM file). */
  validUntil: Map<string, Date>;
}

async function pemKey(path: string): Promise<KeyObject> {
  try {
    return createPublicKey((await readFileRequired(path, "public key")).toString("utf8"));
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_NOT_FOUND") throw e;
    throw cairnError("ERR_KEY_INVALID", "not a PEM public key", { file: path }, { cause: e });
  }
}

async function pemChain(path: string): Promise<Buffer[]> {
  const certs = parsePemBlocks((await readFileRequired(path, "certificate chain")).toString("utf8"))
    .filter((b) => b.label === "CERTIFICATE")
    .map((b) => b.der);
  if (certs.length === 0)
    throw cairnError("ERR_KEY_INVALID", "no PEM certificates in the file", { file: path });
  return certs;
}

const ders = (pems: string[]) => pems.flatMap((p) => parsePemBlocks(p).map((b) => b.der));

/**
 * Builds the trusted root. Paths are as the caller resolved them; `validUntil` keys must name a
 * source among them (ERR_USAGE otherwise).
 */
export async function trustedRootFromSources(s: TrustRootSources): Promise<TrustedRoot> {
  const validity = { start: s.validFrom ?? new Date() };
  const used = new Set<string>();
  /** The validity of `source`, ended when validUntil names it. */
  const ending = <T extends { start: Date } | undefined>(source: string, v: T) => {
    const end = s.validUntil.get(source);
    if (end === undefined) return v;
    used.add(source);
    return { start: v?.start ?? new Date(0), end };
  };
  const tlogs: LogKeySpec[] = [];
  for (const dir of s.logDirs) {
    const { config, key } = await localLogKeys(dir);
    // A local log's key is valid from the log's creation unless validFrom says otherwise.
    const from = s.validFrom ? validity : { start: new Date(config.createdAt) };
    tlogs.push({ baseUrl: config.baseUrl, publicKey: createPublicKey(key), validity: ending(dir, from) });
  }
  for (const [url, file] of s.tlogs)
    tlogs.push({ baseUrl: url, publicKey: await pemKey(file), validity: ending(file, validity) });
  let host = "cairn.local";
  for (const dir of s.serveData) {
    const d = await describeDataDir(dir);
    host = d.origin.split("/")[0]!;
    // Sigstore verifiers look for the checkpoint's key name (the origin) in the log's baseUrl.
    tlogs.push({
      baseUrl: `https://${d.origin}`,
      publicKey: d.publicKey,
      validity: ending(dir, s.validFrom ? validity : { start: d.createdAt }),
    });
  }
  const ctlogs: LogKeySpec[] = [];
  const certificateAuthorities: AuthoritySpec[] = [];
  const caUrl = s.caUrl ?? `https://${host}`;
  for (const dir of s.caDirs) {
    const d = await describeCaDirectory(dir);
    // One authority per intermediate, valid while it is: certificates issued before a rotation
    // keep verifying against the chain that issued them.
    for (const c of d.chains) {
      certificateAuthorities.push({
        uri: caUrl,
        chain: ders(c.certificates),
        validity: s.validFrom ? validity : { start: new Date(c.notBefore), end: new Date(c.notAfter) },
      });
    }
    // The CT key was made with the CA: valid from its first certificate.
    const since = d.chains.map((c) => new Date(c.notBefore).getTime());
    ctlogs.push({
      baseUrl: `${caUrl.replace(/\/$/, "")}/ct`,
      publicKey: createPublicKey(d.ct.publicKey),
      validity: s.validFrom || since.length === 0 ? validity : { start: new Date(Math.min(...since)) },
    });
  }
  for (const [url, file] of s.ctlogs)
    ctlogs.push({ baseUrl: url, publicKey: await pemKey(file), validity: ending(file, validity) });
  const authorities = async (list: UrlFile[]): Promise<AuthoritySpec[]> => {
    const out: AuthoritySpec[] = [];
    for (const [uri, file] of list) {
      const chain = await pemChain(file);
      // Valid from the certificates' own validity unless validFrom says otherwise; ended without
      // validFrom, from the first certificate's notBefore.
      const own = s.validFrom
        ? validity
        : s.validUntil.has(file)
          ? { start: new Date(new X509Certificate(chain[0]!).validFrom) }
          : undefined;
      const range = ending(file, own);
      out.push(range ? { uri, chain, validity: range } : { uri, chain });
    }
    return out;
  };
  certificateAuthorities.push(...(await authorities(s.cas)));
  const timestampAuthorities: AuthoritySpec[] = [];
  for (const dir of s.tsaDirs) {
    const d = await describeTsaDirectory(dir);
    const own = s.validFrom ? validity : { start: new Date(d.notBefore), end: new Date(d.notAfter) };
    timestampAuthorities.push({
      uri: s.tsaUrl ?? `https://${host}`,
      chain: ders(d.certificates),
      validity: ending(dir, own),
    });
  }
  timestampAuthorities.push(...(await authorities(s.tsas)));
  for (const source of s.validUntil.keys())
    if (!used.has(source)) throw cairnError("ERR_USAGE", `--valid-until ${source}: no such source`);
  return buildTrustedRoot({ tlogs, ctlogs, certificateAuthorities, timestampAuthorities });
}
