// SPDX-License-Identifier: Apache-2.0
// cairn sign-blob | attest-blob | verify-blob | verify-blob-attestation: Sigstore bundles (v0.3
// written, v0.1-v0.3 read) with cosign's flag names. Signing logs through a Rekor v1 API
// (--rekor-url) or the local log in --log-dir, with a key or keyless (an ephemeral key certified by
// a Fulcio v2 API for an OIDC token); verification is offline against --trusted-root.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { hashFile } from "../../core/digest.js";
import { fromHex, parsePemBlocks } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import {
  type ArtifactInput,
  type IdentityPolicy,
  type Matcher,
  signBlob,
  signDsse,
  type TransparencyLogPort,
  type VerifiedBundle,
  verifyBundle,
} from "../../engines/sigstore/index.js";
// revoke: the trusted root and revocations from a TUF trust repository (issue 6, section 4)
import { fetchSigstoreTrust, TufClient } from "../../engines/tuf/index.js";
import type { RevocationList } from "../../formats/revocation/index.js";
import {
  type Bundle,
  parseBundleJson,
  parseTrustedRootJson,
  serializeBundle,
} from "../../formats/sigstore/index.js";
import { readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import { httpFetcher } from "../../runtime/http.js";
import { loadPublicKeyFile, loadSigner } from "../../runtime/keyfiles.js";
import { openLocalLog } from "../../runtime/sigstore-log.js";
import { fulcioCertificate, rekorHttpLog } from "../../runtime/sigstore-remote.js";
import { directoryMetadataStore } from "../../runtime/tuf-store.js";
import { type CliIO, write } from "../io.js";
import { passphraseFrom, signerRef } from "./key.js";

interface SignOpts {
  bundle: string;
  key?: string;
  fulcioUrl?: string;
  rekorUrl?: string;
  identityToken?: string;
  certificate?: string;
  logDir: string;
  logUrl?: string;
  passphraseEnv?: string;
  json?: boolean;
}

function signOptions(c: Command): Command {
  return c
    .requiredOption("--bundle <file>", "where to write the Sigstore bundle (v0.3)")
    .option("-k, --key <key>", "private key: a file, file:PATH or env:NAME")
    .option("--certificate <file>", "PEM certificate for the key (otherwise the bundle names the key)")
    .option("--log-dir <dir>", "the local transparency log (created when new)", ".cairn/log")
    .option("--log-url <url>", "the base URL a new local log is known by (its trusted-root entry)")
    .option("--passphrase-env <NAME>", "the private key's passphrase is in this environment variable")
    .option("--fulcio-url <url>", "keyless: get a certificate for an ephemeral key from this Fulcio v2 API")
    .option("--identity-token <token>", "keyless: the OIDC ID token (or a file holding it) for --fulcio-url")
    .option("--rekor-url <url>", "log in this Rekor v1 API instead of the local log (token: CAIRN_TOKEN)")
    .option("--json", "print the result as JSON");
}

/** --identity-token: the token itself, or (as cosign takes it) a file holding it. */
async function identityToken(io: CliIO, v: string): Promise<string> {
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(v)) return v;
  return (await readFileRequired(resolve(io.cwd, v), "identity token file")).toString("utf8").trim();
}

async function signer(io: CliIO, o: SignOpts) {
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
  let certificate: Buffer | undefined;
  if (o.certificate) {
    const path = resolve(io.cwd, o.certificate);
    const blocks = parsePemBlocks((await readFileRequired(path, "certificate")).toString("utf8"));
    const cert = blocks.find((b) => b.label === "CERTIFICATE");
    if (!cert) throw cairnError("ERR_KEY_INVALID", "no PEM certificate in the file", { file: path });
    certificate = cert.der;
  }
  return certificate ? { signer: s, certificate } : { signer: s };
}

async function withLog<T>(io: CliIO, o: SignOpts, fn: (log: TransparencyLogPort) => Promise<T>): Promise<T> {
  if (o.rekorUrl !== undefined)
    return fn(
      rekorHttpLog({ url: o.rekorUrl, ...(io.env.token !== undefined ? { token: io.env.token } : {}) }),
    );
  const l = await openLocalLog(resolve(io.cwd, o.logDir), o.logUrl);
  try {
    return await fn(l.log);
  } finally {
    await l.close();
  }
}

async function writeBundle(io: CliIO, o: SignOpts, b: Bundle, what: string): Promise<void> {
  const out = resolve(io.cwd, o.bundle);
  await writeFileAtomic(out, `${serializeBundle(b, 2)}\n`);
  const e = b.verificationMaterial.tlogEntries[0]!;
  if (o.json) {
    write(
      io.stdout,
      JSON.stringify({ bundle: o.bundle, logIndex: e.logIndex, integratedTime: e.integratedTime }, null, 2),
    );
  } else write(io.stdout, `${what} into ${o.bundle} (log index ${e.logIndex})`);
}

