import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { LruCache } from '../../src/base/lru.js';
import { REVIEWED_VOLATILE } from '../../src/adapters/postgres/builtin-functions.js';
import { SqlClassifier } from '../../src/adapters/postgres/classify.js';
import { SqlParser } from '../../src/adapters/postgres/parser.js';
import { governDb, refused, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

/**
 * Variation corpora for the guardrail classes: filters that keep every row, volatile built-ins,
 * settings, cache collisions and COPY options. Each destructive attempt is first run straight on the
 * target, against a throwaway table, to show that it really does what it is refused for.
 */
const RULES = `
  - name: pii
    mask: { columns: ["people.ssn"] }
  - name: ssn-at-rest
    mask: { columns: ["inbox.ssn"], on: write, strategy: partial }
  - name: blocks-may-run
    allow: { sql: [unknown] }
  - name: no-destruction
    block: { sql: [drop, truncate, set_role, delete_without_where, update_without_where] }
`;

const ROWS = 5;

describe('PostgreSQL guardrail classes', () => {
  let target: Target;
  let db: GovernedDb;
  let client: pg.Client;
  let classifier: SqlClassifier;

  const reset = async () => {
    await target.direct('DROP TABLE IF EXISTS victims CASCADE');
    await target.direct('CREATE TABLE victims (id int PRIMARY KEY, name text, ref int)');
    await target.direct(`INSERT INTO victims SELECT g, 'n' || g, g FROM generate_series(1, ${ROWS}) g`);
  };
  /** How many rows of the throwaway table still hold their first values. */
  const intact = async () => (await target.direct("SELECT count(*)::int AS n FROM victims WHERE name = 'n' || id")).rows[0].n as number;
  /** Runs a statement straight on the target and asserts it changes every row; then puts the table back. */
  const provenDestructive = async (sql: string) => {
    await reset();
    await target.direct(sql);
    assert.equal(await intact(), 0, `straight to the target, "${sql}" changes every row`);
    await reset();
  };
  const classes = (sql: string) => classifier.classify(sql).classes;

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE others (id int, tid int)');
    await target.direct('INSERT INTO others VALUES (1, 1)');
    await target.direct('CREATE TABLE people (id int PRIMARY KEY, name text, ssn text)');
    await target.direct('CREATE TABLE inbox (id int, note text, ssn text)');
    await target.direct("INSERT INTO people VALUES (1, 'Ann|Lee', '536-22-4711'), (2, 'B\tob', '219-45-0001')");
    await reset();
    db = await governDb(target.appUrl, RULES, 'approvals: { timeout: 1s }');
    client = await db.client();
    classifier = new SqlClassifier({ parser: await SqlParser.load(), cache: new LruCache(100) });
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  describe('filters that keep every row are no filter', () => {
    const everyRow: [string, string][] = [
      ['IS NOT NULL on the key', 'DELETE FROM victims WHERE id IS NOT NULL'],
      ['a column compared with itself, cast', 'DELETE FROM victims WHERE id::text = id::text'],
      ['a column compared with itself, reversed', 'UPDATE victims SET name = $$x$$ WHERE id <= id'],
      ['IS NOT DISTINCT FROM itself', 'DELETE FROM victims WHERE name IS NOT DISTINCT FROM name'],
      ['BETWEEN a column and itself', 'DELETE FROM victims WHERE id BETWEEN id AND id'],
      ['IN a list of itself', 'DELETE FROM victims WHERE id IN (id, ref)'],
      ['an OR with a tautology', 'DELETE FROM victims WHERE id = 12345 OR ref = ref'],
      ['NOT of an impossible condition', 'DELETE FROM victims WHERE NOT (id <> id)'],
      ['a condition on no column', "UPDATE victims SET name = 'x' WHERE now() > '2000-01-01'"],
      ['a boolean expression of the row', 'DELETE FROM victims WHERE (id > 0) IS NOT FALSE OR true'],
      ['LIKE that matches everything', "DELETE FROM victims WHERE name LIKE '%%'"],
      ['IN a subquery over the target', 'DELETE FROM victims WHERE id IN (SELECT id FROM victims)'],
      ['a correlated subquery naming the row', 'DELETE FROM victims v WHERE id = (SELECT v.id)'],
      ['a self-join in DELETE … USING', 'DELETE FROM victims a USING victims b WHERE a.id = b.id'],
      ['a self-join through a CTE', 'WITH copy AS (SELECT * FROM victims) DELETE FROM victims USING copy WHERE victims.id = copy.id'],
      ['a self-join through a subquery', 'DELETE FROM victims v USING (SELECT id FROM victims) s WHERE v.id = s.id'],
      ['a self-join in UPDATE … FROM', "UPDATE victims SET name = 'x' FROM victims w WHERE victims.id = w.id"],
      ['MERGE with the target as its source', 'MERGE INTO victims t USING victims s ON t.id = s.id WHEN MATCHED THEN DELETE'],
      ['MERGE on a join true for all', "MERGE INTO victims t USING others s ON true WHEN MATCHED THEN UPDATE SET name = 'x'"],
      ['ON CONFLICT DO UPDATE from the target itself', "INSERT INTO victims SELECT * FROM victims ON CONFLICT (id) DO UPDATE SET name = 'x'"],
      ['EXISTS of anything', 'DELETE FROM victims WHERE EXISTS (SELECT 1 FROM others)'],
      ['a column of a joined table, unqualified', 'DELETE FROM victims USING others WHERE tid = 1'],
      ['complementary comparisons under OR', 'DELETE FROM victims WHERE id = 3 OR id <> 3'],
      ['two ranges that cover everything', 'DELETE FROM victims WHERE id < 3 OR id >= 3'],
      ['NOT of both ranges', 'DELETE FROM victims WHERE NOT (id >= 3 AND id < 3)'],
      ['NOT BETWEEN an empty range', 'DELETE FROM victims WHERE id NOT BETWEEN 10 AND 1'],
      ['IS DISTINCT FROM NULL', 'DELETE FROM victims WHERE id IS DISTINCT FROM NULL'],
      ['IS DISTINCT FROM what is NULL', 'DELETE FROM victims WHERE id IS DISTINCT FROM nullif(1, 1)'],
      ['NOT IN an empty subquery', 'DELETE FROM victims WHERE id NOT IN (SELECT tid FROM others WHERE false)'],
      ['<> ALL of an empty array', "DELETE FROM victims WHERE id <> ALL ('{}'::int[])"],
      ['NOT = ANY of an empty array', "DELETE FROM victims WHERE NOT (id = ANY ('{}'::int[]))"],
      ['NOT EXISTS of nothing', 'DELETE FROM victims v WHERE NOT EXISTS (SELECT 1 FROM others o WHERE o.tid = v.id AND false)'],
      ['EXISTS of an aggregate', 'DELETE FROM victims v WHERE EXISTS (SELECT count(*) FROM others o WHERE o.tid - 100 = v.id)'],
      ['LIKE with an ESCAPE', "DELETE FROM victims WHERE name LIKE '%' ESCAPE '#'"],
      ['LIKE a computed pattern', "DELETE FROM victims WHERE name LIKE '%' || ''"],
      ['LIKE of wildcards only', "DELETE FROM victims WHERE name LIKE '_%'"],
      ['LIKE as the ~~ operator', "DELETE FROM victims WHERE name ~~ '%'"],
      ['NOT of NOT LIKE', "DELETE FROM victims WHERE NOT (name NOT LIKE '%')"],
      ['NOT IN a subquery over other data that may be empty', 'UPDATE victims SET name = $$x$$ WHERE id NOT IN (SELECT o.tid + 100 FROM others o)'],
      ['IN a subquery whose unqualified name is the target’s', 'DELETE FROM victims WHERE name IN (SELECT name FROM others)'],
      ['= a subquery whose unqualified name is the target’s', 'DELETE FROM victims WHERE ref = (SELECT ref FROM others)'],
      ['IN the target’s own rows, unrestricted', 'DELETE FROM victims WHERE id IN (SELECT w.id FROM victims w WHERE w.ref = w.ref)'],
      ['IN the target’s own rows, correlated', 'DELETE FROM victims v WHERE id IN (SELECT w.id FROM victims w WHERE w.id = v.id)'],
      ['IN the target’s own rows, left-joined', 'DELETE FROM victims WHERE id IN (SELECT w.id FROM victims w LEFT JOIN others o ON o.tid = w.id + 100)'],
    ];
    for (const [how, sql] of everyRow) {
      test(how, async () => {
        await provenDestructive(sql);
        const e = await refused(client, sql);
        assert.equal(e.code, '42501', `${sql}: ${e.message}`);
        assert.match(e.message, /no-destruction/);
        assert.equal(await intact(), ROWS, 'no row was touched');
      });
    }

    const restricted: string[] = [
      'DELETE FROM victims WHERE id = 12345',
      'DELETE FROM victims WHERE id = $1',
      'DELETE FROM victims WHERE id::text = $1',
      "DELETE FROM victims WHERE name LIKE 'zz%'",
      'DELETE FROM victims WHERE id BETWEEN 100 AND 200',
      'DELETE FROM victims WHERE id IN (100, 200) OR ref = 1000',
      'DELETE FROM victims WHERE (id = 100 OR id = 200) AND ref > 0',
      'DELETE FROM victims WHERE id > 1000 AND (ref = ref OR true)',
      'DELETE FROM victims WHERE id = 100 OR id IS NOT DISTINCT FROM 200',
      'DELETE FROM victims WHERE NOT (id <> 100)',
      'DELETE FROM victims WHERE NOT (id < 1000)',
      'DELETE FROM victims WHERE id = ANY($1)',
      'DELETE FROM victims WHERE ref IN (SELECT o.tid + 1000 FROM others o)',
      'DELETE FROM victims WHERE id = (SELECT max(o.tid) + 1000 FROM others o)',
      'DELETE FROM victims WHERE id IN (SELECT v.id FROM victims v WHERE v.name = $$none$$)',
      'DELETE FROM victims WHERE victims.id IN (SELECT victims.id FROM victims INNER JOIN others ON others.tid + 1000 = victims.id)',
      'DELETE FROM victims v WHERE EXISTS (SELECT 1 FROM others o WHERE o.tid - 1000 = v.id)',
      'DELETE FROM victims v USING others o WHERE v.id = o.tid + 1000',
      "UPDATE victims SET name = 'x' FROM others o WHERE victims.id = o.id + 1000",
      "UPDATE victims SET name = name WHERE id = 12345 AND ref = ref",
      "MERGE INTO victims t USING others s ON t.id = s.tid + 1000 WHEN MATCHED THEN UPDATE SET name = 'x'",
      "INSERT INTO victims VALUES (1000, 'new', 0) ON CONFLICT (id) DO UPDATE SET name = 'x'",
      "INSERT INTO victims SELECT * FROM victims ON CONFLICT (id) DO UPDATE SET name = 'x' WHERE victims.id = 12345",
    ];
    test('comparisons of the target with what is not its own row are filters, and run', async () => {
      for (const sql of restricted) {
        const values = sql.includes('ANY($1)') ? [[100, 200]] : sql.includes('$1') ? [sql.includes('::text') ? '100' : 100] : undefined;
        await client.query(sql, values);
      }
      assert.equal(await intact(), ROWS);
      await target.direct('DELETE FROM victims WHERE id = 1000');
    });
  });

  test('a name PREPAREd again runs what either PREPARE made of it, whichever the server kept', async () => {
    await reset();
    await target.direct('PREPARE wipe AS DELETE FROM victims');
    await assert.rejects(target.direct('PREPARE wipe AS SELECT 1'), /already exists/);
    await target.direct('EXECUTE wipe');
    assert.equal(await intact(), 0, 'straight to the target the first PREPARE stands');
    await target.direct('DEALLOCATE wipe');
    await reset();
    await client.query('PREPARE wipe AS DELETE FROM victims');
    await assert.rejects(client.query('PREPARE wipe AS SELECT 1'), /already exists/);
    const e = await refused(client, 'EXECUTE wipe');
    assert.match(e.message, /no-destruction/);
    await client.query('DEALLOCATE wipe');
    await assert.rejects(client.query('PREPARE later AS SELECT 1 FROM nowhere'), /does not exist/);
    await client.query('PREPARE later AS DELETE FROM victims');
    assert.match((await refused(client, 'EXECUTE later')).message, /no-destruction/);
    assert.equal(await intact(), ROWS);
  });

  describe('functions by what the catalog says they are', () => {
    test('every volatile built-in of this server is dangerous unless reviewed, every other built-in is not', async () => {
      const { rows } = await target.direct(
        "SELECT proname, bool_or(provolatile = 'v') AS volatile FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind = 'f' GROUP BY proname",
      );
      let volatile = 0;
      for (const { proname, volatile: isVolatile } of rows as { proname: string; volatile: boolean }[]) {
        const found = classes(`SELECT "${proname}"()`).has('dangerous_function');
        const reviewed = REVIEWED_VOLATILE.has(proname.toLowerCase());
        if (isVolatile) volatile++;
        assert.equal(found, isVolatile && !reviewed, `${proname}: ${isVolatile ? 'volatile' : 'not volatile'}${reviewed ? ', reviewed' : ''}`);
      }
      assert.ok(volatile > 150, 'the catalog lists the volatile built-ins');
      for (const writes of ['lo_from_bytea', 'lo_put', 'lo_unlink', 'lo_import', 'lo_export', 'pg_ls_dir', 'pg_read_file', 'pg_stat_file', 'pg_logical_emit_message', 'brin_summarize_range', 'pg_stat_reset', 'pg_replication_slot_advance', 'pg_ls_logicalsnapdir', 'pg_import_system_collations', 'pg_file_write', 'pg_some_future_function']) {
        assert.ok(classes(`SELECT ${writes}(1)`).has('dangerous_function'), writes);
      }
    });

    test('server files and large objects, proven on the target first, are refused through the gateway', async () => {
      await target.pg.sql(['GRANT EXECUTE ON FUNCTION pg_ls_dir(text) TO app', 'GRANT EXECUTE ON FUNCTION pg_read_file(text) TO app', 'GRANT EXECUTE ON FUNCTION pg_stat_file(text) TO app'], 'app');
      const direct: [string, string][] = [
        ["SELECT pg_ls_dir('.')", 'lists the data directory'],
        ["SELECT pg_read_file('PG_VERSION')", 'reads a server file'],
        ["SELECT (pg_stat_file('PG_VERSION')).size", 'reads a server file’s facts'],
        ["SELECT lo_from_bytea(424242, 'x')", 'creates a large object'],
        ["SELECT lo_put(424242, 0, 'y')", 'writes a large object'],
        ['SELECT lo_unlink(424242)', 'removes a large object'],
      ];
      for (const [sql, what] of direct) assert.ok((await target.direct(sql)).rowCount! > 0, `straight to the target: ${what}`);
      await target.direct("SELECT lo_from_bytea(424243, 'keep')");
      for (const sql of ["SELECT pg_ls_dir('.')", "SELECT * FROM pg_catalog.pg_read_file('PG_VERSION')", "SELECT lo_from_bytea(424244, 'x')", "SELECT lo_put(424243, 0, 'zzzz')", 'SELECT LO_UNLINK(424243)', 'SELECT count(*) FROM (SELECT pg_stat_file(f) FROM pg_ls_dir($$.$$) f) s']) {
        const e = await refused(client, sql);
        assert.match(e.message, /dangerous function is refused unless a rule allows it/, sql);
      }
      assert.equal((await target.direct("SELECT encode(lo_get(424243), 'escape') AS v")).rows[0].v, 'keep');
      for (const sql of ['SELECT random() < 2 AS ok', 'SELECT gen_random_uuid() IS NOT NULL AS ok', "SELECT pg_relation_size('victims') >= 0 AS ok", 'SELECT clock_timestamp() IS NOT NULL AS ok']) {
        assert.equal((await client.query(sql)).rows[0].ok, true, sql);
      }
    });
  });

  describe('settings by their case-folded name', () => {
    test('turning off triggers and foreign keys, proven on the target first, is refused however it is spelt', async () => {
      await target.pg.sql('GRANT SET ON PARAMETER session_replication_role TO app', 'app');
      await target.direct('CREATE TABLE IF NOT EXISTS parents (id int PRIMARY KEY)');
      await target.direct('CREATE TABLE IF NOT EXISTS children (pid int REFERENCES parents)');
      await target.direct("SET session_replication_role = 'replica'");
      await target.direct('INSERT INTO children VALUES (999)');
      await target.direct('RESET session_replication_role');
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM children WHERE pid = 999')).rows[0].n, 1, 'straight to the target the foreign key is not checked');
      for (const sql of [
        "SET session_replication_role = 'replica'",
        'SET SESSION_REPLICATION_ROLE TO replica',
        'SET "Session_Replication_Role" TO replica',
        'SET LOCAL session_replication_role = local',
        "SELECT set_config('Session_Replication_Role', 'replica', false)",
        'SET default_transaction_read_only = off',
        'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
        "SET log_statement = 'none'",
        'START TRANSACTION READ WRITE',
      ]) {
        const e = await refused(client, sql);
        assert.match(e.message, /integrity setting is refused unless a rule allows it/, sql);
      }
      const e = await refused(client, 'SET "ROLE" TO postgres');
      assert.match(e.message, /no-destruction/, 'a role setting is one whatever its case');
    });

    test('putting a role back is harmless', async () => {
      for (const sql of ['SET SESSION AUTHORIZATION DEFAULT', 'RESET SESSION AUTHORIZATION', 'SET ROLE NONE', 'RESET ROLE', 'RESET ALL', 'SET TRANSACTION READ ONLY', "SET application_name = 'ci'", "SELECT set_config('application_name', 'ci', false)"]) {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('ROLLBACK');
      }
    });
  });

  describe('caches that cannot collide', () => {
    test('each DO block is classified by its own body', async () => {
      await client.query('DO $$ BEGIN PERFORM 1; END $$');
      await provenDestructive('DO $$ BEGIN DELETE FROM victims; END $$');
      const e = await refused(client, 'DO $$ BEGIN DELETE FROM victims; END $$');
      assert.match(e.message, /no-destruction/);
      await client.query('DO $body$ BEGIN PERFORM 2; END $body$');
      assert.equal(await intact(), ROWS);
    });

    test('a body holding the gateway’s own dollar-quote tag is scanned all the same', async () => {
      const body = 'DO $x$ BEGIN PERFORM $governed_do$ a $governed_do$; DELETE FROM victims; END $x$';
      await provenDestructive(body);
      const e = await refused(client, body);
      assert.match(e.message, /no-destruction/);
      assert.equal(await intact(), ROWS);
    });

    test('texts of one shape that differ where a value decides are classified apart', async () => {
      const pairs: [string, string][] = [
        ["DELETE FROM victims WHERE name LIKE 'zz%'", "DELETE FROM victims WHERE name LIKE '%'"],
        ["EXPLAIN (ANALYZE 'off') DELETE FROM victims", "EXPLAIN (ANALYZE 'on') DELETE FROM victims"],
        ["SELECT set_config('application_name', 'x', false)", "SELECT set_config('role', 'postgres', false)"],
        ["SET ROLE 'none'", "SET ROLE 'postgres'"],
        ['DELETE FROM victims WHERE id IS DISTINCT FROM 100 AND id IS NOT DISTINCT FROM 100', 'DELETE FROM victims WHERE id IS DISTINCT FROM NULL AND id IS NOT DISTINCT FROM NULL'],
        ['BEGIN READ ONLY', 'BEGIN READ WRITE'],
      ];
      for (const [harmless, harmful] of pairs) {
        await client.query('BEGIN');
        await client.query(harmless);
        await client.query('ROLLBACK');
        assert.equal(classifier.classify(harmless).shape === classifier.classify(harmful).shape, false, `${harmless} / ${harmful}`);
        const e = await refused(client, harmful);
        assert.equal(e.code, '42501', harmful);
      }
      assert.equal(await intact(), ROWS);
      assert.ok(classifier.classifiesSame('SELECT * FROM victims WHERE id = 1', 'SELECT * FROM victims WHERE id = 2'), 'constants nothing reads share a shape');
      assert.ok(classifier.classifiesSame("DELETE FROM victims WHERE id = 1 AND name = 'a'", "DELETE FROM victims WHERE id = 2 AND name = 'b'"));
      assert.ok(!classifier.classifiesSame('DO $$ BEGIN PERFORM 1; END $$', 'DO $$ BEGIN DELETE FROM victims; END $$'), 'never across DO bodies');
      assert.ok(!classifier.classifiesSame("COPY victims TO STDOUT (HEADER 'on')", "COPY victims TO STDOUT (HEADER 'off')"), 'nor COPY options');
      assert.ok(!classifier.classifiesSame('EXECUTE a', 'EXECUTE a'), 'nor what depends on the session');
      assert.ok(!classifier.classifiesSame('CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$', 'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT ssn FROM people$$'), 'nor across function bodies');
      assert.ok(!classifier.classifiesSame("SELECT query_to_xml('SELECT 1', true, false, '')", "SELECT query_to_xml('SELECT ssn FROM people', true, false, '')"), 'nor across SQL given as text');
    });
  });

  describe('COPY options as PostgreSQL reads them', () => {
    const psql = (cmd: string) => runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-c', cmd]);
    const noSsn = (out: string) => assert.ok(!out.includes('536-22-4711') && !out.includes('219-45-0001'), `an SSN leaked: ${out}`);

    test('HEADER values, a delimiter inside the values, quotes and escapes of every kind', async () => {
      for (const options of [
        '(FORMAT csv, HEADER 0)',
        '(FORMAT csv, HEADER false)',
        "(FORMAT csv, HEADER 'off')",
        '(FORMAT text, HEADER off)',
        "(DELIMITER '|')",
        "(FORMAT csv, DELIMITER '|', QUOTE '''', ESCAPE '\\')",
        "(FORMAT csv, DELIMITER 'n', QUOTE 'A')",
        "(FORMAT csv, FORCE_QUOTE *, NULL 'Lee')",
        "(FORMAT csv, HEADER, DELIMITER '-')",
        "(FORMAT text, DELIMITER '-', NULL '536')",
      ]) {
        const r = await psql(`COPY people TO STDOUT WITH ${options}`);
        assert.equal(r.status, 0, `${options}: ${r.stderr}`);
        noSsn(r.stdout);
        assert.match(r.stdout, /\[masked\]/, options);
      }
      const old = await psql("COPY people TO STDOUT WITH CSV HEADER DELIMITER '|' QUOTE '\"' FORCE QUOTE name");
      noSsn(old.stdout);
      assert.match(old.stdout, /^id\|name\|ssn\n1\|"Ann\|Lee"\|\[masked\]$/m, 'the old syntax, and the header kept');
    });

    test('COPY FROM: header values, a delimiter inside the values, several COPYs in one message', async () => {
      const stored = async (id: number) => (await target.direct('SELECT ssn FROM inbox WHERE id = $1', [id])).rows.map((r) => r.ssn as string);
      const copyIn = (cmd: string, input: string) => runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', cmd], { input });
      const runs: [string, string, number, string][] = [
        ["COPY inbox FROM STDIN (DELIMITER '-')", '2-x\\-y-536\\-22\\-4721\n', 2, '***-**-4721'],
        ['COPY inbox FROM STDIN WITH (FORMAT csv, HEADER 0)', '3,z,536-22-4722\n', 3, '***-**-4722'],
        ['COPY inbox (id, note, ssn) FROM STDIN WITH (FORMAT csv, HEADER match)', 'id,note,ssn\n4,w,536-22-4723\n', 4, '***-**-4723'],
        ["COPY inbox FROM STDIN WITH CSV QUOTE '|' DELIMITER ','", '5,|a,b|,|536-22-4724|\n', 5, '***-**-4724'],
        ["COPY others FROM STDIN; COPY inbox FROM STDIN WITH (FORMAT csv, DELIMITER ';')", '7\t7\n\\.\n6;a;536-22-4725\n\\.\n', 6, '***-**-4725'],
        ["COPY inbox FROM STDIN (FORMAT csv, NULL '536-22-4726', FORCE_NOT_NULL (ssn))", '7,a,536-22-4726\n', 7, '***-**-4726'],
        ["COPY inbox FROM STDIN CSV NULL '536-22-4727' FORCE NOT NULL ssn", '8,a,536-22-4727\n', 8, '***-**-4727'],
        ["COPY inbox FROM STDIN (FORMAT csv, ENCODING 'UTF8')", '9,a,536-22-4728\n', 9, '***-**-4728'],
      ];
      for (const [cmd, input, id, masked] of runs) {
        const r = await copyIn(cmd, input);
        assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
        assert.deepEqual(await stored(id), [masked], cmd);
      }
    });

    test('COPY data in an encoding other than UTF-8 is refused where masks apply', async () => {
      const out = await psql("COPY people TO STDOUT (ENCODING 'LATIN1')");
      assert.match(out.stderr, /ENCODING LATIN1 cannot be masked/);
      const into = await runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-c', "COPY inbox FROM STDIN (ENCODING 'LATIN1')"], { input: '10\ta\t536-22-4729\n' });
      assert.match(into.stderr, /ENCODING LATIN1 into a table with masked columns cannot be masked/);
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM inbox WHERE id = 10')).rows[0].n, 0);
    });

    test('every COPY of a message, each with its own options', async () => {
      const r = await psql("COPY others TO STDOUT; COPY people TO STDOUT WITH (FORMAT csv, DELIMITER ';'); COPY people (ssn, id) TO STDOUT WITH (FORMAT csv, DELIMITER '-')");
      assert.equal(r.status, 0, r.stderr);
      noSsn(r.stdout);
      assert.match(r.stdout, /^1;Ann\|Lee;\[masked\]$/m);
    });
  });
});
