// SPDX-License-Identifier: Apache-2.0
// A test helper, not a test: the TUF repository's FileArea in memory (with an injected write
// failure, a crash), a Fetcher and a static HTTP server over a published area, and tuf-js (the
// reference TypeScript client) reading from that server. Test-only: never imported by src.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Updater } from "tuf-js";
import { cairnError } from "../core/errors.js";
import type { Fetcher } from "../engines/tuf/ports.js";
import type { AreaFile, FileArea } from "../engines/tuf/repository-ports.js";
import { sha256 } from "./tuf-repo.js";

/** A FileArea in memory; `failAfter` makes the write after that many writes fail (a crash). */
export class MemoryArea implements FileArea {
  readonly files = new Map<string, Uint8Array>();
  writes = 0;
  failAfter: number | undefined;
  /** Names written, in order (writeMany's files included one by one). */
  readonly log: string[] = [];
  async read(name: string) {
    const b = this.files.get(name);
    return b === undefined ? undefined : Uint8Array.from(b);
  }
  async write(name: string, bytes: Uint8Array) {
    if (this.failAfter !== undefined && this.writes >= this.failAfter) {
      throw cairnError("ERR_IO", `injected failure writing ${name}`);
    }
    this.writes++;
    this.log.push(name);
    this.files.set(name, Uint8Array.from(bytes));
  }
  async writeMany(files: readonly AreaFile[]) {
    for (const f of files) await this.write(f.name, f.bytes);
  }
  async remove(name: string) {
    this.files.delete(name);
  }
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.files].map(([k, v]) => [k, sha256(v)]).sort());
  }
  clone(): MemoryArea {
    const c = new MemoryArea();
    for (const [k, v] of this.files) c.files.set(k, v);
    return c;
  }
}

export const AREA_BASE = "http://repo.test";

/** A Fetcher serving a published area as a static web server would, counting bytes served. */
export function areaFetcher(out: () => FileArea, served?: { bytes: number; urls: string[] }): Fetcher {
  return {
    fetch: async (url, maxBytes) => {
      const name = url
        .slice(AREA_BASE.length + 1)
        .split("/")
        .map(decodeURIComponent)
        .join("/");
      const b = await out().read(name);
      if (b !== undefined && b.length > maxBytes)
        throw cairnError("ERR_TUF_BOUND_EXCEEDED", `${url} too large`);
      if (b !== undefined && served !== undefined) {
        served.bytes += b.length;
        served.urls.push(name);
      }
      return b;
    },
  };
}

/** A static HTTP server on 127.0.0.1 over whichever MemoryArea `serve` last set. */
export class AreaServer {
  #server: Server | undefined;
  #area = new MemoryArea();
  base = "";

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const name = (req.url ?? "/").slice(1).split("/").map(decodeURIComponent).join("/");
      const body = this.#area.files.get(name);
      if (body === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-length": body.length }).end(body);
    });
    await new Promise<void>((ok) => this.#server!.listen(0, "127.0.0.1", ok));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  serve(area: MemoryArea): void {
    this.#area = area;
  }

  async stop(): Promise<void> {
    if (this.#server === undefined) return;
    this.#server.closeAllConnections();
    await new Promise<void>((ok) => this.#server!.close(() => ok()));
  }
}

let n = 0;

/** tuf-js (from the area's first root) refreshes and returns its Updater; `dir` holds its files. */
export async function tufjsUpdater(server: AreaServer, out: MemoryArea, dir: string): Promise<Updater> {
  server.serve(out);
  const d = join(dir, `tufjs-${process.pid}-${n++}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "root.json"), out.files.get("metadata/1.root.json")!);
  const u = new Updater({
    metadataDir: d,
    metadataBaseUrl: `${server.base}/metadata`,
    targetDir: d,
    targetBaseUrl: `${server.base}/targets`,
    config: { fetchRetries: 0 },
  });
  await u.refresh();
  return u;
}

/** tuf-js downloads a target from the area; returns its bytes. */
export async function tufjsDownload(
  server: AreaServer,
  out: MemoryArea,
  dir: string,
  path: string,
): Promise<Buffer> {
  const u = await tufjsUpdater(server, out, dir);
  const info = await u.getTargetInfo(path);
  assert.ok(info, `tuf-js found no metadata for ${path}`);
  const file = join(dir, `dl-${process.pid}-${n++}`);
  await u.downloadTarget(info, file);
  return readFileSync(file);
}
