// SPDX-License-Identifier: Apache-2.0
// Test-only: runs Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a free port, a
// temporary storage directory and a generated config.yml; optionally with htpasswd basic auth
// (htpasswd -B from apache2-utils), or with token auth (distribution docs/spec/auth/token.md)
// against a small token server run in-process, which signs ES256 JWTs with an x5c chain whose
// self-signed certificate is the registry's rootcertbundle (made with the openssl CLI).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const DOCKER_REGISTRY = "/usr/bin/docker-registry";
export const SKOPEO = "/usr/bin/skopeo";
export const HTPASSWD = "/usr/bin/htpasswd";

export type RegistryAuth =
  | { kind: "none" }
  | { kind: "htpasswd"; username: string; password: string }
  /** Token auth; `users` may log in to the token server, anonymous requests get no token when set. */
  | { kind: "token"; users?: Record<string, string> };

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as an image reference names it. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Requests the token server answered: the scopes asked and the user (token auth only). */
  tokenRequests: { scopes: string[]; user: string | undefined }[];
  /** What the registry wrote on stderr (for failing tests). */
  log(): string;
  stop(): Promise<void>;
}

/** Why the registry cannot be run here, or undefined. Tests assert on this, never skip. */
export function registryMissing(): string | undefined {
  const r = spawnSync(DOCKER_REGISTRY, ["--version"], { encoding: "utf8" });
  return r.status === 0
    ? undefined
    : `needs ${DOCKER_REGISTRY} (scripts/test.sh installs Debian's docker-registry)`;
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a registry and waits until it answers GET /v2/. */
export async function startRegistry(auth: RegistryAuth = { kind: "none" }): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "cairn-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const tokenRequests: TestRegistry["tokenRequests"] = [];
  let tokenServer: Server | undefined;
  let authYaml = "";
  if (auth.kind === "htpasswd") {
    const file = join(dir, "htpasswd");
    execFileSync(HTPASSWD, ["-Bbc", file, auth.username, auth.password], { stdio: "ignore" });
    authYaml = `auth:\n  htpasswd:\n    realm: cairn-test\n    path: ${file}\n`;
  } else if (auth.kind === "token") {
    const key = join(dir, "token.key");
    const cert = join(dir, "token.crt");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=cairn-test-token",
      ],
      { stdio: "ignore" },
    );
    const issuer = "cairn-test-issuer";
    const service = "cairn-test-registry";
    tokenServer = await startTokenServer({
      key: readFileSync(key, "utf8"),
      certDer: new X509Certificate(readFileSync(cert)).raw.toString("base64"),
      issuer,
      service,
      ...(auth.users === undefined ? {} : { users: auth.users }),
      log: tokenRequests,
    });
    const tport = (tokenServer.address() as { port: number }).port;
    authYaml = `auth:\n  token:\n    realm: http://127.0.0.1:${tport}/token\n    service: ${service}\n    issuer: ${issuer}\n    rootcertbundle: ${cert}\n`;
  }
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n  secret: cairn-test-secret\n${authYaml}`,
  );
  const child = spawn(DOCKER_REGISTRY, ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-64 * 1024);
  });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const stop = async () => {
    if (!exited) {
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await done;
    }
    await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`docker-registry exited: ${stderr}`);
    }
    try {
      const r = await fetch(`${url}/v2/`);
      await r.body?.cancel();
      if (r.status === 200 || r.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, url, tokenRequests, log: () => stderr, stop };
}

interface TokenServerOptions {
  key: string;
  certDer: string;
  issuer: string;
  service: string;
  users?: Record<string, string>;
  log: TestRegistry["tokenRequests"];
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

/** token.md "Requesting a Token": GET /token?service=&scope=..., Basic credentials optional. */
function startTokenServer(o: TokenServerOptions): Promise<Server> {
  const key = createPrivateKey(o.key);
  const server = createHttpServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/token" || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    let user: string | undefined;
    const authz = req.headers.authorization;
    if (authz?.startsWith("Basic ")) {
      const dec = Buffer.from(authz.slice(6), "base64").toString("utf8");
      const i = dec.indexOf(":");
      const [name, pass] = [dec.slice(0, i), dec.slice(i + 1)];
      if (o.users?.[name] !== pass) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
      user = name;
    }
    const scopes = u.searchParams.getAll("scope");
    o.log.push({ scopes, user });
    if (o.users !== undefined && user === undefined) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"details":"login required"}');
      return;
    }
    if (u.searchParams.get("service") !== o.service) {
      res.writeHead(400).end();
      return;
    }
    const access = scopes.flatMap((s) => {
      const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(s);
      return m ? [{ type: m[1], name: m[2], actions: (m[3] as string).split(",") }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "ES256", x5c: [o.certDer] };
    const claims = {
      iss: o.issuer,
      sub: user ?? "",
      aud: o.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(signing), { key, dsaEncoding: "ieee-p1363" });
    const token = `${signing}.${b64url(sig)}`;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
