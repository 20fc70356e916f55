// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { CairnError } from "../../core/errors.js";
import { clone, ecKey, edKey, makeIdentity, plain } from "../../testing/sigstore-kit.js";
import { timestampNanos } from "./proto-json.js";
import {
  authorityCertificates,
  findTlog,
  keyValidAt,
  loadPublicKey,
  logIdOfKey,
  parseTrustedRoot,
  parseTrustedRootJson,
  serializeTrustedRoot,
  TRUSTED_ROOT_V01_MEDIA_TYPE,
  TRUSTED_ROOT_V02_MEDIA_TYPE,
  type TrustedRoot,
  trustedRootToJson,
  trustedRootVersion,
} from "./trusted-root.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate untyped JSON documents freely
type J = Record<string, any>;
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

function refuses(fn: () => unknown, field: string, code = "ERR_SIGSTORE_TRUSTED_ROOT_INVALID"): void {
  assert.throws(fn, (e: CairnError) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    assert.equal(e.field, field, e.message);
    return true;
  });
}

const logKey = ecKey();
const oldLogKey = ecKey();
const ctKey = ecKey();
const id = makeIdentity();

/** A trusted root in the shape of sigstore_trustroot.proto's TrustedRoot, as cairn would publish it. */
function rootJson(): J {
  return {
    mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE,
    tlogs: [
      {
        baseUrl: "https://log.cairn.test",
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(oldLogKey.spki),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: "2021-01-12T11:53:27.000Z", end: "2022-04-01T00:00:00Z" },
        },
        logId: { keyId: b64(logIdOfKey(oldLogKey.spki)) },
      },
      {
        baseUrl: "https://log.cairn.test",
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(logKey.spki),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: "2022-04-01T00:00:00Z" },
        },
        logId: { keyId: b64(logIdOfKey(logKey.spki)) },
        checkpointKeyId: { keyId: "AAECAw==" },
        operator: "cairn.test",
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: "cairn", commonName: "cairn test CA" },
        uri: "https://ca.cairn.test",
        certChain: { certificates: [{ rawBytes: b64(id.caCert) }] },
        validFor: { start: "2024-01-01T00:00:00Z" },
      },
    ],
    ctlogs: [
      {
        baseUrl: "https://ct.cairn.test",
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(ctKey.spki),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: "2024-01-01T00:00:00Z" },
        },
        logId: { keyId: b64(logIdOfKey(ctKey.spki)) },
      },
    ],
    timestampAuthorities: [
      {
        subject: { organization: "cairn", commonName: "cairn TSA" },
        uri: "https://tsa.cairn.test",
        certChain: { certificates: [{ rawBytes: b64(id.leafCert) }, { rawBytes: b64(id.caCert) }] },
        validFor: { start: "2024-01-01T00:00:00Z", end: "2030-01-01T00:00:00.123456789Z" },
        operator: "cairn.test",
      },
    ],
  };
}

describe("trusted root media types", () => {
  it("accepts the forms sigstore_trustroot.proto lists (TrustedRoot.media_type)", () => {
    // "MUST be application/vnd.dev.sigstore.trustedroot.v0.2+json ... Clients MAY choose to also
    // support application/vnd.dev.sigstore.trustedroot.v0.1+json ... Clients MAY process and parse
    // content with the media type defined in the old format:
    // application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    assert.equal(trustedRootVersion("application/vnd.dev.sigstore.trustedroot.v0.2+json"), "0.2");
    assert.equal(trustedRootVersion("application/vnd.dev.sigstore.trustedroot.v0.1+json"), "0.1");
    assert.equal(trustedRootVersion("application/vnd.dev.sigstore.trustedroot+json;version=0.1"), "0.1");
    assert.equal(trustedRootVersion(TRUSTED_ROOT_V01_MEDIA_TYPE), "0.1");
    for (const mt of ["application/vnd.dev.sigstore.trustedroot.v0.3+json", "application/json", ""]) {
      assert.equal(trustedRootVersion(mt), undefined);
      const j = rootJson();
      j.mediaType = mt;
      refuses(() => parseTrustedRoot(j), "mediaType");
    }
  });
});

