// SPDX-License-Identifier: Apache-2.0
// Keyless signing's remote services, as the signing engine's ports: a Rekor v1 log over HTTP
// (sigstore/rekor openapi.yaml createLogEntry: hashedrekord and dsse 0.0.1 proposed entries; the
// LogEntry answer becomes the bundle's TransparencyLogEntry) and a Fulcio v2 client
// (fulcio.proto CreateSigningCertificate: an ID token and a public key with its proof of
// possession, a signature over the token's email or subject). Both answer cairn serve and, by
// the same APIs, Sigstore's services. What they return is checked again when a bundle is
// verified: these clients trust nothing they do not have to.
import { createHash, randomInt, X509Certificate } from "node:crypto";
import { fromBase64, fromHex, parsePemBlocks, toBase64 } from "../core/encoding.js";
import { cairnError } from "../core/errors.js";
import { isJsonObject } from "../core/json.js";
import { spkiDerOf } from "../core/keys.js";
import type { Signer } from "../core/signer.js";
import type {
  ProposedEntry,
  TimestampAuthorityPort,
  TransparencyLogPort,
} from "../engines/sigstore/index.js";
import {
  MAX_TIMESTAMP_BYTES,
  parseTimestampResponse,
  type TransparencyLogEntry,
} from "../formats/sigstore/index.js";
import { logJson, logRequest } from "./log-client.js";

/** Largest answer read from Rekor or Fulcio (an entry, a certificate chain). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

function answerInvalid(what: string, field?: string): Error {
  return cairnError(
    "ERR_HTTP_ERROR",
    `the ${what} answer is not what its API defines`,
    field ? { field } : {},
  );
}

/** Rekor v1 proposed entry of a signing engine's ProposedEntry. */
export function rekorProposedEntry(p: ProposedEntry): Record<string, unknown> {
  const pem = (s: string) => Buffer.from(s, "utf8").toString("base64");
  if (p.kind === "hashedrekord") {
    return {
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: p.algorithm, value: Buffer.from(p.digest).toString("hex") } },
        signature: { content: toBase64(p.signature), publicKey: { content: pem(p.verifierPem) } },
      },
    };
  }
  return {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: { proposedContent: { envelope: JSON.stringify(p.envelope), verifiers: p.verifierPems.map(pem) } },
  };
}

/** A Rekor v1 LogEntry (one `{uuid: entry}` answer) as a bundle's TransparencyLogEntry. */
export function tlogEntryOfRekor(answer: unknown, kind: ProposedEntry["kind"]): TransparencyLogEntry {
  if (!isJsonObject(answer) || Object.keys(answer).length !== 1) throw answerInvalid("Rekor");
  const e = Object.values(answer)[0];
  if (!isJsonObject(e) || !isJsonObject(e.verification)) throw answerInvalid("Rekor", "verification");
  const v = e.verification;
  const proof = v.inclusionProof;
  const int = (x: unknown, f: string) => {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw answerInvalid("Rekor", f);
    return x;
  };
  const str = (x: unknown, f: string) => {
    if (typeof x !== "string") throw answerInvalid("Rekor", f);
    return x;
  };
  if (!isJsonObject(proof) || !Array.isArray(proof.hashes)) throw answerInvalid("Rekor", "inclusionProof");
  return {
    logIndex: int(e.logIndex, "logIndex"),
    logId: { keyId: fromHex(str(e.logID, "logID"), "logID") },
    kindVersion: { kind, version: "0.0.1" },
    integratedTime: int(e.integratedTime, "integratedTime"),
    inclusionPromise: {
      signedEntryTimestamp: fromBase64(
        str(v.signedEntryTimestamp, "signedEntryTimestamp"),
        "signedEntryTimestamp",
      ),
    },
    inclusionProof: {
      logIndex: int(proof.logIndex, "inclusionProof.logIndex"),
      rootHash: fromHex(str(proof.rootHash, "rootHash"), "rootHash"),
      treeSize: int(proof.treeSize, "treeSize"),
      hashes: proof.hashes.map((h, i) => fromHex(str(h, `hashes[${i}]`), `hashes[${i}]`)),
      checkpoint: { envelope: str(proof.checkpoint, "checkpoint") },
    },
    canonicalizedBody: fromBase64(str(e.body, "body"), "body"),
  };
}

