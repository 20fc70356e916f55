// SPDX-License-Identifier: Apache-2.0
// From a verified token to the identity a certificate states, following Fulcio's issuer types
// (sigstore/fulcio docs/oidc.md and config/identity/config.yaml) and the SPIFFE ID conventions:
// - email: the `email` claim, only when `email_verified` is true; SAN rfc822Name.
// - uri: `sub` is a URI under the configured subject domain; SAN URI.
// - github-workflow: SAN URI https://github.com/{job_workflow_ref}, and the CI claims mapped onto
//   the Fulcio extensions exactly as Fulcio's github-workflow ci-issuer-metadata maps them.
// - kubernetes: a service-account token; SAN spiffe://{trust domain}/ns/{namespace}/sa/{name}.
// - spiffe: `sub` is itself a SPIFFE ID in the configured trust domain (a JWT-SVID).
import { cairnError } from "../../core/errors.js";
import type { FulcioExtensionValues } from "../../formats/x509/index.js";
import { parseSpiffeId, spiffeIdOf } from "../../formats/x509/index.js";
import type { VerifiedToken } from "./oidc.js";

/** Who a certificate is for. */
export interface Principal {
  /** The SAN: an email address or a URI (a SPIFFE ID for workloads). */
  san: { email: string } | { uri: string };
  /** True for X.509-SVIDs (the SPIFFE leaf profile applies). */
  spiffe: boolean;
  /** The text the proof of possession signs (Fulcio: the email, else `sub`). */
  challenge: string;
  /** The rate-limit and audit key: issuer and SAN. */
  id: string;
  extensions: FulcioExtensionValues;
}

/** Longest claim value used in a certificate. */
const MAX_CLAIM = 1024;

function refuse(message: string): Error {
  return cairnError("ERR_CA_IDENTITY_REFUSED", message, { field: "credentials.oidcIdentityToken" });
}

function claim(c: Record<string, unknown>, name: string, required: true): string;
function claim(c: Record<string, unknown>, name: string, required?: false): string | undefined;
function claim(c: Record<string, unknown>, name: string, required = false): string | undefined {
  const v = c[name];
  if (v === undefined || v === null) {
    if (required) throw refuse(`the token has no ${name} claim`);
    return undefined;
  }
  // Numeric ids (repository_id, run_id) are strings in GitHub's tokens, but accept integers.
  const s = typeof v === "number" && Number.isSafeInteger(v) ? String(v) : v;
  // Control characters would let a claim forge structure wherever a SAN or extension is printed.
  if (typeof s !== "string" || s.length > MAX_CLAIM || /[\u0000-\u001f\u007f]/.test(s))
    throw refuse(`the ${name} claim is not a printable string of at most ${MAX_CLAIM} characters`);
  return s;
}

// A pragmatic addr-spec check (RFC 5322 3.4.1 without quoted local parts or comments).
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** GitHub's web origin, the `url` default of Fulcio's github-workflow templates. */
export const GITHUB_URL = "https://github.com";

// RFC 5280 4.2.1.6: a URI SAN is an IA5String holding an RFC 3986 URI: printable ASCII, no spaces.
const URI_CHARS = /^[\x21-\x7e]+$/;

/** Maps a verified token to the principal its certificate will name; throws ERR_CA_IDENTITY_REFUSED. */
export function principalOf(t: VerifiedToken): Principal {
  const p = principalOfToken(t);
  if ("uri" in p.san && (!URI_CHARS.test(p.san.uri) || !URL.canParse(p.san.uri)))
    throw refuse("the identity does not form an ASCII URI for the certificate's SAN");
  return p;
}

function principalOfToken(t: VerifiedToken): Principal {
  const c = t.claims;
  const iss = t.issuer.issuerUrl;
  const sub = claim(c, "sub", true);
  const base: FulcioExtensionValues = { issuer: iss };
  switch (t.issuer.type) {
    case "email": {
      const email = claim(c, "email", true);
      // Fulcio: "email_verified" must be true, or anyone could claim any address at a lax issuer.
      if (c.email_verified !== true) throw refuse("the token's email is not verified");
      if (email.length > 254 || !EMAIL.test(email)) throw refuse("the token's email is not an email address");
      return { san: { email }, spiffe: false, challenge: email, id: `${iss} ${email}`, extensions: base };
    }
    case "uri": {
      const domain = t.issuer.subjectDomain;
      let u: URL;
      try {
        u = new URL(sub);
      } catch {
        throw refuse("the token's sub is not a URI");
      }
      if (!domain || u.origin !== new URL(domain).origin)
        throw refuse(`the token's sub is not under the issuer's subject domain ${domain}`);
      return { san: { uri: sub }, spiffe: false, challenge: sub, id: `${iss} ${sub}`, extensions: base };
    }
    case "github-workflow":
      return githubPrincipal(c, iss, sub);
    case "kubernetes":
      return kubernetesPrincipal(t, c, sub);
    case "spiffe": {
      const td = t.issuer.spiffeTrustDomain;
      const id = parseSpiffeId(sub);
      if (id.trustDomain !== td) throw refuse(`the token's SPIFFE ID is not in trust domain ${td}`);
      if (id.path === "") throw refuse("the token's SPIFFE ID names no workload");
      return { san: { uri: id.uri }, spiffe: true, challenge: sub, id: `${iss} ${id.uri}`, extensions: base };
    }
  }
}

