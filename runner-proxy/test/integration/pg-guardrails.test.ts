import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { verifyBundle } from '../../src/recording/verify.js';
import { governDb, refused, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';
import { resultsIn } from '../fixtures/records.js';

const RULES = `
  - name: pii
    mask: { columns: ["users.ssn", "*.card_number"], types: [credit_card, us_ssn, email] }
  - name: ssn-at-rest
    mask: { columns: ["users.ssn"], on: write, strategy: partial }
  - name: no-destruction
    block: { sql: [drop, truncate, alter_system, grant, set_role, copy_program, dangerous_function] }
  - name: no-bulk-writes
    block: { sql: [delete_without_where, update_without_where] }
`;

describe('PostgreSQL guardrails', () => {
  let target: Target;
  let db: GovernedDb;
  let client: pg.Client;

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE users (id int PRIMARY KEY, name text, ssn text UNIQUE, email text UNIQUE, card_number bigint)');
    await target.direct('CREATE TABLE drop_log (id int, deleted_at timestamptz)');
    await target.direct("INSERT INTO users VALUES (1, 'Ada', '536-22-4711', 'ada@example.com', 4111111111111111), (2, 'Bob', '219-45-0001', 'bob@example.org', NULL)");
    await target.direct("INSERT INTO drop_log VALUES (1, '2024-01-01')");
    db = await governDb(target.appUrl, RULES, 'approvals: { timeout: 1s }');
    client = await db.client();
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  const tableExists = async (name: string) => (await target.direct('SELECT to_regclass($1) AS t', [name])).rows[0].t !== null;

  describe('blocked, however it is dressed', () => {
    const attempts: [string, string][] = [
      ['plain', 'DROP TABLE users'],
      ['comments and case', '/* cleanup */ dRoP -- really\n TABLE "users"'],
      ['quoted identifier', 'DROP TABLE "public"."users"'],
      ['second statement of a message', 'SELECT 1; DROP TABLE users'],
      ['inside a DO block', 'DO $$ BEGIN DROP TABLE users; END $$'],
      ['dynamic SQL in a DO block', "DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$"],
      ['PREPARE and EXECUTE of a bulk delete', 'PREPARE wipe AS DELETE FROM users; EXECUTE wipe'],
      ['a data-modifying CTE', 'WITH gone AS (DELETE FROM users RETURNING *) SELECT count(*) FROM gone'],
      ['EXPLAIN ANALYZE of a bulk update', "EXPLAIN ANALYZE UPDATE users SET name = 'x'"],
      ['a constant-true WHERE', 'DELETE FROM users WHERE 1 = 1'],
      ['WHERE true', 'UPDATE users SET name = name WHERE true'],
      ['a tautology on a column', 'DELETE FROM users WHERE id = id'],
      ['TRUNCATE', 'TRUNCATE users'],
      ['SET ROLE', 'SET ROLE postgres'],
      ['SET SESSION AUTHORIZATION', 'SET SESSION AUTHORIZATION postgres'],
      ['set_config of the role', "SELECT set_config('role', 'postgres', false)"],
      ['ALTER SYSTEM', "ALTER SYSTEM SET work_mem = '1GB'"],
      ['GRANT', 'GRANT ALL ON users TO PUBLIC'],
      ['COPY … PROGRAM', "COPY users TO PROGRAM 'cat > /tmp/x'"],
      ['a dangerous function', 'SELECT pg_terminate_backend(pg_backend_pid())'],
      ['lo_import', "SELECT lo_import('/etc/passwd')"],
    ];
    for (const [how, sql] of attempts) {
      test(how, async () => {
        const e = await refused(client, sql);
        assert.ok(e.code === '42501', `${sql}: expected 42501, got ${e.code}: ${e.message}`);
        assert.match(e.message, /^govern: (blocked by rule "(no-destruction|no-bulk-writes)"|held for approval|approval timed out|denied)/);
        assert.ok(await tableExists('users'), 'the table is still there');
        assert.equal((await client.query('SELECT 1 AS ok')).rows[0].ok, 1, 'the session stays usable');
      });
    }

    test('EXECUTE of a statement PREPAREd earlier counts as that statement', async () => {
      await client.query('PREPARE wipe_later AS DELETE FROM users');
      const e = await refused(client, 'EXECUTE wipe_later');
      assert.equal(e.code, '42501');
      assert.match(e.message, /no-bulk-writes/);
      await client.query('DEALLOCATE wipe_later');
      const gone = await refused(client, 'EXECUTE wipe_later');
      assert.equal(gone.code, '42501', 'after DEALLOCATE the name is unknown, so its effect is too');
      assert.ok(await tableExists('users'));
    });

    test('the extended protocol: Parse is classified, and Bind of a refused statement is refused again', async () => {
      const e = await refused(client, 'DELETE FROM users WHERE $1::int IS NOT NULL', [1]);
      assert.equal(e.code, '42501');
      const named = await refused(client, { name: 'wipe', text: 'TRUNCATE users' } as unknown as string);
      assert.equal(named.code, '42501');
      const again = await refused(client, { name: 'wipe', text: 'TRUNCATE users' } as unknown as string);
      assert.equal(again.code, '42501');
      assert.ok(await tableExists('users'));
    });

    test('inside a transaction the refusal aborts it, as a real error would, and ROLLBACK recovers', async () => {
      await client.query('BEGIN');
      await client.query("INSERT INTO drop_log VALUES (99, now())");
      const e = await refused(client, 'DROP TABLE drop_log');
      assert.equal(e.code, '42501');
      const aborted = await refused(client, 'SELECT 1');
      assert.equal(aborted.code, '25P02');
      await client.query('ROLLBACK');
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM drop_log WHERE id = 99')).rows[0].n, 0);
      assert.equal((await client.query('SELECT 2 AS ok')).rows[0].ok, 2);
    });

    test('unparseable SQL is refused with the parser’s words', async () => {
      const e = await refused(client, 'SELEC 1');
      assert.equal(e.code, '42601');
      assert.match(e.message, /unparseable/);
    });
  });

  describe('allowed: the same words where they do no harm', () => {
    const harmless: [string, string][] = [
      ['in a string literal', "SELECT 'DROP TABLE users' AS s"],
      ['in a comment', 'SELECT 1 AS n -- DROP TABLE users'],
      ['in identifiers', 'SELECT deleted_at FROM drop_log'],
      ['in a dollar-quoted string', 'SELECT $$TRUNCATE users$$ AS s'],
      ['a DELETE with a real condition', 'DELETE FROM drop_log WHERE id = 12345'],
      ['EXPLAIN without ANALYZE', 'EXPLAIN DELETE FROM users'],
    ];
    for (const [how, sql] of harmless) {
      test(how, async () => {
        await client.query(sql);
      });
    }
  });

  describe('masked on the way back', () => {
    const ssnOf = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join(' ');
    const expectMasked = (text: string) => {
      assert.ok(!text.includes('536-22-4711') && !text.includes('219-45-0001'), `an SSN leaked: ${text}`);
      assert.ok(!text.includes('ada@example.com'), `an email leaked: ${text}`);
      assert.ok(!text.includes('4111111111111111'), `a card number leaked: ${text}`);
    };

    test('a sensitive column read directly, with SELECT *', async () => {
      const { rows } = await client.query('SELECT * FROM users ORDER BY id');
      assert.equal(rows[0].ssn, '[masked]');
      assert.equal(rows[0].email, '[masked:email]');
      assert.equal(rows[0].card_number, null, 'a masked bigint becomes NULL, which every client can read');
      assert.equal(rows[0].name, 'Ada');
      expectMasked(ssnOf(rows));
    });

    test('aliased, through a subquery and a CTE', async () => {
      for (const sql of [
        'SELECT ssn AS x FROM users',
        'SELECT x FROM (SELECT ssn AS x FROM users) s',
        'WITH t AS (SELECT ssn AS x, email FROM users) SELECT * FROM t',
        'SELECT u.ssn AS "harmless" FROM users u JOIN drop_log d ON true',
      ]) {
        expectMasked(ssnOf((await client.query(sql)).rows));
      }
    });

    test('in row_to_json and expressions, by the detectors', async () => {
      expectMasked(ssnOf((await client.query('SELECT row_to_json(u) AS j FROM users u')).rows));
      expectMasked(ssnOf((await client.query("SELECT 'ssn: ' || ssn AS s, upper(email) AS e FROM users")).rows));
    });

    test('in binary format', async () => {
      const { rows } = await client.query({ text: 'SELECT ssn, email, name FROM users WHERE id = $1', values: [1], binary: true } as pg.QueryConfig);
      expectMasked(ssnOf(rows.map((r) => ({ ssn: String(r.ssn), email: String(r.email) }))));
      assert.equal(String(rows[0].name), 'Ada');
    });

    test('in an error message', async () => {
      const e = await refused(client, 'SELECT ssn::int FROM users WHERE id = 1');
      assert.equal(e.code, '22P02');
      assert.equal(e.message, 'govern: the message is withheld because the statement reads a masked column (SQLSTATE 22P02)');
    });

    test('in a key quoted by a constraint violation', async () => {
      const dup = (await refused(client, "INSERT INTO users (id, name, email) VALUES (4, 'Dup', 'ada@example.com')")) as { code?: string; detail?: string };
      assert.equal(dup.code, '23505');
      assert.equal(dup.detail, 'Key (email)=([masked:email]) already exists.');
    });

    test('in a NOTICE', async () => {
      await target.direct("CREATE OR REPLACE FUNCTION shout() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ssn is %', (SELECT ssn FROM users WHERE id = 1); RETURN 1; END $$");
      const notices: string[] = [];
      client.on('notice', (n) => notices.push(n.message ?? ''));
      await client.query('SELECT shout()');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(notices.length, 1);
      assert.equal(notices[0], 'ssn is [masked:us_ssn]');
    });

    test('in COPY TO STDOUT, text and csv', async () => {
      const psql = (cmd: string) => runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-c', cmd]);
      const text = await psql('COPY users TO STDOUT');
      assert.equal(text.status, 0, text.stderr);
      expectMasked(text.stdout);
      assert.match(text.stdout, /^1\tAda\t\[masked\]\t\[masked:email\]\t\[masked\]$/m);
      const csv = await psql('COPY (SELECT id, name, email FROM users) TO STDOUT WITH (FORMAT csv, HEADER)');
      expectMasked(csv.stdout);
      assert.match(csv.stdout, /^id,name,email\n1,Ada,\[masked:email\]$/m);
      const query = await psql('COPY (SELECT ssn FROM users) TO STDOUT');
      assert.match(query.stderr, /cannot be masked; COPY the table itself or SELECT/);
      const binary = await psql('COPY users TO STDOUT WITH (FORMAT binary)');
      assert.notEqual(binary.status, 0);
      assert.match(binary.stderr, /binary COPY output cannot be masked/);
    });
  });

  describe('masked on the way in (on: write)', () => {
    const stored = async (id: number) => (await target.direct('SELECT ssn FROM users WHERE id = $1', [id])).rows[0]?.ssn as string | undefined;

    test('INSERT with a literal', async () => {
      await client.query("INSERT INTO users (id, name, ssn) VALUES (10, 'Lit', '536-22-4710')");
      assert.equal(await stored(10), '***-**-4710');
    });

    test('INSERT without a column list, and several rows', async () => {
      await client.query("INSERT INTO users VALUES (11, 'A', '123-12-1111', NULL, NULL), (12, 'B', E'123-12-1112', NULL, NULL)");
      assert.equal(await stored(11), '***-**-1111');
      assert.equal(await stored(12), '***-**-1112');
    });

    test('a parameterised INSERT', async () => {
      await client.query('INSERT INTO users (id, name, ssn) VALUES ($1, $2, $3)', [13, 'Param', '536-22-4713']);
      assert.equal(await stored(13), '***-**-4713');
    });

    test('UPDATE … SET ssn = $1', async () => {
      await client.query('UPDATE users SET ssn = $1 WHERE id = $2', ['536-22-4799', 13]);
      assert.equal(await stored(13), '***-**-4799');
    });

    test('\\copy … FROM, text and csv', async () => {
      const text = await runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-c', '\\copy users (id, name, ssn) FROM STDIN'], { input: '20\tCopy\t536-22-4720\n21\tCopy\t536-22-4721\n\\.\n' });
      assert.equal(text.status, 0, text.stderr);
      assert.equal(await stored(20), '***-**-4720');
      assert.equal(await stored(21), '***-**-4721');
      const csv = await runClient(`${target.pg.bin}/psql`, [db.url, '-X', '-q', '-c', '\\copy users (id, name, ssn) FROM STDIN WITH (FORMAT csv, HEADER)'], { input: 'id,name,ssn\n22,"Multi\nline",536-22-4722\n' });
      assert.equal(csv.status, 0, csv.stderr);
      assert.equal(await stored(22), '***-**-4722');
    });

    test('a value the gateway cannot see is refused', async () => {
      const e = await refused(client, "INSERT INTO users (id, ssn) SELECT 30, '536-22-4730'");
      assert.equal(e.code, '42501');
      assert.match(e.message, /cannot see/);
      const expr = await refused(client, "UPDATE users SET ssn = lower('536-22-4731') WHERE id = 1");
      assert.match(expr.message, /expression the gateway cannot mask/);
      assert.equal(await stored(30), undefined);
    });
  });

  describe('startup', () => {
    test('a wrong password, user or database is refused', async () => {
      const wrong = new URL(db.url);
      wrong.password = 'nope';
      const r = await runClient(`${target.pg.bin}/psql`, [wrong.toString(), '-X', '-c', 'select 1']);
      assert.match(r.stderr, /password authentication failed for user "app"/);
      const otherDb = new URL(db.url);
      otherDb.pathname = '/postgres';
      assert.match((await runClient(`${target.pg.bin}/psql`, [otherDb.toString(), '-X', '-c', 'select 1'])).stderr, /reaches database "app" only/);
    });

    test('startup options and replication are refused unless allowed', async () => {
      const r = await runClient(`${target.pg.bin}/psql`, [`${db.url}?options=-c%20search_path%3Dx`, '-X', '-c', 'select 1']);
      assert.match(r.stderr, /startup options is refused unless a rule allows it/);
      const rep = await runClient(`${target.pg.bin}/psql`, [`${db.url}?replication=database`, '-X', '-c', 'IDENTIFY_SYSTEM']);
      assert.match(rep.stderr, /replication is refused unless a rule allows it/);
    });
  });

  test('the record holds each statement with its verdict and masked literals, and verifies', async () => {
    await db.gateway.governor.recorder.durable();
    const dir = db.gateway.outDir;
    const { events } = verifyBundle(dir);
    const ops = events.filter((e) => e.type === 'operation');
    const drop = ops.find((e) => String(e.text).startsWith('DROP TABLE users'));
    assert.equal(drop?.verdict, 'block');
    assert.equal(drop?.rule, 'no-destruction');
    const insert = ops.find((e) => String(e.text).includes("'Lit'"));
    assert.ok(insert && !String(insert.text).includes('536-22-4710'), 'literals are masked in the record');
    const results = resultsIn(events).filter((r) => (r.masked as number) > 0);
    assert.ok(results.length > 0, 'results record masked counts');
    assert.ok(!JSON.stringify(events).includes('536-22-4711'), 'no unmasked value in the record');
    assert.ok(!JSON.stringify(events).includes(target.appPassword), 'no credential in the record');
  });
});
