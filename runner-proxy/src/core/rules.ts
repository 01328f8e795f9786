import type { Matcher, ProtocolRegistry } from '../policy/protocol.js';
import type { DetectorType, MaskStrategy, Policy, RuleCondition, RuleSpec } from '../policy/types.js';
import { globMatcher } from '../base/glob.js';
import { isPerRequest, requestMatcher } from './http-match.js';
import { compileCondition, compileSelector, evaluateCondition } from '../base/json-select.js';
import type { ColumnMask, Decision, JsonMask, MaskPlan, Operation, RequestMasks, Verdict } from '../policy/operation.js';
import type { Principal } from '../identity/principal.js';

const UNKNOWN = 'unknown';

interface CompiledRule {
  name: string;
  action: RuleSpec['action'];
  applies: Matcher;
  matches: Matcher;
  /**
   * The classes the rule's class conditions (sql, ssh) list: to name the one that matched, and because
   * only an allow rule naming a refused-by-default class lifts it.
   */
  namedClasses: ReadonlySet<string>;
  /** Whether the rule's condition names the unknown class, which lifts the default hold. */
  coversUnknown: boolean;
  mask?: { columns: ColumnMask[]; types: DetectorType[]; json: JsonMask[]; headers: readonly string[]; on: 'read' | 'write'; strategy: MaskStrategy };
  /** Whether `applies` depends on more than the connection, so mask plans cannot be cached per connection. */
  perRequest: boolean;
  /** Whether the rule's condition reads the request's JSON body. */
  readsJson: boolean;
  /** An allow-list (`others:`): what it covers and does not list gets this verdict. */
  allowList?: { covers: Matcher; lists: Matcher; verdict: 'block' | 'approve' };
}

const anyOf = (matchers: Matcher[]): Matcher => (op) => matchers.some((m) => m(op));

/** The condition's protocol keys, each with its declaration and whom its matchers see. */
function keysOf(condition: RuleCondition, protocols: ProtocolRegistry, allows: boolean) {
  return Object.entries(condition)
    .filter(([key]) => key !== 'json')
    .map(([key, value]) => {
      const entry = protocols.conditions.get(key)!;
      return { value, condition: entry.condition, scope: { protocols: entry.protocols, allows } };
    });
}

function jsonMatcher(json: string): Matcher {
  const compiled = compileCondition(json);
  return (op) => op.json !== undefined && evaluateCondition(compiled, op.json);
}

/**
 * What an allow-list covers and what it lists, as the keys it lists say (a command line, a request);
 * the json condition lists a request too.
 */
function allowListOf(condition: RuleCondition, protocols: ProtocolRegistry, verdict: 'block' | 'approve'): NonNullable<CompiledRule['allowList']> {
  const lists = keysOf(condition, protocols, true).map(({ value, condition: key, scope }) => key.allowList!.compile(value, scope));
  const json = condition.json !== undefined ? jsonMatcher(condition.json) : () => false;
  return {
    verdict,
    covers: (op) => lists.some((l) => l.covers(op)),
    lists: (op) => lists.some((l) => l.covers(op) && (l.lists(op) || json(op))),
  };
}

function conditionMatcher(condition: RuleCondition, protocols: ProtocolRegistry, allows: boolean): Matcher {
  const matchers = keysOf(condition, protocols, allows).map(({ value, condition: key, scope }) => key.matcher(value, scope));
  if (condition.json !== undefined) matchers.push(jsonMatcher(condition.json));
  return anyOf(matchers);
}

function whenMatcher(when: RuleSpec['when']): Matcher {
  if (!when) return () => true;
  const connections = when.connection && new Set(when.connection);
  const request = isPerRequest(when) ? requestMatcher(when) : undefined;
  return (op) => (!connections || connections.has(op.connection)) && (!request || request(op));
}

