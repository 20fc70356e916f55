// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles v0.1, v0.2 and v0.3 (sigstore/protobuf-specs protos/sigstore_bundle.proto,
// sigstore_common.proto, sigstore_rekor.proto and envelope.proto) in their proto3 JSON form.
// Parsing is strict (every field checked, with the version rules below) and lossless: unknown
// fields are kept beside the known ones and written back by serializeBundle.
//
// The version rules (sigstore_bundle.proto, VerificationMaterial and Bundle; sigstore_rekor.proto,
// TransparencyLogEntry):
// - v0.1: every tlog entry carries an inclusion promise ("Required for v0.1 bundles").
// - v0.2 and later: every tlog entry carries an inclusion proof with its checkpoint.
// - v0.3: the key material is a single `certificate`, never an `x509CertificateChain`
//   ("When used in a 0.3 bundle ... form (3) MUST be used"); `certificate` is new in v0.3.
// - every version: exactly one key material and exactly one content; a DSSE envelope has exactly
//   one signature; a public key hint equals the envelope signature's keyid.

import { fromBase64 } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { type JsonLimits, parseJson } from "../../core/json.js";
import type { Envelope } from "../dsse/envelope.js";
import { parseEnvelope } from "../dsse/envelope.js";
import { HASH_SIZE, MAX_INCLUSION_PROOF_HASHES } from "../tlog/merkle.js";
import { b64, extrasOf, type JsonObject, ProtoReader, withExtras } from "./proto-json.js";

/** Bundle format versions cairn reads. */
export type BundleVersion = "0.1" | "0.2" | "0.3";

/** The media type cairn writes (sigstore_bundle.proto: "MUST be application/vnd.dev.sigstore.bundle.v0.3+json"). */
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const BUNDLE_V02_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle+json;version=0.2";
export const BUNDLE_V01_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle+json;version=0.1";

/** Largest bundle document we read: DSSE payloads (provenance) can be several megabytes. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
/** Most transparency log entries in one bundle. */
export const MAX_TLOG_ENTRIES = 32;
/** Most RFC 3161 timestamps in one bundle. */
export const MAX_RFC3161_TIMESTAMPS = 32;
/** Most certificates in a bundle's x509CertificateChain. */
export const MAX_CHAIN_CERTIFICATES = 10;

const BUNDLE_JSON_LIMITS: JsonLimits = { maxBytes: MAX_BUNDLE_BYTES, maxDepth: 32 };

/** sigstore_common.proto HashAlgorithm, by enum number. */
export const HASH_ALGORITHMS = [
  "HASH_ALGORITHM_UNSPECIFIED",
  "SHA2_256",
  "SHA2_384",
  "SHA2_512",
  "SHA3_256",
  "SHA3_384",
] as const;
export type HashAlgorithmName = Exclude<(typeof HASH_ALGORITHMS)[number], "HASH_ALGORITHM_UNSPECIFIED">;

/** Digest sizes in bytes of each hash algorithm. */
export const HASH_ALGORITHM_SIZE: Record<HashAlgorithmName, number> = {
  SHA2_256: 32,
  SHA2_384: 48,
  SHA2_512: 64,
  SHA3_256: 32,
  SHA3_384: 48,
};

/** sigstore_common.proto X509Certificate: `rawBytes` is the DER certificate. */
export interface X509CertificateMessage {
  rawBytes: Uint8Array;
  [extra: string]: unknown;
}

export interface X509CertificateChain {
  certificates: X509CertificateMessage[];
  [extra: string]: unknown;
}

/** sigstore_common.proto PublicKeyIdentifier: an unauthenticated hint. */
export interface PublicKeyIdentifier {
  hint: string;
  [extra: string]: unknown;
}

export interface LogId {
  keyId: Uint8Array;
  [extra: string]: unknown;
}

export interface KindVersion {
  kind: string;
  version: string;
  [extra: string]: unknown;
}

export interface InclusionPromise {
  signedEntryTimestamp: Uint8Array;
  [extra: string]: unknown;
}

export interface Checkpoint {
  /** The signed note text of the checkpoint. */
  envelope: string;
  [extra: string]: unknown;
}

