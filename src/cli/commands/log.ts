// SPDX-License-Identifier: Apache-2.0
// cairn log upload | get | search | info | verify | prove | monitor: a client of cairn's log
// service (docs/log.md). verify and prove check offline; monitor follows a log and alerts on a
// split view.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import {
  type EntryProofInput,
  monitorStep,
  verifyCheckpointConsistency,
  verifyEntryInclusion,
} from "../../engines/tlog/index.js";
import { type NoteVerifier, noteVerifierFromVkey, openCheckpoint } from "../../formats/tlog/index.js";
import { readFileIfExists, readFileRequired, writeFileAtomic } from "../../runtime/fs.js";
import { batchAnswerError, type LogClientOptions, logJson, submitBatches } from "../../runtime/log-client.js";
import { type CliIO, intFlag, write } from "../io.js";

interface ServerFlags {
  server: string;
  tokenFile?: string;
  json?: boolean;
}

const MAX_INPUT_BYTES = 256 * 1024 * 1024;

async function readJsonFile(io: CliIO, path: string, what: string): Promise<unknown> {
  const bytes = await readFileRequired(resolve(io.cwd, path), what);
  return parseJson(bytes, path, { maxBytes: MAX_INPUT_BYTES, maxDepth: 128 });
}

async function client(io: CliIO, o: ServerFlags): Promise<LogClientOptions> {
  let token = io.env.token;
  if (o.tokenFile !== undefined) {
    token = (await readFileRequired(resolve(io.cwd, o.tokenFile), "token file")).toString("utf8").trim();
  }
  return { server: o.server, ...(token !== undefined ? { token } : {}) };
}

/** A vkey given as text (`name+hex+base64`) or as a file holding it. */
async function vkeyVerifier(io: CliIO, v: string): Promise<NoteVerifier> {
  const path = resolve(io.cwd, v);
  const text = existsSync(path) ? (await readFileRequired(path, "vkey")).toString("utf8").trim() : v;
  return noteVerifierFromVkey(text);
}

function out(io: CliIO, json: boolean | undefined, value: unknown, human: string): void {
  write(io.stdout, json ? JSON.stringify(value) : human);
}

// A signature file holds either the raw signature or its base64 text (as cosign writes it).
function signatureText(bytes: Buffer): string {
  const t = bytes.toString("latin1").trim();
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(t) && t.length % 4 === 0 && t.length >= 12) return t;
  return bytes.toString("base64");
}

/**
 * Logs several envelopes through the batch route (runtime/log-client.ts submitBatches), one line
 * per envelope as its request is answered (the lines are the progress). Every envelope is read
 * and parsed before the first request, so a bad file logs nothing. Fails (with the first refusal's
 * code) when any envelope was refused; the others stay logged.
 */
async function uploadMany(
  io: CliIO,
  o: ServerFlags & { output?: string; outputDir?: string },
  files: string[],
  keys: string[],
): Promise<void> {
  if (o.output !== undefined) {
    throw cairnError("ERR_USAGE", "-o writes one entry: give --output-dir DIR for several envelopes");
  }
  const outDir = o.outputDir === undefined ? undefined : resolve(io.cwd, o.outputDir);
  const names = files.map((f) => `${basename(f).replace(/\.json$/, "")}.entry.json`);
  if (outDir !== undefined) {
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) {
      throw cairnError("ERR_USAGE", `two envelopes would both be written to ${twice} in --output-dir`);
    }
    await mkdir(outDir, { recursive: true });
  }
  const envelopes = await Promise.all(files.map((f) => readJsonFile(io, f, "envelope")));
  const submissions = envelopes.map((envelope) => ({ kind: "dsse", envelope, publicKeys: keys }));
  const answers = await submitBatches(await client(io, o), submissions, async (start, batch) => {
    for (const [i, answer] of batch.entries()) {
      const file = files[start + i]!;
      if (answer.error === undefined && outDir !== undefined) {
        await writeFileAtomic(join(outDir, names[start + i]!), `${JSON.stringify(answer, null, 2)}\n`);
      }
      if (!o.json) {
        write(
          io.stdout,
          answer.error !== undefined
            ? `${file}: refused: ${answer.error.code}: ${answer.error.detail}`
            : `${file}: ${answer.duplicate ? "already logged" : "logged"} at index ${answer.logIndex} (leaf ${answer.leafHash})`,
        );
      }
    }
  });
  const refused = answers.flatMap((a, i) => (a.error === undefined ? [] : [i]));
  if (o.json) {
    const results = answers.map((a, i) => ({ file: files[i], ...a }));
    write(
      io.stdout,
      JSON.stringify({ accepted: answers.length - refused.length, refused: refused.length, results }),
    );
  }
  if (refused.length > 0) {
    const first = refused[0]!;
    const e = batchAnswerError(answers[first]!, files[first]!);
    throw cairnError(
      e.code,
      `${refused.length} of ${answers.length} envelopes were refused (first: ${e.message}); the others are logged`,
    );
  }
}

