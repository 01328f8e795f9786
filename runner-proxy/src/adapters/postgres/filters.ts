/**
 * Whether a DELETE, UPDATE, MERGE action or ON CONFLICT DO UPDATE is restricted to some of its
 * target's rows, judged from what its condition compares rather than from a list of tautologies.
 *
 * A condition restricts only in these shapes (an allow-list; everything else reaches every row):
 * - a comparison (`= <> < > <= >=`, `IN`, `BETWEEN`, `IS [NOT] DISTINCT FROM`, `LIKE`/`ILIKE`, `= ANY`)
 *   of a bare column of the target (a cast of one too) with values that come from outside the row:
 *   constants, parameters, expressions of those, columns of another table, subqueries over other data;
 * - `IS [NOT] TRUE/FALSE` of a bare column of the target; `WHERE CURRENT OF` a cursor;
 * - `EXISTS` of a subquery over other data whose own condition restricts the target that way;
 * - `AND` with one restricting side; `OR` whose every side is an equality (see `#restriction`).
 * Data counts as the same as the target's (so never restricting) when it reads a relation of the
 * target's name, or a CTE or subquery that does: self-joins in `USING`/`FROM`/`MERGE … USING`, `IN
 * (SELECT id FROM target)`. Where other relations are joined, only columns qualified with the target's
 * name or alias count as the target's. `LIKE` patterns made only of `%` keep every row.
 */

type Node = Record<string, unknown>;

const node = (n: unknown, type: string): Node | undefined => (n && typeof n === 'object' ? ((n as Node)[type] as Node | undefined) : undefined);
const sval = (n: unknown): string | undefined => node(n, 'String')?.sval as string | undefined;

/** Comparison operators whose truth depends on both sides: each can be false for some value. */
const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);
const COMPARISON_KINDS = new Set(['AEXPR_OP', 'AEXPR_OP_ANY', 'AEXPR_OP_ALL', 'AEXPR_IN', 'AEXPR_DISTINCT', 'AEXPR_NOT_DISTINCT', 'AEXPR_LIKE', 'AEXPR_ILIKE', 'AEXPR_BETWEEN', 'AEXPR_NOT_BETWEEN', 'AEXPR_BETWEEN_SYM', 'AEXPR_NOT_BETWEEN_SYM']);

/** The relation names and aliases a condition may refer to, and whether each holds the target's data. */
interface Scope {
  /** Names that qualify the target's columns (its alias, or its name). */
  target: ReadonlySet<string>;
  /** Other relations by the name that qualifies their columns: true where they hold the target's data. */
  others: ReadonlyMap<string, boolean>;
  /** Whether unqualified columns are the target's (no other relation is in scope). */
  bareIsTarget: boolean;
}

type Restriction = 'none' | 'point' | 'broad';

/** What a condition's restriction depends on beyond its shape: a constant's value (a LIKE pattern). */
export interface FilterFacts {
  readsValue: boolean;
}

/** What the statement knows of its target: the table's name, and the CTEs that read it. */
export class FilterContext {
  readonly #relname: string;
  readonly #sameDataCtes = new Set<string>();
  readonly #facts: FilterFacts;

  /**
   * `ctes`: every CTE of the whole statement, by name (a name defined twice counts if either reads the
   * target); `facts` learns whether the verdict read a constant's value.
   */
  constructor(relname: string, ctes: ReadonlyMap<string, readonly unknown[]>, facts: FilterFacts) {
    this.#relname = relname;
    this.#facts = facts;
    // A CTE reads the target if its body does, directly or through another CTE: repeat to a fixed point.
    for (let changed = true; changed; ) {
      changed = false;
      for (const [name, bodies] of ctes) {
        if (!this.#sameDataCtes.has(name) && bodies.some((b) => this.readsTarget(b))) {
          this.#sameDataCtes.add(name);
          changed = true;
        }
      }
    }
  }

