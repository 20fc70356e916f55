// SPDX-License-Identifier: Apache-2.0
// cairn oci sign | attest | verify | verify-attestation | tree | copy: images named as skopeo
// names them (oci:DIR[:TAG], docker://HOST/REPO[:TAG|@DIGEST]), --tls-verify=false for a
// plain-HTTP registry, --json for machines.
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import type { ImageBundleVerification } from "../../engines/oci/bundle.js";
import { copyImage, DEFAULT_COPY_CONCURRENCY, MAX_COPY_CONCURRENCY } from "../../engines/oci/copy.js";
import { RegistryClient } from "../../engines/oci/registry.js";
import type { SignForm, SignResult } from "../../engines/oci/sign.js";
import type { Rejected } from "../../engines/oci/sign-verify.js";
import { type ImageStore, layoutStore, parseImageName, registryStore } from "../../engines/oci/store.js";
import { formatTree, imageTree, treeToJson } from "../../engines/oci/tree.js";
import type { BundleSigner, TransparencyLogPort } from "../../engines/sigstore/index.js";
import { dockerCredentials } from "../../runtime/docker-config.js";
import { readFileRequired } from "../../runtime/fs.js";
import { loadPublicKeyFile, loadSigner } from "../../runtime/keyfiles.js";
import { OciLayout } from "../../runtime/oci-layout.js";
import { registryHttp } from "../../runtime/registry-http.js";
import { copyProgress } from "../copy-progress.js";
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
import { passphraseFrom, signerRef } from "./key.js";

/**
 * Signing and verifying (statements, DSSE, bundles) load only when a command needs them: tree
 * and copy start without them.
 */
const signing = async () => {
  const [bundle, sign, verify] = await Promise.all([
    import("../../engines/oci/bundle.js"),
    import("../../engines/oci/sign.js"),
    import("../../engines/oci/sign-verify.js"),
  ]);
  return { ...bundle, ...sign, ...verify };
};

const FORMS: Record<string, SignForm[]> = {
  cosign: ["cosign"],
  referrer: ["referrer"],
  both: ["cosign", "referrer"],
};

/** `--form bundle`: a Sigstore bundle referrer, as cosign 3 attaches them (engines/oci/bundle.ts). */
const BUNDLE = "bundle";
const FORM_HELP = "cosign, referrer, both, or bundle (a Sigstore bundle referrer, as cosign 3 writes)";

function formsOf(form: string): SignForm[] {
  const f = FORMS[form];
  if (f === undefined)
    throw cairnError("ERR_USAGE", `--form must be cosign, referrer, both or bundle, not "${form}"`);
  return f;
}

/** The cosign and referrer forms sign with a key only; the Sigstore flags are for bundles. */
function requireKeyForm(o: SigstoreSignOpts): string {
  if (
    o.fulcioUrl !== undefined ||
    o.identityToken !== undefined ||
    o.rekorUrl !== undefined ||
    o.timestampServerUrl !== undefined ||
    o.certificate
  )
    throw cairnError(
      "ERR_USAGE",
      "--fulcio-url, --identity-token, --rekor-url, --timestamp-server-url and --certificate go with --form bundle",
    );
  if (!o.key) throw cairnError("ERR_USAGE", "give the signing key: --key");
  return o.key;
}

/** Opens the image and the log, signs with `fn` (Sigstore bundle forms). */
async function signBundle<T>(
  io: CliIO,
  o: SigstoreSignOpts,
  fn: (who: BundleSigner, log: TransparencyLogPort) => Promise<T>,
): Promise<T> {
  const who = await bundleSigner(io, o);
  return withTransparencyLog(io, o, (log) => fn(who, log));
}

