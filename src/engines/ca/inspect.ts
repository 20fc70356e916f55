// SPDX-License-Identifier: Apache-2.0
// Reading what an identity certificate says: its SAN names and Fulcio extensions from the DER
// (never from a text rendering), and the X509-SVID leaf profile checks (spiffe/spiffe
// standards/X509-SVID.md sections 2 and 4) for a certificate that claims a SPIFFE ID.
import { AsnConvert } from "@peculiar/asn1-schema";
import * as asn from "@peculiar/asn1-x509";
import { cairnError } from "../../core/errors.js";
import {
  decodeFulcioExtension,
  EKU_OID,
  type FulcioExtensionValues,
  fulcioExtensionName,
  leafSpiffeIdOf,
  parseSubjectAltName,
  type SpiffeId,
  type SubjectAltNames,
  X509_EXTENSION_OID,
} from "../../formats/x509/index.js";
import { certificateExtensions, type ReadExtension } from "./certificates.js";

/** The identity a certificate states. */
export interface CertificateIdentity {
  san: SubjectAltNames;
  /** The Fulcio extensions present, decoded. */
  fulcio: FulcioExtensionValues;
}

function one(exts: ReadExtension[], oid: string): ReadExtension | undefined {
  const found = exts.filter((e) => e.oid === oid);
  // RFC 5280 4.2: "A certificate MUST NOT include more than one instance of a particular extension."
  if (found.length > 1) throw cairnError("ERR_X509_INVALID", `extension ${oid} appears more than once`);
  return found[0];
}

// An extension value is attacker-controlled DER: a schema mismatch is bad input, not a bug.
function parseValue<T>(e: ReadExtension, type: new () => T): T {
  try {
    return AsnConvert.parse(e.value, type);
  } catch (err) {
    throw cairnError("ERR_X509_INVALID", `extension ${e.oid} is malformed`, {}, { cause: err });
  }
}

/** Reads the SAN and Fulcio extensions of a DER certificate. Throws ERR_X509_INVALID. */
export function readCertificateIdentity(der: Uint8Array): CertificateIdentity {
  const exts = certificateExtensions(der);
  const sanExt = one(exts, X509_EXTENSION_OID.subjectAltName);
  if (!sanExt) throw cairnError("ERR_X509_INVALID", "the certificate has no subjectAltName");
  const fulcio: FulcioExtensionValues = {};
  for (const e of exts) {
    const name = fulcioExtensionName(e.oid);
    if (!name) continue;
    if (fulcio[name] !== undefined)
      throw cairnError("ERR_X509_INVALID", `extension ${e.oid} appears more than once`);
    fulcio[name] = decodeFulcioExtension(e.oid, e.value);
  }
  return { san: parseSubjectAltName(sanExt.value), fulcio };
}

/**
 * Checks a leaf certificate against the X509-SVID profile and returns its SPIFFE ID: exactly one
 * URI SAN holding a SPIFFE ID with a path (2), cA false (4.1), keyUsage present, critical, with
 * digitalSignature and without keyCertSign or cRLSign (4.3), and, when extKeyUsage is present,
 * serverAuth and clientAuth in it (4.4). Throws ERR_SPIFFE_ID_INVALID or ERR_X509_INVALID.
 */
export function checkX509Svid(der: Uint8Array): SpiffeId {
  const exts = certificateExtensions(der);
  const { san } = readCertificateIdentity(der);
  const id = leafSpiffeIdOf(san.uri);
  const bad = (why: string) => cairnError("ERR_X509_INVALID", `not an X.509-SVID leaf: ${why}`);
  const bc = one(exts, X509_EXTENSION_OID.basicConstraints);
  if (bc && parseValue(bc, asn.BasicConstraints).cA) throw bad("cA is true");
  const ku = one(exts, X509_EXTENSION_OID.keyUsage);
  if (!ku?.critical) throw bad("keyUsage is missing or not critical");
  const flags = parseValue(ku, asn.KeyUsage).toNumber();
  if (!(flags & asn.KeyUsageFlags.digitalSignature)) throw bad("keyUsage lacks digitalSignature");
  if (flags & (asn.KeyUsageFlags.keyCertSign | asn.KeyUsageFlags.cRLSign))
    throw bad("keyUsage has keyCertSign or cRLSign");
  const eku = one(exts, X509_EXTENSION_OID.extKeyUsage);
  if (eku) {
    const usages = parseValue(eku, asn.ExtendedKeyUsage);
    if (!usages.includes(EKU_OID.serverAuth) || !usages.includes(EKU_OID.clientAuth))
      throw bad("extKeyUsage lacks serverAuth or clientAuth");
  }
  return id;
}