describe("parseTrustedRoot", () => {
  it("reads a trusted root losslessly", () => {
    const j = rootJson();
    const t = parseTrustedRoot(clone(j));
    assert.equal(t.tlogs.length, 2);
    assert.equal(t.tlogs[1]?.operator, "cairn.test");
    assert.deepEqual(t.tlogs[1]?.checkpointKeyId?.keyId, Buffer.from([0, 1, 2, 3]));
    assert.equal(t.certificateAuthorities[0]?.subject?.commonName, "cairn test CA");
    assert.deepEqual(JSON.parse(serializeTrustedRoot(t)), j);
    assert.deepEqual(parseTrustedRootJson(serializeTrustedRoot(t, 2)), t);
  });

  it("keeps unknown fields, and reads absent lists as empty", () => {
    const j = rootJson();
    j.future = { x: 1 };
    j.tlogs[0].publicKey.validFor.extra = "e";
    j.certificateAuthorities[0].certChain.note = [1];
    const t = parseTrustedRoot(clone(j));
    assert.deepEqual(JSON.parse(serializeTrustedRoot(t)), j);
    const min = parseTrustedRoot({ mediaType: TRUSTED_ROOT_V01_MEDIA_TYPE });
    assert.deepEqual(
      [min.tlogs, min.ctlogs, min.certificateAuthorities, min.timestampAuthorities],
      [[], [], [], []],
    );
  });

  it("reads enums by number (proto3 JSON)", () => {
    const j = rootJson();
    j.tlogs[0].hashAlgorithm = 1;
    j.tlogs[0].publicKey.keyDetails = 5;
    const t = parseTrustedRoot(j);
    assert.equal(t.tlogs[0]?.hashAlgorithm, "SHA2_256");
    assert.equal(t.tlogs[0]?.publicKey.keyDetails, "PKIX_ECDSA_P256_SHA_256");
  });

  it("v0.1: refuses the v0.2 fields checkpointKeyId and operator", () => {
    const j = rootJson();
    j.mediaType = TRUSTED_ROOT_V01_MEDIA_TYPE;
    refuses(() => parseTrustedRoot(clone(j)), "tlogs[1].checkpointKeyId");
    delete j.tlogs[1].checkpointKeyId;
    refuses(() => parseTrustedRoot(clone(j)), "tlogs[1].operator");
    delete j.tlogs[1].operator;
    assert.ok(parseTrustedRoot(j));
  });

  const cases: [string, (j: J) => void, string][] = [
    ["baseUrl missing", (j) => delete j.tlogs[0].baseUrl, "tlogs[0].baseUrl"],
    ["hashAlgorithm unknown", (j) => (j.ctlogs[0].hashAlgorithm = "MD5"), "ctlogs[0].hashAlgorithm"],
    ["hashAlgorithm unspecified", (j) => delete j.tlogs[0].hashAlgorithm, "tlogs[0].hashAlgorithm"],
    ["publicKey missing", (j) => delete j.tlogs[0].publicKey, "tlogs[0].publicKey"],
    ["rawBytes missing", (j) => delete j.tlogs[0].publicKey.rawBytes, "tlogs[0].publicKey.rawBytes"],
    ["rawBytes not base64", (j) => (j.tlogs[0].publicKey.rawBytes = "%%"), "tlogs[0].publicKey.rawBytes"],
    [
      "keyDetails unspecified",
      (j) => delete j.tlogs[0].publicKey.keyDetails,
      "tlogs[0].publicKey.keyDetails",
    ],
    [
      "keyDetails lowercase",
      (j) => (j.tlogs[0].publicKey.keyDetails = "ed25519"),
      "tlogs[0].publicKey.keyDetails",
    ],
    [
      "keyDetails number out of range",
      (j) => (j.tlogs[0].publicKey.keyDetails = 99),
      "tlogs[0].publicKey.keyDetails",
    ],
    ["logId missing", (j) => delete j.tlogs[0].logId, "tlogs[0].logId"],
    ["logId empty", (j) => (j.tlogs[0].logId.keyId = ""), "tlogs[0].logId.keyId"],
    ["start missing", (j) => delete j.tlogs[0].publicKey.validFor.start, "tlogs[0].publicKey.validFor.start"],
    [
      "start not a date",
      (j) => (j.tlogs[0].publicKey.validFor.start = "2021-02-30T00:00:00Z"),
      "tlogs[0].publicKey.validFor.start",
    ],
    [
      "start without Z",
      (j) => (j.tlogs[0].publicKey.validFor.start = "2021-03-14T00:00:00"),
      "tlogs[0].publicKey.validFor.start",
    ],
    [
      "start with offset",
      (j) => (j.tlogs[0].publicKey.validFor.start = "2021-03-14T00:00:00+01:00"),
      "tlogs[0].publicKey.validFor.start",
    ],
    [
      "start with 2 digits",
      (j) => (j.tlogs[0].publicKey.validFor.start = "2021-03-14T00:00:00.12Z"),
      "tlogs[0].publicKey.validFor.start",
    ],
    [
      "end before start",
      (j) => (j.tlogs[0].publicKey.validFor.end = "2020-01-01T00:00:00Z"),
      "tlogs[0].publicKey.validFor.end",
    ],
    [
      "certChain missing",
      (j) => delete j.certificateAuthorities[0].certChain,
      "certificateAuthorities[0].certChain",
    ],
    [
      "certChain empty",
      (j) => (j.certificateAuthorities[0].certChain.certificates = []),
      "certificateAuthorities[0].certChain.certificates",
    ],
    [
      "certificate not DER",
      (j) => (j.timestampAuthorities[0].certChain.certificates[1].rawBytes = "MAA="),
      "timestampAuthorities[0].certChain.certificates[1].rawBytes",
    ],
    [
      "subject not an object",
      (j) => (j.certificateAuthorities[0].subject = "CN=x"),
      "certificateAuthorities[0].subject",
    ],
    ["uri not a string", (j) => (j.certificateAuthorities[0].uri = 1), "certificateAuthorities[0].uri"],
    ["tlogs not a list", (j) => (j.tlogs = {}), "tlogs"],
    ["too many tlogs", (j) => (j.tlogs = Array(65).fill(j.tlogs[0])), "tlogs"],
    ["snake_case field", (j) => (j.tlogs[0].base_url = "x"), "tlogs[0].base_url"],
    ["snake_case list", (j) => (j.certificate_authorities = []), "certificate_authorities"],
  ];
  for (const [what, f, field] of cases) {
    it(`refuses: ${what}`, () => {
      const j = rootJson();
      f(j);
      refuses(() => parseTrustedRoot(j), field);
    });
  }
});

