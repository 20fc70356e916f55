// SPDX-License-Identifier: Apache-2.0
// TUF online roles as a service (specification 1.0, section 6.1: snapshot and timestamp are
// signed online): a timer re-signs snapshot and timestamp before the published timestamp expires
// (a margin ahead) and publishes them with the repository's crash-safe publish (timestamp.json
// replaced last), so clients never see a half-published set and, while the service runs, never a
// lapsed timestamp (the freeze a stopped re-signer causes). Failures are reported by code only:
// never a key or its reference.
import { type Clock, systemClock } from "../../core/clock.js";
import { asCairnError } from "../../core/errors.js";
import { isJsonObject, parseJson } from "../../core/json.js";
import type { Signer } from "../../core/signer.js";
import { parseDateTime } from "../../formats/tuf/index.js";
import type { TufRepository } from "./repository.js";
import type { FileArea } from "./repository-ports.js";

/** setTimeout's largest delay (about 24.8 days): longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface OnlineRefresherOptions {
  repo: TufRepository;
  /** The published area (`cairn tuf publish OUT`) whose timestamp.json is watched. */
  published: FileArea;
  signers: readonly Signer[];
  /** Re-sign when the published timestamp has less than this left. */
  marginMs: number;
  /** Wait before retrying a failed re-sign. */
  retryMs: number;
  clock?: Clock;
  log: {
    info(fields: object, message: string): void;
    error(fields: object, message: string): void;
  };
}

/** The re-signing service: started once the server listens, stopped before it closes. */
export interface OnlineRefresher {
  start(): void;
  /** Stops the timer and waits for a re-sign under way to finish. */
  stop(): Promise<void>;
}

/** When the published timestamp expires, or undefined when it is missing or unreadable. */
export async function publishedTimestampExpiry(published: FileArea): Promise<Date | undefined> {
  try {
    const bytes = await published.read("metadata/timestamp.json");
    if (bytes === undefined) return undefined;
    const md = parseJson(bytes);
    const signed = isJsonObject(md) ? md.signed : undefined;
    const expires = isJsonObject(signed) ? signed.expires : undefined;
    return typeof expires === "string" ? parseDateTime(expires) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the online roles of `repo` fresh in `published` (see the module comment). */
export function onlineRefresher(o: OnlineRefresherOptions): OnlineRefresher {
  const clock = o.clock ?? systemClock;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const untilDue = (expires: Date | undefined) =>
    expires === undefined ? 0 : expires.getTime() - o.marginMs - clock.now().getTime();
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = tick().finally(() => {
          running = undefined;
        });
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
  };
  const tick = async () => {
    const due = untilDue(await publishedTimestampExpiry(o.published));
    if (due > 0) return schedule(due);
    try {
      // refresh then publish: publish verifies the whole set and writes timestamp.json last.
      const v = await o.repo.refresh(o.signers);
      await o.repo.publish(o.published);
      o.log.info({ snapshot: v.snapshot, timestamp: v.timestamp }, "tuf: re-signed snapshot and timestamp");
      const next = await publishedTimestampExpiry(o.published);
      schedule(next === undefined ? o.retryMs : untilDue(next));
    } catch (e) {
      o.log.error({ code: asCairnError(e).code }, "tuf: re-signing failed; retrying");
      schedule(o.retryMs);
    }
  };
  return {
    start() {
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
