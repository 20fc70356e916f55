// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CairnError } from "../../core/errors.js";
import {
  clone,
  dsseBundle,
  ecKey,
  MEDIA_TYPES,
  makeCertificate,
  makeIdentity,
  messageBundle,
  plain,
} from "../../testing/sigstore-kit.js";
import {
  type Bundle,
  type BundleVersion,
  bundleLeafCertificate,
  bundleToJson,
  bundleVersion,
  MAX_TLOG_ENTRIES,
  parseBundle,
  parseBundleJson,
  requireBundleVersion,
  serializeBundle,
  type TransparencyLogEntry,
} from "./bundle.js";

/** Asserts that `fn` throws a CairnError with `code` naming `field`. */
function refuses(fn: () => unknown, field: string | RegExp, code = "ERR_SIGSTORE_BUNDLE_INVALID"): void {
  assert.throws(fn, (e: CairnError) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    if (typeof field === "string") assert.equal(e.field, field, e.message);
    else assert.match(e.field ?? "", field, e.message);
    return true;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate untyped JSON documents freely
type J = Record<string, any>;
const VERSIONS: BundleVersion[] = ["0.1", "0.2", "0.3"];

describe("bundle media types", () => {
  it("accepts the forms sigstore_bundle.proto lists (Bundle.media_type)", () => {
    // sigstore_bundle.proto, Bundle.media_type: "MUST be application/vnd.dev.sigstore.bundle.v0.3+json
    // ... Clients must to be able to accept media type using the previously defined formats:
    // * application/vnd.dev.sigstore.bundle+json;version=0.1
    // * application/vnd.dev.sigstore.bundle+json;version=0.2
    // * application/vnd.dev.sigstore.bundle+json;version=0.3"
    assert.equal(bundleVersion("application/vnd.dev.sigstore.bundle.v0.3+json"), "0.3");
    assert.equal(bundleVersion("application/vnd.dev.sigstore.bundle+json;version=0.1"), "0.1");
    assert.equal(bundleVersion("application/vnd.dev.sigstore.bundle+json;version=0.2"), "0.2");
    assert.equal(bundleVersion("application/vnd.dev.sigstore.bundle+json;version=0.3"), "0.3");
    // The OCI-compatible form for the older versions too.
    assert.equal(bundleVersion("application/vnd.dev.sigstore.bundle.v0.2+json"), "0.2");
  });

  it("refuses other media types", () => {
    for (const mt of [
      "application/vnd.dev.sigstore.bundle.v0.4+json",
      "application/vnd.dev.sigstore.bundle+json;version=1.0",
      "application/vnd.dev.sigstore.bundle.v0.3+json ",
      "application/vnd.dev.sigstore.bundle+json;version=0.3;x=1",
      "application/json",
      "",
    ]) {
      assert.equal(bundleVersion(mt), undefined, mt);
      const b = messageBundle("0.3").json;
      b.mediaType = mt;
      refuses(() => parseBundle(b), "mediaType");
    }
    const b = messageBundle("0.3").json;
    delete b.mediaType;
    refuses(() => parseBundle(b), "mediaType");
  });
});

describe("parseBundle: valid bundles", () => {
  for (const v of VERSIONS) {
    it(`reads a v${v} message signature bundle losslessly`, () => {
      const { json, id, body } = messageBundle(v);
      const b = parseBundle(clone(json));
      assert.equal(b.mediaType, MEDIA_TYPES[v]);
      assert.deepEqual(bundleLeafCertificate(b), id.leafCert);
      const e = b.verificationMaterial.tlogEntries[0]!;
      assert.equal(e.logIndex, 1003);
      assert.equal(e.integratedTime, 1718000000);
      assert.deepEqual(e.canonicalizedBody, body);
      assert.equal(e.inclusionProof?.treeSize, 5);
      assert.equal(e.inclusionProof?.logIndex, 3);
      assert.equal(b.messageSignature?.messageDigest?.algorithm, "SHA2_256");
      assert.deepEqual(JSON.parse(serializeBundle(b)), json);
      assert.deepEqual(parseBundleJson(serializeBundle(b, 2)), b);
    });

    for (const kind of ["dsse", "intoto"] as const) {
      it(`reads a v${v} DSSE bundle with a ${kind} entry losslessly`, () => {
        const { json } = dsseBundle(v, kind);
        const b = parseBundle(clone(json));
        assert.equal(b.dsseEnvelope?.payloadType, "application/vnd.in-toto+json");
        assert.equal(b.verificationMaterial.tlogEntries[0]?.kindVersion.kind, kind);
        assert.deepEqual(JSON.parse(serializeBundle(b)), json);
      });
    }
  }

  it("reads a public key bundle (docs.sigstore.dev 'Sigstore Bundle Format', Public Key Identifier)", () => {
    // The page shows `"publicKeyIdentifier": {"hint": "<HINT>"}`, but the field of type
    // PublicKeyIdentifier is `public_key` (sigstore_bundle.proto, VerificationMaterial), so its
    // proto3 JSON name is "publicKey": that is the one read here.
    const json = messageBundle("0.3").json;
    delete json.verificationMaterial.certificate;
    json.verificationMaterial.publicKey = { hint: "HINT" };
    const b = parseBundle(json);
    assert.equal(b.verificationMaterial.publicKey?.hint, "HINT");
    assert.equal(bundleLeafCertificate(b), undefined);
    const alias = clone(json);
    alias.verificationMaterial.publicKeyIdentifier = alias.verificationMaterial.publicKey;
    delete alias.verificationMaterial.publicKey;
    refuses(() => parseBundle(alias), "verificationMaterial");
  });

  it("reads int64 values as strings or numbers, and absent ones as 0 (proto3 JSON defaults)", () => {
    const json = messageBundle("0.2").json;
    const e = json.verificationMaterial.tlogEntries[0];
    e.logIndex = 9007199254740991; // 2^53 - 1 as a JSON number
    delete e.integratedTime;
    e.inclusionProof.logIndex = "0";
    const b = parseBundle(json);
    const te = b.verificationMaterial.tlogEntries[0]!;
    assert.equal(te.logIndex, Number.MAX_SAFE_INTEGER);
    assert.equal(te.integratedTime, 0);
    assert.equal(te.inclusionProof?.logIndex, 0);
    assert.equal(
      (JSON.parse(serializeBundle(b)) as J).verificationMaterial.tlogEntries[0].logIndex,
      "9007199254740991",
    );
  });

  it("reads null as absent (proto3 JSON) and enums by number", () => {
    const json = messageBundle("0.3").json;
    json.verificationMaterial.timestampVerificationData = null;
    json.messageSignature.messageDigest.algorithm = 1;
    const b = parseBundle(json);
    assert.equal(b.verificationMaterial.timestampVerificationData, undefined);
    assert.equal(b.messageSignature?.messageDigest?.algorithm, "SHA2_256");
  });

  it("reads RFC 3161 timestamps and bundles without log entries", () => {
    const json = messageBundle("0.3").json;
    json.verificationMaterial.tlogEntries = [];
    json.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [{ signedTimestamp: "MAMCAQA=" }],
    };
    const b = parseBundle(json);
    assert.deepEqual(
      b.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0]?.signedTimestamp,
      Buffer.from("MAMCAQA=", "base64"),
    );
    assert.deepEqual(JSON.parse(serializeBundle(b)), json);
    delete json.verificationMaterial.tlogEntries;
    assert.deepEqual(parseBundle(json).verificationMaterial.tlogEntries, []);
  });

  it("keeps unknown fields at every level", () => {
    const json = dsseBundle("0.3").json;
    json.futureField = { a: [1, "x"] };
    json.verificationMaterial.extra = true;
    json.verificationMaterial.tlogEntries[0].note = "n";
    json.verificationMaterial.tlogEntries[0].inclusionProof.extra = 1;
    json.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.more = null;
    json.dsseEnvelope.x = "y";
    json.dsseEnvelope.signatures[0].extension = { k: 1 };
    // names that are also Object.prototype members are still just fields
    json.verificationMaterial.tlogEntries[0].kindVersion.constructor = "c";
    json.verificationMaterial.toString = "s";
    const b = parseBundle(clone(json));
    assert.deepEqual(b.futureField, { a: [1, "x"] });
    assert.deepEqual(JSON.parse(serializeBundle(b)), json);
  });

  it("reads the URL-safe base64 proto3 JSON parsers accept", () => {
    const json = messageBundle("0.3").json;
    const std = json.messageSignature.signature as string;
    json.messageSignature.signature = Buffer.from(std, "base64").toString("base64url");
    assert.deepEqual(parseBundle(json).messageSignature?.signature, Buffer.from(std, "base64"));
  });

  it("requireBundleVersion refuses versions the caller does not accept", () => {
    const b = parseBundle(messageBundle("0.1").json);
    assert.equal(requireBundleVersion(b, ["0.1", "0.2", "0.3"]), "0.1");
    refuses(() => requireBundleVersion(b, ["0.2", "0.3"]), "mediaType");
  });

  it("parseBundleJson refuses malformed JSON", () => {
    assert.throws(() => parseBundleJson("{"), { code: "ERR_JSON_MALFORMED" });
    refuses(() => parseBundleJson("[]"), "$");
  });
});

