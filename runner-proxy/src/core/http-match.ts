import type { HttpRequestPattern } from '../policy/types.js';
import { globMatcher } from '../base/glob.js';
import type { Operation } from '../policy/operation.js';

type Matcher = (op: Operation) => boolean;
type ValueMatcher = (value: string) => boolean;

const anyGlob = (globs: readonly string[], separator: '/' | '.'): ValueMatcher => {
  const matchers = globs.map((g) => globMatcher(g, { separator }));
  return (value) => matchers.some((m) => m(value));
};

/**
 * A matcher for the request's path. Where the connection does not say whether its target routes with
 * case, what refuses, holds or masks matches without case (`/Admin` is `/admin` to a target that may
 * not tell them apart) and what allows matches with it (`exactCase`): either way, unsure, it errs on
 * the side of refusing. A target declared case-insensitive is matched without case by every rule.
 */
export function pathMatcher(globs: readonly string[], exactCase: boolean): Matcher {
  const exact = anyGlob(globs, '/');
  const folded = anyGlob(globs.map((g) => g.toLowerCase()), '/');
  return (op) => {
    if (op.path === undefined) return false;
    const fold = op.pathCase === 'insensitive' || (!exactCase && op.pathCase === undefined);
    return fold ? folded(op.path.toLowerCase()) : exact(op.path);
  };
}

/** Whether some value the job sent under `name` (lower case) matches. */
function headerMatches(headers: readonly string[] | undefined, name: string, matches: ValueMatcher): boolean {
  if (!headers) return false;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name && matches(headers[i + 1]!)) return true;
  return false;
}

/** One name or value of a form or query string, decoded; a malformed escape stays as it was rather than hiding it. */
export function decodeFormComponent(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '));
  } catch {
    return s;
  }
}

/** The query's parameters, decoded. */
export function queryParameters(query: string): [string, string][] {
  const decode = decodeFormComponent;
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? [decode(pair), ''] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    });
}

/**
 * A matcher for an HTTP request pattern: every key given must match, a list means any of. Paths match
 * as `pathMatcher` says; header names compare without case; a repeated header or query parameter matches when any of its values does (the
 * target may read any of them).
 */
export function requestMatcher(pattern: HttpRequestPattern, exactCase = false): Matcher {
  const checks: Matcher[] = [];
  if (pattern.host) {
    const host = anyGlob(pattern.host, '.');
    checks.push((op) => op.host !== undefined && host(op.host));
  }
  if (pattern.method) {
    const methods = new Set(pattern.method);
    checks.push((op) => op.method !== undefined && methods.has(op.method));
  }
  if (pattern.path) checks.push(pathMatcher(pattern.path, exactCase));
  for (const [name, values] of Object.entries(pattern.headers ?? {})) {
    const value = anyGlob(values, '/');
    checks.push((op) => headerMatches(op.headers, name, value));
  }
  const query = Object.entries(pattern.query ?? {}).map(([name, values]) => [name, anyGlob(values, '/')] as const);
  if (query.length) {
    checks.push((op) => {
      if (op.query === undefined) return false;
      const parameters = queryParameters(op.query);
      return query.every(([name, value]) => parameters.some(([n, v]) => n === name && value(v)));
    });
  }
  return (op) => op.protocol === 'http' && checks.every((check) => check(op));
}

/** Whether a pattern looks at more than the connection, so its rule is decided per request. */
export function isPerRequest(pattern: HttpRequestPattern): boolean {
  return Boolean(pattern.host || pattern.method || pattern.path || pattern.headers || pattern.query);
}
