import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { FrameQueue } from '../../src/adapters/postgres/codec/frame-queue.js';
import { CANCEL_REQUEST, GSSENC_REQUEST, PROTOCOL_3_0, SSL_REQUEST, Writer, writeQuery } from '../../src/adapters/postgres/codec/messages.js';
import { connectUpstream, parseTargetUrl } from '../../src/adapters/postgres/upstream.js';
import { MECHANISM, ScramClient } from '../../src/adapters/postgres/scram.js';
import { readRuntimeInfo } from '../../src/gateway/control.js';
import type { RecordedEvent } from '../../src/recording/recorder.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { govern } from '../fixtures/cli.js';
import { smallDisk, unmount } from '../fixtures/disk.js';
import { governDb, startTarget, type Target } from '../fixtures/pg-gateway.js';
import { prng } from '../fixtures/prng.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ignore = () => undefined;

function startupPacket(params: Record<string, string>, code = PROTOCOL_3_0): Buffer {
  const w = new Writer().int32(code);
  for (const [k, v] of Object.entries(params)) w.cstring(k).cstring(v);
  return w.byte(0).finish();
}

/** An untyped packet with any declared length, as an attacker writes it. */
function untyped(length: number, code: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(length | 0, 0);
  head.writeInt32BE(code | 0, 4);
  return Buffer.concat([head, body]);
}

/** A typed message with any declared length. */
function typed(code: number, length: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = code;
  head.writeInt32BE(length | 0, 1);
  return Buffer.concat([head, body]);
}

/** A gateway started as CI starts it (`govern start`, detached), serving one postgres connection. */
interface Detached {
  out: string;
  url: string;
  pid: number;
}

async function startDetached(root: string, name: string, targetUrl: string, out = join(root, name)): Promise<Detached> {
  const policy = join(root, `${name}.yml`);
  writeFileSync(policy, 'version: 1\nconnections:\n  db:\n    postgres: { url: "${TARGET_URL}" }\n    export: DATABASE_URL\nrules:\n  - name: no-drop\n    block: { sql: [drop] }\n');
  const started = await govern(['start', '--policy', policy, '--out', out], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TARGET_URL: targetUrl }, timeoutMs: 60_000 });
  assert.equal(started.status, 0, started.stderr);
  const info = readRuntimeInfo(out);
  return { out, url: info.env.DATABASE_URL!, pid: info.pid };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) if (!alive(pid)) return true;
  return false;
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

function eventsOf(out: string): RecordedEvent[] {
  const lines = readFileSync(join(out, 'events.jsonl'), 'utf8').split('\n');
  // A last line without its newline was cut off; it records nothing.
  return lines.slice(0, -1).map((line) => JSON.parse(line) as RecordedEvent);
}

/** Inserted values whose operation event is in the record. */
function recordedValues(out: string, pattern: RegExp): Set<number> {
  return new Set(
    eventsOf(out)
      .filter((e) => e.type === 'operation')
      .map((e) => pattern.exec(String(e.text))?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number),
  );
}

async function queryOk(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', ignore);
  await client.connect();
  try {
    return (await client.query('SELECT 42 AS answer')).rows[0].answer as number;
  } finally {
    await client.end().catch(ignore);
  }
}

