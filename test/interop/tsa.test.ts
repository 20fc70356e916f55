// SPDX-License-Identifier: Apache-2.0
// cairn's RFC 3161 time-stamp authority with the real components (issue 6, section 2: "a signed
// timestamp (inclusion promise or RFC 3161)"): `cairn tsa init`, one `cairn serve --ca --tsa`
// process (the built CLI on 127.0.0.1), and
// - OpenSSL's `ts` client: a DER query answered with a token `openssl ts -verify` accepts against
//   the chain from GET /api/v1/timestamp/certchain (ESSCertIDv2, critical timeStamping EKU);
// - the `sigstore` signing client with tsaServerURL pointed at cairn: its bundle carries cairn's
//   token and `cairn verify-blob` accepts it, with the token as the only timestamp too;
// - `cairn sign-blob --timestamp-server-url`: @sigstore/verify (offline, cairn's trusted root from
//   `cairn trust root --tsa-dir`) and cairn accept a bundle whose only timestamp is cairn's token,
//   and both refuse a token over another signature;
// - `cairn oci sign --form bundle --timestamp-server-url`: the image's bundle carries the token.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { sign } from "sigstore";
import { OciLayout } from "../../src/runtime/oci-layout.js";
import { writeSmallImage } from "../../src/testing/oci-image.js";
import { startTestIssuer, type TestIssuer } from "../../src/testing/oidc-issuer.js";
import type { Json } from "../../src/testing/sigstore-kit.js";
import { cairn, isOneErrorLine, sh, tempDir } from "../e2e/cli.js";
import { type Served, serve } from "../e2e/serve.js";

const IDENTITY = "dev@example.com";
const PASSPHRASE = "a long passphrase for the test authorities";
const CLIENT = { timeout: 60_000, retry: { retries: 0 } };

let issuer: TestIssuer;
let served: Served;
let work: ReturnType<typeof tempDir>;
const file = (name: string) => join(work.dir, name);
const artifact = Buffer.from("release 2.0: timestamped by cairn's TSA\n");