export interface InclusionProof {
  /** The entry's index in the tree the proof is for (with Rekor v1 shards, not the global index). */
  logIndex: number;
  rootHash: Uint8Array;
  treeSize: number;
  hashes: Uint8Array[];
  /** Required from v0.2. */
  checkpoint?: Checkpoint;
  [extra: string]: unknown;
}

export interface TransparencyLogEntry {
  logIndex: number;
  logId: LogId;
  kindVersion: KindVersion;
  /** Unix seconds; 0 when the log gives none (proto3 omits it). Untrusted without a promise. */
  integratedTime: number;
  inclusionPromise?: InclusionPromise;
  inclusionProof?: InclusionProof;
  /** The Rekor entry body (the JSON bytes, decoded from base64). */
  canonicalizedBody: Uint8Array;
  [extra: string]: unknown;
}

export interface RFC3161SignedTimestamp {
  /** The DER TimeStampResponse (RFC 3161 2.4.2). */
  signedTimestamp: Uint8Array;
  [extra: string]: unknown;
}

export interface TimestampVerificationData {
  rfc3161Timestamps: RFC3161SignedTimestamp[];
  [extra: string]: unknown;
}

export interface VerificationMaterial {
  /** Exactly one of publicKey, x509CertificateChain (v0.1, v0.2) and certificate (v0.3). */
  publicKey?: PublicKeyIdentifier;
  x509CertificateChain?: X509CertificateChain;
  certificate?: X509CertificateMessage;
  tlogEntries: TransparencyLogEntry[];
  timestampVerificationData?: TimestampVerificationData;
  [extra: string]: unknown;
}

export interface HashOutput {
  algorithm: HashAlgorithmName;
  digest: Uint8Array;
  [extra: string]: unknown;
}

export interface MessageSignature {
  /** For identification only: never verify the signature against it (sigstore_common.proto). */
  messageDigest?: HashOutput;
  signature: Uint8Array;
  [extra: string]: unknown;
}

/** The DSSE envelope as in the dsse format (base64 strings), with any unknown fields. */
export type BundleEnvelope = Envelope & { [extra: string]: unknown };

export interface Bundle {
  /** The media type exactly as given; see bundleVersion(). */
  mediaType: string;
  verificationMaterial: VerificationMaterial;
  /** Exactly one of messageSignature and dsseEnvelope. */
  messageSignature?: MessageSignature;
  dsseEnvelope?: BundleEnvelope;
  [extra: string]: unknown;
}

const MEDIA_TYPE_RE =
  /^application\/vnd\.dev\.sigstore\.bundle(?:\+json;version=(0\.[123])|\.v(0\.[123])\+json)$/;

/**
 * The bundle version a media type names: `application/vnd.dev.sigstore.bundle+json;version=0.N`
 * (the form of v0.1 and v0.2) or `application/vnd.dev.sigstore.bundle.v0.N+json` (v0.3 on), for
 * N = 1, 2, 3 (sigstore_bundle.proto, Bundle.media_type). Undefined for anything else.
 */
export function bundleVersion(mediaType: string): BundleVersion | undefined {
  const m = MEDIA_TYPE_RE.exec(mediaType);
  return m ? ((m[1] ?? m[2]) as BundleVersion) : undefined;
}

/** Parses bundle JSON text or bytes (bounded: MAX_BUNDLE_BYTES, depth 32) and validates it. */
export function parseBundleJson(input: string | Uint8Array, file?: string): Bundle {
  return parseBundle(parseJson(input, file, BUNDLE_JSON_LIMITS), file);
}

/**
 * Validates a bundle object (proto3 JSON) and returns its typed model: bytes decoded, int64
 * values as safe integers. Throws ERR_SIGSTORE_BUNDLE_INVALID naming the field.
 */
