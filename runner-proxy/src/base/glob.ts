/**
 * Globs for claims, paths and column names: `*` matches within one segment, `**` across segments,
 * `?` one character, `{a,b}` alternatives. Anything else is literal, so a claim such as
 * `refs/heads/release-1.2` needs no escaping.
 */
export class GlobSyntaxError extends Error {}

export interface GlobOptions {
  /** The character `*` never crosses: '/' for claims and paths, '.' for table.column names. */
  separator: '/' | '.';
}

export function hasGlobSyntax(pattern: string): boolean {
  return /[*?{}]/.test(pattern);
}

export function compileGlob(pattern: string, { separator }: GlobOptions): RegExp {
  const notSep = separator === '/' ? '[^/]' : '[^.]';
  let out = '';
  let inBraces = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      let run = 1;
      while (pattern[i + run] === '*') run++;
      if (run > 2) throw new GlobSyntaxError(`"${pattern}" has ${run} stars in a row; use * or **`);
      out += run === 2 ? '.*' : `${notSep}*`;
      i += run - 1;
    } else if (c === '?') {
      out += notSep;
    } else if (c === '{') {
      if (inBraces) throw new GlobSyntaxError(`"${pattern}" nests braces, which globs do not support`);
      inBraces = true;
      out += '(?:';
    } else if (c === '}') {
      if (!inBraces) throw new GlobSyntaxError(`"${pattern}" closes a brace it never opened`);
      inBraces = false;
      out += ')';
    } else if (c === ',' && inBraces) {
      out += '|';
    } else {
      out += c.replace(/[\\^$.|+()[\]]/g, '\\$&');
    }
  }
  if (inBraces) throw new GlobSyntaxError(`"${pattern}" opens a brace it never closes`);
  return new RegExp(`^${out}$`, 's');
}

/** A matcher for one pattern: exact comparison when the pattern has no glob syntax. */
export function globMatcher(pattern: string, options: GlobOptions): (value: string) => boolean {
  if (!hasGlobSyntax(pattern)) return (value) => value === pattern;
  const re = compileGlob(pattern, options);
  return (value) => re.test(value);
}
