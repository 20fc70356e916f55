// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles against the real sigstore-js, offline (@sigstore/verify 3 through its lower-level
// API with cairn's trusted root: TrustedRoot.fromJSON -> toTrustMaterial -> Verifier.verify):
// bundles cairn makes are accepted, tampered ones refused by both verifiers; and bundles that
// @sigstore/sign's builders make (with a witness over cairn's log and the test TSA) verify with cairn.
import assert from "node:assert/strict";
import { createHash, createPrivateKey, sign as nodeSign } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { bundleFromJSON, bundleToJSON } from "@sigstore/bundle";
import { TransparencyLogEntry, TrustedRoot } from "@sigstore/protobuf-specs";
import { DSSEBundleBuilder, MessageSignatureBundleBuilder } from "@sigstore/sign";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { toPem } from "../../src/core/encoding.js";
import { CairnError } from "../../src/core/errors.js";
import { generateKey } from "../../src/core/keys.js";
import { keySigner } from "../../src/core/signer.js";
import {
  type BundleVerifyOptions,
  buildTrustedRoot,
  type IdentityPolicy,
  signBlob,
  signDsse,
  verifyBundle,
} from "../../src/engines/sigstore/index.js";
import {
  type Bundle,
  bundleToJson,
  parseBundle,
  trustedRootToJson,
} from "../../src/formats/sigstore/index.js";
import {
  ecPair,
  type SigstoreWorld,
  sigstoreWorld,
  TEST_ISSUER,
  TEST_LOG_URL,
  timestampResponse,
} from "../../src/testing/sigstore-ca.js";
import type { Json } from "../../src/testing/sigstore-kit.js";

const artifact = Buffer.from("interop artifact\n");
const policy: IdentityPolicy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };
const jsPolicy = { subjectAlternativeName: "dev@cairn.test", extensions: { issuer: TEST_ISSUER } };

