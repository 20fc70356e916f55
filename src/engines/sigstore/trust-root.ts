// SPDX-License-Identifier: Apache-2.0
// Building a trusted_root.json (sigstore_trustroot.proto TrustedRoot, media type v0.2) for cairn's
// own services: the certificate authorities' chains, the transparency logs' and CT logs' keys and
// the timestamp authorities, each with its validity period. Rotation keeps the old key with an
// end time, so what it signed before stays verifiable.

import { type KeyObject, X509Certificate } from "node:crypto";
import { cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import { logIdOfKey } from "../../formats/sigstore/index.js";
import {
  type CertificateAuthority,
  type TimeRange,
  TRUSTED_ROOT_V02_MEDIA_TYPE,
  type TransparencyLogInstance,
  type TrustedRoot,
} from "../../formats/sigstore/trusted-root.js";

/** A validity period; `end` absent means "still in use". */
export interface Validity {
  start: Date;
  end?: Date;
}

export interface LogKeySpec {
  baseUrl: string;
  publicKey: KeyObject;
  validity: Validity;
  operator?: string;
}

export interface AuthoritySpec {
  uri: string;
  /** DER certificates, leaf-most first, the root last (sigstore_trustroot.proto CertificateAuthority.cert_chain). */
  chain: Uint8Array[];
  /** Default: from the certificates' validity. */
  validity?: Validity;
  organization?: string;
  commonName?: string;
  operator?: string;
}

export interface TrustedRootSpec {
  tlogs?: LogKeySpec[];
  ctlogs?: LogKeySpec[];
  certificateAuthorities?: AuthoritySpec[];
  timestampAuthorities?: AuthoritySpec[];
}

/** The PublicKeyDetails name of a key (sigstore_common.proto). Throws ERR_KEY_INVALID for others. */
export function keyDetailsOf(key: KeyObject): string {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === "ed25519") return "PKIX_ED25519";
  if (t === "ec") {
    const name = {
      prime256v1: "PKIX_ECDSA_P256_SHA_256",
      secp384r1: "PKIX_ECDSA_P384_SHA_384",
      secp521r1: "PKIX_ECDSA_P521_SHA_512",
    }[d.namedCurve ?? ""];
    if (name) return name;
  }
  if (t === "rsa" && [2048, 3072, 4096].includes(d.modulusLength ?? 0))
    return `PKIX_RSA_PKCS1V15_${d.modulusLength}_SHA256`;
  throw cairnError("ERR_KEY_INVALID", `a ${t} key cannot be described in a trusted root`);
}

/** RFC 3339 text of a date, in the proto3 JSON form (no fractional seconds when there are none). */
function rfc3339(d: Date): string {
  return d.toISOString().replace(".000Z", "Z");
}

function range(v: Validity): TimeRange {
  const r: TimeRange = { start: rfc3339(v.start) };
  if (v.end) r.end = rfc3339(v.end);
  return r;
}

function log(spec: LogKeySpec): TransparencyLogInstance {
  const spki = spkiDerOf(spec.publicKey);
  const l: TransparencyLogInstance = {
    baseUrl: spec.baseUrl,
    hashAlgorithm: "SHA2_256",
    publicKey: { rawBytes: spki, keyDetails: keyDetailsOf(spec.publicKey), validFor: range(spec.validity) },
    logId: { keyId: logIdOfKey(spki) },
  };
  if (spec.operator !== undefined) l.operator = spec.operator;
  return l;
}

function authority(spec: AuthoritySpec): CertificateAuthority {
  if (spec.chain.length === 0)
    throw cairnError("ERR_USAGE", "a certificate authority needs its certificate chain");
  const certs = spec.chain.map((c) => new X509Certificate(Buffer.from(c)));
  const root = certs[certs.length - 1]!;
  const validity = spec.validity ?? { start: new Date(certs[0]!.validFrom), end: new Date(root.validTo) };
  const ca: CertificateAuthority = {
    uri: spec.uri,
    certChain: { certificates: spec.chain.map((c) => ({ rawBytes: Buffer.from(c) })) },
    validFor: range(validity),
  };
  if (spec.organization !== undefined || spec.commonName !== undefined) {
    ca.subject = { organization: spec.organization ?? "", commonName: spec.commonName ?? "" };
  }
  if (spec.operator !== undefined) ca.operator = spec.operator;
  return ca;
}

/** Builds a v0.2 trusted root. */
export function buildTrustedRoot(spec: TrustedRootSpec): TrustedRoot {
  return {
    mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE,
    tlogs: (spec.tlogs ?? []).map(log),
    certificateAuthorities: (spec.certificateAuthorities ?? []).map(authority),
    ctlogs: (spec.ctlogs ?? []).map(log),
    timestampAuthorities: (spec.timestampAuthorities ?? []).map(authority),
  };
}
