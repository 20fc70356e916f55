// SPDX-License-Identifier: Apache-2.0
// What `cairn serve` opens in its data directory: the log's Ed25519 key (created on first start,
// mode 0600), its settings (origin), the write tokens (SHA-256 hashes only), and the log and
// store databases (SQLite files in the directory, or one PostgreSQL database); and the sequencer
// election: the process that takes the log's sequencer lock writes, the others serve reads and
// try again every `retryMs` (a SIGKILLed holder's lock is released by the kernel or the server).
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { watch } from "node:fs";
import { mkdir, open, stat, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CairnError, cairnError } from "../core/errors.js";
import { isJsonObject, parseJson } from "../core/json.js";
import type { LogNode } from "../engines/lognode/index.js";
import type { SearchIndex } from "../engines/store/index.js";
import { isValidKeyName } from "../formats/tlog/index.js";
import { readFileIfExists, writeFileAtomic } from "./fs.js";
import { isPostgresUrl } from "./sql.js";
import { SqliteWriterThread } from "./sqlite-writer.js";
import { type SqlSearchIndex, sqlSearchIndex } from "./store-sql.js";
import { type SqlLogStorage, sqlLogStorage } from "./tlog-sql.js";

/** The default checkpoint origin (and signed-note key name) of a new log. */
export const DEFAULT_ORIGIN = "cairn.local/log";
/** How often a process that is not the sequencer tries to take the lock. */
export const DEFAULT_ELECTION_RETRY_MS = 1000;

/** The files of a data directory. */
export function dataFiles(dir: string) {
  return {
    key: join(dir, "log-key.pem"),
    settings: join(dir, "log.json"),
    tokens: join(dir, "tokens"),
    initialToken: join(dir, "initial-token"),
    logDb: join(dir, "log.db"),
    storeDb: join(dir, "store.db"),
  };
}

export interface OpenedLog {
  key: KeyObject;
  origin: string;
  storage: SqlLogStorage;
  searchIndex: SearchIndex & { close(): Promise<void> };
  close(): Promise<void>;
}

/**
 * Opens (creating on first start) the log of a data directory. `origin` is fixed at the first
 * start: a different one later is refused (ERR_USAGE), since every checkpoint names it.
 * `database` is a PostgreSQL URL; without it the log and store are SQLite files in `dir`.
 */
export async function openDataDir(
  dir: string,
  opts: { origin?: string; database?: string; writerThread?: boolean } = {},
): Promise<OpenedLog> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = dataFiles(dir);
  const settings = await readSettings(f.settings);
  let origin = settings?.origin;
  if (origin === undefined) {
    origin = opts.origin ?? DEFAULT_ORIGIN;
    if (!isValidKeyName(origin))
      throw cairnError("ERR_USAGE", `the origin ${JSON.stringify(origin)} has spaces or "+"`);
    // createdAt: the start of the log key's validity in trusted roots (cairn trust root --serve-data).
    const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    await writeFileAtomic(f.settings, `${JSON.stringify({ origin, createdAt }, null, 2)}\n`);
  } else if (opts.origin !== undefined && opts.origin !== origin) {
    throw cairnError("ERR_USAGE", `this log's origin is ${JSON.stringify(origin)}; it cannot change`);
  }
  const key = await loadOrCreateKey(f.key);
  if (opts.database !== undefined && !isPostgresUrl(opts.database)) {
    throw cairnError("ERR_USAGE", "--database takes a postgres:// URL (SQLite lives in the data directory)");
  }
  const storage = await sqlLogStorage(opts.database ?? f.logDb);
  let searchIndex: SqlSearchIndex;
  try {
    searchIndex = await sqlSearchIndex(opts.database ?? f.storeDb);
  } catch (e) {
    await storage.close();
    throw e;
  }
  // SQLite: appends and puts run on a writer thread (runtime/sqlite-writer.ts), unless told not to.
  let writer: SqliteWriterThread | undefined;
  if (opts.database === undefined && opts.writerThread !== false) {
    const thread = new SqliteWriterThread({ logPath: f.logDb, storePath: f.storeDb });
    storage.appendThrough((batch) => thread.append(batch));
    searchIndex.putThrough((records) => thread.putMany(records));
    writer = thread;
  }
  return {
    key,
    origin,
    storage,
    searchIndex,
    close: async () => {
      await writer?.close().catch(() => {});
      await Promise.allSettled([storage.close(), searchIndex.close()]);
    },
  };
}

