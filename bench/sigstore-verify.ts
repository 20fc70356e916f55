// SPDX-License-Identifier: Apache-2.0
// Sigstore bundle verifications per second (issue 6, section 6): cairn's verifyBundle against
// @sigstore/verify 3 (sigstore-js's verifier, offline: TrustedRoot.fromJSON -> toTrustMaterial ->
// new Verifier(tm).verify(toSignedEntity(bundle, artifact), policy)) on the SAME bundles in the
// same process, plus the certificates cairn's CA engine issues per second:
//   node --import tsx bench/sigstore-verify.ts [--bundles N] [--rounds R] [--quick]
// Bundles are made at bench time with cairn's test kit (src/testing/sigstore-ca.ts: a CA with an
// embedded-SCT CT log, cairn's log behind the Rekor-style port) and cairn's signing functions:
// certificate bundles (message signature, DSSE attestation) and public-key bundles. Both
// verifiers must accept every bundle before anything is timed. Each timed op starts from the
// bundle's JSON (each side parses it with its own parser); trust material is prepared once per
// side. Rounds alternate which side goes first; medians of wall and CPU time (process.cpuUsage)
// are reported, since other work on the machine inflates wall time. Standalone; never a test.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot as JsTrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import { generateKey, spkiDerOf } from "../src/core/keys.js";
import { keySigner } from "../src/core/signer.js";
import {
  type BundleVerifyOptions,
  type IdentityPolicy,
  signBlob,
  signDsse,
  verifyBundle,
} from "../src/engines/sigstore/index.js";
import { bundleToJson, parseBundle, trustedRootToJson } from "../src/formats/sigstore/index.js";
import { clientKey, makeTestCa } from "../src/testing/ca-kit.js";
import { sigstoreWorld, TEST_ISSUER } from "../src/testing/sigstore-ca.js";

const { values } = parseArgs({
  options: {
    bundles: { type: "string" },
    rounds: { type: "string" },
    quick: { type: "boolean", default: false },
  },
});
const N = Number(values.bundles ?? (values.quick ? 8 : 32)); // distinct bundles per kind
const ROUNDS = Number(values.rounds ?? (values.quick ? 3 : 7));
const PASSES = values.quick ? 2 : 8; // passes over the N bundles per timed round

// biome-ignore lint/suspicious/noExplicitAny: JSON handed to sigstore-js's own parsers
type Json = any;
const toJson = (x: unknown): Json => JSON.parse(JSON.stringify(x));

// --- the bundles ---
const w = await sigstoreWorld();
const artifact = Buffer.from("cairn bench artifact: the same bytes for every bundle\n");
const sha256 = createHash("sha256").update(artifact).digest("hex");
const statement = Buffer.from(
  JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "artifact", digest: { sha256 } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: { buildType: "https://cairn.dev/bench/v1" } },
  }),
);
const policy: IdentityPolicy = { identity: { exact: "dev@cairn.test" }, issuer: { exact: TEST_ISSUER } };
const jsPolicy = { subjectAlternativeName: "dev@cairn.test", extensions: { issuer: TEST_ISSUER } };

interface Case {
  json: Json;
  cairn: Omit<BundleVerifyOptions, "trustedRoot">;
  /** sigstore-js: the artifact (undefined for DSSE), the policy, and the keys for key bundles. */
  data: Buffer | undefined;
  jsPolicy: typeof jsPolicy | undefined;
  keyHint?: string;
}

const kinds: Record<string, Case[]> = {
  "certificate/message": [],
  "certificate/dsse": [],
  "key/message": [],
};
const jsKeys: Record<string, Json> = {};
for (let i = 0; i < N; i++) {
  const id = w.identity();
  const who = { signer: id.signer, certificate: id.certificate };
  kinds["certificate/message"]!.push({
    json: toJson(bundleToJson(await signBlob(artifact, who, w.log))),
    cairn: { artifact: { bytes: artifact }, policy },
    data: artifact,
    jsPolicy,
  });
  kinds["certificate/dsse"]!.push({
    json: toJson(bundleToJson(await signDsse("application/vnd.in-toto+json", statement, who, w.log))),
    cairn: { artifact: { bytes: artifact }, policy },
    data: undefined,
    jsPolicy,
  });
  const key = generateKey("ecdsa");
  jsKeys[key.public.keyid] = {
    rawBytes: key.public.key.export({ type: "spki", format: "der" }),
    keyDetails: "PKIX_ECDSA_P256_SHA_256",
  };
  kinds["key/message"]!.push({
    json: toJson(bundleToJson(await signBlob(artifact, { signer: keySigner(key) }, w.log))),
    cairn: { artifact: { bytes: artifact }, publicKey: key.public.key },
    data: artifact,
    jsPolicy: undefined,
    keyHint: key.public.keyid,
  });
}

