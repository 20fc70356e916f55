// SPDX-License-Identifier: Apache-2.0
// Git wildmatch patterns as the Python `pathspec` package 0.11 compiles them
// (pathspec/patterns/gitwildmatch.py GitWildMatchPattern.pattern_to_regex, PathSpec.match_files and
// util.normalize_file), which in-toto's runlib uses for artifact exclude patterns. The translation
// is mechanical, step by step, so that quirks match too: `!` negates, the last matching pattern
// wins, a pattern without a slash matches at any depth, `dir/` matches what is under `dir`, a
// whole-segment `*` needs at least one character. Python's regex `.` excludes only "\n" and its `$`
// also matches before a final "\n"; both are spelled out so JavaScript matches the same strings.
import { cairnError } from "../../core/errors.js";

/** One compiled pattern: `include` true excludes a matching path, false re-includes it, null is a no-op. */
export interface WildMatchPattern {
  readonly pattern: string;
  readonly regex: RegExp | null;
  readonly include: boolean | null;
  /**
   * For a pattern that is one slash-free glob without brackets (like "*.pyc" or ".git", which
   * pathspec prefixes with a "**" segment): the glob alone, anchored. Such a pattern matches a normalized path exactly
   * when it matches one whole path component, which lets a walk test only the new name.
   */
  readonly component: RegExp | null;
}

// Python str.strip() removes characters for which str.isspace() is true (not the same set as JS trim()).
const PY_SPACE =
  "[\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, "gu");
// Outside a character class, `u`-mode regexes only accept escapes of syntax characters.
const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/u;
const ANY = "[^\\n]"; // Python's `.` without DOTALL
const END = "(?=\\n?$)"; // Python's `$` without MULTILINE

function invalid(pattern: string, why: string): never {
  throw cairnError("ERR_USAGE", `invalid exclude pattern ${JSON.stringify(pattern)}: ${why}`, {
    field: "exclude_patterns",
  });
}

function literal(c: string): string {
  return REGEX_SYNTAX.test(c) ? `\\${c}` : c;
}