/**
 * FILE_OR_DIGEST (the Sigstore conformance CLI protocol): `sha256:HEX` (or sha384/sha512) of the
 * right length that is not a file on disk names a digest; anything else is a file.
 */
async function artifactOf(io: CliIO, arg: string): Promise<ArtifactInput> {
  const path = resolve(io.cwd, arg);
  const m = /^(sha256|sha384|sha512):([0-9a-fA-F]+)$/.exec(arg);
  if (m && !existsSync(path)) {
    const alg = m[1] as "sha256" | "sha384" | "sha512";
    if (m[2]!.length === { sha256: 64, sha384: 96, sha512: 128 }[alg]) {
      return { digest: { algorithm: alg, value: fromHex(m[2]!.toLowerCase(), "digest") } };
    }
  }
  // A large file is hashed in a stream (bounded memory) and verified from its digests.
  const size = await stat(path).then(
    (st) => st.size,
    () => 0,
  );
  if (size > MAX_IN_MEMORY_ARTIFACT) {
    const set = await hashFile(path, { algorithms: ["sha256", "sha384", "sha512"] });
    return {
      digests: {
        sha256: fromHex(set.sha256!, "sha256"),
        sha384: fromHex(set.sha384!, "sha384"),
        sha512: fromHex(set.sha512!, "sha512"),
      },
    };
  }
  return { bytes: await readFileRequired(path, "artifact") };
}

/** Artifacts up to this size are read whole; larger ones are hashed in a stream. */
const MAX_IN_MEMORY_ARTIFACT = 64 * 1024 * 1024;

interface VerifyOpts {
  bundle: string;
  key?: string;
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
  json?: boolean;
  type?: string;
}