function compileRule(spec: RuleSpec, protocols: ProtocolRegistry): CompiledRule {
  const condition = spec.condition ?? {};
  const lists = Object.values(condition).filter((v): v is readonly unknown[] => Array.isArray(v));
  const rule: CompiledRule = {
    name: spec.name,
    action: spec.action,
    applies: whenMatcher(spec.when),
    matches: spec.condition ? conditionMatcher(spec.condition, protocols, spec.action === 'allow') : () => false,
    namedClasses: new Set(Object.entries(condition).flatMap(([key, value]) => (protocols.conditions.get(key)?.condition.namesClasses ? (value as string[]) : []))),
    coversUnknown: lists.some((l) => l.includes(UNKNOWN)),
    perRequest: spec.when !== undefined && isPerRequest(spec.when),
    readsJson: spec.condition?.json !== undefined,
  };
  if (spec.others && spec.condition) rule.allowList = allowListOf(spec.condition, protocols, spec.others === 'refuse' ? 'block' : 'approve');
  if (spec.mask) {
    const { strategy } = spec.mask;
    rule.mask = {
      columns: spec.mask.columns.map((pattern) => {
        const [table, column] = splitColumn(pattern);
        const t = globMatcher(table, { separator: '.' });
        const c = globMatcher(column, { separator: '.' });
        return {
          matches: (tn: string, cn: string) => t(tn) && c(cn),
          matchesColumn: c,
          matchesTable: t,
          strategy,
          rule: spec.name,
          ...(spec.mask!.predicates && { predicates: spec.mask!.predicates }),
        };
      }),
      types: [...spec.mask.types],
      json: spec.mask.json.map((s) => ({ selector: compileSelector(s), strategy, rule: spec.name })),
      headers: spec.mask.headers,
      on: spec.mask.on,
      strategy,
    };
  }
  return rule;
}

/** "schema.users.ssn" names table "schema.users" and column "ssn". */
function splitColumn(pattern: string): [string, string] {
  const dot = pattern.lastIndexOf('.');
  return [pattern.slice(0, dot), pattern.slice(dot + 1)];
}

const NO_REQUEST_MASKS: RequestMasks = Object.freeze({ json: [], detectors: new Map(), headers: new Map(), rules: [] });
export const EMPTY_MASK_PLAN: MaskPlan = Object.freeze({ columns: [], writeColumns: [], detectors: new Map(), json: [], headers: new Map(), write: NO_REQUEST_MASKS, rules: [] });

/**
 * The rule engine: block beats approve beats allow, masks from every matching rule accumulate.
 * Built once per run from the validated policy.
 */
export class RuleEngine {
  readonly #rules: CompiledRule[];
  readonly #maskRules: CompiledRule[];
  readonly #allowLists: CompiledRule[];
  readonly #observe: boolean;
  /** Classes no operation may have unless a rule allows them explicitly: the protocols' safe defaults. */
  readonly #refusedUnlessAllowed: ReadonlySet<string>;
  readonly #planCache = new Map<string, MaskPlan>();
  readonly #plansPerRequest: boolean;
  /** Whether some mask rule rewrites what goes to a target beyond PostgreSQL columns (HTTP requests). */
  readonly masksRequests: boolean;
  /**
   * Decisions by classification: adapters cache classifications by statement shape, so the same class
   * set comes back for every statement of that shape. Only for operations whose decision depends on
   * nothing but their classes, connection and write flag (no method, path or body).
   */
  readonly #decisions = new WeakMap<ReadonlySet<string>, Map<string, Decision[]>>();

  constructor(policy: Pick<Policy, 'rules' | 'mode' | 'protocols'>) {
    this.#rules = policy.rules.map((r) => compileRule(r, policy.protocols));
    this.#refusedUnlessAllowed = policy.protocols.refusedUnlessAllowed;
    this.#maskRules = this.#rules.filter((r) => r.mask);
    this.#allowLists = this.#rules.filter((r) => r.allowList);
    this.#observe = policy.mode === 'observe';
    this.#plansPerRequest = this.#maskRules.some((r) => r.perRequest);
    this.masksRequests = this.#maskRules.some((r) => r.mask!.on === 'write' && r.mask!.json.length + r.mask!.types.length + r.mask!.headers.length > 0);
  }


  /** Whether deciding this operation needs its JSON body: some rule that applies to it has a json condition. */
  needsJson(op: Operation): boolean {
    return this.#rules.some((r) => r.readsJson && r.applies(op));
  }

