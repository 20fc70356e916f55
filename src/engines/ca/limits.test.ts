// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Clock } from "../../core/clock.js";
import type { CairnError } from "../../core/errors.js";
import { RateLimiter, ReplayGuard } from "./limits.js";

/** A clock the test moves by hand: no timed assertions. */
function manualClock(start = 1_800_000_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => new Date(t),
    advance: (ms) => {
      t += ms;
    },
  };
}
const code = (c: string) => (e: CairnError) => e.code === c;

describe("RateLimiter", () => {
  it("allows a burst, then one per refill interval, per identity", () => {
    const clock = manualClock();
    const rl = new RateLimiter(clock, { burst: 2, perMinute: 2 });
    rl.take("a");
    rl.take("a");
    assert.throws(
      () => rl.take("a"),
      (e: CairnError & { retryAfterSeconds?: number }) => {
        assert.equal(e.code, "ERR_CA_RATE_LIMITED");
        assert.equal(e.retryAfterSeconds, 30);
        return true;
      },
    );
    rl.take("b");
    clock.advance(30_000);
    rl.take("a");
    assert.throws(() => rl.take("a"), code("ERR_CA_RATE_LIMITED"));
    rl.refund("a");
    rl.take("a");
  });

  it("bounds the identities it tracks: full buckets are forgotten, then new identities wait", () => {
    const clock = manualClock();
    const rl = new RateLimiter(clock, { burst: 1, perMinute: 60, maxIdentities: 2 });
    rl.take("a");
    rl.take("b");
    assert.throws(() => rl.take("c"), code("ERR_CA_RATE_LIMITED"));
    clock.advance(1000);
    rl.take("c");
  });
});

describe("ReplayGuard", () => {
  it("once: a token buys one certificate until it expires; release undoes a claim", () => {
    const clock = manualClock();
    const g = new ReplayGuard(clock, "once");
    const until = new Date(clock.now().getTime() + 60_000);
    assert.equal(g.claim("t1", "k1", until), true);
    assert.throws(() => g.claim("t1", "k1", until), code("ERR_CA_TOKEN_REPLAYED"));
    g.release("t1");
    assert.equal(g.claim("t1", "k2", until), true);
    clock.advance(61_000);
    assert.equal(g.claim("t1", "k3", new Date(clock.now().getTime() + 1)), true, "forgotten after expiry");
  });

  it("same-key: more certificates for the first key only; bounded memory", () => {
    const clock = manualClock();
    const g = new ReplayGuard(clock, "same-key", 1);
    const until = new Date(clock.now().getTime() + 60_000);
    assert.equal(g.claim("t", "k", until), true);
    assert.equal(g.claim("t", "k", until), false);
    assert.throws(() => g.claim("t", "other", until), code("ERR_CA_TOKEN_REPLAYED"));
    assert.throws(() => g.claim("u", "k", until), code("ERR_CA_RATE_LIMITED"));
  });
});
