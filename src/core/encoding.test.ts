// SPDX-License-Identifier: Apache-2.0
// Strict hex, base64 and base64url decoding (Node's decoders silently skip bad characters; ours must
// refuse them), PEM blocks with RFC 1421 headers, and encoder/decoder round trips.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fromBase64, fromHex, parsePemBlocks, toBase64, toHex, toPem } from "./encoding.js";
import { CairnError } from "./errors.js";

function assertInvalid(fn: () => unknown, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, `expected a CairnError, got ${String(e)}`);
    assert.equal(e.code, "ERR_ENCODING_INVALID");
    assert.equal(e.category, "format");
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  });
}

describe("hex", () => {
  it("encodes lowercase and respects the view's offset and length", () => {
    const backing = Buffer.from("00112233445566", "hex");
    assert.equal(toHex(new Uint8Array(backing.buffer, backing.byteOffset + 2, 3)), "223344");
    assert.equal(toHex(backing.subarray(5)), "5566");
    assert.equal(toHex(Uint8Array.of(0xab, 0xcd, 0xef)), "abcdef");
    assert.equal(toHex(new Uint8Array(0)), "");
  });

  it("decodes upper and lower case", () => {
    assert.deepEqual(fromHex("aBcD"), Buffer.from([0xab, 0xcd]));
    assert.deepEqual(fromHex(""), Buffer.alloc(0));
  });

  it("refuses odd lengths and non-hex characters (Node's decoder would stop or skip silently)", () => {
    // The trap: Buffer.from("zz", "hex") is an empty buffer, Buffer.from("abz", "hex") is <ab>.
    assert.equal(Buffer.from("zz", "hex").length, 0);
    for (const s of [
      "a",
      "abc",
      "zz",
      "0g",
      "ab z",
      " ab",
      "ab ",
      "ab\n",
      "0x00",
      "ab-c",
      "é0",
      "ab\u0000c",
    ]) {
      assertInvalid(() => fromHex(s, "sig"), "sig");
    }
  });

  it("names the field it was given, or 'hex'", () => {
    assertInvalid(() => fromHex("x"), "hex");
  });
});

describe("base64 and base64url", () => {
  it("decodes standard base64 with padding", () => {
    assert.deepEqual(fromBase64("QUJD"), Buffer.from("ABC"));
    assert.deepEqual(fromBase64("QUI="), Buffer.from("AB"));
    assert.deepEqual(fromBase64("QQ=="), Buffer.from("A"));
    assert.deepEqual(fromBase64("+/+/"), Buffer.from([0xfb, 0xff, 0xbf]));
    assert.deepEqual(fromBase64(""), Buffer.alloc(0));
  });

  it("decodes URL-safe base64 with or without padding", () => {
    assert.deepEqual(fromBase64("-_-_"), Buffer.from([0xfb, 0xff, 0xbf]));
    assert.deepEqual(fromBase64("-_8"), Buffer.from([0xfb, 0xff]));
    assert.deepEqual(fromBase64("-_8="), Buffer.from([0xfb, 0xff]));
    assert.deepEqual(fromBase64("QQ"), Buffer.from("A"));
  });

  it("allows line breaks (as in PEM bodies)", () => {
    assert.deepEqual(fromBase64("QU\r\nJD\n"), Buffer.from("ABC"));
  });

  it("refuses invalid characters instead of skipping them", () => {
    // The trap: Node decodes "QU!JD" as "ABC" by skipping the "!".
    assert.deepEqual(Buffer.from("QU!JD", "base64"), Buffer.from("ABC"));
    for (const s of ["QU!JD", "QU JD", "QU\tJD", "QUJD.", "QUJ*", "é", "QUJD\u0000", "QU%3D"]) {
      assertInvalid(() => fromBase64(s, "payload"), "payload");
    }
  });

  it("refuses mixing the standard and URL-safe alphabets", () => {
    for (const s of ["+_", "ab+_", "-/==", "a-b/"]) assertInvalid(() => fromBase64(s));
  });

  it("refuses impossible lengths and misplaced or wrong padding", () => {
    for (const s of [
      "A",
      "QUJDR",
      "A=",
      "A==",
      "A===",
      "QQ=",
      "=",
      "==",
      "===",
      "====",
      "QUJD====",
      "QUI=QUI=",
      "Q=UI",
      "=QUI",
    ]) {
      assertInvalid(() => fromBase64(s, "sig"), "sig");
    }
  });
});

