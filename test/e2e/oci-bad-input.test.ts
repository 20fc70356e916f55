// SPDX-License-Identifier: Apache-2.0
// Bad input for `cairn oci copy` (issue 5, section 6), end to end: a digest mismatch, a truncated
// blob (its own error, with the byte counts), a connection cut in the middle of a blob (resumed with Range, or given up), a wrong media
// type, a manifest too large or endless, registry errors, an overloaded registry, an unreachable
// one, and refused authentication. Each gives one error line with its code and the documented exit
// code, and leaves nothing half-written in the destination layout: no index.json entry, no
// temporary file, no blob that does not match its name.
//
// The real docker-registry produces what it can (refused authentication, an unknown repository);
// the faults it never produces (a lying or broken registry) come from a small HTTP server in this
// file that speaks just enough of distribution-spec 1.1 to serve one image.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_MANIFEST,
  newImageManifest,
} from "../../src/formats/oci/index.js";
import { registryMissing, startRegistry, type TestRegistry } from "../../src/testing/registry.js";
import { cairn, isOneErrorLine, tempDir } from "./cli.js";

const t = tempDir("oci-bad-input");
const w = t.dir;
const tls = "--tls-verify=false";

// The image the fake registry serves: a small config and a 9 MiB layer (streamed, not buffered:
// larger than the 8 MiB copied through memory).
const layer = Buffer.alloc(9 * 1024 * 1024 + 123);
for (let i = 0; i < layer.byteLength; i++) layer[i] = (i * 131 + (i >> 12)) & 0xff;
const config = Buffer.from(
  JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [digestOf(layer)] },
    config: {},
  }),
);
const manifest = newImageManifest({
  config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
  layers: [descriptorOf(layer, MEDIA_TYPE_OCI_LAYER)],
});
const blobs = new Map<string, Buffer>([
  [digestOf(config), config],
  [digestOf(layer), layer],
]);

/** What each repository of the fake registry does wrong (the repository name is the fault). */
type Fault =
  | "none"
  | "digest" // the layer with one byte changed, same length
  | "truncated" // the layer short by 1000 bytes, framed correctly (a well-formed short answer)
  | "cut-once" // the layer's connection dropped halfway once; the Range request is answered
  | "cut-always" // the layer's connection dropped halfway every time
  | "media-type" // the manifest served as an index
  | "huge" // a manifest of 5 MiB
  | "endless" // a manifest that never ends (chunked, no length)
  | "error" // HTTP 500 with the spec's error body
  | "overloaded" // HTTP 429 with Retry-After: 0
  | "denied"; // HTTP 403 DENIED

const requests: { fault: string; method: string; path: string; range?: string }[] = [];
const cutDone = new Set<string>();

function fakeRegistry(): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/v2\/([a-z-]+)\/(manifests|blobs|referrers)\/(.+)$/.exec(url.pathname);
    if (url.pathname === "/v2/") return res.writeHead(200, { "content-type": "application/json" }).end("{}");
    if (m === null) return res.writeHead(404).end();
    const [, fault, kind, ref] = m as unknown as [string, Fault, string, string];
    requests.push({
      fault,
      method: req.method ?? "",
      path: url.pathname,
      ...(req.headers.range === undefined ? {} : { range: req.headers.range }),
    });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
    if (fault === "error")
      return json(500, { errors: [{ code: "UNKNOWN", message: "the disk is on fire" }] });
    if (fault === "overloaded")
      return json(
        429,
        { errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] },
        { "retry-after": "0" },
      );
    if (fault === "denied") return json(403, { errors: [{ code: "DENIED", message: "not for you" }] });
    const unknown = () => json(404, { errors: [{ code: "MANIFEST_UNKNOWN", message: "unknown" }] });
    if (kind === "referrers") return unknown();
    if (kind === "manifests") {
      if (ref !== "v1" && ref !== manifest.digest) return unknown();
      if (fault === "huge") {
        const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
        return res.writeHead(200, { "content-type": MEDIA_TYPE_OCI_MANIFEST }).end(big);
      }
      if (fault === "endless") {
        res.writeHead(200, { "content-type": MEDIA_TYPE_OCI_MANIFEST });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const more = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once("drain", more);
        };
        res.on("close", () => res.removeAllListeners("drain"));
        return more();
      }
      const type = fault === "media-type" ? MEDIA_TYPE_OCI_INDEX : MEDIA_TYPE_OCI_MANIFEST;
      return res
        .writeHead(200, {
          "content-type": type,
          "docker-content-digest": manifest.digest,
          "content-length": String(manifest.bytes.byteLength),
        })
        .end(req.method === "HEAD" ? undefined : Buffer.from(manifest.bytes));
    }
    const blob = blobs.get(ref);
    if (blob === undefined) return json(404, { errors: [{ code: "BLOB_UNKNOWN", message: "unknown" }] });
    const isLayer = blob === layer;
    let body = blob;
    if (isLayer && fault === "digest") {
      body = Buffer.from(blob);
      const mid = body.byteLength >> 1;
      body[mid] = (body[mid] ?? 0) ^ 1;
    }
    if (isLayer && fault === "truncated") body = blob.subarray(0, blob.byteLength - 1000);
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range !== null && fault === "cut-once") {
      const start = Number(range[1]);
      return res
        .writeHead(206, {
          "content-range": `bytes ${start}-${blob.byteLength - 1}/${blob.byteLength}`,
          "content-length": String(blob.byteLength - start),
        })
        .end(blob.subarray(start));
    }
    res.writeHead(200, {
      "content-length": String(body.byteLength),
      "content-type": "application/octet-stream",
    });
    if (req.method === "HEAD") return res.end();
    const cut = isLayer && (fault === "cut-always" || (fault === "cut-once" && !cutDone.has(fault)));
    if (cut) {
      cutDone.add(fault);
      // Half the body, then the connection is dropped.
      res.write(body.subarray(0, body.byteLength >> 1), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  });
}

