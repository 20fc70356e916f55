// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildServer } from "./server.js";
import { safeSegments, tufRoutes } from "./tuf-routes.js";

let dir: string;
let app: FastifyInstance;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "cairn-tuf-routes-"));
  const out = join(dir, "out");
  await mkdir(join(out, "metadata"), { recursive: true });
  await mkdir(join(out, "targets", "rel"), { recursive: true });
  await writeFile(join(out, "metadata", "timestamp.json"), '{"signed":{}}');
  await writeFile(join(out, "metadata", "1.root.json"), '{"signed":{"v":1}}');
  await writeFile(join(out, "targets", "rel", "abc.tool 1.tgz"), "tool bytes");
  await writeFile(join(out, "targets", "big.bin"), Buffer.alloc(2048));
  await writeFile(join(out, "targets", "empty"), "");
  await writeFile(join(dir, "secret.txt"), "outside");
  await symlink(join(dir, "secret.txt"), join(out, "targets", "escape"));
  await symlink(join(out, "targets", "rel", "abc.tool 1.tgz"), join(out, "targets", "inside"));
  app = await buildServer({
    plugins: [tufRoutes({ dir: out, maxFileBytes: 1024 })],
    auth: { mode: "none" },
    logger: false,
  });
  const url = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
  port = Number(url.port);
});
after(async () => {
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

/** A request with the path exactly as given (fetch would normalize `..`). */
function get(path: string, method = "GET", headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((res, rej) => {
    const r = request({ host: "127.0.0.1", port, path, method, headers }, (m) => {
      const chunks: Buffer[] = [];
      m.on("data", (c: Buffer) => chunks.push(c));
      m.on("end", () =>
        res({ status: m.statusCode ?? 0, headers: m.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    r.on("error", rej);
    r.end();
  });
}

describe("TUF static routes", () => {
  it("serves metadata as JSON with length, ETag and Last-Modified, and 304 on a matching ETag", async () => {
    const r = await get("/tuf/metadata/1.root.json");
    assert.equal(r.status, 200);
    assert.equal(r.body, '{"signed":{"v":1}}');
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.equal(r.headers["content-length"], String(r.body.length));
    assert.ok(r.headers["last-modified"]);
    const etag = String(r.headers.etag);
    assert.equal((await get("/tuf/metadata/1.root.json", "GET", { "if-none-match": etag })).status, 304);
    const h = await get("/tuf/metadata/timestamp.json", "HEAD");
    assert.equal(h.status, 200);
    assert.equal(h.headers["content-length"], "13");
    assert.equal(h.headers["cache-control"], "no-cache");
  });

  it("serves targets as octet streams, names percent-decoded, and symlinks that stay inside", async () => {
    const r = await get("/tuf/targets/rel/abc.tool%201.tgz");
    assert.equal(r.status, 200);
    assert.equal(r.body, "tool bytes");
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.equal((await get("/tuf/targets/inside")).status, 200);
    const empty = await get("/tuf/targets/empty");
    assert.equal(empty.status, 200);
    assert.equal(empty.headers["content-length"], "0");
  });

  for (const path of [
    "/tuf/metadata/../targets/rel/abc.tool%201.tgz",
    "/tuf/targets/rel/../../../secret.txt",
    "/tuf/targets/%2e%2e/%2e%2e/secret.txt",
    "/tuf/targets/..%2f..%2fsecret.txt",
    "/tuf/targets/rel%2fabc.tool%201.tgz",
    "/tuf/targets/..%5c..%5csecret.txt",
    "/tuf/targets/escape",
    "/tuf/targets/rel",
    "/tuf/targets/rel//abc.tool%201.tgz",
    "/tuf/targets/big.bin",
    "/tuf/targets/%zz",
    "/tuf/targets/a%00b",
    "/tuf/metadata/missing.json",
  ]) {
    it(`refuses ${path} as not found`, async () => {
      const r = await get(path);
      // The router itself refuses a malformed escape (400); everything else is an unknown file.
      assert.ok(r.status === 404 || (path.endsWith("%zz") && r.status === 400), String(r.status));
      if (r.status === 404) assert.equal(JSON.parse(r.body).code, "ERR_HTTP_NOT_FOUND");
      assert.ok(!r.body.includes("outside"));
    });
  }

  it("accepts no writes", async () => {
    assert.equal((await get("/tuf/metadata/timestamp.json", "PUT")).status, 404);
    assert.equal((await get("/tuf/metadata/timestamp.json", "DELETE")).status, 404);
  });

  it("is healthy while the served timestamp is unexpired, not once it lapsed", async () => {
    const ts = join(dir, "out", "metadata", "timestamp.json");
    await writeFile(ts, JSON.stringify({ signed: { expires: "2999-01-01T00:00:00Z" } }));
    assert.equal((await get("/healthz")).status, 200);
    await writeFile(ts, JSON.stringify({ signed: { expires: "2000-01-01T00:00:00Z" } }));
    const r = await get("/healthz");
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).checks.tuf.ok, false);
  });

  it("checks segments", () => {
    assert.deepEqual(safeSegments("a/b%20c"), ["a", "b c"]);
    assert.equal(safeSegments("a/./b"), undefined);
    assert.equal(safeSegments(""), undefined);
  });
});
