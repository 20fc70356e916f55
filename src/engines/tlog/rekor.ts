// SPDX-License-Identifier: Apache-2.0
// The Rekor v1 API's entry model (sigstore/rekor openapi.yaml, pkg/types/hashedrekord/v0.0.1,
// pkg/types/dsse/v0.0.1 and pkg/types/intoto/v0.0.2): a proposed entry is verified before acceptance (the log never accepts a
// signature that does not verify), and its canonical body (the JSON Rekor stores, keys sorted, no
// whitespace) becomes the leaf, so the RFC 6962 leaf hash is the one Sigstore clients recompute
// from a bundle's canonicalizedBody. Also the log's Rekor identity: logID = SHA-256 of the log
// key's DER SPKI, the signed entry timestamp (SET) over {body, integratedTime, logID, logIndex},
// and a checkpoint signer whose 4-byte key hint is logID[0:4] (Rekor's signed-note convention,
// which sigstore-js verifies) next to the C2SP one.
import {
  createHash,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  X509Certificate,
} from "node:crypto";
import { canonicalBytes } from "../../core/canonical.js";
import { fromBase64, parsePemBlocks, toBase64 } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import { spkiDerOf } from "../../core/keys.js";
import { type Envelope, MAX_SIGNATURES, pae, parseEnvelope } from "../../formats/dsse/index.js";
import { certificateNames, logIdOfKey } from "../../formats/sigstore/index.js";
import { hashLeaf, type NoteSigner } from "../../formats/tlog/index.js";
import { MAX_LEAF_BYTES } from "./entries.js";
import { supportsPrehashed, verifyPrehashedSha256 } from "./prehashed.js";

/** Rekor's default body limit is 100 KB; cairn's Rekor API takes envelopes up to this by default. */
export const DEFAULT_MAX_REKOR_ENVELOPE_BYTES = 1024 * 1024;
/** A PEM key or certificate in a proposed entry is at most this long (base64 text). */
export const MAX_REKOR_VERIFIER_CHARS = 64 * 1024;

/** A certificate identity: a SAN (email, URI or Fulcio username) and the OIDC issuer when the certificate names one. */
export interface CertificateIdentity {
  identity: string;
  /** Fulcio's OIDC issuer extension (1.3.6.1.4.1.57264.1.8, or the deprecated .1.1). */
  issuer?: string;
}

/** Most identities one certificate is indexed under (a Fulcio leaf has one SAN). */
export const MAX_CERTIFICATE_IDENTITIES = 16;
/** Longest SAN or issuer indexed, in UTF-8 bytes. */
export const MAX_IDENTITY_BYTES = 480;

/**
 * The identities of a verifier given as PEM text: each SAN of a CERTIFICATE with its Fulcio OIDC
 * issuer when present; none for a PUBLIC KEY or a certificate that cannot be read. A lookup aid,
 * not a trust decision: the log checks a signature with the certificate's key but not the
 * certificate's chain (as Rekor), so anyone can claim any identity in a self-made certificate;
 * relying parties verify the chain and the identity policy (`cairn sigstore verify`).
 */
export function certificateIdentities(pemText: string): CertificateIdentity[] {
  const block = parsePemBlocks(pemText)[0];
  if (block?.label !== "CERTIFICATE") return [];
  // Read from the DER only (indexing runs on every append of a certificate entry).
  let cert: ReturnType<typeof certificateNames>;
  try {
    cert = certificateNames(block.der);
  } catch {
    return [];
  }
  // Index keys stay short enough for a B-tree entry: longer values are not indexed.
  const fits = (v: string) => v.length > 0 && Buffer.byteLength(v) <= MAX_IDENTITY_BYTES;
  const found = cert.oidcIssuer;
  const issuer = found !== undefined && fits(found) && !found.includes(" ") ? found : undefined;
  const sans = [...cert.san.emails, ...cert.san.uris, ...cert.san.otherNames].filter(fits);
  return [...new Set(sans)]
    .slice(0, MAX_CERTIFICATE_IDENTITIES)
    .map((identity) => (issuer === undefined ? { identity } : { identity, issuer }));
}

/**
 * The signer index keys of a certificate identity (store signers and the log's hash index):
 * `identity:<san>`, and with an issuer also `oidc:<issuer> <san>` (an issuer URL holds no space).
 */
export function identityIndexKeys(id: CertificateIdentity): string[] {
  return id.issuer === undefined
    ? [`identity:${id.identity}`]
    : [`identity:${id.identity}`, `oidc:${id.issuer} ${id.identity}`];
}

