// SPDX-License-Identifier: Apache-2.0
// The ports of the OCI registry client (distribution-spec 1.1): how HTTP requests are made, where
// credentials come from, and how the client waits between retries. The engine does no I/O of its
// own; runtime/registry-http.ts and runtime/docker-config.ts adapt these.

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/** One HTTP request. Header names are lowercase. */
export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  /**
   * The request body: bytes (replayable, so the client may retry the request) or a stream (sent
   * once; set `content-length` in `headers` when it is known).
   */
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  /** The most response-body bytes accepted (the bound applies to streams too). */
  maxBytes: number;
  /**
   * With `response: "sink"`: the most bytes of a non-2xx answer's body the caller reads (default
   * `maxBytes`); a port that reads such a body for the caller stops there.
   */
  maxErrorBytes?: number;
  /**
   * "bytes" (the default): the whole body in `body`. "stream": the body in `stream`, unread.
   * "sink": a 2xx body goes into `sink` when the caller calls `fill` (a port that cannot fill
   * sinks answers as for "stream"); any other answer's body is in `body`.
   */
  response?: "bytes" | "stream" | "sink";
  /** Where a 2xx body goes, with `response: "sink"`. */
  sink?: BodySink;
}

/**
 * Where a response body is written instead of passing through the caller: a blob being stored,
 * made by its destination (runtime/oci-layout.ts makes sinks that runtime/registry-http.ts fills
 * off the main thread: the socket read, the hash and the write in one worker thread). The owner
 * hashes what it is given and checks it before keeping anything.
 */
export interface BodySink {
  /** Bytes in the sink; up to date whenever no `write` or `fill` into it is under way. */
  readonly written: number;
  /** Appends bytes (one call at a time). */
  write(chunk: Uint8Array): Promise<void>;
  /** Forgets everything written (a server that ignored Range sends the whole body again). */
  reset(): Promise<void>;
}

/** One HTTP response. Header names are lowercase; repeated headers are joined with ", ". */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The whole body for `response: "bytes"`; empty for streams and HEAD. */
  body: Uint8Array;
  /** For `response: "stream"`: the body, which the caller must read to its end or `cancel`. */
  stream?: AsyncIterable<Uint8Array>;
  /**
   * For `response: "sink"` and a 2xx answer, when the port fills sinks itself: writes the body
   * into the request's sink and resolves with the bytes written, calling `onBytes` with the
   * sink's `written` now and then. Rejects as a stream's iterator would (the sink's `written`
   * then says how much arrived).
   */
  fill?(onBytes?: (written: number) => void): Promise<number>;
  /** Releases an unread stream or an unfilled body (no error when already read or absent). */
  cancel(): Promise<void>;
  /** The URL that answered, after redirects (Location headers are resolved against it). */
  url: string;
}

/**
 * Makes HTTP requests to registries and token servers.
 *
 * Contract:
 * - `request` resolves for every HTTP status, 4xx and 5xx included: the engine interprets them.
 * - It rejects with ERR_OCI_REGISTRY_UNREACHABLE when no answer came (connection refused or reset,
 *   name not resolved, TLS failure, timeout), and ERR_OCI_TOO_LARGE as soon as a body passes
 *   `maxBytes` (or Content-Length announces more), without reading the rest: a registry's
 *   answer is untrusted and may be endless. A stream that breaks or passes the bound throws the
 *   same errors from its iterator. The body of a non-2xx answer is informative only: it is cut
 *   at `maxBytes` instead (the engine reads error bodies for the spec's error codes).
 * - Redirects are followed for GET and HEAD (blob storage redirects); credentials are never
 *   forwarded to another origin. Other methods see 3xx as they are.
 * - No retries, no caching, no authentication: the engine does those. Calls may run concurrently.
 */
export interface HttpPort {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** Credentials for one registry host. */
export type Credential =
  | { kind: "basic"; username: string; password: string }
  /** An OAuth2 refresh token (Docker config `identitytoken`), exchanged at the token server. */
  | { kind: "identity-token"; username: string; token: string }
  /** A bearer token to send as is (Docker config `registrytoken`). */
  | { kind: "bearer"; token: string };

/**
 * Finds the credentials the user has for a registry host (`HOST[:PORT]` as it appears in an image
 * reference, e.g. `ghcr.io` or `127.0.0.1:5000`).
 *
 * Contract:
 * - `get` resolves to the credential, or undefined when the user has none for that host (the
 *   client then goes anonymous). A helper that says "no credentials" is undefined, not an error.
 * - Failures are errors: ERR_DOCKER_CONFIG_INVALID for a malformed config file or helper answer,
 *   ERR_COMMAND_FAILED for a helper that cannot run. Never an empty credential.
 * - May be called concurrently and repeatedly; the client caches per host for its own lifetime.
 */
export interface CredentialPort {
  get(host: string): Promise<Credential | undefined>;
}

/** Waits `ms` milliseconds (tests inject one that returns at once and records the waits). */
export type Sleep = (ms: number) => Promise<void>;
