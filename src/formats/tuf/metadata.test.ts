// SPDX-License-Identifier: Apache-2.0
// TUF metadata models: the examples of the specification (1.0.34, section 4) parse; every field
// check refuses with ERR_TUF_METADATA_INVALID naming the field; bounds refuse with
// ERR_TUF_BOUND_EXCEEDED; round trips through both serializations are lossless (fast-check).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalBytes } from "../../core/canonical.js";
import { canonicalSignedFromMetablockBytes, scanCanonicalJson } from "../../core/canonical-bytes.js";
import {
  checkNotExpired,
  getMeta,
  getTarget,
  isExpired,
  newTargets,
  parseDateTime,
  parseMetadata,
  parseMetadataBytes,
  parseSigned,
  type RoleType,
  type Snapshot,
  serializeCanonical,
  serializeCompact,
  serializePretty,
  setTarget,
  snapshotRollback,
  tufLimits,
} from "./index.js";
import { checkMetaFile, PLAIN_META_ENTRY_FOR_TESTS, rawSignedBytes } from "./metadata.js";

// --- examples quoted from the TUF specification 1.0.34 -------------------------------------------
// (theupdateframework.github.io/specification, section 4). The wrapped "sig" values of the spec are
// joined; they are illustrations, not signatures by the listed keys.

/** TUF 4.3 "File formats: root.json", example root.json (signed part). */
const SPEC_ROOT_SIGNED = {
  _type: "root",
  spec_version: "1.0.0",
  consistent_snapshot: false,
  expires: "2030-01-01T00:00:00Z",
  keys: {
    "1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3": {
      keytype: "ed25519",
      scheme: "ed25519",
      keyval: { public: "72378e5bc588793e58f81c8533da64a2e8f1565c1fcc7f253496394ffc52542c" },
    },
    "135c2f50e57ff11e744d234a62cebad8c38daf399604a7655661cc9199c69164": {
      keytype: "ed25519",
      scheme: "ed25519",
      keyval: { public: "68ead6e54a43f8f36f9717b10669d1ef0ebb38cee6b05317669341309f1069cb" },
    },
    cb3fbd83df4ba2471a736b065650878280964a98843ec13b457a99b2a21cc3b4: {
      keytype: "ed25519",
      scheme: "ed25519",
      keyval: { public: "66dd78c5c2a78abc6fc6b267ff1a8017ba0e8bfc853dd97af351949bba021275" },
    },
    "66676daa73bdfb4804b56070c8927ae491e2a6c2314f05b854dea94de8ff6bfc": {
      keytype: "ed25519",
      scheme: "ed25519",
      keyval: { public: "01c61f8dc7d77fcef973f4267927541e355e8ceda757e2c402818dad850f856e" },
    },
  },
  roles: {
    root: { keyids: ["cb3fbd83df4ba2471a736b065650878280964a98843ec13b457a99b2a21cc3b4"], threshold: 1 },
    snapshot: { keyids: ["66676daa73bdfb4804b56070c8927ae491e2a6c2314f05b854dea94de8ff6bfc"], threshold: 1 },
    targets: { keyids: ["135c2f50e57ff11e744d234a62cebad8c38daf399604a7655661cc9199c69164"], threshold: 1 },
    timestamp: { keyids: ["1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3"], threshold: 1 },
  },
  version: 1,
};
const SPEC_ROOT = {
  signatures: [
    {
      keyid: "cb3fbd83df4ba2471a736b065650878280964a98843ec13b457a99b2a21cc3b4",
      sig: "a312b9c3cb4a1b693e8ebac5ee1ca9cc01f2661c14391917dcb111517f72370809f32c890c6b801e30158ac4efe0d4d87317223077784c7a378834249d048306",
    },
  ],
  signed: SPEC_ROOT_SIGNED,
};

/** TUF 4.4 "File formats: snapshot.json", example snapshot.json. */
const SPEC_SNAPSHOT = {
  signatures: [
    {
      keyid: "66676daa73bdfb4804b56070c8927ae491e2a6c2314f05b854dea94de8ff6bfc",
      sig: "f7f03b13e3f4a78a23561419fc0dd741a637e49ee671251be9f8f3fceedfc112e44ee3aaff2278fad9164ab039118d4dc53f22f94900dae9a147aa4d35dcfc0f",
    },
  ],
  signed: {
    _type: "snapshot",
    spec_version: "1.0.0",
    expires: "2030-01-01T00:00:00Z",
    meta: {
      "targets.json": { version: 1 },
      "project1.json": {
        version: 1,
        hashes: { sha256: "f592d072e1193688a686267e8e10d7257b4ebfcf28133350dae88362d82a0c8a" },
      },
      "project2.json": {
        version: 1,
        length: 604,
        hashes: { sha256: "1f812e378264c3085bb69ec5f6663ed21e5882bbece3c3f8a0e8479f205ffb91" },
      },
    },
    version: 1,
  },
};

