// SPDX-License-Identifier: Apache-2.0
// Sigstore bundle signing and verification against a test world (CA with SCTs, cairn's log behind
// the Rekor-style port, a TSA): every refusal the client spec requires, each with its code, and
// the identity policy's refusals in the policy category.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { parseDer } from "../../core/der.js";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import { type Bundle, bundleToJson, parseBundle } from "../../formats/sigstore/bundle.js";
import { parseCertificate } from "../../formats/sigstore/certificate.js";
import {
  ecPair,
  makeTestCa,
  makeTestTsa,
  type SigstoreWorld,
  sigstoreWorld,
  TEST_ISSUER,
  TEST_LOG_URL,
  timestampResponse,
} from "../../testing/sigstore-ca.js";
import type { Json } from "../../testing/sigstore-kit.js";
import { LocalRekorLog } from "./local-log.js";
import type { IdentityPolicy } from "./policy.js";
import { signBlob, signDsse } from "./sign.js";
import { buildTrustedRoot } from "./trust-root.js";
import { type BundleVerifyOptions, verifyBundle, verifyEmbeddedScts } from "./verify.js";

const artifact = Buffer.from("hello, sigstore\n");
const policy: IdentityPolicy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };

function code(e: unknown): string {
  assert.ok(e instanceof CairnError, `expected a CairnError, got ${e}`);
  return e.code;
}

function refuses(fn: () => unknown, want: string): void {
  assert.throws(fn, (e) => {
    assert.equal(code(e), want);
    return true;
  });
}

const roundTrip = (b: Bundle): Bundle => parseBundle(JSON.parse(JSON.stringify(bundleToJson(b))));
const tamper = (b: Bundle, f: (j: Json) => void): Bundle => {
  const j = JSON.parse(JSON.stringify(bundleToJson(b)));
  f(j);
  return parseBundle(j);
};

