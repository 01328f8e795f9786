import type { ColumnMask } from '../../policy/operation.js';
import type { Catalog, RelationInfo } from './catalog.js';
import { explainAnalyzes, nodeType as typed, SQL_RUNNING_FUNCTIONS, stringOf as str } from './classify.js';
import type { SqlParser } from './parser.js';

/**
 * Column lineage: for every output column of a statement, the source columns its value derives from,
 * through aliases, joins, subqueries, CTEs (recursive too), set operations, LATERAL, VALUES, functions,
 * operators, casts, CASE, aggregates, window functions, constructors and views (whose definitions come
 * from the catalog). What cannot be traced (a function of the target's own, a relation that does not
 * resolve) is `opaque`, which masking reads as derived from a masked column. Computed from the parse tree
 * once per statement shape and catalog version, never per row.
 */
export interface ColumnSource {
  /** The table as written in mask rules: bare and schema-qualified. */
  table: string;
  qualified: string;
  column: string;
}

export interface ColumnLineage {
  readonly sources: readonly ColumnSource[];
  readonly opaque: boolean;
  /** Stands for any number of columns (`*` over a relation whose columns are not known). */
  readonly spread?: boolean;
}

/** What one row-returning statement's columns derive from, or where to find that out at run time. */
export type ResultLineage =
  | { columns: readonly ColumnLineage[] }
  /** FETCH from a cursor, or EXECUTE of a prepared statement, declared earlier in the session. */
  | { cursor: string }
  | { prepared: string }
  /** Rows whose origin cannot be traced (CALL with output arguments): every column is opaque. */
  | { unknown: true };

/** A value written into a table column, and what it derives from. */
export interface WriteLineage {
  table: string;
  qualified: string;
  column: string;
  from: ColumnLineage;
  /** Session state (a setting, a notification) rather than a table: a value the gateway cannot trace counts as masked. */
  session?: true;
}

/** An expression that filters, joins, groups or orders rows: what it reads, and whether it is `column = $n`. */
export interface PredicateLineage {
  from: ColumnLineage;
  paramEquality: boolean;
}

export interface StatementLineage {
  /** One entry per statement of the text that returns rows, in order. */
  results: readonly ResultLineage[];
  writes: readonly WriteLineage[];
  predicates: readonly PredicateLineage[];
  /** COPY (query) TO: what each column of its data derives from. */
  copyOut?: readonly ColumnLineage[];
  /** By statement of the text: the result columns of what a DECLARE … CURSOR or PREPARE defines, for a later FETCH or EXECUTE. */
  defines: readonly (readonly ColumnLineage[] | undefined)[];
  /**
   * Every column the statement reads anywhere (any clause, any depth), opaque when it runs code the
   * gateway cannot trace: what its errors and notices could quote.
   */
  reads: ColumnLineage;
  /** The columns of the rows it writes or of the relations its DDL changes: read by their constraints, indexes and triggers. */
  checks: ColumnLineage;
  /** Functions the text creates, with the words of their bodies: a body that names a masked column derives from it. */
  functionBodies: readonly FunctionBody[];
}

export interface FunctionBody {
  name: string;
  words: ReadonlySet<string>;
}

type Node = Record<string, unknown>;

/** A value's dependencies while the tree is walked: source keys, and whether anything was untraceable. */
class Deps {
  readonly sources = new Map<string, ColumnSource>();
  opaque = false;

  static of(...parts: (Deps | undefined)[]): Deps {
    const d = new Deps();
    for (const p of parts) if (p) d.add(p);
    return d;
  }

  static opaque(): Deps {
    const d = new Deps();
    d.opaque = true;
    return d;
  }

  add(other: Deps): this {
    for (const [k, v] of other.sources) this.sources.set(k, v);
    this.opaque ||= other.opaque;
    return this;
  }

  get size(): number {
    return this.sources.size + (this.opaque ? 1 : 0);
  }

  freeze(spread?: boolean): ColumnLineage {
    return { sources: [...this.sources.values()], opaque: this.opaque, ...(spread && { spread }) };
  }
}

interface OutputColumn {
  name: string;
  deps: Deps;
  spread?: boolean;
}

/** One FROM item as column references see it. */
interface RangeEntry {
  alias: string;
  columns: OutputColumn[];
  /** Relations whose columns are not known by name (functions): any column reference resolves to this. */
  anyColumn?: Deps;
}

interface Scope {
  entries: RangeEntry[];
  /** `null` while a recursive CTE's own lineage is being worked out. */
  ctes: Map<string, OutputColumn[] | null>;
  parent?: Scope;
}

const MAX_VIEW_DEPTH = 16;
/** What a rename or SET SCHEMA can move out of a mask's name: a column, or a relation with its columns. */
const MOVED_KINDS = new Set(['OBJECT_COLUMN', 'OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW', 'OBJECT_FOREIGN_TABLE']);
/** Longer statements are traced each time rather than kept: the cache holds its keys' text. */
const MAX_CACHED_KEY = 64 * 1024;
const MAX_RECURSION_PASSES = 8;

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const relationKey = (rv: Node) => (rv.schemaname ? `${quoteIdent(String(rv.schemaname))}.` : '') + quoteIdent(String(rv.relname));

/** Every relation a tree names, as a quoted name for the catalog. */
function relationNames(tree: unknown, out: Set<string>): Set<string> {
  if (!tree || typeof tree !== 'object') return out;
  if (Array.isArray(tree)) {
    for (const item of tree) relationNames(item, out);
    return out;
  }
  // RangeVar nodes, and the bare RangeVars that INSERT, UPDATE, DELETE, MERGE and INTO name their targets by.
  if (typeof (tree as Node).relname === 'string') out.add(relationKey(tree as Node));
  for (const v of Object.values(tree)) relationNames(v, out);
  return out;
}

