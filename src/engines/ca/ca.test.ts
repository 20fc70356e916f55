// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject, verify, X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fixedClock, systemClock } from "../../core/clock.js";
import type { CairnError } from "../../core/errors.js";
import { generateKey, parsePrivateKey, spkiDerOf } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import type { TransparencyLogInstance } from "../../formats/sigstore/index.js";
import {
  CT_SCT_LIST_OID,
  decodeFulcioExtension,
  FULCIO_OID,
  fulcioExtensionName,
  parseSctListExtension,
  precertSignedData,
} from "../../formats/x509/index.js";
import {
  clientKey,
  DAY,
  makeCsr,
  makeHierarchy,
  makeIntermediate,
  makeTestCa,
  proveChallenge,
  type TestCa,
} from "../../testing/ca-kit.js";
import { startTestIssuer, type TestIssuer } from "../../testing/oidc-issuer.js";
import { buildTrustedRoot, verifyEmbeddedScts } from "../sigstore/index.js";
import {
  CertificateAuthority,
  CtLog,
  certificateExtensions,
  checkX509Svid,
  type OidcIssuerConfig,
  OidcVerifier,
  tbsWithout,
} from "./index.js";

const code = (c: string) => (e: CairnError) => {
  assert.equal(e.code, c);
  return true;
};

let email: TestIssuer;
let gh: TestIssuer;
let k8s: TestIssuer;
let spire: TestIssuer;
let issuers: OidcIssuerConfig[];

before(async () => {
  [email, gh, k8s, spire] = await Promise.all([
    startTestIssuer(),
    startTestIssuer(),
    startTestIssuer(),
    startTestIssuer(),
  ]);
  issuers = [
    { issuerUrl: email.url, audience: "sigstore", type: "email" },
    { issuerUrl: gh.url, audience: "sigstore", type: "github-workflow" },
    {
      issuerUrl: k8s.url,
      audience: "cairn-ca",
      type: "kubernetes",
      trustDomain: "cluster.local",
      allowedNamespaces: ["build"],
    },
    { issuerUrl: spire.url, audience: "sigstore", type: "spiffe", spiffeTrustDomain: "example.org" },
  ];
});
after(async () => {
  await Promise.all([email, gh, k8s, spire].map((i) => i.close()));
});

function emailRequest(token: string, key = clientKey(), challenge = "dev@example.com") {
  return {
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: {
      publicKey: { algorithm: "ECDSA", content: key.pem },
      proofOfPossession: proveChallenge(key.privateKey, challenge),
    },
  };
}

const emailClaims = { sub: "user-1", email: "dev@example.com", email_verified: true };

/** Checks the embedded SCT against the CT key over the RFC 6962 3.2 PreCert, as a verifier would. */
function sctVerifies(t: TestCa, leaf: Buffer, issuer: Buffer): boolean {
  const ext = certificateExtensions(leaf).find((e) => e.oid === CT_SCT_LIST_OID);
  assert.ok(ext, "the leaf embeds an SCT list");
  const [sct] = parseSctListExtension(ext.value);
  assert.deepEqual(sct!.logId, createHash("sha256").update(t.ct.spki).digest());
  const data = precertSignedData({
    timestamp: sct!.timestamp,
    issuerKeyHash: createHash("sha256")
      .update(spkiDerOf(new X509Certificate(issuer).publicKey))
      .digest(),
    tbsCertificate: tbsWithout(leaf, [CT_SCT_LIST_OID]),
  });
  return verify("sha256", data, t.ctSigner.publicKey.key, sct!.signature);
}

function fulcioValues(der: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of certificateExtensions(der)) {
    const n = fulcioExtensionName(e.oid);
    if (n) out[n] = decodeFulcioExtension(e.oid, e.value);
  }
  return out;
}

