import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { LruCache } from '../../src/base/lru.js';
import { SqlClassifier, type SqlClassification } from '../../src/adapters/postgres/classify.js';
import { SqlParser } from '../../src/adapters/postgres/parser.js';
import { statementShape } from '../../src/adapters/postgres/shape.js';

/**
 * Siblings: texts that differ in their constants (or in what looks like one), several of which change
 * the class. Each is classified after its siblings have primed the cache, and must be classified as a
 * classifier that never saw them classifies it.
 */
const CORPUS: readonly (readonly string[])[] = [
  ['DELETE FROM t WHERE id = id', 'DELETE FROM t WHERE id = 1', "DELETE FROM t WHERE id = '1'", 'DELETE FROM t WHERE id = 2', 'DELETE FROM t WHERE id = $1', 'DELETE FROM t WHERE id = "id"'],
  ["DELETE FROM t WHERE id = '1'::int", 'DELETE FROM t WHERE id = 1::int', "DELETE FROM t WHERE id = CAST('1' AS int)", 'DELETE FROM t WHERE id::int = id', "DELETE FROM t WHERE id = 'x'::text::int"],
  ['DELETE FROM t WHERE true', 'DELETE FROM t WHERE false', 'DELETE FROM t WHERE 1 = 1', 'DELETE FROM t WHERE 1 = 2', "DELETE FROM t WHERE 'a' = 'a'", 'DELETE FROM t WHERE id = 1 OR 1 = 1', "DELETE FROM t WHERE 't'::bool"],
  ['DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 1)', 'DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 0)', 'DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT ALL)', 'DELETE FROM t WHERE id IN (SELECT id FROM t LIMIT NULL)', 'SELECT * FROM t LIMIT 1', 'SELECT * FROM t LIMIT 100000'],
  ["UPDATE t SET a = 1 WHERE name LIKE '%'", "UPDATE t SET a = 1 WHERE name LIKE 'a%'", "UPDATE t SET a = 1 WHERE name LIKE '%%'", "UPDATE t SET a = 1 WHERE name LIKE E'%'", "UPDATE t SET a = 1 WHERE name LIKE E'\\\\%'", 'UPDATE t SET a = 1 WHERE name LIKE $$%$$', 'UPDATE t SET a = 1 WHERE name LIKE $q$a%$q$', "UPDATE t SET a = 1 WHERE name NOT LIKE '%'", "UPDATE t SET a = 1 WHERE name LIKE '_'"],
  ['DELETE FROM t WHERE id IS DISTINCT FROM NULL', 'DELETE FROM t WHERE id IS DISTINCT FROM 1', 'DELETE FROM t WHERE id IS NOT DISTINCT FROM NULL', 'DELETE FROM t WHERE id IS NOT DISTINCT FROM 2', 'DELETE FROM t WHERE id = NULL', 'DELETE FROM t WHERE id = 3'],
  // E strings: a backslash escapes the quote after it, or itself.
  ["SELECT E'\\\\'; DROP TABLE t; --'", "SELECT E'\\\\''; DROP TABLE t; --'", "SELECT E'\\''; DROP TABLE t; --'", "SELECT E'a'; DELETE FROM t; --'", "SELECT E'a''; DELETE FROM t; --'", "SELECT e'x'", "SELECT E'''a'"],
  // Standard strings: '' is a quote; a backslash is the parser's to read.
  ["SELECT 'a'; DELETE FROM t; --'", "SELECT 'a''; DELETE FROM t; --'", "SELECT 'a\\'; DELETE FROM t; --'", "SELECT ''''; DELETE FROM t", "SELECT 'a'\n'b'", "SELECT 'a' 'b'"],
  // Dollar quotes, with and without tags, holding other tags and statements.
  ['SELECT $$a$$; DROP TABLE t', 'SELECT $$a; DROP TABLE t$$', 'SELECT $a$ $$; DROP TABLE t; $$ $a$', 'SELECT $a$x$b$; DELETE FROM t; $b$ $a$', 'SELECT $a$x$a$; DELETE FROM t; $b$ $a$', 'SELECT $_1$a$_1$', 'SELECT $a$unterminated', 'SELECT x$$y$$'],
  // Comments that hide statements, or seem to.
  ['SELECT 1 /* ; DROP TABLE t */', 'SELECT 1 /* /* */ ; DROP TABLE t */', 'SELECT 1 /* */ ; DROP TABLE t --*/', 'SELECT 1 -- ; DROP TABLE t\n', 'SELECT 1 --\n; DELETE FROM t', "SELECT '--'; DELETE FROM t", "SELECT '/*'; DELETE FROM t --*/", 'SELECT 2 /* a */ /* ; DELETE FROM t */', 'SELECT 1 /*/ ; DELETE FROM t */', 'SELECT 1 /*/*/ ; DELETE FROM t */ */'],
  ['SELECT 1 +--2\n; DELETE FROM t', 'SELECT 1 +/*2*/ 2; DELETE FROM t', 'SELECT 1 */ 2', 'SELECT 1 - -2', 'SELECT 1--2\n'],
  // set_config: the first argument's value decides.
  ["SELECT set_config('role', 'x', false)", "SELECT set_config('application_name', 'x', false)", "SELECT set_config('transaction_read_only', 'off', true)", "SELECT set_config('transaction_read_only', 'on', true)", "SELECT set_config('session_replication_role', 'replica', false)", "SELECT set_config(E'role', 'x', false)", 'SELECT set_config($$role$$, $$x$$, false)'],
  // Literals that look like functions, and functions that run SQL given as text.
  ["SELECT 'pg_terminate_backend(1)'", 'SELECT pg_terminate_backend(1)', "SELECT 'dblink_exec'::regproc", "SELECT lo_import('/etc/passwd')", "SELECT lower('/etc/passwd')", "SELECT query_to_xml('DELETE FROM t', true, true, '')", "SELECT query_to_xml('SELECT 1', true, true, '')", "SELECT pg_read_file('x')", "SELECT \"pg_read_file\"('x')"],
  // Quoted names are names, not constants.
  ['SELECT "1" FROM t', 'SELECT 1 FROM t', 'DELETE FROM t WHERE "id" = id', 'DELETE FROM t WHERE "id" = 1', 'DELETE FROM t WHERE id = "1"', 'SELECT 1 AS "a""b"', 'SELECT 1 AS "a'],
  // Number forms.
  ['SELECT 1e5', 'SELECT .5', 'SELECT 1.5e-3', 'SELECT 1.', 'SELECT 0x1F', 'SELECT 0o17', 'SELECT 0b101', 'SELECT 1_000', 'SELECT 1abc', 'SELECT 1..2', 'SELECT 1e', 'SELECT 1.2.3'],
  ['DELETE FROM t WHERE id = 0x1F', 'DELETE FROM t WHERE id = 31', 'DELETE FROM t WHERE id = 1e1', 'DELETE FROM t WHERE id = -1', 'DELETE FROM t WHERE id = - 1', 'DELETE FROM t WHERE id = +1.5'],
  // Other string forms the scan leaves to the parser.
  ["SELECT U&'\\0041'", "DELETE FROM t WHERE id = U&'1'", "SELECT U&'d\\0061t\\+000061'", 'SELECT U&"a" FROM t', "SELECT X'1F'", "SELECT B'101'", "SELECT N'a'", "SELECT u&'a' UESCAPE '!'"],
  // Several statements, CTEs, upserts.
  ['SELECT 1; DELETE FROM t WHERE id = 1', 'SELECT 1; DELETE FROM t WHERE 1 = 1', 'SELECT 1; SELECT 2', "SELECT 1; SET role = 'x'", "SELECT 1; SET transaction_read_only = 'off'", 'SELECT 1; COPY t FROM STDIN WITH (FORMAT csv, HEADER 1)', 'VALUES (1), (2)', "VALUES (1), ('a')"],
  ['WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d', 'WITH d AS (DELETE FROM t WHERE true RETURNING *) SELECT * FROM d', 'WITH d AS (DELETE FROM t WHERE id = id RETURNING *) SELECT * FROM d', "WITH d AS (SELECT 'DELETE FROM t' AS q) SELECT * FROM d"],
  ['INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1', 'INSERT INTO t SELECT * FROM t ON CONFLICT (id) DO UPDATE SET a = 1', "INSERT INTO t VALUES ('x') ON CONFLICT (id) DO UPDATE SET a = 1 WHERE t.id = 2", 'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING'],
  ["INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@example.com')", "INSERT INTO users (id, name, email) VALUES (2, E'b\\n', $$b@example.com$$)", "INSERT INTO users (id, name, email) VALUES (3, 'c', 'c@example.com') RETURNING *", 'INSERT INTO users (id, name, email) VALUES (4, NULL, DEFAULT)'],
  ['SELECT * FROM t WHERE a = 1 FOR UPDATE', "SELECT * FROM t WHERE a = 'x' FOR SHARE", 'SELECT * INTO t2 FROM t WHERE a = 1', "SELECT * FROM t WHERE a = 'INTO t2'"],
  // Control characters and backslashes outside strings.
  ['SELECT 1 \u0001', 'SELECT 1\u000b', 'SELECT \\x', 'SELECT 1 \\; DELETE FROM t'],
];

