// SPDX-License-Identifier: Apache-2.0
// The error catalog: every code has a category, every category an exit code (DESIGN.md), and
// foreign errors map to the right codes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  asCairnError,
  CairnError,
  cairnError,
  ERROR_CATALOG,
  type ErrorCategory,
  type ErrorCode,
  EXIT_CODE,
  FormatError,
  fieldError,
  InternalError,
  NotFoundError,
  OverloadError,
  PolicyError,
  TransportError,
  UsageError,
  VerificationError,
} from "./errors.js";

const CATEGORIES: readonly ErrorCategory[] = [
  "format",
  "verification",
  "policy",
  "not-found",
  "transport",
  "overload",
  "usage",
  "internal",
];

const CLASS_OF: Record<ErrorCategory, typeof CairnError> = {
  format: FormatError,
  verification: VerificationError,
  policy: PolicyError,
  "not-found": NotFoundError,
  transport: TransportError,
  overload: OverloadError,
  usage: UsageError,
  internal: InternalError,
};

describe("ERROR_CATALOG", () => {
  const codes = Object.keys(ERROR_CATALOG) as ErrorCode[];

  it("is not empty and every code is ERR_<AREA>_<CONDITION>", () => {
    assert.ok(codes.length > 10);
    for (const code of codes) assert.match(code, /^ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/, code);
  });

  it("gives every code a known category, a description, and through the category an exit code", () => {
    for (const code of codes) {
      const [category, description] = ERROR_CATALOG[code];
      assert.ok(CATEGORIES.includes(category), `${code}: category ${category}`);
      assert.equal(typeof description, "string");
      assert.ok(description.length > 10, `${code} needs a description`);
      assert.ok(Number.isInteger(EXIT_CODE[category]), `${code}: no exit code for ${category}`);
    }
  });

  it("builds an error of the category's subclass for every code", () => {
    for (const code of codes) {
      const e = cairnError(code, "m", { file: "f.json", field: "a.b" });
      const category = ERROR_CATALOG[code][0];
      assert.ok(e instanceof CLASS_OF[category], `${code} should be a ${CLASS_OF[category].name}`);
      assert.ok(e instanceof CairnError);
      assert.ok(e instanceof Error);
      assert.equal(e.code, code);
      assert.equal(e.category, category);
      assert.equal(e.name, CLASS_OF[category].name);
      assert.equal(e.file, "f.json");
      assert.equal(e.field, "a.b");
    }
  });

  it("keeps the categories the design separates apart", () => {
    assert.equal(ERROR_CATALOG.ERR_SIGNATURE_INVALID[0], "verification");
    assert.equal(ERROR_CATALOG.ERR_DSSE_SIGNATURE_INVALID[0], "verification");
    assert.equal(ERROR_CATALOG.ERR_NOT_FOUND[0], "not-found");
    assert.equal(ERROR_CATALOG.ERR_IO[0], "transport");
    assert.equal(ERROR_CATALOG.ERR_JSON_MALFORMED[0], "format");
    assert.equal(ERROR_CATALOG.ERR_USAGE[0], "usage");
    assert.equal(ERROR_CATALOG.ERR_INTERNAL[0], "internal");
  });
});

describe("EXIT_CODE", () => {
  it("is exactly the table in DESIGN.md", () => {
    assert.deepEqual(
      { ...EXIT_CODE },
      {
        internal: 1,
        usage: 2,
        verification: 10,
        policy: 11,
        format: 12,
        "not-found": 13,
        transport: 14,
        overload: 15,
      },
    );
  });

  it("covers every category with a distinct non-zero code", () => {
    const values = CATEGORIES.map((c) => EXIT_CODE[c]);
    assert.equal(new Set(values).size, CATEGORIES.length);
    assert.ok(values.every((v) => v !== 0));
  });
});

describe("asCairnError", () => {
  it("maps a real ENOENT to ERR_NOT_FOUND with the path and the cause", () => {
    let thrown: unknown;
    try {
      readFileSync("/nonexistent/cairn/file.json");
    } catch (e) {
      thrown = e;
    }
    const c = asCairnError(thrown);
    assert.ok(c instanceof NotFoundError);
    assert.equal(c.code, "ERR_NOT_FOUND");
    assert.equal(c.category, "not-found");
    assert.equal(c.file, "/nonexistent/cairn/file.json");
    assert.equal(c.cause, thrown);
  });

  it("maps other errno errors to ERR_IO (transport), never to a pass or a verification failure", () => {
    const err = Object.assign(new Error("permission denied"), { code: "EACCES", path: "/root/x" });
    const c = asCairnError(err);
    assert.ok(c instanceof TransportError);
    assert.equal(c.code, "ERR_IO");
    assert.equal(c.file, "/root/x");
    const noPath = asCairnError(Object.assign(new Error("x"), { code: "EISDIR" }));
    assert.equal(noPath.code, "ERR_IO");
    assert.equal(noPath.file, undefined);
  });

  it("returns a CairnError unchanged", () => {
    const e = cairnError("ERR_SIGNATURE_INVALID", "bad");
    assert.equal(asCairnError(e), e);
  });

  it("wraps anything else as ERR_INTERNAL", () => {
    for (const v of [new TypeError("x"), "a string", 42, null, undefined, { code: 7 }]) {
      const c = asCairnError(v);
      assert.ok(c instanceof InternalError);
      assert.equal(c.code, "ERR_INTERNAL");
      assert.equal(c.cause, v);
    }
    // A non-errno string code (Node's ERR_* codes) is not an I/O error.
    assert.equal(
      asCairnError(Object.assign(new Error("x"), { code: "ERR_INVALID_ARG_TYPE" })).code,
      "ERR_INTERNAL",
    );
  });
});

describe("CairnError locations", () => {
  it("inFile sets the file only once", () => {
    const e = cairnError("ERR_FIELD_INVALID", "m").inFile("a.json").inFile("b.json");
    assert.equal(e.file, "a.json");
  });

  it("underField prefixes the field path with dots and brackets", () => {
    assert.equal(
      fieldError("pubkeys", "m").underField("steps[2]").underField("signed").field,
      "signed.steps[2].pubkeys",
    );
    assert.equal(fieldError("[0]", "m").underField("keys").field, "keys[0]");
    assert.equal(cairnError("ERR_FIELD_INVALID", "m").underField("signed").field, "signed");
  });

  it("fieldError is ERR_FIELD_INVALID with field and optional file", () => {
    const e = fieldError("a", "m", "x.json");
    assert.ok(e instanceof FormatError);
    assert.equal(e.code, "ERR_FIELD_INVALID");
    assert.deepEqual([e.field, e.file], ["a", "x.json"]);
    assert.equal(fieldError("a", "m").file, undefined);
  });

  it("toJSON and describe carry code, file and field", () => {
    const e = cairnError("ERR_KEY_INVALID", "msg", { file: "k.pub", field: "keyval" });
    assert.deepEqual(e.toJSON(), {
      code: "ERR_KEY_INVALID",
      category: "format",
      message: "msg",
      file: "k.pub",
      field: "keyval",
    });
    assert.ok(e.describe().startsWith("ERR_KEY_INVALID: k.pub: keyval: "));
  });
});
