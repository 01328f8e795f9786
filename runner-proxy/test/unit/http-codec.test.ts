import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MESSAGE_END, MessageReader, type Head, type ReadEvent } from '../../src/adapters/http/codec.js';

/** Feeds the bytes in pieces cut at the given offsets and returns what the reader handed out, bodies joined. */
function read(kind: 'request' | 'response', bytes: string, cuts: number[] = [], bodyless = false): { heads: Head[]; bodies: string[]; error?: string } {
  const reader = new MessageReader(kind);
  reader.bodyless = bodyless;
  const all = Buffer.from(bytes, 'latin1');
  const heads: Head[] = [];
  const bodies: string[] = [];
  let body = '';
  let from = 0;
  for (const at of [...cuts, all.length]) {
    reader.push(all.subarray(from, at));
    from = at;
    for (let e: ReadEvent | undefined; (e = reader.next()) !== undefined; ) {
      if (e === MESSAGE_END) {
        bodies.push(body);
        body = '';
      } else if (Buffer.isBuffer(e)) body += e.toString('latin1');
      else heads.push(e);
    }
  }
  return { heads, bodies, ...(reader.error !== undefined && { error: reader.error }) };
}

const CHUNKED = 'POST /a?b=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Name:  spaced value \t\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: dropped\r\n\r\n';
const LENGTH = 'PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';

describe('HTTP/1.1 codec', () => {
  test('a chunked request and pipelined requests read alike however the bytes are cut', () => {
    for (const bytes of [CHUNKED, LENGTH]) {
      const whole = read('request', bytes);
      for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(read('request', bytes, [cut]), whole, `cut at ${cut}`);
      for (let cut = 1; cut + 3 < bytes.length; cut += 3) assert.deepEqual(read('request', bytes, [cut, cut + 1, cut + 3]), whole);
    }
  });

  test('heads and bodies: raw pairs as sent, values trimmed of spaces and tabs only, trailers dropped', () => {
    const chunked = read('request', CHUNKED);
    assert.equal(chunked.heads[0]!.method, 'POST');
    assert.equal(chunked.heads[0]!.url, '/a?b=1');
    assert.deepEqual(chunked.heads[0]!.rawHeaders, ['Host', 'x', 'Transfer-Encoding', 'chunked', 'X-Name', 'spaced value']);
    assert.equal(chunked.heads[0]!.chunked, true);
    assert.deepEqual(chunked.bodies, ['hello world']);
    const pipelined = read('request', LENGTH);
    assert.deepEqual(pipelined.heads.map((h) => [h.method, h.url, h.httpVersion, h.keepAlive]), [
      ['PUT', '/b', '1.1', true],
      ['GET', '/c', '1.0', true],
    ]);
    assert.deepEqual(pipelined.bodies, ['abc', '']);
  });

  test('responses: interim answers skipped, HEAD answers bodyless, a body without length runs until the close', () => {
    const interim = read('response', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    assert.deepEqual(interim.heads.map((h) => h.statusCode), [200]);
    assert.deepEqual(interim.bodies, ['ok']);
    const head = read('response', 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', [], true);
    assert.deepEqual(head.bodies, ['']);
    const reader = new MessageReader('response');
    reader.push(Buffer.from('HTTP/1.0 200 OK\r\n\r\nuntil'));
    reader.push(Buffer.from(' the end'));
    reader.end();
    const events: ReadEvent[] = [];
    for (let e; (e = reader.next()) !== undefined; ) events.push(e);
    assert.equal((events[0] as Head).keepAlive, false);
    assert.equal(Buffer.concat(events.slice(1, -1) as Buffer[]).toString(), 'until the end');
    assert.equal(events.at(-1), MESSAGE_END);
  });

  test('what a target could frame differently is refused, whole or cut anywhere', () => {
    const refused = [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxY0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n',
      'GET / HTTP/1.1\r\nX: 1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
      'GET  / HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    for (const bytes of refused) {
      assert.ok(read('request', bytes).error, bytes);
      for (let cut = 1; cut < bytes.length; cut++) assert.ok(read('request', bytes, [cut]).error, `${JSON.stringify(bytes)} cut at ${cut}`);
    }
  });

  test('a head holds no control character but HTAB, no CR or LF outside a line end, and header names are tokens', () => {
    for (const line of ['X: a\x01b', 'X: a\x7f', 'X: a\x00', 'X: a\nY: b', 'X: a\r', 'X: a\rY: b', 'X: a\x0b', 'X(: 1', 'X\xc4: 1', ': 1', 'X Y: 1']) {
      const bytes = `GET / HTTP/1.1\r\nHost: x\r\n${line}\r\n\r\n`;
      assert.ok(read('request', bytes).error, JSON.stringify(bytes));
      assert.ok(read('response', `HTTP/1.1 200 OK\r\n${line}\r\nContent-Length: 0\r\n\r\n`).error, JSON.stringify(line));
    }
    const accepted = read('request', "GET / HTTP/1.1\r\nHost: x\r\nX-Tab:\ta\tb\t\r\nX-Latin1: caf\xe9\r\n!#$%&'*+.^_`|~-09AZaz: t\r\n\r\n");
    assert.equal(accepted.error, undefined);
    assert.deepEqual(accepted.heads[0]!.rawHeaders, ['Host', 'x', 'X-Tab', 'a\tb', 'X-Latin1', 'caf\xe9', "!#$%&'*+.^_`|~-09AZaz", 't']);
  });

  test('a conflicting Content-Length from a target is refused; a repeated equal one is read', () => {
    assert.ok(read('response', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab').error);
    assert.deepEqual(read('response', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab').bodies, ['ab']);
  });
});
