// SPDX-License-Identifier: Apache-2.0
// Revocation lists: strict parsing with field paths, serialize/parse round trips (property), and
// which revocation applies at which proven time (property: never before the effective time for
// "signed-after", always for "all" and for signatures with no proven time).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CairnError } from "../../core/errors.js";
import {
  findRevocation,
  parseRevocations,
  type Revocation,
  type RevokedSubject,
  revocationCode,
  serializeRevocations,
} from "./revocations.js";

const HEX = "ab".repeat(32);
const entry = (extra: Record<string, unknown> = {}) => ({
  id: "r1",
  reason: "key compromise",
  effective: "2026-12-02T14:00:00Z",
  spki_sha256: HEX,
  ...extra,
});
const doc = (revocations: unknown[], top: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ cairn_revocations: 1, revocations, ...top }));

function refused(bytes: Uint8Array, code: string, field?: string): void {
  assert.throws(
    () => parseRevocations(bytes),
    (e) => {
      assert.ok(e instanceof CairnError);
      assert.equal(e.code, code);
      if (field !== undefined) assert.equal(e.field, field);
      return true;
    },
  );
}

describe("revocation lists: parsing", () => {
  it("reads every kind of subject, with the default scope", () => {
    const list = parseRevocations(
      doc([
        entry(),
        { ...entry({ id: "r2", scope: "all" }), spki_sha256: undefined, keyid: HEX },
        { ...entry({ id: "r3" }), spki_sha256: undefined, certificate_sha256: HEX },
        { ...entry({ id: "r4" }), spki_sha256: undefined, identity: { san: "a@b", issuer: "https://i" } },
        { ...entry({ id: "r5" }), spki_sha256: undefined, spiffe_id: "spiffe://td/x" },
        { ...entry({ id: "r6" }), spki_sha256: undefined, spiffe_id_regexp: "spiffe://td/ns/.*" },
      ]),
    );
    assert.deepEqual(
      list.revocations.map((r) => [r.subject.kind, r.scope]),
      [
        ["spki_sha256", "signed-after"],
        ["keyid", "all"],
        ["certificate_sha256", "signed-after"],
        ["identity", "signed-after"],
        ["spiffe_id", "signed-after"],
        ["spiffe_id_regexp", "signed-after"],
      ],
    );
    assert.deepEqual(
      list.revocations.map((r) => revocationCode(r)),
      [
        "ERR_KEY_REVOKED",
        "ERR_KEY_REVOKED",
        "ERR_KEY_REVOKED",
        "ERR_IDENTITY_REVOKED",
        "ERR_IDENTITY_REVOKED",
        "ERR_IDENTITY_REVOKED",
      ],
    );
  });

  it("refuses malformed lists naming the field", () => {
    const R = "ERR_REVOCATION_INVALID";
    refused(Buffer.from("[]"), R, "$");
    refused(doc([], { cairn_revocations: 2 }), R, "cairn_revocations");
    refused(doc([], { extra: 1 }), R, "extra");
    refused(Buffer.from('{"cairn_revocations":1,"revocations":{}}'), R, "revocations");
    refused(doc([1]), R, "revocations[0]");
    refused(doc([entry({ effective: "2026-12-02" })]), R, "revocations[0].effective");
    refused(doc([entry({ effective: "2026-02-30T00:00:00Z" })]), R, "revocations[0].effective");
    refused(doc([entry({ scope: "before" })]), R, "revocations[0].scope");
    refused(doc([entry({ reason: "" })]), R, "revocations[0].reason");
    refused(doc([entry({ id: 7 })]), R, "revocations[0].id");
    refused(doc([entry(), entry()]), R, "revocations[1].id");
    refused(doc([entry({ spki_sha256: "AB".repeat(32) })]), R, "revocations[0].spki_sha256");
    refused(doc([entry({ keyid: HEX })]), R, "revocations[0]");
    refused(doc([{ ...entry(), spki_sha256: undefined }]), R, "revocations[0]");
    refused(doc([entry({ colour: "red" })]), R, "revocations[0].colour");
    refused(
      doc([{ ...entry(), spki_sha256: undefined, identity: { san: "a", sub: "b" } }]),
      R,
      "revocations[0].identity.sub",
    );
    refused(
      doc([{ ...entry(), spki_sha256: undefined, spiffe_id: "https://x" }]),
      R,
      "revocations[0].spiffe_id",
    );
    refused(
      doc([{ ...entry(), spki_sha256: undefined, spiffe_id_regexp: "(" }]),
      R,
      "revocations[0].spiffe_id_regexp",
    );
    refused(Buffer.from("{"), "ERR_JSON_MALFORMED");
  });

  it("bounds the number of entries", () => {
    const many = Array.from({ length: 10_001 }, (_, i) => entry({ id: `r${i}` }));
    refused(doc(many), "ERR_TUF_BOUND_EXCEEDED", "revocations");
  });
});

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));
const txt = fc.string({ minLength: 1, maxLength: 40 });
const subject: fc.Arbitrary<RevokedSubject> = fc.oneof(
  hex64.map((sha256) => ({ kind: "spki_sha256" as const, sha256 })),
  hex64.map((keyid) => ({ kind: "keyid" as const, keyid })),
  hex64.map((sha256) => ({ kind: "certificate_sha256" as const, sha256 })),
  fc.record({ san: txt }).map(({ san }) => ({ kind: "identity" as const, san })),
  fc.record({ san: txt, issuer: txt }).map(({ san, issuer }) => ({ kind: "identity" as const, san, issuer })),
  fc
    .stringMatching(/^[a-z]{1,8}(\/[a-z0-9]{1,8}){0,3}$/)
    .map((p) => ({ kind: "spiffe_id" as const, exact: `spiffe://${p}` })),
  fc
    .constantFrom("spiffe://td/.*", "spiffe://[a-z]+/ns/x")
    .map((regexp) => ({ kind: "spiffe_id_regexp" as const, regexp })),
);
const seconds = fc.integer({ min: 0, max: 4_000_000_000 });
const revocation = (id: string): fc.Arbitrary<Revocation> =>
  fc
    .record({
      reason: txt,
      effective: seconds.map((s) => new Date(s * 1000)),
      scope: fc.constantFrom("signed-after" as const, "all" as const),
      subject,
    })
    .map((r) => ({ id, ...r }));
