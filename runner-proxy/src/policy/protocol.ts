import type { Operation } from './operation.js';
import type { HttpRequestPattern } from './types.js';

/**
 * What a protocol brings to the policy: its connection settings, the rule condition keys its operations
 * answer to and the classes those keys may name. Each adapter folder declares one in `protocol.ts`, a
 * module that imports none of the adapter's own code; `adapters/index.ts` registers them, and the
 * loader, the JSON Schema and the rule engine are built from that registry.
 */
export interface ProtocolDeclaration {
  /** The key a connection gives its settings under (`connections.NAME.<name>`), and `Operation.protocol`. */
  readonly name: string;
  /** The JSON Schema of those settings. */
  readonly settings: JsonSchema;
  /** The condition keys a rule may use for this protocol's operations; a key several declare is one object (sql). */
  readonly conditions: readonly ConditionKey[];
  /** For each of those keys whose items are classes (sql, ssh): the classes this protocol's operations can have. */
  readonly classes?: Readonly<Record<string, readonly string[]>>;
  /** Classes refused unless an allow rule names them: the protocol's safe defaults. */
  readonly refusedUnlessAllowed?: readonly string[];
}

export type JsonSchema = Readonly<Record<string, unknown>>;
export type Path = (string | number)[];
export type Matcher = (op: Operation) => boolean;

/** What the loader lends a condition key to check its value. */
export interface ConditionChecks {
  /** Reports a glob that does not compile. */
  glob(pattern: string, separator: '/' | '.', path: Path): void;
  /** An HTTP request pattern, checked and normalised as `when` has it. */
  requestPattern(raw: Readonly<Record<string, unknown>>, path: Path): HttpRequestPattern;
}

/** Who a condition key's matchers see: the protocols that declare the key, and whether the rule allows. */
export interface ConditionScope {
  readonly protocols: ReadonlySet<string>;
  /** An allow rule: what it lists is matched as exactly as the target reads it. */
  readonly allows: boolean;
}

export interface ConditionKey {
  readonly key: string;
  /** The JSON Schema of the key's value, given the protocols that declare it and the classes they list for it. */
  schema(vocabulary: { protocols: readonly string[]; classes: readonly string[] }): JsonSchema;
  /** Whether its items are classes: the loader checks them against the rule's protocols, and an allow rule naming one lifts a refused-by-default class. */
  readonly namesClasses?: boolean;
  /** Checks a schema-valid value past what the schema says; returns it as the rules read it. */
  check?(value: unknown, path: Path, checks: ConditionChecks): unknown;
  matcher(value: unknown, scope: ConditionScope): Matcher;
  /**
   * An allow rule listing this key can be an allow-list (`others:`): what it covers and does not list
   * is refused or held. `noun` says what it lists, for the message about rules that cannot be one.
   */
  readonly allowList?: { noun: string; compile(value: unknown, scope: ConditionScope): { covers: Matcher; lists: Matcher } };
}

/** A key whose items are classes: an operation of a declaring protocol with one of them matches. */
export function classCondition(key: string, description: (protocols: readonly string[]) => string): ConditionKey {
  return {
    key,
    namesClasses: true,
    schema: ({ protocols, classes }) => ({ type: 'array', minItems: 1, items: { enum: classes }, description: description(protocols) }),
    matcher: (value, { protocols }) => {
      const named = new Set(value as readonly string[]);
      return (op) => protocols.has(op.protocol) && [...op.classes].some((c) => named.has(c));
    },
  };
}

/** `sql:`: statement classes. A protocol whose operations are SQL statements declares this key. */
export const sqlCondition = classCondition('sql', (protocols) => `Statement classes of ${protocols.join(' and ')}; a statement has every class of its worst effect.`);

/** The protocols a build serves, as their declarations say: what the policy's words mean. */
export class ProtocolRegistry {
  readonly names: readonly string[];
  /** Every condition key, with the protocols that declare it and the classes they list for it. */
  readonly conditions: ReadonlyMap<string, { condition: ConditionKey; protocols: ReadonlySet<string>; classes: readonly string[] }>;
  readonly refusedUnlessAllowed: ReadonlySet<string>;

  constructor(readonly declarations: readonly ProtocolDeclaration[]) {
    this.names = declarations.map((d) => d.name);
    if (new Set(this.names).size !== this.names.length) throw new Error(`a protocol is registered twice: ${this.names.join(', ')}`);
    const conditions = new Map<string, { condition: ConditionKey; protocols: Set<string>; classes: string[] }>();
    for (const d of declarations) {
      for (const condition of d.conditions) {
        let entry = conditions.get(condition.key);
        if (!entry) conditions.set(condition.key, (entry = { condition, protocols: new Set(), classes: [] }));
        if (entry.condition !== condition) throw new Error(`protocols ${[...entry.protocols, d.name].join(' and ')} declare condition key ${condition.key} differently; share one declaration`);
        entry.protocols.add(d.name);
        for (const c of d.classes?.[condition.key] ?? []) if (!entry.classes.includes(c)) entry.classes.push(c);
      }
    }
    this.conditions = conditions;
    this.refusedUnlessAllowed = new Set(declarations.flatMap((d) => d.refusedUnlessAllowed ?? []));
  }

  get(name: string): ProtocolDeclaration | undefined {
    return this.declarations.find((d) => d.name === name);
  }
}
