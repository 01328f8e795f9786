import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { governHttp, recordedEvent, recordedEvents, startUpstream, type GovernedHttp, type TestUpstream } from '../fixtures/http-upstream.js';

/**
 * Sends raw bytes on a fresh connection, request targets written `~/path` taking the job URL's secret
 * segment; resolves with everything received once the gateway closes it.
 */
function raw(url: string, template: string): Promise<{ response: string; closed: boolean }> {
  const { port, pathname } = new URL(url);
  const bytes = template.replaceAll(' ~/', ` ${pathname}/`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ response, closed: false });
    }, 5_000);
    socket.setEncoding('latin1').on('data', (d: string) => (response += d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closed: true });
    });
    socket.on('error', reject);
  });
}

const head = (lines: string[]) => lines.join('\r\n') + '\r\n\r\n';

/** Request-smuggling shapes: each is answered 400, the connection closed, and nothing reaches the target. */
const SMUGGLING: Record<string, string> = {
  'two Content-Length headers, different': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Content-Length: 6']) + 'helloX',
  'two Content-Length headers, equal': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Content-Length: 5']) + 'hello',
  'a Content-Length list': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Content-Length: 5, 5']) + 'hello',
  'Content-Length with Transfer-Encoding': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Content-Length: 4', 'Transfer-Encoding: chunked']) + '0\r\n\r\n',
  'an obfuscated transfer coding': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: xchunked']) + '0\r\n\r\n',
  'chunked, then identity': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, identity']) + '0\r\n\r\n',
  'an unknown coding before chunked': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip, chunked']) + '0\r\n\r\n',
  'Transfer-Encoding twice': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']) + '0\r\n\r\n',
  'a space before the colon': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding : chunked']) + '0\r\n\r\n',
  'chunked in HTTP/1.0': head(['POST ~/echo HTTP/1.0', 'Host: x', 'Transfer-Encoding: chunked']) + '0\r\n\r\n',
  'a bare LF in a header': 'GET ~/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n',
  'a bare CR in a header': 'GET ~/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\rX-B: 2\r\n\r\n',
  'a folded header line': 'GET ~/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n',
  'a bare LF in the chunk framing': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked']) + '3;x\nabc\r\n0\r\n\r\n',
  'a bad chunk size': head(['POST ~/echo HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked']) + '3 \r\nabc\r\n0\r\n\r\n',
  'an oversized request line': `GET ~/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  'oversized headers': head(['GET ~/echo HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]),
  'a NUL in a header value': 'GET ~/echo HTTP/1.1\r\nHost: x\r\nX-A: 1\0\r\n\r\n',
};

describe('HTTP strict framing', () => {
  let upstream: TestUpstream;
  let governed: GovernedHttp;

  before(async () => {
    upstream = await startUpstream();
    governed = await governHttp(upstream.url, '');
  });
  after(async () => {
    await governed?.stop();
    await upstream?.stop();
  });

  for (const [name, bytes] of Object.entries(SMUGGLING)) {
    test(`${name}: 400, closed, nothing sent on`, async () => {
      const { response, closed } = await raw(governed.url, bytes);
      assert.match(response, /^HTTP\/1\.1 400 /, response.slice(0, 200));
      assert.ok(closed, 'the connection is closed');
      assert.equal(upstream.seen.length, 0, 'nothing reached the target');
    });
  }

  test('an absolute-form target, which cannot start with the secret segment: 403, closed, nothing sent on', async () => {
    const { response, closed } = await raw(governed.url, head(['GET http://elsewhere.example/ HTTP/1.1', 'Host: elsewhere.example']));
    assert.match(response, /^HTTP\/1\.1 403 /, response.slice(0, 200));
    assert.ok(closed, 'the connection is closed');
    assert.equal(upstream.seen.length, 0, 'nothing reached the target');
  });

  test('a smuggled second request inside a body is only ever body', async () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const body = `${smuggled}`;
    const { response } = await raw(governed.url, head(['POST ~/echo HTTP/1.1', 'Host: x', 'Connection: close', `Content-Length: ${body.length}`]) + body);
    assert.match(response, /^HTTP\/1\.1 200 /);
    assert.deepEqual(upstream.seen.map((s) => s.url), ['/echo']);
    assert.equal(upstream.seen[0]!.bytes, body.length);
    upstream.seen.length = 0;
  });

  test('pipelined well-formed requests are answered in order', async () => {
    const one = head(['GET ~/echo?n=1 HTTP/1.1', 'Host: x']);
    const two = head(['GET ~/echo?n=2 HTTP/1.1', 'Host: x', 'Connection: close']);
    const { response } = await raw(governed.url, one + two);
    const urls = [...response.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(urls, ['/echo?n=1', '/echo?n=2']);
    upstream.seen.length = 0;
  });

  test('refusals are recorded, and the gateway keeps serving', async () => {
    const res = await fetch(`${governed.url}/echo`);
    assert.equal(res.status, 200);
    upstream.seen.length = 0;
  });

  test('no refusal was a fault: nothing reached the last-resort guard', async () => {
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'http.malformed');
    assert.deepEqual(recordedEvents(governed.gateway.outDir).filter((e) => e.type === 'gateway.fault'), []);
  });
});