/** Walks one statement's tree once the catalog knows every relation it names. */
class Analyzer {
  readonly writes: WriteLineage[] = [];
  readonly predicates: PredicateLineage[] = [];
  readonly reads = new Deps();
  readonly checks = new Deps();
  readonly #catalog: Catalog;
  readonly #ownFunctions: ReadonlySet<string>;
  readonly #views: Map<string, OutputColumn[]>;
  readonly #parser: SqlParser;
  #viewDepth = 0;

  constructor(catalog: Catalog, parser: SqlParser, ownFunctions: ReadonlySet<string>, views: Map<string, OutputColumn[]>) {
    this.#catalog = catalog;
    this.#parser = parser;
    this.#ownFunctions = ownFunctions;
    this.#views = views;
  }

  /** The output columns of any statement that can return rows; undefined for one that returns none. */
  statement(node: unknown, scope: Scope | undefined): OutputColumn[] | undefined {
    const t = typed(node);
    if (!t) return undefined;
    const [type, n] = t;
    switch (type) {
      case 'SelectStmt': {
        const columns = this.select(n, scope);
        if (n.intoClause) this.#intoTable((n.intoClause as Node), columns);
        return n.intoClause ? undefined : columns;
      }
      case 'InsertStmt':
        return this.#insert(n, scope);
      case 'UpdateStmt':
        return this.#update(n, scope);
      case 'DeleteStmt':
        this.#readWhole(this.#catalog.relation(relationKey(n.relation as Node)));
        this.#filter(n.whereClause, this.#targetScope(n, scope, (n.usingClause as unknown[] | undefined) ?? []));
        return this.#returning(n, scope, (n.usingClause as unknown[] | undefined) ?? []);
      case 'ViewStmt':
        this.statement(n.query, scope);
        return undefined;
      case 'MergeStmt':
        return this.#merge(n, scope);
      case 'CreateTableAsStmt':
        this.#intoTable(n.into as Node, this.statement(n.query, scope) ?? []);
        return undefined;
      case 'CopyStmt':
        if (n.is_from && n.relation) this.#readWhole(this.#catalog.relation(relationKey(n.relation as Node)));
        return n.query ? this.statement(n.query, scope) : undefined;
      case 'ExplainStmt':
        if (explainAnalyzes(n.options)) this.statement(n.query, scope);
        return undefined;
      case 'DeclareCursorStmt':
      case 'PrepareStmt':
        return this.statement(n.query, scope);
      case 'CallStmt':
      case 'DoStmt':
        this.reads.opaque = true;
        this.expr(n, scope ?? emptyScope());
        return undefined;
      case 'AlterTableStmt':
        this.#alterTable(n);
        return undefined;
      case 'RenameStmt':
      case 'AlterObjectSchemaStmt':
        this.#moveTo(n);
        return undefined;
      case 'RuleStmt':
        this.#rule(n);
        return undefined;
      default:
        // A statement not traced column by column (DDL above all) reads whole every relation it names.
        for (const name of relationNames(n, new Set())) this.#readWhole(this.#catalog.relation(name));
        return undefined;
    }
  }

