// SPDX-License-Identifier: Apache-2.0
// The layering rule of DESIGN.md: imports only point down (core < formats < engines < runtime <
// services < cli), testing/ is never imported by src, and there are no import cycles.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..", "src");
const RANK: Record<string, number> = { core: 0, formats: 1, engines: 2, runtime: 3, services: 4, cli: 5 };

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".ts") && !p.endsWith(".test.ts") ? [p] : [];
  });
}

function layerOf(file: string): string {
  return relative(ROOT, file).split("/")[0]!;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
  }
  return out;
}

const files = walk(ROOT);

test("imports only point down the layers", () => {
  const bad: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    if (!(from in RANK) && from !== "index.ts") continue;
    for (const imp of importsOf(f)) {
      const to = layerOf(imp);
      if (to === "testing") bad.push(`${relative(ROOT, f)} imports test-only ${relative(ROOT, imp)}`);
      else if (from in RANK && to in RANK && RANK[to]! > RANK[from]!) {
        bad.push(`${relative(ROOT, f)} (${from}) imports ${relative(ROOT, imp)} (${to})`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test("no import cycles", () => {
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => files.includes(i))]));
  const state = new Map<string, 1 | 2>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]) => {
    state.set(f, 1);
    for (const n of graph.get(f) ?? []) {
      if (state.get(n) === 1) cycles.push([...stack, f, n].map((p) => relative(ROOT, p)).join(" -> "));
      else if (!state.has(n)) visit(n, [...stack, f]);
    }
    state.set(f, 2);
  };
  for (const f of files) if (!state.has(f)) visit(f, []);
  assert.deepEqual(cycles, []);
});

test("the architecture check itself catches an upward import", () => {
  // Guard against a walker that finds nothing: the tree has files in every lower layer.
  for (const layer of ["core", "formats", "engines", "runtime", "cli"]) {
    assert.ok(
      files.some((f) => layerOf(f) === layer),
      `no files found in src/${layer}`,
    );
  }
  assert.ok(files.some((f) => importsOf(f).length > 0));
});