/** `--form` of verify: bundle when a trusted root is given and no form is, else both. */
function verifyForm(o: { form?: string } & SigstoreVerifyOpts): string {
  const trust = o.trustedRoot !== undefined || o.trustMetadataDir !== undefined;
  const form = o.form ?? (trust ? BUNDLE : "both");
  if (form !== BUNDLE && trust)
    throw cairnError("ERR_USAGE", "--trusted-root and --trust-metadata-dir verify --form bundle only");
  return form;
}

/** Options for verifying bundle referrers: trust, and the key or the expected signer. */
async function bundleVerifyOptions(io: CliIO, o: { key?: string[] } & SigstoreVerifyOpts) {
  const trust = await loadSigstoreTrust(io, o, "cairn-oci-verify");
  const policy = identityPolicyOf(o);
  if ((o.key?.length ?? 0) > 1) throw cairnError("ERR_USAGE", "--form bundle takes one --key");
  const keyPath = o.key?.[0];
  if (keyPath !== undefined && policy !== undefined)
    throw cairnError("ERR_USAGE", "give --key or the expected signer (--certificate-identity ...), not both");
  if (keyPath === undefined) {
    return { ...trust, policy: requireSigner(policy) };
  }
  return { ...trust, publicKey: (await loadPublicKeyFile(resolve(io.cwd, keyPath))).key };
}

/**
 * The report of `oci verify` and `oci verify-attestation` in every form: under --json the verified
 * items (as `key`), the refusals and any count of other predicate types; else a line per pass and
 * per refusal.
 */
function renderVerified<T>(
  io: CliIO,
  store: ImageStore,
  json: boolean | undefined,
  v: { image: { digest: string }; rejected: readonly Rejected[]; otherTypes?: number },
  found: { key: string; items: readonly T[]; what: string; line: (item: T) => string },
): void {
  if (json) {
    write(
      io.stdout,
      JSON.stringify(
        {
          ok: true,
          image: { name: store.name, digest: v.image.digest },
          [found.key]: found.items,
          rejected: v.rejected,
          otherTypes: v.otherTypes,
        },
        null,
        2,
      ),
    );
    return;
  }
  const lines = [`verified ${store.name} (${v.image.digest}): ${found.items.length} ${found.what}`];
  for (const item of found.items) lines.push(`  ${found.line(item)}`);
  for (const r of v.rejected) lines.push(`  refused ${r.form}: ${r.manifest}: ${r.code}: ${r.message}`);
  write(io.stdout, lines.join("\n"));
}

function renderBundles(
  io: CliIO,
  store: ImageStore,
  what: string,
  v: ImageBundleVerification,
  json: boolean | undefined,
): void {
  renderVerified(io, store, json, v, {
    key: "bundles",
    items: v.bundles,
    what,
    line: (b) => {
      const who =
        b.signer.kind === "certificate" ? `${b.signer.subject} (${b.signer.issuer})` : "the given key";
      return `bundle: ${b.manifest} ${b.predicateType ?? "message signature"} by ${who} at ${b.signedAt ?? "?"}`;
    },
  });
}

/** The public keys of --key, required outside the bundle form. */
async function publicKeysOf(io: CliIO, key: string[] | undefined) {
  if (!key?.length) throw cairnError("ERR_USAGE", "give the public keys: --key");
  return Promise.all(key.map((k) => loadPublicKeyFile(resolve(io.cwd, k))));
}

function tlsOf(v: string | undefined, flag: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  throw cairnError("ERR_USAGE", `${flag} must be true or false, not "${v}"`);
}

/** Opens the store an image name points at: a layout (created when `create`), or a registry. */
async function openStore(io: CliIO, name: string, tlsVerify: boolean, create = false): Promise<ImageStore> {
  const n = parseImageName(name);
  if (n.transport === "docker") {
    const client = new RegistryClient({
      http: registryHttp(),
      credentials: dockerCredentials(),
      tlsVerify,
      userAgent: "cairn",
    });
    return registryStore(client, n.ref);
  }
  const dir = resolve(io.cwd, n.dir);
  const layout = create ? await OciLayout.init(dir) : await OciLayout.open(dir);
  return layoutStore(layout, name, n.tag ?? n.digest);
}

