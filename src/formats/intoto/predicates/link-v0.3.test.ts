// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../../core/errors.js";
import { type Link, newLink, parseLink } from "../link.js";
import { STATEMENT_TYPE_V1 } from "../statement.js";
import {
  LINK_PREDICATE_TYPE_V03,
  linkToStatement,
  parseLinkPredicateV03,
  parseLinkStatement,
  statementToLink,
} from "./link-v0.3.js";

const A = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const B = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

function throwsField(fn: () => unknown, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, "ERR_FIELD_INVALID");
    assert.equal(e.field, field);
    return true;
  });
}

// Shaped as the schema in link.md, section "Schema".
function linkStatement(over: Record<string, unknown> = {}, pred: Record<string, unknown> = {}) {
  return {
    _type: STATEMENT_TYPE_V1,
    subject: [{ name: "foo.tar.gz", digest: { sha256: A } }],
    predicateType: LINK_PREDICATE_TYPE_V03,
    predicate: {
      name: "package",
      command: ["tar", "czf", "foo.tar.gz", "foo.py"],
      materials: [{ name: "foo.py", digest: { sha256: B } }],
      byproducts: { "return-value": 0, stdout: "", stderr: "" },
      environment: {},
      ...pred,
    },
    ...over,
  };
}

describe("parseLinkStatement", () => {
  test("accepts the shape of link.md and returns the input", () => {
    const obj = linkStatement();
    assert.equal(parseLinkStatement(obj), obj);
  });

  test("link.md: command, materials, byproducts, environment are optional (null = unset)", () => {
    assert.ok(parseLinkStatement(linkStatement({ predicate: { name: "s" } })));
    assert.ok(
      parseLinkStatement(
        linkStatement({}, { command: null, materials: null, byproducts: null, environment: null }),
      ),
    );
  });

  test("requires the link v0.3 predicateType; the deprecated Link/* types are refused", () => {
    throwsField(
      () => parseLinkStatement(linkStatement({ predicateType: "https://in-toto.io/Link/v0.2" })),
      "predicateType",
    );
  });

  test("the predicate and its name are required", () => {
    const { predicate: _p, ...noPred } = linkStatement();
    throwsField(() => parseLinkStatement(noPred), "predicate");
    throwsField(() => parseLinkStatement(linkStatement({}, { name: undefined })), "predicate.name");
    throwsField(() => parseLinkStatement(linkStatement({}, { name: "" })), "predicate.name");
  });

  test("link.md: each material MUST set name and digest, names unique", () => {
    throwsField(
      () => parseLinkStatement(linkStatement({}, { materials: [{ uri: "pkg:x", digest: { sha256: B } }] })),
      "predicate.materials[0].name",
    );
    throwsField(
      () => parseLinkStatement(linkStatement({}, { materials: [{ name: "a", uri: "pkg:x" }] })),
      "predicate.materials[0].digest",
    );
    throwsField(
      () =>
        parseLinkStatement(
          linkStatement(
            {},
            {
              materials: [
                { name: "a", digest: { sha256: B } },
                { name: "a", digest: { sha256: A } },
              ],
            },
          ),
        ),
      "predicate.materials[1].name",
    );
    throwsField(
      () => parseLinkStatement(linkStatement({}, { materials: [{ name: "a", digest: { sha256: "BAD" } }] })),
      "predicate.materials[0].digest.sha256",
    );
  });

  test("link.md: subject names MUST be set and unique", () => {
    throwsField(
      () => parseLinkStatement(linkStatement({ subject: [{ digest: { sha256: A } }] })),
      "subject[0].name",
    );
    throwsField(
      () =>
        parseLinkStatement(
          linkStatement({
            subject: [
              { name: "x", digest: { sha256: A } },
              { name: "x", digest: { sha256: B } },
            ],
          }),
        ),
      "subject[1].name",
    );
  });

  test("field types inside the predicate", () => {
    throwsField(() => parseLinkStatement(linkStatement({}, { command: "make" })), "predicate.command");
    throwsField(
      () => parseLinkStatement(linkStatement({}, { command: ["make", 1] })),
      "predicate.command[1]",
    );
    throwsField(() => parseLinkStatement(linkStatement({}, { byproducts: [] })), "predicate.byproducts");
    throwsField(() => parseLinkStatement(linkStatement({}, { environment: "x" })), "predicate.environment");
  });

  test("parseLinkPredicateV03 alone", () => {
    assert.ok(parseLinkPredicateV03({ name: "build" }));
    throwsField(() => parseLinkPredicateV03([]), "predicate");
  });
});

describe("classic link <-> link v0.3 statement", () => {
  const classic = newLink({
    name: "package",
    command: ["tar", "czf", "foo.tar.gz", "foo.py"],
    materials: { "foo.py": { sha256: B } },
    products: { "foo.tar.gz": { sha256: A } },
    byproducts: { "return-value": 0, stdout: "", stderr: "" },
    environment: { workdir: "/src" },
  });

  test("products become subjects, materials become descriptors", () => {
    const st = linkToStatement(classic);
    assert.deepEqual(st, linkStatement({}, { environment: { workdir: "/src" } }));
    assert.ok(parseLinkStatement(JSON.parse(JSON.stringify(st))));
  });

  test("link.md 'Converting to old-style links' gives back the link", () => {
    assert.deepEqual(statementToLink(linkToStatement(classic)), classic);
    assert.deepEqual(parseLink(statementToLink(parseLinkStatement(linkStatement()))), {
      ...classic,
      environment: {},
    });
  });

  test("unset optional predicate fields become empty link fields", () => {
    const link = statementToLink(parseLinkStatement(linkStatement({ predicate: { name: "s" } })));
    assert.deepEqual(link, newLink({ name: "s", products: { "foo.tar.gz": { sha256: A } } }));
  });

  test("unknown link fields travel in the predicate and come back", () => {
    const link = { ...classic, x_custom: { a: 1 } } as Link;
    const st = linkToStatement(link);
    assert.deepEqual(st.predicate.x_custom, { a: 1 });
    assert.deepEqual(statementToLink(st), link);
  });

  test("a link without products cannot be a statement", () => {
    throwsField(() => linkToStatement(newLink({ name: "test" })), "products");
  });

  test("an artifact named __proto__ stays an entry (attacker-controlled names)", () => {
    const st = parseLinkStatement(
      JSON.parse(
        JSON.stringify(
          linkStatement(
            { subject: [{ name: "__proto__", digest: { sha256: A } }] },
            {
              materials: [{ name: "__proto__", digest: { sha256: B } }],
            },
          ),
        ),
      ),
    );
    const link = statementToLink(st);
    assert.equal(Object.getPrototypeOf(link.products), Object.prototype);
    assert.deepEqual(Object.keys(link.products), ["__proto__"]);
    assert.deepEqual(Object.getOwnPropertyDescriptor(link.materials, "__proto__")?.value, { sha256: B });
  });

  test("property: link -> statement -> JSON -> parse -> link is the identity", () => {
    const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
    const artifacts = fc.dictionary(fc.string({ minLength: 1 }), fc.record({ sha256: hex }), { maxKeys: 5 });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.array(fc.string()),
        artifacts,
        artifacts.filter((p) => Object.keys(p).length > 0),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (name, command, materials, products, environment) => {
          const link = newLink({ name, command, materials, products, environment });
          const back = statementToLink(parseLinkStatement(JSON.parse(JSON.stringify(linkToStatement(link)))));
          assert.deepEqual(back, JSON.parse(JSON.stringify(link)));
        },
      ),
    );
  });
});