  evaluate(op: Operation, principal: Principal): Decision {
    const cacheable = op.method === undefined && op.path === undefined && op.json === undefined && op.commands === undefined;
    if (!cacheable) return this.#evaluate(op, principal);
    let byConnection = this.#decisions.get(op.classes);
    if (!byConnection) this.#decisions.set(op.classes, (byConnection = new Map()));
    let byFlags = byConnection.get(op.connection);
    if (!byFlags) byConnection.set(op.connection, (byFlags = []));
    // No key is made per statement: the write flag and the identity's read-only flag pick one of four.
    return (byFlags[(op.writes ? 1 : 0) + (principal.readOnly ? 2 : 0)] ??= this.#evaluate(op, principal));
  }

  #evaluate(op: Operation, principal: Principal): Decision {
    const masks = this.maskPlan(op);
    const policyDecision = this.#policyDecision(op, principal);
    // Built field by field, not spread: every HTTP request is decided afresh, and spreading is slow.
    const decision: Decision = { verdict: this.#observe ? 'allow' : policyDecision.verdict, policyVerdict: policyDecision.verdict, reason: policyDecision.reason, masks };
    if (policyDecision.rule !== undefined) decision.rule = policyDecision.rule;
    return decision;
  }

  #policyDecision(op: Operation, principal: Principal): { verdict: Verdict; rule?: string; reason: string } {
    const applicable = this.#rules.filter((r) => r.action !== 'mask' && r.applies(op) && r.matches(op));
    const first = (action: RuleSpec['action']) => applicable.find((r) => r.action === action);
    const block = first('block');
    if (block) {
      const matched = [...op.classes].filter((c) => block.namedClasses.has(c));
      return { verdict: 'block', rule: block.name, reason: `blocked by rule "${block.name}"${matched.length ? ` (class ${matched.join(', ')})` : ''}` };
    }
    const unlisted = this.#allowLists.filter((r) => r.applies(op) && r.allowList!.covers(op) && !r.allowList!.lists(op));
    const refusedBy = unlisted.find((r) => r.allowList!.verdict === 'block');
    if (refusedBy) return { verdict: 'block', rule: refusedBy.name, reason: `refused by rule "${refusedBy.name}": not on its allow-list` };
    if (op.writes && principal.readOnly) {
      return { verdict: 'block', rule: 'read-only-identity', reason: `blocked: ${principal.readOnlyReason ?? 'this identity may only read'}` };
    }
    const refused = [...op.classes].find((c) => this.#refusedUnlessAllowed.has(c) && !applicable.some((r) => r.action === 'allow' && r.namedClasses.has(c)));
    if (refused) {
      return { verdict: 'block', rule: `default-${refused}`, reason: `blocked: ${refused.replaceAll('_', ' ')} is refused unless a rule allows it` };
    }
    const approve = first('approve') ?? unlisted[0];
    if (approve) return { verdict: 'approve', rule: approve.name, reason: `held for approval by rule "${approve.name}"` };
    if (op.classes.has(UNKNOWN) && !applicable.some((r) => r.coversUnknown)) {
      return { verdict: 'approve', rule: 'default-unknown', reason: 'held for approval: its effect cannot be known before it runs, and no rule covers unknown' };
    }
    return { verdict: 'allow', reason: 'allowed' };
  }

  /** The masks for an operation; cached per connection unless a mask rule looks at method or path. */
  maskPlan(op: Operation): MaskPlan {
    if (this.#maskRules.length === 0) return EMPTY_MASK_PLAN;
    if (this.#plansPerRequest) return this.#buildPlan(op);
    let plan = this.#planCache.get(op.connection);
    if (!plan) this.#planCache.set(op.connection, (plan = this.#buildPlan(op)));
    return plan;
  }

  #buildPlan(op: Operation): MaskPlan {
    const columns: ColumnMask[] = [];
    const writeColumns: ColumnMask[] = [];
    const detectors = new Map<DetectorType, MaskStrategy>();
    const json: JsonMask[] = [];
    const headers = new Map<string, { strategy: MaskStrategy; whole: boolean }>();
    const rules: string[] = [];
    const write = { json: [] as JsonMask[], detectors: new Map<DetectorType, MaskStrategy>(), headers: new Map<string, { strategy: MaskStrategy; whole: boolean }>(), rules: [] as string[] };
    const addTo = (side: { json: JsonMask[]; detectors: Map<DetectorType, MaskStrategy>; headers: Map<string, { strategy: MaskStrategy; whole: boolean }> }, mask: NonNullable<CompiledRule['mask']>) => {
      side.json.push(...mask.json);
      for (const h of mask.headers) if (!side.headers.has(h)) side.headers.set(h, { strategy: mask.strategy, whole: mask.types.length === 0 });
      for (const t of mask.types) if (!side.detectors.has(t)) side.detectors.set(t, mask.strategy);
    };
    for (const rule of this.#maskRules) {
      if (!rule.applies(op)) continue;
      const mask = rule.mask!;
      rules.push(rule.name);
      if (mask.on === 'write') {
        writeColumns.push(...mask.columns);
        addTo(write, mask);
        if (mask.json.length + mask.types.length > 0) write.rules.push(rule.name);
        continue;
      }
      columns.push(...mask.columns);
      addTo({ json, detectors, headers }, mask);
    }
    const requestMasks = write.rules.length + write.headers.size > 0 ? write : NO_REQUEST_MASKS;
    return rules.length ? { columns, writeColumns, detectors, json, headers, write: requestMasks, rules } : EMPTY_MASK_PLAN;
  }
}
