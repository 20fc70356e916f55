// SPDX-License-Identifier: Apache-2.0
// Test-only builders for in-toto chains in memory, with real keys and real signatures.
import { fixedClock } from "../core/clock.js";
import { generateKey, type PrivateKey } from "../core/keys.js";
import { keySigner } from "../core/signer.js";
import type { VerifyPorts } from "../engines/intoto/verify.js";
import type { Envelope } from "../formats/dsse/envelope.js";
import type { Link } from "../formats/intoto/link.js";
import { linkFileName, newLink } from "../formats/intoto/link.js";
import {
  type Metablock,
  serializeDocument,
  signDsseDocument,
  signMetablock,
} from "../formats/intoto/metablock.js";

const keyCache = new Map<string, PrivateKey>();
/** A deterministic-per-run key by name (generated once, reused across tests). */
export function testKey(name: string, type: "ed25519" | "ecdsa" | "rsa" = "ed25519"): PrivateKey {
  const id = `${name}/${type}`;
  let k = keyCache.get(id);
  if (!k) {
    k = generateKey(type, type === "rsa" ? { bits: 2048 } : {});
    keyCache.set(id, k);
  }
  return k;
}

export const sha = (c: string): { sha256: string } => ({ sha256: c.repeat(64).slice(0, 64) });

/** An in-memory link directory plus verifier ports. */
export class MemoryChain {
  readonly files = new Map<string, Uint8Array>();
  inspections = new Map<string, { link: Link; returnValue: number }>();
  now = "2026-06-01T00:00:00Z";

  ports(): VerifyPorts {
    return {
      readFile: async (p) => this.files.get(p),
      runInspection: async (name) => {
        const r = this.inspections.get(name);
        if (!r) throw new Error(`no inspection result for ${name}`);
        return r;
      },
      clock: fixedClock(this.now),
    };
  }

  put(path: string, doc: Metablock | Envelope): void {
    this.files.set(path, Buffer.from(serializeDocument(doc)));
  }

  async addLink(
    dir: string,
    signer: PrivateKey,
    fields: Partial<Link> & { name: string },
    opts: { format?: "metablock" | "dsse"; fileStep?: string } = {},
  ): Promise<Link> {
    const link = { ...newLink(fields), ...fields } as Link;
    const s = [keySigner(signer)];
    const doc = opts.format === "dsse" ? await signDsseDocument(link, s) : await signMetablock(link, s);
    this.put(`${dir}/${linkFileName(opts.fileStep ?? fields.name, signer.public.keyid)}`, doc);
    return link;
  }
}
