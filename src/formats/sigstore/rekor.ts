// SPDX-License-Identifier: Apache-2.0
// Rekor v1 entry bodies as they appear, base64-decoded, in a bundle's canonicalizedBody: the
// kinds hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2 (sigstore/rekor pkg/types/<kind>/<version>/
// *_schema.json and each kind's Canonicalize), their RFC 6962 leaf hash, and the check that an
// entry's body is about this bundle (sigstore_rekor.proto, TransparencyLogEntry.canonicalized_body:
// "clients MUST verify that the signature referenced in the canonicalized_body matches the
// signature provided in the Bundle.content"). cairn also checks the digest, the payload hash and
// that the body names the bundle's own certificate or key.
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { fromBase64, parsePemBlocks, toPem } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { parseJson } from "../../core/json.js";
import { spkiDerOf } from "../../core/keys.js";
import { pae } from "../dsse/envelope.js";
import { hashLeaf } from "../tlog/merkle.js";
import {
  type Bundle,
  bundleLeafCertificate,
  type HashAlgorithmName,
  type KindVersion,
  type TransparencyLogEntry,
} from "./bundle.js";
import { type JsonObject, ProtoReader } from "./proto-json.js";

/** Largest entry body we parse. Canonical bodies hold hashes, signatures and one certificate. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Most signatures in a dsse or intoto body. */
export const MAX_BODY_SIGNATURES = 32;

export type RekorDigestAlgorithm = "sha256" | "sha384" | "sha512";

export interface RekorHash {
  algorithm: RekorDigestAlgorithm;
  /** The digest bytes (the body has them as lowercase hex). */
  value: Buffer;
}

/** hashedrekord 0.0.1 (Rekor v1) or 0.0.2 (Rekor v2): a signature over an artifact digest. */
export interface HashedRekordBody {
  kind: "hashedrekord";
  apiVersion: "0.0.1" | "0.0.2";
  /** spec.data.hash. */
  data: RekorHash;
  /** spec.signature.content: the raw signature. */
  signature: Buffer;
  /** spec.signature.publicKey.content: PEM text of the public key or certificate (0.0.2: made from the verifier's DER). */
  publicKey: Buffer;
}

/** dsse 0.0.1 (or 0.0.2, Rekor v2): hashes of a DSSE envelope and its payload, and its signatures with their verifiers. */
export interface DsseBody {
  kind: "dsse";
  apiVersion: "0.0.1" | "0.0.2";
  /** SHA-256 of the envelope as it was submitted (not recomputable from the bundle; not in 0.0.2). */
  envelopeHash?: RekorHash;
  /** SHA-256 of the payload bytes. */
  payloadHash: RekorHash;
  /** `signature` is the raw signature; `verifier` the PEM text of the key or certificate. */
  signatures: { signature: Buffer; verifier: Buffer }[];
}

/** intoto 0.0.2: a DSSE envelope without its payload, and hashes of both. */
export interface IntotoBody {
  kind: "intoto";
  apiVersion: "0.0.2";
  payloadType: string;
  /** spec.content.hash: SHA-256 of the envelope as it was submitted. */
  envelopeHash: RekorHash;
  payloadHash: RekorHash;
  /** `sig` is the raw signature; `publicKey` the PEM text of the key or certificate. */
  signatures: { sig: Buffer; keyid?: string; publicKey: Buffer }[];
}

export type RekorBody = HashedRekordBody | DsseBody | IntotoBody;

const DIGEST_SIZE: Record<RekorDigestAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** RFC 6962 2.1 (RFC 9162 2.1.1): the Merkle leaf hash of an entry, SHA-256(0x00 || body). */
export function leafHashOfEntry(canonicalizedBody: Uint8Array): Buffer {
  return hashLeaf(canonicalizedBody);
}

/**
 * Parses an entry body (the decoded canonicalizedBody bytes). With `expected` (the entry's
 * kindVersion), a body of another kind or version is refused. Throws ERR_REKOR_BODY_INVALID.
 */
