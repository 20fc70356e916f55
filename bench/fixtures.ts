// SPDX-License-Identifier: Apache-2.0
// Benchmark fixtures, made in a temporary directory with the reference tools so that cairn and in-toto
// verify the very same bytes: a deterministic source tree, ed25519 keys from in-toto-keygen, links from
// in-toto-run, and a three-step layout signed with in-toto 1.3.1's Python API.
import { spawnSync } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export const PYTHON = "/usr/bin/python3";
export const IN_TOTO_RUN = "/usr/bin/in-toto-run";
export const IN_TOTO_VERIFY = "/usr/bin/in-toto-verify";
export const IN_TOTO_KEYGEN = "/usr/bin/in-toto-keygen";

/** The environment for the Debian Python tools: no pyenv or virtualenv paths leaking in. */
export const pythonEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => k !== "PYTHONPATH" && k !== "PYTHONHOME" && k !== "VIRTUAL_ENV",
  ),
);

function sh(argv: string[], cwd: string, env: NodeJS.ProcessEnv = pythonEnv): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}:\n${r.stderr}`);
}

/** A cheap deterministic 32-bit mix (splitmix-style), so file sizes vary without a random source. */
function mix(i: number): number {
  let x = (i + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Writes `count` small text files under `dir`: tree/dTT/dM/fNNNNNN.txt, 100 files per leaf directory,
 * ten leaves per top directory, sizes 64 B to 4 KiB (mean about 2 KiB), content a function of the index.
 */
export function writeTree(dir: string, count: number): { files: number; bytes: number } {
  let bytes = 0;
  let made = "";
  for (let i = 0; i < count; i++) {
    const leaf = Math.floor(i / 100);
    const sub = join(dir, `d${String(Math.floor(leaf / 10)).padStart(3, "0")}`, `d${leaf % 10}`);
    if (sub !== made) {
      mkdirSync(sub, { recursive: true });
      made = sub;
    }
    const size = 64 + (mix(i) % 4033);
    const line = `file ${i} of ${count}: the quick brown fox jumps over the lazy dog ${mix(i + count)}\n`;
    const body = line.repeat(Math.ceil(size / line.length)).slice(0, size);
    writeFileSync(join(sub, `f${String(i).padStart(6, "0")}.txt`), body);
    bytes += size;
  }
  return { files: count, bytes };
}

/**
 * Writes `n` files of `size` bytes each: an AES-128-CTR keystream under a fixed key, so the content is
 * deterministic, incompressible and made at memory speed.
 */
export function writeLargeFiles(dir: string, n: number, size: number): string[] {
  mkdirSync(dir, { recursive: true });
  const chunk = Buffer.alloc(16 * 2 ** 20);
  const names: string[] = [];
  for (let f = 0; f < n; f++) {
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(f, 0);
    const cipher = createCipheriv("aes-128-ctr", Buffer.alloc(16, 0x42), iv);
    const name = `big-${f}.bin`;
    const fd = openSync(join(dir, name), "w");
    try {
      for (let left = size; left > 0; left -= chunk.length) {
        const out = cipher.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
        writeSync(fd, out);
      }
    } finally {
      closeSync(fd);
    }
    names.push(name);
  }
  return names;
}

/** ed25519 key pair made by in-toto-keygen: `<dir>/<name>` (securesystemslib JSON) and `<name>.pub`. */
export function keygen(dir: string, name: string): { priv: string; pub: string } {
  sh([IN_TOTO_KEYGEN, "-t", "ed25519", name], dir);
  return { priv: join(dir, name), pub: join(dir, `${name}.pub`) };
}

export interface TreeFixture {
  dir: string;
  /** The tree, relative to `dir` ("tree"). */
  tree: string;
  files: number;
  bytes: number;
  functionary: { priv: string; pub: string };
  owner: { priv: string; pub: string };
}

export function makeTreeFixture(dir: string, files: number): TreeFixture {
  mkdirSync(dir, { recursive: true });
  const { bytes } = writeTree(join(dir, "tree"), files);
  return {
    dir,
    tree: "tree",
    files,
    bytes,
    functionary: keygen(dir, "functionary"),
    owner: keygen(dir, "owner"),
  };
}

export interface VerifyFixture extends TreeFixture {
  layout: string;
  linkDir: string;
}

// The layout, made and signed by in-toto 1.3.1 itself. Steps:
//   clone    products = tree                  CREATE tree/*, DISALLOW *
//   build    materials = products = tree      MATCH * WITH PRODUCTS FROM clone, DISALLOW * (both)
//   package  materials = tree, product pkg.tar (tar cf)  MATCH * WITH PRODUCTS FROM build; CREATE pkg.tar
const LAYOUT_SCRIPT = `
import sys
from securesystemslib.interface import import_ed25519_privatekey_from_file, import_ed25519_publickey_from_file
from in_toto.models.layout import Layout, Step
from in_toto.models.metadata import Metablock

d = sys.argv[1]
owner = import_ed25519_privatekey_from_file(d + "/owner")
func = import_ed25519_publickey_from_file(d + "/functionary.pub")
layout = Layout()
layout.set_relative_expiration(months=1)
layout.readme = "cairn bench: clone, build, package"
layout.add_functionary_key(func)

clone = Step(name="clone")
clone.pubkeys = [func["keyid"]]
clone.expected_products = [["CREATE", "tree/*"], ["DISALLOW", "*"]]

build = Step(name="build")
build.pubkeys = [func["keyid"]]
build.expected_materials = [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "clone"], ["DISALLOW", "*"]]
build.expected_products = [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "clone"], ["DISALLOW", "*"]]

package = Step(name="package")
package.pubkeys = [func["keyid"]]
package.set_expected_command_from_string("tar cf pkg.tar tree")
package.expected_materials = [["MATCH", "*", "WITH", "PRODUCTS", "FROM", "build"], ["DISALLOW", "*"]]
package.expected_products = [["CREATE", "pkg.tar"], ["DISALLOW", "*"]]

layout.steps = [clone, build, package]
mb = Metablock(signed=layout)
mb.sign(owner)
mb.dump(d + "/root.layout")
`;

/** A tree fixture plus the three links (in-toto-run) and the signed layout (in-toto's Python API). */
export function makeVerifyFixture(t: TreeFixture): VerifyFixture {
  const links = join(t.dir, "links");
  mkdirSync(links, { recursive: true });
  const run = [IN_TOTO_RUN, "-k", t.functionary.priv, "-t", "ed25519", "-d", links, "-q"];
  sh([...run, "-n", "clone", "-p", t.tree, "-x"], t.dir);
  sh([...run, "-n", "build", "-m", t.tree, "-p", t.tree, "-x"], t.dir);
  sh([...run, "-n", "package", "-m", t.tree, "-p", "pkg.tar", "--", "tar", "cf", "pkg.tar", t.tree], t.dir);
  sh([PYTHON, "-c", LAYOUT_SCRIPT, t.dir], t.dir);
  return { ...t, layout: join(t.dir, "root.layout"), linkDir: links };
}