interface Common {
  tlsVerify?: string;
  json?: boolean;
}

/** The store of a command's one image, with its --tls-verify. */
function commonStore(io: CliIO, image: string, o: Common): Promise<ImageStore> {
  return openStore(io, image, tlsOf(o.tlsVerify, "--tls-verify") ?? true);
}

function withCommon(c: Command): Command {
  return c
    .option("--tls-verify <bool>", "false: talk plain HTTP to the registry (a local registry)", "true")
    .option("--json", "print the result as JSON");
}

function renderAttached(io: CliIO, store: ImageStore, verb: string, r: SignResult, json?: boolean): void {
  const out = {
    image: { name: store.name, digest: r.image.digest, mediaType: r.image.mediaType, size: r.image.size },
    attached: r.attached.map((a) => ({
      form: a.form,
      digest: a.manifest.digest,
      ...(a.tag === undefined ? {} : { tag: a.tag }),
      ...(a.manifest.artifactType === undefined ? {} : { artifactType: a.manifest.artifactType }),
    })),
  };
  if (json) {
    write(io.stdout, JSON.stringify(out, null, 2));
    return;
  }
  const lines = [`${verb} ${store.name} (${r.image.digest})`];
  for (const a of out.attached) lines.push(`  ${a.form}: ${a.tag ? `tag ${a.tag} ` : ""}${a.digest}`);
  write(io.stdout, lines.join("\n"));
}

async function readPredicate(io: CliIO, file: string): Promise<Record<string, unknown>> {
  const path = resolve(io.cwd, file);
  const doc = parseJson(await readFileRequired(path, "predicate"), path);
  if (!isJsonObject(doc))
    throw cairnError("ERR_FIELD_INVALID", "a predicate must be a JSON object", { file: path });
  return doc;
}