export function parseRekorBody(body: Uint8Array, expected?: KindVersion): RekorBody {
  const r = new ProtoReader("ERR_REKOR_BODY_INVALID");
  let json: unknown;
  try {
    json = parseJson(body, undefined, { maxBytes: MAX_BODY_BYTES, maxDepth: 16 });
  } catch (e) {
    throw cairnError("ERR_REKOR_BODY_INVALID", `the entry body is not JSON: ${(e as Error).message}`, {
      field: "canonicalizedBody",
    });
  }
  const o = r.obj(json, "$");
  const kind = o.kind;
  const apiVersion = o.apiVersion;
  if (typeof kind !== "string") throw r.fail("kind", "must be a string");
  if (typeof apiVersion !== "string") throw r.fail("apiVersion", "must be a string");
  if (expected && (expected.kind !== kind || expected.version !== apiVersion)) {
    throw r.fail(
      "kind",
      `the body is ${kind} ${apiVersion} but the entry says ${expected.kind} ${expected.version}`,
    );
  }
  const spec = r.obj(o.spec, "spec");
  if (kind === "hashedrekord" && apiVersion === "0.0.1") return readHashedRekord(r, spec);
  if (kind === "dsse" && apiVersion === "0.0.1") return readDsse(r, spec);
  if (kind === "intoto" && apiVersion === "0.0.2") return readIntoto(r, spec);
  if (kind === "hashedrekord" && apiVersion === "0.0.2") return readHashedRekordV2(r, spec);
  if (kind === "dsse" && apiVersion === "0.0.2") return readDsseV2(r, spec);
  throw r.fail("kind", `entry kind ${kind} ${apiVersion} is not supported`);
}

function readHash(
  r: ProtoReader,
  v: unknown,
  F: string,
  allowed: readonly RekorDigestAlgorithm[],
): RekorHash {
  const o = r.obj(v, F);
  const algorithm = o.algorithm;
  if (typeof algorithm !== "string" || !(allowed as readonly string[]).includes(algorithm)) {
    throw r.fail(`${F}.algorithm`, `must be one of ${allowed.join(", ")}`);
  }
  const alg = algorithm as RekorDigestAlgorithm;
  const value = o.value;
  // The schemas: "as represented by a lower case hexadecimal string".
  if (typeof value !== "string" || !/^[0-9a-f]*$/.test(value) || value.length !== DIGEST_SIZE[alg] * 2) {
    throw r.fail(`${F}.value`, `must be ${DIGEST_SIZE[alg] * 2} lowercase hex digits`);
  }
  return { algorithm: alg, value: Buffer.from(value, "hex") };
}

/** A base64 string (Go's strfmt.Base64: standard, padded). */
function b64Field(r: ProtoReader, v: unknown, F: string): Buffer {
  if (typeof v !== "string") throw r.fail(F, "must be a base64 string");
  return r.requiredBytes(v, F);
}

function readHashedRekord(r: ProtoReader, spec: JsonObject): HashedRekordBody {
  const sig = r.obj(spec.signature, "spec.signature");
  const pk = r.obj(sig.publicKey, "spec.signature.publicKey");
  const data = r.obj(spec.data, "spec.data");
  return {
    kind: "hashedrekord",
    apiVersion: "0.0.1",
    data: readHash(r, data.hash, "spec.data.hash", ["sha256", "sha384", "sha512"]),
    signature: b64Field(r, sig.content, "spec.signature.content"),
    publicKey: b64Field(r, pk.content, "spec.signature.publicKey.content"),
  };
}

function readDsse(r: ProtoReader, spec: JsonObject): DsseBody {
  // The canonical form drops proposedContent (dsse v0.0.1 Canonicalize).
  if (spec.proposedContent !== undefined)
    throw r.fail("spec.proposedContent", "must not be in a canonical body");
  const sigs = r.arr(spec.signatures, "spec.signatures", MAX_BODY_SIGNATURES);
  if (sigs.length === 0) throw r.fail("spec.signatures", "must hold at least one signature");
  return {
    kind: "dsse",
    apiVersion: "0.0.1",
    envelopeHash: readHash(r, spec.envelopeHash, "spec.envelopeHash", ["sha256"]),
    payloadHash: readHash(r, spec.payloadHash, "spec.payloadHash", ["sha256"]),
    signatures: sigs.map((s, i) => {
      const F = `spec.signatures[${i}]`;
      const o = r.obj(s, F);
      return {
        signature: b64Field(r, o.signature, `${F}.signature`),
        verifier: b64Field(r, o.verifier, `${F}.verifier`),
      };
    }),
  };
}

