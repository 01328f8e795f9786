/**
 * A request as the connection's target reads it. Servers differ in how they read a path: some merge
 * `//`, decode `%2F` into a separator, cut `;parameters` from segments, route without case or take a
 * method from an override header. A rule judged on one reading and a target acting on another is a
 * rule not applied, so a request whose reading depends on such a habit is refused with 400 unless the
 * connection declares the habit (its `reads` setting); then rules see the path and method the target
 * acts on, and the target gets the path in that same form.
 */
import { queryParameters } from '../../core/http-match.js';

/** The http connection's `reads` setting: how its target reads what may be read in more than one way. */
export interface TargetReading {
  /** `//` in a path: refused, merged into one `/`, or kept as an empty segment. */
  emptySegments: 'refuse' | 'merge' | 'keep';
  /** `%2F` and `%5C` in a path (and a raw `\`): refused, read as separators, or kept as data. */
  encodedSlashes: 'refuse' | 'decode' | 'keep';
  /** `;parameters` in a segment: refused, cut off, or kept as part of the segment. */
  pathParameters: 'refuse' | 'strip' | 'keep';
  /** Whether the target routes with case: unknown (rules that refuse match without case, lists with it), or declared. */
  pathCase: 'unknown' | 'sensitive' | 'insensitive';
  /** A method not in upper case: refused, or read in upper case. */
  methodCase: 'refuse' | 'insensitive';
  /** X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override and `_method`: refused, the method rules see, or ignored by the target. */
  methodOverride: 'refuse' | 'honour' | 'ignore';
}

export const STRICT_READING: Readonly<TargetReading> = Object.freeze({
  emptySegments: 'refuse',
  encodedSlashes: 'refuse',
  pathParameters: 'refuse',
  pathCase: 'unknown',
  methodCase: 'refuse',
  methodOverride: 'refuse',
});

/** The `reads` setting as the policy spells it (snake case); the schema has checked its values. */
export function parseReading(reads: Record<string, string> | undefined): TargetReading {
  return {
    emptySegments: (reads?.empty_segments ?? STRICT_READING.emptySegments) as TargetReading['emptySegments'],
    encodedSlashes: (reads?.encoded_slashes ?? STRICT_READING.encodedSlashes) as TargetReading['encodedSlashes'],
    pathParameters: (reads?.path_parameters ?? STRICT_READING.pathParameters) as TargetReading['pathParameters'],
    pathCase: (reads?.path_case ?? STRICT_READING.pathCase) as TargetReading['pathCase'],
    methodCase: (reads?.method_case ?? STRICT_READING.methodCase) as TargetReading['methodCase'],
    methodOverride: (reads?.method_override ?? STRICT_READING.methodOverride) as TargetReading['methodOverride'],
  };
}

/** A request target as rules see it and the target gets it. */
export interface ReadTarget {
  path: string;
  search: string;
}

/** Why a request is refused: it reads differently on the target, or is not a path at all. */
export class AmbiguousRequest extends Error {}

