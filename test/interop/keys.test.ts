// SPDX-License-Identifier: Apache-2.0
// Keys against the reference tools: in-toto-keygen (in-toto 1.3.1) makes keys that cairn must load with
// the reference's key ids; securesystemslib 0.26 makes encrypted keys, imports the files cairn exports,
// and checks signatures both ways. One in-toto-keygen process per key type and one Python process in all.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CairnError } from "../../src/core/errors.js";
import {
  exportKeyFiles,
  generateKey,
  keyIdVariants,
  type PrivateKey,
  parsePrivateKey,
  parsePublicKey,
  publicKeyFromKeyObject,
  type Scheme,
  signWith,
  verifyWith,
} from "../../src/core/keys.js";
import { pythonEnv, referenceMissing, runPythonAsync } from "../../src/testing/python.js";

const KEYGEN = "/usr/bin/in-toto-keygen";

const missing =
  referenceMissing("securesystemslib.interface, in_toto") ??
  (spawnSync(KEYGEN, ["--version"], { env: pythonEnv }).status === 0 ? undefined : "needs in-toto-keygen");

function keygen(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(KEYGEN, args, { cwd, env: pythonEnv, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.setEncoding("utf8").on("data", (d) => {
      err += d;
    });
    p.on("error", reject);
    p.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`in-toto-keygen ${args}: ${code} ${err}`)),
    );
  });
}

// What the one Python process does; every value the tests compare against comes from here.
const REFERENCE_SCRIPT = `
import hashlib, json, os, sys
from securesystemslib import formats, interface, keys

req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
d = req["dir"]
data = bytes.fromhex(req["data"])
out = {}

def modern_id(k):
    meta = keys.format_keyval_to_metadata(k["keytype"], k["scheme"], {"public": k["keyval"]["public"]})
    del meta["keyid_hash_algorithms"]
    return hashlib.sha256(formats.encode_canonical(meta).encode("utf-8")).hexdigest()

def ids(k):
    return {"legacy": keys._get_keyid(k["keytype"], k["scheme"], {"public": k["keyval"]["public"]}), "modern": modern_id(k)}

# 1. Keys made by in-toto-keygen.
rsa_pub = interface.import_rsa_publickey_from_file(os.path.join(d, "kg-rsa.pub"))
ed_pub = interface.import_ed25519_publickey_from_file(os.path.join(d, "kg-ed25519.pub"))
ec_pub = interface.import_ecdsa_publickey_from_file(os.path.join(d, "kg-ecdsa.pub"))
out["keygen"] = {
    "rsa": {"keyid": rsa_pub["keyid"], "ids": ids(rsa_pub)},
    "ed25519": {"keyid": ed_pub["keyid"], "ids": ids(ed_pub)},
    "ecdsa": {"keyid": ec_pub["keyid"], "ids": ids(ec_pub)},
}

# 2. Encrypted keys made by securesystemslib, and signatures made with them.
pw = req["password"]
made = {}
interface.generate_and_write_rsa_keypair(password=pw, filepath=os.path.join(d, "ss-rsa"), bits=2048)
interface.generate_and_write_ed25519_keypair(password=pw, filepath=os.path.join(d, "ss-ed25519"))
interface.generate_and_write_ecdsa_keypair(password=pw, filepath=os.path.join(d, "ss-ecdsa"))
ss_rsa = interface.import_rsa_privatekey_from_file(os.path.join(d, "ss-rsa"), password=pw)
ss_ed = interface.import_ed25519_privatekey_from_file(os.path.join(d, "ss-ed25519"), password=pw)
ss_ec = interface.import_ecdsa_privatekey_from_file(os.path.join(d, "ss-ecdsa"), password=pw)
ss_rsa_pub = interface.import_rsa_publickey_from_file(os.path.join(d, "ss-rsa.pub"))
sigs = {}
for name, k in (("rsa", ss_rsa), ("ed25519", ss_ed), ("ecdsa", ss_ec)):
    sigs[name] = keys.create_signature(k, data)["sig"]
pkcs = dict(ss_rsa, scheme="rsa-pkcs1v15-sha256")
sigs["rsa-pkcs1v15-sha256"] = keys.create_signature(pkcs, data)["sig"]
out["sslib"] = {
    "keyids": {"rsa": ss_rsa["keyid"], "rsa_pub": ss_rsa_pub["keyid"], "ed25519": ss_ed["keyid"], "ecdsa": ss_ec["keyid"]},
    "sigs": sigs,
}

# 3. Files cairn exported, imported by securesystemslib.
importers = {
    "rsa": (interface.import_rsa_privatekey_from_file, interface.import_rsa_publickey_from_file),
    "ed25519": (interface.import_ed25519_privatekey_from_file, interface.import_ed25519_publickey_from_file),
    "ecdsa": (interface.import_ecdsa_privatekey_from_file, interface.import_ecdsa_publickey_from_file),
}
imported = {}
for e in req["exported"]:
    priv_imp, pub_imp = importers[e["type"]]
    p = os.path.join(d, e["name"])
    imported[e["name"]] = {
        "plain": priv_imp(p)["keyid"],
        "encrypted": priv_imp(p + ".enc", password=pw)["keyid"],
        "public": pub_imp(p + ".pub")["keyid"],
    }
out["imported"] = imported

# 4. Signatures cairn made, verified by securesystemslib (and the same signature over other data).
verified = []
for v in req["verify"]:
    k = v["key"]
    sig = {"keyid": k["keyid"], "sig": v["sig"]}
    verified.append([keys.verify_signature(k, sig, data), keys.verify_signature(k, sig, data + b"x")])
out["verified"] = verified

sys.stdout.write(json.dumps(out))
`;

