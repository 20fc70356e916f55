// SPDX-License-Identifier: Apache-2.0
// The keyless story end to end (issue 6, sections 1 and 2): `cairn ca init`, then one `cairn
// serve --ca` process (the built CLI, 127.0.0.1, a free port) serving the transparency log, the
// Rekor v1 API and the Fulcio v2 API, its CT log recording precertificates in the same log. The
// real `sigstore` client signs and attests with an ID token from the test OIDC issuer (an ephemeral
// key, a certificate from cairn's CA, an entry in cairn's log); `cairn trust root` builds the
// trusted root from the two directories; `cairn verify-blob` and @sigstore/verify's offline
// Verifier accept the bundles, and cairn refuses another identity (exit 11) and a tampered
// artifact (exit 10).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { attest, sign } from "sigstore";
import { startTestIssuer, type TestIssuer } from "../../src/testing/oidc-issuer.js";
import { cairn, tempDir } from "../e2e/cli.js";
import { type Served, serve } from "../e2e/serve.js";

const IDENTITY = "dev@example.com";
const PASSPHRASE = "a long passphrase for the test CA";
const STATEMENT_TYPE = "application/vnd.in-toto+json";
// The sigstore client's default is 5 s per request; this machine may be loaded.
const CLIENT = { timeout: 60_000, retry: { retries: 0 } };

let issuer: TestIssuer;
let served: Served;
let work: ReturnType<typeof tempDir>;
const file = (name: string) => join(work.dir, name);
const artifact = Buffer.from("release 1.0: signed without a long-lived key\n");

before(async () => {
  work = tempDir("keyless");
  issuer = await startTestIssuer();
  writeFileSync(
    file("issuers.yaml"),
    `issuers:\n  - issuerUrl: ${issuer.url}\n    audience: sigstore\n    type: email\n`,
  );
  writeFileSync(file("ca-pass"), `${PASSPHRASE}\n`, { mode: 0o600 });
  const init = await cairn(["ca", "init", "ca", "--org", "cairn.test"], work.dir, {
    CAIRN_KEY_PASSPHRASE: PASSPHRASE,
  });
  assert.equal(init.code, 0, init.stderr);
  // The passphrase from a file; the environment has none. Sigstore clients send no bearer token:
  // Rekor writes are open (--open-rekor), as they are on Rekor; cairn's own write API is not.
  served = await serve(
    [
      "--data",
      "data",
      "--open-rekor",
      "--ca",
      "ca",
      "--oidc-issuers",
      "issuers.yaml",
      "--ca-passphrase-file",
      "ca-pass",
      "--batch-delay-ms",
      "1",
    ],
    work.dir,
    { CAIRN_KEY_PASSPHRASE: "" },
  );
  const root = await cairn(
    ["trust", "root", "-o", "trusted_root.json", "--serve-data", "data", "--ca-dir", "ca"],
    work.dir,
  );
  assert.equal(root.code, 0, root.stderr);
  writeFileSync(file("release.tar.gz"), artifact);
});

after(async () => {
  await served?.stop();
  await issuer?.close();
  work?.cleanup();
});

const token = (email = IDENTITY) => issuer.mint({ sub: `user-${email}`, email, email_verified: true });

const verifyBlob = (args: string[], identity = IDENTITY) =>
  cairn(
    [
      ...args,
      "--trusted-root",
      "trusted_root.json",
      "--certificate-identity",
      identity,
      "--certificate-oidc-issuer",
      issuer.url,
      "--json",
    ],
    work.dir,
  );

function sigstoreVerifier(): Verifier {
  const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(file("trusted_root.json"), "utf8")));
  return new Verifier(toTrustMaterial(root));
}