describe("issuing for an OIDC email identity", () => {
  it("issues a 10-minute code-signing certificate with the Fulcio extensions and an SCT", async () => {
    const t = await makeTestCa(issuers);
    const got = await t.service.createSigningCertificate(emailRequest(await email.mint(emailClaims)));
    const leaf = new X509Certificate(got.certificate);
    assert.equal(leaf.subjectAltName, "email:dev@example.com");
    assert.deepEqual(leaf.keyUsage, ["1.3.6.1.5.5.7.3.3"]); // Node's keyUsage is the extended key usage
    assert.equal(leaf.ca, false);
    assert.equal(new Date(leaf.validTo).getTime() - new Date(leaf.validFrom).getTime(), 10 * 60_000);
    // The chain: leaf <- intermediate <- root.
    const [, inter, root] = got.chain.map((d) => new X509Certificate(d));
    assert.ok(leaf.checkIssued(inter!) && leaf.verify(inter!.publicKey));
    assert.ok(inter!.verify(root!.publicKey) && root!.verify(root!.publicKey));
    const exts = certificateExtensions(got.certificate);
    assert.equal(exts.find((e) => e.oid === "2.5.29.15")?.critical, true, "keyUsage is critical");
    assert.equal(exts.find((e) => e.oid === "2.5.29.17")?.critical, true, "SAN is critical (empty subject)");
    assert.deepEqual(fulcioValues(got.certificate), { issuerV1: email.url, issuer: email.url });
    assert.ok(sctVerifies(t, got.certificate, got.chain[1]!));
    // Logged: the CT leaf is in the transparency log at the SCT's index.
    assert.equal(t.sequencer.size, 1);
    assert.equal(got.sct?.index, 0);
  });

  it("issues for a CSR whose self-signature verifies, and for Ed25519 and P-384 keys", async () => {
    const t = await makeTestCa(issuers);
    const ed = generateKeyPairSync("ed25519");
    const csr = makeCsr(ed.publicKey, ed.privateKey);
    const got = await t.service.createSigningCertificate({
      credentials: { oidcIdentityToken: await email.mint(emailClaims) },
      certificateSigningRequest: Buffer.from(csr).toString("base64"),
    });
    assert.ok(new X509Certificate(got.certificate).publicKey.equals(ed.publicKey));
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const req = emailRequest(await email.mint(emailClaims));
    req.publicKeyRequest.publicKey.content = p384.publicKey.export({ type: "spki", format: "pem" }) as string;
    req.publicKeyRequest.proofOfPossession = proveChallenge(p384.privateKey, "dev@example.com");
    await t.service.createSigningCertificate(req);
  });
});

