import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { governDb, refused, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

const SSNS = ['536-22-4711', '219-45-0001'];

/** Every recognisable part, encoding or digest of the masked values. */
function forbidden(): string[] {
  const out = new Set<string>();
  for (const ssn of SSNS) {
    for (const form of [ssn, ssn.replaceAll('-', ''), [...ssn].reverse().join('')]) {
      for (let i = 0; i + 4 <= form.length; i++) out.add(form.slice(i, i + 4));
      out.add(Buffer.from(form).toString('base64').slice(0, 8));
      out.add(Buffer.from(form).toString('hex').slice(0, 8));
      for (const alg of ['md5', 'sha1', 'sha256', 'sha512']) out.add(createHash(alg).update(form).digest('hex').slice(0, 8));
    }
  }
  return [...out];
}
const FORBIDDEN = forbidden();

/**
 * Queries that derive a value from a column in a different way each: {c} is the column of users
 * (ssn, masked; name, not), {v} the same column through a view that renames it, {f} a function of the
 * target's own that returns it. Each returns only derived values.
 */
const DERIVED: string[] = [
  'SELECT substr({c}, 1, 3) FROM users ORDER BY id',
  'SELECT substring({c} from 5 for 2) FROM users ORDER BY id',
  'SELECT left({c}, 3) FROM users ORDER BY id',
  'SELECT right({c}, 4) FROM users ORDER BY id',
  'SELECT reverse({c}) FROM users ORDER BY id',
  'SELECT md5({c}) FROM users ORDER BY id',
  'SELECT sha256({c}::bytea) FROM users ORDER BY id',
  "SELECT encode(digest({c}, 'sha1'), 'hex') FROM users ORDER BY id",
  "SELECT encode({c}::bytea, 'base64') FROM users ORDER BY id",
  "SELECT encode(convert_to({c}, 'UTF8'), 'hex') FROM users ORDER BY id",
  'SELECT to_hex(ascii({c})) FROM users ORDER BY id',
  'SELECT {c}::bytea FROM users ORDER BY id',
  'SELECT CAST({c} AS varchar(40)) FROM users ORDER BY id',
  "SELECT {c} || '' FROM users ORDER BY id",
  "SELECT concat('x', {c}, 'y') FROM users ORDER BY id",
  "SELECT format('%s!', {c}) FROM users ORDER BY id",
  "SELECT string_agg({c}, ',' ORDER BY id) FROM users",
  'SELECT array_agg({c} ORDER BY id) FROM users',
  "SELECT json_build_object('v', {c}) FROM users ORDER BY id",
  'SELECT row_to_json(t) FROM (SELECT id, {c} FROM users) t ORDER BY t.id',
  'SELECT to_jsonb({c}) FROM users ORDER BY id',
  'WITH x AS (SELECT id, {c} AS v FROM users) SELECT lower(v) FROM x ORDER BY id',
  'WITH RECURSIVE r(n, v) AS (SELECT 1, {c} FROM users UNION ALL SELECT n + 1, v FROM r WHERE n < 2) SELECT upper(v) FROM r ORDER BY 1',
  "SELECT v FROM (SELECT {c} || '' AS v FROM users UNION SELECT 'constant') s ORDER BY 1",
  'SELECT l.v FROM users u, LATERAL (SELECT upper(u.{c}) AS v) l ORDER BY u.id',
  'SELECT k.tag || u.{c} FROM users u JOIN (VALUES (1, \'a\'), (2, \'b\')) AS k(id, tag) ON k.id = u.id ORDER BY u.id',
  'SELECT first_value({c}) OVER (ORDER BY id) FROM users ORDER BY id',
  'SELECT lag({c}) OVER (ORDER BY id) FROM users ORDER BY id',
  'SELECT CASE WHEN id > 0 THEN {c} ELSE NULL END FROM users ORDER BY id',
  "SELECT COALESCE(NULL, {c}, 'none') FROM users ORDER BY id",
  "SELECT NULLIF({c}, 'x') FROM users ORDER BY id",
  'SELECT (SELECT max(u2.{c}) FROM users u2 WHERE u2.id = u.id) FROM users u ORDER BY id',
  "SELECT regexp_replace({c}, '-', '', 'g') FROM users ORDER BY id",
  "SELECT translate({c}, '-', '.') FROM users ORDER BY id",
  "SELECT split_part({c}, '-', 3) FROM users ORDER BY id",
  'SELECT ARRAY[{c}] FROM users ORDER BY id',
  'SELECT ROW({c}, id)::text FROM users ORDER BY id',
  'SELECT jsonb_build_array({c}) FROM users ORDER BY id',
  'SELECT xmlelement(name v, {c})::text FROM users ORDER BY id',
  'SELECT lower({c} COLLATE "C") FROM users ORDER BY id',
  "SELECT overlay({c} placing 'x' from 1 for 1) FROM users ORDER BY id",
  "SELECT replace({c}, '-', '') FROM users ORDER BY id",
  'SELECT * FROM (SELECT upper({c}) FROM users ORDER BY id) s',
  'SELECT x FROM users, unnest(ARRAY[{c}]) AS x ORDER BY id',
  'SELECT substr({c}, g, 1) FROM users, generate_series(1, 3) AS g ORDER BY id, g',
  "SELECT jsonb_agg(json_build_object('s', {c}) ORDER BY id) FROM users",
  'SELECT upper({v}) FROM people ORDER BY id',
  'SELECT {v} FROM people ORDER BY id',
  'SELECT p.{v} || \'\' FROM people p JOIN users u USING (id) ORDER BY id',
  'SELECT ARRAY(SELECT {c} FROM users ORDER BY id)',
  "SELECT string_to_array({c}, ' ') FROM users ORDER BY id",
  "SELECT x FROM users, LATERAL regexp_split_to_table({c}, '') WITH ORDINALITY AS t(x, n) ORDER BY id, n",
  "SELECT t.a FROM users u, json_to_record(json_build_object('a', u.{c})) AS t(a text) ORDER BY u.id",
  'SELECT t.* FROM users u, LATERAL (VALUES (u.{c})) t ORDER BY 1',
  "SELECT GREATEST({c}, '') FROM users ORDER BY id",
  'WITH t(a) AS MATERIALIZED (SELECT {c} FROM users) SELECT a || \'\' FROM t ORDER BY 1',
  'SELECT upper({c}) FROM users TABLESAMPLE SYSTEM (100) ORDER BY id',
  "SELECT v FROM XMLTABLE('/r' PASSING (SELECT xmlelement(name r, {c}) FROM users WHERE id = 1) COLUMNS v text PATH '.') AS x",
  'SELECT * FROM ROWS FROM (unnest((SELECT array_agg({c} ORDER BY id) FROM users))) AS r',
  'SELECT xmlagg(xmlelement(name a, {c}) ORDER BY id)::text FROM users',
  'SELECT {c} FROM users UNION ALL SELECT {c} FROM users ORDER BY 1',
  'SELECT (SELECT {c} FROM users u2 WHERE u2.id = u.id) || \'\' FROM users u ORDER BY id',
];

/** Only for the masked column: these derive from every column or go through a function of the target's own, so they are masked either way. */
const MASKED_ONLY: string[] = [
  'SELECT own_ssn(id) FROM users ORDER BY id',
  'SELECT upper(pass_through(ssn)) FROM users ORDER BY id',
  'SELECT * FROM own_rows()',
  'SELECT to_json(u) FROM users u ORDER BY id',
  'SELECT u::text FROM users u ORDER BY id',
  'SELECT (u).ssn FROM users u ORDER BY id',
  'SELECT upper(x.s) FROM (SELECT * FROM people) AS x(i, n, s) ORDER BY i',
  'SELECT (jsonb_each_text(to_jsonb(u))).value FROM users u ORDER BY id',
  'SELECT pg_typeof(ssn)::text || ssn FROM users ORDER BY id',
];

const over = (sql: string, column: 'ssn' | 'name') =>
  sql.replaceAll('{c}', column).replaceAll('{v}', column === 'ssn' ? 'tax_id' : 'full_name');

/** A derived cell is masked whole: NULL, or the placeholder (in JSON, a JSON string of it). */
function maskedWhole(value: unknown): boolean {
  return value === null || value === '[masked]' || value === '"[masked]"';
}

const RULES = `
  - name: pii
    mask: { columns: ["users.ssn", "vault.ssn"] }
  - name: no-bulk-writes
    block: { sql: [delete_without_where, update_without_where] }
`;

describe('PostgreSQL safe defaults and lineage', () => {
  let target: Target;
  let db: GovernedDb;
  let client: pg.Client;

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE users (id int PRIMARY KEY, name text, ssn text)');
    await target.direct("INSERT INTO users VALUES (1, 'Ada Lovelace', '536-22-4711'), (2, 'Bob Builder', '219-45-0001')");
    await target.direct('CREATE EXTENSION pgcrypto');
    await target.direct('CREATE TABLE archive (id int PRIMARY KEY, note text)');
    await target.direct('CREATE TABLE vault (id int PRIMARY KEY, ssn text)');
    await target.direct('CREATE VIEW people AS SELECT id, name AS full_name, ssn AS tax_id FROM users');
    await target.direct('CREATE FUNCTION own_ssn(int) RETURNS text LANGUAGE sql AS $$ SELECT ssn FROM users WHERE id = $1 $$');
    await target.direct('CREATE FUNCTION pass_through(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$');
    await target.direct("CREATE FUNCTION noisy(text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'got %', $1; RETURN 'ok'; END $$");
    await target.direct('CREATE FUNCTION own_rows() RETURNS SETOF users LANGUAGE sql AS $$ SELECT * FROM users $$');
    db = await governDb(target.appUrl, RULES, 'approvals: { timeout: 1s }');
    client = await db.client();
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  test('an allow rule naming masked_copy lets a copy out of a mask through', async () => {
    const permissive = await governDb(target.appUrl, `${RULES}  - name: reviewed-export\n    allow: { sql: [masked_copy] }\n`);
    try {
      const c = await permissive.client();
      await c.query('CREATE TABLE export1 AS SELECT id, md5(ssn) AS digest FROM users');
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM export1')).rows[0].n, 2);
    } finally {
      await permissive.stop();
      await target.direct('DROP TABLE IF EXISTS export1');
    }
  });

  describe('no masked value escapes through a derived expression (node-postgres, simple and extended protocol)', () => {
    for (const [i, template] of [...DERIVED, ...MASKED_ONLY].entries()) {
      test(over(template, 'ssn'), async () => {
        const sql = over(template, 'ssn');
        for (const result of [await client.query(sql), await client.query({ name: `derived_${i}`, text: sql })]) {
          assert.ok(result.rows.length > 0, sql);
          for (const row of result.rows) for (const value of Object.values(row)) assert.ok(maskedWhole(value), `${sql}: ${JSON.stringify(value)} came back`);
        }
      });
    }
  });

  describe('the same statements over an unmasked column return exact values', () => {
    for (const [i, template] of DERIVED.entries()) {
      test(over(template, 'name'), async () => {
        const sql = over(template, 'name');
        const expected = (await target.direct(sql)).rows;
        assert.deepEqual((await client.query(sql)).rows, expected);
        assert.deepEqual((await client.query({ name: `plain_${i}`, text: sql })).rows, expected);
      });
    }
  });

  test('psql: no part, encoding or digest of a masked value in any output', async () => {
    const script = [...DERIVED, ...MASKED_ONLY].map((t) => `${over(t, 'ssn')};`).join('\n');
    const run = await runClient('psql', [db.url, '-X', '-At', '-v', 'ON_ERROR_STOP=1'], { input: script });
    assert.equal(run.status, 0, run.stderr);
    for (const fragment of FORBIDDEN) assert.ok(!run.stdout.includes(fragment), `psql output holds "${fragment}"`);
    assert.ok(run.stdout.includes('[masked]'));
  });

  test('psycopg2: derived values come back masked whole, also through a server-side cursor', async () => {
    const queries = [...DERIVED, ...MASKED_ONLY].map((t) => over(t, 'ssn'));
    const program = [
      'import json, os, psycopg2',
      'conn = psycopg2.connect(os.environ["DATABASE_URL"])',
      'out = []',
      'for q in json.loads(os.environ["QUERIES"]):',
      '    cur = conn.cursor()',
      '    cur.execute(q)',
      '    out.append([list(r) for r in cur.fetchall()])',
      'named = conn.cursor("stream")',
      'named.execute("SELECT md5(ssn), substr(ssn, 1, 3), name FROM users ORDER BY id")',
      'out.append([list(r) for r in named.fetchall()])',
      'print(json.dumps(out, default=str))',
    ].join('\n');
    const run = await runClient('/usr/bin/python3', ['-c', program], { env: { ...process.env, DATABASE_URL: db.url, QUERIES: JSON.stringify(queries) } });
    assert.equal(run.status, 0, run.stderr);
    for (const fragment of FORBIDDEN) assert.ok(!run.stdout.includes(fragment), `psycopg2 output holds "${fragment}"`);
    const results = JSON.parse(run.stdout) as unknown[][][];
    const streamed = results.pop()!;
    assert.deepEqual(streamed.map((r) => r[2]), ['Ada Lovelace', 'Bob Builder'], 'unmasked columns of the cursor pass');
    for (const [i, rows] of results.entries()) {
      for (const row of rows) for (const value of row) assert.ok(value === null || String(value).includes('[masked]') || typeof value === 'object', `${queries[i]}: ${JSON.stringify(value)}`);
    }
  });

  describe('a write that copies a masked value out of its mask is refused, naming the column', () => {
    const copies: [string, RegExp][] = [
      ['INSERT INTO archive (id, note) SELECT id, ssn FROM users', /public\.archive\.note derives from masked column public\.users\.ssn/],
      ['INSERT INTO archive SELECT id, md5(ssn) FROM users', /public\.archive\.note/],
      ['INSERT INTO archive SELECT id, tax_id FROM people', /public\.archive\.note/],
      ['WITH moved AS (INSERT INTO archive SELECT id, ssn FROM users RETURNING id) SELECT count(*) FROM moved', /public\.archive\.note/],
      ['CREATE TABLE leak1 AS SELECT id, ssn FROM users', /public\.leak1\.ssn/],
      ['SELECT id, substr(ssn, 1, 3) AS part INTO leak2 FROM users', /public\.leak2\.part/],
      ['CREATE MATERIALIZED VIEW leak3 AS SELECT upper(ssn) AS s FROM users', /public\.leak3\.s/],
      ['UPDATE users SET name = ssn WHERE id = 1', /public\.users\.name/],
      ['UPDATE archive a SET note = u.ssn FROM users u WHERE a.id = u.id', /public\.archive\.note/],
      ['MERGE INTO archive a USING users u ON a.id = u.id WHEN NOT MATCHED THEN INSERT VALUES (u.id, reverse(u.ssn))', /public\.archive\.note/],
      ["INSERT INTO archive VALUES (9, 'x') ON CONFLICT (id) DO UPDATE SET note = (SELECT ssn FROM users LIMIT 1)", /public\.archive\.note/],
    ];
    for (const [sql, names] of copies) {
      test(sql, async () => {
        for (const send of [() => client.query(sql), () => client.query({ name: `copy_${copies.findIndex((c) => c[0] === sql)}`, text: sql })]) {
          let error: { code?: string; message: string } | undefined;
          await send().catch((e: { code?: string; message: string }) => (error = e));
          assert.equal(error?.code, '42501', `${sql}: ${error?.message ?? 'not refused'}`);
          assert.match(error!.message, /masked copy is refused unless a rule allows it/);
          assert.match(error!.message, names);
        }
        assert.equal((await target.direct('SELECT count(*)::int AS n FROM archive')).rows[0].n, 0, 'nothing was written');
        assert.deepEqual((await target.direct('SELECT name FROM users ORDER BY id')).rows.map((r) => r.name), ['Ada Lovelace', 'Bob Builder']);
        for (const t of ['leak1', 'leak2', 'leak3']) assert.equal((await target.direct('SELECT to_regclass($1) AS t', [t])).rows[0].t, null, `${t} was not created`);
      });
    }

    test('COPY (query) TO STDOUT whose output derives from a masked column is refused', async () => {
      for (const sql of ['COPY (SELECT upper(ssn) FROM users) TO STDOUT', 'COPY (SELECT tax_id FROM people) TO STDOUT', 'COPY (SELECT own_ssn(id) FROM users) TO STDOUT']) {
        const run = await runClient('psql', [db.url, '-X', '-c', sql]);
        assert.notEqual(run.status, 0, sql);
        assert.match(run.stderr, /derives from a masked column|may carry a masked column/, sql);
        for (const fragment of FORBIDDEN) assert.ok(!run.stdout.includes(fragment), `${sql}: "${fragment}"`);
      }
      const plain = await runClient('psql', [db.url, '-X', '-c', 'COPY (SELECT upper(name) FROM users ORDER BY id) TO STDOUT']);
      assert.equal(plain.stdout, 'ADA LOVELACE\nBOB BUILDER\n', plain.stderr);
    });

    test('into a column masked by the same rule, or from unmasked columns, a copy goes through', async () => {
      await client.query('INSERT INTO vault SELECT id, ssn FROM users');
      await client.query('INSERT INTO archive SELECT id, upper(name) FROM users');
      assert.deepEqual((await target.direct('SELECT ssn FROM vault ORDER BY id')).rows.map((r) => r.ssn), SSNS);
      assert.deepEqual((await client.query('SELECT ssn FROM vault ORDER BY id')).rows.map((r) => r.ssn), ['[masked]', '[masked]']);
      await target.direct('DELETE FROM archive');
      await target.direct('DELETE FROM vault');
    });
  });

  describe('oracles: with predicates: refuse, filtering, joining, grouping or ordering on a masked column is refused', () => {
    const ORACLES = [
      "SELECT id FROM users WHERE ssn LIKE '5%'",
      "SELECT id FROM users WHERE substr(ssn, 1, 1) = '5'",
      "SELECT id FROM users WHERE ssn = '536-22-4711'",
      "SELECT id FROM users WHERE id > 0 AND ssn > '3'",
      'SELECT count(*) FROM users GROUP BY substr(ssn, 1, 1)',
      'SELECT id FROM users ORDER BY ssn',
      'SELECT id, ssn FROM users ORDER BY 2',
      'SELECT u.id FROM users u JOIN archive a ON a.note = u.ssn',
      'SELECT id, rank() OVER (PARTITION BY left(ssn, 3)) FROM users',
      'SELECT DISTINCT ON (ssn) id FROM users',
      'SELECT id FROM users WHERE EXISTS (SELECT 1 FROM users u2 WHERE u2.ssn > users.ssn)',
      "SELECT id FROM people WHERE tax_id LIKE '2%'",
      "DELETE FROM archive WHERE note IN (SELECT u.ssn FROM users u WHERE u.ssn LIKE '9%')",
    ];
    const PARAM_EQUALITY = 'SELECT id FROM users WHERE ssn = $1';
    let strict: GovernedDb;
    let lookups: GovernedDb;
    before(async () => {
      const rules = (predicates: string) => `  - name: pii\n    mask: { columns: ["users.ssn"], predicates: ${predicates} }\n`;
      strict = await governDb(target.appUrl, rules('refuse'));
      lookups = await governDb(target.appUrl, rules('{ refuse: true, allow_param_equality: true }'));
    });
    after(async () => {
      await strict?.stop();
      await lookups?.stop();
    });

    for (const sql of ORACLES) {
      test(sql, async () => {
        for (const gateway of [strict, lookups]) {
          const e = await refused(await gateway.client(), sql);
          assert.equal(e.code, '42501');
          assert.match(e.message, /masked predicate is refused unless a rule allows it: the statement filters, joins, groups, orders or compares on masked column public\.users\.ssn/);
        }
        await client.query(sql);
      });
    }

    test('equality with a bound parameter is a lookup, allowed only when the rule says so', async () => {
      const e = await refused(await strict.client(), PARAM_EQUALITY, ['536-22-4711']);
      assert.equal(e.code, '42501');
      const found = await (await lookups.client()).query(PARAM_EQUALITY, ['536-22-4711']);
      assert.deepEqual(found.rows, [{ id: 1 }]);
      assert.deepEqual((await (await strict.client()).query('SELECT id FROM users WHERE name = $1 ORDER BY id', ['Ada Lovelace'])).rows, [{ id: 1 }]);
    });
  });

  test('SASLprep: a target password is normalised as PostgreSQL normalised it when it was set', async () => {
    await target.pg.sql(["CREATE ROLE prep LOGIN PASSWORD 'Ⅸ\u00a0café'"]);
    // The same password typed otherwise: a decomposed é and a plain space, which SASLprep maps alike.
    const typed = 'Ⅸ cafe\u0301';
    const prepped = await governDb(target.pg.url('prep', typed, 'app'), '  - name: pii\n    mask: { columns: ["users.ssn"] }\n');
    try {
      const c = await prepped.client();
      assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'prep');
    } finally {
      await prepped.stop();
    }
  });

  test("temporary tables and views of the job's own session are traced like any other", async () => {
    const c = await db.client();
    await c.query('CREATE TEMP TABLE scratch AS SELECT id, name FROM users');
    assert.deepEqual((await c.query('SELECT upper(name) AS n FROM scratch ORDER BY id')).rows, [{ n: 'ADA LOVELACE' }, { n: 'BOB BUILDER' }]);
    await c.query('CREATE TEMP VIEW renamed AS SELECT id, ssn AS x FROM users');
    assert.deepEqual((await c.query('SELECT lower(x) AS x FROM renamed ORDER BY id')).rows, [{ x: '[masked]' }, { x: '[masked]' }]);
    const e = await refused(c, 'CREATE TEMP TABLE leak4 AS SELECT id, ssn FROM users');
    assert.match(e.message, /masked copy/);
  });

  test("the target ending the gateway's own catalog connection costs no statement: the lookup is asked again", async () => {
    const c = await db.client();
    await c.query('SELECT ssn FROM users');
    // As an administrator's clean-up of idle sessions, or idle_session_timeout, would.
    const ended = await target.direct("SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'govern catalog'");
    assert.ok(ended.rows[0].n >= 1);
    await target.direct('CREATE TABLE late_arrivals (id int, note text)');
    // A table the catalog has not seen yet: its columns are looked up on a new connection.
    assert.deepEqual((await c.query('SELECT v.ssn, l.note FROM vault v LEFT JOIN late_arrivals l USING (id) ORDER BY v.id')).rows, []);
    await target.direct("INSERT INTO vault VALUES (7, '536-22-4711')");
    try {
      assert.deepEqual((await c.query('SELECT upper(v.ssn) AS ssn FROM vault v LEFT JOIN late_arrivals l USING (id)')).rows, [{ ssn: '[masked]' }]);
    } finally {
      await target.direct('DELETE FROM vault WHERE id = 7; DROP TABLE late_arrivals');
    }
  });

  test('errors and notices of a statement that reads a masked column do not quote its value', async () => {
    for (const sql of ['SELECT ssn::int FROM users', 'SELECT upper(ssn)::numeric FROM users', 'SELECT ssn::jsonb FROM users', "SELECT id FROM users WHERE ssn::int > 0"]) {
      const e = await refused(client, sql);
      for (const fragment of FORBIDDEN) assert.ok(!JSON.stringify(e).includes(fragment), `${sql}: the error holds "${fragment}"`);
      assert.match(e.message, /withheld because the statement reads a masked column \(SQLSTATE 22/);
    }
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(JSON.stringify(n)));
    await client.query('SELECT noisy(ssn) FROM users');
    client.removeAllListeners('notice');
    assert.equal(notices.length, 2);
    for (const notice of notices) for (const fragment of FORBIDDEN) assert.ok(!notice.includes(fragment), `a notice holds "${fragment}"`);
    const e = await refused(client, 'SELECT name::int FROM users');
    assert.match(e.message, /invalid input syntax for type integer: "Ada Lovelace"/, 'errors over unmasked columns keep their words');
  });

  describe('safe defaults: refused or held with no rule naming them', () => {
    const cases: [string, RegExp][] = [
      ['SELECT pg_terminate_backend(pg_backend_pid())', /dangerous function is refused unless a rule allows it/],
      ["SELECT pg_read_file('/etc/hostname')", /dangerous function is refused/],
      ["SELECT lo_import('/etc/passwd')", /dangerous function is refused/],
      ["COPY users TO PROGRAM 'cat > /dev/null'", /copy program is refused/],
      ["COPY users TO '/tmp/govern-users-copy'", /copy program is refused/],
      ["SELECT dblink_exec('dbname=app', 'DROP TABLE users')", /dangerous function is refused|held for approval|approval timed out/],
      ["SELECT query_to_xml('SELECT ssn FROM users', true, false, '')", /held for approval|approval timed out/],
      ['MERGE INTO users u USING users s ON true WHEN MATCHED THEN DELETE', /blocked by rule "no-bulk-writes"/],
      ["MERGE INTO users u USING users s ON u.id = u.id WHEN MATCHED THEN UPDATE SET name = 'x'", /blocked by rule "no-bulk-writes"/],
      ['MERGE INTO users u USING (SELECT 1 AS id) s ON u.id = s.id WHEN NOT MATCHED BY SOURCE THEN DELETE', /blocked by rule "no-bulk-writes"/],
    ];
    for (const [sql, message] of cases) {
      test(sql, async () => {
        const e = await refused(client, sql);
        assert.equal(e.code, '42501', e.message);
        assert.match(e.message, message);
        assert.equal((await target.direct('SELECT count(*)::int AS n FROM users')).rows[0].n, 2, 'the table is untouched');
      });
    }
  });
});
