// SPDX-License-Identifier: Apache-2.0
// No tests here: a test-only Sigstore world built with real crypto each run: a CA (root and
// intermediate) issuing Fulcio-style code-signing certificates with embedded SCTs from a test CT
// log, cairn's in-process log behind the Rekor-style port, an RFC 3161 timestamp authority, and
// the trusted root naming them all. (The real CA is src/engines/ca, on another branch.)
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { Clock } from "../core/clock.js";
import {
  derBitString,
  derBool,
  derNull,
  derOctets,
  derOid,
  derSeq,
  derSet,
  derTime,
  derUint,
  derUtf8,
  TAG,
  tlv,
} from "../core/der.js";
import { generateKey, type PrivateKey } from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import { LocalRekorLog } from "../engines/sigstore/local-log.js";
import { buildTrustedRoot } from "../engines/sigstore/trust-root.js";
import { MemoryLogStorage, Sequencer } from "../engines/tlog/index.js";
import { type EmbeddedSct, OID, sctSignedData } from "../formats/sigstore/certificate.js";
import type { TrustedRoot } from "../formats/sigstore/trusted-root.js";
import { sctListExtensionValue } from "../formats/x509/index.js";

const ECDSA_SHA256 = derSeq(derOid("1.2.840.10045.4.3.2"));
const SHA256_ALG = derSeq(derOid("2.16.840.1.101.3.4.2.1"));

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: Buffer;
}

export function ecPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKey, spki: publicKey.export({ type: "spki", format: "der" }) };
}

export function dn(cn: string, o = "cairn test"): Buffer {
  return derSeq(
    derSet(derSeq(derOid("2.5.4.10"), derUtf8(o))),
    derSet(derSeq(derOid("2.5.4.3"), derUtf8(cn))),
  );
}

export function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? derSeq(derOid(oid), derBool(true), derOctets(value))
    : derSeq(derOid(oid), derOctets(value));
}

let serialCounter = 1000n;

/** The TBSCertificate (X.509 v3, ECDSA with SHA-256). */
export function tbsCertificate(o: {
  serial?: bigint;
  issuer: Buffer;
  subject: Buffer;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}): Buffer {
  return derSeq(
    tlv(0xa0, derUint(2)),
    derUint(o.serial ?? serialCounter++),
    ECDSA_SHA256,
    o.issuer,
    derSeq(derTime(o.notBefore), derTime(o.notAfter)),
    o.subject,
    o.spki,
    tlv(0xa3, derSeq(...o.extensions)),
  );
}

export function signTbs(tbs: Buffer, key: KeyObject): Buffer {
  return derSeq(tbs, ECDSA_SHA256, derBitString(sign("sha256", tbs, key)));
}

function caExtensions(pathLen?: number): Buffer[] {
  return [
    extension(
      OID.basicConstraints,
      true,
      derSeq(derBool(true), ...(pathLen === undefined ? [] : [derUint(pathLen)])),
    ),
    extension(OID.keyUsage, true, tlv(TAG.BIT_STRING, Buffer.from([0x01, 0x06]))), // keyCertSign, cRLSign
  ];
}

export interface TestCa {
  root: KeyPair;
  rootCert: Buffer;
  inter: KeyPair;
  interCert: Buffer;
  rootName: Buffer;
  interName: Buffer;
  notBefore: Date;
  notAfter: Date;
}

export function makeTestCa(
  name = "cairn test",
  notBefore = new Date("2020-01-01T00:00:00Z"),
  notAfter = new Date("2040-01-01T00:00:00Z"),
): TestCa {
  const root = ecPair();
  const inter = ecPair();
  const rootName = dn(`${name} root`);
  const interName = dn(`${name} intermediate`);
  const rootCert = signTbs(
    tbsCertificate({
      issuer: rootName,
      subject: rootName,
      spki: root.spki,
      notBefore,
      notAfter,
      extensions: caExtensions(1),
    }),
    root.privateKey,
  );
  const interCert = signTbs(
    tbsCertificate({
      issuer: rootName,
      subject: interName,
      spki: inter.spki,
      notBefore,
      notAfter,
      extensions: caExtensions(0),
    }),
    root.privateKey,
  );
  return { root, rootCert, inter, interCert, rootName, interName, notBefore, notAfter };
}

export interface LeafOptions {
  email?: string;
  uri?: string;
  issuer?: string;
  /** Legacy raw-bytes issuer extension (1.3.6.1.4.1.57264.1.1) instead of .1.8. */
  legacyIssuer?: boolean;
  /** Extra Fulcio extensions: OID -> string value (DER UTF8String). */
  claims?: Record<string, string>;
  notBefore?: Date;
  notAfter?: Date;
  /** Leave out the code-signing EKU. */
  noCodeSigning?: boolean;
  /** CT log that signs the embedded SCT; none embeds no SCT. */
  ctlog?: KeyPair | undefined;
  /** Sign the SCT over another TBS (a forged SCT). */
  badSct?: boolean;
}

