// SPDX-License-Identifier: Apache-2.0
// Delegations: the PATHPATTERN examples of TUF 4.5, hash prefixes, the TAP 15 bin naming, and the
// order in which a client must consider delegated roles (TUF 4.5 prioritized delegations, 5.6.7.2).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type DelegatedRole,
  type Delegations,
  findDelegatedRole,
  isDelegatedPath,
  matchesHashPrefixes,
  matchesPathPattern,
  rolesForTarget,
  SuccinctRoles,
  targetPathHash,
} from "./index.js";

describe("TUF 4.5 PATHPATTERN", () => {
  // The four examples of TUF 4.5 "paths", quoted.
  it('"targets/*.tgz" matches "targets/foo.tgz" and "targets/bar.tgz", not "targets/foo.txt"', () => {
    assert.equal(matchesPathPattern("targets/foo.tgz", "targets/*.tgz"), true);
    assert.equal(matchesPathPattern("targets/bar.tgz", "targets/*.tgz"), true);
    assert.equal(matchesPathPattern("targets/foo.txt", "targets/*.tgz"), false);
  });
  it('"foo-version-?.tgz" matches "foo-version-2.tgz" and "foo-version-a.tgz", not "foo-version-alpha.tgz"', () => {
    assert.equal(matchesPathPattern("foo-version-2.tgz", "foo-version-?.tgz"), true);
    assert.equal(matchesPathPattern("foo-version-a.tgz", "foo-version-?.tgz"), true);
    assert.equal(matchesPathPattern("foo-version-alpha.tgz", "foo-version-?.tgz"), false);
  });
  it('"*.tgz" matches "foo.tgz" and "bar.tgz" but not "targets/foo.tgz"', () => {
    assert.equal(matchesPathPattern("foo.tgz", "*.tgz"), true);
    assert.equal(matchesPathPattern("bar.tgz", "*.tgz"), true);
    assert.equal(matchesPathPattern("targets/foo.tgz", "*.tgz"), false);
  });
  it('"foo.tgz" matches only "foo.tgz"', () => {
    assert.equal(matchesPathPattern("foo.tgz", "foo.tgz"), true);
    assert.equal(matchesPathPattern("foo.tgzz", "foo.tgz"), false);
    assert.equal(matchesPathPattern("a/foo.tgz", "foo.tgz"), false);
  });

  it("a wildcard never matches a directory separator", () => {
    assert.equal(matchesPathPattern("a/b", "*"), false);
    assert.equal(matchesPathPattern("a/b", "a?b"), false);
    assert.equal(matchesPathPattern("a/b/c", "a/*"), false);
    assert.equal(matchesPathPattern("a/b/c", "a/*/c"), true);
    assert.equal(matchesPathPattern("a/b/c", "*/*/*"), true);
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(matchesPathPattern(`${a.replace(/\//g, "")}/${b.replace(/\//g, "")}`, "*"), false);
      }),
    );
  });

  it("character classes and literal dots, as Python's fnmatch (the reference's matcher)", () => {
    assert.equal(matchesPathPattern("file1.txt", "file[0-9].txt"), true);
    assert.equal(matchesPathPattern("filea.txt", "file[!a].txt"), false);
    assert.equal(matchesPathPattern("fileXtxt", "file.txt"), false);
    assert.equal(matchesPathPattern(".hidden", "*"), true);
    // Case-sensitive on every platform.
    assert.equal(matchesPathPattern("FOO.tgz", "foo.tgz"), false);
  });
});

describe("TUF 4.5 path_hash_prefixes", () => {
  it("matches on the SHA-256 hex digest of the path", () => {
    const h = createHash("sha256").update("project/file3.txt").digest("hex");
    assert.equal(targetPathHash("project/file3.txt"), h);
    assert.equal(matchesHashPrefixes("project/file3.txt", [h.slice(0, 2)]), true);
    assert.equal(matchesHashPrefixes("project/file3.txt", ["zz", h.slice(0, 1)]), true);
    const other = h[0] === "0" ? "1" : "0";
    assert.equal(matchesHashPrefixes("project/file3.txt", [other]), false);
    assert.equal(matchesHashPrefixes("project/file3.txt", []), false);
  });

  it("a role with neither paths nor prefixes delegates nothing", () => {
    const r: DelegatedRole = { name: "r", keyids: [], threshold: 1 };
    assert.equal(isDelegatedPath(r, "anything"), false);
  });
});