describe("keyless signing with the sigstore client against cairn serve --ca", () => {
  it("serves the CA beside the log", () => {
    const info = served.info as Served["info"] & { ca?: { ctLogID: string; issuers: string[] } };
    assert.deepEqual(info.ca?.issuers, [issuer.url]);
  });

  it("cairn trust root reads the log key, the CA chains and the CT key with their validity", async () => {
    type Range = { start: string; end?: string };
    type Root = {
      tlogs: { baseUrl: string; publicKey: { validFor: Range } }[];
      ctlogs: { logId: { keyId: string }; publicKey: { validFor: Range } }[];
      certificateAuthorities: { certChain: { certificates: unknown[] }; validFor: Range }[];
    };
    const read = (name: string) => JSON.parse(readFileSync(file(name), "utf8")) as Root;
    const root = read("trusted_root.json");
    const now = Date.now();
    assert.equal(root.tlogs.length, 1);
    assert.equal(root.tlogs[0]!.baseUrl, `https://${served.info.origin}`);
    assert.ok(Date.parse(root.tlogs[0]!.publicKey.validFor.start) <= now);
    assert.equal(root.ctlogs.length, 1);
    const info = served.info as Served["info"] & { ca: { ctLogID: string } };
    assert.equal(root.ctlogs[0]!.logId.keyId, info.ca.ctLogID);
    assert.equal(root.certificateAuthorities.length, 1);
    const ca = root.certificateAuthorities[0]!;
    assert.equal(ca.certChain.certificates.length, 2, "intermediate and root");
    assert.ok(Date.parse(ca.validFor.start) <= now && Date.parse(ca.validFor.end!) > now);
    assert.ok(Date.parse(root.ctlogs[0]!.publicKey.validFor.start) <= Date.parse(ca.validFor.start));

    // After a rotation, both intermediates are listed, each with its own validity.
    const rotate = await cairn(["ca", "rotate", "ca"], work.dir, { CAIRN_KEY_PASSPHRASE: PASSPHRASE });
    assert.equal(rotate.code, 0, rotate.stderr);
    const again = await cairn(
      ["trust", "root", "-o", "rotated_root.json", "--serve-data", "data", "--ca-dir", "ca"],
      work.dir,
    );
    assert.equal(again.code, 0, again.stderr);
    const rotated = read("rotated_root.json");
    assert.equal(rotated.certificateAuthorities.length, 2);
    assert.equal(rotated.ctlogs.length, 1);
  });

  it("sigstore.sign(): cairn verify-blob and @sigstore/verify accept the bundle; another identity is exit 11, a tampered artifact exit 10", async () => {
    const bundle = await sign(artifact, {
      fulcioURL: served.url,
      rekorURL: served.url,
      identityToken: await token(),
      ...CLIENT,
    });
    writeFileSync(file("release.sigstore.json"), JSON.stringify(bundle));

    const ok = await verifyBlob(["verify-blob", "release.tar.gz", "--bundle", "release.sigstore.json"]);
    assert.equal(ok.code, 0, ok.stderr);
    // From the digest alone, too.
    const digest = `sha256:${createHash("sha256").update(artifact).digest("hex")}`;
    const byDigest = await verifyBlob(["verify-blob", digest, "--bundle", "release.sigstore.json"]);
    assert.equal(byDigest.code, 0, byDigest.stderr);

    const other = await verifyBlob(
      ["verify-blob", "release.tar.gz", "--bundle", "release.sigstore.json"],
      "ops@example.com",
    );
    assert.equal(other.code, 11, other.stderr);

    writeFileSync(file("tampered.tar.gz"), Buffer.concat([artifact, Buffer.from("tampered\n")]));
    const tampered = await verifyBlob([
      "verify-blob",
      "tampered.tar.gz",
      "--bundle",
      "release.sigstore.json",
    ]);
    assert.equal(tampered.code, 10, tampered.stderr);

    const signer = sigstoreVerifier().verify(toSignedEntity(bundleFromJSON(bundle), artifact), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: issuer.url },
    });
    assert.equal(signer.identity?.subjectAlternativeName, IDENTITY);
    assert.throws(() => sigstoreVerifier().verify(toSignedEntity(bundleFromJSON(bundle), Buffer.from("x"))));
  });

  it("sigstore.attest(): cairn verify-blob-attestation and @sigstore/verify accept the DSSE bundle", async () => {
    const statement = Buffer.from(
      JSON.stringify({
        _type: "https://in-toto.io/Statement/v1",
        subject: [
          { name: "release.tar.gz", digest: { sha256: createHash("sha256").update(artifact).digest("hex") } },
        ],
        predicateType: "https://slsa.dev/provenance/v1",
        predicate: { buildDefinition: { buildType: "https://cairn.test/build" } },
      }),
    );
    const bundle = await attest(statement, STATEMENT_TYPE, {
      fulcioURL: served.url,
      rekorURL: served.url,
      identityToken: await token(),
      ...CLIENT,
    });
    writeFileSync(file("release.intoto.sigstore.json"), JSON.stringify(bundle));

    const ok = await verifyBlob([
      "verify-blob-attestation",
      "release.tar.gz",
      "--bundle",
      "release.intoto.sigstore.json",
      "--type",
      "https://slsa.dev/provenance/v1",
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const other = await verifyBlob(
      ["verify-blob-attestation", "release.tar.gz", "--bundle", "release.intoto.sigstore.json"],
      "ops@example.com",
    );
    assert.equal(other.code, 11, other.stderr);
    const tampered = await verifyBlob([
      "verify-blob-attestation",
      "tampered.tar.gz",
      "--bundle",
      "release.intoto.sigstore.json",
    ]);
    assert.equal(tampered.code, 10, tampered.stderr);

    const signer = sigstoreVerifier().verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: issuer.url },
    });
    assert.equal(signer.identity?.subjectAlternativeName, IDENTITY);
  });

  it("cairn sign-blob and attest-blob sign keyless against the same server; both verifiers accept the bundles", async () => {
    writeFileSync(file("token"), `${await token()}\n`, { mode: 0o600 });
    const keyless = ["--fulcio-url", served.url, "--rekor-url", served.url, "--identity-token", "token"];
    const signed = await cairn(
      ["sign-blob", "release.tar.gz", "--bundle", "cairn.sigstore.json", ...keyless],
      work.dir,
    );
    assert.equal(signed.code, 0, signed.stderr);
    const ok = await verifyBlob(["verify-blob", "release.tar.gz", "--bundle", "cairn.sigstore.json"]);
    assert.equal(ok.code, 0, ok.stderr);
    const other = await verifyBlob(
      ["verify-blob", "release.tar.gz", "--bundle", "cairn.sigstore.json"],
      "ops@example.com",
    );
    assert.equal(other.code, 11, other.stderr);
    const bundle = JSON.parse(readFileSync(file("cairn.sigstore.json"), "utf8"));
    sigstoreVerifier().verify(toSignedEntity(bundleFromJSON(bundle), artifact), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: issuer.url },
    });

    // One token buys one certificate (the CA's replay guard): attesting needs a fresh one.
    writeFileSync(file("token"), `${await token()}\n`, { mode: 0o600 });
    writeFileSync(file("predicate.json"), JSON.stringify({ builder: { id: "https://cairn.test/builder" } }));
    const attested = await cairn(
      [
        "attest-blob",
        "release.tar.gz",
        "--predicate",
        "predicate.json",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--bundle",
        "cairn.intoto.sigstore.json",
        ...keyless,
      ],
      work.dir,
    );
    assert.equal(attested.code, 0, attested.stderr);
    const att = await verifyBlob([
      "verify-blob-attestation",
      "release.tar.gz",
      "--bundle",
      "cairn.intoto.sigstore.json",
      "--type",
      "https://slsa.dev/provenance/v1",
    ]);
    assert.equal(att.code, 0, att.stderr);
    const attBundle = JSON.parse(readFileSync(file("cairn.intoto.sigstore.json"), "utf8"));
    sigstoreVerifier().verify(toSignedEntity(bundleFromJSON(attBundle)), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: issuer.url },
    });

    // A replayed token is refused by the CA (401, ERR_CA_TOKEN_REPLAYED) and nothing is signed.
    const replay = await cairn(
      ["sign-blob", "release.tar.gz", "--bundle", "replay.json", ...keyless],
      work.dir,
    );
    assert.equal(replay.code, 11, replay.stderr);
    assert.match(replay.stderr, /ERR_CA_TOKEN_REPLAYED/);
    assert.ok(!existsSync(file("replay.json")));
  });

  it("cairn's own write API still needs a token with --open-rekor", async () => {
    const res = await fetch(`${served.url}/cairn/v1/log/entries`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "artifact" }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, "ERR_HTTP_UNAUTHORIZED");
  });

  it("the precertificates are in the server's own log, beside the signatures", async () => {
    // Four certificates (precertificate leaves) and four Rekor entries: one log, one database.
    const get = async (path: string) =>
      (await fetch(`${served.url}${path}`)).json() as Promise<Record<string, unknown>>;
    assert.equal((await get("/cairn/v1/log")).treeSize, 8);
    const kinds = [];
    for (let i = 0; i < 8; i++) {
      const leaf = Buffer.from((await get(`/cairn/v1/log/entries/${i}`)).leaf as string, "base64");
      // RFC 6962 3.4: version v1 (0), timestamped_entry (0), 8-byte timestamp, precert_entry (1).
      kinds.push(leaf[0] === 0 && leaf[1] === 0 && leaf.readUInt16BE(10) === 1 ? "precert" : "rekor");
    }
    assert.deepEqual(kinds, ["precert", "rekor", "precert", "rekor", "precert", "rekor", "precert", "rekor"]);
  });
});