/** TUF 4.5 "File formats: targets.json and delegated target roles", example targets.json. */
const SPEC_TARGETS = {
  signatures: [
    {
      keyid: "135c2f50e57ff11e744d234a62cebad8c38daf399604a7655661cc9199c69164",
      sig: "e9fd40008fba263758a3ff1dc59f93e42a4910a282749af915fbbea1401178e5a012090c228f06db1deb75ad8ddd7e40635ac51d4b04301fce0fd720074e0209",
    },
  ],
  signed: {
    _type: "targets",
    spec_version: "1.0.0",
    delegations: {
      keys: {
        f761033eb880143c52358d941d987ca5577675090e2215e856ba0099bc0ce4f6: {
          keytype: "ed25519",
          scheme: "ed25519",
          keyval: { public: "b6e40fb71a6041212a3d84331336ecaa1f48a0c523f80ccc762a034c727606fa" },
        },
      },
      roles: [
        {
          keyids: ["f761033eb880143c52358d941d987ca5577675090e2215e856ba0099bc0ce4f6"],
          name: "project",
          paths: ["project/file3.txt"],
          threshold: 1,
        },
      ],
    },
    expires: "2030-01-01T00:00:00Z",
    targets: {
      "file1.txt": {
        hashes: { sha256: "65b8c67f51c993d898250f40aa57a317d854900b3a04895464313e48785440da" },
        length: 31,
      },
      "dir/file2.txt": {
        hashes: { sha256: "452ce8308500d83ef44248d8e6062359211992fd837ea9e370e561efb1a4ca99" },
        length: 39,
      },
    },
    version: 1,
  },
};

/** TUF 4.6 "File formats: timestamp.json", example timestamp.json. */
const SPEC_TIMESTAMP = {
  signatures: [
    {
      keyid: "1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3",
      sig: "90d2a06c7a6c2a6a93a9f5771eb2e5ce0c93dd580bebc2080d10894623cfd6eaedf4df84891d5aa37ace3ae3736a698e082e12c300dfe5aee92ea33a8f461f02",
    },
  ],
  signed: {
    _type: "timestamp",
    spec_version: "1.0.0",
    expires: "2030-01-01T00:00:00Z",
    meta: {
      "snapshot.json": {
        hashes: { sha256: "c14aeb4ac9f4a8fc0d83d12482b9197452f6adf3eb710e3b1e2b79e8d14cb681" },
        length: 1007,
        version: 1,
      },
    },
    version: 1,
  },
};

const clone = <T>(v: T): T => structuredClone(v);
// biome-ignore lint/suspicious/noExplicitAny: the tests mutate untyped JSON documents freely
type Json = any;

/** Parses `doc` after `mutate` and returns the error's code and field. */
function refusal(role: RoleType, doc: unknown, mutate: (d: Json) => void): { code: string; field?: string } {
  const d = clone(doc);
  mutate(d);
  try {
    parseMetadata(d, role);
  } catch (e) {
    const err = e as { code: string; field?: string };
    return err.field === undefined ? { code: err.code } : { code: err.code, field: err.field };
  }
  assert.fail("expected a refusal");
}

const INVALID = "ERR_TUF_METADATA_INVALID";
const BOUND = "ERR_TUF_BOUND_EXCEEDED";

describe("TUF 4: the specification's examples", () => {
  it("parse as their roles and come back as the very same objects", () => {
    for (const [role, doc] of [
      ["root", SPEC_ROOT],
      ["snapshot", SPEC_SNAPSHOT],
      ["targets", SPEC_TARGETS],
      ["timestamp", SPEC_TIMESTAMP],
    ] as const) {
      const md = parseMetadata(doc, role);
      assert.equal(md, doc);
      assert.equal(md.signed._type, role);
    }
  });

  it("read entries by name, own properties only", () => {
    const t = parseMetadata(clone(SPEC_TARGETS), "targets").signed;
    assert.equal(getTarget(t, "dir/file2.txt")?.length, 39);
    assert.equal(getTarget(t, "constructor"), undefined);
    assert.equal(getTarget(t, "__proto__"), undefined);
    const s = parseMetadata(clone(SPEC_SNAPSHOT), "snapshot").signed;
    assert.equal(getMeta(s, "project2.json")?.length, 604);
    assert.equal(getMeta(s, "toString"), undefined);
  });

  it("a delegated role without terminating (as in the 4.5 example) parses", () => {
    const t = parseMetadata(clone(SPEC_TARGETS), "targets").signed;
    assert.equal(t.delegations?.roles?.[0]?.terminating, undefined);
  });
});

