// SPDX-License-Identifier: Apache-2.0
// The certificate authority: a root and intermediates (RFC 5280 profile, as Fulcio's hierarchy:
// an offline-able root, an issuing intermediate with pathLen 0), rotation by adding an
// intermediate whose validity overlaps the old one's, and issuance of short-lived code-signing
// certificates: a precertificate goes to the CT log first (RFC 6962 3.1), and the final
// certificate embeds the SCT the log returned (RFC 6962 3.3).
import type { KeyObject } from "node:crypto";
import type { Clock } from "../../core/clock.js";
import { derNull } from "../../core/der.js";
import { cairnError } from "../../core/errors.js";
import { spkiDerOf } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import {
  CT_POISON_OID,
  CT_SCT_LIST_OID,
  EKU_OID,
  fulcioExtensions,
  sctListExtensionValue,
} from "../../formats/x509/index.js";
import {
  authorityKeyIdentifier,
  basicConstraints,
  type CertificateTemplate,
  distinguishedName,
  type ExtensionSpec,
  extendedKeyUsage,
  KEY_USAGE,
  keyUsage,
  randomSerial,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
  subjectNameOf,
  x509,
} from "./certificates.js";
import type { CtLog, LoggedSct } from "./ct.js";
import type { Principal } from "./identity.js";
import type { CertifiableKey } from "./possession.js";

/** Fulcio's certificate lifetime: 10 minutes. */
export const LEAF_LIFETIME_MS = 10 * 60_000;

export interface CaSubject {
  organization: string;
  commonName: string;
}

/** A self-signed root (pathLen 1: one intermediate below it). Returns its DER. */
export async function createRootCertificate(opts: {
  signer: Signer;
  subject: CaSubject;
  notBefore: Date;
  notAfter: Date;
}): Promise<Buffer> {
  const spki = spkiDerOf(opts.signer.publicKey.key);
  const name = distinguishedName(opts.subject);
  return signCertificate(
    {
      serial: randomSerial(),
      issuer: name,
      subject: name,
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      spki,
      extensions: [
        keyUsage(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign),
        basicConstraints(true, 1),
        subjectKeyIdentifier(spki),
      ],
    },
    opts.signer,
  );
}

/**
 * A certificate for `publicKey` signed by the root, its validity within the root's, with
 * `extensions` followed by the subject and authority key identifiers. Returns its DER.
 */
export async function createCertificateUnderRoot(
  opts: {
    root: { certificate: Buffer; signer: Signer };
    publicKey: KeyObject;
    subject: CaSubject;
    notBefore: Date;
    notAfter: Date;
  },
  extensions: ExtensionSpec[],
): Promise<Buffer> {
  const root = x509(opts.root.certificate);
  if (opts.notBefore < new Date(root.validFrom) || opts.notAfter > new Date(root.validTo))
    throw cairnError("ERR_USAGE", "a certificate's validity must lie within its root's");
  const spki = spkiDerOf(opts.publicKey);
  return signCertificate(
    {
      serial: randomSerial(),
      issuer: subjectNameOf(opts.root.certificate),
      subject: distinguishedName(opts.subject),
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
      spki,
      extensions: [
        ...extensions,
        subjectKeyIdentifier(spki),
        authorityKeyIdentifier(spkiDerOf(root.publicKey)),
      ],
    },
    opts.root.signer,
  );
}

/**
 * An intermediate signed by the root (pathLen 0, extKeyUsage codeSigning as Fulcio's). Its
 * validity must lie within the root's. Returns its DER.
 */
export async function createIntermediateCertificate(
  opts: Parameters<typeof createCertificateUnderRoot>[0],
): Promise<Buffer> {
  return createCertificateUnderRoot(opts, [
    keyUsage(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign),
    extendedKeyUsage([EKU_OID.codeSigning]),
    basicConstraints(true, 0),
  ]);
}

/** An issuing CA: its certificate, its key, and the chain above it (root last). */
export interface IssuingCa {
  certificate: Buffer;
  signer: Signer;
  parents: Buffer[];
}

/** A certificate the CA issued. */
export interface IssuedCertificate {
  /** DER of the leaf. */
  certificate: Buffer;
  /** DER, leaf first, root last. */
  chain: Buffer[];
  /** The SCT embedded in the leaf and its log index (absent when the CA has no CT log). */
  sct?: LoggedSct;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateAuthorityOptions {
  issuers: readonly IssuingCa[];
  clock: Clock;
  /** The CT log every leaf is logged in before it is issued; without it, leaves carry no SCT. */
  ctLog?: CtLog;
  leafLifetimeMs?: number;
}

const sameKey = (a: KeyObject, b: KeyObject) => spkiDerOf(a).equals(spkiDerOf(b));

/** Issues short-lived certificates from the newest intermediate valid for the whole lifetime. */
export class CertificateAuthority {
  // Each intermediate's facts, read once: issuance must not re-parse certificates per request.
  private readonly issuers: {
    ca: IssuingCa;
    from: number;
    to: number;
    subject: Buffer;
    spki: Buffer;
  }[];
  private readonly lifetime: number;

