// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Clock } from "../../core/clock.js";
import type { CairnError } from "../../core/errors.js";
import { generateKey } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import { CT_POISON_OID, CT_SCT_LIST_OID, DER_NULL } from "../../formats/x509/index.js";
import { clientKey } from "../../testing/ca-kit.js";
import { distinguishedName, randomSerial, signCertificate, spkiOf, tbsWithout } from "./certificates.js";
import { principalOf } from "./identity.js";
import { RateLimiter, ReplayGuard } from "./limits.js";
import { parseIssuerConfigs } from "./oidc.js";

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

describe("issuer configuration", () => {
  it("reads valid entries and names the bad field otherwise", () => {
    const ok = parseIssuerConfigs([
      { issuerUrl: "https://accounts.example.com", audience: "sigstore", type: "email" },
      {
        issuerUrl: "https://k8s.example",
        audience: "ca",
        type: "kubernetes",
        trustDomain: "td",
        allowedNamespaces: ["a"],
      },
    ]);
    assert.equal(ok.length, 2);
    for (const [bad, field] of [
      [{ issuerUrl: "ftp://x", audience: "a", type: "email" }, "issuers[0].issuerUrl"],
      [{ issuerUrl: "https://x", audience: "a", type: "magic" }, "issuers[0].type"],
      [{ issuerUrl: "https://x", type: "email" }, "issuers[0].audience"],
      [{ issuerUrl: "https://x", audience: "a", type: "kubernetes" }, "issuers[0].trustDomain"],
      [{ issuerUrl: "https://x", audience: "a", type: "uri" }, "issuers[0].subjectDomain"],
      [{ issuerUrl: "https://x", audience: "a", type: "spiffe" }, "issuers[0].spiffeTrustDomain"],
    ] as const) {
      assert.throws(
        () => parseIssuerConfigs([bad]),
        (e: CairnError) => e.code === "ERR_FIELD_INVALID" && e.field === field,
      );
    }
  });
});

describe("identity SANs", () => {
  it("refuses a CI claim that would make a non-ASCII or spaced URI SAN", () => {
    const issuer = {
      issuerUrl: "https://token.actions.example",
      audience: "sigstore",
      type: "github-workflow" as const,
    };
    const token = (ref: string) => ({
      issuer,
      claims: { sub: "s", job_workflow_ref: ref, repository: "o/r" },
      tokenId: "x",
      expiresAt: new Date(),
    });
    assert.equal(
      (
        principalOf(token("o/r/.github/workflows/a.yml@refs/heads/main")).san as { uri: string }
      ).uri.startsWith("https://github.com/"),
      true,
    );
    assert.throws(
      () => principalOf(token("o/r/.github/workflows/a b.yml@main")),
      code("ERR_CA_IDENTITY_REFUSED"),
    );
    assert.throws(
      () => principalOf(token("o/r/.github/workflows/é.yml@main")),
      code("ERR_CA_IDENTITY_REFUSED"),
    );
  });
});

describe("precertificate and certificate (RFC 6962 3.2)", () => {
  it("the precertificate's TBS without the poison is the certificate's TBS without the SCT list (property)", async () => {
    const signer = keySigner(generateKey("ecdsa", { curve: "P-256" }));
    const spki = spkiOf(clientKey().publicKey);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 1, max: 9999 }), fc.boolean(), fc.uint8Array({ maxLength: 40 })),
          { maxLength: 6 },
        ),
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        async (exts, sctList) => {
          const base = exts.map(([n, critical, v]) => ({
            oid: `1.3.6.1.4.1.99999.${n}`,
            critical,
            value: Buffer.concat([Buffer.from([0x04, v.length]), v]),
          }));
          const t = {
            serial: randomSerial(),
            issuer: distinguishedName({ organization: "o", commonName: "ca" }),
            subject: distinguishedName(),
            notBefore: new Date(1_800_000_000_000),
            notAfter: new Date(1_800_000_600_000),
            spki,
          };
          const pre = await signCertificate(
            { ...t, extensions: [...base, { oid: CT_POISON_OID, critical: true, value: DER_NULL }] },
            signer,
          );
          const fin = await signCertificate(
            {
              ...t,
              extensions: [
                ...base,
                {
                  oid: CT_SCT_LIST_OID,
                  critical: false,
                  value: Buffer.concat([Buffer.from([0x04, sctList.length]), sctList]),
                },
              ],
            },
            signer,
          );
          assert.ok(tbsWithout(pre, [CT_POISON_OID]).equals(tbsWithout(fin, [CT_SCT_LIST_OID])));
        },
      ),
      { numRuns: 30 },
    );
  });
});
