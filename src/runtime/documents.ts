// SPDX-License-Identifier: Apache-2.0
// Reading structured documents from files: JSON (bounded) or YAML, with errors naming the file.
import { cairnError } from "../core/errors.js";
import { parseJson } from "../core/json.js";
import { readFileRequired } from "./fs.js";

/** Parses YAML (a superset of JSON); duplicate keys and syntax errors name the line. */
export async function parseYaml(text: string, file?: string): Promise<unknown> {
  // Loaded on first use: only layout descriptions are YAML, and the parser costs ~25 ms to load.
  const { parseDocument } = await import("yaml");
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line} column ${e.linePos[0].col}` : "";
    throw cairnError("ERR_YAML_MALFORMED", `${e.message.split("\n")[0]}${where}`, file ? { file } : {});
  }
  // Alias expansion is bounded: a "billion laughs" document is refused, not expanded.
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw cairnError("ERR_YAML_MALFORMED", (e as Error).message, file ? { file } : {});
  }
}

/** Reads a description file: `.json` as bounded JSON, anything else as YAML. */
export async function readDescription(path: string): Promise<unknown> {
  const text = (await readFileRequired(path)).toString("utf8");
  return path.endsWith(".json") ? parseJson(text, path) : parseYaml(text, path);
}

/** Reads a JSON file that must exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  return parseJson(await readFileRequired(path), path);
}