before(async () => {
  work = tempDir("tsa");
  issuer = await startTestIssuer();
  writeFileSync(
    file("issuers.yaml"),
    `issuers:\n  - issuerUrl: ${issuer.url}\n    audience: sigstore\n    type: email\n`,
  );
  const env = { CAIRN_KEY_PASSPHRASE: PASSPHRASE };
  for (const args of [
    ["ca", "init", "ca", "--org", "cairn.test"],
    ["tsa", "init", "tsa", "--org", "cairn.test"],
  ]) {
    const r = await cairn(args, work.dir, env);
    assert.equal(r.code, 0, r.stderr);
  }
  served = await serve(
    [
      "--data",
      "data",
      "--open-rekor",
      "--ca",
      "ca",
      "--oidc-issuers",
      "issuers.yaml",
      "--tsa",
      "tsa",
      "--batch-delay-ms",
      "1",
    ],
    work.dir,
    env,
  );
  const root = await cairn(
    [
      "trust",
      "root",
      "-o",
      "trusted_root.json",
      "--serve-data",
      "data",
      "--ca-dir",
      "ca",
      "--tsa-dir",
      "tsa",
    ],
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

const token = () => issuer.mint({ sub: "user", email: IDENTITY, email_verified: true });
const readJson = (name: string): Json => JSON.parse(readFileSync(file(name), "utf8"));
const writeJson = (name: string, v: unknown) => writeFileSync(file(name), JSON.stringify(v));

/** The bundle with its inclusion promises removed: the RFC 3161 token is its only timestamp. */
function onlyTsa(b: Json): Json {
  const c = structuredClone(b);
  for (const e of c.verificationMaterial.tlogEntries) delete e.inclusionPromise;
  assert.equal(c.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  return c;
}

/** `openssl ts -verify` of r.tsr against a query file, with the chain the TSA serves. */
const tsVerify = (query: string) =>
  sh(
    "openssl",
    [
      "ts",
      "-verify",
      "-queryfile",
      file(query),
      "-in",
      file("r.tsr"),
      "-CAfile",
      file("tsa-root.pem"),
      "-untrusted",
      file("tsa-leaf.pem"),
    ],
    work.dir,
  );

const verifyBlob = (bundle: string, command = "verify-blob") =>
  cairn(
    [
      command,
      "release.tar.gz",
      "--bundle",
      bundle,
      "--trusted-root",
      "trusted_root.json",
      "--certificate-identity",
      IDENTITY,
      "--certificate-oidc-issuer",
      issuer.url,
      "--json",
    ],
    work.dir,
  );

function sigstoreVerify(bundle: Json): void {
  const root = TrustedRoot.fromJSON(readJson("trusted_root.json"));
  // tlogThreshold 1 (the entry's proof is checked), timestamps from the token: no promise needed.
  new Verifier(toTrustMaterial(root)).verify(toSignedEntity(bundleFromJSON(bundle), artifact), {
    subjectAlternativeName: IDENTITY,
    extensions: { issuer: issuer.url },
  });
}

describe("cairn's RFC 3161 TSA with the real clients", () => {
  it("cairn trust root lists the TSA with its chain and validity", () => {
    const tsas = readJson("trusted_root.json").timestampAuthorities as Json[];
    assert.equal(tsas.length, 1);
    assert.equal(tsas[0]!.certChain.certificates.length, 2);
    assert.ok(Date.parse(tsas[0]!.validFor.start) <= Date.now());
    assert.ok(Date.parse(tsas[0]!.validFor.end) > Date.now());
    assert.ok((served.info as Json).tsa.policy);
  });

  it("openssl ts: a DER query is answered with a token openssl verifies against the served chain", async () => {
    const chain = await fetch(`${served.url}/api/v1/timestamp/certchain`).then((r) => r.text());
    const shown = await cairn(["tsa", "show", "tsa", "--pem"], work.dir);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, chain, "cairn tsa show --pem prints the chain the server serves");
    const pems = chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g)!;
    writeFileSync(file("tsa-leaf.pem"), pems[0]!);
    writeFileSync(file("tsa-root.pem"), pems[1]!);
    const q = await sh(
      "openssl",
      ["ts", "-query", "-data", file("release.tar.gz"), "-sha256", "-cert", "-out", file("q.tsq")],
      work.dir,
    );
    assert.equal(q.code, 0, q.stderr);
    const res = await fetch(`${served.url}/api/v1/timestamp`, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query" },
      body: readFileSync(file("q.tsq")),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("content-type"), "application/timestamp-reply");
    writeFileSync(file("r.tsr"), Buffer.from(await res.arrayBuffer()));
    const v = await tsVerify("q.tsq");
    assert.equal(v.code, 0, v.stderr + v.stdout);
    assert.match(v.stdout, /Verification: OK/);
    // Another file's query does not verify against this token.
    writeFileSync(file("other.txt"), "other\n");
    const q2 = await sh(
      "openssl",
      ["ts", "-query", "-data", file("other.txt"), "-sha256", "-out", file("q2.tsq")],
      work.dir,
    );
    assert.equal(q2.code, 0, q2.stderr);
    const bad = await tsVerify("q2.tsq");
    assert.notEqual(bad.code, 0);
  });

  it("the sigstore client with tsaServerURL: its bundle carries cairn's token and cairn verifies it", async () => {
    const bundle = (await sign(artifact, {
      fulcioURL: served.url,
      rekorURL: served.url,
      tsaServerURL: served.url,
      identityToken: await token(),
      ...CLIENT,
    })) as Json;
    writeJson("client.sigstore.json", bundle);
    writeJson("client-only-tsa.sigstore.json", onlyTsa(bundle));
    for (const name of ["client.sigstore.json", "client-only-tsa.sigstore.json"]) {
      const r = await verifyBlob(name);
      assert.equal(r.code, 0, r.stderr);
    }
    const out = JSON.parse((await verifyBlob("client-only-tsa.sigstore.json")).stdout);
    assert.deepEqual(
      out.timestamps.map((t: Json) => t.source),
      ["timestamp-authority"],
    );
    sigstoreVerify(onlyTsa(bundle));
  });

  it("cairn sign-blob --timestamp-server-url: @sigstore/verify and cairn accept the token alone, and refuse one over another signature", async () => {
    writeFileSync(file("id-token"), await token());
    const s = await cairn(
      [
        "sign-blob",
        "release.tar.gz",
        "--bundle",
        "cairn.sigstore.json",
        "--fulcio-url",
        served.url,
        "--identity-token",
        "id-token",
        "--rekor-url",
        served.url,
        "--timestamp-server-url",
        `${served.url}/api/v1/timestamp`,
      ],
      work.dir,
    );
    assert.equal(s.code, 0, s.stderr);
    const bundle = onlyTsa(readJson("cairn.sigstore.json"));
    writeJson("cairn-only-tsa.sigstore.json", bundle);
    const ok = await verifyBlob("cairn-only-tsa.sigstore.json");
    assert.equal(ok.code, 0, ok.stderr);
    sigstoreVerify(bundle);

    // A genuine token from the same TSA, over another signature.
    const other = await fetch(`${served.url}/api/v1/timestamp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        artifactHash: createHash("sha256").update("another signature").digest("base64"),
        hashAlgorithm: "sha256",
      }),
    });
    assert.equal(other.status, 201);
    const swapped = structuredClone(bundle);
    swapped.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp = Buffer.from(
      await other.arrayBuffer(),
    ).toString("base64");
    writeJson("swapped.sigstore.json", swapped);
    const refused = await verifyBlob("swapped.sigstore.json");
    assert.equal(refused.code, 10, refused.stderr);
    assert.match(refused.stderr, /ERR_SIGSTORE_TIMESTAMP_INVALID/);
    assert.throws(() => sigstoreVerify(swapped));
  });

  it("cairn attest-blob --timestamp-server-url (the base URL): the DSSE bundle verifies on the token alone", async () => {
    writeFileSync(file("id-token-2"), await token());
    writeFileSync(file("predicate.json"), JSON.stringify({ builder: "cairn test" }));
    const s = await cairn(
      [
        "attest-blob",
        "release.tar.gz",
        "--predicate",
        "predicate.json",
        "--type",
        "https://slsa.dev/provenance/v1",
        "--bundle",
        "attest.sigstore.json",
        "--fulcio-url",
        served.url,
        "--identity-token",
        "id-token-2",
        "--rekor-url",
        served.url,
        "--timestamp-server-url",
        served.url,
      ],
      work.dir,
    );
    assert.equal(s.code, 0, s.stderr);
    writeJson("attest-only-tsa.sigstore.json", onlyTsa(readJson("attest.sigstore.json")));
    const ok = await verifyBlob("attest-only-tsa.sigstore.json", "verify-blob-attestation");
    assert.equal(ok.code, 0, ok.stderr);
    new Verifier(toTrustMaterial(TrustedRoot.fromJSON(readJson("trusted_root.json")))).verify(
      toSignedEntity(bundleFromJSON(readJson("attest-only-tsa.sigstore.json"))),
      { subjectAlternativeName: IDENTITY, extensions: { issuer: issuer.url } },
    );
  });
});

describe("cairn oci sign --form bundle --timestamp-server-url", () => {
  it("the image's bundle referrer carries cairn's token: cairn oci verify accepts the image, and the token alone verifies", async () => {
    await writeSmallImage(await OciLayout.init(file("image")), "timestamped", "v1");
    writeFileSync(file("id-token-3"), await token());
    const s = await cairn(
      ["oci", "sign", "oci:image:v1", "--form", "bundle", "--fulcio-url", served.url].concat([
        "--identity-token",
        "id-token-3",
        "--rekor-url",
        served.url,
        "--timestamp-server-url",
        served.url,
      ]),
      work.dir,
    );
    assert.equal(s.code, 0, s.stderr);
    const policy = ["--certificate-identity", IDENTITY, "--certificate-oidc-issuer", issuer.url];
    const v = await cairn(
      ["oci", "verify", "oci:image:v1", "--trusted-root", "trusted_root.json", ...policy],
      work.dir,
    );
    assert.equal(v.code, 0, v.stderr);
    // The bundle as attached: the referrer manifest's one layer.
    const tree = JSON.parse((await cairn(["oci", "tree", "oci:image:v1", "--json"], work.dir)).stdout);
    const blob = (d: string) => readFileSync(file(join("image", "blobs", ...d.split(":"))));
    const referrer = tree.children.find((c: { kind: string }) => c.kind === "bundle");
    assert.ok(referrer, JSON.stringify(tree));
    const bundle = JSON.parse(blob(JSON.parse(blob(referrer.digest).toString()).layers[0].digest).toString());
    writeJson("image-only-tsa.sigstore.json", onlyTsa(bundle));
    const alone = await cairn(
      ["verify-blob-attestation", tree.digest, "--bundle", "image-only-tsa.sigstore.json"].concat([
        "--trusted-root",
        "trusted_root.json",
        ...policy,
      ]),
      work.dir,
    );
    assert.equal(alone.code, 0, alone.stderr);
  });

  it("--timestamp-server-url with the cosign or referrer forms is a usage error (exit 2)", async () => {
    const r = await cairn(
      ["oci", "sign", "oci:image:v1", "--form", "cosign", "--key", "k", "--timestamp-server-url", served.url],
      work.dir,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    assert.match(r.stderr, /--timestamp-server-url/);
  });
});

describe("cairn tsa and --timestamp-server-url: bad input", () => {
  it("tsa init without a passphrase, or over an existing TSA: exit 2, one line, nothing changed", async () => {
    const none = await cairn(["tsa", "init", "tsa-none"], work.dir, { CAIRN_KEY_PASSPHRASE: "" });
    assert.equal(none.code, 2, none.stderr);
    assert.ok(isOneErrorLine(none.stderr), none.stderr);
    assert.ok(!existsSync(file("tsa-none/tsa.json")));
    const before = readFileSync(file("tsa/tsa.json"));
    const again = await cairn(["tsa", "init", "tsa"], work.dir, { CAIRN_KEY_PASSPHRASE: PASSPHRASE });
    assert.equal(again.code, 2, again.stderr);
    assert.ok(isOneErrorLine(again.stderr), again.stderr);
    assert.deepEqual(readFileSync(file("tsa/tsa.json")), before);
    const policy = await cairn(["tsa", "init", "tsa-bad", "--policy", "not-an-oid"], work.dir, {
      CAIRN_KEY_PASSPHRASE: PASSPHRASE,
    });
    assert.equal(policy.code, 2, policy.stderr);
  });

  it("serve: --tsa-passphrase-file without --tsa is a usage error; a wrong passphrase stops the start", async () => {
    const r = await cairn(["serve", "--data", "data2", "--tsa-passphrase-file", "x"], work.dir);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    const wrong = await cairn(["serve", "--data", "data2", "--dev", "--tsa", "tsa"], work.dir, {
      CAIRN_KEY_PASSPHRASE: "not the passphrase",
    });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /ERR_KEY_PASSPHRASE/);
  });

  it("sign-blob with an unreachable TSA: exit 14, one line, no bundle written", async () => {
    const k = await cairn(["key", "generate", "signing.key", "--type", "ecdsa"], work.dir);
    assert.equal(k.code, 0, k.stderr);
    const r = await cairn(
      [
        "sign-blob",
        "release.tar.gz",
        "--bundle",
        "unstamped.sigstore.json",
        "--key",
        "signing.key",
        "--log-dir",
        "local-log",
        // Port 9 (discard) on the loopback: nothing listens, the connection is refused at once.
        "--timestamp-server-url",
        "http://127.0.0.1:9/api/v1/timestamp",
      ],
      work.dir,
    );
    assert.equal(r.code, 14, r.stderr);
    assert.ok(isOneErrorLine(r.stderr), r.stderr);
    assert.ok(!existsSync(file("unstamped.sigstore.json")));
  });
});
