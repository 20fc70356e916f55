// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles (v0.3) attached to images as OCI 1.1 referrers, the way cosign 3 does it with
// --new-bundle-format (sigstore/cosign specs/BUNDLE_SPEC.md; pkg/oci/remote/write.go
// WriteAttestationNewBundleFormat): a manifest with `artifactType`
// application/vnd.dev.sigstore.bundle.v0.3+json, the empty config, the bundle's JSON as its one
// layer (same media type), `subject` the image, and the annotations `dev.sigstore.bundle.content`
// (`dsse-envelope`), `dev.sigstore.bundle.predicateType` and `org.opencontainers.image.created`.
//
// An image *signature* in this form is what cosign's signDigestBundle (cmd/cosign/cli/sign/sign.go)
// signs: a DSSE envelope over an in-toto v1 statement whose one subject is the image manifest's
// digest, with predicateType https://sigstore.dev/cosign/sign/v1 and an empty predicate (cosign
// PR #4635). An *attestation* is the same envelope over a statement with the user's predicate.
// Verification is sigstore-go's WithArtifactDigest (cosign pkg/cosign/verify.go,
// verifyImageAttestationsSigstoreBundle): the bundle verifies against the trusted root with the
// identity policy, and a statement subject carries the image digest.
//
// Threats: referrers are attacker-writable. The referrers list and the annotations are hints; the
// manifest's subject must be the image, and the signed statement must name the image's digest,
// else the bundle was moved from another image (ERR_OCI_SIGNATURE_SUBJECT_MISMATCH). A bundle by
// another signer is a policy refusal (exit 11), reported only when nothing verified.
import { type Clock, systemClock } from "../../core/clock.js";
import { CairnError, cairnError, type ErrorCode } from "../../core/errors.js";
import type { Statement } from "../../formats/intoto/statement.js";
import {
  ANNOTATION_CREATED,
  type Descriptor,
  descriptorOf,
  EMPTY_JSON_BYTES,
  emptyDescriptor,
  manifestDescriptor,
  newImageManifest,
  type OciDigest,
  parseDigest,
} from "../../formats/oci/index.js";
import {
  type Bundle,
  bundleLeafCertificate,
  parseBundleJson,
  serializeBundle,
} from "../../formats/sigstore/index.js";
import {
  type ArtifactInput,
  type BundleSigner,
  type BundleVerifyOptions,
  type SignOptions,
  signDsse,
  type TransparencyLogPort,
  verifyBundle,
} from "../sigstore/index.js";
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  ARTIFACT_TYPE_SIGSTORE_BUNDLE,
  PAYLOAD_TYPE_INTOTO,
} from "./attached.js";
import type { AttestResult, SignResult } from "./sign.js";
import { failure, manifestLayers, type Rejected, referrersOf } from "./sign-verify.js";
import type { ImageStore } from "./store.js";

/** BUNDLE_SPEC.md "Annotations": `message-signature` or `dsse-envelope`. */
export const ANNOTATION_BUNDLE_CONTENT = "dev.sigstore.bundle.content";
/** BUNDLE_SPEC.md "Layer Annotations": `<alg>-<hex>.sigstore.json`. */
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
/** cosign pkg/types/predicate.go: the predicate type of an image signature in a bundle. */
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";
/** Largest bundle read (attestations may carry SBOMs). */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;
const BUNDLE_LAYER_PREFIX = "application/vnd.dev.sigstore.bundle";

export interface BundleSigning {
  who: BundleSigner;
  log: TransparencyLogPort;
  options?: SignOptions;
  /** A tag or digest to sign instead of the image name's own reference. */
  ref?: string;
  clock?: Clock;
}

async function putIfMissing(store: ImageStore, d: Descriptor, bytes: Uint8Array): Promise<void> {
  if (!(await store.hasBlob(d))) await store.putBlob(d, bytes);
}

