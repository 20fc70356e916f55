// SPDX-License-Identifier: Apache-2.0
// cairn verify: in-toto final product verification, with in-toto-verify's core flags.
import { resolve } from "node:path";
import type { Command } from "commander";
import { systemClock } from "../../core/clock.js";
import { cairnError, exitCodeFor } from "../../core/errors.js";
// tuf: trust distribution
import type { PublicKey } from "../../core/keys.js";
import { runInspection } from "../../engines/intoto/runlib.js";
import { parseLayoutDocument, type VerifyReport, verifySupplyChain } from "../../engines/intoto/verify.js";
import { fetchLayoutKeys, TufClient } from "../../engines/tuf/index.js";
import { readFileIfExists, readFileRequired } from "../../runtime/fs.js";
import { httpFetcher } from "../../runtime/http.js";
import { loadPublicKeyFile } from "../../runtime/keyfiles.js";
import { directoryMetadataStore } from "../../runtime/tuf-store.js";
import { type CliIO, color, write } from "../io.js";

const KEY_TYPES = ["rsa", "ed25519", "ecdsa"];

function parseParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const i = p.indexOf("=");
    if (i <= 0) throw cairnError("ERR_USAGE", `--param "${p}" must be NAME=VALUE`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export function registerVerify(program: Command, io: CliIO): void {
  program
    .command("verify")
    .description(
      "verify a supply chain: layout signatures and expiry, links, thresholds, artifact rules, inspections",
    )
    .requiredOption("-l, --layout <path>", "the signed root layout")
    .option(
      "-k, --layout-keys <paths...>",
      "public keys that must each have signed the layout (PEM or securesystemslib JSON)",
    )
    // tuf: layout keys distributed through a TUF repository (issue 4, section 3)
    .option(
      "--trust-metadata-dir <dir>",
      "instead of -k: a TUF client directory (root.json trusted) whose repository publishes the layout keys",
    )
    .option("--trust-metadata-url <url>", "with --trust-metadata-dir: the repository's metadata URL")
    .option("--trust-targets-url <url>", "with --trust-metadata-dir: the repository's targets URL")
    .option(
      "-t, --key-types <types...>",
      "key types for --layout-keys, by position (rsa, ed25519, ecdsa); detected when omitted",
    )
    .option("--link-dir <dir>", "directory holding the link files", ".")
    .option("-P, --param <NAME=VALUE...>", "layout parameter to substitute (repeatable)")
    .option("--json", "print the report as JSON")
    .action(
      async (o: {
        layout: string;
        layoutKeys?: string[];
        trustMetadataDir?: string;
        trustMetadataUrl?: string;
        trustTargetsUrl?: string;
        keyTypes?: string[];
        linkDir: string;
        param?: string[];
        json?: boolean;
      }) => {
        if ((o.layoutKeys === undefined) === (o.trustMetadataDir === undefined)) {
          throw cairnError("ERR_USAGE", "give the layout keys: -k FILES or --trust-metadata-dir (not both)");
        }
        if (o.keyTypes && o.keyTypes.length !== (o.layoutKeys ?? []).length) {
          throw cairnError("ERR_USAGE", "--key-types must give one type per --layout-keys file");
        }
        for (const t of o.keyTypes ?? []) {
          if (!KEY_TYPES.includes(t))
            throw cairnError("ERR_USAGE", `--key-types: "${t}" is not one of ${KEY_TYPES.join(", ")}`);
        }
        const layoutPath = resolve(io.cwd, o.layout);
        const layout = parseLayoutDocument(await readFileRequired(layoutPath, "layout"), o.layout);
        // The key ids the layout claims signatures by (revoke: a revoked one refuses, fail closed).
        const claimed =
          layout.format === "metablock"
            ? layout.metablock.signatures.map((x) => x.keyid)
            : layout.envelope.signatures.map((x) => x.keyid ?? "");
        const keys =
          o.layoutKeys !== undefined
            ? await Promise.all(
                o.layoutKeys.map((k, i) => loadPublicKeyFile(resolve(io.cwd, k), o.keyTypes?.[i])),
              )
            : await trustedLayoutKeys(io, o, claimed);
        const report = await verifySupplyChain(
          {
            layout,
            layoutKeys: keys,
            linkDir: resolve(io.cwd, o.linkDir),
            ...(o.param ? { parameters: parseParams(o.param) } : {}),
          },
          {
            readFile: readFileIfExists,
            runInspection: (name, argv) => runInspection(name, argv, io.cwd),
            clock: systemClock,
          },
        );
        if (o.json) write(io.stdout, JSON.stringify(report, null, 2));
        else write(io.stdout, renderReport(io, report, o.layout));
        // Fail closed: a report that is not ok never exits 0, whatever its failure says.
        if (!report.ok)
          process.exitCode = exitCodeFor(report.failure?.code ?? "ERR_INTOTO_VERIFICATION_FAILED");
      },
    );
}

/** The human report: per step, per link, per rule, what passed and what failed and why. */
export function renderReport(io: CliIO, r: VerifyReport, layoutFile: string, indent = ""): string {
  const ok = (b: boolean) => (b ? color(io, 32, "✓") : color(io, 31, "✗"));
  const lines: string[] = [];
  if (!indent)
    lines.push(
      `${r.ok ? color(io, 32, "PASS") : color(io, 31, "FAIL")}  in-toto verification of ${layoutFile}`,
    );
  lines.push(
    `${indent}layout: signed by ${r.layout.signedBy.map((k) => k.slice(0, 8)).join(", ") || "(not verified)"}${r.layout.expires ? `, expires ${r.layout.expires}${r.layout.expired ? " (EXPIRED)" : ""}` : ""}`,
  );
  for (const s of r.steps) {
    lines.push(
      `${indent}${ok(s.ok)} step ${s.name}: ${s.verified} of ${s.threshold} required link(s) verified`,
    );
    for (const l of s.links) {
      lines.push(
        `${indent}    ${l.status === "verified" ? ok(true) : l.status === "missing" ? "-" : ok(false)} ${l.file.split("/").pop()} (${l.keyid.slice(0, 8)}): ${l.status}${l.detail ? `: ${l.detail}` : ""}`,
      );
    }
    if (s.commandWarning) lines.push(`${indent}    ! ${s.commandWarning}`);
    if (s.failure) lines.push(`${indent}    ${s.failure}`);
    if (s.sublayout) lines.push(renderReport(io, s.sublayout, "", `${indent}    `));
  }
  for (const i of r.inspections) {
    lines.push(
      `${indent}${ok(i.ok)} inspection ${i.name}: ran ${i.run.join(" ")}${i.returnValue !== undefined ? `, exit ${i.returnValue}` : ""}${i.failure ? `: ${i.failure}` : ""}`,
    );
  }
  for (const item of r.rules) {
    lines.push(`${indent}${ok(item.ok)} rules for ${item.name} ${item.kind}`);
    for (const rule of item.rules) {
      const extra =
        rule.reason ?? rule.note ?? (rule.consumed.length ? `consumed ${rule.consumed.length}` : "");
      lines.push(`${indent}    ${ok(rule.passed)} ${rule.rule.join(" ")}${extra ? `: ${extra}` : ""}`);
    }
  }
  for (const w of r.warnings) if (!indent) lines.push(`${indent}warning: ${w}`);
  if (r.failure && !indent) {
    lines.push(
      `${color(io, 31, "FAILED")}: ${r.failure.code}: ${r.failure.file ? `${r.failure.file}: ` : ""}${r.failure.field ? `${r.failure.field}: ` : ""}${r.failure.message}`,
    );
  }
  return lines.join("\n");
}

// tuf: layout keys from a TUF repository (issue 4, section 3) ------------------------------------

/**
 * The layout keys valid now in the repository's layout-key bundle, fetched through a TUF client
 * (its metadata updated first, so a rotation or revocation is seen). Each must have signed the
 * layout, as with -k.
 */
async function trustedLayoutKeys(
  io: CliIO,
  o: { trustMetadataDir?: string; trustMetadataUrl?: string; trustTargetsUrl?: string },
  signatureKeyids: string[],
): Promise<PublicKey[]> {
  if (o.trustMetadataUrl === undefined || o.trustTargetsUrl === undefined) {
    throw cairnError("ERR_USAGE", "--trust-metadata-dir needs --trust-metadata-url and --trust-targets-url");
  }
  const client = new TufClient({
    metadataUrl: o.trustMetadataUrl,
    targetBaseUrl: o.trustTargetsUrl,
    store: directoryMetadataStore(resolve(io.cwd, o.trustMetadataDir!)),
    fetcher: httpFetcher({ userAgent: "cairn-verify" }),
  });
  // revoke: revocations apply to layout keys, and to any key id the layout claims a signature by.
  return fetchLayoutKeys(client, systemClock.now(), signatureKeyids);
}
