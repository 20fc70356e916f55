// SPDX-License-Identifier: Apache-2.0
// Verifying image signatures and attestations against given public keys, in both forms that
// sign.ts writes (cosign's `.sig`/`.att` tags, OCI 1.1 referrers), with cosign's checks
// (sigstore/cosign pkg/cosign verify.go): the signature over the exact payload bytes, then the
// signed payload must name the image's digest.
//
// Threats: everything attached to an image is attacker-writable (anyone who can push to the
// repository can add layers, tags and referrers). So: a signature by a key not given is no
// signature; a valid signature over a payload naming another digest is a signature moved from
// another image (refused: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH); annotations (predicateType, the
// referrers list's artifactType) are hints only, what counts is read from the signed payload;
// "could not check" (transport, not found) is thrown as it is and never turns into a verdict.
import { CairnError, cairnError, type ErrorCode } from "../../core/errors.js";
import { parseJson } from "../../core/json.js";
import { keyFingerprint, type PublicKey, verifyWith } from "../../core/keys.js";
import { KeyRing } from "../../core/signer.js";
import { parseEnvelope, verifyEnvelope } from "../../formats/dsse/index.js";
import { parseStatement, type Statement } from "../../formats/intoto/statement.js";
import {
  type Descriptor,
  type OciDigest,
  type ParsedManifestOrIndex,
  parseDigest,
} from "../../formats/oci/index.js";
import {
  ARTIFACT_TYPE_ATTESTATION,
  ARTIFACT_TYPE_SIGNATURE,
  ATTESTATION_TAG_SUFFIX,
  cosignTag,
  PAYLOAD_TYPE_INTOTO,
  SIGNATURE_TAG_SUFFIX,
} from "./attached.js";
import {
  ANNOTATION_COSIGN_SIGNATURE,
  type AttachedForm,
  COSIGN_SIGNATURE_TYPE,
  MAX_ENVELOPE_BYTES,
  MAX_SIGNATURE_LAYERS,
  MAX_SIMPLE_SIGNING_BYTES,
  MEDIA_TYPE_COSIGN_SIMPLESIGNING,
  MEDIA_TYPE_DSSE_ENVELOPE,
  parseSimpleSigningPayload,
  SIGN_FORMS,
  type SignForm,
  type SimpleSigningPayload,
} from "./sign.js";
import type { ImageStore } from "./store.js";

/** Most referrers of one image checked. */
export const MAX_REFERRERS_CHECKED = 256;

/** A signature or attestation that was looked at and refused, and why. */
export interface Rejected {
  form: AttachedForm;
  /** The manifest that carried it. */
  manifest: OciDigest;
  /** The layer, when the manifest has several. */
  layer?: OciDigest;
  code: ErrorCode;
  message: string;
}

export interface VerifiedSignature {
  form: SignForm;
  manifest: OciDigest;
  layer: OciDigest;
  /** The key id (as cairn computes it) of the given key that verified it. */
  keyid: string;
  /** The signed payload, read only after the signature checked. */
  payload: SimpleSigningPayload;
}

export interface ImageVerification {
  image: Descriptor;
  signatures: VerifiedSignature[];
  /** Signatures found and refused (another key, altered, for another image). */
  rejected: Rejected[];
}

export interface VerifyImageOptions {
  keys: PublicKey[];
  /** Default both. */
  forms?: readonly SignForm[];
  /** When given, critical.identity.docker-reference must equal it. */
  identity?: string;
  /** A tag or digest instead of the image name's own reference. */
  ref?: string;
}

// The refusal reported when nothing verified: the most telling one first.
const PRIORITY: ErrorCode[] = ["ERR_OCI_SIGNATURE_SUBJECT_MISMATCH", "ERR_OCI_SIGNATURE_INVALID"];

