// SPDX-License-Identifier: Apache-2.0
// The canonical JSON transcoder over bytes must never disagree with canonicalBytes(JSON.parse(text)):
// a disagreement would let a signature over one document vouch for another. Properties over
// arbitrary values, spellings (escapes, whitespace) and mutated bytes; refusals; a Python-written file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalBytes, compareCodePoints } from "./canonical.js";
import {
  canonicalFromJsonBytes,
  canonicalSignedFromMetablockBytes,
  scanCanonicalJson,
} from "./canonical-bytes.js";

const PYTHON = "/usr/bin/python3";

const utf8 = (s: string) => Buffer.from(s, "utf8");

/** What the slow path computes; throws when the text is not JSON or has no canonical form. */
function slow(bytes: Uint8Array): Buffer {
  return canonicalBytes(JSON.parse(Buffer.from(bytes).toString("utf8")));
}

/** The safety property: whenever the transcoder answers, the answer is the slow path's. */
function assertAgrees(bytes: Uint8Array): Buffer | undefined {
  const fast = canonicalFromJsonBytes(bytes);
  if (fast !== undefined) {
    let expected: Buffer;
    try {
      expected = slow(bytes);
    } catch (e) {
      assert.fail(
        `transcoded ${JSON.stringify(Buffer.from(bytes).toString("latin1"))} which the slow path refuses: ${e}`,
      );
    }
    assert.deepEqual(fast, expected, `input ${JSON.stringify(Buffer.from(bytes).toString("latin1"))}`);
  }
  return fast;
}

function sortedDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedDeep);
  if (typeof v === "object" && v !== null) {
    const obj = v as Record<string, unknown>;
    // fromEntries defines fields: a "__proto__" key (fast-check generates it) stays a key.
    return Object.fromEntries(
      Object.keys(obj)
        .sort(compareCodePoints)
        .map((k) => [k, sortedDeep(obj[k])]),
    );
  }
  return v;
}

/** A small deterministic generator for serializer choices. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SHORT: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function u4(code: number, upper: boolean): string {
  const h = code.toString(16).padStart(4, "0");
  return `\\u${upper ? h.toUpperCase() : h}`;
}

/** A JSON string literal spelled with randomly chosen (valid) escapes for any of its characters. */
function spellString(s: string, r: () => number): string {
  let out = '"';
  // By code point: an astral character is written raw or as a whole surrogate pair of escapes.
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const pick = r();
    if (c < 0x20 || ch === '"' || ch === "\\") {
      out += pick < 0.5 && SHORT[ch] ? SHORT[ch] : u4(c, pick < 0.75);
    } else if (pick < 0.15) {
      out +=
        c > 0xffff
          ? `${u4(ch.charCodeAt(0), pick < 0.07)}${u4(ch.charCodeAt(1), pick < 0.1)}`
          : u4(c, pick < 0.07);
    } else if (ch === "/" && pick < 0.5) out += "\\/";
    else out += ch;
  }
  return `${out}"`;
}

const WS = [" ", "\n", "\r", "\t", "  ", "\n "];
function ws(r: () => number): string {
  return r() < 0.5 ? "" : WS[Math.floor(r() * WS.length)]!;
}

/** Serializes with keys in the value's own order, random escapes and random insignificant whitespace. */
function spell(v: unknown, r: () => number): string {
  if (v === null || typeof v === "boolean" || typeof v === "number") return JSON.stringify(v);
  if (typeof v === "string") return spellString(v, r);
  if (Array.isArray(v)) return `[${ws(r)}${v.map((x) => spell(x, r) + ws(r)).join(`,${ws(r)}`)}]`;
  const obj = v as Record<string, unknown>;
  const parts = Object.keys(obj).map(
    (k) => `${spellString(k, r)}${ws(r)}:${ws(r)}${spell(obj[k], r)}${ws(r)}`,
  );
  return `{${ws(r)}${parts.join(`,${ws(r)}`)}}`;
}