describe("sigstore bundles: sign and verify", () => {
  let w: SigstoreWorld;
  let id: ReturnType<SigstoreWorld["identity"]>;
  let blob: Bundle;
  let opts: BundleVerifyOptions;
  before(async () => {
    w = await sigstoreWorld();
    id = w.identity();
    blob = roundTrip(await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log));
    opts = { trustedRoot: w.trustedRoot, artifact: { bytes: artifact }, policy };
  });
  after(() => w.close());

  it("verifies a certificate message-signature bundle and returns who, when and what", () => {
    const v = verifyBundle(blob, opts);
    assert.equal(v.version, "0.3");
    assert.equal(v.signer.kind, "certificate");
    if (v.signer.kind === "certificate") {
      assert.equal(v.signer.identity.subject, "dev@cairn.test");
      assert.equal(v.signer.identity.issuer, TEST_ISSUER);
    }
    assert.equal(v.artifactDigest, createHash("sha256").update(artifact).digest("hex"));
    assert.equal(v.timestamps.length, 1);
    assert.equal(v.tlogEntries.length, 1);
    assert.ok(v.signedAt);
  });

  it("verifies from the artifact's digest alone", () => {
    const digest = createHash("sha256").update(artifact).digest();
    const v = verifyBundle(blob, { ...opts, artifact: { digest: { algorithm: "sha256", value: digest } } });
    assert.equal(v.artifactDigest, digest.toString("hex"));
  });

  it("verifies from a set of digests (a large file hashed in a stream), message and DSSE alike", () => {
    const digests = {
      sha256: createHash("sha256").update(artifact).digest(),
      sha512: createHash("sha512").update(artifact).digest(),
    };
    assert.equal(
      verifyBundle(blob, { ...opts, artifact: { digests } }).artifactDigest,
      digests.sha256.toString("hex"),
    );
    refuses(
      () =>
        verifyBundle(blob, {
          ...opts,
          artifact: { digests: { sha256: createHash("sha256").update("x").digest() } },
        }),
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    );
  });

  it("refuses another artifact", () => {
    refuses(
      () => verifyBundle(blob, { ...opts, artifact: { bytes: Buffer.from("other") } }),
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    );
    const d = createHash("sha256").update("other").digest();
    refuses(
      () => verifyBundle(blob, { ...opts, artifact: { digest: { algorithm: "sha256", value: d } } }),
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    );
  });

  it("a valid signature by another identity or issuer is a policy refusal", () => {
    for (const p of [
      { ...policy, identity: { exact: "someone@cairn.test" } },
      { ...policy, identity: { regexp: "dev@cairn" } }, // anchored: a prefix is not a match
      { ...policy, identity: { regexp: ".*@cairn" } },
      { ...policy, issuer: { exact: "https://accounts.example.com" } },
      { ...policy, issuer: { regexp: "https://issuer" } },
    ]) {
      assert.throws(
        () => verifyBundle(blob, { ...opts, policy: p }),
        (e) => code(e) === "ERR_SIGSTORE_IDENTITY_MISMATCH" && (e as CairnError).category === "policy",
      );
    }
    assert.ok(
      verifyBundle(blob, {
        ...opts,
        policy: { identity: { regexp: ".*@cairn\\.test" }, issuer: { regexp: "https://.*" } },
      }),
    );
  });

  it("needs an identity policy for certificate bundles", () => {
    const { policy: _p, ...noPolicy } = opts;
    refuses(() => verifyBundle(blob, noPolicy), "ERR_USAGE");
  });

  it("verifies a DSSE attestation and matches its subjects against the artifact", async () => {
    const digest = createHash("sha256").update(artifact).digest("hex");
    const statement = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "hello.txt", digest: { sha256: digest } }],
      predicateType: "https://cairn.dev/test/v1",
      predicate: {},
    };
    const b = roundTrip(
      await signDsse("application/vnd.in-toto+json", Buffer.from(JSON.stringify(statement)), id, w.log),
    );
    const v = verifyBundle(b, opts);
    assert.equal(v.statement?.predicateType, "https://cairn.dev/test/v1");
    refuses(
      () => verifyBundle(b, { ...opts, artifact: { bytes: Buffer.from("x") } }),
      "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    );
    // Without an artifact the statement is returned, subjects unchecked (the caller asked for none).
    const { artifact: _a, ...noArtifact } = opts;
    assert.equal(verifyBundle(b, noArtifact).statement?.subject[0]?.name, "hello.txt");
    // A tampered payload breaks the signature (and the body's payload hash).
    const t = tamper(b, (j) => {
      j.dsseEnvelope.payload = Buffer.from(JSON.stringify({ ...statement, predicateType: "x:y" })).toString(
        "base64",
      );
    });
    assert.throws(
      () => verifyBundle(t, opts),
      (e) => ["ERR_SIGSTORE_TLOG_BODY_MISMATCH", "ERR_DSSE_SIGNATURE_INVALID"].includes(code(e)),
    );
  });

  it("verifies a public-key bundle with the key, and refuses another key", async () => {
    const key = generateKey("ecdsa");
    const b = roundTrip(await signBlob(artifact, { signer: keySigner(key) }, w.log));
    const v = verifyBundle(b, {
      trustedRoot: w.trustedRoot,
      artifact: { bytes: artifact },
      publicKey: key.public.key,
    });
    assert.equal(v.signer.kind, "key");
    refuses(
      () =>
        verifyBundle(b, {
          trustedRoot: w.trustedRoot,
          artifact: { bytes: artifact },
          publicKey: generateKey("ecdsa").public.key,
        }),
      "ERR_SIGSTORE_TLOG_BODY_MISMATCH",
    );
    refuses(
      () => verifyBundle(b, { trustedRoot: w.trustedRoot, artifact: { bytes: artifact } }),
      "ERR_USAGE",
    );
  });

  it("verifies key bundles of every key type cairn makes: ECDSA P-384 and RSA (PSS) messages, Ed25519 attestations", async () => {
    for (const key of [generateKey("ecdsa", { curve: "P-384" }), generateKey("rsa", { bits: 2048 })]) {
      const b = roundTrip(await signBlob(artifact, { signer: keySigner(key) }, w.log));
      const o = { trustedRoot: w.trustedRoot, artifact: { bytes: artifact }, publicKey: key.public.key };
      assert.equal(verifyBundle(b, o).signer.kind, "key");
      const alg = key.public.keytype === "ecdsa" ? "sha384" : "sha256";
      const digest = createHash(alg).update(artifact).digest();
      assert.ok(verifyBundle(b, { ...o, artifact: { digest: { algorithm: alg, value: digest } } }));
      assert.equal(b.messageSignature?.messageDigest?.algorithm, alg === "sha384" ? "SHA2_384" : "SHA2_256");
    }
    const ed = generateKey("ed25519");
    await assert.rejects(signBlob(artifact, { signer: keySigner(ed) }, w.log), { code: "ERR_KEY_INVALID" });
    const st = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "a", digest: { sha256: "ab".repeat(32) } }],
      predicateType: "x:y",
    };
    const b = roundTrip(
      await signDsse(
        "application/vnd.in-toto+json",
        Buffer.from(JSON.stringify(st)),
        { signer: keySigner(ed) },
        w.log,
      ),
    );
    assert.equal(
      verifyBundle(b, { trustedRoot: w.trustedRoot, publicKey: ed.public.key }).statement?.predicateType,
      "x:y",
    );
  });

  it("refuses an expired certificate (not valid at the log's integrated time)", async () => {
    const old = w.identity({
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() - 1800_000),
    });
    const b = await signBlob(artifact, { signer: old.signer, certificate: old.certificate }, w.log);
    refuses(() => verifyBundle(b, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
  });

  it("refuses a certificate from another CA, and one that is not for code signing", async () => {
    const other = makeTestCa("other");
    const key = generateKey("ecdsa");
    const { issueLeaf } = await import("../../testing/sigstore-ca.js");
    const cert = issueLeaf(other, key.public.key.export({ type: "spki", format: "der" }), {
      email: "dev@cairn.test",
      issuer: TEST_ISSUER,
      ctlog: w.ctlog,
    });
    const b = await signBlob(artifact, { signer: keySigner(key), certificate: cert }, w.log);
    refuses(() => verifyBundle(b, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
    const noEku = w.identity({ noCodeSigning: true });
    const b2 = await signBlob(artifact, { signer: noEku.signer, certificate: noEku.certificate }, w.log);
    refuses(() => verifyBundle(b2, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
  });

  it("requires an SCT from a trusted CT log (threshold 1), and refuses a forged one", async () => {
    const none = w.identity({ ctlog: undefined });
    const b = await signBlob(artifact, { signer: none.signer, certificate: none.certificate }, w.log);
    refuses(() => verifyBundle(b, opts), "ERR_SIGSTORE_SCT_INVALID");
    assert.ok(verifyBundle(b, { ...opts, ctlogThreshold: 0 }));
    const forged = w.identity({ badSct: true });
    const b2 = await signBlob(artifact, { signer: forged.signer, certificate: forged.certificate }, w.log);
    refuses(() => verifyBundle(b2, opts), "ERR_SIGSTORE_SCT_INVALID");
    const untrusted = w.identity({ ctlog: ecPair() });
    const b3 = await signBlob(
      artifact,
      { signer: untrusted.signer, certificate: untrusted.certificate },
      w.log,
    );
    refuses(() => verifyBundle(b3, opts), "ERR_SIGSTORE_SCT_INVALID");
  });

  it("verifyEmbeddedScts: returns the verified SCTs; refuses two SCT lists and a malformed one", () => {
    const issuer = w.ca.interCert;
    const got = verifyEmbeddedScts(id.certificate, issuer, w.trustedRoot.ctlogs);
    assert.equal(got.length, 1);
    assert.ok(got[0]!.logId.equals(Buffer.from(w.trustedRoot.ctlogs[0]!.logId.keyId)));
    // Two SCT lists would make "the TBS without the SCT list" ambiguous: the certificate parser
    // refuses any extension twice (RFC 5280 4.2).
    const two = w.identity({ claims: { "1.3.6.1.4.1.11129.2.4.2": "x" } });
    refuses(
      () => verifyEmbeddedScts(two.certificate, issuer, w.trustedRoot.ctlogs),
      "ERR_SIGSTORE_CERTIFICATE_INVALID",
    );
    // An SCT list that is not one is malformed, whatever the threshold.
    const bad = w.identity({ ctlog: undefined, claims: { "1.3.6.1.4.1.11129.2.4.2": "x" } });
    refuses(
      () => verifyEmbeddedScts(bad.certificate, issuer, w.trustedRoot.ctlogs, 0),
      "ERR_SIGSTORE_SCT_INVALID",
    );
  });

  it("refuses a log the trusted root does not name, or whose key is another", () => {
    const root = buildTrustedRoot({
      tlogs: [
        { baseUrl: TEST_LOG_URL, publicKey: ecPair().publicKey, validity: { start: new Date("2020-01-01") } },
      ],
      ctlogs: w.trustedRoot.ctlogs.length
        ? [
            {
              baseUrl: "https://ct.cairn.test",
              publicKey: w.ctlog.publicKey,
              validity: { start: new Date("2020-01-01") },
            },
          ]
        : [],
      certificateAuthorities: [{ uri: "https://ca.cairn.test", chain: [w.ca.interCert, w.ca.rootCert] }],
    });
    refuses(() => verifyBundle(blob, { ...opts, trustedRoot: root }), "ERR_SIGSTORE_TLOG_INVALID");
    // Same log id, other key: every signature by the log fails.
    const swapped = structuredClone(w.trustedRoot);
    swapped.tlogs[0]!.publicKey.rawBytes = ecPair().spki;
    refuses(() => verifyBundle(blob, { ...opts, trustedRoot: swapped }), "ERR_SIGSTORE_TLOG_INVALID");
  });

  it("refuses an altered inclusion proof, checkpoint or promise", () => {
    const cases: ((j: Json) => void)[] = [
      (j) => {
        const e = j.verificationMaterial.tlogEntries[0];
        e.inclusionProof.rootHash = Buffer.alloc(32, 7).toString("base64");
      },
      (j) => {
        const e = j.verificationMaterial.tlogEntries[0];
        e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
          /\n(\d+)\n/,
          (_m: string, n: string) => `\n${Number(n) + 1}\n`,
        );
      },
      (j) => {
        // The log's signature under another key name is not the log's.
        const e = j.verificationMaterial.tlogEntries[0];
        e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
          "\u2014 log.cairn.test ",
          "\u2014 other.cairn.test ",
        );
      },
      (j) => {
        // A name with a path is the log's only when its baseUrl carries that path.
        const e = j.verificationMaterial.tlogEntries[0];
        e.inclusionProof.checkpoint.envelope = e.inclusionProof.checkpoint.envelope.replace(
          "\u2014 log.cairn.test ",
          "\u2014 log.cairn.test/other ",
        );
      },
      (j) => {
        const e = j.verificationMaterial.tlogEntries[0];
        e.integratedTime = String(Number(e.integratedTime) - 1);
      },
      (j) => {
        const e = j.verificationMaterial.tlogEntries[0];
        e.logIndex = String(Number(e.logIndex) + 1);
      },
    ];
    for (const f of cases) refuses(() => verifyBundle(tamper(blob, f), opts), "ERR_SIGSTORE_TLOG_INVALID");
  });

  it("needs a verified timestamp: an inclusion promise or an RFC 3161 token from a trusted TSA", () => {
    const noPromise = tamper(blob, (j) => {
      delete j.verificationMaterial.tlogEntries[0].inclusionPromise;
    });
    refuses(() => verifyBundle(noPromise, opts), "ERR_SIGSTORE_TIMESTAMP_INVALID");
    const sig = Buffer.from(blob.messageSignature!.signature);
    const stamped = tamper(noPromise, (j) => {
      j.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [{ signedTimestamp: timestampResponse(w.tsa, sig).toString("base64") }],
      };
    });
    const v = verifyBundle(stamped, opts);
    assert.deepEqual(
      v.timestamps.map((t) => t.source),
      ["timestamp-authority"],
    );
    const bad = tamper(noPromise, (j) => {
      j.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [
          {
            signedTimestamp: timestampResponse(w.tsa, sig, new Date(), { tamperImprint: true }).toString(
              "base64",
            ),
          },
        ],
      };
    });
    refuses(() => verifyBundle(bad, opts), "ERR_SIGSTORE_TIMESTAMP_INVALID");
    // Tokens signed by a certificate whose extended key usage is not RFC 3161 2.3's (timeStamping
    // alone, critical): another usage, a non-critical extension, a second usage.
    for (const eku of [
      { purposes: ["codeSigning" as const], critical: true },
      { purposes: ["timeStamping" as const], critical: false },
      { purposes: ["timeStamping" as const, "codeSigning" as const], critical: true },
    ]) {
      const rogue = makeTestTsa({ eku });
      const rogueRoot = structuredClone(w.trustedRoot);
      rogueRoot.timestampAuthorities = [
        {
          uri: "https://rogue.cairn.test",
          certChain: { certificates: [{ rawBytes: rogue.leaf }, { rawBytes: rogue.root }] },
        },
      ];
      const rogueStamped = tamper(noPromise, (j) => {
        j.verificationMaterial.timestampVerificationData = {
          rfc3161Timestamps: [{ signedTimestamp: timestampResponse(rogue, sig).toString("base64") }],
        };
      });
      refuses(
        () => verifyBundle(rogueStamped, { ...opts, trustedRoot: rogueRoot }),
        "ERR_SIGSTORE_TIMESTAMP_INVALID",
      );
    }
    // The signing-certificate-v2 attribute must name the certificate that verifies the token.
    const withEss = (of: Buffer) =>
      tamper(noPromise, (j) => {
        j.verificationMaterial.timestampVerificationData = {
          rfc3161Timestamps: [
            {
              signedTimestamp: timestampResponse(w.tsa, sig, new Date(), {
                signingCertificateOf: of,
              }).toString("base64"),
            },
          ],
        };
      });
    assert.equal(verifyBundle(withEss(w.tsa.leaf), opts).timestamps[0]?.source, "timestamp-authority");
    refuses(() => verifyBundle(withEss(w.tsa.root), opts), "ERR_SIGSTORE_TIMESTAMP_INVALID");
    // A token for a time the certificate was not valid at.
    const late = tamper(noPromise, (j) => {
      j.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [
          {
            signedTimestamp: timestampResponse(w.tsa, sig, new Date(Date.now() + 86400_000)).toString(
              "base64",
            ),
          },
        ],
      };
    });
    refuses(() => verifyBundle(late, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
  });

  it("checks CI claims, legacy issuer and SPIFFE IDs from the certificate", async () => {
    const ci = w.identity({
      email: undefined,
      uri: "https://github.com/cairn/cairn/.github/workflows/release.yml@refs/heads/main",
      issuer: "https://token.actions.githubusercontent.com",
      legacyIssuer: true,
      claims: {
        "1.3.6.1.4.1.57264.1.12": "https://github.com/cairn/cairn",
        "1.3.6.1.4.1.57264.1.14": "refs/heads/main",
        "1.3.6.1.4.1.57264.1.9":
          "https://github.com/cairn/cairn/.github/workflows/release.yml@refs/heads/main",
      },
    });
    const b = await signBlob(artifact, { signer: ci.signer, certificate: ci.certificate }, w.log);
    const base: IdentityPolicy = {
      identity: { regexp: "https://github\\.com/cairn/cairn/.*" },
      issuer: { exact: "https://token.actions.githubusercontent.com" },
    };
    const ok = verifyBundle(b, {
      ...opts,
      policy: {
        ...base,
        repository: { exact: "https://github.com/cairn/cairn" },
        ref: { exact: "refs/heads/main" },
        workflow: { regexp: ".*/release\\.yml@.*" },
      },
    });
    assert.equal(
      ok.signer.kind === "certificate" && ok.signer.identity.extensions.sourceRepositoryRef,
      "refs/heads/main",
    );
    for (const p of [
      { repository: { exact: "https://github.com/evil/cairn" } },
      { ref: { exact: "refs/heads/dev" } },
      { spiffeId: { regexp: ".*" } },
    ]) {
      refuses(
        () => verifyBundle(b, { ...opts, policy: { ...base, ...p } }),
        "ERR_SIGSTORE_IDENTITY_MISMATCH",
      );
    }
    const svid = w.identity({ email: undefined, uri: "spiffe://cairn.test/ns/build/sa/runner" });
    const b2 = await signBlob(artifact, { signer: svid.signer, certificate: svid.certificate }, w.log);
    assert.ok(
      verifyBundle(b2, {
        ...opts,
        policy: {
          spiffeId: { regexp: "spiffe://cairn\\.test/ns/build/sa/[^/]+" },
          issuer: { exact: TEST_ISSUER },
        },
      }),
    );
    refuses(
      () =>
        verifyBundle(b2, {
          ...opts,
          policy: { spiffeId: { exact: "spiffe://cairn.test/ns/prod/sa/runner" } },
        }),
      "ERR_SIGSTORE_IDENTITY_MISMATCH",
    );
  });

  it("the embedded SCT is over the precertificate TBS (the TBS without the SCT list)", () => {
    const info = parseCertificate(id.certificate);
    assert.ok(info.extensions.some((e) => e.oid === "1.3.6.1.4.1.11129.2.4.2"));
    assert.equal(parseDer(info.tbs).children().length, 8);
  });

  it("property: a bundle with any single byte of its log entry or signature changed never verifies", () => {
    const j = bundleToJson(blob) as Json;
    const fields: [string, (j: Json) => { get(): string; set(v: string): void }][] = [
      [
        "signature",
        (x) => ({
          get: () => x.messageSignature.signature,
          set: (v) => {
            x.messageSignature.signature = v;
          },
        }),
      ],
      [
        "body",
        (x) => ({
          get: () => x.verificationMaterial.tlogEntries[0].canonicalizedBody,
          set: (v) => {
            x.verificationMaterial.tlogEntries[0].canonicalizedBody = v;
          },
        }),
      ],
      [
        "set",
        (x) => ({
          get: () => x.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp,
          set: (v) => {
            x.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = v;
          },
        }),
      ],
      [
        "cert",
        (x) => ({
          get: () => x.verificationMaterial.certificate.rawBytes,
          set: (v) => {
            x.verificationMaterial.certificate.rawBytes = v;
          },
        }),
      ],
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fields.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (fi, pos, x) => {
          const c = JSON.parse(JSON.stringify(j));
          const acc = fields[fi]![1](c);
          const bytes = Buffer.from(acc.get(), "base64");
          bytes[pos % bytes.length] = (bytes[pos % bytes.length] ?? 0) ^ x;
          acc.set(bytes.toString("base64"));
          let b: Bundle;
          try {
            b = parseBundle(c);
          } catch {
            return true; // refused as malformed
          }
          try {
            verifyBundle(b, opts);
          } catch (e) {
            return e instanceof CairnError && e.category !== "internal";
          }
          return false;
        },
      ),
      { numRuns: 200 },
    );
  });

  it("property: what signBlob makes verifies for its artifact and for no other", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 512 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        async (a, b) => {
          const art = Buffer.from(a);
          const other = Buffer.concat([art, Buffer.from(b)]);
          const bundle = roundTrip(
            await signBlob(art, { signer: id.signer, certificate: id.certificate }, w.log),
          );
          verifyBundle(bundle, { ...opts, artifact: { bytes: art } });
          try {
            verifyBundle(bundle, { ...opts, artifact: { bytes: other } });
          } catch (e) {
            return code(e) === "ERR_SIGSTORE_ARTIFACT_MISMATCH";
          }
          return false;
        },
      ),
      { numRuns: 15 },
    );
  });

  it("a log clock outside the log key's validity is refused", async () => {
    const key = ecPair();
    const log = new LocalRekorLog({
      sequencer: w.sequencer,
      key: key.privateKey,
      name: "log.cairn.test",
      clock: fixedClock("2019-06-01T00:00:00Z"),
    });
    const root = structuredClone(w.trustedRoot);
    root.tlogs.push({
      ...root.tlogs[0]!,
      publicKey: { ...root.tlogs[0]!.publicKey, rawBytes: key.spki },
      logId: { keyId: log.logId },
    });
    const b = await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, log);
    refuses(() => verifyBundle(b, { ...opts, trustedRoot: root }), "ERR_SIGSTORE_TLOG_INVALID");
  });
});
