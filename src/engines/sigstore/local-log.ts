// SPDX-License-Identifier: Apache-2.0
// The transparency-log port over cairn's own log engine (src/engines/tlog), in process: a
// Rekor v1 "personality" in front of the sequencer. It verifies each proposed entry, appends its
// canonical Rekor body as the leaf (so the bundle's inclusion proof is over RFC 6962
// SHA-256(0x00 || body), as Sigstore verifiers compute it), and answers with:
// - the inclusion promise: the log key's signature over the canonical JSON of
//   {body, integratedTime, logID, logIndex} (Rekor's SignedEntryTimestamp);
// - the checkpoint the sequencer made durable, re-signed Rekor-style: a signed note whose key
//   hint is the first 4 bytes of the log id (SHA-256 of the log key's SPKI) and whose signature
//   is by the log key (what sigstore-js and sigstore-go check), under the log's host name.
// The HTTP client for cairn's Rekor API will implement the same port.

import { createPublicKey, type KeyObject, sign as nodeSign, X509Certificate } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { fromBase64 } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import { verifyPrehashed } from "../../core/prehashed.js";
import { pae } from "../../formats/dsse/envelope.js";
import type { TransparencyLogEntry } from "../../formats/sigstore/bundle.js";
import { logIdOfKey } from "../../formats/sigstore/index.js";
import { buildDsseBody, buildHashedRekordBody } from "../../formats/sigstore/rekor.js";
import { parseNote, serializeNote } from "../../formats/tlog/note.js";
import type { Sequencer } from "../tlog/index.js";
import type { ProposedEntry, TransparencyLogPort } from "./sign.js";
import { verifyWithKey } from "./verify.js";

export interface LocalRekorOptions {
  sequencer: Sequencer;
  /** The log's signing key (ECDSA P-256, as Rekor's): signs promises and checkpoints. */
  key: KeyObject;
  /** The checkpoint signature's key name: the log's host, which verifiers find in its baseUrl. */
  name: string;
  clock?: Clock;
}

/** The public key a PEM names: an SPKI key or a certificate's key. */
function keyOfPem(pem: string, field: string): KeyObject {
  try {
    if (pem.includes("CERTIFICATE")) return new X509Certificate(pem).publicKey;
    return createPublicKey(pem);
  } catch (e) {
    throw cairnError(
      "ERR_TLOG_ENTRY_INVALID",
      "the verifier is not a PEM key or certificate",
      { field },
      { cause: e },
    );
  }
}

/** Rekor's SET payload: canonical JSON (keys sorted, no spaces) of the four fields. */
export function inclusionPromisePayload(
  body: Uint8Array,
  integratedTime: number,
  logId: Uint8Array,
  logIndex: number,
): Buffer {
  return Buffer.from(
    `{"body":${JSON.stringify(Buffer.from(body).toString("base64"))},"integratedTime":${integratedTime},"logID":${JSON.stringify(Buffer.from(logId).toString("hex"))},"logIndex":${logIndex}}`,
    "utf8",
  );
}

export class LocalRekorLog implements TransparencyLogPort {
  readonly logId: Buffer;
  readonly publicKey: KeyObject;
  private readonly seq: Sequencer;
  private readonly key: KeyObject;
  private readonly name: string;
  private readonly clock: Clock | undefined;

  constructor(opts: LocalRekorOptions) {
    this.seq = opts.sequencer;
    this.key = opts.key;
    this.name = opts.name;
    this.clock = opts.clock;
    this.publicKey = createPublicKey(opts.key);
    this.logId = logIdOfKey(spkiDerOf(this.publicKey));
  }

  private sign(data: Uint8Array): Buffer {
    const t = this.publicKey.asymmetricKeyType;
    return nodeSign(t === "ed25519" ? null : "sha256", data, this.key);
  }

  /** Verifies the proposed entry (a log records only signatures that verify) and builds its body. */
  private body(p: ProposedEntry): Buffer {
    if (p.kind === "hashedrekord") {
      const key = keyOfPem(p.verifierPem, "verifierPem");
      if (!verifyPrehashed(key, p.algorithm, p.digest, p.signature)) {
        throw cairnError("ERR_SIGNATURE_INVALID", "the signature does not verify over the artifact digest", {
          field: "signature",
        });
      }
      return buildHashedRekordBody(p.algorithm, p.digest, p.signature, p.verifierPem);
    }
    const env = p.envelope;
    if (env.signatures.length === 0 || env.signatures.length !== p.verifierPems.length) {
      throw cairnError("ERR_TLOG_ENTRY_INVALID", "give one verifier per envelope signature", {
        field: "verifierPems",
      });
    }
    const payload = fromBase64(env.payload, "envelope.payload");
    const msg = pae(env.payloadType, payload);
    const sigs = env.signatures.map((s, i) => {
      const signature = fromBase64(s.sig, `envelope.signatures[${i}].sig`);
      const pem = p.verifierPems[i]!;
      if (!verifyWithKey(keyOfPem(pem, `verifierPems[${i}]`), msg, signature)) {
        throw cairnError(
          "ERR_DSSE_SIGNATURE_INVALID",
          "an envelope signature does not verify with its verifier",
          {
            field: `envelope.signatures[${i}]`,
          },
        );
      }
      return { signature, verifierPem: pem };
    });
    return buildDsseBody(JSON.stringify(env), payload, sigs);
  }

  async submit(p: ProposedEntry): Promise<TransparencyLogEntry> {
    const body = this.body(p);
    const r = await this.seq.submit(body);
    const now = this.clock ? this.clock.now() : new Date();
    const integratedTime = Math.floor(now.getTime() / 1000);
    const set = this.sign(inclusionPromisePayload(body, integratedTime, this.logId, r.index));
    // Re-sign the durable checkpoint's text Rekor-style (see the module comment).
    const text = parseNote(r.checkpoint).text;
    const hint = this.logId.subarray(0, 4).readUInt32BE(0);
    const checkpoint = serializeNote({
      text,
      signatures: [{ name: this.name, keyId: hint, signature: this.sign(Buffer.from(text, "utf8")) }],
    });
    const kind = p.kind;
    return {
      logIndex: r.index,
      logId: { keyId: Buffer.from(this.logId) },
      kindVersion: { kind, version: "0.0.1" },
      integratedTime,
      inclusionPromise: { signedEntryTimestamp: set },
      inclusionProof: {
        logIndex: r.index,
        rootHash: rootOf(text),
        treeSize: r.treeSize,
        hashes: r.inclusionProof,
        checkpoint: { envelope: checkpoint },
      },
      canonicalizedBody: body,
    };
  }
}

function rootOf(checkpointText: string): Buffer {
  return Buffer.from(checkpointText.split("\n")[2] ?? "", "base64");
}
