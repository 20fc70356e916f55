// SPDX-License-Identifier: Apache-2.0
// Bounded JSON parsing: malformed, truncated, empty, too large, too deep; the depth scan must not be
// fooled by brackets inside strings or by escaped quotes and backslashes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CairnError, type ErrorCode } from "./errors.js";
import { DEFAULT_JSON_LIMITS, isJsonObject, type JsonLimits, parseJson } from "./json.js";

function assertCode(fn: () => unknown, code: ErrorCode, file?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.category, "format");
    assert.equal(e.file, file);
    return true;
  });
}

const limits = (maxDepth: number, maxBytes = 1 << 20): JsonLimits => ({ maxBytes, maxDepth });

describe("parseJson refuses malformed JSON with ERR_JSON_MALFORMED and names the file", () => {
  const malformed: [string, string][] = [
    ["an unclosed object", "{"],
    ["a truncated object", '{"a": [1, 2'],
    ["a truncated string", '{"a": "abc'],
    ["a truncated literal", "[tru"],
    ["a missing value", '{"a":}'],
    ["a trailing comma", "[1,]"],
    ["single quotes", "{'a': 1}"],
    ["an unquoted key", "{a: 1}"],
    ["trailing garbage", "{} x"],
    ["two documents", "{}{}"],
    ["a raw control character in a string", '"a\u0001b"'],
    ["a bad escape", '"\\x41"'],
    ["NaN", "[NaN]"],
    ["a comment", "{} // c"],
    ["a byte order mark", "\ufeff{}"],
    ["a stray closing bracket", "]"],
  ];
  for (const [name, text] of malformed) {
    it(`refuses ${name}`, () => {
      assertCode(() => parseJson(text, "layout.json"), "ERR_JSON_MALFORMED", "layout.json");
      assertCode(
        () => parseJson(Buffer.from(text, "utf8"), "bytes.json"),
        "ERR_JSON_MALFORMED",
        "bytes.json",
      );
    });
  }

  it("leaves file unset when no file is named", () => {
    assertCode(() => parseJson("{"), "ERR_JSON_MALFORMED");
  });

  it("refuses an empty or blank document", () => {
    for (const text of ["", " ", "\n\t\r\n  "]) {
      assertCode(() => parseJson(text, "empty.json"), "ERR_JSON_MALFORMED", "empty.json");
    }
    assertCode(() => parseJson(new Uint8Array(0), "empty.json"), "ERR_JSON_MALFORMED", "empty.json");
  });
});

describe("parseJson size bound", () => {
  it("refuses a document over maxBytes with ERR_JSON_TOO_LARGE", () => {
    assertCode(() => parseJson("[1,2,3,4,5]", "big.json", limits(64, 10)), "ERR_JSON_TOO_LARGE", "big.json");
    assertCode(
      () => parseJson(Buffer.from("[1,2,3,4,5]"), "big.json", limits(64, 10)),
      "ERR_JSON_TOO_LARGE",
      "big.json",
    );
  });

  it("accepts a document of exactly maxBytes", () => {
    assert.deepEqual(parseJson("[1,2,3,4]", "f", limits(64, 9)), [1, 2, 3, 4]);
  });

  it("counts UTF-8 bytes, not UTF-16 code units", () => {
    const text = '"éééé"'; // 6 code units, 10 bytes
    assert.equal(text.length, 6);
    assertCode(() => parseJson(text, "f", limits(64, 8)), "ERR_JSON_TOO_LARGE", "f");
    assert.equal(parseJson(text, "f", limits(64, 10)), "éééé");
    const astral = '"😀"'; // 4 code units, 6 bytes
    assertCode(() => parseJson(astral, "f", limits(64, 5)), "ERR_JSON_TOO_LARGE", "f");
  });

  it("checks the size before parsing (a huge malformed document is too large, not malformed)", () => {
    assertCode(() => parseJson(`{${"x".repeat(100)}`, "f", limits(64, 50)), "ERR_JSON_TOO_LARGE", "f");
  });
});