describe("trusted root helpers", () => {
  const root = parseTrustedRoot(rootJson());

  it("logIdOfKey is SHA-256 of the DER SubjectPublicKeyInfo (RFC 6962 3.2), and findTlog selects by it", () => {
    const keyId = logIdOfKey(logKey.spki);
    assert.equal(findTlog(root.tlogs, keyId), root.tlogs[1]);
    assert.equal(findTlog(root.tlogs, logIdOfKey(oldLogKey.spki)), root.tlogs[0]);
    assert.equal(findTlog(root.tlogs, Buffer.alloc(32)), undefined);
    assert.equal(findTlog(root.ctlogs, logIdOfKey(ctKey.spki)), root.ctlogs[0]);
  });

  it("findTlog with a time only returns a log whose key was valid then", () => {
    const old = logIdOfKey(oldLogKey.spki);
    assert.equal(findTlog(root.tlogs, old, new Date("2021-06-01T00:00:00Z")), root.tlogs[0]);
    assert.equal(findTlog(root.tlogs, old, new Date("2023-06-01T00:00:00Z")), undefined);
    assert.equal(findTlog(root.tlogs, old, new Date("2020-06-01T00:00:00Z")), undefined);
    assert.equal(
      findTlog(root.tlogs, logIdOfKey(logKey.spki), new Date("2099-01-01T00:00:00Z")),
      root.tlogs[1],
    );
  });

  it("keyValidAt: both ends inclusive (sigstore_common.proto PublicKey.valid_for), to the nanosecond", () => {
    const k = (start: string, end?: string) => ({ validFor: end === undefined ? { start } : { start, end } });
    const t = new Date("2024-01-01T00:00:00.000Z");
    assert.equal(keyValidAt(k("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"), t), true);
    assert.equal(keyValidAt(k("2024-01-01T00:00:00.000000001Z"), t), false);
    assert.equal(keyValidAt(k("2023-01-01T00:00:00Z", "2023-12-31T23:59:59.999999999Z"), t), false);
    assert.equal(keyValidAt(k("2023-01-01T00:00:00Z", "2024-01-01T00:00:00.000000001Z"), t), true);
    assert.equal(keyValidAt({}, t), true);
    assert.equal(keyValidAt(k("2023-01-01T00:00:00Z"), new Date(Number.NaN)), false);
  });

  it('timestampNanos reads the proto3 JSON Timestamp form (protobuf.dev JSON mapping: "1972-01-01T10:00:20.021Z")', () => {
    assert.equal(timestampNanos("1972-01-01T10:00:20.021Z"), 63108020021000000n);
    assert.equal(timestampNanos("1970-01-01T00:00:00Z"), 0n);
    assert.equal(timestampNanos("1970-01-01T00:00:00.000000001Z"), 1n);
    assert.equal(timestampNanos("0001-01-01T00:00:00Z"), -62135596800000000000n);
    assert.equal(timestampNanos("2024-02-29T00:00:00Z") !== undefined, true);
    for (const bad of [
      "2023-02-29T00:00:00Z",
      "2021-13-01T00:00:00Z",
      "2021-01-01T24:00:00Z",
      "2021-01-01T00:00:60Z",
      "0000-01-01T00:00:00Z",
      "2021-01-01t00:00:00z",
    ]) {
      assert.equal(timestampNanos(bad), undefined, bad);
    }
  });

  it("loadPublicKey loads each entry once, and again when the entry names other bytes or details", () => {
    const pk = { rawBytes: logKey.spki, keyDetails: "PKIX_ECDSA_P256_SHA_256" };
    const k = loadPublicKey(pk);
    assert.equal(loadPublicKey(pk), k);
    const ed = edKey();
    pk.rawBytes = ed.spki;
    assert.throws(() => loadPublicKey(pk), { code: "ERR_KEY_INVALID" });
    pk.keyDetails = "PKIX_ED25519";
    assert.equal(loadPublicKey(pk).asymmetricKeyType, "ed25519");
  });

  it("loadPublicKey loads DER SPKI keys with node:crypto and checks them against keyDetails", () => {
    const k = loadPublicKey(root.tlogs[1]!.publicKey);
    assert.equal(k.asymmetricKeyType, "ec");
    const ed = edKey();
    assert.equal(
      loadPublicKey({ rawBytes: ed.spki, keyDetails: "PKIX_ED25519" }).asymmetricKeyType,
      "ed25519",
    );
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({
      type: "spki",
      format: "der",
    });
    assert.ok(loadPublicKey({ rawBytes: rsa, keyDetails: "PKIX_RSA_PKCS1V15_2048_SHA256" }));
    const wrong: [Uint8Array, string][] = [
      [ed.spki, "PKIX_ECDSA_P256_SHA_256"],
      [logKey.spki, "PKIX_ECDSA_P384_SHA_384"],
      [logKey.spki, "PKIX_ED25519"],
      [rsa, "PKIX_RSA_PKCS1V15_4096_SHA256"],
      [logKey.spki, "LMS_SHA256"],
      [logKey.spki, "ML_DSA_65"],
      [Buffer.from("not a key"), "PKIX_ED25519"],
    ];
    for (const [rawBytes, keyDetails] of wrong) {
      assert.throws(() => loadPublicKey({ rawBytes, keyDetails }), { code: "ERR_KEY_INVALID" }, keyDetails);
    }
  });

  it("authorityCertificates parses the chain with X509Certificate", () => {
    const [leaf, ca] = authorityCertificates(root.timestampAuthorities[0]!);
    assert.equal(leaf?.subject, "CN=signer");
    assert.equal(leaf?.verify(ca!.publicKey), true);
    assert.equal(ca?.checkIssued(ca), true);
  });
});

