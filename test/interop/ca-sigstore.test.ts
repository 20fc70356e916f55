// SPDX-License-Identifier: Apache-2.0
// cairn's CA against the real Sigstore clients: @sigstore/sign's Fulcio signer and the top-level
// sigstore.sign() get certificates from cairn's Fulcio v2 API (Fastify on 127.0.0.1:0) with tokens
// from the test OIDC issuer, and
// @sigstore/verify accepts the certificate's chain and its embedded SCT given a trusted root that
// lists cairn's CA and CT key (offline: the certificate check alone, then its whole Verifier on a
// bundle whose only stand-in is the log's inclusion promise). Refusals: a CT key not in the
// trusted root, a CT key not valid at the SCT's time, a CA not in the trusted root.
import assert from "node:assert/strict";
import { createHash, X509Certificate as NodeX509, sign, verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { bundleFromJSON } from "@sigstore/bundle";
import { json, X509Certificate } from "@sigstore/core";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { FulcioSigner } from "@sigstore/sign";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { verifyCertificate } from "@sigstore/verify/dist/key/index.js";
import Fastify, { type FastifyInstance } from "fastify";
import { sign as sigstoreSign } from "sigstore";
import { generateKey, spkiDerOf } from "../../src/core/keys.js";
import { fulcioRoutes } from "../../src/services/fulcio-routes.js";
import { makeTestCa, type TestCa } from "../../src/testing/ca-kit.js";
import { startTestIssuer, type TestIssuer } from "../../src/testing/oidc-issuer.js";
import { ecKey, hashedRekordBody } from "../../src/testing/sigstore-kit.js";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
/** @sigstore/verify's refusal of a certificate or SCT. */
const certificateError = (e: { code?: string }) => e.code === "CERTIFICATE_ERROR";

let issuer: TestIssuer;
let t: TestCa;
let app: FastifyInstance;
let base: string;

before(async () => {
  issuer = await startTestIssuer();
  t = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }]);
  app = Fastify({ logger: false });
  await app.register(fulcioRoutes, { service: t.service });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});
after(async () => {
  await app.close();
  await issuer.close();
});

/** A trusted_root.json (sigstore_trustroot.proto, v0.1 media type) listing cairn's CA and CT log. */
function trustedRoot(opts: { ctSpki?: Buffer; ctStart?: string; chain?: Buffer[]; tlogSpki?: Buffer } = {}) {
  const ctSpki = opts.ctSpki ?? t.ct.spki;
  return TrustedRoot.fromJSON({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: opts.tlogSpki
      ? [
          {
            baseUrl: "https://rekor.cairn.test",
            hashAlgorithm: "SHA2_256",
            publicKey: {
              rawBytes: b64(opts.tlogSpki),
              keyDetails: "PKIX_ECDSA_P256_SHA_256",
              validFor: { start: "2000-01-01T00:00:00Z" },
            },
            logId: { keyId: b64(createHash("sha256").update(opts.tlogSpki).digest()) },
          },
        ]
      : [],
    timestampAuthorities: [],
    certificateAuthorities: [
      {
        subject: { organization: "cairn.test", commonName: "cairn test intermediate" },
        uri: base,
        certChain: {
          certificates: (opts.chain ?? [t.intermediate.certificate, t.root.certificate]).map((c) => ({
            rawBytes: b64(c),
          })),
        },
        validFor: { start: "2000-01-01T00:00:00Z" },
      },
    ],
    ctlogs: [
      {
        baseUrl: "https://ct.cairn.test",
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(ctSpki),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: opts.ctStart ?? "2000-01-01T00:00:00Z" },
        },
        logId: { keyId: b64(createHash("sha256").update(ctSpki).digest()) },
      },
    ],
  });
}

