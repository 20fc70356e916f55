// SPDX-License-Identifier: Apache-2.0
// in-toto artifact rules (in-toto specification v1.0, section 4.3.3 "Artifact Rules"):
//   MATCH <pattern> [IN <source-path-prefix>] WITH (MATERIALS|PRODUCTS) [IN <destination-path-prefix>] FROM <step>
//   CREATE <pattern> | DELETE <pattern> | MODIFY <pattern> | ALLOW <pattern> | DISALLOW <pattern> | REQUIRE <filename>
// Keywords are case-insensitive on input, as in the reference implementation (rulelib.unpack_rule).
import { fieldError } from "../../core/errors.js";

export type SimpleRuleType = "CREATE" | "DELETE" | "MODIFY" | "ALLOW" | "DISALLOW" | "REQUIRE";

export type ArtifactRule =
  | { type: SimpleRuleType; pattern: string }
  | {
      type: "MATCH";
      pattern: string;
      /** Prefix stripped from this step's artifacts before matching (IN after the pattern). */
      sourcePrefix?: string;
      /** Whether to compare with the other step's materials or products. */
      destinationType: "MATERIALS" | "PRODUCTS";
      /** Prefix for the other step's artifacts (IN after MATERIALS/PRODUCTS). */
      destinationPrefix?: string;
      destinationStep: string;
    };

const SIMPLE = new Set(["CREATE", "DELETE", "MODIFY", "ALLOW", "DISALLOW", "REQUIRE"]);

/** Parses one rule (a list of strings) and says which field was wrong when it is malformed. */
export function parseRule(rule: unknown, field = "rule"): ArtifactRule {
  if (!Array.isArray(rule) || !rule.every((x) => typeof x === "string")) {
    throw fieldError(field, "an artifact rule must be a list of strings");
  }
  const words = rule as string[];
  const kw = (i: number) => words[i]?.toUpperCase();
  const t = kw(0);
  const bad = (why: string) => fieldError(field, `malformed artifact rule ${JSON.stringify(words)}: ${why}`);
  if (t === undefined) throw bad("empty rule");
  if (SIMPLE.has(t)) {
    if (words.length !== 2) throw bad(`${t} takes exactly one pattern`);
    return { type: t as SimpleRuleType, pattern: words[1]! };
  }
  if (t !== "MATCH") throw bad(`unknown rule type "${words[0]}"`);
  // MATCH pattern [IN src] WITH (MATERIALS|PRODUCTS) [IN dst] FROM step
  let i = 2;
  const pattern = words[1];
  if (pattern === undefined) throw bad("MATCH needs a pattern");
  let sourcePrefix: string | undefined;
  if (kw(i) === "IN") {
    sourcePrefix = words[i + 1];
    if (sourcePrefix === undefined) throw bad("IN needs a path prefix");
    i += 2;
  }
  if (kw(i) !== "WITH") throw bad("expected WITH");
  const dt = kw(i + 1);
  if (dt !== "MATERIALS" && dt !== "PRODUCTS") throw bad("WITH must be followed by MATERIALS or PRODUCTS");
  i += 2;
  let destinationPrefix: string | undefined;
  if (kw(i) === "IN") {
    destinationPrefix = words[i + 1];
    if (destinationPrefix === undefined) throw bad("IN needs a path prefix");
    i += 2;
  }
  if (kw(i) !== "FROM") throw bad("expected FROM");
  const destinationStep = words[i + 1];
  if (destinationStep === undefined) throw bad("FROM needs a step name");
  if (words.length !== i + 2) throw bad("unexpected words after the step name");
  const r: ArtifactRule = { type: "MATCH", pattern, destinationType: dt, destinationStep };
  if (sourcePrefix !== undefined) r.sourcePrefix = sourcePrefix;
  if (destinationPrefix !== undefined) r.destinationPrefix = destinationPrefix;
  return r;
}

/** The list-of-strings form of a rule, as layouts store it. */
export function ruleToList(r: ArtifactRule): string[] {
  if (r.type !== "MATCH") return [r.type, r.pattern];
  const out = ["MATCH", r.pattern];
  if (r.sourcePrefix !== undefined) out.push("IN", r.sourcePrefix);
  out.push("WITH", r.destinationType);
  if (r.destinationPrefix !== undefined) out.push("IN", r.destinationPrefix);
  out.push("FROM", r.destinationStep);
  return out;
}

export function parseRules(rules: unknown, field: string): ArtifactRule[] {
  if (!Array.isArray(rules)) throw fieldError(field, "artifact rules must be a list");
  return rules.map((r, i) => parseRule(r, `${field}[${i}]`));
}