/** Any code point, astral ones included; no lone surrogates. */
const anyString = fc.string({ unit: "binary", maxLength: 10 });
/** Characters where orders and escapes are interesting. */
const trickyChar = fc.constantFrom(
  '"',
  "\\",
  "/",
  "\n",
  "\u0000",
  "\u001f",
  "\u007f",
  "a",
  "b",
  "é",
  "\u2028",
  "\uE000",
  "\uFFFF",
  "\uFFFD",
  "\u{10000}",
  "\u{1F600}",
  "\u{10FFFF}",
);
const trickyString = fc.string({ unit: trickyChar, maxLength: 6 });
const keyString = fc.oneof(anyString, trickyString);
const safeInt = fc.oneof(
  fc.integer(),
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }),
  fc.constantFrom(0, -0, 1, -1, 999_999_999_999_999, -999_999_999_999_999),
);

const jsonValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    safeInt,
    fc.oneof(anyString, trickyString),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(keyString, tie("value"), { maxKeys: 6 }),
  ),
})).value;

/** Anything JSON.stringify can write, lone surrogates, big integers and floats included. */
const wildValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.maxSafeInteger(),
    fc.string({ unit: "grapheme-composite", maxLength: 6 }),
    fc.string({
      unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)),
      maxLength: 4,
    }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("value"), { maxKeys: 5 }),
  ),
})).value;

/** An object with at least two distinct keys, somewhere inside a value. */
const objectWithTwoKeys = fc
  .uniqueArray(fc.tuple(keyString, jsonValue), { selector: (e) => e[0], minLength: 2, maxLength: 6 })
  .map((es) => es.sort((a, b) => compareCodePoints(a[0], b[0])));

/** Bytes of JSON's alphabet, a few UTF-8 lead and continuation bytes, and NUL. */
const byte = fc.constantFrom(
  ...Buffer.from('{}[],:"\\u0123456789-.eE+ \ntruefalsn/abdDF'),
  0x80,
  0xc3,
  0xa9,
  0xed,
  0xa0,
  0x00,
);

