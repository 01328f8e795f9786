import assert from 'node:assert/strict';
import { test } from 'node:test';
import { govern, waitingRequest } from '../fixtures/cli.js';
import { governMysql, startMariadb } from '../fixtures/mariadb.js';

test('a MySQL DELETE without WHERE is held until govern approve, a second one refused after govern deny', async () => {
  const target = await startMariadb();
  await target.direct('CREATE TABLE jobs (id INT, state TEXT); INSERT INTO jobs VALUES (1, "old"), (2, "old")');
  const db = await governMysql(target.appUrl, '  - name: reviewed-writes\n    approve: { sql: [delete_without_where] }\n', 'approvals: { via: cli, timeout: 30s }');
  try {
    const c = await db.client();
    const held = c.query('DELETE FROM jobs');
    const request = await waitingRequest(db.gateway.outDir);
    assert.equal(request.operation, 'DELETE FROM jobs');
    assert.equal((await target.direct<{ n: number }[]>('SELECT count(*) AS n FROM jobs'))[0]!.n, 2, 'nothing ran while it waited');
    const approved = await govern(['approve', request.id, '--out', db.gateway.outDir]);
    assert.equal(approved.status, 0, approved.stderr);
    assert.equal(((await held)[0] as { affectedRows: number }).affectedRows, 2);
    await target.direct('INSERT INTO jobs VALUES (3, "new")');
    const second = c.query('DELETE FROM jobs').then(() => undefined, (e: { errno?: number; message: string }) => e);
    const next = await waitingRequest(db.gateway.outDir);
    await govern(['deny', next.id, '--out', db.gateway.outDir]);
    assert.equal((await second)?.errno, 1142);
    const [[row]] = (await c.query('SELECT count(*) AS n FROM jobs')) as unknown as [[{ n: number }]];
    assert.equal(row.n, 1, 'the denied statement did not run and the connection is usable');
  } finally {
    await db.stop();
    await target.stop();
  }
});
