import type { LruCache } from '../../core/lru.js';
import type { SqlParser } from './parser.js';

/**
 * Classifies SQL with the real PostgreSQL parser (libpg-query). Every statement of a message is
 * classified, and each takes the classes of its worst effect anywhere in its tree: a DELETE in a CTE,
 * EXPLAIN ANALYZE of an UPDATE, a DROP inside a DO block. What cannot be known before it runs (DO,
 * CALL, EXECUTE of an unknown statement, functions that run SQL text) is `unknown`.
 *
 * Results are cached by the statement's normalized text (constants replaced by the real lexer), so a
 * statement shape is parsed once. Classification never depends on a constant's value, except where
 * marked not cacheable (set_config's setting name). The commonest statements also find their entry
 * without the parser, by a key with their numbers taken out (`numberShape`).
 */
export interface SqlClassification {
  classes: ReadonlySet<string>;
  writes: boolean;
  /** One command tag-like name per statement, for the record: SELECT, INSERT, DROP… */
  commands: readonly string[];
  /** Set when the parser rejected the text; the message is the parser's. */
  syntaxError?: string;
  /** Statements PREPAREd by this text, by name, for a later EXECUTE. */
  prepares?: ReadonlyMap<string, SqlClassification>;
  /** Statements DEALLOCATEd by this text (`*` for ALL). */
  deallocates?: readonly string[];
  /** The first COPY of the text: what its data rows hold and how they are written. */
  copy?: CopySpec;
  /** The statement's normalized text (constants replaced): what results derived from its shape are cached by. */
  shape?: string;
  /** Depends on the session (its PREPAREd statements, a setting's value): never reused for another text or session. */
  perSession?: true;
}

export interface CopySpec {
  /** The table, as written (schema-qualified when it was); absent for COPY (query). */
  relation?: string;
  /** The column list, when one was given. */
  columns?: readonly string[];
  /** COPY (query): the tables the query reads, what it calls them, and the names its column references use. */
  reads?: { tables: readonly string[]; aliases: readonly string[]; names: readonly string[] };
  from: boolean;
  format: 'text' | 'csv' | 'binary';
  delimiter?: string;
  null?: string;
  quote?: string;
  escape?: string;
  header: boolean;
}

type Node = Record<string, unknown>;

const WRITE_CLASSES = new Set([
  'write', 'insert', 'update', 'delete', 'merge', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter',
  'drop', 'truncate', 'grant', 'set_role', 'alter_system', 'copy_from', 'copy_program', 'dangerous_function', 'unknown',
  'maintenance', 'lock',
]);

/** Functions with effects beyond reading: they stop backends, touch server files, or run SQL elsewhere. */
const DANGEROUS_FUNCTIONS = new Set([
  'pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_switch_wal',
  'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_start_backup', 'pg_stop_backup',
  'pg_drop_replication_slot', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot',
  'pg_replication_origin_create', 'pg_replication_origin_drop', 'pg_log_backend_memory_contexts',
  'lo_import', 'lo_export', 'lo_unlink', 'lo_put', 'lo_from_bytea', 'lo_create', 'lo_creat', 'lo_truncate',
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'pg_ls_archive_statusdir',
  'pg_stat_file', 'pg_file_write', 'pg_file_unlink', 'pg_file_rename', 'pg_file_sync', 'pg_logdir_ls',
  'dblink', 'dblink_exec', 'dblink_open', 'dblink_connect', 'dblink_connect_u', 'dblink_send_query', 'dblink_fetch',
  'pg_advisory_lock', 'pg_advisory_xact_lock',
]);

/** Functions that run SQL given as text: what they do cannot be known from the statement. */
export const SQL_RUNNING_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml', 'cursor_to_xmlschema', 'ts_stat', 'ts_rewrite',
  'dblink', 'dblink_exec', 'dblink_open', 'dblink_send_query', 'dblink_fetch', 'dblink_build_sql_insert', 'dblink_build_sql_update',
  'dblink_build_sql_delete', 'table_to_xml', 'table_to_xml_and_xmlschema', 'schema_to_xml', 'database_to_xml',
  'database_to_xml_and_xmlschema', 'schema_to_xml_and_xmlschema',
]);

