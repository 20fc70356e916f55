// SPDX-License-Identifier: Apache-2.0
// OIDC ID token verification for the CA (OpenID Connect Core 1.0 section 3.1.3.7, ID Token
// Validation; OpenID Connect Discovery 1.0 sections 4 and 4.3): the token's issuer must be one
// the CA is configured to trust; its discovery document and JWKS come through a port; jose checks
// the signature, issuer, audience, expiry and not-before with a bounded clock skew.
import { createHash } from "node:crypto";
import { createLocalJWKSet, decodeJwt, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import type { Clock } from "../../core/clock.js";
import { CairnError, cairnError, type ErrorCode } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";

/**
 * The HTTP GET the verifier needs, as a port (the TUF Fetcher's shape, so runtime's
 * `httpFetcher()` fits). Resolves to the body (at most `maxBytes`), or undefined for 404/403;
 * rejects on network failure, timeout or another status. No retries: the CA answers "could not
 * check" (ERR_CA_ISSUER_UNREACHABLE) and the client retries.
 */
export interface DocumentFetcher {
  fetch(url: string, maxBytes: number): Promise<Uint8Array | undefined>;
}

/** How an issuer's tokens become certificate identities (see identity.ts). */
export type IssuerType = "email" | "uri" | "github-workflow" | "kubernetes" | "spiffe";

/** One trusted issuer. */
export interface OidcIssuerConfig {
  /** The `iss` value, exactly (OIDC Core 3.1.3.7 step 2: exact match). */
  issuerUrl: string;
  /** The audience tokens must name (Fulcio's `client-id`, usually "sigstore"). */
  audience: string;
  type: IssuerType;
  /** For `uri` issuers: the scheme and host `sub` must have (Fulcio's subject-domain). */
  subjectDomain?: string;
  /** For `kubernetes` issuers: the SPIFFE trust domain of the cluster's workloads. */
  trustDomain?: string;
  /** For `kubernetes` issuers: namespaces whose service accounts may get certificates (default: all). */
  allowedNamespaces?: string[];
  /** For `spiffe` issuers: the trust domain `sub` SPIFFE IDs must be in. */
  spiffeTrustDomain?: string;
}

/** Bounds and settings of the verifier. */
export interface OidcVerifierOptions {
  issuers: readonly OidcIssuerConfig[];
  fetcher: DocumentFetcher;
  clock: Clock;
  /** Allowed clock skew for exp/nbf/iat, seconds (default 60, at most 300). */
  clockSkewSeconds?: number;
  /** How long a discovery document and JWKS are reused, ms (default 10 minutes). */
  cacheMs?: number;
  /** An unknown `kid` triggers a JWKS refresh at most this often, ms (default 30 s): key rotation without a refetch storm. */
  refreshOnMissMs?: number;
}

/** Largest ID token accepted (Fulcio's tokens are a few KiB). */
export const MAX_TOKEN_BYTES = 16 * 1024;
/** Largest discovery document or JWKS fetched. */
export const MAX_OIDC_DOCUMENT_BYTES = 256 * 1024;
/** Most keys read from one JWKS. */
export const MAX_JWKS_KEYS = 64;
/** Signature algorithms accepted on ID tokens (no "none", no HMAC: the CA holds no shared secret). */
export const TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"];

/** A token whose signature and claims verified, with the issuer configuration that accepted it. */
export interface VerifiedToken {
  issuer: OidcIssuerConfig;
  claims: JWTPayload & Record<string, unknown>;
  /** A replay key: the `jti`, or SHA-256 of the token when it has none. */
  tokenId: string;
  /** When the token expires (its `exp`). */
  expiresAt: Date;
}

interface IssuerKeys {
  fetchedAt: number;
  keys: ReturnType<typeof createLocalJWKSet>;
}

function fail(code: ErrorCode, message: string, cause?: unknown): CairnError {
  return cairnError(code, message, { field: "credentials.oidcIdentityToken" }, { cause });
}

/** Verifies ID tokens from the configured issuers. */
export class OidcVerifier {
  private readonly byIssuer = new Map<string, OidcIssuerConfig>();
  private readonly cache = new Map<string, IssuerKeys>();
  private readonly inflight = new Map<string, Promise<IssuerKeys["keys"]>>();
  private readonly skew: number;
  private readonly cacheMs: number;
  private readonly refreshOnMissMs: number;

  constructor(private readonly opts: OidcVerifierOptions) {
    for (const i of opts.issuers) {
      if (this.byIssuer.has(i.issuerUrl))
        throw cairnError("ERR_USAGE", `issuer ${i.issuerUrl} is configured twice`);
      this.byIssuer.set(i.issuerUrl, i);
    }
    this.skew = opts.clockSkewSeconds ?? 60;
    if (!(this.skew >= 0 && this.skew <= 300)) throw cairnError("ERR_USAGE", "clock skew must be 0..300 s");
    this.cacheMs = opts.cacheMs ?? 10 * 60_000;
    this.refreshOnMissMs = opts.refreshOnMissMs ?? 30_000;
  }

  /** The configured issuers. */
  get issuers(): OidcIssuerConfig[] {
    return [...this.byIssuer.values()];
  }

  /**
   * Verifies a compact JWS ID token and returns it with its issuer. Throws ERR_CA_REQUEST_TOO_LARGE,
   * ERR_CA_TOKEN_INVALID (malformed, forged, unknown key, bad algorithm), ERR_CA_TOKEN_EXPIRED,
   * ERR_CA_TOKEN_AUDIENCE, ERR_CA_ISSUER_UNTRUSTED, or ERR_CA_ISSUER_UNREACHABLE (could not check).
   */
  async verify(token: unknown): Promise<VerifiedToken> {
    if (typeof token !== "string" || token.length === 0)
      throw fail("ERR_CA_REQUEST_INVALID", "no identity token");
    if (token.length > MAX_TOKEN_BYTES)
      throw fail("ERR_CA_REQUEST_TOO_LARGE", `the identity token is longer than ${MAX_TOKEN_BYTES} bytes`);
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (e) {
      throw fail("ERR_CA_TOKEN_INVALID", "the identity token is not a JWT", e);
    }
    // The unverified `iss` only selects which configuration to verify against; nothing else is read.
    const iss = unverified.iss;
    const issuer = typeof iss === "string" ? this.byIssuer.get(iss) : undefined;
    if (!issuer) throw fail("ERR_CA_ISSUER_UNTRUSTED", `tokens from ${JSON.stringify(iss)} are not accepted`);

    let verified: JWTPayload;
    try {
      verified = await this.verifyWith(token, issuer, false);
    } catch (e) {
      // Key rotation: an unknown kid refreshes the JWKS once, then fails for good.
      if (!(e instanceof joseErrors.JWKSNoMatchingKey) || !this.mayRefresh(issuer.issuerUrl))
        throw mapJose(e);
      try {
        verified = await this.verifyWith(token, issuer, true);
      } catch (e2) {
        throw mapJose(e2);
      }
    }
    const claims = verified as JWTPayload & Record<string, unknown>;
    const tokenId =
      typeof claims.jti === "string" && claims.jti.length > 0 && claims.jti.length <= 256
        ? `jti:${issuer.issuerUrl}:${claims.jti}`
        : `sha256:${createHash("sha256").update(token).digest("hex")}`;
    return { issuer, claims, tokenId, expiresAt: new Date((claims.exp as number) * 1000) };
  }

  private mayRefresh(issuerUrl: string): boolean {
    const c = this.cache.get(issuerUrl);
    return c === undefined || this.opts.clock.now().getTime() - c.fetchedAt >= this.refreshOnMissMs;
  }

  private async verifyWith(token: string, issuer: OidcIssuerConfig, refresh: boolean): Promise<JWTPayload> {
    const keys = await this.keysOf(issuer, refresh);
    const { payload } = await jwtVerify(token, keys, {
      issuer: issuer.issuerUrl,
      audience: issuer.audience,
      algorithms: TOKEN_ALGORITHMS,
      clockTolerance: this.skew,
      currentDate: this.opts.clock.now(),
      // OIDC Core 2: iss, sub, aud, exp and iat are REQUIRED in an ID token.
      requiredClaims: ["iss", "sub", "aud", "exp", "iat"],
    });
    return payload;
  }

  private keysOf(issuer: OidcIssuerConfig, refresh: boolean): Promise<IssuerKeys["keys"]> {
    const now = this.opts.clock.now().getTime();
    const cached = this.cache.get(issuer.issuerUrl);
    if (cached && !refresh && now - cached.fetchedAt < this.cacheMs) return Promise.resolve(cached.keys);
    // One fetch per issuer at a time: a burst of requests on a cold cache costs the issuer one fetch.
    const running = this.inflight.get(issuer.issuerUrl);
    if (running) return running;
    const p = this.fetchKeys(issuer, now).finally(() => this.inflight.delete(issuer.issuerUrl));
    this.inflight.set(issuer.issuerUrl, p);
    return p;
  }

  private async fetchKeys(issuer: OidcIssuerConfig, now: number): Promise<IssuerKeys["keys"]> {
    // OIDC Discovery 4: the configuration is at {issuer}/.well-known/openid-configuration.
    const discoveryUrl = `${issuer.issuerUrl.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const discovery = await this.getJson(discoveryUrl, issuer);
    // Discovery 4.3: "The issuer value returned MUST be identical to the Issuer URL" (impersonation).
    if (discovery.issuer !== issuer.issuerUrl)
      throw fail(
        "ERR_CA_ISSUER_UNREACHABLE",
        `the discovery document of ${issuer.issuerUrl} names another issuer`,
      );
    const jwksUri = discovery.jwks_uri;
    if (typeof jwksUri !== "string" || !/^https?:\/\//.test(jwksUri))
      throw fail(
        "ERR_CA_ISSUER_UNREACHABLE",
        `the discovery document of ${issuer.issuerUrl} has no jwks_uri`,
      );
    const jwks = await this.getJson(jwksUri, issuer);
    if (!Array.isArray(jwks.keys) || jwks.keys.length > MAX_JWKS_KEYS)
      throw fail(
        "ERR_CA_ISSUER_UNREACHABLE",
        `the JWKS of ${issuer.issuerUrl} is malformed or has too many keys`,
      );
    let keys: IssuerKeys["keys"];
    try {
      keys = createLocalJWKSet({ keys: jwks.keys as never[] });
    } catch (e) {
      throw fail("ERR_CA_ISSUER_UNREACHABLE", `the JWKS of ${issuer.issuerUrl} is malformed`, e);
    }
    this.cache.set(issuer.issuerUrl, { fetchedAt: now, keys });
    return keys;
  }

  private async getJson(url: string, issuer: OidcIssuerConfig): Promise<Record<string, unknown>> {
    let body: Uint8Array | undefined;
    try {
      body = await this.opts.fetcher.fetch(url, MAX_OIDC_DOCUMENT_BYTES);
    } catch (e) {
      throw fail("ERR_CA_ISSUER_UNREACHABLE", `could not fetch ${url} for ${issuer.issuerUrl}`, e);
    }
    if (body === undefined) throw fail("ERR_CA_ISSUER_UNREACHABLE", `${url} does not exist`);
    let doc: unknown;
    try {
      doc = parseJson(Buffer.from(body).toString("utf8"), url);
    } catch (e) {
      throw fail("ERR_CA_ISSUER_UNREACHABLE", `${url} is not JSON`, e);
    }
    if (!isJsonObject(doc)) throw fail("ERR_CA_ISSUER_UNREACHABLE", `${url} is not a JSON object`);
    return doc;
  }
}

/** jose's failures, mapped onto the catalog: expiry, audience and forgery stay distinguishable. */
function mapJose(e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  if (e instanceof joseErrors.JWTExpired)
    return fail("ERR_CA_TOKEN_EXPIRED", "the identity token has expired", e);
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.claim === "aud")
      return fail("ERR_CA_TOKEN_AUDIENCE", "the identity token is for another audience", e);
    if ((e.claim === "nbf" || e.claim === "iat") && e.reason === "check_failed")
      return fail("ERR_CA_TOKEN_EXPIRED", `the identity token is not valid yet (${e.claim})`, e);
    return fail("ERR_CA_TOKEN_INVALID", `the identity token's ${e.claim} claim is invalid (${e.reason})`, e);
  }
  if (e instanceof joseErrors.JOSEError)
    return fail("ERR_CA_TOKEN_INVALID", `the identity token does not verify (${e.code})`, e);
  return cairnError(
    "ERR_INTERNAL",
    `token verification failed: ${(e as Error)?.message ?? e}`,
    {},
    { cause: e },
  );
}

const ISSUER_TYPES: readonly IssuerType[] = ["email", "uri", "github-workflow", "kubernetes", "spiffe"];
/** Most issuers one CA trusts. */
export const MAX_ISSUERS = 64;

/**
 * Reads the trusted-issuer configuration (a JSON or YAML list of OidcIssuerConfig), checking
 * each entry has what its type needs. Throws ERR_FIELD_INVALID naming the bad field.
 */
export function parseIssuerConfigs(v: unknown): OidcIssuerConfig[] {
  if (!Array.isArray(v) || v.length > MAX_ISSUERS)
    throw cairnError("ERR_FIELD_INVALID", `issuers must be a list of at most ${MAX_ISSUERS}`, {
      field: "issuers",
    });
  return v.map((e, i) => {
    const field = (f: string) => ({ field: `issuers[${i}]${f ? `.${f}` : ""}` });
    if (!isJsonObject(e)) throw cairnError("ERR_FIELD_INVALID", "an issuer is an object", field(""));
    const str = (k: string, required: boolean): string | undefined => {
      const x = e[k];
      if (x === undefined && !required) return undefined;
      if (typeof x !== "string" || x === "")
        throw cairnError("ERR_FIELD_INVALID", `${k} must be a non-empty string`, field(k));
      return x;
    };
    const issuerUrl = str("issuerUrl", true)!;
    if (!/^https?:\/\/[^\s]+$/.test(issuerUrl))
      throw cairnError("ERR_FIELD_INVALID", "issuerUrl must be an http(s) URL", field("issuerUrl"));
    const type = str("type", true) as IssuerType;
    if (!ISSUER_TYPES.includes(type))
      throw cairnError("ERR_FIELD_INVALID", `type must be one of ${ISSUER_TYPES.join(", ")}`, field("type"));
    const out: OidcIssuerConfig = { issuerUrl, audience: str("audience", true)!, type };
    const need = { uri: "subjectDomain", kubernetes: "trustDomain", spiffe: "spiffeTrustDomain" } as const;
    for (const k of ["subjectDomain", "trustDomain", "spiffeTrustDomain"] as const) {
      const x = str(k, need[type as keyof typeof need] === k);
      if (x !== undefined) out[k] = x;
    }
    if (e.allowedNamespaces !== undefined) {
      const ns = e.allowedNamespaces;
      if (!Array.isArray(ns) || !ns.every((n) => typeof n === "string"))
        throw cairnError(
          "ERR_FIELD_INVALID",
          "allowedNamespaces must be a list of names",
          field("allowedNamespaces"),
        );
      out.allowedNamespaces = ns as string[];
    }
    return out;
  });
}