function githubPrincipal(c: Record<string, unknown>, iss: string, sub: string): Principal {
  const url = GITHUB_URL;
  const jobWorkflowRef = claim(c, "job_workflow_ref", true);
  const repository = claim(c, "repository", true);
  const repositoryOwner = claim(c, "repository_owner");
  const runId = claim(c, "run_id");
  const runAttempt = claim(c, "run_attempt");
  const workflowRef = claim(c, "workflow_ref");
  // Fulcio's github-workflow extension-templates, claim by claim (config/identity/config.yaml).
  const extensions: FulcioExtensionValues = {
    issuer: iss,
    githubWorkflowTrigger: claim(c, "event_name"),
    githubWorkflowSha: claim(c, "sha"),
    githubWorkflowName: claim(c, "workflow"),
    githubWorkflowRepository: repository,
    githubWorkflowRef: claim(c, "ref"),
    buildSignerUri: `${url}/${jobWorkflowRef}`,
    buildSignerDigest: claim(c, "job_workflow_sha"),
    runnerEnvironment: claim(c, "runner_environment"),
    sourceRepositoryUri: `${url}/${repository}`,
    sourceRepositoryDigest: claim(c, "sha"),
    sourceRepositoryRef: claim(c, "ref"),
    sourceRepositoryIdentifier: claim(c, "repository_id"),
    sourceRepositoryOwnerUri: repositoryOwner === undefined ? undefined : `${url}/${repositoryOwner}`,
    sourceRepositoryOwnerIdentifier: claim(c, "repository_owner_id"),
    buildConfigUri: workflowRef === undefined ? undefined : `${url}/${workflowRef}`,
    buildConfigDigest: claim(c, "workflow_sha"),
    buildTrigger: claim(c, "event_name"),
    runInvocationUri:
      runId === undefined || runAttempt === undefined
        ? undefined
        : `${url}/${repository}/actions/runs/${runId}/attempts/${runAttempt}`,
    sourceRepositoryVisibilityAtSigning: claim(c, "repository_visibility"),
    deploymentEnvironment: claim(c, "environment"),
  };
  for (const k of Object.keys(extensions) as (keyof FulcioExtensionValues)[])
    if (extensions[k] === undefined) delete extensions[k];
  // subject-alternative-name-template: "{{ .url }}/{{ .job_workflow_ref }}".
  const san = `${url}/${jobWorkflowRef}`;
  return { san: { uri: san }, spiffe: false, challenge: sub, id: `${iss} ${san}`, extensions };
}

function kubernetesPrincipal(t: VerifiedToken, c: Record<string, unknown>, sub: string): Principal {
  const td = t.issuer.trustDomain;
  if (td === undefined) throw cairnError("ERR_USAGE", `issuer ${t.issuer.issuerUrl} needs a trustDomain`);
  // A projected service-account token carries "kubernetes.io": {namespace, serviceaccount: {name, uid}}
  // and sub "system:serviceaccount:<namespace>:<name>"; both must agree.
  const k8s = c["kubernetes.io"] as Record<string, unknown> | undefined;
  const sa =
    k8s && typeof k8s === "object" ? (k8s.serviceaccount as Record<string, unknown> | undefined) : undefined;
  const ns = k8s?.namespace;
  const name = sa && typeof sa === "object" ? sa.name : undefined;
  if (typeof ns !== "string" || typeof name !== "string")
    throw refuse("the token is not a Kubernetes service-account token (no kubernetes.io claims)");
  if (sub !== `system:serviceaccount:${ns}:${name}`)
    throw refuse("the token's sub does not match its service account");
  const allowed = t.issuer.allowedNamespaces;
  if (allowed !== undefined && !allowed.includes(ns))
    throw refuse(`namespace ${ns} may not get certificates`);
  let uri: string;
  try {
    uri = spiffeIdOf(td, ["ns", ns, "sa", name]).uri;
  } catch {
    throw refuse("the namespace or service account name cannot form a SPIFFE ID");
  }
  return {
    san: { uri },
    spiffe: true,
    challenge: sub,
    id: `${t.issuer.issuerUrl} ${uri}`,
    extensions: { issuer: t.issuer.issuerUrl },
  };
}
