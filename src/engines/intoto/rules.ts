// SPDX-License-Identifier: Apache-2.0
// in-toto artifact rule verification (in-toto specification v1.0, section 4.3.3 "Artifact Rules" and
// section 5 step 3 "verify artifact rules"), with the consumption semantics of the reference
// implementation in-toto 1.3.1 (verifylib.verify_item_rules and the per-rule verify_*_rule functions):
// the item's materials (or products) form a queue; each rule filters the queue with its pattern;
// MATCH, CREATE, DELETE, MODIFY and ALLOW remove ("consume") what they accept; only DISALLOW (a queued
// artifact matches) and REQUIRE (the file is not queued) fail.
//
// Threat: a functionary reports artifacts that no rule authorizes. Every path and digest below comes
// from links, which are attacker-influenced data even after their signatures verified: artifact paths
// are looked up with Object.hasOwn (a path named "constructor" or "__proto__" is just a path).
import type { DigestSet } from "../../core/digest.js";
import { cairnError } from "../../core/errors.js";
// Direct module imports, not the folder index: the index also pulls in the attestation
// validators (zod), which would cost every verification ~40 ms of start-up.
import { fnmatch } from "../../core/fnmatch.js";
import type { ArtifactMap, Link } from "../../formats/intoto/link.js";
import { type ArtifactRule, ruleToList } from "../../formats/intoto/rules.js";

/** Which of an item's artifact lists a rule list applies to (expected_materials or expected_products). */
export type ArtifactKind = "materials" | "products";

/** What rule verification needs of a link: its artifacts. A full `Link` fits. */
export type LinkArtifacts = Pick<Link, "materials" | "products">;

/** The outcome of one rule. */
export interface RuleResult {
  /** Position of the rule in the item's rule list (0-based). */
  index: number;
  /** The rule in its list-of-strings form, e.g. ["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"]. */
  rule: string[];
  /** False only for a DISALLOW that matched, a REQUIRE that found nothing, or a MATCH the reference aborts on. */
  passed: boolean;
  /** Artifacts this rule removed from the queue, sorted. */
  consumed: string[];
  /** DISALLOW only: the queued artifacts its pattern matched (non-empty means it failed), sorted. */
  matched?: string[];
  /** Why the rule failed, naming the artifact(s). */
  reason?: string;
  /** Something worth telling a human although the rule passed, e.g. a MATCH whose FROM step has no link. */
  note?: string;
}

/** The outcome of one item's material or product rules. */
export interface ItemRulesResult {
  /** The step or inspection name. */
  name: string;
  kind: ArtifactKind;
  /** True iff every rule passed. */
  ok: boolean;
  rules: RuleResult[];
  /** Artifacts still in the queue after the last rule, sorted. */
  unconsumed: string[];
}

/** An item (step or inspection) with its artifact rules, as in a layout. */
export interface RuleItem {
  name: string;
  materials: readonly ArtifactRule[];
  products: readonly ArtifactRule[];
}

/** How many artifact names a failure message lists before it says "and N more". */
const MAX_NAMES_IN_REASON = 5;

function own(map: ArtifactMap, path: string): DigestSet | undefined {
  return Object.hasOwn(map, path) ? map[path] : undefined;
}

/** Python dict equality of two digest sets (`source_artifact != dest_artifact` in verify_match_rule). */
function sameDigests(a: DigestSet, b: DigestSet): boolean {
  // No key arrays: this runs once per matched artifact. JSON-parsed objects have no inherited
  // enumerable keys, so for...in sees exactly their own keys.
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k] || !Object.hasOwn(b, k)) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** posixpath.join(a, b) for a non-empty `a`, as the reference uses os.path.join on POSIX. */
function posixJoin(a: string, b: string): string {
  if (b.startsWith("/")) return b;
  return a.endsWith("/") ? a + b : `${a}/${b}`;
}

/** `os.path.join(prefix, path).replace("\\", "/")` from verify_match_rule. */
function joinPrefix(prefix: string, path: string): string {
  return posixJoin(prefix, path).replaceAll("\\", "/");
}

function quote(s: string): string {
  return `'${s}'`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES_IN_REASON).map(quote).join(", ");
  const more = names.length - MAX_NAMES_IN_REASON;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