export function parseBundle(obj: unknown, file?: string): Bundle {
  const r = new ProtoReader("ERR_SIGSTORE_BUNDLE_INVALID", file);
  const o = r.obj(obj, "$");
  const mediaType = r.str(r.get(o, "mediaType"), "mediaType");
  const version = bundleVersion(mediaType);
  if (version === undefined) {
    throw r.fail(
      "mediaType",
      `"${mediaType}" is not a Sigstore bundle media type of version 0.1, 0.2 or 0.3`,
    );
  }
  const vmRaw = r.get(o, "verificationMaterial");
  if (vmRaw === undefined) throw r.fail("verificationMaterial", "is required");
  const verificationMaterial = readVerificationMaterial(r, vmRaw, version);

  const ms = r.get(o, "messageSignature");
  const env = r.get(o, "dsseEnvelope");
  if ((ms === undefined) === (env === undefined)) {
    throw r.fail("$", "must have exactly one of messageSignature and dsseEnvelope");
  }
  const bundle: Bundle = { mediaType, verificationMaterial };
  if (ms !== undefined) bundle.messageSignature = readMessageSignature(r, ms);
  if (env !== undefined) {
    bundle.dsseEnvelope = readEnvelope(r, env);
    // sigstore_bundle.proto, Bundle: "the key hints MUST be exactly the same in the verification
    // material and in the DSSE envelope".
    const hint = verificationMaterial.publicKey?.hint;
    if (hint !== undefined && (bundle.dsseEnvelope.signatures[0]?.keyid ?? "") !== hint) {
      throw r.fail("dsseEnvelope.signatures[0].keyid", "must equal verificationMaterial.publicKey.hint");
    }
  }
  return Object.assign(bundle, r.extras(o, BUNDLE_KEYS, ""));
}

const BUNDLE_KEYS = ["mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"];
const VM_KEYS = [
  "publicKey",
  "x509CertificateChain",
  "certificate",
  "tlogEntries",
  "timestampVerificationData",
];
const ENTRY_KEYS = [
  "logIndex",
  "logId",
  "kindVersion",
  "integratedTime",
  "inclusionPromise",
  "inclusionProof",
  "canonicalizedBody",
];
const PROOF_KEYS = ["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"];

function readVerificationMaterial(r: ProtoReader, v: unknown, version: BundleVersion): VerificationMaterial {
  const F = "verificationMaterial";
  const o = r.obj(v, F);
  const pk = r.get(o, "publicKey");
  const chain = r.get(o, "x509CertificateChain");
  const cert = r.get(o, "certificate");
  const present = [pk, chain, cert].filter((x) => x !== undefined).length;
  if (present !== 1) {
    throw r.fail(F, "must have exactly one of publicKey, x509CertificateChain and certificate");
  }
  const vm: VerificationMaterial = { tlogEntries: [] };
  if (pk !== undefined) {
    const p = r.obj(pk, `${F}.publicKey`);
    vm.publicKey = {
      hint: r.str(r.get(p, "hint"), `${F}.publicKey.hint`),
      ...r.extras(p, ["hint"], `${F}.publicKey`),
    };
  }
  if (chain !== undefined) {
    if (version === "0.3") {
      throw r.fail(`${F}.x509CertificateChain`, "is not allowed in a v0.3 bundle: use certificate");
    }
    const c = r.obj(chain, `${F}.x509CertificateChain`);
    const certsF = `${F}.x509CertificateChain.certificates`;
    const certs = r.arr(r.get(c, "certificates"), certsF, MAX_CHAIN_CERTIFICATES);
    if (certs.length === 0) throw r.fail(certsF, "must hold at least the leaf certificate");
    vm.x509CertificateChain = {
      certificates: certs.map((x, i) => readCertificate(r, x, `${certsF}[${i}]`)),
      ...r.extras(c, ["certificates"], `${F}.x509CertificateChain`),
    };
  }
  if (cert !== undefined) {
    if (version !== "0.3") {
      throw r.fail(`${F}.certificate`, `is new in v0.3 and not allowed in a v${version} bundle`);
    }
    vm.certificate = readCertificate(r, cert, `${F}.certificate`);
  }
  const entries = r.arr(r.get(o, "tlogEntries"), `${F}.tlogEntries`, MAX_TLOG_ENTRIES);
  vm.tlogEntries = entries.map((e, i) => readTlogEntry(r, e, `${F}.tlogEntries[${i}]`, version));
  const tvd = r.get(o, "timestampVerificationData");
  if (tvd !== undefined) {
    const tf = `${F}.timestampVerificationData`;
    const t = r.obj(tvd, tf);
    const list = r.arr(r.get(t, "rfc3161Timestamps"), `${tf}.rfc3161Timestamps`, MAX_RFC3161_TIMESTAMPS);
    vm.timestampVerificationData = {
      rfc3161Timestamps: list.map((x, i) => {
        const f = `${tf}.rfc3161Timestamps[${i}]`;
        const ts = r.obj(x, f);
        return {
          signedTimestamp: r.requiredBytes(r.get(ts, "signedTimestamp"), `${f}.signedTimestamp`),
          ...r.extras(ts, ["signedTimestamp"], f),
        };
      }),
      ...r.extras(t, ["rfc3161Timestamps"], tf),
    };
  }
  return Object.assign(vm, r.extras(o, VM_KEYS, F));
}

