// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import type { CairnError } from "../../core/errors.js";
import { proveChallenge } from "../../testing/ca-kit.js";
import { principalOf } from "./identity.js";
import { parseIssuerConfigs } from "./oidc.js";
import { parseCertifiableKey, verifyChallenge } from "./possession.js";

const code = (c: string) => (e: CairnError) => e.code === c;

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

describe("uri identities (Fulcio's subject domain rule)", () => {
  const issuer = {
    issuerUrl: "https://auth.example",
    audience: "sigstore",
    type: "uri" as const,
    subjectDomain: "https://builds.example",
  };
  const token = (sub: string) => ({ issuer, claims: { sub }, tokenId: "x", expiresAt: new Date() });
  it("accepts a sub under the subject domain as a URI SAN, refuses others", () => {
    const p = principalOf(token("https://builds.example/pipelines/42"));
    assert.deepEqual(p.san, { uri: "https://builds.example/pipelines/42" });
    assert.equal(p.challenge, "https://builds.example/pipelines/42");
    for (const sub of [
      "https://evil.example/x",
      "http://builds.example/x",
      "https://builds.example.evil/x",
      "not a uri",
    ])
      assert.throws(() => principalOf(token(sub)), code("ERR_CA_IDENTITY_REFUSED"));
  });
});

describe("proof of possession by key type", () => {
  it("verifies RSA-2048, Ed25519 and P-521 challenges; refuses a signature over other text", () => {
    for (const pair of [
      generateKeyPairSync("rsa", { modulusLength: 2048 }),
      generateKeyPairSync("ed25519"),
      generateKeyPairSync("ec", { namedCurve: "P-521" }),
    ]) {
      const k = parseCertifiableKey(pair.publicKey.export({ type: "spki", format: "pem" }));
      verifyChallenge(k, "me@example.com", proveChallenge(pair.privateKey, "me@example.com"));
      assert.throws(
        () => verifyChallenge(k, "me@example.com", proveChallenge(pair.privateKey, "you@example.com")),
        code("ERR_CA_PROOF_INVALID"),
      );
    }
  });
});