  /** Whether a tree reads the target's rows anywhere: its table, or a CTE that does. */
  readsTarget(tree: unknown): boolean {
    if (!tree || typeof tree !== 'object') return false;
    if (Array.isArray(tree)) return tree.some((t) => this.readsTarget(t));
    const range = node(tree, 'RangeVar');
    if (range && (range.relname === this.#relname || (!range.schemaname && this.#sameDataCtes.has(String(range.relname))))) return true;
    return Object.values(tree).some((v) => this.readsTarget(v));
  }

  /** The scope of a statement on the target (its RangeVar) joined with `others` (USING, FROM, MERGE's source). */
  scope(target: Node, others: readonly unknown[]): Scope {
    const joined = new Map<string, boolean>();
    for (const o of others) this.#collectRelations(o, joined);
    return { target: targetNames(target), others: joined, bareIsTarget: others.length === 0 };
  }

  /** ON CONFLICT DO UPDATE's scope: the target's columns, and `excluded`, the row proposed from `source`. */
  conflictScope(target: Node, source: unknown): Scope {
    return { target: targetNames(target), others: new Map([['excluded', this.readsTarget(source)]]), bareIsTarget: true };
  }

  #collectRelations(from: unknown, into: Map<string, boolean>): void {
    const range = node(from, 'RangeVar');
    if (range) {
      const alias = (range.alias as Node | undefined)?.aliasname as string | undefined;
      into.set(alias ?? String(range.relname), this.readsTarget(from));
      return;
    }
    const join = node(from, 'JoinExpr');
    if (join) {
      this.#collectRelations(join.larg, into);
      this.#collectRelations(join.rarg, into);
      const alias = (join.alias as Node | undefined)?.aliasname as string | undefined;
      if (alias) into.set(alias, this.readsTarget(from));
      return;
    }
    const sub = node(from, 'RangeSubselect') ?? node(from, 'RangeFunction') ?? node(from, 'RangeTableFunc');
    const alias = (sub?.alias as Node | undefined)?.aliasname as string | undefined;
    if (alias) into.set(alias, this.readsTarget(from));
  }

  /** Whether `condition` (a WHERE, ON or WHEN) restricts the target's rows in `scope`. */
  restricts(condition: unknown, scope: Scope): boolean {
    return this.#restriction(condition, scope, false) !== 'none';
  }

  /**
   * How a condition (under NOT when `negated`) restricts the target: to the rows equal to given values
   * (`point`), to some other part of them (`broad`), or not at all. Only points combine under OR, since
   * two broad conditions (`id < 5 OR id >= 5`), or a broad one and a point (`id <> 5 OR id = 5`), may
   * cover every row; a NOT of a set (`NOT IN (subquery)`, `<> ALL`, `NOT EXISTS`) holds for every row
   * when the set is empty, so it restricts nothing.
   */
  #restriction(condition: unknown, scope: Scope, negated: boolean): Restriction {
    if (condition === undefined || condition === null) return 'none';
    const bool = node(condition, 'BoolExpr');
    if (bool) {
      const args = (bool.args as unknown[] | undefined) ?? [];
      if (bool.boolop === 'NOT_EXPR') return this.#restriction(args[0], scope, !negated);
      const kinds = args.map((a) => this.#restriction(a, scope, negated));
      // NOT swaps AND and OR (De Morgan).
      if ((bool.boolop === 'AND_EXPR') !== negated) return kinds.includes('point') ? 'point' : kinds.includes('broad') ? 'broad' : 'none';
      return kinds.length > 0 && kinds.every((k) => k === 'point') ? 'point' : 'none';
    }
    if (node(condition, 'CurrentOfExpr')) return negated ? 'broad' : 'point';
    const test = node(condition, 'BooleanTest');
    if (test) return this.#side(test.arg, scope) === 'target' ? 'broad' : 'none';
    const sub = node(condition, 'SubLink');
    if (sub) return this.#subqueryRestriction(sub, scope, negated);
    const expr = node(condition, 'A_Expr');
    return expr ? this.#comparison(expr, scope, negated) : 'none';
  }

  /** `[NOT] EXISTS (…)`, `x [NOT] IN (subquery)`, `x op ANY/ALL (subquery)`. */
  #subqueryRestriction(sub: Node, scope: Scope, negated: boolean): Restriction {
    if (sub.subLinkType === 'EXISTS_SUBLINK') return negated ? 'none' : this.#existsRestriction(sub.subselect, scope);
    if (sub.subLinkType !== 'ANY_SUBLINK' && sub.subLinkType !== 'ALL_SUBLINK') return 'none';
    const operator = sval((sub.operName as unknown[] | undefined)?.at(-1)) ?? '=';
    if (!COMPARISONS.has(operator) || this.#side(sub.testexpr, scope) !== 'target') return 'none';
    // x op ANY (empty) is false, x op ALL (empty) true; NOT swaps them.
    if ((sub.subLinkType === 'ALL_SUBLINK') !== negated) return 'none';
    const point = operator === '=' && !negated;
    if (this.#outsideSubquery(sub.subselect, scope)) return point ? 'point' : 'broad';
    return point && this.#restrictedSelf(sub.subselect) ? 'point' : 'none';
  }

  /**
   * `IN (SELECT … FROM target WHERE …)`: a subquery over the target's own rows (alone, or in an inner
   * join with other data) that its own condition restricts yields values of some rows only.
   */
  #restrictedSelf(subselect: unknown): boolean {
    const select = node(subselect, 'SelectStmt');
    const from = (select?.fromClause as unknown[] | undefined) ?? [];
    if (!select || from.length !== 1) return false;
    const own = (n: unknown) => node(n, 'RangeVar')?.relname === this.#relname;
    const join = node(from[0], 'JoinExpr');
    if (own(from[0])) return this.restricts(select.whereClause, this.scope(node(from[0], 'RangeVar')!, []));
    if (!join || join.jointype !== 'JOIN_INNER' || join.usingClause || join.isNatural) return false;
    const [mine, other] = own(join.larg) ? [join.larg, join.rarg] : own(join.rarg) ? [join.rarg, join.larg] : [];
    if (!mine || this.readsTarget(other)) return false;
    const both = { BoolExpr: { boolop: 'AND_EXPR', args: [join.quals, select.whereClause].filter((c) => c !== undefined) } };
    return this.restricts(both, this.scope(node(mine, 'RangeVar')!, [other]));
  }

  /** A comparison of a bare column of the target with values from outside its row. */
  #comparison(expr: Node, scope: Scope, negated: boolean): Restriction {
    const kind = String(expr.kind);
    const operator = sval((expr.name as unknown[] | undefined)?.at(-1)) ?? '';
    const like = kind === 'AEXPR_LIKE' || kind === 'AEXPR_ILIKE';
    if (!COMPARISON_KINDS.has(kind) || (!kind.includes('BETWEEN') && !like && !COMPARISONS.has(operator))) return 'none';
    const list = node(expr.rexpr, 'List')?.items as unknown[] | undefined;
    const compares = this.#compares(expr.lexpr, list ?? [expr.rexpr], scope) || (list === undefined && this.#compares(expr.rexpr, [expr.lexpr], scope));
    if (!compares) return 'none';
    switch (kind) {
      case 'AEXPR_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_NOT_BETWEEN_SYM':
        // NOT BETWEEN is `x < low OR x > high`: true for every row when low > high.
        return kind.includes('NOT') !== negated ? 'none' : 'broad';
      case 'AEXPR_OP_ANY':
      case 'AEXPR_OP_ALL':
        if ((kind === 'AEXPR_OP_ALL') !== negated) return 'none';
        return operator === '=' && !negated ? 'point' : 'broad';
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT':
        // IS DISTINCT FROM an expression that may be NULL is IS NOT NULL: only a constant or a parameter will do.
        if (!this.#plain(expr.lexpr) && !this.#plain(expr.rexpr)) return 'none';
        return (kind === 'AEXPR_NOT_DISTINCT') !== negated ? 'point' : 'broad';
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE': {
        // A pattern computed from constants may be `%`: only a constant or a parameter will do.
        if (!this.#plain(expr.rexpr)) return 'none';
        const pattern = constantText(expr.rexpr);
        if (pattern !== undefined) this.#facts.readsValue = true;
        const positive = !operator.startsWith('!') !== negated;
        return positive && pattern !== undefined && /^[%_]*$/.test(pattern) ? 'none' : 'broad';
      }
      default: {
        const equality = operator === '=' ? !negated : operator === '<>' || operator === '!=' ? negated : false;
        return equality ? 'point' : 'broad';
      }
    }
  }

  /** A constant other than NULL (which the normalized text hides: a value read), or a parameter, cast or not. */
  #plain(n: unknown): boolean {
    const cast = node(n, 'TypeCast');
    if (cast) return this.#plain(cast.arg);
    const constant = node(n, 'A_Const');
    if (constant) this.#facts.readsValue = true;
    return node(n, 'ParamRef') !== undefined || (constant !== undefined && !constant.isnull);
  }

