// SPDX-License-Identifier: Apache-2.0
// Sigstore bundles attached to images as cosign 3 attaches them (layouts; the registry side is in
// test/e2e/oci-bundle.test.ts): the referrer's shape, sign and attest round trips with a
// certificate and with a key, and the refusals: another identity (policy), another key, a bundle
// moved from another image (with its referrer, or re-attached to the other image), an altered
// bundle layer, nothing attached.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fixedClock } from "../../core/clock.js";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import type { OciDigest } from "../../formats/oci/index.js";
import type { RevocationList } from "../../formats/revocation/index.js";
import { parseBundleJson } from "../../formats/sigstore/index.js";
import { OciLayout } from "../../runtime/oci-layout.js";
import { writeSmallImage } from "../../testing/oci-image.js";
import { type SigstoreWorld, sigstoreWorld, TEST_ISSUER } from "../../testing/sigstore-ca.js";
import type { IdentityPolicy } from "../sigstore/index.js";
import { ANNOTATION_BUNDLE_PREDICATE_TYPE, ARTIFACT_TYPE_SIGSTORE_BUNDLE } from "./attached.js";
import {
  ANNOTATION_BUNDLE_CONTENT,
  attachBundle,
  attestImageBundle,
  COSIGN_SIGN_PREDICATE_TYPE,
  signImageBundle,
  verifyImageBundles,
} from "./bundle.js";
import { type ImageStore, layoutStore } from "./store.js";

