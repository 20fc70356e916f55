// SPDX-License-Identifier: Apache-2.0
// No tests here: fixtures shared by the sigstore format tests, built with real crypto each run
// (keys, a small DER X.509 writer for certificates, Rekor bodies, Merkle proofs, checkpoints).
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { toPem } from "../core/encoding.js";
import { pae } from "../formats/dsse/envelope.js";
import type { BundleVersion } from "../formats/sigstore/bundle.js";
import { signCheckpoint } from "../formats/tlog/checkpoint.js";
import { hashLeaf, inclusionProof, rootHash } from "../formats/tlog/merkle.js";
import { ed25519NoteSigner, serializeNote } from "../formats/tlog/note.js";

// --- a minimal DER writer (X.690), enough for a certificate ---
function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...p: Buffer[]) => tlv(0x30, ...p);
const set = (...p: Buffer[]) => tlv(0x31, ...p);
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number) as [number, number, ...number[]];
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const enc = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) enc.unshift((v & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return tlv(0x06, Buffer.from(bytes));
}
const int = (n: number) => tlv(0x02, Buffer.from([n & 0x7f]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "ascii"));
}
const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Buffer;
}

export function ecKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKey, spki: publicKey.export({ type: "spki", format: "der" }) };
}

export function edKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey, spki: publicKey.export({ type: "spki", format: "der" }) };
}

/** An X.509 v1 certificate (ECDSA P-256 with SHA-256), DER. */
export function makeCertificate(opts: {
  subject: string;
  issuer?: string;
  key: TestKey;
  signer?: TestKey;
  serial?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Buffer {
  const tbs = seq(
    int(opts.serial ?? 1),
    ECDSA_SHA256,
    name(opts.issuer ?? opts.subject),
    seq(
      utcTime(opts.notBefore ?? new Date("2024-01-01T00:00:00Z")),
      utcTime(opts.notAfter ?? new Date("2034-01-01T00:00:00Z")),
    ),
    name(opts.subject),
    opts.key.spki,
  );
  const sig = sign("sha256", tbs, (opts.signer ?? opts.key).privateKey);
  return seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), sig));
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString("base64");

/** A signing identity: leaf key and certificate issued by a CA. */
export interface Identity {
  key: TestKey;
  ca: TestKey;
  caCert: Buffer;
  leafCert: Buffer;
}

export function makeIdentity(): Identity {
  const ca = ecKey();
  const key = ecKey();
  const caCert = makeCertificate({ subject: "cairn test CA", key: ca });
  const leafCert = makeCertificate({
    subject: "signer",
    issuer: "cairn test CA",
    key,
    signer: ca,
    serial: 2,
  });
  return { key, ca, caCert, leafCert };
}

/** A log of a few other entries plus ours at `index`, with a real inclusion proof and checkpoint. */
export function logEntry(
  body: Buffer,
  opts: { index?: number; size?: number; logKey?: TestKey; kind: string; version: string },
): Record<string, unknown> {
  const size = opts.size ?? 5;
  const index = opts.index ?? 3;
  const logKey = opts.logKey ?? ecKey();
  const leaves = Array.from({ length: size }, (_, i) =>
    i === index ? hashLeaf(body) : hashLeaf(Buffer.from(`leaf ${i}`)),
  );
  const root = rootHash(leaves);
  const noteKey = generateKeyPairSync("ed25519").privateKey;
  const note = signCheckpoint({ origin: "log.cairn.test - 1234", size, rootHash: root, extensions: [] }, [
    ed25519NoteSigner("log.cairn.test", noteKey),
  ]);
  return {
    logIndex: String(1000 + index),
    logId: { keyId: b64(createHash("sha256").update(logKey.spki).digest()) },
    kindVersion: { kind: opts.kind, version: opts.version },
    integratedTime: "1718000000",
    inclusionPromise: { signedEntryTimestamp: b64(sign("sha256", body, logKey.privateKey)) },
    inclusionProof: {
      logIndex: String(index),
      rootHash: b64(root),
      treeSize: String(size),
      hashes: inclusionProof(index, leaves).map(b64),
      checkpoint: { envelope: serializeNote(note) },
    },
    canonicalizedBody: b64(body),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate these JSON documents freely
export type Json = Record<string, any>;

export const MEDIA_TYPES: Record<BundleVersion, string> = {
  "0.1": "application/vnd.dev.sigstore.bundle+json;version=0.1",
  "0.2": "application/vnd.dev.sigstore.bundle+json;version=0.2",
  "0.3": "application/vnd.dev.sigstore.bundle.v0.3+json",
};

function keyMaterial(version: BundleVersion, id: Identity): Record<string, unknown> {
  return version === "0.3"
    ? { certificate: { rawBytes: b64(id.leafCert) } }
    : { x509CertificateChain: { certificates: [{ rawBytes: b64(id.leafCert) }] } };
}

/** A message-signature bundle of `version` over `artifact`, with a hashedrekord 0.0.1 entry. */
export function messageBundle(
  version: BundleVersion,
  artifact = Buffer.from("hello, cairn\n"),
  id = makeIdentity(),
) {
  const digest = createHash("sha256").update(artifact).digest();
  const signature = sign("sha256", artifact, id.key.privateKey);
  const body = hashedRekordBody(digest, signature, Buffer.from(toPem("CERTIFICATE", id.leafCert)));
  const entry = logEntry(body, { kind: "hashedrekord", version: "0.0.1" });
  if (version === "0.1") delete (entry.inclusionProof as Record<string, unknown>).checkpoint;
  return {
    id,
    artifact,
    body,
    json: {
      mediaType: MEDIA_TYPES[version],
      verificationMaterial: { ...keyMaterial(version, id), tlogEntries: [entry] },
      messageSignature: {
        messageDigest: { algorithm: "SHA2_256", digest: b64(digest) },
        signature: b64(signature),
      },
    } as Json,
  };
}

/** The canonical hashedrekord 0.0.1 body, in the key order of Rekor's Go encoder. */
export function hashedRekordBody(digest: Buffer, signature: Buffer, pem: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: digest.toString("hex") } },
        signature: { content: b64(signature), publicKey: { content: b64(pem) } },
      },
    }),
  );
}

