// SPDX-License-Identifier: Apache-2.0
// A published TUF repository as static files (TUF 1.0.x section 7, consistent snapshots):
// GET/HEAD PREFIX/metadata/NAME and PREFIX/targets/PATH from the directory `cairn tuf publish`
// writes (OUT/metadata, OUT/targets). Read-only. Routes and limits only: the files were verified
// when they were published, and clients verify them again.
//
// Threats: the request path is attacker-controlled. It is decoded segment by segment and refused
// (404, as any missing file) when a segment is empty, `.` or `..`, or holds `/`, `\` or NUL after
// decoding (encoded slashes), and the file's real path (symlinks resolved) must lie inside the
// served directory (a symlink pointing out of it is not followed). Only regular files no larger
// than `maxFileBytes` are served.
import { createHash } from "node:crypto";
import { open, realpath } from "node:fs/promises";
import { sep } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { cairnError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { parseDateTime } from "../formats/tuf/index.js";
import type { ServicePlugin } from "./server.js";

/** Largest file served by default: 1 GiB (targets are artifacts; metadata is far smaller). */
export const DEFAULT_TUF_MAX_FILE_BYTES = 1024 * 1024 * 1024;
/** Bound on a request path below the prefix, in bytes, and on one segment. */
export const MAX_TUF_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
/** Bound on timestamp.json read by the health check (a few hundred bytes in practice). */
const MAX_TIMESTAMP_BYTES = 64 * 1024;
/** Bound on a path's depth (segments). */
const MAX_TUF_PATH_SEGMENTS = 64;

export interface TufRoutesOptions {
  /** The published directory (holding `metadata/` and `targets/`). */
  dir: string;
  /** URL prefix, default `/tuf` (no trailing slash). */
  prefix?: string;
  /** Largest file served (default DEFAULT_TUF_MAX_FILE_BYTES). */
  maxFileBytes?: number;
}

/** The decoded, checked segments of a request path below `base`, or undefined (refused). */
export function safeSegments(rawPath: string): string[] | undefined {
  if (rawPath.length === 0 || rawPath.length > MAX_TUF_PATH_BYTES) return undefined;
  const parts = rawPath.split("/");
  if (parts.length > MAX_TUF_PATH_SEGMENTS) return undefined;
  const out: string[] = [];
  for (const p of parts) {
    let s: string;
    try {
      s = decodeURIComponent(p);
    } catch {
      return undefined;
    }
    if (s === "" || s === "." || s === ".." || s.length > MAX_SEGMENT_BYTES || /[/\\\0]/.test(s))
      return undefined;
    out.push(s);
  }
  return out;
}

const notFound = (path: string) => cairnError("ERR_HTTP_NOT_FOUND", `no such file: ${path}`);

/** Serves a published TUF repository read-only under `prefix` (default `/tuf`). */
export function tufRoutes(opts: TufRoutesOptions): ServicePlugin {
  const prefix = opts.prefix ?? "/tuf";
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_TUF_MAX_FILE_BYTES;
  let root: string | undefined;
  const rootDir = async () => {
    root ??= await realpath(opts.dir);
    return root;
  };

  async function serve(area: "metadata" | "targets", req: FastifyRequest, reply: FastifyReply) {
    // The raw URL, not the router's decoded parameter: each segment is decoded and checked here.
    const raw = req.url.split("?")[0]!.slice(`${prefix}/${area}/`.length);
    const segs = safeSegments(raw);
    if (segs === undefined) throw notFound(raw);
    const base = await rootDir();
    const candidate = [base, area, ...segs].join(sep);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      throw notFound(raw);
    }
    // A symlink inside the served directory must not lead out of it.
    if (!real.startsWith(`${base}${sep}${area}${sep}`)) throw notFound(raw);
    const fh = await open(real, "r").catch(() => undefined);
    if (fh === undefined) throw notFound(raw);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw notFound(raw);
      if (st.size > maxFileBytes) throw notFound(raw);
      // Files are replaced by rename, never rewritten: size, mtime and inode name a version.
      const etag = `"${createHash("sha256").update(`${st.ino}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 32)}"`;
      reply.header("etag", etag);
      reply.header("last-modified", st.mtime.toUTCString());
      reply.header("x-content-type-options", "nosniff");
      // timestamp.json (and root.json) change in place; consistent-snapshot names never do.
      const mutable = area === "metadata" && /^(timestamp|root)\.json$/.test(segs.at(-1)!);
      reply.header("cache-control", mutable ? "no-cache" : "public, max-age=300");
      reply.type(
        area === "metadata" && raw.endsWith(".json") ? "application/json" : "application/octet-stream",
      );
      if (req.headers["if-none-match"] === etag || st.size === 0) {
        await fh.close();
        if (st.size === 0) return reply.header("content-length", "0").send(Buffer.alloc(0));
        return reply.code(304).send();
      }
      reply.header("content-length", String(st.size));
      // The bytes of the open file: a rename during the read cannot mix two versions. The
      // stream owns the descriptor from here (closed at its end, or when HEAD discards it).
      return reply.send(fh.createReadStream({ start: 0, end: st.size - 1, autoClose: true }));
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  return {
    name: "tuf",
    register(app: FastifyInstance) {
      for (const area of ["metadata", "targets"] as const) {
        app.get(`${prefix}/${area}/*`, (req, reply) => serve(area, req, reply));
      }
    },
    // Unhealthy when clients would refuse what is served: no timestamp, or a lapsed one (TUF 5.4.4).
    async health() {
      const fh = await open([await rootDir(), "metadata", "timestamp.json"].join(sep), "r");
      try {
        const st = await fh.stat();
        if (st.size > MAX_TIMESTAMP_BYTES) return { ok: false, timestampExpires: null };
        const md = parseJson(await fh.readFile()) as { signed?: { expires?: unknown } };
        const expires = typeof md.signed?.expires === "string" ? md.signed.expires : null;
        // Read as clients read it: a date-time not of the TUF 4.2 form is refused, not guessed.
        const t = expires === null ? undefined : parseDateTime(expires);
        return { ok: t !== undefined && t.getTime() > Date.now(), timestampExpires: expires };
      } finally {
        await fh.close();
      }
    },
  };
}
