// SPDX-License-Identifier: Apache-2.0
// Rotation and revocation that reach every verifier (issue 6, section 4), the whole story with the
// built CLI (docs/trust.md): a TUF trust repository served on 127.0.0.1 publishes the Sigstore
// trusted root; a key bundle and a certificate bundle are signed; the CA and the log key are
// rotated (the old ones kept with an end of validity) and the signing key is revoked from an
// effective time; the verifier's TUF client refreshes; what was signed before still verifies,
// what the revoked key signed after is refused (exit 11, ERR_KEY_REVOKED), and what the old CA or
// old log key made after their end is refused (exit 10). Images signed with bundle referrers go
// through the same (`cairn oci verify`). An unreachable repository is exit 14.
// The certificates come from cairn's CA (`cairn ca init`, `cairn ca rotate`), issued through its
// engine (the Fulcio API needs an OIDC issuer: test/interop covers that path).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../../src/core/clock.js";
import { toPem } from "../../src/core/encoding.js";
import { parsePublicKey, spkiDerOf } from "../../src/core/keys.js";
import { CertificateAuthority, CtLog } from "../../src/engines/ca/index.js";
import { loadCaDirectory } from "../../src/runtime/ca-store.js";
import { OciLayout } from "../../src/runtime/oci-layout.js";
import { writeSmallImage } from "../../src/testing/oci-image.js";
import { type CliResult, cairn, tempDir } from "./cli.js";
import { type StaticServer, serveDirectory } from "./static-server.js";

const LOG_URL = "https://log.example.com";
const ISSUER = "https://issuer.example.com";
const iso = (s: number) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

