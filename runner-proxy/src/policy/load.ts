import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ErrorCode, GovernError, PolicyError, type PolicyProblem } from '../base/errors.js';
import { parseDuration } from '../base/duration.js';
import { compileGlob, GlobSyntaxError } from '../base/glob.js';
import { compileCondition, compileSelector, JsonSyntaxError } from '../base/json-select.js';
import { forgeOfEntry, isPinned, unpinnedReason, weakPinning } from './pinning.js';
import type { ConditionChecks, Path, ProtocolRegistry } from './protocol.js';
import { policySchema } from './schema.js';
import type {
  ApprovalsSpec,
  ConnectionSpec,
  DetectorType,
  HttpRequestPattern,
  MaskSpec,
  Policy,
  ProxySpec,
  RuleAction,
  RuleSpec,
  TrustEntry,
} from './types.js';

export interface LoadOptions {
  /** Where `${VAR}` is looked up: the gateway's own environment. */
  env: Readonly<Record<string, string | undefined>>;
  /** false: check the file's structure only and leave `${VAR}` unresolved (editors, pre-commit hooks). */
  resolveVariables: boolean;
  /** The protocols the build serves (adapters/index.ts): which connections and conditions the policy may have. */
  protocols: ProtocolRegistry;
}

const ACTIONS: readonly RuleAction[] = ['mask', 'block', 'approve', 'allow'];
const VARIABLE = /\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_TIMEOUT = '15m';
const DEFAULT_MAX_PENDING = 20;

/** One validator per registry for the life of the process; Ajv compiles the schema to code. */
const validators = new WeakMap<ProtocolRegistry, ReturnType<Ajv['compile']>>();
function validate(data: unknown, protocols: ProtocolRegistry): ErrorObject[] {
  let validator = validators.get(protocols);
  if (!validator) validators.set(protocols, (validator = new Ajv({ allErrors: true, verbose: true, strict: false }).compile(policySchema(protocols))));
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

const DEFAULT_POLICIES = ['.github/govern.yml', '.govern.yml'];

/** The policy file to use: the one given, else .github/govern.yml, else .govern.yml. */
export function findPolicy(explicit: string | undefined): string {
  if (explicit) return explicit;
  const found = DEFAULT_POLICIES.find((p) => existsSync(p));
  if (!found) throw new GovernError(ErrorCode.PolicyNotFound, `no policy file: pass --policy FILE or create ${DEFAULT_POLICIES.join(' or ')}`);
  return found;
}

/** Reads, validates and resolves a policy file; throws PolicyError listing every problem found. */
export function loadPolicy(file: string, options: LoadOptions): Policy {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new GovernError(ErrorCode.PolicyNotFound, missing ? `the policy file ${file} does not exist; check its path` : `cannot read the policy file ${file}: ${(cause as Error).message}`, { cause });
  }
  return parsePolicy(file, bytes, options);
}

export function parsePolicy(file: string, bytes: Buffer, options: LoadOptions): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(bytes.toString('utf8'), { lineCounter, prettyErrors: true, uniqueKeys: true });
  const problems: PolicyProblem[] = [];
  const at = (offset: number, message: string) => {
    const { line, col } = lineCounter.linePos(offset);
    problems.push({ file, line, col, message });
  };
  for (const e of doc.errors) at(e.pos[0], e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  if (problems.length) throw new PolicyError(problems);

  const warnings: PolicyProblem[] = [];
  const located = new Located(doc, at, (offset, message) => warnings.push({ file, ...lineCounter.linePos(offset), message }));
  const data = doc.toJS() as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    at(0, 'the policy must be a mapping with at least "version: 1"');
    throw new PolicyError(problems);
  }
  for (const error of collapse(validate(data, options.protocols))) located.report(error);
  if (problems.length) throw new PolicyError(problems);

  const raw = data as RawPolicy;
  const variables = new Set<string>();
  const policy: Policy = {
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    source: bytes,
    identity: raw.identity && {
      audience: raw.identity.audience,
      trust: raw.identity.trust.map((t, i) => checkTrust(t, ['identity', 'trust', i], located)),
    },
    connections: Object.entries(raw.connections ?? {}).map(([name, c]) =>
      checkConnection(name, c, located, options, variables),
    ),
    rules: (raw.rules ?? []).map((r, i) => checkRule(r, ['rules', i], located, options.protocols)),
    approvals: approvalsOf(raw.approvals, located),
    recording: { results: raw.recording?.results ?? 'summary' },
    mode: raw.mode ?? 'enforce',
    ...(raw.proxy && { proxy: checkProxy(raw.proxy, located) }),
    warnings,
    variables: [...variables],
    protocols: options.protocols,
  };
  crossCheck(policy, raw, located);
  checkClasses(policy, located);
  findStrayVariables(doc, located);
  if (problems.length) throw new PolicyError(problems);
  return policy;
}

