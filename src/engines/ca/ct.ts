// SPDX-License-Identifier: Apache-2.0
// A certificate transparency log front end (RFC 6962): it accepts a precertificate (section 3.1:
// signed by the issuing CA, with the critical poison extension), records the RFC 6962 3.4
// MerkleTreeLeaf in cairn's transparency log through a port, and only then returns the SCT
// (section 3.2) signed with the log's ECDSA P-256 key. Its log ID is SHA-256 of that key's SPKI.

import { createHash } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { CairnError, cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import { logIdOfKey } from "../../formats/sigstore/index.js";
import {
  CT_POISON_OID,
  precertSignedData,
  SCT_VERSION_V1,
  type Sct,
  TLS_HASH_SHA256,
  TLS_SIGNATURE_ECDSA,
} from "../../formats/x509/index.js";
import { MAX_LEAF_BYTES } from "../tlog/index.js";
import { certificateExtensions, tbsWithout, x509 } from "./certificates.js";

/**
 * Where the CT log records its entries: cairn's transparency log (engines/tlog's Sequencer via an
 * adapter, or its HTTP API). `append` resolves only once the leaf is durable and returns its
 * index; it may be called concurrently; it rejects (any error) when the outcome is unknown, and
 * the CT log then issues no SCT. Resubmitting the same leaf is safe (the log deduplicates).
 */
export interface CertificateLogPort {
  append(leaf: Uint8Array): Promise<{ index: number }>;
}

/**
 * The port over cairn's transparency log sequencer (engines/tlog `Sequencer.submit`): resolves
 * once the batch holding the leaf is durable; a duplicate leaf returns the existing index.
 */
export function sequencerCertificateLog(sequencer: {
  submit(leaf: Uint8Array): Promise<{ index: number }>;
}): CertificateLogPort {
  return { append: async (leaf) => ({ index: (await sequencer.submit(leaf)).index }) };
}

/** An SCT with the log index of the entry it promises. */
export interface LoggedSct {
  sct: Sct;
  index: number;
  /** The leaf recorded (RFC 6962 3.4 MerkleTreeLeaf). */
  leaf: Buffer;
}

/** A CT log signing SCTs for precertificates and recording them in the transparency log. */
export class CtLog {
  readonly logId: Buffer;
  readonly spki: Buffer;

  constructor(
    private readonly signer: Signer,
    private readonly log: CertificateLogPort,
    private readonly clock: Clock,
  ) {
    // Sigstore trusted roots list CT keys as PKIX_ECDSA_P256_SHA_256; the SCT says ecdsa/sha256.
    if (signer.publicKey.scheme !== "ecdsa-sha2-nistp256")
      throw cairnError("ERR_KEY_INVALID", "a CT log key must be ECDSA P-256");
    this.spki = spkiDerOf(signer.publicKey.key);
    this.logId = logIdOfKey(this.spki);
  }

  /**
   * Logs a precertificate issued by `issuerDer` and returns its SCT. Refuses (ERR_X509_INVALID) a
   * certificate without the critical poison extension or not signed by the issuer: a CT log
   * signs only what a CA it serves has committed to. Throws ERR_CA_CT_LOG_FAILED when the
   * transparency log could not record the entry.
   */
  async addPreChain(precertDer: Uint8Array, issuerDer: Uint8Array): Promise<LoggedSct> {
    const poison = certificateExtensions(precertDer).filter((e) => e.oid === CT_POISON_OID);
    // RFC 6962 3.1: the poison extension "MUST be critical" and its value is ASN.1 NULL.
    if (poison.length !== 1 || !poison[0]!.critical || poison[0]!.value.toString("hex") !== "0500")
      throw cairnError("ERR_X509_INVALID", "not a precertificate: no single critical poison extension");
    const pre = x509(precertDer);
    const issuer = x509(issuerDer);
    if (!pre.checkIssued(issuer) || !pre.verify(issuer.publicKey))
      throw cairnError("ERR_X509_INVALID", "the precertificate is not signed by the given issuer");
    // RFC 6962 3.2: issuer_key_hash is SHA-256 of the issuer's SPKI; tbs_certificate is the
    // precertificate's TBS "with the poison extension removed".
    const issuerKeyHash = createHash("sha256").update(spkiDerOf(issuer.publicKey)).digest();
    const tbsCertificate = tbsWithout(precertDer, [CT_POISON_OID]);
    const timestamp = BigInt(this.clock.now().getTime());
    const signed = precertSignedData({ timestamp, issuerKeyHash, tbsCertificate });
    // RFC 6962 3.4: MerkleTreeLeaf = version v1(0), leaf_type timestamped_entry(0), then the
    // TimestampedEntry (timestamp, entry_type, PreCert, extensions). With signature_type
    // certificate_timestamp(0) in the same place, those are exactly the signed bytes.
    const leaf = signed;
    // tlog-tiles entry bundles hold leaves of at most 65535 bytes (engines/tlog MAX_LEAF_BYTES).
    if (leaf.length > MAX_LEAF_BYTES)
      throw cairnError(
        "ERR_CA_REQUEST_TOO_LARGE",
        `the precertificate's log entry is larger than ${MAX_LEAF_BYTES} bytes`,
      );
    let index: number;
    try {
      ({ index } = await this.log.append(leaf));
    } catch (e) {
      throw cairnError(
        "ERR_CA_CT_LOG_FAILED",
        `the transparency log did not record the precertificate: ${e instanceof CairnError ? e.code : (e as Error)?.message}`,
        {},
        { cause: e },
      );
    }
    const signature = Buffer.from(await this.signer.sign(signed));
    return {
      index,
      leaf,
      sct: {
        version: SCT_VERSION_V1,
        logId: this.logId,
        timestamp,
        extensions: Buffer.alloc(0),
        hashAlgorithm: TLS_HASH_SHA256,
        signatureAlgorithm: TLS_SIGNATURE_ECDSA,
        signature,
      },
    };
  }
}
