// SPDX-License-Identifier: Apache-2.0
// RFC 3161 timestamps issued per second by cairn's TSA, on this machine:
//   node --import tsx bench/tsa-issue.ts [--count N] [--concurrency C]
// 1. engine: TimestampAuthority.timestamp (TSTInfo, signed attributes, one ECDSA P-256 signature);
// 2. http: POST /api/v1/timestamp through cairn's server (buildServer + tsaRoutes) on 127.0.0.1,
//    DER timestamp-query and the sigstore client's JSON form, one request at a time and C at once.
// Each line gives wall-clock tokens/s and this process's CPU time per token (process.cpuUsage:
// server and client share the process, so CPU per token over HTTP includes the client's fetch).
// There is no reference figure: sigstore/timestamp-authority is a Go service, not in this run.
// Standalone; never a test.
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { encodeTimestampRequest } from "../src/formats/sigstore/index.js";
import { buildServer } from "../src/services/server.js";
import { tsaRoutes } from "../src/services/tsa-routes.js";
import { makeTsaKit, timestampRequestFor } from "../src/testing/tsa-kit.js";

const { values } = parseArgs({
  options: { count: { type: "string", default: "2000" }, concurrency: { type: "string", default: "8" } },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);

const kit = await makeTsaKit();
const requests = Array.from({ length: count }, (_, i) => timestampRequestFor(Buffer.from(`signature ${i}`)));

async function rate(label: string, run: (i: number) => Promise<unknown>, parallel = 1): Promise<void> {
  for (let i = 0; i < 50; i++) await run(i % count); // warm up (JIT, connections)
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) await run(i);
    }),
  );
  const s = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerToken = (cpu.user + cpu.system) / 1000 / count;
  process.stdout.write(
    `${label.padEnd(22)} ${(count / s).toFixed(0).padStart(6)} timestamps/s  ${cpuMsPerToken.toFixed(3)} ms CPU/timestamp (${count} in ${s.toFixed(2)} s)\n`,
  );
}

await rate("engine", (i) => kit.tsa.timestamp(requests[i]!));

const app = await buildServer({
  plugins: [tsaRoutes(kit.tsa, { rateLimit: { burst: 1e9, perMinute: 1e9 } })],
  auth: { mode: "bearer", tokenHashes: [] },
  logger: false,
});
const base = await app.listen({ host: "127.0.0.1", port: 0 });
const der = requests.map((r) => encodeTimestampRequest(r));
const json = requests.map((r) =>
  JSON.stringify({ artifactHash: r.hashedMessage.toString("base64"), hashAlgorithm: "sha256" }),
);
const post = async (body: Uint8Array | string, type: string) => {
  const res = await fetch(`${base}/api/v1/timestamp`, {
    method: "POST",
    headers: { "content-type": type },
    body,
  });
  if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
};
await rate("http der", (i) => post(der[i]!, "application/timestamp-query"));
await rate("http json", (i) => post(json[i]!, "application/json"));
await rate(`http der x${concurrency}`, (i) => post(der[i]!, "application/timestamp-query"), concurrency);
await app.close();