const tmp = mkdtempSync(join(tmpdir(), "cairn-ocibundle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

async function layoutWithImage(seed: string): Promise<{ store: ImageStore; digest: OciDigest }> {
  const layout = await OciLayout.init(join(tmp, `layout-${n++}`));
  const digest = await writeSmallImage(layout, seed, "v1");
  return { store: layoutStore(layout, `oci:${layout.dir}:v1`, "v1"), digest };
}

const rejects = (code: string) => (e: unknown) => {
  assert.ok(e instanceof CairnError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

const dev: IdentityPolicy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };
const ops: IdentityPolicy = { identity: { exact: "ops@cairn.test" }, issuer: { exact: TEST_ISSUER } };
const clock = fixedClock("2026-01-02T03:04:05Z");

describe("Sigstore bundles on images (cosign's --new-bundle-format)", () => {
  let w: SigstoreWorld;
  before(async () => {
    w = await sigstoreWorld();
  });
  after(() => w.close());

  it("attaches a signature as cosign does and verifies it by identity", async () => {
    const { store, digest } = await layoutWithImage("a");
    const r = await signImageBundle(store, { who: w.identity(), log: w.log, clock });
    assert.equal(r.image.digest, digest);
    const m = await store.getManifest(r.attached[0]!.manifest.digest);
    assert.ok(m.kind === "manifest");
    assert.equal(m.manifest.artifactType, ARTIFACT_TYPE_SIGSTORE_BUNDLE);
    assert.equal(m.manifest.subject?.digest, digest);
    assert.equal(m.manifest.layers.length, 1);
    assert.equal(m.manifest.layers[0]!.mediaType, ARTIFACT_TYPE_SIGSTORE_BUNDLE);
    assert.equal(m.manifest.annotations?.[ANNOTATION_BUNDLE_CONTENT], "dsse-envelope");
    assert.equal(m.manifest.annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE], COSIGN_SIGN_PREDICATE_TYPE);
    // The statement: one subject, the manifest digest; cosign's sign predicate, empty.
    const b = parseBundleJson(await store.getBlob(m.manifest.layers[0]!, 1 << 20));
    const st = JSON.parse(Buffer.from(b.dsseEnvelope!.payload, "base64").toString("utf8"));
    assert.deepEqual(st.subject, [{ digest: { sha256: digest.slice(7) }, annotations: {} }]);
    assert.equal(st.predicateType, COSIGN_SIGN_PREDICATE_TYPE);
    assert.deepEqual(st.predicate, {});

    const v = await verifyImageBundles(store, {
      verify: { trustedRoot: w.trustedRoot, policy: dev },
      kind: "signature",
    });
    assert.equal(v.bundles.length, 1);
    assert.equal(v.bundles[0]!.signer.kind, "certificate");
    // No attestation is there: the signature is not one.
    await assert.rejects(
      verifyImageBundles(store, { verify: { trustedRoot: w.trustedRoot, policy: dev }, kind: "attestation" }),
      rejects("ERR_OCI_SIGNATURE_MISSING"),
    );
    // Another identity: a policy refusal (exit 11).
    await assert.rejects(
      verifyImageBundles(store, { verify: { trustedRoot: w.trustedRoot, policy: ops }, kind: "signature" }),
      rejects("ERR_SIGSTORE_IDENTITY_MISMATCH"),
    );
  });

  it("signs and attests with a key", async () => {
    const { store, digest } = await layoutWithImage("b");
    const key = generateKey("ecdsa");
    const other = generateKey("ecdsa");
    await signImageBundle(store, { who: { signer: keySigner(key) }, log: w.log });
    const type = "https://slsa.dev/provenance/v1";
    await attestImageBundle(store, {
      who: { signer: keySigner(key) },
      log: w.log,
      predicateType: type,
      predicate: { buildDefinition: { buildType: "x" } },
    });
    const verify = { trustedRoot: w.trustedRoot, publicKey: key.public.key };
    assert.equal((await verifyImageBundles(store, { verify, kind: "signature" })).bundles.length, 1);
    const a = await verifyImageBundles(store, { verify, kind: "attestation", predicateType: type });
    assert.equal(a.bundles.length, 1);
    assert.equal(a.bundles[0]!.statement?.subject[0]?.digest.sha256, digest.slice(7));
    await assert.rejects(
      verifyImageBundles(store, { verify, kind: "attestation", predicateType: "https://spdx.dev/Document" }),
      rejects("ERR_OCI_SIGNATURE_MISSING"),
    );
    await assert.rejects(
      verifyImageBundles(store, {
        verify: { trustedRoot: w.trustedRoot, publicKey: other.public.key },
        kind: "signature",
      }),
      (e: unknown) => e instanceof CairnError && e.category === "verification",
    );
    // A certificate policy where only key bundles are: none is by the asked signer.
    await assert.rejects(
      verifyImageBundles(store, { verify: { trustedRoot: w.trustedRoot, policy: dev }, kind: "signature" }),
      rejects("ERR_OCI_SIGNATURE_INVALID"),
    );
  });

  it("refuses a revoked identity (exit 11), and passes when another bundle verifies", async () => {
    const { store } = await layoutWithImage("r");
    await signImageBundle(store, { who: w.identity(), log: w.log });
    const revocations: RevocationList = {
      revocations: [
        {
          id: "r1",
          reason: "key compromise",
          effective: new Date("2020-01-01T00:00:00Z"),
          scope: "signed-after",
          subject: { kind: "identity", san: "dev@cairn.test" },
        },
      ],
    };
    await assert.rejects(
      verifyImageBundles(store, {
        verify: { trustedRoot: w.trustedRoot, policy: dev, revocations },
        kind: "signature",
      }),
      rejects("ERR_IDENTITY_REVOKED"),
    );
    // A second signer: the revoked bundle is reported as refused, the other one passes.
    await signImageBundle(store, { who: w.identity({ email: "ops@cairn.test" }), log: w.log });
    const any: IdentityPolicy = { identity: { regexp: ".*@cairn\\.test" }, issuer: { exact: TEST_ISSUER } };
    const v = await verifyImageBundles(store, {
      verify: { trustedRoot: w.trustedRoot, policy: any, revocations },
      kind: "signature",
    });
    assert.equal(v.bundles.length, 1);
    assert.equal(
      v.bundles[0]!.signer.kind === "certificate" && v.bundles[0]!.signer.subject,
      "ops@cairn.test",
    );
    assert.deepEqual(
      v.rejected.map((r) => r.code),
      ["ERR_IDENTITY_REVOKED"],
    );
  });

  it("refuses a bundle moved from another image, and an altered one", async () => {
    const a = await layoutWithImage("c");
    const b = await layoutWithImage("d");
    const r = await signImageBundle(a.store, { who: w.identity(), log: w.log });
    const m = await a.store.getManifest(r.attached[0]!.manifest.digest);
    assert.ok(m.kind === "manifest");
    const bytes = await a.store.getBlob(m.manifest.layers[0]!, 1 << 20);
    // Re-attached to image B, with a referrer naming B: the signed statement names A.
    const bImage = await b.store.resolve();
    await attachBundle(b.store, bImage, parseBundleJson(bytes), COSIGN_SIGN_PREDICATE_TYPE);
    await assert.rejects(
      verifyImageBundles(b.store, { verify: { trustedRoot: w.trustedRoot, policy: dev }, kind: "signature" }),
      rejects("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH"),
    );
    // An altered bundle: another signature byte.
    const c = await layoutWithImage("e");
    const cImage = await c.store.resolve();
    const doc = JSON.parse(new TextDecoder().decode(bytes));
    doc.dsseEnvelope.payload = Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [{ digest: { sha256: cImage.digest.slice(7) } }],
        predicateType: COSIGN_SIGN_PREDICATE_TYPE,
        predicate: {},
      }),
    ).toString("base64");
    await attachBundle(c.store, cImage, parseBundleJson(JSON.stringify(doc)), undefined);
    await assert.rejects(
      verifyImageBundles(c.store, { verify: { trustedRoot: w.trustedRoot, policy: dev }, kind: "signature" }),
      (e: unknown) => e instanceof CairnError && e.category === "verification",
    );
  });
});
