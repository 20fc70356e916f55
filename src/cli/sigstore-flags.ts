// SPDX-License-Identifier: Apache-2.0
// The Sigstore flags that sign-blob/verify-blob and `cairn oci ... --form bundle` share, with
// cosign's names: who signs (--key [--certificate], or keyless --fulcio-url --identity-token),
// which log (--rekor-url, or the local log in --log-dir), and on the verifying side the trust
// (--trusted-root, or --trust-metadata-dir/-url from a TUF trust repository, with revocations)
// and the expected identity (--certificate-identity[-regexp], --certificate-oidc-issuer[-regexp],
// SPIFFE IDs, CI claims). Flags to options only: the engines do the work.
import { resolve } from "node:path";
import type { Command } from "commander";
import { parsePemBlocks } from "../core/encoding.js";
import { cairnError } from "../core/errors.js";
import { generateKey } from "../core/keys.js";
import { keySigner } from "../core/signer.js";
import type {
  BundleSigner,
  IdentityPolicy,
  Matcher,
  SignOptions,
  TransparencyLogPort,
} from "../engines/sigstore/index.js";
import type { RevocationList } from "../formats/revocation/index.js";
import { parseTrustedRootJson, type TrustedRoot } from "../formats/sigstore/index.js";
import { readFileRequired } from "../runtime/fs.js";
import { httpFetcher } from "../runtime/http.js";
import { loadSigner } from "../runtime/keyfiles.js";
import { fulcioCertificate, rekorHttpLog, timestampAuthorityHttp } from "../runtime/sigstore-remote.js";
import { passphraseFrom, signerRef } from "./commands/key.js";
import type { CliIO } from "./io.js";

/** Signing flags (the key flag itself is the command's: `-k, --key`). */
export interface SigstoreSignOpts {
  key?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  identityToken?: string;
  certificate?: string;
  logDir: string;
  logUrl?: string;
  passphraseEnv?: string;
  /** cosign's name: an RFC 3161 TSA to timestamp the signature (bundles). */
  timestampServerUrl?: string;
}

/** The signing engine's options the flags ask for: an RFC 3161 timestamp from --timestamp-server-url. */
export function signOptionsOf(o: SigstoreSignOpts): SignOptions {
  return o.timestampServerUrl === undefined
    ? {}
    : { timestampAuthorities: [timestampAuthorityHttp({ url: o.timestampServerUrl })] };
}

/** Adds the signing flags but `--key` and `--passphrase-env`. */
export function sigstoreSignOptions(c: Command): Command {
  return c
    .option("--certificate <file>", "PEM certificate for the key (otherwise the bundle names the key)")
    .option("--log-dir <dir>", "the local transparency log (created when new)", ".cairn/log")
    .option("--log-url <url>", "the base URL a new local log is known by (its trusted-root entry)")
    .option("--fulcio-url <url>", "keyless: get a certificate for an ephemeral key from this Fulcio v2 API")
    .option("--identity-token <token>", "keyless: the OIDC ID token (or a file holding it) for --fulcio-url")
    .option("--rekor-url <url>", "log in this Rekor v1 API instead of the local log (token: CAIRN_TOKEN)")
    .option(
      "--timestamp-server-url <url>",
      "also get an RFC 3161 timestamp over the signature from this TSA (sigstore/timestamp-authority API, e.g. cairn serve --tsa)",
    );
}

/** --identity-token: the token itself, or (as cosign takes it) a file holding it. */
async function identityToken(io: CliIO, v: string): Promise<string> {
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(v)) return v;
  return (await readFileRequired(resolve(io.cwd, v), "identity token file")).toString("utf8").trim();
}

