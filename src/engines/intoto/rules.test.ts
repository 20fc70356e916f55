// SPDX-License-Identifier: Apache-2.0
// Tests for in-toto artifact rule verification (in-toto spec v1.0 section 4.3.3; reference
// in-toto 1.3.1 verifylib.verify_item_rules). The differential test against the reference is
// test/interop/rules-diff.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { DigestSet } from "../../core/digest.js";
import { CairnError } from "../../core/errors.js";
import { type ArtifactMap, type ArtifactRule, parseRule } from "../../formats/intoto/index.js";
import {
  assertItemRulesPass,
  type ItemRulesResult,
  type LinkArtifacts,
  verifyAllItemRules,
  verifyItemRules,
} from "./rules.js";

const A = { sha256: "aa" };
const B = { sha256: "bb" };

function link(materials: ArtifactMap = {}, products: ArtifactMap = {}): LinkArtifacts {
  return { materials, products };
}

function rules(...rs: string[][]): ArtifactRule[] {
  return rs.map((r) => parseRule(r));
}

function run(
  kind: "materials" | "products",
  rs: string[][],
  own: LinkArtifacts,
  others: Record<string, LinkArtifacts> = {},
): ItemRulesResult {
  const links = new Map<string, LinkArtifacts>([["item", own], ...Object.entries(others)]);
  return verifyItemRules("item", kind, rules(...rs), links);
}

const consumed = (res: ItemRulesResult, i: number) => res.rules[i]!.consumed;

describe("ALLOW and DISALLOW", () => {
  it("ALLOW consumes what its pattern matches, so a final DISALLOW * passes", () => {
    const res = run(
      "products",
      [
        ["ALLOW", "*.py"],
        ["DISALLOW", "*"],
      ],
      link({}, { "a.py": A, "dir/b.py": B }),
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["a.py", "dir/b.py"]);
    assert.deepEqual(res.unconsumed, []);
    assert.deepEqual(res.rules[1]!.matched, []);
  });

  it("DISALLOW * fails on an artifact no earlier rule consumed and names it", () => {
    const res = run(
      "products",
      [
        ["ALLOW", "*.py"],
        ["DISALLOW", "*"],
      ],
      link({}, { "a.py": A, "foo.txt": B }),
    );
    assert.equal(res.ok, false);
    const r = res.rules[1]!;
    assert.equal(r.passed, false);
    assert.deepEqual(r.matched, ["foo.txt"]);
    assert.match(r.reason!, /DISALLOW \* matched 'foo\.txt'/);
    assert.deepEqual(res.unconsumed, ["foo.txt"]);
  });

  it("DISALLOW before ALLOW fails: rules apply in order", () => {
    const res = run(
      "materials",
      [
        ["DISALLOW", "*"],
        ["ALLOW", "*"],
      ],
      link({ x: A }),
    );
    assert.equal(res.ok, false);
    assert.equal(res.rules[0]!.passed, false);
    assert.deepEqual(consumed(res, 1), ["x"]);
    assert.deepEqual(res.unconsumed, []);
  });

  it("DISALLOW lists many matches with a count and a bounded list", () => {
    const products: ArtifactMap = {};
    for (let i = 0; i < 20; i++) products[`f${String(i).padStart(2, "0")}`] = A;
    const res = run("products", [["DISALLOW", "f*"]], link({}, products));
    assert.equal(res.ok, false);
    assert.equal(res.rules[0]!.matched!.length, 20);
    assert.match(res.rules[0]!.reason!, /20 artifacts: 'f00', .* and 15 more/);
  });

  it("DISALLOW with a pattern that matches nothing passes", () => {
    const res = run("products", [["DISALLOW", "*.exe"]], link({}, { "a.py": A }));
    assert.equal(res.ok, true);
  });

  it("patterns are case-sensitive and * crosses directories (Python fnmatchcase)", () => {
    const res = run(
      "products",
      [
        ["ALLOW", "*.PY"],
        ["DISALLOW", "*"],
      ],
      link({}, { "d/a.py": A }),
    );
    assert.equal(res.ok, false);
    assert.equal(
      run(
        "products",
        [
          ["ALLOW", "d*y"],
          ["DISALLOW", "*"],
        ],
        link({}, { "d/a.py": A }),
      ).ok,
      true,
    );
  });

  it("DISALLOW checks the item's materials or products according to the kind", () => {
    const own = link({ m: A }, { p: A });
    assert.deepEqual(run("materials", [["DISALLOW", "*"]], own).rules[0]!.matched, ["m"]);
    assert.deepEqual(run("products", [["DISALLOW", "*"]], own).rules[0]!.matched, ["p"]);
  });
});

