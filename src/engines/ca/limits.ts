// SPDX-License-Identifier: Apache-2.0
// Abuse limits of the CA: a token bucket per identity (certificates per identity over time), and a
// replay guard that lets an ID token buy a certificate once (or, if configured, only for one key).
// Both are bounded in memory; both are per process (a fleet of CAs needs a shared store: a port later).
import type { Clock } from "../../core/clock.js";
import { type CairnError, cairnError } from "../../core/errors.js";

/** A CairnError that says when to retry (HTTP Retry-After). */
export type RetryableError = CairnError & { retryAfterSeconds?: number };

export interface RateLimitOptions {
  /** Certificates an identity may get at once (bucket size). Default 20. */
  burst?: number;
  /** Certificates regained per minute. Default 10. */
  perMinute?: number;
  /** Identities tracked at once; beyond it, full buckets are forgotten, then requests refused. Default 100,000. */
  maxIdentities?: number;
  /** The error a refusal carries (default ERR_CA_RATE_LIMITED; the TSA's is ERR_TSA_RATE_LIMITED). */
  code?: "ERR_CA_RATE_LIMITED" | "ERR_TSA_RATE_LIMITED";
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by identity. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly perMs: number;
  private readonly max: number;
  private readonly code: NonNullable<RateLimitOptions["code"]>;

  constructor(
    private readonly clock: Clock,
    opts: RateLimitOptions = {},
  ) {
    this.burst = opts.burst ?? 20;
    this.perMs = (opts.perMinute ?? 10) / 60_000;
    this.max = opts.maxIdentities ?? 100_000;
    this.code = opts.code ?? "ERR_CA_RATE_LIMITED";
    if (!(this.burst >= 1 && this.perMs > 0 && this.max >= 1))
      throw cairnError("ERR_USAGE", "rate limits must be positive");
  }

  private level(b: Bucket, now: number): number {
    return Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
  }

  /** Takes one certificate from `id`'s bucket, or throws ERR_CA_RATE_LIMITED with retryAfterSeconds. */
  take(id: string): void {
    const now = this.clock.now().getTime();
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size >= this.max) this.sweep(now);
      if (this.buckets.size >= this.max)
        throw limited("too many clients are tracked right now", 1, this.code);
      b = { tokens: this.burst, at: now };
      this.buckets.set(id, b);
    }
    const level = this.level(b, now);
    if (level < 1)
      throw limited(`too many requests for ${id}`, Math.ceil((1 - level) / this.perMs / 1000), this.code);
    b.tokens = level - 1;
    b.at = now;
  }

  /** Gives back one certificate (the request failed after `take`). */
  refund(id: string): void {
    const b = this.buckets.get(id);
    if (b) b.tokens = Math.min(this.burst, b.tokens + 1);
  }

  private sweep(now: number): void {
    for (const [id, b] of this.buckets) if (this.level(b, now) >= this.burst) this.buckets.delete(id);
  }
}

function limited(
  message: string,
  retryAfterSeconds: number,
  code: NonNullable<RateLimitOptions["code"]> = "ERR_CA_RATE_LIMITED",
): RetryableError {
  const e = cairnError(code, message) as RetryableError;
  e.retryAfterSeconds = Math.max(1, retryAfterSeconds);
  return e;
}

/** What a token may buy: one certificate ("once"), or certificates for the first key it was used with ("same-key"). */
export type TokenReuse = "once" | "same-key";

/** Remembers used tokens until they expire. */
export class ReplayGuard {
  private readonly used = new Map<string, { keyId: string; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly reuse: TokenReuse = "once",
    /** Used tokens remembered at once; beyond it (after forgetting expired ones) requests are refused. */
    private readonly maxTokens = 1_000_000,
  ) {}

  /**
   * Records that `tokenId` buys a certificate for `keyId`; throws ERR_CA_TOKEN_REPLAYED when the
   * token was used before (for another key, under "same-key"). `until` is the token's expiry plus
   * the allowed skew: after it, the token no longer verifies, so it can be forgotten. Returns
   * true when this call recorded the claim (and `release` may undo it).
   */
  claim(tokenId: string, keyId: string, until: Date): boolean {
    const now = this.clock.now().getTime();
    const prior = this.used.get(tokenId);
    if (prior && prior.until >= now) {
      if (this.reuse === "once" || prior.keyId !== keyId)
        throw cairnError("ERR_CA_TOKEN_REPLAYED", "this identity token was already used", {
          field: "credentials.oidcIdentityToken",
        });
      return false;
    }
    if (this.used.size >= this.maxTokens) {
      for (const [id, u] of this.used) if (u.until < now) this.used.delete(id);
      if (this.used.size >= this.maxTokens) throw limited("the CA remembers too many tokens right now", 1);
    }
    this.used.set(tokenId, { keyId, until: until.getTime() });
    return true;
  }

  /** Forgets a claim (the request failed after `claim`, so the token may be used again). */
  release(tokenId: string): void {
    this.used.delete(tokenId);
  }
}