/** Who signs: a key (with its certificate, when given), or keyless: an ephemeral key certified by Fulcio. */
export async function bundleSigner(io: CliIO, o: SigstoreSignOpts): Promise<BundleSigner> {
  if (o.fulcioUrl !== undefined || o.identityToken !== undefined) {
    // Keyless: an ephemeral key that lives only in this process, certified for the token's identity.
    if (o.key || o.certificate)
      throw cairnError("ERR_USAGE", "keyless signing (--fulcio-url) takes no --key or --certificate");
    if (o.fulcioUrl === undefined || o.identityToken === undefined)
      throw cairnError("ERR_USAGE", "keyless signing needs --fulcio-url and --identity-token");
    const s = keySigner(generateKey("ecdsa", { curve: "P-256" }));
    const token = await identityToken(io, o.identityToken);
    return { signer: s, certificate: await fulcioCertificate({ url: o.fulcioUrl, token, signer: s }) };
  }
  if (!o.key) {
    throw cairnError("ERR_USAGE", "give --key, or --fulcio-url and --identity-token for keyless signing");
  }
  const s = await loadSigner(signerRef(io, o.key), passphraseFrom(io, o.passphraseEnv));
  return o.certificate ? { signer: s, certificate: await readCertificate(io, o.certificate) } : { signer: s };
}

/** --certificate: the DER of the first PEM certificate in the file. */
export async function readCertificate(io: CliIO, file: string): Promise<Buffer> {
  const path = resolve(io.cwd, file);
  const blocks = parsePemBlocks((await readFileRequired(path, "certificate")).toString("utf8"));
  const cert = blocks.find((b) => b.label === "CERTIFICATE");
  if (!cert) throw cairnError("ERR_KEY_INVALID", "no PEM certificate in the file", { file: path });
  return cert.der;
}

/** Runs `fn` with the transparency log: the Rekor API at --rekor-url, or the local one in --log-dir. */
export async function withTransparencyLog<T>(
  io: CliIO,
  o: SigstoreSignOpts,
  fn: (log: TransparencyLogPort) => Promise<T>,
): Promise<T> {
  if (o.rekorUrl !== undefined)
    return fn(
      rekorHttpLog({ url: o.rekorUrl, ...(io.env.token !== undefined ? { token: io.env.token } : {}) }),
    );
  // Loaded when used: the local log's SQL layer is most of what a command would load at start.
  const { openLocalLog } = await import("../runtime/sigstore-log.js");
  const l = await openLocalLog(resolve(io.cwd, o.logDir), o.logUrl);
  try {
    return await fn(l.log);
  } finally {
    await l.close();
  }
}

/** Trust and identity flags for verifying bundles (the key flag is the command's). */
export interface SigstoreVerifyOpts {
  trustedRoot?: string;
  trustMetadataDir?: string;
  trustMetadataUrl?: string;
  trustTargetsUrl?: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  certificateSpiffeId?: string;
  certificateSpiffeIdRegexp?: string;
  certificateGithubWorkflowRepository?: string;
  certificateGithubWorkflowRef?: string;
  certificateGithubWorkflowName?: string;
}

/** Adds --trusted-root, the TUF trust flags and the identity flags. */
export function sigstoreVerifyOptions(c: Command): Command {
  return (
    c
      .option(
        "--trusted-root <file>",
        "trusted_root.json naming the CAs, logs, CT logs and timestamp authorities",
      )
      // revoke: the same flags as cairn verify's layout keys from TUF
      .option(
        "--trust-metadata-dir <dir>",
        "instead of --trusted-root: a TUF client directory (root.json trusted) whose repository publishes the trusted root and revocations",
      )
      .option("--trust-metadata-url <url>", "with --trust-metadata-dir: the repository's metadata URL")
      .option("--trust-targets-url <url>", "with --trust-metadata-dir: the repository's targets URL")
      .option("--certificate-identity <id>", "the expected signer: a SAN email or URI, exactly")
      .option("--certificate-identity-regexp <re>", "the expected signer, as a regular expression (anchored)")
      .option("--certificate-oidc-issuer <url>", "the expected OIDC issuer, exactly")
      .option(
        "--certificate-oidc-issuer-regexp <re>",
        "the expected OIDC issuer, as a regular expression (anchored)",
      )
      .option("--certificate-spiffe-id <id>", "the expected SPIFFE ID (an X.509-SVID), exactly")
      .option(
        "--certificate-spiffe-id-regexp <re>",
        "the expected SPIFFE ID, as a regular expression (anchored)",
      )
      .option("--certificate-github-workflow-repository <uri>", "CI claim: the source repository")
      .option("--certificate-github-workflow-ref <ref>", "CI claim: the source repository ref")
      .option(
        "--certificate-github-workflow-name <re>",
        "CI claim: the workflow (build signer URI), regular expression",
      )
  );
}

