// SPDX-License-Identifier: Apache-2.0
// No tests here: a complete test CA (root, intermediate, CT log recording into a real in-memory
// transparency log) and the helpers the CA tests share (CSRs, proofs of possession).
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import * as asn from "@peculiar/asn1-x509";
import { type Clock, systemClock } from "../core/clock.js";
import { generateKey } from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import {
  CaService,
  CertificateAuthority,
  type CertificateLogPort,
  CtLog,
  createIntermediateCertificate,
  createRootCertificate,
  type IssuingCa,
  type OidcIssuerConfig,
  OidcVerifier,
  type RateLimitOptions,
  sequencerCertificateLog,
  type TokenReuse,
} from "../engines/ca/index.js";
import { MemoryLogStorage, Sequencer } from "../engines/tlog/index.js";
import { httpFetcher } from "../runtime/http.js";

export const DAY = 86_400_000;

/** A root and one intermediate valid around now. */
export async function makeHierarchy(opts: { from?: Date; days?: number } = {}): Promise<{
  root: { certificate: Buffer; signer: Signer };
  intermediate: IssuingCa;
}> {
  const from = opts.from ?? new Date(Date.now() - DAY);
  const rootSigner = keySigner(generateKey("ecdsa", { curve: "P-384" }));
  const root = await createRootCertificate({
    signer: rootSigner,
    subject: { organization: "cairn.test", commonName: "cairn test root" },
    notBefore: from,
    notAfter: new Date(from.getTime() + 3650 * DAY),
  });
  const intermediate = await makeIntermediate(
    { certificate: root, signer: rootSigner },
    from,
    opts.days ?? 365,
  );
  return { root: { certificate: root, signer: rootSigner }, intermediate };
}

/** An intermediate under `root` valid for `days` from `from`. */
export async function makeIntermediate(
  root: { certificate: Buffer; signer: Signer },
  from: Date,
  days: number,
  signer: Signer = keySigner(generateKey("ecdsa", { curve: "P-384" })),
): Promise<IssuingCa> {
  const certificate = await createIntermediateCertificate({
    root,
    publicKey: signer.publicKey.key,
    subject: { organization: "cairn.test", commonName: "cairn test intermediate" },
    notBefore: from,
    notAfter: new Date(from.getTime() + days * DAY),
  });
  return { certificate, signer, parents: [root.certificate] };
}

/** The transparency log the CT log records into: a real Sequencer over memory storage. */
export async function makeCertificateLog(): Promise<{ port: CertificateLogPort; sequencer: Sequencer }> {
  const sequencer = await Sequencer.open({
    storage: new MemoryLogStorage(),
    origin: "ct.cairn.test",
    key: generateKeyPairSync("ed25519").privateKey,
    maxBatchDelayMs: 0,
  });
  return { sequencer, port: sequencerCertificateLog(sequencer) };
}

export interface TestCa {
  root: { certificate: Buffer; signer: Signer };
  intermediate: IssuingCa;
  ca: CertificateAuthority;
  ct: CtLog;
  ctSigner: Signer;
  sequencer: Sequencer;
  service: CaService;
  oidc: OidcVerifier;
}

/** A whole CA with a CT log, trusting `issuers`. `logPort` replaces the transparency log. */
export async function makeTestCa(
  issuers: OidcIssuerConfig[],
  opts: {
    clock?: Clock;
    rateLimit?: RateLimitOptions;
    tokenReuse?: TokenReuse;
    logPort?: CertificateLogPort;
  } = {},
): Promise<TestCa> {
  const clock = opts.clock ?? systemClock;
  const { root, intermediate } = await makeHierarchy();
  const log = await makeCertificateLog();
  const ctSigner = keySigner(generateKey("ecdsa", { curve: "P-256" }));
  const ct = new CtLog(ctSigner, opts.logPort ?? log.port, clock);
  const ca = new CertificateAuthority({ issuers: [intermediate], clock, ctLog: ct });
  const oidc = new OidcVerifier({ issuers, fetcher: httpFetcher({ timeoutMs: 5000 }), clock });
  const service = new CaService({
    ca,
    oidc,
    clock,
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(opts.tokenReuse ? { tokenReuse: opts.tokenReuse } : {}),
  });
  return { root, intermediate, ca, ct, ctSigner, sequencer: log.sequencer, service, oidc };
}

/** A fresh P-256 key pair for a signer asking for a certificate. */
export function clientKey(): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKey, pem: publicKey.export({ type: "spki", format: "pem" }) as string };
}

/** Fulcio's proof of possession: base64 of the key's signature over the challenge text. */
export function proveChallenge(privateKey: KeyObject, challenge: string): string {
  const hash = privateKey.asymmetricKeyType === "ed25519" ? null : "sha256";
  return sign(hash, Buffer.from(challenge), privateKey).toString("base64");
}

/** A PKCS#10 CSR (PEM) for the key, signed by `signWith` (the same key unless forging). */
export function makeCsr(publicKey: KeyObject, signWith: KeyObject): string {
  const info = new CertificationRequestInfo({
    subject: new asn.Name([]),
    subjectPKInfo: AsnConvert.parse(
      publicKey.export({ type: "spki", format: "der" }),
      asn.SubjectPublicKeyInfo,
    ),
  });
  const tbs = Buffer.from(AsnConvert.serialize(info));
  const ed = signWith.asymmetricKeyType === "ed25519";
  const sig = sign(ed ? null : "sha256", tbs, signWith);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new asn.AlgorithmIdentifier({
      algorithm: ed ? "1.3.101.112" : "1.2.840.10045.4.3.2",
    }),
    signature: new Uint8Array(sig).buffer,
  });
  const b64 = Buffer.from(AsnConvert.serialize(csr)).toString("base64");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
}
