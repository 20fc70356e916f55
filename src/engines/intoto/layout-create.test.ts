// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { cairnError } from "../../core/errors.js";
import type { PublicKey } from "../../core/keys.js";
import { KeyRing, keySigner } from "../../core/signer.js";
import { parseSignedDocument, verifySignedDocument } from "../../formats/intoto/metablock.js";
import { testKey } from "../../testing/intoto.js";
import { addLayoutSignatures, buildLayout, parseExpiry, signLayout } from "./layout-create.js";

const bob = testKey("bob");
const carol = testKey("carol", "ecdsa");
const now = new Date("2026-11-25T12:00:00Z");
const keys: Record<string, PublicKey> = { "bob.pub": bob.public, "carol.pub": carol.public };
const resolve = (ref: string, field: string): PublicKey => {
  const k = keys[ref];
  if (!k) throw cairnError("ERR_NOT_FOUND", "no such key", { field });
  return k;
};

const desc = () => ({
  expires: "30d",
  readme: "demo",
  keys: { bob: "bob.pub", carol: "carol.pub" },
  steps: [
    {
      name: "clone",
      functionaries: ["bob"],
      expected_command: "git clone x",
      expected_products: ["CREATE foo.py", "DISALLOW *"],
    },
    {
      name: "package",
      functionaries: ["carol", "bob"],
      threshold: 2,
      expected_materials: [
        "MATCH foo.py WITH PRODUCTS FROM clone",
        ["ALLOW", "name with space"],
        "DISALLOW *",
      ],
    },
  ],
  inspect: [
    {
      name: "untar",
      run: ["tar", "xf", "x.tar"],
      expected_materials: ["MATCH x.tar WITH PRODUCTS FROM package"],
    },
  ],
});

describe("buildLayout", () => {
  it("builds a layout with key ids, rules as lists, and the expiry computed from a duration", () => {
    const l = buildLayout(desc(), resolve, now);
    assert.equal(l.expires, "2026-12-25T12:00:00Z");
    assert.deepEqual(Object.keys(l.keys).sort(), [bob.public.keyid, carol.public.keyid].sort());
    assert.deepEqual(l.steps[0]!.expected_command, ["git", "clone", "x"]);
    assert.deepEqual(l.steps[0]!.expected_products, [
      ["CREATE", "foo.py"],
      ["DISALLOW", "*"],
    ]);
    assert.deepEqual(l.steps[1]!.pubkeys, [carol.public.keyid, bob.public.keyid]);
    assert.deepEqual(l.steps[1]!.expected_materials[1], ["ALLOW", "name with space"]);
    assert.deepEqual(l.inspect[0]!.expected_materials[0], [
      "MATCH",
      "x.tar",
      "WITH",
      "PRODUCTS",
      "FROM",
      "package",
    ]);
  });

  const bad: Array<[string, (d: ReturnType<typeof desc>) => unknown, string, string]> = [
    [
      "unknown functionary",
      (d) => {
        d.steps[0]!.functionaries = ["mallory"];
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[0].functionaries[0]",
    ],
    [
      "malformed rule",
      (d) => {
        d.steps[0]!.expected_products = ["MATCH foo.py FROM clone"];
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[0].expected_products[0]",
    ],
    [
      "unknown rule",
      (d) => {
        d.steps[0]!.expected_products = ["PERMIT *"];
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[0].expected_products[0]",
    ],
    ["unknown field", (d) => ({ ...d, step: [] }), "ERR_FIELD_INVALID", "step"],
    [
      "unknown step field",
      (d) => {
        (d.steps[0] as Record<string, unknown>).treshold = 2;
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[0].treshold",
    ],
    ["bad expiry", (d) => ({ ...d, expires: "tomorrow" }), "ERR_FIELD_INVALID", "expires"],
    [
      "zero threshold",
      (d) => {
        d.steps[1]!.threshold = 0;
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[1].threshold",
    ],
    [
      "duplicate step name",
      (d) => {
        d.steps[1]!.name = "clone";
        return d;
      },
      "ERR_FIELD_INVALID",
      "steps[1].name",
    ],
    [
      "same key twice",
      (d) => ({ ...d, keys: { bob: "bob.pub", bob2: "bob.pub" } }),
      "ERR_KEY_DUPLICATE",
      "keys.bob2",
    ],
    ["missing key file", (d) => ({ ...d, keys: { bob: "nope.pub" } }), "ERR_NOT_FOUND", "keys.bob"],
    [
      "inspection without command",
      (d) => {
        d.inspect[0]!.run = [];
        return d;
      },
      "ERR_FIELD_INVALID",
      "inspect[0].run",
    ],
    ["steps not a list", (d) => ({ ...d, steps: {} }), "ERR_FIELD_INVALID", "steps"],
  ];
  for (const [name, mutate, code, field] of bad) {
    it(`refuses ${name}, naming ${field}`, () => {
      assert.throws(
        () => buildLayout(mutate(desc()), resolve, now),
        (e: { code: string; field: string }) => {
          assert.equal(e.code, code);
          assert.equal(e.field, field);
          return true;
        },
      );
    });
  }

  it("parses durations and absolute times", () => {
    assert.equal(parseExpiry("2030-01-01T00:00:00Z", now), "2030-01-01T00:00:00Z");
    assert.equal(parseExpiry("1y", now), "2027-11-25T12:00:00Z");
    assert.equal(parseExpiry("6 months", now), "2027-05-25T12:00:00Z");
    assert.equal(parseExpiry("2w", now), "2026-12-09T12:00:00Z");
    assert.throws(() => parseExpiry("2030-01-01", now), { code: "ERR_FIELD_INVALID" });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3650 }), (n) => {
        const e = new Date(parseExpiry(`${n}d`, now));
        return e.getTime() - now.getTime() === n * 86_400_000;
      }),
    );
  });

  it("signs with several owners, in turn, in both forms", async () => {
    const l = buildLayout(desc(), resolve, now);
    const owner1 = testKey("owner");
    const owner2 = testKey("owner2", "rsa");
    for (const format of ["metablock", "dsse"] as const) {
      const one = parseSignedDocument(await signLayout(l, [keySigner(owner1)], format));
      const both = parseSignedDocument(await addLayoutSignatures(one, [keySigner(owner2)]));
      const v = verifySignedDocument(both, new KeyRing([owner1.public, owner2.public]), 2);
      assert.deepEqual(v.keyids.sort(), [owner1.public.keyid, owner2.public.keyid].sort());
      assert.throws(() => verifySignedDocument(one, new KeyRing([owner1.public, owner2.public]), 2));
    }
  });
});