describe('PostgreSQL listener under hostile bytes and faults', () => {
  let target: Target;
  let root: string;
  const mounts: string[] = [];

  before(async () => {
    target = await startTarget();
    root = mkdtempSync(join(tmpdir(), 'govern-faults-'));
  });
  after(async () => {
    for (const m of mounts) unmount(m);
    await target?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('a seeded fuzz before and after authentication leaves the gateway up, serving, bounded, and its guard unused', async (t) => {
    const gateway = await startDetached(root, 'fuzz', target.appUrl);
    const url = new URL(gateway.url);
    const port = Number(url.port);
    const credentials = { user: decodeURIComponent(url.username), database: url.pathname.slice(1) };
    const rand = prng(20261201);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const bytes = (max: number) => Buffer.from(Array.from({ length: Math.floor(rand() * max) }, () => Math.floor(rand() * 256)));
    const lengths = [0, 7, 2 ** 31 - 1, -1, 8, 9, 16, 17, 10_001];
    const codes = [SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST, PROTOCOL_3_0, PROTOCOL_3_0 + 1, 2 << 16, 1234];

    /** Bytes a client sends before it has authenticated. */
    const beforeAuth = (): Buffer => {
      const valid = startupPacket({ ...credentials, application_name: 'fuzz' });
      switch (Math.floor(rand() * 7)) {
        case 0:
          return bytes(40);
        case 1:
          return untyped(pick(lengths), pick(codes), bytes(24));
        case 2: // a parameter or the terminator missing: the packet's length is right, its content is not
          return untyped(8 + 5, PROTOCOL_3_0, Buffer.from('user\0'));
        case 3: // CancelRequests of every length
          return untyped(8 + Math.floor(rand() * 12), CANCEL_REQUEST, bytes(12));
        case 4: // encryption requests, repeated, with data behind them, or followed by a startup
          return Buffer.concat([untyped(8, pick([SSL_REQUEST, GSSENC_REQUEST]), Buffer.alloc(0)), rand() < 0.5 ? valid : bytes(20)]);
        case 5: {
          const mutated = Buffer.from(valid);
          for (let flips = 1 + Math.floor(rand() * 3); flips > 0; flips--) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
          return mutated;
        }
        default: // a good startup, then a SASL answer that is not one
          return Buffer.concat([valid, typed(0x70, pick(lengths), bytes(30)), typed(pick([0x70, 0x51, 0x58]), pick(lengths), bytes(10))]);
      }
    };
    /** Messages an authenticated client sends: bad lengths, bad bodies, and SQL the parser rejects. */
    const afterAuth = (): Buffer => {
      const parts: Buffer[] = [];
      for (let i = 1 + Math.floor(rand() * 4); i > 0; i--) {
        const r = rand();
        if (r < 0.3) parts.push(typed(pick([0x51, 0x50, 0x42, 0x44, 0x45, 0x53, 0x64, 0x21]), pick(lengths), bytes(20)));
        else if (r < 0.6) parts.push(writeQuery(pick(['SELEC 1', 'SELECT (((', "SELECT 'unterminated", 'INSERT INTO', 'DO $$ BEGIN', 'SELECT 1 /*', `SELECT ${'('.repeat(300)}`])));
        else parts.push(new Writer().bytes(bytes(30)).finish(pick([0x42, 0x43, 0x44, 0x45, 0x46, 0x48, 0x50, 0x51, 0x53, 0x63, 0x64, 0x66])));
      }
      return Buffer.concat(parts);
    };

    const deliver = async (socket: Socket, stream: Buffer) => {
      // Truncated, split into pieces, and now and then reset half-way.
      const end = rand() < 0.3 ? Math.floor(rand() * stream.length) : stream.length;
      const resetAt = rand() < 0.15 ? Math.floor(rand() * end) : -1;
      for (let at = 0; at < end; ) {
        const next = Math.min(end, at + 1 + Math.floor(rand() * 24));
        if (resetAt >= at && resetAt < next) return socket.resetAndDestroy();
        socket.write(stream.subarray(at, next));
        at = next;
        if (rand() < 0.2) await new Promise(setImmediate);
      }
      await Promise.race([once(socket, 'close'), sleep(100)]);
      socket.destroy();
    };
    const preAuthCase = async () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', ignore);
      socket.resume();
      await once(socket, 'connect').catch(ignore);
      await deliver(socket, beforeAuth());
    };
    const session = parseTargetUrl(`${gateway.url}?sslmode=disable`);
    const postAuthCase = async () => {
      const { socket } = await connectUpstream(session, { application_name: 'fuzz' });
      socket.on('error', ignore);
      socket.resume();
      await deliver(socket as Socket, afterAuth());
    };

    const deadline = Date.now() + 20_000;
    let cases = 0;
    let warmRss = 0;
    while (Date.now() < deadline && cases < 3000) {
      const batch = Array.from({ length: 16 }, () => (rand() < 0.75 ? preAuthCase() : postAuthCase()));
      await Promise.all(batch);
      cases += batch.length;
      if (!warmRss && cases >= 400) warmRss = rssMb(gateway.pid);
      assert.ok(alive(gateway.pid), `the gateway died at case ${cases}`);
    }
    assert.ok(cases >= 800, `only ${cases} fuzz cases ran`);
    assert.equal(await queryOk(gateway.url), 42);
    const finalRss = rssMb(gateway.pid);
    t.diagnostic(`${cases} cases; gateway RSS ${warmRss.toFixed(0)} MB after 400, ${finalRss.toFixed(0)} MB at the end`);
    assert.ok(finalRss < warmRss + 96, `RSS grew from ${warmRss.toFixed(0)} MB to ${finalRss.toFixed(0)} MB over ${cases} cases`);

    const stopped = await govern(['stop', '--out', gateway.out], { env: { PATH: process.env.PATH } });
    assert.equal(stopped.status, 0, stopped.stderr);
    const faults = eventsOf(gateway.out).filter((e) => e.type === 'gateway.fault');
    assert.deepEqual(faults, [], 'the last-resort guard was reached');
    assert.equal(verifyBundle(gateway.out).ok, true);
  });

  test('20 clients that leave right after their last SCRAM message leave no backend on the target', async () => {
    const db = await governDb(target.appUrl, '  - name: no-drop\n    block: { sql: [drop] }');
    try {
      const url = new URL(db.url);
      const vanish = async () => {
        const socket = connect(Number(url.port), '127.0.0.1');
        socket.on('error', ignore);
        await once(socket, 'connect');
        socket.write(startupPacket({ user: decodeURIComponent(url.username), database: url.pathname.slice(1), application_name: 'vanishing' }));
        const frames = new FrameQueue(socket, 'the test client');
        await frames.next();
        const scram = new ScramClient(decodeURIComponent(url.password));
        socket.write(serialize.sendSASLInitialResponseMessage(MECHANISM, scram.first()));
        const serverFirst = (await frames.next()).frame.subarray(9).toString('utf8');
        socket.write(serialize.sendSCRAMClientFinalMessage(scram.respond(serverFirst)));
        frames.detach();
        socket.destroy();
      };
      await Promise.all(Array.from({ length: 20 }, vanish));
      await sleep(1000);
      const { rows } = await target.direct("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'vanishing'");
      assert.equal(rows[0].n, 0, 'backends of clients that left are still open on the target');
      assert.equal((await (await db.client()).query('SELECT 42 AS answer')).rows[0].answer, 42);
    } finally {
      await db.stop();
    }
  });

  test('a client that leaves mid-COPY or while its statement waits for approval releases its target connection at once', async () => {
    const db = await governDb(target.appUrl, '  - name: reviewed\n    approve: { sql: [ddl] }', 'approvals: { via: cli, timeout: 60s }');
    try {
      await target.direct('CREATE TABLE copy_sink (n int)');
      const backends = async (name: string) =>
        (await target.direct('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])).rows[0].n as number;
      const leave = async (name: string, start: (socket: Socket) => Promise<void>) => {
        const { socket } = await connectUpstream(parseTargetUrl(`${db.url}?sslmode=disable`), { application_name: name });
        socket.on('error', ignore);
        socket.resume();
        assert.equal(await backends(name), 1);
        await start(socket as Socket);
        socket.destroy();
        await sleep(1000);
        assert.equal(await backends(name), 0, `the target connection of a client that left ${name} is still open`);
      };
      await leave('mid-copy', async (socket) => {
        socket.write(writeQuery('COPY copy_sink FROM STDIN'));
        await sleep(200);
        socket.write(new Writer().bytes(Buffer.from('1\n2\n')).finish(0x64));
        await sleep(100);
      });
      await leave('held', async (socket) => {
        socket.write(writeQuery('CREATE TABLE held_for_approval (x int)'));
        while (db.gateway.governor.approvals.pending().length === 0) await sleep(20);
      });
      assert.equal((await (await db.client()).query('SELECT 42 AS answer')).rows[0].answer, 42);
    } finally {
      await db.stop();
    }
  });

  test('a refused connection is closed fully even when the client keeps its side open', async () => {
    const db = await governDb(target.appUrl, '  - name: no-drop\n    block: { sql: [drop] }');
    try {
      const socket = connect({ port: Number(new URL(db.url).port), host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', ignore);
      await once(socket, 'connect');
      socket.write(startupPacket({ user: 'intruder', database: 'app' }));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      await once(socket, 'end');
      assert.match(received, /this connection admits only user/);
      // The client neither reads on nor closes; the gateway must not keep the connection for it.
      const writer = setInterval(() => {
        if (socket.writable) socket.write('x', ignore);
      }, 100);
      const closed = await Promise.race([new Promise<boolean>((r) => socket.once('close', () => r(true))), sleep(10_000).then(() => false)]);
      clearInterval(writer);
      socket.destroy();
      assert.ok(closed, 'the refused connection was left half-open');
    } finally {
      await db.stop();
    }
  });

  test('a statement whose parsing cost grows with the square of its length is refused without stalling another connection', async () => {
    const db = await governDb(target.appUrl, '  - name: no-drop\n    block: { sql: [drop] }');
    try {
      const [attacker, other] = [await db.client(), await db.client()];
      for (const sql of [`SELECT 1 ${'/*'.repeat(30_000)}`, `SELECT 1 ${'+'.repeat(30_000)} 1`, `SELECT 1 /* ${'/*'.repeat(30_000)} */`]) {
        const attack = attacker.query(sql).then(
          () => assert.fail('the statement ran'),
          (e: { code?: string; detail?: string }) => e,
        );
        const meanwhile = other.query('SELECT 42 AS answer');
        assert.equal((await meanwhile).rows[0].answer, 42);
        const refused = await attack;
        assert.equal(refused.code, '42601');
        assert.match(refused.detail ?? '', /operator characters .* more than the gateway parses/);
      }
      // The same characters in ordinary amounts still parse.
      assert.equal((await attacker.query(`SELECT 1 ${'+'.repeat(200)} 1 AS n /* ${'-'.repeat(300)} */`)).rows[0].n, 2);
    } finally {
      await db.stop();
    }
  });

  test('a message over the inspected size reaches node-postgres and a raw client as its FATAL, not a reset', async () => {
    const db = await governDb(target.appUrl, '  - name: no-drop\n    block: { sql: [drop] }');
    try {
      const huge = `SELECT '${'x'.repeat(65 * 1024 * 1024)}'`;
      for (let i = 0; i < 3; i++) {
        // A client of its own: the fixture's would be ended again at the end, and pg waits for ever on that.
        const client = new pg.Client({ connectionString: db.url });
        client.on('error', ignore);
        await client.connect();
        const error = (await client.query(huge).then(() => undefined, (e: { code?: string; message: string }) => e)) as { code?: string; message: string };
        assert.equal(error?.code, '54000', error?.message);
      }
      const { socket } = await connectUpstream(parseTargetUrl(`${db.url}?sslmode=disable`), {});
      socket.on('error', ignore);
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.resume();
      socket.write(writeQuery(huge));
      await once(socket, 'close');
      assert.match(received, /54000/);
    } finally {
      await db.stop();
    }
  });

  test('kill -9 during a loop of inserts: every committed row has its recorded event', async () => {
    const gateway = await startDetached(root, 'killed', target.appUrl);
    await target.direct('CREATE TABLE kill_loop (n int)');
    let next = 0;
    const loop = async () => {
      const client = new pg.Client({ connectionString: gateway.url });
      client.on('error', ignore);
      await client.connect();
      try {
        for (;;) await client.query(`INSERT INTO kill_loop VALUES (${++next})`);
      } catch {
        // The gateway is gone.
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    while (next < 400) await sleep(5);
    process.kill(gateway.pid, 'SIGKILL');
    await Promise.all(loops);
    const committed = (await target.direct('SELECT n FROM kill_loop')).rows.map((r) => r.n as number);
    assert.ok(committed.length >= 100, `only ${committed.length} rows were committed`);
    const recorded = recordedValues(gateway.out, /INSERT INTO kill_loop VALUES \((\d+)\)/);
    const unrecorded = committed.filter((n) => !recorded.has(n));
    assert.deepEqual(unrecorded, [], `${unrecorded.length} committed inserts have no event`);
  });

  test('a full disk: no acknowledged statement is unrecorded, stop finishes and names the cut, verify says it', async (t) => {
    const disk = smallDisk('384k');
    if (!disk) return t.skip('cannot mount a small tmpfs here (needs root)');
    mounts.push(disk);
    const gateway = await startDetached(root, 'full', target.appUrl, join(disk, 'session'));
    await target.direct('CREATE TABLE disk_loop (n int, filler text)');
    const acknowledged: number[] = [];
    let refusal: { code?: string; message: string } | undefined;
    const client = new pg.Client({ connectionString: gateway.url });
    client.on('error', ignore);
    await client.connect();
    for (let n = 1; n <= 400 && !refusal; n++) {
      await client.query(`INSERT INTO disk_loop VALUES (${n}, '${'f'.repeat(4000)}')`).then(
        () => acknowledged.push(n),
        (e: { code?: string; message: string }) => (refusal = e),
      );
    }
    assert.ok(refusal, 'the disk never filled');
    assert.equal(refusal.code, '42501', refusal.message);
    assert.match(refusal.message, /the session cannot be recorded/);
    const recorded = recordedValues(gateway.out, /INSERT INTO disk_loop VALUES \((\d+)/);
    assert.deepEqual(acknowledged.filter((n) => !recorded.has(n)), [], 'acknowledged inserts are missing from the record');
    const committed = (await target.direct('SELECT n FROM disk_loop')).rows.map((r) => r.n as number);
    assert.deepEqual(committed.filter((n) => !recorded.has(n)), [], 'committed inserts are missing from the record');

    const stopped = await govern(['stop', '--out', gateway.out], { env: { PATH: process.env.PATH } });
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.match(stopped.stdout, /recording +FAILED: the record stops after event \d+: .*(cut off|never written)/);
    assert.ok(await waitForExit(gateway.pid, 10_000), 'the gateway kept running after stop');
    const verified = await govern(['verify', gateway.out], { env: { PATH: process.env.PATH } });
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout, /the recording failed, as the signed manifest says: the record stops after event \d+/);
  });

  test('a full disk: SIGTERM still stops the gateway', async (t) => {
    const disk = smallDisk('384k');
    if (!disk) return t.skip('cannot mount a small tmpfs here (needs root)');
    mounts.push(disk);
    const gateway = await startDetached(root, 'sigterm', target.appUrl, join(disk, 'session'));
    const client = new pg.Client({ connectionString: gateway.url });
    client.on('error', ignore);
    await client.connect();
    for (let n = 0; n < 400; n++) {
      const failed = await client.query(`SELECT '${'g'.repeat(4000)}' AS filler`).then(() => false, () => true);
      if (failed) break;
    }
    process.kill(gateway.pid, 'SIGTERM');
    assert.ok(await waitForExit(gateway.pid, 20_000), 'the gateway did not stop on SIGTERM after its disk filled');
  });
});
