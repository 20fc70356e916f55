// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CairnError, cairnError } from "../../core/errors.js";
import { digestOf, MEDIA_TYPE_OCI_INDEX } from "../../formats/oci/index.js";
import { nextLink, parseChallenges } from "./auth.js";
import type { BodySink, HttpPort, HttpRequest, HttpResponse } from "./ports.js";
import { formatImageReference, parseImageReference, referrersTag } from "./reference.js";
import { RegistryClient, registryErrorOf, retryAfterMs } from "./registry.js";

type Answer = {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Chunks of a streamed body; an Error element is thrown at that point. */
  chunks?: (Uint8Array | Error)[];
};

/** A scripted HttpPort: each request gets the next answer from `route(req)`. */
function fakeHttp(route: (req: HttpRequest, n: number) => Answer | Error) {
  const requests: HttpRequest[] = [];
  const http: HttpPort = {
    async request(req) {
      requests.push(req);
      const a = route(req, requests.length - 1);
      if (a instanceof Error) throw a;
      const body =
        typeof a.body === "string" ? new TextEncoder().encode(a.body) : (a.body ?? new Uint8Array(0));
      const res: HttpResponse = {
        status: a.status,
        headers: { "content-length": String(body.byteLength), ...a.headers },
        body: req.response === "stream" || req.response === "sink" ? new Uint8Array(0) : body,
        url: req.url,
        cancel: async () => {},
      };
      // A port that does not fill sinks answers a "sink" request as a stream (ports.ts).
      if (req.response === "stream" || req.response === "sink") {
        const chunks = a.chunks ?? [body];
        res.stream = (async function* () {
          for (const c of chunks) {
            if (c instanceof Error) throw c;
            yield c;
          }
        })();
      }
      return res;
    },
  };
  return { http, requests };
}

function client(http: HttpPort, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) {
  const sleeps: number[] = [];
  const c = new RegistryClient({
    http,
    tlsVerify: false,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  });
  return { c, sleeps };
}

const repo = { registry: "reg.test:5000", repository: "team/app" };
const codeOf = (code: string) => (e: unknown) => e instanceof CairnError && e.code === code;

describe("image references (docker://)", () => {
  it("parses hosts, ports, tags and digests", () => {
    const d = `sha256:${"a".repeat(64)}`;
    assert.deepEqual(parseImageReference("docker://127.0.0.1:5000/a/b:v1"), {
      registry: "127.0.0.1:5000",
      repository: "a/b",
      tag: "v1",
    });
    assert.deepEqual(parseImageReference(`docker://ghcr.io/o/r@${d}`), {
      registry: "ghcr.io",
      repository: "o/r",
      digest: d,
    });
    assert.deepEqual(parseImageReference("docker://alpine"), {
      registry: "docker.io",
      repository: "library/alpine",
      tag: "latest",
    });
    assert.deepEqual(parseImageReference("docker://localhost/x"), {
      registry: "localhost",
      repository: "x",
      tag: "latest",
    });
  });

  it("refuses what is outside the grammar", () => {
    const d = `sha256:${"a".repeat(64)}`;
    for (const bad of [
      "127.0.0.1:5000/a:v1", // no transport
      "docker://",
      "docker://h.io/UPPER",
      "docker://h.io/a//b",
      "docker://h.io/a:-bad",
      `docker://h.io/a:v1@${d}`, // tag and digest
      "docker://h.io/a@sha256:abc",
      "docker://h.io:99999/a",
      "docker://h.io/a/../b",
      `docker://h.io/${"a".repeat(300)}`,
      "docker://h.io/a?x=1",
    ]) {
      assert.throws(() => parseImageReference(bad), codeOf("ERR_OCI_REFERENCE_INVALID"), bad);
    }
  });

  it("round-trips format and parse (property)", () => {
    const comp = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/);
    fc.assert(
      fc.property(
        fc.array(comp, { minLength: 1, maxLength: 3 }),
        fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/),
        fc.integer({ min: 1, max: 65535 }),
        (parts, tag, port) => {
          const ref = { registry: `reg.example:${port}`, repository: parts.join("/"), tag };
          assert.deepEqual(parseImageReference(formatImageReference(ref)), ref);
        },
      ),
    );
  });

  it("names the referrers tag as <alg>-<hex> (distribution-spec 1.1)", () => {
    assert.equal(referrersTag(`sha256:${"ab".repeat(32)}`), `sha256-${"ab".repeat(32)}`);
    assert.equal(referrersTag(`sha512:${"c".repeat(128)}`), `sha512-${"c".repeat(64)}`);
  });
});