/** Settings whose change makes the session act as someone else. */
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);

class Collector {
  readonly classes = new Set<string>();
  cacheable = true;
  copy: CopySpec | undefined;
  readonly prepares = new Map<string, SqlClassification>();
  readonly deallocates: string[] = [];
  constructor(
    readonly prepared: PreparedStatements,
    readonly parser: SqlParser,
  ) {}
  add(...classes: string[]): void {
    for (const c of classes) this.classes.add(c);
  }
}

export const nodeType = (n: unknown): [string, Node] | undefined => {
  if (!n || typeof n !== 'object' || Array.isArray(n)) return undefined;
  const keys = Object.keys(n);
  return keys.length === 1 && /^[A-Z]/.test(keys[0]!) ? [keys[0]!, (n as Node)[keys[0]!] as Node] : undefined;
};

function funcName(fn: Node): string {
  const parts = (fn.funcname as Node[] | undefined) ?? [];
  const last = parts.at(-1) as { String?: { sval?: string } } | undefined;
  return (last?.String?.sval ?? '').toLowerCase();
}

/** Whether an expression mentions no column: such a WHERE is true or false for every row alike. */
function mentionsColumn(n: unknown): boolean {
  if (!n || typeof n !== 'object') return false;
  if (Array.isArray(n)) return n.some(mentionsColumn);
  if ('ColumnRef' in n) return true;
  return Object.values(n).some(mentionsColumn);
}

/** `a = a` and the like: one column compared with itself. */
function selfComparison(where: Node): boolean {
  const expr = (where.A_Expr as Node | undefined) ?? undefined;
  if (!expr || !['=', '>=', '<=', 'IS NOT DISTINCT FROM'].includes(((expr.name as Node[] | undefined)?.[0] as { String?: { sval?: string } })?.String?.sval ?? '')) return false;
  return expr.lexpr !== undefined && JSON.stringify(expr.lexpr).replace(/"location":\d+/g, '') === JSON.stringify(expr.rexpr).replace(/"location":\d+/g, '');
}

function alwaysTrue(where: unknown): boolean {
  if (where === undefined || where === null) return true;
  if (!mentionsColumn(where)) return true;
  const w = where as Node;
  if (selfComparison(w)) return true;
  const bool = w.BoolExpr as { boolop?: string; args?: unknown[] } | undefined;
  return bool?.boolop === 'OR_EXPR' && (bool.args ?? []).some((a) => alwaysTrue(a));
}

/**
 * MERGE takes the class of each action. An UPDATE or DELETE reaches every row when the join condition is
 * true for all (ON true, ON id = id) and its WHEN has no condition of its own, or when it acts on the
 * rows the source does not match (NOT MATCHED BY SOURCE) with no condition.
 */
