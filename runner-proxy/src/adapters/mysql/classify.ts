import { createRequire } from 'node:module';

/**
 * Classifies MySQL/MariaDB statements with node-sql-parser's MariaDB grammar. The text is first split
 * into statements by a lexer of the server's own quoting rules, and executable comments
 * (`/*! … *\/`, `/*M! … *\/`), which the server runs, are opened so that the parser reads what the
 * server will run. Each statement takes the classes of its worst effect; a statement the grammar
 * rejects is `unparseable` (refused), except a closed list of statements that can only read or set
 * the session (SHOW, SET NAMES, SAVEPOINT…), recognised by their leading words.
 *
 * Statements prepared in SQL (`PREPARE name FROM '…'`, `EXECUTE IMMEDIATE '…'`) take the classes of the
 * text they prepare when it is one string literal, and `unknown` otherwise (a variable, an expression);
 * `EXECUTE name` takes the classes of what the session holds under that name, `unknown` when it holds
 * nothing, and `DEALLOCATE PREPARE` forgets it.
 */
export interface MysqlClassification {
  classes: ReadonlySet<string>;
  writes: boolean;
  commands: readonly string[];
  /** What the statements read, as the grammar sees it: for masking columns whose origin the target does not name. */
  reach: Reach;
  /**
   * What the text does to the session's statements prepared in SQL, by lower-case name: prepared as a
   * text of these classes, or forgotten (undefined). The session takes it in once the target has run
   * the text without an error.
   */
  prepares: ReadonlyMap<string, PreparedSql | undefined>;
  syntaxError?: string;
}

/** A statement prepared in SQL, as the session holds it once the target confirmed it. */
export interface PreparedSql {
  classes: readonly string[];
  reach: Reach;
}

/**
 * The tables (`schema.table`, schema empty when unqualified) and column names a text names, and whether
 * it selects `*`. A result column computed by an expression, or read through a derived table, a CTE or a
 * view, has no source column in its definition; it is masked when what the statement reaches could hold
 * a masked column.
 */
export interface Reach {
  tables: ReadonlySet<string>;
  columns: ReadonlySet<string>;
  star: boolean;
}

const WRITE_CLASSES = new Set([
  'write', 'insert', 'update', 'delete', 'delete_without_where', 'update_without_where', 'ddl', 'create', 'alter', 'drop',
  'truncate', 'grant', 'set_role', 'alter_system', 'dangerous_function', 'unknown', 'lock', 'maintenance', 'load_local', 'outfile',
]);

/** Functions that reach the server's files or stall it. */
const DANGEROUS_FUNCTIONS = new Set(['load_file', 'sys_exec', 'sys_eval', 'benchmark', 'sleep', 'get_lock', 'release_all_locks', 'master_pos_wait']);

