// SPDX-License-Identifier: Apache-2.0
// Rotation and revocation in bundle verification (issue 6, section 4). Revocation: a signature
// whose proven time (inclusion promise, RFC 3161 token) is at or after a revocation's effective
// time is refused with ERR_KEY_REVOKED / ERR_IDENTITY_REVOKED (policy); before it, accepted
// unless the scope is "all"; with no proven time, refused (fail closed). Rotation: a bundle made
// with the old CA intermediate or the old log key before the trusted root moved on keeps
// verifying; one made with the old key after its end is refused.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Clock } from "../../core/clock.js";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import type { Revocation, RevocationList, RevokedSubject } from "../../formats/revocation/index.js";
import { type Bundle, bundleToJson, parseBundle } from "../../formats/sigstore/bundle.js";
import {
  ecPair,
  issueLeaf,
  makeTestCa,
  type SigstoreWorld,
  sigstoreWorld,
  TEST_ISSUER,
  TEST_LOG_URL,
  timestampResponse,
} from "../../testing/sigstore-ca.js";
import { MemoryLogStorage, Sequencer } from "../tlog/index.js";
import { LocalRekorLog } from "./local-log.js";
import type { IdentityPolicy } from "./policy.js";
import { signBlob } from "./sign.js";
import { buildTrustedRoot } from "./trust-root.js";
import { type BundleVerifyOptions, verifyBundle } from "./verify.js";

const artifact = Buffer.from("release 1.0\n");
const policy: IdentityPolicy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };
const BEFORE = new Date("2026-01-01T00:00:00Z");
const EFFECTIVE = new Date("2026-02-01T00:00:00Z");
const AFTER = new Date("2026-03-01T00:00:00Z");
const LONG = { notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2030-01-01T00:00:00Z") };

function refuses(fn: () => unknown, want: string): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, want);
    return true;
  });
}
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const revoke = (subject: RevokedSubject, o: Partial<Revocation> = {}): RevocationList => ({
  revocations: [
    { id: "r1", reason: "key compromise", effective: EFFECTIVE, scope: "signed-after", subject, ...o },
  ],
});
const roundTrip = (b: Bundle): Bundle => parseBundle(JSON.parse(JSON.stringify(bundleToJson(b))));

