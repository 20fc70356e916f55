// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { CairnError } from "../../core/errors.js";
import {
  isTimestamp,
  newStatement,
  parseDigestSet,
  parseResourceDescriptor,
  parseStatement,
  STATEMENT_TYPE_V1,
  STATEMENT_TYPE_V01,
} from "./statement.js";
import { formatFieldPath, validateWith } from "./validate.js";

const SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function statement(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE_V1,
    subject: [{ name: "app.tar.gz", digest: { sha256: SHA256 } }],
    predicateType: "https://example.com/predicate/v1",
    predicate: { hello: "world" },
    ...over,
  };
}

/** Asserts `fn` throws ERR_FIELD_INVALID naming `field`. */
function throwsField(fn: () => unknown, field: string, file?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, `not a CairnError: ${String(e)}`);
    assert.equal(e.code, "ERR_FIELD_INVALID");
    assert.equal(e.category, "format");
    assert.equal(e.field, field);
    if (file !== undefined) assert.equal(e.file, file);
    return true;
  });
}

describe("parseStatement", () => {
  test("accepts a v1 statement and returns the same object, unknown fields kept", () => {
    const obj = statement({ x_vendor_ext: { a: [1, 2] } });
    (obj.subject as Record<string, unknown>[])[0]!.x_extra = true;
    const text = JSON.stringify(obj);
    const st = parseStatement(JSON.parse(text));
    assert.equal(st._type, STATEMENT_TYPE_V1);
    assert.equal(st.subject[0]!.digest.sha256, SHA256);
    assert.equal(JSON.stringify(st), text, "lossless: same keys, same order");
  });

  test("the same object is returned (no copy)", () => {
    const obj = statement();
    assert.equal(parseStatement(obj), obj);
  });

  test("accepts the legacy v0.1 _type and keeps it", () => {
    assert.equal(parseStatement(statement({ _type: STATEMENT_TYPE_V01 }))._type, STATEMENT_TYPE_V01);
  });

  test("refuses any other _type, including the v1.0 draft URI", () => {
    for (const t of [
      "https://in-toto.io/Statement/v1.0",
      "https://in-toto.io/Statement/v2",
      "",
      1,
      undefined,
    ]) {
      throwsField(() => parseStatement(statement({ _type: t })), "_type");
    }
  });

  test("statement.md: predicate is optional; when set it must be an object", () => {
    const { predicate: _p, ...rest } = statement();
    assert.equal(parseStatement(rest).predicate, undefined);
    throwsField(() => parseStatement(statement({ predicate: [1] })), "predicate");
    throwsField(() => parseStatement(statement({ predicate: "x" })), "predicate");
    throwsField(() => parseStatement(statement({ predicate: null })), "predicate");
  });

  test("predicateType is required and must be a URI with a lowercase scheme", () => {
    const { predicateType: _t, ...rest } = statement();
    throwsField(() => parseStatement(rest), "predicateType");
    throwsField(() => parseStatement(statement({ predicateType: "not a uri" })), "predicateType");
    throwsField(() => parseStatement(statement({ predicateType: "HTTPS://example.com/x" })), "predicateType");
    assert.ok(parseStatement(statement({ predicateType: "https://slsa.dev/provenance/v1" })));
  });

  test("subject must be a non-empty list", () => {
    throwsField(() => parseStatement(statement({ subject: [] })), "subject");
    throwsField(() => parseStatement(statement({ subject: {} })), "subject");
    const { subject: _s, ...rest } = statement();
    throwsField(() => parseStatement(rest), "subject");
  });

  test("statement.md: each subject MUST have digest set", () => {
    throwsField(
      () => parseStatement(statement({ subject: [{ name: "a", uri: "pkg:npm/a@1" }] })),
      "subject[0].digest",
    );
    throwsField(
      () =>
        parseStatement(
          statement({
            subject: [
              { name: "a", digest: { sha256: SHA256 } },
              { name: "b", digest: {} },
            ],
          }),
        ),
      "subject[1].digest",
    );
  });

  test("a bad digest value names the algorithm in the path", () => {
    throwsField(
      () => parseStatement(statement({ subject: [{ digest: { sha256: SHA256.toUpperCase() } }] })),
      "subject[0].digest.sha256",
    );
    throwsField(
      () => parseStatement(statement({ subject: [{ digest: { sha256: 7 } }] })),
      "subject[0].digest.sha256",
    );
    throwsField(
      () => parseStatement(statement({ subject: [{ digest: { "my alg": "" } }] })),
      'subject[0].digest["my alg"]',
    );
  });

  test("a non-object input is refused at the root, with the file name", () => {
    throwsField(() => parseStatement([], "att.json"), "$", "att.json");
    throwsField(() => parseStatement(null, "att.json"), "$", "att.json");
  });

  test("the file name is carried into the error", () => {
    throwsField(
      () => parseStatement(statement({ subject: [] }), "x.intoto.json"),
      "subject",
      "x.intoto.json",
    );
  });
});