/** The error for "nothing verified": the first refusal by `priority`, or MISSING when there was none. */
export function failure(
  what: string,
  image: Descriptor,
  rejected: Rejected[],
  priority: ErrorCode[] = PRIORITY,
): CairnError {
  if (rejected.length === 0) {
    return cairnError("ERR_OCI_SIGNATURE_MISSING", `no ${what} is attached to ${image.digest}`);
  }
  const first =
    priority.map((c) => rejected.find((r) => r.code === c)).find((r) => r !== undefined) ?? rejected[0]!;
  const code: ErrorCode = first.code;
  const more = rejected.length > 1 ? ` (and ${rejected.length - 1} other refusal(s))` : "";
  return cairnError(
    code,
    `no ${what} of ${image.digest} verifies: ${first.form} ${first.manifest}: ${first.message}${more}`,
  );
}

/** Runs `check`; a format or verification failure becomes a refusal, anything else is thrown. */
async function judge<T>(
  rejected: Rejected[],
  where: Omit<Rejected, "code" | "message">,
  check: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await check();
  } catch (e) {
    if (e instanceof CairnError && (e.category === "verification" || e.category === "format")) {
      rejected.push({ ...where, code: e.code, message: e.message });
      return undefined;
    }
    throw e;
  }
}

export function manifestLayers(m: ParsedManifestOrIndex, what: string): Descriptor[] {
  if (m.kind !== "manifest") {
    throw cairnError("ERR_OCI_MEDIA_TYPE", `the ${what} manifest ${m.digest} is an index, not a manifest`);
  }
  if (m.manifest.layers.length > MAX_SIGNATURE_LAYERS) {
    throw cairnError(
      "ERR_OCI_TOO_LARGE",
      `the ${what} manifest has more than ${MAX_SIGNATURE_LAYERS} layers`,
    );
  }
  return m.manifest.layers;
}

/** Reads the referrers of `image` with the artifact type, checking that each names it as subject. */
export async function referrersOf(
  store: ImageStore,
  image: Descriptor,
  artifactType: string,
  rejected: Rejected[],
  form: AttachedForm = "referrer",
): Promise<ParsedManifestOrIndex[]> {
  // The list (or the tag-schema fallback index) is unsigned: it only says where to look.
  const list = (await store.referrers(image.digest)).filter((d) => d.artifactType === artifactType);
  const out: ParsedManifestOrIndex[] = [];
  for (const d of list.slice(0, MAX_REFERRERS_CHECKED)) {
    const m = await judge(rejected, { form, manifest: d.digest }, async () => {
      const m = await store.getManifest(d.digest);
      const subject = m.kind === "manifest" ? m.manifest.subject : m.index.subject;
      if (subject?.digest !== image.digest) {
        throw cairnError(
          "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
          `the referrer's subject is ${subject?.digest ?? "missing"}, not ${image.digest}`,
        );
      }
      return m;
    });
    if (m !== undefined) out.push(m);
  }
  return out;
}

function checkPayload(p: SimpleSigningPayload, image: Descriptor, identity: string | undefined): void {
  if (p.critical.type !== COSIGN_SIGNATURE_TYPE) {
    throw cairnError(
      "ERR_FIELD_INVALID",
      `critical.type is "${p.critical.type}", not "${COSIGN_SIGNATURE_TYPE}"`,
      {
        field: "critical.type",
      },
    );
  }
  // cosign verify.go: the signed payload must name the digest that was verified, else a valid
  // signature of one image could be attached to another.
  const named = p.critical.image["docker-manifest-digest"];
  if (named !== image.digest) {
    throw cairnError(
      "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
      `the signed payload names ${named}, not ${image.digest}`,
      {
        field: "critical.image.docker-manifest-digest",
      },
    );
  }
  const ref = p.critical.identity["docker-reference"];
  if (identity !== undefined && ref !== identity) {
    throw cairnError(
      "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
      `the signed payload names ${ref}, not ${identity}`,
      {
        field: "critical.identity.docker-reference",
      },
    );
  }
}

function distinctKeys(keys: PublicKey[]): PublicKey[] {
  if (keys.length === 0) throw cairnError("ERR_USAGE", "no public key given to verify with");
  const seen = new Set<string>();
  return keys.filter((k) => {
    const fp = keyFingerprint(k);
    if (seen.has(fp)) return false;
    seen.add(fp);
    return true;
  });
}