  /** The rows of a relation as a whole: every column, read by constraints, indexes and triggers of a write, or by DDL. */
  #readWhole(info: RelationInfo | null | undefined): void {
    if (info) for (const column of info.columns) this.checks.add(ownColumn(info, column));
  }

  /**
   * ALTER TABLE: a type changed USING an expression, or a generated column, derives the column's new
   * values from others; INHERIT and ATTACH PARTITION put one table's rows under another's name.
   */
  #alterTable(n: Node): void {
    const rv = n.relation as Node;
    const info = this.#catalog.relation(relationKey(rv));
    this.#readWhole(info);
    if (!info) return;
    const scope: Scope = { entries: [{ alias: String(rv.relname), columns: info.columns.map((c) => ({ name: c, deps: ownColumn(info, c) })) }], ctes: new Map() };
    for (const item of (n.cmds as { AlterTableCmd?: Node }[] | undefined) ?? []) {
      const cmd = item.AlterTableCmd ?? {};
      const def = typed(cmd.def);
      if (cmd.subtype === 'AT_AlterColumnType' && def?.[0] === 'ColumnDef') this.#write(info, String(cmd.name), this.expr(def[1].raw_default, scope));
      if (cmd.subtype === 'AT_AddColumn' && def?.[0] === 'ColumnDef') this.#write(info, String(def[1].colname), this.expr(def[1].constraints, scope));
      if ((cmd.subtype === 'AT_AlterColumnGenericOptions' || cmd.subtype === 'AT_SetExpression' || cmd.subtype === 'AT_ColumnDefault') && cmd.name) this.#write(info, String(cmd.name), this.expr(cmd.def, scope));
      if (cmd.subtype === 'AT_AddInherit' && def?.[0] === 'RangeVar') this.#rowsUnder(info, this.#catalog.relation(relationKey(def[1])));
      if (cmd.subtype === 'AT_AttachPartition' && def?.[0] === 'PartitionCmd') this.#rowsUnder(this.#catalog.relation(relationKey(def[1].name as Node)), info);
    }
  }

  /** A child's rows read through its parent: each of its columns is written, as it were, to the parent's column of the same name. */
  #rowsUnder(child: RelationInfo | null | undefined, parent: RelationInfo | null | undefined): void {
    if (!child || !parent) return;
    for (const column of child.columns) this.#write(parent, column, ownColumn(child, column));
  }

  /** A rename (of a column, a table, its schema) writes, as it were, every column it moves to its new name. */
  #moveTo(n: Node): void {
    if (!n.relation) return;
    const info = this.#catalog.relation(relationKey(n.relation as Node));
    if (!info) return;
    const kind = String(n.renameType ?? n.objectType);
    if (!MOVED_KINDS.has(kind)) return;
    const moved: RelationInfo =
      kind === 'OBJECT_COLUMN' ? info : n.newschema !== undefined ? { ...info, schema: String(n.newschema) } : { ...info, name: String(n.newname ?? info.name) };
    for (const column of info.columns) {
      if (kind === 'OBJECT_COLUMN' && column !== n.subname) continue;
      this.#write(moved, kind === 'OBJECT_COLUMN' ? String(n.newname) : column, ownColumn(info, column));
    }
  }

  /** A rule's actions run with every later statement on its table: what they write or return derives from what they read. */
  #rule(n: Node): void {
    const rv = n.relation as Node;
    const info = this.#catalog.relation(relationKey(rv));
    const columns = info ? info.columns.map((c) => ({ name: c, deps: ownColumn(info, c) })) : [];
    const scope: Scope = { entries: ['new', 'old'].map((alias) => ({ alias, columns, ...(!info && { anyColumn: Deps.opaque() }) })), ctes: new Map() };
    this.#filter(n.whereClause, scope);
    const target: RelationInfo = info ?? { schema: rv.schemaname ? String(rv.schemaname) : 'public', name: String(rv.relname), columns: [] };
    for (const action of (n.actions as unknown[] | undefined) ?? []) {
      for (const c of this.statement(action, scope) ?? []) this.#write(target, `rule ${String(n.rulename)}`, c.deps);
    }
  }

  select(s: Node, outer: Scope | undefined): OutputColumn[] {
    const scope = this.#scopeWith(s, outer);
    if (s.op && s.op !== 'SETOP_NONE') {
      const left = this.select(s.larg as Node, scope);
      const right = this.select(s.rarg as Node, scope);
      return left.map((col, i) => ({ name: col.name, deps: Deps.of(col.deps, right[i]?.deps) }));
    }
    if (s.valuesLists) {
      const columns: OutputColumn[] = [];
      for (const row of s.valuesLists as { List?: { items?: unknown[] } }[]) {
        (row.List?.items ?? []).forEach((item, i) => {
          const deps = this.expr(item, scope);
          if (columns[i]) columns[i].deps.add(deps);
          else columns[i] = { name: `column${i + 1}`, deps };
        });
      }
      return columns;
    }
    for (const item of (s.fromClause as unknown[] | undefined) ?? []) scope.entries.push(...this.#fromItem(item, scope));
    const columns = this.#targets((s.targetList as unknown[] | undefined) ?? [], scope);
    this.#filter(s.whereClause, scope);
    this.#filter(s.havingClause, scope);
    this.expr([s.limitCount, s.limitOffset], scope);
    // GROUP BY, ORDER BY, DISTINCT ON and named windows may refer to output columns by name or position.
    const withOutputs: Scope = { entries: [{ alias: '', columns }], ctes: new Map(), parent: scope };
    for (const list of [s.groupClause, s.sortClause, s.distinctClause, s.windowClause]) {
      for (const item of (list as unknown[] | undefined) ?? []) {
        // ORDER BY 2, GROUP BY 1: the output column at that position.
        const position = ((typed(item)?.[0] === 'SortBy' ? (item as { SortBy: Node }).SortBy.node : item) as { A_Const?: { ival?: { ival?: number } } }).A_Const?.ival?.ival;
        if (position === undefined) this.#predicate(item, withOutputs);
        else this.#predicateOn(columns[position - 1]?.deps ?? new Deps(), false);
      }
    }
    return columns;
  }

  /** A WHERE, HAVING or ON condition: each AND-ed part on its own, so `ssn = $1 AND …` can be told apart. */
  #filter(condition: unknown, scope: Scope): void {
    if (!condition) return;
    const and = (condition as { BoolExpr?: { boolop?: string; args?: unknown[] } }).BoolExpr;
    if (and?.boolop === 'AND_EXPR') return (and.args ?? []).forEach((part) => this.#filter(part, scope));
    this.#predicate(condition, scope, paramEquality(condition));
  }

  #predicate(expr: unknown, scope: Scope, isParamEquality = false): void {
    if (expr) this.#predicateOn(this.expr(expr, scope), isParamEquality);
  }

  /** Predicates inside a view's definition are its owner's, not the statement's. */
  #predicateOn(deps: Deps, isParamEquality: boolean): void {
    if (deps.sources.size && this.#viewDepth === 0) this.predicates.push({ from: deps.freeze(), paramEquality: isParamEquality });
  }

  /** A new scope under `outer`, with the statement's WITH queries in it. */
  #scopeWith(n: Node, outer: Scope | undefined): Scope {
    const scope: Scope = { entries: [], ctes: new Map(), ...(outer && { parent: outer }) };
    for (const c of (n.withClause as { ctes?: unknown[] } | undefined)?.ctes ?? []) this.#cte((c as { CommonTableExpr: Node }).CommonTableExpr, scope);
    return scope;
  }

  #cte(cte: Node, scope: Scope): void {
    const name = String(cte.ctename);
    const rename = (cols: OutputColumn[]) => renamed(cols, (cte.aliascolnames as unknown[] | undefined)?.map(str));
    // A recursive CTE refers to itself: start from nothing and widen until its lineage stops growing.
    scope.ctes.set(name, null);
    let columns = rename(this.statement(cte.ctequery, scope) ?? []);
    for (let pass = 0; pass < MAX_RECURSION_PASSES; pass++) {
      scope.ctes.set(name, columns);
      const next = rename(this.statement(cte.ctequery, scope) ?? []);
      const grown = next.some((c, i) => c.deps.size > (columns[i]?.deps.size ?? 0));
      columns = next.map((c, i) => ({ ...c, deps: Deps.of(c.deps, columns[i]?.deps) }));
      if (!grown) break;
      if (pass === MAX_RECURSION_PASSES - 1) columns = columns.map((c) => ({ ...c, deps: Deps.opaque() }));
    }
    scope.ctes.set(name, columns);
  }

  #targets(targets: unknown[], scope: Scope): OutputColumn[] {
    const out: OutputColumn[] = [];
    for (const t of targets) {
      const rt = (t as { ResTarget?: Node }).ResTarget;
      if (!rt) continue;
      const ref = (rt.val as { ColumnRef?: { fields?: unknown[] } } | undefined)?.ColumnRef;
      if (ref?.fields && (ref.fields.at(-1) as Node).A_Star !== undefined) {
        out.push(...this.#star(ref.fields.slice(0, -1).map(str), scope));
        continue;
      }
      out.push({ name: (rt.name as string | undefined) ?? outputName(rt.val), deps: this.expr(rt.val, scope) });
    }
    return out;
  }

  /** `*` or `t.*`: the columns of every entry, or of the named one. */
  #star(qualifier: (string | undefined)[], scope: Scope): OutputColumn[] {
    const entries = qualifier.length ? this.#entriesNamed(qualifier.at(-1)!, scope) : scope.entries;
    if (entries.length === 0) return [{ name: '*', deps: Deps.opaque(), spread: true }];
    return entries.flatMap((e) => (e.anyColumn ? [{ name: '*', deps: e.anyColumn, spread: true }] : e.columns));
  }

  #entriesNamed(alias: string, scope: Scope): RangeEntry[] {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const found = s.entries.filter((e) => e.alias === alias);
      if (found.length) return found;
    }
    return [];
  }

  #fromItem(item: unknown, scope: Scope): RangeEntry[] {
    const t = typed(item);
    if (!t) return [];
    const [type, n] = t;
    const alias = n.alias as { aliasname?: string; colnames?: unknown[] } | undefined;
    const colnames = alias?.colnames?.map(str);
    switch (type) {
      case 'RangeVar': {
        const columns = this.#relation(n, scope);
        const name = alias?.aliasname ?? String(n.relname);
        if (columns === null) return [{ alias: name, columns: [], anyColumn: new Deps() }];
        return columns ? [{ alias: name, columns: renamed(columns, colnames) }] : [{ alias: name, columns: [], anyColumn: Deps.opaque() }];
      }
      case 'JoinExpr': {
        const entries = [...this.#fromItem(n.larg, scope), ...this.#fromItem(n.rarg, scope)];
        const joined: Scope = { entries: [...scope.entries, ...entries], ctes: new Map(), parent: scope };
        this.#filter(n.quals, joined);
        for (const name of (n.usingClause as unknown[] | undefined) ?? []) this.#predicate({ ColumnRef: { fields: [name] } }, joined);
        if (!alias?.aliasname) return entries;
        return [...entries, { alias: alias.aliasname, columns: renamed(entries.flatMap((e) => e.columns), colnames) }];
      }
      case 'RangeSubselect': {
        // LATERAL or not, the FROM items before it are visible: referring to them without LATERAL is the target's error.
        const lateral: Scope = { entries: [...scope.entries], ctes: new Map(), parent: scope };
        const columns = this.statement(n.subquery, lateral) ?? [];
        return [{ alias: alias?.aliasname ?? '', columns: renamed(columns, colnames) }];
      }
      case 'RangeTableSample':
        return this.#fromItem(n.relation, scope);
      default: {
        // Functions in FROM (ROWS FROM, unnest, json_to_record…), XMLTABLE, JSON_TABLE: every column derives from every argument.
        const lateral: Scope = { entries: [...scope.entries], ctes: new Map(), parent: scope };
        const deps = this.expr({ ...n, alias: undefined }, lateral);
        const defined = [...(colnames ?? []), ...columnDefinitions(n)];
        const name = alias?.aliasname ?? functionAlias(n);
        const columns = defined.map((c) => ({ name: c ?? '?column?', deps }));
        return [{ alias: name, columns, ...(columns.length === 0 && { anyColumn: deps }) }];
      }
    }
  }

  /** A CTE by name (null: the recursive CTE being worked out), or a table or view through the catalog; undefined when it does not resolve. */
  #relation(rv: Node, scope: Scope): OutputColumn[] | null | undefined {
    if (!rv.schemaname) {
      for (let s: Scope | undefined = scope; s; s = s.parent) {
        const cte = s.ctes.get(String(rv.relname));
        if (cte !== undefined) return cte && cte.map((c) => ({ ...c }));
      }
    }
    const info = this.#catalog.relation(relationKey(rv));
    if (!info) return undefined;
    const defined = info.definition !== undefined ? this.#view(info) : undefined;
    return info.columns.map((column, i) => ({ name: column, deps: ownColumn(info, column).add(defined ? (defined[i]?.deps ?? Deps.opaque()) : new Deps()) }));
  }

  /** A view's columns through its definition, analysed once per catalog version. */
  #view(info: RelationInfo): OutputColumn[] {
    const key = `${info.schema}.${info.name}`;
    const known = this.#views.get(key);
    if (known) return known;
    if (this.#viewDepth >= MAX_VIEW_DEPTH) return [];
    this.#viewDepth++;
    let columns: OutputColumn[];
    try {
      const tree = this.#parser.parse(info.definition!) as { stmts?: { stmt?: unknown }[] };
      columns = this.statement(tree.stmts?.[0]?.stmt, undefined) ?? [];
    } catch {
      columns = info.columns.map((name) => ({ name, deps: Deps.opaque() }));
    } finally {
      this.#viewDepth--;
    }
    this.#views.set(key, columns);
    return columns;
  }

  /** What an expression's value derives from. */
  expr(node: unknown, scope: Scope): Deps {
    if (!node || typeof node !== 'object') return new Deps();
    if (Array.isArray(node)) return Deps.of(...node.map((n) => this.expr(n, scope)));
    const t = typed(node);
    if (t) {
      const [type, n] = t;
      switch (type) {
        case 'ColumnRef': {
          const deps = this.#column((n.fields as unknown[] | undefined) ?? [], scope);
          this.reads.add(deps);
          return deps;
        }
        case 'A_Const':
        case 'ParamRef':
          return new Deps();
        case 'SelectStmt':
          return Deps.of(...this.select(n, scope).map((c) => c.deps));
        case 'FuncCall': {
          const over = n.over as Node | undefined;
          if (over) for (const clause of [over.partitionClause, over.orderClause]) this.#predicate(clause, scope);
          const args = this.expr({ ...n, funcname: undefined }, scope);
          this.#sessionWrite(n, scope);
          if (!this.#ownFunction(n)) return args;
          this.reads.opaque = true;
          return args.add(Deps.opaque());
        }
        case 'TypeName':
          return new Deps();
        default:
          return this.expr(n, scope);
      }
    }
    return Deps.of(...Object.values(node).map((v) => this.expr(v, scope)));
  }

  /** set_config and pg_notify put a value where a later statement reads it back: a setting, a notification's payload. */
  #sessionWrite(fn: Node, scope: Scope): void {
    const name = ((fn.funcname as unknown[] | undefined) ?? []).map(str).at(-1)?.toLowerCase();
    const args = (fn.args as unknown[] | undefined) ?? [];
    if ((name !== 'set_config' && name !== 'pg_notify') || args.length < 2) return;
    const key = (args[0] as { A_Const?: { sval?: { sval?: string } } }).A_Const?.sval?.sval ?? '?';
    const deps = this.expr(args[1], scope);
    if (deps.size) this.writes.push({ table: '', qualified: name === 'set_config' ? 'setting' : 'notification on channel', column: key, from: deps.freeze(), session: true });
  }

  #ownFunction(fn: Node): boolean {
    const parts = ((fn.funcname as unknown[] | undefined) ?? []).map(str);
    const name = (parts.at(-1) ?? '').toLowerCase();
    if (SQL_RUNNING_FUNCTIONS.has(name)) return true;
    if (parts.length > 1 && parts[0] === 'pg_catalog') return false;
    return parts.length > 1 || this.#ownFunctions.has(name);
  }

  #column(fields: unknown[], scope: Scope): Deps {
    const names = fields.map(str);
    if (names.some((n) => n === undefined)) {
      // t.*: a whole row.
      const entries = names.length > 1 ? this.#entriesNamed(names.at(-2)!, scope) : scope.entries;
      return entries.length ? Deps.of(...entries.map(entryDeps)) : Deps.opaque();
    }
    const column = names.at(-1)!;
    if (names.length >= 2) {
      const entries = this.#entriesNamed(names.at(-2)!, scope);
      if (entries.length) return Deps.of(...entries.map((e) => columnOf(e, column) ?? Deps.opaque()));
      // `a.b` where a is a column of composite type.
      return this.#column([fields[0]], scope);
    }
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const found = s.entries.map((e) => columnOf(e, column)).filter((d): d is Deps => d !== undefined);
      if (found.length) return Deps.of(...found);
      const whole = s.entries.filter((e) => e.alias === column);
      if (whole.length) return Deps.of(...whole.map(entryDeps));
    }
    return Deps.opaque();
  }

  #insert(n: Node, scope: Scope | undefined): OutputColumn[] | undefined {
    const info = this.#catalog.relation(relationKey(n.relation as Node));
    this.#readWhole(info);
    const inner = this.#scopeWith(n, scope);
    const values = n.selectStmt ? this.statement(n.selectStmt, inner) ?? [] : [];
    const targets = (n.cols as { ResTarget?: Node }[] | undefined)?.map((c) => String(c.ResTarget?.name)) ?? [...(info?.columns ?? [])];
    if (info) targets.forEach((column, i) => values[i] && this.#write(info, column, values[i].deps));
    const conflict = n.onConflictClause as Node | undefined;
    if (conflict?.targetList && info) {
      const excluded: OutputColumn[] = info.columns.map((c) => ({ name: c, deps: Deps.of(values[targets.indexOf(c)]?.deps) }));
      const target = this.#fromItem({ RangeVar: n.relation }, inner);
      const conflictScope: Scope = { entries: [...target, { alias: 'excluded', columns: excluded }], ctes: new Map(), parent: inner };
      this.#assignments(info, conflict.targetList as unknown[], conflictScope);
    }
    return this.#returning(n, inner, []);
  }

  #update(n: Node, scope: Scope | undefined): OutputColumn[] | undefined {
    const inner = this.#scopeWith(n, scope);
    inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner));
    for (const item of (n.fromClause as unknown[] | undefined) ?? []) inner.entries.push(...this.#fromItem(item, inner));
    const info = this.#catalog.relation(relationKey(n.relation as Node));
    this.#readWhole(info);
    if (info) this.#assignments(info, (n.targetList as unknown[] | undefined) ?? [], inner);
    this.#filter(n.whereClause, inner);
    return this.#returning(n, scope, (n.fromClause as unknown[] | undefined) ?? []);
  }

  #merge(n: Node, scope: Scope | undefined): OutputColumn[] | undefined {
    const inner = this.#scopeWith(n, scope);
    inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner), ...this.#fromItem(n.sourceRelation, inner));
    this.#filter(n.joinCondition, inner);
    const info = this.#catalog.relation(relationKey(n.relation as Node));
    this.#readWhole(info);
    for (const w of (n.mergeWhenClauses as { MergeWhenClause?: Node }[] | undefined) ?? []) {
      const clause = w.MergeWhenClause ?? {};
      if (!info) continue;
      if (clause.commandType === 'CMD_UPDATE') this.#assignments(info, (clause.targetList as unknown[] | undefined) ?? [], inner);
      if (clause.commandType === 'CMD_INSERT') {
        const targets = (clause.targetList as { ResTarget?: Node }[] | undefined)?.map((c) => String(c.ResTarget?.name)) ?? [...info.columns];
        ((clause.values as unknown[] | undefined) ?? []).forEach((v, i) => targets[i] && this.#write(info, targets[i], this.expr(v, inner)));
      }
    }
    return this.#returning(n, scope, [n.sourceRelation]);
  }

  /** SET column = expression (also SET (a, b) = (SELECT …)). */
  #assignments(info: RelationInfo, targets: unknown[], scope: Scope): void {
    for (const t of targets) {
      const rt = (t as { ResTarget?: Node }).ResTarget;
      if (rt?.name) this.#write(info, String(rt.name), this.expr(rt.val, scope));
    }
  }

  #returning(n: Node, scope: Scope | undefined, from: unknown[]): OutputColumn[] | undefined {
    const list = ((n.returningClause as Node | undefined)?.exprs ?? n.returningList) as unknown[] | undefined;
    if (!list?.length) return undefined;
    return this.#targets(list, this.#targetScope(n, scope, from));
  }

  /** The table a DML statement changes, with the relations of its FROM or USING. */
  #targetScope(n: Node, scope: Scope | undefined, from: unknown[]): Scope {
    const inner = this.#scopeWith(n, scope);
    inner.entries.push(...this.#fromItem({ RangeVar: n.relation }, inner));
    for (const item of from) inner.entries.push(...this.#fromItem(item, inner));
    return inner;
  }

  #intoTable(into: Node, columns: OutputColumn[]): void {
    const rel = into.rel as Node;
    const schema = rel.schemaname ? String(rel.schemaname) : 'public';
    const info: RelationInfo = { schema, name: String(rel.relname), columns: [] };
    const names = (into.colNames as unknown[] | undefined)?.map(str);
    columns.forEach((c, i) => this.#write(info, names?.[i] ?? c.name, c.deps));
  }

  #write(info: RelationInfo, column: string, deps: Deps): void {
    if (deps.size === 0) return;
    this.writes.push({ table: info.name, qualified: `${info.schema}.${info.name}`, column, from: deps.freeze() });
  }
}

