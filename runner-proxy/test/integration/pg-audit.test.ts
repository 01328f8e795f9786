import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { governDb, startTarget, type Target } from '../fixtures/pg-gateway.js';
import { resultsIn } from '../fixtures/records.js';

const RULE = '  - name: no-drop\n    block: { sql: [drop] }';
const events = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('what auditors ask of a PostgreSQL session', () => {
  let target: Target;
  before(async () => (target = await startTarget()));
  after(async () => target?.stop());

  test('a wrong target password is a start error naming the connection', async () => {
    const wrong = target.appUrl.replace(target.appPassword, 'not-the-password');
    await assert.rejects(governDb(wrong, RULE), (e: Error) => {
      assert.match(e.message, /^connection "db": the target 127\.0\.0\.1:\d+ refused the connection: password authentication failed for user "app"; check the connection's url and credentials$/);
      assert.ok(!e.message.includes('not-the-password'));
      return true;
    });
  });

  test('writes record their command tag and the rows they changed; failed connections are events', async () => {
    const db = await governDb(target.appUrl, RULE);
    const client = await db.client();
    await client.query('CREATE TABLE orders (id int PRIMARY KEY, state text)');
    await client.query("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 688) g");
    await client.query("UPDATE orders SET state = 'shipped' WHERE id <= 500");
    await client.query('SELECT * FROM orders WHERE id < $1', [11]);
    const wrongJobPassword = new pg.Client({ connectionString: db.url.replace(/:[^:@]+@/, ':wrong@') });
    await assert.rejects(wrongJobPassword.connect(), /password authentication failed/);
    // The target stops admitting the role mid-job: the next connection's refusal is recorded.
    await target.direct("ALTER ROLE app PASSWORD 'rotated-elsewhere'");
    try {
      await assert.rejects(db.client(), /refused the connection/);
    } finally {
      await target.direct(`ALTER ROLE app PASSWORD '${target.appPassword}'`);
    }
    const dir = db.gateway.outDir;
    await db.stop();
    const recorded = events(dir);
    const resultOf = (text: RegExp) => {
      const op = recorded.find((e) => e.type === 'operation' && text.test(String(e.text)))!;
      return resultsIn(recorded).find((r) => r.op === op.seq)!;
    };
    assert.deepEqual([resultOf(/^INSERT/).tag, resultOf(/^INSERT/).rows], ['INSERT 0 688', 688]);
    assert.deepEqual([resultOf(/^UPDATE/).tag, resultOf(/^UPDATE/).rows], ['UPDATE 500', 500]);
    assert.deepEqual([resultOf(/^SELECT/).tag, resultOf(/^SELECT/).rows], ['SELECT 10', 10]);
    assert.match(String(recorded.find((e) => e.type === 'auth.failed')?.message), /the job's password for user "app" was wrong/);
    assert.match(String(recorded.find((e) => e.type === 'connection.failed')?.message), /refused the connection: password authentication failed/);
    const everything = readFileSync(join(dir, 'events.jsonl'), 'utf8') + readFileSync(join(dir, 'report.html'), 'utf8');
    assert.ok(!everything.includes(target.appPassword) && !everything.includes('rotated-elsewhere'), 'no password in the record');
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /2 incidents \(1 authentication refused, 1 target connection failed\)/);
  });

  test('one event per statement: each result rides on a later event, and the last ones on their own at the end', async () => {
    const db = await governDb(target.appUrl, RULE);
    const client = await db.client();
    for (let i = 1; i <= 50; i++) await client.query(`SELECT ${i} AS n`);
    await client.query('SELECT $1::int AS n', [51]);
    await client.end();
    const dir = db.gateway.outDir;
    await db.stop();
    const recorded = events(dir);
    const statements = recorded.filter((e) => e.type === 'operation' && /^select \$?\d/i.test(String(e.text)));
    assert.equal(statements.length, 51);
    assert.equal(recorded.filter((e) => e.type === 'result').length, 0, 'no result has an event of its own');
    const results = resultsIn(recorded);
    for (const op of statements) {
      const result = results.find((r) => r.op === op.seq);
      assert.deepEqual([result?.tag, result?.rows], ['SELECT 1', 1], `the result of ${String(op.text)}`);
      const carrier = recorded.find((e) => (e.results as { op: number }[] | undefined)?.some((r) => r.op === op.seq))!;
      assert.ok((carrier.seq as number) > (op.seq as number), 'a result is recorded after its operation');
    }
    assert.equal(results.length, new Set(results.map((r) => r.op)).size, 'each result is recorded once');
  });
});
