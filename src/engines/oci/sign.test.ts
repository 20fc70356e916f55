// SPDX-License-Identifier: Apache-2.0
// Signing, attesting and verifying images in OCI layouts (fast; the registry side is in
// test/e2e/oci.test.ts). Negative tests first-class: another key, altered payloads and
// signatures, signatures and attestations moved from another image, missing ones.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  newImageIndex,
  newImageManifest,
  type OciDigest,
} from "../../formats/oci/index.js";
import { OciLayout } from "../../runtime/oci-layout.js";
import { writeSmallImage } from "../../testing/oci-image.js";
import { ARTIFACT_TYPE_ATTESTATION, ARTIFACT_TYPE_SIGNATURE, cosignTag } from "./attached.js";
import {
  ANNOTATION_COSIGN_SIGNATURE,
  attestImage,
  COSIGN_SIGNATURE_TYPE,
  cosignConfig,
  MEDIA_TYPE_COSIGN_SIMPLESIGNING,
  MEDIA_TYPE_DSSE_ENVELOPE,
  parseSimpleSigningPayload,
  signImage,
  simpleSigningPayload,
} from "./sign.js";
import { verifyAttestation, verifyImage } from "./sign-verify.js";
import { formatImageName, type ImageStore, layoutStore, parseImageName } from "./store.js";

const tmp = mkdtempSync(join(tmpdir(), "cairn-sign-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const rejects = (code: string) => (e: unknown) => {
  assert.ok(e instanceof CairnError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

/** A layout with one small image tagged `tag`; returns the store opened on that tag. */
export async function layoutWithImage(
  seed: string,
  tag = "v1",
): Promise<{ layout: OciLayout; store: ImageStore; digest: OciDigest }> {
  const layout = await OciLayout.init(join(tmp, `layout-${n++}`));
  const digest = await writeSmallImage(layout, seed, tag);
  return { layout, store: layoutStore(layout, `oci:${layout.dir}:${tag}`, tag), digest };
}

const alice = generateKey("ecdsa");
const bob = generateKey("ed25519");
const clock = fixedClock("2025-01-02T03:04:05Z");

describe("image names", () => {
  it("parses oci:DIR[:TAG] and docker:// as skopeo does", () => {
    assert.deepEqual(parseImageName("oci:/tmp/x:v1"), { transport: "oci", dir: "/tmp/x", tag: "v1" });
    assert.deepEqual(parseImageName("oci:rel/dir"), { transport: "oci", dir: "rel/dir" });
    const d = digestOf("x");
    assert.deepEqual(parseImageName(`oci:/a@${d}`), { transport: "oci", dir: "/a", digest: d });
    const r = parseImageName("docker://127.0.0.1:5000/demo/app:1.0");
    assert.equal(r.transport, "docker");
    assert.equal(formatImageName(r), "docker://127.0.0.1:5000/demo/app:1.0");
    assert.equal(formatImageName(parseImageName("oci:/tmp/x:v1")), "oci:/tmp/x:v1");
  });
  it("refuses other transports and empty parts", () => {
    for (const bad of [
      "docker-archive:x.tar",
      "/tmp/x",
      "oci:",
      "oci::tag",
      "oci:/x:",
      `oci:/x:t@${digestOf("x")}`,
    ]) {
      assert.throws(() => parseImageName(bad), rejects("ERR_OCI_REFERENCE_INVALID"), bad);
    }
  });
});

describe("the simple-signing payload", () => {
  it("is cosign's shape and round-trips", () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (identity, bytes) => {
        const d = digestOf(bytes);
        const p = parseSimpleSigningPayload(simpleSigningPayload(identity, d));
        assert.equal(p.critical.identity["docker-reference"], identity);
        assert.equal(p.critical.image["docker-manifest-digest"], d);
        assert.equal(p.critical.type, COSIGN_SIGNATURE_TYPE);
        assert.equal(p.optional, null);
      }),
    );
    const text = new TextDecoder().decode(simpleSigningPayload("r/x", digestOf("a"), { k: "v" }));
    assert.ok(
      text.startsWith(
        '{"critical":{"identity":{"docker-reference":"r/x"},"image":{"docker-manifest-digest":"sha256:',
      ),
    );
    assert.ok(text.endsWith(`"type":"cosign container image signature"},"optional":{"k":"v"}}`));
  });
  it("refuses malformed payloads", () => {
    for (const bad of [
      "[]",
      "{}",
      '{"critical":{"identity":{},"image":{},"type":"x"}}',
      '{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":1},"type":"x"}}',
    ]) {
      assert.throws(
        () => parseSimpleSigningPayload(new TextEncoder().encode(bad)),
        rejects("ERR_FIELD_INVALID"),
      );
    }
  });
  it("tags as cosign does", () => {
    const d = digestOf("a");
    assert.equal(cosignTag(d, ".sig"), `sha256-${d.slice(7)}.sig`);
    const cfg = JSON.parse(
      new TextDecoder().decode(cosignConfig([descriptorOf(new Uint8Array([1]), MEDIA_TYPE_OCI_LAYER)])),
    );
    assert.equal(cfg.rootfs.diff_ids.length, 1);
  });
});