describe("PEM", () => {
  it("parses a block's label, exact text and DER", () => {
    const der = Buffer.from("3003020101", "hex");
    const pem = toPem("TEST DATA", der);
    assert.equal(pem, "-----BEGIN TEST DATA-----\nMAMCAQE=\n-----END TEST DATA-----\n");
    const blocks = parsePemBlocks(`junk before\n${pem}junk after\n`);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.label, "TEST DATA");
    assert.equal(blocks[0]!.text, pem.trimEnd());
    assert.deepEqual(blocks[0]!.headers, {});
    assert.deepEqual(blocks[0]!.der, der);
  });

  it("wraps at 64 characters", () => {
    const pem = toPem("X", Buffer.alloc(100, 7));
    const lines = pem.trimEnd().split("\n");
    // 100 bytes are 136 base64 characters.
    assert.deepEqual(
      lines.slice(1, -1).map((l) => l.length),
      [64, 64, 8],
    );
  });

  it("reads RFC 1421 headers (Proc-Type, DEK-Info) of a traditionally encrypted key", () => {
    const { privateKey } = generateKeyPairSync("ec", {
      namedCurve: "P-256",
      privateKeyEncoding: { type: "sec1", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    for (const text of [privateKey, privateKey.replace(/\n/g, "\r\n")]) {
      const [block, ...rest] = parsePemBlocks(text);
      assert.equal(rest.length, 0);
      assert.equal(block!.label, "EC PRIVATE KEY");
      assert.equal(block!.headers["Proc-Type"], "4,ENCRYPTED");
      assert.match(block!.headers["DEK-Info"]!, /^AES-256-CBC,[0-9A-F]{32}$/);
      // The body after the blank line, not the headers, is the DER.
      const b64 = text
        .split(/\r?\n\r?\n/)[1]!
        .split("-----END")[0]!
        .replace(/\s+/g, "");
      assert.deepEqual(block!.der, Buffer.from(b64, "base64"));
    }
  });

  it("reads a hand-written header block", () => {
    const text = [
      "-----BEGIN RSA PRIVATE KEY-----",
      "Proc-Type: 4,ENCRYPTED",
      "DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF",
      "",
      "AAEC",
      "AwQF",
      "-----END RSA PRIVATE KEY-----",
    ].join("\n");
    const [block] = parsePemBlocks(text);
    assert.deepEqual(block!.headers, {
      "Proc-Type": "4,ENCRYPTED",
      "DEK-Info": "AES-128-CBC,0123456789ABCDEF0123456789ABCDEF",
    });
    assert.deepEqual(block!.der, Buffer.from([0, 1, 2, 3, 4, 5]));
  });

  it("finds several blocks in order", () => {
    const text = toPem("CERTIFICATE", Buffer.from([1])) + "\n" + toPem("PUBLIC KEY", Buffer.from([2, 3]));
    const blocks = parsePemBlocks(text);
    assert.deepEqual(
      blocks.map((b) => [b.label, [...b.der]]),
      [
        ["CERTIFICATE", [1]],
        ["PUBLIC KEY", [2, 3]],
      ],
    );
  });

  it("ignores a block whose END label does not match its BEGIN label", () => {
    assert.deepEqual(parsePemBlocks("-----BEGIN A-----\nAAEC\n-----END B-----\n"), []);
    assert.deepEqual(parsePemBlocks("no pem here"), []);
  });

  it("refuses a body with invalid base64 characters", () => {
    assertInvalid(
      () => parsePemBlocks("-----BEGIN PUBLIC KEY-----\nAA!EC\n-----END PUBLIC KEY-----\n"),
      "PEM PUBLIC KEY",
    );
    assertInvalid(() => parsePemBlocks("-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n"));
  });
});

// --- properties ---

const bytes = fc.uint8Array({ maxLength: 200 });
/** Characters that are in no base64 alphabet and are not the line breaks PEM allows. */
const notBase64 = fc.constantFrom(
  "!",
  "#",
  "$",
  "%",
  "*",
  ".",
  ",",
  ":",
  ";",
  " ",
  "\t",
  "@",
  "~",
  "é",
  "\u0000",
  "?",
  "\\",
);
const notHex = fc.constantFrom("g", "G", "z", " ", "-", "x", "\n", "é", "\u0000", ":");

describe("encoding properties", () => {
  it("hex round trips, in either case", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const h = toHex(b);
        assert.match(h, /^[0-9a-f]*$/);
        assert.deepEqual(new Uint8Array(fromHex(h)), b);
        assert.deepEqual(new Uint8Array(fromHex(h.toUpperCase())), b);
      }),
    );
  });

  it("base64 and base64url (padded or not) round trip", () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const buf = Buffer.from(b);
        assert.equal(toBase64(b), buf.toString("base64"));
        assert.deepEqual(new Uint8Array(fromBase64(toBase64(b))), b);
        const url = buf.toString("base64url");
        assert.deepEqual(new Uint8Array(fromBase64(url)), b);
        const padded = url + "=".repeat((4 - (url.length % 4)) % 4);
        assert.deepEqual(new Uint8Array(fromBase64(padded)), b);
      }),
    );
  });

  it("a character from outside the alphabet anywhere in base64 is refused", () => {
    fc.assert(
      fc.property(bytes, notBase64, fc.nat(), fc.boolean(), (b, bad, at, url) => {
        const s = Buffer.from(b).toString(url ? "base64url" : "base64");
        const i = at % (s.length + 1);
        assertInvalid(() => fromBase64(s.slice(0, i) + bad + s.slice(i)));
      }),
    );
  });

  it("a non-hex character anywhere in hex is refused, even when the length stays even", () => {
    fc.assert(
      fc.property(bytes, notHex, fc.nat(), (b, bad, at) => {
        const h = toHex(b);
        const i = at % (h.length + 1);
        assertInvalid(() => fromHex(h.slice(0, i) + bad + h.slice(i)));
        assertInvalid(() => fromHex(h.slice(0, i) + bad + "0" + h.slice(i)));
      }),
    );
  });

  it("PEM round trips for any label and DER", () => {
    const label = fc.stringMatching(/^[A-Z0-9]+( [A-Z0-9]+){0,3}$/);
    fc.assert(
      fc.property(label, bytes, (l, der) => {
        const pem = toPem(l, der);
        const blocks = parsePemBlocks(pem);
        assert.equal(blocks.length, 1);
        assert.equal(blocks[0]!.label, l);
        assert.equal(blocks[0]!.text, pem.trimEnd());
        assert.deepEqual(blocks[0]!.headers, {});
        assert.deepEqual(new Uint8Array(blocks[0]!.der), der);
        assert.deepEqual(new Uint8Array(parsePemBlocks(pem.replace(/\n/g, "\r\n"))[0]!.der), der);
      }),
    );
  });
});
