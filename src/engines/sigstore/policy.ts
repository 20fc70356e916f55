// SPDX-License-Identifier: Apache-2.0
// Identity policy for keyless signatures (issue 6, section 3): who must have signed, read from the
// verified leaf certificate. Certificate identity (SAN email, URI or Fulcio username) and OIDC
// issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the legacy .1.1), SPIFFE IDs, and CI claims
// (source repository, ref, workflow) from the Fulcio extensions. Patterns are anchored regular
// expressions (sigstore-js leaves them unanchored: "ci@example.com" would also match
// "evil-ci@example.com.attacker"). A mismatch is a policy refusal (ERR_SIGSTORE_IDENTITY_MISMATCH,
// exit 11), only ever reported after the signature itself verified.
import { cairnError } from "../../core/errors.js";
import {
  type CertificateInfo,
  FULCIO_EXTENSIONS,
  type FulcioExtensionName,
  fulcioExtension,
  fulcioIssuer,
} from "../../formats/sigstore/certificate.js";

/** An exact value or an anchored regular expression (the whole value must match). */
export type Matcher = { exact: string } | { regexp: string };

export interface IdentityPolicy {
  /** The certificate identity: one of the SAN emails, URIs or Fulcio usernames. */
  identity?: Matcher;
  /** The OIDC issuer that authenticated the signer. */
  issuer?: Matcher;
  /** A SPIFFE ID (spiffe://trust-domain/path): the certificate must be an X.509-SVID (exactly one URI SAN, spiffe scheme). */
  spiffeId?: Matcher;
  /** CI claims: source repository URI (ext .1.12, legacy GitHub .1.5). */
  repository?: Matcher;
  /** CI claims: source repository ref (ext .1.14, legacy .1.6). */
  ref?: Matcher;
  /** CI claims: the workflow that signed (build signer URI, ext .1.9; legacy workflow name .1.4). */
  workflow?: Matcher;
  /** Any other Fulcio extension, by name. */
  extensions?: Partial<Record<FulcioExtensionName, Matcher>>;
}

/** The signer's identity as the certificate states it (returned after verification). */
export interface CertificateIdentity {
  /** The SAN the policy matched, or the first SAN when no identity was asked for. */
  subject: string | undefined;
  sans: string[];
  issuer: string | undefined;
  spiffeId: string | undefined;
  /** Fulcio extensions present in the certificate, by name. */
  extensions: Partial<Record<FulcioExtensionName, string>>;
}

/** Compiles a matcher; a regexp is anchored at both ends. Throws ERR_USAGE for a bad pattern. */
export function compileMatcher(m: Matcher, what: string): (v: string | undefined) => boolean {
  if ("exact" in m) return (v) => v === m.exact;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.regexp})$`);
  } catch (e) {
    throw cairnError(
      "ERR_USAGE",
      `the ${what} pattern is not a valid regular expression: ${(e as Error).message}`,
    );
  }
  return (v) => v !== undefined && re.test(v);
}

function describe(m: Matcher): string {
  return "exact" in m ? JSON.stringify(m.exact) : `/^(?:${m.regexp})$/`;
}

/** Reads the identity of a certificate (no checks). */
export function certificateIdentity(cert: CertificateInfo): CertificateIdentity {
  const sans = [...cert.san.emails, ...cert.san.uris, ...cert.san.otherNames];
  const extensions: Partial<Record<FulcioExtensionName, string>> = {};
  for (const name of Object.keys(FULCIO_EXTENSIONS) as FulcioExtensionName[]) {
    try {
      const v = fulcioExtension(cert, name);
      if (v !== undefined) extensions[name] = v;
    } catch {
      // a malformed extension is treated as absent: it can only fail a policy that asks for it
    }
  }
  const uris = cert.san.uris;
  const spiffeId = uris.length === 1 && uris[0]!.startsWith("spiffe://") ? uris[0] : undefined;
  let issuer: string | undefined;
  try {
    issuer = fulcioIssuer(cert);
  } catch {
    issuer = undefined;
  }
  return { subject: sans[0], sans, issuer, spiffeId, extensions };
}

/** SPIFFE ID syntax (spiffe/standards SPIFFE-ID.md 2): lowercase trust domain, path segments. */
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/**
 * Checks the certificate's identity against the policy and returns it. Throws
 * ERR_SIGSTORE_IDENTITY_MISMATCH naming the first rule that failed (and ERR_USAGE for a bad pattern).
 */
export function checkIdentityPolicy(cert: CertificateInfo, policy: IdentityPolicy): CertificateIdentity {
  const id = certificateIdentity(cert);
  const refuse = (field: string, message: string) =>
    cairnError("ERR_SIGSTORE_IDENTITY_MISMATCH", message, { field });
  if (policy.identity) {
    const ok = compileMatcher(policy.identity, "certificate identity");
    const hit = id.sans.find((s) => ok(s));
    if (hit === undefined) {
      throw refuse(
        "identity",
        `the certificate identity ${id.sans.map((s) => JSON.stringify(s)).join(", ") || "(none)"} does not match ${describe(policy.identity)}`,
      );
    }
    id.subject = hit;
  }
  if (policy.issuer && !compileMatcher(policy.issuer, "OIDC issuer")(id.issuer)) {
    throw refuse(
      "issuer",
      `the OIDC issuer ${JSON.stringify(id.issuer ?? null)} does not match ${describe(policy.issuer)}`,
    );
  }
  if (policy.spiffeId) {
    // SPIFFE X509-SVID 2: exactly one URI SAN, the SPIFFE ID; a leaf SVID is not a CA.
    if (id.spiffeId === undefined || !SPIFFE_ID.test(id.spiffeId) || cert.isCA) {
      throw refuse("spiffeId", "the certificate is not an X.509-SVID with exactly one SPIFFE ID");
    }
    if (!compileMatcher(policy.spiffeId, "SPIFFE ID")(id.spiffeId)) {
      throw refuse(
        "spiffeId",
        `the SPIFFE ID ${JSON.stringify(id.spiffeId)} does not match ${describe(policy.spiffeId)}`,
      );
    }
  }
  const claims: [keyof IdentityPolicy, FulcioExtensionName, FulcioExtensionName][] = [
    ["repository", "sourceRepositoryUri", "githubWorkflowRepository"],
    ["ref", "sourceRepositoryRef", "githubWorkflowRef"],
    ["workflow", "buildSignerUri", "githubWorkflowName"],
  ];
  for (const [field, current, legacy] of claims) {
    const m = policy[field] as Matcher | undefined;
    if (!m) continue;
    const ok = compileMatcher(m, field);
    const v = id.extensions[current] ?? id.extensions[legacy];
    if (!ok(v))
      throw refuse(field, `the ${field} claim ${JSON.stringify(v ?? null)} does not match ${describe(m)}`);
  }
  for (const [name, m] of Object.entries(policy.extensions ?? {}) as [FulcioExtensionName, Matcher][]) {
    if (!(name in FULCIO_EXTENSIONS)) throw cairnError("ERR_USAGE", `unknown Fulcio extension ${name}`);
    const v = id.extensions[name];
    if (!compileMatcher(m, name)(v)) {
      throw refuse(
        `extensions.${name}`,
        `the ${name} claim ${JSON.stringify(v ?? null)} does not match ${describe(m)}`,
      );
    }
  }
  return id;
}
