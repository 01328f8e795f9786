import type { LruCache } from '../../base/lru.js';
import { functionClasses } from './builtin-functions.js';
import { ctesIn, FilterContext } from './filters.js';
import type { SqlParser } from './parser.js';
import { statementShape } from './shape.js';

/**
 * Classifies SQL with the real PostgreSQL parser (libpg-query). Every statement of a message is
 * classified, and each takes the classes of its worst effect anywhere in its tree: a DELETE in a CTE,
 * EXPLAIN ANALYZE of an UPDATE, a DROP inside a DO block. What cannot be known before it runs (DO,
 * CALL, EXECUTE of an unknown statement, functions that run SQL text) is `unknown`.
 *
 * Results are cached by the statement's normalized text (constants replaced by the real lexer), so a
 * statement shape is parsed once. That is sound because of one rule (`shape`): a classification that
 * read no constant's value holds for every text of the same normalized form, whose trees differ in
 * constants only; one that read a value (a `DO` body, a setting's name, a COPY or EXPLAIN option, a
 * LIKE pattern) is its exact text's alone and is not cached by shape. Plain DML statements also find
 * their entry without the parser, by a key with their constants cut out by a scan (`statementShape`).
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
  /** Every COPY of the text, in order: what its data rows hold and how they are written. */
  copies?: readonly CopySpec[];
  /**
   * What results derived from the classification may be cached by: texts with the same shape provably
   * classify the same (see `shapeOf`). The normalized text, or `=` and the exact text when the
   * classification read a constant's value.
   */
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
  /** Whether the first line is a header (COPY FROM … HEADER MATCH checks it too): not data. */
  header: boolean;
  /** CSV COPY FROM: columns whose quoted null-marker fields are null too (`*` for all). */
  forceNull?: readonly string[] | '*';
  /** CSV COPY FROM: columns whose unquoted null-marker fields are values (`*` for all). */
  forceNotNull?: readonly string[] | '*';
  /** The data's encoding, when the ENCODING option names one. */
  encoding?: string;
}

type Node = Record<string, unknown>;

