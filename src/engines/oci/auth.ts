// SPDX-License-Identifier: Apache-2.0
// Registry authentication: RFC 7235 challenges (WWW-Authenticate), the Docker registry token
// flow (distribution docs/spec/auth/token.md: realm, service, scope; the token response with
// token/access_token and expires_in; oauth.md for identity tokens), and RFC 8288 Link headers
// for paginated listings. Every header parsed here comes from the registry and is untrusted.
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import type { Credential, HttpPort, HttpResponse } from "./ports.js";

/** Longest WWW-Authenticate or Link header parsed; longer ones are refused. */
export const MAX_AUTH_HEADER_LENGTH = 16 * 1024;
/** Most challenges or parameters read from one header. */
export const MAX_AUTH_PARAMS = 32;
/** Largest token-server answer read. */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** token.md: "If omitted, the client should assume a default of 60 seconds". */
export const DEFAULT_TOKEN_LIFETIME_S = 60;

/** One challenge: its scheme (lowercased) and parameters (names lowercased). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHARS = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/**
 * Parses a WWW-Authenticate header (RFC 7235 section 4.1) into its challenges, including several
 * challenges joined by commas as fetch joins repeated headers. Throws ERR_OCI_REGISTRY_ERROR for
 * a header that is too long or not of the grammar.
 */
export function parseChallenges(header: string): Challenge[] {
  if (header.length > MAX_AUTH_HEADER_LENGTH) throw bad("WWW-Authenticate header is too long");
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TOKEN_CHARS.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  const readBare = (): string => {
    const start = i;
    while (i < n && header[i] !== "," && header[i] !== " " && header[i] !== "\t" && header[i] !== '"') i++;
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let s = "";
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      s += header[i];
      i++;
    }
    if (i >= n) throw bad("unterminated quoted string in WWW-Authenticate");
    i++;
    return s;
  };
  while (i < n) {
    skipWs();
    if (header[i] === ",") {
      i++;
      continue;
    }
    if (i >= n) break;
    const scheme = readToken();
    if (scheme === "") throw bad(`unexpected "${header[i]}" in WWW-Authenticate`);
    const ch: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(ch);
    if (out.length > MAX_AUTH_PARAMS) throw bad("too many challenges in WWW-Authenticate");
    let count = 0;
    for (;;) {
      skipWs();
      if (i >= n) break;
      // token68 (RFC 7235 section 2.1, e.g. `Negotiate abc==`): kept whole under the empty name.
      const t68 = count === 0 ? /^[A-Za-z0-9._~+/-]+=*[ \t]*(?:,|$)/.exec(header.slice(i)) : null;
      if (t68 !== null) {
        ch.params[""] = t68[0].replace(/[ \t,]+$/, "");
        i += t68[0].replace(/,$/, "").length;
        break;
      }
      // A parameter is `name = value`; anything else after a comma starts the next challenge.
      const save = i;
      const name = readToken();
      skipWs();
      if (name === "" || header[i] !== "=") {
        i = save;
        break;
      }
      i++; // "="
      skipWs();
      // Unquoted values should be tokens; registries also send bare URLs, so read to , or space.
      const value = header[i] === '"' ? readQuoted() : readBare();
      ch.params[name.toLowerCase()] = value;
      if (++count > MAX_AUTH_PARAMS) throw bad("too many parameters in WWW-Authenticate");
      skipWs();
      if (header[i] === ",") {
        i++;
        continue;
      }
      if (i < n) throw bad(`unexpected "${header[i]}" in WWW-Authenticate`);
    }
  }
  return out;
}

function bad(message: string) {
  return cairnError("ERR_OCI_REGISTRY_ERROR", message, { field: "WWW-Authenticate" });
}

/**
 * The `rel="next"` target of an RFC 8288 Link header (distribution-spec "Listing Tags" and
 * "Listing Referrers" pagination), or undefined. Relative targets are left to the caller.
 */
export function nextLink(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.length > MAX_AUTH_HEADER_LENGTH) throw bad("Link header is too long");
  for (const m of header.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
    const params = m[2] ?? "";
    for (const p of params.split(";")) {
      const eq = p.indexOf("=");
      if (eq < 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      if (name === "rel" && value.split(/\s+/).includes("next")) return m[1];
    }
  }
  return undefined;
}

/** A scope of the token flow (token.md "Requesting a Token"): `repository:NAME:ACTIONS`. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${[...actions].sort().join(",")}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** What the token flow needs from the client. */
export interface TokenFlowOptions {
  http: HttpPort;
  now: () => number;
  /** True when credentials may go to plain-HTTP realms (the registry itself is plain HTTP). */
  allowHttpRealm: boolean;
  userAgent?: string;
}

/**
 * Fetches and caches bearer tokens per (realm, service, scopes). token.md: GET the realm with
 * `service` and one `scope` parameter per scope, Basic credentials when the user has them; an
 * identity token is exchanged with POST (oauth.md, grant_type=refresh_token).
 */