/** A proposed entry that verified: its kind, the canonical body (the leaf) and the hashes it is indexed by. */
export interface RekorVerifiedEntry {
  kind: "hashedrekord" | "dsse" | "intoto";
  /** The canonical body: the leaf data. */
  leaf: Buffer;
  leafHash: Buffer;
  /** `sha256:<hex>` values POST /api/v1/index/retrieve finds this entry by. */
  hashes: string[];
  /** The identities of the certificates among the verifiers (`certificateIdentities`). */
  identities: CertificateIdentity[];
  /**
   * For dsse: the envelope JSON as submitted, for intoto the standard DSSE envelope the entry
   * carries (payload and signatures, without Rekor's per-signature keys), and the SPKI PEM of each
   * verifier that made a signature (a certificate's key), so the attestation store can keep and
   * index it.
   */
  dsse?: { envelope: string; publicKeys: string[] };
}

function invalid(message: string, field?: string): CairnError {
  return cairnError("ERR_TLOG_ENTRY_INVALID", message, field === undefined ? {} : { field });
}

// A verifier is base64 of PEM text: a PUBLIC KEY or a CERTIFICATE (whose key is used; the
// certificate chain is the relying party's business, as in Rekor).
function readVerifier(b64: unknown, field: string): KeyObject {
  if (typeof b64 !== "string" || b64.length === 0 || b64.length > MAX_REKOR_VERIFIER_CHARS) {
    throw invalid(
      `a verifier is base64 of a PEM key or certificate, at most ${MAX_REKOR_VERIFIER_CHARS} characters`,
      field,
    );
  }
  const pem = fromBase64(b64, field).toString("utf8");
  const block = parsePemBlocks(pem)[0];
  try {
    if (block?.label === "CERTIFICATE") return new X509Certificate(block.der).publicKey;
    if (block?.label === "PUBLIC KEY")
      return createPublicKey({ key: block.der, format: "der", type: "spki" });
  } catch (e) {
    throw cairnError("ERR_KEY_INVALID", `not a valid key or certificate: ${(e as Error).message}`, { field });
  }
  throw cairnError("ERR_KEY_INVALID", "expected a PEM PUBLIC KEY or CERTIFICATE", { field });
}

// DSSE signatures by Sigstore clients: ECDSA (DER) with the curve's hash, RSA PKCS#1 v1.5 with
// SHA-256, Ed25519 over the message. False for a bad signature, never throws.
function verifyMessage(key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  try {
    const t = key.asymmetricKeyType;
    if (t === "ed25519") return nodeVerify(null, data, key, sig);
    if (t === "ec") {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const hash = curve === "secp384r1" ? "sha384" : curve === "secp521r1" ? "sha512" : "sha256";
      return nodeVerify(hash, data, { key, dsaEncoding: "der" }, sig);
    }
    if (t === "rsa") return nodeVerify("sha256", data, key, sig);
    return false;
  } catch {
    return false;
  }
}

const sha256Hex = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

// `verifiers`: the base64 PEM keys or certificates the body records.
function leafOf(
  kind: RekorVerifiedEntry["kind"],
  body: unknown,
  hashes: string[],
  verifiers: readonly string[],
): RekorVerifiedEntry {
  const leaf = canonicalBytes(body);
  if (leaf.length > MAX_LEAF_BYTES) {
    throw invalid(`the entry's canonical body is ${leaf.length} bytes, more than ${MAX_LEAF_BYTES}`);
  }
  return {
    kind,
    leaf,
    leafHash: hashLeaf(leaf),
    hashes: [...new Set(hashes)],
    identities: identitiesOfVerifiers(verifiers),
  };
}

const CERT_PEM_HEADER = "-----BEGIN CERTIFICATE-----";

// The certificate identities of base64 PEM verifiers, without repeats.
function identitiesOfVerifiers(verifiers: readonly unknown[]): CertificateIdentity[] {
  const seen = new Map<string, CertificateIdentity>();
  for (const v of verifiers) {
    if (typeof v !== "string") continue;
    // Most verifiers are keys: look for a certificate's PEM header in the first bytes before
    // decoding the whole text.
    if (!Buffer.from(v.slice(0, 64), "base64").includes(CERT_PEM_HEADER)) continue;
    let pem: string;
    try {
      pem = fromBase64(v).toString("utf8");
    } catch {
      continue;
    }
    for (const id of certificateIdentities(pem)) seen.set(`${id.issuer ?? ""} ${id.identity}`, id);
  }
  return [...seen.values()];
}