/** A column of a relation as its own source: under its current names and those the gateway first saw it by. */
function ownColumn(info: RelationInfo, column: string): Deps {
  const d = new Deps();
  d.sources.set(`${info.schema}.${info.name}\u0000${column}`, { table: info.name, qualified: `${info.schema}.${info.name}`, column });
  const first = info.firstSeen;
  const firstColumn = first?.columns.get(column) ?? column;
  if (first && (first.schema !== info.schema || first.name !== info.name || firstColumn !== column)) {
    d.sources.set(`${first.schema}.${first.name}\u0000${firstColumn}`, { table: first.name, qualified: `${first.schema}.${first.name}`, column: firstColumn });
  }
  return d;
}

function emptyScope(): Scope {
  return { entries: [], ctes: new Map() };
}

/** Functions a text creates: called later in the same text, they are the target's own; their bodies' words, to find masked names in. */
function createdFunctions(stmts: unknown[]): FunctionBody[] {
  const bodies: FunctionBody[] = [];
  for (const stmt of stmts) {
    const t = typed(stmt);
    if (t?.[0] !== 'CreateFunctionStmt') continue;
    const name = ((t[1].funcname as unknown[] | undefined) ?? []).map(str).at(-1)?.toLowerCase() ?? '';
    const words = new Set<string>();
    const collect = (v: unknown): void => {
      if (typeof v === 'string') {
        for (const w of v.toLowerCase().split(/[^\p{L}\p{N}_$]+/u)) if (w) words.add(w);
      } else if (v && typeof v === 'object') Object.values(v).forEach(collect);
    };
    collect([t[1].options, t[1].sql_body]);
    bodies.push({ name, words });
  }
  return bodies;
}