function readIntoto(r: ProtoReader, spec: JsonObject): IntotoBody {
  const content = r.obj(spec.content, "spec.content");
  const env = r.obj(content.envelope, "spec.content.envelope");
  if (typeof env.payloadType !== "string")
    throw r.fail("spec.content.envelope.payloadType", "must be a string");
  const sigs = r.arr(env.signatures, "spec.content.envelope.signatures", MAX_BODY_SIGNATURES);
  if (sigs.length === 0) throw r.fail("spec.content.envelope.signatures", "must hold at least one signature");
  return {
    kind: "intoto",
    apiVersion: "0.0.2",
    payloadType: env.payloadType,
    envelopeHash: readHash(r, content.hash, "spec.content.hash", ["sha256"]),
    payloadHash: readHash(r, content.payloadHash, "spec.content.payloadHash", ["sha256"]),
    signatures: sigs.map((s, i) => {
      const F = `spec.content.envelope.signatures[${i}]`;
      const o = r.obj(s, F);
      // intoto v0.0.2 stores the envelope's base64 signature text base64-encoded again.
      const inner = b64Field(r, o.sig, `${F}.sig`).toString("latin1");
      let sig: Buffer;
      try {
        sig = fromBase64(inner);
      } catch {
        throw r.fail(`${F}.sig`, "must be the base64 of a base64 signature");
      }
      if (sig.length === 0) throw r.fail(`${F}.sig`, "must not be empty");
      const out: IntotoBody["signatures"][0] = { sig, publicKey: b64Field(r, o.publicKey, `${F}.publicKey`) };
      if (o.keyid !== undefined) {
        if (typeof o.keyid !== "string") throw r.fail(`${F}.keyid`, "must be a string");
        out.keyid = o.keyid;
      }
      return out;
    }),
  };
}

// --- Rekor v2 (rekor-tiles): sigstore/rekor-tiles api/proto/rekor/v2 entry.proto, in proto3 JSON ---

const V2_HASHES: Record<string, RekorDigestAlgorithm> = {
  SHA2_256: "sha256",
  SHA2_384: "sha384",
  SHA2_512: "sha512",
};

function readHashV2(r: ProtoReader, v: unknown, F: string): RekorHash {
  const o = r.obj(v, F);
  const alg = V2_HASHES[String(o.algorithm)];
  if (!alg) throw r.fail(`${F}.algorithm`, "must be SHA2_256, SHA2_384 or SHA2_512");
  const value = r.requiredBytes(o.digest, `${F}.digest`);
  if (value.length !== DIGEST_SIZE[alg]) throw r.fail(`${F}.digest`, `must be ${DIGEST_SIZE[alg]} bytes`);
  return { algorithm: alg, value };
}

/** A v2 Verifier (a DER certificate or SPKI key), as PEM text so that v1 and v2 bodies compare alike. */
function readVerifierV2(r: ProtoReader, v: unknown, F: string): Buffer {
  const o = r.obj(v, F);
  const cert = o.x509Certificate;
  const key = o.publicKey;
  if ((cert === undefined) === (key === undefined))
    throw r.fail(F, "must have exactly one of x509Certificate and publicKey");
  const der = r.requiredBytes(
    r.obj(cert ?? key, F).rawBytes,
    `${F}.${cert ? "x509Certificate" : "publicKey"}.rawBytes`,
  );
  return Buffer.from(toPem(cert ? "CERTIFICATE" : "PUBLIC KEY", der), "utf8");
}

function readHashedRekordV2(r: ProtoReader, spec: JsonObject): HashedRekordBody {
  const F = "spec.hashedRekordV002";
  const h = r.obj(spec.hashedRekordV002, F);
  const sig = r.obj(h.signature, `${F}.signature`);
  return {
    kind: "hashedrekord",
    apiVersion: "0.0.2",
    data: readHashV2(r, h.data, `${F}.data`),
    signature: r.requiredBytes(sig.content, `${F}.signature.content`),
    publicKey: readVerifierV2(r, sig.verifier, `${F}.signature.verifier`),
  };
}

function readDsseV2(r: ProtoReader, spec: JsonObject): DsseBody {
  const F = "spec.dsseV002";
  const d = r.obj(spec.dsseV002, F);
  const sigs = r.arr(d.signatures, `${F}.signatures`, MAX_BODY_SIGNATURES);
  if (sigs.length === 0) throw r.fail(`${F}.signatures`, "must hold at least one signature");
  return {
    kind: "dsse",
    apiVersion: "0.0.2",
    payloadHash: readHashV2(r, d.payloadHash, `${F}.payloadHash`),
    signatures: sigs.map((s, i) => {
      const o = r.obj(s, `${F}.signatures[${i}]`);
      return {
        signature: r.requiredBytes(o.content, `${F}.signatures[${i}].content`),
        verifier: readVerifierV2(r, o.verifier, `${F}.signatures[${i}].verifier`),
      };
    }),
  };
}

// --- matching a body with the bundle ---

/** Options for checkEntryMatchesBundle. */
export interface EntryMatchOptions {
  /**
   * The verifier's public key, for a bundle whose key material is a public key hint: the body
   * must name this key. Required for such bundles.
   */
  publicKey?: KeyObject;
}

