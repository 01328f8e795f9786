import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

const PYTHON = '/usr/bin/python3';
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** An untyped startup-phase packet: its length, then the given int32s and bytes. */
function packet(...parts: (number | Buffer)[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'number' ? int32(p) : p)));
  return Buffer.concat([int32(body.length + 4), body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** What a server sends back to `bytes` until it closes: nothing, single-byte answers, and the SQLSTATE of a FATAL. */
async function answerTo(port: number, bytes: Buffer[], closeAfter = false): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  for (const b of bytes) {
    socket.write(b);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (closeAfter) socket.end();
  const timer = setTimeout(() => socket.destroy(), 3_000);
  await closed;
  clearTimeout(timer);
  return describeAnswer(received);
}

function describeAnswer(received: Buffer): string {
  const parts: string[] = [];
  let at = 0;
  while (at < received.length) {
    const code = String.fromCharCode(received[at]!);
    if (code === 'E' && received.length >= at + 5) {
      const fields = received.subarray(at + 5, at + 1 + received.readInt32BE(at + 1)).toString('utf8').split('\0');
      parts.push(`E ${fields.find((f) => f.startsWith('S'))} ${fields.find((f) => f.startsWith('C'))}`);
      at += 1 + received.readInt32BE(at + 1);
    } else {
      parts.push(code);
      at += 1;
    }
  }
  return parts.join(', ') || 'closed silently';
}

const portOf = (url: string) => Number(new URL(url).port);

describe('the gateway answers clients as PostgreSQL does', () => {
  let target: Target;
  let db: GovernedDb;

  before(async () => {
    target = await startTarget();
    db = await governDb(target.appUrl, '  []');
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  describe('before the startup message', () => {
    // `declined` is an encryption request the server answers N: SSLRequest to the target (started
    // without TLS), GSSENCRequest to the gateway (the target's build accepts GSSAPI encryption).
    const cases: [string, (declined: Buffer) => Buffer[], boolean?][] = [
      ['a connection closed at once', () => [], true],
      ['Terminate before any startup', () => [Buffer.from([0x58, 0, 0, 0, 4])], true],
      ['Terminate, left open', () => [Buffer.from([0x58, 0, 0, 0, 4])]],
      ['half a length word', () => [Buffer.from([0, 0])], true],
      ['a length too short to hold a code', () => [int32(7), Buffer.from([0, 0, 0])]],
      ['a length past the largest startup packet', () => [int32(10_009)]],
      ['a declined encryption request, then Terminate', (declined) => [declined, Buffer.from([0x58, 0, 0, 0, 4])], true],
      ['a declined encryption request, then the connection closed', (declined) => [declined], true],
      ['the same encryption request twice', (declined) => [declined, declined]],
      ['an encryption request with data behind it in one write', (declined) => [Buffer.concat([declined, packet(196608, Buffer.from('user\0app\0\0'))])]],
      ['a declined encryption request, then a CancelRequest', (declined) => [declined, packet(CANCEL_REQUEST, 4242, 4242)]],
      ['a CancelRequest for no session', () => [packet(CANCEL_REQUEST, 4242, 4242)]],
      ['a CancelRequest of the wrong length', () => [packet(CANCEL_REQUEST, 4242)]],
      ['a CancelRequest with a long key', () => [packet(CANCEL_REQUEST, 4242, Buffer.alloc(32, 1))]],
      ['protocol 4.0', () => [packet(4 << 16, Buffer.from('user\0app\0\0'))]],
      ['a startup without its terminator', () => [packet(196608, Buffer.from('user\0app\0'))]],
    ];
    for (const [name, bytes, closeAfter] of cases) {
      test(name, async () => {
        const direct = await answerTo(target.pg.port, bytes(packet(SSL_REQUEST)), closeAfter);
        const through = await answerTo(portOf(db.url), bytes(packet(GSSENC_REQUEST)), closeAfter);
        assert.equal(through, direct);
      });
    }

    test('SSLRequest is answered S; a client that leaves then, or after the handshake, is let go silently', async () => {
      assert.equal(await answerTo(portOf(db.url), [packet(SSL_REQUEST)], true), 'S');
      assert.equal(await answerTo(portOf(db.url), [packet(SSL_REQUEST), Buffer.from('not a TLS hello, long enough')]), 'S');
    });

    test('node-postgres connecting and ending at once sees no error, as direct', async () => {
      for (const url of [target.appUrl, db.url]) {
        const client = new pg.Client({ connectionString: url });
        const errors: Error[] = [];
        client.on('error', (e) => errors.push(e));
        // What node-postgres's own quick-disconnect test does: the Terminate leaves before the startup.
        void client.connect().catch((e: Error) => errors.push(e));
        await client.end();
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(errors.map((e) => e.message).filter((m) => !/Connection terminated/.test(m)), [], url === db.url ? 'through the gateway' : 'direct');
      }
    });
  });

  describe('the backend process id and cancel keys', () => {
    test('BackendKeyData carries the process id that pg_backend_pid() and notifications carry', async () => {
      const client = await db.client();
      const processID = (client as unknown as { processID: number }).processID;
      const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
      assert.equal(rows[0].pid, processID);
      await client.query('LISTEN own');
      const got = once(client, 'notification');
      await client.query("NOTIFY own, 'mine'");
      const [message] = (await got) as [{ processId: number }];
      assert.equal(message.processId, processID);
    });

    test("a CancelRequest with the real process id but not the gateway's secret cancels nothing", async () => {
      const client = await db.client();
      const processID = (client as unknown as { processID: number }).processID;
      const running = client.query('SELECT pg_sleep(1.5) AS slept');
      await new Promise((r) => setTimeout(r, 300));
      for (const secret of [0, 1, -1, 123456789]) await answerTo(portOf(db.url), [packet(CANCEL_REQUEST, processID, secret)]);
      assert.deepEqual((await running).rows, [{ slept: '' }]);
    });

    test("node-postgres's own cancel (pg.Query through a second connection) still stops a query", async () => {
      const client = await db.client();
      const started = Date.now();
      const running = client.query('SELECT pg_sleep(20)').then(() => 'finished', (e: { code: string }) => e.code);
      await new Promise((r) => setTimeout(r, 300));
      const processID = (client as unknown as { processID: number }).processID;
      const secretKey = (client as unknown as { secretKey: number }).secretKey;
      await answerTo(portOf(db.url), [packet(CANCEL_REQUEST, processID, secretKey)]);
      assert.equal(await running, '57014');
      assert.ok(Date.now() - started < 10_000);
    });
  });

  describe('client_encoding', () => {
    for (const spelling of ['UNICODE', 'unicode', 'utf8', "'UTF-8'", "'utf_8'", 'LATIN1', "'ISO-8859-1'", 'WIN1252']) {
      test(`SET client_encoding TO ${spelling}: statements with backslashes still run`, async () => {
        const client = await db.client();
        await client.query(`SET client_encoding TO ${spelling}`);
        const { rows } = await client.query("SELECT E'a\\\\b' AS s, 'c\\d' AS t");
        assert.deepEqual(rows, [{ s: 'a\\b', t: 'c\\d' }]);
        await client.query('RESET client_encoding');
      });
    }

    for (const spelling of ['SJIS', "'Shift_JIS'", 'WIN932', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB']) {
      test(`SET client_encoding TO ${spelling}: a statement with a backslash is refused, one without runs`, async () => {
        const client = await db.client();
        await client.query(`SET client_encoding TO ${spelling}`);
        assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
        await assert.rejects(client.query("SELECT 'c\\d' AS t"), { code: '42601', message: /unparseable/ });
        await client.query('RESET client_encoding');
        assert.deepEqual((await client.query("SELECT 'c\\d' AS t")).rows, [{ t: 'c\\d' }]);
      });
    }

    test('standard_conforming_strings off stays unsafe whatever the encoding says', async () => {
      const client = await db.client();
      await client.query('SET standard_conforming_strings = off');
      await client.query('SET client_encoding TO UTF8');
      await assert.rejects(client.query("SELECT 'c\\d' AS t"), { code: '42601', message: /unparseable/ });
      await client.query('SET standard_conforming_strings = on');
      assert.deepEqual((await client.query("SELECT 'c\\d' AS t")).rows, [{ t: 'c\\d' }]);
    });
  });

  test('COPY FROM STDIN sent as one large CopyData passes at the pace of the pipe, as direct', async () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => `${i}\tsome text for row ${i}\n`).join('');
    await target.direct('CREATE TABLE bulk (id int, note text)');
    const timed = async (client: pg.Client) => {
      const started = performance.now();
      await pipeline(Readable.from([Buffer.from(rows)]), client.query(copyFrom('COPY bulk FROM STDIN')));
      return performance.now() - started;
    };
    const direct = new pg.Client({ connectionString: target.appUrl });
    await direct.connect();
    const directMs = await timed(direct);
    await direct.end();
    const throughMs = await timed(await db.client());
    assert.equal((await target.direct('SELECT count(*)::int AS n FROM bulk')).rows[0].n, 600_000);
    // Held whole, the frame cost a copy per arriving chunk (over 10x direct); streamed, about direct.
    assert.ok(throughMs < directMs * 3 + 1000, `${Math.round(throughMs)} ms through the gateway, ${Math.round(directMs)} ms direct`);
  });

  describe("TLS on the job's listener", () => {
    const ca = () => db.gateway.exports().PGSSLROOTCERT!;
    const withMode = (mode: string, host = '127.0.0.1') => {
      const u = new URL(db.url);
      u.hostname = host;
      return `${u.toString()}?sslmode=${mode}`;
    };

    test('psql: verify-full with PGSSLROOTCERT (by address and as localhost), require, and plain', async () => {
      const psql = `${target.pg.bin}/psql`;
      const query = ['-X', '-A', '-t', '-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', '-c', 'SHOW ssl'];
      for (const url of [withMode('verify-full'), withMode('verify-full', 'localhost'), withMode('verify-ca'), withMode('require')]) {
        const r = await runClient(psql, [url, ...query], { env: { ...process.env, PGSSLROOTCERT: ca() } });
        assert.equal(r.status, 0, `${url}: ${r.stderr}`);
        // The gateway's hop to the target is its own (plain here): what TLS the job has is its connection's to the gateway.
        assert.equal(r.stdout, 'f\noff\n');
      }
      const refused = await runClient(psql, [withMode('verify-full'), ...query], { env: { ...process.env, PGSSLROOTCERT: '/etc/ssl/certs/ca-certificates.crt' } });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /certificate verify failed/);
      const plain = await runClient(psql, [withMode('disable'), ...query]);
      assert.equal(plain.status, 0, plain.stderr);
    });

    test('node-postgres: verify-full with the CA, and with sslrootcert in the URL', async () => {
      for (const config of [
        { connectionString: db.url, ssl: { ca: readFileSync(ca(), 'utf8') } },
        { connectionString: `${withMode('verify-full')}&sslrootcert=${encodeURIComponent(ca())}` },
      ]) {
        const client = new pg.Client(config);
        await client.connect();
        const socket = (client as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
        assert.equal(socket.encrypted, true);
        assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
        await client.end();
      }
      const untrusted = new pg.Client({ connectionString: db.url, ssl: { rejectUnauthorized: true } });
      await assert.rejects(untrusted.connect(), /self-signed certificate in certificate chain|unable to verify/);
    });

    test('psycopg2: verify-full and require', async () => {
      const script = [
        'import psycopg2, sys',
        'for mode in ("verify-full", "require", "disable"):',
        '    conn = psycopg2.connect(sys.argv[1], sslmode=mode)',
        '    cur = conn.cursor()',
        '    cur.execute("SELECT 1")',
        '    print(mode, cur.fetchone()[0], conn.info.ssl_in_use)',
        '    conn.close()',
      ].join('\n');
      const r = await runClient(PYTHON, ['-c', script, db.url], { env: { ...process.env, PGSSLROOTCERT: ca() } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'verify-full 1 True\nrequire 1 True\ndisable 1 False\n');
    });
  });
});
