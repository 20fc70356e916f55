// SPDX-License-Identifier: Apache-2.0
// A Rekor-compatible subset of the v1 REST API (sigstore/rekor openapi.yaml), so Sigstore clients
// can use cairn's log: createLogEntry (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2), getLogEntryByIndex,
// getLogEntryByUUID, searchLogQuery (by UUIDs or indexes), getLogInfo, getLogProof,
// getPublicKey and searchIndex by hash. Routes and limits only: src/engines/lognode does the work.
import type { FastifyInstance } from "fastify";
import { cairnError } from "../core/errors.js";
import { isJsonObject } from "../core/json.js";
import type { LogEntryView, LogNode } from "../engines/lognode/index.js";
import { forwardWrites } from "./forward.js";
import { type LogRoutesOptions, queryInt } from "./log-routes.js";
import { sendProblem } from "./problem.js";
import { type ServiceContext, type ServicePlugin, WRITE_ROUTE_LOGGING } from "./server.js";

/** Rekor's bound on UUIDs or indexes per searchLogQuery (openapi.yaml: maxItems 10). */
export const MAX_RETRIEVE = 10;
/** Most UUIDs POST /api/v1/index/retrieve returns. */
export const MAX_INDEX_RESULTS = 1000;

export const REKOR_PREFIX = "/api/v1";

export interface RekorRoutesOptions extends LogRoutesOptions {
  /**
   * Accept createLogEntry without a bearer token (`cairn serve --open-rekor`). Sigstore clients
   * (sigstore-js, cosign) send none; Rekor's public instance takes writes from anyone, since every
   * entry's signature is verified before it is logged. cairn's own write API still needs a token.
   */
  openWrites?: boolean;
}

/** The Rekor plugin for one LogNode. */
export function rekorRoutes(node: LogNode, opts: RekorRoutesOptions = {}): ServicePlugin {
  // Rekor's treeID is an int64 as a decimal string: derived from the logID so it is stable.
  const treeId = (node.logId.readBigUInt64BE(0) & 0x7fffffffffffffffn).toString();
  const entryJson = (e: LogEntryView) => ({ [e.leafHash.toString("hex")]: node.rekorEntry(e) });
  return {
    name: "rekor",
    register(app: FastifyInstance, ctx: ServiceContext) {
      const forward = forwardWrites(node, opts.locateSequencer);
      const write = opts.openWrites ? [forward] : [ctx.requireWriter, forward];
      // A hot write route: no per-request info lines (see log-routes.ts).
      app.post(
        `${REKOR_PREFIX}/log/entries`,
        { preHandler: write, ...WRITE_ROUTE_LOGGING },
        async (req, reply) => {
          const r = await node.submitRekor(req.body);
          const location = `${REKOR_PREFIX}/log/entries/${r.uuid}`;
          reply.header("location", location).header("etag", r.uuid);
          if (r.duplicate) {
            // Rekor answers 409 Conflict with the existing entry's Location (sigstore-js fetches it).
            return sendProblem(
              reply,
              cairnError(
                "ERR_TLOG_DUPLICATE_ENTRY",
                `an equivalent entry already exists in the log at index ${r.entry.logIndex}`,
              ),
            );
          }
          ctx.metrics.inc("cairn_rekor_entries_created_total", "Rekor entries created.");
          return reply.code(201).send({ [r.uuid]: r.entry });
        },
      );

      app.get(`${REKOR_PREFIX}/log/entries`, async (req) => {
        const index = queryInt((req.query as Record<string, unknown>).logIndex, "logIndex", true);
        return entryJson(await node.entryAt(index));
      });

      app.get(`${REKOR_PREFIX}/log/entries/:uuid`, async (req) => {
        return entryJson(await node.entryByUuid((req.params as { uuid: string }).uuid));
      });

      app.post(`${REKOR_PREFIX}/log/entries/retrieve`, async (req) => {
        const body = req.body;
        if (!isJsonObject(body)) throw cairnError("ERR_USAGE", "the body is a JSON object");
        const uuids = body.entryUUIDs ?? [];
        const indexes = body.logIndexes ?? [];
        if (
          !Array.isArray(uuids) ||
          !Array.isArray(indexes) ||
          uuids.length + indexes.length > MAX_RETRIEVE
        ) {
          throw cairnError("ERR_USAGE", `give at most ${MAX_RETRIEVE} entryUUIDs and logIndexes in all`);
        }
        for (const i of indexes) {
          if (!Number.isSafeInteger(i) || (i as number) < 0)
            throw cairnError("ERR_USAGE", "a log index is an integer >= 0");
        }
        // Rekor's order: the UUIDs' entries, then the indexes', each as given; unknown ones left
        // out. One UUID lookup and one read for the set, not a read per entry.
        const found = await node.indexesOfUuids(uuids.map(String));
        return (await node.entriesAt([...found, ...(indexes as number[])])).map(entryJson);
      });

      app.get(`${REKOR_PREFIX}/log`, async () => {
        const l = await node.latest();
        return {
          rootHash: l.rootHash.toString("hex"),
          treeSize: l.size,
          signedTreeHead: l.checkpoint,
          treeID: treeId,
          inactiveShards: [],
        };
      });

      app.get(`${REKOR_PREFIX}/log/proof`, async (req) => {
        const q = req.query as Record<string, unknown>;
        const first = queryInt(q.firstSize, "firstSize") ?? 1;
        const last = queryInt(q.lastSize, "lastSize", true);
        const p = await node.consistency(first, last);
        return { rootHash: p.rootHash.toString("hex"), hashes: p.hashes.map((h) => h.toString("hex")) };
      });

      app.get(`${REKOR_PREFIX}/log/publicKey`, async (_req, reply) =>
        reply.type("application/x-pem-file").send(node.publicKeyPem),
      );

      app.post(`${REKOR_PREFIX}/index/retrieve`, async (req) => {
        const body = req.body;
        const usage =
          'search by {"hash": "sha256:<hex>"}, {"email": "<email>"} or {"identity": "<SAN>", "issuer"?: "<OIDC issuer>"}';
        if (!isJsonObject(body)) throw cairnError("ERR_USAGE", usage);
        const given = ["hash", "email", "identity"].filter((k) => body[k] !== undefined);
        if (given.length !== 1 || typeof body[given[0]!] !== "string") {
          throw cairnError("ERR_USAGE", usage, { field: given[1] ?? given[0] ?? "hash" });
        }
        if (body.issuer !== undefined && (given[0] !== "identity" || typeof body.issuer !== "string")) {
          throw cairnError("ERR_USAGE", "issuer goes with identity, as a string", { field: "issuer" });
        }
        let hashes: Buffer[];
        if (typeof body.hash === "string") {
          // Rekor also accepts a bare hex SHA-256.
          const hash = body.hash.includes(":") ? body.hash : `sha256:${body.hash}`;
          hashes = await node.leafHashesByHash(hash.toLowerCase(), MAX_INDEX_RESULTS);
        } else {
          // Rekor's email search, and cairn's by any SAN (and issuer): entries whose certificate
          // claims it. The log does not check certificate chains: verify what you find.
          const identity = (body.email ?? body.identity) as string;
          const issuer = body.issuer as string | undefined;
          hashes = await node.leafHashesByIdentity(
            issuer === undefined ? { identity } : { identity, issuer },
            MAX_INDEX_RESULTS,
          );
        }
        return hashes.map((h) => h.toString("hex"));
      });
    },
  };
}
