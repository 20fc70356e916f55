// SPDX-License-Identifier: Apache-2.0
// The reference in-toto 1.3.1 and cairn on the same supply chains, in both directions:
// keys, layouts and links made by the reference are verified by `cairn verify`; those made by
// cairn are verified by `in-toto-verify`; and tampered variants (changed product, tampered link,
// missing link, wrong key, expired layout, threshold not met, rule violated) are refused by both.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cairn, sh, tempDir } from "../e2e/cli.js";

const PYTHON = "/usr/bin/python3";
const t = tempDir("interop-chain");
after(() => {
  if (!process.env.CAIRN_KEEP) t.cleanup();
});

// A layout spec both sides build from: functionaries by key file, rules as lists.
interface Spec {
  expires: string;
  steps: Array<{
    name: string;
    functionaries: string[];
    threshold?: number;
    cmd?: string[];
    materials?: string[][];
    products?: string[][];
  }>;
  inspect: Array<{ name: string; run: string[]; materials?: string[][]; products?: string[][] }>;
}

const baseSpec = (): Spec => ({
  expires: "2030-01-01T00:00:00Z",
  steps: [
    {
      name: "write-code",
      functionaries: ["bob"],
      cmd: ["cp", "upstream/foo.py", "foo.py"],
      products: [
        ["CREATE", "foo.py"],
        ["DISALLOW", "*"],
      ],
    },
    {
      name: "package",
      functionaries: ["carol"],
      cmd: ["tar", "czf", "foo.tar.gz", "foo.py"],
      materials: [
        ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write-code"],
        ["DISALLOW", "*"],
      ],
      products: [
        ["CREATE", "foo.tar.gz"],
        ["ALLOW", "foo.py"],
        ["DISALLOW", "*"],
      ],
    },
  ],
  inspect: [
    {
      name: "untar",
      run: ["tar", "xzf", "foo.tar.gz"],
      materials: [
        ["MATCH", "foo.tar.gz", "WITH", "PRODUCTS", "FROM", "package"],
        ["ALLOW", "*.pub"],
        ["ALLOW", "root.layout"],
        ["DISALLOW", "*"],
      ],
      products: [
        ["MATCH", "foo.py", "WITH", "PRODUCTS", "FROM", "write-code"],
        ["ALLOW", "foo.tar.gz"],
        ["ALLOW", "*.pub"],
        ["ALLOW", "root.layout"],
        ["DISALLOW", "*"],
      ],
    },
  ],
});

// Key files per functionary and side: the reference side uses in-toto-keygen keys.
const KEYTYPE: Record<string, "rsa" | "ed25519" | "ecdsa"> = {
  owner: "rsa",
  bob: "ed25519",
  carol: "ecdsa",
  mallory: "ed25519",
};

/** Builds and signs a layout with the reference's Python API. */
function referenceLayout(dir: string, spec: Spec, signer = "owner"): void {
  const script = `
import json, sys
from securesystemslib import interface
from in_toto.models.layout import Layout, Step, Inspection
from in_toto.models.metadata import Metablock
spec = json.loads(sys.argv[1]); d = sys.argv[2]; signer = sys.argv[3]
types = ${JSON.stringify(KEYTYPE)}
def pub(name):
    p = d + "/" + name + ".pub"
    t = types[name]
    if t == "rsa": return interface.import_rsa_publickey_from_file(p)
    if t == "ed25519": return interface.import_ed25519_publickey_from_file(p)
    return interface.import_ecdsa_publickey_from_file(p)
def priv(name):
    p = d + "/" + name
    t = types[name]
    if t == "rsa": return interface.import_rsa_privatekey_from_file(p)
    if t == "ed25519": return interface.import_ed25519_privatekey_from_file(p)
    return interface.import_ecdsa_privatekey_from_file(p)
layout = Layout()
layout.expires = spec["expires"]
for s in spec["steps"]:
    step = Step(name=s["name"])
    step.threshold = s.get("threshold", 1)
    for f in s["functionaries"]:
        k = pub(f)
        layout.add_functionary_key(k)
        step.pubkeys.append(k["keyid"])
    step.expected_command = s.get("cmd", [])
    step.expected_materials = s.get("materials", [])
    step.expected_products = s.get("products", [])
    layout.steps.append(step)
for i in spec["inspect"]:
    ins = Inspection(name=i["name"], run=i["run"])
    ins.expected_materials = i.get("materials", [])
    ins.expected_products = i.get("products", [])
    layout.inspect.append(ins)
layout.validate()
mb = Metablock(signed=layout)
mb.sign(priv(signer))
mb.dump(d + "/root.layout")
`;
  const r = spawnSync(PYTHON, ["-c", script, JSON.stringify(spec), dir, signer], { encoding: "utf8" });
  assert.equal(r.status, 0, `reference layout creation failed: ${r.stderr}`);
}

