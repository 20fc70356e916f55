// SPDX-License-Identifier: Apache-2.0
// The log's own routes: the C2SP tlog-tiles read API under /tlog/ (c2sp.org/tlog-tiles:
// `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), and cairn's JSON API under
// /cairn/v1/: submit an entry (DSSE in-toto statement or signed artifact), read one with its
// inclusion proof, RFC 9162 inclusion and consistency proofs, log info, and search over the
// attestation store. Routes and limits only: src/engines/lognode does the work.
import type { FastifyInstance } from "fastify";
import { toBase64 } from "../core/encoding.js";
import { cairnError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import type { LogNode } from "../engines/lognode/index.js";
import { type StoreQuery, type StoreResult, signerFromString } from "../engines/store/index.js";
import { TILE_WIDTH } from "../engines/tlog/index.js";
import { forwardWrites, type SequencerLocator } from "./forward.js";
import { registerBatchRoute } from "./log-batch.js";
import { type ServiceContext, type ServicePlugin, WRITE_ROUTE_LOGGING } from "./server.js";
import { submitAnswer } from "./submit-answer.js";

/** Where the tiles are served. */
export const TILES_PREFIX = "/tlog/";
/** Where cairn's JSON API is served. */
export const API_PREFIX = "/cairn/v1";

/** A query parameter as a safe non-negative integer (strict decimal: attacker-controlled). */
export function queryInt(v: unknown, field: string, required: true): number;
export function queryInt(v: unknown, field: string, required?: false): number | undefined;
export function queryInt(v: unknown, field: string, required = false): number | undefined {
  if (v === undefined) {
    if (required) throw cairnError("ERR_USAGE", `the query parameter ${field} is required`, { field });
    return undefined;
  }
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw cairnError("ERR_USAGE", `${field} must be a non-negative integer`, { field });
  }
  return Number(v);
}

function queryString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw cairnError("ERR_USAGE", `${field} is given once`, { field });
  return v;
}

const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));

function storeResultJson(r: StoreResult): Record<string, unknown> {
  return {
    logIndex: r.logIndex,
    // The stored bytes were parsed when they were added: they are JSON.
    envelope: parseJson(r.envelope),
    predicateType: r.predicateType,
    subjectDigests: r.subjectDigests,
    signers: r.signers,
    integratedTime: r.integratedTime,
    ...(r.inclusionProof
      ? {
          inclusionProof: {
            treeSize: r.inclusionProof.treeSize,
            hashes: hex(r.inclusionProof.hashes),
            checkpoint: r.inclusionProof.checkpoint,
          },
        }
      : {}),
  };
}

const JSON_UTF8 = "application/json; charset=utf-8";

/** Options of the log and Rekor plugins. */
export interface LogRoutesOptions {
  /** Where the sequencer takes writes, for a server that is not it (see forward.ts). */
  locateSequencer?: SequencerLocator;
}

