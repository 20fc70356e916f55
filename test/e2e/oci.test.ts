// SPDX-License-Identifier: Apache-2.0
// cairn oci end to end, the CLI spawned as a process against Debian's docker-registry (2.8, no
// referrers API: the tag-schema fallback is used) on 127.0.0.1: the worked example of docs/oci.md;
// sign then verify in both forms; attest then verify-attestation with the subject checked;
// refusals (another key, an altered signature layer, a signature or attestation moved from another
// image); copy layout -> registry -> layout with every digest identical, signatures, attestations
// and multi-platform indexes included; tree; and skopeo reading the image and the .sig manifest
// cairn pushed (same digests), and verifying cairn's cosign-form signature with its own
// sigstoreSigned policy.
//
// The CLI is dist/cairn.mjs (npm run build).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { cosignTag } from "../../src/engines/oci/attached.js";
import { RegistryClient } from "../../src/engines/oci/registry.js";
import {
  ANNOTATION_COSIGN_SIGNATURE,
  cosignConfig,
  MEDIA_TYPE_COSIGN_SIMPLESIGNING,
} from "../../src/engines/oci/sign.js";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  manifestDescriptor,
  newImageIndex,
  newImageManifest,
  type OciDigest,
} from "../../src/formats/oci/index.js";
import { OciLayout } from "../../src/runtime/oci-layout.js";
import { registryHttp } from "../../src/runtime/registry-http.js";
import { writeSmallImage } from "../../src/testing/oci-image.js";
import { registryMissing, SKOPEO, startRegistry, type TestRegistry } from "../../src/testing/registry.js";
import { type CliResult, cairn, isOneErrorLine, tempDir } from "./cli.js";

const missing = registryMissing();
const DOC = resolve(import.meta.dirname, "..", "..", "docs", "oci.md");
function run(args: string[], cwd: string): Promise<CliResult> {
  return cairn(args, cwd);
}

