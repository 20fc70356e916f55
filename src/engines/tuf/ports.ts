// SPDX-License-Identifier: Apache-2.0
// The ports of the TUF client (specification 1.0.x section 5): where trusted metadata is kept and
// how remote files are fetched. The engine does no I/O of its own; runtime/ and cli/ adapt these.

/**
 * The client's trusted metadata, one document per role name ("root", "timestamp", "snapshot",
 * "targets", or a delegated role's name, which is attacker-chosen: an adapter that maps names to
 * files must encode them so no name can escape its directory or collide with another).
 *
 * Contract:
 * - `load` returns the bytes last saved for the role, exactly as saved, or undefined when none
 *   are. It never returns a partial document. Failure to read is ERR_IO (never "absent": a store
 *   that cannot be read must not make the client forget what it trusts).
 * - `save` replaces the role's bytes durably and atomically: once it resolves the new bytes
 *   survive a crash, and a crash before then leaves the old bytes or the new, never a mix
 *   (writeFileAtomic: temp file, fsync, rename). Failure is ERR_IO; the old bytes are then intact.
 * - `remove` forgets a role (no error when absent); durability as `save`. Failure is ERR_IO.
 * - Concurrency: one client updates a store at a time; the engine does not lock. Within an update
 *   it reads several roles at once, and reads one role while it writes another (never the same
 *   role). No retries.
 */
export interface MetadataStore {
  load(role: string): Promise<Uint8Array | undefined>;
  save(role: string, bytes: Uint8Array): Promise<void>;
  remove(role: string): Promise<void>;
}

/**
 * Fetches remote files: repository metadata and targets.
 *
 * Contract:
 * - `fetch(url, maxBytes)` resolves to the whole body, or to undefined when the server says the
 *   file does not exist (HTTP 404, and 403 as object stores answer for a missing key). Only "not
 *   there" may be undefined: the client treats it as the end of the root chain (TUF 5.3.3).
 * - A body longer than `maxBytes` is refused with ERR_TUF_BOUND_EXCEEDED as soon as the bound is
 *   passed, without reading the rest (endless data attack).
 * - Any other failure (connection refused, reset, timeout, another HTTP status) is ERR_IO, a
 *   transport error: never an empty body, never undefined.
 * - No caching, no retries: the engine decides what to ask for. Calls may run concurrently.
 */
export interface Fetcher {
  fetch(url: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Optional, for targets too large to hold in memory: the same contract as `fetch`, but the
   * body comes as chunks, read by the caller to the end or abandoned with `break` (which
   * releases the connection). The bound and transport errors are thrown by the iterator.
   */
  open?(url: string, maxBytes: number): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/**
 * Where a target being downloaded is written (`TufClient.downloadTargetTo`), e.g. a temporary
 * file renamed into place. Contract: `write` appends in order; `commit` makes the written bytes
 * the target, atomically and durably (never a partial file in its place); `abort` discards
 * everything written (nothing is left behind) and is called instead of `commit` on any failure.
 */
export interface TargetSink {
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
