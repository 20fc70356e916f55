// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { CairnError } from "../../core/errors.js";
import {
  cosignatureV1Message,
  cosignatureV1Signer,
  cosignatureV1Verifier,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  ed25519Vkey,
  formatVkey,
  isValidKeyName,
  MAX_NOTE_SIGNATURES,
  type Note,
  type NoteVerifier,
  noteKeyId,
  noteVerifierFromVkey,
  openNote,
  parseNote,
  parseVkey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  serializeNote,
  signNote,
} from "./note.js";

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CairnError, String(e));
    assert.equal(e.code, code);
    return true;
  });
}

function ed25519(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ed25519");
}

const rawOf = (k: KeyObject) => Buffer.from(k.export({ format: "jwk" }).x as string, "base64url");

// --- C2SP signed-note, "Verifier keys" > "Example" -------------------------------------------------

describe("signed-note vectors", () => {
  // c2sp.org/signed-note, section "Verifier keys", "Example": this vkey verifies this note.
  const VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  const NOTE =
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

  test("the example vkey parses, and its key ID is SHA-256(name || 0x0A || 0x01 || key)[:4]", () => {
    const k = parseVkey(VKEY);
    assert.equal(k.name, "example.com/foo");
    assert.equal(k.keyId, 0x530d903a);
    assert.equal(k.type, SIG_TYPE_ED25519);
    assert.equal(k.publicKey.length, 32);
    const h = createHash("sha256").update("example.com/foo\n\x01").update(k.publicKey).digest();
    assert.equal(h.readUInt32BE(0), 0x530d903a);
    assert.equal(noteKeyId(k.name, SIG_TYPE_ED25519, k.publicKey), 0x530d903a);
    assert.equal(formatVkey(k.name, k.type, k.publicKey), VKEY);
  });

  test("the example vkey verifies the example note", () => {
    const v = noteVerifierFromVkey(VKEY);
    const opened = openNote(NOTE, [v]);
    assert.equal(opened.text, "This is an example message.\n");
    assert.deepEqual(opened.verified, [{ name: "example.com/foo", keyId: 0x530d903a }]);
    assert.deepEqual(opened.unverified, []);
    assert.equal(serializeNote(parseNote(NOTE)), NOTE);
  });

  test("a modified text or signature does not verify", () => {
    const v = noteVerifierFromVkey(VKEY);
    rejects(
      () => openNote(NOTE.replace("example message", "example massage"), [v]),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    rejects(() => openNote(NOTE.replace("Uw2QOkn8", "Uw2QOkn9"), [v]), "ERR_NOTE_SIGNATURE_INVALID");
    // Same bytes read from a Uint8Array.
    assert.equal(openNote(Buffer.from(NOTE), [v]).text, "This is an example message.\n");
  });

  test("the introduction's example: the text may hold empty lines; the last one separates", () => {
    // c2sp.org/signed-note, introduction (a poem by Quasimodo; its key is not given).
    const note =
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    const n = parseNote(note);
    assert.equal(
      n.text,
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n",
    );
    assert.equal(n.signatures.length, 1);
    assert.equal(n.signatures[0]!.name, "quasimodo.example/salvatore");
    assert.equal(n.signatures[0]!.keyId, 0x367ba04b);
    assert.equal(n.signatures[0]!.signature.length, 64);
    assert.equal(serializeNote(n), note);
    // Without the key, the note must not be trusted.
    rejects(() => openNote(note, [noteVerifierFromVkey(VKEY)]), "ERR_NOTE_SIGNATURE_INVALID");
  });
});

// --- C2SP tlog-cosignature vectors --------------------------------------------------------------------

describe("tlog-cosignature vectors", () => {
  // c2sp.org/tlog-cosignature, introduction: a checkpoint with a cosignature by witness.example.com/w1.
  const NOTE =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n" +
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n" +
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

  test("the example cosignature is a timestamped_signature dated 1679315147", () => {
    const n = parseNote(NOTE);
    const w = n.signatures[1]!;
    assert.equal(w.name, "witness.example.com/w1");
    // "timestamped_signature": u64 big-endian timestamp || 64-byte Ed25519 signature.
    assert.equal(w.signature.length, 72);
    // The section "Ed25519 signed message" example uses this time.
    assert.equal(w.signature.readBigUInt64BE(0), 1679315147n);
    assert.equal(serializeNote(n), NOTE);
  });

  test("the signed message is the spec's example, byte for byte", () => {
    // c2sp.org/tlog-cosignature, section "Ed25519 signed message".
    const text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert.equal(
      cosignatureV1Message(1679315147, text).toString("utf8"),
      "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    );
  });

  test("without the keys, the signatures are unknown and ignored, and nothing is trusted", () => {
    const { publicKey } = ed25519();
    rejects(
      () => openNote(NOTE, [ed25519NoteVerifier("example.com/behind-the-sofa", publicKey)]),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
  });
});

// --- signing, verifying, unknown keys --------------------------------------------------------------------

describe("sign and open", () => {
  const log = ed25519();
  const other = ed25519();
  const logSigner = ed25519NoteSigner("log.example/a", log.privateKey);
  const logVerifier = ed25519NoteVerifier("log.example/a", log.publicKey);
  const otherSigner = ed25519NoteSigner("other.example", other.privateKey);
  const otherVerifier = ed25519NoteVerifier("other.example", other.publicKey);
  const TEXT = "hello\nworld\n";

  test("signer and verifier agree on the key ID, and the vkey carries it", () => {
    assert.equal(logSigner.keyId, logVerifier.keyId);
    assert.equal(logSigner.keyId, noteKeyId("log.example/a", 0x01, rawOf(log.publicKey)));
    const vkey = ed25519Vkey("log.example/a", log.publicKey);
    assert.equal(parseVkey(vkey).keyId, logSigner.keyId);
    const fromVkey = noteVerifierFromVkey(vkey);
    assert.deepEqual(openNote(serializeNote(signNote(TEXT, [logSigner])), [fromVkey]).verified, [
      { name: "log.example/a", keyId: logSigner.keyId },
    ]);
  });

  test("two signatures; a verifier for one of them ignores the other", () => {
    const note = serializeNote(signNote(TEXT, [logSigner, otherSigner]));
    const opened = openNote(note, [logVerifier]);
    assert.equal(opened.text, TEXT);
    assert.deepEqual(
      opened.verified.map((s) => s.name),
      ["log.example/a"],
    );
    assert.deepEqual(
      opened.unverified.map((s) => s.name),
      ["other.example"],
    );
    assert.equal(openNote(note, [logVerifier, otherVerifier]).verified.length, 2);
  });

  test("signatures can be added to a signed note", () => {
    const first = signNote(TEXT, [logSigner]);
    const both = signNote(first, [otherSigner]);
    assert.equal(both.signatures.length, 2);
    assert.deepEqual(both.signatures[0], first.signatures[0]);
    assert.equal(openNote(both, [otherVerifier]).verified[0]!.name, "other.example");
  });

  test("a key that shares only the name or only the key ID with a known key is unknown", () => {
    const n = signNote(TEXT, [logSigner]);
    const sig = n.signatures[0]!;
    // Same key ID, other name; same name, other key ID: both ignored, so no trusted signature.
    const renamed: Note = { text: TEXT, signatures: [{ ...sig, name: "log.example/b" }] };
    const reId: Note = { text: TEXT, signatures: [{ ...sig, keyId: (sig.keyId + 1) >>> 0 }] };
    rejects(() => openNote(renamed, [logVerifier]), "ERR_NOTE_SIGNATURE_INVALID");
    rejects(() => openNote(reId, [logVerifier]), "ERR_NOTE_SIGNATURE_INVALID");
    const opened = openNote({ text: TEXT, signatures: [...renamed.signatures, sig] }, [logVerifier]);
    assert.equal(opened.unverified.length, 1);
  });

  test("a bad signature by a known key rejects the whole note, even beside a good one", () => {
    const n = signNote(TEXT, [logSigner, otherSigner]);
    const bad = Buffer.from(n.signatures[1]!.signature);
    bad[0]! ^= 1;
    const tampered: Note = {
      text: TEXT,
      signatures: [n.signatures[0]!, { ...n.signatures[1]!, signature: bad }],
    };
    rejects(() => openNote(tampered, [logVerifier, otherVerifier]), "ERR_NOTE_SIGNATURE_INVALID");
    // Unknown to this caller: ignored.
    assert.equal(openNote(tampered, [logVerifier]).verified.length, 1);
  });

  test("a key posing under a known name and key ID fails to verify", () => {
    const n = signNote(TEXT, [otherSigner]);
    const forged = { ...n.signatures[0]!, name: logSigner.name, keyId: logSigner.keyId };
    rejects(
      () => openNote({ text: TEXT, signatures: [forged] }, [logVerifier]),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
  });

  test("verifiers sharing a name and key ID are a usage error", () => {
    const n = signNote(TEXT, [logSigner]);
    rejects(() => openNote(n, [logVerifier, logVerifier]), "ERR_USAGE");
  });

  test("keys must be Ed25519, signers private, names valid", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    rejects(() => ed25519NoteVerifier("x", ec.publicKey), "ERR_KEY_INVALID");
    rejects(() => ed25519NoteSigner("x", log.publicKey), "ERR_KEY_INVALID");
    rejects(() => ed25519NoteSigner("a b", log.privateKey), "ERR_KEY_INVALID");
    rejects(() => cosignatureV1Signer("a+b", log.privateKey), "ERR_KEY_INVALID");
    rejects(() => signNote("no newline", [logSigner]), "ERR_NOTE_MALFORMED");
  });
});

// --- parsing strictness and bounds ---------------------------------------------------------------------

describe("parseNote refuses malformed notes", () => {
  const { privateKey } = ed25519();
  const signer = ed25519NoteSigner("k.example", privateKey);
  const good = serializeNote(signNote("text\n", [signer]));
  const sigB64 = good.split(" ").pop()!.trim();

  const cases: [string, string | Uint8Array][] = [
    ["no final newline", good.slice(0, -1)],
    ["no blank line", good.replace("\n\n", "\n")],
    ["no signature lines", "text\n\n"],
    ["an empty signature line", `${good}\n`],
    ["a hyphen instead of an em dash", good.replace("\u2014", "-")],
    ["an en dash instead of an em dash", good.replace("\u2014", "\u2013")],
    ["no space after the dash", good.replace("\u2014 ", "\u2014")],
    ["no signature after the name", `text\n\n\u2014 k.example\n`],
    ["an empty key name", `text\n\n\u2014  ${sigB64}\n`],
    ["a plus in the key name", `text\n\n\u2014 k+x ${sigB64}\n`],
    ["a no-break space in the key name", `text\n\n\u2014 k\u00a0x ${sigB64}\n`],
    ["an ideographic space in the key name", `text\n\n\u2014 k\u3000x ${sigB64}\n`],
    ["two spaces before the signature", `text\n\n\u2014 k.example  ${sigB64}\n`],
    [
      "URL-safe base64",
      `text\n\n\u2014 k.example ${Buffer.from([1, 2, 3, 4, 0xfb, 0xff]).toString("base64url")}==\n`,
    ],
    ["unpadded base64", `text\n\n\u2014 k.example ${sigB64.replace(/=+$/, "")}\n`],
    ["non-canonical base64 (padding bits set)", `text\n\n\u2014 k.example AAAAAAB=\n`],
    ["a signature of only a key ID", `text\n\n\u2014 k.example ${Buffer.alloc(4).toString("base64")}\n`],
    ["a tab in the text", good.replace("text", "te\txt")],
    ["a carriage return", good.replace("text\n", "text\r\n")],
    ["a NUL byte", good.replace("text", "te\u0000xt")],
    ["CRLF line endings", good.replaceAll("\n", "\r\n")],
    ["a lone surrogate", good.replace("text", "te\ud800xt")],
    ["invalid UTF-8", Buffer.concat([Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(good)])],
  ];
  for (const [what, input] of cases) {
    test(what, () => rejects(() => parseNote(input), "ERR_NOTE_MALFORMED"));
  }

  test("the signature count is bounded; at least 16 are accepted", () => {
    const line = good.slice(good.indexOf("\u2014"));
    const withN = (n: number) => `text\n\n${line.repeat(n)}`;
    assert.equal(parseNote(withN(16)).signatures.length, 16);
    assert.equal(parseNote(withN(MAX_NOTE_SIGNATURES)).signatures.length, MAX_NOTE_SIGNATURES);
    rejects(() => parseNote(withN(MAX_NOTE_SIGNATURES + 1)), "ERR_NOTE_MALFORMED");
    rejects(() => parseNote(withN(3), { maxSignatures: 2 }), "ERR_NOTE_MALFORMED");
  });

  test("the size is bounded, in UTF-8 bytes", () => {
    const big = `${"é".repeat(600)}\n\n${good.slice(good.indexOf("\u2014"))}`;
    assert.ok(big.length < 1000 && Buffer.byteLength(big) > 1200);
    rejects(() => parseNote(big, { maxBytes: 1200 }), "ERR_NOTE_MALFORMED");
    rejects(() => parseNote(Buffer.from(big), { maxBytes: 1200 }), "ERR_NOTE_MALFORMED");
    assert.equal(parseNote(big, { maxBytes: 2000 }).signatures.length, 1);
  });

  test("serializeNote refuses what parseNote would refuse", () => {
    const sig = parseNote(good).signatures[0]!;
    rejects(() => serializeNote({ text: "no newline", signatures: [sig] }), "ERR_NOTE_MALFORMED");
    rejects(() => serializeNote({ text: "a\n", signatures: [] }), "ERR_NOTE_MALFORMED");
    rejects(
      () => serializeNote({ text: "a\n", signatures: [{ ...sig, name: "a b" }] }),
      "ERR_NOTE_MALFORMED",
    );
    rejects(
      () => serializeNote({ text: "a\n", signatures: [{ ...sig, keyId: 2 ** 32 }] }),
      "ERR_NOTE_MALFORMED",
    );
    rejects(
      () => serializeNote({ text: "a\n", signatures: [{ ...sig, signature: Buffer.alloc(0) }] }),
      "ERR_NOTE_MALFORMED",
    );
    rejects(() => serializeNote({ text: "a\u0007\n", signatures: [sig] }), "ERR_NOTE_MALFORMED");
  });

  test("key names", () => {
    for (const ok of ["a", "example.com/log42", "oid/1.3.6.1.4.1", "ünïcode—name"])
      assert.ok(isValidKeyName(ok), ok);
    for (const bad of ["", "a b", "a+b", "a\tb", "a\u2028b", "a\u0085b", "a\u00a0b", "a\nb"]) {
      assert.ok(!isValidKeyName(bad), JSON.stringify(bad));
    }
  });
});

// --- properties ----------------------------------------------------------------------------------------

describe("properties", () => {
  const keys = Array.from({ length: 3 }, () => ed25519());
  const chars = ["a", "Z", "0", " ", "+", "/", "=", "é", "—", "\u2028", "😀", "\u00a0"];
  const line = fc.string({ unit: fc.constantFrom(...chars), maxLength: 30 });
  // Any lines (empty ones too), each ending in a newline.
  const text = fc.array(line, { minLength: 1, maxLength: 6 }).map((ls) => ls.map((l) => `${l}\n`).join(""));
  const name = fc
    .string({ unit: fc.constantFrom("a", "b", ".", "/", "-", "é", "😀", "_"), minLength: 1, maxLength: 20 })
    .filter(isValidKeyName);
  const signerSet = fc.uniqueArray(fc.tuple(name, fc.integer({ min: 0, max: 2 })), {
    minLength: 1,
    maxLength: 3,
    selector: ([n]) => n,
  });

  test("sign, serialize, parse and open round-trip; a changed text fails", () => {
    fc.assert(
      fc.property(text, signerSet, fc.nat(), (t, set, pick) => {
        const signers = set.map(([n, k]) => ed25519NoteSigner(n, keys[k]!.privateKey));
        const verifiers = set.map(([n, k]) => ed25519NoteVerifier(n, keys[k]!.publicKey));
        const s = serializeNote(signNote(t, signers));
        const parsed = parseNote(s);
        assert.equal(parsed.text, t);
        assert.equal(serializeNote(parsed), s);
        const opened = openNote(s, [verifiers[pick % verifiers.length]!]);
        assert.equal(opened.text, t);
        assert.equal(opened.verified.length, 1);
        assert.equal(opened.unverified.length, set.length - 1);
        // Any change to the text: the signature no longer verifies.
        const changed = `${t.slice(0, -1)}x\n`;
        rejects(
          () => openNote({ text: changed, signatures: parsed.signatures }, verifiers),
          "ERR_NOTE_SIGNATURE_INVALID",
        );
      }),
      { numRuns: 150 },
    );
  });

  test("vkeys round-trip", () => {
    fc.assert(
      fc.property(name, fc.integer({ min: 0, max: 2 }), fc.boolean(), (n, k, cosigner) => {
        const type = cosigner ? SIG_TYPE_COSIGNATURE_V1 : SIG_TYPE_ED25519;
        const vkey = ed25519Vkey(n, keys[k]!.publicKey, type);
        const parsed = parseVkey(vkey);
        assert.equal(formatVkey(parsed.name, parsed.type, parsed.publicKey), vkey);
        const v = noteVerifierFromVkey(vkey);
        assert.equal(v.keyId, parsed.keyId);
        assert.equal(v.name, n);
      }),
      { numRuns: 100 },
    );
  });
});

// --- vkeys -----------------------------------------------------------------------------------------------

describe("vkeys", () => {
  const { publicKey } = ed25519();
  const vkey = ed25519Vkey("w.example", publicKey);
  // The base64 part may itself contain "+".
  const split = (v: string): [string, string, string] => {
    const [n, id, ...rest] = v.split("+");
    return [n!, id!, rest.join("+")];
  };

  test("malformed vkeys are refused", () => {
    const [n, id, b64] = split(vkey);
    const flipped = (Number.parseInt(id, 16) ^ 1).toString(16).padStart(8, "0");
    for (const bad of [
      `${n}+${id}`,
      `${n}+${id}+${b64}+x`,
      `+${id}+${b64}`,
      `a b+${id}+${b64}`,
      `${n}+${id.slice(1)}+${b64}`,
      `${n}+${id}0+${b64}`,
      `${n}+xyzxyzxy+${b64}`,
      `${n}+${flipped}+${b64}`,
      `${n}+${id}+${b64.slice(0, -4)}`,
      `${n}+${id}+${b64.slice(0, -1)}-`,
      `${n}+${id}+${b64}=`,
      `${n}+${id}+AQ==`,
      "x".repeat(10000),
    ]) {
      rejects(() => parseVkey(bad), "ERR_KEY_INVALID");
    }
  });

  test("upper-case hex key IDs are read", () => {
    const [n, id, b64] = split(vkey);
    assert.equal(parseVkey(`${n}+${id.toUpperCase()}+${b64}`).keyId, parseVkey(vkey).keyId);
  });

  test("other signature types parse but have no verifier here", () => {
    // Type 0x02 (ECDSA, key ID over the SPKI): the name and ID are not derivable as for Ed25519.
    const ecdsa = `rekor.example+12345678+${Buffer.from([0x02, 1, 2, 3]).toString("base64")}`;
    assert.equal(parseVkey(ecdsa).type, 0x02);
    rejects(() => noteVerifierFromVkey(ecdsa), "ERR_KEY_INVALID");
  });

  test("the key ID depends on the signature type", () => {
    const a = parseVkey(ed25519Vkey("w.example", publicKey, SIG_TYPE_ED25519));
    const b = parseVkey(ed25519Vkey("w.example", publicKey, SIG_TYPE_COSIGNATURE_V1));
    assert.notEqual(a.keyId, b.keyId);
    assert.equal(b.keyId, noteKeyId("w.example", 0x04, rawOf(publicKey)));
    rejects(() => ed25519Vkey("w.example", publicKey, 0x02), "ERR_KEY_INVALID");
  });
});

// --- tlog-cosignature/v1 ------------------------------------------------------------------------------

describe("cosignature/v1", () => {
  const witness = ed25519();
  const stranger = ed25519();
  const T = 1_700_000_000;
  const clock = fixedClock(new Date(T * 1000));
  const cosigner = cosignatureV1Signer("witness.example/w1", witness.privateKey, clock);
  const verifier = cosignatureV1Verifier("witness.example/w1", witness.publicKey);
  const TEXT = "log.example\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

  test("a cosignature verifies and reports its time", () => {
    const n = signNote(TEXT, [cosigner]);
    const sig = n.signatures[0]!;
    assert.equal(sig.keyId, noteKeyId("witness.example/w1", 0x04, rawOf(witness.publicKey)));
    assert.equal(sig.signature.length, 72);
    assert.equal(sig.signature.readBigUInt64BE(0), BigInt(T));
    const opened = openNote(serializeNote(n), [verifier]);
    assert.deepEqual(opened.verified, [{ name: "witness.example/w1", keyId: cosigner.keyId, timestamp: T }]);
    // The same via its vkey (type 0x04).
    const v2 = noteVerifierFromVkey(
      ed25519Vkey("witness.example/w1", witness.publicKey, SIG_TYPE_COSIGNATURE_V1),
    );
    assert.equal(openNote(n, [v2]).verified[0]!.timestamp, T);
  });

  test("the signature covers the time: another time fails", () => {
    const n = signNote(TEXT, [cosigner]);
    for (const t of [T + 1, T - 1, 0]) {
      const sig = Buffer.from(n.signatures[0]!.signature);
      sig.writeBigUInt64BE(BigInt(t));
      const bad: Note = { text: TEXT, signatures: [{ ...n.signatures[0]!, signature: sig }] };
      rejects(() => openNote(bad, [verifier]), "ERR_NOTE_SIGNATURE_INVALID");
    }
  });

  test("a cosignature is not a plain Ed25519 note signature, nor the reverse", () => {
    const n = signNote(TEXT, [cosigner]);
    // A plain verifier for the same key and name has another key ID: the cosignature is unknown to it.
    rejects(
      () => openNote(n, [ed25519NoteVerifier("witness.example/w1", witness.publicKey)]),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    // Even under the cosigner's key ID, a plain signature over the text does not verify as a cosignature.
    const plain = ed25519NoteSigner("witness.example/w1", witness.privateKey).sign(Buffer.from(TEXT));
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(T));
    const posing: Note = {
      text: TEXT,
      signatures: [
        { name: "witness.example/w1", keyId: cosigner.keyId, signature: Buffer.concat([ts, plain]) },
      ],
    };
    rejects(() => openNote(posing, [verifier]), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("the wrong key fails", () => {
    const n = signNote(TEXT, [cosigner]);
    // Another key under the same name: another key ID, so the cosignature is unknown.
    rejects(
      () => openNote(n, [cosignatureV1Verifier("witness.example/w1", stranger.publicKey)]),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    // Another key posing under the witness's name and key ID: verification fails.
    const wrong = cosignatureV1Verifier("witness.example/w1", stranger.publicKey);
    const posing: NoteVerifier = { name: wrong.name, keyId: cosigner.keyId, verify: wrong.verify };
    rejects(() => openNote(n, [posing]), "ERR_NOTE_SIGNATURE_INVALID");
    // A stranger's cosignature under the witness's name and key ID.
    const forged = cosignatureV1Signer("witness.example/w1", stranger.privateKey, clock).sign(
      Buffer.from(TEXT),
    );
    const bad: Note = {
      text: TEXT,
      signatures: [{ name: cosigner.name, keyId: cosigner.keyId, signature: forged }],
    };
    rejects(() => openNote(bad, [verifier]), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("a cosignature over another text fails", () => {
    const n = signNote(TEXT, [cosigner]);
    const moved: Note = { text: TEXT.replace("\n5\n", "\n6\n"), signatures: n.signatures };
    rejects(() => openNote(moved, [verifier]), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("future times are refused when a clock is given", () => {
    const late = cosignatureV1Signer(
      "witness.example/w1",
      witness.privateKey,
      fixedClock(new Date((T + 3600) * 1000)),
    );
    const n = signNote(TEXT, [late]);
    assert.equal(openNote(n, [verifier]).verified[0]!.timestamp, T + 3600);
    const strict = cosignatureV1Verifier("witness.example/w1", witness.publicKey, { clock });
    rejects(() => openNote(n, [strict]), "ERR_NOTE_SIGNATURE_INVALID");
    const lenient = cosignatureV1Verifier("witness.example/w1", witness.publicKey, {
      clock,
      maxFutureSeconds: 7200,
    });
    assert.equal(openNote(n, [lenient]).verified.length, 1);
    // Within the default skew of 60 s.
    const soon = signNote(TEXT, [
      cosignatureV1Signer("witness.example/w1", witness.privateKey, fixedClock(new Date((T + 30) * 1000))),
    ]);
    assert.equal(openNote(soon, [strict]).verified[0]!.timestamp, T + 30);
  });

  test("malformed timestamped signatures are refused", () => {
    const n = signNote(TEXT, [cosigner]);
    const sig = n.signatures[0]!.signature;
    const huge = Buffer.from(sig);
    huge.writeBigUInt64BE(2n ** 63n - 1n);
    for (const bad of [sig.subarray(0, 71), Buffer.concat([sig, Buffer.from([0])]), huge]) {
      rejects(
        () => openNote({ text: TEXT, signatures: [{ ...n.signatures[0]!, signature: bad }] }, [verifier]),
        "ERR_NOTE_SIGNATURE_INVALID",
      );
    }
  });
});