describe("TUF 4: every field check names the field", () => {
  const cases: Array<[string, RoleType, unknown, (d: Json) => void, string, string?]> = [
    ["not an object", "root", SPEC_ROOT, (d) => (d.signed = []), INVALID, "signed"],
    ["signatures not a list", "root", SPEC_ROOT, (d) => (d.signatures = {}), INVALID, "signatures"],
    [
      "signature without sig",
      "root",
      SPEC_ROOT,
      (d) => delete d.signatures[0].sig,
      INVALID,
      "signatures[0].sig",
    ],
    [
      "signature keyid not a string",
      "root",
      SPEC_ROOT,
      (d) => (d.signatures[0].keyid = 1),
      INVALID,
      "signatures[0].keyid",
    ],
    [
      "the same keyid signing twice (TUF 4.2)",
      "root",
      SPEC_ROOT,
      (d) => d.signatures.push({ ...d.signatures[0] }),
      INVALID,
      "signatures[1].keyid",
    ],
    ["_type of another role", "root", SPEC_TIMESTAMP, () => {}, INVALID, "signed._type"],
    ["_type missing", "snapshot", SPEC_SNAPSHOT, (d) => delete d.signed._type, INVALID, "signed._type"],
    [
      "spec_version 2.0.0",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.spec_version = "2.0.0"),
      INVALID,
      "signed.spec_version",
    ],
    [
      "spec_version not semver",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.spec_version = "1"),
      INVALID,
      "signed.spec_version",
    ],
    [
      "spec_version a number",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.spec_version = 1),
      INVALID,
      "signed.spec_version",
    ],
    ["version 0", "timestamp", SPEC_TIMESTAMP, (d) => (d.signed.version = 0), INVALID, "signed.version"],
    ["version negative", "targets", SPEC_TARGETS, (d) => (d.signed.version = -3), INVALID, "signed.version"],
    ["version a float", "targets", SPEC_TARGETS, (d) => (d.signed.version = 1.5), INVALID, "signed.version"],
    ["version a string", "targets", SPEC_TARGETS, (d) => (d.signed.version = "1"), INVALID, "signed.version"],
    [
      "version beyond 2^53",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.version = 2 ** 60),
      INVALID,
      "signed.version",
    ],
    [
      "expires with an offset",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.expires = "2030-01-01T00:00:00+00:00"),
      INVALID,
      "signed.expires",
    ],
    [
      "expires with fractions",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.expires = "2030-01-01T00:00:00.5Z"),
      INVALID,
      "signed.expires",
    ],
    [
      "expires on February 30",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.expires = "2030-02-30T00:00:00Z"),
      INVALID,
      "signed.expires",
    ],
    [
      "expires a date only",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.expires = "2030-01-01"),
      INVALID,
      "signed.expires",
    ],
    [
      "consistent_snapshot not a boolean",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.consistent_snapshot = "yes"),
      INVALID,
      "signed.consistent_snapshot",
    ],
    [
      "root without the timestamp role",
      "root",
      SPEC_ROOT,
      (d) => delete d.signed.roles.timestamp,
      INVALID,
      "signed.roles.timestamp",
    ],
    [
      "root with an unknown role",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.roles.bins = d.signed.roles.root),
      INVALID,
      "signed.roles.bins",
    ],
    [
      "root threshold 0",
      "root",
      SPEC_ROOT,
      (d) => (d.signed.roles.root.threshold = 0),
      INVALID,
      "signed.roles.root.threshold",
    ],
    [
      "root role listing a key id twice",
      "root",
      SPEC_ROOT,
      (d) => d.signed.roles.snapshot.keyids.push(d.signed.roles.snapshot.keyids[0]),
      INVALID,
      "signed.roles.snapshot.keyids[1]",
    ],
    [
      "a key without keyval",
      "root",
      SPEC_ROOT,
      (d) => delete d.signed.keys.cb3fbd83df4ba2471a736b065650878280964a98843ec13b457a99b2a21cc3b4.keyval,
      INVALID,
      "signed.keys.cb3fbd83df4ba2471a736b065650878280964a98843ec13b457a99b2a21cc3b4.keyval",
    ],
    [
      "a key whose scheme is not a string",
      "root",
      SPEC_ROOT,
      (d) =>
        (d.signed.keys["1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3"].scheme = null),
      INVALID,
      'signed.keys["1bf1c6e3cdd3d3a8420b19199e27511999850f4b376c4547b2f32fba7e80fca3"].scheme',
    ],
    [
      "a target without length",
      "targets",
      SPEC_TARGETS,
      (d) => delete d.signed.targets["dir/file2.txt"].length,
      INVALID,
      'signed.targets["dir/file2.txt"].length',
    ],
    [
      "a target with a negative length",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.targets["file1.txt"].length = -1),
      INVALID,
      'signed.targets["file1.txt"].length',
    ],
    [
      "a target with no hashes",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.targets["file1.txt"].hashes = {}),
      INVALID,
      'signed.targets["file1.txt"].hashes',
    ],
    [
      "a target hash that is not hex",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.targets["file1.txt"].hashes.sha256 = "zz"),
      INVALID,
      'signed.targets["file1.txt"].hashes.sha256',
    ],
    [
      "custom that is not an object",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.targets["file1.txt"].custom = [1]),
      INVALID,
      'signed.targets["file1.txt"].custom',
    ],
    [
      "targets not an object",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.targets = []),
      INVALID,
      "signed.targets",
    ],
    [
      "a delegation with paths and path_hash_prefixes",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.delegations.roles[0].path_hash_prefixes = ["ab"]),
      INVALID,
      "signed.delegations.roles[0].path_hash_prefixes",
    ],
    [
      "a delegation path that is not a string",
      "targets",
      SPEC_TARGETS,
      (d) => d.signed.delegations.roles[0].paths.unshift(7),
      INVALID,
      "signed.delegations.roles[0].paths[0]",
    ],
    [
      "a hash prefix that is not hex",
      "targets",
      SPEC_TARGETS,
      (d) => {
        delete d.signed.delegations.roles[0].paths;
        d.signed.delegations.roles[0].path_hash_prefixes = ["0g"];
      },
      INVALID,
      "signed.delegations.roles[0].path_hash_prefixes[0]",
    ],
    [
      "a role name used twice (TUF 4.5 ROLENAME)",
      "targets",
      SPEC_TARGETS,
      (d) => d.signed.delegations.roles.push({ ...d.signed.delegations.roles[0] }),
      INVALID,
      "signed.delegations.roles[1].name",
    ],
    [
      "a delegation to a top-level role name",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.delegations.roles[0].name = "snapshot"),
      INVALID,
      "signed.delegations.roles[0].name",
    ],
    [
      "a delegated threshold of 0",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.delegations.roles[0].threshold = 0),
      INVALID,
      "signed.delegations.roles[0].threshold",
    ],
    [
      "terminating not a boolean",
      "targets",
      SPEC_TARGETS,
      (d) => (d.signed.delegations.roles[0].terminating = 1),
      INVALID,
      "signed.delegations.roles[0].terminating",
    ],
    [
      "a delegated role listing a key id twice",
      "targets",
      SPEC_TARGETS,
      (d) => d.signed.delegations.roles[0].keyids.push(d.signed.delegations.roles[0].keyids[0]),
      INVALID,
      "signed.delegations.roles[0].keyids[1]",
    ],
    [
      "delegations without keys",
      "targets",
      SPEC_TARGETS,
      (d) => delete d.signed.delegations.keys,
      INVALID,
      "signed.delegations.keys",
    ],
    [
      "delegations with both roles and succinct_roles (TAP 15)",
      "targets",
      SPEC_TARGETS,
      (d) =>
        (d.signed.delegations.succinct_roles = {
          keyids: [],
          threshold: 1,
          bit_length: 8,
          name_prefix: "bins",
        }),
      INVALID,
      "signed.delegations.roles",
    ],
    [
      "delegations with neither",
      "targets",
      SPEC_TARGETS,
      (d) => delete d.signed.delegations.roles,
      INVALID,
      "signed.delegations.roles",
    ],
    [
      "succinct bit_length 33 (TAP 15: 1..32)",
      "targets",
      SPEC_TARGETS,
      (d) => {
        delete d.signed.delegations.roles;
        d.signed.delegations.succinct_roles = {
          keyids: [],
          threshold: 1,
          bit_length: 33,
          name_prefix: "bins",
        };
      },
      INVALID,
      "signed.delegations.succinct_roles.bit_length",
    ],
    [
      "succinct bit_length 0",
      "targets",
      SPEC_TARGETS,
      (d) => {
        delete d.signed.delegations.roles;
        d.signed.delegations.succinct_roles = {
          keyids: [],
          threshold: 1,
          bit_length: 0,
          name_prefix: "bins",
        };
      },
      INVALID,
      "signed.delegations.succinct_roles.bit_length",
    ],
    [
      "succinct without name_prefix",
      "targets",
      SPEC_TARGETS,
      (d) => {
        delete d.signed.delegations.roles;
        d.signed.delegations.succinct_roles = { keyids: [], threshold: 1, bit_length: 4 };
      },
      INVALID,
      "signed.delegations.succinct_roles.name_prefix",
    ],
    [
      "a snapshot entry with version 0",
      "snapshot",
      SPEC_SNAPSHOT,
      (d) => (d.signed.meta["targets.json"].version = 0),
      INVALID,
      'signed.meta["targets.json"].version',
    ],
    [
      "a snapshot entry with a string length",
      "snapshot",
      SPEC_SNAPSHOT,
      (d) => (d.signed.meta["project2.json"].length = "604"),
      INVALID,
      'signed.meta["project2.json"].length',
    ],
    [
      "a snapshot entry with empty hashes",
      "snapshot",
      SPEC_SNAPSHOT,
      (d) => (d.signed.meta["project1.json"].hashes = {}),
      INVALID,
      'signed.meta["project1.json"].hashes',
    ],
    [
      "a timestamp listing more than snapshot.json (TUF 4.6)",
      "timestamp",
      SPEC_TIMESTAMP,
      (d) => (d.signed.meta["targets.json"] = { version: 1 }),
      INVALID,
      "signed.meta",
    ],
    [
      "a timestamp without snapshot.json",
      "timestamp",
      SPEC_TIMESTAMP,
      (d) => (d.signed.meta = { "snap.json": { version: 1 } }),
      INVALID,
      "signed.meta",
    ],
  ];
  for (const [name, role, doc, mutate, code, field] of cases) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(refusal(role, doc, mutate), field === undefined ? { code } : { code, field });
    });
  }

  it("names the file too", () => {
    const d = clone(SPEC_ROOT) as Json;
    d.signed.version = 0;
    assert.throws(() => parseMetadata(d, "root", { file: "3.root.json" }), { file: "3.root.json" });
  });
});

