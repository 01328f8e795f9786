import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { govern, waitingRequest } from '../fixtures/cli.js';

const RULES = `
  - name: reviewed-writes
    approve: { sql: [delete_without_where, update_without_where] }
`;

describe('PostgreSQL statements held for approval', () => {
  let target: Target;
  let db: GovernedDb;

  before(async () => {
    target = await startTarget();
    await target.direct("CREATE TABLE jobs (id int, state text); INSERT INTO jobs SELECT g, 'old' FROM generate_series(1, 5) g");
    db = await governDb(target.appUrl, RULES, 'approvals: { via: cli, timeout: 30s }');
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  test('psql waits on a held DELETE and completes after govern approve', async () => {
    const psql = spawn(`${target.pg.bin}/psql`, [db.url, '-X', '-c', 'DELETE FROM jobs'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    psql.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const closed = once(psql, 'close');
    const request = await waitingRequest(db.gateway.outDir);
    assert.equal(request.operation, 'DELETE FROM jobs');
    assert.equal((await target.direct('SELECT count(*)::int AS n FROM jobs')).rows[0].n, 5, 'nothing ran while it waited');
    const approved = await govern(['approve', request.id, '--out', db.gateway.outDir]);
    assert.equal(approved.status, 0, approved.stderr);
    const [status] = (await closed) as [number];
    assert.equal(status, 0);
    assert.match(out, /DELETE 5/);
  });

  test('node-postgres waits inside a transaction, gets the protocol error after govern deny, and can roll back', async () => {
    await target.direct("INSERT INTO jobs SELECT g, 'new' FROM generate_series(1, 3) g");
    const client = await db.client();
    await client.query('BEGIN');
    await client.query("INSERT INTO jobs VALUES (99, 'inside')");
    const held = client.query("UPDATE jobs SET state = 'done'").then(
      () => undefined,
      (e: { code?: string; message: string }) => e,
    );
    const request = await waitingRequest(db.gateway.outDir);
    const denied = await govern(['deny', request.id, '--reason', 'not on a Friday', '--out', db.gateway.outDir]);
    assert.equal(denied.status, 0, denied.stderr);
    const error = await held;
    assert.equal(error?.code, '42501');
    assert.match(error!.message, new RegExp(`denied by cli:\\w+: not on a Friday \\(rule "reviewed-writes", request ${request.id}\\)`));
    await client.query('ROLLBACK');
    assert.equal((await client.query("SELECT count(*)::int AS n FROM jobs WHERE state = 'done' OR id = 99")).rows[0].n, 0);
  });

  test('an approval releases only the statement it was asked for', async () => {
    const client = await db.client();
    const first = client.query("UPDATE jobs SET state = 'first'");
    const request = await waitingRequest(db.gateway.outDir);
    await govern(['approve', request.id, '--out', db.gateway.outDir]);
    await first;
    const again = await govern(['approve', request.id, '--out', db.gateway.outDir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no operation waits under approval id/);
    const second = client.query("UPDATE jobs SET state = 'second'").then(
      () => undefined,
      (e: { code?: string }) => e,
    );
    const next = await waitingRequest(db.gateway.outDir);
    assert.notEqual(next.id, request.id, 'the same statement asks again');
    await govern(['deny', next.id, '--out', db.gateway.outDir]);
    assert.equal((await second)?.code, '42501');
  });

  test('a prepared statement asks at each execution, and the approver sees its parameters, masked', async () => {
    const reviewed = await governDb(target.appUrl, '  - name: reviewed-deletes\n    approve: { sql: [delete] }\n', 'approvals: { via: cli, timeout: 30s }');
    try {
      await target.direct("INSERT INTO jobs VALUES (100, 'batch'), (101, 'batch'), (102, '536-22-4711')");
      const client = await reviewed.client();
      const purge = (value: unknown) => client.query({ name: 'purge', text: 'DELETE FROM jobs WHERE id = $1 OR state = $1::text', values: [value] });
      const first = purge(100);
      const request = await waitingRequest(reviewed.gateway.outDir);
      assert.equal(request.operation, "DELETE FROM jobs WHERE id = $1 OR state = $1::text -- with $1 = '100'");
      await govern(['approve', request.id, '--out', reviewed.gateway.outDir]);
      assert.equal((await first).rowCount, 1);

      const second = purge(101).then(() => undefined, (e: { code?: string }) => e);
      const next = await waitingRequest(reviewed.gateway.outDir);
      assert.notEqual(next.id, request.id, 'the second execution of the same prepared statement asks again');
      assert.match(next.operation, /-- with \$1 = '101'$/);
      await govern(['deny', next.id, '--out', reviewed.gateway.outDir]);
      assert.equal((await second)?.code, '42501');
      assert.equal((await target.direct('SELECT count(*)::int AS n FROM jobs WHERE id = 101')).rows[0].n, 1, 'the denied execution did not run');

      const third = purge('536-22-4711').then(() => undefined, (e: { code?: string }) => e);
      const masked = await waitingRequest(reviewed.gateway.outDir);
      assert.ok(!masked.operation.includes('536-22-4711'), masked.operation);
      assert.match(masked.operation, /\$1 = '\[masked/);
      await govern(['deny', masked.id, '--out', reviewed.gateway.outDir]);
      assert.equal((await third)?.code, '42501');

      await reviewed.gateway.governor.recorder.durable();
      const events = readFileSync(join(reviewed.gateway.outDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const ops = events.filter((e) => e.type === 'operation' && String(e.text).startsWith('DELETE FROM jobs'));
      assert.equal(ops[0]!.approval, 'asked at each execution', 'the Parse is recorded as asked at each execution');
      assert.equal(ops.filter((o) => / -- with \$1 = /.test(String(o.text))).length, 3, 'each execution is recorded with its parameters');
      assert.equal(events.filter((e) => e.type === 'approval.requested').length, 3);
    } finally {
      await reviewed.stop();
    }
  });
});

describe('a held statement whose client has gone', () => {
  test('is withdrawn: recorded, no longer pending, and not counted against max_pending', async () => {
    const target = await startTarget();
    const db = await governDb(target.appUrl, RULES, 'approvals: { via: cli, timeout: 60s, max_pending: 1 }');
    try {
      await target.direct("CREATE TABLE jobs (id int, state text); INSERT INTO jobs SELECT g, 'old' FROM generate_series(1, 5) g");
      const pendingNow = async () => (JSON.parse((await govern(['status', '--out', db.gateway.outDir, '--json'])).stdout) as { pending: unknown[] }).pending.length;
      for (const [client, sql] of [
        ['psql', 'DELETE FROM jobs'],
        ['node-postgres, extended protocol', 'UPDATE jobs SET state = $1'],
        ['psycopg2', 'DELETE FROM jobs'],
      ] as const) {
        const child =
          client === 'psql'
            ? spawn(`${target.pg.bin}/psql`, [db.url, '-X', '-c', sql], { stdio: 'ignore' })
            : client === 'psycopg2'
              ? spawn('/usr/bin/python3', ['-c', `import psycopg2, sys\nc = psycopg2.connect(sys.argv[1])\nc.cursor().execute("${sql}")`, db.url], { stdio: 'ignore' })
              : spawn(process.execPath, ['--input-type=module', '-e', `import pg from 'pg'; const c = new pg.Client(process.argv[1]); await c.connect(); await c.query(${JSON.stringify(sql)}, ['gone'])`, db.url], { stdio: 'ignore' });
        const request = await waitingRequest(db.gateway.outDir);
        child.kill('SIGKILL');
        await once(child, 'close');
        for (let i = 0; i < 100 && (await pendingNow()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await pendingNow(), 0, `${client}: the request left the pending list`);
        await db.gateway.governor.recorder.durable();
        const events = readFileSync(join(db.gateway.outDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        const decided = events.find((e) => e.type === 'approval.decided' && e.request_id === request.id);
        assert.equal(decided?.outcome, 'denied', client);
        assert.equal(decided?.reason, 'withdrawn: the client left before a decision');
        assert.equal((await target.direct("SELECT count(*)::int AS n FROM jobs WHERE state = 'old'")).rows[0].n, 5, 'nothing ran');
      }
      // With max_pending 1, a new hold is asked, not refused as over the limit.
      const client = await db.client();
      const held = client.query('DELETE FROM jobs').then(() => undefined, (e: { code?: string; message: string }) => e);
      const request = await waitingRequest(db.gateway.outDir);
      await govern(['deny', request.id, '--out', db.gateway.outDir]);
      assert.doesNotMatch((await held)!.message, /already wait for approval/);
    } finally {
      await db.stop();
      await target.stop();
    }
  });
});

describe('observe mode', () => {
  test('nothing is held or blocked; the record says what would have been', async () => {
    const target = await startTarget();
    const db = await governDb(target.appUrl, `${RULES}  - name: no-drop\n    block: { sql: [drop] }\n`, 'mode: observe');
    try {
      await target.direct("CREATE TABLE scratch (id int); INSERT INTO scratch VALUES (1), (2)");
      const client = await db.client();
      await client.query('DELETE FROM scratch');
      await client.query('DROP TABLE scratch');
      assert.equal((await target.direct("SELECT to_regclass('scratch') AS t")).rows[0].t, null, 'observe lets it through');
      await db.gateway.governor.recorder.durable();
      const events = readFileSync(join(db.gateway.outDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const ops = events.filter((e) => e.type === 'operation');
      assert.deepEqual(ops.map((e) => [e.text, e.verdict, e.enforced]), [
        ['DELETE FROM scratch', 'approve', 'allow'],
        ['DROP TABLE scratch', 'block', 'allow'],
      ]);
      assert.ok(!events.some((e) => e.type === 'approval.requested'), 'nothing waited');
    } finally {
      await db.stop();
      await target.stop();
    }
  });
});
