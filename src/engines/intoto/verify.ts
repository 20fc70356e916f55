// SPDX-License-Identifier: Apache-2.0
// in-toto final product verification (in-toto specification v1.0 section 5 "Verification"; the
// reference's verifylib.in_toto_verify): layout signatures, expiry, parameters, links per step
// with their functionary keys and thresholds, sublayouts, command alignment, threshold agreement,
// step rules, inspections, inspection rules. Fails closed: anything unchecked is a failure.
import { join } from "node:path";
import { canonicalize } from "../../core/canonical.js";
import type { Clock } from "../../core/clock.js";
import { asCairnError, type CairnError, cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import { keyIdVariants, type PublicKey } from "../../core/keys.js";
import { KeyRing } from "../../core/signer.js";
import { type ParsedLayout, parseLayout } from "../../formats/intoto/layout.js";
import { type Link, linkFileName, parseLink } from "../../formats/intoto/link.js";
import {
  peekSigned,
  readSignedDocument,
  type SignedDocument,
  verifySignedDocument,
} from "../../formats/intoto/metablock.js";
import { substituteParameters } from "./params.js";
import { type ItemRulesResult, verifyItemRules } from "./rules.js";

/** Bounds on untrusted structure. */
export interface VerifyLimits {
  /** Deepest nesting of sublayouts. */
  maxSublayoutDepth: number;
  /** Most link files read for one layout (steps x authorized keys). */
  maxLinks: number;
}
export const DEFAULT_VERIFY_LIMITS: VerifyLimits = { maxSublayoutDepth: 8, maxLinks: 10_000 };

/** I/O the verifier needs, injected. */
export interface VerifyPorts {
  /** Reads a whole file; resolves undefined when it does not exist (other failures reject). */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Runs an inspection command as a step recording "." as materials and products (in-toto 5.3). */
  runInspection(name: string, argv: string[]): Promise<{ link: Link; returnValue: number }>;
  clock: Clock;
}

export interface VerifyOptions {
  /** The signed layout document (metablock or DSSE). */
  layout: SignedDocument;
  /** Keys that must each have signed the layout (as in-toto-verify: every given key). */
  layoutKeys: PublicKey[];
  linkDir: string;
  parameters?: Record<string, string>;
  limits?: Partial<VerifyLimits>;
  /** Name given to the summary link (the step name, for sublayouts). */
  stepName?: string;
}

export type LinkStatus = "verified" | "missing" | "bad-signature" | "not-a-link" | "wrong-step" | "malformed";

export interface LinkReport {
  keyid: string;
  file: string;
  status: LinkStatus;
  detail?: string;
}

export interface StepReport {
  name: string;
  threshold: number;
  links: LinkReport[];
  verified: number;
  ok: boolean;
  commandWarning?: string;
  sublayout?: VerifyReport;
  failure?: string;
}

export interface InspectionReport {
  name: string;
  run: string[];
  returnValue?: number;
  ok: boolean;
  failure?: string;
}

export interface VerifyReport {
  ok: boolean;
  layout: { expires?: string; signedBy: string[]; expired?: boolean };
  steps: StepReport[];
  inspections: InspectionReport[];
  rules: ItemRulesResult[];
  warnings: string[];
  /** The first failure, as a stable code and a message. */
  failure?: { code: string; message: string; file?: string; field?: string };
  /** The summary link (first step's materials, last step's products), on success. */
  summary?: Link;
}

function fail(report: VerifyReport, e: unknown): VerifyReport {
  const err = asCairnError(e);
  report.ok = false;
  report.failure = { code: err.code, message: err.message };
  if (err.file) report.failure.file = err.file;
  if (err.field) report.failure.field = err.field;
  return report;
}

/** Checks that every given layout key signed the layout (verifylib.verify_layout_signatures). */
export function verifyLayoutSignatures(
  doc: SignedDocument,
  layoutKeys: PublicKey[],
): Record<string, unknown> {
  if (layoutKeys.length === 0)
    throw cairnError("ERR_USAGE", "layout verification needs at least one layout key");
  let signed: Record<string, unknown> | undefined;
  const signedBy: string[] = [];
  for (const k of layoutKeys) {
    const ring = new KeyRing();
    const ids = keyIdVariants(k.meta);
    for (const id of new Set([k.keyid, ids.legacy, ids.modern])) ring.add(k, id);
    try {
      signed = verifySignedDocument(doc, ring, 1).signed;
      signedBy.push(k.keyid);
    } catch (e) {
      // A layout that cannot even be canonicalized is bad input, not a bad signature.
      if (asCairnError(e).category !== "verification") throw e;
      throw cairnError(
        "ERR_LAYOUT_SIGNATURE_INVALID",
        `the layout has no valid signature by key ${k.keyid}`,
        {
          ...(doc.file ? { file: doc.file } : {}),
          field: "signatures",
        },
      );
    }
  }
  return signed!;
}

/** Full in-toto verification. Never throws for a verification failure: the report says what failed. */
export async function verifySupplyChain(
  opts: VerifyOptions,
  ports: VerifyPorts,
  depth = 0,
): Promise<VerifyReport> {
  const limits = { ...DEFAULT_VERIFY_LIMITS, ...opts.limits };
  const report: VerifyReport = {
    ok: false,
    layout: { signedBy: [] },
    steps: [],
    inspections: [],
    rules: [],
    warnings: [],
  };
  if (depth > limits.maxSublayoutDepth) {
    return fail(
      report,
      cairnError("ERR_INTOTO_SUBLAYOUT", `sublayouts nest deeper than ${limits.maxSublayoutDepth}`),
    );
  }
  // 1. Layout signatures: every given key must have signed.
  let signed: Record<string, unknown>;
  try {
    signed = verifyLayoutSignatures(opts.layout, opts.layoutKeys);
    report.layout.signedBy = opts.layoutKeys.map((k) => k.keyid);
  } catch (e) {
    return fail(report, e);
  }
  // 2. Parse (after the signature check: we only interpret what was signed), substitute, expiry.
  let parsed: ParsedLayout;
  try {
    if (opts.parameters) signed = substituteParameters(signed, opts.parameters);
    parsed = parseLayout(signed, opts.layout.file);
  } catch (e) {
    return fail(report, e);
  }
  report.layout.expires = parsed.layout.expires;
  report.layout.expired = parsed.expires.getTime() < ports.clock.now().getTime();
  if (report.layout.expired) {
    return fail(
      report,
      cairnError("ERR_LAYOUT_EXPIRED", `the layout expired at ${parsed.layout.expires}`, {
        field: "expires",
        ...(opts.layout.file ? { file: opts.layout.file } : {}),
      }),
    );
  }
  // 3. Links per step: load, check signatures by authorized functionaries, count toward threshold.
  const totalLinks = parsed.steps.reduce((n, s) => n + s.step.pubkeys.length, 0);
  if (totalLinks > limits.maxLinks) {
    return fail(
      report,
      cairnError("ERR_JSON_TOO_LARGE", `the layout names ${totalLinks} links, more than ${limits.maxLinks}`),
    );
  }
  const verifiedLinks = new Map<string, Array<{ keyid: string; link: Link }>>();
  let thresholdFailure: CairnError | undefined;
  for (const { step } of parsed.steps) {
    const sr: StepReport = { name: step.name, threshold: step.threshold, links: [], verified: 0, ok: false };
    report.steps.push(sr);
    const good: Array<{ keyid: string; link: Link }> = [];
    const countedKeys = new Set<string>();
    for (const keyid of step.pubkeys) {
      const file = linkFileName(step.name, keyid);
      const path = join(opts.linkDir, file);
      const lr: LinkReport = { keyid, file: path, status: "missing" };
      sr.links.push(lr);
      const key = parsed.keys.get(keyid);
      let bytes: Uint8Array | undefined;
      try {
        bytes = await ports.readFile(path);
      } catch (e) {
        lr.status = "malformed";
        lr.detail = asCairnError(e).message;
        continue;
      }
      if (bytes === undefined) continue;
      if (!key) {
        lr.status = "bad-signature";
        lr.detail = `key ${keyid} is authorized for the step but not in the layout's keys`;
        continue;
      }
      let doc: SignedDocument;
      let verifiedSigned: Record<string, unknown>;
      try {
        doc = readSignedDocument(bytes, path);
        verifiedSigned = verifySignedDocument(doc, new KeyRing([key]), 1).signed;
      } catch (e) {
        const err = asCairnError(e);
        lr.status = err.category === "verification" ? "bad-signature" : "malformed";
        lr.detail = err.describe();
        continue;
      }
      // A step may be carried out by a sublayout: verify it recursively with the functionary's key.
      if (verifiedSigned._type === "layout") {
        const subDir = join(opts.linkDir, `${step.name}.${keyid.slice(0, 8)}`);
        const sub = await verifySupplyChain(
          {
            ...opts,
            layout: doc,
            layoutKeys: [key],
            linkDir: subDir,
            stepName: step.name,
            parameters: undefined,
          },
          ports,
          depth + 1,
        );
        sr.sublayout = sub;
        if (!sub.ok || !sub.summary) {
          lr.status = "bad-signature";
          lr.detail = `sublayout failed: ${sub.failure?.message ?? "unknown"}`;
          thresholdFailure ??= cairnError(
            "ERR_INTOTO_SUBLAYOUT",
            `sublayout for step "${step.name}" failed verification`,
          );
          continue;
        }
        lr.status = "verified";
        good.push({ keyid, link: sub.summary });
        countedKeys.add(keyid);
        continue;
      }
      let link: Link;
      try {
        link = parseLink(verifiedSigned, path);
      } catch (e) {
        lr.status = "not-a-link";
        lr.detail = asCairnError(e).describe();
        continue;
      }
      // The file name ties a link to a step; a link that names another step is not evidence for this one.
      if (link.name !== step.name) {
        lr.status = "wrong-step";
        lr.detail = `the link is for step "${link.name}"`;
        continue;
      }
      lr.status = "verified";
      good.push({ keyid, link });
      countedKeys.add(keyid);
    }
    sr.verified = countedKeys.size;
    sr.ok = sr.verified >= step.threshold;
    if (!sr.ok) {
      sr.failure = `needs ${step.threshold} link(s) signed by authorized functionaries, found ${sr.verified}`;
      thresholdFailure ??= cairnError("ERR_INTOTO_STEP_UNVERIFIED", `step "${step.name}" ${sr.failure}`);
    }
    verifiedLinks.set(step.name, good);
  }
  if (thresholdFailure) return fail(report, thresholdFailure);
  // 4. Command alignment: a mismatch is a warning only.
  for (const { step } of parsed.steps) {
    const first = verifiedLinks.get(step.name)?.[0];
    if (!first || step.expected_command.length === 0) continue;
    if (JSON.stringify(first.link.command) !== JSON.stringify(step.expected_command)) {
      const w = `step "${step.name}": command ${JSON.stringify(first.link.command)} differs from expected ${JSON.stringify(step.expected_command)}`;
      report.warnings.push(w);
      const sr = report.steps.find((s) => s.name === step.name);
      if (sr) sr.commandWarning = w;
    }
  }
  // 5. Links of a step with threshold > 1 must agree on materials and products.
  for (const { step } of parsed.steps) {
    const links = verifiedLinks.get(step.name) ?? [];
    if (step.threshold <= 1 || links.length < 2) continue;
    const ref = links[0]!;
    const refM = canonicalize(ref.link.materials);
    const refP = canonicalize(ref.link.products);
    for (const other of links.slice(1)) {
      if (canonicalize(other.link.materials) !== refM || canonicalize(other.link.products) !== refP) {
        const sr = report.steps.find((s) => s.name === step.name)!;
        sr.ok = false;
        sr.failure = `links ${linkFileName(step.name, ref.keyid)} and ${linkFileName(step.name, other.keyid)} record different artifacts`;
        return fail(report, cairnError("ERR_INTOTO_LINKS_DISAGREE", `step "${step.name}": ${sr.failure}`));
      }
    }
  }
  // 6. Reduce to one link per step, then the steps' artifact rules.
  const reduced = new Map<string, Link>();
  for (const [name, links] of verifiedLinks) reduced.set(name, links[0]!.link);
  let rulesOk = true;
  for (const { step, materials, products } of parsed.steps) {
    for (const [kind, rules] of [
      ["materials", materials],
      ["products", products],
    ] as const) {
      const r = verifyItemRules(step.name, kind, rules, reduced);
      report.rules.push(r);
      if (!r.ok) rulesOk = false;
    }
  }
  if (!rulesOk) return fail(report, ruleFailure(report.rules));
  // 7. Inspections, in order; a non-zero exit fails verification.
  for (const { inspection } of parsed.inspections) {
    const ir: InspectionReport = { name: inspection.name, run: inspection.run, ok: false };
    report.inspections.push(ir);
    try {
      const { link, returnValue } = await ports.runInspection(inspection.name, inspection.run);
      ir.returnValue = returnValue;
      reduced.set(inspection.name, link);
      if (returnValue !== 0) {
        ir.failure = `exited with ${returnValue}`;
        return fail(
          report,
          cairnError("ERR_INTOTO_INSPECTION_FAILED", `inspection "${inspection.name}" ${ir.failure}`),
        );
      }
      ir.ok = true;
    } catch (e) {
      ir.failure = asCairnError(e).message;
      return fail(report, e);
    }
  }
  // 8. The inspections' artifact rules, against the steps' links and the inspections' own.
  for (const { inspection, materials, products } of parsed.inspections) {
    for (const [kind, rules] of [
      ["materials", materials],
      ["products", products],
    ] as const) {
      const r = verifyItemRules(inspection.name, kind, rules, reduced);
      report.rules.push(r);
      if (!r.ok) rulesOk = false;
    }
  }
  if (!rulesOk) return fail(report, ruleFailure(report.rules));
  report.ok = true;
  report.summary = summaryLink(parsed, reduced, opts.stepName ?? "");
  return report;
}

function ruleFailure(results: ItemRulesResult[]): CairnError {
  const bad = results.find((r) => !r.ok)!;
  const rule = bad.rules.find((r) => !r.passed);
  const what = rule ? `${JSON.stringify(rule.rule)}: ${rule.reason ?? "failed"}` : "a rule failed";
  return cairnError("ERR_INTOTO_RULE_FAILED", `${bad.name} ${bad.kind}: ${what}`);
}

/** verifylib.get_summary_link: the first step's materials and the last step's products. */
function summaryLink(parsed: ParsedLayout, reduced: Map<string, Link>, name: string): Link {
  const first = parsed.steps[0] ? reduced.get(parsed.steps[0].step.name) : undefined;
  const last = parsed.steps.at(-1) ? reduced.get(parsed.steps.at(-1)!.step.name) : undefined;
  return {
    _type: "link",
    name,
    command: last?.command ?? [],
    materials: first?.materials ?? {},
    products: last?.products ?? {},
    byproducts: last?.byproducts ?? {},
    environment: {},
  };
}

/** Reads and validates a signed layout file's wrapper. */
export function parseLayoutDocument(bytes: Uint8Array, file: string): SignedDocument {
  const doc = readSignedDocument(bytes, file);
  const signed = peekSigned(doc);
  if (!isJsonObject(signed) || signed._type !== "layout") {
    throw cairnError("ERR_FIELD_INVALID", `not a layout (_type is ${JSON.stringify(signed._type)})`, {
      file,
      field: "signed._type",
    });
  }
  return doc;
}