describe("TufLimits bound untrusted input", () => {
  const cases: Array<[string, RoleType, unknown, Partial<ReturnType<typeof tufLimits>>, string]> = [
    ["signatures", "root", SPEC_ROOT, { maxSignatures: 0 }, "signatures"],
    ["keys", "root", SPEC_ROOT, { maxKeys: 3 }, "signed.keys"],
    [
      "key ids per role",
      "targets",
      SPEC_TARGETS,
      { maxKeyidsPerRole: 0 },
      "signed.delegations.roles[0].keyids",
    ],
    ["delegated roles", "targets", SPEC_TARGETS, { maxRoles: 0 }, "signed.delegations.roles"],
    ["paths per role", "targets", SPEC_TARGETS, { maxPathsPerRole: 0 }, "signed.delegations.roles[0].paths"],
    ["targets", "targets", SPEC_TARGETS, { maxTargets: 1 }, "signed.targets"],
    ["snapshot entries", "snapshot", SPEC_SNAPSHOT, { maxMetaEntries: 2 }, "signed.meta"],
  ];
  for (const [name, role, doc, over, field] of cases) {
    it(`refuses too many ${name}`, () => {
      assert.doesNotThrow(() => parseMetadata(clone(doc), role));
      assert.throws(() => parseMetadata(clone(doc), role, { limits: tufLimits(over) }), {
        code: BOUND,
        field,
      });
    });
  }

  it("refuses a document over its role's byte bound, and too deep a document", () => {
    const bytes = Buffer.from(JSON.stringify(SPEC_TIMESTAMP));
    assert.doesNotThrow(() => parseMetadataBytes(bytes, "timestamp"));
    assert.throws(
      () => parseMetadataBytes(bytes, "timestamp", { limits: tufLimits({ timestampMaxBytes: 100 }) }),
      {
        code: BOUND,
      },
    );
    const deep = clone(SPEC_TARGETS) as Json;
    let v: Json = {};
    deep.signed.targets["file1.txt"].custom = v;
    for (let i = 0; i < 100; i++) v = v.x = {};
    assert.throws(() => parseMetadataBytes(Buffer.from(JSON.stringify(deep)), "targets"), { code: BOUND });
  });

  it("refuses malformed JSON as malformed JSON", () => {
    assert.throws(() => parseMetadataBytes(Buffer.from('{"signed":'), "root"), {
      code: "ERR_JSON_MALFORMED",
    });
  });
});

