// SPDX-License-Identifier: Apache-2.0
// Identity policy: anchored patterns, every claim a policy can ask about, and refusals in the
// policy category (exit 11).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CairnError, EXIT_CODE } from "../../core/errors.js";
import { parseCertificate } from "../../formats/sigstore/certificate.js";
import { ecPair, issueLeaf, makeTestCa } from "../../testing/sigstore-ca.js";
import { checkIdentityPolicy, compileMatcher, type IdentityPolicy } from "./policy.js";

const ca = makeTestCa();
const leaf = (o: Parameters<typeof issueLeaf>[2]) => parseCertificate(issueLeaf(ca, ecPair().spki, o));

function refused(cert: ReturnType<typeof leaf>, p: IdentityPolicy, field: string): void {
  assert.throws(
    () => checkIdentityPolicy(cert, p),
    (e) => {
      assert.ok(e instanceof CairnError);
      assert.equal(e.code, "ERR_SIGSTORE_IDENTITY_MISMATCH");
      assert.equal(EXIT_CODE[e.category], 11);
      assert.equal(e.field, field);
      return true;
    },
  );
}

describe("identity policy", () => {
  const cert = leaf({
    email: "dev@cairn.test",
    uri: "https://cairn.test/ci",
    issuer: "https://issuer.cairn.test",
  });

  it("matches any SAN exactly or by an anchored pattern, and the issuer", () => {
    const id = checkIdentityPolicy(cert, {
      identity: { exact: "https://cairn.test/ci" },
      issuer: { exact: "https://issuer.cairn.test" },
    });
    assert.equal(id.subject, "https://cairn.test/ci");
    assert.deepEqual(id.sans, ["dev@cairn.test", "https://cairn.test/ci"]);
    checkIdentityPolicy(cert, {
      identity: { regexp: "dev@.*" },
      issuer: { regexp: "https://issuer\\.cairn\\.test" },
    });
    refused(cert, { identity: { regexp: "dev" } }, "identity");
    refused(cert, { identity: { regexp: "cairn\\.test" } }, "identity");
    refused(cert, { identity: { exact: "DEV@cairn.test" } }, "identity");
    refused(cert, { issuer: { regexp: "https://issuer" } }, "issuer");
    // An alternation cannot escape the anchors.
    refused(cert, { identity: { regexp: "nobody|x" } }, "identity");
  });

  it("property: an anchored pattern made from a value matches only that value (escaped)", () => {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        const m = compileMatcher({ regexp: esc(a) }, "x");
        return m(a) && (a === b || !m(b)) && !m(`${a}${b}`) && !m(`${b}${a}`);
      }),
    );
  });

  it("a bad pattern is a usage error, not a refusal", () => {
    assert.throws(() => checkIdentityPolicy(cert, { identity: { regexp: "(" } }), { code: "ERR_USAGE" });
  });

  it("reads the legacy issuer extension, and a missing issuer never matches", () => {
    const legacy = leaf({ email: "a@b", issuer: "https://legacy.example", legacyIssuer: true });
    assert.equal(
      checkIdentityPolicy(legacy, { issuer: { exact: "https://legacy.example" } }).issuer,
      "https://legacy.example",
    );
    const none = leaf({ email: "a@b" });
    refused(none, { issuer: { regexp: ".*" } }, "issuer");
  });

  it("SPIFFE IDs: exactly one spiffe:// URI SAN, matched by pattern", () => {
    const svid = leaf({ uri: "spiffe://cairn.test/ns/build/sa/runner" });
    checkIdentityPolicy(svid, { spiffeId: { regexp: "spiffe://cairn\\.test/ns/[^/]+/sa/runner" } });
    refused(svid, { spiffeId: { exact: "spiffe://cairn.test/ns/build" } }, "spiffeId");
    refused(cert, { spiffeId: { regexp: ".*" } }, "spiffeId");
    const two = leaf({ uri: "spiffe://cairn.test/a", email: "x@y" });
    checkIdentityPolicy(two, { spiffeId: { exact: "spiffe://cairn.test/a" } }); // email SANs do not count
    const bad = leaf({ uri: "spiffe://Cairn.Test/a" });
    refused(bad, { spiffeId: { regexp: ".*" } }, "spiffeId");
  });

  it("CI claims from the Fulcio extensions, with the legacy GitHub ones as fallback", () => {
    const ci = leaf({
      uri: "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1",
      claims: {
        "1.3.6.1.4.1.57264.1.12": "https://github.com/o/r",
        "1.3.6.1.4.1.57264.1.14": "refs/tags/v1",
        "1.3.6.1.4.1.57264.1.9": "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1",
        "1.3.6.1.4.1.57264.1.20": "push",
      },
    });
    const id = checkIdentityPolicy(ci, {
      repository: { exact: "https://github.com/o/r" },
      ref: { regexp: "refs/tags/v.*" },
      workflow: { regexp: ".*/w\\.yml@.*" },
      extensions: { buildTrigger: { exact: "push" } },
    });
    assert.equal(id.extensions.sourceRepositoryUri, "https://github.com/o/r");
    refused(ci, { ref: { exact: "refs/heads/main" } }, "ref");
    refused(ci, { extensions: { buildTrigger: { exact: "workflow_dispatch" } } }, "extensions.buildTrigger");
    refused(ci, { extensions: { runnerEnvironment: { regexp: ".*" } } }, "extensions.runnerEnvironment");
  });
});