function sorted(s: Iterable<string>): string[] {
  return Array.from(s).sort();
}

interface MatchOutcome {
  consumed: Set<string>;
  note?: string;
  /** Set when the reference implementation would raise (a KeyError) instead of returning. */
  abort?: string;
}

/**
 * verify_match_rule: consumes queued artifacts (under the optional source prefix, matched with the
 * pattern after the prefix is stripped so the prefix itself is never globbed) whose digest set equals
 * that of the artifact at the same relative path (under the optional destination prefix) in the
 * destination step's materials or products. A missing destination link consumes nothing.
 */
function matchRule(
  rule: Extract<ArtifactRule, { type: "MATCH" }>,
  queue: ReadonlySet<string>,
  source: ArtifactMap,
  links: ReadonlyMap<string, LinkArtifacts>,
): MatchOutcome {
  const consumed = new Set<string>();
  const destLink = links.get(rule.destinationStep);
  if (destLink === undefined) {
    return { consumed, note: `no link for step ${quote(rule.destinationStep)}: nothing can match` };
  }
  const dest = rule.destinationType === "MATERIALS" ? destLink.materials : destLink.products;
  // The reference tests the prefixes for truthiness: an empty prefix is no prefix.
  const srcPrefix = rule.sourcePrefix || "";
  const dstPrefix = rule.destinationPrefix || "";
  // os.path.join(prefix, "") adds a trailing slash unless there is one.
  const normSrc = srcPrefix ? joinPrefix(srcPrefix, "") : "";
  const missing: string[] = [];
  for (const queued of queue) {
    let rel = queued;
    if (srcPrefix) {
      if (!queued.startsWith(normSrc)) continue;
      rel = queued.slice(normSrc.length);
    }
    if (!fnmatch(rel, rule.pattern)) continue;
    // Re-joining the prefix is not always the identity: a relative path with a backslash or a leading
    // slash ("src//x") maps to another path. The reference then checks (and consumes) that other path,
    // or raises KeyError when it is not an artifact; we do the same and report the latter as a failure.
    const full = srcPrefix ? joinPrefix(srcPrefix, rel) : rel;
    const destPath = dstPrefix ? joinPrefix(dstPrefix, rel) : rel;
    const srcDigests = own(source, full);
    if (srcDigests === undefined) {
      missing.push(queued);
      continue;
    }
    const destDigests = own(dest, destPath);
    if (destDigests === undefined || !sameDigests(srcDigests, destDigests)) continue;
    consumed.add(full);
  }
  if (missing.length > 0) {
    missing.sort();
    return {
      consumed: new Set(),
      abort:
        `${listNames(missing)} does not map back to an artifact after joining the IN prefix ` +
        `${quote(srcPrefix)} (the reference implementation aborts verification here)`,
    };
  }
  return { consumed };
}

function filterQueue(queue: ReadonlySet<string>, pattern: string): string[] {
  const out: string[] = [];
  for (const p of queue) if (fnmatch(p, pattern)) out.push(p);
  return out;
}

/**
 * Applies one item's material or product rules, in order, to the item's own link, as the reference's
 * verify_item_rules does. `links` maps step and inspection names to their (verified, reduced) links;
 * it must hold the item's own link. Rule failures are returned, not thrown; unlike the reference,
 * evaluation continues after a failure so a report can list every failing rule (failing rules consume
 * nothing, so the verdict and the earlier rules' results are the same).
 *
 * @throws CairnError ERR_INTOTO_STEP_UNVERIFIED when `links` has no link for `name`.
 */