describe("cairn CA with the sigstore clients", () => {
  let certPem: string;
  const data = Buffer.from("artifact signed with a cairn certificate\n");
  let signature: Buffer;

  before(async () => {
    const token = await issuer.mint({ sub: "user-1", email: "dev@example.com", email_verified: true });
    const signer = new FulcioSigner({
      fulcioBaseURL: base,
      identityProvider: { getToken: async () => token },
    });
    const sig = await signer.sign(data);
    assert.equal(sig.key.$case, "x509Certificate");
    certPem = (sig.key as { certificate: string }).certificate;
    signature = sig.signature;
  });

  it("@sigstore/sign's Fulcio signer gets a certificate for its ephemeral key", () => {
    const leaf = new NodeX509(certPem);
    assert.equal(leaf.subjectAltName, "email:dev@example.com");
    assert.ok(verify("sha256", data, leaf.publicKey, signature));
    assert.equal(t.sequencer.size, 1, "the precertificate was logged");
  });

  it("@sigstore/verify accepts the chain and the embedded SCT with cairn's trusted root", () => {
    const result = verifyCertificate(
      X509Certificate.parse(certPem),
      [new Date()],
      toTrustMaterial(trustedRoot()),
    );
    assert.equal(result.scts.length, 1);
    assert.ok(Buffer.from(result.scts[0]!).equals(t.ct.logId));
    assert.equal(result.signer.identity?.extensions?.issuer, issuer.url);
    assert.equal(result.signer.identity?.subjectAlternativeName, "dev@example.com");
  });

  it("@sigstore/verify refuses the SCT under a CT key the trusted root does not list", () => {
    const other = spkiDerOf(generateKey("ecdsa", { curve: "P-256" }).public.key);
    assert.throws(
      () =>
        verifyCertificate(
          X509Certificate.parse(certPem),
          [new Date()],
          toTrustMaterial(trustedRoot({ ctSpki: other })),
        ),
      certificateError,
    );
  });

  it("@sigstore/verify refuses the SCT when the CT key is not valid at the SCT's time", () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    assert.throws(
      () =>
        verifyCertificate(
          X509Certificate.parse(certPem),
          [new Date()],
          toTrustMaterial(trustedRoot({ ctStart: later })),
        ),
      certificateError,
    );
  });

  it("@sigstore/verify refuses the certificate under a trusted root with another CA", async () => {
    const other = await makeTestCa([]);
    assert.throws(
      () =>
        verifyCertificate(
          X509Certificate.parse(certPem),
          [new Date()],
          toTrustMaterial(trustedRoot({ chain: [other.intermediate.certificate, other.root.certificate] })),
        ),
      certificateError,
    );
  });

  it("@sigstore/verify's whole offline Verifier accepts a bundle signed under the cairn certificate", () => {
    // A v0.1 message-signature bundle: the certificate, a hashedrekord entry with an inclusion
    // promise (SET) by a test log key, and the signature. Only the log is a stand-in here.
    const log = ecKey();
    const leafDer = new NodeX509(certPem).raw;
    const digest = createHash("sha256").update(data).digest();
    const body = hashedRekordBody(digest, signature, Buffer.from(certPem));
    const logId = createHash("sha256").update(log.spki).digest();
    const integratedTime = Math.floor(Date.now() / 1000);
    const set = sign(
      "sha256",
      Buffer.from(
        json.canonicalize({ body: b64(body), integratedTime, logIndex: 0, logID: logId.toString("hex") }),
      ),
      log.privateKey,
    );
    const bundle = bundleFromJSON({
      mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: b64(leafDer) }] },
        tlogEntries: [
          {
            logIndex: "0",
            logId: { keyId: b64(logId) },
            kindVersion: { kind: "hashedrekord", version: "0.0.1" },
            integratedTime: String(integratedTime),
            inclusionPromise: { signedEntryTimestamp: b64(set) },
            canonicalizedBody: b64(body),
          },
        ],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: {
        messageDigest: { algorithm: "SHA2_256", digest: b64(digest) },
        signature: b64(signature),
      },
    });
    const verifier = new Verifier(toTrustMaterial(trustedRoot({ tlogSpki: log.spki })));
    const signer = verifier.verify(toSignedEntity(bundle, data), {
      subjectAlternativeName: "dev@example.com",
      extensions: { issuer: issuer.url },
    });
    assert.equal(signer.identity?.subjectAlternativeName, "dev@example.com");
    // The same bundle under a trusted root with another CT key: refused for want of a valid SCT.
    const other = spkiDerOf(generateKey("ecdsa", { curve: "P-256" }).public.key);
    assert.throws(
      () =>
        new Verifier(toTrustMaterial(trustedRoot({ tlogSpki: log.spki, ctSpki: other }))).verify(
          toSignedEntity(bundle, data),
        ),
      certificateError,
    );
  });

  it("the top-level sigstore.sign() gets its certificate from cairn (no log upload) and the chain verifies", async () => {
    const token = await issuer.mint({ sub: "user-2", email: "ci@example.com", email_verified: true });
    const bundle = await sigstoreSign(data, { fulcioURL: base, identityToken: token, tlogUpload: false });
    const raw =
      bundle.verificationMaterial.certificate?.rawBytes ??
      bundle.verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes;
    assert.ok(raw, "the bundle carries the certificate");
    const leaf = X509Certificate.parse(Buffer.from(raw, "base64"));
    const result = verifyCertificate(leaf, [new Date()], toTrustMaterial(trustedRoot()));
    assert.equal(result.signer.identity?.subjectAlternativeName, "ci@example.com");
    assert.equal(result.scts.length, 1);
  });
});