function classAtom(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/**
 * A bracket expression as Python's regex parser reads `[` + prefix + body + `]` where pathspec
 * copied the glob's body verbatim (backslashes doubled, so every body character is a literal):
 * a leading `]` is literal, `a-b` is a range (an error if reversed), `a-` before the end is two literals.
 */
function translateClass(pattern: string, body: string[], negate: boolean, caret: boolean): string {
  const items: string[] = [];
  const tokens = body.map((c) => c.codePointAt(0)!);
  if (caret) tokens.unshift(0x5e);
  let i = 0;
  while (i < tokens.length) {
    const lo = tokens[i++]!;
    if (i < tokens.length && tokens[i] === 0x2d) {
      if (i + 1 === tokens.length) {
        items.push(classAtom(lo), classAtom(0x2d));
        i++;
        continue;
      }
      const hi = tokens[i + 1]!;
      if (hi < lo) invalid(pattern, "bad character range");
      items.push(`${classAtom(lo)}-${classAtom(hi)}`);
      i += 2;
    } else {
      items.push(classAtom(lo));
    }
  }
  return `[${negate ? "^" : ""}${items.join("")}]`;
}

/** GitWildMatchPattern._translate_segment_glob: one path segment's glob to a regex. */
function translateSegmentGlob(pattern: string, seg: string): string {
  const cps = Array.from(seg); // Python indexes str by code point
  const end = cps.length;
  let escaped = false;
  let regex = "";
  let i = 0;
  while (i < end) {
    const char = cps[i++]!;
    if (escaped) {
      escaped = false;
      regex += literal(char);
    } else if (char === "\\") {
      escaped = true;
    } else if (char === "*") {
      regex += "[^/]*";
    } else if (char === "?") {
      regex += "[^/]";
    } else if (char === "[") {
      let j = i;
      if (j < end && cps[j] === "!") j++;
      if (j < end && cps[j] === "]") j++;
      while (j < end && cps[j] !== "]") j++;
      if (j < end) {
        j++;
        let negate = false;
        let caret = false;
        if (cps[i] === "!") {
          negate = true;
          i++;
        } else if (cps[i] === "^") {
          caret = true;
          i++;
        }
        regex += translateClass(pattern, cps.slice(i, j - 1), negate, caret);
        i = j;
      } else {
        regex += "\\[";
      }
    } else {
      regex += literal(char);
    }
  }
  if (escaped) invalid(pattern, "escape character with no next character");
  return regex;
}

/**
 * GitWildMatchPattern.pattern_to_regex: the anchored regex source for a pattern (JavaScript
 * syntax, `u` flag) and whether it includes (true), negates (false) or does nothing (null).
 */
export function wildMatchToRegExpSource(pattern: string): {
  source: string | null;
  include: boolean | null;
  component: string | null;
} {
  let pat = pattern.replace(PY_STRIP, "");
  if (pat.startsWith("#") || pat === "/" || pat === "")
    return { source: null, include: null, component: null };
  let include = true;
  if (pat.startsWith("!")) {
    include = false;
    pat = pat.slice(1);
  }
  let override: string | null = null;
  const segs = pat.split("/");
  // Collapse runs of "**" segments.
  for (let i = segs.length - 1; i > 0; i--) {
    if (segs[i - 1] === "**" && segs[i] === "**") segs.splice(i, 1);
  }
  // "**/" matches everything except files directly in the root.
  if (segs.length === 2 && segs[0] === "**" && !segs[1]) override = `^${ANY}+/${ANY}*${END}`;
  if (!segs[0]) {
    // A leading slash anchors the pattern at the root.
    segs.shift();
  } else if (segs.length === 1 || (segs.length === 2 && !segs[1])) {
    // No slash (or only a trailing one): matches at any depth, as "**/pattern".
    if (segs[0] !== "**") segs.unshift("**");
  }
  if (segs.length === 0) invalid(pattern, "matches nothing");
  if (!segs[segs.length - 1] && segs.length > 1) segs[segs.length - 1] = "**";
  if (override !== null) return { source: override, include, component: null };
  let component: string | null = null;

  const out: string[] = ["^"];
  let needSlash = false;
  const end = segs.length - 1;
  segs.forEach((seg, i) => {
    if (seg === "**") {
      if (i === 0 && i === end) {
        out.push(`[^/]+(?:/${ANY}*)?`);
      } else if (i === 0) {
        out.push(`(?:${ANY}+/)?`);
        needSlash = false;
      } else if (i === end) {
        out.push(`/${ANY}*`);
      } else {
        out.push(`(?:/${ANY}+)?`);
        needSlash = true;
      }
    } else if (seg === "*") {
      if (needSlash) out.push("/");
      out.push("[^/]+");
      if (i === end) out.push(`(?:/${ANY}*)?`);
      needSlash = true;
      if (segs.length === 2 && i === 1 && segs[0] === "**") component = "^[^/]+$";
    } else {
      if (needSlash) out.push("/");
      const glob = translateSegmentGlob(pattern, seg);
      out.push(glob);
      if (i === end) out.push(`(?:/${ANY}*)?`);
      needSlash = true;
      // Without a bracket expression the glob cannot match "/", so it can only match a whole component.
      if (segs.length === 2 && i === 1 && segs[0] === "**" && !seg.includes("[")) component = `^${glob}$`;
    }
  });
  out.push(END);
  return { source: out.join(""), include, component };
}

/** Compiles one pattern; throws ERR_USAGE for a pattern pathspec would reject. */
export function compileWildMatch(pattern: string): WildMatchPattern {
  const { source, include, component } = wildMatchToRegExpSource(pattern);
  if (source === null) return { pattern, regex: null, include: null, component: null };
  try {
    return {
      pattern,
      regex: new RegExp(source, "u"),
      include,
      component: component === null ? null : new RegExp(component, "u"),
    };
  } catch (e) {
    invalid(pattern, e instanceof Error ? e.message : String(e));
  }
}

/** pathspec util.normalize_file on POSIX: drops one leading "/" or a leading "./". */
export function normalizeMatchPath(path: string): string {
  if (path.startsWith("/")) return path.slice(1);
  if (path.startsWith("./")) return path.slice(2);
  return path;
}

/** A compiled list of patterns, as `PathSpec.from_lines("gitwildmatch", lines)`. */
export class PathSpec {
  readonly patterns: readonly WildMatchPattern[];
  private readonly active: readonly WildMatchPattern[];

  private readonly byComponent: readonly RegExp[] | null;

  constructor(lines: readonly string[]) {
    // from_lines skips empty strings; patterns that compile to nothing never match.
    this.patterns = lines.filter((l) => l !== "").map(compileWildMatch);
    this.active = this.patterns.filter((p) => p.include !== null);
    const componentOnly = this.active.every((p) => p.include === true && p.component !== null);
    this.byComponent = componentOnly ? this.active.map((p) => p.component!) : null;
  }

  /**
   * Same as `matches(joined)` for `joined` = parent + "/" + `name` where this spec does not match
   * the parent (as in a walk that skips excluded directories), but when every pattern is a component
   * pattern only `name` needs testing. Python's `.` stops at "\n" and a path that still starts with
   * "/" after normalization has an empty first component: both take the general route.
   */
  matchesChild(name: string, joined: string): boolean {
    if (this.byComponent === null || joined.includes("\n") || joined.startsWith("//")) {
      return this.matches(joined);
    }
    for (const re of this.byComponent) if (re.test(name)) return true;
    return false;
  }

  /** util.match_file: the last pattern that matches decides; false when none does. */
  matches(path: string): boolean {
    const norm = normalizeMatchPath(path);
    let matched = false;
    for (const p of this.active) {
      if (p.regex!.test(norm)) matched = p.include!;
    }
    return matched;
  }

  /** True when the spec has no pattern that can match anything. */
  get empty(): boolean {
    return this.active.length === 0;
  }
}