/** Builds and signs the same layout with `cairn layout create`. */
async function cairnLayout(dir: string, spec: Spec, signer = "owner"): Promise<void> {
  const names = new Set(spec.steps.flatMap((s) => s.functionaries));
  const desc = {
    expires: spec.expires,
    keys: Object.fromEntries([...names].map((n) => [n, `${n}.pub`])),
    steps: spec.steps.map((s) => ({
      name: s.name,
      functionaries: s.functionaries,
      threshold: s.threshold ?? 1,
      expected_command: s.cmd ?? [],
      expected_materials: s.materials ?? [],
      expected_products: s.products ?? [],
    })),
    inspect: spec.inspect.map((i) => ({
      name: i.name,
      run: i.run,
      expected_materials: i.materials ?? [],
      expected_products: i.products ?? [],
    })),
  };
  writeFileSync(join(dir, "layout.json"), JSON.stringify(desc));
  const r = await cairn(["layout", "create", "layout.json", "--key", signer, "--output", "root.layout"], dir);
  assert.equal(r.code, 0, r.stderr);
}

type Side = "reference" | "cairn";

/** Runs the two steps with the given side's tool, in `dir` (keys present there). */
async function performSteps(
  side: Side,
  dir: string,
  opts: { extraProduct?: boolean; skipPackage?: boolean } = {},
): Promise<void> {
  mkdirSync(join(dir, "upstream"), { recursive: true });
  writeFileSync(join(dir, "upstream", "foo.py"), 'print("hello")\n');
  const run = async (step: string, key: string, mats: string[], prods: string[], cmd: string[]) => {
    const args = ["-n", step, "-k", key];
    if (mats.length) args.push("-m", ...mats);
    if (prods.length) args.push("-p", ...prods);
    const r =
      side === "reference"
        ? await sh("in-toto-run", [...args, "-t", KEYTYPE[key]!, "--", ...cmd], dir)
        : await cairn(["run", ...args, "--", ...cmd], dir);
    assert.equal(r.code, 0, `${side} run ${step} failed: ${r.stderr}`);
  };
  await run("write-code", "bob", [], ["foo.py"], ["cp", "upstream/foo.py", "foo.py"]);
  if (opts.extraProduct) writeFileSync(join(dir, "extra.txt"), "sneaked in\n");
  if (!opts.skipPackage) {
    await run(
      "package",
      "carol",
      ["foo.py"],
      ["foo.tar.gz", "foo.py", ...(opts.extraProduct ? ["extra.txt"] : [])],
      ["tar", "czf", "foo.tar.gz", "foo.py"],
    );
  }
}

