// SPDX-License-Identifier: Apache-2.0
// Canonical JSON (OLPC, as securesystemslib.formats.encode_canonical writes it): fixed vectors checked
// against the reference at test time, literal vectors, refusals, and properties.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { canonicalize as tufCanonicalize } from "@tufjs/canonical-json";
import fc from "fast-check";
import { canonicalBytes, canonicalize, compareCodePoints } from "./canonical.js";
import { CairnError } from "./errors.js";

const PYTHON = "/usr/bin/python3";

/** Runs a Python script with securesystemslib importable; `input` goes in as JSON on stdin, stdout is parsed as JSON. */
function runPython(script: string, input: unknown): unknown {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== "PYTHONPATH" && k !== "PYTHONHOME"),
  );
  const r = spawnSync(PYTHON, ["-c", script], {
    input: JSON.stringify(input),
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const pythonMissing =
  spawnSync(PYTHON, ["-c", "import securesystemslib.formats"], { encoding: "utf8" }).status === 0
    ? false
    : "needs /usr/bin/python3 with securesystemslib (Debian python3-securesystemslib)";

/** Vectors whose expected output comes from securesystemslib.formats.encode_canonical (0.26). No lone surrogates: Python cannot print them. */
const VECTORS: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  42,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  "",
  "plain",
  'he said "hi" \\ and left \\"',
  "control: \u0000\u0001\u0008\t\n\u000b\f\r\u001f\u007f end",
  "line separators \u2028 \u2029 and BOM \ufeff",
  "unicode é ü 中文 😀 𝄞",
  [],
  {},
  [1, [2, [3, []]], {}],
  { b: [1, { z: null, a: true }], a: { c: false, b: "x" } },
  // Code point order, not UTF-16 code unit order: U+E000..U+FFFF sort before astral characters.
  {
    "\u{1F600}": 1,
    "\uE000": 2,
    "\uFFFF": 3,
    a: 4,
    é: 5,
    "\u{10000}": 6,
    "\uD7FF": 7,
    "\uFB01": 8,
    "\u{1D11E}": 9,
    "": 10,
  },
  // Integer-like keys: JavaScript's own property order puts them first, numerically.
  { "10": "ten", "9": "nine", a: "a", "1": "one", "-1": "minus one", "01": "zero one" },
  // Keys that need escaping, and prefixes.
  { 'a"b': 1, "a\\b": 2, a: 3, ab: 4, "a b": 5, "a\nb": 6 },
  { outer: { "\u{1F600}": { "\uFFFD": [null, "\uE000\u{1F600}"] }, "\uFFFD": 0 } },
  [{ keyid_hash_algorithms: ["sha256", "sha512"], keytype: "ed25519", keyval: { public: "ab" } }],
];

describe("canonicalize agrees with securesystemslib.formats.encode_canonical", () => {
  it("has the reference to compare with (scripts/test.sh installs it)", () =>
    assert.equal(pythonMissing, false));
  it("on every fixed vector", () => {
    const script = [
      "import json, sys",
      "from securesystemslib.formats import encode_canonical",
      "vs = json.loads(sys.stdin.buffer.read().decode('utf-8'))",
      "sys.stdout.write(json.dumps([encode_canonical(v) for v in vs]))",
    ].join("\n");
    const expected = runPython(script, VECTORS) as string[];
    assert.equal(expected.length, VECTORS.length);
    VECTORS.forEach((v, i) => {
      assert.equal(canonicalize(v), expected[i], `vector ${i}: ${JSON.stringify(v)}`);
      assert.deepEqual(canonicalBytes(v), Buffer.from(expected[i]!, "utf8"));
    });
  });
});

describe("canonicalize literal vectors", () => {
  it("sorts keys and drops whitespace", () => {
    assert.equal(
      canonicalize({ b: 1, a: [true, false, null], c: { y: "", x: {} } }),
      '{"a":[true,false,null],"b":1,"c":{"x":{},"y":""}}',
    );
  });

  it("orders U+E000..U+FFFF before astral-plane keys (JavaScript's default sort would not)", () => {
    const obj = { "\u{1F600}": 1, "\uFFFF": 2, "\uE000": 3, z: 4 };
    assert.equal(canonicalize(obj), '{"z":4,"\uE000":3,"\uFFFF":2,"\u{1F600}":1}');
    // The trap this guards against: default sort compares UTF-16 code units.
    assert.deepEqual(Object.keys(obj).sort(), ["z", "\u{1F600}", "\uE000", "\uFFFF"]);
  });

  it("sorts integer-like keys as strings", () => {
    assert.equal(canonicalize({ 10: 1, 9: 2, 1: 3 }), '{"1":3,"10":1,"9":2}');
  });

  it("escapes only quote and backslash; control characters are written raw", () => {
    assert.equal(canonicalize('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(canonicalize("a\nb\u0000\t"), '"a\nb\u0000\t"');
    assert.equal(canonicalize({ 'k"\\': "\r" }), '{"k\\"\\\\":"\r"}');
  });

  it("writes -0 as 0 and keeps safe integers exact", () => {
    assert.equal(canonicalize(-0), "0");
    assert.equal(canonicalize([-0, 0, -5]), "[0,0,-5]");
    assert.equal(canonicalize(Number.MAX_SAFE_INTEGER), "9007199254740991");
    assert.equal(canonicalize(-Number.MAX_SAFE_INTEGER), "-9007199254740991");
  });

  it("omits object fields whose value is undefined, as JSON.stringify does", () => {
    assert.equal(canonicalize({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalize({ a: 1, b: undefined }), '{"a":1}');
    assert.equal(canonicalize({ a: undefined }), "{}");
  });

  it("writes control characters raw, so canonical text with them is not JSON (as securesystemslib)", () => {
    assert.throws(() => JSON.parse(canonicalize("\u0001")), SyntaxError);
  });

  it("returns UTF-8 bytes from canonicalBytes", () => {
    assert.deepEqual(canonicalBytes({ é: "😀" }), Buffer.from('{"é":"😀"}', "utf8"));
    assert.equal(canonicalBytes("😀").length, 2 + 4);
  });
});

describe("canonicalize refuses what has no canonical form", () => {
  const cases: [string, unknown, string][] = [
    ["a float", 1.5, "$"],
    ["a nested float", { a: { b: [1, 0.1] } }, "a.b[1]"],
    ["NaN", { n: Number.NaN }, "n"],
    ["Infinity", [Number.POSITIVE_INFINITY], "[0]"],
    ["-Infinity", { x: [{ y: Number.NEGATIVE_INFINITY }] }, "x[0].y"],
    ["2**53 + 1", { big: 2 ** 53 + 1 }, "big"],
    ["2**53", 2 ** 53, "$"],
    ["1e21", { e: 1e21 }, "e"],
    ["undefined in an array", [1, undefined], "[1]"],
    ["undefined at the top", undefined, "$"],
    ["a function", { f: () => 1 }, "f"],
    ["a function in an array", [[() => 1]], "[0][0]"],
    ["a symbol", { s: Symbol("s") }, "s"],
    ["a bigint", { n: 1n }, "n"],
  ];
  for (const [name, value, field] of cases) {
    it(`refuses ${name} with ERR_CANONICAL_JSON_UNSUPPORTED at ${field}`, () => {
      assert.throws(
        () => canonicalize(value),
        (e: unknown) => {
          assert.ok(e instanceof CairnError);
          assert.equal(e.code, "ERR_CANONICAL_JSON_UNSUPPORTED");
          assert.equal(e.category, "format");
          assert.equal(e.field, field);
          return true;
        },
      );
    });
  }

  it("refuses from canonicalBytes as well", () => {
    assert.throws(() => canonicalBytes({ a: 0.5 }), { code: "ERR_CANONICAL_JSON_UNSUPPORTED" });
  });
});

// --- properties ---

/** Any code point, including astral ones; no lone surrogates. */
const anyString = fc.string({ unit: "binary", maxLength: 12 });
/**
 * As anyString but without C0 control characters: canonical JSON writes them raw (as securesystemslib
 * does), which JSON.parse refuses, so properties that parse canonical text cannot include them.
 */
const parseableString = anyString.map((s) => s.replace(/[\u0000-\u001f]/g, "."));

/** BMP characters that are not surrogates, biased towards the U+E000..U+FFFF range where orders differ. */
const bmpChar = fc
  .oneof(
    fc.integer({ min: 0, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xffff }),
    fc.constantFrom(0x22, 0x5c, 0x0a, 0x30, 0x39),
  )
  .map((c) => String.fromCharCode(c));
const bmpKey = fc.string({ unit: bmpChar, maxLength: 8 });

const safeInt = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
);

function jsonValue(key: fc.Arbitrary<string>, str: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      safeInt,
      str,
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(key, tie("value"), { maxKeys: 6 }),
    ),
  }));
  return value;
}

