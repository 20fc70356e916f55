// SPDX-License-Identifier: Apache-2.0
// The Sigstore trusted root and the revocation list through cairn's TUF repository (issue 6,
// section 4): published as targets, fetched by a verifier's client at its next update, appended
// to (never silently replaced); an unreachable, expired or rolled-back repository is refused
// (never a pass); layout keys named by a revocation effective by now are refused.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { toPem } from "../../core/encoding.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { exportKeyFiles, generateKey, type PrivateKey } from "../../core/keys.js";
import { keySigner, type Signer } from "../../core/signer.js";
import type { Revocation } from "../../formats/revocation/index.js";
import { serializeTrustedRoot } from "../../formats/sigstore/trusted-root.js";
import { ecPair } from "../../testing/sigstore-ca.js";
import { AREA_BASE, areaFetcher, MemoryArea } from "../../testing/tuf-area.js";
import { MemoryStore } from "../../testing/tuf-repo.js";
import { buildTrustedRoot } from "../sigstore/trust-root.js";
import { initTrustedRoot, TufClient } from "./client.js";
import type { Fetcher } from "./ports.js";
import { TufRepository } from "./repository.js";
import {
  fetchLayoutKeys,
  fetchSigstoreTrust,
  publishRevocations,
  publishTrust,
  publishTrustedRoot,
  revokedSubjectOf,
  TRUSTED_ROOT_TARGET,
} from "./trust.js";

const key = () => generateKey("ed25519");
const sg = (k: PrivateKey): Signer => keySigner(k);
const DAY = 86400_000;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);

function trustedRootBytes(): Uint8Array {
  const root = buildTrustedRoot({
    tlogs: [{ baseUrl: "https://log.test", publicKey: ecPair().publicKey, validity: { start: new Date(0) } }],
  });
  return Buffer.from(serializeTrustedRoot(root));
}

const revocation = (id: string, o: Partial<Revocation> = {}): Revocation => ({
  id,
  reason: "key compromise",
  effective: new Date(now.getTime() - DAY),
  scope: "signed-after",
  subject: { kind: "spki_sha256", sha256: "ab".repeat(32) },
  ...o,
});

async function setup() {
  const k = { root: key(), targets: key(), online: key() };
  const repo = await TufRepository.init(new MemoryArea(), {
    keys: {
      root: [k.root.public],
      targets: [k.targets.public],
      snapshot: [k.online.public],
      timestamp: [k.online.public],
    },
    signers: [sg(k.root), sg(k.targets), sg(k.online)],
  });
  const served = { area: new MemoryArea() };
  const out = served.area;
  const publish = async () => {
    await repo.refresh([sg(k.online)]);
    await repo.publish(out);
  };
  await publish();
  const store = new MemoryStore();
  await initTrustedRoot(store, (await out.read("metadata/1.root.json"))!);
  const client = (fetcher: Fetcher = areaFetcher(() => served.area), clock = { now: () => new Date() }) =>
    new TufClient({
      metadataUrl: `${AREA_BASE}/metadata`,
      targetBaseUrl: `${AREA_BASE}/targets`,
      store,
      fetcher,
      clock,
    });
  return { k, repo, out, served, publish, client };
}