describe("CI and workload identities", () => {
  it("maps GitHub Actions claims onto the SAN and the Fulcio extensions", async () => {
    const t = await makeTestCa(issuers);
    const key = clientKey();
    const sub = "repo:octo/app:ref:refs/heads/main";
    const token = await gh.mint({
      sub,
      repository: "octo/app",
      repository_owner: "octo",
      repository_id: "42",
      repository_owner_id: "7",
      repository_visibility: "public",
      ref: "refs/heads/main",
      sha: "a".repeat(40),
      event_name: "push",
      workflow: "release",
      workflow_ref: "octo/app/.github/workflows/release.yml@refs/heads/main",
      workflow_sha: "b".repeat(40),
      job_workflow_ref: "octo/app/.github/workflows/release.yml@refs/heads/main",
      job_workflow_sha: "c".repeat(40),
      runner_environment: "github-hosted",
      run_id: "1001",
      run_attempt: "2",
    });
    const got = await t.service.createSigningCertificate({
      credentials: { oidcIdentityToken: token },
      publicKeyRequest: {
        publicKey: { content: key.pem },
        proofOfPossession: proveChallenge(key.privateKey, sub),
      },
    });
    const leaf = new X509Certificate(got.certificate);
    assert.equal(
      leaf.subjectAltName,
      "URI:https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
    );
    const v = fulcioValues(got.certificate);
    assert.equal(v.issuer, gh.url);
    assert.equal(
      v.buildSignerUri,
      "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
    );
    assert.equal(v.buildSignerDigest, "c".repeat(40));
    assert.equal(v.sourceRepositoryUri, "https://github.com/octo/app");
    assert.equal(v.sourceRepositoryDigest, "a".repeat(40));
    assert.equal(v.sourceRepositoryRef, "refs/heads/main");
    assert.equal(v.sourceRepositoryIdentifier, "42");
    assert.equal(v.sourceRepositoryOwnerUri, "https://github.com/octo");
    assert.equal(
      v.buildConfigUri,
      "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
    );
    assert.equal(v.buildTrigger, "push");
    assert.equal(v.runInvocationUri, "https://github.com/octo/app/actions/runs/1001/attempts/2");
    assert.equal(v.githubWorkflowRepository, "octo/app");
    assert.equal(v.runnerEnvironment, "github-hosted");
    // The deprecated extensions hold raw bytes, the newer ones DER strings.
    const raw = certificateExtensions(got.certificate).find(
      (e) => e.oid === FULCIO_OID.githubWorkflowTrigger,
    );
    assert.equal(raw?.value.toString(), "push");
  });

  it("issues an X.509-SVID for a Kubernetes service-account token", async () => {
    const t = await makeTestCa(issuers);
    const key = clientKey();
    const sub = "system:serviceaccount:build:builder";
    const token = await k8s.mint(
      { sub, "kubernetes.io": { namespace: "build", serviceaccount: { name: "builder", uid: "u-1" } } },
      { audience: "cairn-ca" },
    );
    const got = await t.service.createSigningCertificate({
      credentials: { oidcIdentityToken: token },
      publicKeyRequest: {
        publicKey: { content: key.pem },
        proofOfPossession: proveChallenge(key.privateKey, sub),
      },
    });
    const leaf = new X509Certificate(got.certificate);
    // X509-SVID 2: exactly one URI SAN; 4.1 cA false; 4.3 digitalSignature, critical; 4.4 server+client auth.
    assert.equal(leaf.subjectAltName, "URI:spiffe://cluster.local/ns/build/sa/builder");
    assert.equal(checkX509Svid(got.certificate).uri, "spiffe://cluster.local/ns/build/sa/builder");
    assert.equal(leaf.ca, false);
    assert.deepEqual([...leaf.keyUsage].sort(), [
      "1.3.6.1.5.5.7.3.1",
      "1.3.6.1.5.5.7.3.2",
      "1.3.6.1.5.5.7.3.3",
    ]);
    const exts = certificateExtensions(got.certificate);
    assert.equal(exts.find((e) => e.oid === "2.5.29.19")?.critical, true);
    assert.equal(exts.find((e) => e.oid === "2.5.29.15")?.value.toString("hex"), "03020780");
    assert.ok(sctVerifies(t, got.certificate, got.chain[1]!));
  });

  it("refuses a service account outside the allowed namespaces, and a mismatched sub", async () => {
    const t = await makeTestCa(issuers);
    const key = clientKey();
    for (const [sub, ns] of [
      ["system:serviceaccount:prod:builder", "prod"],
      ["system:serviceaccount:build:other", "build"],
    ] as const) {
      const token = await k8s.mint(
        { sub, "kubernetes.io": { namespace: ns, serviceaccount: { name: "builder", uid: "u" } } },
        { audience: "cairn-ca" },
      );
      await assert.rejects(
        t.service.createSigningCertificate({
          credentials: { oidcIdentityToken: token },
          publicKeyRequest: {
            publicKey: { content: key.pem },
            proofOfPossession: proveChallenge(key.privateKey, sub),
          },
        }),
        code("ERR_CA_IDENTITY_REFUSED"),
      );
    }
    assert.equal(t.sequencer.size, 0);
  });

  it("issues for a JWT-SVID in the configured trust domain, refuses another trust domain", async () => {
    const t = await makeTestCa(issuers);
    const key = clientKey();
    const req = async (sub: string) =>
      t.service.createSigningCertificate({
        credentials: { oidcIdentityToken: await spire.mint({ sub }) },
        publicKeyRequest: {
          publicKey: { content: key.pem },
          proofOfPossession: proveChallenge(key.privateKey, sub),
        },
      });
    const got = await req("spiffe://example.org/ci/runner");
    assert.equal(new X509Certificate(got.certificate).subjectAltName, "URI:spiffe://example.org/ci/runner");
    await assert.rejects(req("spiffe://evil.org/ci/runner"), code("ERR_CA_IDENTITY_REFUSED"));
    await assert.rejects(req("spiffe://example.org/ci/../x"), code("ERR_SPIFFE_ID_INVALID"));
  });
});

