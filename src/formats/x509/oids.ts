// SPDX-License-Identifier: Apache-2.0
// Object identifiers cairn's CA writes and reads: the Fulcio certificate extensions (Sigstore's
// private enterprise number 57264, sigstore/fulcio docs/oid-info.md), RFC 6962 certificate
// transparency (sections 3.1 and 3.3), and the RFC 5280 extensions and key purposes.

/** Fulcio's extension arc: 1.3.6.1.4.1.57264.1 (oid-info.md "1.3.6.1.4.1.57264.1 | Fulcio"). */
export const FULCIO_ARC = "1.3.6.1.4.1.57264.1";

/**
 * The Fulcio extensions. The deprecated ones (.1 to .6) hold the claim's raw bytes as the
 * extension value; .8 onwards hold a DER UTF8String (oid-info.md, "1.3.6.1.4.1.57264.1.8 | Issuer
 * (V2)": "the same as 1.3.6.1.4.1.57264.1.1, formatted to the RFC 5280 specification as a
 * DER-encoded string in the ASN.1 extension").
 */
export const FULCIO_OID = {
  /** Deprecated raw-bytes form of the OIDC issuer. */
  issuerV1: `${FULCIO_ARC}.1`,
  githubWorkflowTrigger: `${FULCIO_ARC}.2`,
  githubWorkflowSha: `${FULCIO_ARC}.3`,
  githubWorkflowName: `${FULCIO_ARC}.4`,
  githubWorkflowRepository: `${FULCIO_ARC}.5`,
  githubWorkflowRef: `${FULCIO_ARC}.6`,
  /** An otherName SAN type-id (used for usernames); cairn does not issue it. */
  otherName: `${FULCIO_ARC}.7`,
  /** The OIDC issuer, DER UTF8String. */
  issuer: `${FULCIO_ARC}.8`,
  buildSignerUri: `${FULCIO_ARC}.9`,
  buildSignerDigest: `${FULCIO_ARC}.10`,
  runnerEnvironment: `${FULCIO_ARC}.11`,
  sourceRepositoryUri: `${FULCIO_ARC}.12`,
  sourceRepositoryDigest: `${FULCIO_ARC}.13`,
  sourceRepositoryRef: `${FULCIO_ARC}.14`,
  sourceRepositoryIdentifier: `${FULCIO_ARC}.15`,
  sourceRepositoryOwnerUri: `${FULCIO_ARC}.16`,
  sourceRepositoryOwnerIdentifier: `${FULCIO_ARC}.17`,
  buildConfigUri: `${FULCIO_ARC}.18`,
  buildConfigDigest: `${FULCIO_ARC}.19`,
  buildTrigger: `${FULCIO_ARC}.20`,
  runInvocationUri: `${FULCIO_ARC}.21`,
  sourceRepositoryVisibilityAtSigning: `${FULCIO_ARC}.22`,
  deploymentEnvironment: `${FULCIO_ARC}.23`,
} as const;

export type FulcioExtensionName = Exclude<keyof typeof FULCIO_OID, "otherName">;

/** The deprecated extensions whose value is the claim's raw bytes, not a DER string. */
export const FULCIO_RAW_VALUE_OIDS: ReadonlySet<string> = new Set([
  FULCIO_OID.issuerV1,
  FULCIO_OID.githubWorkflowTrigger,
  FULCIO_OID.githubWorkflowSha,
  FULCIO_OID.githubWorkflowName,
  FULCIO_OID.githubWorkflowRepository,
  FULCIO_OID.githubWorkflowRef,
]);

/** RFC 6962 3.1: the critical poison extension that makes a certificate a precertificate (value ASN.1 NULL). */
export const CT_POISON_OID = "1.3.6.1.4.1.11129.2.4.3";
/** RFC 6962 3.3: the SignedCertificateTimestampList extension of an X.509v3 certificate. */
export const CT_SCT_LIST_OID = "1.3.6.1.4.1.11129.2.4.2";

/** RFC 5280 4.2.1.12 key purposes. */
export const EKU_OID = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  timeStamping: "1.3.6.1.5.5.7.3.8",
} as const;

/** RFC 5280 4.2.1 certificate extensions. */
export const X509_EXTENSION_OID = {
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
} as const;