// --- property: lossless round trip ---
const ts = fc
  .date({ min: new Date("1971-01-01T00:00:00Z"), max: new Date("2999-12-31T00:00:00Z"), noInvalidDate: true })
  .chain((d) =>
    fc
      .constantFrom("", ".123", ".123456", ".123456789")
      .map((f) => d.toISOString().replace(/\.\d{3}Z$/, `${f}Z`)),
  );
const extras = fc.dictionary(fc.constantFrom("future", "x_note", "toString"), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 2,
});
const range = fc.tuple(ts, fc.option(ts, { nil: undefined })).map(([a, b]) => {
  if (b === undefined) return { start: a };
  return timestampNanos(a)! <= timestampNanos(b)! ? { start: a, end: b } : { start: b, end: a };
});
const logArb = fc
  .record(
    {
      baseUrl: fc.string({ minLength: 1 }),
      hashAlgorithm: fc.constantFrom("SHA2_256", "SHA2_384"),
      publicKey: fc.record(
        {
          rawBytes: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => Buffer.from(a)),
          keyDetails: fc.constantFrom("PKIX_ED25519", "PKIX_ECDSA_P256_SHA_256", "FUTURE_ALGORITHM"),
          validFor: range,
        },
        { requiredKeys: ["rawBytes", "keyDetails"] },
      ),
      logId: fc.record({ keyId: fc.uint8Array({ minLength: 1, maxLength: 32 }).map((a) => Buffer.from(a)) }),
      checkpointKeyId: fc.record({
        keyId: fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => Buffer.from(a)),
      }),
      operator: fc.string(),
    },
    { requiredKeys: ["baseUrl", "hashAlgorithm", "publicKey", "logId"] },
  )
  .chain((l) => extras.map((x) => ({ ...l, ...x })));