// log.json: bounded, and an origin string is required.
function parseSettings(bytes: Buffer, path: string): { origin: string; createdAt?: unknown } {
  const o = parseJson(bytes, path, { maxBytes: 64 * 1024, maxDepth: 4 });
  if (!isJsonObject(o) || typeof o.origin !== "string") {
    throw cairnError("ERR_FIELD_INVALID", "log.json needs an origin string", { file: path, field: "origin" });
  }
  return { origin: o.origin, createdAt: o.createdAt };
}

async function readSettings(path: string): Promise<{ origin: string } | undefined> {
  const bytes = await readFileIfExists(path);
  if (!bytes) return undefined;
  return { origin: parseSettings(bytes, path).origin };
}

async function loadOrCreateKey(path: string): Promise<KeyObject> {
  const bytes = await readFileIfExists(path);
  if (bytes) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: bytes, format: "pem" });
    } catch (e) {
      throw cairnError("ERR_KEY_INVALID", `not a PEM private key: ${(e as Error).message}`, { file: path });
    }
    if (key.asymmetricKeyType !== "ed25519")
      throw cairnError("ERR_KEY_INVALID", "the log key must be Ed25519", { file: path });
    return key;
  }
  const { privateKey } = generateKeyPairSync("ed25519");
  await writeFileAtomic(path, privateKey.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
  return privateKey;
}

/** The public side of a data directory, for trusted roots: origin, log key and since when it signs. */
export interface DataDirIdentity {
  origin: string;
  publicKey: KeyObject;
  /** log.json's createdAt; for a directory made before it was recorded, the key file's mtime. */
  createdAt: Date;
}

/** Reads a data directory's origin and log key without opening its databases. */
export async function describeDataDir(dir: string): Promise<DataDirIdentity> {
  const f = dataFiles(dir);
  const bytes = await readFileIfExists(f.settings);
  if (!bytes)
    throw cairnError("ERR_NOT_FOUND", "not a cairn serve data directory (no log.json)", { file: f.settings });
  const o = parseSettings(bytes, f.settings);
  const keyBytes = await readFileIfExists(f.key);
  if (!keyBytes) throw cairnError("ERR_NOT_FOUND", "the data directory has no log key", { file: f.key });
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(createPrivateKey({ key: keyBytes, format: "pem" }));
  } catch (e) {
    throw cairnError("ERR_KEY_INVALID", "not a PEM private key", { file: f.key }, { cause: e });
  }
  let createdAt = typeof o.createdAt === "string" ? new Date(o.createdAt) : undefined;
  if (createdAt === undefined || Number.isNaN(createdAt.getTime())) {
    createdAt = new Date(Math.floor((await stat(f.key)).mtimeMs / 1000) * 1000 - 1000);
  }
  return { origin: o.origin, publicKey, createdAt };
}

/** The SHA-256 hashes (hex) of the write tokens: one per line in DIR/tokens; empty when none. */
export async function readTokenHashes(dir: string): Promise<string[]> {
  const bytes = await readFileIfExists(dataFiles(dir).tokens);
  if (!bytes) return [];
  return bytes
    .toString("utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l, i) => {
      if (!/^[0-9a-f]{64}$/.test(l))
        throw cairnError("ERR_FIELD_INVALID", `line ${i + 1} is not a SHA-256 hex hash`, {
          file: dataFiles(dir).tokens,
        });
      return l;
    });
}

/**
 * Revokes a write token by its SHA-256 hash (hex, as DIR/tokens and `readTokenHashes` hold it):
 * rewrites DIR/tokens without it, atomically (a running server re-reads the file, see
 * `watchTokenHashes`). Throws ERR_NOT_FOUND when no such token is there, ERR_USAGE for a value that
 * is not 64 hex digits.
 */
export async function revokeToken(dir: string, hash: string): Promise<void> {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw cairnError("ERR_USAGE", "a token hash is 64 lowercase hex digits");
  await withTokensLock(dir, () => revokeLocked(dir, hash));
}

async function revokeLocked(dir: string, hash: string): Promise<void> {
  const existing = await readTokenHashes(dir);
  if (!existing.includes(hash)) {
    throw cairnError("ERR_NOT_FOUND", "no write token with this hash", { file: dataFiles(dir).tokens });
  }
  const kept = existing.filter((h) => h !== hash);
  await writeFileAtomic(dataFiles(dir).tokens, kept.length === 0 ? "" : `${kept.join("\n")}\n`, 0o600);
}

/** The write tokens a running server accepts, kept in step with DIR/tokens. */
export interface TokenHashWatch {
  /** The current hashes (hex); empty while the file is missing or malformed (no writes: fail closed). */
  current(): readonly string[];
  /** Re-reads the file now (SIGHUP); resolves when the new set is in place. */
  reload(): Promise<void>;
  /** Stops watching; idempotent. */
  close(): void;
}