/** Attaches a bundle to `image` as cosign does: a referrer with the bundle as its one layer. */
export async function attachBundle(
  store: ImageStore,
  image: Descriptor,
  bundle: Bundle,
  predicateType: string | undefined,
  clock: Clock = systemClock,
): Promise<Descriptor> {
  const bytes = new TextEncoder().encode(serializeBundle(bundle));
  const probe = descriptorOf(bytes, ARTIFACT_TYPE_SIGSTORE_BUNDLE);
  const p = parseDigest(probe.digest);
  const layer = descriptorOf(bytes, ARTIFACT_TYPE_SIGSTORE_BUNDLE, {
    annotations: { [ANNOTATION_TITLE]: `${p.algorithm}-${p.encoded}.sigstore.json` },
  });
  await putIfMissing(store, emptyDescriptor(), EMPTY_JSON_BYTES);
  await putIfMissing(store, layer, bytes);
  const m = newImageManifest({
    artifactType: ARTIFACT_TYPE_SIGSTORE_BUNDLE,
    config: emptyDescriptor(),
    layers: [layer],
    subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    annotations: {
      [ANNOTATION_CREATED]: clock.now().toISOString(),
      [ANNOTATION_BUNDLE_CONTENT]: bundle.dsseEnvelope ? "dsse-envelope" : "message-signature",
      ...(predicateType === undefined ? {} : { [ANNOTATION_BUNDLE_PREDICATE_TYPE]: predicateType }),
    },
  });
  await store.putManifest(m);
  return manifestDescriptor(m, { artifactType: ARTIFACT_TYPE_SIGSTORE_BUNDLE });
}

/** The in-toto statement cosign signs for an image (key order as protojson writes it). */
function statementBytes(subject: Record<string, unknown>, predicateType: string, predicate: unknown) {
  return new TextEncoder().encode(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [subject],
      predicateType,
      predicate,
    }),
  );
}

/**
 * Signs the image (resolved now: the statement names its digest) into a Sigstore bundle logged
 * through `log`, and attaches it as a referrer.
 */
export async function signImageBundle(store: ImageStore, o: BundleSigning): Promise<SignResult> {
  const image = await store.resolve(o.ref);
  const d = parseDigest(image.digest);
  const payload = statementBytes(
    { digest: { [d.algorithm]: d.encoded }, annotations: {} },
    COSIGN_SIGN_PREDICATE_TYPE,
    {},
  );
  const bundle = await signDsse(PAYLOAD_TYPE_INTOTO, payload, o.who, o.log, o.options);
  const manifest = await attachBundle(store, image, bundle, COSIGN_SIGN_PREDICATE_TYPE, o.clock);
  return { image, attached: [{ form: "bundle", manifest }] };
}

/** Attests the image: an in-toto statement about its digest with the predicate, as a bundle referrer. */
export async function attestImageBundle(
  store: ImageStore,
  o: BundleSigning & { predicateType: string; predicate: Record<string, unknown>; subjectName?: string },
): Promise<AttestResult> {
  const image = await store.resolve(o.ref);
  const d = parseDigest(image.digest);
  const name = o.subjectName ?? store.identity ?? store.name;
  const payload = statementBytes(
    { name, digest: { [d.algorithm]: d.encoded } },
    o.predicateType,
    o.predicate,
  );
  const bundle = await signDsse(PAYLOAD_TYPE_INTOTO, payload, o.who, o.log, o.options);
  const manifest = await attachBundle(store, image, bundle, o.predicateType, o.clock);
  const statement = JSON.parse(new TextDecoder().decode(payload)) as Statement;
  return { image, attached: [{ form: "bundle", manifest }], statement };
}

export interface VerifyImageBundlesOptions {
  /** The trust, key or identity policy, and revocations; the artifact is the image's digest. */
  verify: Omit<BundleVerifyOptions, "artifact">;
  /** Signatures (statements of cosign's sign predicate, or message signatures) or attestations. */
  kind: "signature" | "attestation";
  /** For attestations: keep only this predicate type (read from the signed statement). */
  predicateType?: string;
  ref?: string;
}

export interface VerifiedImageBundle {
  form: "bundle";
  manifest: OciDigest;
  layer: OciDigest;
  signer: { kind: "certificate"; subject: string | undefined; issuer: string | undefined } | { kind: "key" };
  signedAt: string | undefined;
  logIndex: number | undefined;
  predicateType: string | undefined;
  /** The signed statement, read only after the bundle verified and its subject matched. */
  statement: Statement | undefined;
}

export interface ImageBundleVerification {
  image: Descriptor;
  bundles: VerifiedImageBundle[];
  rejected: Rejected[];
  /** Verified bundles left out because they are of another kind or predicate type. */
  otherTypes: number;
}

// The refusal reported when nothing verified: the signer not allowed (exit 11) first, then a
// bundle moved from another image, then a bad signature.
const BUNDLE_PRIORITY: ErrorCode[] = [
  "ERR_KEY_REVOKED",
  "ERR_IDENTITY_REVOKED",
  "ERR_SIGSTORE_IDENTITY_MISMATCH",
  "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
  "ERR_OCI_SIGNATURE_INVALID",
];

