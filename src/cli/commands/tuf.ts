// SPDX-License-Identifier: Apache-2.0
// cairn tuf init | add | remove | delegate | submit | revoke | rotate | sign | refresh | publish |
// status: the repository side (TufRepository over a directory), with cairn's usual exit codes.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { cairnError } from "../../core/errors.js";
import type { PublicKey } from "../../core/keys.js";
import type { Signer } from "../../core/signer.js";
import { type ExpiryConfig, type TargetInput, TufRepository } from "../../engines/tuf/repository.js";
import {
  publishRevocations,
  publishTrust,
  publishTrustedRoot,
  REVOCATIONS_TARGET,
  REVOKE_KINDS,
  revokedSubjectOf,
  TRUST_KINDS,
  TRUSTED_ROOT_TARGET,
  type TrustItem,
  type TrustKind,
  trustBundlePath,
} from "../../engines/tuf/trust.js";
import { parseDateTime, TOP_LEVEL_ROLES, type TopLevelRole } from "../../formats/tuf/index.js";
import { readFileRequired } from "../../runtime/fs.js";
import { loadPublicKeyFile, loadSigner } from "../../runtime/keyfiles.js";
import { collectTargetFiles, directoryFileArea } from "../../runtime/tuf-repo-store.js";
import { type CliIO, progressBar, write } from "../io.js";
import { passphraseFrom, signerRef } from "./key.js";
import { registerTufClient, tufCommand } from "./tuf-client.js";

export function registerTuf(program: Command, io: CliIO): void {
  const tuf = tufCommand(program);
  registerTufRepo(tuf, io);
  registerTufClient(tuf, io);
}

// --- the repository ----------------------------------------------------------------------------

const DAY_SECONDS = 24 * 3600;

function repoAt(io: CliIO, dir: string): TufRepository {
  return new TufRepository({ store: directoryFileArea(resolve(io.cwd, dir)) });
}

/** Private keys by reference (path, file:PATH, env:NAME), each loaded once. */
async function signers(io: CliIO, refs: readonly string[]): Promise<Signer[]> {
  const out: Signer[] = [];
  for (const r of new Set(refs)) out.push(await loadSigner(r, passphraseFrom(io)));
  return out;
}

async function publicKeys(io: CliIO, paths: readonly string[] = []): Promise<PublicKey[]> {
  return Promise.all(paths.map((p) => loadPublicKeyFile(resolve(io.cwd, p))));
}

/** The signing references given, or those the repository's config names for `role`. */
async function refsFor(io: CliIO, repo: TufRepository, role: string, given?: string[]): Promise<string[]> {
  if (given !== undefined && given.length > 0) return given.map((k) => signerRef(io, k));
  const refs = (await repo.config()).signing[role] ?? [];
  if (refs.length === 0) throw cairnError("ERR_USAGE", `no key for role ${role}: give --key`);
  return refs;
}

// --- hash bins (TAP 15) ------------------------------------------------------------------------

/** The config's signing entry for the hash bins a role delegates to. */
const binsSigning = (role: string) => `${role}:bins`;

/**
 * Keys that sign a targets role's changes: the given ones, else the config's; for a role that
 * delegates to hash bins, the bins' keys (its targets go to the bins).
 */
async function targetsRefs(
  io: CliIO,
  repo: TufRepository,
  role: string,
  given?: string[],
): Promise<string[]> {
  if (given !== undefined && given.length > 0) return given.map((k) => signerRef(io, k));
  if ((await repo.hashBins(role)) === undefined) return refsFor(io, repo, role);
  const refs = (await repo.config()).signing[binsSigning(role)] ?? [];
  if (refs.length === 0) throw cairnError("ERR_USAGE", `no key for the hash bins of ${role}: give --key`);
  return refs;
}

/** ROLE=N pairs (`--threshold root=2`). */
function rolePairs(pairs: readonly string[] | undefined, flag: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of pairs ?? []) {
    const m = /^([a-z]+)=(\d+)$/.exec(p);
    if (m === null || (!(TOP_LEVEL_ROLES as readonly string[]).includes(m[1]!) && m[1] !== "delegated")) {
      throw cairnError(
        "ERR_USAGE",
        `${flag} takes ROLE=NUMBER with ROLE one of root, targets, snapshot, timestamp`,
      );
    }
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw cairnError("ERR_USAGE", `${flag} must be a positive integer`);
  return n;
}

