import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { governHttp, type GovernedHttp } from '../fixtures/http-upstream.js';

/**
 * The gateway keeps its connections to the target alive; a target closes idle ones when it likes. A
 * request must never be lost on a connection the target has closed meanwhile.
 */
describe('HTTP connections to the target', () => {
  let server: Server;
  let governed: GovernedHttp;
  const connections = new Set<Socket>();
  let requests = 0;

  before(async () => {
    server = createServer((req, res) => {
      requests++;
      const big = req.url === '/big';
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(big ? 8 << 20 : 2) });
      res.end(big ? Buffer.alloc(8 << 20) : 'ok');
    });
    // Idle connections are closed by the target after 100 ms.
    server.keepAliveTimeout = 100;
    server.on('connection', (s: Socket) => {
      connections.add(s);
      s.on('close', () => connections.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    governed = await governHttp(`http://127.0.0.1:${(server.address() as { port: number }).port}`, '');
  });
  after(async () => {
    await governed?.stop();
    for (const s of connections) s.destroy();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('a kept-alive connection the target closed is not used again: the next request is answered', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${governed.url}/small`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'ok');
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(requests, 3);
  });

  test('after a large answer read slowly (its connection paused by backpressure), the next request is answered', async () => {
    const res = await fetch(`${governed.url}/big`);
    const reader = res.body!.getReader();
    let length = 0;
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      length += chunk.value.length;
      if (length < 1 << 20) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(length, 8 << 20);
    await new Promise((r) => setTimeout(r, 300));
    const next = await fetch(`${governed.url}/small`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(await next.text(), 'ok');
  });
});
