/**
 * A statement's shape without the parser: one pass of PostgreSQL's lexical rules cuts out every
 * constant, so that texts differing only in their constants' values share a key, and the classifier
 * finds what it decided for one of them without normalizing or parsing the other.
 *
 * The key is trusted only where the scan cannot misread the text as PostgreSQL's lexer reads it. Any
 * construct it does not follow exactly gives no shape, and the parser decides: a standard string
 * holding a backslash (standard_conforming_strings could make it an escape), `U&`, `B`, `X` and `N`
 * strings, non-decimal or underscored numbers, a number run into a name, an unterminated string,
 * quoted name, dollar quote or comment, a control character or a backslash outside a string. Only texts
 * whose every statement is a SELECT, INSERT, UPDATE, DELETE, WITH or VALUES have a shape: their
 * constants are all replaced by the parser's normalization too, which the classification's rule of
 * reading a constant's value only with `readsValue` set is made against.
 */
const SHAPED = /^\s*(select|insert|update|delete|with|values)\b/i;
const STATEMENT_START = /^(select|insert|update|delete|with|values)$/i;

const INTEGER = '\u0001';
const STRING = '\u0002';
const NUMBER = '\u0003';

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
/** What starts a name or a dollar quote's tag: letters, `_`, and every non-ASCII character (as PostgreSQL's high-bit bytes). */
const isNameStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
const isTagPart = (c: number) => isNameStart(c) || isDigit(c);
const isNamePart = (c: number) => isTagPart(c) || c === 0x24;
/** Whitespace as PostgreSQL's lexer knows it: space, tab, newline, carriage return, form feed. */
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;

/** Characters no key may hold outside a constant, so that its marks are unambiguous; PostgreSQL reads none of them as whitespace. */
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;

/**
 * NUL, then the text with each constant's value replaced: an integer by U+0001, any other number by
 * U+0003, a string's body (between its quotes, which stay) by U+0002. Everything else is kept as it
 * was, comments included, so two texts with one key differ in their constants' values alone.
 */
export function statementShape(sql: string): string | undefined {
  if (!SHAPED.test(sql) || CONTROL.test(sql)) return undefined;
  const length = sql.length;
  let key = '\u0000';
  let copied = 0;
  /** After a `;`: the next word must start a statement of a shaped kind. */
  let statementStart = false;
  const replace = (start: number, end: number, mark: string) => {
    key += sql.slice(copied, start) + mark;
    copied = end;
  };
  for (let i = 0; i < length; i++) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) continue;
    const next = sql.charCodeAt(i + 1);
    if (c === 0x2d && next === 0x2d) {
      // -- to the end of the line.
      while (i + 1 < length && sql.charCodeAt(i + 1) !== 0x0a && sql.charCodeAt(i + 1) !== 0x0d) i++;
      continue;
    }
    if (c === 0x2f && next === 0x2a) {
      // Block comments nest.
      let depth = 1;
      for (i += 2; depth > 0; i++) {
        if (i + 1 >= length) return undefined;
        const a = sql.charCodeAt(i);
        const b = sql.charCodeAt(i + 1);
        if (a === 0x2f && b === 0x2a) (depth++, i++);
        else if (a === 0x2a && b === 0x2f) (depth--, i++);
      }
      i--;
      continue;
    }
    if (statementStart) {
      statementStart = false;
      if (!isNameStart(c)) return undefined;
      let end = i + 1;
      while (end < length && isNamePart(sql.charCodeAt(end))) end++;
      if (!STATEMENT_START.test(sql.slice(i, end))) return undefined;
    }
    if (c === 0x27) {
      const end = standardStringEnd(sql, i + 1);
      if (end < 0) return undefined;
      replace(i + 1, end, STRING);
      i = end;
      continue;
    }
    if (c === 0x22) {
      // A quoted name, `""` for a quote: kept.
      for (i++; ; i++) {
        if (i >= length) return undefined;
        if (sql.charCodeAt(i) !== 0x22) continue;
        if (sql.charCodeAt(i + 1) !== 0x22) break;
        i++;
      }
      continue;
    }
    if (c === 0x24) {
      if (isDigit(next)) {
        // A parameter: kept.
        while (i + 1 < length && isDigit(sql.charCodeAt(i + 1))) i++;
        if (isNamePart(sql.charCodeAt(i + 1))) return undefined;
        continue;
      }
      const end = dollarQuoted(sql, i);
      if (end === undefined) return undefined;
      replace(end.bodyStart, end.bodyEnd, STRING);
      i = end.end - 1;
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(next))) {
      const end = numberEnd(sql, i);
      if (end < 0) return undefined;
      replace(i, end, sql.slice(i, end).search(/[.eE]/) < 0 ? INTEGER : NUMBER);
      i = end - 1;
      continue;
    }
    if (isNameStart(c)) {
      if (next === 0x27) {
        if (c === 0x65 || c === 0x45) {
          // E'…': backslash escapes, whatever standard_conforming_strings says.
          const end = escapeStringEnd(sql, i + 2);
          if (end < 0) return undefined;
          replace(i + 2, end, STRING);
          i = end;
          continue;
        }
        // B'…', X'…', N'…' (and U&'…' below) are not followed here.
        if (/[bBxXnN]/.test(sql[i]!)) return undefined;
      }
      if ((c === 0x75 || c === 0x55) && next === 0x26) return undefined;
      while (i + 1 < length && isNamePart(sql.charCodeAt(i + 1))) i++;
      continue;
    }
    if (c === 0x3b) {
      statementStart = true;
      continue;
    }
    // A backslash outside a string: the parser decides what it means.
    if (c === 0x5c) return undefined;
  }
  return key + sql.slice(copied);
}

