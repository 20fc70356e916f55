// SPDX-License-Identifier: Apache-2.0
// Registry credentials as users already have them: the Docker CLI config file
// (docs.docker.com "docker login", config.json `auths`, `credHelpers`, `credsStore`) and the
// docker-credential-helpers protocol (`docker-credential-<name> get`, server on stdin, JSON
// {ServerURL, Username, Secret} on stdout). The CredentialPort of engines/oci/ports.ts.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { cairnError } from "../core/errors.js";
import { isJsonObject, parseJson } from "../core/json.js";
import type { Credential, CredentialPort } from "../engines/oci/index.js";
import { readVariable } from "./env.js";

/** Largest config file or helper answer read. */
export const MAX_DOCKER_CONFIG_BYTES = 4 * 1024 * 1024;
/** How long a credential helper may take (it may prompt a keychain). */
export const HELPER_TIMEOUT_MS = 60_000;

export interface DockerConfigOptions {
  /** The config file; default $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
  file?: string;
  /** PATH used to find docker-credential-* helpers; default the process PATH. */
  helperPath?: string;
}

/** The default config file location, as the Docker CLI finds it. */
export function dockerConfigFile(): string {
  const dir = readVariable("DOCKER_CONFIG");
  return join(dir !== undefined && dir !== "" ? dir : join(homedir(), ".docker"), "config.json");
}