describe("signImage and verifyImage (OCI layout)", () => {
  it("signs in both forms and verifies each", async () => {
    const { store, digest, layout } = await layoutWithImage("a");
    const r = await signImage(store, { signer: keySigner(alice), clock });
    assert.equal(r.image.digest, digest);
    assert.deepEqual(
      r.attached.map((a) => a.form),
      ["cosign", "referrer"],
    );
    // cosign form: the tag, the layer media type, the signature annotation.
    const sig = await store.getTagged(cosignTag(digest, ".sig"));
    assert.ok(sig?.kind === "manifest");
    const layer = sig.manifest.layers[0]!;
    assert.equal(layer.mediaType, MEDIA_TYPE_COSIGN_SIMPLESIGNING);
    assert.ok(layer.annotations?.[ANNOTATION_COSIGN_SIGNATURE]);
    // referrer form: subject, artifactType, a DSSE layer.
    const refs = await store.referrers(digest);
    assert.equal(refs.length, 1);
    assert.equal(refs[0]!.artifactType, ARTIFACT_TYPE_SIGNATURE);
    const rm = await store.getManifest(refs[0]!.digest);
    assert.ok(rm.kind === "manifest");
    assert.equal(rm.manifest.subject?.digest, digest);
    assert.equal(rm.manifest.layers[0]!.mediaType, MEDIA_TYPE_DSSE_ENVELOPE);

    for (const forms of [["cosign"], ["referrer"], undefined] as const) {
      const v = await verifyImage(store, { keys: [alice.public], ...(forms ? { forms } : {}) });
      assert.equal(v.signatures.length, forms ? 1 : 2);
      assert.equal(v.signatures[0]!.payload.critical.image["docker-manifest-digest"], digest);
      assert.equal(v.signatures[0]!.keyid, alice.public.keyid);
      assert.deepEqual(v.rejected, []);
    }
    // Everything written is intact in the layout.
    await layout.verifyContents();
  });

  it("appends signatures by several keys to the .sig manifest, and accepts any given key", async () => {
    const { store, digest } = await layoutWithImage("b");
    await signImage(store, { signer: keySigner(alice), forms: ["cosign"] });
    await signImage(store, { signer: keySigner(bob), forms: ["cosign"] });
    const sig = await store.getTagged(cosignTag(digest, ".sig"));
    assert.ok(sig?.kind === "manifest");
    assert.equal(sig.manifest.layers.length, 2);
    const v = await verifyImage(store, { keys: [bob.public] });
    assert.equal(v.signatures.length, 1);
    assert.equal(v.rejected.length, 1); // alice's: not a given key
    assert.equal(v.rejected[0]!.code, "ERR_OCI_SIGNATURE_INVALID");
  });

  it("refuses a signature by another key, in either form", async () => {
    const { store } = await layoutWithImage("c");
    await signImage(store, { signer: keySigner(bob) });
    for (const forms of [["cosign"], ["referrer"]] as const) {
      await assert.rejects(
        verifyImage(store, { keys: [alice.public], forms }),
        rejects("ERR_OCI_SIGNATURE_INVALID"),
      );
    }
  });

  it("refuses an image with no signature (or none in the form asked)", async () => {
    const { store } = await layoutWithImage("d");
    await assert.rejects(verifyImage(store, { keys: [alice.public] }), rejects("ERR_OCI_SIGNATURE_MISSING"));
    await signImage(store, { signer: keySigner(alice), forms: ["cosign"] });
    await assert.rejects(
      verifyImage(store, { keys: [alice.public], forms: ["referrer"] }),
      rejects("ERR_OCI_SIGNATURE_MISSING"),
    );
    await assert.rejects(verifyImage(store, { keys: [] }), rejects("ERR_USAGE"));
  });

  it("refuses a tampered payload (signature kept) and a tampered signature", async () => {
    for (const tamper of ["payload", "signature"] as const) {
      const { store, digest } = await layoutWithImage(`e-${tamper}`);
      await signImage(store, { signer: keySigner(alice), forms: ["cosign"] });
      const tag = cosignTag(digest, ".sig");
      const sig = await store.getTagged(tag);
      assert.ok(sig?.kind === "manifest");
      const layer = sig.manifest.layers[0]!;
      let payload = await store.getBlob(layer, 1 << 20);
      let sigText = layer.annotations![ANNOTATION_COSIGN_SIGNATURE]!;
      if (tamper === "payload") payload = simpleSigningPayload("evil.example/other", digest);
      else {
        const raw = Buffer.from(sigText, "base64");
        raw[raw.length - 1]! ^= 1;
        sigText = raw.toString("base64");
      }
      const newLayer = descriptorOf(payload, MEDIA_TYPE_COSIGN_SIMPLESIGNING, {
        annotations: { [ANNOTATION_COSIGN_SIGNATURE]: sigText },
      });
      await store.putBlob(newLayer, payload);
      const cfg = cosignConfig([newLayer]);
      const cfgD = descriptorOf(cfg, MEDIA_TYPE_OCI_CONFIG);
      if (!(await store.hasBlob(cfgD))) await store.putBlob(cfgD, cfg);
      await store.putManifest(newImageManifest({ config: cfgD, layers: [newLayer] }), { tag });
      await assert.rejects(
        verifyImage(store, { keys: [alice.public], forms: ["cosign"] }),
        rejects("ERR_OCI_SIGNATURE_INVALID"),
        tamper,
      );
    }
  });

  it("refuses a signature blob altered on disk (digest mismatch), never passing it", async () => {
    const { store, digest, layout } = await layoutWithImage("f");
    await signImage(store, { signer: keySigner(alice), forms: ["cosign"] });
    const sig = await store.getTagged(cosignTag(digest, ".sig"));
    assert.ok(sig?.kind === "manifest");
    writeFileSync(layout.blobPath(sig.manifest.layers[0]!.digest), simpleSigningPayload("x", digest));
    await assert.rejects(verifyImage(store, { keys: [alice.public] }), rejects("ERR_OCI_DIGEST_MISMATCH"));
  });

  it("refuses a valid signature moved from another image (cosign tag and referrer)", async () => {
    const a = await layoutWithImage("g");
    await signImage(a.store, { signer: keySigner(alice) });
    // Image B, in a layout of its own.
    const b = await layoutWithImage("h");
    // Copy A's signature manifests (exact bytes, blobs first) into B's layout at B's .sig tag.
    const sig = await a.store.getTagged(cosignTag(a.digest, ".sig"));
    assert.ok(sig?.kind === "manifest");
    for (const d of [sig.manifest.config, ...sig.manifest.layers])
      await b.store.putBlob(d, await a.store.getBlob(d, 1 << 20));
    await b.store.putManifest(sig, { tag: cosignTag(b.digest, ".sig") });
    await assert.rejects(
      verifyImage(b.store, { keys: [alice.public], forms: ["cosign"] }),
      rejects("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH"),
    );
    // A referrer to B carrying A's signed envelope.
    const ref = (await a.store.referrers(a.digest))[0]!;
    const rm = await a.store.getManifest(ref.digest);
    assert.ok(rm.kind === "manifest");
    const env = rm.manifest.layers[0]!;
    const envBytes = await a.store.getBlob(env, 1 << 20);
    await b.store.putBlob(env, envBytes);
    await b.store.putBlob(rm.manifest.config, new TextEncoder().encode("{}"));
    const bDesc = await b.store.resolve();
    await b.store.putManifest(
      newImageManifest({
        artifactType: ARTIFACT_TYPE_SIGNATURE,
        config: rm.manifest.config,
        layers: [env],
        subject: { mediaType: bDesc.mediaType, digest: bDesc.digest, size: bDesc.size },
      }),
    );
    await assert.rejects(
      verifyImage(b.store, { keys: [alice.public], forms: ["referrer"] }),
      rejects("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH"),
    );
  });

  it("checks the signed identity when asked", async () => {
    const { store } = await layoutWithImage("i");
    await signImage(store, { signer: keySigner(alice), identity: "registry.example/app" });
    await verifyImage(store, { keys: [alice.public], identity: "registry.example/app" });
    await assert.rejects(
      verifyImage(store, { keys: [alice.public], identity: "registry.example/other" }),
      rejects("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH"),
    );
  });

  it("refuses a referrer that is an index instead of failing the whole verification", async () => {
    const { store, digest } = await layoutWithImage("p");
    const image = await store.resolve();
    await store.putManifest(
      newImageIndex({
        artifactType: ARTIFACT_TYPE_SIGNATURE,
        manifests: [],
        subject: { mediaType: image.mediaType, digest, size: image.size },
      }),
    );
    await assert.rejects(verifyImage(store, { keys: [alice.public] }), rejects("ERR_OCI_MEDIA_TYPE"));
    await signImage(store, { signer: keySigner(alice), forms: ["cosign"] });
    const v = await verifyImage(store, { keys: [alice.public] });
    assert.equal(v.signatures.length, 1);
    assert.deepEqual(
      v.rejected.map((r) => r.code),
      ["ERR_OCI_MEDIA_TYPE"],
    );
  });

  it("refuses an unknown form", async () => {
    const { store } = await layoutWithImage("j");
    await assert.rejects(
      signImage(store, { signer: keySigner(alice), forms: ["notation" as "cosign"] }),
      rejects("ERR_USAGE"),
    );
  });
});

