// SPDX-License-Identifier: Apache-2.0
// The DER (ITU-T X.690) pieces the CA's extension values need, on top of cairn's one strict DER
// reader and writer (src/core/der.ts): values that are a single string or octet string, and
// GeneralNames. A malformed value read here is reported as ERR_X509_INVALID naming what it was.
import { TAG as DER_TAG, type Der, parseDer, readDerAt } from "../../core/der.js";
import { CairnError, cairnError } from "../../core/errors.js";

/** Runs a DER read, reporting a malformed encoding as ERR_X509_INVALID about `what`. */
function asX509<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof CairnError && e.code === "ERR_ENCODING_INVALID") {
      throw cairnError("ERR_X509_INVALID", `${what}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Reads one whole DER value of the given tag (single-byte tag, definite length, minimal length
 * encoding), refusing trailing bytes: extension values are attacker-controlled in a certificate.
 */
export function readDerValue(der: Uint8Array, tag: number, what: string): Buffer {
  const d = asX509(what, () => parseDer(der));
  if (d.tag !== tag) throw cairnError("ERR_X509_INVALID", `${what}: expected tag 0x${tag.toString(16)}`);
  return d.value;
}

/** Decodes a DER UTF8String whose bytes are valid UTF-8. */
export function readDerUtf8String(der: Uint8Array, what = "UTF8String"): string {
  const body = readDerValue(der, DER_TAG.UTF8_STRING, what);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw cairnError("ERR_X509_INVALID", `${what}: not valid UTF-8`);
  }
}

export const readDerOctetString = (der: Uint8Array, what = "OCTET STRING"): Buffer =>
  readDerValue(der, DER_TAG.OCTET_STRING, what);

/** One DER element: its identifier octet, where its contents lie, and where it ends. */
export interface DerElement {
  /** The whole identifier octet (class, constructed bit, tag number below 31). */
  tag: number;
  contents: Buffer;
  end: number;
}

/**
 * Reads the DER element at `offset` of `buf` (X.690 8.1: low tag numbers, definite minimal
 * lengths of at most 4 octets), never reading past `buf`. Throws ERR_X509_INVALID.
 */
export function readDerElement(buf: Buffer, offset: number, what: string): DerElement {
  const d: Der = asX509(what, () => readDerAt(buf, offset));
  return { tag: d.tag, contents: d.value, end: offset + d.raw.length };
}
