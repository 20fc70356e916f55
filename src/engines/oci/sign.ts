// SPDX-License-Identifier: Apache-2.0
// Signing and attesting images in the forms the standard tools read:
// - cosign's (sigstore/cosign specs/SIGNATURE_SPEC.md): a "simple signing" payload
//   (containers-signature(5) "critical"/"optional") as a layer of media type
//   application/vnd.dev.cosign.simplesigning.v1+json in a manifest tagged `sha256-<hex>.sig`, the
//   base64 signature over the payload bytes in the layer annotation
//   dev.cosignproject.cosign/signature; attestations as DSSE envelopes (in-toto statements) in
//   layers of application/vnd.dsse.envelope.v1+json, annotated `predicateType`, at `.att`.
// - OCI 1.1 referrers (image-spec manifest.md `subject`, `artifactType`; distribution-spec 1.1
//   "Listing Referrers"): a manifest whose subject is the image, with an empty config and one
//   DSSE envelope layer (the simple-signing payload for a signature, an in-toto statement for an
//   attestation).
// Verification is in sign-verify.ts.
import { type Clock, systemClock } from "../../core/clock.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import type { Signer } from "../../core/signer.js";
import { signEnvelope } from "../../formats/dsse/index.js";
import { newStatement, type Statement } from "../../formats/intoto/statement.js";
import {
  ANNOTATION_CREATED,
  type Descriptor,
  descriptorOf,
  EMPTY_JSON_BYTES,
  emptyDescriptor,
  MEDIA_TYPE_OCI_CONFIG,
  manifestDescriptor,
  newImageManifest,
  type OciDigest,
  type ParsedManifest,
  parseDigest,
} from "../../formats/oci/index.js";
import {
  ANNOTATION_INTOTO_PREDICATE_TYPE,
  ANNOTATION_PREDICATE_TYPE,
  ARTIFACT_TYPE_ATTESTATION,
  ARTIFACT_TYPE_SIGNATURE,
  ATTESTATION_TAG_SUFFIX,
  cosignTag,
  PAYLOAD_TYPE_INTOTO,
  SIGNATURE_TAG_SUFFIX,
} from "./attached.js";
import type { ImageStore } from "./store.js";

/** cosign's signature layer media type. */
export const MEDIA_TYPE_COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
/** DSSE envelope (as cosign's `.att` layers and cairn's referrers carry it). */
export const MEDIA_TYPE_DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json";
/** The layer annotation holding cosign's base64 signature. */
export const ANNOTATION_COSIGN_SIGNATURE = "dev.cosignproject.cosign/signature";
/** containers-signature(5): `critical.type` of a cosign signature. */
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";
/** Largest simple-signing payload read. */
export const MAX_SIMPLE_SIGNING_BYTES = 1024 * 1024;
/** Largest DSSE envelope read (attestations may carry SBOMs). */
export const MAX_ENVELOPE_BYTES = 32 * 1024 * 1024;
/** Most layers in one `.sig` or `.att` manifest (each signing appends one). */
export const MAX_SIGNATURE_LAYERS = 256;

/** Where a signature or attestation is kept: cosign's digest tag, or an OCI 1.1 referrer. */
export type SignForm = "cosign" | "referrer";
export const SIGN_FORMS: readonly SignForm[] = ["cosign", "referrer"];

/** containers-signature(5) "JSON Data Format", as cosign writes it. */
export interface SimpleSigningPayload {
  critical: {
    identity: { "docker-reference": string; [extra: string]: unknown };
    image: { "docker-manifest-digest": string; [extra: string]: unknown };
    type: string;
    [extra: string]: unknown;
  };
  optional?: Record<string, unknown> | null;
  [extra: string]: unknown;
}