describe("cairn serve --ca refuses a bad setup before it listens", () => {
  const start = (data: string, args: string[], env: Record<string, string> = {}) =>
    cairn(["serve", "--data", data, "--listen", "127.0.0.1:0", "--json", ...args], work.dir, {
      CAIRN_KEY_PASSPHRASE: "",
      ...env,
    });
  const codeOf = (stderr: string) => /ERR_[A-Z_]+/.exec(stderr)?.[0];

  it("an issuer without an audience: exit 12, ERR_FIELD_INVALID", async () => {
    writeFileSync(file("bad-issuers.json"), JSON.stringify([{ issuerUrl: issuer.url, type: "email" }]));
    const r = await start("d1", [
      "--ca",
      "ca",
      "--oidc-issuers",
      "bad-issuers.json",
      "--ca-passphrase-file",
      "ca-pass",
    ]);
    assert.equal(r.code, 12, r.stderr);
    assert.equal(codeOf(r.stderr), "ERR_FIELD_INVALID");
  });

  it("an issuer file that is not YAML: exit 12", async () => {
    writeFileSync(file("bad-issuers.yaml"), "issuers: [\n");
    const r = await start("d2", [
      "--ca",
      "ca",
      "--oidc-issuers",
      "bad-issuers.yaml",
      "--ca-passphrase-file",
      "ca-pass",
    ]);
    assert.equal(r.code, 12, r.stderr);
    assert.equal(codeOf(r.stderr), "ERR_YAML_MALFORMED");
  });

  it("no passphrase: exit 2; a wrong one: refused, nothing served", async () => {
    const none = await start("d3", ["--ca", "ca", "--oidc-issuers", "issuers.yaml"]);
    assert.equal(none.code, 2, none.stderr);
    assert.equal(codeOf(none.stderr), "ERR_USAGE");
    const wrong = await start(
      "d4",
      ["--ca", "ca", "--oidc-issuers", "issuers.yaml", "--ca-passphrase-env", "P"],
      {
        P: "not the passphrase",
      },
    );
    assert.equal(codeOf(wrong.stderr), "ERR_KEY_PASSPHRASE");
    assert.ok(!wrong.stderr.includes("not the passphrase"), "the passphrase is never printed");
    assert.ok(!wrong.stdout.includes('"url"'), "nothing was served");
    assert.ok(!existsSync(file("d4")), "nothing was opened or written");
  });

  it("CA flags without --ca, --ca without issuers: exit 2", async () => {
    const a = await start("d5", ["--oidc-issuers", "issuers.yaml"]);
    assert.equal(a.code, 2, a.stderr);
    const b = await start("d6", ["--ca", "ca", "--ca-passphrase-file", "ca-pass"]);
    assert.equal(b.code, 2, b.stderr);
  });
});
