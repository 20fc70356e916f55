// SPDX-License-Identifier: Apache-2.0
// Everything attached to an image, as `cosign tree` shows it: cosign's digest tags
// (`sha256-<hex>.sig`, `.att`, `.sbom`), OCI 1.1 referrers (distribution-spec 1.1 "Listing
// Referrers", or its tag-schema fallback; Sigstore bundle referrers, bundle.ts), and for an index its platform manifests with what is
// attached to each. Every manifest is read and verified against its digest on the way (copy.ts
// copies exactly these bytes).
//
// Threats: the graph is attacker-shaped (tags and referrers anyone with push access can add), so
// the walk is bounded in depth and in nodes, and a manifest met twice is not expanded again.
import { cairnError } from "../../core/errors.js";
import {
  type Descriptor,
  isIndexMediaType,
  isManifestMediaType,
  manifestDescriptor,
  type OciDigest,
  type ParsedManifestOrIndex,
} from "../../formats/oci/index.js";
import {
  ANNOTATION_BUNDLE_PREDICATE_TYPE,
  ANNOTATION_INTOTO_PREDICATE_TYPE,
  ANNOTATION_PREDICATE_TYPE,
  ARTIFACT_TYPE_ATTESTATION,
  ARTIFACT_TYPE_SIGNATURE,
  ARTIFACT_TYPE_SIGSTORE_BUNDLE,
  ATTESTATION_TAG_SUFFIX,
  cosignTag,
  SBOM_TAG_SUFFIX,
  SIGNATURE_TAG_SUFFIX,
} from "./attached.js";
import { type ImageStore, referrerDescriptorOf } from "./store.js";

/** Deepest chain followed: index -> platform -> signature -> signature of the signature ... */
export const MAX_TREE_DEPTH = 8;
/** Most manifests in one tree. */
export const MAX_TREE_NODES = 10_000;

/** What a node is to its parent. */
export type NodeKind =
  | "image"
  | "index"
  | "platform"
  | "signatures"
  | "attestations"
  | "sbom"
  | "signature"
  | "attestation"
  | "bundle"
  | "referrer";

export interface TreeNode {
  kind: NodeKind;
  /** How it was found: the root, an index entry, a cosign tag, or the referrers of the parent. */
  via: "root" | "index" | "tag" | "referrers";
  /** The manifest's descriptor (artifactType set when it has one). */
  descriptor: Descriptor;
  /** The cosign tag it was found at. */
  tag?: string;
  artifactType?: string;
  /** The verified manifest, bytes exact. */
  manifest: ParsedManifestOrIndex;
  /** True when this manifest already appears elsewhere in the tree (not expanded again). */
  repeated?: boolean;
  children: TreeNode[];
}

const TAG_KINDS: [string, NodeKind][] = [
  [SIGNATURE_TAG_SUFFIX, "signatures"],
  [ATTESTATION_TAG_SUFFIX, "attestations"],
  [SBOM_TAG_SUFFIX, "sbom"],
];

function artifactTypeOf(m: ParsedManifestOrIndex): string | undefined {
  const doc = m.kind === "manifest" ? m.manifest : m.index;
  return doc.artifactType ?? (m.kind === "manifest" ? m.manifest.config.mediaType : undefined);
}

function referrerKind(artifactType: string | undefined): NodeKind {
  if (artifactType === ARTIFACT_TYPE_SIGNATURE) return "signature";
  if (artifactType === ARTIFACT_TYPE_ATTESTATION) return "attestation";
  if (artifactType === ARTIFACT_TYPE_SIGSTORE_BUNDLE) return "bundle";
  return "referrer";
}

export interface TreeOptions {
  /** A tag or digest instead of the image name's own reference. */
  ref?: string;
  /** Only the image (and an index's platform manifests), nothing attached. */
  attached?: boolean;
}