/** Parses and verifies a DSSE envelope blob; the payload type must be `payloadType`. */
function openEnvelope(bytes: Uint8Array, ring: KeyRing, payloadType: string) {
  const env = parseEnvelope(parseJson(bytes, undefined, { maxBytes: MAX_ENVELOPE_BYTES, maxDepth: 64 }));
  let verified: ReturnType<typeof verifyEnvelope>;
  try {
    verified = verifyEnvelope(env, ring);
  } catch (e) {
    if (e instanceof CairnError && e.code === "ERR_DSSE_SIGNATURE_INVALID") {
      throw cairnError(
        "ERR_OCI_SIGNATURE_INVALID",
        `the DSSE envelope is not signed by a given key: ${e.message}`,
      );
    }
    throw e;
  }
  // The payload type is signed (it is in PAE): a different one is another kind of document.
  if (verified.payloadType !== payloadType) {
    throw cairnError(
      "ERR_FIELD_INVALID",
      `payloadType is "${verified.payloadType}", expected "${payloadType}"`,
      {
        field: "payloadType",
      },
    );
  }
  return verified;
}

/**
 * Verifies the image's signatures against the given keys: passes when at least one signature in
 * the chosen forms is by one of the keys and names the image's digest. Throws
 * ERR_OCI_SIGNATURE_MISSING (nothing attached), ERR_OCI_SIGNATURE_SUBJECT_MISMATCH (a valid
 * signature for another image), or ERR_OCI_SIGNATURE_INVALID (another key, altered), and passes
 * transport and not-found errors through. Returns the verified payloads and what was refused.
 */
export async function verifyImage(store: ImageStore, opts: VerifyImageOptions): Promise<ImageVerification> {
  const forms = opts.forms ?? SIGN_FORMS;
  const keys = distinctKeys(opts.keys);
  const ring = new KeyRing(keys);
  const image = await store.resolve(opts.ref);
  const signatures: VerifiedSignature[] = [];
  const rejected: Rejected[] = [];

  if (forms.includes("cosign")) {
    const m = await store.getTagged(cosignTag(image.digest, SIGNATURE_TAG_SUFFIX));
    if (m !== undefined) {
      const layers = await judge(rejected, { form: "cosign", manifest: m.digest }, async () =>
        manifestLayers(m, "signature"),
      );
      for (const layer of layers ?? []) {
        if (layer.mediaType !== MEDIA_TYPE_COSIGN_SIMPLESIGNING) continue;
        const where = { form: "cosign" as const, manifest: m.digest, layer: layer.digest };
        const ok = await judge(rejected, where, async () => {
          const sigText = layer.annotations?.[ANNOTATION_COSIGN_SIGNATURE];
          if (sigText === undefined || sigText === "") {
            throw cairnError(
              "ERR_OCI_SIGNATURE_INVALID",
              `the layer has no ${ANNOTATION_COSIGN_SIGNATURE} annotation`,
            );
          }
          const sig = Buffer.from(sigText, "base64");
          // The payload blob is verified against the layer digest by the store.
          const payload = await store.getBlob(layer, MAX_SIMPLE_SIGNING_BYTES);
          const key = keys.find((k) => verifyWith(k, payload, sig));
          if (key === undefined) {
            throw cairnError("ERR_OCI_SIGNATURE_INVALID", "the signature does not verify with any given key");
          }
          const p = parseSimpleSigningPayload(payload);
          checkPayload(p, image, opts.identity);
          return { keyid: key.keyid, payload: p };
        });
        if (ok !== undefined) signatures.push({ ...where, ...ok });
      }
    }
  }

  if (forms.includes("referrer")) {
    for (const m of await referrersOf(store, image, ARTIFACT_TYPE_SIGNATURE, rejected)) {
      // A referrer that is an index, or has too many layers, is refused, not fatal.
      const layers = await judge(rejected, { form: "referrer", manifest: m.digest }, async () =>
        manifestLayers(m, "signature"),
      );
      for (const layer of layers ?? []) {
        if (layer.mediaType !== MEDIA_TYPE_DSSE_ENVELOPE) continue;
        const where = { form: "referrer" as const, manifest: m.digest, layer: layer.digest };
        const ok = await judge(rejected, where, async () => {
          const bytes = await store.getBlob(layer, MAX_ENVELOPE_BYTES);
          const v = openEnvelope(bytes, ring, MEDIA_TYPE_COSIGN_SIMPLESIGNING);
          const p = parseSimpleSigningPayload(v.payload);
          checkPayload(p, image, opts.identity);
          return { keyid: v.keyids[0]!, payload: p };
        });
        if (ok !== undefined) signatures.push({ ...where, ...ok });
      }
    }
  }

  if (signatures.length === 0) throw failure("signature", image, rejected);
  return { image, signatures, rejected };
}