describe("bad input and abuse: refused with a code, nothing issued", () => {
  let t: TestCa;
  before(async () => {
    t = await makeTestCa(issuers);
  });
  const nothingIssued = () => assert.equal(t.sequencer.size, 0);

  const cases: [string, string, () => Promise<unknown>][] = [
    [
      "an expired token",
      "ERR_CA_TOKEN_EXPIRED",
      async () => emailRequest(await email.mint(emailClaims, { expiresIn: -600, issuedAt: -900 })),
    ],
    [
      "a token not valid yet",
      "ERR_CA_TOKEN_EXPIRED",
      async () => emailRequest(await email.mint(emailClaims, { notBefore: 900, expiresIn: 1200 })),
    ],
    [
      "a forged token",
      "ERR_CA_TOKEN_INVALID",
      async () => emailRequest(await email.mint(emailClaims, { forge: true })),
    ],
    [
      "a token for another audience",
      "ERR_CA_TOKEN_AUDIENCE",
      async () => emailRequest(await email.mint(emailClaims, { audience: "other" })),
    ],
    [
      "a token from an untrusted issuer",
      "ERR_CA_ISSUER_UNTRUSTED",
      async () => emailRequest(await email.mint(emailClaims, { issuer: "https://evil.test" })),
    ],
    [
      "a token without exp",
      "ERR_CA_TOKEN_INVALID",
      async () => emailRequest(await email.mint(emailClaims, { omit: ["exp"] })),
    ],
    [
      "an unverified email",
      "ERR_CA_IDENTITY_REFUSED",
      async () => emailRequest(await email.mint({ ...emailClaims, email_verified: false })),
    ],
    ["a token that is not a JWT", "ERR_CA_TOKEN_INVALID", async () => emailRequest("not.a.jwt")],
    ["an oversized token", "ERR_CA_REQUEST_TOO_LARGE", async () => emailRequest("x".repeat(20_000))],
    [
      "a proof over another subject",
      "ERR_CA_PROOF_INVALID",
      async () => emailRequest(await email.mint(emailClaims), clientKey(), "someone@else.com"),
    ],
    [
      "a proof by another key",
      "ERR_CA_PROOF_INVALID",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        r.publicKeyRequest.publicKey.content = clientKey().pem;
        return r;
      },
    ],
    [
      "a CSR whose self-signature fails",
      "ERR_CA_PROOF_INVALID",
      async () => {
        const k = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
        return {
          credentials: { oidcIdentityToken: await email.mint(emailClaims) },
          certificateSigningRequest: makeCsr(k.publicKey, other.privateKey),
        };
      },
    ],
    [
      "an RSA-1024 key",
      "ERR_CA_KEY_UNSUPPORTED",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        const k = generateKeyPairSync("rsa", { modulusLength: 1024 });
        r.publicKeyRequest.publicKey.content = k.publicKey.export({ type: "spki", format: "pem" }) as string;
        return r;
      },
    ],
    [
      "a secp256k1 key",
      "ERR_CA_KEY_UNSUPPORTED",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        const k = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
        r.publicKeyRequest.publicKey.content = k.publicKey.export({ type: "spki", format: "pem" }) as string;
        return r;
      },
    ],
    [
      "an X25519 key",
      "ERR_CA_KEY_UNSUPPORTED",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        const k = generateKeyPairSync("x25519");
        r.publicKeyRequest.publicKey.content = k.publicKey.export({ type: "spki", format: "pem" }) as string;
        return r;
      },
    ],
    [
      "an oversized public key",
      "ERR_CA_REQUEST_TOO_LARGE",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        r.publicKeyRequest.publicKey.content = "A".repeat(20_000);
        return r;
      },
    ],
    [
      "a key that is not a key",
      "ERR_CA_REQUEST_INVALID",
      async () => {
        const r = emailRequest(await email.mint(emailClaims));
        r.publicKeyRequest.publicKey.content = "AAAA";
        return r;
      },
    ],
    [
      "an oversized CSR",
      "ERR_CA_REQUEST_TOO_LARGE",
      async () => ({
        credentials: { oidcIdentityToken: await email.mint(emailClaims) },
        certificateSigningRequest: "A".repeat(40_000),
      }),
    ],
    [
      "both a key and a CSR",
      "ERR_CA_REQUEST_INVALID",
      async () => ({ ...emailRequest("x"), certificateSigningRequest: "AAAA" }),
    ],
    [
      "no credentials",
      "ERR_CA_REQUEST_INVALID",
      async () => ({ publicKeyRequest: emailRequest("x").publicKeyRequest }),
    ],
    ["not an object", "ERR_CA_REQUEST_INVALID", async () => [1, 2]],
  ];
  for (const [what, c, make] of cases) {
    it(`refuses ${what} (${c})`, async () => {
      await assert.rejects(t.service.createSigningCertificate(await make()), code(c));
      nothingIssued();
    });
  }

  it("refuses a replayed token (ERR_CA_TOKEN_REPLAYED), also for the same key", async () => {
    const ca = await makeTestCa(issuers);
    const token = await email.mint(emailClaims);
    const key = clientKey();
    await ca.service.createSigningCertificate(emailRequest(token, key));
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token, clientKey())),
      code("ERR_CA_TOKEN_REPLAYED"),
    );
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token, key)),
      code("ERR_CA_TOKEN_REPLAYED"),
    );
    assert.equal(ca.sequencer.size, 1);
  });

  it("recognizes a replayed token without jti by its hash", async () => {
    const ca = await makeTestCa(issuers);
    const token = await email.mint(emailClaims, { jti: false });
    await ca.service.createSigningCertificate(emailRequest(token));
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token)),
      code("ERR_CA_TOKEN_REPLAYED"),
    );
  });

  it("under tokenReuse same-key, a token buys certificates for its first key only", async () => {
    const ca = await makeTestCa(issuers, { tokenReuse: "same-key" });
    const token = await email.mint(emailClaims);
    const key = clientKey();
    await ca.service.createSigningCertificate(emailRequest(token, key));
    await ca.service.createSigningCertificate(emailRequest(token, key));
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token, clientKey())),
      code("ERR_CA_TOKEN_REPLAYED"),
    );
  });

  it("rate-limits per identity (ERR_CA_RATE_LIMITED with a Retry-After), other identities unaffected", async () => {
    const ca = await makeTestCa(issuers, { rateLimit: { burst: 2, perMinute: 0.001 } });
    for (let i = 0; i < 2; i++)
      await ca.service.createSigningCertificate(emailRequest(await email.mint(emailClaims)));
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(await email.mint(emailClaims))),
      (e: CairnError & { retryAfterSeconds?: number }) => {
        assert.equal(e.code, "ERR_CA_RATE_LIMITED");
        assert.ok((e.retryAfterSeconds ?? 0) >= 1);
        return true;
      },
    );
    const other = { sub: "user-2", email: "other@example.com", email_verified: true };
    await ca.service.createSigningCertificate(
      emailRequest(await email.mint(other), clientKey(), "other@example.com"),
    );
    assert.equal(ca.sequencer.size, 3);
  });

  it("issues nothing when the CT log cannot record (ERR_CA_CT_LOG_FAILED); the token stays usable", async () => {
    let fail = true;
    const inner = await makeTestCa(issuers);
    const ca = await makeTestCa(issuers, {
      logPort: {
        append: async (leaf) => {
          if (fail) throw new Error("disk full");
          return { index: (await inner.sequencer.submit(leaf)).index };
        },
      },
    });
    const token = await email.mint(emailClaims);
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token)),
      code("ERR_CA_CT_LOG_FAILED"),
    );
    fail = false;
    await ca.service.createSigningCertificate(emailRequest(token));
  });

  it("answers 'could not check' when the issuer's documents are unreachable (ERR_CA_ISSUER_UNREACHABLE)", async () => {
    const gone = await startTestIssuer();
    const token = await gone.mint(emailClaims);
    await gone.close();
    const ca = await makeTestCa([{ issuerUrl: gone.url, audience: "sigstore", type: "email" }]);
    await assert.rejects(
      ca.service.createSigningCertificate(emailRequest(token)),
      code("ERR_CA_ISSUER_UNREACHABLE"),
    );
  });

  it("fetches an issuer's documents once for a burst of requests on a cold cache", async () => {
    const iss = await startTestIssuer();
    try {
      const oidc = new OidcVerifier({
        issuers: [{ issuerUrl: iss.url, audience: "sigstore", type: "email" }],
        fetcher: { fetch: async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()) },
        clock: systemClock,
      });
      const tokens = await Promise.all(Array.from({ length: 8 }, () => iss.mint(emailClaims)));
      await Promise.all(tokens.map((tk) => oidc.verify(tk)));
      assert.equal(iss.hits.get("/.well-known/openid-configuration"), 1);
      assert.equal(iss.hits.get("/jwks"), 1);
    } finally {
      await iss.close();
    }
  });

  it("follows the issuer's key rotation (an unknown kid refreshes the JWKS once)", async () => {
    const iss = await startTestIssuer();
    try {
      const oidc = new OidcVerifier({
        issuers: [{ issuerUrl: iss.url, audience: "sigstore", type: "email" }],
        fetcher: { fetch: async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer()) },
        clock: systemClock,
        refreshOnMissMs: 0,
      });
      await oidc.verify(await iss.mint(emailClaims));
      await iss.rotate();
      await oidc.verify(await iss.mint(emailClaims));
      assert.equal(iss.hits.get("/jwks"), 2);
    } finally {
      await iss.close();
    }
  });
});