export class TokenCache {
  readonly #cache = new Map<string, CachedToken>();
  constructor(private readonly opts: TokenFlowOptions) {}

  /** A cached token still valid for these scopes, if any. */
  cached(challenge: Challenge, scopes: readonly string[]): string | undefined {
    const hit = this.#cache.get(cacheKey(challenge, scopes));
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= this.opts.now()) {
      this.#cache.delete(cacheKey(challenge, scopes));
      return undefined;
    }
    return hit.token;
  }

  /** Forgets the token for these scopes (the registry refused it). */
  forget(challenge: Challenge, scopes: readonly string[]): void {
    this.#cache.delete(cacheKey(challenge, scopes));
  }

  /**
   * Gets a token from the realm. Throws ERR_OCI_AUTH_REFUSED when the token server refuses
   * (401/403), ERR_OCI_REGISTRY_ERROR for another status or a malformed answer, and the port's
   * ERR_OCI_REGISTRY_UNREACHABLE.
   */
  async fetch(
    challenge: Challenge,
    scopes: readonly string[],
    credential: Credential | undefined,
  ): Promise<string> {
    const cached = this.cached(challenge, scopes);
    if (cached !== undefined) return cached;
    const realm = challenge.params.realm;
    if (realm === undefined || realm === "") {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", "the Bearer challenge has no realm", {
        field: "WWW-Authenticate",
      });
    }
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", `the Bearer realm "${realm}" is not a URL`, {
        field: "WWW-Authenticate",
      });
    }
    // The realm is chosen by the registry: never send credentials anywhere but http(s), and
    // never over plain HTTP unless the registry itself was reached that way.
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", `the Bearer realm "${realm}" is not an http(s) URL`);
    }
    const sendCredentials =
      credential !== undefined && (url.protocol === "https:" || this.opts.allowHttpRealm);
    const service = challenge.params.service;
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.opts.userAgent !== undefined) headers["user-agent"] = this.opts.userAgent;
    let res: HttpResponse;
    if (sendCredentials && credential?.kind === "identity-token") {
      // oauth.md: exchange the refresh token with a POST form.
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: credential.token,
        client_id: "cairn",
      });
      if (service !== undefined) form.set("service", service);
      if (scopes.length > 0) form.set("scope", scopes.join(" "));
      headers["content-type"] = "application/x-www-form-urlencoded";
      res = await this.opts.http.request({
        method: "POST",
        url: url.toString(),
        headers,
        body: new TextEncoder().encode(form.toString()),
        maxBytes: MAX_TOKEN_RESPONSE_BYTES,
      });
    } else {
      if (service !== undefined) url.searchParams.set("service", service);
      for (const s of scopes) url.searchParams.append("scope", s);
      if (sendCredentials && credential?.kind === "basic") {
        headers.authorization = basicAuthorization(credential.username, credential.password);
      }
      res = await this.opts.http.request({
        method: "GET",
        url: url.toString(),
        headers,
        maxBytes: MAX_TOKEN_RESPONSE_BYTES,
      });
    }
    if (res.status === 401 || res.status === 403) {
      throw cairnError(
        "ERR_OCI_AUTH_REFUSED",
        `the token server ${url.origin} refused ${credential === undefined ? "anonymous access" : "the credentials"} (HTTP ${res.status})`,
      );
    }
    if (res.status !== 200) {
      throw cairnError(
        "ERR_OCI_REGISTRY_ERROR",
        `the token server ${url.origin} answered HTTP ${res.status}`,
      );
    }
    const doc = parseJson(res.body, url.origin, { maxBytes: MAX_TOKEN_RESPONSE_BYTES, maxDepth: 8 });
    if (!isJsonObject(doc))
      throw cairnError("ERR_OCI_REGISTRY_ERROR", "the token server's answer is not a JSON object");
    // token.md: `token`, with `access_token` as the OAuth 2.0 compatible alias.
    const token = typeof doc.token === "string" && doc.token !== "" ? doc.token : doc.access_token;
    if (typeof token !== "string" || token === "" || /[\s\x00-\x1f\x7f]/.test(token)) {
      throw cairnError("ERR_OCI_REGISTRY_ERROR", "the token server's answer has no usable token");
    }
    const lifetime =
      typeof doc.expires_in === "number" && Number.isFinite(doc.expires_in) && doc.expires_in > 0
        ? doc.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    // Renew 10% early so a token does not expire between the check and the request.
    this.#cache.set(cacheKey(challenge, scopes), {
      token,
      expiresAt: this.opts.now() + lifetime * 900,
    });
    return token;
  }
}

function cacheKey(challenge: Challenge, scopes: readonly string[]): string {
  return JSON.stringify([challenge.params.realm, challenge.params.service, [...scopes].sort()]);
}

/** RFC 7617: `Basic base64(user ":" pass)`. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}
