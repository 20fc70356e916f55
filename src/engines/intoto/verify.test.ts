// SPDX-License-Identifier: Apache-2.0
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalBytes } from "../../core/canonical.js";
import { toHex } from "../../core/encoding.js";
import { parseJson } from "../../core/json.js";
import { keyIdVariants, signWith } from "../../core/keys.js";
import { keySigner } from "../../core/signer.js";
import { parseSignedDocument, signDsseDocument, signMetablock } from "../../formats/intoto/metablock.js";
import { MemoryChain, sha, testKey } from "../../testing/intoto.js";
import { type VerifyOptions, verifySupplyChain } from "./verify.js";

const owner = testKey("owner");
const bob = testKey("bob");
const carol = testKey("carol", "ecdsa");
const mallory = testKey("mallory");

function layoutObj(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: "layout",
    expires: "2030-01-01T00:00:00Z",
    readme: "",
    keys: { [bob.public.keyid]: bob.public.meta, [carol.public.keyid]: carol.public.meta },
    steps: [
      {
        _type: "step",
        name: "build",
        threshold: 1,
        pubkeys: [bob.public.keyid],
        expected_command: ["make"],
        expected_materials: [],
        expected_products: [
          ["CREATE", "app"],
          ["DISALLOW", "*"],
        ],
      },
      {
        _type: "step",
        name: "package",
        threshold: 1,
        pubkeys: [carol.public.keyid],
        expected_command: [],
        expected_materials: [
          ["MATCH", "app", "WITH", "PRODUCTS", "FROM", "build"],
          ["DISALLOW", "*"],
        ],
        expected_products: [
          ["CREATE", "app.tar"],
          ["ALLOW", "app"],
          ["DISALLOW", "*"],
        ],
      },
    ],
    inspect: [],
    ...over,
  };
}

async function chain(layout = layoutObj(), signers = [owner]) {
  const c = new MemoryChain();
  const doc = await signMetablock(layout, signers.map(keySigner));
  await c.addLink("/l", bob, { name: "build", command: ["make"], products: { app: sha("a") } });
  await c.addLink("/l", carol, {
    name: "package",
    materials: { app: sha("a") },
    products: { app: sha("a"), "app.tar": sha("b") },
  });
  const opts: VerifyOptions = { layout: parseSignedDocument(doc), layoutKeys: [owner.public], linkDir: "/l" };
  return { c, opts };
}

