// SPDX-License-Identifier: Apache-2.0
// The names of what is attached to an image, as cosign and the OCI 1.1 referrers API name them:
// cosign's digest tags, the referrers' artifact types and their (unsigned, hint-only) annotations.
// Kept apart from signing and verifying so that listing and copying (tree, copy) load none of it.

import { parseDigest } from "../../formats/oci/index.js";
import { BUNDLE_V03_MEDIA_TYPE } from "../../formats/sigstore/bundle.js";

/** The layer annotation cosign puts on attestations (unsigned: a hint, never trusted). */
export const ANNOTATION_PREDICATE_TYPE = "predicateType";
/** The manifest annotation naming the predicate type of a referrer attestation (a hint). */
export const ANNOTATION_INTOTO_PREDICATE_TYPE = "in-toto.io/predicate-type";
/** in-toto's DSSE payload type. */
export const PAYLOAD_TYPE_INTOTO = "application/vnd.in-toto+json";
/** artifactType of cairn's referrer signatures (a DSSE envelope over the simple-signing payload). */
export const ARTIFACT_TYPE_SIGNATURE = "application/vnd.cairn.signature.v1+json";
/** artifactType of referrer attestations (a DSSE envelope over an in-toto statement). */
export const ARTIFACT_TYPE_ATTESTATION = PAYLOAD_TYPE_INTOTO;
/** cosign's tag suffixes: signatures, attestations, attached SBOMs. */
export const SIGNATURE_TAG_SUFFIX = ".sig";
export const ATTESTATION_TAG_SUFFIX = ".att";
export const SBOM_TAG_SUFFIX = ".sbom";
/** cosign's tag for what is attached to `digest`: `<alg>-<hex><suffix>`. */
export function cosignTag(digest: string, suffix: string): string {
  const p = parseDigest(digest);
  return `${p.algorithm}-${p.encoded}${suffix}`;
}
/** artifactType of a bundle referrer, and media type of its layer (protobuf-specs bundle v0.3). */
export const ARTIFACT_TYPE_SIGSTORE_BUNDLE = BUNDLE_V03_MEDIA_TYPE;
/** BUNDLE_SPEC.md "Annotations": the statement's predicate type (a hint, never trusted). */
export const ANNOTATION_BUNDLE_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType";
