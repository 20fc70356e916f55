// SPDX-License-Identifier: Apache-2.0
// The time-stamp authority: its chain has the RFC 3161 2.3 shape, its tokens are DER with the
// TSTInfo fields of 2.4.2 and the RFC 5816 signing-certificate-v2 attribute, and cairn's bundle
// verifier accepts a bundle whose only timestamp is one of them, while refusing a token over
// another signature, from an unknown TSA, outside the TSA's validity, or tampered.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { parseDer, TAG } from "../../core/der.js";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import {
  type Bundle,
  bundleToJson,
  OID_SIGNING_CERTIFICATE_V2,
  parseBundle,
  parseTimestampResponse,
  type TrustedRoot,
} from "../../formats/sigstore/index.js";
import { type SigstoreWorld, sigstoreWorld, TEST_ISSUER } from "../../testing/sigstore-ca.js";
import { makeTsaKit, TEST_TSA_POLICY as POLICY, timestampRequestFor } from "../../testing/tsa-kit.js";
import { createIntermediateCertificate, x509 } from "../ca/index.js";
import { signBlob, verifyBundle } from "../sigstore/index.js";
import { TimestampAuthority } from "./authority.js";

const NOW = new Date("2026-06-01T12:00:00.750Z");
const subject = { organization: "cairn test", commonName: "cairn TSA" };

function code(e: unknown): string {
  assert.ok(e instanceof CairnError, `expected a CairnError, got ${e}`);
  return e.code;
}

const makeTsa = (o: { curve?: "P-256" | "P-384"; at?: Date } = {}) => makeTsaKit({ at: NOW, ...o });
const request = timestampRequestFor;

/** The TSTInfo of a response, as DER elements. */
function tstInfoOf(resp: Buffer) {
  return parseDer(parseTimestampResponse(resp).tstInfo).children();
}

describe("time-stamp authority: chain and tokens", () => {
  it("signs with a certificate whose only extended key usage is a critical timeStamping", async () => {
    const { leaf, root } = await makeTsa();
    const c = x509(leaf);
    assert.deepEqual(c.keyUsage, ["1.3.6.1.5.5.7.3.8"]);
    assert.equal(c.ca, false);
    assert.ok(c.checkIssued(x509(root)) && c.verify(x509(root).publicKey));
    // The extension is critical: an unaware verifier must refuse the certificate for other uses.
    const exts = parseDer(leaf)
      .child(0)
      .children()
      .find((e) => e.isContext(3))!
      .child(0)
      .children();
    const eku = exts.find((e) => e.child(0).oid() === "2.5.29.37")!;
    assert.equal(eku.child(1).bool(), true);
  });

  it("issues a DER TimeStampResp: policy, imprint, unique serial, genTime in seconds, accuracy, nonce echoed", async () => {
    const { tsa } = await makeTsa();
    const data = Buffer.from("a signature");
    const a = await tsa.timestamp(request(data, { nonce: 0x1234567890abcdefn }));
    const b = await tsa.timestamp(request(data));
    const t = parseTimestampResponse(a);
    assert.equal(t.genTime.toISOString(), "2026-06-01T12:00:00.000Z");
    assert.deepEqual(t.hashedMessage, createHash("sha256").update(data).digest());
    const f = tstInfoOf(a);
    assert.equal(f[0]!.uint(), 1n);
    assert.equal(f[1]!.oid(), POLICY);
    assert.equal(f[4]!.value.toString("latin1"), "20260601120000Z");
    assert.equal(f[5]!.child(0).uint(), 1n); // accuracy: seconds 1
    assert.equal(f[6]!.uint(), 0x1234567890abcdefn);
    assert.notEqual(f[3]!.uint(), tstInfoOf(b)[3]!.uint());
    assert.equal(tstInfoOf(b).length, 6, "no nonce when none was asked for");
  });

  it("binds the token to its certificate (ESSCertIDv2) and names it by issuer and serial", async () => {
    const { tsa, leaf } = await makeTsa();
    const resp = await tsa.timestamp(request(Buffer.from("x")));
    const t = parseTimestampResponse(resp);
    const tbs = parseDer(leaf).child(0).children();
    assert.deepEqual(t.signerSerial, tbs[1]!.value);
    assert.deepEqual(t.signerIssuer, tbs[3]!.raw);
    const attrs = parseDer(t.signedAttributes).children();
    // DER SET OF: the attributes are in ascending order of their encodings.
    const raws = attrs.map((a) => a.raw);
    assert.deepEqual([...raws].sort(Buffer.compare), raws);
    const scv2 = attrs.find((a) => a.child(0).oid() === OID_SIGNING_CERTIFICATE_V2)!;
    const ess = scv2.child(1, TAG.SET).child(0).child(0).child(0);
    assert.deepEqual(ess.child(0, TAG.OCTET_STRING).value, createHash("sha256").update(leaf).digest());
    assert.deepEqual(ess.child(1).child(1).value, tbs[1]!.value);
  });

  it("uses SHA-384 as the digest for a P-384 key, and carries the certificate when asked", async () => {
    const { tsa, leaf } = await makeTsa({ curve: "P-384" });
    const resp = await tsa.timestamp(request(Buffer.from("x"), { certReq: true }));
    const t = parseTimestampResponse(resp);
    assert.equal(t.digestAlgorithm, "sha384");
    assert.equal(t.signatureAlgorithm, "1.2.840.10045.4.3.3");
    assert.ok(resp.includes(leaf));
    assert.ok(!(await tsa.timestamp(request(Buffer.from("x")))).includes(leaf));
  });

  it("refuses another policy, and issues nothing while its certificate is not valid", async () => {
    const { tsa } = await makeTsa();
    await assert.rejects(tsa.timestamp(request(Buffer.from("x"), { policy: "1.2.3.4" })), (e) => {
      assert.equal(code(e), "ERR_TSA_REQUEST_INVALID");
      return true;
    });
    const late = await makeTsa({ at: new Date("2032-01-01T00:00:00Z") });
    await assert.rejects(late.tsa.timestamp(request(Buffer.from("x"))), (e) => {
      assert.equal(code(e), "ERR_TSA_NOT_READY");
      return true;
    });
  });

  it("refuses to run with a certificate for another key or without the timeStamping usage", async () => {
    const { leaf, root, rootSigner } = await makeTsa();
    const other: Signer = keySigner(generateKey("ecdsa", { curve: "P-256" }));
    assert.throws(
      () =>
        new TimestampAuthority({
          signer: other,
          chain: [leaf, root],
          policy: POLICY,
          clock: fixedClock(NOW),
        }),
      (e) => code(e) === "ERR_TSA_NOT_READY",
    );
    // A code-signing CA certificate (the CA's intermediate) is not a TSA certificate.
    const inter = keySigner(generateKey("ecdsa", { curve: "P-256" }));
    const codeSigning = await createIntermediateCertificate({
      root: { certificate: root, signer: rootSigner },
      publicKey: inter.publicKey.key,
      subject,
      notBefore: new Date("2026-01-01T00:00:00Z"),
      notAfter: new Date("2027-01-01T00:00:00Z"),
    });
    assert.throws(
      () =>
        new TimestampAuthority({
          signer: inter,
          chain: [codeSigning, root],
          policy: POLICY,
          clock: fixedClock(NOW),
        }),
      (e) => code(e) === "ERR_TSA_NOT_READY",
    );
  });
});

