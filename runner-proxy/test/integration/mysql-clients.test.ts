import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { govern } from '../fixtures/cli.js';
import { cliArgs, governMysql, governedMariadb, type GovernedMysql, type TestMariadb } from '../fixtures/mariadb.js';
import { runClient } from '../fixtures/postgres.js';

const RULES = `
  - name: pii
    mask: { columns: ["people.ssn", "people.email"], types: [us_ssn] }
  - name: no-destruction
    block: { sql: [drop, truncate] }
`;
const PYTHON = '/usr/bin/python3';
const SSNS = ['536-22-4711', '219-09-9999', '078-05-1120'];
const EMAILS = ['ada@example.com', 'alan@example.com', 'grace@example.com'];

describe('real MySQL clients through the gateway to MariaDB', () => {
  let target: TestMariadb;
  let db: GovernedMysql;
  let stop: () => Promise<void>;
  const mariadb = (extra: string[], input?: string) => {
    const { args, env } = cliArgs(db.url);
    return runClient('mariadb', [...args, ...extra], { env, ...(input !== undefined && { input }) });
  };

  before(async () => {
    ({ target, db, stop } = await governedMariadb(RULES));
  });
  after(() => stop?.());

  describe('the mariadb CLI', () => {
    test('-e: results right, PII masked by column, a blocked DROP', async () => {
      const r = await mariadb(['-N', '-B', '-e', "SELECT count(*) FROM people; SELECT name, ssn, email FROM people WHERE id = 1; SELECT 'still here'"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '3\nAda Lovelace\t[masked]\t[masked]\nstill here\n');
      const dropped = await mariadb(['-N', '-B', '-e', 'DROP TABLE orders']);
      assert.match(dropped.stderr, /ERROR 1142 \(42000\).*govern: blocked by rule "no-destruction"/);
      assert.equal((await target.direct<{ n: number }[]>('SELECT count(*) AS n FROM orders'))[0]!.n, 3);
    });

    test('a piped script, with the default auto-rehash (COM_FIELD_LIST) as an interactive user gets it', async () => {
      const script = "SELECT id, ssn AS x FROM people ORDER BY id;\nDROP TABLE people;\nSELECT 'kept', count(*) FROM people;\n";
      const r = await mariadb(['-N', '-B', '--force'], script);
      assert.equal(r.stdout, `1\t[masked]\n2\t[masked]\n3\t[masked]\nkept\t3\n`);
      assert.match(r.stderr, /blocked by rule "no-destruction"/);
      const rehash = await mariadb(['--auto-rehash', '-N', '-B', '-e', 'SELECT 1']);
      assert.equal(rehash.status, 0, rehash.stderr);
      assert.equal(rehash.stdout, '1\n');
    });

    test('mysqldump: the dump is whole and its PII masked', async () => {
      const { args, env } = cliArgs(db.url);
      const r = await runClient('mysqldump', [...args, '--skip-comments', 'people', 'orders'], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /CREATE TABLE `people`/);
      assert.match(r.stdout, /INSERT INTO `people` VALUES\n\(1,'Ada Lovelace','\[masked\]','\[masked\]','first'\),/);
      assert.match(r.stdout, /INSERT INTO `orders` VALUES\n\(10,1,12\.50\),/);
      for (const v of [...SSNS, ...EMAILS]) assert.ok(!r.stdout.includes(v), `${v} is not in the dump`);
    });
  });

  describe('mysql2', () => {
    test('text queries: aliases, joins, subqueries and a view masked by their source column', async () => {
      const c = await db.client({ multipleStatements: true });
      const [aliased] = await c.query('SELECT p.ssn AS tax_id, p.name AS who FROM people p WHERE p.id = 2');
      assert.deepEqual(aliased, [{ tax_id: '[masked]', who: 'Alan Turing' }]);
      const [joined] = await c.query('SELECT o.id, o.total, p.email AS contact FROM orders o JOIN people p ON p.id = o.person_id ORDER BY o.id');
      assert.deepEqual(joined, [
        { id: 10, total: '12.50', contact: '[masked]' },
        { id: 11, total: '99.00', contact: '[masked]' },
        { id: 12, total: '3.25', contact: '[masked]' },
      ]);
      const [sub] = await c.query('SELECT s.v FROM (SELECT ssn AS v FROM people WHERE id = 3) s');
      assert.deepEqual(sub, [{ v: '[masked]' }]);
      const [viewed] = await c.query('SELECT name, email FROM contacts ORDER BY id');
      assert.deepEqual((viewed as { email: string }[]).map((r) => r.email), ['[masked]', '[masked]', '[masked]']);
      const opaque: [string, unknown][] = [
        ['SELECT tax, mail FROM renamed WHERE id = 1', [{ tax: '[masked]', mail: '[masked]' }]],
        ['SELECT reach_me FROM over_renamed WHERE id = 1', [{ reach_me: '[masked]' }]],
        ['SELECT x.m FROM (SELECT mail AS m FROM renamed WHERE id = 2) x', [{ m: '[masked]' }]],
        ['WITH x AS (SELECT email AS v FROM people WHERE id = 1) SELECT v FROM x', [{ v: '[masked]' }]],
        ["SELECT email FROM people WHERE id = 1 UNION SELECT 'x'", [{ email: '[masked]' }, { email: '[masked]' }]],
        ['SELECT (SELECT email FROM people WHERE id = 3) AS q', [{ q: '[masked]' }]],
        ['SELECT * FROM (SELECT * FROM people WHERE id = 1) s', [{ id: null, name: '[masked]', email: '[masked]', ssn: '[masked]', note: '[masked]' }]],
      ];
      for (const [sql, expected] of opaque) assert.deepEqual((await c.query(sql))[0], expected, sql);
      const [[counted]] = (await c.query('SELECT count(*) AS n, max(name) AS m FROM people')) as unknown as [[{ n: number; m: string }]];
      assert.deepEqual(counted, { n: 3, m: 'Grace Hopper' }, 'a statement that names no masked column is not masked');
      const [derived] = await c.query("SELECT concat('ssn: ', ssn) AS d FROM people WHERE id = 1");
      assert.deepEqual(derived, [{ d: '[masked]' }], 'an expression of a masked column is masked whole');
      const [multi] = await c.query("SELECT ssn FROM people WHERE id = 1; SELECT 'two' AS t");
      // The statements of one text share what they reach: a constant beside a masked column's statement is masked too (over-masking, not a leak).
      assert.deepEqual(multi, [[{ ssn: '[masked]' }], [{ t: '[masked]' }]]);
    });

    test('prepared execute: binary rows masked, parameters bound, DROP refused at prepare', async () => {
      const c = await db.client();
      const [rows] = await c.execute('SELECT id, ssn, email, name FROM people WHERE id > ? ORDER BY id', [1]);
      assert.deepEqual(rows, [
        { id: 2, ssn: '[masked]', email: '[masked]', name: 'Alan Turing' },
        { id: 3, ssn: '[masked]', email: '[masked]', name: 'Grace Hopper' },
      ]);
      const [again] = await c.execute('SELECT id, ssn, email, name FROM people WHERE id > ? ORDER BY id', [2]);
      assert.equal((again as unknown[]).length, 1, 'the cached statement runs again');
      const [joined] = await c.execute('SELECT o.total, p.ssn FROM orders o JOIN people p ON p.id = o.person_id WHERE o.id = ?', [11]);
      assert.deepEqual(joined, [{ total: '99.00', ssn: '[masked]' }]);
      await assert.rejects(c.execute('DROP TABLE orders'), /govern: blocked by rule "no-destruction"/);
      const [[alive]] = (await c.execute('SELECT 1 + ? AS n', [1])) as unknown as [[{ n: number }]];
      assert.equal(alive.n, 2);
    });
  });

  test('Python MySQLdb: rows masked, a refused DROP raising OperationalError, the connection usable', async () => {
    const script = `
import MySQLdb, sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
c = MySQLdb.connect(host=p.hostname, port=p.port, user=p.username, passwd=u.unquote(p.password), db=p.path[1:])
cur = c.cursor()
cur.execute("SELECT name, ssn FROM people WHERE id = %s", (1,))
print(cur.fetchall())
try:
    cur.execute("DROP TABLE people")
except MySQLdb.Error as e:
    print("refused", e.args[0])
cur.execute("SELECT count(*) FROM people")
print(cur.fetchone()[0])
`;
    const r = await runClient(PYTHON, ['-c', script, db.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "(('Ada Lovelace', '[masked]'),)\nrefused 1142\n3\n");
  });

  test('the record holds no unmasked value, and the bundle verifies', async () => {
    const own = await governMysql(target.appUrl, RULES);
    const c = await own.client();
    await c.query('SELECT ssn, email FROM people');
    await c.query("SELECT * FROM people WHERE ssn = '536-22-4711'");
    await own.stop();
    const events = readFileSync(`${own.gateway.outDir}/events.jsonl`, 'utf8');
    for (const v of [...SSNS, ...EMAILS, target.appPassword, own.password]) assert.ok(!events.includes(v), `${v} is not in the record`);
    const verified = await govern(['verify', own.gateway.outDir]);
    assert.equal(verified.status, 0, verified.stderr);
  });
});
