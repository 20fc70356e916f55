// SPDX-License-Identifier: Apache-2.0
// The Sigstore trusted root (sigstore/protobuf-specs protos/sigstore_trustroot.proto, TrustedRoot,
// TransparencyLogInstance, CertificateAuthority; sigstore_common.proto PublicKey, TimeRange) in
// its proto3 JSON form, trusted_root.json: the logs, CT logs, certificate and timestamp
// authorities a verifier trusts, each with a validity period. Parsing is strict and lossless.
import { createHash, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { cairnError } from "../../core/errors.js";
import { type JsonLimits, parseJson } from "../../core/json.js";
import { HASH_ALGORITHMS, type HashAlgorithmName, type LogId, type X509CertificateChain } from "./bundle.js";
import { b64, extrasOf, type JsonObject, ProtoReader, timestampNanos, withExtras } from "./proto-json.js";

/** Trusted root versions cairn reads. */
export type TrustedRootVersion = "0.1" | "0.2";

/** The media type cairn writes (sigstore_trustroot.proto: "MUST be application/vnd.dev.sigstore.trustedroot.v0.2+json"). */
export const TRUSTED_ROOT_V02_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot.v0.2+json";
export const TRUSTED_ROOT_V01_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/** Largest trusted_root.json we read. */
export const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;
/** Most entries in each list (tlogs, ctlogs, certificateAuthorities, timestampAuthorities). */
export const MAX_TRUST_ENTRIES = 64;
/** Most certificates in one authority's chain. */
export const MAX_AUTHORITY_CHAIN = 10;

const LIMITS: JsonLimits = { maxBytes: MAX_TRUSTED_ROOT_BYTES, maxDepth: 16 };

/** sigstore_common.proto TimeRange: RFC 3339 text as given; both ends inclusive. */
export interface TimeRange {
  start: string;
  end?: string;
  [extra: string]: unknown;
}

/** sigstore_common.proto PublicKey: DER SubjectPublicKeyInfo and its algorithm. */
export interface SigstorePublicKey {
  rawBytes: Uint8Array;
  /** A PublicKeyDetails name, e.g. PKIX_ECDSA_P256_SHA_256 or PKIX_ED25519. */
  keyDetails: string;
  validFor?: TimeRange;
  [extra: string]: unknown;
}

export interface TransparencyLogInstance {
  baseUrl: string;
  hashAlgorithm: HashAlgorithmName;
  publicKey: SigstorePublicKey;
  logId: LogId;
  /** v0.2: the C2SP signed-note key id of the log's checkpoints. */
  checkpointKeyId?: LogId;
  /** v0.2: who operates the log, a scheme-less URI. */
  operator?: string;
  [extra: string]: unknown;
}

export interface DistinguishedName {
  organization: string;
  commonName: string;
  [extra: string]: unknown;
}

export interface CertificateAuthority {
  subject?: DistinguishedName;
  uri: string;
  /** The last certificate is the trust anchor. */
  certChain: X509CertificateChain;
  validFor?: TimeRange;
  operator?: string;
  [extra: string]: unknown;
}

export interface TrustedRoot {
  mediaType: string;
  tlogs: TransparencyLogInstance[];
  certificateAuthorities: CertificateAuthority[];
  ctlogs: TransparencyLogInstance[];
  timestampAuthorities: CertificateAuthority[];
  [extra: string]: unknown;
}

/** sigstore_common.proto PublicKeyDetails, by enum number ("" for numbers never assigned). */
export const PUBLIC_KEY_DETAILS = [
  "PUBLIC_KEY_DETAILS_UNSPECIFIED",
  "PKCS1_RSA_PKCS1V5",
  "PKCS1_RSA_PSS",
  "PKIX_RSA_PKCS1V5",
  "PKIX_RSA_PSS",
  "PKIX_ECDSA_P256_SHA_256",
  "PKIX_ECDSA_P256_HMAC_SHA_256",
  "PKIX_ED25519",
  "PKIX_ED25519_PH",
  "PKIX_RSA_PKCS1V15_2048_SHA256",
  "PKIX_RSA_PKCS1V15_3072_SHA256",
  "PKIX_RSA_PKCS1V15_4096_SHA256",
  "PKIX_ECDSA_P384_SHA_384",
  "PKIX_ECDSA_P521_SHA_512",
  "LMS_SHA256",
  "LMOTS_SHA256",
  "PKIX_RSA_PSS_2048_SHA256",
  "PKIX_RSA_PSS_3072_SHA256",
  "PKIX_RSA_PSS_4096_SHA256",
  "PKIX_ECDSA_P384_SHA_256",
  "PKIX_ECDSA_P521_SHA_256",
  "ML_DSA_65",
  "ML_DSA_87",
  "ML_DSA_44",
] as const;

const MEDIA_TYPE_RE =
  /^application\/vnd\.dev\.sigstore\.trustedroot(?:\+json;version=(0\.[12])|\.v(0\.[12])\+json)$/;

/**
 * The version a trusted root media type names: `application/vnd.dev.sigstore.trustedroot.v0.N+json`
 * or the older `application/vnd.dev.sigstore.trustedroot+json;version=0.N`, N = 1 or 2
 * (sigstore_trustroot.proto, TrustedRoot.media_type).
 */
export function trustedRootVersion(mediaType: string): TrustedRootVersion | undefined {
  const m = MEDIA_TYPE_RE.exec(mediaType);
  return m ? ((m[1] ?? m[2]) as TrustedRootVersion) : undefined;
}

/** Parses trusted_root.json text or bytes (bounded) and validates it. */
export function parseTrustedRootJson(input: string | Uint8Array, file?: string): TrustedRoot {
  return parseTrustedRoot(parseJson(input, file, LIMITS), file);
}

const ROOT_KEYS = ["mediaType", "tlogs", "certificateAuthorities", "ctlogs", "timestampAuthorities"];
const TLOG_KEYS = ["baseUrl", "hashAlgorithm", "publicKey", "logId", "checkpointKeyId", "operator"];
const CA_KEYS = ["subject", "uri", "certChain", "validFor", "operator"];

/** Validates a trusted root object; throws ERR_SIGSTORE_TRUSTED_ROOT_INVALID naming the field. */
export function parseTrustedRoot(obj: unknown, file?: string): TrustedRoot {
  const r = new ProtoReader("ERR_SIGSTORE_TRUSTED_ROOT_INVALID", file);
  const o = r.obj(obj, "$");
  const mediaType = r.str(r.get(o, "mediaType"), "mediaType");
  const version = trustedRootVersion(mediaType);
  if (version === undefined) {
    throw r.fail(
      "mediaType",
      `"${mediaType}" is not a Sigstore trusted root media type of version 0.1 or 0.2`,
    );
  }
  const list = (key: string) => r.arr(r.get(o, key), key, MAX_TRUST_ENTRIES);
  const root: TrustedRoot = {
    mediaType,
    tlogs: list("tlogs").map((x, i) => readLog(r, x, `tlogs[${i}]`, version)),
    certificateAuthorities: list("certificateAuthorities").map((x, i) =>
      readAuthority(r, x, `certificateAuthorities[${i}]`),
    ),
    ctlogs: list("ctlogs").map((x, i) => readLog(r, x, `ctlogs[${i}]`, version)),
    timestampAuthorities: list("timestampAuthorities").map((x, i) =>
      readAuthority(r, x, `timestampAuthorities[${i}]`),
    ),
  };
  return Object.assign(root, r.extras(o, ROOT_KEYS, ""));
}

function readTimeRange(r: ProtoReader, v: unknown, F: string): TimeRange {
  const o = r.obj(v, F);
  const startRaw = r.get(o, "start");
  if (startRaw === undefined) throw r.fail(`${F}.start`, "is required");
  const tr: TimeRange = { start: r.timestamp(startRaw, `${F}.start`) };
  const endRaw = r.get(o, "end");
  if (endRaw !== undefined) {
    tr.end = r.timestamp(endRaw, `${F}.end`);
    if (timestampNanos(tr.end)! < timestampNanos(tr.start)!) throw r.fail(`${F}.end`, "is before start");
  }
  return Object.assign(tr, r.extras(o, ["start", "end"], F));
}

function readLogId(r: ProtoReader, v: unknown, F: string): LogId {
  if (v === undefined) throw r.fail(F, "is required");
  const o = r.obj(v, F);
  return { keyId: r.requiredBytes(r.get(o, "keyId"), `${F}.keyId`), ...r.extras(o, ["keyId"], F) };
}

function readPublicKey(r: ProtoReader, v: unknown, F: string): SigstorePublicKey {
  if (v === undefined) throw r.fail(F, "is required");
  const o = r.obj(v, F);
  const kd = r.get(o, "keyDetails");
  let keyDetails: string;
  if (typeof kd === "string" && /^[A-Z][A-Z0-9_]*$/.test(kd))
    keyDetails = kd; // later names load as unsupported
  else keyDetails = r.enumName(kd, `${F}.keyDetails`, PUBLIC_KEY_DETAILS);
  if (keyDetails === "PUBLIC_KEY_DETAILS_UNSPECIFIED")
    throw r.fail(`${F}.keyDetails`, "must name the key's algorithm");
  const pk: SigstorePublicKey = {
    rawBytes: r.requiredBytes(r.get(o, "rawBytes"), `${F}.rawBytes`),
    keyDetails,
  };
  const vf = r.get(o, "validFor");
  if (vf !== undefined) pk.validFor = readTimeRange(r, vf, `${F}.validFor`);
  return Object.assign(pk, r.extras(o, ["rawBytes", "keyDetails", "validFor"], F));
}

function readLog(
  r: ProtoReader,
  v: unknown,
  F: string,
  version: TrustedRootVersion,
): TransparencyLogInstance {
  const o = r.obj(v, F);
  const hashAlgorithm = r.enumName(r.get(o, "hashAlgorithm"), `${F}.hashAlgorithm`, HASH_ALGORITHMS);
  if (hashAlgorithm === "HASH_ALGORITHM_UNSPECIFIED")
    throw r.fail(`${F}.hashAlgorithm`, "must name a hash algorithm");
  const log: TransparencyLogInstance = {
    baseUrl: r.requiredStr(r.get(o, "baseUrl"), `${F}.baseUrl`),
    hashAlgorithm,
    publicKey: readPublicKey(r, r.get(o, "publicKey"), `${F}.publicKey`),
    logId: readLogId(r, r.get(o, "logId"), `${F}.logId`),
  };
  const ck = r.get(o, "checkpointKeyId");
  const op = r.get(o, "operator");
  // sigstore_trustroot.proto: checkpoint_key_id and operator are "Only supported for TrustedRoot
  // media types matching or greater than ...v0.2+json".
  if (version === "0.1" && (ck !== undefined || op !== undefined)) {
    throw r.fail(ck !== undefined ? `${F}.checkpointKeyId` : `${F}.operator`, "is new in v0.2");
  }
  if (ck !== undefined) log.checkpointKeyId = readLogId(r, ck, `${F}.checkpointKeyId`);
  if (op !== undefined) log.operator = r.str(op, `${F}.operator`);
  return Object.assign(log, r.extras(o, TLOG_KEYS, F));
}

function readAuthority(r: ProtoReader, v: unknown, F: string): CertificateAuthority {
  const o = r.obj(v, F);
  const chainRaw = r.get(o, "certChain");
  if (chainRaw === undefined) throw r.fail(`${F}.certChain`, "is required");
  const c = r.obj(chainRaw, `${F}.certChain`);
  const certsF = `${F}.certChain.certificates`;
  const certs = r.arr(r.get(c, "certificates"), certsF, MAX_AUTHORITY_CHAIN);
  if (certs.length === 0) throw r.fail(certsF, "must hold at least the trust anchor");
  const ca: CertificateAuthority = {
    uri: r.str(r.get(o, "uri"), `${F}.uri`),
    certChain: {
      certificates: certs.map((x, i) => {
        const f = `${certsF}[${i}]`;
        const co = r.obj(x, f);
        return {
          rawBytes: r.certificate(r.get(co, "rawBytes"), `${f}.rawBytes`),
          ...r.extras(co, ["rawBytes"], f),
        };
      }),
      ...r.extras(c, ["certificates"], `${F}.certChain`),
    },
  };
  const subj = r.get(o, "subject");
  if (subj !== undefined) {
    const s = r.obj(subj, `${F}.subject`);
    ca.subject = {
      organization: r.str(r.get(s, "organization"), `${F}.subject.organization`),
      commonName: r.str(r.get(s, "commonName"), `${F}.subject.commonName`),
      ...r.extras(s, ["organization", "commonName"], `${F}.subject`),
    };
  }
  const vf = r.get(o, "validFor");
  if (vf !== undefined) ca.validFor = readTimeRange(r, vf, `${F}.validFor`);
  const op = r.get(o, "operator");
  if (op !== undefined) ca.operator = r.str(op, `${F}.operator`);
  return Object.assign(ca, r.extras(o, CA_KEYS, F));
}

// --- serialization ---

function timeRangeJson(t: TimeRange): JsonObject {
  const out: JsonObject = { start: t.start };
  if (t.end !== undefined) out.end = t.end;
  return withExtras(out, extrasOf(t, ["start", "end"]));
}

function logIdJson(l: LogId): JsonObject {
  return withExtras({ keyId: b64(l.keyId) }, extrasOf(l, ["keyId"]));
}

function logJson(l: TransparencyLogInstance): JsonObject {
  const pk: JsonObject = { rawBytes: b64(l.publicKey.rawBytes), keyDetails: l.publicKey.keyDetails };
  if (l.publicKey.validFor) pk.validFor = timeRangeJson(l.publicKey.validFor);
  const out: JsonObject = {
    baseUrl: l.baseUrl,
    hashAlgorithm: l.hashAlgorithm,
    publicKey: withExtras(pk, extrasOf(l.publicKey, ["rawBytes", "keyDetails", "validFor"])),
    logId: logIdJson(l.logId),
  };
  if (l.checkpointKeyId) out.checkpointKeyId = logIdJson(l.checkpointKeyId);
  if (l.operator !== undefined) out.operator = l.operator;
  return withExtras(out, extrasOf(l, TLOG_KEYS));
}

function authorityJson(a: CertificateAuthority): JsonObject {
  const out: JsonObject = {};
  if (a.subject) {
    out.subject = withExtras(
      { organization: a.subject.organization, commonName: a.subject.commonName },
      extrasOf(a.subject, ["organization", "commonName"]),
    );
  }
  out.uri = a.uri;
  out.certChain = withExtras(
    {
      certificates: a.certChain.certificates.map((c) =>
        withExtras({ rawBytes: b64(c.rawBytes) }, extrasOf(c, ["rawBytes"])),
      ),
    },
    extrasOf(a.certChain, ["certificates"]),
  );
  if (a.validFor) out.validFor = timeRangeJson(a.validFor);
  if (a.operator !== undefined) out.operator = a.operator;
  return withExtras(out, extrasOf(a, CA_KEYS));
}

/** The proto3 JSON object of a trusted root, unknown fields kept. */
export function trustedRootToJson(t: TrustedRoot): JsonObject {
  return withExtras(
    {
      mediaType: t.mediaType,
      tlogs: t.tlogs.map(logJson),
      certificateAuthorities: t.certificateAuthorities.map(authorityJson),
      ctlogs: t.ctlogs.map(logJson),
      timestampAuthorities: t.timestampAuthorities.map(authorityJson),
    },
    extrasOf(t, ROOT_KEYS),
  );
}

/** trusted_root.json text. */
export function serializeTrustedRoot(t: TrustedRoot, indent?: number): string {
  return JSON.stringify(trustedRootToJson(t), null, indent);
}

// --- helpers ---

/**
 * True if `time` lies in the validity period (both ends inclusive, sigstore_common.proto
 * PublicKey.valid_for). No period means always valid (the field is optional).
 */
export function keyValidAt(key: { validFor?: TimeRange | undefined }, time: Date): boolean {
  const vf = key.validFor;
  if (!vf) return true;
  const ms = time.getTime();
  if (!Number.isFinite(ms)) return false;
  const t = BigInt(ms) * 1_000_000n;
  const start = timestampNanos(vf.start);
  if (start === undefined || t < start) return false;
  if (vf.end === undefined) return true;
  const end = timestampNanos(vf.end);
  return end !== undefined && t <= end;
}

/**
 * The log among `logs` whose logId is `keyId` (and, if `time` is given, whose key was valid
 * then). The logId in a bundle is attacker-controlled: it only selects, the key then verifies.
 */
export function findTlog(
  logs: readonly TransparencyLogInstance[],
  keyId: Uint8Array,
  time?: Date,
): TransparencyLogInstance | undefined {
  const want = Buffer.from(keyId);
  return logs.find(
    (l) => want.equals(Buffer.from(l.logId.keyId)) && (time === undefined || keyValidAt(l.publicKey, time)),
  );
}

/** RFC 6962 3.2: a log's id is the SHA-256 of its DER SubjectPublicKeyInfo. */
export function logIdOfKey(spki: Uint8Array): Buffer {
  return createHash("sha256").update(spki).digest();
}

/** What each supported PublicKeyDetails must be: key type and, for ECDSA, the curve. */
const KEY_DETAILS_SHAPE: Record<string, { type: string; curve?: string; bits?: number; alt?: string }> = {
  PKIX_ECDSA_P256_SHA_256: { type: "ec", curve: "prime256v1" },
  PKIX_ECDSA_P384_SHA_384: { type: "ec", curve: "secp384r1" },
  PKIX_ECDSA_P521_SHA_512: { type: "ec", curve: "secp521r1" },
  PKIX_ECDSA_P384_SHA_256: { type: "ec", curve: "secp384r1" },
  PKIX_ECDSA_P521_SHA_256: { type: "ec", curve: "secp521r1" },
  PKIX_ED25519: { type: "ed25519" },
  PKIX_RSA_PKCS1V15_2048_SHA256: { type: "rsa", bits: 2048 },
  PKIX_RSA_PKCS1V15_3072_SHA256: { type: "rsa", bits: 3072 },
  PKIX_RSA_PKCS1V15_4096_SHA256: { type: "rsa", bits: 4096 },
  PKIX_RSA_PSS_2048_SHA256: { type: "rsa", alt: "rsa-pss", bits: 2048 },
  PKIX_RSA_PSS_3072_SHA256: { type: "rsa", alt: "rsa-pss", bits: 3072 },
  PKIX_RSA_PSS_4096_SHA256: { type: "rsa", alt: "rsa-pss", bits: 4096 },
};

/**
 * Loads a trusted root public key (DER SPKI) with node:crypto and checks that it is what its
 * keyDetails says (type, curve, modulus size). Throws ERR_KEY_INVALID otherwise, and for
 * algorithms cairn does not verify with.
 */
export function loadPublicKey(pk: SigstorePublicKey): KeyObject {
  // A verifier loads the same trusted keys for every bundle: each key object is loaded once (DER
  // parsing costs about as much as the signature check it serves). The cached key is used only
  // while the entry still holds the same bytes and key details it was loaded from.
  const hit = loadedKeys.get(pk);
  if (hit && hit.rawBytes === pk.rawBytes && hit.keyDetails === pk.keyDetails) return hit.key;
  const key = loadPublicKeyUncached(pk);
  loadedKeys.set(pk, { rawBytes: pk.rawBytes, keyDetails: pk.keyDetails, key });
  return key;
}

const loadedKeys = new WeakMap<
  SigstorePublicKey,
  { rawBytes: SigstorePublicKey["rawBytes"]; keyDetails: string; key: KeyObject }
>();

function loadPublicKeyUncached(pk: SigstorePublicKey): KeyObject {
  const shape = KEY_DETAILS_SHAPE[pk.keyDetails];
  if (!shape) throw cairnError("ERR_KEY_INVALID", `key algorithm ${pk.keyDetails} is not supported`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(pk.rawBytes), format: "der", type: "spki" });
  } catch (e) {
    throw cairnError("ERR_KEY_INVALID", "rawBytes is not a DER SubjectPublicKeyInfo", {}, { cause: e });
  }
  const d = key.asymmetricKeyDetails ?? {};
  const ok =
    (key.asymmetricKeyType === shape.type || key.asymmetricKeyType === shape.alt) &&
    (shape.curve === undefined || d.namedCurve === shape.curve) &&
    (shape.bits === undefined || d.modulusLength === shape.bits);
  if (!ok) throw cairnError("ERR_KEY_INVALID", `the key is not a ${pk.keyDetails} key`);
  return key;
}

/** The certificates of an authority's chain, parsed (the last one is the trust anchor). */
export function authorityCertificates(ca: CertificateAuthority): X509Certificate[] {
  return ca.certChain.certificates.map((c) => new X509Certificate(Buffer.from(c.rawBytes)));
}
