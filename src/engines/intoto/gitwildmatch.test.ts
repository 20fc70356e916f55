// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import { compileWildMatch, normalizeMatchPath, PathSpec, wildMatchToRegExpSource } from "./gitwildmatch.js";

const PATHS = [
  "a.txt",
  "b.txt",
  "x.link",
  "dir/x.linked",
  ".git",
  "dir/.git/HEAD",
  "foo.pyc",
  "bak~",
  "build",
  "build/x",
  "a/build/x",
  "top.txt",
  "sub/top.txt",
  "gen/x.c",
  "a/gen/x.c",
  "a/gen/b/x.c",
  "sub",
  "sub/x",
  "a/b",
  "a/x/y/b",
  "#x",
  "]",
  "^",
  "-",
  "a",
  "foo",
  "foo/bar",
  "x/foo",
  "foo\n",
];

// Made with the reference (Debian python3-pathspec 0.11.0, system python 3.11):
//   PathSpec.from_lines("gitwildmatch", patterns).match_file(path) for each path in PATHS,
// listing the paths that matched ("error" when compiling the patterns raised).
const VECTORS: [string[], string[] | "error"][] = [
  [
    ["*.link*", ".git", "*.pyc", "*~"],
    ["x.link", "dir/x.linked", ".git", "dir/.git/HEAD", "foo.pyc", "bak~"],
  ],
  [["build/"], ["build/x", "a/build/x"]],
  [["/top.txt"], ["top.txt"]],
  [
    ["*.txt", "!a.txt"],
    ["b.txt", "top.txt", "sub/top.txt"],
  ],
  [["**/gen/*.c"], ["gen/x.c", "a/gen/x.c"]],
  [["[ab].txt"], ["a.txt", "b.txt"]],
  [["[!a]*.txt"], ["b.txt", "top.txt", "sub/top.txt"]],
  [["sub/**"], ["sub/top.txt", "sub/x"]],
  [["*"], PATHS],
  [
    ["**/"],
    [
      "dir/x.linked",
      "dir/.git/HEAD",
      "build/x",
      "a/build/x",
      "sub/top.txt",
      "gen/x.c",
      "a/gen/x.c",
      "a/gen/b/x.c",
      "sub/x",
      "a/b",
      "a/x/y/b",
      "foo/bar",
      "x/foo",
    ],
  ],
  [["a\\\\"], []],
  [["[z-a]"], "error"],
  [["foo"], ["foo", "foo/bar", "x/foo", "foo\n"]],
  [["a/**/b"], ["a/gen/b/x.c", "a/b", "a/x/y/b"]],
  [["\\\\#x"], []],
  [["[]]"], ["]"]],
  [["[^a]"], ["a/build/x", "a/gen/x.c", "a/gen/b/x.c", "a/b", "a/x/y/b", "^", "a"]],
  [["[a-]"], ["a/build/x", "a/gen/x.c", "a/gen/b/x.c", "a/b", "a/x/y/b", "-", "a"]],
];