const DIGEST_NAME: Partial<Record<HashAlgorithmName, RekorDigestAlgorithm>> = {
  SHA2_256: "sha256",
  SHA2_384: "sha384",
  SHA2_512: "sha512",
};

function mismatch(field: string, message: string): Error {
  return cairnError("ERR_SIGSTORE_TLOG_BODY_MISMATCH", message, { field });
}

/**
 * Checks that a transparency log entry is about this bundle and returns its parsed body:
 * - the body's kind and version are the entry's kindVersion;
 * - hashedrekord (for a messageSignature): the same signature bytes, and the same digest when the
 *   bundle gives one;
 * - dsse and intoto (for a dsseEnvelope): the payload hash is SHA-256 of the envelope's payload,
 *   the signatures are exactly the envelope's (and the payload type, for intoto);
 * - the body's key or certificate is the bundle's leaf certificate (same DER), or for a public key
 *   bundle, `options.publicKey` (same SubjectPublicKeyInfo).
 * Throws ERR_SIGSTORE_TLOG_BODY_MISMATCH (or ERR_REKOR_BODY_INVALID for a malformed body).
 */
export function checkEntryMatchesBundle(
  entry: TransparencyLogEntry,
  bundle: Bundle,
  options: EntryMatchOptions = {},
): RekorBody {
  const body = parseRekorBody(entry.canonicalizedBody, entry.kindVersion);
  const keyCheck = keyMatcher(bundle, options);
  if (body.kind === "hashedrekord" && body.apiVersion === "0.0.2" && bundle.dsseEnvelope) {
    // Rekor v2 "hashedrekord over DSSE" (rekor-v2-spec 6.1.4): the entry records Hash(PAE(type,
    // payload)) and the envelope's one signature.
    const env = bundle.dsseEnvelope;
    const sig = env.signatures.length === 1 ? fromBase64(env.signatures[0]!.sig, "sig") : undefined;
    if (!sig || !body.signature.equals(sig)) {
      throw mismatch(
        "spec.hashedRekordV002.signature.content",
        "the entry's signature is not the envelope's",
      );
    }
    const digest = createHash(body.data.algorithm)
      .update(pae(env.payloadType, fromBase64(env.payload, "payload")))
      .digest();
    if (!body.data.value.equals(digest)) {
      throw mismatch("spec.hashedRekordV002.data", "the entry's digest is not that of the envelope's PAE");
    }
    keyCheck(body.publicKey, "spec.hashedRekordV002.signature.verifier");
    return body;
  }
  if (body.kind === "hashedrekord") {
    const ms = bundle.messageSignature;
    if (!ms) throw mismatch("kindVersion", "a hashedrekord entry needs a messageSignature bundle");
    if (!body.signature.equals(Buffer.from(ms.signature))) {
      throw mismatch("spec.signature.content", "the entry's signature is not the bundle's");
    }
    if (ms.messageDigest) {
      const alg = DIGEST_NAME[ms.messageDigest.algorithm];
      if (alg !== body.data.algorithm || !body.data.value.equals(Buffer.from(ms.messageDigest.digest))) {
        throw mismatch("spec.data.hash", "the entry's artifact digest is not the bundle's messageDigest");
      }
    }
    keyCheck(body.publicKey, "spec.signature.publicKey.content");
    return body;
  }
  const env = bundle.dsseEnvelope;
  if (!env) throw mismatch("kindVersion", `a ${body.kind} entry needs a dsseEnvelope bundle`);
  const payloadHash = createHash(body.payloadHash.algorithm)
    .update(fromBase64(env.payload, "payload"))
    .digest();
  const envSigs = env.signatures.map((s) => fromBase64(s.sig, "sig"));
  const sameSet = (bodySigs: Buffer[]) =>
    bodySigs.length === envSigs.length && bodySigs.every((b) => envSigs.some((e) => e.equals(b)));
  if (body.kind === "dsse") {
    if (!body.payloadHash.value.equals(payloadHash)) {
      throw mismatch("spec.payloadHash", "the entry's payload hash is not that of the envelope's payload");
    }
    if (!sameSet(body.signatures.map((s) => s.signature))) {
      throw mismatch("spec.signatures", "the entry's signatures are not the envelope's");
    }
    body.signatures.forEach((s, i) => {
      keyCheck(s.verifier, `spec.signatures[${i}].verifier`);
    });
    return body;
  }
  if (!body.payloadHash.value.equals(payloadHash)) {
    throw mismatch(
      "spec.content.payloadHash",
      "the entry's payload hash is not that of the envelope's payload",
    );
  }
  if (body.payloadType !== env.payloadType) {
    throw mismatch("spec.content.envelope.payloadType", "the entry's payload type is not the envelope's");
  }
  if (!sameSet(body.signatures.map((s) => s.sig))) {
    throw mismatch("spec.content.envelope.signatures", "the entry's signatures are not the envelope's");
  }
  body.signatures.forEach((s, i) => {
    keyCheck(s.publicKey, `spec.content.envelope.signatures[${i}].publicKey`);
  });
  return body;
}