/** Walks everything attached to the image (and to each platform manifest of an index). */
export async function imageTree(store: ImageStore, opts: TreeOptions = {}): Promise<TreeNode> {
  const withAttached = opts.attached ?? true;
  const seen = new Set<OciDigest>();
  let count = 0;
  const node = async (
    m: ParsedManifestOrIndex,
    kind: NodeKind,
    via: TreeNode["via"],
    depth: number,
    tag?: string,
  ): Promise<TreeNode> => {
    if (++count > MAX_TREE_NODES) {
      throw cairnError("ERR_OCI_TOO_LARGE", `more than ${MAX_TREE_NODES} manifests attached to the image`);
    }
    const artifactType = artifactTypeOf(m);
    const n: TreeNode = {
      kind,
      via,
      descriptor: via === "referrers" ? referrerDescriptorOf(m) : manifestDescriptor(m),
      ...(tag === undefined ? {} : { tag }),
      ...(artifactType === undefined ? {} : { artifactType }),
      manifest: m,
      children: [],
    };
    if (seen.has(m.digest)) {
      n.repeated = true;
      return n;
    }
    seen.add(m.digest);
    if (depth >= MAX_TREE_DEPTH) {
      throw cairnError("ERR_OCI_TOO_LARGE", `attachments nested deeper than ${MAX_TREE_DEPTH}`);
    }
    if (m.kind === "index") {
      for (const child of m.index.manifests) {
        // image-index.md: entries of unknown media types are not manifests to walk.
        if (!isManifestMediaType(child.mediaType) && !isIndexMediaType(child.mediaType)) continue;
        n.children.push(await node(await store.getManifest(child), "platform", "index", depth + 1));
      }
    }
    if (!withAttached) return n;
    for (const [suffix, k] of TAG_KINDS) {
      const t = cosignTag(m.digest, suffix);
      const attached = await store.getTagged(t);
      if (attached !== undefined) n.children.push(await node(attached, k, "tag", depth + 1, t));
    }
    for (const r of await store.referrers(m.digest)) {
      const rm = await store.getManifest(r.digest);
      n.children.push(await node(rm, referrerKind(artifactTypeOf(rm)), "referrers", depth + 1));
    }
    return n;
  };
  const root = await store.getManifest(await store.resolve(opts.ref));
  return node(root, root.kind === "index" ? "index" : "image", "root", 0);
}

/** A tree as plain JSON (no manifest bytes): what `cairn oci tree --json` prints. */
export interface TreeJson {
  kind: NodeKind;
  via: TreeNode["via"];
  digest: OciDigest;
  mediaType: string;
  size: number;
  tag?: string;
  artifactType?: string;
  platform?: string;
  layers?: { mediaType: string; digest: OciDigest; size: number; predicateType?: string }[];
  repeated?: boolean;
  children: TreeJson[];
}

function platformOf(parent: ParsedManifestOrIndex | undefined, digest: OciDigest): string | undefined {
  if (parent?.kind !== "index") return undefined;
  const p = parent.index.manifests.find((d) => d.digest === digest)?.platform;
  return p === undefined ? undefined : [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** The JSON form of a tree. */
export function treeToJson(n: TreeNode, parent?: TreeNode): TreeJson {
  const platform = platformOf(parent?.manifest, n.descriptor.digest);
  const attachment = n.kind !== "image" && n.kind !== "index" && n.kind !== "platform";
  const annotations = n.manifest.kind === "manifest" ? n.manifest.manifest.annotations : undefined;
  const predicateOfManifest =
    annotations?.[ANNOTATION_INTOTO_PREDICATE_TYPE] ?? annotations?.[ANNOTATION_BUNDLE_PREDICATE_TYPE];
  return {
    kind: n.kind,
    via: n.via,
    digest: n.descriptor.digest,
    mediaType: n.descriptor.mediaType,
    size: n.descriptor.size,
    ...(n.tag === undefined ? {} : { tag: n.tag }),
    ...(n.artifactType === undefined ? {} : { artifactType: n.artifactType }),
    ...(platform === undefined ? {} : { platform }),
    ...(attachment && n.manifest.kind === "manifest"
      ? {
          layers: n.manifest.manifest.layers.map((l) => {
            const pt = l.annotations?.[ANNOTATION_PREDICATE_TYPE] ?? predicateOfManifest;
            return {
              mediaType: l.mediaType,
              digest: l.digest,
              size: l.size,
              ...(pt === undefined ? {} : { predicateType: pt }),
            };
          }),
        }
      : {}),
    ...(n.repeated ? { repeated: true } : {}),
    children: n.children.map((c) => treeToJson(c, n)),
  };
}

/** The human tree: one line per manifest and per attached layer, box-drawn. */
export function formatTree(name: string, t: TreeJson): string {
  const lines = [`${name}  ${t.digest}  ${t.mediaType}`];
  const label = (c: TreeJson): string => {
    const parts: string[] = [c.kind];
    if (c.platform) parts.push(c.platform);
    if (c.tag) parts.push(`tag ${c.tag}`);
    if (c.artifactType && c.via === "referrers") parts.push(c.artifactType);
    parts.push(c.digest);
    if (c.repeated) parts.push("(shown above)");
    return parts.join("  ");
  };
  const walk = (n: TreeJson, prefix: string) => {
    const items: { text: string; node?: TreeJson }[] = [
      ...(n.layers ?? []).map((l) => ({
        text: `${l.mediaType}  ${l.digest}${l.predicateType ? `  ${l.predicateType}` : ""}`,
      })),
      ...n.children.map((c) => ({ text: label(c), node: c })),
    ];
    items.forEach((it, i) => {
      const last = i === items.length - 1;
      lines.push(`${prefix}${last ? "└── " : "├── "}${it.text}`);
      if (it.node) walk(it.node, `${prefix}${last ? "    " : "│   "}`);
    });
  };
  walk(t, "");
  return lines.join("\n");
}