/** Issues a Fulcio-style leaf for `spki`, with an SCT embedded the RFC 6962 3.2 way. */
export function issueLeaf(ca: TestCa, spki: Buffer, o: LeafOptions = {}): Buffer {
  const now = Date.now();
  const notBefore = o.notBefore ?? new Date(now - 60_000);
  const notAfter = o.notAfter ?? new Date(now + 10 * 60_000);
  const sans: Buffer[] = [];
  if (o.email) sans.push(tlv(0x81, Buffer.from(o.email, "latin1")));
  if (o.uri) sans.push(tlv(0x86, Buffer.from(o.uri, "latin1")));
  const exts: Buffer[] = [
    extension(OID.keyUsage, true, tlv(TAG.BIT_STRING, Buffer.from([0x07, 0x80]))), // digitalSignature
    ...(o.noCodeSigning ? [] : [extension(OID.extKeyUsage, false, derSeq(derOid(OID.codeSigning)))]),
    extension(OID.subjectAltName, true, derSeq(...sans)),
  ];
  if (o.issuer !== undefined) {
    exts.push(
      o.legacyIssuer
        ? extension(OID.fulcioIssuerV1, false, Buffer.from(o.issuer, "utf8"))
        : extension(OID.fulcioIssuerV2, false, derUtf8(o.issuer)),
    );
  }
  for (const [oid, v] of Object.entries(o.claims ?? {})) exts.push(extension(oid, false, derUtf8(v)));
  const serial = serialCounter++;
  const base = { serial, issuer: ca.interName, subject: derSeq(), spki, notBefore, notAfter };
  if (o.ctlog) {
    const pre = tbsCertificate({ ...base, extensions: exts });
    const sct: EmbeddedSct = {
      version: 0,
      logId: createHash("sha256").update(o.ctlog.spki).digest(),
      timestamp: BigInt(notBefore.getTime()),
      extensions: Buffer.alloc(0),
      hashAlgorithm: 4,
      signatureAlgorithm: 3,
      signature: Buffer.alloc(0),
    };
    const issuerKeyHash = createHash("sha256").update(ca.inter.spki).digest();
    const signed = o.badSct ? Buffer.concat([pre, Buffer.from([0])]) : pre;
    sct.signature = sign("sha256", sctSignedData(sct, issuerKeyHash, signed), o.ctlog.privateKey);
    exts.push(extension(OID.sctList, false, sctListExtensionValue([sct])));
  }
  return signTbs(tbsCertificate({ ...base, extensions: exts }), ca.inter.privateKey);
}

export interface TestTsa {
  key: KeyPair;
  leaf: Buffer;
  leafSerial: bigint;
  root: Buffer;
  leafName: Buffer;
  rootName: Buffer;
}

/**
 * A TSA root and signing certificate. `eku` sets the signing certificate's extended key usage
 * (default: timeStamping alone, critical, as RFC 3161 2.3 requires); the others make rogue TSAs.
 */
export function makeTestTsa(
  o: { eku?: { purposes: ("timeStamping" | "codeSigning")[]; critical: boolean } } = {},
): TestTsa {
  const eku = o.eku ?? { purposes: ["timeStamping"], critical: true };
  const rootKey = ecPair();
  const key = ecPair();
  const rootName = dn("cairn test TSA root");
  const leafName = dn("cairn test TSA");
  const nb = new Date("2020-01-01T00:00:00Z");
  const na = new Date("2040-01-01T00:00:00Z");
  const root = signTbs(
    tbsCertificate({
      issuer: rootName,
      subject: rootName,
      spki: rootKey.spki,
      notBefore: nb,
      notAfter: na,
      extensions: caExtensions(0),
    }),
    rootKey.privateKey,
  );
  const leafSerial = serialCounter++;
  const leaf = signTbs(
    tbsCertificate({
      serial: leafSerial,
      issuer: rootName,
      subject: leafName,
      spki: key.spki,
      notBefore: nb,
      notAfter: na,
      extensions: [
        extension(OID.extKeyUsage, eku.critical, derSeq(...eku.purposes.map((p) => derOid(OID[p])))),
      ],
    }),
    rootKey.privateKey,
  );
  return { key, leaf, leafSerial, root, leafName, rootName };
}

