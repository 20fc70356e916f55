// SPDX-License-Identifier: Apache-2.0
// cairn's main job end to end, on embedded defaults (SQLite, an OCI image layout on disk, local
// keys), in a temporary directory, with no network but 127.0.0.1:
//  1. in-toto: Alice (project owner) signs a layout; Bob clones the project; Carol updates its
//     version and packages it; `cairn verify` checks the chain, with an inspection that unpacks
//     the tarball.
//  2. OCI: the package becomes an image in an OCI image layout (oci:DIR:TAG); Carol signs it and
//     attests its SLSA provenance; `cairn oci tree`, `verify` and `verify-attestation` check it.
//  3. Sigstore: Carol signs the tarball into a Sigstore bundle; `cairn verify-blob` checks it.
//  4. The transparency log: `cairn serve` (SQLite) logs the provenance and the package signature;
//     `cairn log search` answers "what do we know about this image", `cairn log verify` checks
//     inclusion offline.
//  5. Refusals: a tampered package, a swapped image with a moved signature, an image signed by
//     someone else, a tampered tarball against its bundle and against the log.
// Prints a summary of every check with its exit code; exits 0 only when every genuine check
// passed and every tampered one was refused.
// Flags: --keep keeps the temporary directory; --spawn runs every command as its own cairn process
// (demo/commands.ts).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { ATTESTATION_TAG_SUFFIX, cosignTag, SIGNATURE_TAG_SUFFIX } from "../src/engines/oci/attached.js";
import {
  descriptorOf,
  digestOf,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  newImageManifest,
  type OciDigest,
} from "../src/formats/oci/index.js";
import { newProvenanceV1, SLSA_PROVENANCE_V1 } from "../src/formats/slsa/index.js";
import { OciLayout } from "../src/runtime/oci-layout.js";
import {
  cairn,
  intotoVerify,
  keyGenerate,
  layoutCreate,
  logGet,
  logSearch,
  logUpload,
  logVerify,
  ociAttest,
  ociSign,
  ociTree,
  ociVerify,
  ociVerifyAttestation,
  type Ran,
  type Server,
  serve,
  signBlob,
  trustRoot,
  verifyBlob,
} from "./commands.js";

const keep = process.argv.includes("--keep");
const root = mkdtempSync(join(tmpdir(), "cairn-demo-"));
const hasGit = spawnSync("git", ["--version"]).status === 0;
const started = Date.now();

function sh(cwd: string, cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" },
  });
  return { status: r.status ?? 1, out: r.stdout + r.stderr };
}

function heading(t: string): void {
  console.log(`\n=== ${t} ===`);
}

function say(t: string): void {
  console.log(`\n# ${t}`);
}

/** One verification of the story: a genuine one must pass (exit 0), a tampered one be refused. */
interface Check {
  what: string;
  ran: Ran;
  /** The error code a refusal must carry; undefined for a genuine check (exit 0). */
  refusal?: string;
  /** For a genuine check: what else must hold besides exit 0. */
  holds?: boolean;
  /** What a pass is called, default "verified". */
  done?: string;
}
const checks: Check[] = [];

function expectPass(what: string, ran: Ran, holds = true, done = "verified"): Ran {
  checks.push({ what, ran, holds, done });
  return ran;
}

function expectRefusal(what: string, code: string, ran: Ran): Ran {
  checks.push({ what, ran, refusal: code });
  return ran;
}

function passed(c: Check): boolean {
  if (c.refusal === undefined) return c.ran.status === 0 && c.holds !== false;
  // cairn verify prints its report, with the code, on stdout; the other commands on stderr.
  return c.ran.status === 10 && (c.ran.stdout + c.ran.stderr).includes(c.refusal);
}