describe("CREATE, DELETE, MODIFY", () => {
  it("CREATE consumes products that are not materials", () => {
    const res = run(
      "products",
      [
        ["CREATE", "*"],
        ["DISALLOW", "*"],
      ],
      link({ old: A }, { new: B }),
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["new"]);
  });

  it("CREATE does not consume a product that was already a material (even if modified)", () => {
    const res = run(
      "products",
      [
        ["CREATE", "*"],
        ["DISALLOW", "*"],
      ],
      link({ same: A, changed: A }, { same: A, changed: B }),
    );
    assert.equal(res.ok, false);
    assert.deepEqual(consumed(res, 0), []);
    assert.deepEqual(res.rules[1]!.matched, ["changed", "same"]);
  });

  it("CREATE consumes nothing from the materials queue", () => {
    const res = run(
      "materials",
      [
        ["CREATE", "*"],
        ["DISALLOW", "*"],
      ],
      link({ m: A }, {}),
    );
    assert.equal(res.ok, false);
  });

  it("DELETE consumes materials that are not products", () => {
    const res = run(
      "materials",
      [
        ["DELETE", "*"],
        ["DISALLOW", "*"],
      ],
      link({ gone: A }, { other: B }),
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["gone"]);
  });

  it("DELETE does not consume a material that is still a product", () => {
    const res = run(
      "materials",
      [
        ["DELETE", "*"],
        ["DISALLOW", "*"],
      ],
      link({ kept: A }, { kept: B }),
    );
    assert.equal(res.ok, false);
    assert.deepEqual(res.rules[1]!.matched, ["kept"]);
  });

  it("MODIFY consumes artifacts in both lists with different digests", () => {
    const own = link({ f: A }, { f: B });
    for (const kind of ["materials", "products"] as const) {
      const res = run(
        kind,
        [
          ["MODIFY", "f"],
          ["DISALLOW", "*"],
        ],
        own,
      );
      assert.equal(res.ok, true, kind);
      assert.deepEqual(consumed(res, 0), ["f"]);
    }
  });

  it("MODIFY does not consume an unchanged artifact", () => {
    const res = run(
      "products",
      [
        ["MODIFY", "*"],
        ["DISALLOW", "*"],
      ],
      link({ f: A }, { f: A }),
    );
    assert.equal(res.ok, false);
    assert.match(res.rules[1]!.reason!, /'f'/);
  });

  it("MODIFY does not consume a created artifact", () => {
    const res = run(
      "products",
      [
        ["MODIFY", "*"],
        ["DISALLOW", "*"],
      ],
      link({}, { f: A }),
    );
    assert.equal(res.ok, false);
  });

  it("MODIFY sees a changed digest set (an extra algorithm) as a modification", () => {
    const res = run("products", [["MODIFY", "*"]], link({ f: A }, { f: { ...A, sha512: "cc" } }));
    assert.deepEqual(consumed(res, 0), ["f"]);
  });

  it("a rule only consumes what is still queued: CREATE after ALLOW consumes nothing", () => {
    const res = run(
      "products",
      [
        ["ALLOW", "a"],
        ["CREATE", "*"],
      ],
      link({}, { a: A, b: B }),
    );
    assert.deepEqual(consumed(res, 0), ["a"]);
    assert.deepEqual(consumed(res, 1), ["b"]);
  });
});