  /** A bare column of the target on one side, and only values from outside the row on the other. */
  #compares(left: unknown, right: readonly unknown[], scope: Scope): boolean {
    return this.#side(left, scope) === 'target' && right.length > 0 && right.every((r) => this.#side(r, scope) === 'outside');
  }

  /**
   * EXISTS (subquery over other data WHERE it restricts the target), correlated by the target's name. A
   * subquery that aggregates or groups returns a row whatever its WHERE says: it restricts nothing.
   */
  #existsRestriction(subselect: unknown, scope: Scope): Restriction {
    const select = node(subselect, 'SelectStmt');
    if (!select || this.readsTarget(subselect)) return 'none';
    if (select.groupClause || select.havingClause || mentionsCall(select.targetList)) return 'none';
    const inner = new Map<string, boolean>(scope.others);
    for (const f of (select.fromClause as unknown[] | undefined) ?? []) this.#collectRelations(f, inner);
    const target = new Set([...scope.target].filter((n) => !inner.has(n)));
    // An unqualified name inside may be the subquery's column or the target's: it counts as neither.
    return this.#restriction(select.whereClause, { target, others: inner, bareIsTarget: false }, false);
  }

  /**
   * What an expression is to the target's row: a bare column of it (`target`), a value from outside the
   * row (`outside`: no column of the target or of the same data), or neither.
   */
  #side(expr: unknown, scope: Scope): 'target' | 'outside' | 'mixed' {
    const cast = node(expr, 'TypeCast') ?? node(expr, 'CollateClause');
    if (cast) return this.#side(cast.arg, scope);
    const ref = node(expr, 'ColumnRef');
    if (ref) {
      const fields = (ref.fields as unknown[] | undefined) ?? [];
      if (fields.some((f) => node(f, 'A_Star'))) return 'mixed';
      if (fields.length === 1) return scope.bareIsTarget ? 'target' : 'mixed';
      const qualifier = fields.slice(0, -1).map(sval).slice(-2).join('.');
      const relation = fields.length >= 2 ? sval(fields.at(-2)) : undefined;
      if (scope.target.has(qualifier) || (relation !== undefined && scope.target.has(relation))) return 'target';
      const other = relation === undefined ? undefined : scope.others.get(relation);
      return other === false ? 'outside' : 'mixed';
    }
    return this.#outside(expr, scope) ? 'outside' : 'mixed';
  }

  /** No column of the target (or of the same data), and no subquery reading the target, anywhere in it. */
  #outside(expr: unknown, scope: Scope): boolean {
    if (!expr || typeof expr !== 'object') return true;
    if (Array.isArray(expr)) return expr.every((e) => this.#outside(e, scope));
    if (node(expr, 'ColumnRef')) return this.#side(expr, scope) === 'outside';
    const sub = node(expr, 'SubLink');
    if (sub) return this.#outsideSubquery(sub.subselect, scope) && this.#outside(sub.testexpr, scope);
    return Object.values(expr).every((v) => this.#outside(v, scope));
  }

  /**
   * A subquery over other data: it reads no relation of the target's data and names no column of the
   * target. A name it does not qualify could be the target's (when its own relations have no such
   * column), so it may have none.
   */
  #outsideSubquery(subselect: unknown, scope: Scope): boolean {
    if (this.readsTarget(subselect)) return false;
    const select = node(subselect, 'SelectStmt');
    // Without a FROM of its own, every name in it is the outer row's.
    if (select && !select.fromClause && !select.valuesLists && !select.larg) return false;
    return !mayNameTarget(subselect, scope.target);
  }
}

