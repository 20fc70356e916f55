// SPDX-License-Identifier: Apache-2.0
// Metablocks read from bytes: the canonical JSON of "signed" taken straight from the file must lead
// to exactly the verdict the slow path (canonicalize the parsed object) reaches, for every spelling,
// tampering and key order. And serializeDocument's key order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalBytes, compareCodePoints } from "../../core/canonical.js";
import { KeyRing, keySigner } from "../../core/signer.js";
import { testKey } from "../../testing/intoto.js";
import {
  type Metablock,
  parseSignedDocument,
  readSignedDocument,
  serializeDocument,
  signMetablock,
  verifySignedDocument,
} from "./metablock.js";

const key = testKey("metablock-test");
const ring = new KeyRing([key.public]);

function verdict(doc: ReturnType<typeof parseSignedDocument>): string {
  try {
    return `ok ${JSON.stringify(verifySignedDocument(doc, ring, 1).keyids)}`;
  } catch (e) {
    return `refused ${(e as { code?: string }).code}`;
  }
}

/** The verdict through the byte fast path, checked against the verdict through the parsed object. */
function checkBoth(bytes: Uint8Array): string {
  let fast: string;
  let slow: string;
  try {
    fast = verdict(readSignedDocument(bytes, "x.link"));
  } catch (e) {
    fast = `unreadable ${(e as { code?: string }).code}`;
  }
  try {
    slow = verdict(parseSignedDocument(JSON.parse(Buffer.from(bytes).toString("utf8")), "x.link"));
  } catch (e) {
    slow = `unreadable ${(e as { code?: string }).code ?? "SyntaxError"}`;
  }
  if (!fast.startsWith("unreadable")) assert.equal(fast, slow, Buffer.from(bytes).toString("utf8"));
  return fast;
}

const signedValue = fc.record({
  _type: fc.constant("link"),
  name: fc.string({ unit: "binary", maxLength: 8 }),
  command: fc.array(fc.string({ unit: "binary", maxLength: 6 }), { maxLength: 3 }),
  materials: fc.dictionary(
    fc.string({ unit: "binary", maxLength: 8 }),
    fc.record({ sha256: fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 1 }) }),
    {
      maxKeys: 5,
    },
  ),
  byproducts: fc.record({ "return-value": fc.integer(), stdout: fc.string({ maxLength: 6 }) }),
  environment: fc.dictionary(
    fc.string({ maxLength: 4 }),
    fc.oneof(fc.string({ unit: "binary", maxLength: 4 }), fc.integer(), fc.boolean(), fc.constant(null)),
    { maxKeys: 3 },
  ),
});