let server: Server;
let host: string;
let reg: TestRegistry;

before(async () => {
  server = fakeRegistry();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  reg = await startRegistry({ kind: "htpasswd", username: "alice", password: "s3cret" });
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await reg?.stop();
  t.cleanup();
});

/** The destination layout, if it exists, names nothing and holds only whole, correct blobs. */
function assertNothingHalfWritten(dir: string): void {
  if (!existsSync(dir)) return;
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  assert.deepEqual(index.manifests, [], "index.json names nothing");
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(".")),
    [],
    "no temporary file is left",
  );
  const shaDir = join(dir, "blobs", "sha256");
  for (const f of existsSync(shaDir) ? readdirSync(shaDir) : []) {
    const h = createHash("sha256")
      .update(readFileSync(join(shaDir, f)))
      .digest("hex");
    assert.equal(h, f, "a blob in the layout is whole and matches its name");
  }
}

async function copyFails(fault: Fault, exit: number, code: string): Promise<string> {
  const out = join(w, `out-${fault}`);
  const r = await cairn(["oci", "copy", `docker://${host}/${fault}:v1`, `oci:${out}:v1`, tls], w);
  assert.equal(r.code, exit, r.stderr);
  assert.ok(isOneErrorLine(r.stderr), `not one clear error line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, new RegExp(`^cairn: ${code}: `));
  assertNothingHalfWritten(out);
  return r.stderr;
}

describe("cairn oci copy refuses bad input from a registry, leaving nothing half-written", () => {
  it("has docker-registry (scripts/test.sh installs it)", () => assert.equal(registryMissing(), undefined));

  it("copies the fake registry's image when nothing is wrong (the baseline)", async () => {
    const out = join(w, "out-none");
    const r = await cairn(["oci", "copy", `docker://${host}/none:v1`, `oci:${out}:v1`, tls, "--json"], w);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).image.digest, manifest.digest);
    assert.equal(
      JSON.parse(readFileSync(join(out, "index.json"), "utf8")).manifests[0].digest,
      manifest.digest,
    );
  });

  it("a layer whose bytes do not match its digest: exit 10, ERR_OCI_DIGEST_MISMATCH", async () => {
    await copyFails("digest", 10, "ERR_OCI_DIGEST_MISMATCH");
  });

  it("a truncated layer (a short, well-formed answer): exit 10, ERR_OCI_BLOB_TRUNCATED with both byte counts", async () => {
    const err = await copyFails("truncated", 10, "ERR_OCI_BLOB_TRUNCATED");
    assert.match(
      err,
      new RegExp(`truncated: the registry sent ${layer.byteLength - 1000} of its ${layer.byteLength} bytes`),
    );
  });

  it("a connection cut in the middle of a layer is resumed with a Range request, digests identical", async () => {
    requests.length = 0;
    const out = join(w, "out-cut-once");
    const r = await cairn(["oci", "copy", `docker://${host}/cut-once:v1`, `oci:${out}:v1`, tls], w);
    assert.equal(r.code, 0, r.stderr);
    const layerGets = requests.filter((q) => q.path.endsWith(digestOf(layer)) && q.method === "GET");
    assert.equal(layerGets.length, 2);
    assert.equal(layerGets[0]?.range, undefined);
    assert.match(layerGets[1]?.range ?? "", /^bytes=\d+-$/);
    const kept = readFileSync(join(out, "blobs", "sha256", digestOf(layer).slice(7)));
    assert.equal(digestOf(kept), digestOf(layer));
  });

  it("a connection cut every time: given up after the resumes, exit 14, ERR_OCI_REGISTRY_UNREACHABLE", async () => {
    await copyFails("cut-always", 14, "ERR_OCI_REGISTRY_UNREACHABLE");
  });

  it("a manifest served with another media type: exit 12, ERR_OCI_MEDIA_TYPE", async () => {
    await copyFails("media-type", 12, "ERR_OCI_MEDIA_TYPE");
  });

  it("a manifest larger than the bound, or endless: exit 12, ERR_OCI_TOO_LARGE", async () => {
    await copyFails("huge", 12, "ERR_OCI_TOO_LARGE");
    await copyFails("endless", 12, "ERR_OCI_TOO_LARGE");
  });

  it("registry errors: 500 is exit 14 ERR_OCI_REGISTRY_ERROR with the spec's code and message", async () => {
    const err = await copyFails("error", 14, "ERR_OCI_REGISTRY_ERROR");
    assert.match(err, /UNKNOWN: the disk is on fire/);
  });

  it("an overloaded registry (429, after the retries): exit 15, ERR_OCI_REGISTRY_OVERLOADED", async () => {
    await copyFails("overloaded", 15, "ERR_OCI_REGISTRY_OVERLOADED");
  });

  it("a registry that denies access (403 DENIED): exit 14, ERR_OCI_AUTH_REFUSED", async () => {
    await copyFails("denied", 14, "ERR_OCI_AUTH_REFUSED");
  });

  it("an unreachable registry: exit 14, ERR_OCI_REGISTRY_UNREACHABLE", async () => {
    const out = join(w, "out-down");
    const r = await cairn(["oci", "copy", "docker://127.0.0.1:1/x:v1", `oci:${out}:v1`, tls], w);
    assert.equal(r.code, 14, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    assert.match(r.stderr, /^cairn: ERR_OCI_REGISTRY_UNREACHABLE: /);
    assertNothingHalfWritten(out);
  });

  it("docker-registry with htpasswd refuses a pull and a push without credentials: exit 14, ERR_OCI_AUTH_REFUSED", async () => {
    const out = join(w, "out-auth");
    const pull = await cairn(["oci", "copy", `docker://${reg.host}/private:v1`, `oci:${out}:v1`, tls], w, {
      DOCKER_CONFIG: join(w, "no-docker-config"),
    });
    assert.equal(pull.code, 14, pull.stderr);
    assert.ok(isOneErrorLine(pull.stderr), pull.stderr);
    assert.match(pull.stderr, /^cairn: ERR_OCI_AUTH_REFUSED: .*no credentials/);
    assertNothingHalfWritten(out);
    // The good image, pulled from the fake registry above, pushed to the protected one.
    const push = await cairn(
      ["oci", "copy", `oci:${join(w, "out-none")}:v1`, `docker://${reg.host}/private:v1`, tls],
      w,
      {
        DOCKER_CONFIG: join(w, "no-docker-config"),
      },
    );
    assert.equal(push.code, 14, push.stderr);
    assert.match(push.stderr, /^cairn: ERR_OCI_AUTH_REFUSED: /);
  });

  it("docker-registry: a repository that does not exist is exit 13, ERR_OCI_REGISTRY_NOT_FOUND", async () => {
    const cfg = join(w, "docker-config");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(
      join(cfg, "config.json"),
      JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }),
    );
    const out = join(w, "out-missing");
    // Authenticated (the registry answers 401 otherwise), then told the name is unknown.
    const r = await cairn(["oci", "copy", `docker://${reg.host}/nothing:v1`, `oci:${out}:v1`, tls], w, {
      DOCKER_CONFIG: cfg,
    });
    assert.equal(r.code, 13, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    assert.match(r.stderr, /^cairn: ERR_OCI_REGISTRY_NOT_FOUND: .*(NAME_UNKNOWN|MANIFEST_UNKNOWN)/);
    assertNothingHalfWritten(out);
  });
});