interface Reference {
  keygen: Record<"rsa" | "ed25519" | "ecdsa", { keyid: string; ids: { legacy: string; modern: string } }>;
  sslib: { keyids: Record<string, string>; sigs: Record<string, string> };
  imported: Record<string, { plain: string; encrypted: string; public: string }>;
  verified: [boolean, boolean][];
}

const PASSWORD = "pässwörd 🔑";
const DATA = Buffer.from("in-toto interop: signed bytes\n");

let dir: string;
let ref: Reference;
const cairnKeys: Record<"rsa" | "ed25519" | "ecdsa", PrivateKey> = {} as never;
/** Signatures cairn made, in the order sent to Python. */
const cairnSigs: { label: string; key: PrivateKey }[] = [];

function withScheme(k: PrivateKey, scheme: Scheme): PrivateKey {
  return { key: k.key, public: publicKeyFromKeyObject(k.key, scheme) };
}

const read = (name: string) => readFileSync(join(dir, name), "utf8");

describe("keys interoperate with in-toto-keygen and securesystemslib", () => {
  it("has the reference tools (scripts/test.sh installs them)", () => assert.equal(missing, undefined));
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-keys-interop-"));
    const keygens = Promise.all([
      keygen(["-t", "rsa", "-b", "2048", "kg-rsa"], dir),
      keygen(["-t", "ed25519", "kg-ed25519"], dir),
      keygen(["-t", "ecdsa", "kg-ecdsa"], dir),
    ]);

    cairnKeys.rsa = generateKey("rsa", { bits: 2048 });
    cairnKeys.ed25519 = generateKey("ed25519");
    cairnKeys.ecdsa = generateKey("ecdsa");
    const exported = Object.entries(cairnKeys).map(([type, k]) => {
      const name = `cairn-${type}`;
      const plain = exportKeyFiles(k);
      writeFileSync(join(dir, name), plain.privateText);
      writeFileSync(join(dir, `${name}.pub`), plain.publicText);
      writeFileSync(join(dir, `${name}.enc`), exportKeyFiles(k, PASSWORD).privateText);
      return { type, name };
    });

    cairnSigs.push(
      { label: "ed25519", key: cairnKeys.ed25519 },
      { label: "ecdsa-sha2-nistp256", key: cairnKeys.ecdsa },
      { label: "rsassa-pss-sha256", key: cairnKeys.rsa },
      { label: "rsa-pkcs1v15-sha256", key: withScheme(cairnKeys.rsa, "rsa-pkcs1v15-sha256") },
      { label: "rsassa-pss-sha512", key: withScheme(cairnKeys.rsa, "rsassa-pss-sha512") },
      { label: "ecdsa-sha2-nistp384", key: generateKey("ecdsa", { curve: "P-384" }) },
    );
    const verify = cairnSigs.map(({ key }) => ({
      key: { ...key.public.meta, keyid: key.public.keyid },
      sig: signWith(key, DATA).toString("hex"),
    }));

    await keygens;
    ref = (await runPythonAsync(REFERENCE_SCRIPT, {
      dir,
      data: DATA.toString("hex"),
      password: PASSWORD,
      exported,
      verify,
    })) as Reference;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("keys made by in-toto-keygen", () => {
    for (const type of ["rsa", "ed25519", "ecdsa"] as const) {
      it(`${type}: public and private files load with the reference key id`, () => {
        const pub = parsePublicKey(read(`kg-${type}.pub`), `kg-${type}.pub`);
        const priv = parsePrivateKey(read(`kg-${type}`), { file: `kg-${type}` });
        const expected = ref.keygen[type].keyid;
        assert.equal(pub.keyid, expected);
        assert.equal(priv.public.keyid, expected);
        if (type !== "rsa") {
          // in-toto-keygen writes the id into the JSON private key file, too.
          assert.equal(JSON.parse(read(`kg-${type}`)).keyid, expected);
        }
        // A signature made with the loaded private key verifies with the loaded public key.
        assert.equal(verifyWith(pub, DATA, signWith(priv, DATA)), true);
      });

      it(`${type}: keyIdVariants gives securesystemslib's legacy and modern ids`, () => {
        const pub = parsePublicKey(read(`kg-${type}.pub`));
        assert.deepEqual(keyIdVariants(pub.meta), ref.keygen[type].ids);
        assert.equal(ref.keygen[type].ids.legacy, ref.keygen[type].keyid);
        // Without keyid_hash_algorithms in the object, the variants are the same.
        const { keyid_hash_algorithms: _drop, ...bare } = pub.meta;
        assert.deepEqual(keyIdVariants(bare as typeof pub.meta), ref.keygen[type].ids);
      });
    }
  });

  describe("encrypted keys made by securesystemslib", () => {
    const files = { rsa: "ss-rsa", ed25519: "ss-ed25519", ecdsa: "ss-ecdsa" } as const;
    for (const [type, name] of Object.entries(files)) {
      it(`${type}: loads with the right passphrase and the reference key id`, () => {
        const priv = parsePrivateKey(read(name), { passphrase: PASSWORD, file: name });
        assert.equal(priv.public.keyid, ref.sslib.keyids[type]);
        assert.equal(
          parsePublicKey(read(`${name}.pub`)).keyid,
          ref.sslib.keyids[type === "rsa" ? "rsa_pub" : type],
        );
      });

      it(`${type}: refuses a wrong or missing passphrase with ERR_KEY_PASSPHRASE`, () => {
        for (const passphrase of [undefined, "wrong", "", PASSWORD.normalize("NFD")]) {
          assert.throws(
            () =>
              parsePrivateKey(
                read(name),
                passphrase === undefined ? { file: name } : { passphrase, file: name },
              ),
            (e: unknown) => e instanceof CairnError && e.code === "ERR_KEY_PASSPHRASE" && e.file === name,
            `passphrase ${JSON.stringify(passphrase)}`,
          );
        }
      });
    }

    it("the RSA key is a traditional PEM with Proc-Type and DEK-Info headers", () => {
      assert.match(
        read("ss-rsa"),
        /^-----BEGIN RSA PRIVATE KEY-----\r?\nProc-Type: 4,ENCRYPTED\r?\nDEK-Info: /,
      );
    });

    it("signatures securesystemslib made verify with cairn (and not over other data)", () => {
      const cases: [string, string, Scheme | undefined][] = [
        ["ed25519", "ss-ed25519.pub", undefined],
        ["ecdsa", "ss-ecdsa.pub", undefined],
        ["rsa", "ss-rsa.pub", undefined],
        ["rsa-pkcs1v15-sha256", "ss-rsa.pub", "rsa-pkcs1v15-sha256"],
      ];
      for (const [label, file, scheme] of cases) {
        const pub = parsePublicKey(read(file), file, scheme);
        const sig = Buffer.from(ref.sslib.sigs[label]!, "hex");
        assert.equal(verifyWith(pub, DATA, sig), true, label);
        assert.equal(verifyWith(pub, Buffer.concat([DATA, Buffer.from("x")]), sig), false, label);
      }
    });
  });

  describe("keys cairn exports", () => {
    for (const type of ["rsa", "ed25519", "ecdsa"] as const) {
      it(`${type}: plain, encrypted and public files load in securesystemslib with cairn's key id`, () => {
        const got = ref.imported[`cairn-${type}`]!;
        const id = cairnKeys[type].public.keyid;
        assert.deepEqual(got, { plain: id, encrypted: id, public: id });
      });
    }
  });

  describe("signatures cairn makes", () => {
    it("verify with securesystemslib.keys.verify_signature, and fail over other data", () => {
      assert.equal(ref.verified.length, cairnSigs.length);
      cairnSigs.forEach(({ label }, i) => {
        assert.deepEqual(ref.verified[i], [true, false], label);
      });
    });
  });
});