describe("revocation in bundle verification", () => {
  let w: SigstoreWorld;
  const clock = { at: BEFORE };
  let id: ReturnType<SigstoreWorld["identity"]>;
  let certOld: Bundle;
  let certNew: Bundle;
  let keyOld: Bundle;
  let keyNew: Bundle;
  const keyPair = generateKey("ecdsa");
  const keySpki = sha(keyPair.public.key.export({ type: "spki", format: "der" }));
  let certOpts: BundleVerifyOptions;
  let keyOpts: BundleVerifyOptions;
  before(async () => {
    w = await sigstoreWorld({ clock: { now: () => clock.at } });
    id = w.identity(LONG);
    const key = { signer: keySigner(keyPair) };
    const cert = { signer: id.signer, certificate: id.certificate };
    certOld = roundTrip(await signBlob(artifact, cert, w.log));
    keyOld = roundTrip(await signBlob(artifact, key, w.log));
    clock.at = AFTER;
    certNew = roundTrip(await signBlob(artifact, cert, w.log));
    keyNew = roundTrip(await signBlob(artifact, key, w.log));
    certOpts = { trustedRoot: w.trustedRoot, artifact: { bytes: artifact }, policy };
    keyOpts = { trustedRoot: w.trustedRoot, artifact: { bytes: artifact }, publicKey: keyPair.public.key };
  });
  after(() => w.close());

  it("without revocations, old and new bundles verify", () => {
    for (const b of [certOld, certNew]) verifyBundle(b, certOpts);
    for (const b of [keyOld, keyNew]) verifyBundle(b, keyOpts);
  });

  it("a revoked key: what it signed before the effective time verifies, what it signed after is refused", () => {
    const revocations = revoke({ kind: "spki_sha256", sha256: keySpki });
    verifyBundle(keyOld, { ...keyOpts, revocations });
    refuses(() => verifyBundle(keyNew, { ...keyOpts, revocations }), "ERR_KEY_REVOKED");
    // Exactly at the effective time is refused too ("at or after").
    const at = revoke({ kind: "spki_sha256", sha256: keySpki }, { effective: AFTER });
    refuses(() => verifyBundle(keyNew, { ...keyOpts, revocations: at }), "ERR_KEY_REVOKED");
  });

  it('scope "all" refuses what the key signed before, too', () => {
    const revocations = revoke({ kind: "spki_sha256", sha256: keySpki }, { scope: "all" });
    refuses(() => verifyBundle(keyOld, { ...keyOpts, revocations }), "ERR_KEY_REVOKED");
  });

  it("a revoked certificate key, leaf, intermediate or identity refuses what was signed after", () => {
    const leafSpki = sha(id.key.public.key.export({ type: "spki", format: "der" }));
    const cases: [RevokedSubject, string][] = [
      [{ kind: "spki_sha256", sha256: leafSpki }, "ERR_KEY_REVOKED"],
      [{ kind: "certificate_sha256", sha256: sha(id.certificate) }, "ERR_KEY_REVOKED"],
      [{ kind: "certificate_sha256", sha256: sha(w.ca.interCert) }, "ERR_KEY_REVOKED"],
      [{ kind: "spki_sha256", sha256: sha(w.ca.inter.spki) }, "ERR_KEY_REVOKED"],
      [{ kind: "identity", san: "dev@cairn.test", issuer: TEST_ISSUER }, "ERR_IDENTITY_REVOKED"],
      [{ kind: "identity", san: "dev@cairn.test" }, "ERR_IDENTITY_REVOKED"],
    ];
    for (const [subject, want] of cases) {
      const revocations = revoke(subject);
      verifyBundle(certOld, { ...certOpts, revocations });
      refuses(() => verifyBundle(certNew, { ...certOpts, revocations }), want);
    }
  });

  it("revocations of someone else do not refuse", () => {
    const others: RevokedSubject[] = [
      { kind: "identity", san: "dev@cairn.test", issuer: "https://other.issuer" },
      { kind: "identity", san: "ops@cairn.test" },
      { kind: "spki_sha256", sha256: "00".repeat(32) },
      { kind: "spiffe_id_regexp", regexp: "spiffe://.*" },
    ];
    for (const subject of others) verifyBundle(certNew, { ...certOpts, revocations: revoke(subject) });
  });

  it("a SPIFFE workload revoked by pattern is refused after the effective time", async () => {
    const svid = w.identity({ ...LONG, email: undefined, uri: "spiffe://cairn.test/ns/ci/sa/builder" });
    clock.at = AFTER;
    const b = roundTrip(
      await signBlob(artifact, { signer: svid.signer, certificate: svid.certificate }, w.log),
    );
    const opts = { ...certOpts, policy: { spiffeId: { regexp: "spiffe://cairn\\.test/.*" } } };
    verifyBundle(b, opts);
    const revocations = revoke({ kind: "spiffe_id_regexp", regexp: "spiffe://cairn\\.test/ns/ci/.*" });
    refuses(() => verifyBundle(b, { ...opts, revocations }), "ERR_IDENTITY_REVOKED");
  });

  it("an RFC 3161 token proves the time too; every proven time must predate the revocation", () => {
    const revocations = revoke({ kind: "spki_sha256", sha256: keySpki });
    const stamped = (at: Date, keepPromise: boolean) => {
      const j = JSON.parse(JSON.stringify(bundleToJson(keyNew)));
      if (!keepPromise) delete j.verificationMaterial.tlogEntries[0].inclusionPromise;
      const sig = Buffer.from(j.messageSignature.signature, "base64");
      j.verificationMaterial.timestampVerificationData = {
        rfc3161Timestamps: [{ signedTimestamp: timestampResponse(w.tsa, sig, at).toString("base64") }],
      };
      return parseBundle(j);
    };
    // Only the authority's time, before the effective time: accepted.
    verifyBundle(stamped(BEFORE, false), { ...keyOpts, revocations });
    // Only the authority's time, after it: refused.
    refuses(() => verifyBundle(stamped(AFTER, false), { ...keyOpts, revocations }), "ERR_KEY_REVOKED");
    // The authority says before, the log's promise says after: refused (every proven time counts).
    refuses(() => verifyBundle(stamped(BEFORE, true), { ...keyOpts, revocations }), "ERR_KEY_REVOKED");
  });

  it("a bundle whose time is not proven (no promise, no RFC 3161 token) is refused by a matching revocation", () => {
    const j = JSON.parse(JSON.stringify(bundleToJson(keyOld)));
    delete j.verificationMaterial.tlogEntries[0].inclusionPromise;
    const unproven = parseBundle(j);
    const opts = { ...keyOpts, timestampThreshold: 0 };
    verifyBundle(unproven, opts);
    // The entry's integratedTime says "before", but nothing signed it: fail closed.
    refuses(
      () =>
        verifyBundle(unproven, { ...opts, revocations: revoke({ kind: "spki_sha256", sha256: keySpki }) }),
      "ERR_KEY_REVOKED",
    );
  });
});