describe("gitwildmatch", () => {
  test("agrees with pathspec 0.11 on the recorded vectors", () => {
    for (const [patterns, expected] of VECTORS) {
      if (expected === "error") {
        assert.throws(
          () => new PathSpec(patterns),
          (e) => e instanceof CairnError && e.code === "ERR_USAGE",
        );
        continue;
      }
      const spec = new PathSpec(patterns);
      assert.deepEqual(
        PATHS.filter((p) => spec.matches(p)),
        expected,
        JSON.stringify(patterns),
      );
    }
  });

  test("comments, blank patterns and a lone slash do nothing", () => {
    for (const p of ["# x", "", "   ", "/", "\t"]) {
      const c = compileWildMatch(p);
      assert.equal(c.regex, null);
      assert.equal(c.include, null);
    }
    assert.equal(new PathSpec(["", "#a", "/"]).matches("a"), false);
    assert.equal(new PathSpec(["\\#a"]).matches("#a"), true);
  });

  test("invalid patterns are usage errors", () => {
    for (const p of ["a\\", "[b-a]", "x/[9-0]/y"]) {
      assert.throws(
        () => compileWildMatch(p),
        (e) => e instanceof CairnError && e.code === "ERR_USAGE" && e.field === "exclude_patterns",
      );
    }
  });

  test("normalizes paths as pathspec's util.normalize_file (POSIX)", () => {
    assert.equal(normalizeMatchPath("/abs/x"), "abs/x");
    assert.equal(normalizeMatchPath("//abs"), "/abs");
    assert.equal(normalizeMatchPath("./x"), "x");
    assert.equal(normalizeMatchPath("././x"), "./x");
    assert.equal(normalizeMatchPath("."), ".");
  });

  test("Python's strip() set, not JavaScript's trim()", () => {
    // U+FEFF is trimmed by JS but is not whitespace to Python; U+001C is the other way round.
    assert.equal(new PathSpec(["\ufeffa"]).matches("a"), false);
    assert.equal(new PathSpec(["\u001ca\u001f"]).matches("a"), true);
  });

  test("code points, not UTF-16 units: ? matches one astral character", () => {
    assert.equal(new PathSpec(["a?b"]).matches("a😀b"), true);
    assert.equal(new PathSpec(["[😀]"]).matches("😀"), true);
  });

  test("property: the component fast path agrees with full-path matching", () => {
    const name = fc.stringMatching(/^[a-c.~*?[\]!\\\n é]{1,5}$/);
    const glob = fc.stringMatching(/^[a-c.~*?\\ é]{1,4}$/);
    fc.assert(
      fc.property(
        fc.array(glob, { minLength: 1, maxLength: 3 }),
        fc.array(name, { minLength: 1, maxLength: 4 }),
        (globs, parts) => {
          let spec: PathSpec;
          try {
            spec = new PathSpec(globs);
          } catch {
            return; // an invalid glob (trailing backslash) has nothing to compare
          }
          // Walk as recordArtifacts does: stop at the first excluded directory.
          let parent = "";
          for (const part of parts) {
            const joined = parent === "" ? part : `${parent}/${part}`;
            const full = spec.matches(joined);
            assert.equal(
              spec.matchesChild(part, joined),
              full,
              `${JSON.stringify(globs)} ${JSON.stringify(joined)}`,
            );
            if (full) break;
            parent = joined;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test("property: the last matching pattern decides", () => {
    const glob = fc.constantFrom("a", "*.c", "b/", "**/x", "[ab]*", "?", "a/**");
    const path = fc
      .array(fc.constantFrom("a", "b", "x", "y.c"), { minLength: 1, maxLength: 4 })
      .map((p) => p.join("/"));
    fc.assert(
      fc.property(fc.array(glob, { maxLength: 4 }), glob, path, (rest, last, p) => {
        // A final pattern that matches decides; its negation decides the other way.
        if (!new PathSpec([last]).matches(p)) return;
        assert.equal(new PathSpec([...rest, last]).matches(p), true);
        assert.equal(new PathSpec([...rest, `!${last}`]).matches(p), false);
      }),
    );
  });

  test("property: a pattern without a slash matches at any depth, one with a leading slash only at the root", () => {
    const seg = fc.stringMatching(/^[a-d]{1,3}$/);
    fc.assert(
      fc.property(seg, fc.array(seg, { maxLength: 3 }), (name, dirs) => {
        const path = [...dirs, name].join("/");
        assert.equal(new PathSpec([name]).matches(path), true);
        assert.equal(new PathSpec([`${name}`]).matches(`${path}/below`), true);
        // Anchored: only the first component can match (then everything below it is matched too).
        assert.equal(new PathSpec([`/${name}`]).matches(path), (dirs[0] ?? name) === name);
      }),
    );
  });

  test("property: every compiled regex is a valid u-mode RegExp anchored at the start", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (p) => {
        let r: ReturnType<typeof wildMatchToRegExpSource>;
        try {
          r = wildMatchToRegExpSource(p);
          if (r.source !== null) new RegExp(r.source, "u");
        } catch (e) {
          assert.ok(e instanceof CairnError, String(e)); // never a RegExp SyntaxError
          return;
        }
        if (r.source !== null) assert.ok(r.source.startsWith("^"));
      }),
    );
  });
});