describe("DigestSet (digest_set.md)", () => {
  test("known algorithms with their lowercase-hex lengths", () => {
    const ok: Record<string, number> = {
      sha256: 64,
      sha224: 56,
      sha384: 96,
      sha512: 128,
      sha512_224: 56,
      sha512_256: 64,
      sha3_256: 64,
      sha3_512: 128,
      sha1: 40,
      md5: 32,
      ripemd160: 40,
      sm3: 64,
      dirHash: 64,
      gitCommit: 40,
      gitTree: 64,
    };
    for (const [alg, len] of Object.entries(ok)) {
      assert.ok(parseDigestSet({ [alg]: "a".repeat(len) }), alg);
      throwsField(() => parseDigestSet({ [alg]: "a".repeat(len + 2) }), alg);
      throwsField(() => parseDigestSet({ [alg]: "A".repeat(len) }), alg);
      throwsField(() => parseDigestSet({ [alg]: `${"a".repeat(len - 1)}g` }), alg);
    }
  });

  test("gitCommit is 40 (SHA-1) or 64 (SHA-256) characters, nothing else", () => {
    assert.ok(parseDigestSet({ gitCommit: "0".repeat(40) }));
    assert.ok(parseDigestSet({ gitCommit: "0".repeat(64) }));
    throwsField(() => parseDigestSet({ gitCommit: "0".repeat(50) }), "gitCommit");
  });

  test("digest_set.md gitBlob example: the 5 bytes `Hello` hash to 5ab2f8a4...", () => {
    // digest_set.md, section "gitCommit, gitTree, gitBlob, gitTag": printf 'blob 5\0Hello' | sha1sum.
    const quoted = "5ab2f8a4323abafb10abb68657d9d39f1a775057";
    assert.equal(createHash("sha1").update("blob 5\0Hello").digest("hex"), quoted);
    assert.ok(parseDigestSet({ gitBlob: quoted }));
  });

  test("digest_set.md dirHash example value is accepted under both spellings the spec uses", () => {
    // digest_set.md, section "dirHash": {"dirHash1": "2a1bb612..."}.
    const v = "2a1bb6127fb481c60f67692e22285fb306f3c6ffe62075e0ccf674d7c3adcb8f";
    assert.ok(parseDigestSet({ dirHash1: v }));
    assert.ok(parseDigestSet({ dirHash: v }));
  });

  test("digest_set.md examples: unknown algorithms are allowed", () => {
    // digest_set.md, section "Examples": `{"somecoolhash": "abcd"}` uses a non-predefined algorithm.
    assert.ok(parseDigestSet({ somecoolhash: "abcd" }));
    assert.ok(parseDigestSet({ "sha-256-base64": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" }));
  });

  test("a digest set is one or more entries, each a non-empty string", () => {
    throwsField(() => parseDigestSet({}), "$");
    throwsField(() => parseDigestSet({ somecoolhash: "" }), "somecoolhash");
    throwsField(() => parseDigestSet({ "": "abcd" }), '[""]');
    throwsField(() => parseDigestSet(["abcd"]), "$");
  });

  test("field prefix is applied", () => {
    throwsField(
      () => parseDigestSet({ sha256: "ab" }, "f.json", "materials[2].digest"),
      "materials[2].digest.sha256",
    );
  });

  test("property: random lowercase hex of a listed length is accepted, any uppercase letter refused", () => {
    const lengths = { sha256: 64, sha512: 128, sha384: 96, sha1: 40 } as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(lengths) as (keyof typeof lengths)[])),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.nat(),
        (alg, bytes, at) => {
          const hex = Buffer.from(bytes).toString("hex").slice(0, lengths[alg]);
          assert.ok(parseDigestSet({ [alg]: hex }));
          const i = at % hex.length;
          const upper = `${hex.slice(0, i)}F${hex.slice(i + 1)}`;
          assert.throws(() => parseDigestSet({ [alg]: upper }));
        },
      ),
    );
  });
});