describe("parseBundle: the rules, each refused naming its field", () => {
  const VM = "verificationMaterial";
  const E0 = `${VM}.tlogEntries[0]`;
  function tamper(version: BundleVersion, f: (j: J) => void, dsse = false): J {
    const j = dsse ? dsseBundle(version).json : messageBundle(version).json;
    f(j);
    return j;
  }
  const entry = (j: J) => j.verificationMaterial.tlogEntries[0];

  it("needs verificationMaterial", () => {
    refuses(() => parseBundle(tamper("0.3", (j) => delete j.verificationMaterial)), VM);
    refuses(() => parseBundle(tamper("0.3", (j) => (j.verificationMaterial = []))), VM);
  });

  it("needs exactly one key material", () => {
    refuses(() => parseBundle(tamper("0.3", (j) => delete j.verificationMaterial.certificate)), VM);
    refuses(() => parseBundle(tamper("0.3", (j) => (j.verificationMaterial.publicKey = { hint: "h" }))), VM);
  });

  it("v0.3: refuses x509CertificateChain (sigstore_bundle.proto: 'form (3) MUST be used')", () => {
    const j = messageBundle("0.2").json;
    j.mediaType = MEDIA_TYPES["0.3"];
    refuses(() => parseBundle(j), `${VM}.x509CertificateChain`);
  });

  it("v0.1 and v0.2: refuse the v0.3 certificate field", () => {
    for (const v of ["0.1", "0.2"] as const) {
      const j = messageBundle("0.3").json;
      j.mediaType = MEDIA_TYPES[v];
      if (v === "0.1") delete entry(j).inclusionProof.checkpoint;
      refuses(() => parseBundle(j), `${VM}.certificate`);
    }
  });

  it("refuses certificate chains that are empty, too long, or not DER certificates", () => {
    const C = `${VM}.x509CertificateChain.certificates`;
    refuses(
      () =>
        parseBundle(tamper("0.2", (j) => (j.verificationMaterial.x509CertificateChain.certificates = []))),
      C,
    );
    const cert = makeCertificate({ subject: "x", key: ecKey() }).toString("base64");
    refuses(
      () =>
        parseBundle(
          tamper(
            "0.2",
            (j) =>
              (j.verificationMaterial.x509CertificateChain.certificates = Array(11).fill({ rawBytes: cert })),
          ),
        ),
      C,
    );
    const bad = (raw: string) =>
      tamper("0.2", (j) => (j.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = raw));
    refuses(() => parseBundle(bad("AAAA")), `${C}[0].rawBytes`);
    refuses(() => parseBundle(bad("")), `${C}[0].rawBytes`);
    refuses(() => parseBundle(bad("not base64!")), `${C}[0].rawBytes`);
    refuses(
      () =>
        parseBundle(bad(Buffer.concat([Buffer.from(cert, "base64"), Buffer.from([0])]).toString("base64"))),
      `${C}[0].rawBytes`,
    );
    // PEM text where DER belongs: node:crypto would read it, the proto says DER.
    const pem = `-----BEGIN CERTIFICATE-----\n${cert}\n-----END CERTIFICATE-----\n`;
    refuses(() => parseBundle(bad(Buffer.from(pem).toString("base64"))), `${C}[0].rawBytes`);
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.verificationMaterial.certificate = {}))),
      `${VM}.certificate.rawBytes`,
    );
  });

  it("v0.1: every entry needs an inclusion promise (sigstore_rekor.proto: 'Required for v0.1 bundles')", () => {
    refuses(
      () => parseBundle(tamper("0.1", (j) => delete entry(j).inclusionPromise)),
      `${E0}.inclusionPromise`,
    );
    // ... and may do without an inclusion proof.
    assert.ok(parseBundle(tamper("0.1", (j) => delete entry(j).inclusionProof)));
  });

  it("v0.2 and v0.3: every entry needs an inclusion proof with a checkpoint", () => {
    for (const v of ["0.2", "0.3"] as const) {
      refuses(() => parseBundle(tamper(v, (j) => delete entry(j).inclusionProof)), `${E0}.inclusionProof`);
      refuses(
        () => parseBundle(tamper(v, (j) => delete entry(j).inclusionProof.checkpoint)),
        `${E0}.inclusionProof.checkpoint`,
      );
      refuses(
        () => parseBundle(tamper(v, (j) => (entry(j).inclusionProof.checkpoint.envelope = ""))),
        `${E0}.inclusionProof.checkpoint.envelope`,
      );
      // The promise is optional from v0.2.
      assert.ok(parseBundle(tamper(v, (j) => delete entry(j).inclusionPromise)));
    }
    refuses(
      () => parseBundle(tamper("0.1", (j) => (entry(j).inclusionPromise.signedEntryTimestamp = ""))),
      `${E0}.inclusionPromise.signedEntryTimestamp`,
    );
  });

  it("refuses int64 values that are not safe non-negative integers", () => {
    for (const bad of [
      "-1",
      "1.5",
      "01",
      "1e3",
      " 1",
      "9007199254740992",
      "18446744073709551615",
      "",
      "x",
      1.5,
      -1,
      2 ** 53,
      true,
      {},
    ]) {
      refuses(() => parseBundle(tamper("0.3", (j) => (entry(j).logIndex = bad))), `${E0}.logIndex`);
      refuses(
        () => parseBundle(tamper("0.3", (j) => (entry(j).integratedTime = bad))),
        `${E0}.integratedTime`,
      );
      refuses(
        () => parseBundle(tamper("0.3", (j) => (entry(j).inclusionProof.treeSize = bad))),
        `${E0}.inclusionProof.treeSize`,
      );
    }
  });

  it("refuses entries without logId, kindVersion or body", () => {
    refuses(() => parseBundle(tamper("0.3", (j) => delete entry(j).logId)), `${E0}.logId`);
    refuses(() => parseBundle(tamper("0.3", (j) => (entry(j).logId = {}))), `${E0}.logId.keyId`);
    refuses(() => parseBundle(tamper("0.3", (j) => delete entry(j).kindVersion)), `${E0}.kindVersion`);
    refuses(
      () => parseBundle(tamper("0.3", (j) => (entry(j).kindVersion.kind = ""))),
      `${E0}.kindVersion.kind`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => delete entry(j).kindVersion.version)),
      `${E0}.kindVersion.version`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => delete entry(j).canonicalizedBody)),
      `${E0}.canonicalizedBody`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.verificationMaterial.tlogEntries = {}))),
      `${VM}.tlogEntries`,
    );
    refuses(() => parseBundle(tamper("0.3", (j) => (j.verificationMaterial.tlogEntries = [1]))), E0);
  });

  it("bounds the number of entries", () => {
    const j = messageBundle("0.3").json;
    j.verificationMaterial.tlogEntries = Array(MAX_TLOG_ENTRIES + 1).fill(entry(j));
    refuses(() => parseBundle(j), `${VM}.tlogEntries`);
    j.verificationMaterial.tlogEntries = Array(MAX_TLOG_ENTRIES).fill(entry(j));
    assert.equal(parseBundle(j).verificationMaterial.tlogEntries.length, MAX_TLOG_ENTRIES);
  });

  it("refuses inclusion proofs that cannot be RFC 6962 SHA-256 proofs", () => {
    const P = `${E0}.inclusionProof`;
    refuses(
      () =>
        parseBundle(
          tamper("0.3", (j) => (entry(j).inclusionProof.rootHash = Buffer.alloc(31).toString("base64"))),
        ),
      `${P}.rootHash`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => delete entry(j).inclusionProof.rootHash)),
      `${P}.rootHash`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (entry(j).inclusionProof.hashes[1] = "AAAA"))),
      `${P}.hashes[1]`,
    );
    refuses(
      () =>
        parseBundle(
          tamper(
            "0.3",
            (j) => (entry(j).inclusionProof.hashes = Array(65).fill(Buffer.alloc(32).toString("base64"))),
          ),
        ),
      `${P}.hashes`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (entry(j).inclusionProof.treeSize = "0"))),
      `${P}.treeSize`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (entry(j).inclusionProof.logIndex = "5"))),
      `${P}.logIndex`,
    );
  });

  it("needs exactly one content", () => {
    refuses(() => parseBundle(tamper("0.3", (j) => delete j.messageSignature)), "$");
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.dsseEnvelope = dsseBundle("0.3").json.dsseEnvelope))),
      "$",
    );
  });

  it("refuses message signatures without a signature or with a bad digest", () => {
    const M = "messageSignature";
    refuses(() => parseBundle(tamper("0.3", (j) => delete j.messageSignature.signature)), `${M}.signature`);
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.messageSignature.messageDigest.algorithm = "MD5"))),
      `${M}.messageDigest.algorithm`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => delete j.messageSignature.messageDigest.algorithm)),
      `${M}.messageDigest.algorithm`,
    );
    refuses(
      () =>
        parseBundle(
          tamper("0.3", (j) => (j.messageSignature.messageDigest.algorithm = "HASH_ALGORITHM_UNSPECIFIED")),
        ),
      `${M}.messageDigest.algorithm`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.messageSignature.messageDigest.algorithm = 9))),
      `${M}.messageDigest.algorithm`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.messageSignature.messageDigest.algorithm = "SHA2_512"))),
      `${M}.messageDigest.digest`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.messageSignature.messageDigest.digest = ""))),
      `${M}.messageDigest.digest`,
    );
    // The digest is optional in sigstore_common.proto (identification only).
    assert.equal(
      parseBundle(tamper("0.3", (j) => delete j.messageSignature.messageDigest)).messageSignature
        ?.messageDigest,
      undefined,
    );
  });

  it("refuses DSSE envelopes without exactly one signature (sigstore_bundle.proto, Bundle.dsse_envelope)", () => {
    const D = "dsseEnvelope";
    refuses(
      () =>
        parseBundle(tamper("0.3", (j) => j.dsseEnvelope.signatures.push(j.dsseEnvelope.signatures[0]), true)),
      `${D}.signatures`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.dsseEnvelope.signatures = []), true)),
      `${D}.signatures`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.dsseEnvelope.signatures[0].sig = ""), true)),
      `${D}.signatures[0].sig`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.dsseEnvelope.signatures[0].sig = "!!"), true)),
      `${D}.signatures[0].sig`,
    );
    refuses(() => parseBundle(tamper("0.3", (j) => (j.dsseEnvelope.payload = "!!"), true)), `${D}.payload`);
    refuses(
      () => parseBundle(tamper("0.3", (j) => delete j.dsseEnvelope.payloadType, true)),
      `${D}.payloadType`,
    );
  });

  it("refuses a public key hint that differs from the envelope's keyid (sigstore_bundle.proto, Bundle)", () => {
    const j = dsseBundle("0.3").json;
    delete j.verificationMaterial.certificate;
    j.verificationMaterial.publicKey = { hint: "key-1" };
    refuses(() => parseBundle(clone(j)), "dsseEnvelope.signatures[0].keyid");
    j.dsseEnvelope.signatures[0].keyid = "key-1";
    assert.ok(parseBundle(j));
  });

  it("refuses snake_case spellings of known fields and __proto__", () => {
    refuses(
      () => parseBundle(tamper("0.3", (j) => (j.verificationMaterial.tlog_entries = []))),
      `${VM}.tlog_entries`,
    );
    refuses(
      () => parseBundle(tamper("0.3", (j) => (entry(j).inclusion_promise = {}))),
      `${E0}.inclusion_promise`,
    );
    const withProto = JSON.parse(
      `{"__proto__": {"polluted": 1}, ${JSON.stringify(messageBundle("0.3").json).slice(1)}`,
    );
    refuses(() => parseBundle(withProto), "__proto__");
  });

  it("refuses empty RFC 3161 timestamps", () => {
    refuses(
      () =>
        parseBundle(
          tamper(
            "0.3",
            (j) => (j.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{}] }),
          ),
        ),
      `${VM}.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp`,
    );
  });
});