describe("TAP 15 succinct hashed bins", () => {
  it("bin i holds the paths whose hash starts with the bit_length bits of i (TAP 15, bit_length 3)", () => {
    const s = new SuccinctRoles({ keyids: [], threshold: 1, bit_length: 3, name_prefix: "alice.hbd" });
    assert.equal(s.numberOfBins, 8);
    assert.deepEqual(
      [...s.roleNames()],
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `alice.hbd-${i}`),
    );
    fc.assert(
      fc.property(fc.string(), (path) => {
        const first = Number.parseInt(targetPathHash(path).slice(0, 2), 16);
        assert.equal(s.binIndexFor(path), first >> 5);
        assert.equal(s.roleForTarget(path), `alice.hbd-${first >> 5}`);
      }),
    );
  });

  it("names PyPI's 16,384 bins (PEP 458, bit_length 14) bins-0000 .. bins-3fff", () => {
    const s = new SuccinctRoles({ keyids: [], threshold: 1, bit_length: 14, name_prefix: "bins" });
    assert.equal(s.suffixLength, 4);
    assert.equal(s.roleName(0), "bins-0000");
    assert.equal(s.roleName(16_383), "bins-3fff");
    const h = targetPathHash("packages/foo-1.0.tar.gz");
    const bin = Number.parseInt(h.slice(0, 4), 16) >> 2;
    assert.equal(s.roleForTarget("packages/foo-1.0.tar.gz"), `bins-${bin.toString(16).padStart(4, "0")}`);
  });

  it("bit_length 32: the whole first four bytes", () => {
    const s = new SuccinctRoles({ keyids: [], threshold: 1, bit_length: 32, name_prefix: "b" });
    assert.equal(s.roleForTarget("x"), `b-${targetPathHash("x").slice(0, 8)}`);
    assert.equal(s.isDelegatedRole("b-ffffffff"), true);
  });

  it("only the exact bin names are bins", () => {
    const s = new SuccinctRoles({ keyids: [], threshold: 1, bit_length: 8, name_prefix: "bins" });
    assert.equal(s.binIndexOf("bins-0a"), 10);
    for (const name of [
      "bins-a",
      "bins-0A",
      "bins-100",
      "bins-000a",
      "bins0a",
      "bin-0a",
      "bins--1",
      "bins-0x",
    ]) {
      assert.equal(s.isDelegatedRole(name), false, name);
    }
  });
});

describe("role lookup order (TUF 4.5 prioritized delegations, 5.6.7.2)", () => {
  const d: Delegations = {
    keys: {},
    roles: [
      { name: "first", keyids: ["a"], threshold: 1, paths: ["pkg/*"] },
      { name: "other", keyids: ["a"], threshold: 1, paths: ["lib/*"] },
      { name: "second", keyids: ["b"], threshold: 2, terminating: true, paths: ["pkg/a-*"] },
      {
        name: "third",
        keyids: ["c"],
        threshold: 1,
        path_hash_prefixes: [targetPathHash("pkg/a-1").slice(0, 3)],
      },
    ],
  };

  it("lists every role trusted for the path, in order of appearance, with its terminating flag", () => {
    assert.deepEqual(rolesForTarget(d, "pkg/a-1"), [
      { name: "first", terminating: false },
      { name: "second", terminating: true },
      { name: "third", terminating: false },
    ]);
    assert.deepEqual(rolesForTarget(d, "lib/x"), [{ name: "other", terminating: false }]);
    assert.deepEqual(rolesForTarget(d, "elsewhere"), []);
  });

  it("succinct bins are one non-terminating role per path (TAP 15)", () => {
    const s: Delegations = {
      keys: {},
      succinct_roles: { keyids: ["k"], threshold: 1, bit_length: 5, name_prefix: "b" },
    };
    const name = new SuccinctRoles(s.succinct_roles!).roleForTarget("x/y");
    assert.deepEqual(rolesForTarget(s, "x/y"), [{ name, terminating: false }]);
    assert.deepEqual(findDelegatedRole(s, name), { name, keyids: ["k"], threshold: 1, terminating: false });
    assert.equal(findDelegatedRole(s, "b-40"), undefined);
  });

  it("finds roles by name, never through the prototype", () => {
    assert.equal(findDelegatedRole(d, "second")?.threshold, 2);
    assert.equal(findDelegatedRole(d, "constructor"), undefined);
    assert.equal(findDelegatedRole(d, "nobody"), undefined);
  });

  it("looks up one of 16,384 roles by name in constant time after one pass", () => {
    const roles: DelegatedRole[] = [];
    for (let i = 0; i < 16_384; i++) {
      roles.push({
        name: `bins-${i.toString(16).padStart(4, "0")}`,
        keyids: ["k"],
        threshold: 1,
        path_hash_prefixes: [],
      });
    }
    let reads = 0;
    const counting = roles.map(
      (r) =>
        new Proxy(r, {
          get(t, p, rcv) {
            reads++;
            return Reflect.get(t, p, rcv);
          },
        }),
    );
    const big: Delegations = { keys: {}, roles: counting };
    for (let i = 0; i < 16_384; i += 97)
      assert.ok(findDelegatedRole(big, `bins-${i.toString(16).padStart(4, "0")}`));
    // One read of each role's name to build the index, then a handful per lookup.
    assert.ok(reads < 16_384 * 2 + 200 * 5, `${reads} reads`);
  });
});