/** `column = $n` (either way round, through casts): a lookup by a value the client already has. */
function paramEquality(condition: unknown): boolean {
  const e = (condition as { A_Expr?: Node }).A_Expr;
  if (!e || e.kind !== 'AEXPR_OP' || str((e.name as unknown[] | undefined)?.[0]) !== '=') return false;
  const bare = (n: unknown): string | undefined => {
    const t = typed(n);
    return t?.[0] === 'TypeCast' ? bare(t[1].arg) : t?.[0];
  };
  const sides = [bare(e.lexpr), bare(e.rexpr)].sort().join(' ');
  return sides === 'ColumnRef ParamRef';
}

function renamed(columns: OutputColumn[], names: (string | undefined)[] | undefined): OutputColumn[] {
  if (!names?.length) return columns;
  return columns.map((c, i) => (names[i] ? { ...c, name: names[i] } : c));
}

function columnOf(entry: RangeEntry, column: string): Deps | undefined {
  const found = entry.columns.filter((c) => c.name === column);
  if (found.length) return Deps.of(...found.map((c) => c.deps));
  return entry.anyColumn && Deps.of(entry.anyColumn);
}

function entryDeps(entry: RangeEntry): Deps {
  return Deps.of(entry.anyColumn, ...entry.columns.map((c) => c.deps));
}