/** A check that a body's PEM key or certificate is the bundle's signing key. */
function keyMatcher(bundle: Bundle, options: EntryMatchOptions): (pem: Buffer, field: string) => void {
  const leaf = bundleLeafCertificate(bundle);
  let want: { label: "CERTIFICATE"; der: Buffer } | { label: "PUBLIC KEY"; der: Buffer };
  if (leaf) want = { label: "CERTIFICATE", der: Buffer.from(leaf) };
  else if (options.publicKey) {
    want = { label: "PUBLIC KEY", der: spkiDerOf(options.publicKey) };
  } else {
    throw cairnError(
      "ERR_USAGE",
      "a public key bundle's entry can only be matched against the verifier's key",
    );
  }
  return (pem, field) => {
    let blocks: ReturnType<typeof parsePemBlocks>;
    try {
      blocks = parsePemBlocks(pem.toString("utf8"));
    } catch {
      throw mismatch(field, "the entry's key is not valid PEM");
    }
    const block = blocks[0];
    if (blocks.length !== 1 || !block)
      throw mismatch(field, "the entry must name exactly one key or certificate");
    if (block.label === want.label && block.der.equals(want.der)) return;
    if (want.label === "PUBLIC KEY" && block.label === "PUBLIC KEY") {
      // The same key in another DER spelling still matches: compare the re-exported SPKI.
      try {
        const k = createPublicKey({ key: block.der, format: "der", type: "spki" });
        if (k.export({ type: "spki", format: "der" }).equals(want.der)) return;
      } catch {
        // falls through to the mismatch
      }
    }
    throw mismatch(
      field,
      `the entry names another ${block.label === "CERTIFICATE" ? "certificate" : "key"} than the bundle's`,
    );
  };
}

/** Whether an entry's kind and version are ones cairn can parse. */
export function isSupportedEntryKind(kv: KindVersion): boolean {
  return (
    (kv.kind === "hashedrekord" && kv.version === "0.0.1") ||
    (kv.kind === "dsse" && kv.version === "0.0.1") ||
    (kv.kind === "intoto" && kv.version === "0.0.2") ||
    (kv.kind === "hashedrekord" && kv.version === "0.0.2") ||
    (kv.kind === "dsse" && kv.version === "0.0.2")
  );
}

// --- building canonical bodies (what a log records for a proposed entry) ---

/**
 * The canonical hashedrekord 0.0.1 body for a signature over an artifact's digest, with
 * the signer's key or certificate as PEM (rekor pkg/types/hashedrekord/v0.0.1 Canonicalize: only
 * the digest, the signature and the key are kept).
 */
export function buildHashedRekordBody(
  algorithm: RekorDigestAlgorithm,
  digest: Uint8Array,
  signature: Uint8Array,
  verifierPem: string,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm, value: Buffer.from(digest).toString("hex") } },
        signature: {
          content: Buffer.from(signature).toString("base64"),
          publicKey: { content: Buffer.from(verifierPem, "utf8").toString("base64") },
        },
      },
    }),
    "utf8",
  );
}

/**
 * The canonical dsse 0.0.1 body (rekor pkg/types/dsse/v0.0.1 Canonicalize): the SHA-256 of the
 * envelope as submitted (`envelopeJson`) and of its payload, and each signature with the PEM key or
 * certificate that verified it, sorted by signature as Rekor does.
 */
export function buildDsseBody(
  envelopeJson: string,
  payload: Uint8Array,
  signatures: readonly { signature: Uint8Array; verifierPem: string }[],
): Buffer {
  const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
  const sigs = signatures
    .map((s) => ({
      signature: Buffer.from(s.signature).toString("base64"),
      verifier: Buffer.from(s.verifierPem, "utf8").toString("base64"),
    }))
    .sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "dsse",
      spec: {
        envelopeHash: { algorithm: "sha256", value: sha(envelopeJson) },
        payloadHash: { algorithm: "sha256", value: sha(payload) },
        signatures: sigs,
      },
    }),
    "utf8",
  );
}