// ---- locating problems in the YAML ----

class Located {
  constructor(
    private readonly doc: Document,
    readonly at: (offset: number, message: string) => void,
    private readonly warnAt: (offset: number, message: string) => void,
  ) {}

  warning(path: Path, message: string): void {
    const node = this.node(path);
    this.warnAt(node?.range?.[0] ?? 0, message);
  }

  node(path: Path): Node | undefined {
    return (path.length ? this.doc.getIn(path, true) : this.doc.contents) as Node | undefined;
  }

  /** Reports at the node's position, or its nearest ancestor that exists. */
  problem(path: Path, message: string): void {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = this.node(p);
      if (node?.range) return this.at(node.range[0], message);
      if (p.length === 0) return this.at(0, message);
    }
  }

  /** Reports at a mapping's key, so "unknown key" points at the key itself. */
  keyProblem(path: Path, key: string, message: string): void {
    const map = this.node(path);
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isPair(pair) && isScalar(pair.key) && pair.key.value === key && pair.key.range) {
          return this.at(pair.key.range[0], message);
        }
      }
    }
    this.problem(path, message);
  }

  report(error: ErrorObject): void {
    const path = pointerToPath(error.instancePath);
    const where = describePath(path);
    const p = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
        const hint = closest(key, known);
        return this.keyProblem(
          path,
          key,
          `unknown key "${key}"${where ? ` in ${where}` : ''}${hint ? `; did you mean "${hint}"?` : `; expected one of ${known.join(', ')}`}`,
        );
      }
      case 'required':
        return this.problem(path, `${where || 'the policy'} is missing "${String(p.missingProperty)}"`);
      case 'enum': {
        const allowed = (p.allowedValues as unknown[]).map(String);
        const hint = closest(String(error.data), allowed);
        return this.problem(
          path,
          `${where} is "${String(error.data)}", which is not one of ${allowed.join(', ')}${hint ? `; did you mean "${hint}"?` : ''}`,
        );
      }
      case 'minProperties':
        return this.problem(path, `${where} is empty; give it at least one key`);
      case 'const':
        return this.problem(path, `${where} must be ${JSON.stringify(p.allowedValue)}`);
      case 'type':
        return this.problem(path, `${where || 'the policy'} must be ${article(String(p.type))}`);
      case 'oneOf':
        return this.problem(path, `${where} must be ${describeAlternatives(error.schema as { type?: unknown }[])}`);
      case 'pattern':
        return this.problem(path, `${where} "${String(error.data)}" ${describePattern(String(p.pattern))}`);
      case 'propertyNames':
        return this.problem(path, `${where} has a name that is not a plain identifier (letters, digits, _ and -)`);
      default:
        return this.problem(path, `${where} ${error.message ?? 'is not valid'}`);
    }
  }
}