describe("snapshots read lazily from canonical bytes agree with the eager parse", () => {
  const name = fc.string({
    unit: fc.constantFrom("a", "b", "-", ".", "/", "0", "9", "é", "\uffff", "😀"),
    maxLength: 6,
  });
  const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: 1, maxLength: 8 });
  const entry = fc.record(
    {
      version: fc.integer({ min: 1, max: 2 ** 40 }),
      length: fc.nat(),
      hashes: fc.dictionary(fc.constantFrom("sha256", "sha512", "blake2b-256"), hex, {
        minKeys: 1,
        maxKeys: 2,
      }),
      custom: fc.dictionary(fc.constantFrom("x", "y"), fc.oneof(fc.integer(), fc.string({ maxLength: 3 }))),
    },
    { requiredKeys: ["version"] },
  );
  const meta = fc.dictionary(name, entry, { maxKeys: 12 });
  const doc = (m: Record<string, unknown>) => ({
    signatures: [{ keyid: "ab", sig: "cd" }],
    signed: {
      _type: "snapshot",
      expires: "2030-01-01T00:00:00Z",
      meta: m,
      spec_version: "1.0.31",
      version: 3,
    },
  });
  /** The same document twice: canonical (read lazily) and indented (read eagerly). */
  const both = (m: Record<string, unknown>) => {
    const d = doc(m);
    const lazy = canonicalBytes(d);
    const eager = Buffer.from(JSON.stringify(d, null, 1));
    return { lazy, eager };
  };
  const outcome = (bytes: Uint8Array, limits = tufLimits()) => {
    try {
      return { md: parseMetadataBytes(bytes, "snapshot", { file: "3.snapshot.json", limits }) };
    } catch (e) {
      const err = e as { code: string; field?: string; file?: string };
      return { error: { code: err.code, field: err.field, file: err.file } };
    }
  };

  it("gives the same entries, the same signed object and the same signed bytes", () => {
    fc.assert(
      fc.property(meta, name, (m, other) => {
        const { lazy, eager } = both(m);
        const a = parseMetadataBytes(lazy, "snapshot");
        const b = parseMetadataBytes(eager, "snapshot");
        for (const n of [...Object.keys(m), other, "targets.json"])
          assert.deepEqual(getMeta(a.signed, n), getMeta(b.signed, n), n);
        assert.deepEqual(rawSignedBytes(a), canonicalBytes(b.signed));
        assert.deepEqual(canonicalBytes(a.signed), canonicalBytes(b.signed));
        assert.ok(Object.isFrozen(a.signed.meta) && Object.isFrozen(a.signed));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses the same malformed entries, naming the same field and file", () => {
    const bad = fc.constantFrom<unknown>(
      { version: 0 },
      { version: -1 },
      { version: "1" },
      { version: 1, length: -1 },
      { version: 1, hashes: {} },
      { version: 1, hashes: { sha256: "xyz" } },
      { version: 1, hashes: { sha256: 5 } },
      { length: 3 },
      [],
      "1",
      null,
    );
    fc.assert(
      fc.property(meta, name, bad, (m, n, e) => {
        const { lazy, eager } = both({ ...m, [n]: e });
        const a = outcome(lazy);
        assert.ok(a.error !== undefined);
        assert.deepEqual(a, outcome(eager));
      }),
      { numRuns: 300 },
    );
  });

  it("the plain entry shape skipped natively matches only canonical, valid METAFILES entries", () => {
    const anchored = new RegExp(`^(?:${PLAIN_META_ENTRY_FOR_TESTS.source})$`);
    fc.assert(
      fc.property(fc.stringMatching(anchored), (text) => {
        const bytes = Buffer.from(text, "utf8");
        // The scanner has refused escapes and control characters before it tries the shape.
        if (bytes.includes(0x5c) || bytes.some((b) => b < 0x20)) return;
        assert.ok(scanCanonicalJson(bytes) !== undefined, text);
        assert.equal(canonicalBytes(JSON.parse(text)).toString("utf8"), text);
        checkMetaFile(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("bounds the number of entries the same way", () => {
    const { lazy, eager } = both({
      "a.json": { version: 1 },
      "b.json": { version: 2 },
      "c.json": { version: 3 },
    });
    const limits = tufLimits({ maxMetaEntries: 2 });
    assert.deepEqual(outcome(lazy, limits), outcome(eager, limits));
    assert.equal(outcome(lazy, limits).error?.code, BOUND);
  });

  it("finds the same rollback (TUF 5.5.5) walking two lazy snapshots as comparing two eager ones", () => {
    const versions = fc.dictionary(name, fc.integer({ min: 1, max: 4 }), { maxKeys: 10 });
    fc.assert(
      fc.property(versions, versions, fc.boolean(), (before, after, overlap) => {
        const m = (v: Record<string, number>) =>
          Object.fromEntries(Object.entries(v).map(([k, n]) => [k, { version: n }]));
        // Often the same names, so that versions are compared rather than missing.
        const next = overlap ? { ...m(before), ...m(after) } : m(after);
        const x = both(m(before));
        const y = both(next);
        const before2 = parseMetadataBytes(x.eager, "snapshot").signed as Snapshot;
        const after2 = parseMetadataBytes(y.eager, "snapshot").signed as Snapshot;
        const lazy = snapshotRollback(
          parseMetadataBytes(x.lazy, "snapshot").signed as Snapshot,
          parseMetadataBytes(y.lazy, "snapshot").signed as Snapshot,
        );
        const eager = snapshotRollback(before2, after2);
        assert.equal(lazy === undefined, eager === undefined);
        // Each may name another offending file (key order, insertion order), but a real one.
        for (const r of [lazy, eager]) {
          if (r === undefined) continue;
          assert.equal(getMeta(before2, r.file)?.version, r.before);
          assert.equal(getMeta(after2, r.file)?.version, r.after);
          assert.ok(r.after === undefined || r.after < r.before);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("date-times and expiry (TUF 4.2 Date-time, 5.3.10)", () => {
  it("parses the spec's example date-time", () => {
    assert.equal(parseDateTime("1985-10-21T01:21:00Z")?.toISOString(), "1985-10-21T01:21:00.000Z");
    assert.equal(parseDateTime("1985-10-21 01:21:00Z"), undefined);
  });

  it("isExpired: expired at the expiry instant and after, not before", () => {
    const s = SPEC_TIMESTAMP.signed as Json;
    assert.equal(isExpired(s, new Date("2029-12-31T23:59:59Z")), false);
    assert.equal(isExpired(s, new Date("2030-01-01T00:00:00Z")), true);
    assert.equal(isExpired(s, new Date("2030-01-01T00:00:01Z")), true);
    assert.throws(() => checkNotExpired(s, new Date("2031-01-01T00:00:00Z")), { code: "ERR_TUF_EXPIRED" });
    assert.doesNotThrow(() => checkNotExpired(s, new Date("2020-01-01T00:00:00Z")));
  });
});

// --- lossless round trips ------------------------------------------------------------------------

const hex = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: min, maxLength: max });
const keyName = fc.string({ unit: "binary", maxLength: 10 });
/** Unknown fields: names that are not the spec's, values any JSON canonical JSON can encode. */
const unknownFields = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).map((s) => `x-${s}`),
  fc.jsonValue().filter((v) => {
    try {
      canonicalBytes(v);
      return true;
    } catch {
      return false;
    }
  }),
  { maxKeys: 3 },
);
const targetFile = fc
  .tuple(
    fc.nat(),
    fc.dictionary(
      fc.constantFrom("sha256", "sha512", "blake2b"),
      hex(2, 64).filter((s) => s.length % 2 === 0),
      {
        minKeys: 1,
        maxKeys: 2,
      },
    ),
    fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }), {
      nil: undefined,
    }),
    unknownFields,
  )
  .map(([length, hashes, custom, extra]) => ({ ...extra, length, hashes, ...(custom ? { custom } : {}) }));
const delegatedRole = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 6 }).map((s) => `r-${s}`),
    fc.uniqueArray(hex(8, 8), { maxLength: 3 }),
    fc.integer({ min: 1, max: 3 }),
    fc.option(fc.boolean(), { nil: undefined }),
    fc.oneof(
      fc.record({ paths: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }) }),
      fc.record({ path_hash_prefixes: fc.array(hex(0, 4), { maxLength: 3 }) }),
    ),
    unknownFields,
  )
  .map(([name, keyids, threshold, terminating, paths, extra]) => ({
    ...extra,
    name,
    keyids,
    threshold,
    ...(terminating === undefined ? {} : { terminating }),
    ...paths,
  }));
const targetsSigned = fc
  .tuple(
    fc.integer({ min: 1, max: 2 ** 40 }),
    fc.date({
      min: new Date("2000-01-01T00:00:00Z"),
      max: new Date("2999-12-31T23:59:59Z"),
      noInvalidDate: true,
    }),
    fc.dictionary(keyName, targetFile, { maxKeys: 5 }),
    fc.option(
      fc.tuple(
        fc.uniqueArray(delegatedRole, { selector: (r) => r.name, maxLength: 3 }),
        fc.option(
          fc.record({
            keyids: fc.uniqueArray(hex(8, 8), { maxLength: 2 }),
            threshold: fc.integer({ min: 1, max: 2 }),
            bit_length: fc.integer({ min: 1, max: 32 }),
            name_prefix: fc.string({ maxLength: 6 }),
          }),
          { nil: undefined },
        ),
      ),
      { nil: undefined },
    ),
    unknownFields,
  )
  .map(([version, expires, targets, del, extra]) => {
    const t = newTargets({ version, expires, targets: Object.entries(targets) });
    Object.assign(t, extra);
    if (del !== undefined) {
      const [roles, succinct] = del;
      t.delegations = {
        keys: { abcd: { keytype: "ed25519", scheme: "ed25519", keyval: { public: "00" }, "x-extra": [1] } },
        ...(succinct ? { succinct_roles: succinct } : { roles }),
      };
    }
    return t;
  });
const targetsMetadata = fc
  .tuple(
    targetsSigned,
    fc.uniqueArray(fc.record({ keyid: hex(4, 8), sig: hex(0, 16) }), {
      selector: (s) => s.keyid,
      maxLength: 3,
    }),
  )
  .map(([signed, signatures]) => ({ signed, signatures }));

/** A plain JSON copy (no null-prototype objects), to compare with what JSON.parse returns. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("round trips are lossless (fast-check)", () => {
  it("parse(serialize(x)) equals x, compact and pretty, unknown fields included", () => {
    fc.assert(
      fc.property(targetsMetadata, (md) => {
        for (const bytes of [serializeCompact(md), serializePretty(md)]) {
          const back = parseMetadataBytes(bytes, "targets");
          assert.deepEqual(back, plain(md));
          // The signed bytes are unchanged: the canonical JSON of what was read equals the original's.
          assert.deepEqual(canonicalBytes(back.signed), canonicalBytes(md.signed));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("pretty files are in canonical key order: the signed bytes come straight from the file", () => {
    fc.assert(
      fc.property(targetsMetadata, (md) => {
        const fast = canonicalSignedFromMetablockBytes(serializePretty(md));
        // Integer-like keys are listed first by JavaScript: those files take the slow path.
        if (fast !== undefined) assert.deepEqual(fast, canonicalBytes(md.signed));
      }),
      { numRuns: 200 },
    );
  });

  it("serialization is idempotent", () => {
    fc.assert(
      fc.property(targetsMetadata, (md) => {
        const once = serializeCompact(md);
        assert.deepEqual(serializeCompact(parseMetadataBytes(once, "targets")), once);
        // The compact file reads back to the document whose canonical JSON is serializeCanonical's.
        assert.deepEqual(
          canonicalBytes(JSON.parse(Buffer.from(once).toString("utf8"))),
          serializeCanonical(md),
        );
        const pretty = serializePretty(md);
        assert.deepEqual(serializePretty(parseMetadataBytes(pretty, "targets")), pretty);
      }),
      { numRuns: 100 },
    );
  });

  it("metadata parsed from bytes is frozen: what is verified cannot change afterwards", () => {
    const md = parseMetadataBytes(Buffer.from(JSON.stringify(SPEC_TARGETS)), "targets");
    assert.throws(() => {
      (md.signed.targets["file1.txt"] as Json).length = 1;
    }, TypeError);
    const copy = structuredClone(md);
    setTarget(copy.signed, "__proto__", { length: 1, hashes: { sha256: "00" } });
    assert.equal(getTarget(copy.signed, "__proto__")?.length, 1);
    assert.equal(Object.getPrototypeOf(copy.signed.targets), Object.prototype);
  });
});

describe("parseSigned", () => {
  it("validates a bare signed object with fields relative to it", () => {
    assert.equal(parseSigned(SPEC_ROOT.signed, "root"), SPEC_ROOT.signed);
    assert.throws(() => parseSigned({ ...SPEC_ROOT.signed, version: 0 }, "root"), {
      code: INVALID,
      field: "version",
    });
  });
});