/** Runs cairn, expecting `code`; returns stdout. */
async function ok(args: string[], cwd: string, code = 0): Promise<string> {
  const r = await run(args, cwd);
  assert.equal(r.code, code, `cairn ${args.join(" ")}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A small image in a layout at DIR, tagged `tag`: one layer, a config naming it. */
async function writeImage(dir: string, seed: string, tag: string): Promise<OciDigest> {
  return writeSmallImage(await OciLayout.init(dir), seed, tag);
}

/** A two-platform index in a layout, tagged `tag`. */
async function writeIndex(dir: string, tag: string): Promise<{ index: OciDigest; platforms: OciDigest[] }> {
  const layout = await OciLayout.init(dir);
  const children = [];
  for (const architecture of ["amd64", "arm64"]) {
    const layer = new TextEncoder().encode(`layer for ${architecture}\n`);
    const config = new TextEncoder().encode(
      JSON.stringify({
        architecture,
        os: "linux",
        rootfs: { type: "layers", diff_ids: [digestOf(layer)] },
        config: {},
      }),
    );
    await layout.putBlob(layer);
    await layout.putBlob(config);
    const m = newImageManifest({
      config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
      layers: [descriptorOf(layer, MEDIA_TYPE_OCI_LAYER)],
    });
    await layout.putManifest(m.bytes);
    children.push(manifestDescriptor(m, { platform: { architecture, os: "linux" } }));
  }
  const index = newImageIndex({ manifests: children });
  await layout.putManifest(index.bytes, { tag });
  return { index: index.digest, platforms: children.map((c) => c.digest) };
}

interface TreeJson {
  kind: string;
  digest: string;
  tag?: string;
  artifactType?: string;
  children: TreeJson[];
}
/** Every manifest in a tree with what it is, sorted (order of listing may differ by store). */
function flatten(t: TreeJson): string[] {
  return [
    `${t.kind} ${t.digest} ${t.tag ?? ""} ${t.artifactType ?? ""}`,
    ...t.children.flatMap(flatten),
  ].sort();
}

function skopeo(
  args: string[],
  policy: string,
  extra: string[] = [],
): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(SKOPEO, ["--policy", policy, ...extra, ...args], {
    encoding: "buffer",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe("cairn oci against docker-registry", () => {
  it("has docker-registry and skopeo (scripts/test.sh installs them)", () =>
    assert.equal(missing, undefined));
  let reg: TestRegistry;
  const t = tempDir("oci");
  const w = t.dir;
  let anyPolicy = "";
  const tls = "--tls-verify=false";

  before(async () => {
    reg = await startRegistry();
    await writeImage(join(w, "image"), "demo", "v1");
    anyPolicy = join(w, "policy-any.json");
    writeFileSync(anyPolicy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    writeFileSync(
      join(w, "provenance.json"),
      JSON.stringify({ buildDefinition: { buildType: "https://example.com/build/v1" }, runDetails: {} }),
    );
  });
  after(async () => {
    await reg?.stop();
    t.cleanup();
  });

  it("runs the worked example of docs/oci.md", async () => {
    const doc = readFileSync(DOC, "utf8");
    const block = /## Worked example[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, "docs/oci.md has a worked example");
    const lines = block.split("\n").filter((l) => l.startsWith("cairn "));
    assert.ok(lines.length >= 10);
    for (const line of lines) {
      const [cmd, comment] = line.split(/\s+#\s+/) as [string, string | undefined];
      const expected = comment === undefined ? 0 : Number(/exit (\d+)/.exec(comment)?.[1]);
      const args = cmd.trim().replaceAll("$REGISTRY", reg.host).split(/\s+/).slice(1);
      const r = await run(args, w);
      assert.equal(r.code, expected, `${line}\n${r.stdout}${r.stderr}`);
      const code = comment === undefined ? undefined : /(ERR_[A-Z_]+)/.exec(comment)?.[1];
      if (code !== undefined) {
        assert.ok(isOneErrorLine(r.stderr), r.stderr);
        assert.match(r.stderr, new RegExp(`^cairn: ${code}: `));
      }
    }
    // The tree shows both forms of signature and attestation, as the doc says.
    const tree = await ok(["oci", "tree", `docker://${reg.host}/demo:v1`, tls], w);
    assert.match(tree, /├── signatures {2}tag sha256-[0-9a-f]{64}\.sig {2}sha256:/);
    assert.match(tree, /attestations {2}tag sha256-[0-9a-f]{64}\.att/);
    assert.match(tree, /signature {2}application\/vnd\.cairn\.signature\.v1\+json/);
    assert.match(tree, /attestation {2}application\/vnd\.in-toto\+json/);
    assert.match(tree, /application\/vnd\.dev\.cosign\.simplesigning\.v1\+json/);
    assert.match(tree, /https:\/\/slsa\.dev\/provenance\/v1/);
    // The mirror holds the same manifests, digests identical.
    const inRegistry = JSON.parse(
      await ok(["oci", "tree", `docker://${reg.host}/demo:v1`, tls, "--json"], w),
    );
    const inMirror = JSON.parse(await ok(["oci", "tree", "oci:mirror:v1", "--json"], w));
    assert.deepEqual(flatten(inMirror), flatten(inRegistry));
    assert.equal(inRegistry.children.length, 4);
  });

  it("signs and verifies each form on its own", async () => {
    await ok(["oci", "copy", "oci:image:v1", `docker://${reg.host}/forms/cosign:v1`, tls], w);
    await ok(["oci", "copy", "oci:image:v1", `docker://${reg.host}/forms/referrer:v1`, tls], w);
    await ok(["key", "generate", "k1", "--type", "ecdsa"], w);
    for (const form of ["cosign", "referrer"]) {
      const image = `docker://${reg.host}/forms/${form}:v1`;
      const signed = JSON.parse(
        await ok(["oci", "sign", image, "--key", "k1", "--form", form, tls, "--json"], w),
      );
      assert.deepEqual(
        signed.attached.map((a: { form: string }) => a.form),
        [form],
      );
      const v = JSON.parse(
        await ok(["oci", "verify", image, "--key", "k1.pub", "--form", form, tls, "--json"], w),
      );
      assert.equal(v.ok, true);
      assert.equal(v.signatures.length, 1);
      assert.equal(v.signatures[0].payload.critical.image["docker-manifest-digest"], signed.image.digest);
      assert.equal(
        v.signatures[0].payload.critical.identity["docker-reference"],
        `${reg.host}/forms/${form}`,
      );
      // The other form is not there: missing, exit 10.
      const other = form === "cosign" ? "referrer" : "cosign";
      const r = await run(["oci", "verify", image, "--key", "k1.pub", "--form", other, tls], w);
      assert.equal(r.code, 10);
      assert.match(r.stderr, /^cairn: ERR_OCI_SIGNATURE_MISSING: /);
    }
  });

  it("refuses another key, an altered signature layer, and a signature moved from another image", async () => {
    await ok(["key", "generate", "k2", "--type", "ecdsa"], w);
    await ok(["key", "generate", "k3", "--type", "ed25519"], w);
    await writeImage(join(w, "other"), "other", "v1");
    const a = `docker://${reg.host}/refuse/a:v1`;
    const b = `docker://${reg.host}/refuse/b:v1`;
    await ok(["oci", "copy", "oci:image:v1", a, tls], w);
    await ok(["oci", "copy", "oci:other:v1", b, tls], w);
    await ok(["oci", "sign", a, "--key", "k2", tls], w);
    // Another key.
    const wrong = await run(["oci", "verify", a, "--key", "k3.pub", tls], w);
    assert.equal(wrong.code, 10, wrong.stderr);
    assert.ok(isOneErrorLine(wrong.stderr));
    assert.match(wrong.stderr, /^cairn: ERR_OCI_SIGNATURE_INVALID: /);

    const client = new RegistryClient({ http: registryHttp(), tlsVerify: false });
    const repoA = { registry: reg.host, repository: "refuse/a" };
    const repoB = { registry: reg.host, repository: "refuse/b" };
    const digestA = (await client.getManifest({ ...repoA, tag: "v1" })).digest;
    const digestB = (await client.getManifest({ ...repoB, tag: "v1" })).digest;
    const sig = await client.getManifest({ ...repoA, tag: cosignTag(digestA, ".sig") });
    assert.ok(sig.kind === "manifest");

    // A signature moved to image B (same repository contents copied over, exact bytes).
    for (const d of [sig.manifest.config, ...sig.manifest.layers])
      await client.pushBlob(repoB, await client.getBlob(repoA, d));
    await client.putManifest({ ...repoB, tag: cosignTag(digestB, ".sig") }, sig);
    const moved = await run(["oci", "verify", b, "--key", "k2.pub", "--form", "cosign", tls], w);
    assert.equal(moved.code, 10, moved.stderr);
    assert.match(moved.stderr, /^cairn: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH: /);

    // An altered signature layer: the payload rewritten for another identity, the signature kept.
    const layer = sig.manifest.layers[0]!;
    const payload = JSON.parse(new TextDecoder().decode(await client.getBlob(repoA, layer)));
    payload.critical.identity["docker-reference"] = "evil.example/app";
    const forged = new TextEncoder().encode(JSON.stringify(payload));
    const forgedLayer = descriptorOf(forged, MEDIA_TYPE_COSIGN_SIMPLESIGNING, {
      annotations: { [ANNOTATION_COSIGN_SIGNATURE]: layer.annotations![ANNOTATION_COSIGN_SIGNATURE]! },
    });
    const cfg = cosignConfig([forgedLayer]);
    await client.pushBlob(repoA, forged);
    await client.pushBlob(repoA, cfg);
    await client.putManifest(
      { ...repoA, tag: cosignTag(digestA, ".sig") },
      newImageManifest({ config: descriptorOf(cfg, MEDIA_TYPE_OCI_CONFIG), layers: [forgedLayer] }),
    );
    const altered = await run(["oci", "verify", a, "--key", "k2.pub", "--form", "cosign", tls], w);
    assert.equal(altered.code, 10, altered.stderr);
    assert.match(altered.stderr, /^cairn: ERR_OCI_SIGNATURE_INVALID: /);
    // The referrer form, untouched, still verifies; the refusal of the cosign one is reported.
    const both = JSON.parse(await ok(["oci", "verify", a, "--key", "k2.pub", tls, "--json"], w));
    assert.deepEqual(
      both.signatures.map((s: { form: string }) => s.form),
      ["referrer"],
    );
    assert.equal(both.rejected[0].code, "ERR_OCI_SIGNATURE_INVALID");
  });

  it("attests and verifies attestations, checking the subject digest", async () => {
    await ok(["key", "generate", "k4", "--type", "ecdsa"], w);
    const image = `docker://${reg.host}/attest/app:v1`;
    const pushed = JSON.parse(await ok(["oci", "copy", "oci:image:v1", image, tls, "--json"], w));
    const type = "https://slsa.dev/provenance/v1";
    await ok(
      ["oci", "attest", image, "--predicate", "provenance.json", "--type", type, "--key", "k4", tls],
      w,
    );
    const v = JSON.parse(
      await ok(["oci", "verify-attestation", image, "--key", "k4.pub", "--type", type, tls, "--json"], w),
    );
    assert.equal(v.attestations.length, 2);
    for (const a of v.attestations) {
      assert.equal(a.statement.predicateType, type);
      assert.equal(a.statement.subject[0].digest.sha256, pushed.image.digest.slice("sha256:".length));
      assert.equal(a.statement.subject[0].name, `${reg.host}/attest/app`);
      assert.equal(a.statement.predicate.buildDefinition.buildType, "https://example.com/build/v1");
    }
    const otherType = await run(
      ["oci", "verify-attestation", image, "--key", "k4.pub", "--type", "https://spdx.dev/Document", tls],
      w,
    );
    assert.equal(otherType.code, 10);
    assert.match(otherType.stderr, /^cairn: ERR_OCI_SIGNATURE_MISSING: /);

    // The .att moved onto another image is refused: its statement names the first image.
    const other = `docker://${reg.host}/attest/other:v1`;
    await ok(["oci", "copy", "oci:other:v1", other, tls], w);
    const client = new RegistryClient({ http: registryHttp(), tlsVerify: false });
    const from = { registry: reg.host, repository: "attest/app" };
    const to = { registry: reg.host, repository: "attest/other" };
    const toDigest = (await client.getManifest({ ...to, tag: "v1" })).digest;
    const att = await client.getManifest({ ...from, tag: cosignTag(pushed.image.digest, ".att") });
    assert.ok(att.kind === "manifest");
    for (const d of [att.manifest.config, ...att.manifest.layers])
      await client.pushBlob(to, await client.getBlob(from, d));
    await client.putManifest({ ...to, tag: cosignTag(toDigest, ".att") }, att);
    const moved = await run(["oci", "verify-attestation", other, "--key", "k4.pub", tls], w);
    assert.equal(moved.code, 10, moved.stderr);
    assert.match(moved.stderr, /^cairn: ERR_OCI_SIGNATURE_SUBJECT_MISMATCH: /);
  });

  it("copies layout -> registry -> layout with every digest identical (index, signatures, attestations)", async () => {
    await ok(["key", "generate", "k5", "--type", "ecdsa"], w);
    const { index, platforms } = await writeIndex(join(w, "multi"), "v2");
    await ok(["oci", "sign", "oci:multi:v2", "--key", "k5"], w);
    await ok(["oci", "sign", `oci:multi@${platforms[0]}`, "--key", "k5", "--form", "cosign"], w);
    await ok(
      [
        "oci",
        "attest",
        "oci:multi:v2",
        "--predicate",
        "provenance.json",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--key",
        "k5",
      ],
      w,
    );
    const image = `docker://${reg.host}/copy/multi:v2`;
    const up = JSON.parse(await ok(["oci", "copy", "oci:multi:v2", image, tls, "--json"], w));
    assert.equal(up.image.digest, index);
    await ok(["oci", "copy", image, "oci:back:v2", tls], w);
    const trees = await Promise.all(
      [["oci:multi:v2"], [image, tls], ["oci:back:v2"]].map(async (args) =>
        JSON.parse(await ok(["oci", "tree", ...args, "--json"], w)),
      ),
    );
    assert.deepEqual(flatten(trees[1]), flatten(trees[0]));
    assert.deepEqual(flatten(trees[2]), flatten(trees[0]));
    // index, 2 platforms, .sig on the index and on a platform, .att, 2 referrers
    assert.equal(flatten(trees[0]).length, 8);
    // The signatures made in the first layout verify in the last one.
    await ok(["oci", "verify", "oci:back:v2", "--key", "k5.pub"], w);
    await ok(["oci", "verify", `oci:back@${platforms[0]}`, "--key", "k5.pub"], w);
    await ok(["oci", "verify-attestation", "oci:back:v2", "--key", "k5.pub"], w);
    // A second copy sends nothing.
    const again = JSON.parse(await ok(["oci", "copy", "oci:multi:v2", image, tls, "--json"], w));
    assert.equal(again.blobsCopied, 0);
  });

  it("skopeo reads the signed image and the .sig manifest cairn pushed, digests equal", async () => {
    await ok(["key", "generate", "k6", "--type", "ecdsa"], w);
    const image = `docker://${reg.host}/skopeo/app:v1`;
    await ok(["oci", "copy", "oci:image:v1", image, tls], w);
    const signed = JSON.parse(
      await ok(["oci", "sign", image, "--key", "k6", "--form", "cosign", tls, "--json"], w),
    );
    const raw = skopeo(["inspect", "--raw", tls, image], anyPolicy);
    assert.equal(raw.status, 0, raw.stderr);
    assert.equal(digestOf(raw.stdout), signed.image.digest);
    const sigRef = `docker://${reg.host}/skopeo/app:${signed.attached[0].tag}`;
    const sigRaw = skopeo(["inspect", "--raw", tls, sigRef], anyPolicy);
    assert.equal(sigRaw.status, 0, sigRaw.stderr);
    assert.equal(digestOf(sigRaw.stdout), signed.attached[0].digest);
    const sigManifest = JSON.parse(sigRaw.stdout.toString("utf8"));
    assert.equal(sigManifest.layers[0].mediaType, MEDIA_TYPE_COSIGN_SIMPLESIGNING);

    // skopeo copies the .sig manifest into a layout unchanged: the digest cairn pushed, and cairn
    // still verifies the signature there. (Debian's skopeo is built with sigstore verification
    // disabled, so its sigstoreSigned policy cannot be exercised here.)
    const out = join(w, "skopeo-out");
    for (const [ref, tag] of [
      [image, "v1"],
      [sigRef, signed.attached[0].tag],
    ] as const) {
      // skopeo gzips uncompressed layers for oci: unless told not to (that would rewrite the manifest).
      const r = skopeo(
        ["copy", "--src-tls-verify=false", "--dest-oci-accept-uncompressed-layers", ref, `oci:${out}:${tag}`],
        anyPolicy,
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const layout = await OciLayout.open(out);
    assert.equal((await layout.resolve("v1")).digest, signed.image.digest);
    assert.equal((await layout.resolve(signed.attached[0].tag)).digest, signed.attached[0].digest);
    const v = JSON.parse(await ok(["oci", "verify", `oci:${out}:v1`, "--key", "k6.pub", "--json"], w));
    assert.deepEqual(
      v.signatures.map((s: { form: string; manifest: string }) => [s.form, s.manifest]),
      [["cosign", signed.attached[0].digest]],
    );
  });

  it("fails clearly: a bad image name, an unreachable registry", async () => {
    await ok(["key", "generate", "k8", "--type", "ecdsa"], w);
    const bad = await run(["oci", "verify", "image:v1", "--key", "k8.pub"], w);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^cairn: ERR_OCI_REFERENCE_INVALID: /);
    const down = await run(["oci", "tree", "docker://127.0.0.1:1/nothing:v1", tls], w);
    assert.equal(down.code, 14);
    assert.ok(isOneErrorLine(down.stderr), down.stderr);
    assert.match(down.stderr, /^cairn: ERR_OCI_REGISTRY_UNREACHABLE: /);
    const form = await run(["oci", "sign", "oci:image:v1", "--key", "k8", "--form", "notary"], w);
    assert.equal(form.code, 2);
  });
});