/** sigstore-js's verdict: undefined when it accepts, its error code when it refuses. */
function jsVerify(
  root: Json,
  bundleJson: Json,
  data: Buffer | undefined,
  keys?: Record<string, Json>,
): string | undefined {
  try {
    const tm = toTrustMaterial(TrustedRoot.fromJSON(root), keys as never);
    const entity = toSignedEntity(bundleFromJSON(bundleJson), data);
    new Verifier(tm).verify(entity, keys ? undefined : jsPolicy);
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

function cairnVerify(b: Json, o: BundleVerifyOptions): string | undefined {
  try {
    verifyBundle(parseBundle(b), o);
    return undefined;
  } catch (e) {
    if (!(e instanceof CairnError)) throw e;
    return e.code;
  }
}

const json = (b: Bundle): Json => JSON.parse(JSON.stringify(bundleToJson(b)));

describe("sigstore-js interop: bundles cairn makes", () => {
  let w: SigstoreWorld;
  let root: Json;
  let msg: Json;
  let opts: BundleVerifyOptions;
  before(async () => {
    w = await sigstoreWorld();
    root = trustedRootToJson(w.trustedRoot) as Json;
    const id = w.identity();
    // A few entries first, so that the proof has hashes to alter.
    for (const x of ["a", "b", "c"])
      await signBlob(Buffer.from(x), { signer: id.signer, certificate: id.certificate }, w.log);
    msg = json(await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log));
    opts = { trustedRoot: w.trustedRoot, artifact: { bytes: artifact }, policy };
  });
  after(() => w.close());

  it("a message-signature bundle with a certificate is accepted by both", () => {
    assert.equal(jsVerify(root, msg, artifact), undefined);
    assert.equal(cairnVerify(msg, opts), undefined);
  });

  it("a DSSE attestation bundle is accepted by both", async () => {
    const id = w.identity();
    const st = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "a", digest: { sha256: createHash("sha256").update(artifact).digest("hex") } }],
      predicateType: "https://cairn.dev/t/v1",
      predicate: {},
    };
    const b = json(
      await signDsse("application/vnd.in-toto+json", Buffer.from(JSON.stringify(st)), id, w.log),
    );
    assert.equal(jsVerify(root, b, undefined), undefined);
    assert.equal(cairnVerify(b, opts), undefined);
  });

  it("a public-key bundle is accepted by both with the key", async () => {
    const key = generateKey("ecdsa");
    const b = json(await signBlob(artifact, { signer: keySigner(key) }, w.log));
    const keys = {
      [key.public.keyid]: {
        rawBytes: key.public.key.export({ type: "spki", format: "der" }),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
      },
    };
    assert.equal(jsVerify(root, b, artifact, keys), undefined);
    assert.equal(
      cairnVerify(b, {
        trustedRoot: w.trustedRoot,
        artifact: { bytes: artifact },
        publicKey: key.public.key,
      }),
      undefined,
    );
  });

  it("another artifact is refused by both", () => {
    const other = Buffer.from("other");
    assert.ok(jsVerify(root, msg, other));
    assert.equal(cairnVerify(msg, { ...opts, artifact: { bytes: other } }), "ERR_SIGSTORE_ARTIFACT_MISMATCH");
  });

  it("another identity is refused by both (cairn: as policy)", () => {
    const id = w.identity({ email: "mallory@cairn.test" });
    return signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log).then((b) => {
      const j = json(b);
      assert.equal(jsVerify(root, j, artifact), "UNTRUSTED_SIGNER_ERROR");
      assert.equal(cairnVerify(j, opts), "ERR_SIGSTORE_IDENTITY_MISMATCH");
    });
  });

  it("an expired certificate is refused by both", async () => {
    const id = w.identity({
      notBefore: new Date(Date.now() - 7200_000),
      notAfter: new Date(Date.now() - 3600_000),
    });
    const j = json(await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log));
    assert.ok(jsVerify(root, j, artifact));
    assert.equal(cairnVerify(j, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
  });

  it("a trusted root with another log key makes both refuse", () => {
    const other = buildTrustedRoot({
      tlogs: [
        { baseUrl: TEST_LOG_URL, publicKey: ecPair().publicKey, validity: { start: new Date("2020-01-01") } },
      ],
      ctlogs: [
        {
          baseUrl: "https://ct.cairn.test",
          publicKey: w.ctlog.publicKey,
          validity: { start: new Date("2020-01-01") },
        },
      ],
      certificateAuthorities: [{ uri: "https://ca.cairn.test", chain: [w.ca.interCert, w.ca.rootCert] }],
    });
    assert.ok(jsVerify(trustedRootToJson(other) as Json, msg, artifact));
    assert.equal(cairnVerify(msg, { ...opts, trustedRoot: other }), "ERR_SIGSTORE_TLOG_INVALID");
  });

  it("an altered inclusion proof is refused by both", () => {
    const j = structuredClone(msg);
    const p = j.verificationMaterial.tlogEntries[0].inclusionProof;
    const h = Buffer.from(p.hashes[0], "base64");
    h[0] = (h[0] ?? 0) ^ 1;
    p.hashes[0] = h.toString("base64");
    assert.ok(jsVerify(root, j, artifact));
    assert.equal(cairnVerify(j, opts), "ERR_SIGSTORE_TLOG_INVALID");
  });

  it("an RFC 3161 timestamp from cairn's test TSA is accepted by both in place of the promise", () => {
    const j = structuredClone(msg);
    delete j.verificationMaterial.tlogEntries[0].inclusionPromise;
    assert.equal(jsVerify(root, j, artifact), "TIMESTAMP_ERROR");
    assert.equal(cairnVerify(j, opts), "ERR_SIGSTORE_TIMESTAMP_INVALID");
    const sig = Buffer.from(j.messageSignature.signature, "base64");
    j.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [{ signedTimestamp: timestampResponse(w.tsa, sig).toString("base64") }],
    };
    assert.equal(jsVerify(root, j, artifact), undefined);
    assert.equal(cairnVerify(j, opts), undefined);
    // The same token with its TSTInfo in BER's constructed OCTET STRING: both refuse it.
    j.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [
        {
          signedTimestamp: timestampResponse(w.tsa, sig, new Date(), { berContent: true }).toString("base64"),
        },
      ],
    };
    assert.ok(jsVerify(root, j, artifact));
    assert.equal(cairnVerify(j, opts), "ERR_SIGSTORE_TIMESTAMP_INVALID");
  });

  it("RFC 3161 timestamps requested while signing (a timestamp-authority port) are accepted by both", async () => {
    const id = w.identity();
    const tsa = { timestamp: async (sig: Uint8Array) => timestampResponse(w.tsa, sig) };
    const st = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "a", digest: { sha256: createHash("sha256").update(artifact).digest("hex") } }],
      predicateType: "https://cairn.dev/t/v1",
      predicate: {},
    };
    for (const b of [
      await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log, {
        timestampAuthorities: [tsa],
      }),
      await signDsse("application/vnd.in-toto+json", Buffer.from(JSON.stringify(st)), id, w.log, {
        timestampAuthorities: [tsa],
      }),
    ]) {
      const j = json(b);
      assert.equal(j.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
      assert.equal(jsVerify(root, j, b.messageSignature ? artifact : undefined), undefined);
      const v = verifyBundle(parseBundle(j), opts);
      assert.deepEqual(v.timestamps.map((t) => t.source).sort(), ["timestamp-authority", "transparency-log"]);
    }
  });

  it("the trusted root cairn builds round-trips through sigstore-js", () => {
    // protobuf-specs writes timestamps with milliseconds; the instants are the same.
    const back = JSON.stringify(TrustedRoot.toJSON(TrustedRoot.fromJSON(root))).replaceAll(".000Z", "Z");
    assert.deepEqual(JSON.parse(back), root);
  });
});

