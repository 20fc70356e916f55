// SPDX-License-Identifier: Apache-2.0
// Certificates issued per second by cairn's CA (issue 6, section 6), on this machine:
//   node --import tsx bench/ca-issue.ts [--count N]
// 1. engine: CertificateAuthority.issue with the CT log recording into a real in-memory
//    transparency log (precertificate, SCT, final certificate: three ECDSA signatures each);
// 2. service: the whole request workflow (token verification with a warm JWKS cache, proof of
//    possession, rate limit and replay guard, issuance), as the Fulcio API runs it;
// 3. HTTP: the same through Fulcio's v2 API on 127.0.0.1, one request at a time.
// There is no reference figure: Fulcio is a Go service, not in this run. Standalone; never a test.
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { spkiDerOf } from "../src/core/keys.js";
import { fulcioRoutes } from "../src/services/fulcio-routes.js";
import { clientKey, makeTestCa, proveChallenge } from "../src/testing/ca-kit.js";
import { startTestIssuer } from "../src/testing/oidc-issuer.js";

const { values } = parseArgs({ options: { count: { type: "string", default: "300" } } });
const count = Number(values.count);

const issuer = await startTestIssuer();
const t = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }], {
  rateLimit: { burst: 1e9, perMinute: 1e9 },
});
const claims = { sub: "u", email: "bench@example.com", email_verified: true };
const keys = Array.from({ length: count }, () => clientKey());
const tokens = await Promise.all(keys.map(() => issuer.mint(claims)));
const request = (i: number) => ({
  credentials: { oidcIdentityToken: tokens[i]! },
  publicKeyRequest: {
    publicKey: { content: keys[i]!.pem },
    proofOfPossession: proveChallenge(keys[i]!.privateKey, "bench@example.com"),
  },
});

async function rate(label: string, run: (i: number) => Promise<unknown>): Promise<void> {
  await run(0); // warm up (JWKS cache, JIT)
  const start = performance.now();
  for (let i = 1; i < count; i++) await run(i);
  const s = (performance.now() - start) / 1000;
  process.stdout.write(
    `${label.padEnd(10)} ${((count - 1) / s).toFixed(0).padStart(6)} certificates/s (${count - 1} in ${s.toFixed(2)} s)\n`,
  );
}

const principal = {
  san: { email: "bench@example.com" },
  spiffe: false,
  challenge: "",
  id: "b",
  extensions: { issuer: issuer.url },
};
await rate("engine", (i) =>
  t.ca.issue({ key: keys[i]!.publicKey, spki: spkiDerOf(keys[i]!.publicKey), kind: "ecdsa-p256" }, principal),
);
const fresh = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }], {
  rateLimit: { burst: 1e9, perMinute: 1e9 },
});
await rate("service", (i) => fresh.service.createSigningCertificate(request(i)));
const overHttp = await makeTestCa([{ issuerUrl: issuer.url, audience: "sigstore", type: "email" }], {
  rateLimit: { burst: 1e9, perMinute: 1e9 },
});
const app = Fastify({ logger: false });
await app.register(fulcioRoutes, { service: overHttp.service });
const base = await app.listen({ host: "127.0.0.1", port: 0 });
await rate("http", async (i) => {
  const res = await fetch(`${base}/api/v2/signingCert`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request(i)),
  });
  if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
});
await app.close();
await issuer.close();
