import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FrameReader } from '../../src/adapters/postgres/codec/frames.js';
import { Backend, readNotice, writeQuery, Writer } from '../../src/adapters/postgres/codec/messages.js';
import { connectUpstream, parseTargetUrl } from '../../src/adapters/postgres/upstream.js';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { prng } from '../fixtures/prng.js';

/** Reads backend frames from a raw socket until it closes or `until` says stop. */
function collectFrames(socket: Socket, until: (code: number) => boolean, timeoutMs = 5000): Promise<{ code: number; frame: Buffer }[]> {
  return new Promise((resolve) => {
    const frames: { code: number; frame: Buffer }[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(frames);
    };
    const reader = new FrameReader(
      {
        frame: (code, frame) => {
          frames.push({ code, frame: Buffer.from(frame) });
          if (until(code)) done();
          return true;
        },
        mayStream: () => true,
        streamed: () => undefined,
      },
      { maxFrame: 1 << 20 },
    );
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.once('close', done);
    socket.resume();
  });
}

describe('PostgreSQL adapter under bad input', () => {
  let target: Target;
  let db: GovernedDb;
  const rawSession = async () => {
    const gateway = parseTargetUrl(`${db.url}?sslmode=disable`);
    const { socket } = await connectUpstream(gateway, {});
    socket.on('error', () => undefined);
    return socket as Socket;
  };
  const healthy = async () => {
    const client = await db.client();
    assert.equal((await client.query('SELECT 42 AS answer')).rows[0].answer, 42);
  };
  const fatalOf = (frames: { code: number; frame: Buffer }[]) => frames.filter((f) => f.code === Backend.ErrorResponse).map((f) => readNotice(f.frame));

  before(async () => {
    target = await startTarget();
    await target.direct("CREATE TABLE secrets (id int, note text); INSERT INTO secrets VALUES (1, 'mail me at x@example.com')");
    db = await governDb(target.appUrl, '  - name: pii\n    mask: { types: [email] }\n  - name: no-drop\n    block: { sql: [drop] }');
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  test('a FunctionCall message is refused in the protocol, and the session goes on', async () => {
    const socket = await rawSession();
    // FunctionCall of pg_terminate_backend (OID 2096) with one int4 argument in binary.
    const call = new Writer().int32(2096).int16(1).int16(1).int16(1).int32(4).int32(1).int16(0).finish(0x46);
    socket.write(Buffer.concat([call, writeQuery('SELECT 1')]));
    let readies = 0;
    const frames = await collectFrames(socket, (code) => code === Backend.ReadyForQuery && ++readies === 2);
    const [error] = fatalOf(frames);
    assert.equal(error?.get('S'), 'ERROR');
    assert.equal(error?.get('C'), '42501');
    assert.match(error!.get('M')!, /function call is refused unless a rule allows it/);
    assert.ok(frames.some((f) => f.code === Backend.DataRow), 'the next query ran');
    socket.destroy();
  });

  test('a frame with an impossible length ends that connection with 08P01, and only that one', async () => {
    const socket = await rawSession();
    socket.write(Buffer.from([0x51, 0, 0, 0, 2]));
    const [fatal] = fatalOf(await collectFrames(socket, () => false));
    assert.equal(fatal?.get('S'), 'FATAL');
    assert.equal(fatal?.get('C'), '08P01');
    await healthy();
  });

  test('an unknown message type, an unterminated string and a truncated Bind', async () => {
    for (const bytes of [
      new Writer().cstring('x').finish(0x21),
      new Writer().bytes(Buffer.from('SELECT 1')).finish(0x51),
      new Writer().cstring('').cstring('').int16(0).int16(5).finish(0x42),
    ]) {
      const socket = await rawSession();
      socket.write(bytes);
      const [fatal] = fatalOf(await collectFrames(socket, () => false));
      assert.equal(fatal?.get('C'), '08P01', fatal?.get('M'));
    }
    await healthy();
  });

  test('a message larger than the gateway inspects is refused before it arrives whole', async () => {
    const socket = await rawSession();
    const header = Buffer.alloc(5);
    header[0] = 0x51;
    header.writeInt32BE(100 * 1024 * 1024, 1);
    socket.write(Buffer.concat([header, Buffer.alloc(1024, 0x41)]));
    const [fatal] = fatalOf(await collectFrames(socket, () => false));
    assert.equal(fatal?.get('C'), '54000');
    assert.match(fatal!.get('M')!, /larger than the \d+ bytes the gateway inspects/);
    await healthy();
  });

  test('a large query and a result larger than one inspected frame both pass', async () => {
    const client = await db.client();
    const big = 'y'.repeat(4 * 1024 * 1024);
    assert.equal((await client.query(`SELECT length('${big}') AS n`)).rows[0].n, big.length);
    const { rows } = await client.query("SELECT length(repeat('z', 70 * 1024 * 1024)) AS n, repeat('z', 70 * 1024 * 1024)::bytea AS blob");
    assert.equal(rows[0].n, 70 * 1024 * 1024);
    assert.equal((rows[0].blob as Buffer).length, 70 * 1024 * 1024);
  });

  test('a client that disconnects mid-query does not disturb the others', async () => {
    const socket = await rawSession();
    socket.write(writeQuery('SELECT pg_sleep(30)'));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    await healthy();
    // The query of the client that left is cancelled, not left running for its 30 s.
    for (let i = 0; i < 50; i++) {
      const { rows } = await target.direct("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'");
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('the query of a client that left is still running');
  });

  test('startup: a bad length (closed without a word, as PostgreSQL does), and data sent ahead of the SSL answer', async () => {
    const port = Number(new URL(db.url).port);
    const bad = connect(port, '127.0.0.1');
    bad.write(Buffer.from([0, 0, 0, 3, 1, 2, 3]));
    const frames = await collectFrames(bad, () => false);
    assert.deepEqual(frames, []);
    const injected = connect(port, '127.0.0.1');
    const ssl = Buffer.alloc(8);
    ssl.writeInt32BE(8, 0);
    ssl.writeInt32BE(80877103, 4);
    injected.write(Buffer.concat([ssl, writeQuery('SELECT 1')]));
    injected.resume();
    await once(injected, 'close');
    await healthy();
  });

  test('a randomized message fuzzer never crashes the gateway or leaks a masked value', async () => {
    const rand = prng(20261125);
    const codes = [0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x50, 0x51, 0x53, 0x58, 0x63, 0x64, 0x66, 0x70, 0x21];
    const valid = [
      writeQuery("SELECT note FROM secrets"),
      new Writer().cstring('').cstring('SELECT note FROM secrets WHERE id = $1').int16(0).finish(0x50),
      new Writer().cstring('').cstring('').int16(0).int16(1).int32(1).bytes(Buffer.from('1')).int16(0).finish(0x42),
      new Writer().byte(0x50).cstring('').finish(0x44),
      new Writer().cstring('').int32(0).finish(0x45),
      new Writer().finish(0x53),
    ];
    const deadline = Date.now() + 4000;
    let cases = 0;
    while (Date.now() < deadline && cases < 300) {
      cases++;
      const socket = await rawSession();
      const parts: Buffer[] = [];
      for (let i = 0, n = 1 + Math.floor(rand() * 6); i < n; i++) {
        if (rand() < 0.5) {
          const base = Buffer.from(valid[Math.floor(rand() * valid.length)]!);
          for (let flips = Math.floor(rand() * 3); flips > 0; flips--) base[Math.floor(rand() * base.length)] = Math.floor(rand() * 256);
          parts.push(base);
        } else {
          const body = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
          parts.push(new Writer().bytes(body).finish(codes[Math.floor(rand() * codes.length)]!));
        }
      }
      parts.push(new Writer().finish(0x53));
      const stream = Buffer.concat(parts);
      // Deliver in random pieces, so frames also arrive split.
      for (let at = 0; at < stream.length; ) {
        const next = Math.min(stream.length, at + 1 + Math.floor(rand() * 16));
        socket.write(stream.subarray(at, next));
        at = next;
      }
      const frames = await collectFrames(socket, (code) => code === Backend.ReadyForQuery, 2000);
      socket.destroy();
      const text = frames.map((f) => f.frame.toString('latin1')).join('');
      assert.ok(!text.includes('x@example.com'), `case ${cases}: a masked value leaked`);
    }
    assert.ok(cases >= 20, `only ${cases} fuzz cases ran`);
    await healthy();
  });
});
