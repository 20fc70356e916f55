// SPDX-License-Identifier: Apache-2.0
// Layout parameter substitution (in-toto specification v1.0 section 4.3 and the reference's
// verifylib.substitute_parameters): Python str.format with named fields, "{{" and "}}" escaped.
import { cairnError } from "../../core/errors.js";
import { isJsonObject } from "../../core/json.js";

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Substitutes `{NAME}` in one string; a name that was not given is an error naming the field. */
export function formatParameters(s: string, params: Readonly<Record<string, string>>, field: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "{") {
      if (s[i + 1] === "{") {
        out += "{";
        i++;
        continue;
      }
      const end = s.indexOf("}", i);
      if (end < 0) throw cairnError("ERR_FIELD_INVALID", `unmatched "{" in ${JSON.stringify(s)}`, { field });
      const name = s.slice(i + 1, end);
      if (!NAME_RE.test(name)) {
        throw cairnError("ERR_FIELD_INVALID", `"{${name}}" is not a parameter name`, { field });
      }
      if (!Object.hasOwn(params, name)) {
        throw cairnError("ERR_PARAMETER_MISSING", `parameter "${name}" is used but was not given`, { field });
      }
      out += params[name];
      i = end;
    } else if (c === "}") {
      if (s[i + 1] !== "}")
        throw cairnError("ERR_FIELD_INVALID", `single "}" in ${JSON.stringify(s)}`, { field });
      out += "}";
      i++;
    } else out += c;
  }
  return out;
}

function subList(v: unknown, params: Readonly<Record<string, string>>, field: string): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((x, i) => (typeof x === "string" ? formatParameters(x, params, `${field}[${i}]`) : x));
}

function subRules(v: unknown, params: Readonly<Record<string, string>>, field: string): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((r, i) => subList(r, params, `${field}[${i}]`));
}

/**
 * Returns a copy of a layout's signed object with parameters substituted in every step's
 * expected_command and artifact rules and every inspection's run and rules, as the reference does.
 */
export function substituteParameters(
  layout: Record<string, unknown>,
  params: Readonly<Record<string, string>>,
): Record<string, unknown> {
  for (const k of Object.keys(params)) {
    if (!NAME_RE.test(k)) throw cairnError("ERR_USAGE", `"${k}" is not a valid parameter name`);
  }
  const out = { ...layout };
  if (Array.isArray(layout.steps)) {
    out.steps = layout.steps.map((s, i) => {
      if (!isJsonObject(s)) return s;
      const f = `steps[${i}]`;
      return {
        ...s,
        expected_command: subList(s.expected_command, params, `${f}.expected_command`),
        expected_materials: subRules(s.expected_materials, params, `${f}.expected_materials`),
        expected_products: subRules(s.expected_products, params, `${f}.expected_products`),
      };
    });
  }
  if (Array.isArray(layout.inspect)) {
    out.inspect = layout.inspect.map((s, i) => {
      if (!isJsonObject(s)) return s;
      const f = `inspect[${i}]`;
      return {
        ...s,
        run: subList(s.run, params, `${f}.run`),
        expected_materials: subRules(s.expected_materials, params, `${f}.expected_materials`),
        expected_products: subRules(s.expected_products, params, `${f}.expected_products`),
      };
    });
  }
  return out;
}