/** The delivery: layout, owner key, links and the tarball in a fresh directory. */
function deliver(dir: string, name: string): string {
  const out = join(t.dir, name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  for (const f of readdirSync(dir)) {
    if (f.endsWith(".link") || f === "root.layout" || f === "foo.tar.gz" || f.endsWith(".pub"))
      cpSync(join(dir, f), join(out, f));
  }
  return out;
}

async function verdicts(
  dir: string,
  layoutKey = "owner",
): Promise<{ reference: number; cairn: number; report: string }> {
  const ref = await sh(
    "in-toto-verify",
    ["-l", "root.layout", "-k", `${layoutKey}.pub`, "-t", KEYTYPE[layoutKey]!],
    dir,
  );
  // in-toto-verify leaves the untarred files behind; start cairn from the same state.
  rmSync(join(dir, "foo.py"), { force: true });
  rmSync(join(dir, "untar.link"), { force: true });
  const ours = await cairn(["verify", "-l", "root.layout", "-k", `${layoutKey}.pub`, "--link-dir", "."], dir);
  rmSync(join(dir, "foo.py"), { force: true });
  return {
    reference: ref.code,
    cairn: ours.code,
    report: `in-toto-verify:\n${ref.stderr}${ref.stdout}\ncairn:\n${ours.stdout}${ours.stderr}`,
  };
}

const keysDir = join(t.dir, "keys");

before(async () => {
  mkdirSync(keysDir);
  // Keys made by the reference tool, used by both sides.
  await Promise.all(
    Object.entries(KEYTYPE).map(async ([name, type]) => {
      const args = type === "rsa" ? ["-t", "rsa", "-b", "2048", name] : ["-t", type, name];
      const r = await sh("in-toto-keygen", args, keysDir);
      assert.equal(r.code, 0, r.stderr);
    }),
  );
});

function workDir(name: string): string {
  const d = join(t.dir, name);
  mkdirSync(d);
  for (const f of readdirSync(keysDir)) cpSync(join(keysDir, f), join(d, f));
  return d;
}

for (const [maker, stepper] of [
  ["reference", "reference"],
  ["cairn", "cairn"],
  ["reference", "cairn"],
  ["cairn", "reference"],
] as const) {
  describe(`layout by ${maker}, links by ${stepper}`, () => {
    const tag = `${maker}-${stepper}`;
    const makeLayout = (dir: string, spec: Spec, signer = "owner") =>
      maker === "reference" ? referenceLayout(dir, spec, signer) : cairnLayout(dir, spec, signer);

    it("both verifiers accept the genuine chain", async () => {
      const d = workDir(`${tag}-ok`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d);
      const v = await verdicts(deliver(d, `${tag}-ok-out`));
      assert.deepEqual([v.reference, v.cairn], [0, 0], v.report);
    });

    it("both refuse a tarball changed after packaging", async () => {
      const d = workDir(`${tag}-changed`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d);
      const out = deliver(d, `${tag}-changed-out`);
      writeFileSync(join(t.dir, "evil.py"), 'print("evil")\n');
      spawnSync("tar", ["czf", join(out, "foo.tar.gz"), "-C", t.dir, "evil.py"]);
      const v = await verdicts(out);
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse a link whose recorded product was edited", async () => {
      const d = workDir(`${tag}-tamperlink`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d);
      const out = deliver(d, `${tag}-tamperlink-out`);
      const f = readdirSync(out).find((n) => n.startsWith("package.") && n.endsWith(".link"))!;
      const doc = JSON.parse(readFileSync(join(out, f), "utf8"));
      doc.signed.products["foo.tar.gz"].sha256 = "0".repeat(64);
      writeFileSync(join(out, f), JSON.stringify(doc));
      const v = await verdicts(out);
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse a missing link", async () => {
      const d = workDir(`${tag}-missing`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d);
      const out = deliver(d, `${tag}-missing-out`);
      for (const n of readdirSync(out)) if (n.startsWith("write-code.")) rmSync(join(out, n));
      const v = await verdicts(out);
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse the layout with the wrong layout key", async () => {
      const d = workDir(`${tag}-wrongkey`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d);
      const v = await verdicts(deliver(d, `${tag}-wrongkey-out`), "mallory");
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse a layout signed by the wrong key", async () => {
      const d = workDir(`${tag}-wrongsigner`);
      await makeLayout(d, baseSpec(), "mallory");
      await performSteps(stepper, d);
      const v = await verdicts(deliver(d, `${tag}-wrongsigner-out`));
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse an expired layout", async () => {
      const d = workDir(`${tag}-expired`);
      await makeLayout(d, { ...baseSpec(), expires: "2020-01-01T00:00:00Z" });
      await performSteps(stepper, d);
      const v = await verdicts(deliver(d, `${tag}-expired-out`));
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse a step whose threshold is not met", async () => {
      const d = workDir(`${tag}-threshold`);
      const spec = baseSpec();
      spec.steps[0]!.functionaries = ["bob", "carol"];
      spec.steps[0]!.threshold = 2;
      await makeLayout(d, spec);
      await performSteps(stepper, d);
      const v = await verdicts(deliver(d, `${tag}-threshold-out`));
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });

    it("both refuse a product a rule disallows", async () => {
      const d = workDir(`${tag}-rule`);
      await makeLayout(d, baseSpec());
      await performSteps(stepper, d, { extraProduct: true });
      const v = await verdicts(deliver(d, `${tag}-rule-out`));
      assert.deepEqual([v.reference === 0, v.cairn], [false, 10], v.report);
    });
  });
}