/** Registers `cairn oci ...`. */
export function registerOci(program: Command, io: CliIO): void {
  const oci = program
    .command("oci")
    .description("sign, attest, verify, list and copy OCI images with everything attached to them");

  withCommon(
    sigstoreSignOptions(
      oci
        .command("sign")
        .description(
          "sign an image: cosign's .sig tag and/or an OCI 1.1 referrer carrying a DSSE envelope, or a Sigstore bundle referrer (--form bundle)",
        )
        .argument("<image>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]")
        .option("-k, --key <key>", "private key: a file, file:PATH or env:NAME")
        .option("--form <form>", FORM_HELP, "both")
        .option("--identity <ref>", "the docker-reference to sign (default HOST/REPO of a registry image)")
        .option("--passphrase-env <NAME>", "the private key's passphrase is in this environment variable"),
    ),
  ).action(async (image: string, o: Common & SigstoreSignOpts & { form: string; identity?: string }) => {
    const ops = await signing();
    if (o.form === BUNDLE) {
      // cosign's bundle statement names the image by digest only: no docker-reference to claim.
      if (o.identity !== undefined)
        throw cairnError("ERR_USAGE", "--identity goes with the cosign and referrer forms");
      const store = await commonStore(io, image, o);
      const r = await signBundle(io, o, (who, log) =>
        ops.signImageBundle(store, { who, log, options: signOptionsOf(o) }),
      );
      renderAttached(io, store, "signed", r, o.json);
      return;
    }
    const forms = formsOf(o.form);
    const signer = await loadSigner(signerRef(io, requireKeyForm(o)), passphraseFrom(io, o.passphraseEnv));
    const store = await commonStore(io, image, o);
    const r = await ops.signImage(store, {
      signer,
      forms,
      ...(o.identity === undefined ? {} : { identity: o.identity }),
    });
    renderAttached(io, store, "signed", r, o.json);
  });

  withCommon(
    sigstoreSignOptions(
      oci
        .command("attest")
        .description(
          "attach a signed in-toto statement about an image (cosign's .att tag and/or a referrer, or a Sigstore bundle referrer)",
        )
        .argument("<image>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]")
        .option("-k, --key <key>", "private key: a file, file:PATH or env:NAME")
        .requiredOption("--predicate <file>", "the predicate, a JSON object")
        .requiredOption("--type <uri>", "the predicate type, e.g. https://slsa.dev/provenance/v1")
        .option("--form <form>", FORM_HELP, "both")
        .option("--passphrase-env <NAME>", "the private key's passphrase is in this environment variable"),
    ),
  ).action(
    async (
      image: string,
      o: Common & SigstoreSignOpts & { predicate: string; type: string; form: string },
    ) => {
      const ops = await signing();
      const predicate = await readPredicate(io, o.predicate);
      if (o.form === BUNDLE) {
        const store = await commonStore(io, image, o);
        const r = await signBundle(io, o, (who, log) =>
          ops.attestImageBundle(store, {
            who,
            log,
            predicateType: o.type,
            predicate,
            options: signOptionsOf(o),
          }),
        );
        renderAttached(io, store, "attested", r, o.json);
        return;
      }
      const forms = formsOf(o.form);
      const signer = await loadSigner(signerRef(io, requireKeyForm(o)), passphraseFrom(io, o.passphraseEnv));
      const store = await commonStore(io, image, o);
      const r = await ops.attestImage(store, { signer, predicateType: o.type, predicate, forms });
      renderAttached(io, store, "attested", r, o.json);
    },
  );

  withCommon(
    sigstoreVerifyOptions(
      oci
        .command("verify")
        .description(
          "verify an image's signatures against public keys, or its Sigstore bundles against a trusted root (exit 10 when none verifies)",
        )
        .argument("<image>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]")
        .option("-k, --key <paths...>", "public keys; a signature by any of them passes")
        .option("--form <form>", `${FORM_HELP}; default both, or bundle with --trusted-root`)
        .option("--identity <ref>", "require this docker-reference in the signed payload"),
    ),
  ).action(
    async (
      image: string,
      o: Common & SigstoreVerifyOpts & { key?: string[]; form?: string; identity?: string },
    ) => {
      const ops = await signing();
      const form = verifyForm(o);
      if (form === BUNDLE) {
        const verify = await bundleVerifyOptions(io, o);
        const store = await commonStore(io, image, o);
        renderBundles(
          io,
          store,
          "signature(s)",
          await ops.verifyImageBundles(store, { verify, kind: "signature" }),
          o.json,
        );
        return;
      }
      const forms = formsOf(form);
      const keys = await publicKeysOf(io, o.key);
      const store = await commonStore(io, image, o);
      const v = await ops.verifyImage(store, {
        keys,
        forms,
        ...(o.identity === undefined ? {} : { identity: o.identity }),
      });
      renderVerified(io, store, o.json, v, {
        key: "signatures",
        items: v.signatures,
        what: "signature(s)",
        line: (s) =>
          `${s.form}: ${s.manifest} by key ${s.keyid.slice(0, 16)} for ${s.payload.critical.identity["docker-reference"] || "(no identity)"}`,
      });
    },
  );

  withCommon(
    sigstoreVerifyOptions(
      oci
        .command("verify-attestation")
        .description(
          "verify an image's attestations against public keys, or its Sigstore bundles against a trusted root; print the verified statements with --json",
        )
        .argument("<image>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]")
        .option("-k, --key <paths...>", "public keys; an attestation by any of them passes")
        .option("--type <uri>", "only attestations of this predicate type count")
        .option("--form <form>", `${FORM_HELP}; default both, or bundle with --trusted-root`),
    ),
  ).action(
    async (
      image: string,
      o: Common & SigstoreVerifyOpts & { key?: string[]; type?: string; form?: string },
    ) => {
      const ops = await signing();
      const form = verifyForm(o);
      if (form === BUNDLE) {
        const verify = await bundleVerifyOptions(io, o);
        const store = await commonStore(io, image, o);
        const v = await ops.verifyImageBundles(store, {
          verify,
          kind: "attestation",
          ...(o.type === undefined ? {} : { predicateType: o.type }),
        });
        renderBundles(io, store, "attestation(s)", v, o.json);
        return;
      }
      const forms = formsOf(form);
      const keys = await publicKeysOf(io, o.key);
      const store = await commonStore(io, image, o);
      const v = await ops.verifyAttestation(store, {
        keys,
        forms,
        ...(o.type === undefined ? {} : { predicateType: o.type }),
      });
      renderVerified(io, store, o.json, v, {
        key: "attestations",
        items: v.attestations,
        what: "attestation(s)",
        line: (a) => `${a.form}: ${a.manifest} ${a.predicateType} by key ${(a.keyids[0] ?? "").slice(0, 16)}`,
      });
    },
  );

  withCommon(
    oci
      .command("tree")
      .description(
        "list everything attached to an image: signatures, attestations, SBOMs, referrers, platforms",
      )
      .argument("<image>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]"),
  ).action(async (image: string, o: Common) => {
    const store = await commonStore(io, image, o);
    const t = treeToJson(await imageTree(store));
    write(io.stdout, o.json ? JSON.stringify(t, null, 2) : formatTree(store.name, t));
  });

  withCommon(
    oci
      .command("copy")
      .description("copy an image with everything attached, byte for byte (digests stay identical)")
      .argument("<src>", "oci:DIR[:TAG] or docker://HOST/REPO[:TAG|@DIGEST]")
      .argument("<dst>", "oci:DIR[:TAG] (created if missing) or docker://HOST/REPO[:TAG]")
      .option("--src-tls-verify <bool>", "--tls-verify for the source only")
      .option("--dest-tls-verify <bool>", "--tls-verify for the destination only")
      .option("--no-attached", "copy the image only, not its signatures, attestations and referrers")
      .option(
        "--concurrency <n>",
        `blobs transferred at once (1-${MAX_COPY_CONCURRENCY})`,
        String(DEFAULT_COPY_CONCURRENCY),
      ),
  ).action(
    async (
      src: string,
      dst: string,
      o: Common & { srcTlsVerify?: string; destTlsVerify?: string; attached: boolean; concurrency: string },
    ) => {
      const concurrency = Number(o.concurrency);
      if (!/^\d+$/.test(o.concurrency) || concurrency < 1 || concurrency > MAX_COPY_CONCURRENCY) {
        throw cairnError("ERR_USAGE", `--concurrency must be an integer from 1 to ${MAX_COPY_CONCURRENCY}`);
      }
      const both = tlsOf(o.tlsVerify, "--tls-verify") ?? true;
      const from = await openStore(io, src, tlsOf(o.srcTlsVerify, "--src-tls-verify") ?? both);
      const to = await openStore(io, dst, tlsOf(o.destTlsVerify, "--dest-tls-verify") ?? both, true);
      const bar = copyProgress(io, { json: o.json === true });
      let r: Awaited<ReturnType<typeof copyImage>>;
      try {
        r = await copyImage(from, to, {
          attached: o.attached,
          concurrency,
          ...(bar === undefined ? {} : { onProgress: bar.onProgress }),
        });
      } finally {
        bar?.finish();
      }
      if (o.json) {
        write(io.stdout, JSON.stringify({ source: from.name, destination: to.name, ...r }, null, 2));
        return;
      }
      write(
        io.stdout,
        `copied ${from.name} to ${to.name} (${r.image.digest}): ${r.manifests.length} manifest(s), ${r.blobsCopied} blob(s) sent (${r.bytesCopied} bytes), ${r.blobsPresent} already there${r.blobsMounted > 0 ? `, ${r.blobsMounted} mounted` : ""}`,
      );
    },
  );
}
