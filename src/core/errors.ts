// SPDX-License-Identifier: Apache-2.0
// The one error catalog: every stable code cairn can report, with its category.
// The category decides the CLI exit code and (later) the HTTP status; tests assert codes, never text.

/** What kind of failure an error is. "Verification failed", "policy refused" and "could not check" never mix. */
export type ErrorCategory =
  | "format"
  | "verification"
  | "policy"
  | "not-found"
  | "transport"
  | "overload"
  | "usage"
  | "internal";

/** Every stable error code, with its category and a one-line description for docs/errors.md. */
export const ERROR_CATALOG = {
  ERR_USAGE: ["usage", "A command was called with missing or conflicting arguments."],
  ERR_INTERNAL: ["internal", "A bug in cairn: please report it with the command that triggered it."],
  ERR_JSON_MALFORMED: ["format", "A file or value is not well-formed JSON (or is truncated)."],
  ERR_JSON_TOO_LARGE: ["format", "A JSON document exceeds the size or nesting bound for its kind."],
  ERR_YAML_MALFORMED: ["format", "A YAML document could not be parsed."],
  ERR_CANONICAL_JSON_UNSUPPORTED: [
    "format",
    "A value cannot be encoded as canonical JSON (floats, non-finite numbers, undefined, functions).",
  ],
  ERR_ENCODING_INVALID: ["format", "A base64, hex or PEM value is not validly encoded."],
  ERR_FIELD_INVALID: ["format", "A field is missing, of the wrong type, or has a value outside its domain."],
  ERR_KEY_INVALID: ["format", "A key cannot be parsed, or its type or scheme is not supported."],
  ERR_KEY_DUPLICATE: ["format", "The same key id appears more than once where ids must be unique."],
  ERR_KEY_PASSPHRASE: ["usage", "A private key is encrypted and the passphrase is missing or wrong."],
  ERR_DIGEST_UNSUPPORTED: ["format", "A digest algorithm is not supported."],
  ERR_DSSE_SIGNATURE_INVALID: ["verification", "A DSSE envelope does not carry enough valid signatures."],
  ERR_SIGNATURE_INVALID: ["verification", "A signature does not verify with the given key."],
  ERR_THRESHOLD_UNMET: ["verification", "Fewer distinct trusted keys signed than the threshold requires."],
  ERR_LAYOUT_EXPIRED: ["verification", "The in-toto layout has expired."],
  ERR_LAYOUT_SIGNATURE_INVALID: ["verification", "The layout is not signed by the given layout keys."],
  ERR_INTOTO_STEP_UNVERIFIED: [
    "verification",
    "A step has too few links signed by its authorized functionaries.",
  ],
  ERR_INTOTO_LINKS_DISAGREE: ["verification", "Links for the same step by different functionaries disagree."],
  ERR_INTOTO_RULE_FAILED: ["verification", "An artifact rule (DISALLOW or REQUIRE) failed."],
  ERR_INTOTO_INSPECTION_FAILED: ["verification", "An inspection command exited with a non-zero status."],
  ERR_INTOTO_SUBLAYOUT: ["verification", "A sublayout could not be verified."],
  ERR_INTOTO_VERIFICATION_FAILED: ["verification", "in-toto verification failed (see the report)."],
  ERR_PARAMETER_MISSING: ["format", "A layout refers to a parameter {NAME} that was not given."],
  // --- transparency log (src/formats/tlog) ---
  ERR_TLOG_PROOF_INVALID: ["verification", "An inclusion or consistency proof does not verify."],
  ERR_TLOG_CHECKPOINT_INVALID: ["format", "A checkpoint is not in the C2SP tlog-checkpoint format."],
  ERR_NOTE_MALFORMED: ["format", "A signed note is not in the C2SP signed-note format."],
  ERR_NOTE_SIGNATURE_INVALID: ["verification", "A signed note has no valid signature by the expected key."],
  // --- TUF (src/formats/tuf) ---
  ERR_TUF_METADATA_INVALID: ["format", "TUF metadata is malformed or has a field outside its domain."],
  ERR_TUF_SIGNATURE_INVALID: [
    "verification",
    "TUF metadata is not signed by a threshold of its role's keys.",
  ],
  ERR_TUF_EXPIRED: ["verification", "TUF metadata has expired (freeze attack protection)."],
  ERR_TUF_ROLLBACK: [
    "verification",
    "TUF metadata has a lower version than the trusted one (rollback attack).",
  ],
  ERR_TUF_BOUND_EXCEEDED: ["format", "Untrusted TUF input exceeds a configured bound (size, count, depth)."],
  // --- OCI (src/formats/oci, src/runtime/oci-layout) ---
  ERR_OCI_DIGEST_MISMATCH: ["verification", "OCI content does not match the digest or size that names it."],
  ERR_OCI_BLOB_TRUNCATED: [
    "verification",
    "An OCI blob ended before the size its descriptor gives (expected and received byte counts named).",
  ],
  ERR_OCI_MANIFEST_INVALID: ["format", "An OCI manifest, index, descriptor or config is malformed."],
  ERR_OCI_MEDIA_TYPE: ["format", "An OCI media type is missing, unknown, or not the one expected."],
  ERR_OCI_BLOB_NOT_FOUND: ["not-found", "An OCI blob, manifest or tag is not in the store."],
  ERR_OCI_LAYOUT_INVALID: ["format", "A directory is not a valid OCI image layout (oci-layout, index.json)."],
  ERR_OCI_TOO_LARGE: ["format", "An OCI manifest, index or blob exceeds its size bound."],
  // --- transparency log engine (src/engines/tlog) ---
  ERR_TLOG_ENTRY_INVALID: [
    "format",
    "A log entry submission is malformed, of an unknown kind, or larger than the log accepts.",
  ],
  ERR_TLOG_OVERLOADED: [
    "overload",
    "The log has too many pending entries: retry later (HTTP 503 with Retry-After).",
  ],
  ERR_TLOG_STORAGE: [
    "transport",
    "The log storage failed; an append's outcome is unknown: resubmit (duplicates return the existing entry).",
  ],
  ERR_TLOG_STORAGE_CONFLICT: [
    "internal",
    "The log storage was appended by another writer: only one sequencer may append to a storage.",
  ],
  ERR_TLOG_TILE_NOT_FOUND: [
    "not-found",
    "A tile, entry bundle or checkpoint path does not exist in the log.",
  ],
  // --- TUF client (src/engines/tuf) ---
  ERR_TUF_VERSION_MISMATCH: [
    "verification",
    "TUF metadata has another version than the one its referrer lists, or a new root is not the next version (mix-and-match attack).",
  ],
  ERR_TUF_HASH_MISMATCH: [
    "verification",
    "A downloaded TUF target or metadata file does not have the length or hashes its metadata gives (arbitrary software attack).",
  ],
  ERR_TUF_METADATA_MISSING: [
    "not-found",
    "TUF metadata the client needs is neither trusted locally nor on the repository, or the snapshot does not list it.",
  ],
  ERR_TUF_TARGET_NOT_FOUND: ["not-found", "No trusted TUF targets metadata lists the requested target path."],
  // --- OCI registry client (src/engines/oci, distribution-spec 1.1) ---
  ERR_OCI_REFERENCE_INVALID: [
    "usage",
    "An image reference is not docker://HOST/REPO[:TAG|@DIGEST], or its name, tag or digest is malformed.",
  ],
  ERR_OCI_REGISTRY_UNREACHABLE: [
    "transport",
    "The registry could not be reached: connection refused or reset, name not resolved, TLS failure or timeout.",
  ],
  ERR_OCI_REGISTRY_ERROR: [
    "transport",
    "The registry answered with a server error or an unexpected status (its distribution-spec error code, if any, is in the message).",
  ],
  ERR_OCI_REGISTRY_REFUSED: [
    "format",
    "The registry refused a request as invalid (distribution-spec codes such as MANIFEST_INVALID, DIGEST_INVALID, BLOB_UPLOAD_INVALID, SIZE_INVALID, NAME_INVALID, MANIFEST_BLOB_UNKNOWN, UNSUPPORTED).",
  ],
  ERR_OCI_REGISTRY_NOT_FOUND: [
    "not-found",
    "The registry has no such repository, manifest, tag, blob or upload (NAME_UNKNOWN, MANIFEST_UNKNOWN, BLOB_UNKNOWN, BLOB_UPLOAD_UNKNOWN).",
  ],
  ERR_OCI_AUTH_REFUSED: [
    "transport",
    "The registry or its token server refused access: no credentials, wrong credentials, or not allowed (UNAUTHORIZED, DENIED).",
  ],
  ERR_OCI_REGISTRY_OVERLOADED: [
    "overload",
    "The registry kept answering 429 TOOMANYREQUESTS or 503 after every retry: try again later.",
  ],
  ERR_DOCKER_CONFIG_INVALID: [
    "format",
    "The Docker config file (config.json) or a credential helper's answer is malformed.",
  ],
  // --- Sigstore bundles, trusted roots and Rekor entries (src/formats/sigstore) ---
  ERR_SIGSTORE_BUNDLE_INVALID: [
    "format",
    "A Sigstore bundle is malformed, of an unsupported media type, or breaks a rule of its bundle version.",
  ],
  ERR_SIGSTORE_TRUSTED_ROOT_INVALID: [
    "format",
    "A Sigstore trusted root (trusted_root.json) is malformed or of an unsupported media type.",
  ],
  ERR_REKOR_BODY_INVALID: [
    "format",
    "A Rekor log entry body is malformed, or its kind or version is not supported.",
  ],
  ERR_SIGSTORE_TLOG_BODY_MISMATCH: [
    "verification",
    "A transparency log entry's body does not match the bundle's signature, digest, envelope or signing key.",
  ],
  // --- sigstore bundle verification and signing (src/engines/sigstore) ---
  ERR_SIGSTORE_CERTIFICATE_INVALID: [
    "verification",
    "The bundle's certificate does not chain to a certificate authority of the trusted root valid at the signing time, has expired, or is not a code-signing certificate.",
  ],
  ERR_SIGSTORE_SCT_INVALID: [
    "verification",
    "The certificate's embedded signed certificate timestamps (SCTs) do not verify: one from a trusted CT log has a bad signature, the SCT list is malformed, or fewer verify with a CT log key of the trusted root than required.",
  ],
  ERR_SIGSTORE_TLOG_INVALID: [
    "verification",
    "A transparency log entry of the bundle is not proven: unknown log, bad inclusion proof, checkpoint or inclusion promise, or too few verified entries.",
  ],
  ERR_SIGSTORE_TIMESTAMP_INVALID: [
    "verification",
    "A signed timestamp does not verify against the trusted root's timestamp authorities, or the bundle has too few verified timestamps.",
  ],
  ERR_SIGSTORE_ARTIFACT_MISMATCH: [
    "verification",
    "The bundle's signature is not over the artifact given: another file or digest, or an attestation whose subjects do not name it.",
  ],
  ERR_SIGSTORE_IDENTITY_MISMATCH: [
    "policy",
    "The bundle verifies but its signer (certificate identity, OIDC issuer, SPIFFE ID or CI claims) is not the one the policy expects.",
  ],
  ERR_TLOG_SEQUENCER_LOCKED: [
    "overload",
    "Another process holds the log's sequencer lock: forward writes to it, or retry later (HTTP 503).",
  ],
  // --- TUF repository (src/engines/tuf/repository.ts) ---
  ERR_TUF_PATH_NOT_DELEGATED: [
    "policy",
    "Targets metadata lists a target path outside the paths delegated to its role (a developer signing outside their delegation).",
  ],
  ERR_TUF_ROLE_UNKNOWN: [
    "not-found",
    "The TUF repository has no role of that name, or nothing delegates to it.",
  ],
  ERR_TUF_KEY_NOT_IN_ROLE: [
    "policy",
    "A key given to sign a TUF role is not one of the keys that role trusts.",
  ],
  ERR_TUF_REPOSITORY_INCONSISTENT: [
    "verification",
    "The TUF repository is not a complete, consistent, fully signed set (a threshold unmet, a stale snapshot or timestamp, a published version that would change): nothing was published.",
  ],
  // --- OCI signatures and attestations (src/engines/oci/sign*.ts) ---
  ERR_OCI_SIGNATURE_MISSING: [
    "verification",
    "No signature or attestation (of the asked form or predicate type) is attached to the image.",
  ],
  ERR_OCI_SIGNATURE_INVALID: [
    "verification",
    "No attached signature or attestation verifies with the given keys: signed by another key, or its payload or signature was altered.",
  ],
  ERR_OCI_SIGNATURE_SUBJECT_MISMATCH: [
    "verification",
    "A signature or attestation verifies but names another image digest or identity than the image checked (it was moved from another image).",
  ],
  // --- attestation store (src/engines/store) ---
  ERR_STORE_ENTRY_INVALID: [
    "format",
    "An envelope given to the attestation store is not a verified DSSE envelope of an in-toto Statement, or exceeds an indexing bound.",
  ],
  ERR_STORE_TOO_LARGE: ["format", "An envelope is larger than the attestation store's size limit."],
  ERR_STORE_QUERY_INVALID: [
    "usage",
    "A search of the attestation store has a malformed key, cursor or page size.",
  ],
  ERR_STORE_CONFLICT: ["internal", "The attestation store already holds another envelope at this log index."],
  ERR_STORE_STORAGE: ["transport", "The attestation store's database failed or could not be reached."],
  ERR_TLOG_ORIGIN_MISMATCH: [
    "verification",
    "A checkpoint is well formed and signed, but for another log (origin).",
  ],
  // --- log service (src/services, src/engines/lognode) ---
  ERR_TLOG_ENTRY_NOT_FOUND: [
    "not-found",
    "The log holds no entry at that index or with that UUID (leaf hash).",
  ],
  ERR_TLOG_DUPLICATE_ENTRY: [
    "policy",
    "The Rekor API was asked to add an entry the log already holds (HTTP 409; the Location header names it).",
  ],
  ERR_HTTP_UNAUTHORIZED: ["policy", "A write to the log service needs a valid bearer token (HTTP 401)."],
  ERR_HTTP_BODY_TOO_LARGE: ["format", "A request body exceeds the service's size limit (HTTP 413)."],
  ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: ["format", "A request body is not application/json (HTTP 415)."],
  ERR_HTTP_NOT_FOUND: ["not-found", "The service has no route for this method and path (HTTP 404)."],
  ERR_HTTP_ERROR: [
    "transport",
    "A service answered with an error cairn could not read as problem+json, or could not be reached.",
  ],
  // --- certificate authority (src/engines/ca, src/formats/x509) ---
  ERR_CA_REQUEST_INVALID: [
    "format",
    "A certificate request is malformed: missing or conflicting credentials or key, an unparseable key, CSR or token.",
  ],
  ERR_CA_REQUEST_TOO_LARGE: ["format", "A certificate request, token or CSR exceeds its size bound."],
  ERR_CA_KEY_UNSUPPORTED: [
    "format",
    "The key to certify is of an unsupported type or size (ECDSA P-256/P-384, Ed25519 and RSA 2048-4096 are accepted).",
  ],
  ERR_CA_PROOF_INVALID: [
    "verification",
    "Proof of possession failed: the signature over the subject, or the CSR's self-signature, does not verify with the key to certify.",
  ],
  ERR_CA_TOKEN_INVALID: [
    "verification",
    "An identity token is malformed, forged, or not signed by a key its issuer publishes.",
  ],
  ERR_CA_TOKEN_EXPIRED: [
    "verification",
    "An identity token has expired or is not yet valid (beyond the allowed clock skew).",
  ],
  ERR_CA_TOKEN_AUDIENCE: ["policy", "An identity token was issued for another audience than this CA."],
  ERR_CA_TOKEN_REPLAYED: [
    "policy",
    "An identity token was already used to obtain a certificate (for another key, or at all, as configured).",
  ],
  ERR_CA_ISSUER_UNTRUSTED: [
    "policy",
    "An identity token comes from an issuer the CA is not configured to trust.",
  ],
  ERR_CA_IDENTITY_REFUSED: [
    "policy",
    "A token verifies but names no identity the CA may certify (unverified email, missing claims, a namespace or service account not allowed).",
  ],
  ERR_CA_ISSUER_UNREACHABLE: [
    "transport",
    "The OIDC discovery document or JWKS of a trusted issuer could not be fetched or is malformed: nothing was issued.",
  ],
  ERR_CA_RATE_LIMITED: [
    "overload",
    "Too many certificates were requested for this identity: retry later (HTTP 429 with Retry-After).",
  ],
  ERR_CA_CT_LOG_FAILED: [
    "transport",
    "The certificate transparency log could not record the precertificate: nothing was issued.",
  ],
  ERR_CA_NOT_READY: [
    "usage",
    "The CA has no intermediate valid now, or its key does not match its certificate: create or rotate it.",
  ],
  ERR_X509_INVALID: ["format", "A certificate, CSR or X.509 extension is malformed."],
  // --- timestamp authority (src/engines/tsa, RFC 3161) ---
  ERR_TSA_REQUEST_INVALID: [
    "format",
    "A time-stamp request is malformed: not a DER TimeStampReq (RFC 3161 2.4.1) nor the JSON form, a digest of the wrong length, an unknown policy or an extension: nothing was issued.",
  ],
  ERR_TSA_HASH_UNSUPPORTED: [
    "format",
    "A time-stamp request names a hash algorithm the TSA does not accept (SHA-256, SHA-384 and SHA-512 are).",
  ],
  ERR_TSA_REQUEST_TOO_LARGE: ["format", "A time-stamp request exceeds its size bound (HTTP 413)."],
  ERR_TSA_RATE_LIMITED: [
    "overload",
    "Too many time-stamp requests from this client: retry later (HTTP 429 with Retry-After).",
  ],
  ERR_TSA_NOT_READY: [
    "usage",
    "The TSA's signing certificate is not valid now, lacks the critical timeStamping key usage, or does not match its key: create it again.",
  ],
  ERR_SPIFFE_ID_INVALID: [
    "format",
    "A SPIFFE ID breaks the SPIFFE ID spec (scheme, trust domain, path segments, length).",
  ],
  // --- revoke: revocations of keys and identities (src/formats/revocation, issue 6 section 4) ---
  ERR_REVOCATION_INVALID: [
    "format",
    "A revocation list (revocations.json) is malformed or has a field outside its domain.",
  ],
  ERR_KEY_REVOKED: [
    "policy",
    "The signature verifies but its key or certificate (signing key, leaf or CA certificate, layout key) was revoked at or before its proven signing time, or it has no proven time.",
  ],
  ERR_IDENTITY_REVOKED: [
    "policy",
    "The signature verifies but its signer's identity (SAN and issuer, or SPIFFE ID) was revoked at or before its proven signing time, or it has no proven time.",
  ],
  ERR_NOT_FOUND: ["not-found", "A file, key or link that is needed does not exist."],
  ERR_IO: ["transport", "A file could not be read or written."],
  ERR_COMMAND_FAILED: ["transport", "A command could not be started."],
} as const satisfies Record<string, readonly [ErrorCategory, string]>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Where an error was found: a file and/or a field path such as `signed.steps[2].pubkeys`. */
export interface ErrorLocation {
  file?: string;
  field?: string;
}

