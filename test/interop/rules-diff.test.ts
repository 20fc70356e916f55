// SPDX-License-Identifier: Apache-2.0
// Differential test of in-toto artifact rule verification against the reference implementation
// (in-toto 1.3.1, in_toto.verifylib.verify_item_rules, from Debian's python3-in-toto): random small
// cases from a small alphabet of paths, patterns and prefixes (including the awkward ones: backslashes,
// double slashes, empty and trailing-slash prefixes, missing FROM steps) are evaluated by both, in one
// Python process per batch. Compared: the verdict (pass / RuleVerificationError / other exception),
// the index of the rule the reference stopped at, and the queue after every rule the reference ran
// (read from its global RULE_TRACE), which pins down the consumed set of each rule.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { LinkArtifacts } from "../../src/engines/intoto/rules.js";
import { verifyItemRules } from "../../src/engines/intoto/rules.js";
import { type ArtifactMap, parseRule } from "../../src/formats/intoto/index.js";

const PYTHON = "/usr/bin/python3";

const SCRIPT = `
import json, sys, logging
logging.disable(logging.CRITICAL)
from in_toto import verifylib
from in_toto.models.link import Link
from in_toto.models.metadata import Metablock
from in_toto.exceptions import RuleVerificationError

out = []
for case in json.load(sys.stdin):
    links = {
        name: Metablock(signed=Link(name=name, materials=l["materials"], products=l["products"]))
        for name, l in case["links"].items()
    }
    verdict, error = "pass", None
    try:
        verifylib.verify_item_rules(case["item"], case["kind"], case["rules"], links)
    except RuleVerificationError:
        verdict = "fail"
    except Exception as e:
        verdict, error = "error", type(e).__name__
    queues = [sorted(t["queue"]) for t in verifylib.RULE_TRACE["trace"]]
    out.append({"verdict": verdict, "error": error, "queues": queues})
json.dump(out, sys.stdout)
`;

interface Case {
  item: string;
  kind: "materials" | "products";
  rules: string[][];
  links: Record<string, { materials: ArtifactMap; products: ArtifactMap }>;
}

interface RefResult {
  verdict: "pass" | "fail" | "error";
  error: string | null;
  queues: string[][];
}

function reference(cases: Case[]): RefResult[] {
  const r = spawnSync(PYTHON, ["-c", SCRIPT], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as RefResult[];
}

function referenceAvailable(): boolean {
  const r = spawnSync(PYTHON, ["-c", "import in_toto.verifylib"], { encoding: "utf8" });
  return r.status === 0;
}

// The alphabet: paths that exercise prefixes, globbing across "/", and os.path.join's quirks.
const PATHS = [
  "a",
  "b.py",
  "d/a",
  "d/b.py",
  "d//a",
  "/a",
  "src/a",
  "src/b.py",
  "src/d/a",
  "src//a",
  "src/a\\b",
  "src/a/b",
  "a\\b",
  "a/b",
  "srcx/a",
  "src",
  "src/",
  "[x]",
];
const PATTERNS = [
  "*",
  "*.py",
  "a",
  "a*",
  "d/*",
  "?",
  "*a",
  "[ab]*",
  "[!a]*",
  "src/*",
  "*/*",
  "[x]",
  "nomatch",
  "",
];
const PREFIXES = ["src", "src/", "d", "d/", "", "a\\", "s*", "/", "src//"];
const STEPS = ["item", "s1", "s2", "missing"];
const DIGESTS = [{ sha256: "aa" }, { sha256: "bb" }, { sha256: "aa", sha512: "cc" }, {}];

const artifactMap = fc.dictionary(fc.constantFrom(...PATHS), fc.constantFrom(...DIGESTS), { maxKeys: 8 });
const linkArb = fc.record({ materials: artifactMap, products: artifactMap });
const kw = (word: string) => fc.constantFrom(word, word.toLowerCase());
const simpleRule = fc
  .tuple(
    fc.constantFrom("CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE"),
    fc.constantFrom(...PATHS, ...PATTERNS),
  )
  .chain(([t, p]) => kw(t).map((k) => [k, p]));
const matchRule = fc
  .record({
    m: kw("MATCH"),
    pattern: fc.constantFrom(...PATTERNS),
    src: fc.option(fc.tuple(kw("IN"), fc.constantFrom(...PREFIXES)), { nil: undefined }),
    w: kw("WITH"),
    dt: fc.constantFrom("MATERIALS", "PRODUCTS", "products"),
    dst: fc.option(fc.tuple(kw("IN"), fc.constantFrom(...PREFIXES)), { nil: undefined }),
    f: kw("FROM"),
    step: fc.constantFrom(...STEPS),
  })
  .map((r) => [r.m, r.pattern, ...(r.src ?? []), r.w, r.dt, ...(r.dst ?? []), r.f, r.step]);
const caseArb: fc.Arbitrary<Case> = fc.record({
  item: fc.constant("item"),
  kind: fc.constantFrom("materials" as const, "products" as const),
  rules: fc.array(fc.oneof({ weight: 2, arbitrary: simpleRule }, { weight: 3, arbitrary: matchRule }), {
    minLength: 1,
    maxLength: 6,
  }),
  links: fc.record({ item: linkArb, s1: linkArb, s2: linkArb }, { requiredKeys: ["item"] }) as fc.Arbitrary<
    Case["links"]
  >,
});

function ours(c: Case) {
  const links = new Map<string, LinkArtifacts>(Object.entries(c.links));
  return verifyItemRules(
    c.item,
    c.kind,
    c.rules.map((r) => parseRule(r)),
    links,
  );
}

/** Compares one case; returns a description of the difference, or undefined. */
function compare(c: Case, ref: RefResult): string | undefined {
  const res = ours(c);
  const firstFail = res.rules.findIndex((r) => !r.passed);
  const stop = firstFail < 0 ? res.rules.length : firstFail;
  if (ref.verdict === "pass" && firstFail >= 0) return `reference passes, we fail at rule ${firstFail}`;
  if (ref.verdict !== "pass") {
    if (firstFail < 0) return `reference ${ref.verdict} (${ref.error}), we pass`;
    if (ref.queues.length !== firstFail)
      return `reference stops at rule ${ref.queues.length}, we at ${firstFail}`;
    // Our only "error" failure is a MATCH the reference aborts with an exception (KeyError).
    const oursIsMatch = res.rules[firstFail]!.rule[0] === "MATCH";
    if ((ref.verdict === "error") !== oursIsMatch)
      return `reference ${ref.verdict} (${ref.error}), we fail a ${res.rules[firstFail]!.rule[0]}`;
    if (ref.verdict === "error" && ref.error !== "KeyError")
      return `unexpected reference exception ${ref.error}`;
  }
  // The queue after each rule the reference completed.
  const queue = new Set(Object.keys(c.links[c.item]![c.kind]));
  for (let i = 0; i < stop; i++) {
    for (const p of res.rules[i]!.consumed) queue.delete(p);
    const mine = [...queue].sort();
    const theirs = ref.queues[i]!;
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
      return `queue after rule ${i} differs: ours ${JSON.stringify(mine)}, reference ${JSON.stringify(theirs)}`;
    }
  }
  return undefined;
}