export const IN_TOTO_TYPE = "application/vnd.in-toto+json";

/** A DSSE bundle of `version` with a dsse 0.0.1 or intoto 0.0.2 entry. */
export function dsseBundle(version: BundleVersion, kind: "dsse" | "intoto" = "dsse", id = makeIdentity()) {
  const payload = Buffer.from(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "a.txt", digest: { sha256: "a".repeat(64) } }],
      predicateType: "https://example.com/p/v1",
    }),
  );
  const sig = sign("sha256", pae(IN_TOTO_TYPE, payload), id.key.privateKey);
  const envelope = {
    payload: b64(payload),
    payloadType: IN_TOTO_TYPE,
    signatures: [{ sig: b64(sig), keyid: "" }],
  };
  const pem = b64(toPem("CERTIFICATE", id.leafCert));
  const payloadHash = { algorithm: "sha256", value: createHash("sha256").update(payload).digest("hex") };
  const envelopeHash = {
    algorithm: "sha256",
    value: createHash("sha256").update(JSON.stringify(envelope)).digest("hex"),
  };
  const body =
    kind === "dsse"
      ? {
          apiVersion: "0.0.1",
          kind: "dsse",
          spec: { envelopeHash, payloadHash, signatures: [{ signature: b64(sig), verifier: pem }] },
        }
      : {
          apiVersion: "0.0.2",
          kind: "intoto",
          spec: {
            content: {
              envelope: { payloadType: IN_TOTO_TYPE, signatures: [{ publicKey: pem, sig: b64(b64(sig)) }] },
              hash: envelopeHash,
              payloadHash,
            },
          },
        };
  const bodyBytes = Buffer.from(JSON.stringify(body));
  const entry = logEntry(bodyBytes, { kind, version: kind === "dsse" ? "0.0.1" : "0.0.2" });
  if (version === "0.1") delete (entry.inclusionProof as Record<string, unknown>).checkpoint;
  return {
    id,
    payload,
    sig,
    json: {
      mediaType: MEDIA_TYPES[version],
      verificationMaterial: { ...keyMaterial(version, id), tlogEntries: [entry] },
      dsseEnvelope: envelope,
    } as Json,
  };
}

/**
 * A Rekor intoto 0.0.2 proposed entry (createLogEntry) for a DSSE envelope, as cosign and
 * sigstore-js build it: payload and each sig base64-encoded a second time, each signature with
 * `publicKeys[i]` (PEM text of a key or certificate), `hash` by default SHA-256 of the envelope JSON.
 */
export function intotoProposal(
  env: { payloadType: string; payload: string; signatures: { sig: string; keyid?: string }[] },
  publicKeys: readonly string[],
  hash = createHash("sha256").update(JSON.stringify(env)).digest("hex"),
) {
  return {
    apiVersion: "0.0.2",
    kind: "intoto",
    spec: {
      content: {
        envelope: {
          payloadType: env.payloadType,
          payload: b64(env.payload),
          signatures: env.signatures.map((s, i) => ({
            ...(s.keyid !== undefined ? { keyid: s.keyid } : {}),
            sig: b64(s.sig),
            publicKey: b64(publicKeys[i]!),
          })),
        },
        hash: { algorithm: "sha256", value: hash },
      },
    },
  };
}

/** A deep copy of a JSON value, for tampering. */
export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** fast-check may build null-prototype objects and -0 (JSON's 0): normalize them (Buffers kept). */
export function plain<T>(v: T): T {
  if (Object.is(v, -0)) return 0 as T;
  if (Buffer.isBuffer(v) || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(plain) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = plain(x);
  return out as T;
}
