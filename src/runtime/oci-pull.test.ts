// SPDX-License-Identifier: Apache-2.0
// Pulling from a registry into an image layout through the blob threads (registryHttp fills the
// layout's sinks off the main thread), against a real HTTP server that serves a one-image registry
// and misbehaves on the large layer as told: a body cut short (truncated), a broken connection
// (resumed with Range), a server that ignores Range (started over), tampered bytes, a body longer
// than the descriptor. Whatever fails leaves nothing in the layout.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CairnError } from "../core/errors.js";
import {
  type CopyEvent,
  copyImage,
  layoutStore,
  MAX_BUFFERED_BLOB,
  parseImageReference,
  RegistryClient,
  registryStore,
} from "../engines/oci/index.js";
import {
  descriptorOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_MANIFEST,
  newImageManifest,
} from "../formats/oci/index.js";
import { OciLayout } from "./oci-layout.js";
import { registryHttp } from "./registry-http.js";

type Mode = "ok" | "short" | "cut-then-range" | "cut-then-whole" | "tampered" | "long" | "huge-error";

const tmp = mkdtempSync(join(tmpdir(), "cairn-oci-pull-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

// One layer above MAX_BUFFERED_BLOB (the sink path), one config.
const layer = Buffer.alloc(MAX_BUFFERED_BLOB + 3 * 65536 + 123);
for (let i = 0; i < layer.length; i++) layer[i] = (i * 131 + (i >> 11)) & 0xff;
const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: {} }));
const manifest = newImageManifest({
  config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
  layers: [descriptorOf(layer, MEDIA_TYPE_OCI_LAYER)],
});
const layerDigest = manifest.manifest.layers[0]!.digest;

