// SPDX-License-Identifier: Apache-2.0
// `cairn ca init | rotate | show` in process (the worked example of docs/ca.md), and the CA
// directory it writes loaded into a CA that issues, before and after rotations.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { systemClock } from "../../core/clock.js";
import { spkiDerOf } from "../../core/keys.js";
import { CertificateAuthority, CtLog, x509 } from "../../engines/ca/index.js";
import { caServiceFrom, loadCaDirectory } from "../../runtime/ca-store.js";
import { clientKey, makeCertificateLog, proveChallenge } from "../../testing/ca-kit.js";
import { captureIO } from "../../testing/cli-io.js";
import { startTestIssuer } from "../../testing/oidc-issuer.js";
import { main } from "../main.js";

const work = mkdtempSync(join(tmpdir(), "cairn-ca-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function cairn(args: string[], passphrase?: string) {
  const c = captureIO({ ci: true, cwd: work, ...(passphrase ? { keyPassphrase: passphrase } : {}) });
  const code = await main(args, c.io);
  return { code, out: c.stdout(), err: c.stderr() };
}

async function issues(dir: string, passphrase: string) {
  const loaded = await loadCaDirectory(dir, passphrase);
  const ct = new CtLog(loaded.ctSigner, { append: async () => ({ index: 0 }) }, systemClock);
  const ca = new CertificateAuthority({ issuers: loaded.issuers, clock: systemClock, ctLog: ct });
  const key = clientKey();
  const got = await ca.issue(
    { key: key.publicKey, spki: spkiDerOf(key.publicKey), kind: "ecdsa-p256" },
    { san: { email: "dev@example.com" }, spiffe: false, challenge: "", id: "t", extensions: {} },
  );
  return { ca, got };
}

describe("cairn ca", () => {
  it("init writes a CA with encrypted keys; rotate adds intermediates and roots; the old stay trusted", async () => {
    const r = await cairn(["ca", "init", "myca", "--org", "example", "--json"], "s3cret");
    assert.equal(r.code, 0, r.err);
    const desc = JSON.parse(r.out);
    assert.equal(desc.chains.length, 1);
    assert.match(desc.ct.logId, /^[A-Za-z0-9+/]{43}=$/);
    const dir = join(work, "myca");
    const keyText = readFileSync(join(dir, "intermediate-1.key"), "utf8");
    assert.match(keyText, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(statSync(join(dir, "intermediate-1.key")).mode & 0o777, 0o600);
    const first = await issues(dir, "s3cret");
    const firstIssuer = first.got.chain[1]!;

    assert.equal((await cairn(["ca", "rotate", "myca"], "s3cret")).code, 0);
    const second = await issues(dir, "s3cret");
    assert.ok(!second.got.chain[1]!.equals(firstIssuer), "the new intermediate issues");
    assert.equal(second.ca.trustBundle().length, 2, "the old intermediate stays in the bundle");
    // A certificate from before the rotation still chains to a trusted intermediate.
    const bundle = second.ca.trustBundle().map((c) => x509(c[0]!));
    assert.ok(bundle.some((i) => x509(first.got.certificate).verify(i.publicKey)));

    assert.equal((await cairn(["ca", "rotate", "myca", "--root"], "s3cret")).code, 0);
    const third = await issues(dir, "s3cret");
    assert.ok(!third.got.chain[2]!.equals(first.got.chain[2]!), "a new root");
    assert.equal(third.ca.trustBundle().length, 3);
    const shown = await cairn(["ca", "show", "myca"]);
    assert.equal(shown.code, 0);
    assert.equal(shown.out.trim().split("\n").length, 4);
  });

  it("refuses to write unencrypted CA keys (exit 2), and a wrong passphrase (ERR_KEY_PASSPHRASE)", async () => {
    const r = await cairn(["ca", "init", "plain"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /ERR_USAGE/);
    assert.equal((await cairn(["ca", "init", "enc"], "right")).code, 0);
    const bad = await cairn(["ca", "rotate", "enc"], "wrong");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^cairn: ERR_KEY_PASSPHRASE/);
  });

  it("a CA directory composes into the request workflow a server runs (caServiceFrom)", async () => {
    assert.equal((await cairn(["ca", "init", "served"], "pw")).code, 0);
    const issuer = await startTestIssuer();
    try {
      const log = await makeCertificateLog();
      const service = caServiceFrom(await loadCaDirectory(join(work, "served"), "pw"), {
        issuers: [{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }],
        log: log.port,
      });
      const key = clientKey();
      const got = await service.createSigningCertificate({
        credentials: {
          oidcIdentityToken: await issuer.mint({ sub: "u", email: "a@example.com", email_verified: true }),
        },
        publicKeyRequest: {
          publicKey: { content: key.pem },
          proofOfPossession: proveChallenge(key.privateKey, "a@example.com"),
        },
      });
      assert.equal(x509(got.certificate).subjectAltName, "email:a@example.com");
      assert.equal(log.sequencer.size, 1);
    } finally {
      await issuer.close();
    }
  });
});
