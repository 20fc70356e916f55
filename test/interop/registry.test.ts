// SPDX-License-Identifier: Apache-2.0
// The registry client against the reference registry: Debian's docker-registry (distribution
// 2.8.2) run on 127.0.0.1 by src/testing/registry.ts, anonymous, with htpasswd basic auth, and
// with token auth; and Debian's skopeo reading what cairn pushed (and the other way round).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CairnError } from "../../src/core/errors.js";
import {
  copyImage,
  type HttpPort,
  parseImageReference,
  RegistryClient,
  referrersTag,
  registryErrorOf,
  registryStore,
} from "../../src/engines/oci/index.js";
import {
  type Descriptor,
  descriptorOf,
  digestOf,
  EMPTY_JSON_BYTES,
  emptyDescriptor,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  manifestDescriptor,
  newImageManifest,
  type ParsedManifest,
} from "../../src/formats/oci/index.js";
import { dockerCredentials } from "../../src/runtime/docker-config.js";
import { registryHttp } from "../../src/runtime/registry-http.js";
import {
  freePort,
  registryMissing,
  SKOPEO,
  startRegistry,
  type TestRegistry,
} from "../../src/testing/registry.js";

const missing = registryMissing();
const codeOf = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code;

/** A small image: an OCI config and two uncompressed layers (one big enough to chunk). */
function makeImage(seed: string) {
  const small = new TextEncoder().encode(`small layer ${seed}\n`);
  const big = new Uint8Array(300 * 1024).map((_, i) => (i * 31 + seed.length) & 0xff);
  const layers = [small, big];
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => digestOf(l)) },
      config: { Labels: { seed } },
    }),
  );
  const manifest = newImageManifest({
    config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
    layers: layers.map((l) => descriptorOf(l, MEDIA_TYPE_OCI_LAYER)),
  });
  return { config, layers, manifest };
}

async function pushImage(
  c: RegistryClient,
  registry: string,
  repository: string,
  tag: string,
  img: ReturnType<typeof makeImage>,
) {
  const repo = { registry, repository };
  await c.pushBlob(repo, img.config);
  await c.pushBlob(repo, img.layers[0] as Uint8Array);
  const big = img.layers[1] as Uint8Array;
  await c.pushBlobChunked(
    repo,
    big,
    { digest: digestOf(big), size: big.byteLength },
    { chunkSize: 64 * 1024 },
  );
  return c.putManifest({ ...repo, tag }, img.manifest);
}