describe("time-stamp authority: cairn's verifier", () => {
  let w: SigstoreWorld;
  let made: Awaited<ReturnType<typeof makeTsa>>;
  let root: TrustedRoot;
  let stamped: Bundle;
  const artifact = Buffer.from("timestamped artifact\n");
  const policy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };
  const withoutPromise = (b: Bundle): Bundle => {
    const j = JSON.parse(JSON.stringify(bundleToJson(b)));
    delete j.verificationMaterial.tlogEntries[0].inclusionPromise;
    return parseBundle(j);
  };

  before(async () => {
    w = await sigstoreWorld();
    // The token is issued at the time the bundle is made: the leaf certificate is valid then.
    made = await makeTsa({ at: new Date() });
    const id = w.identity();
    const port = { timestamp: (sig: Uint8Array) => made.tsa.timestamp(request(sig)) };
    stamped = withoutPromise(
      await signBlob(artifact, { signer: id.signer, certificate: id.certificate }, w.log, {
        timestampAuthorities: [port],
      }),
    );
    root = structuredClone(w.trustedRoot);
    root.timestampAuthorities = [
      {
        uri: "https://tsa.cairn.test",
        certChain: { certificates: made.tsa.chain.map((c) => ({ rawBytes: c })) },
      },
    ];
  });
  after(() => w.close());

  const verify = (b: Bundle, r: TrustedRoot = root) =>
    verifyBundle(b, { trustedRoot: r, artifact: { bytes: artifact }, policy });
  const refused = (b: Bundle, r: TrustedRoot = root) =>
    assert.throws(
      () => verify(b, r),
      (e) => code(e) === "ERR_SIGSTORE_TIMESTAMP_INVALID",
    );
  const withToken = (b: Bundle, token: Uint8Array): Bundle => {
    const j = JSON.parse(JSON.stringify(bundleToJson(b)));
    j.verificationMaterial.timestampVerificationData = {
      rfc3161Timestamps: [{ signedTimestamp: Buffer.from(token).toString("base64") }],
    };
    return parseBundle(j);
  };
  const token = (b: Bundle) =>
    Buffer.from(b.verificationMaterial.timestampVerificationData!.rfc3161Timestamps[0]!.signedTimestamp);

  it("accepts a bundle whose only timestamp is cairn's RFC 3161 token", () => {
    const v = verify(stamped);
    assert.deepEqual(
      v.timestamps.map((t) => [t.source, t.by]),
      [["timestamp-authority", "https://tsa.cairn.test"]],
    );
  });

  it("refuses a token over another signature", async () => {
    refused(withToken(stamped, await made.tsa.timestamp(request(Buffer.from("another signature")))));
  });

  it("refuses a token from a TSA the trusted root does not name", () => {
    refused(stamped, w.trustedRoot);
  });

  it("refuses a token made outside the TSA's validity in the trusted root", () => {
    const ended = structuredClone(root);
    ended.timestampAuthorities[0]!.validFor = {
      start: "2026-01-01T00:00:00Z",
      end: new Date(Date.now() - 86_400_000).toISOString(),
    };
    refused(stamped, ended);
  });

  it("refuses a tampered token: any flipped byte in the TSTInfo or the signature", () => {
    const t = token(stamped);
    const tst = parseTimestampResponse(t).tstInfo;
    const at = t.indexOf(tst);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: tst.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const bad = Buffer.from(t);
        bad[at + i]! ^= x;
        assert.throws(
          () => verify(withToken(stamped, bad)),
          (e) => e instanceof CairnError,
        );
      }),
      { numRuns: 60 },
    );
    const sigAt = t.length - 10;
    const bad = Buffer.from(t);
    bad[sigAt]! ^= 1;
    assert.throws(
      () => verify(withToken(stamped, bad)),
      (e) => e instanceof CairnError,
    );
  });
});