const shapeOf = (c: SqlClassification) => ({
  classes: [...c.classes].sort(),
  writes: c.writes,
  commands: c.commands,
  shape: c.shape,
  syntaxError: c.syntaxError !== undefined,
  perSession: c.perSession,
});

describe('shape-cached classification', () => {
  let parser: SqlParser;
  before(async () => {
    parser = await SqlParser.load();
  });

  test('a statement whose siblings primed the cache is classified as a fresh classifier classifies it', () => {
    let fromCache = 0;
    for (const group of CORPUS) {
      for (const sql of group) {
        const cached = new SqlClassifier({ parser, cache: new LruCache(1000) });
        const primed = new Set(group.filter((s) => s !== sql).map((s) => cached.classify(s)));
        const got = cached.classify(sql);
        if (primed.has(got)) fromCache++;
        const fresh = new SqlClassifier({ parser, cache: new LruCache(1000) }).classify(sql);
        assert.deepEqual(shapeOf(got), shapeOf(fresh), `${JSON.stringify(sql)} after ${JSON.stringify(group)}`);
      }
    }
    // The corpus exercises the cache: many statements were answered by a sibling's entry.
    assert.ok(fromCache >= 40, `${fromCache} statements answered from the cache`);
  });

  test('texts sharing a scanned shape share their normalized form, so the key is never coarser than the parser', () => {
    for (const group of CORPUS) {
      const byKey = new Map<string, string>();
      for (const sql of group) {
        const key = statementShape(sql);
        if (key === undefined) continue;
        let normalized: string;
        try {
          normalized = parser.normalize(sql);
        } catch {
          normalized = 'syntax error';
        }
        const other = byKey.get(key);
        if (other !== undefined) assert.equal(normalized, other, JSON.stringify(sql));
        byKey.set(key, normalized);
      }
    }
  });

  test("the constants the scan finds are those of PostgreSQL's lexer", () => {
    for (const sql of CORPUS.flat()) {
      const shape = statementShape(sql);
      if (!shape) continue;
      let tokens;
      try {
        tokens = parser.scan(sql).tokens;
      } catch {
        continue;
      }
      // Every string token of PostgreSQL's holds a body the scan found (a continued string holds several); numbers are the lexer's numbers.
      const strings = tokens.filter((t) => t.tokenName === 'SCONST' || t.tokenName === 'USCONST');
      const bodies = [...shape.matchAll(/\u0002/g)].length;
      assert.ok(bodies >= strings.length && (bodies === 0) === (strings.length === 0), JSON.stringify(sql));
      const numbers = tokens.filter((t) => t.tokenName === 'ICONST' || t.tokenName === 'FCONST');
      assert.equal(shape.replace(/[^\u0001\u0003]/g, '').length, numbers.length, JSON.stringify(sql));
    }
  });
});