function readCertificate(r: ProtoReader, v: unknown, field: string): X509CertificateMessage {
  const o = r.obj(v, field);
  return {
    rawBytes: r.certificate(r.get(o, "rawBytes"), `${field}.rawBytes`),
    ...r.extras(o, ["rawBytes"], field),
  };
}

function readTlogEntry(r: ProtoReader, v: unknown, F: string, version: BundleVersion): TransparencyLogEntry {
  const o = r.obj(v, F);
  const logIdRaw = r.get(o, "logId");
  if (logIdRaw === undefined) throw r.fail(`${F}.logId`, "is required");
  const lid = r.obj(logIdRaw, `${F}.logId`);
  const kvRaw = r.get(o, "kindVersion");
  if (kvRaw === undefined) throw r.fail(`${F}.kindVersion`, "is required");
  const kv = r.obj(kvRaw, `${F}.kindVersion`);
  const entry: TransparencyLogEntry = {
    logIndex: r.uint(r.get(o, "logIndex"), `${F}.logIndex`),
    logId: {
      keyId: r.requiredBytes(r.get(lid, "keyId"), `${F}.logId.keyId`),
      ...r.extras(lid, ["keyId"], `${F}.logId`),
    },
    kindVersion: {
      kind: r.requiredStr(r.get(kv, "kind"), `${F}.kindVersion.kind`),
      version: r.requiredStr(r.get(kv, "version"), `${F}.kindVersion.version`),
      ...r.extras(kv, ["kind", "version"], `${F}.kindVersion`),
    },
    integratedTime: r.uint(r.get(o, "integratedTime"), `${F}.integratedTime`),
    // Optional in the proto from v0.2, but without it no inclusion proof or promise can be checked.
    canonicalizedBody: r.requiredBytes(r.get(o, "canonicalizedBody"), `${F}.canonicalizedBody`),
  };
  const promise = r.get(o, "inclusionPromise");
  if (promise !== undefined) {
    const p = r.obj(promise, `${F}.inclusionPromise`);
    entry.inclusionPromise = {
      signedEntryTimestamp: r.requiredBytes(
        r.get(p, "signedEntryTimestamp"),
        `${F}.inclusionPromise.signedEntryTimestamp`,
      ),
      ...r.extras(p, ["signedEntryTimestamp"], `${F}.inclusionPromise`),
    };
  } else if (version === "0.1") {
    throw r.fail(`${F}.inclusionPromise`, "is required in a v0.1 bundle");
  }
  const proof = r.get(o, "inclusionProof");
  if (proof !== undefined)
    entry.inclusionProof = readInclusionProof(r, proof, `${F}.inclusionProof`, version);
  else if (version !== "0.1") throw r.fail(`${F}.inclusionProof`, `is required in a v${version} bundle`);
  return Object.assign(entry, r.extras(o, ENTRY_KEYS, F));
}

function readInclusionProof(r: ProtoReader, v: unknown, F: string, version: BundleVersion): InclusionProof {
  const o = r.obj(v, F);
  const hashes = r.arr(r.get(o, "hashes"), `${F}.hashes`, MAX_INCLUSION_PROOF_HASHES);
  const proof: InclusionProof = {
    logIndex: r.uint(r.get(o, "logIndex"), `${F}.logIndex`),
    rootHash: r.bytes(r.get(o, "rootHash"), `${F}.rootHash`),
    treeSize: r.uint(r.get(o, "treeSize"), `${F}.treeSize`),
    hashes: hashes.map((h, i) => r.bytes(h, `${F}.hashes[${i}]`)),
  };
  // Rekor v1 trees are RFC 6962 SHA-256 trees: every hash is 32 bytes.
  if (proof.rootHash.length !== HASH_SIZE) throw r.fail(`${F}.rootHash`, `must be ${HASH_SIZE} bytes`);
  proof.hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw r.fail(`${F}.hashes[${i}]`, `must be ${HASH_SIZE} bytes`);
  });
  if (proof.treeSize < 1) throw r.fail(`${F}.treeSize`, "must be at least 1");
  if (proof.logIndex >= proof.treeSize) throw r.fail(`${F}.logIndex`, "must be less than treeSize");
  const cp = r.get(o, "checkpoint");
  if (cp !== undefined) {
    const c = r.obj(cp, `${F}.checkpoint`);
    proof.checkpoint = {
      envelope: r.requiredStr(r.get(c, "envelope"), `${F}.checkpoint.envelope`),
      ...r.extras(c, ["envelope"], `${F}.checkpoint`),
    };
  } else if (version !== "0.1") {
    throw r.fail(`${F}.checkpoint`, `is required in a v${version} bundle`);
  }
  return Object.assign(proof, r.extras(o, PROOF_KEYS, F));
}