/**
 * Verifies a hashedrekord 0.0.1 proposed entry: `spec.signature.content` must verify over the
 * SHA-256 digest `spec.data.hash.value` with the key (or the certificate's key) in
 * `spec.signature.publicKey.content` (ECDSA P-256/P-384 or RSA: a digest cannot be checked with
 * Ed25519). Throws ERR_TLOG_ENTRY_INVALID, ERR_SIGNATURE_INVALID, ERR_KEY_INVALID or ERR_ENCODING_INVALID.
 */
export function verifyHashedRekord(spec: unknown): RekorVerifiedEntry {
  if (!isJsonObject(spec)) throw invalid("spec must be an object", "spec");
  const data = spec.data;
  const hash = isJsonObject(data) ? data.hash : undefined;
  if (
    !isJsonObject(hash) ||
    hash.algorithm !== "sha256" ||
    typeof hash.value !== "string" ||
    !/^[0-9a-f]{64}$/.test(hash.value)
  ) {
    throw invalid("spec.data.hash must be {algorithm: sha256, value: <64 lowercase hex>}", "spec.data.hash");
  }
  const sig = spec.signature;
  if (!isJsonObject(sig) || typeof sig.content !== "string" || sig.content.length > 4096) {
    throw invalid("spec.signature.content is base64 of at most 4096 characters", "spec.signature.content");
  }
  const pk = sig.publicKey;
  if (!isJsonObject(pk)) throw invalid("spec.signature.publicKey is required", "spec.signature.publicKey");
  const key = readVerifier(pk.content, "spec.signature.publicKey.content");
  const signature = fromBase64(sig.content, "spec.signature.content");
  if (!supportsPrehashed(key)) {
    throw invalid(
      "hashedrekord needs an ECDSA P-256/P-384 or RSA key (a digest cannot be checked with Ed25519)",
      "spec.signature.publicKey.content",
    );
  }
  if (!verifyPrehashedSha256(key, Buffer.from(hash.value, "hex"), signature)) {
    throw cairnError("ERR_SIGNATURE_INVALID", "the signature does not verify over the digest", {
      field: "spec.signature.content",
    });
  }
  // hashedrekord v0.0.1 Canonicalize: data.hash, signature.content and publicKey.content only.
  return leafOf(
    "hashedrekord",
    {
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: hash.value } },
        signature: { content: toBase64(signature), publicKey: { content: pk.content } },
      },
    },
    [`sha256:${hash.value}`],
    [pk.content as string],
  );
}

/**
 * Verifies a dsse 0.0.1 proposed entry (`spec.proposedContent.envelope`: the envelope's JSON text,
 * `spec.proposedContent.verifiers`: base64 PEM keys or certificates): every signature must verify
 * over the DSSE PAE with one of the verifiers, and every verifier must have made one. The body
 * records each signature with the verifier that checked it, the envelope's SHA-256 as submitted
 * and the payload's SHA-256. Throws ERR_TLOG_ENTRY_INVALID, ERR_DSSE_SIGNATURE_INVALID,
 * ERR_KEY_INVALID, ERR_ENCODING_INVALID or ERR_JSON_*.
 */