describe("rotation of the CA intermediate and the log key", () => {
  const clock = { at: BEFORE };
  const c: Clock = { now: () => clock.at };
  const sequencers: Sequencer[] = [];
  async function rekor(key: ReturnType<typeof ecPair>): Promise<LocalRekorLog> {
    const sequencer = await Sequencer.open({
      storage: new MemoryLogStorage(),
      origin: "log.cairn.test - 1",
      keyName: "log.cairn.test",
      key: generateKeyPairSync("ed25519").privateKey,
      maxBatchDelayMs: 0,
    });
    sequencers.push(sequencer);
    return new LocalRekorLog({ sequencer, key: key.privateKey, name: "log.cairn.test", clock: c });
  }
  after(async () => {
    for (const s of sequencers) await s.close();
  });

  it("old signatures keep verifying after the root moves on; the old key after its end is refused", async () => {
    const ct = ecPair();
    const ca1 = makeTestCa("ca one");
    const ca2 = makeTestCa("ca two");
    const log1Key = ecPair();
    const log2Key = ecPair();
    const log1 = await rekor(log1Key);
    const log2 = await rekor(log2Key);
    const start = new Date("2020-01-01T00:00:00Z");
    const signer = generateKey("ecdsa");
    const spki = signer.public.key.export({ type: "spki", format: "der" });
    const leaf = (ca: typeof ca1) =>
      issueLeaf(ca, spki, { email: "dev@cairn.test", issuer: TEST_ISSUER, ctlog: ct, ...LONG });
    const who1 = { signer: keySigner(signer), certificate: leaf(ca1) };
    const who2 = { signer: keySigner(signer), certificate: leaf(ca2) };
    // Before the rotation: CA one, log one.
    const old = roundTrip(await signBlob(artifact, who1, log1));
    // After it: CA two, log two; and a leaf from the old CA logged by the old log (a stolen key).
    clock.at = AFTER;
    const fresh = roundTrip(await signBlob(artifact, who2, log2));
    const staleCa = roundTrip(await signBlob(artifact, who1, log2));
    const staleLog = roundTrip(await signBlob(artifact, who2, log1));
    // The trusted root after the rotation: old keys kept, with an end of validity.
    const rotated = buildTrustedRoot({
      tlogs: [
        { baseUrl: TEST_LOG_URL, publicKey: log1Key.publicKey, validity: { start, end: EFFECTIVE } },
        { baseUrl: TEST_LOG_URL, publicKey: log2Key.publicKey, validity: { start: EFFECTIVE } },
      ],
      ctlogs: [{ baseUrl: "https://ct.cairn.test", publicKey: ct.publicKey, validity: { start } }],
      certificateAuthorities: [
        {
          uri: "https://ca.cairn.test",
          chain: [ca1.interCert, ca1.rootCert],
          validity: { start, end: EFFECTIVE },
        },
        {
          uri: "https://ca.cairn.test",
          chain: [ca2.interCert, ca2.rootCert],
          validity: { start: EFFECTIVE },
        },
      ],
    });
    const opts = { trustedRoot: rotated, artifact: { bytes: artifact }, policy };
    verifyBundle(old, opts);
    verifyBundle(fresh, opts);
    refuses(() => verifyBundle(staleCa, opts), "ERR_SIGSTORE_CERTIFICATE_INVALID");
    refuses(() => verifyBundle(staleLog, opts), "ERR_SIGSTORE_TLOG_INVALID");
  });
});
