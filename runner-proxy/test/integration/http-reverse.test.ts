import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'undici';
import { governHttp, makeCertificates, recordedEvent, startUpstream, type GovernedHttp, type TestCertificates, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';
import { recordedResult } from '../fixtures/records.js';

const TOKEN = 'real-api-token-5e1f';
const RULES = `
  - name: pii
    when: { path: "/api/people" }
    mask: { json: ["$..ssn"], types: [credit_card] }
  - name: pii-in-headers
    when: { path: "/api/headers" }
    mask: { headers: [X-Customer], types: [us_ssn] }
  - name: opaque-headers
    when: { path: "/api/headers" }
    mask: { headers: [x-session-note] }
  - name: pii-in-ws
    when: { path: "/api/ws" }
    mask: { json: ["$..ssn"] }
  - name: pii-in-text
    when: { path: "/api/notes" }
    mask: { types: [us_ssn, credit_card] }
  - name: no-deletes
    block: { http: ["DELETE /api/**"] }
`;

const curl = (args: string[]) => runClient('curl', ['-sS', '--max-time', '20', ...args], { timeoutMs: 30_000 });

/** Everything the session wrote, as one string: the credential must appear nowhere in it. */
function sessionText(governed: GovernedHttp): string {
  const dir = governed.gateway.outDir;
  return readdirSync(dir)
    .filter((f) => !f.endsWith('.sock'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('HTTP reverse proxy to a plain-HTTP target', () => {
  let upstream: TestUpstream;
  let governed: GovernedHttp;

  before(async () => {
    upstream = await startUpstream();
    governed = await governHttp(`${upstream.url}/api`, RULES, { token: TOKEN });
  });
  after(async () => {
    await governed?.stop();
    await upstream?.stop();
  });

  test('the job gets a loopback URL with the target path prefix, and no credential', () => {
    assert.match(governed.url, /^http:\/\/127\.0\.0\.1:\d+\/api$/);
    assert.ok(!governed.url.includes(TOKEN));
  });

  test('curl: the credential is injected, the job’s own is dropped, hop-by-hop headers are stripped', async () => {
    const r = await curl([
      `${governed.url}/echo?x=1`,
      '-H', 'Authorization: Bearer job-guess',
      '-H', 'Connection: keep-alive, X-Hop',
      '-H', 'X-Hop: secret-hop',
      '-H', 'Keep-Alive: timeout=5',
      '-H', 'TE: trailers',
      '-H', 'Proxy-Authorization: Basic eDp5',
      '-H', 'X-Kept: yes',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const echoed = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
    assert.equal(echoed.url, '/api/echo?x=1');
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.headers['x-kept'], 'yes');
    for (const h of ['x-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(seen.headers[h], undefined, h);
    assert.ok(!r.stdout.includes(TOKEN));
  });

  test('Node fetch and Python requests get the same; bodies stream up with their length', async () => {
    const res = await fetch(`${governed.url}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello target' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { body: string }).body, 'hello target');
    assert.equal(upstream.seen.at(-1)!.headers['content-length'], '12');
    const py = await runClient('python3', ['-c', 'import requests,sys; r = requests.post(sys.argv[1], json={"a": 1}); print(r.status_code, r.json()["body"])', `${governed.url}/echo`]);
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim(), '200 {"a": 1}');
    assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('a chunked upload goes to the target chunked, framed by the gateway', async () => {
    const r = await curl([`${governed.url}/echo`, '-H', 'Transfer-Encoding: chunked', '--data-binary', 'streamed body']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { body: string }).body, 'streamed body');
    assert.equal(upstream.seen.at(-1)!.headers['transfer-encoding'], 'chunked');
  });

  test('connections are kept alive on the job side', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = request(`${governed.url}/echo`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.reusedSocket));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get(), false);
    assert.equal(await get(), true);
    agent.destroy();
  });

  test('a JSON response is masked: plain, gzip, chunked, \\u-escaped, nested in arrays, duplicate keys', async () => {
    for (const variant of ['', 'gzip', 'chunked', 'escaped', 'dup', 'gzip&chunked']) {
      const r = await curl([`${governed.url}/people?${variant}`]);
      assert.equal(r.status, 0, r.stderr);
      const body = JSON.parse(r.stdout) as { id: string; people: { name: string; ssn: string; card: string }[] };
      assert.equal(body.id, '12345678901234567890', variant);
      assert.deepEqual(body.people.map((p) => p.ssn), ['[masked]', '[masked]'], variant);
      assert.deepEqual(body.people.map((p) => p.card), ['[masked:credit_card]', '[masked:credit_card]'], variant);
      assert.ok(!r.stdout.includes('078-05-1120'), `duplicate key masked too (${variant})`);
    }
    // A masked body of known length is re-framed with its new length; one of unknown length is chunked.
    const sized = await fetch(`${governed.url}/people?gzip`);
    const text = await sized.text();
    assert.equal(sized.headers.get('content-length'), String(Buffer.byteLength(text)));
    assert.equal(sized.headers.get('content-encoding'), null);
    const streamed = await fetch(`${governed.url}/people?chunked`);
    assert.equal(streamed.headers.get('transfer-encoding'), 'chunked');
    await streamed.text();
  });

  test('text and form bodies are masked by the detectors, line by line', async () => {
    const text = await curl([`${governed.url}/notes`]);
    assert.equal(text.stdout, 'Ann [masked:us_ssn]\nBob pays with [masked:credit_card]\n');
    const form = await curl([`${governed.url}/notes?form`]);
    assert.equal(form.stdout, 'name=Ann&ssn=%5Bmasked%3Aus_ssn%5D&card=%5Bmasked%3Acredit_card%5D');
  });

  test('response headers the policy names are masked: by the detectors, or whole', async () => {
    const res = await fetch(`${governed.url}/headers`);
    assert.equal(res.headers.get('x-customer'), 'ssn [masked:us_ssn], vip');
    assert.equal(res.headers.get('x-session-note'), '[masked]');
    assert.equal(res.headers.get('x-other'), '536-22-4711', 'headers no rule names pass as they are');
    assert.equal(await res.text(), 'ok');
  });

  test('a response no rule masks passes byte for byte, with its length', async () => {
    for (const variant of ['', 'gzip', 'chunked']) {
      const res = await fetch(`${governed.url}/raw-people?${variant}`, { headers: { 'accept-encoding': 'identity' } });
      const direct = await fetch(`${upstream.url}/api/raw-people?${variant}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(res.headers.get('content-length'), direct.headers.get('content-length'), variant);
      assert.equal(res.headers.get('content-encoding'), direct.headers.get('content-encoding'), variant);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from(await direct.arrayBuffer()), variant);
    }
  });

  test('server-sent events pass unbuffered', async () => {
    const res = await fetch(`${governed.url}/sse`);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /data: first/);
    upstream.releaseSse();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    assert.match(rest, /data: second/);
  });

  test('a WebSocket through the gateway: the credential injected, text frames masked and recorded', async () => {
    const socket = new WebSocket(`${governed.url.replace('http:', 'ws:')}/ws`);
    const answer = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send('hello');
      socket.onmessage = (e) => resolve(String(e.data));
      socket.onerror = () => reject(new Error('the WebSocket failed'));
    });
    socket.close();
    assert.deepEqual(JSON.parse(answer), { echo: 'hello', ssn: '[masked]' });
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, '/api/ws');
    assert.equal(seen.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.headers['sec-websocket-extensions'], undefined, 'no compression is offered: frames stay readable');
    const frame = await recordedEvent(governed.gateway.outDir, (e) => e.type === 'websocket.frame' && e.direction === 'down');
    assert.equal(frame.opcode, 1);
    assert.ok(!readFileSync(join(governed.gateway.outDir, 'events.jsonl'), 'utf8').includes('536-22-4711'));
  });

  test('a blocked request gets 403 JSON naming the rule and never reaches the target', async () => {
    const before = upstream.seen.length;
    const r = await curl(['-X', 'DELETE', `${governed.url}/things/1`, '-w', '\n%{http_code}']);
    const [body, code] = r.stdout.split('\n');
    assert.equal(code, '403');
    assert.equal((JSON.parse(body!) as { rule: string }).rule, 'no-deletes');
    assert.equal(upstream.seen.length, before);
  });

  test('dot segments and encodings cannot walk around a path rule', async () => {
    const before = upstream.seen.length;
    for (const path of ['/api/x/../things/1', '/api/%74hings/1', '/api/x/%2e%2e/things/1']) {
      const r = await curl(['--path-as-is', '-X', 'DELETE', `${governed.url.replace(/\/api$/, '')}${path}`, '-o', '/dev/null', '-w', '%{http_code}']);
      assert.equal(r.stdout, '403', path);
    }
    assert.equal(upstream.seen.length, before);
  });

  test('the record has method, path and status, and the credential nowhere', async () => {
    const text = sessionText(governed);
    assert.ok(!text.includes(TOKEN));
    const events = readFileSync(join(governed.gateway.outDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const op = events.find((e) => e.type === 'operation' && e.text === 'GET /api/echo?x=1');
    assert.ok(op, 'the operation is recorded');
    assert.equal((await recordedResult(governed.gateway.outDir, (r) => r.op === op.seq)).status, 200);
  });
});

describe('HTTP recording with results: masked', () => {
  test('the record keeps the start of each body, masked', async () => {
    const upstream = await startUpstream();
    const governed = await governHttp(upstream.url, RULES.replaceAll('/api/', '/'), { extra: 'recording: { results: masked }' });
    try {
      assert.equal((await curl([`${governed.url}/people`])).status, 0);
      assert.equal((await curl([`${governed.url}/echo?ssn=536-22-4711`])).status, 0);
    } finally {
      await governed.stop();
      await upstream.stop();
    }
    const events = readFileSync(join(governed.gateway.outDir, 'events.jsonl'), 'utf8');
    assert.match(events, /"body":"\{\\"id\\":\\"12345678901234567890\\"/);
    assert.ok(!events.includes('536-22-4711'), 'no SSN in the record, not even from the unmasked echo');
    assert.ok(!events.includes('4111 1111'), 'no card number in the record');
  });
});

describe('HTTP reverse proxy to an HTTPS target', () => {
  let certificates: TestCertificates;
  let upstream: TestUpstream;
  let governed: GovernedHttp;
  let unverified: GovernedHttp;

  before(async () => {
    certificates = makeCertificates();
    upstream = await startUpstream(certificates);
    governed = await governHttp(upstream.url, '', { ca: certificates.caPem });
    unverified = await governHttp(upstream.url, '');
  });
  after(async () => {
    await governed?.stop();
    await unverified?.stop();
    await upstream?.stop();
  });

  test('the target certificate is verified against the given CA', async () => {
    const r = await curl([`${governed.url}/echo`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { url: string }).url, '/echo');
    assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('without the CA the target is not trusted: 502, and nothing is sent', async () => {
    const before = upstream.seen.length;
    const r = await curl([`${unverified.url}/echo`, '-w', '\n%{http_code}']);
    assert.match(r.stdout, /\n502$/);
    assert.equal(upstream.seen.length, before);
  });
});

describe('HTTP reverse proxy to a dead target', () => {
  test('502 with a reason, and the gateway keeps serving', async () => {
    const upstream = await startUpstream();
    const url = upstream.url;
    await upstream.stop();
    const governed = await governHttp(url, '');
    try {
      for (let i = 0; i < 2; i++) {
        const r = await curl([`${governed.url}/echo`, '-w', '\n%{http_code}']);
        assert.match(r.stdout, /ECONNREFUSED[\s\S]*\n502$/);
      }
    } finally {
      await governed.stop();
    }
  });
});