/** The log plugin: tiles and cairn's JSON API for one LogNode. */
export function logRoutes(node: LogNode, opts: LogRoutesOptions = {}): ServicePlugin {
  return {
    name: "log",
    health: () => node.health(),
    async register(app: FastifyInstance, ctx: ServiceContext) {
      ctx.metrics.gauge(
        "cairn_tlog_tree_size",
        "Entries covered by the latest checkpoint this process served.",
        async () => (await node.health()).treeSize,
      );
      ctx.metrics.gauge(
        "cairn_tlog_pending_entries",
        "Entries waiting in this process's sequencer.",
        () => node.pending,
      );
      ctx.metrics.gauge("cairn_tlog_is_sequencer", "1 when this process holds the sequencer lock.", () =>
        node.isSequencer ? 1 : 0,
      );

      // --- C2SP tlog-tiles -------------------------------------------------------------------
      app.get(`${TILES_PREFIX}*`, async (req, reply) => {
        const path = (req.params as { "*": string })["*"];
        const bytes = await node.tile(path);
        if (path === "checkpoint") {
          // tlog-tiles: the checkpoint changes; clients poll it.
          return reply.type("text/plain; charset=utf-8").header("cache-control", "no-store").send(bytes);
        }
        // Full tiles and bundles never change: immutable. Partial ones are replaced by wider ones.
        const full = !path.includes(".p/");
        const expected = path.startsWith("tile/entries/") ? undefined : TILE_WIDTH * 32;
        const immutable = full && (expected === undefined || bytes.length === expected);
        return reply
          .type("application/octet-stream")
          .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-store")
          .send(bytes);
      });

      // --- cairn's JSON API ------------------------------------------------------------------
      app.get(`${API_PREFIX}/log`, async () => {
        const l = await node.latest();
        return {
          origin: node.origin,
          vkey: node.vkey,
          logID: node.logId.toString("hex"),
          publicKey: node.publicKeyPem,
          treeSize: l.size,
          rootHash: l.rootHash.toString("hex"),
          checkpoint: l.checkpoint,
        };
      });

      const write = [ctx.requireWriter, forwardWrites(node, opts.locateSequencer)];
      // The submitters of one sequencer batch share its checkpoint: escaped once for them.
      let lastCheckpoint = "";
      let lastCheckpointJson = '""';
      app.register(async (submit) => {
        // The body is kept as bytes, parsed and verified on a verify thread (node.submitNativeBytes),
        // not on this one. The body limit is the server's; other media types are refused with 415.
        submit.removeContentTypeParser("application/json");
        submit.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
          done(null, body);
        });
        submit.post(
          `${API_PREFIX}/log/entries`,
          // The hot write route: quiet logging (WRITE_ROUTE_LOGGING), and the answer written by
          // hand (submitAnswer). Problem documents (4xx/5xx) are serialized as before.
          { preHandler: write, ...WRITE_ROUTE_LOGGING },
          async (req, reply) => {
            const r = await node.submitNativeBytes(req.body as Buffer);
            ctx.metrics.inc("cairn_tlog_entries_submitted_total", "Entries acknowledged (new or duplicate).");
            if (r.checkpoint !== lastCheckpoint) {
              lastCheckpoint = r.checkpoint;
              lastCheckpointJson = JSON.stringify(r.checkpoint);
            }
            return reply
              .code(r.duplicate ? 200 : 201)
              .header("content-type", JSON_UTF8)
              .send(submitAnswer(r, lastCheckpointJson));
          },
        );
      });

      await registerBatchRoute(app, node, ctx, {
        path: `${API_PREFIX}/log/entries/batch`,
        preHandler: write,
      });

      app.get(`${API_PREFIX}/log/entries/:index`, async (req) => {
        const index = queryInt((req.params as { index: string }).index, "index", true);
        const e = await node.entryAt(index);
        return {
          logIndex: e.logIndex,
          leaf: toBase64(e.leaf),
          leafHash: e.leafHash.toString("hex"),
          integratedTime: e.integratedTime,
          inclusionProof: { treeSize: e.treeSize, hashes: hex(e.inclusionProof), checkpoint: e.checkpoint },
        };
      });

      app.get(`${API_PREFIX}/log/proof/inclusion`, async (req) => {
        const q = req.query as Record<string, unknown>;
        const index = queryInt(q.index, "index", true);
        const p = await node.inclusion(index, queryInt(q.treeSize, "treeSize"));
        return {
          logIndex: index,
          treeSize: p.treeSize,
          leafHash: p.leafHash.toString("hex"),
          rootHash: p.rootHash.toString("hex"),
          hashes: hex(p.hashes),
        };
      });

      app.get(`${API_PREFIX}/log/proof/consistency`, async (req) => {
        const q = req.query as Record<string, unknown>;
        const p = await node.consistency(queryInt(q.from, "from", true), queryInt(q.to, "to"));
        return { from: p.from, to: p.to, rootHash: p.rootHash.toString("hex"), hashes: hex(p.hashes) };
      });

      app.get(`${API_PREFIX}/search`, async (req) => {
        const q = req.query as Record<string, unknown>;
        const query: StoreQuery = {};
        const subject = queryString(q.subject, "subject");
        if (subject !== undefined) query.subject = subject;
        const predicateType = queryString(q.predicateType, "predicateType");
        if (predicateType !== undefined) query.predicateType = predicateType;
        const keyId = queryString(q.keyId, "keyId");
        const identity = queryString(q.identity, "identity");
        const signer = queryString(q.signer, "signer");
        const issuer = queryString(q.issuer, "issuer");
        if ([keyId, identity, signer].filter((v) => v !== undefined).length > 1) {
          throw cairnError("ERR_STORE_QUERY_INVALID", "give one of keyId, identity or signer", {
            field: "signer",
          });
        }
        if (keyId !== undefined) query.signer = { keyId };
        if (identity !== undefined) query.signer = { identity };
        if (signer !== undefined) query.signer = signerFromString(signer, issuer);
        if (issuer !== undefined) {
          if (query.signer?.identity === undefined) {
            throw cairnError("ERR_STORE_QUERY_INVALID", "issuer goes with an identity", { field: "issuer" });
          }
          query.signer.issuer = issuer;
        }
        const since = queryInt(q.since, "since");
        if (since !== undefined) query.since = since;
        const until = queryInt(q.until, "until");
        if (until !== undefined) query.until = until;
        const pageSize = queryInt(q.pageSize, "pageSize");
        if (pageSize !== undefined) query.pageSize = pageSize;
        const cursor = queryString(q.cursor, "cursor");
        if (cursor !== undefined) query.cursor = cursor;
        const page = await node.search(query);
        return {
          results: page.results.map(storeResultJson),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      });
    },
  };
}