export function verifyItemRules(
  name: string,
  kind: ArtifactKind,
  rules: readonly ArtifactRule[],
  links: ReadonlyMap<string, LinkArtifacts>,
): ItemRulesResult {
  const link = links.get(name);
  if (link === undefined) {
    throw cairnError(
      "ERR_INTOTO_STEP_UNVERIFIED",
      `no link for ${quote(name)} to verify its artifact rules`,
      {
        field: name,
      },
    );
  }
  const materials = link.materials;
  const products = link.products;
  const artifacts = kind === "materials" ? materials : products;
  const queue = new Set(Object.keys(artifacts));
  const results: RuleResult[] = [];
  let ok = true;

  rules.forEach((rule, index) => {
    const list = ruleToList(rule);
    const r: RuleResult = { index, rule: list, passed: true, consumed: [] };
    let consumed: Iterable<string> = [];
    switch (rule.type) {
      case "MATCH": {
        const m = matchRule(rule, queue, artifacts, links);
        if (m.abort !== undefined) {
          r.passed = false;
          r.reason = `${list.join(" ")}: ${m.abort}`;
        }
        if (m.note !== undefined) r.note = m.note;
        consumed = m.consumed;
        break;
      }
      case "CREATE":
        // Products that are not materials.
        consumed = filterQueue(queue, rule.pattern).filter(
          (p) => Object.hasOwn(products, p) && !Object.hasOwn(materials, p),
        );
        break;
      case "DELETE":
        // Materials that are not products.
        consumed = filterQueue(queue, rule.pattern).filter(
          (p) => Object.hasOwn(materials, p) && !Object.hasOwn(products, p),
        );
        break;
      case "MODIFY":
        // Both materials and products, with digest sets that differ.
        consumed = filterQueue(queue, rule.pattern).filter((p) => {
          const m = own(materials, p);
          const q = own(products, p);
          return m !== undefined && q !== undefined && !sameDigests(m, q);
        });
        break;
      case "ALLOW":
        consumed = filterQueue(queue, rule.pattern);
        break;
      case "DISALLOW": {
        const matched = filterQueue(queue, rule.pattern).sort();
        r.matched = matched;
        if (matched.length > 0) {
          r.passed = false;
          const what =
            matched.length === 1 ? quote(matched[0]!) : `${matched.length} artifacts: ${listNames(matched)}`;
          r.reason = `DISALLOW ${rule.pattern} matched ${what} (not consumed by an earlier rule)`;
        }
        break;
      }
      case "REQUIRE": {
        // The reference treats the pattern as a literal file name (in-toto issues #152, #193).
        const file = rule.pattern;
        if (!queue.has(file)) {
          r.passed = false;
          // Which earlier rule consumed it (looked up only for this failure, not tracked per artifact).
          const by = results.findIndex((x) => x.consumed.includes(file));
          // Everything not queued was either consumed by an earlier rule or never there.
          const why =
            by >= 0
              ? `it was consumed by rule ${by} (${results[by]!.rule.join(" ")})`
              : `it is not among the ${kind} of ${quote(name)}`;
          r.reason = `REQUIRE ${file} did not find ${quote(file)} in the queue: ${why}`;
        }
        break;
      }
    }
    const done: string[] = [];
    for (const p of consumed) {
      // A MATCH may consume a path that is no longer (or never was) queued; only queued ones count.
      if (queue.delete(p)) done.push(p);
    }
    // Links list artifacts sorted, so this is usually a linear pass (TimSort on sorted input).
    r.consumed = done.sort();
    if (!r.passed) ok = false;
    results.push(r);
  });

  return { name, kind, ok, rules: results, unconsumed: sorted(queue) };
}

/**
 * verify_all_item_rules: the material rules, then the product rules, of each item in order. Unlike
 * the reference, it does not stop at the first failing item; check `ok` on each result or call
 * `assertItemRulesPass`.
 */
export function verifyAllItemRules(
  items: readonly RuleItem[],
  links: ReadonlyMap<string, LinkArtifacts>,
): ItemRulesResult[] {
  const out: ItemRulesResult[] = [];
  for (const item of items) {
    out.push(verifyItemRules(item.name, "materials", item.materials, links));
    out.push(verifyItemRules(item.name, "products", item.products, links));
  }
  return out;
}

/**
 * Throws for the first failing rule of the given results.
 *
 * @throws CairnError ERR_INTOTO_RULE_FAILED with `field` like `build.expected_products[3]`.
 */
export function assertItemRulesPass(results: readonly ItemRulesResult[]): void {
  for (const res of results) {
    if (res.ok) continue;
    const failed = res.rules.find((r) => !r.passed)!;
    throw cairnError(
      "ERR_INTOTO_RULE_FAILED",
      `artifact rule failed for the ${res.kind} of ${quote(res.name)}: ${failed.reason}`,
      { field: `${res.name}.expected_${res.kind}[${failed.index}]` },
    );
  }
}