// --- the two verifiers, trust material prepared once each ---
const trustedRoot = w.trustedRoot;
const jsCertTm = toTrustMaterial(JsTrustedRoot.fromJSON(toJson(trustedRootToJson(trustedRoot))));
const jsKeyTm = toTrustMaterial(JsTrustedRoot.fromJSON(toJson(trustedRootToJson(trustedRoot))), jsKeys);
const jsCert = new Verifier(jsCertTm);
const jsKey = new Verifier(jsKeyTm);

const runCairn = (c: Case) => verifyBundle(parseBundle(c.json), { trustedRoot, ...c.cairn });
const runJs = (c: Case) =>
  (c.keyHint ? jsKey : jsCert).verify(toSignedEntity(bundleFromJSON(c.json), c.data), c.jsPolicy);

// Both must accept every bundle before anything is timed.
for (const [kind, cases] of Object.entries(kinds)) {
  for (const [i, c] of cases.entries()) {
    assert.doesNotThrow(() => runCairn(c), `cairn refused ${kind} bundle ${i}`);
    assert.doesNotThrow(() => runJs(c), `sigstore-js refused ${kind} bundle ${i}`);
  }
}

interface Sample {
  wall: number;
  cpu: number;
}

function timeRound(cases: Case[], run: (c: Case) => unknown): Sample {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let p = 0; p < PASSES; p++) for (const c of cases) run(c);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Figures {
  opsWall: number;
  opsCpu: number;
}

function rate(samples: Sample[], ops: number): Figures {
  return {
    opsWall: ops / median(samples.map((s) => s.wall)),
    opsCpu: ops / median(samples.map((s) => s.cpu)),
  };
}

const log = (s: string) => process.stdout.write(`${s}\n`);
const load = loadavg()[0]!;
log(
  `node ${process.version}, ${cpus().length} cores, load average ${load.toFixed(1)}; ` +
    `${N} bundles per kind, ${PASSES} passes per round, ${ROUNDS} rounds (+1 warm-up), medians`,
);
log("bundles/s: wall (CPU) | speed x = cairn / sigstore-js; above 1, cairn is faster");
log(
  `${"kind".padEnd(20)} ${"cairn/s".padStart(16)} ${"sigstore-js/s".padStart(16)} ${"x wall".padStart(7)} ${"x CPU".padStart(7)}`,
);
const fmt = (f: Figures) => `${f.opsWall.toFixed(0)} (${f.opsCpu.toFixed(0)})`.padStart(16);
for (const [kind, cases] of Object.entries(kinds)) {
  timeRound(cases, runCairn); // warm-up: JIT and caches on both sides
  timeRound(cases, runJs);
  const c: Sample[] = [];
  const j: Sample[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first, so neither always runs right after a collection of the other's garbage.
    if (r % 2) {
      c.push(timeRound(cases, runCairn));
      j.push(timeRound(cases, runJs));
    } else {
      j.push(timeRound(cases, runJs));
      c.push(timeRound(cases, runCairn));
    }
  }
  const ops = cases.length * PASSES;
  const cf = rate(c, ops);
  const jf = rate(j, ops);
  log(
    `${kind.padEnd(20)} ${fmt(cf)} ${fmt(jf)} ${(cf.opsWall / jf.opsWall).toFixed(2).padStart(7)} ${(cf.opsCpu / jf.opsCpu).toFixed(2).padStart(7)}`,
  );
}
await w.close();

// --- certificates issued per second: cairn's CA engine (no reference in this run: Fulcio is a Go
// service). bench/ca-issue.ts also times the request workflow and the Fulcio v2 API over HTTP.
const count = values.quick ? 20 : 100;
const ca = await makeTestCa([{ issuerUrl: TEST_ISSUER, audience: "sigstore", type: "email" }], {
  rateLimit: { burst: 1e9, perMinute: 1e9 },
});
const principal = {
  san: { email: "bench@example.com" },
  spiffe: false,
  challenge: "",
  id: "b",
  extensions: { issuer: TEST_ISSUER },
};
const keys = Array.from({ length: count * (ROUNDS + 1) }, () => clientKey());
let next = 0;
const issueRound = async (): Promise<Sample> => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const k = keys[next++]!;
    await ca.ca.issue({ key: k.publicKey, spki: spkiDerOf(k.publicKey), kind: "ecdsa-p256" }, principal);
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
};
await issueRound(); // warm-up
const issued: Sample[] = [];
for (let r = 0; r < ROUNDS; r++) issued.push(await issueRound());
const ir = rate(issued, count);
log(
  `${"CA issue (engine)".padEnd(20)} ${fmt(ir)} certificates/s (precertificate, CT log append and SCT, certificate)`,
);