function mergeActionClasses(node: Node): string[] {
  const joinTrue = alwaysTrue(node.joinCondition);
  const classes: string[] = [];
  for (const w of (node.mergeWhenClauses as Node[] | undefined) ?? []) {
    const clause = (w as { MergeWhenClause?: Node }).MergeWhenClause ?? {};
    const action = clause.commandType === 'CMD_UPDATE' ? 'update' : clause.commandType === 'CMD_DELETE' ? 'delete' : clause.commandType === 'CMD_INSERT' ? 'insert' : undefined;
    if (!action) continue;
    classes.push(action);
    if (action === 'insert' || !alwaysTrue(clause.condition)) continue;
    if (joinTrue || clause.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE') classes.push(`${action}_without_where`);
  }
  return classes;
}

export const stringOf = (n: unknown): string | undefined => (n as { String?: { sval?: string } } | undefined)?.String?.sval;

function copySpec(node: Node): CopySpec {
  const relation = node.relation as { schemaname?: string; relname?: string } | undefined;
  const options = new Map<string, unknown>();
  for (const o of (node.options as Node[] | undefined) ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
    if (def?.defname) options.set(def.defname, def.arg ?? true);
  }
  const format = (stringOf(options.get('format')) ?? 'text').toLowerCase() as CopySpec['format'];
  const header = options.get('header');
  return {
    ...(relation?.relname && { relation: relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname }),
    ...(Array.isArray(node.attlist) && { columns: (node.attlist as unknown[]).map((a) => stringOf(a) ?? '') }),
    ...(node.query !== undefined && { reads: namesIn(node.query) }),
    from: Boolean(node.is_from),
    format,
    ...(stringOf(options.get('delimiter')) !== undefined && { delimiter: stringOf(options.get('delimiter')) }),
    ...(stringOf(options.get('null')) !== undefined && { null: stringOf(options.get('null')) }),
    ...(stringOf(options.get('quote')) !== undefined && { quote: stringOf(options.get('quote')) }),
    ...(stringOf(options.get('escape')) !== undefined && { escape: stringOf(options.get('escape')) }),
    header: header !== undefined && !/false|"off"|"0"|ival":0/.test(JSON.stringify(header).toLowerCase()),
  };
}

/** The tables a tree reads (RangeVar, with their aliases) and the names its column references use. */
function namesIn(tree: unknown): { tables: string[]; aliases: string[]; names: string[] } {
  const tables: string[] = [];
  const aliases: string[] = [];
  const names: string[] = [];
  const visitNode = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(visitNode);
    const range = (n as { RangeVar?: { schemaname?: string; relname?: string; alias?: { aliasname?: string } } }).RangeVar;
    if (range?.relname) {
      tables.push(range.schemaname ? `${range.schemaname}.${range.relname}` : range.relname);
      aliases.push(range.alias?.aliasname ?? range.relname);
    }
    const ref = (n as { ColumnRef?: { fields?: unknown[] } }).ColumnRef;
    if (ref?.fields) {
      const last = ref.fields.at(-1) as { String?: { sval?: string }; A_Star?: unknown };
      names.push(last.A_Star !== undefined ? '*' : (last.String?.sval ?? '*'));
    }
    Object.values(n).forEach(visitNode);
  };
  visitNode(tree);
  return { tables, aliases, names };
}

export function explainAnalyzes(options: unknown): boolean {
  return ((options as Node[] | undefined) ?? []).some((o) => {
    const def = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
    if (def?.defname !== 'analyze') return false;
    const arg = JSON.stringify(def.arg ?? '').toLowerCase();
    return !/false|"off"|"0"|ival":0/.test(arg);
  });
}

/** Node types whose classes do not depend on their content, and whether their children count too. */
const FIXED: Readonly<Record<string, readonly [readonly string[], 'descend' | 'skip']>> = {
  TruncateStmt: [['truncate', 'write'], 'descend'],
  AlterSystemStmt: [['alter_system', 'write'], 'skip'],
  GrantStmt: [['grant', 'write'], 'skip'],
  GrantRoleStmt: [['grant', 'write'], 'skip'],
  AlterDefaultPrivilegesStmt: [['grant', 'write'], 'skip'],
  ReassignOwnedStmt: [['grant', 'write'], 'skip'],
  CreateRoleStmt: [['create', 'ddl', 'grant', 'write'], 'skip'],
  AlterRoleStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
  AlterRoleSetStmt: [['alter', 'ddl', 'grant', 'write'], 'skip'],
  // A procedure can do anything; its arguments are still looked at.
  CallStmt: [['unknown', 'write'], 'descend'],
  // Defining a function runs nothing; its body is not executed here.
  CreateFunctionStmt: [['create', 'ddl', 'write'], 'skip'],
  LoadStmt: [['dangerous_function', 'write'], 'skip'],
  TransactionStmt: [['transaction'], 'skip'],
  VacuumStmt: [['maintenance', 'write'], 'skip'],
  ClusterStmt: [['maintenance', 'write'], 'skip'],
  ReindexStmt: [['maintenance', 'write'], 'skip'],
  CheckPointStmt: [['maintenance', 'write'], 'skip'],
  RefreshMatViewStmt: [['maintenance', 'write'], 'skip'],
  LockStmt: [['lock', 'write'], 'skip'],
  ListenStmt: [['notify'], 'skip'],
  UnlistenStmt: [['notify'], 'skip'],
  NotifyStmt: [['notify'], 'skip'],
  VariableShowStmt: [['session'], 'skip'],
  DiscardStmt: [['session'], 'skip'],
  FetchStmt: [['session'], 'skip'],
  ClosePortalStmt: [['session'], 'skip'],
  ConstraintsSetStmt: [['session'], 'skip'],
  DeclareCursorStmt: [['read'], 'descend'],
};