/** Whether a tree has a column reference that may be the target's: qualified with its name, or not qualified. */
function mayNameTarget(tree: unknown, target: ReadonlySet<string>): boolean {
  if (!tree || typeof tree !== 'object') return false;
  if (Array.isArray(tree)) return tree.some((t) => mayNameTarget(t, target));
  const ref = node(tree, 'ColumnRef');
  if (ref) {
    const fields = (ref.fields as unknown[] | undefined) ?? [];
    if (fields.length === 1) return !node(fields[0], 'A_Star');
    return target.has(sval(fields.at(-2)) ?? '');
  }
  return Object.values(tree).some((v) => mayNameTarget(v, target));
}

function targetNames(target: Node): Set<string> {
  const alias = (target.alias as Node | undefined)?.aliasname as string | undefined;
  if (alias) return new Set([alias]);
  return new Set([String(target.relname), ...(target.schemaname ? [`${String(target.schemaname)}.${String(target.relname)}`] : [])]);
}

/** Whether a tree calls a function anywhere (an aggregate would make a row of no rows). */
function mentionsCall(tree: unknown): boolean {
  if (!tree || typeof tree !== 'object') return false;
  if (Array.isArray(tree)) return tree.some(mentionsCall);
  if (node(tree, 'FuncCall')) return true;
  return Object.values(tree).some(mentionsCall);
}

/** The text of a string constant (a LIKE pattern). */
function constantText(n: unknown): string | undefined {
  const text = (node(n, 'A_Const')?.sval as Node | undefined)?.sval;
  return typeof text === 'string' ? text : undefined;
}

/** Every CTE in a tree by name: a DML statement inside a CTE may refer to its siblings. */
export function ctesIn(tree: unknown, into = new Map<string, unknown[]>()): Map<string, unknown[]> {
  if (!tree || typeof tree !== 'object') return into;
  if (Array.isArray(tree)) {
    for (const t of tree) ctesIn(t, into);
    return into;
  }
  const cte = node(tree, 'CommonTableExpr');
  if (cte?.ctename) into.set(String(cte.ctename), [...(into.get(String(cte.ctename)) ?? []), cte.ctequery]);
  for (const v of Object.values(tree)) ctesIn(v, into);
  return into;
}