/** The simple-signing payload bytes for an image (key order as cosign writes them). */
export function simpleSigningPayload(
  identity: string,
  digest: OciDigest,
  optional: Record<string, unknown> | null = null,
): Uint8Array {
  const p: SimpleSigningPayload = {
    critical: {
      identity: { "docker-reference": identity },
      image: { "docker-manifest-digest": digest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional,
  };
  return new TextEncoder().encode(JSON.stringify(p));
}

/** Parses a simple-signing payload (bounded); ERR_FIELD_INVALID naming the field. */
export function parseSimpleSigningPayload(bytes: Uint8Array, file?: string): SimpleSigningPayload {
  const doc = parseJson(bytes, file, { maxBytes: MAX_SIMPLE_SIGNING_BYTES, maxDepth: 32 });
  const bad = (field: string, why: string) =>
    cairnError("ERR_FIELD_INVALID", why, file === undefined ? { field } : { field, file });
  if (!isJsonObject(doc)) throw bad("$", "a simple-signing payload must be a JSON object");
  const c = doc.critical;
  if (!isJsonObject(c)) throw bad("critical", "must be an object");
  if (!isJsonObject(c.identity) || typeof c.identity["docker-reference"] !== "string")
    throw bad("critical.identity.docker-reference", "must be a string");
  if (!isJsonObject(c.image) || typeof c.image["docker-manifest-digest"] !== "string")
    throw bad("critical.image.docker-manifest-digest", "must be a string");
  if (typeof c.type !== "string") throw bad("critical.type", "must be a string");
  if (doc.optional !== undefined && doc.optional !== null && !isJsonObject(doc.optional))
    throw bad("optional", "must be an object or null");
  return doc as SimpleSigningPayload;
}

/**
 * The config cosign gives a `.sig`/`.att` manifest: an OCI image config with empty platform and
 * the layers' digests as diff_ids (go-containerregistry's empty image, mutated).
 */
export function cosignConfig(layers: Descriptor[]): Uint8Array {
  const zero = "0001-01-01T00:00:00Z";
  return new TextEncoder().encode(
    JSON.stringify({
      architecture: "",
      created: zero,
      history: layers.map(() => ({ created: zero })),
      os: "",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
}

async function putBlobIfMissing(store: ImageStore, d: Descriptor, bytes: Uint8Array): Promise<void> {
  if (!(await store.hasBlob(d))) await store.putBlob(d, bytes);
}

/**
 * Appends a layer to the manifest at a cosign tag (creating it), as cosign does: one layer per
 * signature or attestation. A layer already there (same digest and annotations) is not added twice.
 */
async function appendToCosignTag(
  store: ImageStore,
  tag: string,
  layer: Descriptor,
  layerBytes: Uint8Array,
): Promise<ParsedManifest> {
  const existing = await store.getTagged(tag);
  let layers: Descriptor[] = [];
  if (existing !== undefined) {
    if (existing.kind !== "manifest") {
      throw cairnError(
        "ERR_OCI_MEDIA_TYPE",
        `the tag ${tag} holds ${existing.mediaType}, not an image manifest`,
      );
    }
    layers = existing.manifest.layers;
  }
  const same = (a: Descriptor) =>
    a.digest === layer.digest &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(layer.annotations ?? {});
  if (!layers.some(same)) layers = [...layers, layer];
  if (layers.length > MAX_SIGNATURE_LAYERS) {
    throw cairnError(
      "ERR_OCI_TOO_LARGE",
      `the tag ${tag} would hold more than ${MAX_SIGNATURE_LAYERS} layers`,
    );
  }
  await putBlobIfMissing(store, layer, layerBytes);
  const configBytes = cosignConfig(layers);
  const config = descriptorOf(configBytes, MEDIA_TYPE_OCI_CONFIG);
  await putBlobIfMissing(store, config, configBytes);
  const m = newImageManifest({ config, layers });
  await store.putManifest(m, { tag });
  return m;
}

/** Pushes a referrer: empty config, one layer, `subject` the image. */
async function putReferrer(
  store: ImageStore,
  subject: Descriptor,
  artifactType: string,
  layer: Descriptor,
  layerBytes: Uint8Array,
  annotations: Record<string, string>,
): Promise<ParsedManifest> {
  await putBlobIfMissing(store, emptyDescriptor(), EMPTY_JSON_BYTES);
  await putBlobIfMissing(store, layer, layerBytes);
  const m = newImageManifest({
    artifactType,
    config: emptyDescriptor(),
    layers: [layer],
    // Only the fields that identify the subject: its annotations or platform are not signed here.
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  });
  await store.putManifest(m);
  return m;
}

function checkForms(forms: readonly SignForm[]): void {
  if (forms.length === 0) throw cairnError("ERR_USAGE", "no signature form chosen (cosign, referrer)");
  for (const f of forms)
    if (!SIGN_FORMS.includes(f)) throw cairnError("ERR_USAGE", `"${f}" is not a form (cosign, referrer)`);
}

export interface SignImageOptions {
  signer: Signer;
  /** Default both. */
  forms?: readonly SignForm[];
  /** critical.identity.docker-reference; default the store's identity (HOST/REPO), or "" for a layout. */
  identity?: string;
  /** The payload's `optional` object (cosign's `-a key=value` annotations). */
  annotations?: Record<string, unknown>;
  /** A tag or digest to sign instead of the image name's own reference. */
  ref?: string;
  clock?: Clock;
}

/** Where an attachment went: a signature form, or a Sigstore bundle referrer (bundle.ts). */
export type AttachedForm = SignForm | "bundle";

/** What was attached to an image. */
export interface Attached {
  form: AttachedForm;
  /** The manifest that carries it. */
  manifest: Descriptor;
  /** The cosign tag, for the cosign form. */
  tag?: string;
}

export interface SignResult {
  image: Descriptor;
  attached: Attached[];
}

/**
 * Signs the image (resolved now: the signature names its digest, never a tag) in the chosen forms.
 * The cosign form appends to the `.sig` manifest, which therefore gets a new digest.
 */
export async function signImage(store: ImageStore, opts: SignImageOptions): Promise<SignResult> {
  const forms = opts.forms ?? SIGN_FORMS;
  checkForms(forms);
  const image = await store.resolve(opts.ref);
  const identity = opts.identity ?? store.identity ?? "";
  const payload = simpleSigningPayload(identity, image.digest, opts.annotations ?? null);
  const attached: Attached[] = [];
  if (forms.includes("cosign")) {
    const sig = Buffer.from(await opts.signer.sign(payload)).toString("base64");
    const layer = descriptorOf(payload, MEDIA_TYPE_COSIGN_SIMPLESIGNING, {
      annotations: { [ANNOTATION_COSIGN_SIGNATURE]: sig },
    });
    const tag = cosignTag(image.digest, SIGNATURE_TAG_SUFFIX);
    const m = await appendToCosignTag(store, tag, layer, payload);
    attached.push({ form: "cosign", manifest: manifestDescriptor(m), tag });
  }
  if (forms.includes("referrer")) {
    const env = await signEnvelope(MEDIA_TYPE_COSIGN_SIMPLESIGNING, payload, [opts.signer]);
    const bytes = new TextEncoder().encode(JSON.stringify(env));
    const layer = descriptorOf(bytes, MEDIA_TYPE_DSSE_ENVELOPE);
    const m = await putReferrer(store, image, ARTIFACT_TYPE_SIGNATURE, layer, bytes, {
      [ANNOTATION_CREATED]: (opts.clock ?? systemClock).now().toISOString(),
    });
    attached.push({
      form: "referrer",
      manifest: manifestDescriptor(m, { artifactType: ARTIFACT_TYPE_SIGNATURE }),
    });
  }
  return { image, attached };
}

export interface AttestImageOptions {
  signer: Signer;
  predicateType: string;
  predicate: Record<string, unknown>;
  /** Default both. */
  forms?: readonly SignForm[];
  /** The subject's name; default the store's identity, or the image name. */
  subjectName?: string;
  ref?: string;
  clock?: Clock;
}

export interface AttestResult extends SignResult {
  statement: Statement;
}

/**
 * Attests the image: an in-toto v1 statement whose subject is the image digest, with the given
 * predicate, DSSE-signed (payloadType application/vnd.in-toto+json), attached in the chosen forms.
 */
export async function attestImage(store: ImageStore, opts: AttestImageOptions): Promise<AttestResult> {
  const forms = opts.forms ?? SIGN_FORMS;
  checkForms(forms);
  const image = await store.resolve(opts.ref);
  const d = parseDigest(image.digest);
  const statement = newStatement(
    [{ name: opts.subjectName ?? store.identity ?? store.name, digest: { [d.algorithm]: d.encoded } }],
    opts.predicateType,
    opts.predicate,
  ) as Statement;
  const env = await signEnvelope(PAYLOAD_TYPE_INTOTO, new TextEncoder().encode(JSON.stringify(statement)), [
    opts.signer,
  ]);
  const bytes = new TextEncoder().encode(JSON.stringify(env));
  const attached: Attached[] = [];
  if (forms.includes("cosign")) {
    const layer = descriptorOf(bytes, MEDIA_TYPE_DSSE_ENVELOPE, {
      annotations: { [ANNOTATION_PREDICATE_TYPE]: opts.predicateType },
    });
    const tag = cosignTag(image.digest, ATTESTATION_TAG_SUFFIX);
    const m = await appendToCosignTag(store, tag, layer, bytes);
    attached.push({ form: "cosign", manifest: manifestDescriptor(m), tag });
  }
  if (forms.includes("referrer")) {
    const layer = descriptorOf(bytes, MEDIA_TYPE_DSSE_ENVELOPE, {
      annotations: { [ANNOTATION_PREDICATE_TYPE]: opts.predicateType },
    });
    const m = await putReferrer(store, image, ARTIFACT_TYPE_ATTESTATION, layer, bytes, {
      [ANNOTATION_INTOTO_PREDICATE_TYPE]: opts.predicateType,
      [ANNOTATION_CREATED]: (opts.clock ?? systemClock).now().toISOString(),
    });
    attached.push({
      form: "referrer",
      manifest: manifestDescriptor(m, { artifactType: ARTIFACT_TYPE_ATTESTATION }),
    });
  }
  return { image, attached, statement };
}