export function verifyRekorDsse(
  spec: unknown,
  maxEnvelopeBytes = DEFAULT_MAX_REKOR_ENVELOPE_BYTES,
): RekorVerifiedEntry {
  if (!isJsonObject(spec) || !isJsonObject(spec.proposedContent)) {
    throw invalid("spec.proposedContent is required", "spec.proposedContent");
  }
  const { envelope, verifiers } = spec.proposedContent;
  if (typeof envelope !== "string")
    throw invalid("the envelope is a JSON string", "spec.proposedContent.envelope");
  // The envelope is attacker-controlled: bound it before parsing.
  if (Buffer.byteLength(envelope) > maxEnvelopeBytes) {
    throw cairnError("ERR_TLOG_ENTRY_INVALID", `the envelope is larger than ${maxEnvelopeBytes} bytes`, {
      field: "spec.proposedContent.envelope",
    });
  }
  let env: Envelope;
  try {
    env = parseEnvelope(parseJson(envelope, undefined, { maxBytes: maxEnvelopeBytes, maxDepth: 16 }));
  } catch (e) {
    throw e instanceof CairnError ? e.underField("spec.proposedContent.envelope") : e;
  }
  if (env.signatures.length === 0 || env.signatures.length > MAX_SIGNATURES) {
    throw invalid(
      `the envelope needs 1 to ${MAX_SIGNATURES} signatures`,
      "spec.proposedContent.envelope.signatures",
    );
  }
  if (!Array.isArray(verifiers) || verifiers.length === 0 || verifiers.length > MAX_SIGNATURES) {
    throw invalid(`give 1 to ${MAX_SIGNATURES} verifiers`, "spec.proposedContent.verifiers");
  }
  const keys = verifiers.map((v, i) => readVerifier(v, `spec.proposedContent.verifiers[${i}]`));
  const payload = fromBase64(env.payload, "spec.proposedContent.envelope.payload");
  const message = pae(env.payloadType, payload);
  const used = new Set<number>();
  const signatures = env.signatures.map((s, i) => {
    const sig = fromBase64(s.sig, `spec.proposedContent.envelope.signatures[${i}].sig`);
    const k = keys.findIndex((key) => verifyMessage(key, message, sig));
    if (k < 0) {
      throw cairnError("ERR_DSSE_SIGNATURE_INVALID", "no verifier verifies this signature", {
        field: `spec.proposedContent.envelope.signatures[${i}]`,
      });
    }
    used.add(k);
    return { signature: toBase64(sig), verifier: verifiers[k] as string };
  });
  keys.forEach((_, i) => {
    if (!used.has(i)) {
      throw cairnError("ERR_DSSE_SIGNATURE_INVALID", "this verifier made none of the signatures", {
        field: `spec.proposedContent.verifiers[${i}]`,
      });
    }
  });
  const envelopeHash = sha256Hex(envelope);
  const payloadHash = sha256Hex(payload);
  const publicKeys = keys.map((k) => k.export({ type: "spki", format: "pem" }) as string);
  const verified = leafOf(
    "dsse",
    {
      apiVersion: "0.0.1",
      kind: "dsse",
      spec: {
        envelopeHash: { algorithm: "sha256", value: envelopeHash },
        payloadHash: { algorithm: "sha256", value: payloadHash },
        signatures,
      },
    },
    [`sha256:${payloadHash}`, `sha256:${envelopeHash}`],
    verifiers as string[],
  );
  return { ...verified, dsse: { envelope, publicKeys } };
}

/**
 * Verifies an intoto 0.0.2 proposed entry (sigstore/rekor pkg/types/intoto/v0.0.2: what cosign
 * `attest` and sigstore-js with entryType "intoto" submit): `spec.content.envelope` is a DSSE
 * envelope whose `payload` and each `signatures[i].sig` are base64 of the envelope's base64 text
 * (Go's strfmt.Base64 over the string), and each signature carries `publicKey`, base64 of the PEM
 * key or certificate that made it. Every signature must verify over the DSSE PAE with its own key
 * (stricter than Rekor, which tries every key on every signature: a body never pairs a signature
 * with a key that did not make it). The canonical body is Rekor's: the envelope without its
 * payload, `hash` and `payloadHash`. `payloadHash` is computed here; `hash` (the envelope's
 * SHA-256) is recorded as submitted, as Rekor does, because clients hash different serializations
 * (cosign its envelope JSON, sigstore-js a canonical form with the key) that the server cannot
 * rebuild: it is neither checked nor indexed. Throws ERR_TLOG_ENTRY_INVALID,
 * ERR_DSSE_SIGNATURE_INVALID, ERR_KEY_INVALID or ERR_ENCODING_INVALID.
 */
