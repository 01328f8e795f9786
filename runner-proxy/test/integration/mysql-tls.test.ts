import assert from 'node:assert/strict';
import { test } from 'node:test';
import { governMysql, startMariadb } from '../fixtures/mariadb.js';

test('TLS to the target: the gateway verifies the MariaDB certificate against the connection\'s ca and relays over it', async () => {
  const target = await startMariadb({ tls: true });
  const db = await governMysql(target.appUrl, '  - name: none\n    block: { sql: [drop] }\n', '', { ca: target.caPem! });
  try {
    const c = await db.client();
    const [[row]] = (await c.query("SELECT VARIABLE_VALUE AS v FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'")) as unknown as [[{ v: string }]];
    assert.notEqual(row.v, '', 'the gateway\'s connection to the target is encrypted');
  } finally {
    await db.stop();
    await target.stop();
  }
});