function readMessageSignature(r: ProtoReader, v: unknown): MessageSignature {
  const F = "messageSignature";
  const o = r.obj(v, F);
  const ms: MessageSignature = { signature: r.requiredBytes(r.get(o, "signature"), `${F}.signature`) };
  const md = r.get(o, "messageDigest");
  if (md !== undefined) {
    const d = r.obj(md, `${F}.messageDigest`);
    const algorithm = r.enumName(
      r.get(d, "algorithm"),
      `${F}.messageDigest.algorithm`,
      HASH_ALGORITHMS,
    ) as HashAlgorithmName;
    if ((algorithm as string) === "HASH_ALGORITHM_UNSPECIFIED") {
      throw r.fail(`${F}.messageDigest.algorithm`, "must name a hash algorithm");
    }
    const digest = r.requiredBytes(r.get(d, "digest"), `${F}.messageDigest.digest`);
    if (digest.length !== HASH_ALGORITHM_SIZE[algorithm]) {
      throw r.fail(
        `${F}.messageDigest.digest`,
        `must be ${HASH_ALGORITHM_SIZE[algorithm]} bytes for ${algorithm}`,
      );
    }
    ms.messageDigest = { algorithm, digest, ...r.extras(d, ["algorithm", "digest"], `${F}.messageDigest`) };
  }
  return Object.assign(ms, r.extras(o, ["messageDigest", "signature"], F));
}

function readEnvelope(r: ProtoReader, v: unknown): BundleEnvelope {
  const F = "dsseEnvelope";
  let env: Envelope;
  try {
    env = parseEnvelope(v);
  } catch (e) {
    const err = e as { field?: string; message: string };
    throw r.fail(err.field ? `${F}.${err.field}` : F, err.message);
  }
  // sigstore_bundle.proto, Bundle.dsse_envelope: "DSSE envelopes in a bundle MUST have exactly one signature."
  if (env.signatures.length !== 1) throw r.fail(`${F}.signatures`, "must hold exactly one signature");
  const o = v as JsonObject;
  const sig = env.signatures[0]!;
  try {
    if (fromBase64(sig.sig).length === 0) throw new Error("empty");
  } catch {
    throw r.fail(`${F}.signatures[0].sig`, "must be a non-empty base64 signature");
  }
  const s: JsonObject = { sig: sig.sig };
  if (sig.keyid !== undefined) s.keyid = sig.keyid;
  return {
    payload: env.payload,
    payloadType: env.payloadType,
    signatures: [
      Object.assign(s, r.extras(sig, ["sig", "keyid"], `${F}.signatures[0]`)) as Envelope["signatures"][0],
    ],
    ...r.extras(o, ["payload", "payloadType", "signatures"], F),
  };
}

// --- serialization ---

function cert(c: X509CertificateMessage): JsonObject {
  return withExtras({ rawBytes: b64(c.rawBytes) }, extrasOf(c, ["rawBytes"]));
}

