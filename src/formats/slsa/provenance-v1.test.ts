// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import { newLink } from "../intoto/link.js";
import { STATEMENT_TYPE_V1 } from "../intoto/statement.js";
import {
  newProvenanceV1,
  parseProvenanceStatement,
  parseProvenanceV1,
  provenanceFromStep,
  SLSA_PROVENANCE_V1,
} from "./index.js";

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely to build bad inputs
type Doc = Record<string, any>;

const A = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

function throwsField(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, "ERR_FIELD_INVALID");
    assert.equal(e.field, field);
    return true;
  });
}

// buildType, externalParameters and resolvedDependencies are the examples quoted in
// slsa.dev/spec/v1.0/provenance, section "BuildDefinition"; the rest is filled in.
function predicate(): Doc {
  return {
    buildDefinition: {
      buildType: "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
      externalParameters: { repository: "https://github.com/octocat/hello-world", ref: "refs/heads/main" },
      internalParameters: { github: { runner_environment: "github-hosted" } },
      resolvedDependencies: [
        {
          uri: "git+https://github.com/octocat/hello-world@refs/heads/main",
          digest: { gitCommit: "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d" },
        },
      ],
    },
    runDetails: {
      builder: { id: "https://github.com/actions/runner/github-hosted", version: { runner: "2.311.0" } },
      metadata: {
        invocationId: "https://github.com/octocat/hello-world/actions/runs/1/attempts/1",
        startedOn: "2023-01-01T12:00:00Z",
        finishedOn: "2023-01-01T12:05:30.123Z",
      },
      byproducts: [{ name: "build.log", digest: { sha256: A } }],
    },
  };
}

describe("parseProvenanceV1", () => {
  test("accepts a full predicate and returns it unchanged, extension fields kept", () => {
    const p = predicate();
    p.examplebuilder_isCodeReviewed = true; // provenance.md "Extension fields" naming
    p.runDetails.builder.examplebuilder_x = [1];
    const text = JSON.stringify(p);
    const parsed = parseProvenanceV1(JSON.parse(text));
    assert.equal(JSON.stringify(parsed), text);
    assert.equal(parsed.runDetails.builder.id, "https://github.com/actions/runner/github-hosted");
  });

  test("the minimum: buildType and builder.id", () => {
    assert.ok(
      parseProvenanceV1({
        buildDefinition: { buildType: "https://e.com/bt/v1" },
        runDetails: { builder: { id: "https://e.com/b" } },
      }),
    );
  });

  test("provenance.md parsing rules: unset, null and empty optional fields are all accepted", () => {
    const p = {
      buildDefinition: {
        buildType: "https://e.com/bt/v1",
        externalParameters: null,
        internalParameters: null,
        resolvedDependencies: null,
      },
      runDetails: {
        builder: { id: "https://e.com/b", builderDependencies: null, version: null },
        metadata: { invocationId: null, startedOn: null, finishedOn: null },
        byproducts: null,
      },
    };
    assert.ok(parseProvenanceV1(p));
    p.runDetails.metadata = null as never;
    assert.ok(parseProvenanceV1(p));
  });

  test("required fields", () => {
    const cases: [(p: Doc) => void, string][] = [
      [(p) => delete p.buildDefinition, "predicate.buildDefinition"],
      [(p) => delete p.runDetails, "predicate.runDetails"],
      [(p) => delete p.buildDefinition.buildType, "predicate.buildDefinition.buildType"],
      [(p) => (p.buildDefinition.buildType = ""), "predicate.buildDefinition.buildType"],
      [(p) => delete p.runDetails.builder, "predicate.runDetails.builder"],
      [(p) => delete p.runDetails.builder.id, "predicate.runDetails.builder.id"],
      [(p) => (p.runDetails.builder.id = ""), "predicate.runDetails.builder.id"],
    ];
    for (const [mutate, field] of cases) {
      const p = predicate();
      mutate(p);
      throwsField(() => parseProvenanceV1(p), field);
    }
  });

  test("field types", () => {
    const cases: [(p: Doc) => void, string][] = [
      [(p) => (p.buildDefinition.buildType = "not a uri"), "predicate.buildDefinition.buildType"],
      [(p) => (p.buildDefinition.externalParameters = []), "predicate.buildDefinition.externalParameters"],
      [(p) => (p.buildDefinition.internalParameters = "x"), "predicate.buildDefinition.internalParameters"],
      [
        (p) => (p.buildDefinition.resolvedDependencies = {}),
        "predicate.buildDefinition.resolvedDependencies",
      ],
      [
        (p) => (p.buildDefinition.resolvedDependencies[0] = { name: "x" }),
        "predicate.buildDefinition.resolvedDependencies[0]",
      ],
      [
        (p) => (p.buildDefinition.resolvedDependencies[0].digest.gitCommit = "7FD1"),
        "predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit",
      ],
      [(p) => (p.runDetails.builder.version = { runner: 2 }), "predicate.runDetails.builder.version.runner"],
      [
        (p) => (p.runDetails.builder.builderDependencies = [{}]),
        "predicate.runDetails.builder.builderDependencies[0]",
      ],
      [(p) => (p.runDetails.metadata.invocationId = 5), "predicate.runDetails.metadata.invocationId"],
      [(p) => (p.runDetails.byproducts = [{ uri: "nope" }]), "predicate.runDetails.byproducts[0].uri"],
      [(p) => (p.runDetails.metadata = []), "predicate.runDetails.metadata"],
    ];
    for (const [mutate, field] of cases) {
      const p = predicate();
      mutate(p);
      throwsField(() => parseProvenanceV1(p), field);
    }
  });

  test("timestamps are RFC 3339 in UTC (in-toto field_types.md Timestamp)", () => {
    for (const bad of [
      "2023-01-01 12:00:00Z",
      "2023-01-01T12:00:00+02:00",
      "2023-02-30T00:00:00Z",
      "yesterday",
      1672574400,
    ]) {
      const p = predicate();
      p.runDetails.metadata.startedOn = bad;
      throwsField(() => parseProvenanceV1(p), "predicate.runDetails.metadata.startedOn");
    }
  });

  test("finishedOn before startedOn is refused", () => {
    const p = predicate();
    p.runDetails.metadata.finishedOn = "2022-12-31T23:59:59Z";
    throwsField(() => parseProvenanceV1(p), "predicate.runDetails.metadata.finishedOn");
  });

  test("the prefix is configurable", () => {
    throwsField(() => parseProvenanceV1({}, undefined, ""), "buildDefinition");
  });
});