/** The base of every error cairn raises on purpose. Use one of the category subclasses. */
export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  file?: string;
  field?: string;
  constructor(code: ErrorCode, message: string, where: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.category = ERROR_CATALOG[code][0];
    if (where.file !== undefined) this.file = where.file;
    if (where.field !== undefined) this.field = where.field;
  }
  /** Adds a file name (if none is set yet) so the message names where the bad input came from. */
  inFile(file: string): this {
    if (this.file === undefined) this.file = file;
    return this;
  }
  /** Prefixes the field path, for errors raised while validating a nested object. */
  underField(prefix: string): this {
    this.field = this.field ? joinField(prefix, this.field) : prefix;
    return this;
  }
  /** One line: `CODE: file: field: message`. */
  describe(): string {
    const parts: string[] = [this.code];
    if (this.file) parts.push(this.file);
    if (this.field) parts.push(this.field);
    return `${parts.join(": ")}: ${this.message}`;
  }
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      category: this.category,
      message: this.message,
      file: this.file,
      field: this.field,
    };
  }
}

function joinField(prefix: string, field: string): string {
  return field.startsWith("[") ? `${prefix}${field}` : `${prefix}.${field}`;
}

export class FormatError extends CairnError {}
export class VerificationError extends CairnError {}
export class PolicyError extends CairnError {}
export class NotFoundError extends CairnError {}
export class TransportError extends CairnError {}
export class OverloadError extends CairnError {}
export class UsageError extends CairnError {}
export class InternalError extends CairnError {}

