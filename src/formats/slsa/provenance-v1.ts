// SPDX-License-Identifier: Apache-2.0
// SLSA Provenance v1 (slsa.dev/spec/v1.0/provenance): the predicate
// "https://slsa.dev/provenance/v1" of an in-toto Statement, which says how an artifact was built:
// buildDefinition (the inputs) and runDetails (this execution).
import { z } from "zod";
import { digestHex } from "../../core/digest.js";
import { toBase64 } from "../../core/encoding.js";
import { fieldError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";
import {
  type DigestSet,
  newStatement,
  parseStatement,
  type ResourceDescriptor,
  resourceDescriptorSchema,
  type Statement,
  timestampSchema,
  typeUriSchema,
  validateWith,
} from "../intoto/index.js";

/** provenance.md: the predicateType of SLSA Provenance v1. */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

// provenance.md "Parsing rules": "Unset, null, and empty field values MUST be interpreted
// equivalently", so every optional field may also be null.
type Opt<T> = T | null | undefined;

/** provenance.md "BuildDefinition": the inputs to the build. */
export interface BuildDefinition {
  buildType: string;
  /** REQUIRED for SLSA Build L1, but unset/null must be read as empty (parsing rules). */
  externalParameters?: Opt<Record<string, unknown>>;
  internalParameters?: Opt<Record<string, unknown>>;
  resolvedDependencies?: Opt<ResourceDescriptor[]>;
  [extra: string]: unknown;
}

/** provenance.md "Builder": the build platform trusted to run the build and write this provenance. */
export interface Builder {
  id: string;
  builderDependencies?: Opt<ResourceDescriptor[]>;
  version?: Opt<Record<string, string>>;
  [extra: string]: unknown;
}

/** provenance.md "BuildMetadata": timestamps are RFC 3339 in UTC. */
export interface BuildMetadata {
  invocationId?: Opt<string>;
  startedOn?: Opt<string>;
  finishedOn?: Opt<string>;
  [extra: string]: unknown;
}

/** provenance.md "RunDetails": this particular execution of the build. */
export interface RunDetails {
  builder: Builder;
  metadata?: Opt<BuildMetadata>;
  byproducts?: Opt<ResourceDescriptor[]>;
  [extra: string]: unknown;
}

/** provenance.md "Provenance": the predicate. */
export interface ProvenanceV1 {
  buildDefinition: BuildDefinition;
  runDetails: RunDetails;
  [extra: string]: unknown;
}

export type ProvenanceStatement = Statement<ProvenanceV1> & { predicate: ProvenanceV1 };

const obj = (what: string) => z.record(z.string(), z.unknown(), { error: `${what} must be an object` });
const descriptors = z.array(resourceDescriptorSchema, { error: "must be a list of resource descriptors" });
const nonEmpty = (what: string) =>
  z.string({ error: `${what} must be a string` }).min(1, { error: `${what} must not be empty` });

export const provenanceV1Schema = z.looseObject(
  {
    buildDefinition: z.looseObject(
      {
        // provenance.md BuildDefinition: "REQUIRED for SLSA Build L1: `buildType`, `externalParameters`".
        buildType: nonEmpty("buildType").pipe(typeUriSchema),
        externalParameters: obj("externalParameters").nullish(),
        internalParameters: obj("internalParameters").nullish(),
        resolvedDependencies: descriptors.nullish(),
      },
      { error: "buildDefinition must be an object" },
    ),
    runDetails: z.looseObject(
      {
        // provenance.md RunDetails: "REQUIRED for SLSA Build L1: `builder`"; Builder: "`id`".
        builder: z.looseObject(
          {
            id: nonEmpty("builder.id").pipe(typeUriSchema),
            builderDependencies: descriptors.nullish(),
            version: z
              .record(z.string(), z.string({ error: "must be a string" }), {
                error: "must be a map from component name to version string",
              })
              .nullish(),
          },
          { error: "builder must be an object" },
        ),
        metadata: z
          .looseObject(
            {
              invocationId: z.string({ error: "must be a string" }).nullish(),
              startedOn: timestampSchema.nullish(),
              finishedOn: timestampSchema.nullish(),
            },
            { error: "metadata must be an object" },
          )
          .superRefine((m, ctx) => {
            // Not a spec rule, but a build cannot finish before it starts: such provenance is not
            // believable, and refusing it never turns a DENY into an ALLOW.
            if (m.startedOn && m.finishedOn && Date.parse(m.finishedOn) < Date.parse(m.startedOn)) {
              ctx.addIssue({ code: "custom", message: "is before startedOn", path: ["finishedOn"] });
            }
          })
          .nullish(),
        byproducts: descriptors.nullish(),
      },
      { error: "runDetails must be an object" },
    ),
  },
  { error: "a SLSA provenance predicate must be an object" },
);

/**
 * Validates a SLSA Provenance v1 predicate (required fields, field types, RFC 3339 UTC timestamps,
 * resource descriptors) and returns the input object, unknown fields kept. Error paths start with
 * `prefix` (`predicate` by default), e.g. `predicate.runDetails.builder.id`.
 */
export function parseProvenanceV1(obj: unknown, file?: string, prefix = "predicate"): ProvenanceV1 {
  return validateWith(provenanceV1Schema, obj, file, prefix) as ProvenanceV1;
}

/** Validates a Statement whose predicate is SLSA Provenance v1. */
export function parseProvenanceStatement(obj: unknown, file?: string): ProvenanceStatement {
  const st = parseStatement(obj, file);
  if (st.predicateType !== SLSA_PROVENANCE_V1) {
    throw fieldError(
      "predicateType",
      `must be "${SLSA_PROVENANCE_V1}", not ${JSON.stringify(st.predicateType)}`,
      file,
    );
  }
  parseProvenanceV1(st.predicate, file);
  return st as ProvenanceStatement;
}

/** A validated provenance predicate from its parts; throws ERR_FIELD_INVALID on a bad field. */
export function newProvenanceV1(fields: {
  buildType: string;
  builderId: string;
  externalParameters?: Record<string, unknown>;
  internalParameters?: Record<string, unknown>;
  resolvedDependencies?: ResourceDescriptor[];
  builderVersion?: Record<string, string>;
  builderDependencies?: ResourceDescriptor[];
  invocationId?: string;
  startedOn?: Date | string;
  finishedOn?: Date | string;
  byproducts?: ResourceDescriptor[];
}): ProvenanceV1 {
  const buildDefinition: BuildDefinition = {
    buildType: fields.buildType,
    externalParameters: fields.externalParameters ?? {},
  };
  if (fields.internalParameters && Object.keys(fields.internalParameters).length > 0)
    buildDefinition.internalParameters = fields.internalParameters;
  if (fields.resolvedDependencies?.length) buildDefinition.resolvedDependencies = fields.resolvedDependencies;
  const builder: Builder = { id: fields.builderId };
  if (fields.builderDependencies?.length) builder.builderDependencies = fields.builderDependencies;
  if (fields.builderVersion && Object.keys(fields.builderVersion).length > 0)
    builder.version = fields.builderVersion;
  const metadata: BuildMetadata = {};
  if (fields.invocationId !== undefined) metadata.invocationId = fields.invocationId;
  if (fields.startedOn !== undefined) metadata.startedOn = timestamp(fields.startedOn);
  if (fields.finishedOn !== undefined) metadata.finishedOn = timestamp(fields.finishedOn);
  const runDetails: RunDetails = { builder };
  if (Object.keys(metadata).length > 0) runDetails.metadata = metadata;
  if (fields.byproducts?.length) runDetails.byproducts = fields.byproducts;
  return parseProvenanceV1({ buildDefinition, runDetails });
}

function timestamp(t: Date | string): string {
  return typeof t === "string" ? t : t.toISOString();
}

/** What a recorded step produced; a classic in-toto `Link` fits. */
export interface RecordedStep {
  name: string;
  command?: string[];
  materials?: Record<string, DigestSet>;
  products?: Record<string, DigestSet>;
  byproducts?: Record<string, unknown>;
  environment?: Record<string, unknown>;
}

/** resource_descriptor.md `content`: "the size of `content` SHOULD be less than 1KB". */
export const MAX_INLINE_BYPRODUCT_BYTES = 1024;

/** A step byproduct (stdout, stderr, return-value ...) as a ResourceDescriptor: digest, and content if small. */
function byproductDescriptor(name: string, value: unknown): ResourceDescriptor {
  const isText = typeof value === "string";
  const bytes = Buffer.from(isText ? value : JSON.stringify(value ?? null), "utf8");
  const rd: ResourceDescriptor = { name, digest: { sha256: digestHex("sha256", bytes) } };
  if (bytes.length > 0 && bytes.length < MAX_INLINE_BYPRODUCT_BYTES) rd.content = toBase64(bytes);
  rd.mediaType = isText ? "text/plain; charset=utf-8" : "application/json";
  return rd;
}

/**
 * SLSA provenance for one recorded step: products become subjects, materials the
 * resolvedDependencies, the step name and command the externalParameters (plus any given), the
 * step environment the internalParameters, and each byproduct a ResourceDescriptor with its
 * sha256 (content inlined when under 1 KiB). A step without products is refused (a Statement
 * needs a subject).
 */
export function provenanceFromStep(
  step: RecordedStep,
  opts: {
    buildType: string;
    builderId: string;
    builderVersion?: Record<string, string>;
    externalParameters?: Record<string, unknown>;
    invocationId?: string;
    startedOn?: Date | string;
    finishedOn?: Date | string;
  },
): ProvenanceStatement {
  const subjects = Object.entries(step.products ?? {}).map(([name, digest]) => ({
    name,
    digest: { ...digest },
  }));
  if (subjects.length === 0)
    throw fieldError("products", "provenance needs at least one product as its subject");
  const predicate = newProvenanceV1({
    buildType: opts.buildType,
    builderId: opts.builderId,
    externalParameters: {
      ...(opts.externalParameters ?? {}),
      name: step.name,
      command: [...(step.command ?? [])],
    },
    internalParameters: isJsonObject(step.environment) ? step.environment : {},
    resolvedDependencies: Object.entries(step.materials ?? {}).map(([name, digest]) => ({
      name,
      digest: { ...digest },
    })),
    byproducts: Object.entries(step.byproducts ?? {}).map(([k, v]) => byproductDescriptor(k, v)),
    ...(opts.builderVersion ? { builderVersion: opts.builderVersion } : {}),
    ...(opts.invocationId !== undefined ? { invocationId: opts.invocationId } : {}),
    ...(opts.startedOn !== undefined ? { startedOn: opts.startedOn } : {}),
    ...(opts.finishedOn !== undefined ? { finishedOn: opts.finishedOn } : {}),
  });
  return newStatement(subjects, SLSA_PROVENANCE_V1, predicate) as ProvenanceStatement;
}