describe("WWW-Authenticate and Link parsing", () => {
  it("parses a Bearer challenge (token.md example)", () => {
    const [ch] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    );
    assert.deepEqual(ch, {
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:samalba/my-app:pull,push",
      },
    });
  });

  it("parses several challenges, escapes, spaces and token68", () => {
    const chs = parseChallenges(
      'Basic realm="a \\"q\\" b", Bearer realm=https://t/x , error="invalid_token", Negotiate abc==',
    );
    assert.deepEqual(chs, [
      { scheme: "basic", params: { realm: 'a "q" b' } },
      { scheme: "bearer", params: { realm: "https://t/x", error: "invalid_token" } },
      { scheme: "negotiate", params: { "": "abc==" } },
    ]);
  });

  it("refuses malformed or oversized headers", () => {
    for (const bad of [
      'Bearer realm="unterminated',
      "Bearer realm=a b=c",
      "Bearer realm=x, ;",
      "x".repeat(20_000),
    ]) {
      assert.throws(() => parseChallenges(bad), codeOf("ERR_OCI_REGISTRY_ERROR"), bad.slice(0, 40));
    }
  });

  it("never throws anything but a CairnError on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        try {
          parseChallenges(s);
        } catch (e) {
          assert.ok(e instanceof CairnError);
        }
      }),
    );
  });

  it("finds rel=next in Link headers", () => {
    assert.equal(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"'), "/v2/a/tags/list?n=2&last=b");
    assert.equal(nextLink('<http://x/1>; rel="prev", <http://x/3>; rel=next'), "http://x/3");
    assert.equal(nextLink('<http://x/1>; rel="prev"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });

  it("reads Retry-After as seconds or an HTTP-date", () => {
    assert.equal(retryAfterMs("3", 0), 3000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(retryAfterMs("soon", 0), undefined);
  });
});

describe("retries with backoff", () => {
  it("retries an idempotent GET after 503 and 429, doubling the delay and honouring Retry-After", async () => {
    const { http, requests } = fakeHttp((_r, n) =>
      n === 0
        ? { status: 503 }
        : n === 1
          ? { status: 429, headers: { "retry-after": "2" } }
          : n === 2
            ? { status: 502 }
            : { status: 200 },
    );
    const { c, sleeps } = client(http);
    await c.ping("reg.test:5000");
    assert.equal(requests.length, 4);
    assert.deepEqual(sleeps, [250, 2000, 1000]);
  });

  it("caps Retry-After so a registry cannot stall the client", async () => {
    const { http } = fakeHttp((_r, n) =>
      n === 0 ? { status: 429, headers: { "retry-after": "999999" } } : { status: 200 },
    );
    const { c, sleeps } = client(http);
    await c.ping("reg.test:5000");
    assert.deepEqual(sleeps, [30_000]);
  });

  it("gives up after the retries with an overload error carrying the spec's code", async () => {
    const body = JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }] });
    const { http, requests } = fakeHttp(() => ({ status: 429, body }));
    const { c } = client(http, { maxRetries: 2 });
    const err = await c.ping("reg.test:5000").catch((e) => e);
    assert.ok(codeOf("ERR_OCI_REGISTRY_OVERLOADED")(err));
    assert.equal(err.category, "overload");
    assert.equal(requests.length, 3);
    assert.deepEqual(registryErrorOf(err), {
      status: 429,
      errors: [{ code: "TOOMANYREQUESTS", message: "slow down" }],
    });
  });

  it("retries when the registry cannot be reached, then reports a transport error", async () => {
    const { http, requests } = fakeHttp(() => cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "ECONNREFUSED"));
    const { c, sleeps } = client(http, { maxRetries: 2, retryBaseMs: 10 });
    await assert.rejects(c.headBlob(repo, digestOf("x")), codeOf("ERR_OCI_REGISTRY_UNREACHABLE"));
    assert.equal(requests.length, 3);
    assert.deepEqual(sleeps, [10, 20]);
  });

  it("never retries a non-idempotent request (POST starting an upload)", async () => {
    const { http, requests } = fakeHttp((r) => (r.method === "HEAD" ? { status: 404 } : { status: 503 }));
    const { c } = client(http);
    await assert.rejects(c.pushBlob(repo, new Uint8Array([1])), codeOf("ERR_OCI_REGISTRY_OVERLOADED"));
    assert.deepEqual(
      requests.map((r) => r.method),
      ["HEAD", "POST"],
    );
  });

  it("maps spec error codes to categories", async () => {
    const cases: [number, string, string][] = [
      [404, "MANIFEST_UNKNOWN", "ERR_OCI_REGISTRY_NOT_FOUND"],
      [400, "MANIFEST_INVALID", "ERR_OCI_REGISTRY_REFUSED"],
      [403, "DENIED", "ERR_OCI_AUTH_REFUSED"],
      [500, "", "ERR_OCI_REGISTRY_ERROR"],
    ];
    for (const [status, spec, code] of cases) {
      const body =
        spec === "" ? "oops" : JSON.stringify({ errors: [{ code: spec, message: "m\u001b[31m" }] });
      const { http } = fakeHttp(() => ({ status, body }));
      const { c } = client(http, { maxRetries: 0 });
      const err = await c.getManifest({ ...repo, tag: "v1" }).catch((e) => e);
      assert.ok(codeOf(code)(err), `${status} ${spec}: ${err}`);
      assert.ok(!String(err.message).includes("\u001b"), "control characters are cleaned");
      if (spec !== "") assert.equal(registryErrorOf(err)?.errors[0]?.code, spec);
    }
  });
});