/** oneOf reports every branch's failures too; keep only the oneOf itself, which names the alternatives. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  const inside = (e: ErrorObject) =>
    oneOfs.some((o) => e !== o && e.schemaPath.startsWith(o.schemaPath.replace(/\/oneOf$/, '/oneOf/')) && e.instancePath.startsWith(o.instancePath));
  // propertyNames also reports the name's own pattern failure, without a useful path; keep the outer one.
  const aboutName = (e: ErrorObject) => e.keyword !== 'propertyNames' && (e.params as { propertyName?: string }).propertyName !== undefined;
  return errors.filter((e) => !inside(e) && !aboutName(e));
}

function pointerToPath(pointer: string): Path {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function describePath(path: Path): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

function article(type: string): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false' };
  return type.split(',').map((t) => names[t] ?? t).join(' or ');
}

function describeAlternatives(branches: { type?: unknown }[]): string {
  return branches.map((b) => article(Array.isArray(b.type) ? b.type.join(',') : String(b.type ?? 'value'))).join(', or ');
}

function describePattern(pattern: string): string {
  if (pattern === '^[A-Z_][A-Z0-9_]*$') return 'must be an environment variable name (A-Z, 0-9 and _)';
  if (pattern.startsWith('^[0-9]+(ms|s|m|h)')) return 'must be a duration such as 90s, 15m or 2h';
  if (pattern === '^\\$') return 'must be a JSON selector starting with $';
  if (pattern.startsWith('^[A-Za-z0-9]')) return 'must use only letters, digits, _, . and -';
  return `must match ${pattern}`;
}

/** The known word a misspelling most likely meant, if one is close. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

// ---- semantic checks on a schema-valid document ----

type StringOrList = string | string[];
interface RawRequestPattern {
  host?: StringOrList;
  method?: StringOrList;
  path?: StringOrList;
  headers?: Record<string, StringOrList>;
  query?: Record<string, StringOrList>;
}
interface RawCondition { [key: string]: unknown; json?: string }
interface RawRule {
  name: string;
  when?: { connection?: StringOrList } & RawRequestPattern;
  mask?: {
    columns?: string[];
    types?: DetectorType[];
    json?: string[];
    headers?: string[];
    on?: 'read' | 'write';
    strategy?: MaskSpec['strategy'];
    predicates?: 'refuse' | 'allow' | { refuse?: boolean; allow_param_equality?: boolean };
  };
  block?: RawCondition;
  approve?: RawCondition;
  allow?: RawCondition;
  others?: 'refuse' | 'approve';
}
interface RawTrustEntry { issuer: string; claims?: TrustEntry['claims']; any_repository?: boolean }
interface RawPolicy {
  version: 1;
  identity?: { audience: string; trust: RawTrustEntry[] };
  connections?: Record<string, Record<string, unknown> & { export: string }>;
  rules?: RawRule[];
  approvals?: { via?: ApprovalsSpec['via']; approvers?: string[]; timeout?: string; allow_self_approval?: boolean; max_pending?: number };
  recording?: { results?: Policy['recording']['results'] };
  mode?: Policy['mode'];
  proxy?: { intercept?: string[]; tunnel?: string[]; others?: ProxySpec['others'] };
}

function checkProxy(raw: NonNullable<RawPolicy['proxy']>, located: Located): ProxySpec {
  for (const key of ['intercept', 'tunnel'] as const) raw[key]?.forEach((host, i) => checkGlob(host, '.', ['proxy', key, i], located));
  return { intercept: raw.intercept ?? [], tunnel: raw.tunnel ?? [], others: raw.others ?? 'tunnel' };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

function checkGlob(pattern: string, separator: '/' | '.', path: Path, located: Located): void {
  try {
    compileGlob(pattern, { separator });
  } catch (e) {
    if (!(e instanceof GlobSyntaxError)) throw e;
    located.problem(path, `${describePath(path)}: bad glob ${e.message}`);
  }
}

function checkTrust(raw: RawTrustEntry, path: Path, located: Located): TrustEntry {
  const issuer = raw.issuer;
  if (issuer !== 'github' && issuer !== 'gitlab') {
    let url: URL | undefined;
    try {
      url = new URL(issuer);
    } catch {
      located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must be github, gitlab or an https URL, not "${issuer}"`);
    }
    if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      located.problem([...path, 'issuer'], `${describePath([...path, 'issuer'])} must use https (plain http only for a loopback issuer)`);
    }
  }
  for (const [claim, value] of Object.entries(raw.claims ?? {})) {
    (Array.isArray(value) ? value : [value]).forEach((v, i) => {
      if (typeof v === 'string') checkGlob(v, '/', Array.isArray(value) ? [...path, 'claims', claim, i] : [...path, 'claims', claim], located);
    });
  }
  const entry: TrustEntry = { issuer, claims: raw.claims ?? {}, ...(raw.any_repository && { anyRepository: true }) };
  const forge = forgeOfEntry(entry);
  if (forge && !isPinned(entry, forge)) located.problem(path, `${describePath(path)} (issuer ${issuer}) ${unpinnedReason(forge)}`);
  const weak = forge && isPinned(entry, forge) ? weakPinning(entry, forge) : undefined;
  if (weak) located.warning(path, `${describePath(path)} ${weak}`);
  return entry;
}

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function checkConnection(
  name: string,
  raw: Record<string, unknown> & { export: string },
  located: Located,
  options: LoadOptions,
  variables: Set<string>,
): ConnectionSpec {
  const path: Path = ['connections', name];
  const protocols = options.protocols.names.filter((p) => raw[p] !== undefined);
  if (protocols.length !== 1) {
    located.problem(
      path,
      protocols.length === 0
        ? `connection "${name}" needs one of ${oneOf(options.protocols.names)}`
        : `connection "${name}" has ${protocols.join(' and ')}; a connection reaches exactly one target`,
    );
  }
  const protocol = protocols[0] ?? options.protocols.names[0]!;
  const settings = resolveVariables(raw[protocol] as Record<string, unknown> | undefined, [...path, protocol], located, options, variables);
  return { name, protocol, export: raw.export, settings };
}

/** Replaces `${VAR}` in every string of a connection's settings, collecting the names it reads. */
function resolveVariables(
  value: unknown,
  path: Path,
  located: Located,
  options: LoadOptions,
  variables: Set<string>,
): Record<string, unknown> {
  const walk = (v: unknown, p: Path): unknown => {
    if (typeof v === 'string') {
      return v.replace(VARIABLE, (whole, varName: string) => {
        if (!VARIABLE_NAME.test(varName)) {
          located.problem(p, `${describePath(p)}: "${whole}" is not a variable reference; names use letters, digits and _`);
          return whole;
        }
        variables.add(varName);
        if (!options.resolveVariables) return whole;
        const resolved = options.env[varName];
        if (resolved === undefined || resolved === '') {
          located.problem(p, `${describePath(p)}: variable ${varName} is not set in the gateway's environment (pass --no-env to check the file's structure only)`);
          return whole;
        }
        return resolved;
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...p, i]));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...p, k])]));
    return v;
  };
  return (walk(value ?? {}, path) ?? {}) as Record<string, unknown>;
}