function render(io: CliIO, json: boolean | undefined, value: unknown, text: string): void {
  write(io.stdout, json ? JSON.stringify(value) : text);
}

/** `cairn tuf init | adopt | add | remove | delegate | submit | revoke | rotate | sign | refresh | publish | status`. */
export function registerTufRepo(tuf: Command, io: CliIO): void {
  tuf
    .command("init")
    .description(
      "create a repository in DIR: root, targets, snapshot and timestamp, signed (consistent snapshots unless --no-consistent-snapshot)",
    )
    .argument("<dir>", "the repository's working directory (not what is published)")
    .requiredOption(
      "--root-key <key...>",
      "root private key(s): path, file:PATH or env:NAME (kept out of the config)",
    )
    .requiredOption("--targets-key <key...>", "targets private key(s); recorded in the config for add")
    .requiredOption("--snapshot-key <key...>", "snapshot private key(s) (online); recorded for refresh")
    .requiredOption("--timestamp-key <key...>", "timestamp private key(s) (online); recorded for refresh")
    .option("--threshold <role=n...>", "threshold of a role (default 1 each), e.g. root=2")
    .option(
      "--expires <role=days...>",
      "validity in days of a role's metadata, e.g. timestamp=1 (roles and delegated)",
    )
    .option("--no-meta-hashes", "snapshot and timestamp list versions only, no lengths and hashes")
    .option(
      "--no-consistent-snapshot",
      "publish under fixed names (snapshot.json, targets/PATH) replaced in place, for servers that cannot keep old versions",
    )
    .option("--json", "print the versions as JSON")
    .action(
      async (
        dir: string,
        o: {
          rootKey: string[];
          targetsKey: string[];
          snapshotKey: string[];
          timestampKey: string[];
          threshold?: string[];
          expires?: string[];
          metaHashes: boolean;
          consistentSnapshot: boolean;
          json?: boolean;
        },
      ) => {
        const refs: Record<TopLevelRole, string[]> = {
          root: o.rootKey.map((k) => signerRef(io, k)),
          targets: o.targetsKey.map((k) => signerRef(io, k)),
          snapshot: o.snapshotKey.map((k) => signerRef(io, k)),
          timestamp: o.timestampKey.map((k) => signerRef(io, k)),
        };
        const byRef = new Map<string, Signer>();
        for (const r of Object.values(refs).flat()) {
          if (!byRef.has(r)) byRef.set(r, await loadSigner(r, passphraseFrom(io)));
        }
        const keys = Object.fromEntries(
          TOP_LEVEL_ROLES.map((role) => [role, refs[role].map((r) => byRef.get(r)!.publicKey)]),
        ) as Record<TopLevelRole, PublicKey[]>;
        const thresholds = Object.fromEntries(rolePairs(o.threshold, "--threshold"));
        const expiry: Partial<ExpiryConfig> = {};
        for (const [role, days] of rolePairs(o.expires, "--expires")) {
          expiry[role as keyof ExpiryConfig] = days * DAY_SECONDS;
        }
        const area = resolve(io.cwd, dir);
        await mkdir(area, { recursive: true });
        const repo = await TufRepository.init(directoryFileArea(area), {
          keys,
          thresholds,
          expiry,
          metaHashes: o.metaHashes,
          consistentSnapshot: o.consistentSnapshot,
          signing: { targets: refs.targets, snapshot: refs.snapshot, timestamp: refs.timestamp },
          signers: [...byRef.values()],
        });
        const st = await repo.status();
        render(
          io,
          o.json,
          st,
          `TUF repository created in ${dir}: ${st.map((r) => `${r.role} v${r.version} (${r.signed}/${r.threshold} signed)`).join(", ")}`,
        );
      },
    );

  tuf
    .command("adopt")
    .description(
      "take over a repository another TUF tool published (consistent snapshots): verified whole, then kept in DIR",
    )
    .argument("<dir>", "the new working directory")
    .argument("<published>", "the published directory (its metadata/ and targets/)")
    .option("--targets-key <key...>", "targets private key(s), recorded in the config for add")
    .option("--snapshot-key <key...>", "snapshot private key(s), recorded for refresh")
    .option("--timestamp-key <key...>", "timestamp private key(s), recorded for refresh")
    .action(
      async (
        dir: string,
        published: string,
        o: { targetsKey?: string[]; snapshotKey?: string[]; timestampKey?: string[] },
      ) => {
        const signing: Record<string, string[]> = {};
        for (const [role, refs] of [
          ["targets", o.targetsKey],
          ["snapshot", o.snapshotKey],
          ["timestamp", o.timestampKey],
        ] as const) {
          if (refs !== undefined) signing[role] = refs.map((k) => signerRef(io, k));
        }
        const area = resolve(io.cwd, dir);
        await mkdir(area, { recursive: true });
        const repo = await TufRepository.adopt(
          directoryFileArea(area),
          directoryFileArea(resolve(io.cwd, published)),
          {
            signing,
          },
        );
        const roles = await repo.status();
        write(
          io.stdout,
          `adopted ${published} into ${dir}: ${roles.length} role(s), ${roles.reduce((n, r) => n + r.targets, 0)} target(s)`,
        );
      },
    );

  tuf
    .command("add")
    .description("add or update targets from files or directories (a directory adds every file under it)")
    .argument("<dir>", "the repository")
    .argument("<files...>", "files or directories")
    .option(
      "--role <name>",
      "the targets role that lists them (a delegated role: its developer's --key)",
      "targets",
    )
    .option("--prefix <p>", "prefix of the target paths, e.g. packages/")
    .option("--custom <json>", "custom metadata (a JSON object) for every target added")
    .option("--key <key...>", "private key(s) of the role (default: the targets key in the config)")
    .option("--json", "print the target entries as JSON")
    .action(
      async (
        dir: string,
        files: string[],
        o: { role: string; prefix?: string; custom?: string; key?: string[]; json?: boolean },
      ) => {
        const repo = repoAt(io, dir);
        let custom: Record<string, unknown> | undefined;
        if (o.custom !== undefined) {
          try {
            custom = JSON.parse(o.custom) as Record<string, unknown>;
          } catch {
            throw cairnError("ERR_USAGE", "--custom must be a JSON object");
          }
          if (typeof custom !== "object" || custom === null || Array.isArray(custom)) {
            throw cairnError("ERR_USAGE", "--custom must be a JSON object");
          }
        }
        const sources = await collectTargetFiles(
          files.map((f) => resolve(io.cwd, f)),
          o.prefix ?? "",
        );
        // Streamed: each file is read when the engine takes it, so memory holds one batch.
        async function* inputs(): AsyncGenerator<TargetInput> {
          for (const s of sources) {
            yield {
              path: s.path,
              bytes: await readFileRequired(s.file, "target file"),
              ...(custom !== undefined ? { custom } : {}),
            };
          }
        }
        const keys = await signers(io, await targetsRefs(io, repo, o.role, o.key));
        const progress = o.json ? undefined : progressBar(io, "adding targets");
        const added = await repo.addTargets(o.role, inputs(), keys, progress, sources.length);
        const n = Object.keys(added).length;
        const bins = await repo.hashBins(o.role);
        const where = bins === undefined ? o.role : `the hash bins ${bins.namePrefix}-* of ${o.role}`;
        render(
          io,
          o.json,
          added,
          (n <= 100
            ? Object.entries(added).map(([p, f]) => `${p}  ${f.length} bytes  sha256:${f.hashes.sha256}`)
            : []
          )
            .concat(`${n} target(s) in ${where}; run "cairn tuf refresh" then "cairn tuf publish"`)
            .join("\n"),
        );
      },
    );

  tuf
    .command("trust")
    .description(
      "publish trust material: a KIND bundle (layout keys, CA roots, log keys) replacing the previous one, the Sigstore trusted root (--trusted-root), or a revocation (--revoke)",
    )
    .argument("<dir>", "the repository")
    .option("--kind <kind>", `one of ${TRUST_KINDS.join(", ")}`)
    .option("--item <name=file...>", "NAME=FILE: each key or certificate trusted (all others are revoked)")
    .option("--valid-until <date>", "end of the items' validity: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ")
    .option("--valid-from <date>", "start of the items' validity (default: from the start)")
    // revoke: the Sigstore trusted root and revocations as targets (issue 6, section 4)
    .option("--trusted-root <file>", "publish this trusted_root.json as cairn-trust/trusted_root.json")
    .option(
      "--revoke <kind=value>",
      `add a revocation to cairn-trust/revocations.json: ${REVOKE_KINDS.join("|")}=FILE_OR_VALUE`,
    )
    .option("--issuer <url>", "with --revoke identity=SAN: only certificates from this OIDC issuer")
    .option(
      "--effective <time>",
      "with --revoke: refused when signed at or after this time (YYYY-MM-DDTHH:MM:SSZ)",
    )
    .option("--reason <text>", "with --revoke: why (shown by verifiers that refuse)")
    .option("--id <id>", "with --revoke: the revocation's name (default: KIND-EFFECTIVE)")
    .option("--all", "with --revoke: refuse what was signed before the effective time too")
    .option("--role <name>", "the targets role that lists the bundle", "targets")
    .option("--key <key...>", "private key(s) of the role (default: from the config)")
    .action(
      async (
        dir: string,
        o: {
          kind?: string;
          item?: string[];
          validUntil?: string;
          validFrom?: string;
          trustedRoot?: string;
          revoke?: string;
          issuer?: string;
          effective?: string;
          reason?: string;
          id?: string;
          all?: boolean;
          role: string;
          key?: string[];
        },
      ) => {
        const modes = [o.kind !== undefined, o.trustedRoot !== undefined, o.revoke !== undefined];
        if (modes.filter(Boolean).length !== 1)
          throw cairnError("ERR_USAGE", "give one of --kind (with --item), --trusted-root or --revoke");
        if (o.trustedRoot !== undefined || o.revoke !== undefined) return trustRootOrRevoke(io, dir, o);
        if (o.item === undefined || o.validUntil === undefined)
          throw cairnError("ERR_USAGE", "--kind needs --item and --valid-until");
        if (!(TRUST_KINDS as readonly string[]).includes(o.kind!))
          throw cairnError("ERR_USAGE", `--kind must be one of ${TRUST_KINDS.join(", ")}`);
        const date = (v: string, flag: string) => {
          const d = parseDateTime(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
          if (d === undefined)
            throw cairnError("ERR_USAGE", `${flag} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ`);
          return d;
        };
        const notAfter = date(o.validUntil!, "--valid-until");
        const notBefore = o.validFrom === undefined ? undefined : date(o.validFrom, "--valid-from");
        const items: TrustItem[] = [];
        for (const it of o.item) {
          const eq = it.indexOf("=");
          if (eq <= 0) throw cairnError("ERR_USAGE", `--item "${it}" must be NAME=FILE`);
          const file = resolve(io.cwd, it.slice(eq + 1));
          items.push({
            name: it.slice(0, eq),
            notAfter,
            ...(notBefore !== undefined ? { notBefore } : {}),
            key: (await readFileRequired(file, "trust item")).toString("utf8"),
          });
        }
        const repo = repoAt(io, dir);
        await publishTrust(
          repo,
          o.kind as TrustKind,
          items,
          await signers(io, await targetsRefs(io, repo, o.role, o.key)),
          o.role,
        );
        write(
          io.stdout,
          `${trustBundlePath(o.kind as TrustKind)}: ${items.map((i) => i.name).join(", ")} until ${o.validUntil}; run "cairn tuf refresh" then "cairn tuf publish"`,
        );
      },
    );

  tuf
    .command("remove")
    .description("remove targets from a role")
    .argument("<dir>", "the repository")
    .argument("<paths...>", "target paths")
    .option("--role <name>", "the targets role", "targets")
    .option("--key <key...>", "private key(s) of the role (default: from the config)")
    .action(async (dir: string, paths: string[], o: { role: string; key?: string[] }) => {
      const repo = repoAt(io, dir);
      await repo.removeTargets(o.role, paths, await signers(io, await targetsRefs(io, repo, o.role, o.key)));
      write(io.stdout, `removed ${paths.length} target(s) from ${o.role}`);
    });

  tuf
    .command("delegate")
    .description(
      "delegate target paths to a developer's role, trusted through their public key(s), or to TAP 15 hash bins",
    )
    .argument("<dir>", "the repository")
    .requiredOption("--name <role>", "the new role's name (with --succinct-bins: the bins' name prefix)")
    .option("--key <pub...>", "the developer's public key file(s) (with --succinct-bins: the bins')")
    .option("--paths <pattern...>", "path patterns the role may sign for, e.g. 'alice/*' (* stops at /)")
    .option("--hash-prefix <hex...>", "instead of --paths: SHA-256 prefixes of target paths")
    .option(
      "--succinct-bins <n>",
      "instead of --paths: N hash bins (a power of two, e.g. 16384 as PEP 458) NAME-0000...; targets added to the delegator go to their bin",
    )
    .option(
      "--bin-key <key...>",
      "with --succinct-bins: the bins' private key(s), which sign the bins now and are recorded in the config for add",
    )
    .option("--threshold <n>", "signatures the role needs", "1")
    .option("--terminating", "clients stop at this role for its paths")
    .option("--delegator <role>", "the delegating targets role", "targets")
    .option("--signing-key <key...>", "private key(s) of the delegator (default: from the config)")
    .action(
      async (
        dir: string,
        o: {
          name: string;
          key?: string[];
          paths?: string[];
          hashPrefix?: string[];
          succinctBins?: string;
          binKey?: string[];
          threshold: string;
          terminating?: boolean;
          delegator: string;
          signingKey?: string[];
        },
      ) => {
        const repo = repoAt(io, dir);
        const bins = positiveInt(o.succinctBins, "--succinct-bins");
        const binRefs = (o.binKey ?? []).map((k) => signerRef(io, k));
        if (bins === undefined && binRefs.length > 0)
          throw cairnError("ERR_USAGE", "--bin-key goes with --succinct-bins");
        if (bins !== undefined && binRefs.length === 0)
          throw cairnError(
            "ERR_USAGE",
            "--succinct-bins needs --bin-key: the bins' private key(s) sign them",
          );
        const binSigners = await signers(io, binRefs);
        const keys = o.key !== undefined ? await publicKeys(io, o.key) : binSigners.map((b) => b.publicKey);
        if (keys.length === 0) throw cairnError("ERR_USAGE", "--key is required");
        await repo.delegate(
          {
            name: o.name,
            delegator: o.delegator,
            keys,
            threshold: positiveInt(o.threshold, "--threshold")!,
            ...(o.paths !== undefined ? { paths: o.paths } : {}),
            ...(o.hashPrefix !== undefined ? { pathHashPrefixes: o.hashPrefix } : {}),
            ...(bins !== undefined ? { bins } : {}),
            terminating: o.terminating === true,
          },
          [...(await signers(io, await refsFor(io, repo, o.delegator, o.signingKey))), ...binSigners],
        );
        if (bins !== undefined) {
          const c = await repo.config();
          await repo.setSigning({ ...c.signing, [binsSigning(o.delegator)]: binRefs });
          write(
            io.stdout,
            `${o.delegator} delegates to ${bins} hash bins ${o.name}-*, signed by their key(s); ` +
              `"cairn tuf add ${dir} FILES${o.delegator === "targets" ? "" : ` --role ${o.delegator}`}" puts each target in its bin`,
          );
          return;
        }
        write(
          io.stdout,
          `${o.delegator} delegates ${(o.paths ?? o.hashPrefix ?? []).join(" ")} to ${o.name}; ` +
            `its developer signs ${o.name}'s metadata ("cairn tuf add --role ${o.name}" or "cairn tuf submit")`,
        );
      },
    );

  tuf
    .command("submit")
    .description("accept a developer's signed metadata for their role, and the target files it lists")
    .argument("<dir>", "the repository")
    .argument("<metadata>", "the role's signed metadata (JSON)")
    .argument("[files...]", "target files or directories it lists")
    .requiredOption("--role <name>", "the delegated role")
    .option("--prefix <p>", "prefix of the target paths of the files")
    .action(async (dir: string, metadata: string, files: string[], o: { role: string; prefix?: string }) => {
      const repo = repoAt(io, dir);
      const sources = await collectTargetFiles(
        files.map((f) => resolve(io.cwd, f)),
        o.prefix ?? "",
      );
      const inputs: TargetInput[] = [];
      for (const s of sources)
        inputs.push({ path: s.path, bytes: await readFileRequired(s.file, "target file") });
      const bytes = await readFileRequired(resolve(io.cwd, metadata), "metadata");
      const t = await repo.submit(o.role, bytes, inputs);
      write(
        io.stdout,
        `accepted ${o.role} version ${t.version} (${Object.keys(t.targets).length} target(s))`,
      );
    });

  tuf
    .command("revoke")
    .description("remove a developer's key from the role delegated to them")
    .argument("<dir>", "the repository")
    .requiredOption("--name <role>", "the delegated role")
    .requiredOption("--key <pub>", "the public key file of the key to revoke")
    .option("--threshold <n>", "the role's new threshold (default: lowered to the keys left if needed)")
    .option("--signing-key <key...>", "private key(s) of the delegator (default: from the config)")
    .action(
      async (dir: string, o: { name: string; key: string; threshold?: string; signingKey?: string[] }) => {
        const repo = repoAt(io, dir);
        const chainRole = await repo.delegatorOf(o.name);
        const threshold = positiveInt(o.threshold, "--threshold");
        await repo.revokeKey(
          o.name,
          (await publicKeys(io, [o.key]))[0]!,
          await signers(io, await refsFor(io, repo, chainRole, o.signingKey)),
          threshold !== undefined ? { threshold } : {},
        );
        write(
          io.stdout,
          `revoked the key from ${o.name}; re-sign ${o.name} with a key it still trusts before publishing`,
        );
      },
    );

  tuf
    .command("rotate")
    .description("change a top-level role's keys or threshold: a new root version")
    .argument("<dir>", "the repository")
    .requiredOption("--role <role>", "root, targets, snapshot or timestamp")
    .option("--add <pub...>", "public key file(s) to trust")
    .option("--remove <pub...>", "public key file(s) to stop trusting")
    .option("--threshold <n>", "the role's new threshold")
    .requiredOption("--root-key <key...>", "root private key(s), of the current root and of the new one")
    .action(
      async (
        dir: string,
        o: { role: string; add?: string[]; remove?: string[]; threshold?: string; rootKey: string[] },
      ) => {
        if (!(TOP_LEVEL_ROLES as readonly string[]).includes(o.role)) {
          throw cairnError("ERR_USAGE", "--role must be root, targets, snapshot or timestamp");
        }
        const repo = repoAt(io, dir);
        const threshold = positiveInt(o.threshold, "--threshold");
        const root = await repo.rotate(
          o.role as TopLevelRole,
          {
            add: await publicKeys(io, o.add),
            remove: await publicKeys(io, o.remove),
            ...(threshold !== undefined ? { threshold } : {}),
          },
          await signers(
            io,
            o.rootKey.map((k) => signerRef(io, k)),
          ),
        );
        write(io.stdout, `root version ${root.version} changes the keys of ${o.role}`);
      },
    );

  tuf
    .command("sign")
    .description("add signatures to a role's current metadata (threshold signing, in turn)")
    .argument("<dir>", "the repository")
    .argument("<role>", "root, targets or a delegated role")
    .requiredOption("--key <key...>", "private key(s)")
    .option(
      "--new-version",
      "targets roles: sign a new version (expiry renewed, earlier signatures dropped), e.g. after a key rotation or revocation",
    )
    .action(async (dir: string, role: string, o: { key: string[]; newVersion?: boolean }) => {
      const repo = repoAt(io, dir);
      const keys = await signers(
        io,
        o.key.map((k) => signerRef(io, k)),
      );
      if (o.newVersion) await repo.resign(role, keys);
      else await repo.sign(role, keys);
      const st = (await repo.status()).find((r) => r.role === role);
      write(
        io.stdout,
        `${role} v${st?.version ?? "-"}: ${st?.signed ?? 0} of ${st?.threshold ?? "?"} signatures`,
      );
    });

  tuf
    .command("refresh")
    .description("re-sign snapshot and timestamp with the online keys: new versions, expiry renewed")
    .argument("<dir>", "the repository")
    .option("--key <key...>", "snapshot and timestamp private key(s) (default: from the config)")
    .option("--full", "read every role's file, not only those changed since the last refresh")
    .option("--json", "print the versions as JSON")
    .action(async (dir: string, o: { key?: string[]; full?: boolean; json?: boolean }) => {
      const repo = repoAt(io, dir);
      const refs =
        o.key !== undefined && o.key.length > 0
          ? o.key.map((k) => signerRef(io, k))
          : [...(await refsFor(io, repo, "snapshot")), ...(await refsFor(io, repo, "timestamp"))];
      const v = await repo.refresh(await signers(io, refs), { full: o.full === true });
      render(io, o.json, v, `snapshot v${v.snapshot}, timestamp v${v.timestamp}`);
    });

  tuf
    .command("publish")
    .description("verify the whole repository and write it to OUT as static files (timestamp.json last)")
    .argument("<dir>", "the repository")
    .argument("<out>", "the directory a web server serves: OUT/metadata and OUT/targets")
    .option("--json", "print the report as JSON")
    .action(async (dir: string, out: string, o: { json?: boolean }) => {
      const repo = repoAt(io, dir);
      const target = resolve(io.cwd, out);
      await mkdir(target, { recursive: true });
      const r = await repo.publish(
        directoryFileArea(target),
        o.json ? undefined : progressBar(io, "publishing"),
      );
      render(
        io,
        o.json,
        r,
        `published root v${r.versions.root}, targets v${r.versions.targets}, snapshot v${r.versions.snapshot}, ` +
          `timestamp v${r.versions.timestamp}: ${r.written.length} file(s) written, ${r.unchanged} unchanged`,
      );
    });

  tuf
    .command("status")
    .description("each role's version, expiry and signatures, and what stops a publish")
    .argument("<dir>", "the repository")
    .option("--json", "as JSON")
    .action(async (dir: string, o: { json?: boolean }) => {
      const repo = repoAt(io, dir);
      const { roles, problems } = await repo.report();
      render(
        io,
        o.json,
        { roles, problems },
        [
          ...roles.map(
            (r) =>
              `${r.role}  v${r.version ?? "-"}  expires ${r.expires ?? "-"}  signed ${r.signed}/${r.threshold}  targets ${r.targets}`,
          ),
          ...(problems.length === 0 ? ["ready to publish"] : problems.map((p) => `problem: ${p}`)),
        ].join("\n"),
      );
    });
}

// revoke: cairn tuf trust --trusted-root FILE | --revoke KIND=VALUE (issue 6, section 4) -----------

async function trustRootOrRevoke(
  io: CliIO,
  dir: string,
  o: {
    trustedRoot?: string;
    revoke?: string;
    issuer?: string;
    effective?: string;
    reason?: string;
    id?: string;
    all?: boolean;
    role: string;
    key?: string[];
  },
): Promise<void> {
  const repo = repoAt(io, dir);
  const sign = async () => signers(io, await targetsRefs(io, repo, o.role, o.key));
  if (o.trustedRoot !== undefined) {
    const bytes = await readFileRequired(resolve(io.cwd, o.trustedRoot), "trusted root");
    await publishTrustedRoot(repo, bytes, await sign(), o.role);
    write(
      io.stdout,
      `${TRUSTED_ROOT_TARGET}: ${o.trustedRoot}; run "cairn tuf refresh" then "cairn tuf publish"`,
    );
    return;
  }
  const spec = o.revoke!;
  const eq = spec.indexOf("=");
  if (eq <= 0) throw cairnError("ERR_USAGE", `--revoke "${spec}" must be KIND=FILE_OR_VALUE`);
  const kind = spec.slice(0, eq);
  const value = spec.slice(eq + 1);
  if (o.effective === undefined || o.reason === undefined)
    throw cairnError("ERR_USAGE", "--revoke needs --effective and --reason");
  const effective = parseDateTime(o.effective);
  if (effective === undefined) throw cairnError("ERR_USAGE", "--effective must be YYYY-MM-DDTHH:MM:SSZ");
  const material =
    kind === "key" || kind === "certificate"
      ? await readFileRequired(resolve(io.cwd, value), kind === "key" ? "public key" : "certificate")
      : undefined;
  const subject = revokedSubjectOf(kind, value, {
    ...(material ? { material } : {}),
    ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
  });
  const id = o.id ?? `${kind}-${o.effective}`;
  const list = await publishRevocations(
    repo,
    [{ id, reason: o.reason, effective, scope: o.all ? "all" : "signed-after", subject }],
    await sign(),
    o.role,
  );
  write(
    io.stdout,
    `${REVOCATIONS_TARGET}: revoked ${id} (${list.revocations.length} in all); run "cairn tuf refresh" then "cairn tuf publish"`,
  );
}
