import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';

const RULES = `
  - name: pii
    mask: { columns: ["users.ssn"] }
  - name: no-bulk-writes
    block: { sql: [delete_without_where, update_without_where] }
`;

async function refused(client: pg.Client, sql: string, values?: unknown[]): Promise<{ code?: string; message: string }> {
  try {
    await client.query(sql, values);
  } catch (e) {
    return e as { code?: string; message: string };
  }
  assert.fail(`expected "${sql}" to be refused`);
}

describe('PostgreSQL safe defaults and lineage', () => {
  let target: Target;
  let db: GovernedDb;
  let client: pg.Client;

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE users (id int PRIMARY KEY, name text, ssn text)');
    await target.direct("INSERT INTO users VALUES (1, 'Ada Lovelace', '536-22-4711'), (2, 'Bob Builder', '219-45-0001')");
    db = await governDb(target.appUrl, RULES, 'approvals: { timeout: 1s }');
    client = await db.client();
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
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