describe("authentication", () => {
  const challenge = 'Bearer realm="http://auth.test/token",service="reg",scope="repository:team/app:pull"';

  it("fetches a token after a 401, retries once, and caches the token per scope", async () => {
    let tokens = 0;
    const { http, requests } = fakeHttp((r): Answer => {
      if (r.url.startsWith("http://auth.test/")) {
        tokens++;
        const u = new URL(r.url);
        assert.equal(u.searchParams.get("service"), "reg");
        assert.deepEqual(u.searchParams.getAll("scope"), ["repository:team/app:pull"]);
        assert.equal(r.headers.authorization, "Basic " + Buffer.from("u:p").toString("base64"));
        return { status: 200, body: JSON.stringify({ access_token: `t${tokens}`, expires_in: 300 }) };
      }
      if (r.headers.authorization !== "Bearer t1")
        return { status: 401, headers: { "www-authenticate": challenge } };
      return { status: 200, headers: { "content-length": "3" } };
    });
    const { c } = client(http, {
      credentials: { get: async () => ({ kind: "basic", username: "u", password: "p" }) },
    });
    await c.headBlob(repo, digestOf("a"));
    await c.headBlob(repo, digestOf("b"));
    assert.equal(tokens, 1);
    // anonymous, token, retried, then straight with the cached token
    assert.equal(requests.length, 4);
  });

  it("fetches a new token once the cached one expires", async () => {
    let now = 0;
    let tokens = 0;
    const { http } = fakeHttp((r) => {
      if (r.url.startsWith("http://auth.test/")) {
        tokens++;
        return { status: 200, body: JSON.stringify({ token: `t${tokens}`, expires_in: 60 }) };
      }
      return r.headers.authorization === `Bearer t${tokens}` && tokens > 0
        ? { status: 200 }
        : { status: 401, headers: { "www-authenticate": challenge } };
    });
    const { c } = client(http, { now: () => now });
    await c.headBlob(repo, digestOf("a"));
    now += 30_000;
    await c.headBlob(repo, digestOf("a"));
    assert.equal(tokens, 1);
    now += 60_000;
    await c.headBlob(repo, digestOf("a"));
    assert.equal(tokens, 2);
  });

  it("reports a refused token as ERR_OCI_AUTH_REFUSED, and a second 401 too", async () => {
    const refused = fakeHttp((r) =>
      r.url.startsWith("http://auth.test/")
        ? { status: 401 }
        : { status: 401, headers: { "www-authenticate": challenge } },
    );
    await assert.rejects(
      client(refused.http).c.headBlob(repo, digestOf("a")),
      codeOf("ERR_OCI_AUTH_REFUSED"),
    );
    const useless = fakeHttp((r) =>
      r.url.startsWith("http://auth.test/")
        ? { status: 200, body: '{"token":"t"}' }
        : { status: 401, headers: { "www-authenticate": challenge } },
    );
    await assert.rejects(
      client(useless.http).c.headBlob(repo, digestOf("a")),
      codeOf("ERR_OCI_AUTH_REFUSED"),
    );
    assert.equal(useless.requests.length, 3, "one retry only");
  });

  it("does not send credentials to an https registry's plain-http realm", async () => {
    const { http, requests } = fakeHttp((r) =>
      r.url.startsWith("http://auth.test/")
        ? { status: 200, body: '{"token":"t"}' }
        : r.headers.authorization === "Bearer t"
          ? { status: 200 }
          : { status: 401, headers: { "www-authenticate": challenge } },
    );
    const c = new RegistryClient({
      http,
      credentials: { get: async () => ({ kind: "basic", username: "u", password: "p" }) },
    });
    await c.headBlob(repo, digestOf("a"));
    assert.equal(requests[1]?.headers.authorization, undefined);
  });

  it("uses basic credentials on a Basic challenge and refuses clearly without them", async () => {
    const route = (r: HttpRequest): Answer =>
      r.headers.authorization === "Basic " + Buffer.from("u:p").toString("base64")
        ? { status: 200 }
        : { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } };
    const ok = fakeHttp(route);
    await client(ok.http, {
      credentials: { get: async () => ({ kind: "basic", username: "u", password: "p" }) },
    }).c.ping("h.test");
    const none = fakeHttp(route);
    const err = await client(none.http)
      .c.ping("h.test")
      .catch((e) => e);
    assert.ok(codeOf("ERR_OCI_AUTH_REFUSED")(err));
    assert.match(err.message, /no credentials/);
    assert.equal(none.requests.length, 1, "no pointless retry without credentials");
  });
});

