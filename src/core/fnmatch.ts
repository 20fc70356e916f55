// SPDX-License-Identifier: Apache-2.0
// Python's fnmatch (CPython 3.11 Lib/fnmatch.py translate()), as in-toto's artifact rules use it:
// `*` and `?` also match "/", `[!x]` negates, a backslash is not an escape, an unclosed `[` is literal.

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;
const cache = new Map<string, RegExp>();
const MAX_CACHE = 4096;

function escapeLiteral(c: string): string {
  return c.replace(REGEX_SYNTAX, "\\$&");
}

/** Translates a shell pattern into the equivalent anchored RegExp (fnmatch.translate). */
export function translate(pat: string): RegExp {
  const cps = Array.from(pat); // code points, as Python indexes str
  const n = cps.length;
  let res = "";
  let i = 0;
  while (i < n) {
    const c = cps[i++]!;
    if (c === "*") {
      if (!res.endsWith(".*")) res += ".*";
    } else if (c === "?") {
      res += ".";
    } else if (c === "[") {
      let j = i;
      if (j < n && cps[j] === "!") j++;
      if (j < n && cps[j] === "]") j++;
      while (j < n && cps[j] !== "]") j++;
      if (j >= n) {
        res += "\\[";
        continue;
      }
      let stuff: string;
      const body = cps.slice(i, j);
      if (!body.includes("-")) {
        stuff = body.join("").replace(/\\/g, "\\\\");
      } else {
        const chunks: string[] = [];
        let start = i;
        let k = cps[i] === "!" ? i + 2 : i + 1;
        for (;;) {
          k = cps.indexOf("-", k);
          if (k < 0 || k >= j) break;
          chunks.push(cps.slice(start, k).join(""));
          start = k + 1;
          k = k + 3;
        }
        const chunk = cps.slice(start, j).join("");
        if (chunk) chunks.push(chunk);
        else chunks[chunks.length - 1] += "-";
        // Remove empty ranges -- invalid in a regular expression.
        for (let m = chunks.length - 1; m > 0; m--) {
          const prev = Array.from(chunks[m - 1]!);
          const cur = Array.from(chunks[m]!);
          if (prev[prev.length - 1]! > cur[0]!) {
            chunks[m - 1] = prev.slice(0, -1).join("") + cur.slice(1).join("");
            chunks.splice(m, 1);
          }
        }
        stuff = chunks.map((s) => s.replace(/\\/g, "\\\\").replace(/-/g, "\\-")).join("-");
      }
      i = j + 1;
      if (!stuff) {
        res += "(?!)"; // empty range: never matches
      } else if (stuff === "!") {
        res += "."; // negated empty range: any character
      } else {
        let neg = "";
        if (stuff[0] === "!") {
          neg = "^";
          stuff = stuff.slice(1);
        } else if (stuff[0] === "^" || stuff[0] === "[") {
          stuff = `\\${stuff}`;
        }
        // A leading "]" is literal in Python's sets; JavaScript needs it escaped.
        if (stuff[0] === "]") stuff = `\\${stuff}`;
        stuff = stuff.replace(/\[/g, "\\[");
        res += `[${neg}${stuff}]`;
      }
    } else {
      res += escapeLiteral(c);
    }
  }
  return new RegExp(`^(?:${res})$`, "su");
}

/** fnmatch.fnmatchcase(name, pat): case-sensitive, as on POSIX (in-toto runs with normcase a no-op). */
export function fnmatch(name: string, pat: string): boolean {
  if (pat === "*") return true; // the commonest rule pattern: skip the regular expression
  let re = cache.get(pat);
  if (!re) {
    re = translate(pat);
    if (cache.size >= MAX_CACHE) cache.clear();
    cache.set(pat, re);
  }
  return re.test(name);
}

/** fnmatch.filter(names, pat). */
export function fnmatchFilter(names: Iterable<string>, pat: string): string[] {
  const out: string[] = [];
  for (const n of names) if (fnmatch(n, pat)) out.push(n);
  return out;
}