export function verifyRekorIntoto(
  spec: unknown,
  maxEnvelopeBytes = DEFAULT_MAX_REKOR_ENVELOPE_BYTES,
): RekorVerifiedEntry {
  const C = "spec.content";
  if (!isJsonObject(spec) || !isJsonObject(spec.content)) throw invalid(`${C} is required`, C);
  const { envelope, hash } = spec.content;
  if (!isJsonObject(envelope)) throw invalid("the DSSE envelope is required", `${C}.envelope`);
  const { payload, payloadType, signatures } = envelope;
  if (typeof payloadType !== "string" || payloadType.length === 0 || payloadType.length > 1024) {
    throw invalid("payloadType is a string of 1 to 1024 characters", `${C}.envelope.payloadType`);
  }
  // The payload is attacker-controlled: bound the doubly encoded text before decoding it.
  const maxPayloadChars = Math.ceil((Math.ceil((maxEnvelopeBytes * 4) / 3) * 4) / 3) + 8;
  if (typeof payload !== "string" || payload.length === 0 || payload.length > maxPayloadChars) {
    throw invalid(
      `the payload is base64 of the envelope's base64 payload, at most ${maxEnvelopeBytes} bytes`,
      `${C}.envelope.payload`,
    );
  }
  const payloadBytes = fromBase64(
    fromBase64(payload, `${C}.envelope.payload`).toString("latin1"),
    `${C}.envelope.payload`,
  );
  if (
    !isJsonObject(hash) ||
    hash.algorithm !== "sha256" ||
    typeof hash.value !== "string" ||
    !/^[0-9a-f]{64}$/.test(hash.value)
  ) {
    throw invalid("the envelope hash is {algorithm: sha256, value: <64 lowercase hex>}", `${C}.hash`);
  }
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > MAX_SIGNATURES) {
    throw invalid(`the envelope needs 1 to ${MAX_SIGNATURES} signatures`, `${C}.envelope.signatures`);
  }
  const message = pae(payloadType, payloadBytes);
  const keys: KeyObject[] = [];
  const body: { keyid?: string; publicKey: string; sig: string }[] = [];
  const sigs: { keyid?: string; sig: string }[] = [];
  signatures.forEach((s, i) => {
    const F = `${C}.envelope.signatures[${i}]`;
    if (!isJsonObject(s)) throw invalid("a signature is an object", F);
    if (typeof s.sig !== "string" || s.sig.length === 0 || s.sig.length > 4096) {
      throw invalid("sig is base64 of the base64 signature, at most 4096 characters", `${F}.sig`);
    }
    if (s.keyid !== undefined && (typeof s.keyid !== "string" || s.keyid.length > 1024)) {
      throw invalid("keyid is a string of at most 1024 characters", `${F}.keyid`);
    }
    const sig = fromBase64(fromBase64(s.sig, `${F}.sig`).toString("latin1"), `${F}.sig`);
    const key = readVerifier(s.publicKey, `${F}.publicKey`);
    if (sig.length === 0 || !verifyMessage(key, message, sig)) {
      throw cairnError("ERR_DSSE_SIGNATURE_INVALID", "the signature does not verify with its publicKey", {
        field: F,
      });
    }
    keys.push(key);
    // Go's json omits an empty keyid (omitempty), and so does the canonical body.
    const keyid = typeof s.keyid === "string" && s.keyid.length > 0 ? { keyid: s.keyid } : {};
    body.push({
      ...keyid,
      publicKey: toBase64(fromBase64(s.publicKey as string, `${F}.publicKey`)),
      sig: toBase64(Buffer.from(toBase64(sig))),
    });
    sigs.push({ ...keyid, sig: toBase64(sig) });
  });
  const payloadHash = sha256Hex(payloadBytes);
  const verified = leafOf(
    "intoto",
    {
      apiVersion: "0.0.2",
      kind: "intoto",
      spec: {
        content: {
          envelope: { payloadType, signatures: body },
          hash: { algorithm: "sha256", value: hash.value },
          payloadHash: { algorithm: "sha256", value: payloadHash },
        },
      },
    },
    // Rekor does not index the submitted envelope hash either.
    [`sha256:${payloadHash}`],
    body.map((b) => b.publicKey),
  );
  const publicKeys = [...new Set(keys.map((k) => k.export({ type: "spki", format: "pem" }) as string))];
  const standard = JSON.stringify({ payloadType, payload: toBase64(payloadBytes), signatures: sigs });
  return { ...verified, dsse: { envelope: standard, publicKeys } };
}

/**
 * Verifies a Rekor v1 proposed entry of a supported kind (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2); throws
 * ERR_TLOG_ENTRY_INVALID for any other kind or version, and the kind's verifier's errors.
 */
export function verifyRekorProposedEntry(input: unknown, maxEnvelopeBytes?: number): RekorVerifiedEntry {
  if (!isJsonObject(input)) throw invalid("a proposed entry is a JSON object");
  const { kind, apiVersion, spec } = input;
  if (kind === "hashedrekord" && apiVersion === "0.0.1") return verifyHashedRekord(spec);
  if (kind === "dsse" && apiVersion === "0.0.1") return verifyRekorDsse(spec, maxEnvelopeBytes);
  if (kind === "intoto" && apiVersion === "0.0.2") return verifyRekorIntoto(spec, maxEnvelopeBytes);
  throw invalid(
    `entry kind ${JSON.stringify(kind)} version ${JSON.stringify(apiVersion)} is not supported: use hashedrekord 0.0.1, dsse 0.0.1 or intoto 0.0.2`,
    "kind",
  );
}