function verifyOptions(c: Command): Command {
  return (
    c
      .requiredOption("--bundle <file>", "the Sigstore bundle (v0.1, v0.2 or v0.3)")
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
      .option("--key <file>", "public key (PEM or securesystemslib JSON), for bundles signed with a key")
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
      .option("--json", "print what was verified as JSON")
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

function policyOf(o: VerifyOpts): IdentityPolicy | undefined {
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

async function verify(io: CliIO, arg: string, o: VerifyOpts): Promise<VerifiedBundle> {
  if ((o.trustedRoot === undefined) === (o.trustMetadataDir === undefined))
    throw cairnError(
      "ERR_USAGE",
      "give --trusted-root FILE or --trust-metadata-dir DIR (a TUF trust repository), not both",
    );
  let trustedRoot: ReturnType<typeof parseTrustedRootJson>;
  let revocations: RevocationList | undefined;
  if (o.trustedRoot !== undefined) {
    const rootPath = resolve(io.cwd, o.trustedRoot);
    trustedRoot = parseTrustedRootJson(await readFileRequired(rootPath, "trusted root"), rootPath);
  } else {
    ({ trustedRoot, revocations } = await fetchSigstoreTrust(trustClient(io, o)));
  }
  const bundlePath = resolve(io.cwd, o.bundle);
  const bundle = parseBundleJson(await readFileRequired(bundlePath, "bundle"), bundlePath);
  const policy = policyOf(o);
  const hasCert = Boolean(
    bundle.verificationMaterial.certificate ?? bundle.verificationMaterial.x509CertificateChain,
  );
  if (o.key && hasCert)
    throw cairnError("ERR_USAGE", "this bundle carries a certificate: verify it by identity, not --key");
  if (!o.key && !hasCert)
    throw cairnError("ERR_USAGE", "this bundle was signed with a key: give it with --key");
  // cosign asks for both the identity and the issuer; a SPIFFE ID names its trust domain itself,
  // and workload certificates need not carry an OIDC issuer.
  const named = policy && (policy.identity || policy.spiffeId);
  if (hasCert && (!named || (!policy.issuer && !policy.spiffeId))) {
    throw cairnError(
      "ERR_USAGE",
      "give the expected signer: --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --certificate-spiffe-id[-regexp]",
    );
  }
  const artifact = await artifactOf(io, arg);
  const publicKey = o.key ? (await loadPublicKeyFile(resolve(io.cwd, o.key))).key : undefined;
  return verifyBundle(bundle, {
    trustedRoot,
    ...(revocations ? { revocations } : {}),
    artifact,
    ...(publicKey ? { publicKey } : {}),
    ...(policy ? { policy } : {}),
  });
}

/** A TUF client for the trust repository: refreshed before use, so rotations and revocations are seen. */
function trustClient(io: CliIO, o: VerifyOpts): TufClient {
  if (o.trustMetadataUrl === undefined || o.trustTargetsUrl === undefined) {
    throw cairnError("ERR_USAGE", "--trust-metadata-dir needs --trust-metadata-url and --trust-targets-url");
  }
  return new TufClient({
    metadataUrl: o.trustMetadataUrl,
    targetBaseUrl: o.trustTargetsUrl,
    store: directoryMetadataStore(resolve(io.cwd, o.trustMetadataDir!)),
    fetcher: httpFetcher({ userAgent: "cairn-verify-blob" }),
  });
}

function render(io: CliIO, v: VerifiedBundle, json?: boolean): void {
  const out = {
    verified: true,
    bundleVersion: v.version,
    signer:
      v.signer.kind === "certificate"
        ? {
            kind: "certificate",
            subject: v.signer.identity.subject,
            issuer: v.signer.identity.issuer,
            extensions: v.signer.identity.extensions,
          }
        : { kind: "key" },
    signedAt: v.signedAt?.toISOString(),
    timestamps: v.timestamps.map((t) => ({ source: t.source, by: t.by, time: t.time.toISOString() })),
    tlogEntries: v.tlogEntries,
    ...(v.artifactDigest ? { artifactDigest: { sha256: v.artifactDigest } } : {}),
    ...(v.statement ? { predicateType: v.statement.predicateType, subject: v.statement.subject } : {}),
  };
  if (json) {
    write(io.stdout, JSON.stringify(out, null, 2));
    return;
  }
  const who =
    v.signer.kind === "certificate"
      ? `${v.signer.identity.subject} (${v.signer.identity.issuer})`
      : "the given key";
  write(io.stderr, `Verified OK: signed by ${who} at ${out.signedAt ?? "an unproven time"}`);
}

/** Registers the blob commands. */
export function registerBlob(program: Command, io: CliIO): void {
  signOptions(
    program
      .command("sign-blob")
      .description("sign a file into a Sigstore bundle, logged in the transparency log")
      .argument("<file>", "the file to sign"),
  ).action(async (file: string, o: SignOpts) => {
    const who = await signer(io, o);
    const data = await readFileRequired(resolve(io.cwd, file), "artifact");
    const b = await withLog(io, o, (log) => signBlob(data, who, log));
    await writeBundle(io, o, b, `signed ${file}`);
  });

  signOptions(
    program
      .command("attest-blob")
      .description("sign an in-toto statement about a file (DSSE) into a Sigstore bundle")
      .argument("<file>", "the file the statement is about")
      .requiredOption("--predicate <file>", "the predicate, a JSON object")
      .requiredOption("--type <uri>", "the predicate type, e.g. https://slsa.dev/provenance/v1"),
  ).action(async (file: string, o: SignOpts & { predicate: string; type: string }) => {
    const who = await signer(io, o);
    const data = await readFileRequired(resolve(io.cwd, file), "artifact");
    const pPath = resolve(io.cwd, o.predicate);
    const predicate = parseJson(await readFileRequired(pPath, "predicate"), pPath);
    if (!isJsonObject(predicate))
      throw cairnError("ERR_FIELD_INVALID", "a predicate must be a JSON object", { file: pPath });
    const statement = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [
        { name: basename(file), digest: { sha256: createHash("sha256").update(data).digest("hex") } },
      ],
      predicateType: o.type,
      predicate,
    };
    const payload = Buffer.from(JSON.stringify(statement), "utf8");
    const b = await withLog(io, o, (log) => signDsse("application/vnd.in-toto+json", payload, who, log));
    await writeBundle(io, o, b, `attested ${file}`);
  });

  verifyOptions(
    program
      .command("verify-blob")
      .description("verify a Sigstore bundle over a file or a digest (sha256:HEX), offline")
      .argument("<file-or-digest>", "the file, or sha256:HEX"),
  ).action(async (arg: string, o: VerifyOpts) => {
    render(io, await verify(io, arg, o), o.json);
  });

  verifyOptions(
    program
      .command("verify-blob-attestation")
      .description("verify a DSSE attestation bundle whose statement names the file (or digest) as a subject")
      .argument("<file-or-digest>", "the file, or sha256:HEX")
      .option("--type <uri>", "the predicate type the statement must have"),
  ).action(async (arg: string, o: VerifyOpts) => {
    const v = await verify(io, arg, o);
    if (!v.statement) {
      throw cairnError("ERR_SIGSTORE_ARTIFACT_MISMATCH", "the bundle holds no in-toto attestation");
    }
    if (o.type !== undefined && v.statement.predicateType !== o.type) {
      throw cairnError(
        "ERR_SIGSTORE_ARTIFACT_MISMATCH",
        `the attestation's predicate type is ${v.statement.predicateType}, not ${o.type}`,
      );
    }
    render(io, v, o.json);
  });
}