describe("listings", () => {
  it("follows Link pagination of the tag list", async () => {
    const pages: Record<string, Answer> = {
      "http://reg.test:5000/v2/team/app/tags/list?n=2": {
        status: 200,
        headers: { link: '</v2/team/app/tags/list?n=2&last=b>; rel="next"' },
        body: '{"name":"team/app","tags":["a","b"]}',
      },
      "http://reg.test:5000/v2/team/app/tags/list?n=2&last=b": {
        status: 200,
        headers: { link: '<http://reg.test:5000/v2/team/app/tags/list?n=2&last=d>; rel="next"' },
        body: '{"name":"team/app","tags":["c","d"]}',
      },
      "http://reg.test:5000/v2/team/app/tags/list?n=2&last=d": {
        status: 200,
        body: '{"name":"team/app","tags":["e"]}',
      },
    };
    const { http } = fakeHttp((r) => pages[r.url] ?? { status: 404 });
    const { c } = client(http);
    assert.deepEqual(await c.listTags(repo, { pageSize: 2 }), ["a", "b", "c", "d", "e"]);
  });

  it("refuses a Link to another origin (it would carry credentials away)", async () => {
    const { http } = fakeHttp(() => ({
      status: 200,
      headers: { link: '<http://evil.test/v2/team/app/tags/list?last=b>; rel="next"' },
      body: '{"tags":["a"]}',
    }));
    await assert.rejects(client(http).c.listTags(repo), codeOf("ERR_OCI_REGISTRY_ERROR"));
  });

  it("filters referrers when the registry did not apply the artifactType filter", async () => {
    const subject = digestOf("s");
    const d = (t: string) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: digestOf(t),
      size: 1,
      artifactType: t,
    });
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: [d("x/sig"), d("x/sbom")],
    });
    const { http, requests } = fakeHttp(() => ({
      status: 200,
      headers: { "content-type": MEDIA_TYPE_OCI_INDEX },
      body,
    }));
    const r = await client(http).c.referrers(repo, subject, { artifactType: "x/sbom" });
    assert.equal(r.source, "api");
    assert.deepEqual(
      r.manifests.map((m) => m.artifactType),
      ["x/sbom"],
    );
    assert.match(requests[0]?.url ?? "", /referrers\/sha256:[0-9a-f]{64}\?artifactType=x%2Fsbom$/);
  });
});

