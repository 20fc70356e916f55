// SPDX-License-Identifier: Apache-2.0
// Strict byte encodings: hex, base64 (standard and URL-safe), and PEM blocks (RFC 7468).
import { cairnError } from "./errors.js";

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// URL-safe: padding optional, but when present it must be the right amount (no "=" alone, no "AB=").
const B64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/;

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Decodes hex strictly: even length, hex digits only. */
export function fromHex(s: string, field = "hex"): Buffer {
  if (!HEX.test(s)) throw cairnError("ERR_ENCODING_INVALID", "not a valid hex string", { field });
  return Buffer.from(s, "hex");
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * Decodes standard or URL-safe base64 (DSSE allows either), padding optional for URL-safe.
 * Node's decoder silently skips bad characters; we refuse them.
 */
export function fromBase64(s: string, field = "base64"): Buffer {
  // Each pattern runs once (a DSSE payload is kilobytes: the scan is most of decoding's cost).
  const t = s.includes("\n") || s.includes("\r") ? s.replace(/[\r\n]/g, "") : s;
  const std = B64.test(t);
  if (!std && !(B64URL.test(t) && t.replace(/=+$/, "").length % 4 !== 1)) {
    throw cairnError("ERR_ENCODING_INVALID", "not a valid base64 string", { field });
  }
  return Buffer.from(t, std ? "base64" : "base64url");
}

export interface PemBlock {
  label: string;
  /** The exact text from `-----BEGIN` through the end of `-----END ...-----`, no surrounding whitespace. */
  text: string;
  headers: Record<string, string>;
  der: Buffer;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Finds every PEM block in a text, in order. */
export function parsePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const label = m[1]!;
    const body = m[2]!;
    const headers: Record<string, string> = {};
    let b64 = body;
    const sep = body.search(/\r?\n\r?\n/);
    if (/^[A-Za-z-]+:/.test(body) && sep >= 0) {
      for (const line of body.slice(0, sep).split(/\r?\n/)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      b64 = body.slice(sep);
    }
    blocks.push({ label, text: m[0], headers, der: fromBase64(b64.replace(/\s+/g, ""), `PEM ${label}`) });
  }
  return blocks;
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