function skopeo(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "cairn-skopeo-"));
  const policy = join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  try {
    const r = spawnSync(SKOPEO, ["--policy", policy, ...args], { encoding: "buffer", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`skopeo ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("registry client against docker-registry (anonymous)", () => {
  it("has docker-registry and skopeo (scripts/test.sh installs them)", () =>
    assert.equal(missing, undefined));
  let reg: TestRegistry;
  let c: RegistryClient;
  before(async () => {
    reg = await startRegistry();
    c = new RegistryClient({ http: registryHttp(), tlsVerify: false });
  });
  after(async () => reg?.stop());

  it("pushes an image with monolithic and chunked uploads and pulls it back with identical digests", async () => {
    const img = makeImage("one");
    const pushed = await pushImage(c, reg.host, "cairn/one", "v1", img);
    assert.equal(pushed.digest, img.manifest.digest);
    const ref = parseImageReference(`docker://${reg.host}/cairn/one:v1`);
    const byTag = await c.getManifest(ref);
    assert.equal(byTag.digest, img.manifest.digest);
    assert.deepEqual(Buffer.from(byTag.bytes), Buffer.from(img.manifest.bytes));
    const byDigest = (await c.getManifest({
      ...ref,
      tag: undefined,
      digest: img.manifest.digest,
    })) as ParsedManifest;
    assert.equal(byDigest.kind, "manifest");
    const repo = { registry: reg.host, repository: "cairn/one" };
    assert.deepEqual(Buffer.from(await c.getBlob(repo, byDigest.manifest.config)), Buffer.from(img.config));
    for (const [i, d] of byDigest.manifest.layers.entries()) {
      assert.deepEqual(Buffer.from(await c.getBlob(repo, d)), Buffer.from(img.layers[i] as Uint8Array));
    }
    // A second push finds every blob there already.
    assert.equal((await c.pushBlob(repo, img.config)).existed, true);
  });

  it("answers HEAD for manifests and blobs, and undefined when missing", async () => {
    const img = makeImage("head");
    await pushImage(c, reg.host, "cairn/head", "v1", img);
    const repo = { registry: reg.host, repository: "cairn/head" };
    const d = await c.headManifest({ ...repo, tag: "v1" });
    assert.deepEqual(d, {
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
    });
    assert.equal(await c.headManifest({ ...repo, tag: "nope" }), undefined);
    assert.deepEqual(await c.headBlob(repo, digestOf(img.config)), {
      digest: digestOf(img.config),
      size: img.config.byteLength,
    });
    assert.equal(await c.headBlob(repo, digestOf("absent")), undefined);
  });

  it("lists tags, asking for pages of a given size", async () => {
    const img = makeImage("tags");
    await pushImage(c, reg.host, "cairn/tags", "a", img);
    for (const t of ["b", "c", "d", "e"])
      await c.putManifest({ registry: reg.host, repository: "cairn/tags", tag: t }, img.manifest);
    const tags = await c.listTags({ registry: reg.host, repository: "cairn/tags" }, { pageSize: 2 });
    // distribution 2.8 ignores n and answers in one page; the client follows Link when given.
    assert.deepEqual([...tags].sort(), ["a", "b", "c", "d", "e"]);
  });

  it("mounts a blob from another repository, and reports false for one it cannot mount", async () => {
    const img = makeImage("mount");
    await pushImage(c, reg.host, "cairn/src", "v1", img);
    const dst = { registry: reg.host, repository: "cairn/dst" };
    assert.equal(await c.headBlob(dst, digestOf(img.config)), undefined);
    assert.equal(await c.mountBlob(dst, "cairn/src", digestOf(img.config)), true);
    assert.ok(await c.headBlob(dst, digestOf(img.config)));
    assert.equal(await c.mountBlob(dst, "cairn/src", digestOf("never pushed")), false);
  });

  it("copies between two repositories of the registry by mounting every blob, none sent", async () => {
    const img = makeImage("copy-mount");
    await pushImage(c, reg.host, "cairn/mount-src", "v1", img);
    const src = registryStore(c, parseImageReference(`docker://${reg.host}/cairn/mount-src:v1`));
    const dst = registryStore(c, parseImageReference(`docker://${reg.host}/cairn/mount-dst:v1`));
    const how: string[] = [];
    const r = await copyImage(src, dst, {
      onProgress: (e) => {
        if (e.kind === "done") how.push(e.how);
      },
    });
    assert.equal(r.blobsMounted, 3);
    assert.equal(r.blobsCopied, 0);
    assert.deepEqual(how, ["mounted", "mounted", "mounted"]);
    const back = await c.getManifest({ registry: reg.host, repository: "cairn/mount-dst", tag: "v1" });
    assert.equal(back.digest, img.manifest.digest);
    // With mounts off, the blobs are sent.
    const sent = registryStore(c, parseImageReference(`docker://${reg.host}/cairn/mount-off:v1`));
    const r2 = await copyImage(src, sent, { mount: false });
    assert.equal(r2.blobsMounted, 0);
    assert.equal(r2.blobsCopied, 3);
  });

  it("deletes a manifest and a blob", async () => {
    const img = makeImage("delete");
    await pushImage(c, reg.host, "cairn/del", "v1", img);
    const repo = { registry: reg.host, repository: "cairn/del" };
    await c.deleteManifest({ ...repo, digest: img.manifest.digest });
    const err = await c.getManifest({ ...repo, digest: img.manifest.digest }).catch((e) => e);
    assert.ok(codeOf("ERR_OCI_REGISTRY_NOT_FOUND")(err), String(err));
    assert.equal(registryErrorOf(err)?.errors[0]?.code, "MANIFEST_UNKNOWN");
    await c.deleteBlob(repo, digestOf(img.config));
    assert.equal(await c.headBlob(repo, digestOf(img.config)), undefined);
  });

  it("records a referrer through the referrers tag fallback and finds it, filtered by artifactType", async () => {
    const img = makeImage("subject");
    const repo = { registry: reg.host, repository: "cairn/refs" };
    await pushImage(c, reg.host, repo.repository, "v1", img);
    await c.pushBlob(repo, EMPTY_JSON_BYTES);
    const subject: Descriptor = manifestDescriptor(img.manifest);
    const artifact = (type: string, payload: string) => {
      const blob = new TextEncoder().encode(payload);
      return {
        blob,
        manifest: newImageManifest({
          artifactType: type,
          config: emptyDescriptor(),
          layers: [descriptorOf(blob, "application/octet-stream")],
          subject,
          annotations: { "org.example.note": payload },
        }),
      };
    };
    const sig = artifact("application/vnd.example.sig", "a signature");
    const sbom = artifact("application/vnd.example.sbom", "an sbom");
    for (const a of [sig, sbom]) {
      await c.pushBlob(repo, a.blob);
      const r = await c.putManifest({ ...repo, digest: a.manifest.digest }, a.manifest);
      assert.equal(r.referrers, "tag", "distribution 2.8 has no referrers API");
    }
    // Pushing again does not duplicate the entry.
    await c.putManifest({ ...repo, digest: sig.manifest.digest }, sig.manifest);
    const all = await c.referrers(repo, img.manifest.digest);
    assert.equal(all.source, "tag");
    assert.deepEqual(
      all.manifests.map((d) => d.digest).sort(),
      [sig.manifest.digest, sbom.manifest.digest].sort(),
    );
    const only = await c.referrers(repo, img.manifest.digest, {
      artifactType: "application/vnd.example.sbom",
    });
    assert.deepEqual(
      only.manifests.map((d) => [d.digest, d.annotations?.["org.example.note"]]),
      [[sbom.manifest.digest, "an sbom"]],
    );
    const tagged = await c.getManifest({ ...repo, tag: referrersTag(img.manifest.digest) });
    assert.equal(tagged.kind, "index");
    assert.deepEqual((await c.referrers(repo, digestOf("no such subject"))).manifests, []);
  });

  it("refuses a manifest that does not match the digest asked for (a lying registry or proxy)", async () => {
    const img = makeImage("mismatch");
    await pushImage(c, reg.host, "cairn/lie", "v1", img);
    const other = makeImage("other");
    const real = registryHttp();
    // The port answers a request for `other`'s digest with the manifest at tag v1.
    const lying: HttpPort = {
      request: (req) => real.request({ ...req, url: req.url.replace(other.manifest.digest, "v1") }),
    };
    const liar = new RegistryClient({ http: lying, tlsVerify: false });
    await assert.rejects(
      liar.getManifest({ registry: reg.host, repository: "cairn/lie", digest: other.manifest.digest }),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
  });

  it("refuses an oversized manifest and a truncated blob", async () => {
    const img = makeImage("bounds");
    const repo = { registry: reg.host, repository: "cairn/bounds" };
    await pushImage(c, reg.host, repo.repository, "v1", img);
    const tight = new RegistryClient({ http: registryHttp(), tlsVerify: false, maxManifestBytes: 100 });
    await assert.rejects(tight.getManifest({ ...repo, tag: "v1" }), codeOf("ERR_OCI_TOO_LARGE"));
    const layer = img.layers[0] as Uint8Array;
    // The descriptor says one byte more than the registry has: the download is short.
    await assert.rejects(
      c.getBlob(repo, { digest: digestOf(layer), size: layer.byteLength + 1 }),
      codeOf("ERR_OCI_BLOB_TRUNCATED"),
    );
    // ... or one byte less: the registry sends more than allowed.
    await assert.rejects(
      c.getBlob(repo, { digest: digestOf(layer), size: layer.byteLength - 1 }),
      codeOf("ERR_OCI_TOO_LARGE"),
    );
  });

  it("reports a missing manifest with the spec's error code", async () => {
    const err = await c
      .getManifest({ registry: reg.host, repository: "cairn/none", tag: "v1" })
      .catch((e) => e);
    assert.ok(codeOf("ERR_OCI_REGISTRY_NOT_FOUND")(err));
    assert.equal(err.category, "not-found");
    assert.ok(["NAME_UNKNOWN", "MANIFEST_UNKNOWN"].includes(registryErrorOf(err)?.errors[0]?.code ?? ""));
  });

  it("skopeo reads what cairn pushed, with the same digest", async () => {
    const img = makeImage("skopeo");
    await pushImage(c, reg.host, "cairn/skopeo", "v1", img);
    const ref = `docker://${reg.host}/cairn/skopeo:v1`;
    const raw = skopeo(["inspect", "--raw", "--tls-verify=false", ref]);
    assert.equal(digestOf(raw), img.manifest.digest);
    const info = JSON.parse(skopeo(["inspect", "--tls-verify=false", ref]).toString("utf8"));
    assert.equal(info.Digest, img.manifest.digest);
    assert.deepEqual(
      info.Layers,
      img.manifest.manifest.layers.map((l) => l.digest),
    );
    assert.equal(info.Labels.seed, "skopeo");
  });

  it("cairn reads what skopeo copied into the registry, with the same digest", async () => {
    const img = makeImage("skopeo-back");
    await pushImage(c, reg.host, "cairn/skopeo-src", "v1", img);
    const dir = mkdtempSync(join(tmpdir(), "cairn-oci-"));
    try {
      skopeo([
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        `docker://${reg.host}/cairn/skopeo-src:v1`,
        `oci:${dir}:v1`,
      ]);
      const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
      assert.equal(index.manifests[0].digest, img.manifest.digest);
      skopeo([
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        `oci:${dir}:v1`,
        `docker://${reg.host}/cairn/skopeo-dst:v2`,
      ]);
      const back = await c.getManifest({ registry: reg.host, repository: "cairn/skopeo-dst", tag: "v2" });
      assert.equal(back.digest, img.manifest.digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("registry client: unreachable registry", () => {
  it("reports a transport error, after its retries", async () => {
    const port = await freePort();
    const c = new RegistryClient({
      http: registryHttp({ timeoutMs: 5000 }),
      tlsVerify: false,
      maxRetries: 1,
      retryBaseMs: 1,
    });
    const err = await c
      .getManifest({ registry: `127.0.0.1:${port}`, repository: "x", tag: "v1" })
      .catch((e) => e);
    assert.ok(codeOf("ERR_OCI_REGISTRY_UNREACHABLE")(err), String(err));
    assert.equal(err.category, "transport");
  });
});

describe("registry client against docker-registry with htpasswd basic auth", () => {
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    reg = await startRegistry({ kind: "htpasswd", username: "alice", password: "s3cret" });
    dir = mkdtempSync(join(tmpdir(), "cairn-dockercfg-"));
  });
  after(async () => {
    await reg?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is refused without credentials, with a clear error", async () => {
    const c = new RegistryClient({ http: registryHttp(), tlsVerify: false });
    const err = await c
      .headManifest({ registry: reg.host, repository: "cairn/a", tag: "v1" })
      .catch((e) => e);
    assert.ok(codeOf("ERR_OCI_AUTH_REFUSED")(err), String(err));
    assert.match(err.message, /no credentials for 127\.0\.0\.1/);
  });

  it("is refused with wrong credentials", async () => {
    const cfg = join(dir, "wrong.json");
    writeFileSync(
      cfg,
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("alice:nope").toString("base64") } } }),
    );
    const c = new RegistryClient({
      http: registryHttp(),
      tlsVerify: false,
      credentials: dockerCredentials({ file: cfg }),
    });
    const err = await c
      .headManifest({ registry: reg.host, repository: "cairn/a", tag: "v1" })
      .catch((e) => e);
    assert.ok(codeOf("ERR_OCI_AUTH_REFUSED")(err), String(err));
    assert.match(err.message, /were refused/);
  });

  it("is accepted with credentials from the Docker config file", async () => {
    const cfg = join(dir, "config.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        auths: { [`http://${reg.host}/v2/`]: { auth: Buffer.from("alice:s3cret").toString("base64") } },
      }),
    );
    const c = new RegistryClient({
      http: registryHttp(),
      tlsVerify: false,
      credentials: dockerCredentials({ file: cfg }),
    });
    const img = makeImage("basic");
    await pushImage(c, reg.host, "cairn/basic", "v1", img);
    assert.equal(
      (await c.getManifest({ registry: reg.host, repository: "cairn/basic", tag: "v1" })).digest,
      img.manifest.digest,
    );
  });

  it("is accepted with credentials from a credential helper (credHelpers)", async () => {
    const bin = join(dir, "bin");
    spawnSync("mkdir", ["-p", bin]);
    const helper = join(bin, "docker-credential-cairntest");
    // docker-credential-helpers protocol: `get`, the server on stdin, JSON on stdout.
    writeFileSync(
      helper,
      `#!/bin/sh\nread server\nif [ "$1" = get ] && [ "$server" = "${reg.host}" ]; then\n  printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$server"\nelse\n  echo "credentials not found in native keychain"; exit 1\nfi\n`,
    );
    chmodSync(helper, 0o755);
    const cfg = join(dir, "helpers.json");
    writeFileSync(
      cfg,
      JSON.stringify({ credHelpers: { [reg.host]: "cairntest", "other.example": "cairntest" } }),
    );
    const creds = dockerCredentials({ file: cfg, helperPath: `${bin}:/usr/bin:/bin` });
    assert.equal(await creds.get("elsewhere.example"), undefined);
    assert.equal(await creds.get("other.example"), undefined, "a helper's 'not found' is no credential");
    const c = new RegistryClient({ http: registryHttp(), tlsVerify: false, credentials: creds });
    assert.deepEqual(await c.listTags({ registry: reg.host, repository: "cairn/basic" }), ["v1"]);
  });
});