/**
 * Watches DIR/tokens so that `cairn serve token add|revoke` (or an edit) takes effect on a
 * running server without a restart: the directory is watched (an atomic write replaces the file,
 * so the file itself cannot be), and `reload` re-reads on demand (SIGHUP, for filesystems without
 * change events). A malformed or unreadable file leaves no token valid until it is fixed (fail
 * closed), reported through `onError`.
 */
export async function watchTokenHashes(
  dir: string,
  onChange: (e: { count: number; error?: CairnError }) => void = () => {},
): Promise<TokenHashWatch> {
  let hashes: readonly string[] = await readTokenHashes(dir);
  let reading: Promise<void> | undefined;
  let again = false;
  const reload = async (): Promise<void> => {
    // One read at a time; a change during a read is read once more after it.
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        try {
          hashes = await readTokenHashes(dir);
          onChange({ count: hashes.length });
        } catch (e) {
          hashes = [];
          onChange({
            count: 0,
            error: e instanceof CairnError ? e : cairnError("ERR_INTERNAL", String(e), {}, { cause: e }),
          });
        }
      } while (again);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  const name = basename(dataFiles(dir).tokens);
  const watcher = watch(dir, { persistent: false }, (_event, file) => {
    if (file === null || file === name) void reload();
  });
  // A watch error (e.g. the directory removed) leaves SIGHUP reloads working.
  watcher.on("error", () => {});
  return { current: () => hashes, reload, close: () => watcher.close() };
}

/**
 * Makes a new write token: 32 random bytes, base64url; appends its SHA-256 to DIR/tokens and
 * returns the token (shown once: only its hash is kept). `hash` is the server's tokenHash.
 */
export async function createToken(dir: string, hash: (token: string) => string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const token = `cairn_${randomBytes(32).toString("base64url")}`;
  await withTokensLock(dir, async () => {
    const existing = await readTokenHashes(dir);
    await writeFileAtomic(dataFiles(dir).tokens, `${[...existing, hash(token)].join("\n")}\n`, 0o600);
  });
  return token;
}

/** How long a writer waits for DIR/tokens.lock, and when a lock is old enough to be a crash's leftover. */
const TOKENS_LOCK_WAIT_MS = 10_000;
const TOKENS_LOCK_STALE_MS = 30_000;

/**
 * Runs a read-modify-write of DIR/tokens while holding DIR/tokens.lock (created exclusively), so
 * that two `cairn serve token add|revoke` at once cannot lose one change. A lock file older than
 * 30 s is a crashed writer's and is removed; waiting longer than 10 s is ERR_IO.
 */
async function withTokensLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, "tokens.lock");
  const deadline = Date.now() + TOKENS_LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, "wx", 0o600)).close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const age = await stat(lock).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > TOKENS_LOCK_STALE_MS) await unlink(lock).catch(() => {});
      else if (Date.now() > deadline)
        throw cairnError("ERR_IO", "another writer holds the tokens file's lock", { file: lock });
      else await sleep(10 + Math.random() * 20);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/**
 * Keeps this process in the sequencer election until `signal` aborts: takes the lock when it can,
 * makes `node` the sequencer while it holds it, steps down if it is lost, and retries.
 * `onChange` is told each change of role (for logs).
 */
export function runElection(
  storage: SqlLogStorage,
  node: LogNode,
  signal: AbortSignal,
  onChange: (role: "sequencer" | "follower", error?: CairnError) => void,
  retryMs = DEFAULT_ELECTION_RETRY_MS,
): Promise<void> {
  return (async () => {
    let reported: string | undefined;
    while (!signal.aborted) {
      try {
        const lock = await storage.acquireSequencerLock();
        try {
          await node.becomeSequencer();
        } catch (e) {
          await lock.release();
          throw e;
        }
        onChange("sequencer");
        reported = "sequencer";
        await new Promise<void>((res) => {
          const done = () => res();
          lock.signal.addEventListener("abort", done, { once: true });
          signal.addEventListener("abort", done, { once: true });
        });
        await node.stopSequencing();
        await lock.release();
        if (signal.aborted) return;
      } catch (e) {
        const err = e instanceof CairnError ? e : cairnError("ERR_INTERNAL", String(e));
        if (reported !== "follower") onChange("follower", err);
        reported = "follower";
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, retryMs);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(t);
            res();
          },
          { once: true },
        );
      });
    }
  })();
}
