// SPDX-License-Identifier: Apache-2.0
// Byte strings crossing between threads (the SQLite writer thread, the verify threads) in one
// transferred buffer instead of structured-cloned Buffers.
/**
 * Byte strings packed into one buffer, transferred to or from a thread rather than cloned: a cloned
 * Buffer takes its whole backing store along (a 32-byte hash sliced from Node's 8 KiB pool
 * costs 8 KiB), and one transfer replaces a copy per entry.
 */
export interface Packed {
  bytes: ArrayBuffer;
  /** Where each string ends in `bytes` (it starts where the previous one ends). */
  ends: number[];
}

/** Packs byte strings for another thread (`unpack` reads them back there, as Buffers over `bytes`). */
export function pack(items: readonly Uint8Array[]): Packed {
  let total = 0;
  for (const b of items) total += b.byteLength;
  const bytes = new Uint8Array(total);
  const ends: number[] = [];
  let at = 0;
  for (const b of items) {
    bytes.set(b, at);
    at += b.byteLength;
    ends.push(at);
  }
  return { bytes: bytes.buffer, ends };
}

/** The byte strings of `pack`, as Buffers viewing the transferred buffer (no copies). */
export function unpack(p: Packed): Buffer[] {
  let start = 0;
  return p.ends.map((end) => {
    const b = Buffer.from(p.bytes, start, end - start);
    start = end;
    return b;
  });
}