/** An RFC 3161 TimeStampResp (DER) over `data` (the bundle's signature bytes) at `genTime`. */
export function timestampResponse(
  tsa: TestTsa,
  data: Uint8Array,
  genTime = new Date(),
  opts: { tamperImprint?: boolean; berContent?: boolean; signingCertificateOf?: Buffer } = {},
): Buffer {
  const imprint = createHash("sha256").update(data).digest();
  if (opts.tamperImprint) imprint[0] = (imprint[0] ?? 0) ^ 1;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const gt = `${p(genTime.getUTCFullYear(), 4)}${p(genTime.getUTCMonth() + 1)}${p(genTime.getUTCDate())}${p(genTime.getUTCHours())}${p(genTime.getUTCMinutes())}${p(genTime.getUTCSeconds())}Z`;
  const tstInfo = derSeq(
    derUint(1),
    derOid("1.2.3.4.1"),
    derSeq(derSeq(derOid("2.16.840.1.101.3.4.2.1"), derNull()), derOctets(imprint)),
    derUint(serialCounter++),
    tlv(TAG.GENERALIZED_TIME, Buffer.from(gt, "latin1")),
  );
  const attrs = [
    derSeq(derOid("1.2.840.113549.1.9.3"), derSet(derOid("1.2.840.113549.1.9.16.1.4"))),
    derSeq(derOid("1.2.840.113549.1.9.4"), derSet(derOctets(createHash("sha256").update(tstInfo).digest()))),
    // signing-certificate-v2 (RFC 5035): one ESSCertIDv2, SHA-256 by default, of the given certificate.
    ...(opts.signingCertificateOf
      ? [
          derSeq(
            derOid("1.2.840.113549.1.9.16.2.47"),
            derSet(
              derSeq(
                derSeq(derSeq(derOctets(createHash("sha256").update(opts.signingCertificateOf).digest()))),
              ),
            ),
          ),
        ]
      : []),
  ];
  const signature = sign("sha256", tlv(TAG.SET, ...attrs), tsa.key.privateKey);
  const signerInfo = derSeq(
    derUint(1),
    derSeq(tsa.rootName, derUint(tsa.leafSerial)),
    SHA256_ALG,
    tlv(0xa0, ...attrs),
    ECDSA_SHA256,
    derOctets(signature),
  );
  const signedData = derSeq(
    derUint(3),
    derSet(SHA256_ALG),
    derSeq(
      derOid("1.2.840.113549.1.9.16.1.4"),
      // BER's constructed OCTET STRING (tag 0x24), which DER forbids.
      tlv(0xa0, opts.berContent ? tlv(0x24, derOctets(tstInfo)) : derOctets(tstInfo)),
    ),
    derSet(signerInfo),
  );
  const token = derSeq(derOid("1.2.840.113549.1.7.2"), tlv(0xa0, signedData));
  return derSeq(derSeq(derUint(0)), token);
}

export const TEST_LOG_URL = "https://log.cairn.test";
export const TEST_ISSUER = "https://issuer.cairn.test";

/** Everything a Sigstore test needs, with a trusted root naming it. */
export interface SigstoreWorld {
  ca: TestCa;
  ctlog: KeyPair;
  tsa: TestTsa;
  logKey: KeyPair;
  log: LocalRekorLog;
  sequencer: Sequencer;
  trustedRoot: TrustedRoot;
  /** A signer with a fresh ECDSA key and a certificate for it. */
  identity(o?: LeafOptions): { key: PrivateKey; signer: Signer; certificate: Buffer };
  close(): Promise<void>;
}

export async function sigstoreWorld(o: { clock?: Clock } = {}): Promise<SigstoreWorld> {
  const ca = makeTestCa();
  const ctlog = ecPair();
  const tsa = makeTestTsa();
  const logKey = ecPair();
  const sequencer = await Sequencer.open({
    storage: new MemoryLogStorage(),
    origin: "log.cairn.test - 1",
    keyName: "log.cairn.test",
    key: generateKeyPairSync("ed25519").privateKey,
    maxBatchDelayMs: 0,
  });
  const log = new LocalRekorLog({
    sequencer,
    key: logKey.privateKey,
    name: "log.cairn.test",
    ...(o.clock ? { clock: o.clock } : {}),
  });
  const start = new Date("2020-01-01T00:00:00Z");
  const trustedRoot = buildTrustedRoot({
    tlogs: [{ baseUrl: TEST_LOG_URL, publicKey: logKey.publicKey, validity: { start } }],
    ctlogs: [{ baseUrl: "https://ct.cairn.test", publicKey: ctlog.publicKey, validity: { start } }],
    certificateAuthorities: [{ uri: "https://ca.cairn.test", chain: [ca.interCert, ca.rootCert] }],
    timestampAuthorities: [{ uri: "https://tsa.cairn.test", chain: [tsa.leaf, tsa.root] }],
  });
  return {
    ca,
    ctlog,
    tsa,
    logKey,
    log,
    sequencer,
    trustedRoot,
    identity(lo: LeafOptions = {}) {
      const key = generateKey("ecdsa");
      const spki = key.public.key.export({ type: "spki", format: "der" });
      const certificate = issueLeaf(ca, spki, {
        email: "dev@cairn.test",
        issuer: TEST_ISSUER,
        ctlog,
        ...lo,
      });
      return { key, signer: keySigner(key), certificate };
    },
    close: () => sequencer.close(),
  };
}
