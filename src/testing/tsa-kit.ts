// SPDX-License-Identifier: Apache-2.0
// No tests here: a real time-stamp authority (src/engines/tsa) for tests: a root and a signing
// certificate made by the engine, and the TimestampAuthority issuing with them at a given time.
import { createHash } from "node:crypto";
import { type Clock, fixedClock } from "../core/clock.js";
import { generateKey } from "../core/keys.js";
import { keySigner, type Signer } from "../core/signer.js";
import { createRootCertificate } from "../engines/ca/index.js";
import { createTsaCertificate, TimestampAuthority } from "../engines/tsa/index.js";
import type { TimestampRequest } from "../formats/sigstore/index.js";

export const TEST_TSA_POLICY = "1.3.6.1.4.1.57264.2";

export interface TestTsaKit {
  tsa: TimestampAuthority;
  root: Buffer;
  leaf: Buffer;
  rootSigner: Signer;
  signer: Signer;
  /** How many times the TSA key signed (a refused request signs nothing). */
  signatures(): number;
}

/**
 * A TSA whose root and signing certificate are valid from 2026-01-01 (root to 2036, signing
 * certificate to 2031), issuing at `at` (default: the system clock) with a P-256 or P-384 key.
 */
export async function makeTsaKit(
  o: { curve?: "P-256" | "P-384"; at?: Date; clock?: Clock } = {},
): Promise<TestTsaKit> {
  const subject = { organization: "cairn test", commonName: "cairn TSA" };
  const rootSigner = keySigner(generateKey("ecdsa", { curve: "P-384" }));
  const root = await createRootCertificate({
    signer: rootSigner,
    subject: { ...subject, commonName: "cairn TSA root" },
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2036-01-01T00:00:00Z"),
  });
  const key = keySigner(generateKey("ecdsa", { curve: o.curve ?? "P-256" }));
  let n = 0;
  const signer: Signer = {
    ...key,
    sign: (d) => {
      n++;
      return key.sign(d);
    },
  };
  const leaf = await createTsaCertificate({
    root: { certificate: root, signer: rootSigner },
    publicKey: signer.publicKey.key,
    subject,
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2031-01-01T00:00:00Z"),
  });
  const clock = o.clock ?? (o.at ? fixedClock(o.at) : { now: () => new Date() });
  const tsa = new TimestampAuthority({ signer, chain: [leaf, root], policy: TEST_TSA_POLICY, clock });
  return { tsa, root, leaf, rootSigner, signer, signatures: () => n };
}

/** A request over `data` (for a bundle: the signature bytes), SHA-256. */
export const timestampRequestFor = (
  data: Uint8Array,
  extra: Partial<TimestampRequest> = {},
): TimestampRequest => ({
  hashAlgorithm: "sha256",
  hashedMessage: createHash("sha256").update(data).digest(),
  certReq: false,
  ...extra,
});