export function registerLog(program: Command, io: CliIO): void {
  const log = program
    .command("log")
    .description("the transparency log: upload, read, search, verify, monitor");
  const withServer = (c: Command) =>
    c
      .requiredOption("--server <url>", "the log service, e.g. http://127.0.0.1:3000")
      .option("--json", "machine-readable output");

  withServer(log.command("upload"))
    .description("log a DSSE envelope (in-toto statement) or a signed artifact; prints its index")
    .option("--token-file <file>", "bearer token for writes (default: $CAIRN_TOKEN)")
    .option("--envelope <file...>", "DSSE envelope(s) (JSON); several are logged in batches")
    .option("--artifact <file>", "the artifact a signature is over")
    .option("--signature <file>", "the artifact's signature (raw or base64)")
    .option("--public-key <file...>", "the public key(s) (PEM or securesystemslib JSON) that verify it")
    .option("-o, --output <file>", "write the entry with its inclusion proof here (for `cairn log verify`)")
    .option("--output-dir <dir>", "several envelopes: write each entry with its proof to DIR/NAME.entry.json")
    .action(
      async (
        o: ServerFlags & {
          envelope?: string[];
          outputDir?: string;
          artifact?: string;
          signature?: string;
          publicKey?: string[];
          output?: string;
        },
      ) => {
        const keys = await Promise.all(
          (o.publicKey ?? []).map(async (k) =>
            (await readFileRequired(resolve(io.cwd, k), "public key")).toString("utf8"),
          ),
        );
        if (keys.length === 0) throw cairnError("ERR_USAGE", "--public-key is required");
        if (o.envelope !== undefined && o.envelope.length > 1 && o.artifact === undefined) {
          return uploadMany(io, o, o.envelope, keys);
        }
        if (o.outputDir !== undefined) {
          throw cairnError(
            "ERR_USAGE",
            "--output-dir goes with several --envelope files (one entry: -o FILE)",
          );
        }
        let submission: Record<string, unknown>;
        if (o.envelope !== undefined && o.artifact === undefined) {
          submission = {
            kind: "dsse",
            envelope: await readJsonFile(io, o.envelope[0]!, "envelope"),
            publicKeys: keys,
          };
        } else if (o.artifact !== undefined && o.envelope === undefined && o.signature !== undefined) {
          const data = await readFileRequired(resolve(io.cwd, o.artifact), "artifact");
          const sig = await readFileRequired(resolve(io.cwd, o.signature), "signature");
          submission = {
            kind: "artifact",
            digest: { sha256: createHash("sha256").update(data).digest("hex") },
            signature: signatureText(sig),
            publicKey: keys[0],
          };
        } else {
          throw cairnError("ERR_USAGE", "give --envelope, or --artifact with --signature");
        }
        const r = await logJson<Record<string, unknown>>(
          await client(io, o),
          "POST",
          "cairn/v1/log/entries",
          submission,
        );
        if (o.output !== undefined)
          await writeFileAtomic(resolve(io.cwd, o.output), `${JSON.stringify(r, null, 2)}\n`);
        out(
          io,
          o.json,
          r,
          `${r.duplicate ? "already logged" : "logged"} at index ${r.logIndex} (leaf ${r.leafHash})`,
        );
      },
    );

  withServer(log.command("get"))
    .description("read an entry with its inclusion proof, by index or by UUID (leaf hash)")
    .option("--index <n>", "log index")
    .option("--uuid <hex>", "Rekor entry UUID (the leaf hash)")
    .option("-o, --output <file>", "write the entry here (for `cairn log verify`)")
    .action(async (o: ServerFlags & { index?: string; uuid?: string; output?: string }) => {
      const c = await client(io, o);
      let index: number;
      if (o.index !== undefined && o.uuid === undefined) index = intFlag(o.index, "--index", 0);
      else if (o.uuid !== undefined && o.index === undefined) {
        const r = await logJson<Record<string, { logIndex: number }>>(
          c,
          "GET",
          `api/v1/log/entries/${encodeURIComponent(o.uuid)}`,
        );
        index = Object.values(r)[0]!.logIndex;
      } else throw cairnError("ERR_USAGE", "give --index or --uuid");
      const e = await logJson<Record<string, unknown>>(c, "GET", `cairn/v1/log/entries/${index}`);
      if (o.output !== undefined)
        await writeFileAtomic(resolve(io.cwd, o.output), `${JSON.stringify(e, null, 2)}\n`);
      out(io, o.json, e, `entry ${e.logIndex}: leaf ${e.leafHash}, integrated at ${e.integratedTime}`);
    });

  withServer(log.command("search"))
    .description(
      "what do we know about this artifact: stored envelopes by subject, predicate type, signer, time",
    )
    .option("--subject <alg:hex>", "a subject digest, e.g. sha256:...")
    .option("--predicate-type <uri>", "the statement's predicate type")
    .option("--key-id <id>", "a signer's key id")
    .option("--identity <id>", "a signer's certificate identity")
    .option("--signer <id>", "a signer: a key id (64 hex) or a certificate identity (email, URI)")
    .option("--issuer <url>", "with --identity or --signer: the certificate's OIDC issuer")
    .option("--since <unix>", "integrated at or after")
    .option("--until <unix>", "integrated before")
    .option("--page-size <n>", "results per page")
    .option("--cursor <c>", "continue after a previous page")
    .option("--all", "follow every page")
    .action(async (o: ServerFlags & Record<string, string | boolean | undefined>) => {
      const c = await client(io, o as ServerFlags);
      const q = new URLSearchParams();
      const map: [string, string][] = [
        ["subject", "subject"],
        ["predicateType", "predicateType"],
        ["keyId", "keyId"],
        ["identity", "identity"],
        ["signer", "signer"],
        ["issuer", "issuer"],
        ["since", "since"],
        ["until", "until"],
        ["pageSize", "pageSize"],
      ];
      for (const [flag, param] of map) if (typeof o[flag] === "string") q.set(param, o[flag] as string);
      if (q.size === 0)
        throw cairnError(
          "ERR_USAGE",
          "give at least one of --subject, --predicate-type, --key-id, --identity, --signer, --since, --until",
        );
      let cursor = typeof o.cursor === "string" ? o.cursor : undefined;
      const results: Record<string, unknown>[] = [];
      let next: string | undefined;
      // Bounded: --all follows at most this many pages.
      for (let page = 0; page < 10_000; page++) {
        if (cursor !== undefined) q.set("cursor", cursor);
        const r = await logJson<{ results: Record<string, unknown>[]; nextCursor?: string }>(
          c,
          "GET",
          `cairn/v1/search?${q}`,
        );
        results.push(...r.results);
        next = r.nextCursor;
        if (!o.all || next === undefined) break;
        cursor = next;
      }
      const human = results
        .map((r) => `${r.logIndex}\t${r.predicateType}\t${(r.subjectDigests as string[]).join(",")}`)
        .join("\n");
      out(
        io,
        o.json,
        { results, ...(next !== undefined && !o.all ? { nextCursor: next } : {}) },
        human || "no results",
      );
    });

  withServer(log.command("info"))
    .description("the log's origin, verifier key (vkey), size and latest checkpoint")
    .action(async (o: ServerFlags) => {
      const r = await logJson<Record<string, unknown>>(await client(io, o), "GET", "cairn/v1/log");
      out(io, o.json, r, `${r.origin}\nvkey ${r.vkey}\nsize ${r.treeSize}\nroot ${r.rootHash}`);
    });

  log
    .command("verify")
    .description("offline: check an entry's inclusion proof against a signed checkpoint")
    .requiredOption(
      "--entry <file>",
      "the entry with its proof (from `cairn log upload -o` or `cairn log get -o`)",
    )
    .requiredOption("--vkey <vkey|file>", "the log's verifier key (C2SP vkey)")
    .option("--checkpoint <file>", "check against this checkpoint (default: the one in the entry)")
    .option("--origin <name>", "the log's origin, when the vkey's name differs")
    .option("--artifact <file>", "also check that the entry is about this artifact (its SHA-256)")
    .option("--json", "machine-readable output")
    .action(
      async (o: {
        entry: string;
        vkey: string;
        checkpoint?: string;
        origin?: string;
        artifact?: string;
        json?: boolean;
      }) => {
        const entry = (await readJsonFile(io, o.entry, "entry")) as EntryProofInput;
        const verifier = await vkeyVerifier(io, o.vkey);
        const against =
          o.checkpoint !== undefined
            ? (await readFileRequired(resolve(io.cwd, o.checkpoint), "checkpoint")).toString("utf8")
            : undefined;
        const artifactSha256 =
          o.artifact !== undefined
            ? createHash("sha256")
                .update(await readFileRequired(resolve(io.cwd, o.artifact), "artifact"))
                .digest("hex")
            : undefined;
        const v = verifyEntryInclusion(entry, verifier, {
          origin: o.origin ?? verifier.name,
          ...(against !== undefined ? { against } : {}),
          ...(artifactSha256 !== undefined ? { artifactSha256 } : {}),
        });
        out(
          io,
          o.json,
          {
            verified: true,
            logIndex: v.logIndex,
            leafHash: v.leafHash.toString("hex"),
            treeSize: v.checkpoint.size,
            origin: v.checkpoint.origin,
          },
          `verified: entry ${v.logIndex} is in ${v.checkpoint.origin} at size ${v.checkpoint.size}`,
        );
      },
    );

  log
    .command("prove")
    .description("check that NEW is an append-only extension of OLD (two signed checkpoints)")
    .argument("<old>", "the older checkpoint file")
    .argument("<new>", "the newer checkpoint file")
    .requiredOption("--vkey <vkey|file>", "the log's verifier key (C2SP vkey)")
    .option("--server <url>", "fetch the consistency proof from this log service")
    .option("--proof <file>", "the consistency proof (JSON {hashes: [hex...]}), offline")
    .option("--json", "machine-readable output")
    .action(
      async (
        oldFile: string,
        newFile: string,
        o: { vkey: string; server?: string; proof?: string; json?: boolean },
      ) => {
        const verifier = await vkeyVerifier(io, o.vkey);
        const older = (await readFileRequired(resolve(io.cwd, oldFile), "checkpoint")).toString("utf8");
        const newer = (await readFileRequired(resolve(io.cwd, newFile), "checkpoint")).toString("utf8");
        let hashes: string[];
        if (o.proof !== undefined && o.server === undefined) {
          const p = await readJsonFile(io, o.proof, "proof");
          if (!isJsonObject(p) || !Array.isArray(p.hashes))
            throw cairnError("ERR_FIELD_INVALID", "the proof is {hashes: [...]}", { field: "hashes" });
          hashes = p.hashes as string[];
        } else if (o.server !== undefined && o.proof === undefined) {
          const a = openCheckpoint(older, { log: verifier }).checkpoint.size;
          const b = openCheckpoint(newer, { log: verifier }).checkpoint.size;
          if (b < a) throw cairnError("ERR_TLOG_PROOF_INVALID", `the log shrank from ${a} to ${b} entries`);
          hashes = (
            await logJson<{ hashes: string[] }>(
              { server: o.server },
              "GET",
              `cairn/v1/log/proof/consistency?from=${a}&to=${b}`,
            )
          ).hashes;
        } else throw cairnError("ERR_USAGE", "give --server or --proof");
        const r = verifyCheckpointConsistency(older, newer, hashes, verifier);
        out(
          io,
          o.json,
          { consistent: true, origin: r.older.origin, from: r.older.size, to: r.newer.size },
          `consistent: ${r.older.origin} grew from ${r.older.size} to ${r.newer.size} entries without rewriting any`,
        );
      },
    );

  withServer(log.command("monitor"))
    .description("follow a log: verify each new checkpoint against the last one seen; alert on a split view")
    .requiredOption("--vkey <vkey|file>", "the log's verifier key (C2SP vkey)")
    .requiredOption("--state <file>", "where the last verified checkpoint is kept")
    .option("--interval <seconds>", "seconds between polls", "30")
    .option("--once", "check once and exit")
    .action(async (o: ServerFlags & { vkey: string; state: string; interval: string; once?: boolean }) => {
      const verifier = await vkeyVerifier(io, o.vkey);
      const statePath = resolve(io.cwd, o.state);
      const interval = intFlag(o.interval, "--interval");
      const c: LogClientOptions = { server: o.server };
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        for (;;) {
          const latest = (await logJson<{ checkpoint: string }>(c, "GET", "cairn/v1/log")).checkpoint;
          const saved = (await readFileIfExists(statePath))?.toString("utf8");
          // A split view (or a rewritten log) throws ERR_TLOG_PROOF_INVALID: exit 10, state kept.
          const { from, newest } = await monitorStep(
            saved,
            latest,
            verifier,
            async (a, b) =>
              (
                await logJson<{ hashes: string[] }>(
                  c,
                  "GET",
                  `cairn/v1/log/proof/consistency?from=${a}&to=${b}`,
                )
              ).hashes,
          );
          if (newest.size >= from) await writeFileAtomic(statePath, latest);
          out(
            io,
            o.json,
            { consistent: true, from, to: newest.size, origin: newest.origin },
            `${newest.origin}: ${from} -> ${newest.size} entries, consistent`,
          );
          if (o.once || stop.signal.aborted) return;
          await new Promise<void>((res) => {
            const t = setTimeout(res, interval * 1000);
            stop.signal.addEventListener(
              "abort",
              () => {
                clearTimeout(t);
                res();
              },
              { once: true },
            );
          });
          if (stop.signal.aborted) return;
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
