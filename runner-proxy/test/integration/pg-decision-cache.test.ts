import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { launch, shutdown, type Launched } from '../../src/cli/launch.js';
import { startTarget, type Target } from '../fixtures/pg-gateway.js';

/**
 * Statements seen before are decided from caches (by exact text, and by shape with the numbers taken
 * out). These tests change what would make the decision differ, and check that it does.
 */
const POLICY = `version: 1
connections:
  open:
    postgres: { url: "\${TARGET_URL}" }
    export: OPEN_URL
  guarded:
    postgres: { url: "\${TARGET_URL}" }
    export: GUARDED_URL
  masked:
    postgres: { url: "\${TARGET_URL}" }
    export: MASKED_URL
rules:
  - name: pii
    when: { connection: masked }
    mask: { columns: ["*.ssn"] }
  - name: guarded-reads
    when: { connection: guarded }
    block: { sql: [read] }
  - name: no-bulk-deletes
    block: { sql: [delete_without_where] }
`;

async function outcome(client: pg.Client, sql: string): Promise<string> {
  try {
    await client.query(sql);
    return 'ran';
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  }
}

describe('PostgreSQL decision caches', () => {
  let target: Target;
  let launched: Launched;
  const clients: pg.Client[] = [];

  async function connect(exportName: 'OPEN_URL' | 'GUARDED_URL' | 'MASKED_URL'): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: launched.gateway.exports()[exportName] });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  before(async () => {
    target = await startTarget();
    await target.direct('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await target.direct("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
    const dir = mkdtempSync(join(tmpdir(), 'govern-pg-cache-'));
    writeFileSync(join(dir, 'policy.yml'), POLICY);
    launched = await launch({ policyPath: join(dir, 'policy.yml'), outDir: join(dir, 'session'), tokenEnv: undefined, env: { TARGET_URL: target.appUrl }, log: { info: () => undefined, warn: () => undefined } });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await shutdown(launched, 'test done');
    await target.stop();
  });

  test('the same text on another connection is decided by that connection’s rules', async () => {
    const open = await connect('OPEN_URL');
    const guarded = await connect('GUARDED_URL');
    const sql = 'SELECT name FROM items WHERE id = 1';
    assert.equal(await outcome(open, sql), 'ran');
    assert.equal(await outcome(open, sql), 'ran');
    assert.match(await outcome(guarded, sql), /refused: .*guarded-reads/);
    assert.equal(await outcome(open, sql), 'ran');
    // The same shape with another number, and the same text as a prepared statement.
    assert.match(await outcome(guarded, 'SELECT name FROM items WHERE id = 2'), /guarded-reads/);
    await assert.rejects(guarded.query({ text: sql, name: 'by-name' }), /guarded-reads/);
    assert.equal((await open.query({ text: sql, name: 'by-name' })).rows[0].name, 'one');
  });

  test('a shape with its WHERE gone is not taken for the one with it', async () => {
    const open = await connect('OPEN_URL');
    assert.equal(await outcome(open, 'DELETE FROM items WHERE id = 3'), 'ran');
    assert.equal(await outcome(open, 'DELETE FROM items WHERE id = 4'), 'ran');
    assert.match(await outcome(open, 'DELETE FROM items'), /no-bulk-deletes/);
    assert.match(await outcome(open, 'DELETE FROM items WHERE 3 = 3'), /no-bulk-deletes/);
    assert.equal(await outcome(open, 'DELETE FROM items WHERE id = 3'), 'ran');
  });

  test('a text decided before is decided afresh once the session reads backslashes otherwise', async () => {
    const open = await connect('OPEN_URL');
    const sql = "SELECT 'a\\\\' AS v";
    assert.equal(await outcome(open, sql), 'ran');
    await open.query('SET standard_conforming_strings = off');
    assert.match(await outcome(open, sql), /refused: .*unparseable/);
    // Another session of the same connection, with the default setting, still runs it.
    const other = await connect('OPEN_URL');
    assert.equal(await outcome(other, sql), 'ran');
  });

  test('a result described in the same bytes as before is masked afresh after DDL renamed its column', async () => {
    const masked = await connect('MASKED_URL');
    await masked.query('CREATE TABLE people (id int, note text)');
    await masked.query("INSERT INTO people VALUES (1, 'kept')");
    for (let i = 0; i < 2; i++) assert.equal((await masked.query('SELECT note AS v FROM people')).rows[0].v, 'kept');
    await masked.query('ALTER TABLE people RENAME COLUMN note TO ssn');
    // Same table, column number, type and alias: the target describes this result exactly as before.
    assert.equal((await masked.query('SELECT ssn AS v FROM people')).rows[0].v, '[masked]');
    assert.equal((await masked.query({ text: 'SELECT ssn AS v FROM people', name: 'renamed' })).rows[0].v, '[masked]');
  });

  test('EXECUTE follows what this session PREPAREd under that name, not what another did', async () => {
    const first = await connect('OPEN_URL');
    const second = await connect('OPEN_URL');
    await first.query('PREPARE q AS SELECT name FROM items');
    await second.query('PREPARE q AS DELETE FROM items');
    assert.equal(await outcome(first, 'EXECUTE q'), 'ran');
    assert.match(await outcome(second, 'EXECUTE q'), /no-bulk-deletes/);
    assert.equal(await outcome(first, 'EXECUTE q'), 'ran');
  });
});