function entryJson(e: TransparencyLogEntry): JsonObject {
  const out: JsonObject = {
    logIndex: String(e.logIndex),
    logId: withExtras({ keyId: b64(e.logId.keyId) }, extrasOf(e.logId, ["keyId"])),
    kindVersion: withExtras(
      { kind: e.kindVersion.kind, version: e.kindVersion.version },
      extrasOf(e.kindVersion, ["kind", "version"]),
    ),
    integratedTime: String(e.integratedTime),
  };
  if (e.inclusionPromise) {
    out.inclusionPromise = withExtras(
      { signedEntryTimestamp: b64(e.inclusionPromise.signedEntryTimestamp) },
      extrasOf(e.inclusionPromise, ["signedEntryTimestamp"]),
    );
  }
  if (e.inclusionProof) {
    const p = e.inclusionProof;
    const pj: JsonObject = {
      logIndex: String(p.logIndex),
      rootHash: b64(p.rootHash),
      treeSize: String(p.treeSize),
      hashes: p.hashes.map(b64),
    };
    if (p.checkpoint)
      pj.checkpoint = withExtras({ envelope: p.checkpoint.envelope }, extrasOf(p.checkpoint, ["envelope"]));
    out.inclusionProof = withExtras(pj, extrasOf(p, PROOF_KEYS));
  }
  out.canonicalizedBody = b64(e.canonicalizedBody);
  return withExtras(out, extrasOf(e, ENTRY_KEYS));
}

/** The proto3 JSON object of a bundle: int64 as strings, bytes as standard base64, unknown fields kept. */
export function bundleToJson(b: Bundle): JsonObject {
  const vm = b.verificationMaterial;
  const vmj: JsonObject = {};
  if (vm.publicKey) vmj.publicKey = withExtras({ hint: vm.publicKey.hint }, extrasOf(vm.publicKey, ["hint"]));
  if (vm.x509CertificateChain) {
    vmj.x509CertificateChain = withExtras(
      { certificates: vm.x509CertificateChain.certificates.map(cert) },
      extrasOf(vm.x509CertificateChain, ["certificates"]),
    );
  }
  if (vm.certificate) vmj.certificate = cert(vm.certificate);
  vmj.tlogEntries = vm.tlogEntries.map(entryJson);
  if (vm.timestampVerificationData) {
    const t = vm.timestampVerificationData;
    vmj.timestampVerificationData = withExtras(
      {
        rfc3161Timestamps: t.rfc3161Timestamps.map((x) =>
          withExtras({ signedTimestamp: b64(x.signedTimestamp) }, extrasOf(x, ["signedTimestamp"])),
        ),
      },
      extrasOf(t, ["rfc3161Timestamps"]),
    );
  }
  const out: JsonObject = {
    mediaType: b.mediaType,
    verificationMaterial: withExtras(vmj, extrasOf(vm, VM_KEYS)),
  };
  if (b.messageSignature) {
    const ms = b.messageSignature;
    const msj: JsonObject = {};
    if (ms.messageDigest) {
      msj.messageDigest = withExtras(
        { algorithm: ms.messageDigest.algorithm, digest: b64(ms.messageDigest.digest) },
        extrasOf(ms.messageDigest, ["algorithm", "digest"]),
      );
    }
    msj.signature = b64(ms.signature);
    out.messageSignature = withExtras(msj, extrasOf(ms, ["messageDigest", "signature"]));
  }
  if (b.dsseEnvelope) {
    const env = b.dsseEnvelope;
    out.dsseEnvelope = { ...env, signatures: env.signatures.map((s) => ({ ...s })) };
  }
  return withExtras(out, extrasOf(b, BUNDLE_KEYS));
}

/** The bundle as JSON text (proto3 JSON), for writing to a `.sigstore.json` file. */
export function serializeBundle(b: Bundle, indent?: number): string {
  return JSON.stringify(bundleToJson(b), null, indent);
}

/** The leaf certificate of a bundle (DER), or undefined for a public key bundle. */
export function bundleLeafCertificate(b: Bundle): Uint8Array | undefined {
  const vm = b.verificationMaterial;
  return vm.certificate?.rawBytes ?? vm.x509CertificateChain?.certificates[0]?.rawBytes;
}

/** Throws unless the bundle's version is one of `allowed` (e.g. refuse v0.1 where none was ever made). */
export function requireBundleVersion(b: Bundle, allowed: readonly BundleVersion[]): BundleVersion {
  const v = bundleVersion(b.mediaType);
  if (v === undefined || !allowed.includes(v)) {
    throw cairnError("ERR_SIGSTORE_BUNDLE_INVALID", `bundle version ${v ?? "unknown"} is not accepted here`, {
      field: "mediaType",
    });
  }
  return v;
}