describe("blob downloads", () => {
  const blob = new TextEncoder().encode("0123456789abcdef");
  const desc = { digest: digestOf(blob), size: blob.byteLength };

  it("resumes a broken download with Range and verifies the whole", async () => {
    const { http, requests } = fakeHttp((r) => {
      if (r.headers.range === undefined) {
        return {
          status: 200,
          chunks: [blob.subarray(0, 6), cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "ECONNRESET")],
        };
      }
      assert.equal(r.headers.range, "bytes=6-");
      return { status: 206, headers: { "content-range": `bytes 6-15/16` }, chunks: [blob.subarray(6)] };
    });
    assert.deepEqual(await client(http).c.getBlob(repo, desc), Buffer.from(blob));
    assert.equal(requests.length, 2);
  });

  it("skips the prefix when the server ignores Range", async () => {
    const { http } = fakeHttp((r) =>
      r.headers.range === undefined
        ? { status: 200, chunks: [blob.subarray(0, 4), cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "reset")] }
        : { status: 200, chunks: [blob] },
    );
    assert.deepEqual(await client(http).c.getBlob(repo, desc), Buffer.from(blob));
  });

  it("refuses a blob that does not match its digest, is too long, or is truncated", async () => {
    const wrong = fakeHttp(() => ({ status: 200, chunks: [new TextEncoder().encode("0123456789abcdeX")] }));
    await assert.rejects(client(wrong.http).c.getBlob(repo, desc), codeOf("ERR_OCI_DIGEST_MISMATCH"));
    const long = fakeHttp(() => ({ status: 200, chunks: [blob, new Uint8Array([1])] }));
    await assert.rejects(client(long.http).c.getBlob(repo, desc), codeOf("ERR_OCI_TOO_LARGE"));
    const short = fakeHttp((r) =>
      r.headers.range === undefined ? { status: 200, chunks: [blob.subarray(0, 10)] } : { status: 416 },
    );
    // Truncated is its own error, naming what arrived and what was expected.
    await assert.rejects(
      client(short.http).c.getBlob(repo, desc),
      (e) => codeOf("ERR_OCI_BLOB_TRUNCATED")(e) && /sent 10 of its 16 bytes/.test((e as Error).message),
    );
  });

  it("refuses a manifest whose bytes do not match the digest asked for", async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [] });
    const { http } = fakeHttp(() => ({
      status: 200,
      headers: { "content-type": MEDIA_TYPE_OCI_INDEX },
      body,
    }));
    const c = client(http).c;
    await assert.rejects(
      c.getManifest({ ...repo, digest: digestOf("other") }),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
    assert.equal((await c.getManifest({ ...repo, digest: digestOf(body) })).kind, "index");
  });
});

