// SPDX-License-Identifier: Apache-2.0
// The registry HttpPort over node:http against small local servers: the contract of
// engines/oci/ports.ts (redirects for GET/HEAD only, credentials never carried to another origin,
// bounds on bodies, timeouts and broken connections as ERR_OCI_REGISTRY_UNREACHABLE, a streamed
// request body's own error passed on).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CairnError, cairnError } from "../core/errors.js";
import { registryHttp } from "./registry-http.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

async function serve(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(parts)));
    req.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const codeOf = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code;

describe("registryHttp", () => {
  const seen: { path: string; auth: string | undefined; method: string; body: number }[] = [];
  let a: { server: Server; url: string };
  let b: { server: Server; url: string };
  before(async () => {
    b = await serve((req, res) => {
      seen.push({ path: `b${req.url}`, auth: req.headers.authorization, method: req.method ?? "", body: 0 });
      res.writeHead(200, { "content-type": "text/plain" }).end("from b");
    });
    a = await serve((req, res, body) => {
      seen.push({
        path: `a${req.url}`,
        auth: req.headers.authorization,
        method: req.method ?? "",
        body: body.byteLength,
      });
      const url = req.url ?? "";
      if (url === "/same") return res.writeHead(307, { location: "/target" }).end();
      if (url === "/other") return res.writeHead(302, { location: `${b.url}/blob` }).end();
      if (url === "/loop") return res.writeHead(302, { location: "/loop" }).end();
      if (url === "/big") return res.writeHead(200, { "content-length": "1000" }).end(Buffer.alloc(1000));
      if (url === "/endless") {
        res.writeHead(200);
        const more = () => {
          while (!res.destroyed && res.write(Buffer.alloc(16 * 1024))) {}
          if (!res.destroyed) res.once("drain", more);
        };
        return more();
      }
      if (url === "/error") return res.writeHead(500).end("x".repeat(5000));
      if (url === "/silent") return; // never answers
      if (url === "/cut") {
        res.writeHead(200, { "content-length": "100000" });
        res.write(Buffer.alloc(1000), () => res.socket?.destroy());
        return;
      }
      res.writeHead(url === "/upload" ? 202 : 200, { "x-seen": String(body.byteLength) }).end(`path ${url}`);
    });
  });
  after(async () => {
    for (const s of [a, b]) {
      s?.server.closeAllConnections();
      await new Promise((r) => s?.server.close(r));
    }
  });

  const http = registryHttp({ timeoutMs: 1000 });
  const get = (path: string, extra: Partial<Parameters<typeof http.request>[0]> = {}) =>
    http.request({
      method: "GET",
      url: `${a.url}${path}`,
      headers: { authorization: "Bearer secret" },
      maxBytes: 4096,
      ...extra,
    });

  it("follows a redirect on GET, keeping credentials on the same origin and dropping them elsewhere", async () => {
    seen.length = 0;
    const same = await get("/same");
    assert.equal(Buffer.from(same.body).toString(), "path /target");
    assert.equal(same.url, `${a.url}/target`);
    const other = await get("/other");
    assert.equal(Buffer.from(other.body).toString(), "from b");
    assert.deepEqual(
      seen.map((s) => [s.path, s.auth]),
      [
        ["a/same", "Bearer secret"],
        ["a/target", "Bearer secret"],
        ["a/other", "Bearer secret"],
        ["b/blob", undefined],
      ],
    );
    await assert.rejects(get("/loop"), codeOf("ERR_OCI_REGISTRY_UNREACHABLE"));
  });

  it("does not follow a redirect for other methods", async () => {
    const r = await http.request({
      method: "PATCH",
      url: `${a.url}/same`,
      headers: {},
      body: new Uint8Array(3),
      maxBytes: 4096,
    });
    assert.equal(r.status, 307);
    assert.equal(r.headers.location, "/target");
  });

  it("bounds bodies: Content-Length over the bound, an endless body, an error body cut instead", async () => {
    await assert.rejects(get("/big", { maxBytes: 999 }), codeOf("ERR_OCI_TOO_LARGE"));
    await assert.rejects(get("/endless", { maxBytes: 100_000 }), codeOf("ERR_OCI_TOO_LARGE"));
    const s = await get("/endless", { maxBytes: 100_000, response: "stream" });
    await assert.rejects(
      (async () => {
        for await (const _ of s.stream ?? []) {
          // read until the bound is passed
        }
      })(),
      codeOf("ERR_OCI_TOO_LARGE"),
    );
    const err = await get("/error");
    assert.equal(err.status, 500);
    assert.equal(err.body.byteLength, 4096);
  });

  it("reports no answer, a broken body and a refused connection as unreachable", async () => {
    await assert.rejects(get("/silent"), codeOf("ERR_OCI_REGISTRY_UNREACHABLE"));
    const cut = await get("/cut", { maxBytes: 200_000, response: "stream" });
    await assert.rejects(
      (async () => {
        for await (const _ of cut.stream ?? []) {
          // read until the connection breaks
        }
      })(),
      codeOf("ERR_OCI_REGISTRY_UNREACHABLE"),
    );
    await assert.rejects(
      http.request({ method: "GET", url: "http://127.0.0.1:1/v2/", headers: {}, maxBytes: 10 }),
      codeOf("ERR_OCI_REGISTRY_UNREACHABLE"),
    );
  });

  it("streams a request body, and a body source's own error is what the request fails with", async () => {
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield new Uint8Array(100_000).fill(i);
    }
    const ok = await http.request({
      method: "PATCH",
      url: `${a.url}/upload`,
      headers: {},
      body: chunks(),
      maxBytes: 4096,
    });
    assert.equal(ok.status, 202);
    assert.equal(ok.headers["x-seen"], "1000000");
    async function* failing() {
      yield new Uint8Array(10);
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", "the source does not match");
    }
    await assert.rejects(
      http.request({ method: "PATCH", url: `${a.url}/upload`, headers: {}, body: failing(), maxBytes: 4096 }),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
  });
});