/** The name PostgreSQL gives an output column with no alias: the column's or the function's, else ?column?. */
function outputName(val: unknown): string {
  const t = typed(val);
  if (t?.[0] === 'ColumnRef') return str((t[1].fields as unknown[]).at(-1)) ?? '?column?';
  if (t?.[0] === 'FuncCall') return str((t[1].funcname as unknown[]).at(-1)) ?? '?column?';
  if (t?.[0] === 'TypeCast') return outputName(t[1].arg);
  return '?column?';
}

/** Column names a function in FROM declares: `AS t(a int, b text)` and ROWS FROM column definitions. */
function columnDefinitions(n: Node): (string | undefined)[] {
  const names: (string | undefined)[] = [];
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(visit);
    const def = (v as { ColumnDef?: { colname?: string } }).ColumnDef;
    if (def) names.push(def.colname);
    else Object.values(v).forEach(visit);
  };
  visit([n.coldeflist, n.functions]);
  return names;
}

/** A function in FROM without an alias is called by the function's name. */
function functionAlias(n: Node): string {
  const first = (n.functions as { List?: { items?: unknown[] } }[] | undefined)?.[0]?.List?.items?.[0];
  const call = typed(first);
  return call?.[0] === 'FuncCall' ? (str((call[1].funcname as unknown[]).at(-1)) ?? '') : '';
}

