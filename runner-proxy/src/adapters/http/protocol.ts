import { pathMatcher, requestMatcher } from '../../core/http-match.js';
import type { ConditionKey, Matcher, ProtocolDeclaration } from '../../policy/protocol.js';
import type { HttpRequestPattern } from '../../policy/types.js';

const HTTP = 'http';
const UNKNOWN = 'unknown';

type HttpPattern = string | HttpRequestPattern;

/** An http pattern; `exactCase` for what an allow rule lists (see pathMatcher). */
function httpMatcher(pattern: HttpPattern, exactCase: boolean): Matcher {
  if (typeof pattern !== 'string') return requestMatcher(pattern, exactCase);
  if (pattern === UNKNOWN) return (op) => op.protocol === HTTP && op.classes.has(UNKNOWN);
  const parts = pattern.split(/\s+/);
  const method = parts.find((p) => !p.startsWith('/'))?.toUpperCase();
  const path = parts.find((p) => p.startsWith('/'));
  const pathMatches = path ? pathMatcher([path], exactCase) : () => true;
  return (op) => op.protocol === HTTP && (!method || op.method === method) && pathMatches(op);
}

const patternsMatcher = (value: unknown, exactCase: boolean): Matcher => {
  const matchers = (value as readonly HttpPattern[]).map((p) => httpMatcher(p, exactCase));
  return (op) => matchers.some((m) => m(op));
};

/** `http:` "METHOD /path/glob", "METHOD", "/path/glob", unknown, or a request pattern. */
const httpCondition: ConditionKey = {
  key: 'http',
  schema: () => ({
    type: 'array',
    minItems: 1,
    items: {
      type: ['string', 'object'],
      minLength: 1,
      minProperties: 1,
      additionalProperties: false,
      properties: {
        host: { $ref: '#/definitions/stringOrList' },
        method: { $ref: '#/definitions/stringOrList' },
        path: { $ref: '#/definitions/stringOrList' },
        headers: { $ref: '#/definitions/httpValues' },
        query: { $ref: '#/definitions/httpValues' },
      },
    },
    description: '"METHOD /path/glob", "METHOD", "/path/glob", unknown, or a request pattern { host, method, path, headers, query } whose every key must match.',
  }),
  check: (value, path, checks) =>
    (value as readonly (string | Readonly<Record<string, unknown>>)[]).map((pattern, i) => {
      if (typeof pattern !== 'string') return checks.requestPattern(pattern, [...path, i]);
      const glob = pattern.split(/\s+/).find((part) => part.startsWith('/'));
      if (glob) checks.glob(glob, '/', [...path, i]);
      return pattern;
    }),
  matcher: (value, { allows }) => patternsMatcher(value, allows),
  allowList: {
    noun: 'http requests',
    compile: (value) => ({ covers: (op) => op.protocol === HTTP, lists: patternsMatcher(value, true) }),
  },
};

/** HTTP and HTTPS in the policy's words; the adapter (./adapter.ts) is loaded only when a policy names it. */
export const httpProtocol: ProtocolDeclaration = {
  name: HTTP,
  settings: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      ca: { type: 'string', description: "PEM of the CA that signs the target's certificate (https targets)." },
      reads: {
        type: 'object',
        additionalProperties: false,
        description: 'How the target reads what servers read differently. Unset, a request that depends on it is refused with 400; declared, rules see the request as the target reads it.',
        properties: {
          empty_segments: { enum: ['refuse', 'merge', 'keep'], description: '// in a path (default refuse).' },
          encoded_slashes: { enum: ['refuse', 'decode', 'keep'], description: '%2F, %5C and \\ in a path: read as / (decode) or as data (keep); default refuse.' },
          path_parameters: { enum: ['refuse', 'strip', 'keep'], description: ';parameters in a segment: cut off (strip) or part of it (keep); default refuse.' },
          path_case: {
            enum: ['unknown', 'sensitive', 'insensitive'],
            description: 'Whether the target routes paths with case (default unknown: rules that refuse or hold match without case, allow lists with it).',
          },
          method_case: { enum: ['refuse', 'insensitive'], description: 'A method not in upper case (default refuse).' },
          method_override: {
            enum: ['refuse', 'honour', 'ignore'],
            description: 'X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, _method in the query or a POST form: refused (default), the method rules see (honour), or passed as data (ignore).',
          },
        },
      },
    },
  },
  conditions: [httpCondition],
};