/** The host a config key names: `https://index.docker.io/v1/` is docker.io, `ghcr.io` is itself. */
export function normalizeRegistryHost(key: string): string {
  let host = key.trim();
  host = host.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  host = host.split("/")[0] ?? "";
  host = host.toLowerCase();
  if (host === "index.docker.io" || host === "registry-1.docker.io" || host === "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A CredentialPort over the Docker config file. The file is read on each `get` (it is small,
 * and `docker login` may change it meanwhile); a missing file means no credentials. Lookup order
 * is the Docker CLI's: credHelpers[host], then credsStore, then auths[host].
 */
export function dockerCredentials(opts: DockerConfigOptions = {}): CredentialPort {
  return {
    async get(host: string): Promise<Credential | undefined> {
      const file = opts.file ?? dockerConfigFile();
      const config = await readConfig(file);
      if (config === undefined) return undefined;
      const want = normalizeRegistryHost(host);
      const helpers = config.credHelpers;
      if (helpers !== undefined) {
        for (const [k, name] of Object.entries(helpers)) {
          if (normalizeRegistryHost(k) === want) return runHelper(name, helperServer(want), opts, file);
        }
      }
      if (config.credsStore !== undefined) {
        const c = await runHelper(config.credsStore, helperServer(want), opts, file);
        if (c !== undefined) return c;
      }
      for (const [k, entry] of Object.entries(config.auths ?? {})) {
        if (normalizeRegistryHost(k) === want) {
          const c = fromAuthEntry(entry, `${file}: auths.${k}`);
          if (c !== undefined) return c;
        }
      }
      return undefined;
    },
  };
}

/** The server name helpers are asked about: Docker Hub's historic URL for docker.io. */
function helperServer(host: string): string {
  return host === "docker.io" ? "https://index.docker.io/v1/" : host;
}

interface DockerConfig {
  auths?: Record<string, unknown>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function readConfig(file: string): Promise<DockerConfig | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cairnError("ERR_IO", `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  let doc: unknown;
  try {
    doc = parseJson(bytes, file, { maxBytes: MAX_DOCKER_CONFIG_BYTES, maxDepth: 16 });
  } catch (e) {
    throw cairnError("ERR_DOCKER_CONFIG_INVALID", (e as Error).message, { file }, { cause: e });
  }
  if (!isJsonObject(doc)) throw cairnError("ERR_DOCKER_CONFIG_INVALID", "is not a JSON object", { file });
  const out: DockerConfig = {};
  if (doc.auths !== undefined) {
    if (!isJsonObject(doc.auths))
      throw cairnError("ERR_DOCKER_CONFIG_INVALID", "must be an object", { file, field: "auths" });
    out.auths = doc.auths;
  }
  if (doc.credHelpers !== undefined) {
    const h = doc.credHelpers;
    if (!isJsonObject(h) || !Object.values(h).every((v) => typeof v === "string")) {
      throw cairnError("ERR_DOCKER_CONFIG_INVALID", "must map hosts to helper names", {
        file,
        field: "credHelpers",
      });
    }
    out.credHelpers = h as Record<string, string>;
  }
  if (doc.credsStore !== undefined && doc.credsStore !== "") {
    if (typeof doc.credsStore !== "string") {
      throw cairnError("ERR_DOCKER_CONFIG_INVALID", "must be a helper name", { file, field: "credsStore" });
    }
    out.credsStore = doc.credsStore;
  }
  return out;
}

function fromAuthEntry(entry: unknown, where: string): Credential | undefined {
  if (!isJsonObject(entry))
    throw cairnError("ERR_DOCKER_CONFIG_INVALID", "an auths entry must be an object", { file: where });
  const str = (k: string) =>
    typeof entry[k] === "string" && entry[k] !== "" ? (entry[k] as string) : undefined;
  let username = str("username");
  let password = str("password");
  const auth = str("auth");
  if (auth !== undefined) {
    // `auth` is base64("user:password").
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(auth)) {
      throw cairnError("ERR_DOCKER_CONFIG_INVALID", "auth is not base64 of user:password", {
        file: where,
        field: "auth",
      });
    }
    username = decoded.slice(0, i);
    password = decoded.slice(i + 1);
  }
  const identity = str("identitytoken");
  if (identity !== undefined)
    return { kind: "identity-token", username: username ?? "<token>", token: identity };
  const registryToken = str("registrytoken");
  if (registryToken !== undefined) return { kind: "bearer", token: registryToken };
  if (username !== undefined && password !== undefined) return { kind: "basic", username, password };
  return undefined;
}

async function runHelper(
  name: string,
  server: string,
  opts: DockerConfigOptions,
  file: string,
): Promise<Credential | undefined> {
  // The helper name comes from a file: it must not be able to name a path.
  if (!HELPER_NAME.test(name)) {
    throw cairnError("ERR_DOCKER_CONFIG_INVALID", `"${name}" is not a credential helper name`, { file });
  }
  const program = `docker-credential-${name}`;
  const env = opts.helperPath === undefined ? process.env : { ...process.env, PATH: opts.helperPath };
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn(program, ["get"], { env, stdio: ["pipe", "pipe", "pipe"], timeout: HELPER_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    let size = 0;
    const onData = (which: "out" | "err") => (d: Buffer) => {
      size += d.byteLength;
      if (size > MAX_DOCKER_CONFIG_BYTES) {
        p.kill();
        return;
      }
      if (which === "out") stdout += d.toString("utf8");
      else stderr += d.toString("utf8");
    };
    p.stdout.on("data", onData("out"));
    p.stderr.on("data", onData("err"));
    p.on("error", (e) =>
      reject(
        cairnError(
          "ERR_COMMAND_FAILED",
          `cannot run the credential helper ${program}: ${e.message}`,
          { file },
          { cause: e },
        ),
      ),
    );
    p.on("close", (code) => resolve({ code, stdout, stderr }));
    p.stdin.on("error", () => {});
    p.stdin.end(server);
  });
  if (r.code !== 0) {
    // docker-credential-helpers: "credentials not found in native keychain" is "none", not a failure.
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
    throw cairnError(
      "ERR_COMMAND_FAILED",
      `the credential helper ${program} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
      { file },
    );
  }
  let doc: unknown;
  try {
    doc = parseJson(r.stdout, program, { maxBytes: MAX_DOCKER_CONFIG_BYTES, maxDepth: 4 });
  } catch (e) {
    throw cairnError("ERR_DOCKER_CONFIG_INVALID", `${program} answered: ${(e as Error).message}`, {
      file: program,
    });
  }
  if (!isJsonObject(doc) || typeof doc.Secret !== "string" || typeof (doc.Username ?? "") !== "string") {
    throw cairnError("ERR_DOCKER_CONFIG_INVALID", `${program} did not answer {Username, Secret}`, {
      file: program,
    });
  }
  const username = (doc.Username as string | undefined) ?? "";
  if (doc.Secret === "") return undefined;
  // docker-credential-helpers: Username "<token>" means Secret is an identity token.
  if (username === "<token>") return { kind: "identity-token", username, token: doc.Secret };
  return { kind: "basic", username, password: doc.Secret };
}
