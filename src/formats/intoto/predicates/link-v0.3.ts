// SPDX-License-Identifier: Apache-2.0
// in-toto attestation predicate "Link" v0.3 (github.com/in-toto/attestation,
// spec/predicates/link.md): one supply-chain step as a Statement whose subjects are the step's
// products, and conversion to and from the classic link (in-toto specification 4.4).
import { z } from "zod";
import { fieldError } from "../../../core/errors.js";
import { type ArtifactMap, type Link, parseLink } from "../link.js";
import {
  newStatement,
  parseStatement,
  type ResourceDescriptor,
  resourceDescriptorSchema,
  type Statement,
  type Subject,
} from "../statement.js";
import { validateWith } from "../validate.js";

/** link.md "Type URI". The deprecated `https://in-toto.io/Link/*` types have another schema and are refused. */
export const LINK_PREDICATE_TYPE_V03 = "https://in-toto.io/attestation/link/v0.3";

/** link.md: a material is a ResourceDescriptor whose `name` and `digest` MUST be set. */
export interface LinkMaterial extends ResourceDescriptor {
  name: string;
  digest: Record<string, string>;
}

/** link.md "Fields": the predicate of a link v0.3 attestation. Unset and null mean empty. */
export interface LinkPredicateV03 {
  name: string;
  command?: string[] | null;
  materials?: LinkMaterial[] | null;
  byproducts?: Record<string, unknown> | null;
  environment?: Record<string, unknown> | null;
  [extra: string]: unknown;
}

export type LinkStatement = Statement<LinkPredicateV03> & { predicate: LinkPredicateV03 };

const materialSchema = resourceDescriptorSchema.superRefine((rd, ctx) => {
  // link.md `materials`: "The `name` and `digest` fields of each entry MUST be set".
  if (typeof rd.name !== "string") ctx.addIssue({ code: "custom", message: "must be set", path: ["name"] });
  if (rd.digest === undefined) ctx.addIssue({ code: "custom", message: "must be set", path: ["digest"] });
});

const opaqueObject = (what: string) =>
  z
    .record(z.string(), z.unknown(), { error: `${what} must be an object` })
    .nullable()
    .optional();

export const linkPredicateV03Schema = z
  .looseObject(
    {
      name: z.string({ error: "the step name must be a string" }).min(1, { error: "must not be empty" }),
      command: z
        .array(z.string({ error: "must be a string" }), { error: "must be a list of strings" })
        .nullable()
        .optional(),
      materials: z
        .array(materialSchema, { error: "must be a list of resource descriptors" })
        .nullable()
        .optional(),
      byproducts: opaqueObject("byproducts"),
      environment: opaqueObject("environment"),
    },
    { error: "the link predicate must be an object" },
  )
  .superRefine((p, ctx) => {
    // link.md `materials`: "`name` MUST be unique among the `materials` entries".
    const seen = new Set<string>();
    (p.materials ?? []).forEach((m, i) => {
      if (seen.has(m.name as string)) {
        ctx.addIssue({
          code: "custom",
          message: `duplicate material name ${JSON.stringify(m.name)}`,
          path: ["materials", i, "name"],
        });
      }
      seen.add(m.name as string);
    });
  });

/** Validates a link v0.3 predicate; error paths start with `predicate.`. */
export function parseLinkPredicateV03(obj: unknown, file?: string): LinkPredicateV03 {
  return validateWith(linkPredicateV03Schema, obj, file, "predicate") as LinkPredicateV03;
}

/** link.md: "each subject's `name` in a link attestation MUST be unique" (and so set). */
function checkSubjectNames(subjects: readonly Subject[], file?: string): void {
  const seen = new Set<string>();
  subjects.forEach((s, i) => {
    if (typeof s.name !== "string")
      throw fieldError(`subject[${i}].name`, "a link subject must have a name", file);
    if (seen.has(s.name))
      throw fieldError(`subject[${i}].name`, `duplicate subject name ${JSON.stringify(s.name)}`, file);
    seen.add(s.name);
  });
}

/**
 * Validates a Statement carrying a link v0.3 predicate: the statement, the predicateType, the
 * predicate, and unique subject names. Returns the input object, unknown fields kept.
 */
