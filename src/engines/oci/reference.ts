// SPDX-License-Identifier: Apache-2.0
// Image references as skopeo names them (containers-transports(5) "docker://docker-reference"),
// with the grammar of distribution's reference package and distribution-spec 1.1 "Pulling"
// (`<name>` and `<reference>`). Parsing is strict: a reference is attacker-reachable input (it
// becomes part of a URL), so anything outside the grammar is refused rather than escaped.
import { cairnError } from "../../core/errors.js";
import { isDigest, type OciDigest } from "../../formats/oci/index.js";

/** A repository in a registry: where manifests, blobs and tags live. */
export interface Repository {
  /** `HOST[:PORT]` as written (docker.io for Docker Hub). */
  registry: string;
  /** The `<name>` of distribution-spec, e.g. `library/alpine`. */
  repository: string;
}

/** A manifest in a repository, named by tag or by digest (never both). */
export interface ImageReference extends Repository {
  tag?: string;
  digest?: OciDigest;
}

/** The transport prefix skopeo uses for registries. */
export const DOCKER_TRANSPORT = "docker://";
/** distribution reference: NameTotalLengthMax (registry host included). */
export const MAX_NAME_LENGTH = 255;

// distribution-spec "Pulling manifests": <name> MUST match this.
const NAME_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
// distribution-spec: a tag MUST be at most 128 characters and match this.
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// distribution reference: domain-component ("." domain-component)* [":" port-number], or an
// IPv6 address in brackets.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`,
);

/** True when `s` is a valid repository name (distribution-spec `<name>`). */
export function isRepositoryName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME_RE.test(s);
}

/** True when `s` is a valid tag. */
export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

function invalid(input: string, why: string) {
  return cairnError("ERR_OCI_REFERENCE_INVALID", `"${input.slice(0, 300)}": ${why}`, { field: "reference" });
}

/**
 * Parses `docker://HOST/REPO[:TAG|@DIGEST]`. As docker and skopeo do, a first component without
 * a dot, a colon or the name localhost is not a host: `docker://alpine` is
 * `docker.io/library/alpine:latest`. Without a tag or digest the tag is `latest`. A reference
 * with both a tag and a digest is refused (skopeo's docker transport refuses it too: the two can
 * disagree). Throws ERR_OCI_REFERENCE_INVALID.
 */
export function parseImageReference(input: string): ImageReference {
  if (!input.startsWith(DOCKER_TRANSPORT)) {
    throw invalid(input, `a registry image reference starts with ${DOCKER_TRANSPORT}`);
  }
  return parseDockerReference(input.slice(DOCKER_TRANSPORT.length), input);
}

/** Parses a docker reference without the transport: `HOST/REPO[:TAG|@DIGEST]`. */
export function parseDockerReference(s: string, input = s): ImageReference {
  if (s.length === 0) throw invalid(input, "is empty");
  if (s.length > MAX_NAME_LENGTH + 1 + 128 + 1 + 512) throw invalid(input, "is too long");
  let rest = s;
  let digest: OciDigest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(input, `"${d}" is not a digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw invalid(input, `"${tag}" is not a valid tag`);
  }
  if (tag !== undefined && digest !== undefined) {
    throw invalid(input, "names both a tag and a digest; give one");
  }
  let registry: string;
  let repository: string;
  const first = rest.indexOf("/");
  const head = first < 0 ? "" : rest.slice(0, first);
  if (
    first >= 0 &&
    (head.includes(".") || head.includes(":") || head === "localhost" || head !== head.toLowerCase())
  ) {
    registry = head;
    repository = rest.slice(first + 1);
    if (!HOST_RE.test(registry)) throw invalid(input, `"${registry}" is not a registry host`);
    const port = /:(\d+)$/.exec(registry)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      throw invalid(input, `port ${port} is out of range`);
    }
  } else {
    registry = "docker.io";
    repository = rest.includes("/") ? rest : `library/${rest}`;
  }
  if (registry === "index.docker.io") registry = "docker.io";
  if (!NAME_RE.test(repository)) {
    throw invalid(input, `"${repository}" is not a repository name (lowercase letters, digits, separators)`);
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(input, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  const out: ImageReference = { registry, repository };
  if (digest !== undefined) out.digest = digest;
  else out.tag = tag ?? "latest";
  return out;
}

/** The reference as skopeo writes it: `docker://HOST/REPO:TAG` or `docker://HOST/REPO@DIGEST`. */
export function formatImageReference(ref: ImageReference): string {
  const suffix = ref.digest !== undefined ? `@${ref.digest}` : ref.tag !== undefined ? `:${ref.tag}` : "";
  return `${DOCKER_TRANSPORT}${ref.registry}/${ref.repository}${suffix}`;
}

/** The host that serves the registry API (Docker Hub's API is not at docker.io). */
export function apiHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

/**
 * distribution-spec 1.1 "Referrers Tag Schema": `<alg>-<ref>`, the algorithm truncated to 32
 * characters and the encoded digest to 64.
 */
export function referrersTag(digest: string): string {
  const i = digest.indexOf(":");
  const alg = digest
    .slice(0, i)
    .replace(/[^a-zA-Z0-9._-]/g, "-")
    .slice(0, 32);
  const enc = digest
    .slice(i + 1)
    .replace(/[^a-zA-Z0-9._-]/g, "-")
    .slice(0, 64);
  return `${alg}-${enc}`;
}