// --- property tests ---

const pool = (() => {
  const id = makeIdentity();
  return [id.leafCert, id.caCert];
})();
const bytes = (min = 1, max = 40) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));
const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const extras = fc.dictionary(
  fc.constantFrom("futureField", "x_vendor", "annotations", "v2", "constructor"),
  fc.jsonValue({ maxDepth: 2 }),
  {
    maxKeys: 2,
  },
);
const certMsg = fc.record({ rawBytes: fc.constantFrom(...pool) });

function entryArb(version: BundleVersion): fc.Arbitrary<TransparencyLogEntry> {
  const proof = fc
    .tuple(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.nat(),
      fc.array(hash32, { maxLength: 4 }),
      fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      extras,
    )
    .map(([treeSize, i, hashes, cp, x]) => {
      const p: Record<string, unknown> = {
        logIndex: i % treeSize,
        rootHash: Buffer.alloc(32, 7),
        treeSize,
        hashes,
        ...x,
      };
      if (cp !== undefined || version !== "0.1") p.checkpoint = { envelope: cp ?? "origin\n1\nAA==\n" };
      return p;
    });
  return fc
    .record({
      logIndex: uint,
      logId: fc.record({ keyId: bytes(1, 32) }),
      kindVersion: fc.record({ kind: fc.string({ minLength: 1 }), version: fc.string({ minLength: 1 }) }),
      integratedTime: uint,
      promise:
        version === "0.1"
          ? bytes().map((s) => ({ signedEntryTimestamp: s }))
          : fc.option(
              bytes().map((s) => ({ signedEntryTimestamp: s })),
              { nil: undefined },
            ),
      proof: version === "0.1" ? fc.option(proof, { nil: undefined }) : proof,
      canonicalizedBody: bytes(),
      x: extras,
    })
    .map(({ promise, proof, x, ...e }) => {
      const out: Record<string, unknown> = { ...e, ...x };
      if (promise) out.inclusionPromise = promise;
      if (proof) out.inclusionProof = proof;
      return out as TransparencyLogEntry;
    });
}

