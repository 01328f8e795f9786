import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { verifyBundle } from '../../src/recording/verify.js';
import { govern } from '../fixtures/cli.js';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

const RULES = `
  - name: pii
    mask: { columns: ["people.ssn"], types: [us_ssn, email] }
  - name: no-destruction
    block: { sql: [drop, truncate] }
`;
const PYTHON = '/usr/bin/python3';

describe('real PostgreSQL clients through the gateway', () => {
  let target: Target;
  let db: GovernedDb;

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE people (id serial PRIMARY KEY, name text, ssn text, email text)');
    await target.direct("INSERT INTO people (name, ssn, email) SELECT 'p' || g, '536-22-' || lpad(g::text, 4, '0'), 'p' || g || '@example.com' FROM generate_series(1, 500) g");
    db = await governDb(target.appUrl, RULES);
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  describe('psql', () => {
    const psql = (args: string[], input?: string) => runClient(`${target.pg.bin}/psql`, [db.url, '-X', ...args], input === undefined ? {} : { input });

    test('queries, masking and a blocked DROP, in one session', async () => {
      const r = await psql(['-A', '-t', '-c', 'SELECT count(*) FROM people', '-c', 'SELECT ssn, email FROM people WHERE id = 7', '-c', 'DROP TABLE people', '-c', "SELECT 'still here'"]);
      assert.equal(r.stdout, '500\n[masked]|[masked:email]\nstill here\n');
      assert.match(r.stderr, /ERROR: {2}govern: blocked by rule "no-destruction"/);
    });

    test('\\copy both ways', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'govern-copy-'));
      try {
        const file = join(dir, 'out.csv');
        const out = await psql(['-c', `\\copy people TO '${file}' WITH (FORMAT csv)`]);
        assert.equal(out.status, 0, out.stderr);
        const refusedQuery = await psql(['-c', `\\copy (SELECT id, ssn FROM people) TO '${file}.2'`]);
        assert.match(refusedQuery.stderr, /COPY \(query\) output from people may carry a masked column \(ssn\) and cannot be masked/);
        const inFile = join(dir, 'in.tsv');
        writeFileSync(inFile, '9001\tcopied\t123-45-6780\tcopied@example.com\n');
        const back = await psql(['-c', `\\copy people (id, name, ssn, email) FROM '${inFile}'`]);
        assert.equal(back.status, 0, back.stderr);
        assert.equal((await target.direct('SELECT name FROM people WHERE id = 9001')).rows[0].name, 'copied');
        const { readFileSync } = await import('node:fs');
        assert.match(readFileSync(file, 'utf8'), /^1,p1,\[masked\],\[masked:email\]\n2,p2,\[masked\],\[masked:email\]\n/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('Ctrl-C cancels a running query through the gateway', async () => {
      const child = spawn(`${target.pg.bin}/psql`, [db.url, '-X', '-c', 'SELECT pg_sleep(30)'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      await new Promise((r) => setTimeout(r, 700));
      const started = Date.now();
      child.kill('SIGINT');
      const [status] = (await once(child, 'close')) as [number];
      assert.ok(Date.now() - started < 10_000, 'the query stopped well before its 30 s');
      assert.notEqual(status, 0);
      assert.match(stderr, /canceling statement due to user request/);
    });
  });

  describe('pgbench', () => {
    before(async () => {
      const init = await runClient(`${target.pg.bin}/pgbench`, ['-i', '-s', '1', '-q', target.appUrl]);
      assert.equal(init.status, 0, init.stderr);
    });
    for (const mode of ['simple', 'extended', 'prepared']) {
      test(`-M ${mode}`, async () => {
        const r = await runClient(`${target.pg.bin}/pgbench`, ['-n', '-S', '-M', mode, '-c', '2', '-t', '200', db.url]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /number of transactions actually processed: 400\/400/);
        assert.match(r.stdout, /number of failed transactions: 0/);
      });
    }
    test('pipeline mode: many statements in flight, answered in order, masked', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'govern-pipeline-'));
      try {
        const script = join(dir, 'pipeline.sql');
        writeFileSync(script, ['\\startpipeline', ...Array.from({ length: 20 }, (_, i) => `SELECT ssn, ${i} AS i FROM people WHERE id = ${i + 1};`), '\\endpipeline', ''].join('\n'));
        const r = await runClient(`${target.pg.bin}/pgbench`, ['-n', '-M', 'extended', '-f', script, '-c', '2', '-t', '20', db.url]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /number of transactions actually processed: 40\/40/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the read-write TPC-B script, with transactions', async () => {
      const r = await runClient(`${target.pg.bin}/pgbench`, ['-n', '-M', 'extended', '-c', '2', '-t', '50', db.url]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /number of transactions actually processed: 100\/100/);
    });
  });

  describe('node-postgres', () => {
    test('parameterised queries, a transaction, and a refusal that the transaction survives by rolling back', async () => {
      const client = await db.client();
      const { rows } = await client.query('SELECT name, ssn FROM people WHERE id = $1', [42]);
      assert.deepEqual(rows, [{ name: 'p42', ssn: '[masked]' }]);
      await client.query('BEGIN');
      await client.query("INSERT INTO people (name) VALUES ('in-tx')");
      await assert.rejects(client.query('TRUNCATE people'), { code: '42501' });
      await client.query('ROLLBACK');
      assert.equal((await client.query("SELECT count(*)::int AS n FROM people WHERE name = 'in-tx'")).rows[0].n, 0);
    });

    test('pg-copy-streams both ways', async () => {
      const client = await db.client();
      const rows = Array.from({ length: 1000 }, (_, i) => `${20000 + i}\tstream${i}\t\\N\ts${i}@example.net\n`).join('');
      await pipeline(Readable.from([rows]), client.query(copyFrom('COPY people (id, name, ssn, email) FROM STDIN')));
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM people WHERE id >= 20000')).rows[0].n, 1000);
      let out = '';
      await pipeline(
        client.query(copyTo('COPY (SELECT id, email FROM people WHERE id >= 20000 ORDER BY id) TO STDOUT')),
        new Writable({ write: (chunk: Buffer, _e, cb) => ((out += chunk.toString()), cb()) }),
      );
      assert.equal(out.split('\n').length - 1, 1000);
      assert.ok(!out.includes('@example.net'), 'emails are masked in COPY output');
    });

    test('LISTEN/NOTIFY, with the payload masked', async () => {
      const listener = await db.client();
      const notifier = await db.client();
      await listener.query('LISTEN jobs');
      const got = once(listener, 'notification');
      await notifier.query("SELECT pg_notify('jobs', 'done for 536-22-4711')");
      const [message] = (await got) as [{ channel: string; payload: string }];
      assert.equal(message.channel, 'jobs');
      assert.equal(message.payload, 'done for [masked:us_ssn]');
    });

  });

  test('python3-psycopg2', async () => {
    const script = [
      'import psycopg2, sys',
      'conn = psycopg2.connect(sys.argv[1])',
      'cur = conn.cursor()',
      'cur.execute("SELECT name, ssn FROM people WHERE id = %s", (3,))',
      'print(cur.fetchone())',
      'try:',
      '    cur.execute("DROP TABLE people")',
      'except psycopg2.Error as e:',
      '    print("refused", e.pgcode)',
      '    conn.rollback()',
      'cur.execute("SELECT count(*) FROM people WHERE id < 600")',
      'print(cur.fetchone()[0])',
      'conn.close()',
    ].join('\n');
    const r = await runClient(PYTHON, ['-c', script, db.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "('p3', '[masked]')\nrefused 42501\n500\n");
  });

  test('govern run: the job sees a loopback URL, never the real one, and reaches the target through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-run-pg-'));
    try {
      const policy = join(dir, 'govern.yml');
      writeFileSync(policy, `version: 1\nconnections:\n  db:\n    postgres: { url: "\${PROD_DATABASE_URL}" }\n    export: DATABASE_URL\nrules:\n${RULES}`);
      const r = await govern(['run', '--policy', policy, '--out', join(dir, 'session'), '--', 'sh', '-c', `env; ${target.pg.bin}/psql "$DATABASE_URL" -X -A -t -c "SELECT ssn FROM people WHERE id = 1"`], {
        env: { PATH: process.env.PATH, PROD_DATABASE_URL: target.appUrl },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^DATABASE_URL=postgresql:\/\/app:[\w-]+@127\.0\.0\.1:\d+\/app$/m);
      assert.match(r.stdout, /^\[masked\]$/m);
      for (const text of [r.stdout, r.stderr]) {
        assert.ok(!text.includes(target.appPassword), 'the real password never reaches the job');
        assert.ok(!text.includes('PROD_DATABASE_URL'), 'the variable the policy reads is withheld');
      }
      assert.equal(verifyBundle(join(dir, 'session')).ok, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('reaching the target', () => {
  const RULE = '  - name: no-system\n    block: { sql: [alter_system] }';

  test('over TLS with verify-full: refused without the CA, encrypted with it', async () => {
    const target = await startTarget({ tls: true });
    try {
      const url = `${target.appUrl}?sslmode=verify-full`;
      await assert.rejects(governDb(url, RULE), /connection "db": TLS to the target failed: self-signed certificate/, 'refused when the gateway starts');
      const withCa = await governDb(url, RULE, '', { ca: target.pg.caPem! });
      const client = await withCa.client();
      const { rows } = await client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(rows[0].ssl, true);
      await withCa.stop();
    } finally {
      await target.stop();
    }
  });

  test('with md5 authentication', async () => {
    const target = await startTarget();
    try {
      const db = await governDb(target.pg.url('legacy', 'legacy-secret', 'app'), RULE);
      const client = await db.client();
      assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, 'legacy');
      await db.stop();
    } finally {
      await target.stop();
    }
  });

  test('a target that cannot be reached is one sentence when the gateway starts', async () => {
    await assert.rejects(governDb('postgresql://app:x@127.0.0.1:1/app', RULE), /^GovernError: connection "db": cannot reach 127\.0\.0\.1:1: .*; check the connection's url and credentials$/);
  });
});