describe("verifySupplyChain", () => {
  it("passes a correct chain and returns the summary link", async () => {
    const { c, opts } = await chain();
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.deepEqual(Object.keys(r.summary!.products).sort(), ["app", "app.tar"]);
    assert.deepEqual(
      r.steps.map((s) => [s.name, s.verified, s.ok]),
      [
        ["build", 1, true],
        ["package", 1, true],
      ],
    );
    assert.deepEqual(r.warnings, []);
  });

  it("refuses a layout signed by another key", async () => {
    const { c, opts } = await chain(layoutObj(), [mallory]);
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, false);
    assert.equal(r.failure?.code, "ERR_LAYOUT_SIGNATURE_INVALID");
  });

  it("requires every given layout key to have signed", async () => {
    const { c, opts } = await chain();
    const r = await verifySupplyChain({ ...opts, layoutKeys: [owner.public, mallory.public] }, c.ports());
    assert.equal(r.failure?.code, "ERR_LAYOUT_SIGNATURE_INVALID");
  });

  it("refuses a layout whose signed part was changed after signing", async () => {
    const { c, opts } = await chain();
    const mb = opts.layout.format === "metablock" ? opts.layout.metablock : undefined;
    (mb!.signed.steps as Array<Record<string, unknown>>)[1]!.expected_products = [["ALLOW", "*"]];
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_LAYOUT_SIGNATURE_INVALID");
  });

  it("accepts a layout signature made under the key's modern (no keyid_hash_algorithms) id", async () => {
    const layout = layoutObj();
    const modern = keyIdVariants(owner.public.meta).modern;
    assert.notEqual(modern, owner.public.keyid);
    const doc = {
      signed: layout,
      signatures: [{ keyid: modern, sig: toHex(signWith(owner, canonicalBytes(layout))) }],
    };
    const { c, opts } = await chain();
    const r = await verifySupplyChain({ ...opts, layout: parseSignedDocument(doc) }, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
  });

  it("refuses an expired layout", async () => {
    const { c, opts } = await chain(layoutObj({ expires: "2026-01-01T00:00:00Z" }));
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_LAYOUT_EXPIRED");
    assert.equal(r.layout.expired, true);
  });

  it("refuses a chain with a missing link", async () => {
    const { c, opts } = await chain();
    c.files.delete(`/l/package.${carol.public.keyid.slice(0, 8)}.link`);
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    assert.equal(r.steps[1]!.links[0]!.status, "missing");
  });

  it("skips a link signed by an unauthorized key, then fails the threshold", async () => {
    const { c, opts } = await chain();
    // Mallory writes a link under Carol's file name.
    await c.addLink(
      "/l",
      mallory,
      { name: "package", materials: { app: sha("a") }, products: { "app.tar": sha("e") } },
      {},
    );
    const path = `/l/package.${carol.public.keyid.slice(0, 8)}.link`;
    c.files.set(path, c.files.get(`/l/package.${mallory.public.keyid.slice(0, 8)}.link`)!);
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    assert.equal(r.steps[1]!.links[0]!.status, "bad-signature");
  });

  it("refuses a link whose products were changed after signing", async () => {
    const { c, opts } = await chain();
    const path = `/l/build.${bob.public.keyid.slice(0, 8)}.link`;
    const obj = parseJson(c.files.get(path)!) as { signed: { products: Record<string, unknown> } };
    obj.signed.products.app = sha("f");
    c.files.set(path, Buffer.from(JSON.stringify(obj)));
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    assert.equal(r.steps[0]!.links[0]!.status, "bad-signature");
  });

  it("does not count a validly signed link filed under another step's name", async () => {
    const { c, opts } = await chain();
    await c.addLink("/l", bob, { name: "other", products: { app: sha("a") } }, { fileStep: "build" });
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    assert.equal(r.steps[0]!.links[0]!.status, "wrong-step");
  });

  it("reports malformed link files without crashing", async () => {
    const { c, opts } = await chain();
    c.files.set(`/l/build.${bob.public.keyid.slice(0, 8)}.link`, Buffer.from('{"signed": {'));
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    assert.equal(r.steps[0]!.links[0]!.status, "malformed");
  });

  it("enforces a threshold of two distinct functionaries, and that their links agree", async () => {
    const layout = layoutObj();
    const steps = layout.steps as Array<Record<string, unknown>>;
    steps[0]!.threshold = 2;
    steps[0]!.pubkeys = [bob.public.keyid, carol.public.keyid];
    const { c, opts } = await chain(layout);
    let r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_STEP_UNVERIFIED");
    await c.addLink("/l", carol, { name: "build", command: ["make"], products: { app: sha("a") } });
    r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    await c.addLink("/l", carol, { name: "build", command: ["make"], products: { app: sha("9") } });
    r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_LINKS_DISAGREE");
  });

  it("fails on a DISALLOW rule and does not run inspections", async () => {
    const layout = layoutObj({
      inspect: [
        { _type: "inspection", name: "check", run: ["true"], expected_materials: [], expected_products: [] },
      ],
    });
    const { c, opts } = await chain(layout);
    await c.addLink("/l", bob, {
      name: "build",
      command: ["make"],
      products: { app: sha("a"), extra: sha("c") },
    });
    let ran = false;
    const ports = {
      ...c.ports(),
      runInspection: async () => {
        ran = true;
        throw new Error("must not run");
      },
    };
    const r = await verifySupplyChain(opts, ports);
    assert.equal(r.failure?.code, "ERR_INTOTO_RULE_FAILED");
    assert.equal(ran, false);
    const failed = r.rules.find((x) => !x.ok)!;
    assert.equal(failed.name, "build");
    assert.deepEqual(failed.rules.find((x) => !x.passed)!.matched, ["extra"]);
  });

  it("fails when the packaged artifact differs from what was built (MATCH not consumed, DISALLOW catches)", async () => {
    const { c, opts } = await chain();
    await c.addLink("/l", carol, {
      name: "package",
      materials: { app: sha("d") },
      products: { "app.tar": sha("b") },
    });
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_RULE_FAILED");
  });

  it("runs inspections, fails on a non-zero exit, and checks their rules", async () => {
    const layout = layoutObj({
      inspect: [
        {
          _type: "inspection",
          name: "untar",
          run: ["tar", "xf", "app.tar"],
          expected_materials: [
            ["MATCH", "app.tar", "WITH", "PRODUCTS", "FROM", "package"],
            ["DISALLOW", "*"],
          ],
          expected_products: [["ALLOW", "*"]],
        },
      ],
    });
    const { c, opts } = await chain(layout);
    c.inspections.set("untar", {
      link: {
        _type: "link",
        name: "untar",
        command: [],
        materials: { "app.tar": sha("b") },
        products: {},
        byproducts: {},
        environment: {},
      },
      returnValue: 1,
    });
    let r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_INSPECTION_FAILED");
    c.inspections.get("untar")!.returnValue = 0;
    r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    c.inspections.get("untar")!.link.materials = { "app.tar": sha("0") };
    r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_RULE_FAILED");
  });

  it("warns, but passes, when the recorded command differs from the expected one", async () => {
    const { c, opts } = await chain();
    await c.addLink("/l", bob, { name: "build", command: ["make", "all"], products: { app: sha("a") } });
    const r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, true);
    assert.equal(r.warnings.length, 1);
    assert.match(r.steps[0]!.commandWarning!, /differs/);
  });

  it("substitutes parameters, and refuses a missing one", async () => {
    const layout = layoutObj();
    (layout.steps as Array<Record<string, unknown>>)[0]!.expected_products = [
      ["CREATE", "{ARTIFACT}"],
      ["DISALLOW", "*"],
    ];
    const { c, opts } = await chain(layout);
    let r = await verifySupplyChain({ ...opts, parameters: { ARTIFACT: "app" } }, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    r = await verifySupplyChain({ ...opts, parameters: { ARTIFACT: "other" } }, c.ports());
    assert.equal(r.failure?.code, "ERR_INTOTO_RULE_FAILED");
    r = await verifySupplyChain({ ...opts, parameters: {} }, c.ports());
    assert.equal(r.failure?.code, "ERR_PARAMETER_MISSING");
  });

  it("verifies links and layouts in the DSSE form", async () => {
    const c = new MemoryChain();
    const doc = await signDsseDocument(layoutObj(), [keySigner(owner)]);
    await c.addLink(
      "/l",
      bob,
      { name: "build", command: ["make"], products: { app: sha("a") } },
      { format: "dsse" },
    );
    await c.addLink(
      "/l",
      carol,
      { name: "package", materials: { app: sha("a") }, products: { "app.tar": sha("b") } },
      { format: "dsse" },
    );
    const r = await verifySupplyChain(
      { layout: parseSignedDocument(doc), layoutKeys: [owner.public], linkDir: "/l" },
      c.ports(),
    );
    assert.equal(r.ok, true, JSON.stringify(r.failure));
  });

  it("verifies a sublayout in <step>.<keyid8>/ and uses its summary as the step's link", async () => {
    const { c, opts } = await chain();
    // Bob delegates "build" to a sublayout he signs, with Carol doing the work.
    const sub = {
      _type: "layout",
      expires: "2030-01-01T00:00:00Z",
      readme: "",
      keys: { [carol.public.keyid]: carol.public.meta },
      steps: [
        {
          _type: "step",
          name: "compile",
          threshold: 1,
          pubkeys: [carol.public.keyid],
          expected_command: [],
          expected_materials: [],
          expected_products: [["ALLOW", "*"]],
        },
      ],
      inspect: [],
    };
    c.put(`/l/build.${bob.public.keyid.slice(0, 8)}.link`, await signMetablock(sub, [keySigner(bob)]));
    const subDir = `/l/build.${bob.public.keyid.slice(0, 8)}`;
    await c.addLink(subDir, carol, { name: "compile", products: { app: sha("a") } });
    let r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, true, JSON.stringify(r.failure));
    assert.equal(r.steps[0]!.sublayout?.ok, true);
    // The sublayout's link is missing: the step fails.
    c.files.delete(`${subDir}/compile.${carol.public.keyid.slice(0, 8)}.link`);
    r = await verifySupplyChain(opts, c.ports());
    assert.equal(r.ok, false);
    assert.equal(r.failure?.code, "ERR_INTOTO_SUBLAYOUT");
  });

  it("bounds sublayout nesting", async () => {
    const { c, opts } = await chain();
    const r = await verifySupplyChain({ ...opts, limits: { maxSublayoutDepth: 0 } }, c.ports(), 1);
    assert.equal(r.failure?.code, "ERR_INTOTO_SUBLAYOUT");
  });
});