/**
 * The keys a stored leaf is found by (POST /api/v1/index/retrieve): for Rekor bodies the digest,
 * payload and (dsse) envelope hashes, and the `identityIndexKeys` of every certificate verifier; for cairn's artifact/v1 and dsse/v1 leaves the artifact digest and
 * the payload digest. Never throws: an unparsable leaf has none.
 */
export function hashesOfLeaf(leaf: Uint8Array): string[] {
  let o: unknown;
  try {
    // cairn's canonical leaves leave PEM newlines unescaped: escape control characters first.
    const text = Buffer.from(leaf)
      .toString("utf8")
      .replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    o = parseJson(text, undefined, { maxBytes: 4 * leaf.length + 16, maxDepth: 16 });
  } catch {
    return [];
  }
  const out: string[] = [];
  const add = (h: unknown) => {
    if (isJsonObject(h) && h.algorithm === "sha256" && typeof h.value === "string")
      out.push(`sha256:${h.value}`);
  };
  if (!isJsonObject(o)) return out;
  const spec = isJsonObject(o.spec) ? o.spec : {};
  // The verifiers a Rekor body records (base64 PEM), for their certificate identities.
  let verifiers: unknown[] = [];
  if (o.kind === "hashedrekord" && isJsonObject(spec.data)) {
    add(spec.data.hash);
    const sig = isJsonObject(spec.signature) ? spec.signature : {};
    if (isJsonObject(sig.publicKey)) verifiers = [sig.publicKey.content];
  }
  if (o.kind === "dsse") {
    add(spec.payloadHash);
    add(spec.envelopeHash);
    if (Array.isArray(spec.signatures))
      verifiers = spec.signatures.map((s) => (isJsonObject(s) ? s.verifier : undefined));
  }
  // intoto: the payload hash only (its envelope hash is the submitter's, unchecked).
  if (o.kind === "intoto" && isJsonObject(spec.content)) {
    add(spec.content.payloadHash);
    const env = isJsonObject(spec.content.envelope) ? spec.content.envelope : {};
    if (Array.isArray(env.signatures))
      verifiers = env.signatures.map((s) => (isJsonObject(s) ? s.publicKey : undefined));
  }
  // Certificate identities (`identityIndexKeys`): a body holds at most MAX_SIGNATURES verifiers.
  for (const id of identitiesOfVerifiers(verifiers.slice(0, MAX_SIGNATURES)))
    out.push(...identityIndexKeys(id));
  if (o.kind === "artifact/v1" && isJsonObject(o.digest))
    add({ algorithm: "sha256", value: o.digest.sha256 });
  if (o.kind === "dsse/v1") add({ algorithm: "sha256", value: o.payloadSha256 });
  return out;
}

/** The log's Rekor identity: logID = SHA-256 of the DER SPKI of its public key (hex in the API). */
export function rekorLogId(key: KeyObject): Buffer {
  return logIdOfKey(spkiDerOf(key));
}

/**
 * A checkpoint signer in Rekor's convention: the signature line's 4-byte key hint is logID[0:4]
 * (sigstore-js verifyCheckpoint finds the log by it, and matches the key name against the log's
 * baseURL). C2SP verifiers ignore it as a signature by an unknown key.
 */
export function rekorCheckpointSigner(name: string, key: KeyObject): NoteSigner {
  if (key.asymmetricKeyType !== "ed25519" || key.type !== "private") {
    throw cairnError("ERR_KEY_INVALID", "the log key is an Ed25519 private key");
  }
  return { name, keyId: rekorLogId(key).readUInt32BE(0), sign: (text) => nodeSign(null, text, key) };
}

/**
 * The signed entry timestamp: the log's signature over the canonical JSON of
 * {body: base64(leaf), integratedTime, logID: hex, logIndex} (Rekor's SET; sigstore-js
 * verifyTLogSET recomputes exactly this).
 */
export function signEntryTimestamp(
  key: KeyObject,
  e: { leaf: Uint8Array; integratedTime: number; logId: Uint8Array; logIndex: number },
): Buffer {
  const payload = canonicalBytes({
    body: toBase64(e.leaf),
    integratedTime: e.integratedTime,
    logID: Buffer.from(e.logId).toString("hex"),
    logIndex: e.logIndex,
  });
  return nodeSign(null, payload, key);
}