  constructor(private readonly opts: CertificateAuthorityOptions) {
    this.lifetime = opts.leafLifetimeMs ?? LEAF_LIFETIME_MS;
    for (const ca of opts.issuers) checkIssuingCa(ca);
    // Newest first: after a rotation the new intermediate issues, the old one stays in the bundle.
    // X.509 times have whole seconds: among equal notBefore, the one listed last is the newest.
    this.issuers = opts.issuers
      .map((ca, index) => {
        const c = x509(ca.certificate);
        const facts = {
          ca,
          from: new Date(c.validFrom).getTime(),
          to: new Date(c.validTo).getTime(),
          subject: subjectNameOf(ca.certificate),
          spki: spkiDerOf(c.publicKey),
        };
        return { facts, index };
      })
      .sort((a, b) => b.facts.from - a.facts.from || b.index - a.index)
      .map((e) => e.facts);
  }

  private current(at: Date): CertificateAuthority["issuers"][number] {
    const end = at.getTime() + this.lifetime;
    const i = this.issuers.find((x) => x.from <= at.getTime() && end <= x.to);
    if (!i) throw cairnError("ERR_CA_NOT_READY", "no intermediate is valid for a new certificate's lifetime");
    return i;
  }

  /** The intermediate that issues at `at`: valid from `at` through `at` + the leaf lifetime. */
  issuingCa(at: Date = this.opts.clock.now()): IssuingCa {
    return this.current(at).ca;
  }

  /** The chains (intermediate first, root last) of every intermediate not yet expired at `at`. */
  trustBundle(at: Date = this.opts.clock.now()): Buffer[][] {
    return this.issuers.filter((i) => i.to >= at.getTime()).map((i) => [i.ca.certificate, ...i.ca.parents]);
  }

  /**
   * Issues a certificate for `key` naming `principal`. The caller has verified the identity and
   * the proof of possession. With a CT log, nothing is issued unless the log recorded the
   * precertificate (ERR_CA_CT_LOG_FAILED otherwise).
   */
  async issue(key: CertifiableKey, principal: Principal): Promise<IssuedCertificate> {
    const now = this.opts.clock.now();
    const current = this.current(now);
    const ca = current.ca;
    // X.509 times have whole seconds (RFC 5280 4.1.2.5.1).
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + this.lifetime);
    // X509-SVID 4.4: when an SVID has extKeyUsage, it includes serverAuth and clientAuth.
    const eku = principal.spiffe
      ? [EKU_OID.codeSigning, EKU_OID.serverAuth, EKU_OID.clientAuth]
      : [EKU_OID.codeSigning];
    const san = "email" in principal.san ? { email: [principal.san.email] } : { uri: [principal.san.uri] };
    const base: ExtensionSpec[] = [
      // X509-SVID 4.3 and Fulcio: digitalSignature only, critical; never keyCertSign or cRLSign.
      keyUsage(KEY_USAGE.digitalSignature),
      extendedKeyUsage(eku),
      // X509-SVID 4.1: a leaf "MUST set the cA field to false".
      basicConstraints(false),
      subjectKeyIdentifier(key.spki),
      authorityKeyIdentifier(current.spki),
      // RFC 5280 4.2.1.6: the subject is empty, so the SAN is critical.
      subjectAltName(san, true),
      ...fulcioExtensions(principal.extensions).map((e) => ({ ...e, critical: false })),
    ];
    const template: CertificateTemplate = {
      serial: randomSerial(),
      issuer: current.subject,
      subject: distinguishedName(),
      notBefore,
      notAfter,
      spki: key.spki,
      extensions: base,
    };
    let sct: LoggedSct | undefined;
    let extensions = base;
    if (this.opts.ctLog) {
      // RFC 6962 3.1: the precertificate is the final certificate with the critical poison
      // extension; its TBS without the poison is the final TBS without the SCT list.
      const precert = await signCertificate(
        { ...template, extensions: [...base, { oid: CT_POISON_OID, critical: true, value: derNull() }] },
        ca.signer,
      );
      sct = await this.opts.ctLog.addPreChain(precert, ca.certificate);
      extensions = [
        ...base,
        { oid: CT_SCT_LIST_OID, critical: false, value: sctListExtensionValue([sct.sct]) },
      ];
    }
    const certificate = await signCertificate({ ...template, extensions }, ca.signer);
    return {
      certificate,
      chain: [certificate, ca.certificate, ...ca.parents],
      ...(sct ? { sct } : {}),
      notBefore,
      notAfter,
    };
  }
}

/** Checks an issuing CA is usable: a CA certificate for its signer's key, chained to its parents. */
function checkIssuingCa(ca: IssuingCa): void {
  const cert = x509(ca.certificate);
  if (!cert.ca) throw cairnError("ERR_CA_NOT_READY", "an issuing certificate is not a CA certificate");
  if (!sameKey(cert.publicKey, ca.signer.publicKey.key))
    throw cairnError("ERR_CA_NOT_READY", "the CA key does not match the issuing certificate");
  let child = cert;
  for (const p of ca.parents) {
    const parent = x509(p);
    if (!parent.ca || !child.checkIssued(parent) || !child.verify(parent.publicKey))
      throw cairnError("ERR_CA_NOT_READY", "the CA chain does not verify");
    child = parent;
  }
  if (ca.parents.length > 0 && !child.verify(child.publicKey))
    throw cairnError("ERR_CA_NOT_READY", "the CA chain does not end in a self-signed root");
}