function matcher(exact: string | undefined, regexp: string | undefined, flag: string): Matcher | undefined {
  if (exact !== undefined && regexp !== undefined) {
    throw cairnError("ERR_USAGE", `give --${flag} or --${flag}-regexp, not both`);
  }
  if (exact !== undefined) return { exact };
  if (regexp !== undefined) return { regexp };
  return undefined;
}

/** The identity policy the flags ask for, or undefined when none was given. */
export function identityPolicyOf(o: SigstoreVerifyOpts): IdentityPolicy | undefined {
  const p: IdentityPolicy = {};
  const identity = matcher(o.certificateIdentity, o.certificateIdentityRegexp, "certificate-identity");
  const issuer = matcher(o.certificateOidcIssuer, o.certificateOidcIssuerRegexp, "certificate-oidc-issuer");
  const spiffeId = matcher(o.certificateSpiffeId, o.certificateSpiffeIdRegexp, "certificate-spiffe-id");
  if (identity) p.identity = identity;
  if (issuer) p.issuer = issuer;
  if (spiffeId) p.spiffeId = spiffeId;
  if (o.certificateGithubWorkflowRepository !== undefined)
    p.repository = { exact: o.certificateGithubWorkflowRepository };
  if (o.certificateGithubWorkflowRef !== undefined) p.ref = { exact: o.certificateGithubWorkflowRef };
  if (o.certificateGithubWorkflowName !== undefined) p.workflow = { regexp: o.certificateGithubWorkflowName };
  return Object.keys(p).length ? p : undefined;
}

/**
 * cosign asks for both the identity and the issuer; a SPIFFE ID names its trust domain itself,
 * and workload certificates need not carry an OIDC issuer. ERR_USAGE otherwise.
 */
export function requireSigner(policy: IdentityPolicy | undefined): IdentityPolicy {
  const named = policy && (policy.identity || policy.spiffeId);
  if (!named || (!policy.issuer && !policy.spiffeId)) {
    throw cairnError(
      "ERR_USAGE",
      "give the expected signer: --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --certificate-spiffe-id[-regexp]",
    );
  }
  return policy;
}

/** The trusted root (and revocations, from TUF) the flags name: exactly one source. */
export async function loadSigstoreTrust(
  io: CliIO,
  o: SigstoreVerifyOpts,
  userAgent: string,
): Promise<{ trustedRoot: TrustedRoot; revocations?: RevocationList }> {
  if ((o.trustedRoot === undefined) === (o.trustMetadataDir === undefined))
    throw cairnError(
      "ERR_USAGE",
      "give --trusted-root FILE or --trust-metadata-dir DIR (a TUF trust repository), not both",
    );
  if (o.trustedRoot !== undefined) {
    const rootPath = resolve(io.cwd, o.trustedRoot);
    return { trustedRoot: parseTrustedRootJson(await readFileRequired(rootPath, "trusted root"), rootPath) };
  }
  // A TUF client for the trust repository, refreshed before use, so rotations and revocations are seen.
  if (o.trustMetadataUrl === undefined || o.trustTargetsUrl === undefined) {
    throw cairnError("ERR_USAGE", "--trust-metadata-dir needs --trust-metadata-url and --trust-targets-url");
  }
  const [{ fetchSigstoreTrust, TufClient }, { directoryMetadataStore }] = await Promise.all([
    import("../engines/tuf/index.js"),
    import("../runtime/tuf-store.js"),
  ]);
  const client = new TufClient({
    metadataUrl: o.trustMetadataUrl,
    targetBaseUrl: o.trustTargetsUrl,
    store: directoryMetadataStore(resolve(io.cwd, o.trustMetadataDir!)),
    fetcher: httpFetcher({ userAgent }),
  });
  const { trustedRoot, revocations } = await fetchSigstoreTrust(client);
  return revocations ? { trustedRoot, revocations } : { trustedRoot };
}