/** The classes a node type contributes by itself, before its children are visited. */
function visit(type: string, node: Node, c: Collector): 'descend' | 'skip' {
  const fixed = FIXED[type];
  if (fixed) {
    c.add(...fixed[0]);
    return fixed[1];
  }
  switch (type) {
    case 'SelectStmt':
      c.add('read');
      if (node.intoClause) c.add('create', 'ddl', 'write');
      return 'descend';
    case 'MergeStmt':
      c.add('merge', 'write', ...mergeActionClasses(node));
      return 'descend';
    case 'InsertStmt': {
      c.add('insert', 'write');
      const conflict = node.onConflictClause as { action?: string } | undefined;
      if (conflict?.action === 'ONCONFLICT_UPDATE') c.add('update');
      return 'descend';
    }
    case 'UpdateStmt':
      c.add('update', 'write');
      if (alwaysTrue(node.whereClause)) c.add('update_without_where');
      return 'descend';
    case 'DeleteStmt':
      c.add('delete', 'write');
      if (alwaysTrue(node.whereClause)) c.add('delete_without_where');
      return 'descend';
    case 'ExplainStmt':
      c.add('read');
      return explainAnalyzes(node.options) ? 'descend' : 'skip';
    case 'CopyStmt':
      c.add(node.is_from ? 'copy_from' : 'copy_to', node.is_from ? 'write' : 'read');
      if (node.is_from) c.add('insert');
      if (node.is_program || node.filename) c.add('copy_program');
      c.copy ??= copySpec(node);
      return 'descend';
    case 'VariableSetStmt':
      if (ROLE_SETTINGS.has(String(node.name)) && node.kind !== 'VAR_RESET' && node.kind !== 'VAR_RESET_ALL') c.add('set_role');
      else c.add('session');
      return 'skip';
    case 'DoStmt':
      c.add('unknown', 'write');
      classifyDoBody(node, c);
      return 'skip';
    case 'PrepareStmt': {
      const inner = new Collector(c.prepared, c.parser);
      walk(node.query, inner);
      c.prepares.set(String(node.name), finish(inner, ['PREPARE']));
      c.add('session');
      c.cacheable = false;
      return 'skip';
    }
    case 'ExecuteStmt': {
      c.cacheable = false;
      const prepared = c.prepares.get(String(node.name)) ?? c.prepared.get(String(node.name));
      if (prepared) c.add(...prepared.classes);
      else c.add('unknown', 'write');
      return 'descend';
    }
    case 'DeallocateStmt':
      c.deallocates.push(node.isall || !node.name ? '*' : String(node.name));
      c.add('session');
      c.cacheable = false;
      return 'skip';
    case 'FuncCall': {
      const name = funcName(node);
      if (DANGEROUS_FUNCTIONS.has(name)) c.add('dangerous_function', 'write');
      if (SQL_RUNNING_FUNCTIONS.has(name)) c.add('unknown', 'write');
      if (name === 'set_config') {
        // Whether set_config changes the role depends on its first argument's value.
        c.cacheable = false;
        const first = ((node.args as Node[] | undefined)?.[0] as { A_Const?: { sval?: { sval?: string } } } | undefined)?.A_Const?.sval?.sval;
        if (first === undefined || ROLE_SETTINGS.has(first.toLowerCase())) c.add('set_role', 'write');
      }
      return 'descend';
    }
    default:
      if (/^Drop/.test(type)) c.add('drop', 'ddl', 'write');
      else if (/^(Create|Define)|^(IndexStmt|ViewStmt|RuleStmt|CompositeTypeStmt|ImportForeignSchemaStmt)$/.test(type)) c.add('create', 'ddl', 'write');
      else if (/^Alter|^(RenameStmt|CommentStmt|SecLabelStmt)$/.test(type)) c.add('alter', 'ddl', 'write');
      else if (/Stmt$/.test(type)) c.add('unknown', 'write');
      return 'descend';
  }
}