describe("attestImage and verifyAttestation (OCI layout)", () => {
  const predicateType = "https://slsa.dev/provenance/v1";
  const predicate = { buildDefinition: { buildType: "https://example.com/build" } };

  it("attests in both forms; the statement's subject is the image digest", async () => {
    const { store, digest } = await layoutWithImage("k");
    const r = await attestImage(store, { signer: keySigner(alice), predicateType, predicate, clock });
    assert.equal(r.statement.subject[0]!.digest.sha256, digest.slice(7));
    const att = await store.getTagged(cosignTag(digest, ".att"));
    assert.ok(att?.kind === "manifest");
    assert.equal(att.manifest.layers[0]!.mediaType, MEDIA_TYPE_DSSE_ENVELOPE);
    assert.equal(att.manifest.layers[0]!.annotations?.predicateType, predicateType);
    const refs = await store.referrers(digest);
    assert.deepEqual(
      refs.map((d) => d.artifactType),
      [ARTIFACT_TYPE_ATTESTATION],
    );

    const v = await verifyAttestation(store, { keys: [alice.public] });
    assert.deepEqual(
      v.attestations.map((a) => a.form),
      ["cosign", "referrer"],
    );
    assert.deepEqual(v.attestations[0]!.statement.predicate, predicate);
    const typed = await verifyAttestation(store, {
      keys: [alice.public],
      predicateType,
      forms: ["referrer"],
    });
    assert.equal(typed.attestations.length, 1);
  });

  it("refuses: another predicate type only, another key, none attached", async () => {
    const { store } = await layoutWithImage("l");
    await assert.rejects(
      verifyAttestation(store, { keys: [alice.public] }),
      rejects("ERR_OCI_SIGNATURE_MISSING"),
    );
    await attestImage(store, { signer: keySigner(alice), predicateType, predicate });
    await assert.rejects(
      verifyAttestation(store, { keys: [alice.public], predicateType: "https://spdx.dev/Document" }),
      rejects("ERR_OCI_SIGNATURE_MISSING"),
    );
    await assert.rejects(
      verifyAttestation(store, { keys: [bob.public] }),
      rejects("ERR_OCI_SIGNATURE_INVALID"),
    );
  });

  it("refuses an attestation moved from another image (subject digest checked)", async () => {
    const a = await layoutWithImage("m");
    await attestImage(a.store, { signer: keySigner(alice), predicateType, predicate, forms: ["cosign"] });
    const b = await layoutWithImage("n");
    const att = await a.store.getTagged(cosignTag(a.digest, ".att"));
    assert.ok(att?.kind === "manifest");
    for (const d of [att.manifest.config, ...att.manifest.layers])
      await b.store.putBlob(d, await a.store.getBlob(d, 1 << 20));
    await b.store.putManifest(att, { tag: cosignTag(b.digest, ".att") });
    await assert.rejects(
      verifyAttestation(b.store, { keys: [alice.public] }),
      rejects("ERR_OCI_SIGNATURE_SUBJECT_MISMATCH"),
    );
  });

  it("does not take a signature envelope for an attestation (payload type is signed)", async () => {
    const { store, digest } = await layoutWithImage("o");
    await signImage(store, { signer: keySigner(alice), forms: ["referrer"] });
    // Relabel the signature referrer as an attestation: same signed envelope, other artifactType.
    const ref = (await store.referrers(digest))[0]!;
    const rm = await store.getManifest(ref.digest);
    assert.ok(rm.kind === "manifest");
    await store.putManifest(
      newImageManifest({
        artifactType: ARTIFACT_TYPE_ATTESTATION,
        config: rm.manifest.config,
        layers: rm.manifest.layers,
        subject: rm.manifest.subject!,
      }),
    );
    await assert.rejects(verifyAttestation(store, { keys: [alice.public] }), rejects("ERR_FIELD_INVALID"));
  });
});