/** A path with nothing to read two ways: segments of plain characters, none empty, none a dot segment. */
const PLAIN_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)*\/?$/;
const PLAIN_QUERY = /^(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Characters a segment keeps as they are; any other is percent-encoded (as its latin1 byte, as the head was read). */
const SEGMENT_CHAR = /[A-Za-z0-9\-._~!$&'()*+,=:@;%]/;
const BASE = 'http://gateway.invalid';
const DECLARE = "; if the target reads it so, declare it in the connection's reads setting";

/**
 * The path and query of a request target as the target reads it, `from` skipping the reverse listener's
 * secret segment (after which an empty path is the root). Throws AmbiguousRequest for what the reading
 * refuses.
 */
export function readTarget(raw: string, reading: TargetReading, from = 0): ReadTarget {
  const q = raw.indexOf('?', from);
  const rawPath = from > 0 && (from === raw.length || q === from) ? '/' : raw.slice(from, q < 0 ? raw.length : q);
  if (!rawPath.startsWith('/')) throw new AmbiguousRequest('the request target must be a path (origin-form)');
  const rawSearch = q < 0 ? '' : raw.slice(q);
  const search = rawSearch === '?' ? '' : PLAIN_QUERY.test(rawSearch) ? rawSearch : new URL(`${BASE}/${rawSearch}`).search;
  if (PLAIN_PATH.test(rawPath)) return { path: rawPath, search };
  return { path: readPath(rawPath, reading), search };
}

function readPath(rawPath: string, reading: TargetReading): string {
  const segments: string[] = [];
  const parts = splitSeparators(rawPath.slice(1), reading);
  for (let i = 0; i < parts.length; i++) {
    let segment = decodeSegment(parts[i]!);
    if (segment.includes(';')) {
      const name = segment.slice(0, segment.indexOf(';'));
      // Kept, "..;" would be a name to the gateway and a step up to a server that cuts parameters later.
      const dot = name === '.' || name === '..';
      if (dot && reading.pathParameters === 'keep') throw new AmbiguousRequest(`the path has a dot segment with parameters ("${name};"), which servers resolve differently`);
      if (reading.pathParameters === 'refuse') throw new AmbiguousRequest(`the path has a ;parameter, which some servers cut from the segment${DECLARE} (path_parameters)`);
      if (reading.pathParameters === 'strip') segment = name;
    }
    const last = i === parts.length - 1;
    if (segment === '' && !last) {
      if (reading.emptySegments === 'refuse') throw new AmbiguousRequest(`the path has an empty segment (//), which some servers merge${DECLARE} (empty_segments)`);
      if (reading.emptySegments === 'merge') continue;
    }
    if (segment === '.') {
      if (last) segments.push('');
      continue;
    }
    if (segment === '..') {
      segments.pop();
      if (last) segments.push('');
      continue;
    }
    segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** The path's segments: split at `/`, and where the target reads `%2F`, `%5C` or `\` as a separator, there too. */
function splitSeparators(path: string, reading: TargetReading): string[] {
  const hasSlashLike = /%2f|%5c|\\/i.test(path);
  if (!hasSlashLike) return path.split('/');
  if (reading.encodedSlashes === 'refuse') throw new AmbiguousRequest(`the path has an encoded / or \\ (%2F, %5C or \\), which some servers read as a separator${DECLARE} (encoded_slashes)`);
  if (reading.encodedSlashes === 'decode') return path.replace(/%2f|%5c|\\/gi, '/').split('/');
  return path.replace(/\\/g, '%5C').split('/');
}

/** One segment: unreserved `%XX` decoded (so `%2E%2E` is a dot segment), other escapes upper-cased, other characters encoded. */
function decodeSegment(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new AmbiguousRequest('the path has a malformed percent escape');
      const decoded = String.fromCharCode(parseInt(hex, 16));
      out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
      i += 2;
    } else out += SEGMENT_CHAR.test(c) ? c : encodeByte(c);
  }
  return out;
}

function encodeByte(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

const OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);
const OVERRIDE_FIELD = '_method';
const METHOD = /^[A-Za-z]+$/;

/** The method as the target reads it, before any override: in upper case if the target reads it so. */
export function readMethod(method: string, reading: TargetReading): string {
  if (method === method.toUpperCase()) return method;
  if (reading.methodCase === 'refuse') throw new AmbiguousRequest(`the method "${method}" is not in upper case, and some servers read it as ${method.toUpperCase()}${DECLARE} (method_case)`);
  return method.toUpperCase();
}

/**
 * The method an override in the headers or query names (undefined: none), or the refusal: an override
 * is refused unless the connection says its target honours (the override is what rules see) or
 * ignores them. Two overrides that disagree are refused in any case.
 */
export function overridingMethod(rawHeaders: readonly string[], search: string, reading: TargetReading, fromBody?: string): string | undefined {
  if (reading.methodOverride === 'ignore') return undefined;
  const named = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) if (OVERRIDE_HEADERS.has(rawHeaders[i]!.toLowerCase())) named.add(rawHeaders[i + 1]!.trim().toUpperCase());
  for (const value of queryFields(search.slice(1), OVERRIDE_FIELD)) named.add(value.trim().toUpperCase());
  if (fromBody !== undefined) named.add(fromBody.trim().toUpperCase());
  if (named.size === 0) return undefined;
  if (reading.methodOverride === 'refuse') throw new AmbiguousRequest(`the request overrides its method (an X-HTTP-Method-Override header or _method), which some servers honour${DECLARE} (method_override)`);
  const [method] = named;
  if (named.size > 1 || !METHOD.test(method!)) throw new AmbiguousRequest('the request overrides its method more than once, or with something that is not a method');
  return method;
}

/** Whether the body must be read for a `_method` field: a POST form, to a target that may honour overrides. */
export function overrideMayBeInBody(method: string, contentType: string | undefined, reading: TargetReading): boolean {
  return reading.methodOverride !== 'ignore' && method === 'POST' && isForm(contentType);
}

function isForm(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data';
}

/**
 * The `_method` a form body carries (its last value when urlencoded; any part so named when multipart),
 * or undefined. The body is already decoded from its content coding.
 */
export function bodyOverride(body: Buffer, contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]!.trim().toLowerCase();
  const text = body.toString('latin1');
  if (type === 'application/x-www-form-urlencoded') return queryFields(text, OVERRIDE_FIELD).at(-1);
  // A part named _method, in any quoting the parsers accept; its value is what follows its head.
  const part = /content-disposition:[^\r\n]*?\bname\s*=\s*"?_method"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/i.exec(text);
  return part ? part[1]! : undefined;
}

/** The decoded values of one field of a query or urlencoded form. */
function queryFields(query: string, field: string): string[] {
  return queryParameters(query)
    .filter(([name]) => name === field)
    .map(([, value]) => value);
}

/** A request as the target reads it: the method it is sent with, the method rules judge (an honoured override), and its target. */
export interface ReadRequest extends ReadTarget {
  method: string;
  judgedMethod: string;
}

/** The request line and headers as the target reads them; throws AmbiguousRequest for what the reading refuses. */
export function readRequest(method: string, url: string, rawHeaders: readonly string[], reading: TargetReading, from = 0): ReadRequest {
  const target = readTarget(url, reading, from);
  const sent = readMethod(method, reading);
  return { ...target, method: sent, judgedMethod: overridingMethod(rawHeaders, target.search, reading) ?? sent };
}