describe("rotation and revocation through the TUF trust repository (docs/trust.md)", () => {
  const t = tempDir("trust-revoke");
  const out = join(t.dir, "out");
  let server: StaticServer;
  let base: string;
  const PASSPHRASE = "a long test passphrase";
  const ok = async (args: string[]): Promise<CliResult> => {
    const r = await cairn(args, t.dir, { CAIRN_KEY_PASSPHRASE: PASSPHRASE });
    assert.equal(r.code, 0, `cairn ${args.join(" ")}\n${r.stderr}`);
    return r;
  };
  const tuf = () => [
    "--trust-metadata-dir",
    "m",
    "--trust-metadata-url",
    `${base}/metadata`,
    "--trust-targets-url",
    `${base}/targets`,
  ];
  const verify = (bundle: string, by: "key" | "cert", trust = tuf()) =>
    cairn(
      [
        "verify-blob",
        "release.tar.gz",
        "--bundle",
        bundle,
        ...trust,
        ...(by === "key"
          ? ["--key", "signer.pub"]
          : ["--certificate-identity", "dev@example.com", "--certificate-oidc-issuer", ISSUER]),
      ],
      t.dir,
    );
  const sign = (bundle: string, log: string, cert?: string) =>
    ok([
      "sign-blob",
      "release.tar.gz",
      "--key",
      "signer",
      ...(cert ? ["--certificate", cert] : []),
      "--bundle",
      bundle,
      "--log-dir",
      log,
      "--log-url",
      LOG_URL,
    ]);
  /** Signs the image in the layout `layout` (tag v1) as a Sigstore bundle referrer. */
  const signImage = (layout: string, log: string, cert: string) =>
    ok(
      [
        "oci",
        "sign",
        `oci:${layout}:v1`,
        "--form",
        "bundle",
        "--key",
        "signer",
        "--certificate",
        cert,
      ].concat(["--log-dir", log, "--log-url", LOG_URL]),
    );
  const verifyImage = (layout: string, trust = tuf()) =>
    cairn(
      ["oci", "verify", `oci:${layout}:v1`, ...trust].concat([
        "--certificate-identity",
        "dev@example.com",
        "--certificate-oidc-issuer",
        ISSUER,
      ]),
      t.dir,
    );
  const integratedTime = (bundle: string): number =>
    Number(
      JSON.parse(readFileSync(join(t.dir, bundle), "utf8")).verificationMaterial.tlogEntries[0]
        .integratedTime,
    );
  const publish = async () => {
    await ok(["tuf", "refresh", "trust-repo"]);
    await ok(["tuf", "publish", "trust-repo", "out"]);
  };
  /** Issues a certificate for signer.pub from cairn's CA in `myca`; writes it and its CA chain. */
  const issue = async (leafFile: string, chainFile: string) => {
    const loaded = await loadCaDirectory(join(t.dir, "myca"), PASSPHRASE);
    const ct = new CtLog(loaded.ctSigner, { append: async () => ({ index: 0 }) }, systemClock);
    const ca = new CertificateAuthority({ issuers: loaded.issuers, clock: systemClock, ctLog: ct });
    const key = parsePublicKey(readFileSync(join(t.dir, "signer.pub"), "utf8")).key;
    const got = await ca.issue(
      { key, spki: spkiDerOf(key), kind: "ecdsa-p256" },
      {
        san: { email: "dev@example.com" },
        spiffe: false,
        challenge: "",
        id: leafFile,
        extensions: { issuer: ISSUER },
      },
    );
    writeFileSync(join(t.dir, leafFile), toPem("CERTIFICATE", got.certificate));
    writeFileSync(
      join(t.dir, chainFile),
      got.chain
        .slice(1)
        .map((c) => toPem("CERTIFICATE", c))
        .join(""),
    );
  };

  before(async () => {
    server = await serveDirectory(out);
    base = server.url;
    writeFileSync(join(t.dir, "release.tar.gz"), "release bytes\n");
    for (const k of ["root", "targets", "online"]) await ok(["key", "generate", k]);
    await ok(["key", "generate", "signer", "--type", "ecdsa"]);
    // cairn's CA: a certificate from its first intermediate, then a rotation and one from the new.
    await ok(["ca", "init", "myca", "--org", "example"]);
    await issue("signer-ca1.crt", "ca1.pem");
    await ok(["ca", "rotate", "myca"]);
    await issue("signer-ca2.crt", "ca2.pem");
    await writeSmallImage(await OciLayout.init(join(t.dir, "img-old")), "old", "v1");
    await writeSmallImage(await OciLayout.init(join(t.dir, "img-new")), "new", "v1");
  });

  after(async () => {
    await server.close();
    t.cleanup();
  });

  it("sign, rotate, revoke, update the clients through TUF, verify old and new signatures", async () => {
    // 1. The trust repository, and the first trusted root: CA one, log one.
    await ok(
      ["tuf", "init", "trust-repo", "--root-key", "root", "--targets-key", "targets"].concat([
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
      ]),
    );
    await signImage("img-old", "log1", "signer-ca1.crt"); // first: the cut below follows it
    await sign("old-key.sigstore.json", "log1");
    await sign("old-cert.sigstore.json", "log1", "signer-ca1.crt");
    const common = ["--ctlog", "https://ct.example.com=myca/ct.pub", "--valid-from", "2020-01-01T00:00:00Z"];
    await ok([
      "trust",
      "root",
      "-o",
      "root-1.json",
      "--log-dir",
      "log1",
      "--ca",
      "https://ca.example.com=ca1.pem",
      ...common,
    ]);
    await ok(["tuf", "trust", "trust-repo", "--trusted-root", "root-1.json"]);
    await publish();
    await ok(["tuf", "client", "--metadata-dir", "m", "init", join("out", "metadata", "1.root.json")]);
    assert.equal((await verify("old-key.sigstore.json", "key")).code, 0);
    assert.equal((await verify("old-cert.sigstore.json", "cert")).code, 0);
    assert.equal((await verifyImage("img-old")).code, 0);

    // 2. Rotate the CA and the log key, revoke the signing key: all from the second after the
    // old signatures' proven time (their logs' integrated times).
    const cut =
      Math.max(integratedTime("old-key.sigstore.json"), integratedTime("old-cert.sigstore.json")) + 1;
    await ok(
      ["trust", "root", "-o", "root-2.json", "--log-dir", "log1", "--log-dir", "log2"].concat(
        ["--ca", "https://ca.example.com=ca1.pem", "--ca", "https://ca.example.com=ca2.pem", ...common],
        ["--valid-until", `log1=${iso(cut)}`, "--valid-until", `ca1.pem=${iso(cut)}`],
      ),
    );
    await ok(["tuf", "trust", "trust-repo", "--trusted-root", "root-2.json"]);
    await ok(
      ["tuf", "trust", "trust-repo", "--revoke", "key=signer.pub", "--effective", iso(cut)].concat([
        "--reason",
        "key compromise",
        "--id",
        "signer-leak",
      ]),
    );
    await publish();

    // 3. After the cut: the revoked key signs again (new CA, new log), and the old CA and the old
    // log key are used after their end. (Waits for the clock to pass the cut: no timed assertion.)
    while (Date.now() < cut * 1000 + 50) await sleep(100);
    await sign("new-key.sigstore.json", "log2");
    await sign("new-cert.sigstore.json", "log2", "signer-ca2.crt");
    await sign("stale-ca.sigstore.json", "log2", "signer-ca1.crt");
    await sign("stale-log.sigstore.json", "log1", "signer-ca2.crt");
    await signImage("img-new", "log2", "signer-ca2.crt");

    // 4. The verifier refreshes through TUF at its next run: old signatures still verify.
    assert.equal((await verify("old-key.sigstore.json", "key")).code, 0);
    assert.equal((await verify("old-cert.sigstore.json", "cert")).code, 0);
    // What the revoked key signed after the effective time: policy refusal naming the revocation.
    for (const [b, by] of [
      ["new-key.sigstore.json", "key"],
      ["new-cert.sigstore.json", "cert"],
    ] as const) {
      const r = await verify(b, by);
      assert.equal(r.code, 11, r.stderr);
      assert.match(r.stderr, /ERR_KEY_REVOKED/);
    }
    // The same for images: `cairn oci verify` takes the trust repository's revocations too.
    const oldImage = await verifyImage("img-old");
    assert.equal(oldImage.code, 0, oldImage.stderr);
    const newImage = await verifyImage("img-new");
    assert.equal(newImage.code, 11, newImage.stderr);
    assert.match(newImage.stderr, /ERR_KEY_REVOKED/);
    assert.match(newImage.stderr, /signer-leak/);
    // The old CA and the old log key after their end: verification failures.
    const staleCa = await verify("stale-ca.sigstore.json", "cert");
    assert.equal(staleCa.code, 10, staleCa.stderr);
    assert.match(staleCa.stderr, /ERR_SIGSTORE_CERTIFICATE_INVALID/);
    const staleLog = await verify("stale-log.sigstore.json", "cert");
    assert.equal(staleLog.code, 10, staleLog.stderr);
    assert.match(staleLog.stderr, /ERR_SIGSTORE_TLOG_INVALID/);

    // 5. Without the revocation list (a plain trusted root file), the new bundle would pass: the
    // refusal above came from the published revocation.
    assert.equal((await verify("new-cert.sigstore.json", "cert", ["--trusted-root", "root-2.json"])).code, 0);
    assert.equal((await verifyImage("img-new", ["--trusted-root", "root-2.json"])).code, 0);
  });

  it("a layout key rotated, then revoked: cairn verify follows each update (unsigned by a trusted key: exit 10; revoked: exit 11)", async () => {
    await ok(["key", "generate", "owner"]);
    await ok(["key", "generate", "owner2"]);
    writeFileSync(join(t.dir, "layout.yaml"), "expires: 30d\nsteps: []\n");
    await ok(["layout", "create", "layout.yaml", "--key", "owner", "--output", "root.layout"]);
    const layoutKeys = async (...names: string[]) => {
      await ok(
        ["tuf", "trust", "trust-repo", "--kind", "layout-key"].concat(
          names.flatMap((n) => ["--item", `${n}=${n}.pub`]),
          ["--valid-until", "2099-01-01"],
        ),
      );
      await publish();
    };
    await layoutKeys("owner");
    const verifyLayout = (layout: string) => cairn(["verify", "-l", layout, ...tuf()], t.dir);
    assert.equal((await verifyLayout("root.layout")).code, 0);
    // Rotation, with an overlap. In-toto's rule holds for the published keys as for -k: every
    // trusted layout key must have signed the layout. So while both are trusted, the layout in use
    // is signed by both, and the one signed by the old key alone is refused.
    await layoutKeys("owner", "owner2");
    const single = await verifyLayout("root.layout");
    assert.equal(single.code, 10, single.stderr);
    await ok(["layout", "sign", "root.layout", "--key", "owner2", "--output", "both.layout"]);
    assert.equal((await verifyLayout("both.layout")).code, 0);
    // The rotation ends: only the new key is trusted; the layout signed during the overlap still
    // verifies (owner's signature is no longer needed), and so does one signed by owner2 alone.
    await layoutKeys("owner2");
    await ok(["layout", "create", "layout.yaml", "--key", "owner2", "--output", "root-2.layout"]);
    assert.equal((await verifyLayout("both.layout")).code, 0);
    assert.equal((await verifyLayout("root-2.layout")).code, 0);
    const dropped = await verifyLayout("root.layout");
    assert.equal(dropped.code, 10, dropped.stderr);
    // The new key is revoked: refused as a policy decision, naming the revocation.
    const effective = iso(Math.floor(Date.now() / 1000) - 60);
    await ok(
      ["tuf", "trust", "trust-repo", "--revoke", "key=owner2.pub", "--effective", effective].concat([
        "--reason",
        "laptop stolen",
        "--id",
        "owner2-leak",
      ]),
    );
    await publish();
    const r = await verifyLayout("root-2.layout");
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /ERR_KEY_REVOKED/);
    assert.match(r.stderr, /owner2-leak/);
  });

  it("an unreachable trust repository is a transport error (exit 14), never a pass", async () => {
    const r = await cairn(
      [
        "verify-blob",
        "release.tar.gz",
        "--bundle",
        "old-key.sigstore.json",
        "--key",
        "signer.pub",
        "--trust-metadata-dir",
        "m",
        "--trust-metadata-url",
        "http://127.0.0.1:9/metadata",
        "--trust-targets-url",
        "http://127.0.0.1:9/targets",
      ],
      t.dir,
    );
    assert.equal(r.code, 14, r.stderr);
  });
});