describe("parseProvenanceStatement", () => {
  const st = () => ({
    _type: STATEMENT_TYPE_V1,
    subject: [{ name: "hello", digest: { sha256: A } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: predicate(),
  });

  test("accepts a provenance statement", () => {
    const s = st();
    assert.equal(parseProvenanceStatement(s), s);
  });

  test("needs the v1 predicateType and a valid predicate", () => {
    throwsField(
      () => parseProvenanceStatement({ ...st(), predicateType: "https://slsa.dev/provenance/v0.2" }),
      "predicateType",
    );
    throwsField(() => parseProvenanceStatement({ ...st(), predicate: undefined }), "predicate");
    throwsField(() => parseProvenanceStatement({ ...st(), subject: [] }), "subject");
  });
});

describe("newProvenanceV1 and provenanceFromStep", () => {
  test("newProvenanceV1 writes only what is set, and ISO timestamps from Dates", () => {
    const p = newProvenanceV1({
      buildType: "https://e.com/bt/v1",
      builderId: "https://e.com/b",
      startedOn: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    });
    assert.deepEqual(p, {
      buildDefinition: { buildType: "https://e.com/bt/v1", externalParameters: {} },
      runDetails: { builder: { id: "https://e.com/b" }, metadata: { startedOn: "2024-01-02T03:04:05.000Z" } },
    });
    throwsField(
      () => newProvenanceV1({ buildType: "x", builderId: "https://e.com/b" }),
      "predicate.buildDefinition.buildType",
    );
  });

  test("a recorded step becomes a provenance statement", () => {
    const big = "x".repeat(2000);
    const link = newLink({
      name: "build",
      command: ["make", "all"],
      materials: { "src/main.c": { sha256: A } },
      products: { "bin/app": { sha256: A } },
      byproducts: { stdout: "ok\n", stderr: big, "return-value": 0 },
      environment: { workdir: "/w" },
    });
    const st = provenanceFromStep(link, {
      buildType: "https://e.com/bt/step/v1",
      builderId: "https://e.com/builder",
      invocationId: "run-1",
      startedOn: "2024-01-01T00:00:00Z",
      finishedOn: "2024-01-01T00:00:01Z",
    });
    assert.deepEqual(parseProvenanceStatement(JSON.parse(JSON.stringify(st))), st);
    assert.deepEqual(st.subject, [{ name: "bin/app", digest: { sha256: A } }]);
    const bd = st.predicate.buildDefinition;
    assert.deepEqual(bd.externalParameters, { name: "build", command: ["make", "all"] });
    assert.deepEqual(bd.internalParameters, { workdir: "/w" });
    assert.deepEqual(bd.resolvedDependencies, [{ name: "src/main.c", digest: { sha256: A } }]);
    assert.equal(st.predicate.runDetails.metadata?.invocationId, "run-1");
    const by = st.predicate.runDetails.byproducts ?? [];
    const stdout = by.find((b) => b.name === "stdout")!;
    assert.equal(Buffer.from(stdout.content!, "base64").toString(), "ok\n");
    assert.equal(stdout.digest?.sha256, createHash("sha256").update("ok\n").digest("hex"));
    const stderr = by.find((b) => b.name === "stderr")!;
    assert.equal(stderr.content, undefined, "over 1 KiB: digest only");
    assert.equal(stderr.digest?.sha256, createHash("sha256").update(big).digest("hex"));
    const rv = by.find((b) => b.name === "return-value")!;
    assert.equal(Buffer.from(rv.content!, "base64").toString(), "0");
  });

  test("a step without products is refused", () => {
    throwsField(
      () =>
        provenanceFromStep(newLink({ name: "t" }), {
          buildType: "https://e.com/bt",
          builderId: "https://e.com/b",
        }),
      "products",
    );
  });

  test("property: provenance from any step parses back unchanged", () => {
    const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
    const arts = fc.dictionary(fc.string({ minLength: 1 }), fc.record({ sha256: hex }), { maxKeys: 4 });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.array(fc.string()),
        arts,
        arts.filter((p) => Object.keys(p).length > 0),
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
        (name, command, materials, products, byproducts) => {
          const st = provenanceFromStep(
            { name, command, materials, products, byproducts },
            { buildType: "https://e.com/bt", builderId: "https://e.com/b" },
          );
          const text = JSON.stringify(st);
          assert.equal(JSON.stringify(parseProvenanceStatement(JSON.parse(text))), text);
        },
      ),
    );
  });
});
