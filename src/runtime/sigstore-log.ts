// SPDX-License-Identifier: Apache-2.0
// A local transparency log in a directory, for `cairn sign-blob --log-dir` until cairn's Rekor API
// client lands: `log.json` (origin, key name, base URL), `log-key.pem` (the ECDSA P-256 key that
// signs inclusion promises and checkpoints, mode 0600), `note-key.pem` (the sequencer's Ed25519
// checkpoint key) and `log.db` (SQLite storage, durable appends). Created on first use. One
// process at a time is its sequencer (the SQLite lock); a second gets ERR_TLOG_SEQUENCER_LOCKED.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cairnError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { LocalRekorLog } from "../engines/sigstore/local-log.js";
import { Sequencer } from "../engines/tlog/index.js";
import { readFileIfExists, writeFileAtomic } from "./fs.js";
import { sqliteLogStorage } from "./tlog-sql.js";

export const DEFAULT_LOG_URL = "http://localhost/cairn-log";

export interface LocalLogConfig {
  baseUrl: string;
  /** The checkpoint key name: the base URL's host (Sigstore verifiers look for it in the URL). */
  name: string;
  origin: string;
  /** When the log (and its key) came into use: the start of its key's validity. */
  createdAt: string;
}

export interface OpenLocalLog {
  config: LocalLogConfig;
  log: LocalRekorLog;
  publicKey: KeyObject;
  close(): Promise<void>;
}

async function keyFile(path: string, make: () => KeyObject): Promise<KeyObject> {
  const text = await readFileIfExists(path);
  if (text) return createPrivateKey(text.toString("utf8"));
  const k = make();
  await writeFileAtomic(path, k.export({ type: "pkcs8", format: "pem" }) as string, 0o600);
  return k;
}

/** Reads (or, for a new directory, writes) the log's configuration and keys. */
export async function localLogKeys(
  dir: string,
  baseUrl = DEFAULT_LOG_URL,
): Promise<{ config: LocalLogConfig; key: KeyObject; noteKey: KeyObject }> {
  await mkdir(dir, { recursive: true });
  const cfgPath = join(dir, "log.json");
  const raw = await readFileIfExists(cfgPath);
  let config: LocalLogConfig;
  if (raw) {
    const o = parseJson(raw, cfgPath) as Record<string, unknown>;
    if (
      typeof o.baseUrl !== "string" ||
      typeof o.name !== "string" ||
      typeof o.origin !== "string" ||
      typeof o.createdAt !== "string"
    ) {
      throw cairnError("ERR_FIELD_INVALID", "log.json needs baseUrl, name, origin and createdAt", {
        file: cfgPath,
      });
    }
    config = { baseUrl: o.baseUrl, name: o.name, origin: o.origin, createdAt: o.createdAt };
  } else {
    let host: string;
    try {
      host = new URL(baseUrl).host;
    } catch {
      throw cairnError("ERR_USAGE", `--log-url ${baseUrl} is not a URL`);
    }
    // Whole seconds, a little in the past: integrated times are whole seconds.
    const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    config = { baseUrl, name: host, origin: `${host} - cairn`, createdAt };
    await writeFileAtomic(cfgPath, `${JSON.stringify(config, null, 2)}\n`);
  }
  const key = await keyFile(
    join(dir, "log-key.pem"),
    () => generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey,
  );
  const noteKey = await keyFile(join(dir, "note-key.pem"), () => generateKeyPairSync("ed25519").privateKey);
  return { config, key, noteKey };
}

/** Opens the local log in `dir` as a transparency-log port (creating it when new). */
export async function openLocalLog(dir: string, baseUrl?: string): Promise<OpenLocalLog> {
  const { config, key, noteKey } = await localLogKeys(dir, baseUrl);
  const storage = await sqliteLogStorage(join(dir, "log.db"));
  try {
    await storage.acquireSequencerLock();
    const sequencer = await Sequencer.open({
      storage,
      origin: config.origin,
      keyName: config.name,
      key: noteKey,
      maxBatchDelayMs: 0,
    });
    const log = new LocalRekorLog({ sequencer, key, name: config.name });
    return {
      config,
      log,
      publicKey: createPublicKey(key),
      close: async () => {
        await sequencer.close();
        await storage.close();
      },
    };
  } catch (e) {
    await storage.close();
    throw e;
  }
}
