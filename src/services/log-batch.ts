// SPDX-License-Identifier: Apache-2.0
// Batch submission: `POST /cairn/v1/log/entries/batch` logs many entries in one request, for a
// build that has a whole set of attestations to log (each link of an in-toto layout, an SBOM per
// image, ...) and for bulk ingestion. The body is either NDJSON (`application/x-ndjson`, one
// submission per line, as Elasticsearch's _bulk API takes its documents) or JSON (`{"entries":
// [...]}`); each submission is what `POST /cairn/v1/log/entries` takes, and is verified, logged and
// stored exactly as there. Entries succeed or fail one by one: the answer lists, in order, each
// entry's result (the single route's answer) or its problem document, and comes once every logged
// entry is durable. The request as a whole is refused only when it is not a batch (malformed,
// empty, more than the entry bound).
import type { FastifyInstance, preHandlerHookHandler } from "fastify";
import { asCairnError, cairnError } from "../core/errors.js";
import { isJsonObject } from "../core/json.js";
import type { LogNode, NativeSubmitResult } from "../engines/lognode/index.js";
import { DEFAULT_MAX_BATCH_ENTRIES } from "../engines/tlog/index.js";
import { problemOf } from "./problem.js";
import { type ServiceContext, WRITE_ROUTE_LOGGING } from "./server.js";
import { submitAnswerText } from "./submit-answer.js";

/** The NDJSON media type (one JSON document per line). */
export const NDJSON = "application/x-ndjson";

/**
 * The lines of an NDJSON body that hold something, with their 1-based line numbers: lines end at
 * LF (a CR before it is dropped); lines of only spaces and tabs are skipped. At most `max + 1`
 * lines are returned (the caller refuses more than `max` without splitting the rest).
 */
export function ndjsonLines(body: Buffer, max: number): { line: number; bytes: Buffer }[] {
  const out: { line: number; bytes: Buffer }[] = [];
  let start = 0;
  let line = 1;
  while (start < body.length && out.length <= max) {
    let end = body.indexOf(10, start);
    if (end === -1) end = body.length;
    let last = end;
    if (last > start && body[last - 1] === 13) last--;
    let first = start;
    while (first < last && (body[first] === 32 || body[first] === 9)) first++;
    if (first < last) out.push({ line, bytes: body.subarray(start, last) });
    start = end + 1;
    line++;
  }
  return out;
}

/** Options of the batch route. */
export interface BatchRouteOptions {
  /** The route's path. */
  path: string;
  /** Most entries per request (default DEFAULT_MAX_BATCH_ENTRIES). */
  maxEntries?: number;
  /** The write route's preHandlers (token check, forwarding to the sequencer). */
  preHandler: preHandlerHookHandler[];
}

/** One submission of a batch: an NDJSON line's bytes (parsed where it is verified) or a parsed value. */
export type BatchItem = { line: number; bytes: Buffer } | { value: unknown };

/** Reads a batch body into its submissions; throws when it is not a batch. */
export function readBatch(body: unknown, maxEntries: number): BatchItem[] {
  const tooMany = (n: string) =>
    cairnError(
      "ERR_HTTP_BODY_TOO_LARGE",
      `the batch has ${n} entries, more than the limit of ${maxEntries}: send it in several requests`,
      { field: "entries" },
    );
  let items: BatchItem[];
  if (Buffer.isBuffer(body)) {
    items = ndjsonLines(body, maxEntries);
    if (items.length > maxEntries) throw tooMany("more than that");
  } else {
    if (!isJsonObject(body) || !Array.isArray(body.entries)) {
      throw cairnError("ERR_USAGE", 'a batch is {"entries": [submission, ...]} or NDJSON, one per line', {
        field: "entries",
      });
    }
    if (body.entries.length > maxEntries) throw tooMany(String(body.entries.length));
    items = body.entries.map((value) => ({ value }));
  }
  if (items.length === 0) throw cairnError("ERR_USAGE", "the batch has no entries", { field: "entries" });
  return items;
}

// An NDJSON line is parsed where it is verified (a verify thread): its JSON errors name the line.
async function submitItem(node: LogNode, item: BatchItem): Promise<NativeSubmitResult> {
  if ("value" in item) return node.submitNative(item.value);
  try {
    return await node.submitNativeBytes(item.bytes);
  } catch (e) {
    const err = asCairnError(e);
    if (!err.code.startsWith("ERR_JSON_")) throw err;
    throw cairnError(err.code, `line ${item.line}: ${err.message}`);
  }
}

/** Registers the batch route (in a context of its own: only it reads NDJSON bodies). */
export async function registerBatchRoute(
  app: FastifyInstance,
  node: LogNode,
  ctx: ServiceContext,
  opts: BatchRouteOptions,
): Promise<void> {
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_BATCH_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw cairnError("ERR_USAGE", "the batch entry bound is a positive integer");
  }
  await app.register(async (scope) => {
    scope.addContentTypeParser(NDJSON, { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    scope.post(opts.path, { preHandler: opts.preHandler, ...WRITE_ROUTE_LOGGING }, async (req, reply) => {
      const items = readBatch(req.body, maxEntries);
      // Submitted together: they are verified side by side and sequenced in the same batches.
      const settled = await Promise.allSettled(items.map((item) => submitItem(node, item)));
      let accepted = 0;
      // Entries of one sequencer batch share its checkpoint: escaped once for them.
      let checkpoint = "";
      let checkpointJson = '""';
      const results = settled.map((s, i) => {
        if (s.status === "fulfilled") {
          accepted++;
          if (s.value.checkpoint !== checkpoint) {
            checkpoint = s.value.checkpoint;
            checkpointJson = JSON.stringify(checkpoint);
          }
          return submitAnswerText(s.value, checkpointJson);
        }
        const e = asCairnError(s.reason);
        if (e.category === "internal") req.log.error({ err: e.cause ?? e, code: e.code }, "internal error");
        // Which entry, for errors that name no field of their own.
        return JSON.stringify({ error: { ...problemOf(e), entry: i } });
      });
      if (accepted > 0) {
        ctx.metrics.inc(
          "cairn_tlog_entries_submitted_total",
          "Entries acknowledged (new or duplicate).",
          accepted,
        );
      }
      // Written by hand (each entry as the single route writes it) and sent as bytes: a batch's
      // answer runs to megabytes, and as a string Fastify measured it and node:http converted it
      // again (a heap profile put those copies at a third of the route's allocations).
      return reply
        .type("application/json; charset=utf-8")
        .send(
          Buffer.from(
            `{"accepted":${accepted},"refused":${results.length - accepted},"results":[${results.join(",")}]}`,
          ),
        );
    });
  });
}