const bundleArb: fc.Arbitrary<Bundle> = fc.constantFrom(...VERSIONS).chain((version) =>
  fc
    .record({
      material: fc.oneof(
        fc.record({ publicKey: fc.record({ hint: fc.string() }) }),
        version === "0.3"
          ? fc.record({ certificate: certMsg })
          : fc.record({
              x509CertificateChain: fc.record({
                certificates: fc.array(certMsg, { minLength: 1, maxLength: 3 }),
              }),
            }),
      ),
      tlogEntries: fc.array(entryArb(version), { maxLength: 3 }),
      tsa: fc.option(
        fc.array(
          bytes().map((t) => ({ signedTimestamp: t })),
          { maxLength: 2 },
        ),
        { nil: undefined },
      ),
      content: fc.oneof(
        fc.record({
          messageSignature: fc.record(
            {
              signature: bytes(),
              messageDigest: fc.record({ algorithm: fc.constant("SHA2_256" as const), digest: hash32 }),
            },
            { requiredKeys: ["signature"] },
          ),
        }),
        fc.record({
          dsseEnvelope: fc.record({
            payload: bytes(0).map((b) => b.toString("base64")),
            payloadType: fc.string(),
            signatures: bytes().map((s) => [{ sig: s.toString("base64") }]),
          }),
        }),
      ),
      x: extras,
      vmx: extras,
    })
    .filter(({ material, content }) => !("publicKey" in material && "dsseEnvelope" in content))
    .map(({ material, tlogEntries, tsa, content, x, vmx }) => {
      const vm: Record<string, unknown> = { ...material, tlogEntries, ...vmx };
      if (tsa) vm.timestampVerificationData = { rfc3161Timestamps: tsa };
      return plain({ mediaType: MEDIA_TYPES[version], verificationMaterial: vm, ...content, ...x }) as Bundle;
    }),
);

describe("bundle properties", () => {
  it("parse(serialize(b)) deep-equals b, unknown fields included", () => {
    fc.assert(
      fc.property(bundleArb, (b) => {
        assert.deepEqual(parseBundleJson(serializeBundle(b)), b);
      }),
      { numRuns: 200 },
    );
  });

  it("serialize(parse(json)) is a fixed point", () => {
    fc.assert(
      fc.property(bundleArb, (b) => {
        const j = bundleToJson(b);
        assert.deepEqual(
          bundleToJson(parseBundle(JSON.parse(JSON.stringify(j)))),
          JSON.parse(JSON.stringify(j)),
        );
      }),
      { numRuns: 100 },
    );
  });

  it("refuses every non-canonical int64 text", () => {
    const j = messageBundle("0.3").json;
    fc.assert(
      fc.property(
        fc.string().filter((s) => !/^(?:0|[1-9][0-9]{0,15})$/.test(s) || Number(s) > Number.MAX_SAFE_INTEGER),
        (s) => {
          const t = clone(j);
          t.verificationMaterial.tlogEntries[0].logIndex = s;
          refuses(() => parseBundle(t), "verificationMaterial.tlogEntries[0].logIndex");
        },
      ),
      { numRuns: 200 },
    );
  });
});