/** Where a standard string's closing quote is, from its body's start; -1 when there is none, or a backslash the setting could make an escape. */
function standardStringEnd(sql: string, from: number): number {
  for (let i = from; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (c === 0x5c) return -1;
    if (c !== 0x27) continue;
    if (sql.charCodeAt(i + 1) !== 0x27) return i;
    i++;
  }
  return -1;
}

/** Where an E string's closing quote is: a backslash takes the next character whatever it is, `''` is a quote. */
function escapeStringEnd(sql: string, from: number): number {
  for (let i = from; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x27) {
      if (sql.charCodeAt(i + 1) !== 0x27) return i;
      i++;
    }
  }
  return -1;
}

/** A dollar-quoted string from its first `$`: `$tag$…$tag$`, the tag a name without `$` (or none). */
function dollarQuoted(sql: string, start: number): { bodyStart: number; bodyEnd: number; end: number } | undefined {
  let i = start + 1;
  if (i < sql.length && !isNameStart(sql.charCodeAt(i)) && sql.charCodeAt(i) !== 0x24) return undefined;
  while (i < sql.length && isTagPart(sql.charCodeAt(i))) i++;
  if (sql.charCodeAt(i) !== 0x24) return undefined;
  const tag = sql.slice(start, i + 1);
  const bodyEnd = sql.indexOf(tag, i + 1);
  if (bodyEnd < 0) return undefined;
  return { bodyStart: i + 1, bodyEnd, end: bodyEnd + tag.length };
}

/**
 * Where a decimal number ends: digits, a fraction, an exponent. -1 for what the scan does not follow:
 * `0x`, `0o`, `0b` and `_` forms (PostgreSQL 16), `1..2`, an exponent without digits, and a number run
 * into a name or another point (trailing junk, refused by PostgreSQL 15 and read otherwise before).
 */
function numberEnd(sql: string, start: number): number {
  let i = start;
  const digits = () => {
    const from = i;
    while (isDigit(sql.charCodeAt(i))) i++;
    return i - from;
  };
  const intDigits = digits();
  if (intDigits === 1 && sql.charCodeAt(start) === 0x30 && /[xXoObB]/.test(sql[i] ?? '')) return -1;
  if (sql.charCodeAt(i) === 0x2e) {
    if (sql.charCodeAt(i + 1) === 0x2e) return -1;
    i++;
    if (digits() === 0 && intDigits === 0) return -1;
  }
  if (sql.charCodeAt(i) === 0x65 || sql.charCodeAt(i) === 0x45) {
    i++;
    if (sql.charCodeAt(i) === 0x2b || sql.charCodeAt(i) === 0x2d) i++;
    if (digits() === 0) return -1;
  }
  const after = sql.charCodeAt(i);
  if (isNamePart(after) || after === 0x2e) return -1;
  return i;
}
