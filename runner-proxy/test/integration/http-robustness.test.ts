import assert from 'node:assert/strict';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { recordedEvents, startDetachedHttp, startUpstream, type DetachedHttp, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';
import { smallDisk, unmount } from '../fixtures/disk.js';

const MiB = 1 << 20;
const RULES = `
  - name: pii
    mask: { json: ["$..ssn"], types: [credit_card] }
`;

/** Malformed and hostile byte streams; each must end its own connection only. */
const HOSTILE = [
  Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), // a TLS ClientHello on the plain port
  Buffer.from('GARBAGE\r\n\r\n'),
  Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
  Buffer.from('POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n'),
  Buffer.from('GET /echo HTTP/1.1\r\nHost: x\r\n'), // then the client leaves mid-head
  Buffer.alloc(64 * 1024, 0xff),
];

describe('HTTP gateway robustness (gateway in its own process)', () => {
  let upstream: TestUpstream;
  let gateway: DetachedHttp;

  before(async () => {
    upstream = await startUpstream();
    gateway = await startDetachedHttp(upstream.url, RULES);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.stop();
  });

  const alive = async () => {
    const res = await fetch(`${gateway.url}/echo`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  };

  test('a 1 GB streamed download passes with flat gateway memory', async (t) => {
    const samples: number[] = [];
    const timer = setInterval(() => samples.push(gateway.rss()), 100);
    const r = await runClient('curl', ['-sS', '-o', '/dev/null', '-w', '%{size_download}', `${gateway.url}/download?bytes=${1024 * MiB}`], { timeoutMs: 240_000 });
    clearInterval(timer);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout), 1024 * MiB);
    const peak = Math.max(...samples);
    assert.ok(peak < 200 * MiB, `gateway RSS peaked at ${Math.round(peak / MiB)} MiB while 1 GB passed`);
    t.diagnostic(`gateway RSS: ${Math.round(Math.min(...samples) / MiB)}–${Math.round(peak / MiB)} MiB during the 1 GB download`);
    await alive();
  });

  test('a 100 MB upload reaches the target whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-upload-'));
    const file = join(dir, 'upload.bin');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      const block = Buffer.alloc(MiB, 0x61);
      for (let i = 0; i < 100; i++) out.write(block);
      out.end(resolve);
      out.on('error', reject);
    });
    try {
      const r = await runClient('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${file}`, `${gateway.url}/upload`], { timeoutMs: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).received, 100 * MiB);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a slow client is held back by backpressure, and others are served meanwhile', async () => {
    const before = gateway.rss();
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      request(`${gateway.url}/download?bytes=${256 * MiB}`, resolve).on('error', reject).end();
    });
    res.pause();
    await new Promise((r) => setTimeout(r, 1_000));
    await alive();
    assert.ok(gateway.rss() - before < 100 * MiB, 'the gateway does not buffer what the slow client does not read');
    res.destroy();
    await alive();
  });

  test('a target that breaks off mid-body (inside a masked JSON value) cuts that response only', async () => {
    const r = await runClient('curl', ['-sS', `${gateway.url}/die`]);
    assert.notEqual(r.status, 0);
    await alive();
  });

  test('malformed and hostile input ends its own connection, never the gateway', async () => {
    const { port } = new URL(gateway.url);
    for (const bytes of HOSTILE) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
        socket.on('data', () => undefined);
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.setTimeout(5_000, () => socket.destroy());
      });
    }
    await alive();
  });

  test('none of this was a fault: nothing reached the last-resort guard', async () => {
    await alive();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(recordedEvents(gateway.out).filter((e) => e.type === 'gateway.fault'), []);
  });

  test('a record that cannot be written refuses the request (503), and nothing of it reaches the target', async (t) => {
    const disk = smallDisk('384k');
    if (!disk) return t.skip('cannot mount a small tmpfs here (needs root)');
    const full = await startDetachedHttp(upstream.url, RULES, join(disk, 'session'));
    try {
      // Each request's event carries its 4 KB query: the disk fills within a hundred requests.
      const url = (n: number | string) => `${full.url}/echo?fill=${n}&pad=${'p'.repeat(4000)}`;
      let refused: { n: number; status: number; body: { error: string; rule: string } } | undefined;
      for (let n = 1; n <= 400 && !refused; n++) {
        const res = await fetch(url(n));
        const body = (await res.json()) as { error: string; rule: string };
        if (res.status !== 200) refused = { n, status: res.status, body };
      }
      assert.ok(refused, 'the disk never filled');
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.rule, 'recording-failed');
      assert.match(refused.body.error, /cannot write the session recording/);
      const later = await fetch(url('later'));
      assert.equal(later.status, 503);
      await later.arrayBuffer();

      const reached = upstream.seen.map((s) => /[?&]fill=(\w+)/.exec(s.url)?.[1]).filter((n) => n !== undefined);
      assert.ok(!reached.includes(String(refused.n)) && !reached.includes('later'), 'a refused request reached the target');
      const recorded = new Set(recordedEvents(full.out).flatMap((e) => (e.type === 'operation' ? [/fill=(\w+)/.exec(String(e.text))?.[1]] : [])));
      assert.deepEqual(reached.filter((n) => !recorded.has(n)), [], 'requests reached the target without their event in the record');
    } finally {
      await full.stop();
      unmount(disk);
    }
  });

  test('requests that arrive together share one write of the record: when it fails, each of them is refused and none reaches the target', async (t) => {
    const disk = smallDisk('384k');
    if (!disk) return t.skip('cannot mount a small tmpfs here (needs root)');
    const full = await startDetachedHttp(upstream.url, RULES, join(disk, 'session'));
    try {
      const url = (n: string) => `${full.url}/echo?fill=together${n}&pad=${'p'.repeat(4000)}`;
      const answers: { n: string; status: number; rule?: string }[] = [];
      // Eight connections at once, so that the gateway reads several requests in one turn.
      for (let batch = 0; batch < 50 && !answers.some((a) => a.status !== 200); batch++) {
        const sent = Array.from({ length: 8 }, (_, i) => `${batch}x${i}`);
        answers.push(
          ...(await Promise.all(
            sent.map(async (n) => {
              const res = await fetch(url(n));
              const body = (await res.json()) as { rule?: string };
              return { n, status: res.status, rule: body.rule };
            }),
          )),
        );
      }
      const refused = answers.filter((a) => a.status !== 200);
      assert.ok(refused.length > 0, 'the disk never filled');
      for (const a of refused) assert.deepEqual([a.status, a.rule], [503, 'recording-failed']);

      const reached = new Set(upstream.seen.map((s) => /[?&]fill=together(\w+)/.exec(s.url)?.[1]).filter((n) => n !== undefined));
      assert.deepEqual(refused.filter((a) => reached.has(a.n)), [], 'a refused request reached the target');
      const recorded = new Set(recordedEvents(full.out).flatMap((e) => (e.type === 'operation' ? [/fill=together(\w+)/.exec(String(e.text))?.[1]] : [])));
      assert.deepEqual([...reached].filter((n) => !recorded.has(n)), [], 'requests reached the target without their event in the record');
    } finally {
      await full.stop();
      unmount(disk);
    }
  });
});