describe("ResourceDescriptor (resource_descriptor.md)", () => {
  test("the spec's Tekton TaskRun example is accepted", () => {
    // resource_descriptor.md, section "Examples", "Descriptor for Tekton TaskRun".
    const rd = {
      uri: "https://tekton.dev/TaskRun/check/result/report",
      digest: { sha256: "ec87961dbfe8e7d8a73890c602ac7bd407b80b9e31c326beb9110bdd255f12e6" },
      content:
        "eyAicmVzdWx0IjogIlNVQ0NFU1MiLCAidGltZXN0YW1wIjogIjE2Nzc4NzIyMzYiLCAic3VjY2Vzc2VzIjogMjIsICJmYWlsdXJlcyI6IDAsICJ3YXJuaW5ncyI6MCB9",
      mediaType: "application/json",
    };
    assert.equal(parseResourceDescriptor(rd), rd);
  });

  test("the spec's pointer-to-a-git-repo example (with annotations) is accepted", () => {
    // resource_descriptor.md, section "Examples", "Pointer to a git repo (with annotations)"; the
    // digest is abbreviated in the spec, so the test uses a full-length one.
    assert.ok(
      parseResourceDescriptor({
        uri: "git+https://github.com/actions/runner",
        digest: { sha1: "d61b27b8395512d61b27b8395512d61b27b83955" },
        annotations: { twoPartyReview: false },
      }),
    );
  });

  test("the spec's pointer-to-build-service example (uri only) is accepted", () => {
    assert.ok(parseResourceDescriptor({ uri: "https://cloudbuild.googleapis.com/GoogleHostedWorker@v1" }));
  });

  test("MUST specify one of uri, digest or content", () => {
    throwsField(() => parseResourceDescriptor({ name: "x", mediaType: "text/plain" }), "$");
    throwsField(() => parseResourceDescriptor({ name: "x", content: "" }), "$");
    assert.ok(parseResourceDescriptor({ content: "aGk=" }));
    assert.ok(parseResourceDescriptor({ digest: { sha256: SHA256 } }));
  });

  test("field types are checked", () => {
    throwsField(() => parseResourceDescriptor({ uri: "pkg:x", name: 1 }, undefined, "m[0]"), "m[0].name");
    throwsField(() => parseResourceDescriptor({ uri: "no scheme here" }), "uri");
    throwsField(() => parseResourceDescriptor({ uri: "pkg:x", downloadLocation: 5 }), "downloadLocation");
    throwsField(() => parseResourceDescriptor({ uri: "pkg:x", annotations: [] }), "annotations");
    throwsField(() => parseResourceDescriptor({ uri: "pkg:x", content: "!!notbase64" }), "content");
    throwsField(() => parseResourceDescriptor("pkg:x"), "$");
  });
});