/** Statements that answer with a RowDescription, and where their columns come from. */
function resultOf(stmt: unknown, columns: OutputColumn[] | undefined): ResultLineage | undefined {
  const t = typed(stmt);
  if (!t) return undefined;
  const [type, n] = t;
  switch (type) {
    case 'FetchStmt':
      return n.ismove ? undefined : { cursor: String(n.portalname) };
    case 'ExecuteStmt':
      return { prepared: String(n.name) };
    case 'CallStmt':
      return { unknown: true };
    case 'VariableShowStmt':
    case 'ExplainStmt':
      return { columns: [new Deps().freeze(true)] };
    case 'DeclareCursorStmt':
    case 'PrepareStmt':
    case 'CopyStmt':
      return undefined;
    default:
      return columns && { columns: columns.map((c) => c.deps.freeze(c.spread)) };
  }
}

/**
 * Lineage per statement shape and catalog version; bounded, oldest shape first out. One per connection,
 * shared by its sessions, separate from the classification and decision caches.
 */
export class LineageCache {
  readonly #catalog: Catalog;
  readonly #entries = new Map<string, StatementLineage>();
  readonly #views = new Map<string, OutputColumn[]>();
  #viewsVersion = -1;
  readonly #size: number;
  readonly #parser: SqlParser;

  /** `parser` is the connection's own, so that lineage adds no WebAssembly heap of its own. */
  constructor(catalog: Catalog, parser: SqlParser, size = 2000) {
    this.#catalog = catalog;
    this.#parser = parser;
    this.#size = size;
  }

  /** The cached lineage of a statement shape, if it is known for the current catalog. */
  cached(shape: string): StatementLineage | undefined {
    return this.#entries.get(`${this.#catalog.version}\u0000${shape}`);
  }

