// SPDX-License-Identifier: Apache-2.0
// Write forwarding between the servers of one database (issue 3, section 2: "the others forward or
// queue"): a server that does not hold the sequencer lock passes a write, after checking its
// token, to the URL the sequencer advertised, and relays the answer as it came. A forwarded
// request is never forwarded again (a stale advertisement cannot make a loop); when the
// sequencer cannot be reached the write is refused with 503 ERR_TLOG_SEQUENCER_LOCKED and
// Retry-After, so the client retries (by then another server may have taken the lock).
import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from "fastify";
import { cairnError } from "../core/errors.js";
import type { LogNode } from "../engines/lognode/index.js";
import { readBodyBounded } from "../runtime/http.js";

/** Marks a forwarded request. */
export const FORWARDED_HEADER = "x-cairn-forwarded";
/** Bound on the sequencer's answer to a forwarded write. */
export const MAX_FORWARDED_ANSWER_BYTES = 16 * 1024 * 1024;
/** How long a forwarded write may take. */
export const FORWARD_TIMEOUT_MS = 30_000;

/** Where the current sequencer takes writes (e.g. SqlLogStorage.sequencerUrl). */
export type SequencerLocator = () => Promise<string | undefined>;

/** A preHandler for write routes: forwards the request when this server is not the sequencer. */
export function forwardWrites(node: LogNode, locate: SequencerLocator | undefined): preHandlerHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!locate || node.isSequencer || req.headers[FORWARDED_HEADER] !== undefined) return;
    const base = await locate().catch(() => undefined);
    if (base === undefined) return; // the route answers ERR_TLOG_SEQUENCER_LOCKED
    // A body kept as bytes (cairn's submit route, NDJSON batches) goes as it came; a parsed one as JSON.
    const raw = Buffer.isBuffer(req.body);
    const type = raw ? String(req.headers["content-type"] ?? "application/octet-stream") : "application/json";
    const headers: Record<string, string> = { "content-type": type, [FORWARDED_HEADER]: "1" };
    if (typeof req.headers.authorization === "string") headers.authorization = req.headers.authorization;
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(new URL(req.url, base), {
        method: "POST",
        headers,
        body: raw ? (req.body as Buffer) : JSON.stringify(req.body),
        redirect: "error",
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
      });
      const bytes = await readBodyBounded(res, MAX_FORWARDED_ANSWER_BYTES, {
        tooLarge: () => new Error("answer too large"),
        cutOff: (e) => (e instanceof Error ? e : new Error(String(e))),
      });
      body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      throw cairnError(
        "ERR_TLOG_SEQUENCER_LOCKED",
        `this server is not the sequencer and the sequencer could not be reached: retry (${(e as Error).message})`,
      );
    }
    for (const h of ["content-type", "location", "etag", "retry-after", "www-authenticate"]) {
      const v = res.headers.get(h);
      if (v !== null) reply.header(h, v);
    }
    return reply.code(res.status).send(body);
  };
}
