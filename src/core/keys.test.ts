// SPDX-License-Identifier: Apache-2.0
// Keys without the reference tools: key ids (literal vectors made with securesystemslib 0.26), every
// scheme's sign/verify round trip, export/import, passphrases, and the refusals.
// Interop with in-toto-keygen and securesystemslib lives in test/interop/keys.test.ts.
import assert from "node:assert/strict";
import { constants, generateKeyPairSync, verify as nodeVerify } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CairnError, type ErrorCode } from "./errors.js";
import {
  computeKeyId,
  exportKeyFiles,
  generateKey,
  keyFingerprint,
  keyIdVariants,
  type PrivateKey,
  parsePrivateKey,
  parsePublicKey,
  publicKeyFromKeyObject,
  publicKeyFromSslib,
  SCHEMES,
  type Scheme,
  signWith,
  spkiDerOf,
  sslibMetaOf,
  verifyWith,
} from "./keys.js";
import { decryptSslibKey, encryptSslibKey } from "./sslib-encryption.js";

function assertCode(fn: () => unknown, code: ErrorCode, extra: { field?: string; file?: string } = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${String(e)}`);
    assert.equal(e.code, code, (e as Error).message);
    if ("field" in extra) assert.equal(e.field, extra.field);
    if ("file" in extra) assert.equal(e.file, extra.file);
    return true;
  });
}

const ED = generateKey("ed25519");
const P256 = generateKey("ecdsa");
const P384 = generateKey("ecdsa", { curve: "P-384" });
const RSA = generateKey("rsa", { bits: 2048 });
const DATA = Buffer.from("the bytes that get signed\n");

/** The same key under another scheme. */
function withScheme(k: PrivateKey, scheme: Scheme): PrivateKey {
  return { key: k.key, public: publicKeyFromKeyObject(k.key, scheme) };
}

// RFC 8032 section 7.1 TEST 1 public key.
const RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

describe("key ids", () => {
  it("match securesystemslib for a fixed ed25519 key (legacy and modern formulas)", () => {
    // Made with securesystemslib 0.26: keys._get_keyid("ed25519", "ed25519", {"public": ...}) (legacy) and
    // sha256(encode_canonical(format_keyval_to_metadata(...) without keyid_hash_algorithms)) (modern).
    const legacy = "01e8764eedab63b3593451765fc337b2cc6d2c66923845da255f448c19e2afc5";
    const modern = "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916";
    const bare = { keytype: "ed25519", scheme: "ed25519", keyval: { public: RFC8032_PUBLIC } };
    assert.deepEqual(keyIdVariants(bare), { legacy, modern });
    const withAlgs = { ...bare, keyid_hash_algorithms: ["sha256", "sha512"] };
    assert.deepEqual(keyIdVariants(withAlgs), { legacy, modern });
    assert.equal(computeKeyId(withAlgs), legacy);
    assert.equal(computeKeyId(bare), modern);
    assert.equal(publicKeyFromSslib(withAlgs).keyid, legacy);
    assert.equal(publicKeyFromSslib(bare).keyid, modern);
  });

  it("ignore a keyid field and the private value", () => {
    const meta = {
      keytype: "ed25519",
      scheme: "ed25519",
      keyid: "ff",
      keyid_hash_algorithms: ["sha256", "sha512"],
      keyval: { public: RFC8032_PUBLIC, private: "00".repeat(32) },
    };
    assert.equal(computeKeyId(meta), "01e8764eedab63b3593451765fc337b2cc6d2c66923845da255f448c19e2afc5");
  });

  it("use a given id instead of computing one", () => {
    const k = publicKeyFromSslib(
      { keytype: "ed25519", scheme: "ed25519", keyval: { public: RFC8032_PUBLIC } },
      "abc",
    );
    assert.equal(k.keyid, "abc");
  });

  it("of generated keys are the legacy formula (as in-toto 1.x writes them)", () => {
    for (const k of [ED, P256, P384, RSA]) {
      assert.deepEqual(k.public.meta.keyid_hash_algorithms, ["sha256", "sha512"]);
      assert.equal(k.public.keyid, keyIdVariants(k.public.meta).legacy);
      assert.notEqual(keyIdVariants(k.public.meta).legacy, keyIdVariants(k.public.meta).modern);
    }
  });

  it("keep unknown fields in the hashed object (signed formats are lossless)", () => {
    const base = { keytype: "ed25519", scheme: "ed25519", keyval: { public: RFC8032_PUBLIC } };
    const extra = publicKeyFromSslib({ ...base, x_custom: 1 });
    assert.equal(extra.meta.x_custom, 1);
    assert.notEqual(extra.keyid, publicKeyFromSslib(base).keyid);
  });

  it("use the legacy keytype ecdsa-sha2-nistp256 as written", () => {
    const pem = P256.public.meta.keyval.public;
    const k = publicKeyFromSslib({
      keytype: "ecdsa-sha2-nistp256",
      scheme: "ecdsa-sha2-nistp256",
      keyval: { public: pem },
    });
    assert.equal(k.keytype, "ecdsa");
    assert.equal(k.meta.keytype, "ecdsa-sha2-nistp256");
    assert.notEqual(k.keyid, P256.public.keyid);
  });
});

describe("sign and verify", () => {
  const cases: [string, PrivateKey][] = [
    ["ed25519", ED],
    ["ecdsa-sha2-nistp256", P256],
    ["ecdsa-sha2-nistp384", P384],
    ["rsassa-pss-sha256", RSA],
    ["rsassa-pss-sha384", withScheme(RSA, "rsassa-pss-sha384")],
    ["rsassa-pss-sha512", withScheme(RSA, "rsassa-pss-sha512")],
    ["rsa-pkcs1v15-sha256", withScheme(RSA, "rsa-pkcs1v15-sha256")],
    ["rsa-pkcs1v15-sha384", withScheme(RSA, "rsa-pkcs1v15-sha384")],
    ["rsa-pkcs1v15-sha512", withScheme(RSA, "rsa-pkcs1v15-sha512")],
  ];
  for (const [scheme, k] of cases) {
    it(`${scheme}: round trips, and refuses tampered data, a tampered signature and another key`, () => {
      assert.equal(k.public.scheme, scheme);
      const sig = signWith(k, DATA);
      assert.equal(verifyWith(k.public, DATA, sig), true);
      assert.equal(verifyWith(k.public, Buffer.concat([DATA, Buffer.from("x")]), sig), false);
      const bad = Buffer.from(sig);
      bad[bad.length >> 1]! ^= 1;
      assert.equal(verifyWith(k.public, DATA, bad), false);
      assert.equal(verifyWith(k.public, DATA, new Uint8Array(0)), false);
      assert.equal(verifyWith(k.public, DATA, Buffer.from("garbage")), false);
      const other = SCHEMES[scheme as Scheme].keytype === "rsa" ? ED : RSA;
      assert.equal(verifyWith(other.public, DATA, sig), false);
    });
  }

  it("P-384 signs with SHA-384 and P-256 with SHA-256 (DER signatures)", () => {
    assert.equal(P384.public.scheme, "ecdsa-sha2-nistp384");
    assert.equal(nodeVerify("sha384", DATA, P384.public.key, signWith(P384, DATA)), true);
    assert.equal(nodeVerify("sha256", DATA, P384.public.key, signWith(P384, DATA)), false);
    assert.equal(nodeVerify("sha256", DATA, P256.public.key, signWith(P256, DATA)), true);
  });

  it("PKCS#1 v1.5 is deterministic PKCS#1 padding; PSS is salted and not interchangeable", () => {
    const v15 = withScheme(RSA, "rsa-pkcs1v15-sha256");
    const s1 = signWith(v15, DATA);
    assert.deepEqual(signWith(v15, DATA), s1);
    const viaNode = nodeVerify(
      "sha256",
      DATA,
      { key: RSA.public.key, padding: constants.RSA_PKCS1_PADDING },
      s1,
    );
    assert.equal(viaNode, true);
    const pss = signWith(RSA, DATA);
    assert.notDeepEqual(signWith(RSA, DATA), pss);
    // Salt length = digest length, as securesystemslib signs.
    const saltOk = nodeVerify(
      "sha256",
      DATA,
      { key: RSA.public.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      pss,
    );
    assert.equal(saltOk, true);
    assert.equal(verifyWith(v15.public, DATA, pss), false);
    assert.equal(verifyWith(RSA.public, DATA, s1), false);
    assert.equal(verifyWith(withScheme(RSA, "rsa-pkcs1v15-sha512").public, DATA, s1), false);
  });

  it("ed25519 signatures are 64 bytes and deterministic", () => {
    const s = signWith(ED, DATA);
    assert.equal(s.length, 64);
    assert.deepEqual(signWith(ED, DATA), s);
  });

  it("property: any data signs and verifies; flipping any bit fails", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.constantFrom(ED, P256), (data, at, k) => {
        const sig = signWith(k, data);
        assert.equal(verifyWith(k.public, data, sig), true);
        if (data.length > 0) {
          const d = Buffer.from(data);
          d[at % d.length]! ^= 1 << (at % 8);
          assert.equal(verifyWith(k.public, d, sig), false);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe("export and import", () => {
  for (const [name, k] of [
    ["ed25519", ED],
    ["ecdsa P-256", P256],
    ["ecdsa P-384", P384],
    ["rsa", RSA],
  ] as const) {
    it(`${name}: exported files load with the same key id, plain and encrypted`, () => {
      const plain = exportKeyFiles(k);
      const pub = parsePublicKey(plain.publicText, "k.pub");
      assert.equal(pub.keyid, k.public.keyid);
      assert.equal(keyFingerprint(pub), keyFingerprint(k.public));
      const priv = parsePrivateKey(plain.privateText, { file: "k" });
      assert.equal(priv.public.keyid, k.public.keyid);
      assert.equal(verifyWith(k.public, DATA, signWith(priv, DATA)), true);

      const enc = exportKeyFiles(k, "correct horse");
      assert.doesNotMatch(enc.privateText, /"private"|BEGIN (RSA |EC )?PRIVATE KEY/);
      const dec = parsePrivateKey(enc.privateText, { passphrase: "correct horse", file: "k" });
      assert.equal(dec.public.keyid, k.public.keyid);
      assert.equal(verifyWith(k.public, DATA, signWith(dec, DATA)), true);
      assertCode(() => parsePrivateKey(enc.privateText, { file: "k" }), "ERR_KEY_PASSPHRASE", { file: "k" });
      assertCode(
        () => parsePrivateKey(enc.privateText, { passphrase: "wrong", file: "k" }),
        "ERR_KEY_PASSPHRASE",
        {
          file: "k",
        },
      );
      assertCode(() => parsePrivateKey(enc.privateText, { passphrase: "" }), "ERR_KEY_PASSPHRASE");
    });
  }

  it("a public key read from a private JSON key file carries no private value", () => {
    const { privateText } = exportKeyFiles(ED);
    const pub = parsePublicKey(privateText);
    assert.equal(pub.keyid, ED.public.keyid);
    assert.deepEqual(Object.keys(pub.meta.keyval), ["public"]);
    assert.equal("keyid" in pub.meta, false);
  });

  it("a public key read from a private PEM is the public half", () => {
    const pem = RSA.key.export({ type: "pkcs8", format: "pem" }) as string;
    const pub = parsePublicKey(pem);
    assert.equal(keyFingerprint(pub), keyFingerprint(RSA.public));
    assert.doesNotMatch(pub.meta.keyval.public, /PRIVATE/);
  });

  it("reads SEC1, PKCS#8 and PKCS#1 PEM private keys and traditional encrypted PEM", () => {
    const sec1 = P256.key.export({ type: "sec1", format: "pem" }) as string;
    assert.equal(parsePrivateKey(sec1).public.keyid, P256.public.keyid);
    const pkcs8 = ED.key.export({ type: "pkcs8", format: "pem" }) as string;
    assert.equal(parsePrivateKey(pkcs8).public.keyid, ED.public.keyid);
    const encSec1 = P256.key.export({
      type: "sec1",
      format: "pem",
      cipher: "aes-128-cbc",
      passphrase: "pw",
    }) as string;
    assert.match(encSec1, /Proc-Type: 4,ENCRYPTED/);
    assert.equal(parsePrivateKey(encSec1, { passphrase: "pw" }).public.keyid, P256.public.keyid);
    assertCode(() => parsePrivateKey(encSec1), "ERR_KEY_PASSPHRASE");
    assertCode(() => parsePrivateKey(encSec1, { passphrase: "nope" }), "ERR_KEY_PASSPHRASE");
  });

  it("securesystemslib's encryption refuses a tampered ciphertext and an absurd iteration count", () => {
    const enc = encryptSslibKey("secret", "pw", 1000);
    assert.equal(decryptSslibKey(enc, "pw"), "secret");
    const parts = enc.split("@@@@");
    const ct = parts[4]!;
    parts[4] = (ct[0] === "0" ? "1" : "0") + ct.slice(1);
    assertCode(() => decryptSslibKey(parts.join("@@@@"), "pw"), "ERR_KEY_PASSPHRASE");
    const many = enc.split("@@@@");
    many[1] = "99999999999";
    assertCode(() => decryptSslibKey(many.join("@@@@"), "pw"), "ERR_KEY_INVALID");
  });
});

describe("refusals", () => {
  it("wrong key type for the scheme", () => {
    assertCode(() => publicKeyFromKeyObject(ED.key, "rsassa-pss-sha256"), "ERR_KEY_INVALID", {
      field: "scheme",
    });
    assertCode(() => publicKeyFromKeyObject(RSA.key, "ed25519"), "ERR_KEY_INVALID", { field: "scheme" });
    assertCode(() => publicKeyFromKeyObject(RSA.key, "ecdsa-sha2-nistp256"), "ERR_KEY_INVALID");
    assertCode(() => publicKeyFromKeyObject(P256.key, "ecdsa-sha2-nistp384"), "ERR_KEY_INVALID");
    assertCode(() => publicKeyFromKeyObject(P384.key, "ecdsa-sha2-nistp256"), "ERR_KEY_INVALID");
    assertCode(() => sslibMetaOf(P256.public.key, "ed25519"), "ERR_KEY_INVALID");
    const ecPem = P256.public.meta.keyval.public;
    const rsaPem = RSA.public.meta.keyval.public;
    // keytype and scheme disagree
    assertCode(
      () =>
        publicKeyFromSslib({ keytype: "ed25519", scheme: "ecdsa-sha2-nistp256", keyval: { public: ecPem } }),
      "ERR_KEY_INVALID",
      { field: "keytype" },
    );
    // keytype and scheme agree, but the key material is of another type
    assertCode(
      () => publicKeyFromSslib({ keytype: "rsa", scheme: "rsassa-pss-sha256", keyval: { public: ecPem } }),
      "ERR_KEY_INVALID",
    );
    assertCode(
      () =>
        publicKeyFromSslib({ keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256", keyval: { public: rsaPem } }),
      "ERR_KEY_INVALID",
    );
    assertCode(() => parsePublicKey(rsaPem, "k.pub", "ed25519"), "ERR_KEY_INVALID", { file: "k.pub" });
  });

  it("unknown or missing scheme, missing keytype or keyval.public", () => {
    const pub = { public: RFC8032_PUBLIC };
    assertCode(
      () => publicKeyFromSslib({ keytype: "ed25519", scheme: "ed448", keyval: pub }),
      "ERR_KEY_INVALID",
      {
        field: "scheme",
      },
    );
    assertCode(() => publicKeyFromSslib({ keytype: "ed25519", keyval: pub }), "ERR_KEY_INVALID", {
      field: "scheme",
    });
    assertCode(() => publicKeyFromSslib({ scheme: "ed25519", keyval: pub }), "ERR_KEY_INVALID", {
      field: "keytype",
    });
    assertCode(
      () => publicKeyFromSslib({ keytype: "ed25519", scheme: "ed25519", keyval: {} }),
      "ERR_KEY_INVALID",
      {
        field: "keyval.public",
      },
    );
    assertCode(() => publicKeyFromSslib({ keytype: "ed25519", scheme: "ed25519" }), "ERR_KEY_INVALID");
    assertCode(() => publicKeyFromSslib([]), "ERR_KEY_INVALID");
    assertCode(() => publicKeyFromSslib(null), "ERR_KEY_INVALID");
    // "toString" is on Object.prototype, not a scheme.
    assertCode(
      () => publicKeyFromSslib({ keytype: "ed25519", scheme: "toString", keyval: pub }),
      "ERR_KEY_INVALID",
    );
  });

  it("an ed25519 public key that is not 32 bytes of hex", () => {
    for (const hex of [RFC8032_PUBLIC.slice(2), `${RFC8032_PUBLIC}00`, "", `${RFC8032_PUBLIC.slice(1)}g`]) {
      assertCode(
        () => publicKeyFromSslib({ keytype: "ed25519", scheme: "ed25519", keyval: { public: hex } }),
        "ERR_KEY_INVALID",
        { field: "keyval.public" },
      );
    }
  });

  it("private key material in keyval.public", () => {
    const privPem = P256.key.export({ type: "pkcs8", format: "pem" }) as string;
    assertCode(
      () =>
        publicKeyFromSslib({ keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256", keyval: { public: privPem } }),
      "ERR_KEY_INVALID",
      { field: "keyval.public" },
    );
  });

  it("garbage PEM and garbage text", () => {
    const garbageDer = "-----BEGIN PUBLIC KEY-----\nAAECAwQF\n-----END PUBLIC KEY-----\n";
    assertCode(() => parsePublicKey(garbageDer, "k.pub"), "ERR_KEY_INVALID", { file: "k.pub" });
    assertCode(() => parsePublicKey(garbageDer), "ERR_KEY_INVALID", { file: undefined });
    const garbagePriv = garbageDer.replace(/PUBLIC/g, "PRIVATE");
    assertCode(() => parsePrivateKey(garbagePriv, { file: "k" }), "ERR_KEY_INVALID", { file: "k" });
    assertCode(() => parsePrivateKey(garbageDer.replace(/PUBLIC/g, "RSA PRIVATE")), "ERR_KEY_INVALID");
    assertCode(() => parsePublicKey("hello", "k.pub"), "ERR_KEY_INVALID", { file: "k.pub" });
    assertCode(() => parsePrivateKey("hello"), "ERR_KEY_INVALID");
    assertCode(() => parsePublicKey(""), "ERR_KEY_INVALID");
    // A PEM body that is not base64 at all is an encoding error, reported with the file.
    assertCode(
      () => parsePublicKey("-----BEGIN PUBLIC KEY-----\nAA!A\n-----END PUBLIC KEY-----\n", "k.pub"),
      "ERR_ENCODING_INVALID",
      {
        file: "k.pub",
      },
    );
    assertCode(() => parsePublicKey("{not json", "k.pub"), "ERR_JSON_MALFORMED", { file: "k.pub" });
  });

  it("a private key whose public part does not match", () => {
    for (const [a, b] of [
      [ED, generateKey("ed25519")],
      [P256, generateKey("ecdsa")],
    ] as const) {
      const aJson = JSON.parse(exportKeyFiles(a).privateText);
      const bJson = JSON.parse(exportKeyFiles(b).privateText);
      const mixed = JSON.stringify({
        ...aJson,
        keyval: { public: aJson.keyval.public, private: bJson.keyval.private },
      });
      assertCode(() => parsePrivateKey(mixed, { file: "k" }), "ERR_KEY_INVALID", {
        field: "keyval.private",
        file: "k",
      });
    }
  });

  it("an ed25519 private seed that is not 32 bytes, or missing", () => {
    const json = JSON.parse(exportKeyFiles(ED).privateText);
    const withPrivate = (priv: string) =>
      JSON.stringify({ ...json, keyval: { ...json.keyval, private: priv } });
    for (const priv of [json.keyval.private.slice(2), `${json.keyval.private}00`]) {
      assertCode(() => parsePrivateKey(withPrivate(priv)), "ERR_KEY_INVALID", { field: "keyval.private" });
    }
    // Not hex at all: the encoding error, at the same field.
    assertCode(() => parsePrivateKey(withPrivate("zz")), "ERR_ENCODING_INVALID", { field: "keyval.private" });
    assertCode(() => parsePrivateKey(exportKeyFiles(ED).publicText), "ERR_KEY_INVALID", {
      field: "keyval.private",
    });
  });

  it("unsupported curves (P-521, secp256k1) and key types (x25519, dsa)", () => {
    for (const namedCurve of ["P-521", "secp256k1"]) {
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve });
      assertCode(() => publicKeyFromKeyObject(publicKey), "ERR_KEY_INVALID");
      const spki = publicKey.export({ type: "spki", format: "pem" }) as string;
      assertCode(() => parsePublicKey(spki, "k.pub"), "ERR_KEY_INVALID", { file: "k.pub" });
      assertCode(
        () => parsePrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string),
        "ERR_KEY_INVALID",
      );
      assertCode(
        () =>
          publicKeyFromSslib({ keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256", keyval: { public: spki } }),
        "ERR_KEY_INVALID",
      );
    }
    const x = generateKeyPairSync("x25519");
    assertCode(
      () => parsePublicKey(x.publicKey.export({ type: "spki", format: "pem" }) as string),
      "ERR_KEY_INVALID",
    );
    assertCode(
      () => parsePrivateKey(x.privateKey.export({ type: "pkcs8", format: "pem" }) as string),
      "ERR_KEY_INVALID",
    );
    const dsa = generateKeyPairSync("dsa", { modulusLength: 1024, divisorLength: 160 });
    assertCode(() => publicKeyFromKeyObject(dsa.publicKey), "ERR_KEY_INVALID");
  });

  it("verifyWith returns false rather than throwing for a key that does not fit the claimed scheme", () => {
    const lying = { ...ED.public, scheme: "rsassa-pss-sha256" as Scheme };
    assert.equal(verifyWith(lying, DATA, signWith(ED, DATA)), false);
  });
});

describe("spkiDerOf", () => {
  it("is the key's SPKI DER, the same for a private key and its public key, exported once", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const der = publicKey.export({ type: "spki", format: "der" });
    assert.ok(spkiDerOf(publicKey).equals(der));
    assert.ok(spkiDerOf(privateKey).equals(der));
    assert.equal(spkiDerOf(publicKey), spkiDerOf(publicKey));
  });
});