describe("canonicalize properties", () => {
  it("is idempotent: canonicalize(JSON.parse(canonicalize(x))) === canonicalize(x)", () => {
    fc.assert(
      fc.property(jsonValue(parseableString, parseableString), (x) => {
        const c = canonicalize(x);
        assert.equal(canonicalize(JSON.parse(c)), c);
      }),
      { numRuns: 500 },
    );
  });

  it("parses back to the same value (JSON.parse of canonical text)", () => {
    fc.assert(
      fc.property(jsonValue(parseableString, parseableString), (x) => {
        // -0 becomes 0 on the way through; compare against the JSON.stringify round trip.
        assert.deepEqual(JSON.parse(canonicalize(x)), JSON.parse(JSON.stringify(x)));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with @tufjs/canonical-json when keys have no surrogate pairs", () => {
    fc.assert(
      fc.property(jsonValue(bmpKey, anyString), (x) => {
        assert.equal(canonicalize(x), tufCanonicalize(x));
      }),
      { numRuns: 500 },
    );
  });

  it("does not depend on key insertion order", () => {
    const entries = fc.uniqueArray(fc.tuple(fc.oneof(anyString, bmpKey), jsonValue(anyString, anyString)), {
      selector: (e) => e[0],
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        entries.chain((es) =>
          fc.tuple(fc.constant(es), fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length })),
        ),
        ([a, b]) => {
          assert.equal(canonicalize(Object.fromEntries(a)), canonicalize(Object.fromEntries(b)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("compareCodePoints orders as code point arrays do", () => {
    const cps = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
    const ref = (a: string, b: string) => {
      const x = cps(a);
      const y = cps(b);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(ref(a, b)));
      }),
      { numRuns: 1000 },
    );
  });
});
