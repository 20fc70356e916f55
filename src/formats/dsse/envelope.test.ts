// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  CairnError,
  generateKey,
  KeyRing,
  keySigner,
  type PrivateKey,
  parsePrivateKey,
  publicKeyFromKeyObject,
  publicKeyFromSslib,
} from "../../core/index.js";
import { type Envelope, pae, parseEnvelope, signEnvelope, verifyEnvelope } from "./envelope.js";

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code);
    return true;
  });
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");

// --- DSSE protocol.md, section "Test Vectors" ---------------------------------------------------

describe("protocol.md test vector", () => {
  test("PAE of the example", () => {
    // protocol.md "Test Vectors": SERIALIZED_BODY `hello world`, PAYLOAD_TYPE
    // `http://example.com/HelloWorld`, PAE `DSSEv1 29 http://example.com/HelloWorld 11 hello world`.
    assert.equal(
      pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString("latin1"),
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });

  // protocol.md "Test Vectors": ECDSA over NIST P-256 and SHA-256, deterministic-rfc6979, the
  // signature a raw concatenation of r and s; X, Y, d in decimal; the resulting JSON envelope.
  const X = "46950820868899156662930047687818585632848591499744589407958293238635476079160";
  const Y = "5640078356564379163099075877009565129882514886557779369047442380624545832820";
  const ENVELOPE = `{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}`;
  const coord = (d: string) =>
    Buffer.from(BigInt(d).toString(16).padStart(64, "0"), "hex").toString("base64url");
  const pub = createPublicKey({ key: { kty: "EC", crv: "P-256", x: coord(X), y: coord(Y) }, format: "jwk" });

  /** r||s (IEEE P1363) to the DER SEQUENCE of two INTEGERs that cairn's ECDSA schemes use. */
  function rawToDer(raw: Buffer): Buffer {
    const int = (b: Buffer) => {
      let i = 0;
      while (i < b.length - 1 && b[i] === 0) i++;
      const v = b.subarray(i);
      const body = v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v;
      return Buffer.concat([Buffer.from([0x02, body.length]), body]);
    };
    const seq = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
    return Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
  }

  test("the spec's signature covers our PAE of the example", () => {
    const env = parseEnvelope(JSON.parse(ENVELOPE));
    const sig = Buffer.from(env.signatures[0]!.sig, "base64");
    const msg = pae(env.payloadType, Buffer.from(env.payload, "base64"));
    assert.ok(nodeVerify("sha256", msg, { key: pub, dsaEncoding: "ieee-p1363" }, sig));
  });

  test("verifyEnvelope accepts it once the signature is DER (cairn's ECDSA encoding), without a keyid", () => {
    const env = parseEnvelope(JSON.parse(ENVELOPE));
    const der = rawToDer(Buffer.from(env.signatures[0]!.sig, "base64"));
    const ring = new KeyRing([publicKeyFromKeyObject(pub)]);
    const v = verifyEnvelope({ ...env, signatures: [{ sig: b64(der) }] }, ring);
    assert.equal(v.payload.toString(), "hello world");
    assert.equal(v.payloadType, "http://example.com/HelloWorld");
    // The raw r||s form is not cairn's (securesystemslib's) ECDSA signature encoding.
    rejects(() => verifyEnvelope(env, ring), "ERR_DSSE_SIGNATURE_INVALID");
  });
});

// --- secure-systems-lab/dsse testvectors/vectors.json (commit 82043adf78bb), quoted by id --------
// Keys: RFC 8032 section 7.1, TEST 1 ("A") and TEST 2 ("B"); Ed25519 is deterministic, so the
// quoted signatures are also what signEnvelope must produce.

const RFC8032 = {
  A: {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  },
  B: {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    public: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
  },
} as const;

function rfcKey(name: keyof typeof RFC8032): PrivateKey {
  const k = RFC8032[name];
  return parsePrivateKey(
    JSON.stringify({ keytype: "ed25519", scheme: "ed25519", keyval: { public: k.public, private: k.seed } }),
  );
}

function ringOf(names: (keyof typeof RFC8032)[]): KeyRing {
  const ring = new KeyRing();
  for (const n of names) {
    ring.add(
      publicKeyFromSslib({ keytype: "ed25519", scheme: "ed25519", keyval: { public: RFC8032[n].public } }),
      n,
    );
  }
  return ring;
}

const IN_TOTO = "application/vnd.in-toto+json";
const STMT = "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==";
const SIG_A = "2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==";
const SIG_B = "c1+67/aT0yqEpwx8PsVY3MLHsj9D0CZ014/Fv/QlG59P+9CobUZ7xECJ/V3USG0Ob9CiE5LjReEZUzNF2l7eBw==";
const PAE_STMT =
  "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d";

interface Vector {
  id: string;
  envelope: Envelope;
  trusted: (keyof typeof RFC8032)[];
  threshold: number;
  supported: string[];
  pae: string;
  expect: "accept" | "reject";
}

const VECTORS: Vector[] = [
  {
    id: "single-signature",
    envelope: { payload: STMT, payloadType: IN_TOTO, signatures: [{ sig: SIG_A, keyid: "A" }] },
    trusted: ["A"],
    threshold: 1,
    supported: [IN_TOTO],
    pae: PAE_STMT,
    expect: "accept",
  },
  {
    id: "url-safe-base64",
    envelope: {
      payload: "-_-_Pj8=",
      payloadType: IN_TOTO,
      signatures: [
        {
          sig: "P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==",
          keyid: "A",
        },
      ],
    },
    trusted: ["A"],
    threshold: 1,
    supported: [IN_TOTO],
    pae: "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203520fbffbf3e3f",
    expect: "accept",
  },
  {
    id: "payload-type-swapped",
    envelope: {
      payload: STMT,
      payloadType: "application/vnd.example.other+json",
      signatures: [{ sig: SIG_A, keyid: "A" }],
    },
    trusted: ["A"],
    threshold: 1,
    supported: [IN_TOTO, "application/vnd.example.other+json"],
    pae: PAE_STMT,
    expect: "reject",
  },
  {
    id: "non-ascii-payload-type",
    envelope: {
      payload: STMT,
      payloadType: "application/vnd.exämple+json",
      signatures: [
        {
          sig: "xmSk/ug66ysT7ayhkCIjhAq42zgZXSsEWuzUaNL7w2eGAdF/NU6/fRXPtmfN+5DNSAs5/i2lUnHjbbjPsu0tAw==",
          keyid: "A",
        },
      ],
    },
    trusted: ["A"],
    threshold: 1,
    supported: ["application/vnd.exämple+json"],
    pae: "445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d",
    expect: "accept",
  },
  {
    id: "empty-payload",
    envelope: {
      payload: "",
      payloadType: IN_TOTO,
      signatures: [
        {
          sig: "gSggCAaTLTYyRH6FIDBem6meyIynsYy8RTHVzwx9tnTb7Bg/1jMWnuVgI/gffqmbsC2VX5/jHfkkDqsj7CDbDg==",
          keyid: "A",
        },
      ],
    },
    trusted: ["A"],
    threshold: 1,
    supported: [IN_TOTO],
    pae: "445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020",
    expect: "accept",
  },
  {
    id: "empty-payload-type",
    envelope: {
      payload: STMT,
      payloadType: "",
      signatures: [
        {
          sig: "iC3q/+3Rm0+lpAJRueDmDh15PnwCfxKmS0NAfKsbv+zgulXQC/WM9trc+j1XEqlwDIg/vf/uNfebeD6sxInrDg==",
          keyid: "A",
        },
      ],
    },
    trusted: ["A"],
    threshold: 1,
    supported: [IN_TOTO],
    pae: "445353457631203020203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d",
    expect: "reject",
  },
  {
    id: "threshold-two-distinct-keys",
    envelope: {
      payload: STMT,
      payloadType: IN_TOTO,
      signatures: [
        { sig: SIG_A, keyid: "A" },
        { sig: SIG_B, keyid: "B" },
      ],
    },
    trusted: ["A", "B"],
    threshold: 2,
    supported: [IN_TOTO],
    pae: PAE_STMT,
    expect: "accept",
  },
  {
    id: "threshold-two-one-key-twice",
    envelope: {
      payload: STMT,
      payloadType: IN_TOTO,
      signatures: [
        { sig: SIG_A, keyid: "A" },
        { sig: SIG_A, keyid: "A" },
      ],
    },
    trusted: ["A", "B"],
    threshold: 2,
    supported: [IN_TOTO],
    pae: PAE_STMT,
    expect: "reject",
  },
  {
    id: "threshold-two-without-keyids",
    envelope: { payload: STMT, payloadType: IN_TOTO, signatures: [{ sig: SIG_A }, { sig: SIG_B }] },
    trusted: ["A", "B"],
    threshold: 2,
    supported: [IN_TOTO],
    pae: PAE_STMT,
    expect: "accept",
  },
];

/**
 * The whole protocol.md "Multi-signature Verification" procedure: verifyEnvelope checks the
 * signatures; "Reject if PAYLOAD_TYPE is not a supported type" is the caller's step.
 */
function checkVector(v: Vector): "accept" | "reject" {
  try {
    const out = verifyEnvelope(parseEnvelope(v.envelope), ringOf(v.trusted), v.threshold);
    return v.supported.includes(out.payloadType) ? "accept" : "reject";
  } catch (e) {
    if (e instanceof CairnError && e.code === "ERR_DSSE_SIGNATURE_INVALID") return "reject";
    throw e;
  }
}

describe("DSSE test vectors (testvectors/vectors.json)", () => {
  for (const v of VECTORS) {
    test(`${v.id}: ${v.expect}`, () => {
      assert.equal(checkVector(v), v.expect);
    });
  }

  test("pae() matches every vector's PAE hex (except payload-type-swapped, whose PAE is the original type's)", () => {
    for (const v of VECTORS) {
      if (v.id === "payload-type-swapped") continue;
      const body = Buffer.from(v.envelope.payload, v.envelope.payload.includes("-") ? "base64url" : "base64");
      assert.equal(pae(v.envelope.payloadType, body).toString("hex"), v.pae, v.id);
    }
  });

  test("signEnvelope reproduces the deterministic Ed25519 signatures", async () => {
    const env = await signEnvelope(IN_TOTO, Buffer.from(STMT, "base64"), [
      keySigner(rfcKey("A")),
      keySigner(rfcKey("B")),
    ]);
    assert.deepEqual(
      env.signatures.map((s) => s.sig),
      [SIG_A, SIG_B],
    );
    assert.equal(env.payload, STMT);
  });

  test("empty-payload-type: the signatures verify, so the type check must be the caller's", () => {
    const v = VECTORS.find((x) => x.id === "empty-payload-type")!;
    assert.equal(verifyEnvelope(v.envelope, ringOf(["A"])).payloadType, "");
  });
});

// --- multiple signatures and thresholds ----------------------------------------------------------

describe("verifyEnvelope: signatures and thresholds", () => {
  const k1 = generateKey("ed25519");
  const k2 = generateKey("ed25519");
  const k3 = generateKey("ed25519");
  const outsider = generateKey("ed25519");
  const ring = new KeyRing([k1.public, k2.public, k3.public]);
  const body = Buffer.from('{"hello":"world"}');
  const sign = (keys: PrivateKey[], type = IN_TOTO, payload: Uint8Array = body) =>
    signEnvelope(type, payload, keys.map(keySigner));

  test("three signers add three signatures with their keyids", async () => {
    const env = await sign([k1, k2, k3]);
    assert.deepEqual(
      env.signatures.map((s) => s.keyid),
      [k1.public.keyid, k2.public.keyid, k3.public.keyid],
    );
    const v = verifyEnvelope(env, ring, 3);
    assert.deepEqual(new Set(v.keyids), new Set([k1.public.keyid, k2.public.keyid, k3.public.keyid]));
    assert.deepEqual(v.payload, body);
    rejects(() => verifyEnvelope(env, ring, 4), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("2 of 3 distinct trusted keys meet a threshold of 2, not 3", async () => {
    const env = await sign([k1, k3]);
    assert.equal(verifyEnvelope(env, ring, 2).keyids.length, 2);
    rejects(() => verifyEnvelope(env, ring, 3), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("the same key signing twice counts once", async () => {
    const env = await sign([k1, k1]);
    assert.equal(env.signatures.length, 2);
    assert.deepEqual(verifyEnvelope(env, ring, 1).keyids, [k1.public.keyid]);
    rejects(() => verifyEnvelope(env, ring, 2), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("one key registered under two ids still counts once", async () => {
    const twice = new KeyRing([k1.public, k2.public]);
    twice.add(k1.public, "k1-alias");
    const env = await sign([k1]);
    const sig = env.signatures[0]!.sig;
    const two: Envelope = {
      ...env,
      signatures: [
        { keyid: k1.public.keyid, sig },
        { keyid: "k1-alias", sig },
      ],
    };
    rejects(() => verifyEnvelope(two, twice, 2), "ERR_DSSE_SIGNATURE_INVALID");
    const bare: Envelope = { ...env, signatures: [{ sig }, { sig }] };
    rejects(() => verifyEnvelope(bare, twice, 2), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("an untrusted signer does not count, with or without its keyid", async () => {
    const env = await sign([k1, outsider]);
    assert.deepEqual(verifyEnvelope(env, ring, 1).keyids, [k1.public.keyid]);
    rejects(() => verifyEnvelope(env, ring, 2), "ERR_DSSE_SIGNATURE_INVALID");
    const noHint: Envelope = { ...env, signatures: env.signatures.map(({ sig }) => ({ sig })) };
    rejects(() => verifyEnvelope(noHint, ring, 2), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("an unknown keyid narrows the candidates to none (protocol.md: filter by KEYID)", async () => {
    const env = await sign([k1]);
    const unknown: Envelope = { ...env, signatures: [{ keyid: "no-such-key", sig: env.signatures[0]!.sig }] };
    rejects(() => verifyEnvelope(unknown, ring), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("a keyid naming another trusted key does not let the signature count for that key", async () => {
    const env = await sign([k1]);
    const lying: Envelope = { ...env, signatures: [{ keyid: k2.public.keyid, sig: env.signatures[0]!.sig }] };
    rejects(() => verifyEnvelope(lying, ring), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("with no keyid hint every trusted key is tried", async () => {
    const env = await sign([k3, k2]);
    const bare: Envelope = { ...env, signatures: env.signatures.map(({ sig }) => ({ sig })) };
    assert.deepEqual(
      new Set(verifyEnvelope(bare, ring, 2).keyids),
      new Set([k3.public.keyid, k2.public.keyid]),
    );
  });

  test("a signature that is not base64 is skipped; the others still count", async () => {
    const env = await sign([k1, k2]);
    const bad: Envelope = {
      ...env,
      signatures: [{ keyid: k1.public.keyid, sig: "%%%not base64%%%" }, env.signatures[1]!],
    };
    assert.deepEqual(verifyEnvelope(bad, ring, 1).keyids, [k2.public.keyid]);
    rejects(() => verifyEnvelope(bad, ring, 2), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("a payload that is not base64 is refused as a format error", async () => {
    const env = await sign([k1]);
    rejects(() => verifyEnvelope({ ...env, payload: "***" }, ring), "ERR_ENCODING_INVALID");
    rejects(() => parseEnvelope({ ...env, payload: "a" }), "ERR_ENCODING_INVALID");
  });

  test("a tampered payload fails", async () => {
    const env = await sign([k1, k2]);
    rejects(
      () => verifyEnvelope({ ...env, payload: b64('{"hello":"World"}') }, ring),
      "ERR_DSSE_SIGNATURE_INVALID",
    );
    rejects(
      () => verifyEnvelope({ ...env, payload: b64(Buffer.concat([body, Buffer.from(" ")])) }, ring),
      "ERR_DSSE_SIGNATURE_INVALID",
    );
  });

  test("a tampered payloadType fails", async () => {
    const env = await sign([k1, k2]);
    for (const t of ["application/vnd.in-toto+JSON", "application/json", "", `${IN_TOTO} `]) {
      rejects(() => verifyEnvelope({ ...env, payloadType: t }, ring), "ERR_DSSE_SIGNATURE_INVALID");
    }
  });

  test("no signatures, or an empty key ring, fail", async () => {
    const env = await sign([k1]);
    rejects(() => verifyEnvelope({ ...env, signatures: [] }, ring), "ERR_DSSE_SIGNATURE_INVALID");
    rejects(() => verifyEnvelope(env, new KeyRing()), "ERR_DSSE_SIGNATURE_INVALID");
  });

  test("a threshold below 1 is a usage error", async () => {
    const env = await sign([k1]);
    rejects(() => verifyEnvelope(env, ring, 0), "ERR_USAGE");
    rejects(() => verifyEnvelope(env, ring, -1), "ERR_USAGE");
  });

  test("a NaN or fractional threshold is refused, never a pass", async () => {
    const env = await sign([outsider]);
    rejects(() => verifyEnvelope(env, ring, Number.NaN), "ERR_USAGE");
    rejects(() => verifyEnvelope(env, ring, 1.5), "ERR_USAGE");
  });
});

describe("parseEnvelope", () => {
  test("names the bad field", () => {
    const ok = { payloadType: IN_TOTO, payload: STMT, signatures: [{ sig: SIG_A }] };
    const field = (v: unknown, f: string) =>
      assert.throws(
        () => parseEnvelope(v),
        (e: unknown) => e instanceof CairnError && e.code === "ERR_FIELD_INVALID" && e.field === f,
      );
    field([], "$");
    field({ ...ok, payloadType: 1 }, "payloadType");
    field({ ...ok, payload: undefined }, "payload");
    field({ ...ok, signatures: {} }, "signatures");
    field({ ...ok, signatures: [{ sig: SIG_A }, { keyid: "x" }] }, "signatures[1].sig");
    field({ ...ok, signatures: [{ sig: SIG_A, keyid: 7 }] }, "signatures[0].keyid");
  });

  test("keeps unknown fields", () => {
    const env = { payloadType: IN_TOTO, payload: STMT, signatures: [{ sig: SIG_A, x: 1 }], extra: true };
    assert.deepEqual(parseEnvelope(JSON.parse(JSON.stringify(env))), env);
  });
});

// --- properties ----------------------------------------------------------------------------------

describe("properties", () => {
  test("PAE is injective: different (type, body) pairs give different encodings", () => {
    // Types and bodies full of spaces and digits, the characters an ambiguous encoding would confuse.
    const tricky = fc.string({
      unit: fc.constantFrom(" ", "1", "2", "D", "S", "E", "v", "é"),
      maxLength: 12,
    });
    const type = fc.oneof(fc.string(), tricky);
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      tricky.map((s) => Buffer.from(s)),
    );
    fc.assert(
      fc.property(type, body, type, body, (t1, b1, t2, b2) => {
        const same = t1 === t2 && Buffer.from(b1).equals(Buffer.from(b2));
        assert.equal(pae(t1, b1).equals(pae(t2, b2)), same);
      }),
      { numRuns: 2000 },
    );
  });

  test("PAE is injective on pairs whose concatenation is the same", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), fc.nat(), (s1, s2, cut) => {
        const joined = s1 + s2;
        const i = cut % (joined.length + 1);
        if (i === s1.length) return;
        assert.notDeepEqual(pae(s1, Buffer.from(s2)), pae(joined.slice(0, i), Buffer.from(joined.slice(i))));
      }),
    );
  });

  test("PAE refuses a payloadType with lone surrogates (they would collide with U+FFFD)", () => {
    const empty = Buffer.alloc(0);
    assert.throws(() => pae(`${IN_TOTO}\uD800`, empty), { code: "ERR_FIELD_INVALID" });
    assert.ok(pae(`${IN_TOTO}\uFFFD`, empty).length > 0);
  });

  const keys: [string, PrivateKey][] = [
    ["ed25519", generateKey("ed25519")],
    ["ecdsa P-256", generateKey("ecdsa")],
    ["ecdsa P-384", generateKey("ecdsa", { curve: "P-384" })],
    ["rsa", generateKey("rsa", { bits: 2048 })],
  ];

  for (const [name, key] of keys) {
    test(`sign then verify round-trips (${name}), through JSON and parseEnvelope`, async () => {
      const ring = new KeyRing([key.public]);
      await fc.assert(
        fc.asyncProperty(fc.string(), fc.uint8Array({ maxLength: 256 }), async (type, payload) => {
          const env = await signEnvelope(type, payload, [keySigner(key)]);
          const v = verifyEnvelope(parseEnvelope(JSON.parse(JSON.stringify(env))), ring);
          assert.equal(v.payloadType, type);
          assert.deepEqual(new Uint8Array(v.payload), payload);
          assert.deepEqual(v.keyids, [key.public.keyid]);
        }),
        { numRuns: name === "rsa" ? 25 : 60 },
      );
    });

    test(`any single-byte change in the payload fails (${name})`, async () => {
      const ring = new KeyRing([key.public]);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ minLength: 1, maxLength: 128 }),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          async (payload, at, delta) => {
            const env = await signEnvelope(IN_TOTO, payload, [keySigner(key)]);
            const changed = Buffer.from(payload);
            const i = at % changed.length;
            changed[i] = (changed[i]! + delta) & 0xff;
            rejects(
              () => verifyEnvelope({ ...env, payload: b64(changed) }, ring),
              "ERR_DSSE_SIGNATURE_INVALID",
            );
          },
        ),
        { numRuns: name === "rsa" ? 25 : 60 },
      );
    });
  }
});