function summary(): boolean {
  heading("Summary");
  for (const [title, group] of [
    ["genuine: must pass (exit 0)", checks.filter((c) => c.refusal === undefined)],
    ["tampered: must be refused (exit 10)", checks.filter((c) => c.refusal !== undefined)],
  ] as const) {
    console.log(title);
    for (const c of group) {
      const verdict =
        c.ran.status === 0
          ? (c.done ?? "verified")
          : `refused: ${/ERR_[A-Z0-9_]+/.exec(c.ran.stdout + c.ran.stderr)?.[0] ?? "no code"}`;
      const want = c.refusal === undefined ? "" : ` (expected: refused with ${c.refusal})`;
      const mark = passed(c) ? "ok  " : "FAIL";
      console.log(`  ${mark}  ${c.what}: exit ${c.ran.status} (${verdict})${passed(c) ? "" : want}`);
    }
  }
  return checks.length > 0 && checks.every(passed);
}

/**
 * An OCI image in the layout at `dir`, tagged `tag`, whose one layer is the gzipped tarball
 * (built with cairn's library: formats/oci for the manifest, runtime/oci-layout for the store).
 */
async function buildImage(dir: string, tarball: Buffer, tag: string): Promise<OciDigest> {
  const layout = await OciLayout.init(dir);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      // image-spec config.md: diff_ids are the digests of the uncompressed layers.
      rootfs: { type: "layers", diff_ids: [digestOf(gunzipSync(tarball))] },
      config: { WorkingDir: "/demo-project", Cmd: ["python3", "foo.py"] },
    }),
  );
  await layout.putBlob(tarball);
  await layout.putBlob(config);
  const m = newImageManifest({
    config: descriptorOf(config, MEDIA_TYPE_OCI_CONFIG),
    layers: [descriptorOf(tarball, MEDIA_TYPE_OCI_LAYER_GZIP)],
    annotations: { "org.opencontainers.image.title": "demo-project" },
  });
  await layout.putManifest(m.bytes, { tag });
  return m.digest;
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let server: Server | undefined;
console.log(`working in ${root}`);
try {
  const dirs = Object.fromEntries(
    ["owner", "bob", "carol", "final", "upstream", "release", "mallory"].map((n) => [n, join(root, n)]),
  );
  for (const d of Object.values(dirs)) mkdirSync(d);

  heading("1. in-toto: keys. Alice owns the project, Bob and Carol are functionaries");
  await keyGenerate(dirs.owner!, "alice", "ed25519");
  await keyGenerate(dirs.bob!, "bob", "ed25519");
  // ECDSA P-256: the key cosign and skopeo check image signatures with.
  await keyGenerate(dirs.carol!, "carol", "ecdsa");
  cpSync(join(dirs.bob!, "bob.pub"), join(dirs.owner!, "bob.pub"));
  cpSync(join(dirs.carol!, "carol.pub"), join(dirs.owner!, "carol.pub"));

  // The upstream repository Bob clones (a local one: the demo needs no network).
  const upstream = join(dirs.upstream!, "demo-project");
  mkdirSync(upstream);
  writeFileSync(join(upstream, "foo.py"), 'VERSION = "foo-v0"\nprint("Hello in-toto")\n');
  if (hasGit) {
    sh(upstream, "git", ["init", "-q"]);
    sh(upstream, "git", ["add", "foo.py"]);
    sh(upstream, "git", [
      "-c",
      "user.name=demo",
      "-c",
      "user.email=demo@example.com",
      "commit",
      "-qm",
      "initial",
    ]);
  }
  const cloneCmd = hasGit ? ["git", "clone", "-q", upstream] : ["cp", "-r", upstream, "."];

  heading("1. in-toto: Alice writes the layout and signs it");
  const desc = `# The supply chain of demo-project
expires: 1y
readme: "Bob clones, Carol updates the version and packages; the tarball must hold exactly what Carol changed"
keys:
  bob: bob.pub
  carol: carol.pub
steps:
  - name: clone
    functionaries: [bob]
    expected_command: [${cloneCmd.map((c) => JSON.stringify(c)).join(", ")}]
    expected_products:
      - CREATE demo-project/foo.py
      - ALLOW demo-project/.git/*
      - DISALLOW *
  - name: update-version
    functionaries: [carol]
    expected_materials:
      - MATCH demo-project/* WITH PRODUCTS FROM clone
      - DISALLOW *
    expected_products:
      - MODIFY demo-project/foo.py
      - ALLOW demo-project/*
      - DISALLOW *
  - name: package
    functionaries: [carol]
    expected_command: [tar, --exclude, .git, -zcvf, demo-project.tar.gz, demo-project]
    expected_materials:
      - MATCH demo-project/* WITH PRODUCTS FROM update-version
      - DISALLOW *
    expected_products:
      - CREATE demo-project.tar.gz
      - ALLOW demo-project/*
      - DISALLOW *
inspect:
  - name: untar
    run: [tar, xzf, demo-project.tar.gz]
    expected_materials:
      - MATCH demo-project.tar.gz WITH PRODUCTS FROM package
      - ALLOW *.pub
      - ALLOW root.layout
      - ALLOW *.link
      - DISALLOW *
    expected_products:
      - MATCH demo-project/foo.py WITH PRODUCTS FROM update-version
      - ALLOW demo-project.tar.gz
      - ALLOW *.pub
      - ALLOW root.layout
      - ALLOW *.link
      - DISALLOW *
`;
  writeFileSync(join(dirs.owner!, "layout.yaml"), desc);
  console.log(desc);
  await layoutCreate(dirs.owner!, "layout.yaml", "alice", "root.layout");

  heading("1. in-toto: Bob clones the project, recording what he produced");
  await cairn(dirs.bob!, [
    "run",
    "--step-name",
    "clone",
    "--key",
    "bob",
    "--products",
    "demo-project",
    "--",
    ...cloneCmd,
  ]);
  cpSync(join(dirs.bob!, "demo-project"), join(dirs.carol!, "demo-project"), { recursive: true });

  heading("1. in-toto: Carol updates the version (not one command: record start / stop)");
  await cairn(dirs.carol!, [
    "record",
    "start",
    "--step-name",
    "update-version",
    "--key",
    "carol",
    "--materials",
    "demo-project",
  ]);
  writeFileSync(join(dirs.carol!, "demo-project", "foo.py"), 'VERSION = "foo-v1"\nprint("Hello in-toto")\n');
  await cairn(dirs.carol!, [
    "record",
    "stop",
    "--step-name",
    "update-version",
    "--key",
    "carol",
    "--products",
    "demo-project",
  ]);

  heading("1. in-toto: Carol packages it");
  await cairn(dirs.carol!, [
    "run",
    "--step-name",
    "package",
    "--key",
    "carol",
    "--materials",
    "demo-project",
    "--products",
    "demo-project.tar.gz",
    "demo-project",
    "--",
    "tar",
    "--exclude",
    ".git",
    "-zcvf",
    "demo-project.tar.gz",
    "demo-project",
  ]);

  heading("1. in-toto: the client verifies the delivered tarball against Alice's layout");
  const final = dirs.final!;
  for (const [from, f] of [
    [dirs.owner!, "root.layout"],
    [dirs.owner!, "alice.pub"],
    [dirs.carol!, "demo-project.tar.gz"],
  ] as const)
    cpSync(join(from, f), join(final, f));
  for (const [from, step] of [
    [dirs.bob!, "clone"],
    [dirs.carol!, "update-version"],
    [dirs.carol!, "package"],
  ] as const) {
    for (const f of readdirSync(from).filter((n) => n.startsWith(`${step}.`) && n.endsWith(".link"))) {
      cpSync(join(from, f), join(final, f));
    }
  }
  expectPass(
    "genuine package, in-toto supply chain (cairn verify)",
    await intotoVerify(final, "root.layout", "alice.pub", "."),
  );

  heading("2. OCI: the package becomes an image in an OCI image layout on disk");
  const release = dirs.release!;
  const tarball = readFileSync(join(dirs.carol!, "demo-project.tar.gz"));
  writeFileSync(join(release, "demo-project.tar.gz"), tarball);
  cpSync(join(dirs.carol!, "carol.pub"), join(release, "carol.pub"));
  const carolKey = join("..", "carol", "carol");
  const image = "oci:image:v1";
  const identity = "example.com/demo-project";
  const imageDigest = await buildImage(join(release, "image"), tarball, "v1");
  say(`cairn's library wrote ${image}: one layer, the tarball; the image is ${imageDigest}`);
  await ociSign(release, image, carolKey, identity);
  // SLSA provenance v1: the image was built from the tarball the in-toto layout verified.
  const provenance = newProvenanceV1({
    buildType: "https://example.com/demo-project/package/v1",
    builderId: "https://example.com/builders/carol",
    externalParameters: { layout: "root.layout", steps: ["clone", "update-version", "package"] },
    resolvedDependencies: [
      { name: "demo-project.tar.gz", digest: { sha256: sha256(tarball) } },
      { name: "root.layout", digest: { sha256: sha256(readFileSync(join(final, "root.layout"))) } },
    ],
  });
  writeFileSync(join(release, "provenance.json"), `${JSON.stringify(provenance, null, 2)}\n`);
  say(
    `provenance.json (SLSA v1): built from ${provenance.buildDefinition.resolvedDependencies!.map((d) => `${d.name} sha256:${d.digest?.sha256?.slice(0, 12)}…`).join(" and ")}`,
  );
  await ociAttest(release, image, carolKey, "provenance.json", SLSA_PROVENANCE_V1);
  await ociTree(release, image);
  say("the client checks the image's signatures and its provenance with Carol's public key");
  expectPass(
    "genuine image signatures (cairn oci verify)",
    await ociVerify(release, image, "carol.pub", identity),
  );
  expectPass(
    "genuine image provenance (cairn oci verify-attestation)",
    await ociVerifyAttestation(release, image, "carol.pub", SLSA_PROVENANCE_V1),
  );

  heading("3. Sigstore: Carol signs the tarball into a Sigstore bundle");
  say("sign-blob logs in a local log (sigstore-log, SQLite) whose key the trusted root names");
  await signBlob(release, "demo-project.tar.gz", carolKey, "demo-project.sigstore.json", "sigstore-log");
  await trustRoot(release, "trusted_root.json", "sigstore-log");
  expectPass(
    "genuine tarball, Sigstore bundle (cairn verify-blob)",
    await verifyBlob(
      release,
      "demo-project.tar.gz",
      "demo-project.sigstore.json",
      "trusted_root.json",
      "carol.pub",
    ),
  );

  heading("4. The transparency log: cairn serve on SQLite, 127.0.0.1");
  server = await serve(release, "logdata");
  const vkey = join("logdata", "log.vkey");
  // The provenance envelope, as attached to the image (cosign's .att tag in the layout).
  const layout = await OciLayout.open(join(release, "image"));
  const att = await layout.getManifest(await layout.resolve(cosignTag(imageDigest, ATTESTATION_TAG_SUFFIX)));
  if (att.kind !== "manifest") throw new Error("the .att tag does not name a manifest");
  writeFileSync(join(release, "provenance.dsse.json"), await layout.getBlob(att.manifest.layers[0]!.digest));
  // The package's signature, as in its Sigstore bundle (base64 over the tarball's bytes).
  const bundle = JSON.parse(readFileSync(join(release, "demo-project.sigstore.json"), "utf8"));
  writeFileSync(join(release, "demo-project.tar.gz.sig"), `${bundle.messageSignature.signature}\n`);
  say("publish the image's provenance and the package's signature (the server verifies both first)");
  await logUpload(
    release,
    server,
    { envelope: "provenance.dsse.json" },
    "carol.pub",
    "provenance-entry.json",
  );
  const up = await logUpload(
    release,
    server,
    { artifact: "demo-project.tar.gz", signature: "demo-project.tar.gz.sig" },
    "carol.pub",
    "package-upload.json",
  );
  const packageIndex = Number(/logged at index (\d+)/.exec(up.stdout)?.[1]);
  say("what do we know about this image?");
  const found = await logSearch(release, server, imageDigest);
  expectPass(
    "the log knows the image's provenance (cairn log search)",
    found,
    found.stdout.includes(`${SLSA_PROVENANCE_V1}\t${imageDigest}`),
    "found",
  );
  // `log upload -o` keeps no entry body, so `log verify --artifact` needs the entry from `log get`.
  await logGet(release, server, packageIndex, "package-entry.json");
  say("offline, with only the log's verifier key: are the entries in the log?");
  expectPass(
    "provenance is in the log (cairn log verify)",
    await logVerify(release, vkey, "provenance-entry.json"),
  );
  expectPass(
    "tarball's signature is in the log (cairn log verify --artifact)",
    await logVerify(release, vkey, "package-entry.json", "demo-project.tar.gz"),
  );
  say("stop the server (SIGTERM: it writes what waits and exits 0)");
  const stopped = await server.stop();
  server = undefined;
  console.log(`cairn serve exited ${stopped}`);
  expectPass(
    "cairn serve stopped cleanly on SIGTERM",
    { status: typeof stopped === "number" ? stopped : 1, stdout: "", stderr: "" },
    true,
    "stopped",
  );

  heading("5. Refusals: an attacker swaps the tarball for one with a backdoor");
  const evil = join(root, "evil");
  mkdirSync(evil);
  cpSync(join(dirs.carol!, "demo-project"), join(evil, "demo-project"), { recursive: true });
  writeFileSync(
    join(evil, "demo-project", "foo.py"),
    'VERSION = "foo-v1"\nprint("Hello in-toto")\nimport os  # backdoor\n',
  );
  sh(evil, "tar", ["--exclude", ".git", "-zcf", join(final, "demo-project.tar.gz"), "demo-project"]);
  rmSync(join(final, "demo-project"), { recursive: true, force: true });
  expectRefusal(
    "tampered package, in-toto supply chain (cairn verify)",
    "ERR_INTOTO_RULE_FAILED",
    await intotoVerify(final, "root.layout", "alice.pub", "."),
  );
  const evilTarball = join("..", "final", "demo-project.tar.gz");
  expectRefusal(
    "tampered tarball, Sigstore bundle (cairn verify-blob)",
    "ERR_SIGSTORE_ARTIFACT_MISMATCH",
    await verifyBlob(release, evilTarball, "demo-project.sigstore.json", "trusted_root.json", "carol.pub"),
  );
  expectRefusal(
    "tampered tarball, transparency log entry (cairn log verify --artifact)",
    "ERR_TLOG_PROOF_INVALID",
    await logVerify(release, vkey, "package-entry.json", evilTarball),
  );

  heading("5. Refusals: Mallory ships her own image as v1, signed with her key");
  await keyGenerate(dirs.mallory!, "mallory", "ecdsa");
  const evilDigest = await buildImage(
    join(release, "image"),
    readFileSync(join(final, "demo-project.tar.gz")),
    "v1",
  );
  say(`the tag v1 in the layout now names Mallory's image ${evilDigest}`);
  await ociSign(release, image, join("..", "mallory", "mallory"), identity);
  expectRefusal(
    "image signed by another key (cairn oci verify)",
    "ERR_OCI_SIGNATURE_INVALID",
    await ociVerify(release, image, "carol.pub", identity),
  );

  heading("5. Refusals: Mallory moves Carol's signature onto her image");
  await layout.tag(
    cosignTag(evilDigest, SIGNATURE_TAG_SUFFIX),
    await layout.resolve(cosignTag(imageDigest, SIGNATURE_TAG_SUFFIX)),
  );
  say(
    `the tag ${cosignTag(evilDigest, SIGNATURE_TAG_SUFFIX).slice(0, 20)}….sig now names Carol's signature of ${imageDigest.slice(0, 19)}…`,
  );
  expectRefusal(
    "tampered image with a moved signature (cairn oci verify)",
    "ERR_OCI_SIGNATURE_SUBJECT_MISMATCH",
    await ociVerify(release, image, "carol.pub", identity),
  );

  const ok = summary();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!ok) {
    console.error("\ndemo FAILED: every genuine check must pass and every tampered one be refused (exit 10)");
    process.exitCode = 1;
  } else {
    console.log(
      `\ndemo passed in ${seconds} s: cairn verified the genuine supply chain, image, bundle and log entries, and refused every tampered one`,
    );
  }
} catch (e) {
  if (checks.length > 0) summary();
  console.error(`\ndemo FAILED: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  if (server !== undefined) await server.stop();
  if (keep) console.log(`\nfiles kept in ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