describe("sigstore-js interop: bundles @sigstore/sign makes, verified by cairn", () => {
  let w: SigstoreWorld;
  before(async () => {
    w = await sigstoreWorld();
  });
  after(() => w.close());

  /** A Witness (sigstore-js) that logs through cairn's in-process log and adds a TSA token. */
  function witness(withTsa: boolean) {
    return {
      testify: async (content: Json, publicKey: string) => {
        let entry: Awaited<ReturnType<typeof w.log.submit>>;
        if (content.$case === "messageSignature") {
          const ms = content.messageSignature;
          entry = await w.log.submit({
            kind: "hashedrekord",
            algorithm: "sha256",
            digest: ms.messageDigest.digest,
            signature: ms.signature,
            verifierPem: publicKey,
          });
        } else {
          const env = content.dsseEnvelope;
          entry = await w.log.submit({
            kind: "dsse",
            envelope: {
              payloadType: env.payloadType,
              payload: Buffer.from(env.payload).toString("base64"),
              signatures: env.signatures.map((s: Json) => ({
                keyid: s.keyid,
                sig: Buffer.from(s.sig).toString("base64"),
              })),
            },
            verifierPems: [publicKey],
          });
        }
        const ej = (
          bundleToJson({
            mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
            verificationMaterial: { publicKey: { hint: "x" }, tlogEntries: [entry] },
            messageSignature: { signature: Buffer.alloc(1) },
          }) as Json
        ).verificationMaterial.tlogEntries[0];
        const sig: Buffer =
          content.$case === "messageSignature"
            ? content.messageSignature.signature
            : content.dsseEnvelope.signatures[0].sig;
        return {
          tlogEntries: [TransparencyLogEntry.fromJSON(ej)],
          ...(withTsa ? { rfc3161Timestamps: [{ signedTimestamp: timestampResponse(w.tsa, sig) }] } : {}),
        };
      },
    };
  }

  function jsSigner(id: ReturnType<SigstoreWorld["identity"]>) {
    const pk = createPrivateKey(id.key.key.export({ type: "pkcs8", format: "pem" }));
    return {
      sign: async (data: Buffer) => ({
        signature: nodeSign("sha256", data, pk),
        key: { $case: "x509Certificate" as const, certificate: toPem("CERTIFICATE", id.certificate) },
      }),
    };
  }

  it("a message-signature bundle (with a TSA token) verifies with cairn", async () => {
    const id = w.identity();
    const builder = new MessageSignatureBundleBuilder({
      signer: jsSigner(id),
      witnesses: [witness(true) as never],
    });
    const b = bundleToJSON(await builder.create({ data: artifact }));
    const v = verifyBundle(parseBundle(b), {
      trustedRoot: w.trustedRoot,
      artifact: { bytes: artifact },
      policy,
    });
    assert.equal(v.timestamps.length, 2);
    assert.throws(
      () =>
        verifyBundle(parseBundle(b), {
          trustedRoot: w.trustedRoot,
          artifact: { bytes: Buffer.from("x") },
          policy,
        }),
      (e) => (e as CairnError).code === "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    );
  });

  it("a DSSE bundle verifies with cairn, subjects matched", async () => {
    const id = w.identity();
    const st = {
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "a", digest: { sha256: createHash("sha256").update(artifact).digest("hex") } }],
      predicateType: "https://cairn.dev/t/v1",
      predicate: {},
    };
    const builder = new DSSEBundleBuilder({ signer: jsSigner(id), witnesses: [witness(false) as never] });
    const b = bundleToJSON(
      await builder.create({ data: Buffer.from(JSON.stringify(st)), type: "application/vnd.in-toto+json" }),
    );
    const v = verifyBundle(parseBundle(b), {
      trustedRoot: w.trustedRoot,
      artifact: { bytes: artifact },
      policy,
    });
    assert.equal(v.statement?.predicateType, "https://cairn.dev/t/v1");
    // and sigstore-js agrees
    assert.equal(jsVerify(trustedRootToJson(w.trustedRoot) as Json, b as Json, undefined), undefined);
  });
});