describe("pull into a layout through the blob threads", () => {
  let server: Server;
  let host: string;
  let mode: Mode = "ok";
  const ranges: (string | undefined)[] = [];
  let layerGets = 0;

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? "";
      if (path === "/v2/") return res.writeHead(200).end("{}");
      if (path === "/v2/img/manifests/t" || path === `/v2/img/manifests/${manifest.digest}`) {
        return res
          .writeHead(200, {
            "content-type": MEDIA_TYPE_OCI_MANIFEST,
            "docker-content-digest": manifest.digest,
            "content-length": manifest.bytes.byteLength,
          })
          .end(req.method === "HEAD" ? undefined : Buffer.from(manifest.bytes));
      }
      const blob =
        path === `/v2/img/blobs/${manifest.manifest.config.digest}`
          ? config
          : path === `/v2/img/blobs/${layerDigest}`
            ? layer
            : undefined;
      if (blob === undefined) return res.writeHead(404).end();
      if (req.method === "HEAD") return res.writeHead(200, { "content-length": blob.length }).end();
      if (blob !== layer) return res.writeHead(200, { "content-length": blob.length }).end(blob);
      layerGets++;
      ranges.push(req.headers.range);
      const first = req.headers.range === undefined;
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
      switch (mode) {
        case "ok":
          return res.writeHead(200, { "content-length": layer.length }).end(layer);
        case "short":
          // A whole answer that is shorter than the blob; nothing after it on a resume.
          if (!first) return res.writeHead(416).end();
          return res.writeHead(200, { "content-length": layer.length - 5000 }).end(layer.subarray(0, -5000));
        case "cut-then-range":
        case "cut-then-whole":
          if (first) {
            // Promise the whole blob, send half of it, then drop the connection.
            res.writeHead(200, { "content-length": layer.length });
            res.write(layer.subarray(0, 4 * 1024 * 1024 + 7), () => res.destroy());
            return;
          }
          if (mode === "cut-then-whole")
            return res.writeHead(200, { "content-length": layer.length }).end(layer);
          return res
            .writeHead(206, {
              "content-length": layer.length - from,
              "content-range": `bytes ${from}-${layer.length - 1}/${layer.length}`,
            })
            .end(layer.subarray(from));
        case "tampered": {
          const bad = Buffer.from(layer);
          bad[bad.length - 1]! ^= 1;
          return res.writeHead(200, { "content-length": bad.length }).end(bad);
        }
        case "huge-error": {
          // An error answer as long as the blob: only its start is read.
          const body = Buffer.alloc(layer.length, 0x20);
          body.write('{"errors":[{"code":"BLOB_UNKNOWN","message":"gone"}]}');
          return res.writeHead(404, { "content-type": "application/json" }).end(body);
        }
        case "long":
          return res
            .writeHead(200, { "content-length": layer.length + 10 })
            .end(Buffer.concat([layer, Buffer.alloc(10)]));
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const pull = async (name: string, m: Mode, events: CopyEvent[] = []) => {
    mode = m;
    ranges.length = 0;
    layerGets = 0;
    const client = new RegistryClient({ http: registryHttp(), tlsVerify: false, retryBaseMs: 1 });
    const src = registryStore(client, parseImageReference(`docker://${host}/img:t`));
    const layout = await OciLayout.init(join(tmp, name));
    const dst = layoutStore(layout, `oci:${layout.dir}:t`, "t");
    const done = copyImage(src, dst, { attached: false, onProgress: (e) => events.push(e) });
    return { layout, done };
  };

  /** Nothing of a failed pull in the layout: no blob, no temp file, no index entry. */
  const assertEmpty = async (layout: OciLayout) => {
    assert.equal(await layout.hasBlob(layerDigest), false);
    assert.deepEqual(
      readdirSync(layout.dir).filter((f) => f.startsWith(".cairn-tmp")),
      [],
    );
    assert.deepEqual((await layout.readIndex()).manifests, []);
  };

  it("pulls the image with the digests unchanged and reports the layer's progress", async () => {
    const events: CopyEvent[] = [];
    const { layout, done } = await pull("ok", "ok", events);
    const r = await done;
    assert.equal(r.image.digest, manifest.digest);
    assert.equal((await layout.resolve("t")).digest, manifest.digest);
    assert.deepEqual(Buffer.from(await layout.getBlob(layerDigest, { maxBytes: layer.length })), layer);
    const bytes = events.flatMap((e) => (e.kind === "bytes" && e.blob === layerDigest ? [e.done] : []));
    assert.ok(bytes.length >= 2, `progress events: ${bytes.length}`);
    assert.equal(bytes.at(-1), layer.length);
    assert.deepEqual(ranges, [undefined]);
  });

  it("a body that ends before the descriptor's size is ERR_OCI_BLOB_TRUNCATED with both byte counts", async () => {
    const { layout, done } = await pull("short", "short");
    await assert.rejects(done, (e: unknown) => {
      assert.ok(e instanceof CairnError, String(e));
      assert.equal(e.code, "ERR_OCI_BLOB_TRUNCATED", e.message);
      assert.match(e.message, new RegExp(`sent ${layer.length - 5000} of its ${layer.length} bytes`));
      return true;
    });
    // It asked for the rest once before giving up.
    assert.deepEqual(ranges, [undefined, `bytes=${layer.length - 5000}-`]);
    await assertEmpty(layout);
  });

  it("a broken connection is resumed with Range where the thread stopped writing", async () => {
    const { layout, done } = await pull("cut", "cut-then-range");
    await done;
    assert.equal(layerGets, 2);
    assert.match(ranges[1] ?? "", /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(ranges[1] ?? "")?.[0]) > 0);
    assert.deepEqual(Buffer.from(await layout.getBlob(layerDigest, { maxBytes: layer.length })), layer);
  });

  it("a server that answers the Range with the whole blob has the blob started over", async () => {
    const { layout, done } = await pull("whole", "cut-then-whole");
    await done;
    assert.equal(layerGets, 2);
    assert.deepEqual(Buffer.from(await layout.getBlob(layerDigest, { maxBytes: layer.length })), layer);
  });

  it("tampered bytes are ERR_OCI_DIGEST_MISMATCH and a longer body ERR_OCI_TOO_LARGE, nothing kept", async () => {
    const t = await pull("tampered", "tampered");
    await assert.rejects(
      t.done,
      (e: unknown) => e instanceof CairnError && e.code === "ERR_OCI_DIGEST_MISMATCH",
    );
    await assertEmpty(t.layout);
    const l = await pull("long", "long");
    await assert.rejects(l.done, (e: unknown) => e instanceof CairnError && e.code === "ERR_OCI_TOO_LARGE");
    await assertEmpty(l.layout);
  });

  it("an error answer as long as the blob is cut to its start: the spec's code, nothing kept", async () => {
    const { layout, done } = await pull("huge-error", "huge-error");
    await assert.rejects(done, (e: unknown) => {
      assert.ok(e instanceof CairnError, String(e));
      assert.equal(e.code, "ERR_OCI_REGISTRY_NOT_FOUND", e.message);
      assert.match(e.message, /BLOB_UNKNOWN: gone/);
      return true;
    });
    await assertEmpty(layout);
  });
});

describe("the blob thread's imports", () => {
  it("take only types from the engine (a value would load the whole engine into every thread)", () => {
    for (const f of ["blob-worker.ts", "hash-writer.ts", "registry-http.ts"]) {
      const text = readFileSync(join(import.meta.dirname, f), "utf8");
      for (const m of text.matchAll(/^import\s+([^;]*?)\s+from\s+"(\.\.\/engines\/[^"]+)";/gms)) {
        assert.match(m[1] ?? "", /^type\s/, `${f} imports values from ${m[2]}: ${m[1]}`);
      }
    }
  });
});