describe("newStatement", () => {
  test("builds a v1 statement", () => {
    const st = newStatement([{ name: "a", digest: { sha256: SHA256 } }], "https://example.com/p/v1", {
      k: 1,
    });
    assert.deepEqual(st, {
      _type: STATEMENT_TYPE_V1,
      subject: [{ name: "a", digest: { sha256: SHA256 } }],
      predicateType: "https://example.com/p/v1",
      predicate: { k: 1 },
    });
    assert.deepEqual(parseStatement(JSON.parse(JSON.stringify(st))), st);
  });

  test("omits an undefined predicate", () => {
    const st = newStatement([{ digest: { sha256: SHA256 } }], "https://example.com/p/v1");
    assert.equal("predicate" in st, false);
  });

  test("refuses what parseStatement would refuse", () => {
    throwsField(() => newStatement([], "https://example.com/p/v1"), "subject");
    throwsField(
      () => newStatement([{ digest: { sha256: "xyz" } }], "https://example.com/p/v1"),
      "subject[0].digest.sha256",
    );
    throwsField(() => newStatement([{ digest: { sha256: SHA256 } }], "p"), "predicateType");
  });

  test("property: every generated statement parses back unchanged", () => {
    const hex = (n: number) =>
      fc.uint8Array({ minLength: n / 2, maxLength: n / 2 }).map((b) => Buffer.from(b).toString("hex"));
    const digest = fc.record({ sha256: hex(64) }, { requiredKeys: ["sha256"] });
    const subject = fc.record(
      { name: fc.string(), digest, annotations: fc.dictionary(fc.string(), fc.jsonValue()) },
      { requiredKeys: ["digest"] },
    );
    fc.assert(
      fc.property(
        fc.array(subject, { minLength: 1, maxLength: 5 }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (subs, pred) => {
          const st = newStatement(subs, "https://example.com/p/v1", pred);
          const text = JSON.stringify(st);
          assert.equal(JSON.stringify(parseStatement(JSON.parse(text))), text);
        },
      ),
    );
  });
});

describe("isTimestamp (field_types.md Timestamp)", () => {
  test("the spec's example and RFC 3339 variants", () => {
    // field_types.md, section "Timestamp", example "1985-04-12T23:20:50.52Z".
    assert.ok(isTimestamp("1985-04-12T23:20:50.52Z"));
    assert.ok(isTimestamp("2024-02-29T00:00:00Z"));
    assert.ok(isTimestamp("2024-01-01t00:00:00z"), "RFC 3339 5.6 NOTE: T and Z may be lowercase");
    assert.ok(isTimestamp("2016-12-31T23:59:60Z"), "RFC 3339 5.7: leap second");
  });

  test("refuses non-UTC, impossible dates and other formats", () => {
    for (const s of [
      "1985-04-12T23:20:50+01:00",
      "1985-04-12T23:20:50",
      "1985-04-12 23:20:50Z",
      "2023-02-29T00:00:00Z",
      "1900-02-29T00:00:00Z",
      "2023-04-31T00:00:00Z",
      "2023-13-01T00:00:00Z",
      "2023-01-01T24:00:00Z",
      "2023-01-01T23:60:00Z",
      "2023-01-01T23:00Z",
      "20230101T000000Z",
      "",
    ]) {
      assert.equal(isTimestamp(s), false, s);
    }
  });
});

describe("validate.ts", () => {
  test("formatFieldPath", () => {
    assert.equal(formatFieldPath([]), "$");
    assert.equal(formatFieldPath(["subject", 0, "digest", "sha256"]), "subject[0].digest.sha256");
    assert.equal(formatFieldPath([0, "a"]), "[0].a");
    assert.equal(formatFieldPath(["materials", "src/a.c"]), 'materials["src/a.c"]');
    assert.equal(formatFieldPath(["uri"], "predicate.materials[1]"), "predicate.materials[1].uri");
    assert.equal(formatFieldPath([2], "subject"), "subject[2]");
  });

  test("a union failure reports the branch that got furthest", () => {
    const schema = z.object({ a: z.union([z.string(), z.object({ b: z.number() })]) });
    throwsField(() => validateWith(schema, { a: { b: "x" } }), "a.b");
  });

  test("more problems are counted in the message", () => {
    assert.throws(
      () => validateWith(z.object({ a: z.string(), b: z.string() }), {}),
      (e: unknown) => e instanceof CairnError && e.field === "a" && /1 more problem/.test(e.message),
    );
  });
});