function checkRule(raw: RawRule, path: Path, located: Located, protocols: ProtocolRegistry): RuleSpec {
  const actions = ACTIONS.filter((a) => raw[a] !== undefined);
  if (actions.length !== 1) {
    located.problem(
      path,
      actions.length === 0
        ? `rule "${raw.name}" needs one of mask, block, approve or allow`
        : `rule "${raw.name}" has ${actions.join(' and ')}; give each action a rule of its own`,
    );
  }
  const action = actions[0] ?? 'block';
  const when = raw.when && { connection: list(raw.when.connection), ...checkRequestPattern(raw.when, [...path, 'when'], located) };
  const rule: RuleSpec = { name: raw.name, action, ...(when && { when }) };
  if (action === 'mask' && raw.mask) {
    const mask: MaskSpec = {
      columns: raw.mask.columns ?? [],
      types: raw.mask.types ?? [],
      json: raw.mask.json ?? [],
      headers: (raw.mask.headers ?? []).map((h) => h.toLowerCase()),
      on: raw.mask.on ?? 'read',
      strategy: raw.mask.strategy ?? 'redact',
      ...(raw.mask.predicates !== undefined && { predicates: predicatesOf(raw.mask.predicates) }),
    };
    mask.columns.forEach((c, i) => {
      if (!c.includes('.')) located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" must name table.column (use *.${c} for any table)`);
      else if (/[[\]()\s"';]/.test(c)) {
        located.problem([...path, 'mask', 'columns', i], `${describePath([...path, 'mask', 'columns', i])} "${c}" is not a table.column name or glob: use names with * ? and {a,b}`);
      } else checkGlob(c, '.', [...path, 'mask', 'columns', i], located);
    });
    mask.json.forEach((s, i) => syntax(() => compileSelector(s), [...path, 'mask', 'json', i], located));
    if (mask.columns.length + mask.types.length + mask.json.length + mask.headers.length === 0) {
      located.problem([...path, 'mask'], `rule "${raw.name}" masks nothing; list columns, types, json or headers`);
    }
    rule.mask = mask;
  } else if (action !== 'mask') {
    const checks = conditionChecks(located);
    rule.condition = Object.fromEntries(
      Object.entries(raw[action]!).map(([key, value]) => {
        if (key === 'json') {
          syntax(() => compileCondition(value as string), [...path, action, 'json'], located);
          return [key, value];
        }
        const check = protocols.conditions.get(key)!.condition.check;
        return [key, check ? check(value, [...path, action, key], checks) : value];
      }),
    );
  }
  if (raw.others !== undefined) {
    const listed = raw.allow && Object.keys(raw.allow).filter((k) => k !== 'json');
    if (!listed || listed.length === 0 || listed.some((k) => !protocols.conditions.get(k)?.condition.allowList)) {
      const nouns = [...protocols.conditions.values()].flatMap(({ condition }) => condition.allowList?.noun ?? []);
      located.problem([...path, 'others'], `rule "${raw.name}" has others: ${raw.others}, which only an allow rule listing ${nouns.join(' or ')} (and nothing else) can have`);
    } else rule.others = raw.others;
  }
  return rule;
}

/** What a protocol's condition keys check their values with: this file's globs and request patterns. */
function conditionChecks(located: Located): ConditionChecks {
  return {
    glob: (pattern, separator, path) => checkGlob(pattern, separator, path, located),
    requestPattern: (raw, path) => checkRequestPattern(raw as RawRequestPattern, path, located),
  };
}

/** "a, b or c". */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** An HTTP request pattern with its globs checked, methods upper case, host and header names lower case. */
function checkRequestPattern(raw: RawRequestPattern, path: Path, located: Located): HttpRequestPattern {
  const globs = (key: 'host' | 'path', separator: '/' | '.') => {
    const values = list(raw[key]);
    values?.forEach((g, i) => checkGlob(g, separator, [...path, key, ...(Array.isArray(raw[key]) ? [i] : [])], located));
    return values;
  };
  const valueGlobs = (key: 'headers' | 'query') => {
    const entries = raw[key] && Object.entries(raw[key]);
    entries?.forEach(([name, values]) => {
      if (key === 'headers' && !HEADER_NAME.test(name)) located.keyProblem([...path, key], name, `${describePath([...path, key])}: "${name}" is not an HTTP header name`);
      list(values)!.forEach((g, i) => checkGlob(g, '/', [...path, key, name, ...(Array.isArray(values) ? [i] : [])], located));
    });
    return entries && Object.fromEntries(entries.map(([name, values]) => [key === 'headers' ? name.toLowerCase() : name, list(values)!]));
  };
  const host = globs('host', '.')?.map((h) => h.toLowerCase());
  const method = list(raw.method)?.map((m) => m.toUpperCase());
  const requestPath = globs('path', '/');
  const headers = valueGlobs('headers');
  const query = valueGlobs('query');
  return { ...(host && { host }), ...(method && { method }), ...(requestPath && { path: requestPath }), ...(headers && { headers }), ...(query && { query }) };
}

function syntax(compile: () => unknown, path: Path, located: Located): void {
  try {
    compile();
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    located.problem(path, `${describePath(path)}: ${e.message}`);
  }
}

function approvalsOf(raw: RawPolicy['approvals'], located: Located): ApprovalsSpec {
  const via = raw?.via ?? 'cli';
  const approvers = raw?.approvers ?? [];
  if (via !== 'cli' && approvers.length === 0) {
    located.problem(['approvals'], `approvals via ${via} need approvers: nobody could answer a request`);
  }
  return {
    via,
    approvers,
    timeoutMs: parseDuration(raw?.timeout ?? DEFAULT_TIMEOUT),
    allowSelfApproval: raw?.allow_self_approval ?? false,
    maxPending: raw?.max_pending ?? DEFAULT_MAX_PENDING,
  };
}

function crossCheck(policy: Policy, raw: RawPolicy, located: Located): void {
  const names = new Set(policy.connections.map((c) => c.name));
  const exports = new Map<string, string>();
  for (const c of policy.connections) {
    const other = exports.get(c.export);
    if (other) located.problem(['connections', c.name, 'export'], `connections "${other}" and "${c.name}" both export ${c.export}`);
    exports.set(c.export, c.name);
  }
  const ruleNames = new Set<string>();
  policy.rules.forEach((rule, i) => {
    if (ruleNames.has(rule.name)) located.problem(['rules', i, 'name'], `rule name "${rule.name}" is used twice; names identify rules in the record`);
    ruleNames.add(rule.name);
    rule.when?.connection?.forEach((name, j) => {
      if (!names.has(name)) {
        const hint = closest(name, [...names]);
        const at = Array.isArray(raw.rules![i]!.when!.connection) ? ['rules', i, 'when', 'connection', j] : ['rules', i, 'when', 'connection'];
        // What the forward proxy records as connection proxy:HOST is named by its host.
        const proxied = name.startsWith('proxy:') ? `; name a host the proxy intercepts with when: { host: "${name.slice(6)}" }` : undefined;
        located.problem(at, `rule "${rule.name}" names connection "${name}", which the policy does not define${proxied ?? (hint ? `; did you mean "${hint}"?` : '')}`);
      }
    });
  });
}

/**
 * The classes a rule names for the connections it narrows to must be ones their protocols know:
 * `copy_program` on a MySQL connection would never match. (A rule for every connection names classes
 * some protocol knows, which the schema checks.)
 */
function checkClasses(policy: Policy, located: Located): void {
  const protocolOf = new Map(policy.connections.map((c) => [c.name, c.protocol]));
  policy.rules.forEach((rule, i) => {
    for (const [key, value] of Object.entries(rule.condition ?? {})) {
      const entry = policy.protocols.conditions.get(key);
      if (!entry?.condition.namesClasses) continue;
      const connections = (rule.when?.connection ?? []).filter((name) => entry.protocols.has(protocolOf.get(name) ?? ''));
      const reached = [...new Set(connections.map((name) => protocolOf.get(name)!))];
      const known = reached.flatMap((p) => policy.protocols.get(p)!.classes?.[key] ?? []);
      (value as readonly string[]).forEach((c, j) => {
        if (reached.length === 0 || known.includes(c)) return;
        const path = ['rules', i, rule.action, key, j];
        const hint = closest(c, known);
        located.problem(
          path,
          `${describePath(path)} "${c}" is not a class ${oneOf(reached)} knows (rule "${rule.name}" is for ${connections.map((n) => `"${n}"`).join(', ')})${hint ? `; did you mean "${hint}"?` : ''}`,
        );
      });
    }
  });
}

/** `${VAR}` is resolved only in connection settings; anywhere else it would silently stay literal. */
function findStrayVariables(doc: Document, located: Located): void {
  const visit = (node: unknown, path: Path): void => {
    if (path[0] === 'connections' && path.length >= 3 && path[2] !== 'export') return;
    if (isScalar(node)) {
      if (typeof node.value === 'string' && node.value.includes('${') && node.range) {
        located.at(node.range[0], `${describePath(path)}: only connection settings take \${VAR}`);
      }
    } else if (isMap(node)) {
      for (const pair of node.items) if (isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    }
  };
  visit(doc.contents, []);
}

/** `predicates: refuse`, or `{ refuse: true, allow_param_equality: true }` to still allow `column = $1`. */
function predicatesOf(raw: NonNullable<NonNullable<RawRule['mask']>['predicates']>): NonNullable<MaskSpec['predicates']> {
  if (typeof raw === 'string') return { refuse: raw === 'refuse', allowParamEquality: false };
  return { refuse: raw.refuse ?? true, allowParamEquality: raw.allow_param_equality ?? false };
}