export interface VerifiedAttestation {
  form: SignForm;
  manifest: OciDigest;
  layer: OciDigest;
  keyids: string[];
  predicateType: string;
  /** The signed statement, read only after its envelope verified and its subject matched. */
  statement: Statement;
}

export interface AttestationVerification {
  image: Descriptor;
  attestations: VerifiedAttestation[];
  rejected: Rejected[];
  /** Verified attestations left out because their predicate type is not the one asked for. */
  otherTypes: number;
}

export interface VerifyAttestationOptions {
  keys: PublicKey[];
  forms?: readonly SignForm[];
  /** Keep only statements of this predicate type (read from the signed statement). */
  predicateType?: string;
  ref?: string;
}

/**
 * Verifies the image's attestations: DSSE envelopes signed by one of the keys, carrying an
 * in-toto statement with a subject whose digest is the image's. Passes when at least one (of
 * `predicateType`, when given) verifies; throws as verifyImage does otherwise.
 */
export async function verifyAttestation(
  store: ImageStore,
  opts: VerifyAttestationOptions,
): Promise<AttestationVerification> {
  const forms = opts.forms ?? SIGN_FORMS;
  const ring = new KeyRing(distinctKeys(opts.keys));
  const image = await store.resolve(opts.ref);
  const d = parseDigest(image.digest);
  const attestations: VerifiedAttestation[] = [];
  const rejected: Rejected[] = [];
  let otherTypes = 0;

  const check = async (form: SignForm, m: ParsedManifestOrIndex, layer: Descriptor) => {
    const where = { form, manifest: m.digest, layer: layer.digest };
    const ok = await judge(rejected, where, async () => {
      const bytes = await store.getBlob(layer, MAX_ENVELOPE_BYTES);
      const v = openEnvelope(bytes, ring, PAYLOAD_TYPE_INTOTO);
      const statement = parseStatement(
        parseJson(v.payload, undefined, { maxBytes: MAX_ENVELOPE_BYTES, maxDepth: 64 }),
      );
      // cosign verify-attestation: a subject must carry the image's digest.
      if (!statement.subject.some((s) => s.digest[d.algorithm] === d.encoded)) {
        throw cairnError(
          "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
          `no subject of the statement has the digest ${image.digest}`,
          { field: "subject" },
        );
      }
      return { keyids: v.keyids, statement, predicateType: statement.predicateType };
    });
    if (ok === undefined) return;
    if (opts.predicateType !== undefined && ok.predicateType !== opts.predicateType) otherTypes++;
    else attestations.push({ ...where, ...ok });
  };

  if (forms.includes("cosign")) {
    const m = await store.getTagged(cosignTag(image.digest, ATTESTATION_TAG_SUFFIX));
    if (m !== undefined) {
      const layers = await judge(rejected, { form: "cosign", manifest: m.digest }, async () =>
        manifestLayers(m, "attestation"),
      );
      for (const layer of layers ?? [])
        if (layer.mediaType === MEDIA_TYPE_DSSE_ENVELOPE) await check("cosign", m, layer);
    }
  }
  if (forms.includes("referrer")) {
    for (const m of await referrersOf(store, image, ARTIFACT_TYPE_ATTESTATION, rejected)) {
      const layers = await judge(rejected, { form: "referrer", manifest: m.digest }, async () =>
        manifestLayers(m, "attestation"),
      );
      for (const layer of layers ?? [])
        if (layer.mediaType === MEDIA_TYPE_DSSE_ENVELOPE) await check("referrer", m, layer);
    }
  }

  if (attestations.length === 0) {
    const what =
      opts.predicateType === undefined ? "attestation" : `attestation of type ${opts.predicateType}`;
    throw failure(what, image, rejected);
  }
  return { image, attestations, rejected, otherTypes };
}
