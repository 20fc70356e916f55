// SPDX-License-Identifier: Apache-2.0
// The CA's request workflow, in the order that keeps abuse cheap and refusals exact: bound and
// shape the request, read the key (a CSR's self-signature is checked here), verify the identity
// token, check the proof of possession over the principal's challenge, apply the rate limit and
// the replay guard, then issue (CT log first). Any refusal issues nothing. The request and answer
// shapes are Fulcio's v2 API (fulcio.proto CreateSigningCertificateRequest, SigningCertificate).
import { createHash } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { fromBase64, toPem } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import type { CertificateAuthority, IssuedCertificate } from "./authority.js";
import { type Principal, principalOf } from "./identity.js";
import { RateLimiter, type RateLimitOptions, ReplayGuard, type TokenReuse } from "./limits.js";
import type { OidcVerifier } from "./oidc.js";
import {
  type CertifiableKey,
  MAX_KEY_MATERIAL_BYTES,
  parseCertifiableKey,
  verifyChallenge,
  verifyCsr,
} from "./possession.js";

/** Largest request body the CA reads (a token, a key or CSR and a signature fit in far less). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export interface CaServiceOptions {
  ca: CertificateAuthority;
  oidc: OidcVerifier;
  clock: Clock;
  rateLimit?: RateLimitOptions;
  /** What one ID token may buy (default "once"). */
  tokenReuse?: TokenReuse;
}

/** An issued certificate with the principal it names. */
export interface SigningCertificate extends IssuedCertificate {
  principal: Principal;
}

function invalid(message: string, field?: string): Error {
  return cairnError("ERR_CA_REQUEST_INVALID", message, field === undefined ? {} : { field });
}

/** Fulcio v2 sends the CSR as base64 of its PEM text (proto bytes in JSON); accept PEM or DER inside. */
function csrText(v: unknown): string {
  if (typeof v !== "string")
    throw invalid("certificateSigningRequest must be a string", "certificateSigningRequest");
  if (v.length > 2 * MAX_KEY_MATERIAL_BYTES)
    throw cairnError("ERR_CA_REQUEST_TOO_LARGE", "the CSR is too large", {
      field: "certificateSigningRequest",
    });
  if (v.includes("-----BEGIN")) return v;
  const bytes = fromBase64(v.trim(), "certificateSigningRequest");
  const text = bytes.toString("latin1");
  return text.includes("-----BEGIN") ? text : bytes.toString("base64");
}

/** Certificate issuance for the Fulcio-compatible API and the CLI. */
export class CaService {
  private readonly limiter: RateLimiter;
  private readonly replay: ReplayGuard;

  constructor(private readonly opts: CaServiceOptions) {
    this.limiter = new RateLimiter(opts.clock, opts.rateLimit);
    this.replay = new ReplayGuard(opts.clock, opts.tokenReuse ?? "once");
  }

  get ca(): CertificateAuthority {
    return this.opts.ca;
  }

  get oidc(): OidcVerifier {
    return this.opts.oidc;
  }

  /**
   * Handles a CreateSigningCertificateRequest (its JSON form, untrusted). Throws the CA's error
   * codes (ERR_CA_*): nothing is issued on any error.
   */
  async createSigningCertificate(request: unknown): Promise<SigningCertificate> {
    if (!isJsonObject(request)) throw invalid("the request must be a JSON object");
    const creds = request.credentials;
    if (!isJsonObject(creds) || creds.oidcIdentityToken === undefined)
      throw invalid("credentials.oidcIdentityToken is required", "credentials");
    const pkr = request.publicKeyRequest;
    const csr = request.certificateSigningRequest;
    if ((pkr === undefined) === (csr === undefined))
      throw invalid("give exactly one of publicKeyRequest and certificateSigningRequest");

    let key: CertifiableKey;
    let proof: unknown;
    if (csr !== undefined) {
      key = verifyCsr(csrText(csr));
    } else {
      if (!isJsonObject(pkr) || !isJsonObject(pkr.publicKey))
        throw invalid("publicKeyRequest.publicKey is required", "publicKeyRequest.publicKey");
      key = parseCertifiableKey(pkr.publicKey.content);
      proof = pkr.proofOfPossession;
      if (typeof proof !== "string" || proof === "")
        throw invalid("publicKeyRequest.proofOfPossession is required", "publicKeyRequest.proofOfPossession");
    }

    const token = await this.opts.oidc.verify(creds.oidcIdentityToken);
    const principal = principalOf(token);
    // Fulcio: the key signs the principal's challenge (email or sub). A CSR proved possession already.
    if (csr === undefined) verifyChallenge(key, principal.challenge, proof);

    this.limiter.take(principal.id);
    const keyId = createHash("sha256").update(key.spki).digest("hex");
    let claimed = false;
    try {
      claimed = this.replay.claim(token.tokenId, keyId, new Date(token.expiresAt.getTime() + 5 * 60_000));
      const issued = await this.opts.ca.issue(key, principal);
      return { ...issued, principal };
    } catch (e) {
      // Nothing was issued: the identity keeps its quota and the token its use.
      this.limiter.refund(principal.id);
      if (claimed) this.replay.release(token.tokenId);
      throw e;
    }
  }
}

/** Fulcio v2 SigningCertificate JSON with an embedded SCT: PEM certificates, leaf first. */
export function signingCertificateJson(c: IssuedCertificate): Record<string, unknown> {
  return {
    signedCertificateEmbeddedSct: { chain: { certificates: c.chain.map((d) => toPem("CERTIFICATE", d)) } },
  };
}

/** Fulcio v2 TrustBundle JSON. */
export function trustBundleJson(chains: Buffer[][]): Record<string, unknown> {
  return { chains: chains.map((ch) => ({ certificates: ch.map((d) => toPem("CERTIFICATE", d)) })) };
}
