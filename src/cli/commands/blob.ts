// SPDX-License-Identifier: Apache-2.0
// cairn sign-blob | attest-blob | verify-blob | verify-blob-attestation: Sigstore bundles (v0.3
// written, v0.1-v0.3 read) with cosign's flag names. Signing logs through a Rekor v1 API
// (--rekor-url) or the local log in --log-dir, with a key or keyless (an ephemeral key certified by
// a Fulcio v2 API for an OIDC token); verification is offline against --trusted-root.

import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { hashFile } from "../../core/digest.js";
import { fromHex } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import {
  type ArtifactInput,
  attestBlob,
  signBlob,
  type VerifiedBundle,
  verifyBundle,
} from "../../engines/sigstore/index.js";
import { type Bundle, parseBundleJson, serializeBundle } from "../../formats/sigstore/index.js";
import { readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import { loadPublicKeyFile } from "../../runtime/keyfiles.js";
import { type CliIO, write } from "../io.js";
import {
  bundleSigner,
  identityPolicyOf,
  loadSigstoreTrust,
  requireSigner,
  type SigstoreSignOpts,
  type SigstoreVerifyOpts,
  signOptionsOf,
  sigstoreSignOptions,
  sigstoreVerifyOptions,
  withTransparencyLog,
} from "../sigstore-flags.js";

interface SignOpts extends SigstoreSignOpts {
  bundle: string;
  json?: boolean;
}

function signOptions(c: Command): Command {
  return sigstoreSignOptions(
    c
      .requiredOption("--bundle <file>", "where to write the Sigstore bundle (v0.3)")
      .option("-k, --key <key>", "private key: a file, file:PATH or env:NAME")
      .option("--passphrase-env <NAME>", "the private key's passphrase is in this environment variable"),
  ).option("--json", "print the result as JSON");
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

interface VerifyOpts extends SigstoreVerifyOpts {
  bundle: string;
  key?: string;
  json?: boolean;
  type?: string;
}

function verifyOptions(c: Command): Command {
  return sigstoreVerifyOptions(
    c.requiredOption("--bundle <file>", "the Sigstore bundle (v0.1, v0.2 or v0.3)"),
  )
    .option("--key <file>", "public key (PEM or securesystemslib JSON), for bundles signed with a key")
    .option("--json", "print what was verified as JSON");
}

async function verify(io: CliIO, arg: string, o: VerifyOpts): Promise<VerifiedBundle> {
  const { trustedRoot, revocations } = await loadSigstoreTrust(io, o, "cairn-verify-blob");
  const bundlePath = resolve(io.cwd, o.bundle);
  const bundle = parseBundleJson(await readFileRequired(bundlePath, "bundle"), bundlePath);
  const policy = identityPolicyOf(o);
  const hasCert = Boolean(
    bundle.verificationMaterial.certificate ?? bundle.verificationMaterial.x509CertificateChain,
  );
  if (o.key && hasCert)
    throw cairnError("ERR_USAGE", "this bundle carries a certificate: verify it by identity, not --key");
  if (!o.key && !hasCert)
    throw cairnError("ERR_USAGE", "this bundle was signed with a key: give it with --key");
  if (hasCert) requireSigner(policy);
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
    const who = await bundleSigner(io, o);
    const data = await readFileRequired(resolve(io.cwd, file), "artifact");
    const b = await withTransparencyLog(io, o, (log) => signBlob(data, who, log, signOptionsOf(o)));
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
    const who = await bundleSigner(io, o);
    const data = await readFileRequired(resolve(io.cwd, file), "artifact");
    const pPath = resolve(io.cwd, o.predicate);
    const predicate = parseJson(await readFileRequired(pPath, "predicate"), pPath);
    if (!isJsonObject(predicate))
      throw cairnError("ERR_FIELD_INVALID", "a predicate must be a JSON object", { file: pPath });
    const b = await withTransparencyLog(io, o, (log) =>
      attestBlob(data, basename(file), o.type, predicate, who, log, signOptionsOf(o)),
    );
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
