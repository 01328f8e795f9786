import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliArgs, governMysql, governedMariadb, refusedMysql, type GovernedMysql, type TestMariadb } from '../fixtures/mariadb.js';
import { runClient } from '../fixtures/postgres.js';

const RULES = `
  - name: no-destruction
    block: { sql: [drop, delete_without_where, update_without_where] }
`;

describe('MySQL guardrails and hostile bytes against MariaDB', () => {
  let target: TestMariadb;
  let db: GovernedMysql;
  let stop: () => Promise<void>;

  before(async () => {
    ({ target, db, stop } = await governedMariadb(RULES));
  });
  after(() => stop?.());

  test('DROP and DELETE without WHERE are refused and the connection stays usable', async () => {
    const c = await db.client();
    for (const sql of ['DROP TABLE orders', 'DELETE FROM orders', 'UPDATE orders SET total = 0']) {
      const e = await refusedMysql(c, sql);
      assert.equal(e.errno, 1142, sql);
      assert.match(e.message, /govern: blocked by rule "no-destruction"/);
    }
    const [rows] = await c.query('DELETE FROM orders WHERE id = 12');
    assert.equal((rows as { affectedRows: number }).affectedRows, 1);
    assert.equal((await target.direct<{ n: number }[]>('SELECT count(*) AS n FROM orders'))[0]!.n, 2);
  });

  test('LOAD DATA LOCAL INFILE is refused unless a rule allows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-infile-'));
    const file = join(dir, 'orders.tsv');
    writeFileSync(file, '50\t1\t1.00\n');
    const { args, env } = cliArgs(db.url);
    const sql = `LOAD DATA LOCAL INFILE '${file}' INTO TABLE orders`;
    const r = await runClient('mariadb', [...args, '--local-infile=1', '-e', sql], { env });
    assert.match(r.stderr, /ERROR 1142 \(42000\).*govern: blocked: load local is refused unless a rule allows it/);
    assert.equal((await target.direct<{ n: number }[]>('SELECT count(*) AS n FROM orders WHERE id = 50'))[0]!.n, 0);
    const allowing = await governMysql(target.appUrl, '  - name: loads\n    allow: { sql: [load_local] }\n');
    try {
      const ok = await runClient('mariadb', [...cliArgs(allowing.url).args, '--local-infile=1', '-e', sql], { env: cliArgs(allowing.url).env });
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal((await target.direct<{ n: number }[]>('SELECT count(*) AS n FROM orders WHERE id = 50'))[0]!.n, 1);
    } finally {
      await allowing.stop();
    }
  });

  test('SELECT … INTO OUTFILE, a file written on the target host, is refused unless a rule allows it', async () => {
    const c = await db.client();
    const file = join(mkdtempSync(join(tmpdir(), 'govern-outfile-')), 'people.csv');
    const e = await refusedMysql(c, `SELECT * FROM people INTO OUTFILE '${file}'`);
    assert.match(e.message, /govern: blocked: outfile is refused unless a rule allows it/);
    assert.equal(existsSync(file), false);
    // Into a user variable is a read, and the connection is still usable.
    await c.query('SELECT id INTO @first FROM people ORDER BY id LIMIT 1');
    const [[row]] = (await c.query('SELECT @first AS id')) as unknown as [[{ id: number }]];
    assert.equal(row.id, 1);
  });

  test('PREPARE in SQL with the mariadb CLI: a prepared DROP is refused, a prepared SELECT runs', async () => {
    const { args, env } = cliArgs(db.url);
    const refused = await runClient('mariadb', [...args, '-e', "PREPARE s FROM 'DROP TABLE orders'"], { env });
    assert.match(refused.stderr, /ERROR 1142 \(42000\).*govern: blocked by rule "no-destruction"/);
    assert.equal((await target.direct<{ n: number }[]>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'orders'"))[0]!.n, 1);
    // The CLI sends each statement alone: EXECUTE is classified by what the session holds from PREPARE.
    const sql = "SET @id = 11; PREPARE s FROM 'SELECT total FROM orders WHERE id = ?'; EXECUTE s USING @id; DEALLOCATE PREPARE s";
    const ran = await runClient('mariadb', [...args, '-N', '-B', '-e', sql], { env });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout.trim(), '99.00');
  });

  test('NO_BACKSLASH_ESCAPES: a text that changes sql_mode goes alone, and once the target confirms the mode, text is refused', async () => {
    const c = await db.client({ multipleStatements: true });
    // Read by the default quoting, the DROP would sit inside a string; the new mode would run it.
    const hidden = "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT 'a\\' ; DROP TABLE orders; -- '";
    const e = await refusedMysql(c, hidden);
    assert.match(e.message, /govern: blocked: unparseable is refused unless a rule allows it/);
    assert.equal((await target.direct<{ n: number }[]>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'orders'"))[0]!.n, 1);
    await c.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
    const after = await refusedMysql(c, "SELECT 'a\\' ; DROP TABLE orders; -- '");
    assert.match(after.message, /govern: the session's sql_mode has NO_BACKSLASH_ESCAPES/);
    assert.equal((await target.direct<{ n: number }[]>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'orders'"))[0]!.n, 1);
    await c.end();
    // The refusal is in the record: the next statement's commit writes every event before it.
    const next = await db.client();
    await next.query('SELECT 1');
    await next.end();
    const refused = readFileSync(join(db.gateway.outDir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"protocol.refused"'));
    assert.ok(refused.some((l) => l.includes('sql_mode NO_BACKSLASH_ESCAPES')), 'the refusal is recorded');
  });

  test('hostile handshake bytes end only that connection', async () => {
    const good = await db.client();
    const hostile: Buffer[] = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0x05, 0x00, 0x00]),
      Buffer.from([0xff, 0xff, 0xff, 0x01, 0x00]),
      Buffer.from([0x04, 0x00, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00]),
    ];
    for (const bytes of hostile) {
      const s = connect(db.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.resume();
      await once(s, 'connect');
      s.write(bytes);
      s.end();
      await once(s, 'close');
    }
    const [[row]] = (await good.query('SELECT 40 + 2 AS n')) as unknown as [[{ n: number }]];
    assert.equal(row.n, 42);
  });
});