/** Statements the grammar does not know that only read or set the session: by their leading words. */
const KNOWN_BY_WORDS: readonly [RegExp, string][] = [
  [/^(SHOW|DESCRIBE|DESC|EXPLAIN|HELP)\b/i, 'read'],
  [/^SET\s+(NAMES|CHARACTER\s+SET|CHARSET)\b/i, 'session'],
  [/^(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+(WORK\s+)?TO)\b/i, 'transaction'],
  [/^(FLUSH|ANALYZE|OPTIMIZE|REPAIR|CHECK|CHECKSUM)\b/i, 'maintenance'],
  [/^(DO|HANDLER|XA)\b/i, 'unknown'],
  // What mysqldump writes around each table's rows.
  [/^ALTER\s+TABLE\s+(`(?:[^`]|``)+`|[\w$.]+)\s+(DISABLE|ENABLE)\s+KEYS$/i, 'alter'],
];

/**
 * Character sets with multi-byte characters whose later bytes can be a quote or a backslash (big5, sjis,
 * gbk, cp932, gb18030): the server could read a text's quoting otherwise than the gateway does.
 */
const UNSAFE_CHARSETS = /\b(big5|sjis|gbk|cp932|gb18030)/i;
/** Their collation ids, as a client's handshake names them. */
export const UNSAFE_CHARSET_IDS: ReadonlySet<number> = new Set([1, 13, 28, 84, 87, 88, 95, 96, 248, 249, 250]);

/** A prepared statement's name, bare or quoted; its string literal, then `USING` values or nothing. */
const NAME = '([\\w$]+|`(?:[^`]|``)+`)';
const PREPARE = new RegExp(`^PREPARE\\s+${NAME}\\s+FROM\\s+([\\s\\S]*)$`, 'i');
const EXECUTE_IMMEDIATE = /^EXECUTE\s+IMMEDIATE\s+([\s\S]*)$/i;
const EXECUTE = new RegExp(`^EXECUTE\\s+${NAME}(\\s+USING\\b[\\s\\S]*)?$`, 'i');
const DEALLOCATE = new RegExp(`^(DEALLOCATE|DROP)\\s+PREPARE\\s+${NAME}$`, 'i');
const LITERAL = /^('(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"\\]|\\[\s\S]|"")*")(\s+USING\b[\s\S]*)?$/;
const NO_PREPARED: ReadonlyMap<string, PreparedSql> = new Map();

type Node = Record<string, unknown>;
interface SqlParser {
  parse(sql: string, options: { database: string }): { ast: Node | Node[]; tableList: string[]; columnList: string[] };
}

let parser: SqlParser | undefined;
function loadParser(): SqlParser {
  // The MariaDB-only build: the full package holds every dialect's grammar.
  const { Parser } = createRequire(import.meta.url)('node-sql-parser/build/mariadb.js') as { Parser: new () => SqlParser };
  return (parser ??= new Parser());
}

export class MysqlClassifier {
  readonly #parser = loadParser();

  /** `held` is what the session holds prepared in SQL, by lower-case name. */
  classify(text: string, held: ReadonlyMap<string, PreparedSql> = NO_PREPARED): MysqlClassification {
    const classes = new Set<string>();
    const commands: string[] = [];
    const reach = { tables: new Set<string>(), columns: new Set<string>(), star: false };
    const prepares = new Map<string, PreparedSql | undefined>();
    let syntaxError: string | undefined;
    let statements: string[];
    try {
      statements = splitStatements(text);
    } catch (e) {
      addWords(reach, text);
      return { classes: new Set(['unparseable']), writes: true, commands: [], reach, prepares, syntaxError: (e as Error).message };
    }
    // The server reads the statements after a change of sql_mode by the new mode's quoting (ANSI_QUOTES,
    // NO_BACKSLASH_ESCAPES), which this split did not: such a change is decided only on its own.
    if (statements.length > 1 && /sql_mode/i.test(text)) {
      addWords(reach, text);
      return { classes: new Set(['unparseable']), writes: true, commands: [], reach, prepares, syntaxError: 'a change of sql_mode must be sent as a statement of its own' };
    }
    for (const statement of statements) {
      // A statement this text prepared before counts over one the session held.
      const found = this.#prepared(statement, reach, prepares, (name) => (prepares.has(name) ? prepares.get(name) : held.get(name))) ?? this.#statement(statement, reach);
      found.classes.forEach((c) => classes.add(c));
      commands.push(found.command);
      syntaxError ??= found.syntaxError;
    }
    if (classes.size === 0) classes.add('read');
    return { classes, writes: [...classes].some((c) => WRITE_CLASSES.has(c)), commands, reach, prepares, ...(syntaxError && { syntaxError }) };
  }

  /** What a view's stored definition reads (MariaDB keeps it as a SELECT with qualified names). */
  reachOf(definition: string): Reach {
    return this.classify(definition).reach;
  }

  /** PREPARE, EXECUTE and DEALLOCATE PREPARE in SQL; undefined for any other statement. */
  #prepared(
    sql: string,
    reach: { tables: Set<string>; columns: Set<string>; star: boolean },
    prepares: Map<string, PreparedSql | undefined>,
    lookup: (name: string) => PreparedSql | undefined,
  ): { classes: readonly string[]; command: string; syntaxError?: string } | undefined {
    const text = sql.trim();
    let m = DEALLOCATE.exec(text);
    if (m) {
      prepares.set(nameOf(m[2]!), undefined);
      return { classes: ['session'], command: 'DEALLOCATE' };
    }
    m = PREPARE.exec(text) ?? EXECUTE_IMMEDIATE.exec(text);
    if (m) {
      const immediate = m.length === 2;
      const source = LITERAL.exec(m[immediate ? 1 : 2]!.trim());
      // Only EXECUTE IMMEDIATE takes USING; a text from a variable or an expression cannot be read here.
      const inner = source && (immediate || !source[2]) ? this.#preparedText(unquote(source[1]!), reach) : { classes: ['unknown'], reach };
      if (!immediate) prepares.set(nameOf(m[1]!), source && !source[2] ? inner : undefined);
      addWords(reach, text);
      return { classes: inner.classes, command: immediate ? 'EXECUTE' : 'PREPARE' };
    }
    m = EXECUTE.exec(text);
    if (m) {
      const prepared = lookup(nameOf(m[1]!));
      if (!prepared) return { classes: ['unknown'], command: 'EXECUTE' };
      addReach(reach, prepared.reach);
      return { classes: prepared.classes, command: 'EXECUTE' };
    }
    return /^(PREPARE|EXECUTE|DEALLOCATE|DROP\s+PREPARE)\b/i.test(text) ? { classes: ['unknown'], command: text.split(/\s+/)[0]!.toUpperCase() } : undefined;
  }

  /** The classes and reach of a prepared text, read as a statement of its own (it holds one). */
  #preparedText(text: string, reach: { tables: Set<string>; columns: Set<string>; star: boolean }): PreparedSql {
    const inner = this.classify(text);
    addReach(reach, inner.reach);
    // A text the target prepares runs as one statement: PREPARE or EXECUTE inside it is refused by the target.
    return { classes: [...inner.classes], reach: inner.reach };
  }

  #statement(sql: string, reach: { tables: Set<string>; columns: Set<string>; star: boolean }): { classes: string[]; command: string; syntaxError?: string } {
    const extra: string[] = [];
    const bare = withoutLiterals(sql);
    if (/\bINTO\s+(OUTFILE|DUMPFILE)\b/i.test(bare)) extra.push('outfile');
    for (const m of bare.matchAll(/([A-Za-z_][\w$]*)\s*\(/g)) if (DANGEROUS_FUNCTIONS.has(m[1]!.toLowerCase())) extra.push('dangerous_function');
    let ast: Node[];
    try {
      const parsed = this.#parser.parse(sql, { database: 'MariaDB' });
      ast = [parsed.ast].flat();
      for (const entry of parsed.tableList) {
        const [, schema, table] = entry.split('::');
        reach.tables.add(`${schema === 'null' ? '' : schema}.${table}`);
      }
      for (const entry of parsed.columnList) {
        const [, table, column] = entry.split('::');
        if (column === '(.*)') reach.star = true;
        else reach.columns.add(column!.toLowerCase());
        // A name the grammar could not take apart (`db`.`t`.`c` comes out as an object): every word counts.
        if (table === '[object Object]') addWords(reach, sql);
      }
    } catch (e) {
      addWords(reach, sql);
      const known = KNOWN_BY_WORDS.find(([words]) => words.test(sql.trim()));
      if (known?.[1] === 'session' && UNSAFE_CHARSETS.test(sql)) return { classes: ['unparseable'], command: 'SET', syntaxError: 'a character set whose bytes can read as quotes' };
      if (known) return { classes: [known[1], ...extra], command: sql.trim().split(/\s+/)[0]!.toUpperCase() };
      return { classes: ['unparseable'], command: 'UNPARSEABLE', syntaxError: (e as Error).message.split('\n')[0] };
    }
    const classes = [...extra];
    let command = '';
    for (const node of ast) {
      const type = String(node.type ?? '');
      command ||= type.toUpperCase();
      classes.push(...classesOf(node, type, sql));
    }
    return { classes, command };
  }
}

function classesOf(node: Node, type: string, sql: string): string[] {
  switch (type) {
    case 'select':
    case 'show':
    case 'desc':
    case 'explain':
      return ['read'];
    case 'insert':
    case 'replace':
      return ['insert'];
    case 'update':
      return node.where ? ['update'] : ['update', 'update_without_where'];
    case 'delete':
      return node.where ? ['delete'] : ['delete', 'delete_without_where'];
    case 'drop':
      return ['ddl', 'drop'];
    case 'truncate':
      return ['ddl', 'truncate'];
    case 'create':
      return ['ddl', 'create'];
    case 'alter':
    case 'rename':
      return ['ddl', 'alter'];
    case 'grant':
    case 'revoke':
      return ['grant'];
    case 'transaction':
      return ['transaction'];
    case 'use':
      return ['session'];
    case 'lock':
    case 'unlock':
      return ['lock'];
    case 'set':
      return setClasses(sql);
    case 'load_data':
      return /^\s*LOAD\s+(DATA|XML)\s+((LOW_PRIORITY|CONCURRENT)\s+)?LOCAL\b/i.test(sql) ? ['insert', 'load_local'] : ['insert', 'dangerous_function'];
    default:
      // CALL and anything else whose effect the statement does not show.
      return ['unknown'];
  }
}

function setClasses(sql: string): string[] {
  const bare = withoutLiterals(sql);
  if (/\b(NAMES|CHARSET|CHARACTER\s+SET|character_set_\w+)\b/i.test(bare) && UNSAFE_CHARSETS.test(sql)) return ['unparseable'];
  if (/\b(GLOBAL|PERSIST|PERSIST_ONLY)\b|@@global\./i.test(bare)) return ['alter_system'];
  if (/^\s*SET\s+(DEFAULT\s+)?ROLE\b/i.test(bare)) return ['set_role'];
  if (/^\s*SET\s+PASSWORD\b/i.test(bare)) return ['grant'];
  return ['session'];
}

function addReach(reach: { tables: Set<string>; columns: Set<string>; star: boolean }, more: Reach): void {
  more.tables.forEach((t) => reach.tables.add(t));
  more.columns.forEach((c) => reach.columns.add(c));
  reach.star ||= more.star;
}

/** A prepared statement's name as the server compares them: without quotes, in any case. */
function nameOf(name: string): string {
  return (name.startsWith('`') ? name.slice(1, -1).replaceAll('``', '`') : name).toLowerCase();
}

/** The text of a string literal, its escapes read as the server reads them (backslash escapes on). */
function unquote(literal: string): string {
  const quote = literal[0]!;
  const escapes: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };
  return literal.slice(1, -1).replace(new RegExp(`\\\\([\\s\\S])|${quote}${quote}`, 'g'), (_, c?: string) => (c === undefined ? quote : (escapes[c] ?? c)));
}