/** A Rekor v1 API as the signing engine's transparency log. */
export function rekorHttpLog(opts: { url: string; token?: string; timeoutMs?: number }): TransparencyLogPort {
  const client = {
    server: opts.url,
    maxResponseBytes: MAX_ANSWER_BYTES,
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  };
  return {
    async submit(p) {
      const answer = await logJson(client, "POST", "api/v1/log/entries", rekorProposedEntry(p));
      return tlogEntryOfRekor(answer, p.kind);
    },
  };
}

/** The claim Fulcio's proof of possession signs: the email for email tokens, else `sub`. */
export function tokenChallenge(token: string): string {
  const part = token.split(".")[1];
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8"));
  } catch {
    claims = undefined;
  }
  if (!isJsonObject(claims)) throw cairnError("ERR_USAGE", "the identity token is not a JWT");
  const c = typeof claims.email === "string" ? claims.email : claims.sub;
  if (typeof c !== "string" || c === "") throw cairnError("ERR_USAGE", "the identity token has no subject");
  return c;
}

/**
 * Asks a Fulcio v2 API for a certificate for `signer`'s key: the token, the public key, and the
 * key's signature over the token's challenge. Returns the leaf (DER), checked to be for this key.
 */
export async function fulcioCertificate(opts: {
  url: string;
  token: string;
  signer: Signer;
  timeoutMs?: number;
}): Promise<Uint8Array> {
  const proof = await opts.signer.sign(Buffer.from(tokenChallenge(opts.token), "utf8"));
  const answer = await logJson(
    {
      server: opts.url,
      maxResponseBytes: MAX_ANSWER_BYTES,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    },
    "POST",
    "api/v2/signingCert",
    {
      credentials: { oidcIdentityToken: opts.token },
      publicKeyRequest: {
        publicKey: { content: opts.signer.publicKey.key.export({ type: "spki", format: "pem" }) },
        proofOfPossession: toBase64(proof),
      },
    },
  );
  const chain = isJsonObject(answer)
    ? ((answer.signedCertificateEmbeddedSct ?? answer.signedCertificateDetachedSct) as unknown)
    : undefined;
  const certs = isJsonObject(chain) && isJsonObject(chain.chain) ? chain.chain.certificates : undefined;
  if (!Array.isArray(certs) || typeof certs[0] !== "string") throw answerInvalid("Fulcio", "chain");
  const leaf = parsePemBlocks(certs[0]).find((b) => b.label === "CERTIFICATE")?.der;
  if (!leaf) throw answerInvalid("Fulcio", "chain.certificates[0]");
  if (!spkiDerOf(new X509Certificate(leaf).publicKey).equals(spkiDerOf(opts.signer.publicKey.key)))
    throw cairnError("ERR_HTTP_ERROR", "the CA certified another key than the one sent");
  return leaf;
}

/**
 * An RFC 3161 time-stamp authority with sigstore/timestamp-authority's API (cairn serve --tsa, or
 * Sigstore's) as the signing engine's timestamp port. `url` is the service's base URL or, as
 * cosign's --timestamp-server-url takes it, the full endpoint. The request is the JSON form with a
 * fresh nonce; the answer must be a granted token over the signature's SHA-256 echoing the nonce
 * (a replayed or substituted token is refused here; its signature is checked at verification).
 */
export function timestampAuthorityHttp(opts: { url: string; timeoutMs?: number }): TimestampAuthorityPort {
  let endpoint: string;
  try {
    const u = new URL(opts.url);
    endpoint = u.pathname === "/" ? new URL("api/v1/timestamp", u).href : u.href;
  } catch {
    throw cairnError("ERR_USAGE", `not a URL: ${opts.url}`);
  }
  return {
    async timestamp(signature) {
      const digest = createHash("sha256").update(signature).digest();
      // 48 bits: a JSON number every client and server reads exactly.
      const nonce = randomInt(2 ** 48 - 1);
      const r = await logRequest(
        {
          server: endpoint,
          maxResponseBytes: MAX_TIMESTAMP_BYTES,
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        },
        "POST",
        endpoint,
        { artifactHash: digest.toString("base64"), hashAlgorithm: "sha256", nonce },
      );
      let token: ReturnType<typeof parseTimestampResponse>;
      try {
        token = parseTimestampResponse(r.body);
      } catch (e) {
        throw cairnError(
          "ERR_HTTP_ERROR",
          "the TSA's answer is not an RFC 3161 time-stamp response",
          {},
          { cause: e },
        );
      }
      if (!token.hashedMessage.equals(digest) || token.nonce !== BigInt(nonce))
        throw cairnError("ERR_HTTP_ERROR", "the TSA answered with a token for another request");
      return r.body;
    },
  };
}