describe("blobInto (a sink filled from a port that streams)", () => {
  const blob = new TextEncoder().encode("0123456789abcdef");
  const desc = { digest: digestOf(blob), size: blob.byteLength };
  /** An in-memory sink, as a destination would make one. */
  const memorySink = () => {
    const parts: Uint8Array[] = [];
    let resets = 0;
    const sink: BodySink & { bytes(): string; resets(): number } = {
      written: 0,
      async write(c) {
        parts.push(Uint8Array.from(c));
        (sink as { written: number }).written += c.byteLength;
      },
      async reset() {
        parts.length = 0;
        resets++;
        (sink as { written: number }).written = 0;
      },
      bytes: () => Buffer.concat(parts).toString("latin1"),
      resets: () => resets,
    };
    return sink;
  };

  it("resumes a broken body at the sink's length, and starts over when Range is ignored", async () => {
    const ranged = fakeHttp((r) =>
      r.headers.range === undefined
        ? { status: 200, chunks: [blob.subarray(0, 6), cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "reset")] }
        : { status: 206, headers: { "content-range": "bytes 6-15/16" }, chunks: [blob.subarray(6)] },
    );
    const a = memorySink();
    await client(ranged.http).c.blobInto(repo, desc, a);
    assert.equal(a.bytes(), "0123456789abcdef");
    assert.equal(ranged.requests[1]?.headers.range, "bytes=6-");
    const whole = fakeHttp((r) =>
      r.headers.range === undefined
        ? { status: 200, chunks: [blob.subarray(0, 6), cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "reset")] }
        : { status: 200, chunks: [blob] },
    );
    const b = memorySink();
    await client(whole.http).c.blobInto(repo, desc, b);
    assert.equal(b.bytes(), "0123456789abcdef");
    assert.equal(b.resets(), 1);
  });

  it("a flaky honest server: the sink ends exactly the blob, or the pull fails with a transport or size error (property)", async () => {
    // Each answer sends the right bytes from where it starts (206 at the Range, or 200 from 0 when
    // the server ignores Range), but maybe only `take` of them, then breaks or just ends.
    const answer = fc.record({
      ignoreRange: fc.boolean(),
      take: fc.nat({ max: 40 }),
      breaks: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.array(answer, { minLength: 1, maxLength: 8 }),
        async (bytes, answers) => {
          const d = { digest: digestOf(bytes), size: bytes.byteLength };
          const { http } = fakeHttp((r, n) => {
            const a = answers[Math.min(n, answers.length - 1)]!;
            const from = Number(/^bytes=(\d+)-$/.exec(r.headers.range ?? "")?.[1] ?? 0);
            if (from >= bytes.byteLength) return { status: 416 };
            const start = a.ignoreRange ? 0 : from;
            const part = bytes.subarray(start, start + a.take);
            const chunks: (Uint8Array | Error)[] = [part];
            if (a.breaks) chunks.push(cairnError("ERR_OCI_REGISTRY_UNREACHABLE", "reset"));
            return start === 0
              ? { status: 200, chunks }
              : {
                  status: 206,
                  headers: { "content-range": `bytes ${start}-${bytes.byteLength - 1}/*` },
                  chunks,
                };
          });
          const sink = memorySink();
          try {
            await client(http).c.blobInto(repo, d, sink);
          } catch (e) {
            assert.ok(
              e instanceof CairnError &&
                ["ERR_OCI_REGISTRY_UNREACHABLE", "ERR_OCI_BLOB_TRUNCATED"].includes(e.code),
              String(e),
            );
            assert.ok(sink.written <= d.size);
            return;
          }
          assert.deepEqual(Buffer.from(sink.bytes(), "latin1"), Buffer.from(bytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a short body as truncated (both counts) and a long one as too large", async () => {
    const short = fakeHttp((r) =>
      r.headers.range === undefined ? { status: 200, chunks: [blob.subarray(0, 10)] } : { status: 416 },
    );
    await assert.rejects(
      client(short.http).c.blobInto(repo, desc, memorySink()),
      (e) => codeOf("ERR_OCI_BLOB_TRUNCATED")(e) && /sent 10 of its 16 bytes/.test((e as Error).message),
    );
    const long = fakeHttp(() => ({ status: 200, chunks: [blob, new Uint8Array([1])] }));
    const sink = memorySink();
    await assert.rejects(client(long.http).c.blobInto(repo, desc, sink), codeOf("ERR_OCI_TOO_LARGE"));
    assert.equal(sink.written, 16, "nothing past the size reaches the sink");
  });
});

describe("chunked upload", () => {
  it("PATCHes chunks with Content-Range, raised to OCI-Chunk-Min-Length, then PUTs the digest", async () => {
    const data = new Uint8Array(10).map((_, i) => i);
    const { http, requests } = fakeHttp((r): Answer => {
      if (r.method === "HEAD") return { status: 404 };
      if (r.method === "POST")
        return {
          status: 202,
          headers: { location: "/v2/team/app/blobs/uploads/u1?_state=s", "oci-chunk-min-length": "4" },
        };
      if (r.method === "PATCH") {
        const [a, b] = (r.headers["content-range"] ?? "").split("-").map(Number);
        return {
          status: 202,
          headers: { location: `/v2/team/app/blobs/uploads/u1?_state=${b}`, range: `0-${b}` },
          body: String(a),
        };
      }
      return { status: 201 };
    });
    const res = await client(http).c.pushBlobChunked(
      repo,
      data,
      { digest: digestOf(data), size: 10 },
      { chunkSize: 2 },
    );
    assert.equal(res.existed, false);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.headers["content-range"] ?? ""}`),
      ["HEAD ", "POST ", "PATCH 0-3", "PATCH 4-7", "PATCH 8-9", "PUT "],
    );
    const put = new URL(requests.at(-1)?.url ?? "");
    assert.equal(put.searchParams.get("digest"), digestOf(data));
    assert.equal(put.searchParams.get("_state"), "9");
  });

  it("cancels the upload when the source does not match the expected digest", async () => {
    const { http, requests } = fakeHttp((r) =>
      r.method === "HEAD"
        ? { status: 404 }
        : r.method === "POST"
          ? { status: 202, headers: { location: "/u/1" } }
          : { status: 202, headers: { location: "/u/1" } },
    );
    await assert.rejects(
      client(http).c.pushBlobChunked(repo, new Uint8Array([1, 2]), { digest: digestOf("x"), size: 2 }),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
    assert.equal(requests.at(-1)?.method, "DELETE");
  });
});

describe("streamed upload", () => {
  /** A registry that drains a streamed PATCH body and records what it got. */
  function uploadRegistry() {
    const received: number[] = [];
    const requests: HttpRequest[] = [];
    const http: HttpPort = {
      async request(req) {
        requests.push(req);
        const answer = (status: number, headers: Record<string, string> = {}): HttpResponse => ({
          status,
          headers,
          body: new Uint8Array(0),
          url: req.url,
          cancel: async () => {},
        });
        if (req.method === "HEAD") return answer(404);
        if (req.method === "POST") return answer(202, { location: "/v2/team/app/blobs/uploads/u1?_state=a" });
        if (req.method === "PATCH") {
          let n = 0;
          if (req.body !== undefined && !(req.body instanceof Uint8Array)) {
            // As fetch does: a body stream that throws aborts the request.
            for await (const c of req.body) n += c.byteLength;
          }
          received.push(n);
          return answer(202, { location: "/v2/team/app/blobs/uploads/u1?_state=b", range: `0-${n - 1}` });
        }
        return answer(req.method === "DELETE" ? 204 : 201);
      },
    };
    return { http, requests, received };
  }
  async function* chunksOf(...parts: Uint8Array[]) {
    for (const p of parts) yield p;
  }
  const data = new Uint8Array(3000).map((_, i) => i & 0xff);

  it("sends the whole stream in one PATCH, then PUTs the digest", async () => {
    const { http, requests, received } = uploadRegistry();
    const res = await client(http).c.pushBlobStream(
      repo,
      chunksOf(data.subarray(0, 1000), data.subarray(1000)),
      { digest: digestOf(data), size: data.byteLength },
    );
    assert.equal(res.existed, false);
    assert.deepEqual(
      requests.map((r) => r.method),
      ["HEAD", "POST", "PATCH", "PUT"],
    );
    assert.deepEqual(received, [3000]);
    assert.equal(requests[2]?.headers["content-range"], undefined);
    const put = new URL(requests.at(-1)?.url ?? "");
    assert.equal(put.searchParams.get("digest"), digestOf(data));
    assert.equal(put.searchParams.get("_state"), "b");
  });

  it("hashes an unverified source and refuses a tampered one before the PUT", async () => {
    const { http, requests } = uploadRegistry();
    const tampered = data.slice();
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    await assert.rejects(
      client(http).c.pushBlobStream(repo, chunksOf(tampered), { digest: digestOf(data), size: 3000 }),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
    assert.deepEqual(
      requests.map((r) => r.method),
      ["HEAD", "POST", "PATCH", "DELETE"],
    );
  });

  it("with verified: true, a source that throws at its end (a tampered verified stream) is never committed", async () => {
    const { http, requests } = uploadRegistry();
    async function* verifiedButTampered() {
      yield data;
      throw cairnError("ERR_OCI_DIGEST_MISMATCH", "blob has digest sha256:bad");
    }
    await assert.rejects(
      client(http).c.pushBlobStream(
        repo,
        verifiedButTampered(),
        { digest: digestOf(data), size: 3000 },
        { verified: true },
      ),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
    assert.ok(!requests.some((r) => r.method === "PUT"));
    assert.equal(requests.at(-1)?.method, "DELETE");
  });

  it("with verified: true, the size is still counted: short or long sources are refused", async () => {
    for (const src of [data.subarray(0, 2999), new Uint8Array(3001)]) {
      const { http, requests } = uploadRegistry();
      await assert.rejects(
        client(http).c.pushBlobStream(
          repo,
          chunksOf(src),
          { digest: digestOf(data), size: 3000 },
          { verified: true },
        ),
        codeOf("ERR_OCI_DIGEST_MISMATCH"),
      );
      assert.ok(!requests.some((r) => r.method === "PUT"));
    }
  });
});

describe("blobStream without verification", () => {
  it("skips only the hash: the size is still bounded and a short blob refused", async () => {
    const body = new TextEncoder().encode("tampered!");
    const digest = digestOf("original!");
    const { http } = fakeHttp(() => ({ status: 200, chunks: [body] }));
    const { c } = client(http);
    // Verified (default): refused.
    await assert.rejects(
      (async () => {
        for await (const _ of c.blobStream(repo, { digest, size: body.byteLength })) {
        }
      })(),
      codeOf("ERR_OCI_DIGEST_MISMATCH"),
    );
    // verify: false passes the bytes on for the caller to check (see copy.test.ts).
    const got: Uint8Array[] = [];
    for await (const x of c.blobStream(repo, { digest, size: body.byteLength }, { verify: false }))
      got.push(x);
    assert.equal(Buffer.concat(got).toString(), "tampered!");
    await assert.rejects(
      (async () => {
        for await (const _ of c.blobStream(repo, { digest, size: body.byteLength - 1 }, { verify: false })) {
        }
      })(),
      codeOf("ERR_OCI_TOO_LARGE"),
    );
    await assert.rejects(
      (async () => {
        for await (const _ of c.blobStream(repo, { digest, size: body.byteLength + 5 }, { verify: false })) {
        }
      })(),
      codeOf("ERR_OCI_BLOB_TRUNCATED"),
    );
  });
});
