// SPDX-License-Identifier: Apache-2.0
// Text rules shared by signed notes and checkpoints (C2SP signed-note "Format"): valid UTF-8, no
// ASCII control characters but newline, and standard base64 (RFC 4648 section 4) read canonically.
// Internal to src/formats/tlog: not exported from index.ts.

// ASCII controls below U+0020 other than newline (signed-note "Format").
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why a note text is unacceptable, or undefined when it is fine. */
export function noteTextProblem(s: string): string | undefined {
  if (!s.isWellFormed()) return "is not valid Unicode (lone surrogate)";
  if (CONTROL.test(s)) return "contains an ASCII control character other than newline";
  return undefined;
}

/**
 * Decodes standard, padded base64 and refuses any other spelling of the same bytes (URL-safe
 * alphabet, missing padding, non-zero padding bits), so serializing again gives the same text.
 */
export function decodeStdBase64(s: string): Buffer | undefined {
  if (!STD_B64.test(s)) return undefined;
  const b = Buffer.from(s, "base64");
  return b.toString("base64") === s ? b : undefined;
}
