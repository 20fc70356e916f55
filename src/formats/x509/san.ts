// SPDX-License-Identifier: Apache-2.0
// The subjectAltName extension's value (RFC 5280 4.2.1.6): GeneralNames, read from DER without
// relying on a text rendering (Node's `subjectAltName` string escapes and joins names).
import { cairnError } from "../../core/errors.js";
import { readDerElement } from "./der.js";

/** The names of a SAN, by kind; the kinds cairn does not read are counted, not dropped silently. */
export interface SubjectAltNames {
  email: string[];
  dns: string[];
  uri: string[];
  ip: Buffer[];
  /** otherName, x400Address, directoryName, ediPartyName, registeredID. */
  other: number;
}

/** Most names read from one SAN (a certificate for one identity has one or two). */
export const MAX_SAN_NAMES = 64;

// RFC 5280 4.2.1.6 GeneralName, IMPLICIT context tags: [1] rfc822Name, [2] dNSName, [6] URI
// (IA5String), [7] iPAddress (OCTET STRING); [0], [3], [4], [5], [8] are other kinds.
const EMAIL = 0x81;
const DNS = 0x82;
const URI = 0x86;
const IP = 0x87;

function ia5(b: Buffer, what: string): string {
  // IA5String is 7-bit ASCII: a high byte would let a name be read two ways.
  for (const c of b) if (c > 0x7f) throw cairnError("ERR_X509_INVALID", `${what} is not IA5 (ASCII)`);
  return b.toString("latin1");
}

/** Parses the DER of a SubjectAltName (SEQUENCE OF GeneralName). Throws ERR_X509_INVALID. */
export function parseSubjectAltName(value: Uint8Array): SubjectAltNames {
  const buf = Buffer.from(value);
  const seq = readDerElement(buf, 0, "subjectAltName");
  if (seq.tag !== 0x30 || seq.end !== buf.length)
    throw cairnError("ERR_X509_INVALID", "subjectAltName is not one SEQUENCE");
  const out: SubjectAltNames = { email: [], dns: [], uri: [], ip: [], other: 0 };
  let off = 0;
  let n = 0;
  while (off < seq.contents.length) {
    if (++n > MAX_SAN_NAMES)
      throw cairnError("ERR_X509_INVALID", `more than ${MAX_SAN_NAMES} names in a SAN`);
    const el = readDerElement(seq.contents, off, "GeneralName");
    off = el.end;
    if (el.tag === EMAIL) out.email.push(ia5(el.contents, "an rfc822Name"));
    else if (el.tag === DNS) out.dns.push(ia5(el.contents, "a dNSName"));
    else if (el.tag === URI) out.uri.push(ia5(el.contents, "a URI"));
    else if (el.tag === IP) out.ip.push(Buffer.from(el.contents));
    else if ((el.tag & 0xc0) === 0x80) out.other++;
    else throw cairnError("ERR_X509_INVALID", "a GeneralName has a non-context tag");
  }
  // RFC 5280 4.2.1.6: "the subjectAltName extension ... MUST contain at least one entry".
  if (n === 0) throw cairnError("ERR_X509_INVALID", "an empty subjectAltName");
  return out;
}