const CLASS_BY_CATEGORY: Record<ErrorCategory, typeof CairnError> = {
  format: FormatError,
  verification: VerificationError,
  policy: PolicyError,
  "not-found": NotFoundError,
  transport: TransportError,
  overload: OverloadError,
  usage: UsageError,
  internal: InternalError,
};

/** Builds the error of the right category subclass for a code. */
export function cairnError(
  code: ErrorCode,
  message: string,
  where: ErrorLocation = {},
  options?: { cause?: unknown },
): CairnError {
  const Cls = CLASS_BY_CATEGORY[ERROR_CATALOG[code][0]];
  return new Cls(code, message, where, options);
}

/** Shorthand for the most common failure: a field in input data is wrong. */
export function fieldError(field: string, message: string, file?: string): FormatError {
  return cairnError("ERR_FIELD_INVALID", message, file === undefined ? { field } : { field, file });
}

/** CLI exit code per category (DESIGN.md: 0 ok, 1 internal, 2 usage, 10..15). */
export const EXIT_CODE: Record<ErrorCategory, number> = {
  internal: 1,
  usage: 2,
  verification: 10,
  policy: 11,
  format: 12,
  "not-found": 13,
  transport: 14,
  overload: 15,
};

/** Turns any thrown value into a CairnError, wrapping unknown ones as internal errors. */
export function asCairnError(e: unknown): CairnError {
  if (e instanceof CairnError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && typeof err.code === "string") {
    if (err.code === "ENOENT")
      return cairnError("ERR_NOT_FOUND", `no such file or directory`, pathOf(err), { cause: e });
    // errno codes (EACCES, ECONNRESET, EAI_AGAIN), not Node's own ERR_* codes, which are bugs or crypto failures.
    if (err.code.startsWith("E") && !err.code.startsWith("ERR_"))
      return cairnError("ERR_IO", `${err.code}: ${err.message}`, pathOf(err), { cause: e });
  }
  return cairnError("ERR_INTERNAL", e instanceof Error ? e.message : String(e), {}, { cause: e });
}

function pathOf(err: NodeJS.ErrnoException): ErrorLocation {
  return typeof err.path === "string" ? { file: err.path } : {};
}

/** The exit code for a stable error code (as found in reports); unknown codes are internal errors. */
export function exitCodeFor(code: string): number {
  const entry = (ERROR_CATALOG as Record<string, readonly [ErrorCategory, string]>)[code];
  return EXIT_CODE[entry ? entry[0] : "internal"];
}