describe("CA hierarchy, rotation and key storage", () => {
  it("rotates the intermediate with overlapping validity: the new one issues, both stay in the bundle", async () => {
    const { root, intermediate: old } = await makeHierarchy({
      from: new Date(Date.now() - 300 * DAY),
      days: 365,
    });
    const fresh = await makeIntermediate(root, new Date(Date.now() - DAY), 365);
    const ca = new CertificateAuthority({ issuers: [old, fresh], clock: systemClock });
    assert.ok(ca.issuingCa().certificate.equals(fresh.certificate));
    assert.equal(ca.trustBundle().length, 2);
    // After the old one expires, it leaves the bundle; near the end of the new one's validity nothing can issue.
    assert.equal(ca.trustBundle(new Date(Date.now() + 100 * DAY)).length, 1);
    assert.throws(() => ca.issuingCa(new Date(Date.now() + 364 * DAY - 60_000)), code("ERR_CA_NOT_READY"));
  });

  it("refuses a CA key that does not match its certificate, and a non-P-256 CT key", async () => {
    const { intermediate } = await makeHierarchy();
    const wrong = { ...intermediate, signer: keySigner(generateKey("ecdsa", { curve: "P-384" })) };
    assert.throws(
      () => new CertificateAuthority({ issuers: [wrong], clock: systemClock }),
      code("ERR_CA_NOT_READY"),
    );
    const log = { append: async () => ({ index: 0 }) };
    assert.throws(
      () => new CtLog(keySigner(generateKey("ed25519")), log, systemClock),
      code("ERR_KEY_INVALID"),
    );
  });

  it("keeps the CA key in a passphrase-encrypted PEM file (core/keys)", async () => {
    const k = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const pem = k.privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "s3cret",
    }) as string;
    assert.throws(() => parsePrivateKey(pem, { passphrase: "wrong" }), code("ERR_KEY_PASSPHRASE"));
    const signer = keySigner(parsePrivateKey(pem, { passphrase: "s3cret" }));
    const { root } = await makeHierarchy();
    const inter = await makeIntermediate(root, new Date(Date.now() - DAY), 30, signer);
    const ca = new CertificateAuthority({ issuers: [inter], clock: systemClock });
    assert.ok(ca.issuingCa().signer === signer);
  });

  it("issues with any Signer (a KMS stand-in that never exposes its key)", async () => {
    const inner = keySigner(generateKey("ecdsa", { curve: "P-256" }));
    let calls = 0;
    const kms = {
      keyid: inner.keyid,
      publicKey: inner.publicKey,
      sign: async (d: Uint8Array) => {
        calls++;
        return inner.sign(d);
      },
    };
    const { root } = await makeHierarchy();
    const inter = await makeIntermediate(root, new Date(Date.now() - DAY), 30, kms);
    const ca = new CertificateAuthority({ issuers: [inter], clock: fixedClock(new Date()) });
    const key = clientKey();
    const got = await ca.issue(
      { key: key.publicKey, spki: spkiDerOf(key.publicKey), kind: "ecdsa-p256" },
      { san: { email: "a@b.example" }, spiffe: false, challenge: "a@b.example", id: "x", extensions: {} },
    );
    assert.ok(new X509Certificate(got.certificate).verify(new X509Certificate(inter.certificate).publicKey));
    assert.equal(calls, 1);
  });
});

