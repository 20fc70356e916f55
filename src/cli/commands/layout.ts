// SPDX-License-Identifier: Apache-2.0
// cairn layout create | sign | show

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { type PublicKey, parsePublicKey } from "../../core/keys.js";
import { addLayoutSignatures, buildLayout, signLayout } from "../../engines/intoto/layout-create.js";
import { parseLayoutDocument } from "../../engines/intoto/verify.js";
import { parseLayout } from "../../formats/intoto/layout.js";
import { peekSigned, serializeDocument, signatureKeyIds } from "../../formats/intoto/metablock.js";
import { readDescription } from "../../runtime/documents.js";
import { readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import { loadSigner } from "../../runtime/keyfiles.js";
import { type CliIO, write } from "../io.js";
import { passphraseFrom, signerRef } from "./key.js";

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerLayout(program: Command, io: CliIO): void {
  const layout = program.command("layout").description("create, sign and show in-toto layouts");
  layout
    .command("create")
    .description("build a layout from a YAML/JSON description and sign it")
    .argument("<description>", "YAML or JSON description of the supply chain (see docs/layout.md)")
    .requiredOption("-k, --key <path>", "the project owner's private key (repeatable)", collect)
    .requiredOption("-o, --output <path>", "where to write the signed layout")
    .option("--dsse", "write the DSSE envelope form instead of the classic metablock")
    .option("--passphrase-env <NAME>", "passphrase for encrypted keys, from this environment variable")
    .action(
      async (
        descPath: string,
        o: { key: string[]; output: string; dsse?: boolean; passphraseEnv?: string },
      ) => {
        const desc = await readDescription(resolve(io.cwd, descPath));
        const base = dirname(resolve(io.cwd, descPath));
        const resolveKey = (ref: string, field: string): PublicKey => {
          const path = resolve(base, ref);
          let text: string;
          try {
            text = readFileSync(path, "utf8");
          } catch {
            throw cairnError("ERR_NOT_FOUND", `public key file ${path} cannot be read`, {
              file: descPath,
              field,
            });
          }
          return parsePublicKey(text, path);
        };
        let built: ReturnType<typeof buildLayout>;
        try {
          built = buildLayout(desc, resolveKey, new Date());
        } catch (e) {
          if (e instanceof Error && "inFile" in e) (e as { inFile(f: string): unknown }).inFile(descPath);
          throw e;
        }
        const pass = passphraseFrom(io, o.passphraseEnv);
        const signers = await Promise.all(o.key.map((k) => loadSigner(signerRef(io, k), pass)));
        const doc = await signLayout(built, signers, o.dsse ? "dsse" : "metablock");
        await writeFileAtomic(resolve(io.cwd, o.output), serializeDocument(doc));
        write(
          io.stdout,
          `layout with ${built.steps.length} step(s) and ${built.inspect.length} inspection(s), signed by ${signers.map((s) => s.keyid.slice(0, 8)).join(", ")}, written to ${o.output}`,
        );
      },
    );
  layout
    .command("sign")
    .description("add signatures to a signed layout (for layouts several owners sign)")
    .argument("<layout>")
    .requiredOption("-k, --key <path>", "private key (repeatable)", collect)
    .option("-o, --output <path>", "where to write (default: in place)")
    .option("--passphrase-env <NAME>", "passphrase for encrypted keys, from this environment variable")
    .action(async (path: string, o: { key: string[]; output?: string; passphraseEnv?: string }) => {
      const file = resolve(io.cwd, path);
      const doc = parseLayoutDocument(await readFileRequired(file, "layout"), path);
      parseLayout(peekSigned(doc), path);
      const pass = passphraseFrom(io, o.passphraseEnv);
      const signers = await Promise.all(o.key.map((k) => loadSigner(signerRef(io, k), pass)));
      const out = await addLayoutSignatures(doc, signers);
      await writeFileAtomic(resolve(io.cwd, o.output ?? path), serializeDocument(out));
      write(
        io.stdout,
        `signed by ${signers.map((s) => s.keyid.slice(0, 8)).join(", ")}, written to ${o.output ?? path}`,
      );
    });
  layout
    .command("show")
    .description("print a layout's steps, keys, rules and signatures (signatures not verified)")
    .argument("<layout>")
    .option("--json", "as JSON")
    .action(async (path: string, o: { json?: boolean }) => {
      const doc = parseLayoutDocument(await readFileRequired(resolve(io.cwd, path), "layout"), path);
      const parsed = parseLayout(peekSigned(doc), path);
      const sigs = signatureKeyIds(doc);
      if (o.json) {
        write(
          io.stdout,
          JSON.stringify({ format: doc.format, signatures: sigs, layout: parsed.layout }, null, 2),
        );
        return;
      }
      const l = parsed.layout;
      const lines = [
        `layout (${doc.format}), expires ${l.expires}, signatures by: ${sigs.join(", ") || "none"}`,
      ];
      if (l.readme) lines.push(`readme: ${l.readme}`);
      lines.push("keys:");
      for (const [id, k] of parsed.keys) lines.push(`  ${id}  ${k.keytype} ${k.scheme}`);
      for (const { step } of parsed.steps) {
        lines.push(
          `step ${step.name} (threshold ${step.threshold}; functionaries ${step.pubkeys.map((k) => k.slice(0, 8)).join(", ")})`,
        );
        if (step.expected_command.length)
          lines.push(`  expected command: ${step.expected_command.join(" ")}`);
        for (const r of step.expected_materials) lines.push(`  material rule: ${r.join(" ")}`);
        for (const r of step.expected_products) lines.push(`  product rule:  ${r.join(" ")}`);
      }
      for (const { inspection } of parsed.inspections) {
        lines.push(`inspection ${inspection.name}: runs ${inspection.run.join(" ")}`);
        for (const r of inspection.expected_materials) lines.push(`  material rule: ${r.join(" ")}`);
        for (const r of inspection.expected_products) lines.push(`  product rule:  ${r.join(" ")}`);
      }
      write(io.stdout, lines.join("\n"));
    });
}