/**
 * Verifies the Sigstore bundles attached to the image as referrers: each against the trusted root
 * (with the key, or the identity policy, and revocations), its statement naming the image's
 * digest. Passes when at least one of `kind` (and `predicateType`) verifies; throws the most
 * telling refusal otherwise (ERR_OCI_SIGNATURE_MISSING when none is attached). Transport and
 * not-found errors pass through.
 */
export async function verifyImageBundles(
  store: ImageStore,
  o: VerifyImageBundlesOptions,
): Promise<ImageBundleVerification> {
  const image = await store.resolve(o.ref);
  const d = parseDigest(image.digest);
  if (d.algorithm !== "sha256" && d.algorithm !== "sha512")
    throw cairnError("ERR_OCI_DIGEST_MISMATCH", `cannot verify a bundle for a ${d.algorithm} digest`);
  const artifact: ArtifactInput = {
    digest: { algorithm: d.algorithm, value: Buffer.from(d.encoded, "hex") },
  };
  const rejected: Rejected[] = [];
  const bundles: VerifiedImageBundle[] = [];
  let otherTypes = 0;
  for (const m of await referrersOf(store, image, ARTIFACT_TYPE_SIGSTORE_BUNDLE, rejected, "bundle")) {
    let layers: Descriptor[] = [];
    try {
      layers = manifestLayers(m, "bundle");
    } catch (e) {
      if (!(e instanceof CairnError) || e.category === "transport") throw e;
      rejected.push({ form: "bundle", manifest: m.digest, code: e.code, message: e.message });
    }
    for (const layer of layers) {
      if (!layer.mediaType.startsWith(BUNDLE_LAYER_PREFIX)) continue;
      const where = { form: "bundle" as const, manifest: m.digest, layer: layer.digest };
      try {
        const v = await checkBundle(store, layer, artifact, o);
        if (v === "other") otherTypes++;
        else bundles.push({ ...where, ...v });
      } catch (e) {
        // Bad, altered, moved, or by someone else: a refusal. "Could not check" is thrown.
        if (!(e instanceof CairnError) || !["verification", "format", "policy"].includes(e.category)) throw e;
        rejected.push({ ...where, code: e.code, message: e.message });
      }
    }
  }
  if (bundles.length === 0) {
    const what =
      o.predicateType === undefined ? `bundle ${o.kind}` : `bundle attestation of type ${o.predicateType}`;
    throw failure(what, image, rejected, BUNDLE_PRIORITY);
  }
  return { image, bundles, rejected, otherTypes };
}

async function checkBundle(
  store: ImageStore,
  layer: Descriptor,
  artifact: ArtifactInput,
  o: VerifyImageBundlesOptions,
): Promise<Omit<VerifiedImageBundle, "form" | "manifest" | "layer"> | "other"> {
  const bundle = parseBundleJson(await store.getBlob(layer, MAX_BUNDLE_BYTES));
  // A bundle with a certificate is verified by identity, one naming a key by the key: the other
  // kind is no signature by whom was asked for.
  const hasCert = bundleLeafCertificate(bundle) !== undefined;
  if (hasCert && o.verify.publicKey)
    throw cairnError(
      "ERR_OCI_SIGNATURE_INVALID",
      "the bundle is signed with a certificate, not the given key",
    );
  if (!hasCert && !o.verify.publicKey)
    throw cairnError("ERR_OCI_SIGNATURE_INVALID", "the bundle is signed with a key: verify it with --key");
  let v: ReturnType<typeof verifyBundle>;
  try {
    v = verifyBundle(bundle, { ...o.verify, artifact });
  } catch (e) {
    // The statement names another image: the bundle was moved here from it.
    if (e instanceof CairnError && e.code === "ERR_SIGSTORE_ARTIFACT_MISMATCH")
      throw cairnError("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH", e.message);
    throw e;
  }
  const predicateType = v.statement?.predicateType;
  const isSignature = bundle.messageSignature !== undefined || predicateType === COSIGN_SIGN_PREDICATE_TYPE;
  if (o.kind === "signature" && !isSignature) return "other";
  if (o.kind === "attestation") {
    if (!v.statement) return "other";
    if (o.predicateType !== undefined ? predicateType !== o.predicateType : isSignature) return "other";
  }
  return {
    signer:
      v.signer.kind === "certificate"
        ? { kind: "certificate", subject: v.signer.identity.subject, issuer: v.signer.identity.issuer }
        : { kind: "key" },
    signedAt: v.signedAt?.toISOString(),
    logIndex: v.tlogEntries[0]?.logIndex,
    predicateType,
    statement: v.statement,
  };
}