describe("OIDC verifier bounds (OIDC Core 3.1.3.7, Discovery 4.3)", () => {
  const ISS = "https://issuer.test";
  async function setup(docs: (jwks: unknown) => Record<string, unknown>) {
    const { SignJWT, exportJWK, generateKeyPair } = await import("jose");
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" };
    const served = docs({ keys: [jwk] });
    const fetcher = {
      fetch: async (url: string) => {
        const body = served[url];
        return body === undefined
          ? undefined
          : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
      },
    };
    const mint = (claims: Record<string, unknown>, at: number) =>
      new SignJWT({ iss: ISS, aud: "sigstore", sub: "s", iat: at, exp: at + 300, ...claims })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .sign(privateKey);
    return { fetcher, mint };
  }
  const goodDocs = (jwks: unknown) => ({
    [`${ISS}/.well-known/openid-configuration`]: { issuer: ISS, jwks_uri: `${ISS}/keys` },
    [`${ISS}/keys`]: jwks,
  });
  const verifier = (
    fetcher: { fetch: (u: string) => Promise<Uint8Array | undefined> },
    at: number,
    skew = 60,
  ) =>
    new OidcVerifier({
      issuers: [{ issuerUrl: ISS, audience: "sigstore", type: "email" }],
      fetcher,
      clock: fixedClock(new Date(at * 1000)),
      clockSkewSeconds: skew,
    });
  const T = 1_800_000_000;

  it("accepts expiry within the clock skew and refuses it beyond", async () => {
    const { fetcher, mint } = await setup(goodDocs);
    const token = await mint({}, T);
    await verifier(fetcher, T + 300 + 30).verify(token);
    await assert.rejects(verifier(fetcher, T + 300 + 90).verify(token), code("ERR_CA_TOKEN_EXPIRED"));
    await assert.rejects(verifier(fetcher, T + 300 + 30, 0).verify(token), code("ERR_CA_TOKEN_EXPIRED"));
  });

  it("refuses a discovery document naming another issuer (impersonation) as 'could not check'", async () => {
    const { fetcher, mint } = await setup((jwks) => ({
      [`${ISS}/.well-known/openid-configuration`]: { issuer: "https://evil.test", jwks_uri: `${ISS}/keys` },
      [`${ISS}/keys`]: jwks,
    }));
    await assert.rejects(verifier(fetcher, T).verify(await mint({}, T)), code("ERR_CA_ISSUER_UNREACHABLE"));
  });

  it("refuses a malformed JWKS or discovery document as 'could not check'", async () => {
    for (const bad of ["not json", { keys: "x" }, { keys: Array.from({ length: 65 }, () => ({})) }]) {
      const { fetcher, mint } = await setup(() => ({
        [`${ISS}/.well-known/openid-configuration`]: { issuer: ISS, jwks_uri: `${ISS}/keys` },
        [`${ISS}/keys`]: bad,
      }));
      await assert.rejects(verifier(fetcher, T).verify(await mint({}, T)), code("ERR_CA_ISSUER_UNREACHABLE"));
    }
  });

  it("refuses unsigned (alg none) and HMAC tokens (algorithm confusion)", async () => {
    const { fetcher } = await setup(goodDocs);
    const { SignJWT, UnsecuredJWT } = await import("jose");
    const claims = { iss: ISS, aud: "sigstore", sub: "s", iat: T, exp: T + 300 };
    const none = new UnsecuredJWT(claims).encode();
    await assert.rejects(verifier(fetcher, T).verify(none), code("ERR_CA_TOKEN_INVALID"));
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .sign(Buffer.alloc(32, 1));
    await assert.rejects(verifier(fetcher, T).verify(hs), code("ERR_CA_TOKEN_INVALID"));
  });

  it("refuses a token without sub or iat (OIDC Core 2 required claims)", async () => {
    const { fetcher, mint } = await setup(goodDocs);
    await assert.rejects(
      verifier(fetcher, T).verify(await mint({ sub: undefined }, T)),
      code("ERR_CA_TOKEN_INVALID"),
    );
    await assert.rejects(
      verifier(fetcher, T).verify(await mint({ iat: undefined }, T)),
      code("ERR_CA_TOKEN_INVALID"),
    );
  });
});

