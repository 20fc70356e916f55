// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import fc from "fast-check";
import { fixedClock } from "../../core/clock.js";
import { CairnError } from "../../core/errors.js";
import {
  type Checkpoint,
  openCheckpoint,
  parseCheckpoint,
  serializeCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
import { hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from "./merkle.js";
import {
  cosignatureV1Signer,
  cosignatureV1Verifier,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  type Note,
  parseNote,
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

// c2sp.org/tlog-checkpoint, introduction: the example checkpoint.
const EXAMPLE_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const EXAMPLE_NOTE = `${EXAMPLE_TEXT}\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n`;

describe("tlog-checkpoint vectors", () => {
  test("the example checkpoint parses and round-trips", () => {
    const note = parseNote(EXAMPLE_NOTE);
    assert.equal(note.text, EXAMPLE_TEXT);
    const c = parseCheckpoint(note.text);
    assert.equal(c.origin, "example.com/behind-the-sofa");
    assert.equal(c.size, 20852163);
    assert.equal(
      c.rootHash.toString("hex"),
      Buffer.from("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "base64").toString("hex"),
    );
    assert.equal(c.rootHash.length, 32);
    assert.deepEqual(c.extensions, []);
    assert.equal(serializeCheckpoint(c), EXAMPLE_TEXT);
  });

  test("the example's log signature is Ed25519-sized (key ID + 64 bytes), key not given", () => {
    const sig = parseNote(EXAMPLE_NOTE).signatures[0]!;
    assert.equal(sig.name, "example.com/behind-the-sofa");
    assert.equal(sig.signature.length, 64);
  });
});

describe('parseCheckpoint is strict (tlog-checkpoint "Note text")', () => {
  const root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  test("accepted forms", () => {
    assert.equal(parseCheckpoint(`o\n0\n${root}\n`).size, 0);
    assert.equal(parseCheckpoint(`o\n9007199254740991\n${root}\n`).size, 2 ** 53 - 1);
    assert.deepEqual(parseCheckpoint(`o\n1\n${root}\nTimestamp: 1\nx y z\n`).extensions, [
      "Timestamp: 1",
      "x y z",
    ]);
    // The origin SHOULD avoid spaces and "+", but clients MUST NOT assume it does.
    assert.equal(parseCheckpoint(`my log+1\n1\n${root}\n`).origin, "my log+1");
  });

  const cases: [string, string][] = [
    ["no final newline", `o\n1\n${root}`],
    ["two lines", `o\n1\n`],
    ["an empty origin", `\n1\n${root}\n`],
    ["a leading zero", `o\n01\n${root}\n`],
    ["a plus sign", `o\n+1\n${root}\n`],
    ["a minus sign", `o\n-1\n${root}\n`],
    ["a space", `o\n 1\n${root}\n`],
    ["a decimal point", `o\n1.0\n${root}\n`],
    ["an exponent", `o\n1e3\n${root}\n`],
    ["hex", `o\n0x10\n${root}\n`],
    ["an empty size", `o\n\n${root}\n`],
    ["a size above 2^53 - 1", `o\n9007199254740992\n${root}\n`],
    ["a 17-digit size", `o\n10000000000000000\n${root}\n`],
    ["a short root", `o\n1\n${Buffer.alloc(31).toString("base64")}\n`],
    ["a long root", `o\n1\n${Buffer.alloc(33).toString("base64")}\n`],
    ["a URL-safe root", `o\n1\n${Buffer.alloc(32, 0xfb).toString("base64url")}=\n`],
    ["an unpadded root", `o\n1\n${root.slice(0, -1)}\n`],
    ["a non-canonical root (padding bits)", `o\n1\n${root.slice(0, -2)}3=\n`],
    ["a root with spaces", `o\n1\n ${root}\n`],
    ["an empty extension line", `o\n1\n${root}\n\n`],
    ["an empty line between extensions", `o\n1\n${root}\na\n\nb\n`],
    ["a carriage return", `o\r\n1\n${root}\n`],
    ["a control character in the origin", `o\u0001\n1\n${root}\n`],
    ["a lone surrogate", `o\ud800\n1\n${root}\n`],
    ["an over-long text", `o\n1\n${root}\n${"x".repeat(70000)}\n`],
  ];
  for (const [what, text] of cases) {
    test(what, () => rejects(() => parseCheckpoint(text), "ERR_TLOG_CHECKPOINT_INVALID"));
  }

  test("serializeCheckpoint refuses bad fields", () => {
    const good: Checkpoint = { origin: "o", size: 1, rootHash: Buffer.alloc(32), extensions: [] };
    serializeCheckpoint(good);
    for (const bad of [
      { ...good, origin: "" },
      { ...good, origin: "a\nb" },
      { ...good, size: -1 },
      { ...good, size: 1.5 },
      { ...good, size: 2 ** 53 },
      { ...good, rootHash: Buffer.alloc(31) },
      { ...good, extensions: [""] },
      { ...good, extensions: ["a\nb"] },
      { ...good, extensions: ["a\tb"] },
    ]) {
      rejects(() => serializeCheckpoint(bad), "ERR_TLOG_CHECKPOINT_INVALID");
    }
  });

  test("round trip (property)", () => {
    const chars = ["a", "z", ".", "/", " ", "+", "é", "—", "😀", ":"];
    const lineArb = fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 40 });
    const cp = fc.record({
      origin: lineArb,
      size: fc.maxSafeNat(),
      rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((u) => Buffer.from(u)),
      extensions: fc.array(lineArb, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(cp, (c) => {
        const text = serializeCheckpoint(c);
        assert.deepEqual(parseCheckpoint(text), { ...c });
        assert.equal(serializeCheckpoint(parseCheckpoint(text)), text);
      }),
      { numRuns: 300 },
    );
  });
});

describe("openCheckpoint: log signature and witness cosignatures", () => {
  const ORIGIN = "log.example/cairn";
  const logKeys = generateKeyPairSync("ed25519");
  const w1Keys = generateKeyPairSync("ed25519");
  const w2Keys = generateKeyPairSync("ed25519");
  const T = 1_700_000_000;
  const clock = fixedClock(new Date(T * 1000));
  const logSigner = ed25519NoteSigner(ORIGIN, logKeys.privateKey);
  const log = ed25519NoteVerifier(ORIGIN, logKeys.publicKey);
  const w1Signer = cosignatureV1Signer("witness.example/w1", w1Keys.privateKey, clock);
  const w1 = cosignatureV1Verifier("witness.example/w1", w1Keys.publicKey);
  const w2Signer = cosignatureV1Signer("witness.example/w2", w2Keys.privateKey, clock);
  const w2 = cosignatureV1Verifier("witness.example/w2", w2Keys.publicKey);

  const tree = new MerkleTree();
  for (let i = 0; i < 1000; i++) tree.appendData(Buffer.from(`entry ${i}`));
  const cp: Checkpoint = { origin: ORIGIN, size: 1000, rootHash: tree.rootHash(), extensions: [] };
  const signed = signCheckpoint(cp, [logSigner]);
  const cosigned = signNote(signed, [w1Signer, w2Signer]);

  test("the log's signature alone", () => {
    const v = openCheckpoint(serializeNote(signed), { log, origin: ORIGIN });
    assert.deepEqual(v.checkpoint, cp);
    assert.deepEqual(v.cosignatures, []);
    // The verified checkpoint anchors inclusion and consistency proofs.
    verifyInclusion(
      hashLeaf(Buffer.from("entry 123")),
      123,
      v.checkpoint.size,
      tree.inclusionProof(123),
      v.checkpoint.rootHash,
    );
    verifyConsistency(
      500,
      v.checkpoint.size,
      tree.consistencyProof(500),
      tree.rootHash(500),
      v.checkpoint.rootHash,
    );
  });

  test("cosignatures by given witnesses are verified and reported with their times", () => {
    const v = openCheckpoint(serializeNote(cosigned), { log, witnesses: [w1, w2], minWitnesses: 2 });
    assert.deepEqual(v.cosignatures, [
      { name: "witness.example/w1", keyId: w1.keyId, timestamp: T },
      { name: "witness.example/w2", keyId: w2.keyId, timestamp: T },
    ]);
    // Witnesses the caller does not know are ignored.
    const only1 = openCheckpoint(cosigned, { log, witnesses: [w1] });
    assert.deepEqual(
      only1.cosignatures.map((c) => c.name),
      ["witness.example/w1"],
    );
    assert.equal(only1.note.unverified.length, 1);
    assert.equal(openCheckpoint(cosigned, { log }).cosignatures.length, 0);
  });

  test("too few witnesses", () => {
    rejects(
      () => openCheckpoint(signed, { log, witnesses: [w1], minWitnesses: 1 }),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    rejects(
      () => openCheckpoint(cosigned, { log, witnesses: [w1], minWitnesses: 2 }),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
  });

  test("a cosignature with the wrong time rejects the checkpoint", () => {
    const sigs = cosigned.signatures.map((s) => {
      if (s.name !== "witness.example/w1") return s;
      const b = Buffer.from(s.signature);
      b.writeBigUInt64BE(BigInt(T + 1));
      return { ...s, signature: b };
    });
    const bad: Note = { text: cosigned.text, signatures: sigs };
    rejects(() => openCheckpoint(bad, { log, witnesses: [w1] }), "ERR_NOTE_SIGNATURE_INVALID");
    // A caller who does not trust w1 ignores its line.
    assert.equal(openCheckpoint(bad, { log, witnesses: [w2] }).cosignatures.length, 1);
  });

  test("a cosignature checked with the wrong key does not count (or fails when it poses as the witness)", () => {
    const wrong = cosignatureV1Verifier("witness.example/w1", w2Keys.publicKey);
    rejects(
      () => openCheckpoint(cosigned, { log, witnesses: [wrong], minWitnesses: 1 }),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    const posing = { name: wrong.name, keyId: w1.keyId, verify: wrong.verify };
    rejects(() => openCheckpoint(cosigned, { log, witnesses: [posing] }), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("a witness cosignature over another checkpoint does not carry over", () => {
    const other = signCheckpoint({ ...cp, size: 999, rootHash: tree.rootHash(999) }, [logSigner]);
    const moved: Note = {
      text: other.text,
      signatures: [...other.signatures, ...cosigned.signatures.slice(1)],
    };
    rejects(() => openCheckpoint(moved, { log, witnesses: [w1, w2] }), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("no log signature: refused even with valid cosignatures", () => {
    const witnessOnly: Note = { text: cosigned.text, signatures: cosigned.signatures.slice(1) };
    rejects(() => openCheckpoint(witnessOnly, { log, witnesses: [w1, w2] }), "ERR_NOTE_SIGNATURE_INVALID");
    const otherLog = generateKeyPairSync("ed25519");
    rejects(
      () => openCheckpoint(cosigned, { log: ed25519NoteVerifier(ORIGIN, otherLog.publicKey) }),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
  });

  test("a changed size or root breaks the log signature", () => {
    const text = serializeNote(signed);
    rejects(
      () => openCheckpoint(text.replace("\n1000\n", "\n1001\n"), { log }),
      "ERR_NOTE_SIGNATURE_INVALID",
    );
    const rootB64 = cp.rootHash.toString("base64");
    const otherRoot = tree.rootHash(999).toString("base64");
    rejects(() => openCheckpoint(text.replace(rootB64, otherRoot), { log }), "ERR_NOTE_SIGNATURE_INVALID");
  });

  test("the wrong origin, or a signed text that is not a checkpoint", () => {
    rejects(() => openCheckpoint(signed, { log, origin: "log.example/other" }), "ERR_TLOG_ORIGIN_MISMATCH");
    const notCp = serializeNote(signNote("hello\n", [logSigner]));
    rejects(() => openCheckpoint(notCp, { log }), "ERR_TLOG_CHECKPOINT_INVALID");
  });

  test("malformed notes", () => {
    rejects(() => openCheckpoint(EXAMPLE_TEXT, { log }), "ERR_NOTE_MALFORMED");
    rejects(
      () => openCheckpoint(serializeNote(cosigned), { log, limits: { maxSignatures: 2 } }),
      "ERR_NOTE_MALFORMED",
    );
  });
});