const list = fc
  .uniqueArray(txt, { maxLength: 8 })
  .chain((ids) => fc.tuple(...ids.map((id) => revocation(id))))
  .map((revocations) => ({ revocations }));

describe("revocation lists: properties", () => {
  it("parse(serialize(list)) is the list, and serializing again gives the same bytes", () => {
    fc.assert(
      fc.property(list, (l) => {
        const bytes = serializeRevocations(l);
        const back = parseRevocations(bytes);
        assert.deepEqual(back, l);
        assert.deepEqual(serializeRevocations(back), bytes);
      }),
    );
  });

  it("a signed-after revocation applies exactly from its effective time; 'all' and unproven times always", () => {
    fc.assert(
      fc.property(revocation("r"), fc.array(seconds, { maxLength: 3 }), (r, ts) => {
        const times = ts.map((s) => new Date(s * 1000));
        const s = {
          spkiSha256: r.subject.kind === "spki_sha256" ? [r.subject.sha256] : [],
          keyids: r.subject.kind === "keyid" ? [r.subject.keyid] : [],
          certificateSha256: r.subject.kind === "certificate_sha256" ? [r.subject.sha256] : [],
          identity: {
            sans: r.subject.kind === "identity" ? [r.subject.san] : [],
            issuer: r.subject.kind === "identity" ? r.subject.issuer : undefined,
            spiffeId:
              r.subject.kind === "spiffe_id"
                ? r.subject.exact
                : r.subject.kind === "spiffe_id_regexp"
                  ? "spiffe://td/ns/x"
                  : undefined,
          },
        };
        const hit = findRevocation({ revocations: [r] }, s, times);
        const expected = r.scope === "all" || times.length === 0 || times.some((t) => t >= r.effective);
        assert.equal(hit !== undefined, expected);
        // Another subject is never refused.
        assert.equal(findRevocation({ revocations: [r] }, {}, times), undefined);
      }),
    );
  });

  it("any single-byte change to a list either parses to a valid list or is refused with a code", () => {
    fc.assert(
      fc.property(list, fc.nat(), fc.integer({ min: 0, max: 255 }), (l, at, byte) => {
        const bytes = Buffer.from(serializeRevocations(l));
        bytes[at % bytes.length] = byte;
        try {
          parseRevocations(bytes);
        } catch (e) {
          assert.ok(e instanceof CairnError, String(e));
        }
      }),
    );
  });
});