describe("the CA's SCTs through the Sigstore verifier (RFC 6962 3.2, 3.3)", () => {
  // One SCT verifier: engines/sigstore's, which bundle verification uses; the CA's certificates
  // must pass it and every refusal must hold there.
  it("verifies the CA's SCT and refuses wrong keys, wrong issuers and keys not valid then", async () => {
    const t = await makeTestCa(issuers);
    const got = await t.service.createSigningCertificate(emailRequest(await email.mint(emailClaims)));
    const [leaf, inter, root] = got.chain as [Buffer, Buffer, Buffer];
    const ctlog = (key: KeyObject, validity: { start: Date; end?: Date } = { start: new Date(0) }) =>
      buildTrustedRoot({ ctlogs: [{ baseUrl: "https://ct.cairn.test", publicKey: key, validity }] })
        .ctlogs[0]!;
    const log = ctlog(t.ctSigner.publicKey.key);
    assert.ok(Buffer.from(log.logId.keyId).equals(t.ct.logId));
    const ok = verifyEmbeddedScts(leaf, inter, [log]);
    assert.equal(ok.length, 1);
    assert.ok(ok[0]!.logId.equals(t.ct.logId));
    const other = ctlog(generateKey("ecdsa", { curve: "P-256" }).public.key);
    const refuse = (logs: TransparencyLogInstance[], issuer = inter) =>
      assert.throws(() => verifyEmbeddedScts(leaf, issuer, logs), code("ERR_SIGSTORE_SCT_INVALID"));
    refuse([]); // no trusted log: fewer than the threshold
    refuse([other]); // a trusted log, but not the one that signed
    refuse([{ ...log, publicKey: other.publicKey }]); // a trusted log ID whose key does not verify
    refuse([log], root); // the issuer key hash is the intermediate's
    refuse([ctlog(t.ctSigner.publicKey.key, { start: new Date(Date.now() + 3_600_000) })]); // not yet valid
    refuse([
      ctlog(t.ctSigner.publicKey.key, {
        start: new Date(Date.now() - 7_200_000),
        end: new Date(Date.now() - 3_600_000),
      }),
    ]); // no longer valid
    assert.deepEqual(verifyEmbeddedScts(inter, root, [], 0), []);
  });
});
