// SPDX-License-Identifier: Apache-2.0
// fnmatch against CPython's fnmatch.fnmatchcase, run at test time on random names and patterns.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { runPython } from "../testing/python.js";
import { fnmatch, fnmatchFilter } from "./fnmatch.js";

describe("fnmatch", () => {
  it("fixed cases: * and ? cross '/', [!x] negates, backslash is literal, unclosed [ is literal", () => {
    const cases: Array<[string, string, boolean]> = [
      ["a/b.py", "*.py", true],
      ["a/b", "a?b", true],
      ["]", "[]]", true],
      ["]", "[!]]", false],
      ["-", "[a-]", true],
      ["x", "[c-a]", false],
      ["[", "[", true],
      ["a\\b", "a\\b", true],
      ["d", "[!a-c]", true],
      ["A.PY", "*.py", false],
    ];
    for (const [name, pat, want] of cases) assert.equal(fnmatch(name, pat), want, `${name} ~ ${pat}`);
    assert.deepEqual(fnmatchFilter(["a.py", "b.txt", "c/d.py"], "*.py"), ["a.py", "c/d.py"]);
  });

  it("agrees with CPython's fnmatchcase on random names and patterns", () => {
    const unit = fc.constantFrom(
      "a",
      "b",
      "/",
      ".",
      "*",
      "?",
      "[",
      "]",
      "!",
      "-",
      "\\",
      "^",
      "é",
      "\u{1F600}",
    );
    const cases = fc.sample(fc.tuple(fc.string({ unit, maxLength: 6 }), fc.string({ unit, maxLength: 6 })), {
      numRuns: 3000,
      seed: 42,
    });
    const want = runPython(
      "import fnmatch, json, sys\nprint(json.dumps([fnmatch.fnmatchcase(n, p) for n, p in json.load(sys.stdin)]))",
      cases,
    ) as boolean[];
    const diffs = cases.filter(([n, p], i) => fnmatch(n, p) !== want[i]);
    assert.deepEqual(diffs, []);
  });
});