describe("parseJson depth bound", () => {
  const nested = (n: number) => "[".repeat(n) + "1" + "]".repeat(n);

  it("accepts nesting up to maxDepth and refuses one more", () => {
    assert.deepEqual(parseJson(nested(3), "f", limits(3)), [[[1]]]);
    assertCode(() => parseJson(nested(4), "f", limits(3)), "ERR_JSON_TOO_LARGE", "f");
    assert.deepEqual(parseJson('{"a":[{"b":1}]}', "f", limits(3)), { a: [{ b: 1 }] });
    assertCode(() => parseJson('{"a":[{"b":{}}]}', "f", limits(3)), "ERR_JSON_TOO_LARGE", "f");
  });

  it("uses a default of 64 levels", () => {
    assert.equal(DEFAULT_JSON_LIMITS.maxDepth, 64);
    assert.ok(Array.isArray(parseJson(nested(64))));
    assertCode(() => parseJson(nested(65), "deep.json"), "ERR_JSON_TOO_LARGE", "deep.json");
  });

  it("refuses nesting that would overflow JSON.parse's stack with a code, not a RangeError", () => {
    const text = "[".repeat(200_000) + "]".repeat(200_000);
    assertCode(() => parseJson(text, "bomb.json"), "ERR_JSON_TOO_LARGE", "bomb.json");
    assertCode(() => parseJson('{"a":'.repeat(100_000), "bomb.json"), "ERR_JSON_TOO_LARGE", "bomb.json");
  });

  it("is not fooled by brackets inside strings", () => {
    assert.deepEqual(parseJson('["[[[[[[[[", "{{{{{{{{"]', "f", limits(1)), ["[[[[[[[[", "{{{{{{{{"]);
    assert.deepEqual(parseJson('{"[[[[": "]]]]"}', "f", limits(1)), { "[[[[": "]]]]" });
  });

  it("is not fooled by escaped quotes inside strings", () => {
    // The string is  \"[[[[[  : a scanner that ends the string at \" would count five levels.
    assert.deepEqual(parseJson('["\\"[[[[["]', "f", limits(1)), ['"[[[[[']);
    assert.deepEqual(parseJson('["\\\\\\"{{{{"]', "f", limits(1)), ['\\"{{{{']);
  });

  it("is not fooled by an escaped backslash before a closing quote", () => {
    // The string is a single backslash; a scanner that treats \\" as an escaped quote would stay
    // "inside the string" and miss the four levels that follow.
    const text = '["\\\\",[[[1]]]]';
    assert.deepEqual(parseJson(text, "f", limits(4)), ["\\", [[[1]]]]);
    assertCode(() => parseJson(text, "f", limits(3)), "ERR_JSON_TOO_LARGE", "f");
    const unicodeEscape = '["\\u005c",[[[1]]]]';
    assertCode(() => parseJson(unicodeEscape, "f", limits(3)), "ERR_JSON_TOO_LARGE", "f");
  });

  it("is not fooled by closing brackets inside strings", () => {
    // A scanner that counted the "]]]]" would think the real nesting is shallower than it is.
    const text = '[["]]]]",[[1]]]]';
    assertCode(() => parseJson(text, "f", limits(3)), "ERR_JSON_TOO_LARGE", "f");
    assert.deepEqual(parseJson(text, "f", limits(4)), [["]]]]", [[1]]]]);
  });
});

describe("isJsonObject", () => {
  it("is true only for plain objects", () => {
    assert.equal(isJsonObject({}), true);
    assert.equal(isJsonObject({ a: 1 }), true);
    assert.equal(isJsonObject([]), false);
    assert.equal(isJsonObject(null), false);
    assert.equal(isJsonObject("{}"), false);
    assert.equal(isJsonObject(1), false);
  });
});

/** Nesting depth of a JSON value as parseJson counts it: each array or object is one level. */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

// Strings rich in the characters the depth scan has to get right.
const trickyString = fc.string({
  unit: fc.oneof(
    fc.constantFrom("[", "]", "{", "}", '"', "\\", "\n", "\u0000", "u"),
    fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  ),
  maxLength: 10,
});
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    trickyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(trickyString, tie("value"), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

describe("parseJson properties", () => {
  it("parses any JSON.stringify'd value within bounds back equal", () => {
    fc.assert(
      fc.property(jsonish, fc.constantFrom(undefined, 0, 2, "\t"), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        assert.deepEqual(parseJson(text, "p.json"), v);
        assert.deepEqual(parseJson(Buffer.from(text, "utf8"), "p.json"), v);
      }),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), (v) => {
        assert.deepEqual(parseJson(JSON.stringify(v)), JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 200 },
    );
  });

  it("accepts exactly maxDepth = the value's depth and refuses maxDepth - 1", () => {
    fc.assert(
      fc.property(jsonish, (v) => {
        const text = JSON.stringify(v);
        const d = depthOf(v);
        assert.deepEqual(parseJson(text, "p.json", limits(d)), v);
        if (d > 0) assertCode(() => parseJson(text, "p.json", limits(d - 1)), "ERR_JSON_TOO_LARGE", "p.json");
      }),
      { numRuns: 400 },
    );
  });

  it("refuses every proper prefix of a container document as malformed", () => {
    fc.assert(
      fc.property(
        jsonish.filter((v) => v !== null && typeof v === "object"),
        (v) => {
          const text = JSON.stringify(v);
          for (let n = 0; n < text.length; n++) {
            assertCode(() => parseJson(text.slice(0, n), "t.json"), "ERR_JSON_MALFORMED", "t.json");
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("parseJson depth bound: bytes and text agree", () => {
  // Strings full of quotes, backslashes and brackets: the byte scanner jumps over strings with indexOf.
  const tricky = fc.string({ unit: fc.constantFrom('"', "\\", "[", "]", "{", "}", "a", "é", "\u{1F600}") });
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      tricky,
      fc.array(tie("node"), { maxLength: 3 }),
      fc.dictionary(tricky, tie("node"), { maxKeys: 3, noNullPrototype: true }),
    ),
  })).node;
  function depthOf(v: unknown): number {
    if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
    if (isJsonObject(v)) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
    return 0;
  }
  it("accepts exactly the documents within maxDepth, whether given as bytes or text", () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = JSON.stringify(v);
        const d = depthOf(v);
        const limits = (maxDepth: number): JsonLimits => ({ ...DEFAULT_JSON_LIMITS, maxDepth });
        for (const input of [text, Buffer.from(text)]) {
          assert.deepEqual(parseJson(input, "x", limits(d)), v);
          if (d > 0)
            assert.throws(() => parseJson(input, "x", limits(d - 1)), { code: "ERR_JSON_TOO_LARGE" });
        }
      }),
      { numRuns: 300 },
    );
  });
});