function walk(n: unknown, c: Collector): void {
  if (!n || typeof n !== 'object') return;
  if (Array.isArray(n)) {
    for (const item of n) walk(item, c);
    return;
  }
  const typed = nodeType(n);
  if (typed) {
    if (visit(typed[0], typed[1], c) === 'skip') return;
    walk(typed[1], c);
    return;
  }
  for (const v of Object.values(n)) walk(v, c);
}

/** Static SQL inside a DO block counts; EXECUTE of a computed string is already `unknown`. */
function classifyDoBody(node: Node, c: Collector): void {
  const body = ((node.args as Node[] | undefined) ?? [])
    .map((a) => (a as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem)
    .find((d) => d?.defname === 'as')?.arg?.String?.sval;
  const language = ((node.args as Node[] | undefined) ?? [])
    .map((a) => (a as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem)
    .find((d) => d?.defname === 'language')?.arg?.String?.sval;
  if (body === undefined || (language && language.toLowerCase() !== 'plpgsql')) return;
  let tree: unknown;
  try {
    tree = c.parser.parsePlPgSQL(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $governed_do$${body}$governed_do$`);
  } catch {
    return;
  }
  const queries: { query: string; expression: boolean }[] = [];
  const collect = (n: unknown): void => {
    if (!n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(collect);
    const expr = (n as { PLpgSQL_expr?: { query?: string; parseMode?: number } }).PLpgSQL_expr;
    if (expr?.query) queries.push({ query: expr.query, expression: expr.parseMode !== 0 });
    Object.values(n).forEach(collect);
  };
  collect(tree);
  for (const { query, expression } of queries) {
    try {
      walk(c.parser.parse(expression ? `SELECT ${query}` : query), c);
    } catch {
      c.add('unknown');
    }
  }
}

function finish(c: Collector, commands: string[]): SqlClassification {
  const writes = [...c.classes].some((k) => WRITE_CLASSES.has(k));
  return {
    classes: c.classes,
    writes,
    commands,
    ...(c.prepares.size && { prepares: c.prepares }),
    ...(c.deallocates.length && { deallocates: c.deallocates }),
    ...(c.copy && { copy: c.copy }),
    ...(!c.cacheable && { perSession: true as const }),
  };
}

function commandOf(stmt: unknown): string {
  const typed = nodeType(stmt);
  if (!typed) return 'UNKNOWN';
  return typed[0].replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** What the sessions of one connection share: the parser, and classifications by statement shape. */
export interface ClassifierShared {
  parser: SqlParser;
  cache: LruCache<string, SqlClassification>;
}

/**
 * Statement shapes longer than this are classified each time rather than remembered: the cache counts
 * entries, and a few thousand multi-megabyte shapes would hold gigabytes.
 */
const MAX_CACHED_KEY = 16 * 1024;

/** The statements a session's target holds by name, as the session knows them once the target confirmed them. */
export interface PreparedStatements {
  get(name: string): SqlClassification | undefined;
}

/** One classifier per connection: it knows that connection's PREPAREd statements. */
export class SqlClassifier {
  readonly #shared: ClassifierShared;
  /** Set by the session, which tracks what the target holds; EXECUTE of a name not known here is `unknown`. */
  prepared: (name: string) => SqlClassification | undefined = () => undefined;
  readonly #prepared: PreparedStatements = { get: (name) => this.prepared(name) };

  constructor(shared: ClassifierShared) {
    this.#shared = shared;
  }

  get parser(): SqlParser {
    return this.#shared.parser;
  }

  classify(sql: string): SqlClassification {
    const { cache, parser } = this.#shared;
    // A known shape differs from a statement parsed before only in its integer literals.
    const shape = numberShape(sql);
    const known = shape === undefined ? undefined : cache.get(shape);
    if (known) return known;
    const tooCostly = lexerCostProblem(sql);
    if (tooCostly) return syntaxError(new Error(tooCostly));
    let key: string;
    try {
      key = parser.normalize(sql);
    } catch (e) {
      return syntaxError(e);
    }
    const cached = cache.get(key);
    if (cached) {
      if (shape !== undefined) cache.set(shape, cached);
      return cached;
    }
    let tree: { stmts?: { stmt?: unknown }[] };
    try {
      tree = parser.parse(sql) as typeof tree;
    } catch (e) {
      return syntaxError(e);
    }
    const c = new Collector(this.#prepared, parser);
    const stmts = tree.stmts ?? [];
    for (const s of stmts) walk(s.stmt, c);
    const result: SqlClassification = { ...finish(c, stmts.map((s) => commandOf(s.stmt))), shape: key };
    if (c.cacheable && key.length <= MAX_CACHED_KEY) {
      cache.set(key, result);
      // One statement and no COPY: nothing in the result can depend on a number's value.
      if (shape !== undefined && stmts.length === 1 && !result.copy) cache.set(shape, result);
    }
    return result;
  }
}

/**
 * PostgreSQL's lexer rescans a run of operator characters once for each token it cuts from it, so its
 * time grows with the square of the run: `SELECT 1` and 30,000 `/*` take seconds, and the parser runs
 * on the gateway's one thread. Long runs are therefore counted before parsing, conservatively (inside
 * strings and comments too), and a statement whose runs would cost more than one run of
 * MAX_OPERATOR_RUN characters (some tens of milliseconds) is refused unparsed.
 */
const MAX_OPERATOR_RUN = 2_000;
/** Runs up to this long cost about their length; only the square of longer ones counts. */
const SHORT_RUN = 64;
const OPERATOR_CHARS = new Uint8Array(128);
for (const c of '~!@#^&|`?+-*/%<>=') OPERATOR_CHARS[c.charCodeAt(0)] = 1;

function lexerCostProblem(sql: string): string | undefined {
  let cost = 0;
  let longest = 0;
  let run = 0;
  for (let i = 0; i <= sql.length; i++) {
    const code = i < sql.length ? sql.charCodeAt(i) : 0;
    if (code < 128 && OPERATOR_CHARS[code]) {
      run++;
      continue;
    }
    if (run > SHORT_RUN) cost += run * run;
    longest = Math.max(longest, run);
    run = 0;
  }
  if (cost <= MAX_OPERATOR_RUN * MAX_OPERATOR_RUN) return undefined;
  return `the statement holds runs of operator characters (such as + - * / < >) up to ${longest} long, more than the gateway parses (${MAX_OPERATOR_RUN} in all); parsing them takes time that grows with the square of their length`;
}

const SHAPED = /^\s*(select|insert|update|delete|with|values)\b/i;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isIdentifierStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
const isIdentifierPart = (c: number) => isIdentifierStart(c) || isDigit(c) || c === 0x24;

/**
 * A cache key for a plain SELECT, INSERT, UPDATE, DELETE, WITH or VALUES statement: its text with
 * every integer literal replaced by a NUL (which no statement text can hold), found without the
 * parser. A scan this simple is trusted only where it cannot misread: any quote, dollar sign,
 * backslash, comment or non-ASCII character gives undefined, and the parser's normalisation decides.
 * Numbers it is unsure of (decimals, exponents, `0x…`) stay as they are, which only makes the key
 * more specific.
 */
export function numberShape(sql: string): string | undefined {
  if (!SHAPED.test(sql)) return undefined;
  let shape = '\u0000';
  let copied = 0;
  const length = sql.length;
  for (let i = 0; i < length; i++) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 || c === 0x22 || c === 0x24 || c === 0x5c || c >= 0x80) return undefined;
    if ((c === 0x2d || c === 0x2f) && (sql.charCodeAt(i + 1) === (c === 0x2d ? 0x2d : 0x2a))) return undefined;
    if (isIdentifierStart(c)) {
      while (i + 1 < length && isIdentifierPart(sql.charCodeAt(i + 1))) i++;
      continue;
    }
    if (!isDigit(c)) continue;
    const start = i;
    while (i + 1 < length && isDigit(sql.charCodeAt(i + 1))) i++;
    const next = sql.charCodeAt(i + 1);
    if (sql.charCodeAt(start - 1) === 0x2e || next === 0x2e || isIdentifierPart(next)) continue;
    shape += sql.slice(copied, start) + '\u0000';
    copied = i + 1;
  }
  return shape + sql.slice(copied);
}

function syntaxError(e: unknown): SqlClassification {
  return { classes: new Set(['unparseable']), writes: true, commands: ['UNPARSEABLE'], syntaxError: (e as Error).message };
}