describe("REQUIRE", () => {
  it("passes when the file is queued and consumes nothing", () => {
    const res = run(
      "products",
      [
        ["REQUIRE", "a.tar.gz"],
        ["DISALLOW", "*"],
      ],
      link({}, { "a.tar.gz": A }),
    );
    assert.equal(res.rules[0]!.passed, true);
    assert.deepEqual(consumed(res, 0), []);
    assert.equal(res.ok, false); // nothing consumed it
  });

  it("fails when the file is absent", () => {
    const res = run("products", [["REQUIRE", "a.tar.gz"]], link({}, { "b.tar.gz": A }));
    assert.equal(res.ok, false);
    assert.match(res.rules[0]!.reason!, /'a\.tar\.gz'.*not among the products of 'item'/);
  });

  it("fails when an earlier rule consumed the file, naming that rule", () => {
    const res = run(
      "products",
      [
        ["ALLOW", "*"],
        ["REQUIRE", "a"],
      ],
      link({}, { a: A }),
    );
    assert.equal(res.ok, false);
    assert.match(res.rules[1]!.reason!, /consumed by rule 0 \(ALLOW \*\)/);
  });

  it("treats its argument as a literal name, not a pattern", () => {
    assert.equal(run("products", [["REQUIRE", "*.py"]], link({}, { "a.py": A })).ok, false);
    assert.equal(run("products", [["REQUIRE", "*.py"]], link({}, { "*.py": A })).ok, true);
  });

  it("looks in the queue of the rule list's kind only", () => {
    assert.equal(run("materials", [["REQUIRE", "p"]], link({}, { p: A })).ok, false);
  });

  it("evaluation continues after a failure so every failing rule is reported", () => {
    const res = run(
      "products",
      [
        ["REQUIRE", "x"],
        ["ALLOW", "a"],
        ["DISALLOW", "*"],
      ],
      link({}, { a: A, b: B }),
    );
    assert.deepEqual(
      res.rules.map((r) => r.passed),
      [false, true, false],
    );
    assert.deepEqual(consumed(res, 1), ["a"]);
  });
});