/** A text the grammar does not read reaches, for masking, every name in it. */
function addWords(reach: { columns: Set<string> }, sql: string): void {
  const names = sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g, "''");
  for (const [word] of names.matchAll(/[A-Za-z_$][\w$]*/g)) reach.columns.add(word.toLowerCase());
}

/** The statement with its string literals and quoted identifiers emptied: for word tests that must not read data. */
function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`/g, "''");
}

/**
 * Splits a text into statements at top-level semicolons, as the server's lexer does: quotes ('…', "…",
 * `…`, with backslash escapes in strings), comments (-- , #, /* *\/) removed, and executable comments
 * opened: their content is kept and their markers dropped. Throws on an unterminated quote or comment.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  let executable = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      for (;;) {
        if (j >= n) throw new Error('an unterminated quote');
        if (text[j] === '\\' && c !== '`') j += 2;
        else if (text[j] === c && text[j + 1] === c) j += 2;
        else if (text[j] === c) break;
        else j++;
      }
      current += text.slice(i, j + 1);
      i = j + 1;
    } else if ((c === '-' && text[i + 1] === '-' && /[\s]/.test(text[i + 2] ?? ' ')) || c === '#') {
      const end = text.indexOf('\n', i);
      i = end < 0 ? n : end + 1;
      current += ' ';
    } else if (c === '/' && text[i + 1] === '*') {
      const opened = /^\/\*M?!(\d{5,6})?/.exec(text.slice(i, i + 10));
      if (opened && !executable) {
        executable = true;
        i += opened[0].length;
        current += ' ';
        continue;
      }
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new Error('an unterminated comment');
      i = end + 2;
      current += ' ';
    } else if (executable && c === '*' && text[i + 1] === '/') {
      executable = false;
      i += 2;
      current += ' ';
    } else if (c === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
    } else {
      current += c;
      i++;
    }
  }
  if (executable) throw new Error('an unterminated executable comment');
  if (current.trim()) statements.push(current.trim());
  return statements;
}