  /** Computes a statement's lineage, looking up in the catalog what it names (views recursively). */
  async compute(sql: string, shape: string): Promise<StatementLineage> {
    const key = `${this.#catalog.version}\u0000${shape}`;
    const known = this.#entries.get(key);
    if (known) return known;
    const version = this.#catalog.version;
    const tree = this.#parser.parse(sql) as { stmts?: { stmt?: unknown }[] };
    const stmts = (tree.stmts ?? []).map((s) => s.stmt);
    const functionBodies = createdFunctions(stmts);
    const catalogOwn = await this.#catalog.ownFunctions();
    const ownFunctions = functionBodies.length ? new Set([...catalogOwn, ...functionBodies.map((f) => f.name)]) : catalogOwn;
    await this.#resolveRelations(stmts);
    if (this.#viewsVersion !== this.#catalog.version) {
      this.#views.clear();
      this.#viewsVersion = this.#catalog.version;
    }
    const analyzer = new Analyzer(this.#catalog, this.#parser, ownFunctions, this.#views);
    const results: ResultLineage[] = [];
    const defines: (readonly ColumnLineage[] | undefined)[] = [];
    let copyOut: ColumnLineage[] | undefined;
    for (const stmt of stmts) {
      const columns = analyzer.statement(stmt, undefined);
      const t = typed(stmt);
      const frozen = () => (columns ?? []).map((c) => c.deps.freeze(c.spread));
      defines.push(t?.[0] === 'DeclareCursorStmt' || t?.[0] === 'PrepareStmt' ? frozen() : undefined);
      if (t?.[0] === 'CopyStmt' && !t[1].is_from && columns) copyOut ??= frozen();
      const result = resultOf(stmt, columns);
      if (result) results.push(result);
    }
    const lineage: StatementLineage = {
      results,
      writes: analyzer.writes,
      predicates: analyzer.predicates,
      defines,
      reads: analyzer.reads.freeze(),
      checks: analyzer.checks.freeze(),
      functionBodies,
      ...(copyOut && { copyOut }),
    };
    if (version === this.#catalog.version && key.length <= MAX_CACHED_KEY) {
      if (this.#entries.size >= this.#size) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, lineage);
    }
    return lineage;
  }

  /** Resolves every relation named by the statements and, recursively, by the views among them. */
  async #resolveRelations(stmts: unknown[]): Promise<void> {
    let names = relationNames(stmts, new Set());
    for (let depth = 0; names.size && depth < MAX_VIEW_DEPTH; depth++) {
      await this.#catalog.relations([...names]);
      const next = new Set<string>();
      for (const name of names) {
        const definition = this.#catalog.relation(name)?.definition;
        if (definition === undefined) continue;
        try {
          for (const n of relationNames(this.#parser.parse(definition), new Set())) if (this.#catalog.relation(n) === undefined) next.add(n);
        } catch {
          // An unparseable definition makes the view's columns opaque.
        }
      }
      names = next;
    }
  }
}

/** Whether a value of this lineage must be masked under these column masks; the mask that applies, or true when untraceable. */
export function maskingSource(lineage: ColumnLineage, masks: readonly ColumnMask[]): ColumnMask | true | undefined {
  if (masks.length === 0) return undefined;
  if (lineage.opaque) return true;
  for (const s of lineage.sources) {
    const mask = masks.find((m) => m.matches(s.table, s.column) || m.matches(s.qualified, s.column));
    if (mask) return mask;
  }
  return undefined;
}

/** Where result columns come from, aligned with the columns a RowDescription actually has; all opaque when they cannot be aligned. */
export function alignLineage(lineage: readonly ColumnLineage[] | undefined, count: number): readonly ColumnLineage[] {
  const spread = lineage?.findIndex((c) => c.spread) ?? -1;
  if (lineage && spread < 0 && lineage.length === count) return lineage;
  if (!lineage || spread < 0 || lineage.length - 1 > count) return Array.from({ length: count }, () => OPAQUE);
  const after = lineage.length - spread - 1;
  return Array.from({ length: count }, (_, i) => (i < spread ? lineage[i]! : i >= count - after ? lineage[i - count + lineage.length]! : lineage[spread]!));
}

const OPAQUE: ColumnLineage = Object.freeze({ sources: [], opaque: true });

/**
 * A write that copies a value out of a mask: into a column no rule masks, or one masked by another rule.
 * Values the gateway cannot trace (a function of the target's own) are not counted here.
 */
export function maskedCopy(lineage: StatementLineage, masks: readonly ColumnMask[]): string | undefined {
  for (const w of lineage.writes) {
    if (w.session && w.from.opaque && masks.length) return `the value written to ${w.qualified} ${w.column} derives from a function the gateway cannot trace`;
    const source = w.from.sources.map((s) => ({ s, mask: masks.find((m) => m.matches(s.table, s.column) || m.matches(s.qualified, s.column)) })).find((x) => x.mask);
    if (!source) continue;
    const target = masks.find((m) => m.matches(w.table, w.column) || m.matches(w.qualified, w.column));
    if (target?.rule === source.mask!.rule) continue;
    return `the value written to ${w.qualified}${w.session ? ' ' : '.'}${w.column} derives from masked column ${source.s.qualified}.${source.s.column}`;
  }
  for (const body of lineage.functionBodies) {
    const words = [...body.words];
    const mask = masks.find((m) => words.some((w) => m.matchesTable(w)) && words.some((w) => m.matchesColumn(w)));
    if (mask) return `the body of function ${body.name} names a column masked by rule "${mask.rule}"`;
  }
  return undefined;
}

/** A filter, join, grouping or order on a column whose mask refuses predicates: an oracle for its values. */
export function maskedPredicate(lineage: StatementLineage, masks: readonly ColumnMask[]): string | undefined {
  for (const p of lineage.predicates) {
    for (const s of p.from.sources) {
      const mask = masks.find((m) => m.predicates?.refuse && (m.matches(s.table, s.column) || m.matches(s.qualified, s.column)));
      if (mask && !(p.paramEquality && mask.predicates!.allowParamEquality)) {
        return `the statement filters, joins, groups, orders or compares on masked column ${s.qualified}.${s.column} (rule "${mask.rule}")`;
      }
    }
  }
  return undefined;
}

/** Whether anything the statement returns, filters on or writes derives from a masked column (or cannot be traced). */
export function touchesMasked(lineage: StatementLineage, masks: readonly ColumnMask[]): boolean {
  const derived = (c: ColumnLineage) => maskingSource(c, masks) !== undefined;
  return (
    derived(lineage.reads) ||
    lineage.results.some((r) => ('columns' in r ? r.columns.some(derived) : 'unknown' in r)) ||
    lineage.predicates.some((p) => derived(p.from)) ||
    lineage.writes.some((w) => derived(w.from)) ||
    (lineage.copyOut?.some(derived) ?? false)
  );
}
