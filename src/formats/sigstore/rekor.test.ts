// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash, sign } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { toPem } from "../../core/encoding.js";
import {
  clone,
  dsseBundle,
  ecKey,
  hashedRekordBody,
  makeIdentity,
  messageBundle,
} from "../../testing/sigstore-kit.js";
import { verifyInclusion } from "../tlog/merkle.js";
import { type Bundle, parseBundle } from "./bundle.js";
import { checkEntryMatchesBundle, isSupportedEntryKind, leafHashOfEntry, parseRekorBody } from "./rekor.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate untyped JSON documents freely
type J = Record<string, any>;
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString("base64");
const MISMATCH = "ERR_SIGSTORE_TLOG_BODY_MISMATCH";
const INVALID = "ERR_REKOR_BODY_INVALID";

function throwsCode(fn: () => unknown, code: string, field?: string): void {
  assert.throws(fn, (e: { code: string; field?: string; message: string }) => {
    assert.equal(e.code, code, `${e.code}: ${e.message}`);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

/** The first entry of a bundle and the bundle, parsed. */
function parsed(json: J): { bundle: Bundle; entry: Bundle["verificationMaterial"]["tlogEntries"][0] } {
  const bundle = parseBundle(json);
  return { bundle, entry: bundle.verificationMaterial.tlogEntries[0]! };
}

/** Replaces the first entry's body with `body` (an object, serialized here). */
function withBody(json: J, body: unknown): J {
  const j = clone(json);
  j.verificationMaterial.tlogEntries[0].canonicalizedBody = b64(JSON.stringify(body));
  return j;
}
const bodyOf = (json: J): J =>
  JSON.parse(Buffer.from(json.verificationMaterial.tlogEntries[0].canonicalizedBody, "base64").toString());

describe("leafHashOfEntry", () => {
  it("is the RFC 6962 2.1 leaf hash, SHA-256(0x00 || body)", () => {
    // RFC 6962 2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). For the empty leaf this is SHA-256 of the
    // single byte 0x00.
    assert.equal(
      leafHashOfEntry(new Uint8Array()).toString("hex"),
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
    const body = Buffer.from('{"kind":"x"}');
    assert.deepEqual(
      leafHashOfEntry(body),
      createHash("sha256")
        .update(Buffer.from([0]))
        .update(body)
        .digest(),
    );
  });

  it("verifies the bundle's inclusion proof for its body", () => {
    for (const v of ["0.2", "0.3"] as const) {
      const { entry } = parsed(messageBundle(v).json);
      const p = entry.inclusionProof!;
      verifyInclusion(leafHashOfEntry(entry.canonicalizedBody), p.logIndex, p.treeSize, p.hashes, p.rootHash);
      const tampered = Buffer.from(entry.canonicalizedBody);
      tampered[tampered.length - 2]! ^= 1;
      assert.throws(
        () => verifyInclusion(leafHashOfEntry(tampered), p.logIndex, p.treeSize, p.hashes, p.rootHash),
        {
          code: "ERR_TLOG_PROOF_INVALID",
        },
      );
    }
  });
});

describe("parseRekorBody", () => {
  it("reads a hashedrekord 0.0.1 body (rekor hashedrekord_v0_0_1_schema.json)", () => {
    const m = messageBundle("0.3");
    const body = parseRekorBody(m.body, { kind: "hashedrekord", version: "0.0.1" });
    assert.equal(body.kind, "hashedrekord");
    if (body.kind !== "hashedrekord") return;
    assert.deepEqual(body.data.value, createHash("sha256").update(m.artifact).digest());
    assert.equal(body.data.algorithm, "sha256");
    assert.match(body.publicKey.toString(), /^-----BEGIN CERTIFICATE-----/);
  });

  it("reads a dsse 0.0.1 body and an intoto 0.0.2 body, whose sig is base64 twice", () => {
    const d = dsseBundle("0.3", "dsse");
    const db = parseRekorBody(parsed(d.json).entry.canonicalizedBody);
    assert.equal(db.kind, "dsse");
    if (db.kind === "dsse") assert.deepEqual(db.signatures[0]?.signature, d.sig);
    const i = dsseBundle("0.3", "intoto");
    const ib = parseRekorBody(parsed(i.json).entry.canonicalizedBody);
    assert.equal(ib.kind, "intoto");
    if (ib.kind === "intoto") {
      assert.deepEqual(ib.signatures[0]?.sig, i.sig);
      assert.equal(ib.payloadType, "application/vnd.in-toto+json");
    }
  });

  it("refuses a body of another kind or version than the entry says", () => {
    const m = messageBundle("0.3");
    throwsCode(() => parseRekorBody(m.body, { kind: "dsse", version: "0.0.1" }), INVALID, "kind");
    throwsCode(() => parseRekorBody(m.body, { kind: "hashedrekord", version: "0.0.2" }), INVALID, "kind");
  });

  it("refuses kinds it does not read", () => {
    for (const [kind, apiVersion] of [
      ["rekord", "0.0.1"],
      ["hashedrekord", "0.0.3"],
      ["intoto", "0.0.1"],
      ["dsse", "0.0.3"],
    ]) {
      throwsCode(
        () => parseRekorBody(Buffer.from(JSON.stringify({ kind, apiVersion, spec: {} }))),
        INVALID,
        "kind",
      );
      assert.equal(isSupportedEntryKind({ kind: kind!, version: apiVersion! }), false);
    }
    assert.equal(isSupportedEntryKind({ kind: "intoto", version: "0.0.2" }), true);
  });

  it("reads Rekor v2 bodies (hashedrekord and dsse 0.0.2, rekor-tiles entry.proto) and refuses malformed ones", () => {
    const der = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");
    const verifier = {
      keyDetails: "PKIX_ECDSA_P256_SHA_256",
      publicKey: { rawBytes: der.toString("base64") },
    };
    const hr = {
      kind: "hashedrekord",
      apiVersion: "0.0.2",
      spec: {
        hashedRekordV002: {
          data: { algorithm: "SHA2_256", digest: Buffer.alloc(32, 1).toString("base64") },
          signature: { content: "AQID", verifier },
        },
      },
    };
    const b = parseRekorBody(Buffer.from(JSON.stringify(hr)));
    assert.equal(b.kind === "hashedrekord" && b.data.algorithm, "sha256");
    assert.ok(b.kind === "hashedrekord" && b.publicKey.toString().includes("BEGIN PUBLIC KEY"));
    const ds = {
      kind: "dsse",
      apiVersion: "0.0.2",
      spec: {
        dsseV002: {
          payloadHash: { algorithm: "SHA2_256", digest: Buffer.alloc(32, 2).toString("base64") },
          signatures: [{ content: "AQID", verifier }],
        },
      },
    };
    assert.equal(parseRekorBody(Buffer.from(JSON.stringify(ds))).kind, "dsse");
    for (const bad of [
      { ...hr, spec: {} },
      {
        ...hr,
        spec: {
          hashedRekordV002: { ...hr.spec.hashedRekordV002, data: { algorithm: "SHA2_256", digest: "AQID" } },
        },
      },
      {
        ...hr,
        spec: {
          hashedRekordV002: { ...hr.spec.hashedRekordV002, signature: { content: "AQID", verifier: {} } },
        },
      },
      { ...ds, spec: { dsseV002: { ...ds.spec.dsseV002, signatures: [] } } },
    ]) {
      assert.throws(() => parseRekorBody(Buffer.from(JSON.stringify(bad))), { code: INVALID });
    }
  });

  it("refuses malformed bodies, naming the field", () => {
    const hr = bodyOf(messageBundle("0.3").json);
    const ds = bodyOf(dsseBundle("0.3", "dsse").json);
    const it2 = bodyOf(dsseBundle("0.3", "intoto").json);
    const cases: [string, J, (b: J) => void, string][] = [
      [
        "upper-case hex",
        hr,
        (b) => (b.spec.data.hash.value = b.spec.data.hash.value.toUpperCase()),
        "spec.data.hash.value",
      ],
      ["short hex", hr, (b) => (b.spec.data.hash.value = "abcd"), "spec.data.hash.value"],
      ["md5", hr, (b) => (b.spec.data.hash.algorithm = "md5"), "spec.data.hash.algorithm"],
      [
        "sha512 with a sha256 value",
        hr,
        (b) => (b.spec.data.hash.algorithm = "sha512"),
        "spec.data.hash.value",
      ],
      ["no signature", hr, (b) => delete b.spec.signature.content, "spec.signature.content"],
      ["no public key", hr, (b) => delete b.spec.signature.publicKey, "spec.signature.publicKey"],
      ["no data", hr, (b) => delete b.spec.data, "spec.data"],
      ["no spec", hr, (b) => delete b.spec, "spec"],
      ["dsse proposedContent", ds, (b) => (b.spec.proposedContent = {}), "spec.proposedContent"],
      ["dsse no signatures", ds, (b) => (b.spec.signatures = []), "spec.signatures"],
      [
        "dsse sha384 payload hash",
        ds,
        (b) => (b.spec.payloadHash.algorithm = "sha384"),
        "spec.payloadHash.algorithm",
      ],
      [
        "dsse verifier not base64",
        ds,
        (b) => (b.spec.signatures[0].verifier = "??"),
        "spec.signatures[0].verifier",
      ],
      [
        "intoto single base64 sig",
        it2,
        (b) => (b.spec.content.envelope.signatures[0].sig = b64(Buffer.from([0xff, 0xfe]))),
        "spec.content.envelope.signatures[0].sig",
      ],
      [
        "intoto no payloadType",
        it2,
        (b) => delete b.spec.content.envelope.payloadType,
        "spec.content.envelope.payloadType",
      ],
      ["intoto no hash", it2, (b) => delete b.spec.content.hash, "spec.content.hash"],
      [
        "intoto keyid not a string",
        it2,
        (b) => (b.spec.content.envelope.signatures[0].keyid = 1),
        "spec.content.envelope.signatures[0].keyid",
      ],
    ];
    for (const [what, base, f, field] of cases) {
      const b = clone(base);
      f(b);
      assert.throws(
        () => parseRekorBody(Buffer.from(JSON.stringify(b))),
        (e: { code: string; field?: string }) => {
          assert.equal(e.code, INVALID, what);
          assert.equal(e.field, field, what);
          return true;
        },
      );
    }
    throwsCode(() => parseRekorBody(Buffer.from("not json")), INVALID, "canonicalizedBody");
    throwsCode(() => parseRekorBody(Buffer.from("[]")), INVALID, "$");
  });
});

describe("checkEntryMatchesBundle", () => {
  it("accepts each version and kind when the body is about the bundle", () => {
    for (const v of ["0.1", "0.2", "0.3"] as const) {
      const m = parsed(messageBundle(v).json);
      assert.equal(checkEntryMatchesBundle(m.entry, m.bundle).kind, "hashedrekord");
      for (const k of ["dsse", "intoto"] as const) {
        const d = parsed(dsseBundle(v, k).json);
        assert.equal(checkEntryMatchesBundle(d.entry, d.bundle).kind, k);
      }
    }
  });

  it("hashedrekord: refuses another signature, another digest, another certificate", () => {
    const m = messageBundle("0.3");
    const other = messageBundle("0.3", Buffer.from("other artifact"), m.id);
    // the other bundle's body (same signer, other artifact) with this bundle
    const j = clone(m.json);
    j.verificationMaterial.tlogEntries[0].canonicalizedBody =
      other.json.verificationMaterial.tlogEntries[0].canonicalizedBody;
    const a = parsed(j);
    throwsCode(() => checkEntryMatchesBundle(a.entry, a.bundle), MISMATCH, "spec.signature.content");

    // same signature, other digest
    const b = bodyOf(m.json);
    b.spec.data.hash.value = "0".repeat(64);
    const x = parsed(withBody(m.json, b));
    throwsCode(() => checkEntryMatchesBundle(x.entry, x.bundle), MISMATCH, "spec.data.hash");
    b.spec.data.hash.algorithm = "sha512";
    b.spec.data.hash.value = "0".repeat(128);
    const y = parsed(withBody(m.json, b));
    throwsCode(() => checkEntryMatchesBundle(y.entry, y.bundle), MISMATCH, "spec.data.hash");

    // a body naming another signer's certificate (the sigstore-js verifier does not check this)
    const stranger = makeIdentity();
    const c = bodyOf(m.json);
    c.spec.signature.publicKey.content = b64(toPem("CERTIFICATE", stranger.leafCert));
    const z = parsed(withBody(m.json, c));
    throwsCode(
      () => checkEntryMatchesBundle(z.entry, z.bundle),
      MISMATCH,
      "spec.signature.publicKey.content",
    );
    // ... or a bare public key where the bundle has a certificate
    c.spec.signature.publicKey.content = b64(toPem("PUBLIC KEY", m.id.key.spki));
    const w = parsed(withBody(m.json, c));
    throwsCode(
      () => checkEntryMatchesBundle(w.entry, w.bundle),
      MISMATCH,
      "spec.signature.publicKey.content",
    );
    // ... or two PEM blocks
    c.spec.signature.publicKey.content = b64(
      toPem("CERTIFICATE", m.id.leafCert) + toPem("CERTIFICATE", stranger.leafCert),
    );
    const u = parsed(withBody(m.json, c));
    throwsCode(
      () => checkEntryMatchesBundle(u.entry, u.bundle),
      MISMATCH,
      "spec.signature.publicKey.content",
    );
  });

  it("hashedrekord without a messageDigest still checks the signature and key", () => {
    const j = messageBundle("0.3").json;
    delete j.messageSignature.messageDigest;
    const p = parsed(j);
    assert.equal(checkEntryMatchesBundle(p.entry, p.bundle).kind, "hashedrekord");
  });

  it("refuses a body kind that does not fit the content", () => {
    const m = messageBundle("0.3");
    const d = dsseBundle("0.3", "dsse", m.id);
    const j = clone(d.json);
    j.verificationMaterial.tlogEntries[0] = m.json.verificationMaterial.tlogEntries[0];
    const a = parsed(j);
    throwsCode(() => checkEntryMatchesBundle(a.entry, a.bundle), MISMATCH, "kindVersion");
    const k = clone(m.json);
    k.verificationMaterial.tlogEntries[0] = d.json.verificationMaterial.tlogEntries[0];
    const b = parsed(k);
    throwsCode(() => checkEntryMatchesBundle(b.entry, b.bundle), MISMATCH, "kindVersion");
  });

  it("refuses an entry whose kindVersion disagrees with its body", () => {
    const j = messageBundle("0.3").json;
    j.verificationMaterial.tlogEntries[0].kindVersion = { kind: "dsse", version: "0.0.1" };
    const p = parsed(j);
    throwsCode(() => checkEntryMatchesBundle(p.entry, p.bundle), INVALID, "kind");
  });

  for (const kind of ["dsse", "intoto"] as const) {
    it(`${kind}: refuses another payload, another signature, another signer`, () => {
      const d = dsseBundle("0.3", kind);
      const hashField = kind === "dsse" ? "spec.payloadHash" : "spec.content.payloadHash";
      const sigsField = kind === "dsse" ? "spec.signatures" : "spec.content.envelope.signatures";
      const keyField =
        kind === "dsse" ? "spec.signatures[0].verifier" : "spec.content.envelope.signatures[0].publicKey";

      const j = clone(d.json);
      j.dsseEnvelope.payload = b64('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');
      const a = parsed(j);
      throwsCode(() => checkEntryMatchesBundle(a.entry, a.bundle), MISMATCH, hashField);

      const s = clone(d.json);
      s.dsseEnvelope.signatures[0].sig = b64(sign("sha256", Buffer.from("x"), d.id.key.privateKey));
      const b = parsed(s);
      throwsCode(() => checkEntryMatchesBundle(b.entry, b.bundle), MISMATCH, sigsField);

      // a body with the envelope's signature listed twice is not the envelope's signature set
      const body = bodyOf(d.json);
      const list = kind === "dsse" ? body.spec.signatures : body.spec.content.envelope.signatures;
      list.push(list[0]);
      const c = parsed(withBody(d.json, body));
      throwsCode(() => checkEntryMatchesBundle(c.entry, c.bundle), MISMATCH, sigsField);

      const other = makeIdentity();
      const body2 = bodyOf(d.json);
      const pem = b64(toPem("CERTIFICATE", other.leafCert));
      if (kind === "dsse") body2.spec.signatures[0].verifier = pem;
      else body2.spec.content.envelope.signatures[0].publicKey = pem;
      const e = parsed(withBody(d.json, body2));
      throwsCode(() => checkEntryMatchesBundle(e.entry, e.bundle), MISMATCH, keyField);
    });
  }

  it("intoto: refuses another payload type", () => {
    const d = dsseBundle("0.3", "intoto");
    const body = bodyOf(d.json);
    body.spec.content.envelope.payloadType = "application/json";
    const p = parsed(withBody(d.json, body));
    throwsCode(
      () => checkEntryMatchesBundle(p.entry, p.bundle),
      MISMATCH,
      "spec.content.envelope.payloadType",
    );
  });

  it("public key bundles: the body must name the verifier's key, which the caller must give", () => {
    const key = ecKey();
    const artifact = Buffer.from("artifact");
    const digest = createHash("sha256").update(artifact).digest();
    const sig = sign("sha256", artifact, key.privateKey);
    const j = messageBundle("0.3").json;
    delete j.verificationMaterial.certificate;
    j.verificationMaterial.publicKey = { hint: "k" };
    j.messageSignature = {
      messageDigest: { algorithm: "SHA2_256", digest: b64(digest) },
      signature: b64(sig),
    };
    const body = JSON.parse(
      hashedRekordBody(digest, sig, Buffer.from(toPem("PUBLIC KEY", key.spki))).toString(),
    );
    const p = parsed(withBody(j, body));
    assert.equal(
      checkEntryMatchesBundle(p.entry, p.bundle, { publicKey: key.publicKey }).kind,
      "hashedrekord",
    );
    throwsCode(() => checkEntryMatchesBundle(p.entry, p.bundle), "ERR_USAGE");
    throwsCode(
      () => checkEntryMatchesBundle(p.entry, p.bundle, { publicKey: ecKey().publicKey }),
      MISMATCH,
      "spec.signature.publicKey.content",
    );
  });
});

describe("checkEntryMatchesBundle properties", () => {
  const id = makeIdentity();
  it("matches for any artifact, and any flipped signature bit is refused", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (artifact, bit) => {
        const m = messageBundle("0.3", Buffer.from(artifact), id);
        const p = parsed(m.json);
        checkEntryMatchesBundle(p.entry, p.bundle);
        const sig = Buffer.from(p.bundle.messageSignature!.signature);
        sig[Math.floor(bit / 8) % sig.length]! ^= 1 << (bit % 8);
        p.bundle.messageSignature!.signature = sig;
        throwsCode(() => checkEntryMatchesBundle(p.entry, p.bundle), MISMATCH, "spec.signature.content");
      }),
      { numRuns: 30 },
    );
  });
});