export function parseLinkStatement(obj: unknown, file?: string): LinkStatement {
  const st = parseStatement(obj, file);
  if (st.predicateType !== LINK_PREDICATE_TYPE_V03) {
    throw fieldError(
      "predicateType",
      `must be "${LINK_PREDICATE_TYPE_V03}", not ${JSON.stringify(st.predicateType)}`,
      file,
    );
  }
  parseLinkPredicateV03(st.predicate, file);
  checkSubjectNames(st.subject, file);
  return st as LinkStatement;
}

// Artifact paths are attacker-controlled: Object.fromEntries defines own properties, so a path
// named "__proto__" stays an entry instead of replacing the map's prototype.
function toArtifactMap(entries: readonly { name: string; digest: Record<string, string> }[]): ArtifactMap {
  return Object.fromEntries(entries.map((e) => [e.name, { ...e.digest }]));
}

function toDescriptors(map: ArtifactMap): { name: string; digest: Record<string, string> }[] {
  return Object.entries(map).map(([name, digest]) => ({ name, digest: { ...digest } }));
}

/**
 * A classic link as a link v0.3 Statement: products become subjects, materials become
 * ResourceDescriptors, unknown link fields move into the predicate. A Statement needs at least
 * one subject, so a link without products is refused (ERR_FIELD_INVALID on `products`).
 */
export function linkToStatement(link: Link): LinkStatement {
  const { _type: _t, name, command, materials, products, byproducts, environment, ...extra } = link;
  const subjects = toDescriptors(products ?? {});
  if (subjects.length === 0) {
    throw fieldError("products", "a link v0.3 statement needs at least one product to use as its subject");
  }
  const predicate: LinkPredicateV03 = {
    name,
    command: [...(command ?? [])],
    materials: toDescriptors(materials ?? {}),
    byproducts: byproducts ?? {},
    environment: environment ?? {},
    ...extra,
  };
  validateWith(linkPredicateV03Schema, predicate, undefined, "predicate");
  return newStatement(subjects, LINK_PREDICATE_TYPE_V03, predicate) as LinkStatement;
}

/**
 * link.md "Converting to old-style links": a link v0.3 Statement as a classic link. Products
 * map subject names to digests, materials map material names to digests; unknown predicate fields
 * are kept on the link (so link -> statement -> link is lossless). Other descriptor fields (uri,
 * annotations, ...) and statement-level extension fields have no place in a classic link.
 */
export function statementToLink(st: LinkStatement): Link {
  parseLinkPredicateV03(st.predicate);
  checkSubjectNames(st.subject);
  const { name, command, materials, byproducts, environment, ...extra } = st.predicate;
  return {
    ...extra,
    _type: "link",
    name,
    command: [...(command ?? [])],
    materials: toArtifactMap(materials ?? []),
    products: toArtifactMap(st.subject as { name: string; digest: Record<string, string> }[]),
    byproducts: byproducts ?? {},
    environment: environment ?? {},
  };
}

/** What a logged in-toto payload is indexed under (see `readInTotoPayload`). */
export interface InTotoPayload {
  /** The Statement's predicateType; LINK_PREDICATE_TYPE_V03 for a classic link. */
  predicateType: string;
  /** Every digest set the payload is about: a Statement's subjects, a classic link's products. */
  digests: Record<string, string>[];
  /** Set when the payload is a Statement. */
  statement?: Statement;
  /** Set when the payload is a classic link (what `in-toto-run --use-dsse` and `cairn run --use-dsse` sign). */
  link?: Link;
}

/**
 * Reads the payload of an `application/vnd.in-toto+json` DSSE envelope: an in-toto Statement with
 * any predicate, or a classic link (in-toto specification 4.4, `_type: "link"`), which is indexed
 * as the link attestation framework does (link.md: "the products of the step are the subjects"),
 * under LINK_PREDICATE_TYPE_V03; a step without products is about no artifact. Throws
 * ERR_FIELD_INVALID for anything else.
 */
export function readInTotoPayload(obj: unknown): InTotoPayload {
  if (typeof obj === "object" && obj !== null && (obj as { _type?: unknown })._type === "link") {
    const link = parseLink(obj);
    return {
      predicateType: LINK_PREDICATE_TYPE_V03,
      digests: Object.values(link.products ?? {}).map((d) => ({ ...d })),
      link,
    };
  }
  const statement = parseStatement(obj);
  return {
    predicateType: statement.predicateType,
    digests: statement.subject.map((s) => s.digest),
    statement,
  };
}
