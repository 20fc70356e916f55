// SPDX-License-Identifier: Apache-2.0
// The Fulcio certificate extensions' values (sigstore/fulcio docs/oid-info.md): which OID holds
// what, and how each value is encoded (raw bytes for the deprecated .1-.6, DER UTF8String from .8).

import { derUtf8 } from "../../core/der.js";
import { cairnError } from "../../core/errors.js";
import { readDerUtf8String } from "./der.js";
import { FULCIO_OID, FULCIO_RAW_VALUE_OIDS, type FulcioExtensionName } from "./oids.js";

/** The identity facts a Fulcio certificate records, by extension name (oid-info.md). */
export type FulcioExtensionValues = Partial<Record<FulcioExtensionName, string>>;

/** One extension to write: its OID and the DER of its extnValue contents. Never critical. */
export interface RawExtension {
  oid: string;
  value: Buffer;
}

/** Longest value we write or read in one Fulcio extension (claims are attacker-influenced). */
export const MAX_FULCIO_VALUE_BYTES = 4096;

const NAMES = Object.keys(FULCIO_OID).filter((n) => n !== "otherName") as FulcioExtensionName[];

/**
 * The extensions for these values, in OID order. `issuer` is written twice, as Fulcio does: the
 * deprecated raw form (.1) for old verifiers and the DER form (.8) (oid-info.md "Issuer (V2)").
 * `issuerV1` given on its own is ignored: it always mirrors `issuer`.
 */
export function fulcioExtensions(values: FulcioExtensionValues): RawExtension[] {
  const out: RawExtension[] = [];
  const all: FulcioExtensionValues = { ...values };
  delete all.issuerV1;
  if (all.issuer !== undefined) all.issuerV1 = all.issuer;
  for (const name of NAMES) {
    const v = all[name];
    if (v === undefined || v === "") continue;
    if (Buffer.byteLength(v, "utf8") > MAX_FULCIO_VALUE_BYTES)
      throw cairnError(
        "ERR_CA_REQUEST_TOO_LARGE",
        `the ${name} claim is longer than ${MAX_FULCIO_VALUE_BYTES} bytes`,
      );
    const oid = FULCIO_OID[name];
    out.push({ oid, value: FULCIO_RAW_VALUE_OIDS.has(oid) ? Buffer.from(v, "utf8") : derUtf8(v) });
  }
  return out.sort((a, b) => compareOids(a.oid, b.oid));
}

/** Decodes a Fulcio extension's value by its OID (raw UTF-8 for .1-.6, else a DER UTF8String). */
export function decodeFulcioExtension(oid: string, value: Uint8Array): string {
  if (value.length > MAX_FULCIO_VALUE_BYTES + 8)
    throw cairnError("ERR_X509_INVALID", `extension ${oid} is longer than ${MAX_FULCIO_VALUE_BYTES} bytes`);
  if (FULCIO_RAW_VALUE_OIDS.has(oid)) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(value);
    } catch {
      throw cairnError("ERR_X509_INVALID", `extension ${oid} is not valid UTF-8`);
    }
  }
  return readDerUtf8String(value, `extension ${oid}`);
}

/** The Fulcio extension name for an OID, if it is one. */
export function fulcioExtensionName(oid: string): FulcioExtensionName | undefined {
  return NAMES.find((n) => FULCIO_OID[n] === oid);
}

function compareOids(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