describe("artifact rules: differential test against in-toto 1.3.1", () => {
  // The reference is installed by scripts/test.sh; without it this test fails rather than passes vacuously.
  it("has the reference implementation to compare with", () => {
    assert.ok(
      referenceAvailable(),
      "in-toto 1.3.1 is not installed for /usr/bin/python3 (run scripts/test.sh)",
    );
  });
  it("agrees with verify_item_rules on random cases", () => {
    const seed = Number(process.env.CAIRN_DIFF_SEED ?? Date.now() % 2 ** 31);
    const cases = fc.sample(caseArb, { numRuns: 3000, seed });
    const refs = reference(cases);
    assert.equal(refs.length, cases.length);
    const verdicts = { pass: 0, fail: 0, error: 0 };
    const failures: string[] = [];
    cases.forEach((c, i) => {
      verdicts[refs[i]!.verdict]++;
      const diff = compare(c, refs[i]!);
      if (diff !== undefined && failures.length < 5) failures.push(`${diff}\n  case: ${JSON.stringify(c)}`);
    });
    assert.deepEqual(failures, [], `seed ${seed} (rerun with CAIRN_DIFF_SEED=${seed})`);
    // The generator must exercise every outcome, or the comparison proves little.
    assert.ok(verdicts.pass > 100 && verdicts.fail > 100 && verdicts.error > 0, JSON.stringify(verdicts));
  });

  it("agrees on hand-picked edge cases", () => {
    const A = { sha256: "aa" };
    const cases: Case[] = [
      // src//a under IN src re-joins to "/a": KeyError in the reference when "/a" is no artifact.
      {
        item: "item",
        kind: "materials",
        rules: [["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "s1"]],
        links: {
          item: { materials: { "src//a": A }, products: {} },
          s1: { materials: {}, products: { "/a": A } },
        },
      },
      // ... and checks "/a" instead when it is one.
      {
        item: "item",
        kind: "materials",
        rules: [
          ["MATCH", "*", "IN", "src", "WITH", "PRODUCTS", "FROM", "s1"],
          ["DISALLOW", "/a"],
        ],
        links: {
          item: { materials: { "src//a": {}, "/a": A }, products: {} },
          s1: { materials: {}, products: { "/a": A } },
        },
      },
      // Missing FROM step.
      {
        item: "item",
        kind: "products",
        rules: [
          ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "missing"],
          ["DISALLOW", "*"],
        ],
        links: { item: { materials: {}, products: { a: A } } },
      },
      // REQUIRE after consumption.
      {
        item: "item",
        kind: "products",
        rules: [
          ["CREATE", "*"],
          ["REQUIRE", "a"],
        ],
        links: { item: { materials: {}, products: { a: A } } },
      },
      // Prototype-like names.
      {
        item: "item",
        kind: "materials",
        rules: [
          ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "s1"],
          ["DISALLOW", "*"],
        ],
        links: {
          item: { materials: { toString: A, constructor: A }, products: {} },
          s1: { materials: {}, products: { constructor: A } },
        },
      },
    ];
    const refs = reference(cases);
    assert.deepEqual(
      refs.map((r) => r.verdict),
      ["error", "pass", "fail", "fail", "fail"],
    );
    cases.forEach((c, i) => {
      assert.equal(compare(c, refs[i]!), undefined, JSON.stringify(c));
    });
  });
});