describe("MATCH", () => {
  const build = link({}, { "foo.py": A, "bar.py": B });

  it("consumes artifacts whose digests equal the destination's", () => {
    const res = run(
      "materials",
      [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"],
        ["DISALLOW", "*"],
      ],
      link({ "foo.py": A, "bar.py": B }),
      { build },
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["bar.py", "foo.py"]);
  });

  it("does not consume an artifact whose digest differs (tampering between steps)", () => {
    const res = run(
      "materials",
      [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"],
        ["DISALLOW", "*"],
      ],
      link({ "foo.py": B, "bar.py": B }),
      { build },
    );
    assert.equal(res.ok, false);
    assert.deepEqual(consumed(res, 0), ["bar.py"]);
    assert.match(res.rules[1]!.reason!, /'foo\.py'/);
  });

  it("compares whole digest sets: an extra or missing algorithm is a mismatch", () => {
    for (const mine of <DigestSet[]>[{ ...A, sha512: "cc" }, {}, { sha512: "aa" }]) {
      const res = run(
        "materials",
        [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"]],
        link({ "foo.py": mine }),
        {
          build,
        },
      );
      assert.deepEqual(consumed(res, 0), [], JSON.stringify(mine));
    }
    const same = run(
      "materials",
      [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "b"]],
      link({ f: { sha256: "aa", sha512: "cc" } }),
      { b: link({}, { f: { sha512: "cc", sha256: "aa" } }) },
    );
    assert.deepEqual(consumed(same, 0), ["f"]);
  });

  it("digest comparison is exact (no case folding)", () => {
    const res = run(
      "materials",
      [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "b"]],
      link({ f: { sha256: "AA" } }),
      {
        b: link({}, { f: A }),
      },
    );
    assert.deepEqual(consumed(res, 0), []);
  });

  it("does not consume an artifact the destination lacks", () => {
    const res = run(
      "materials",
      [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"],
        ["DISALLOW", "*"],
      ],
      link({ "foo.py": A, "extra.py": A }),
      { build },
    );
    assert.equal(res.ok, false);
    assert.deepEqual(res.rules[1]!.matched, ["extra.py"]);
  });

  it("a missing FROM step link consumes nothing (and says so), so DISALLOW fails", () => {
    const res = run(
      "materials",
      [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "nosuchstep"],
        ["DISALLOW", "*"],
      ],
      link({ "foo.py": A }),
      { build },
    );
    assert.equal(res.rules[0]!.passed, true);
    assert.match(res.rules[0]!.note!, /nosuchstep/);
    assert.equal(res.ok, false);
  });

  it("WITH MATERIALS and WITH PRODUCTS pick the destination's list", () => {
    const dest = { d: link({ f: A }, { f: B }) };
    const own = link({ f: A });
    assert.deepEqual(
      consumed(run("materials", [["MATCH", "f", "WITH", "MATERIALS", "FROM", "d"]], own, dest), 0),
      ["f"],
    );
    assert.deepEqual(
      consumed(run("materials", [["MATCH", "f", "WITH", "PRODUCTS", "FROM", "d"]], own, dest), 0),
      [],
    );
  });

  it("can match against the item's own link", () => {
    const res = run(
      "products",
      [["MATCH", "*", "WITH", "MATERIALS", "FROM", "item"]],
      link({ f: A, g: A }, { f: A, g: B }),
    );
    assert.deepEqual(consumed(res, 0), ["f"]);
  });

  it("IN source prefix: strips the prefix before matching and keeps artifacts outside it queued", () => {
    const res = run(
      "products",
      [
        ["MATCH", "*.py", "IN", "src", "WITH", "MATERIALS", "FROM", "checkout"],
        ["DISALLOW", "*"],
      ],
      link({}, { "src/foo.py": A, "srcx/foo.py": A, "foo.py": A }),
      { checkout: link({ "foo.py": A }) },
    );
    assert.deepEqual(consumed(res, 0), ["src/foo.py"]);
    assert.deepEqual(res.rules[1]!.matched, ["foo.py", "srcx/foo.py"]);
  });

  it("IN source prefix: the prefix is never globbed", () => {
    const res = run(
      "products",
      [["MATCH", "src/*", "IN", "src", "WITH", "MATERIALS", "FROM", "c"]],
      link({}, { "src/foo": A }),
      { c: link({ "src/foo": A, foo: A }) },
    );
    assert.deepEqual(consumed(res, 0), []);
    const star = run(
      "products",
      [["MATCH", "*", "IN", "s*", "WITH", "MATERIALS", "FROM", "c"]],
      link({}, { "src/foo": A }),
      { c: link({ foo: A }) },
    );
    assert.deepEqual(consumed(star, 0), []);
  });

  it("IN destination prefix: looks the relative path up under the prefix", () => {
    const res = run(
      "materials",
      [
        ["MATCH", "*", "WITH", "PRODUCTS", "IN", "dist", "FROM", "build"],
        ["DISALLOW", "*"],
      ],
      link({ "app.tar": A, "lib.tar": B }),
      { build: link({}, { "dist/app.tar": A, "lib.tar": B }) },
    );
    assert.deepEqual(consumed(res, 0), ["app.tar"]);
    assert.equal(res.ok, false);
    assert.deepEqual(res.rules[1]!.matched, ["lib.tar"]);
  });

  it("IN prefixes on both sides, with or without trailing slashes", () => {
    for (const [sp, dp] of [
      ["src", "dist"],
      ["src/", "dist/"],
      ["src/", "dist"],
    ] as const) {
      const res = run(
        "products",
        [
          ["MATCH", "*", "IN", sp, "WITH", "PRODUCTS", "IN", dp, "FROM", "build"],
          ["DISALLOW", "*"],
        ],
        link({}, { "src/a/x": A, "src/b": B }),
        { build: link({}, { "dist/a/x": A, "dist/b": A }) },
      );
      assert.deepEqual(consumed(res, 0), ["src/a/x"], `${sp} ${dp}`);
      assert.deepEqual(res.rules[1]!.matched, ["src/b"]);
    }
  });

  it("IN prefixes: the wrong destination prefix matches nothing", () => {
    const res = run(
      "products",
      [["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "IN", "dist", "FROM", "b"]],
      link({}, { "src/x": A }),
      { b: link({}, { x: A, "src/x": A, "other/x": A }) },
    );
    assert.deepEqual(consumed(res, 0), []);
  });

  it("an empty IN prefix is no prefix (the reference tests it for truthiness)", () => {
    const res = run(
      "materials",
      [["MATCH", "*", "IN", "", "WITH", "PRODUCTS", "IN", "", "FROM", "b"]],
      link({ x: A }),
      { b: link({}, { x: A, "/x": A }) },
    );
    assert.deepEqual(consumed(res, 0), ["x"]);
  });

  it("a backslash in the prefix is turned into a slash, as the reference does", () => {
    const res = run(
      "materials",
      [["MATCH", "*", "IN", "a\\b", "WITH", "PRODUCTS", "IN", "c\\d", "FROM", "s"]],
      link({ "a/b/x": A, "a\\b/x": A }),
      { s: link({}, { "c/d/x": A }) },
    );
    assert.deepEqual(consumed(res, 0), ["a/b/x"]);
  });

  it("'src//x' under IN src maps to '/x' like os.path.join: fails when that is no artifact", () => {
    const res = run(
      "materials",
      [["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "b"]],
      link({ "src//x": A }),
      { b: link({}, { "/x": A, x: A }) },
    );
    assert.equal(res.ok, false);
    assert.equal(res.rules[0]!.passed, false);
    assert.match(res.rules[0]!.reason!, /'src\/\/x'.*aborts/);
    assert.deepEqual(consumed(res, 0), []);
  });

  it("a re-joined path that is another artifact is checked and consumed instead, as in the reference", () => {
    const res = run(
      "materials",
      [["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "b"]],
      link({ "src//x": B, "/x": A }),
      { b: link({}, { "/x": A }) },
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["/x"]);
    assert.deepEqual(res.unconsumed, ["src//x"]);
  });

  it("does not re-consume what an earlier rule consumed", () => {
    const res = run(
      "materials",
      [
        ["ALLOW", "foo.py"],
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"],
      ],
      link({ "foo.py": A, "bar.py": B }),
      { build },
    );
    assert.deepEqual(consumed(res, 0), ["foo.py"]);
    assert.deepEqual(consumed(res, 1), ["bar.py"]);
  });
});

describe("untrusted names and errors", () => {
  it("artifact paths named like Object.prototype members are ordinary paths", () => {
    const products = JSON.parse(
      '{"constructor": {"sha256": "aa"}, "__proto__": {"sha256": "bb"}}',
    ) as ArtifactMap;
    const res = run(
      "products",
      [
        ["CREATE", "*"],
        ["DISALLOW", "*"],
      ],
      link({}, products),
    );
    assert.equal(res.ok, true);
    assert.deepEqual(consumed(res, 0), ["__proto__", "constructor"]);
    // The destination has no own "toString": nothing to match.
    const m = run("materials", [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "b"]], link({ toString: {} }), {
      b: link(),
    });
    assert.deepEqual(consumed(m, 0), []);
    const del = run(
      "materials",
      [
        ["DELETE", "*"],
        ["MODIFY", "*"],
      ],
      link({ hasOwnProperty: A }, {}),
    );
    assert.deepEqual(consumed(del, 0), ["hasOwnProperty"]);
  });

  it("throws ERR_INTOTO_STEP_UNVERIFIED when the item has no link", () => {
    assert.throws(
      () => verifyItemRules("missing", "products", [], new Map()),
      (e: unknown) => e instanceof CairnError && e.code === "ERR_INTOTO_STEP_UNVERIFIED",
    );
  });

  it("an empty rule list passes and consumes nothing", () => {
    const res = run("products", [], link({}, { a: A }));
    assert.equal(res.ok, true);
    assert.deepEqual(res.unconsumed, ["a"]);
  });
});

describe("verifyAllItemRules and assertItemRulesPass", () => {
  const links = new Map<string, LinkArtifacts>([
    ["checkout", link({}, { "foo.py": A })],
    ["build", link({ "foo.py": A }, { "foo.py": A, foo: B })],
  ]);
  const items = [
    { name: "checkout", materials: [], products: rules(["CREATE", "foo.py"], ["DISALLOW", "*"]) },
    {
      name: "build",
      materials: rules(["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "checkout"], ["DISALLOW", "*"]),
      products: rules(["CREATE", "foo"], ["DISALLOW", "*"]),
    },
  ];

  it("returns materials then products per item, in order", () => {
    const res = verifyAllItemRules(items, links);
    assert.deepEqual(
      res.map((r) => [r.name, r.kind, r.ok]),
      [
        ["checkout", "materials", true],
        ["checkout", "products", true],
        ["build", "materials", true],
        ["build", "products", false],
      ],
    );
    assert.throws(
      () => assertItemRulesPass(res),
      (e: unknown) =>
        e instanceof CairnError &&
        e.code === "ERR_INTOTO_RULE_FAILED" &&
        e.category === "verification" &&
        e.field === "build.expected_products[1]",
    );
  });

  it("assertItemRulesPass accepts all-passing results", () => {
    const fixed = items.map((i) =>
      i.name === "build"
        ? { ...i, products: rules(["CREATE", "foo"], ["ALLOW", "foo.py"], ["DISALLOW", "*"]) }
        : i,
    );
    assertItemRulesPass(verifyAllItemRules(fixed, links));
  });

  it("reports every failing item, not only the first", () => {
    const bad = items.map((i) => ({ ...i, materials: rules(["REQUIRE", "nothing"]) }));
    const res = verifyAllItemRules(bad, links);
    assert.equal(res.filter((r) => !r.ok).length, 3);
  });
});

describe("properties", () => {
  const names = fc.constantFrom("a", "b", "a.py", "b.py", "d/a.py", "d/e/b", "src/a", "src/b.py", "x");
  const digest = fc.constantFrom(A, B, { sha256: "aa", sha512: "cc" });
  const amap = fc.dictionary(names, digest, { maxKeys: 9 });
  const pattern = fc.constantFrom("*", "*.py", "a*", "d/*", "?", "src/*", "[ab]*", "x", "nomatch");
  const simple = fc
    .tuple(fc.constantFrom("CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE"), pattern)
    .map(([t, p]) => [t, p]);
  const match = fc
    .tuple(
      pattern,
      fc.constantFrom(null, "src", "d/", ""),
      fc.constantFrom("MATERIALS", "PRODUCTS"),
      fc.constantFrom(null, "src", "d"),
      fc.constantFrom("item", "other", "missing"),
    )
    .map(([p, sp, dt, dp, from]) => [
      "MATCH",
      p,
      ...(sp === null ? [] : ["IN", sp]),
      "WITH",
      dt,
      ...(dp === null ? [] : ["IN", dp]),
      "FROM",
      from,
    ]);
  const ruleList = fc.array(fc.oneof(simple, match), { maxLength: 6 });
  const kind = fc.constantFrom("materials" as const, "products" as const);

  it("ALLOW * then DISALLOW * always passes", () => {
    fc.assert(
      fc.property(amap, amap, kind, ruleList, (m, p, k, pre) => {
        const rs = [
          ...pre.filter((r) => r[0] !== "DISALLOW" && r[0] !== "REQUIRE"),
          ["ALLOW", "*"],
          ["DISALLOW", "*"],
        ];
        const res = run(k, rs, link(m, p), { other: link(p, m) });
        assert.equal(res.ok, true);
        assert.deepEqual(res.unconsumed, []);
      }),
    );
  });

  it("DISALLOW * alone fails iff the queue is non-empty", () => {
    fc.assert(
      fc.property(amap, amap, kind, (m, p, k) => {
        const res = run(k, [["DISALLOW", "*"]], link(m, p));
        assert.equal(res.ok, Object.keys(k === "materials" ? m : p).length === 0);
      }),
    );
  });

  it("CREATE * consumes exactly the products that are not materials", () => {
    fc.assert(
      fc.property(amap, amap, (m, p) => {
        const res = run("products", [["CREATE", "*"]], link(m, p));
        const expect = Object.keys(p)
          .filter((x) => !(x in m))
          .sort();
        assert.deepEqual(consumed(res, 0), expect);
      }),
    );
  });

  it("DELETE * and MODIFY * partition like set algebra", () => {
    fc.assert(
      fc.property(amap, amap, (m, p) => {
        const res = run(
          "materials",
          [
            ["DELETE", "*"],
            ["MODIFY", "*"],
          ],
          link(m, p),
        );
        assert.deepEqual(
          consumed(res, 0),
          Object.keys(m)
            .filter((x) => !(x in p))
            .sort(),
        );
        assert.deepEqual(
          consumed(res, 1),
          Object.keys(m)
            .filter((x) => x in p && JSON.stringify(m[x]) !== JSON.stringify(p[x]))
            .sort(),
        );
      }),
    );
  });

  it("consumed sets are disjoint and, with the unconsumed rest, add up to the queue", () => {
    fc.assert(
      fc.property(amap, amap, amap, kind, ruleList, (m, p, o, k, rs) => {
        const res = run(k, rs, link(m, p), { other: link(o, m) });
        const all = [...res.rules.flatMap((r) => r.consumed), ...res.unconsumed].sort();
        const queue = Object.keys(k === "materials" ? m : p).sort();
        assert.deepEqual(all, queue);
        assert.equal(
          res.ok,
          res.rules.every((r) => r.passed),
        );
        for (const r of res.rules) {
          if (r.rule[0] === "DISALLOW" || r.rule[0] === "REQUIRE") assert.deepEqual(r.consumed, []);
          if (!r.passed) assert.ok(["DISALLOW", "REQUIRE", "MATCH"].includes(r.rule[0]!));
        }
      }),
    );
  });

  it("results do not depend on the order of artifacts in the maps", () => {
    const reorder = (x: ArtifactMap): ArtifactMap => Object.fromEntries(Object.entries(x).reverse());
    fc.assert(
      fc.property(amap, amap, amap, kind, ruleList, (m, p, o, k, rs) => {
        const a = run(k, rs, link(m, p), { other: link(o, p) });
        const b = run(k, rs, link(reorder(m), reorder(p)), { other: link(reorder(o), reorder(p)) });
        assert.deepEqual(a, b);
      }),
    );
  });

  it("MATCH * against an identical artifact map consumes everything", () => {
    fc.assert(
      fc.property(amap, (m) => {
        const res = run("materials", [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "prev"]], link(m), {
          prev: link({}, { ...m }),
        });
        assert.deepEqual(res.unconsumed, []);
      }),
    );
  });
});

describe("scale", () => {
  it("evaluates rules over 50,000 artifacts per step in linear time", () => {
    const n = 50_000;
    const m: ArtifactMap = {};
    const p: ArtifactMap = {};
    for (let i = 0; i < n; i++) {
      m[`src/dir${i % 100}/file${i}.c`] = { sha256: i.toString(16) };
      p[`src/dir${i % 100}/file${i}.c`] = { sha256: (i % 7 === 0 ? i + 1 : i).toString(16) };
      p[`out/file${i}.o`] = { sha256: "ff" };
    }
    const prev = link({}, { ...m });
    const t0 = performance.now();
    const rs = rules(
      ["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "IN", "src", "FROM", "prev"],
      ["MODIFY", "src/*"],
      ["CREATE", "out/*.o"],
      ["ALLOW", "nothing*"],
      ["REQUIRE", "src/dir0/file0.c"],
      ["DISALLOW", "*"],
    );
    const res = verifyItemRules(
      "item",
      "products",
      rs,
      new Map([
        ["item", link(m, p)],
        ["prev", prev],
      ]),
    );
    const ms = performance.now() - t0;
    assert.equal(res.ok, false); // REQUIRE: file0.c was consumed by MATCH
    assert.equal(res.rules[0]!.consumed.length, n - Math.ceil(n / 7));
    assert.equal(res.rules[1]!.consumed.length, Math.ceil(n / 7));
    assert.equal(res.rules[2]!.consumed.length, n);
    assert.deepEqual(res.unconsumed, []);
    // A quadratic algorithm would take minutes; this is a guard, not a benchmark.
    assert.ok(ms < 10_000, `took ${ms} ms`);
  });
});