describe("canonicalFromJsonBytes agrees with canonicalBytes(JSON.parse(...))", () => {
  it("on JSON.stringify of key-sorted values, indented or not, and is defined for them", () => {
    fc.assert(
      fc.property(jsonValue, fc.constantFrom(undefined, 0, 1, 2, "\t"), (v, indent) => {
        const text = JSON.stringify(sortedDeep(v), null, indent);
        const fast = canonicalFromJsonBytes(utf8(text));
        assert.ok(fast !== undefined, `not transcoded: ${text}`);
        assert.deepEqual(fast, canonicalBytes(v));
      }),
      { numRuns: 1000 },
    );
  });

  it("on random spellings: escapes for any character, \\u in either case, \\/, whitespace anywhere", () => {
    fc.assert(
      fc.property(jsonValue, fc.integer(), (v, seed) => {
        const text = spell(sortedDeep(v), rng(seed));
        const fast = canonicalFromJsonBytes(utf8(text));
        assert.ok(fast !== undefined, `not transcoded: ${text}`);
        assert.deepEqual(fast, canonicalBytes(v));
      }),
      { numRuns: 1000 },
    );
  });

  it("whenever it answers for anything JSON.stringify writes (floats, big integers, lone surrogates)", () => {
    fc.assert(
      fc.property(wildValue, fc.constantFrom(undefined, 1), (v, indent) => {
        assertAgrees(utf8(JSON.stringify(sortedDeep(v), null, indent)));
      }),
      { numRuns: 1000 },
    );
  });

  it("whenever it answers for mutated bytes (inserted, replaced, deleted)", () => {
    const interesting = fc.constantFrom(
      ...[
        0x22, 0x5c, 0x75, 0x2f, 0x30, 0x31, 0x39, 0x2d, 0x2e, 0x65, 0x45, 0x2b, 0x20, 0x0a, 0x7b, 0x7d, 0x5b,
        0x5d,
      ],
      ...[
        0x2c, 0x3a, 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc3, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
      ],
      ...[0x61, 0x64, 0x44, 0x66, 0x74, 0x6e],
    );
    const edit = fc.tuple(fc.constantFrom("insert", "replace", "delete"), fc.nat(), interesting);
    fc.assert(
      fc.property(
        jsonValue,
        fc.integer(),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        (v, seed, edits) => {
          const bytes = [...utf8(spell(sortedDeep(v), rng(seed)))];
          for (const [op, at, b] of edits) {
            const i = at % (bytes.length + 1);
            if (op === "insert") bytes.splice(i, 0, b);
            else if (op === "replace") bytes.splice(i, 1, b);
            else bytes.splice(i, 1);
          }
          assertAgrees(Uint8Array.from(bytes));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("whenever it answers for short random byte strings over JSON's alphabet", () => {
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => {
        assertAgrees(Uint8Array.from(bytes));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("canonicalFromJsonBytes gives up on what is not the easy form", () => {
  it("returns undefined for unsorted keys, anywhere in the document", () => {
    fc.assert(
      fc.property(objectWithTwoKeys, fc.integer(), fc.nat(), (entries, seed, swap) => {
        // Swap two keys' places so that the order is no longer strictly increasing.
        const es = [...entries];
        const i = swap % (es.length - 1);
        [es[i], es[i + 1]] = [es[i + 1]!, es[i]!];
        const r = rng(seed);
        const obj = `{${es.map(([k, v]) => `${spellString(k, r)}:${spell(sortedDeep(v), r)}`).join(",")}}`;
        for (const text of [obj, `[1,${obj}]`, `{"a":{"b":${obj}}}`]) {
          assert.equal(canonicalFromJsonBytes(utf8(text)), undefined, text);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("returns undefined for duplicate keys, however they are spelled", () => {
    fc.assert(
      fc.property(keyString, jsonValue, jsonValue, fc.integer(), (k, a, b, seed) => {
        const r = rng(seed);
        const text = `{${spellString(k, r)}:${spell(sortedDeep(a), r)},${spellString(k, r)}:${spell(sortedDeep(b), r)}}`;
        assert.equal(canonicalFromJsonBytes(utf8(text)), undefined, text);
        assert.equal(canonicalFromJsonBytes(utf8(`{"":[${text}]}`)), undefined, text);
      }),
      { numRuns: 500 },
    );
  });

  const refusals: [string, string | Uint8Array][] = [
    ["duplicate keys", '{"a":1,"a":1}'],
    ["duplicate keys, one escaped", '{"a":1,"\\u0061":2}'],
    ["duplicate non-ASCII keys, one escaped", '{"é":1,"\\u00e9":2}'],
    ["unsorted keys", '{"b":1,"a":2}'],
    ["unsorted by code point (U+1F600 after U+FFFF)", '{"\\ud83d\\ude00":1,"\\uffff":2}'],
    ["unsorted only once unescaped", '{"a#":1,"a\\"":2}'],
    ["-0", "-0"],
    ["-0 inside", '{"a":[-0]}'],
    ["a fraction", "1.0"],
    ["an exponent", "1e5"],
    ["an upper-case exponent", "[1E5]"],
    ["a leading zero", "012"],
    ["a 16-digit integer", "1234567890123456"],
    ["a plus sign", "+1"],
    ["a lone high surrogate escape", '"\\ud800"'],
    ["a lone low surrogate escape", '"\\udc00"'],
    ["a high surrogate before a non-surrogate", '"\\ud800\\u0041"'],
    ["reversed surrogates", '"\\udc00\\ud800"'],
    ["a high surrogate before a private-use escape", '"\\ud800\\ue000"'],
    ["a high surrogate before a raw low surrogate's text", '"\\ud800udc00"'],
    ["a bad escape", '"\\x41"'],
    ["a short \\u escape", '"\\u12"'],
    ["a raw control character", '"a\u0001b"'],
    ["a raw newline in a string", '"a\nb"'],
    ["a byte order mark", "\ufeff{}"],
    ["trailing garbage", "{} x"],
    ["two values", "1 2"],
    ["a trailing comma", "[1,]"],
    ["a trailing comma in an object", '{"a":1,}'],
    ["empty input", ""],
    ["only whitespace", " \n"],
    ["an unterminated string", '"abc'],
    ["an unterminated object", '{"a":1'],
    ["a single-quoted string", "'a'"],
    ["a bare word", "True"],
    ["a truncated literal", "nul"],
    ["NaN", "NaN"],
    ["a non-string key", "{1:2}"],
    ["a missing colon", '{"a" 1}'],
    ["form feed as whitespace", "\f1"],
    ["an overlong encoding", Uint8Array.from([0x22, 0xc0, 0x80, 0x22])],
    ["an overlong 3-byte encoding", Uint8Array.from([0x22, 0xe0, 0x80, 0x80, 0x22])],
    ["an encoded surrogate", Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ["a code point above U+10FFFF", Uint8Array.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22])],
    ["a stray continuation byte", Uint8Array.from([0x22, 0x80, 0x22])],
    ["a truncated sequence", Uint8Array.from([0x22, 0xc3, 0x22])],
    ["a truncated sequence at the end", Uint8Array.from([0x22, 0xf0, 0x9f, 0x98])],
    ["0xff", Uint8Array.from([0x22, 0xff, 0x22])],
    ["non-ASCII outside strings", Uint8Array.from([0x5b, 0xc3, 0xa9, 0x5d])],
  ];
  for (const [name, input] of refusals) {
    it(`returns undefined for ${name}`, () => {
      const bytes = typeof input === "string" ? utf8(input) : input;
      assert.equal(canonicalFromJsonBytes(bytes), undefined);
    });
  }

  it("keeps a __proto__ key as a key, and in order", () => {
    assert.equal(canonicalFromJsonBytes(utf8('{"a":2,"__proto__":{"b":1}}')), undefined);
    const text = '{"__proto__":{"b":1},"z":2}';
    assert.deepEqual(canonicalFromJsonBytes(utf8(text)), slow(utf8(text)));
  });

  it("gives up on nesting deeper than it follows", () => {
    assert.equal(canonicalFromJsonBytes(utf8(`${"[".repeat(200)}${"]".repeat(200)}`)), undefined);
    assert.deepEqual(
      canonicalFromJsonBytes(utf8(`${"[".repeat(100)}${"]".repeat(100)}`)),
      utf8(`${"[".repeat(100)}${"]".repeat(100)}`),
    );
  });
});

describe("canonicalFromJsonBytes literal vectors", () => {
  const cases: [string, string][] = [
    ['{ "a" : [ 1 , true , false , null ] , "b" : {} }', '{"a":[1,true,false,null],"b":{}}'],
    ['"\\/\\b\\f\\n\\r\\t\\"\\\\"', '"/\b\f\n\r\t\\"\\\\"'],
    ['"\\u00e9\\u00E9\\ud83d\\ude00\\uD83D\\uDE00\\u0000\\u0022\\u005c"', '"éé😀😀\u0000\\"\\\\"'],
    ['{"a\\"":1,"a#":2}', '{"a\\"":1,"a#":2}'],
    ['{"\\uffff":1,"\\ud83d\\ude00":2}', '{"\uffff":1,"😀":2}'],
    ['{"":0,"\\u0000":1}', '{"":0,"\u0000":1}'],
    ["[0,-1,999999999999999,-999999999999999]", "[0,-1,999999999999999,-999999999999999]"],
    ['"\u2028\u2029\ufeff"', '"\u2028\u2029\ufeff"'],
  ];
  for (const [input, expected] of cases) {
    it(`transcodes ${JSON.stringify(input)}`, () => {
      assert.deepEqual(canonicalFromJsonBytes(utf8(input)), utf8(expected));
      assert.deepEqual(canonicalFromJsonBytes(utf8(input)), slow(utf8(input)));
    });
  }
});

describe("canonicalSignedFromMetablockBytes", () => {
  it("is the canonical JSON of the document's signed member", () => {
    fc.assert(
      fc.property(
        jsonValue,
        fc.array(fc.record({ keyid: fc.string(), sig: fc.string() }), { maxLength: 3 }),
        fc.integer(),
        (signed, sigs, seed) => {
          const text = spell(sortedDeep({ signed, signatures: sigs }), rng(seed));
          assert.deepEqual(
            canonicalSignedFromMetablockBytes(utf8(text)),
            canonicalBytes(JSON.parse(text).signed),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  const refusals: [string, string][] = [
    ["a third member", '{"signatures":[],"signed":{},"x":1}'],
    ["a member before", '{"a":1,"signatures":[],"signed":{}}'],
    ["no signatures", '{"signed":{}}'],
    ["no signed", '{"signatures":[]}'],
    ["members in the wrong order", '{"signed":{},"signatures":[]}'],
    ["a duplicate signed", '{"signatures":[],"signed":{"a":1},"signed":{"a":2}}'],
    ["an array", '[{"signatures":[],"signed":{}}]'],
    ["an escaped name that is not the name", '{"signatures":[],"signed\\u0000":{}}'],
    ["a float inside", '{"signatures":[],"signed":{"a":1.5}}'],
  ];
  for (const [name, text] of refusals) {
    it(`returns undefined for ${name}`, () => {
      assert.equal(canonicalSignedFromMetablockBytes(utf8(text)), undefined);
    });
  }

  it("accepts escaped member names that decode to the names", () => {
    const text = '{"\\u0073ignatures":[],"sign\\u0065d":{"b":"\\u00e9"}}';
    assert.deepEqual(canonicalSignedFromMetablockBytes(utf8(text)), utf8('{"b":"é"}'));
  });
});

/** True when the slow path's canonical form of `bytes` is `bytes` itself. */
function isOwnCanonicalForm(bytes: Uint8Array): boolean {
  try {
    return slow(bytes).equals(bytes);
  } catch {
    return false;
  }
}

/** Whether a value has a string (key or value) with a quote, a backslash or a control character. */
const NEEDS_ESCAPES = /["\\\u0000-\u001f]/;
function needsEscapes(v: unknown): boolean {
  if (typeof v === "string") return NEEDS_ESCAPES.test(v);
  if (Array.isArray(v)) return v.some(needsEscapes);
  if (typeof v === "object" && v !== null)
    return Object.entries(v).some(([k, x]) => NEEDS_ESCAPES.test(k) || needsEscapes(x));
  return false;
}

describe("scanCanonicalJson: text that is its own canonical form, recognized without a copy", () => {
  it("is defined exactly when re-encoding the parsed text gives the text (texts without escapes or controls)", () => {
    fc.assert(
      fc.property(
        jsonValue,
        fc.integer(),
        fc.constantFrom("canonical", "spelled", "stringify"),
        (v, seed, how) => {
          const text =
            how === "canonical"
              ? canonicalBytes(v)
              : utf8(how === "spelled" ? spell(sortedDeep(v), rng(seed)) : JSON.stringify(v));
          const escapesOrControls = text.includes(0x5c) || text.some((b) => b < 0x20);
          const scan = scanCanonicalJson(text);
          if (scan !== undefined) assert.ok(isOwnCanonicalForm(text), text.toString("latin1"));
          if (!escapesOrControls) assert.equal(scan !== undefined, isOwnCanonicalForm(text), text.toString());
          if (how === "canonical" && !needsEscapes(v)) assert.ok(scan !== undefined, text.toString());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("whenever it answers for mutated bytes and short random byte strings", () => {
    fc.assert(
      fc.property(jsonValue, fc.array(fc.tuple(fc.nat(), byte), { maxLength: 3 }), (v, edits) => {
        const bytes = [...canonicalBytes(v)];
        for (const [at, b] of edits) bytes.splice(at % (bytes.length + 1), at % 2, b);
        const u = Uint8Array.from(bytes);
        if (scanCanonicalJson(u) !== undefined)
          assert.ok(isOwnCanonicalForm(u), Buffer.from(u).toString("latin1"));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => {
        const u = Uint8Array.from(bytes);
        if (scanCanonicalJson(u) !== undefined)
          assert.ok(isOwnCanonicalForm(u), Buffer.from(u).toString("latin1"));
      }),
      { numRuns: 5000 },
    );
  });

  it("gives the members of the object at a key path as byte ranges, in order", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 6 }), jsonValue, { maxKeys: 8 }),
        jsonValue,
        (meta, other) => {
          const doc = { signatures: [], signed: { a: other, meta, z: [meta] } };
          if (needsEscapes(doc)) return;
          const text = canonicalBytes(doc);
          const scan = scanCanonicalJson(text, ["signed", "meta"]);
          assert.ok(scan?.collected !== undefined);
          const { start, end, members, count } = scan.collected;
          assert.deepEqual(
            JSON.parse(text.subarray(start, end).toString()),
            JSON.parse(JSON.stringify(meta)),
          );
          const keys = Object.keys(meta).sort(compareCodePoints);
          assert.equal(count, keys.length);
          for (let i = 0; i < count; i++) {
            const [ks, ke, vs, ve] = members.subarray(i * 4, i * 4 + 4);
            assert.equal(text.subarray(ks!, ke!).toString(), keys[i]);
            assert.deepEqual(
              JSON.parse(text.subarray(vs!, ve!).toString()),
              JSON.parse(JSON.stringify(meta[keys[i]!])),
            );
          }
          // The range of "signed" is what the signatures cover.
          assert.deepEqual(canonicalSignedFromMetablockBytes(text), canonicalBytes(doc.signed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("flags plainMember's matches in files larger than its window: sound always, complete for short values", () => {
    // The expression sees a window of the file (64 KiB, slid along when under 4 KiB is left): a
    // value it matches must match in the whole file, and a value cut off by the window's end is
    // scanned token by token (not flagged, but still collected and checked).
    const plainRe = /\{"v":"[a-z]*"\}/y;
    const anchored = /^\{"v":"[a-z]*"\}$/;
    fc.assert(
      // 3,000 entries (about 200 KiB and more): most short and plain, so that the window's end falls
      // inside short values; some not plain, some longer than what the window keeps ahead, some
      // longer than the window.
      fc.property(fc.integer(), (seed) => {
        const r = rng(seed);
        const meta: Record<string, unknown> = {};
        for (let i = 0; i < 3000; i++) {
          const x = r();
          const n = Math.floor(r() * 90);
          const letters = "q".repeat(x < 0.02 ? 4000 + n * 30 : x < 0.023 ? 70_000 + n : n);
          meta[`k${String(i).padStart(4, "0")}`] = x > 0.9 ? { v: letters, w: 1 } : { v: letters };
        }
        const text = canonicalBytes({ signatures: [], signed: { meta } });
        const scan = scanCanonicalJson(text, ["signed", "meta"], plainRe);
        assert.ok(scan?.collected !== undefined);
        const { members, count, plain } = scan.collected;
        assert.equal(count, 3000);
        for (let i = 0; i < count; i++) {
          const value = text.toString("latin1", members[i * 4 + 2]!, members[i * 4 + 3]!);
          assert.deepEqual(JSON.parse(value), meta[`k${String(i).padStart(4, "0")}`]);
          if (plain[i] === 1) assert.match(value, anchored, `entry ${i} flagged`);
          if (value.length < 4096) assert.equal(plain[i] === 1, anchored.test(value), `entry ${i}`);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("collects nothing when the path leads to no object", () => {
    for (const text of [
      '{"signed":{"meta":[1]}}',
      '{"signed":{"metax":{"a":1}}}',
      '{"meta":{"a":1}}',
      '{"signed":[{"meta":{}}]}',
    ]) {
      const scan = scanCanonicalJson(utf8(text), ["signed", "meta"]);
      assert.ok(scan !== undefined, text);
      assert.equal(scan.collected, undefined, text);
    }
  });

  const refusals: [string, string | Uint8Array][] = [
    ["whitespace between tokens", '{"a": 1}'],
    ["a trailing newline", '{"a":1}\n'],
    ["an escape that canonical JSON keeps", '{"a":"\\""}'],
    ["an escape canonical JSON drops", '{"a":"\\u0041"}'],
    ["unsorted keys", '{"b":1,"a":2}'],
    ["duplicate keys", '{"a":1,"a":1}'],
    ["-0", "[-0]"],
    ["a leading zero", "[01]"],
    ["a 16-digit integer", "1234567890123456"],
    ["a fraction", "[1.5]"],
    ["a raw control character", '"a\u0001b"'],
    ["an encoded surrogate", Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])],
    ["empty input", ""],
    ["nesting deeper than it follows", `${"[".repeat(200)}${"]".repeat(200)}`],
  ];
  for (const [name, input] of refusals) {
    it(`returns undefined for ${name}`, () => {
      assert.equal(scanCanonicalJson(typeof input === "string" ? utf8(input) : input), undefined);
    });
  }
});

const pythonMissing =
  spawnSync(PYTHON, ["-c", "import securesystemslib.formats"], { encoding: "utf8" }).status === 0
    ? false
    : "needs /usr/bin/python3 with securesystemslib (Debian python3-securesystemslib)";

describe("canonicalFromJsonBytes on a file Python wrote", () => {
  it("has the reference to compare with (scripts/test.sh installs it)", () =>
    assert.equal(pythonMissing, false));
  it("equals securesystemslib.formats.encode_canonical of json.dumps(sort_keys=True, indent=1) (ensure_ascii)", () => {
    // As in-toto's Metablock.dump writes links and layouts; the expected bytes come from securesystemslib.
    const script = [
      "import json, sys",
      "from securesystemslib.formats import encode_canonical",
      "doc = {'signatures': [{'keyid': 'ab', 'sig': 'cd'}], 'signed': {",
      "  '_type': 'link', 'name': 'st\\u00e9p \"q\" \\\\ /', 'command': ['echo', '\\u4e2d\\u6587', '\\U0001F600'],",
      "  'materials': {'src/\\u00e9.c': {'sha256': 'ab' * 32}, 'src/\\U0001D11E': {'sha512': 'cd' * 64},",
      "                '\\ue000': {'sha256': '00'}, 'tab\\there': {'sha256': '11'}},",
      "  'products': {}, 'byproducts': {'return-value': 0, 'stderr': 'x\\r\\n\\u0001\\u001f\\u007f', 'n': -42},",
      "  'environment': {'\\U0010FFFF': None, 'a': True, 'b': False, 'c': [], 'd': [1, [2, {}]]}}}",
      "text = json.dumps(doc, sort_keys=True, indent=1)",
      "sys.stdout.write(json.dumps({'text': text, 'canonical': encode_canonical(doc['signed'])}))",
    ].join("\n");
    const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const { text, canonical } = JSON.parse(r.stdout) as { text: string; canonical: string };
    assert.ok(/^[\x00-\x7f]*$/.test(text), "ensure_ascii output");
    assert.ok(text.includes("\\ud83d\\ude00"), "astral characters as surrogate pair escapes");
    const got = canonicalSignedFromMetablockBytes(utf8(text));
    assert.ok(got !== undefined);
    assert.deepEqual(got, utf8(canonical));
  });
});