async function rejectsWith(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe("trusted root and revocations through TUF", () => {
  it("the verifier gets the trusted root and every revocation published since its last update", async () => {
    const { k, repo, publish, client } = await setup();
    await rejectsWith(fetchSigstoreTrust(client()), "ERR_TUF_TARGET_NOT_FOUND");
    await publishTrustedRoot(repo, trustedRootBytes(), [sg(k.targets)]);
    await publish();
    const first = await fetchSigstoreTrust(client());
    assert.equal(first.trustedRoot.tlogs.length, 1);
    assert.deepEqual(first.revocations, { revocations: [] });
    await publishRevocations(repo, [revocation("r1")], [sg(k.targets)]);
    await publishRevocations(repo, [revocation("r2", { scope: "all" })], [sg(k.targets)]);
    await publish();
    const second = await fetchSigstoreTrust(client());
    assert.deepEqual(
      second.revocations.revocations.map((r) => [r.id, r.scope]),
      [
        ["r1", "signed-after"],
        ["r2", "all"],
      ],
    );
  });

  it("refuses to publish a broken trusted root or a revocation id twice", async () => {
    const { k, repo } = await setup();
    await rejectsWith(
      publishTrustedRoot(repo, Buffer.from('{"mediaType":"x"}'), [sg(k.targets)]),
      "ERR_SIGSTORE_TRUSTED_ROOT_INVALID",
    );
    assert.equal(await repo.targetContent("targets", TRUSTED_ROOT_TARGET), undefined);
    await publishRevocations(repo, [revocation("r1")], [sg(k.targets)]);
    await rejectsWith(publishRevocations(repo, [revocation("r1")], [sg(k.targets)]), "ERR_USAGE");
  });

  it("an unreachable repository is a transport error, never a pass", async () => {
    const { k, repo, publish, client } = await setup();
    await publishTrustedRoot(repo, trustedRootBytes(), [sg(k.targets)]);
    await publish();
    const down: Fetcher = {
      fetch: async () => {
        throw cairnError("ERR_IO", "connection refused");
      },
    };
    await rejectsWith(fetchSigstoreTrust(client(down)), "ERR_IO");
  });

  it("an expired or rolled-back trust repository is refused", async () => {
    const { k, repo, publish, client, served } = await setup();
    await publishTrustedRoot(repo, trustedRootBytes(), [sg(k.targets)]);
    await publish();
    const old = served.area.clone();
    await fetchSigstoreTrust(client());
    // Freeze: the timestamp (1 day) has expired by a verifier's clock two days on.
    const twoDaysOn = { now: () => new Date(Date.now() + 2 * DAY) };
    await rejectsWith(fetchSigstoreTrust(client(undefined, twoDaysOn)), "ERR_TUF_EXPIRED");
    // Rollback: a mirror serving an older set after the verifier saw a newer one.
    await publishRevocations(repo, [revocation("r1")], [sg(k.targets)]);
    await publish();
    await fetchSigstoreTrust(client());
    served.area = old;
    await rejectsWith(fetchSigstoreTrust(client()), "ERR_TUF_ROLLBACK");
  });

  it("a revoked layout key is refused once its revocation is effective, listed or only signing", async () => {
    const { k, repo, publish, client } = await setup();
    const owner = key();
    const other = key();
    await publishTrust(
      repo,
      "layout-key",
      [
        {
          name: "owner",
          notAfter: new Date(now.getTime() + 365 * DAY),
          key: exportKeyFiles(owner).publicText,
        },
      ],
      [sg(k.targets)],
    );
    await publish();
    assert.equal((await fetchLayoutKeys(client(), new Date())).length, 1);
    // Revoked from tomorrow: not yet.
    await publishRevocations(
      repo,
      [
        revocation("later", {
          effective: new Date(now.getTime() + DAY),
          subject: { kind: "keyid", keyid: owner.public.keyid },
        }),
        revocation("other", { subject: { kind: "keyid", keyid: other.public.keyid } }),
      ],
      [sg(k.targets)],
    );
    await publish();
    assert.equal((await fetchLayoutKeys(client(), new Date())).length, 1);
    // A layout carrying a signature by the revoked key (no proven time: refused).
    await rejectsWith(fetchLayoutKeys(client(), new Date(), [other.public.keyid]), "ERR_KEY_REVOKED");
    // Tomorrow, the owner key's revocation is in effect.
    const tomorrow = new Date(Date.now() + DAY + 60_000);
    await rejectsWith(fetchLayoutKeys(client(), tomorrow), "ERR_KEY_REVOKED");
  });
});

describe("revocation subjects from the command line's KIND=VALUE", () => {
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const codeOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof CairnError, String(e));
      return e.code;
    }
    return "none";
  };

  it("names a key by its SPKI hash (PEM or securesystemslib JSON alike), a certificate by its DER hash", () => {
    const k = generateKey("ecdsa");
    const spki = sha(k.public.key.export({ type: "spki", format: "der" }));
    const files = exportKeyFiles(k);
    for (const text of [files.publicText, k.public.key.export({ type: "spki", format: "pem" }) as string]) {
      assert.deepEqual(revokedSubjectOf("key", "k.pub", { material: Buffer.from(text) }), {
        kind: "spki_sha256",
        sha256: spki,
      });
    }
    const der = Buffer.from("30030201", "hex");
    const want = { kind: "certificate_sha256", sha256: sha(der) };
    assert.deepEqual(
      revokedSubjectOf("certificate", "c.pem", { material: Buffer.from(toPem("CERTIFICATE", der)) }),
      want,
    );
    assert.deepEqual(revokedSubjectOf("certificate", "c.der", { material: der }), want);
    assert.deepEqual(revokedSubjectOf("identity", "dev@example.com", { issuer: "https://i" }), {
      kind: "identity",
      san: "dev@example.com",
      issuer: "https://i",
    });
    assert.deepEqual(revokedSubjectOf("keyid", "AB".repeat(32)), { kind: "keyid", keyid: "ab".repeat(32) });
  });

  it("refuses unknown kinds and misplaced issuers (usage) and bad values (the list's own checks)", () => {
    assert.equal(
      codeOf(() => revokedSubjectOf("password", "x")),
      "ERR_USAGE",
    );
    assert.equal(
      codeOf(() => revokedSubjectOf("keyid", "ab".repeat(32), { issuer: "https://i" })),
      "ERR_USAGE",
    );
    assert.equal(
      codeOf(() => revokedSubjectOf("keyid", "abc")),
      "ERR_REVOCATION_INVALID",
    );
    assert.equal(
      codeOf(() => revokedSubjectOf("spiffe-id", "https://x")),
      "ERR_REVOCATION_INVALID",
    );
    assert.equal(
      codeOf(() => revokedSubjectOf("spiffe-id-regexp", "(")),
      "ERR_REVOCATION_INVALID",
    );
    assert.equal(
      codeOf(() => revokedSubjectOf("key", "k.pub", { material: Buffer.from("junk") })),
      "ERR_KEY_INVALID",
    );
  });
});