describe("registry client against docker-registry with the bearer token flow", () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ kind: "token", users: { bob: "hunter2" } });
  });
  after(async () => reg?.stop());

  it("is refused by the token server without credentials", async () => {
    const c = new RegistryClient({ http: registryHttp(), tlsVerify: false });
    await assert.rejects(
      c.headManifest({ registry: reg.host, repository: "cairn/t", tag: "v1" }),
      codeOf("ERR_OCI_AUTH_REFUSED"),
    );
  });

  it("gets tokens for the scopes it needs, caches them, and pushes and pulls", async () => {
    const c = new RegistryClient({
      http: registryHttp(),
      tlsVerify: false,
      credentials: { get: async () => ({ kind: "basic", username: "bob", password: "hunter2" }) },
    });
    reg.tokenRequests.length = 0;
    const img = makeImage("token");
    await pushImage(c, reg.host, "cairn/t", "v1", img);
    const got = await c.getManifest({ registry: reg.host, repository: "cairn/t", tag: "v1" });
    assert.equal(got.digest, img.manifest.digest);
    for (const l of img.manifest.manifest.layers)
      await c.getBlob({ registry: reg.host, repository: "cairn/t" }, l);
    // One token per distinct scope set (pull; pull,push), whatever the number of requests.
    const asked = reg.tokenRequests.map((r) => r.scopes.join(" "));
    assert.deepEqual(new Set(asked), new Set(["repository:cairn/t:pull", "repository:cairn/t:pull,push"]));
    assert.ok(asked.length <= 3, `token requests: ${asked.join(" | ")}`);
    assert.ok(reg.tokenRequests.every((r) => r.user === "bob"));
    // Cross-repository mount asks for both scopes in one token.
    assert.equal(
      await c.mountBlob({ registry: reg.host, repository: "cairn/t2" }, "cairn/t", digestOf(img.config)),
      true,
    );
    assert.deepEqual(reg.tokenRequests.at(-1)?.scopes, [
      "repository:cairn/t2:pull,push",
      "repository:cairn/t:pull",
    ]);
  });
});
