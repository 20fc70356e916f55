// SPDX-License-Identifier: Apache-2.0
// An RFC 3161 time-stamp authority: its certificate chain (a root and a signing certificate whose
// only extended key usage is the critical id-kp-timeStamping, RFC 3161 2.3), made the way the CA
// makes its certificates, and the issuance of time-stamp tokens (2.4.2) signed through the core
// `Signer` port, so the key may live in a file or a KMS. A token is only issued while the signing
// certificate is valid, for a request in the TSA's policy: a verifier checks the chain at genTime.

import { createHash } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { parseDer, TAG } from "../../core/der.js";
import { toPem } from "../../core/encoding.js";
import { cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import {
  encodeTimestampResponse,
  encodeTstInfo,
  signedAttributesToSign,
  type TimestampHash,
  type TimestampRequest,
  type TsaSignerId,
  timestampSignedAttributes,
} from "../../formats/sigstore/index.js";
import {
  basicConstraints,
  certificateExtensions,
  createCertificateUnderRoot,
  EKU_OID,
  extendedKeyUsage,
  KEY_USAGE,
  keyUsage,
  randomSerial,
  signatureOidOf,
  x509,
} from "../ca/index.js";

/** The TSTInfo accuracy cairn claims: genTime is truncated to the second (RFC 3161 2.4.2). */
export const TSA_ACCURACY_SECONDS = 1;

/**
 * The TSA's signing certificate, issued by `root` (a CA certificate and its signer): keyUsage
 * digitalSignature, and extKeyUsage id-kp-timeStamping alone and critical (RFC 3161 2.3). Its
 * validity must lie within the root's. Returns its DER.
 */
export async function createTsaCertificate(
  opts: Parameters<typeof createCertificateUnderRoot>[0],
): Promise<Buffer> {
  return createCertificateUnderRoot(opts, [
    keyUsage(KEY_USAGE.digitalSignature),
    extendedKeyUsage([EKU_OID.timeStamping], true),
    basicConstraints(false),
  ]);
}

export interface TimestampAuthorityOptions {
  signer: Signer;
  /** DER certificates: the signing certificate first, the root last. */
  chain: readonly Buffer[];
  /** The TSA policy OID every token names (RFC 3161 2.4.2 policy). */
  policy: string;
  clock: Clock;
}

// The digest the signature's hash is (RFC 5652 5.4: the signer's digestAlgorithm), per ECDSA curve.
const DIGEST_OF_SCHEME: Record<string, TimestampHash> = {
  "ecdsa-sha2-nistp256": "sha256",
  "ecdsa-sha2-nistp384": "sha384",
};

/** Issues RFC 3161 time-stamp tokens. Construction checks the chain, the key and the usage. */
export class TimestampAuthority {
  readonly policy: string;
  private readonly signerId: TsaSignerId;
  private readonly certHash: Buffer;
  private readonly digest: TimestampHash;
  private readonly signatureOid: string;
  private readonly from: number;
  private readonly to: number;

  constructor(private readonly opts: TimestampAuthorityOptions) {
    const [leafDer, ...parents] = opts.chain;
    if (!leafDer) throw cairnError("ERR_TSA_NOT_READY", "the TSA has no signing certificate");
    const leaf = x509(leafDer);
    const digest = DIGEST_OF_SCHEME[opts.signer.publicKey.scheme];
    if (!digest) throw cairnError("ERR_KEY_INVALID", "a TSA key must be ECDSA P-256 or P-384");
    if (!spkiDerOf(leaf.publicKey).equals(spkiDerOf(opts.signer.publicKey.key)))
      throw cairnError("ERR_TSA_NOT_READY", "the TSA key does not match its signing certificate");
    // RFC 3161 2.3: exactly one extended key usage, id-kp-timeStamping, critical.
    const eku = certificateExtensions(leafDer).find((e) => e.oid === "2.5.29.37");
    if (!eku?.critical || leaf.keyUsage?.join() !== EKU_OID.timeStamping)
      throw cairnError(
        "ERR_TSA_NOT_READY",
        "the TSA certificate's only extended key usage must be a critical timeStamping",
      );
    let child = leaf;
    for (const p of parents) {
      const parent = x509(p);
      if (!parent.ca || !child.checkIssued(parent) || !child.verify(parent.publicKey))
        throw cairnError("ERR_TSA_NOT_READY", "the TSA chain does not verify");
      child = parent;
    }
    // The signer identifier and ESSCertIDv2 name the certificate by its issuer and serial, byte for byte.
    const tbs = parseDer(leafDer).child(0, TAG.SEQUENCE).children();
    const hasVersion = tbs[0]?.isContext(0) ?? false;
    this.signerId = {
      certificate: leafDer,
      serial: tbs[hasVersion ? 1 : 0]!.expect(TAG.INTEGER).value,
      issuer: tbs[hasVersion ? 3 : 2]!.expect(TAG.SEQUENCE).raw,
    };
    this.certHash = createHash("sha256").update(leafDer).digest();
    this.digest = digest;
    this.signatureOid = signatureOidOf(opts.signer);
    this.policy = opts.policy;
    this.from = new Date(leaf.validFrom).getTime();
    this.to = new Date(leaf.validTo).getTime();
  }

  /** The chain as GET /api/v1/timestamp/certchain serves it: PEM, signing certificate first. */
  certChainPem(): string {
    return this.opts.chain.map((c) => toPem("CERTIFICATE", c)).join("");
  }

  /** Whether a token can be issued at `at` (the signing certificate is valid then), and until when. */
  readiness(at: Date = this.opts.clock.now()): { ready: boolean; notAfter: Date } {
    const t = at.getTime();
    return { ready: t >= this.from && t <= this.to, notAfter: new Date(this.to) };
  }

  /** DER certificates, signing certificate first. */
  get chain(): readonly Buffer[] {
    return this.opts.chain;
  }

  /**
   * Issues a granted DER TimeStampResp for a parsed request. Refuses (nothing signed) a request
   * for another policy (ERR_TSA_REQUEST_INVALID) and any request while the signing certificate is
   * not valid (ERR_TSA_NOT_READY): a token it signed then would not verify.
   */
  async timestamp(req: TimestampRequest): Promise<Buffer> {
    // RFC 3161 2.4.1: a TSA that does not support the requested policy rejects the request.
    if (req.policy !== undefined && req.policy !== this.policy)
      throw cairnError("ERR_TSA_REQUEST_INVALID", `this TSA issues under policy ${this.policy} only`, {
        field: "reqPolicy",
      });
    // Whole seconds: the token's time never runs ahead of the clock.
    const now = Math.floor(this.opts.clock.now().getTime() / 1000) * 1000;
    if (now < this.from || now > this.to)
      throw cairnError("ERR_TSA_NOT_READY", "the TSA's signing certificate is not valid now");
    const tstInfo = encodeTstInfo({
      policy: this.policy,
      hashAlgorithm: req.hashAlgorithm,
      hashedMessage: req.hashedMessage,
      // RFC 3161 2.4.2: unique per token; 127 random bits do not repeat.
      serial: BigInt(`0x${randomSerial().toString("hex")}`),
      genTime: new Date(now),
      accuracySeconds: TSA_ACCURACY_SECONDS,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    });
    const attrs = timestampSignedAttributes(
      createHash(this.digest).update(tstInfo).digest(),
      this.signerId,
      this.certHash,
    );
    const signature = await this.opts.signer.sign(signedAttributesToSign(attrs));
    return encodeTimestampResponse({
      tstInfo,
      digestAlgorithm: this.digest,
      signatureAlgorithmOid: this.signatureOid,
      signer: this.signerId,
      signedAttributes: attrs,
      signature,
      ...(req.certReq ? { certificates: [this.signerId.certificate] } : {}),
    });
  }
}