describe("readSignedDocument + verifySignedDocument", () => {
  it("verifies what signMetablock signed and serializeDocument wrote", async () => {
    const mb = await signMetablock({ _type: "link", name: "build", materials: { "a/é": { sha256: "ab" } } }, [
      keySigner(key),
    ]);
    const bytes = Buffer.from(serializeDocument(mb));
    assert.equal(checkBoth(bytes), `ok ${JSON.stringify([key.public.keyid])}`);
  });

  it("reaches the slow path's verdict for random links, spellings and single-byte tamperings", async () => {
    await fc.assert(
      fc.asyncProperty(
        signedValue,
        fc.constantFrom(0, 1, 2),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        async (signed, indent, at, byte) => {
          const mb = await signMetablock(signed, [keySigner(key)]);
          const good = Buffer.from(indent === 1 ? serializeDocument(mb) : JSON.stringify(mb, null, indent));
          assert.ok(checkBoth(good).startsWith("ok"));
          const bad = Buffer.from(good);
          bad[at % bad.length] = byte;
          checkBoth(bad);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("verifies a file whose keys are not in order (the slow path) and refuses it once tampered", async () => {
    const signed = { name: "b", _type: "link", materials: { z: { sha256: "00" }, a: { sha256: "11" } } };
    const mb = await signMetablock(signed, [keySigner(key)]);
    const text = JSON.stringify({ signed: mb.signed, signatures: mb.signatures });
    assert.ok(checkBoth(Buffer.from(text)).startsWith("ok"));
    assert.equal(checkBoth(Buffer.from(text.replace('"11"', '"12"'))), "refused ERR_SIGNATURE_INVALID");
  });

  it("verifies ensure_ascii spellings (as Python writes) of the signed bytes", async () => {
    const mb = await signMetablock({ _type: "link", name: 'é😀"\\/\n', command: ["\u0001"] }, [
      keySigner(key),
    ]);
    const ascii = serializeDocument(mb).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    assert.ok(/^[\x00-\x7f]*$/.test(ascii));
    assert.ok(checkBoth(Buffer.from(ascii)).startsWith("ok"));
  });

  it("follows JSON.parse on a duplicate signed member: the last one is what is checked and returned", async () => {
    const mb = await signMetablock({ _type: "link", name: "real" }, [keySigner(key)]);
    const sigs = JSON.stringify(mb.signatures);
    const signedText = JSON.stringify(mb.signed);
    // The signed object first, a forged one last: JSON.parse keeps the forgery, which must fail.
    const forged = `{"signatures":${sigs},"signed":${signedText},"signed":{"_type":"link","name":"forged"}}`;
    assert.equal(checkBoth(Buffer.from(forged)), "refused ERR_SIGNATURE_INVALID");
    const benign = `{"signatures":${sigs},"signed":{"_type":"link","name":"forged"},"signed":${signedText}}`;
    const doc = readSignedDocument(Buffer.from(benign));
    assert.equal(verifySignedDocument(doc, ring).signed.name, "real");
  });

  it("does not take the bytes' word for a signed object replaced after reading", async () => {
    const mb = await signMetablock({ _type: "link", name: "real" }, [keySigner(key)]);
    const doc = readSignedDocument(Buffer.from(serializeDocument(mb)));
    assert.equal(doc.format, "metablock");
    (doc as { metablock: Metablock }).metablock.signed = { _type: "link", name: "swapped" };
    assert.throws(() => verifySignedDocument(doc, ring), { code: "ERR_SIGNATURE_INVALID" });
  });

  it("refuses a document with an extra top-level member only if the signature does (slow path)", async () => {
    const mb = await signMetablock({ _type: "link", name: "x" }, [keySigner(key)]);
    const text = `{"extra":1,"signatures":${JSON.stringify(mb.signatures)},"signed":${JSON.stringify(mb.signed)}}`;
    assert.ok(checkBoth(Buffer.from(text)).startsWith("ok"));
  });
});

describe("serializeDocument", () => {
  const sortedDeep = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortedDeep);
    if (typeof v === "object" && v !== null) {
      const obj = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(obj)
          .sort(compareCodePoints)
          .map((k) => [k, sortedDeep(obj[k])]),
      );
    }
    return v;
  };

  it("writes every object's keys in code point order, indent 1, and parses back to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), (signed, extra) => {
        const doc = { signed: { x: signed, "\u{1F600}": extra, "\uE000": 1, b: [signed] }, signatures: [] };
        const before = JSON.stringify(doc);
        const text = serializeDocument(doc as unknown as Metablock);
        assert.equal(JSON.stringify(doc), before, "the input is not modified");
        assert.equal(text, `${JSON.stringify(sortedDeep(doc), null, 1)}\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a __proto__ key as a key", () => {
    const signed = JSON.parse('{"z":1,"__proto__":{"b":1,"a":2}}') as Record<string, unknown>;
    const text = serializeDocument({ signed, signatures: [] });
    assert.deepEqual(canonicalBytes(JSON.parse(text).signed), canonicalBytes(signed));
    assert.ok(text.indexOf('"__proto__"') < text.indexOf('"z"'));
  });
});
