// SPDX-License-Identifier: Apache-2.0
// Signer and Verifier: the seams where key files, environment keys, KMS, hardware and keyless
// (certificate) signers plug in without callers changing.
import { type PrivateKey, type PublicKey, signWith, verifyWith } from "./keys.js";

/** Something that can sign bytes. `keyid` is what envelopes and metablocks record. */
export interface Signer {
  readonly keyid: string;
  /** The public key, when the signer has one to show (a keyless signer may return a certificate instead). */
  readonly publicKey: PublicKey;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A signer backed by a private key held in memory. */
export function keySigner(k: PrivateKey): Signer {
  return {
    keyid: k.public.keyid,
    publicKey: k.public,
    sign: async (data) => signWith(k, data),
  };
}

/** Something that can check a signature made under a key id: key rings now, certificate verifiers later. */
export interface Verifier {
  /** True only when `sig` is a valid signature over `data` by the key named `keyid`. Never throws for a bad signature. */
  verify(keyid: string, data: Uint8Array, sig: Uint8Array): boolean;
}

/** Trusted keys by key id; a key may be registered under several ids (legacy and modern formulas). */
export class KeyRing implements Verifier {
  private readonly byId = new Map<string, PublicKey>();
  constructor(keys: Iterable<PublicKey> = []) {
    for (const k of keys) this.add(k);
  }
  add(k: PublicKey, keyid: string = k.keyid): void {
    this.byId.set(keyid, k);
  }
  get(keyid: string): PublicKey | undefined {
    return this.byId.get(keyid);
  }
  has(keyid: string): boolean {
    return this.byId.has(keyid);
  }
  get size(): number {
    return this.byId.size;
  }
  ids(): string[] {
    return [...this.byId.keys()];
  }
  /** Verifies `sig` over `data` with the key named `keyid`; false when the key is unknown. */
  verify(keyid: string, data: Uint8Array, sig: Uint8Array): boolean {
    const k = this.byId.get(keyid);
    return k !== undefined && verifyWith(k, data, sig);
  }
}