const caArb = fc.record(
  {
    subject: fc.record({ organization: fc.string(), commonName: fc.string() }),
    uri: fc.string(),
    certChain: fc.record({
      certificates: fc.array(
        fc.constantFrom(id.caCert, id.leafCert).map((rawBytes) => ({ rawBytes })),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    validFor: range,
    operator: fc.string(),
  },
  { requiredKeys: ["uri", "certChain"] },
);
const rootArb: fc.Arbitrary<TrustedRoot> = fc
  .record({
    tlogs: fc.array(logArb, { maxLength: 3 }),
    certificateAuthorities: fc.array(caArb, { maxLength: 2 }),
    ctlogs: fc.array(logArb, { maxLength: 2 }),
    timestampAuthorities: fc.array(caArb, { maxLength: 2 }),
    x: extras,
  })
  .map(({ x, ...r }) => plain({ mediaType: TRUSTED_ROOT_V02_MEDIA_TYPE, ...r, ...x }) as TrustedRoot);

describe("trusted root properties", () => {
  it("parse(serialize(t)) deep-equals t, unknown fields included", () => {
    fc.assert(
      fc.property(rootArb, (t) => {
        assert.deepEqual(parseTrustedRootJson(serializeTrustedRoot(t)), t);
        assert.deepEqual(trustedRootToJson(parseTrustedRoot(trustedRootToJson(t))), trustedRootToJson(t));
      }),
      { numRuns: 150 },
    );
  });
});