const WRITE_CLASSES = new Set([
  'write', 'insert', 'update', 'delete', 'merge', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter',
  'drop', 'truncate', 'grant', 'set_role', 'integrity_setting', 'alter_system', 'copy_from', 'copy_program', 'dangerous_function', 'unknown',
  'maintenance', 'lock',
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
/** Settings that turn off integrity checks (triggers, foreign keys, read-only, checksums) or auditing. */
const INTEGRITY_SETTINGS = new Set([
  'session_replication_role', 'zero_damaged_pages', 'ignore_checksum_failure',
  'ignore_system_indexes', 'ignore_invalid_pages', 'allow_system_table_mods', 'allow_in_place_tablespaces', 'row_security', 'track_activities',
]);
const AUDIT_SETTING = /^(log_|pgaudit\.|debug_)/;
/** Settings that only turning off weakens: READ ONLY is harmless, READ WRITE lifts a read-only default. */
const READ_ONLY_SETTINGS = new Set(['transaction_read_only', 'default_transaction_read_only']);

/**
 * The classes of changing a setting (its name case-folded, as PostgreSQL reads it) to `value` (a
 * constant's text; undefined when computed).
 */
function settingClasses(name: string, value: string | undefined, c: Collector): string[] {
  const folded = name.toLowerCase();
  if (ROLE_SETTINGS.has(folded)) return ['set_role', 'write'];
  if (INTEGRITY_SETTINGS.has(folded) || AUDIT_SETTING.test(folded)) return ['integrity_setting', 'write'];
  if (READ_ONLY_SETTINGS.has(folded)) {
    c.readsValue = true;
    if (!/^(on|true|yes|1)$/i.test(value ?? '')) return ['integrity_setting', 'write'];
  }
  return ['session'];
}

class Collector {
  readonly classes = new Set<string>();
  /** False when the result depends on the session (PREPARE, EXECUTE, DEALLOCATE). */
  cacheable = true;
  /** Set when the result read a constant's value: it holds for this exact text only. */
  readsValue = false;
  /** Every CTE of the statement being walked, by name. */
  ctes: ReadonlyMap<string, readonly unknown[]> = new Map();
  readonly copies: CopySpec[] = [];
  readonly prepares = new Map<string, SqlClassification>();
  constructor(
    readonly prepared: PreparedStatements,
    readonly parser: SqlParser,
  ) {}
  add(...classes: readonly string[]): void {
    for (const c of classes) this.classes.add(c);
  }
  filters(target: Node): FilterContext {
    return new FilterContext(String(target.relname), this.ctes, this);
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

/**
 * MERGE takes the class of each action. An UPDATE or DELETE of matched rows is restricted when its join
 * condition or its own WHEN condition restricts the target (see filters.ts); one of the rows the source
 * does not match (NOT MATCHED BY SOURCE) only by its own condition.
 */
function mergeActionClasses(node: Node, c: Collector): string[] {
  const target = node.relation as Node;
  const filters = c.filters(target);
  const joined = filters.scope(target, [node.sourceRelation]);
  const alone = filters.scope(target, []);
  const joinRestricts = filters.restricts(node.joinCondition, joined);
  const classes: string[] = [];
  for (const w of (node.mergeWhenClauses as Node[] | undefined) ?? []) {
    const clause = (w as { MergeWhenClause?: Node }).MergeWhenClause ?? {};
    const action = clause.commandType === 'CMD_UPDATE' ? 'update' : clause.commandType === 'CMD_DELETE' ? 'delete' : clause.commandType === 'CMD_INSERT' ? 'insert' : undefined;
    if (!action) continue;
    classes.push(action);
    if (action === 'insert') continue;
    const restricted = clause.matchKind === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE' ? filters.restricts(clause.condition, alone) : joinRestricts || filters.restricts(clause.condition, joined);
    if (!restricted) classes.push(`${action}_without_where`);
  }
  return classes;
}

/** UPDATE and DELETE: restricted when their WHERE restricts the target, with USING/FROM joined. */
function unrestricted(node: Node, joined: unknown, c: Collector): boolean {
  const target = node.relation as Node;
  const filters = c.filters(target);
  return !filters.restricts(node.whereClause, filters.scope(target, (joined as unknown[] | undefined) ?? []));
}

/**
 * ON CONFLICT DO UPDATE updates the rows whose key matches a proposed row: restricted when the proposed
 * rows come from outside the target (VALUES, parameters, other tables) or its WHERE restricts.
 */
function conflictUnrestricted(node: Node, c: Collector): boolean {
  const target = node.relation as Node;
  const filters = c.filters(target);
  const conflict = node.onConflictClause as Node;
  if (!filters.readsTarget(node.selectStmt)) return false;
  return !filters.restricts(conflict.whereClause, filters.conflictScope(target, node.selectStmt));
}

export const stringOf = (n: unknown): string | undefined => (n as { String?: { sval?: string } } | undefined)?.String?.sval;

/**
 * A COPY's options read as PostgreSQL's ProcessCopyOptions reads them: the old syntax (`CSV HEADER
 * DELIMITER '|'`) arrives as the same options; the last of an option repeated is kept (PostgreSQL
 * refuses the statement anyway). What decides masking beyond the format (the header, the delimiter,
 * the null marker, the quote and escape) is a constant's value, so the classification notes that it
 * read one.
 */
function copySpec(node: Node, c: Collector): CopySpec {
  const relation = node.relation as { schemaname?: string; relname?: string } | undefined;
  const options = new Map<string, unknown>();
  for (const o of (node.options as Node[] | undefined) ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
    if (def?.defname) options.set(def.defname.toLowerCase(), def.arg);
  }
  if (options.size) c.readsValue = true;
  const text = (name: string) => optionText(options.get(name));
  const format = (text('format') ?? 'text').toLowerCase() as CopySpec['format'];
  const columnList = (arg: unknown) => (nodeType(arg)?.[0] === 'A_Star' ? ('*' as const) : listOf(arg));
  return {
    ...(relation?.relname && { relation: relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname }),
    ...(Array.isArray(node.attlist) && { columns: (node.attlist as unknown[]).map((a) => stringOf(a) ?? '') }),
    ...(node.query !== undefined && { reads: namesIn(node.query) }),
    from: Boolean(node.is_from),
    format,
    ...(text('delimiter') !== undefined && { delimiter: text('delimiter') }),
    ...(text('null') !== undefined && { null: text('null') }),
    ...(text('quote') !== undefined && { quote: text('quote') }),
    ...(text('escape') !== undefined && { escape: text('escape') }),
    header: options.has('header') && headerChoice(options.get('header')),
    ...(options.has('force_null') && { forceNull: columnList(options.get('force_null')) }),
    ...(options.has('force_not_null') && { forceNotNull: columnList(options.get('force_not_null')) }),
    ...(text('encoding') !== undefined && { encoding: text('encoding') }),
  };
}

/** A constant's text (a string, number or boolean, as a DefElem value is read), undefined for any other expression. */
function constantValue(n: unknown): string | undefined {
  const typed = nodeType(n);
  if (typed?.[0] !== 'A_Const') return optionText(n);
  const constant = typed[1];
  if ('sval' in constant) return optionText({ String: constant.sval });
  if ('ival' in constant) return optionText({ Integer: constant.ival });
  if ('fval' in constant) return optionText({ Float: constant.fval });
  if ('boolval' in constant) return optionText({ Boolean: constant.boolval });
  return undefined;
}

/** An option's value as PostgreSQL's defGetString gives it. */
function optionText(arg: unknown): string | undefined {
  const typed = nodeType(arg);
  if (!typed) return undefined;
  const [type, value] = typed;
  if (type === 'String') return String(value.sval ?? '');
  if (type === 'Integer') return String(value.ival ?? 0);
  if (type === 'Float') return String(value.fval ?? '');
  if (type === 'Boolean') return value.boolval ? 'true' : 'false';
  return undefined;
}

/**
 * HEADER as defGetCopyHeaderChoice reads it: no value, `true`, `on`, `1` and `match` (COPY FROM checks the
 * names) mean a header line; `false`, `off` and `0` none. Anything else PostgreSQL refuses: taken as a
 * header, whose line COPY TO checks against the column names before passing it unmasked.
 */
function headerChoice(arg: unknown): boolean {
  if (arg === undefined) return true;
  if (nodeType(arg)?.[0] === 'Integer') return (nodeType(arg)![1].ival ?? 0) !== 0;
  const value = optionText(arg)?.toLowerCase();
  return !(value === 'false' || value === 'off');
}

const listOf = (arg: unknown): string[] => ((nodeType(arg)?.[1].items as unknown[] | undefined) ?? []).map((i) => stringOf(i) ?? '');

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

/** Whether EXPLAIN's options run the statement: ANALYZE with no value or a true one (defGetBoolean). */
export function explainAnalyzes(options: unknown): boolean {
  return ((options as Node[] | undefined) ?? []).some((o) => {
    const def = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
    if (def?.defname?.toLowerCase() !== 'analyze') return false;
    if (def.arg === undefined) return true;
    const value = optionText(def.arg)?.toLowerCase();
    return !(value === 'false' || value === 'off' || value === '0');
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
  LoadStmt: [['dangerous_function', 'write'], 'skip'],
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
      c.add('merge', 'write', ...mergeActionClasses(node, c));
      return 'descend';
    case 'InsertStmt': {
      c.add('insert', 'write');
      const conflict = node.onConflictClause as { action?: string } | undefined;
      if (conflict?.action === 'ONCONFLICT_UPDATE') c.add('update', ...(conflictUnrestricted(node, c) ? ['update_without_where'] : []));
      return 'descend';
    }
    case 'UpdateStmt':
      c.add('update', 'write');
      if (unrestricted(node, node.fromClause, c)) c.add('update_without_where');
      return 'descend';
    case 'DeleteStmt':
      c.add('delete', 'write');
      if (unrestricted(node, node.usingClause, c)) c.add('delete_without_where');
      return 'descend';
    case 'ExplainStmt':
      c.add('read');
      if (node.options) c.readsValue = true;
      return explainAnalyzes(node.options) ? 'descend' : 'skip';
    case 'CopyStmt':
      c.add(node.is_from ? 'copy_from' : 'copy_to', node.is_from ? 'write' : 'read');
      if (node.is_from) c.add('insert');
      if (node.is_program || node.filename) c.add('copy_program');
      c.copies.push(copySpec(node, c));
      return 'descend';
    case 'CreateFunctionStmt':
      // Defining a function runs nothing; its body, code in a string, makes the text its own shape.
      c.add('create', 'ddl', 'write');
      c.readsValue = true;
      return 'skip';
    case 'TransactionStmt':
      c.add('transaction');
      // BEGIN READ WRITE lifts a read-only default as SET TRANSACTION READ WRITE does.
      for (const o of (node.options as Node[] | undefined) ?? []) {
        const def = (o as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
        if (def?.defname) c.add(...settingClasses(def.defname, constantValue(def.arg), c).filter((k) => k !== 'session'));
      }
      return 'skip';
    case 'VariableSetStmt':
      if (node.kind === 'VAR_SET_MULTI') {
        // SET TRANSACTION READ WRITE and SET SESSION CHARACTERISTICS set transaction_read_only and the like.
        for (const a of (node.args as Node[] | undefined) ?? []) {
          const def = (a as { DefElem?: { defname?: string; arg?: unknown } }).DefElem;
          if (def?.defname) c.add(...settingClasses(def.defname, constantValue(def.arg), c));
        }
      } else c.add(...(resets(node, c) ? ['session'] : settingClasses(String(node.name ?? ''), constantValue((node.args as unknown[] | undefined)?.[0]), c)));
      return 'skip';
    case 'DoStmt':
      c.add('unknown', 'write');
      classifyDoBody(node, c);
      return 'skip';
    case 'PrepareStmt': {
      const inner = new Collector(c.prepared, c.parser);
      walkStatement(node.query, inner);
      const name = String(node.name);
      c.prepares.set(name, either(c.prepares.get(name), finish(inner, ['PREPARE'])));
      c.add('session');
      c.cacheable = false;
      return 'skip';
    }
    case 'ExecuteStmt': {
      c.cacheable = false;
      const name = String(node.name);
      const here = c.prepares.get(name);
      const prepared = here ? either(c.prepared.get(name), here) : c.prepared.get(name);
      if (prepared) c.add(...prepared.classes);
      else c.add('unknown', 'write');
      return 'descend';
    }
    case 'DeallocateStmt':
      c.add('session');
      c.cacheable = false;
      return 'skip';
    case 'FuncCall': {
      const name = funcName(node);
      c.add(...functionClasses(name));
      if (SQL_RUNNING_FUNCTIONS.has(name)) {
        // Their SQL is code in a string: what is derived from it holds for this text alone.
        c.add('unknown', 'write');
        c.readsValue = true;
      }
      if (name === 'set_config') {
        // What set_config changes depends on its first argument's value; a computed one may be anything.
        c.readsValue = true;
        const [name, value] = ((node.args as unknown[] | undefined) ?? []).map(constantValue);
        c.add(...(name === undefined ? ['set_role', 'integrity_setting', 'write'] : settingClasses(name, value, c)));
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

/**
 * Whether a SET puts a role setting back as it was: RESET, SET … TO DEFAULT (SET SESSION AUTHORIZATION
 * DEFAULT too) and SET ROLE NONE, as RESET ROLE does. Settings of other kinds keep their own classes.
 */
function resets(node: Node, c: Collector): boolean {
  if (node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL' || node.kind === 'VAR_SET_DEFAULT') return true;
  if (String(node.name).toLowerCase() !== 'role' || node.kind !== 'VAR_SET_VALUE') return false;
  c.readsValue = true;
  const args = (node.args as Node[] | undefined) ?? [];
  return args.length === 1 && (args[0] as { A_Const?: { sval?: { sval?: string } } }).A_Const?.sval?.sval === 'none';
}

/** Walks one statement's tree, its CTEs known (a DML statement in one may read a sibling). */
function walkStatement(stmt: unknown, c: Collector): void {
  c.ctes = ctesIn(stmt);
  walk(stmt, c);
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

/**
 * Static SQL inside a DO block counts; EXECUTE of a computed string is already `unknown`. The body is
 * parsed inside a dollar quote whose tag it does not hold, so no body can end the quote early; a body
 * the PL/pgSQL parser rejects is `unparseable`, never passed over.
 */
function classifyDoBody(node: Node, c: Collector): void {
  c.readsValue = true;
  const body = ((node.args as Node[] | undefined) ?? [])
    .map((a) => (a as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem)
    .find((d) => d?.defname === 'as')?.arg?.String?.sval;
  const language = ((node.args as Node[] | undefined) ?? [])
    .map((a) => (a as { DefElem?: { defname?: string; arg?: { String?: { sval?: string } } } }).DefElem)
    .find((d) => d?.defname === 'language')?.arg?.String?.sval;
  if (body === undefined || (language && language.toLowerCase() !== 'plpgsql')) return;
  let tag = 'governed_do';
  for (let n = 0; body.includes(`$${tag}$`); n++) tag = `governed_do_${n}`;
  let tree: unknown;
  try {
    tree = c.parser.parsePlPgSQL(`CREATE FUNCTION governed_do() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$`);
  } catch {
    c.add('unparseable');
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
      walkStatement(c.parser.parse(expression ? `SELECT ${query}` : query), c);
    } catch {
      c.add('unknown');
    }
  }
}

/** What a name PREPAREd as `a` and then as `b` may run: the classes of both. */
function either(a: SqlClassification | undefined, b: SqlClassification): SqlClassification {
  if (!a) return b;
  return { ...b, classes: new Set([...a.classes, ...b.classes]), writes: a.writes || b.writes };
}

function finish(c: Collector, commands: string[]): SqlClassification {
  const writes = [...c.classes].some((k) => WRITE_CLASSES.has(k));
  return {
    classes: c.classes,
    writes,
    commands,
    ...(c.prepares.size && { prepares: c.prepares }),
    ...(c.copies.length && { copies: c.copies }),
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

  /**
   * Whether two texts provably classify the same, so that what is cached for one may serve the other:
   * the same shape, on a classification that depends on no session state (see `shape`).
   */
  classifiesSame(a: string, b: string): boolean {
    const first = this.classify(a);
    const second = this.classify(b);
    return first.shape !== undefined && !first.perSession && !second.perSession && first.shape === second.shape;
  }

  classify(sql: string): SqlClassification {
    const { cache, parser } = this.#shared;
    // A known shape differs from a statement parsed before only in its constants' values.
    const shape = statementShape(sql);
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
    for (const s of stmts) walkStatement(s.stmt, c);
    const result: SqlClassification = { ...finish(c, stmts.map((s) => commandOf(s.stmt))), shape: c.readsValue ? exactShape(sql) : key };
    // Texts of one normalized form differ in constants only: they classify the same unless a value was read.
    if (c.cacheable && !c.readsValue && key.length <= MAX_CACHED_KEY) {
      cache.set(key, result);
      if (shape !== undefined) cache.set(shape, result);
    }
    return result;
  }
}

/** The shape of a text whose classification read a constant's value: the text itself (no normalized text starts with `=`). */
export const exactShape = (sql: string): string => `=${sql}`;

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

function syntaxError(e: unknown): SqlClassification {
  return { classes: new Set(['unparseable']), writes: true, commands: ['UNPARSEABLE'], syntaxError: (e as Error).message };
}
