// SPDX-License-Identifier: Apache-2.0
// Test-only: runs Debian's PostgreSQL (initdb + pg_ctl from /usr/lib/postgresql/N/bin) in a fresh
// temporary directory, on 127.0.0.1 and a free port, with trust authentication, and stops it
// again (also when the test process exits without calling stop). As root (the test setup), the
// server runs as the `postgres` OS user, since PostgreSQL refuses to run as root.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { freePort } from "./registry.js";

const PG_ROOT = "/usr/lib/postgresql";
/** How long pg_ctl waits for the server to start or stop. */
const PG_CTL_TIMEOUT_S = 60;
/** Port collisions between freePort() and the server's bind are retried this often. */
const START_ATTEMPTS = 3;

export interface TestPostgres {
  port: number;
  /** The server's own temp directory (data, socket, log); removed by stop(). */
  dir: string;
  /** A connection URL for a database on this server (default `postgres`). */
  url(database?: string): string;
  /** Creates a fresh, empty database (a unique name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The server log (for failing tests). */
  log(): string;
  /** Stops the server (fast shutdown) and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL, or undefined. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter(
      (v) => existsSync(join(PG_ROOT, v, "bin", "initdb")) && existsSync(join(PG_ROOT, v, "bin", "pg_ctl")),
    )
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], "bin");
}

/** Why PostgreSQL cannot be run here, or undefined. */
export function postgresMissing(): string | undefined {
  if (!postgresBinDir()) {
    return `needs PostgreSQL's initdb and pg_ctl under ${PG_ROOT}/N/bin (scripts/test.sh installs Debian's postgresql)`;
  }
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) {
    return "runs as root but there is no `postgres` OS user to run the server as (Debian's postgresql package creates it)";
  }
  return undefined;
}

let serial = 0;

/** Starts a server and waits until it accepts connections. Throws with the reason when it cannot. */
export async function startPostgres(): Promise<TestPostgres> {
  const missing = postgresMissing();
  if (missing) throw new Error(`cannot start PostgreSQL: ${missing}`);
  const bin = postgresBinDir()!;
  const asRoot = process.getuid?.() === 0;
  // As root, run the PostgreSQL binaries as `postgres`, which must own the directory.
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot ? ["-u", "postgres", "--", join(bin, cmd), ...args] : args;
    const r = spawnSync(asRoot ? "runuser" : join(bin, cmd), argv, { encoding: "utf8", timeout: 120_000 });
    return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
  };

  const dir = mkdtempSync(join(tmpdir(), "cairn-pg-"));
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  let running = false;
  const stopSync = () => {
    if (running) run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "10", "stop"]);
    running = false;
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that exits without stop() (a crash, a forgotten after hook) still stops it.
  process.once("exit", stopSync);
  const fail = (what: string, out: string): never => {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    process.removeListener("exit", stopSync);
    stopSync();
    throw new Error(`cannot start PostgreSQL: ${what}\n${out}\n${log}`);
  };

  if (asRoot) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  // --no-sync: only initdb skips fsync; the server itself runs with fsync on (durable appends).
  const init = run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  if (!init.ok) fail("initdb failed", init.out);

  let port = 0;
  for (let attempt = 1; !running; attempt++) {
    port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
    const start = run("pg_ctl", [
      "-D",
      data,
      "-l",
      logFile,
      "-o",
      opts,
      "-w",
      "-t",
      String(PG_CTL_TIMEOUT_S),
      "start",
    ]);
    if (start.ok) running = true;
    else if (attempt >= START_ATTEMPTS) fail(`pg_ctl start failed ${attempt} times`, start.out);
  }

  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    url,
    async createDatabase(name = `cairn_${process.pid}_${++serial}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async stop() {
      process.removeListener("exit", stopSync);
      if (running) {
        // fast: disconnects clients and shuts down cleanly; immediate as a fallback.
        const r = run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", String(PG_CTL_TIMEOUT_S), "stop"]);
        if (r.ok) running = false;
      }
      stopSync();
    },
  };
}

/**
 * Runs one statement on a database behind cairn's back (migration and corruption tests): a
 * postgres:// URL, or else a SQLite file path.
 */
export async function execSql(location: string, stmt: string): Promise<void> {
  await onDatabase<void>(
    location,
    async (c) => {
      await c.query(stmt);
    },
    (db) => {
      db.exec(stmt);
    },
  );
}

/** Reads rows with one query behind cairn's back (schema checks in tests), as execSql connects. */
export function querySql(location: string, query: string): Promise<Record<string, unknown>[]> {
  return onDatabase(
    location,
    async (c) => (await c.query(query)).rows,
    (db) => db.prepare(query).all() as Record<string, unknown>[],
  );
}

async function onDatabase<T>(
  location: string,
  postgres: (c: pg.Client) => Promise<T>,
  sqlite: (db: Database.Database) => T,
): Promise<T> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    const c = new pg.Client({ connectionString: location });
    await c.connect();
    try {
      return await postgres(c);
    } finally {
      await c.end();
    }
  }
  const db = new Database(location);
  try {
    return sqlite(db);
  } finally {
    db.close();
  }
}
