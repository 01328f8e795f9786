import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'undici';
import { govern } from '../fixtures/cli.js';
import { governHttp, makeCertificates, recordedEvent, secretOf, sessionText, startUpstream, type GovernedHttp, type TestCertificates, type TestUpstream } from '../fixtures/http-upstream.js';
import { NODE24 } from '../fixtures/nodes.js';
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
/** A wrong secret that is recorded nowhere, as any the job's neighbours may try. */
const GUESS = 'guessed-secret-0123456789abcdefghij';

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

  test('the job gets a loopback URL with a secret first segment and the target path prefix, and no credential', () => {
    assert.match(governed.url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/api$/);
    assert.ok(!governed.url.includes(TOKEN));
  });

  test('without the secret segment, with a wrong one, or with one that only starts like it: 403, closed, nothing reaches the target', async () => {
    const secret = secretOf(governed.url);
    const origin = new URL(governed.url).origin;
    const refused = [`${origin}/api/echo`, `${origin}/${GUESS}/api/echo`, `${origin}/${secret}x/api/echo`, `${origin}/${secret.slice(0, -1)}/api/echo`, `${origin}/`];
    const before = upstream.seen.length;
    for (const url of refused) {
      const r = await curl(['-i', url]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^HTTP\/1\.1 403 /, url);
      assert.match(r.stdout, /Connection: close/);
      assert.match(r.stdout, /\{"error":"this listener serves the job's URL only: use the URL in API_URL as it is, its first path segment included"\}$/);
    }
    const res = await fetch(`${origin}/${GUESS}/api/echo`);
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: string }).error, /use the URL in API_URL/);
    const py = await runClient('python3', ['-c', 'import requests,sys; print(requests.post(sys.argv[1], json={"a": 1}).status_code)', `${origin}/api/echo`]);
    assert.equal(py.stdout.trim(), '403', py.stderr);
    const socket = new WebSocket(`${origin.replace('http:', 'ws:')}/api/ws`);
    await new Promise<void>((resolve) => {
      socket.onopen = () => assert.fail('a WebSocket without the secret opened');
      socket.onerror = () => resolve();
    });
    assert.equal(upstream.seen.length, before, 'nothing reached the target');
    // Refusals are recorded as such, without the path the process sent (it may hold someone's secret).
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'auth.failed' && e.connection === 'api');
    assert.ok(!sessionText(governed.gateway.outDir).includes(GUESS));
  });

  test('the secret segment alone is the target root, and before a query too', async () => {
    const base = governed.url.replace(/\/api$/, '');
    for (const [url, seen] of [[base, '/'], [`${base}?q=1`, '/?q=1'], [`${base}/`, '/']] as const) {
      const r = await curl([url]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { url: string }).url, seen, url);
    }
  });

  test('a redirect on the target and a cookie for its path are rewritten under the job’s URL; other origins are not', async () => {
    const moved = await fetch(`${governed.url}/moved`, { redirect: 'manual' });
    assert.equal(moved.headers.get('location'), `${governed.url}/next`);
    assert.deepEqual(moved.headers.getSetCookie(), [`session=moved-cookie; Path=/${secretOf(governed.url)}/api; HttpOnly`]);
    const absolute = await fetch(`${governed.url}/moved?absolute`, { redirect: 'manual' });
    assert.equal(absolute.headers.get('location'), `${governed.url}/next`, 'an absolute URL on the target’s origin');
    const elsewhere = await fetch(`${governed.url}/moved?elsewhere`, { redirect: 'manual' });
    assert.equal(elsewhere.headers.get('location'), 'https://elsewhere.example/next');
    // Clients that follow redirects land on the right resource, through the gateway.
    const followed = await fetch(`${governed.url}/moved?absolute`);
    assert.equal(followed.url, `${governed.url}/next`);
    assert.equal(((await followed.json()) as { url: string }).url, '/api/next');
    const jar = join(mkdtempSync(join(tmpdir(), 'govern-cookies-')), 'jar');
    const r = await curl(['-L', '-c', jar, `${governed.url}/moved`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { url: string }).url, '/api/next');
    // The cookie, kept for the rewritten path, goes back with the job's next request.
    const again = await curl(['-b', jar, `${governed.url}/echo`]);
    assert.equal((JSON.parse(again.stdout) as { headers: { cookie?: string } }).headers.cookie, 'session=moved-cookie');
    const py = await runClient('python3', ['-c', 'import requests,sys; r = requests.get(sys.argv[1]); print(r.status_code, r.json()["url"], r.url == sys.argv[2])', `${governed.url}/moved`, `${governed.url}/next`]);
    assert.equal(py.stdout.trim(), '200 /api/next True', py.stderr);
  });

  test(`${NODE24.name}: fetch and http reach the target through the job’s URL unchanged`, { skip: NODE24.skip }, async () => {
    const script = `const http = require('node:http');
      fetch(process.argv[1] + '/moved').then((r) => r.json()).then((b) => {
        http.get(process.argv[1] + '/echo', (res) => { let t = ''; res.on('data', (c) => (t += c)); res.on('end', () => console.log(b.url, res.statusCode, JSON.parse(t).url)); });
      });`;
    const r = await runClient(NODE24.path, ['-e', script, governed.url]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '/api/next 200 /api/echo');
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
    // Not a form (curl's default type), which is read whole to find a _method override.
    const r = await curl([`${governed.url}/echo`, '-H', 'Transfer-Encoding: chunked', '-H', 'Content-Type: application/octet-stream', '--data-binary', 'streamed body']);
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
    // Nor into the secret segment: it is compared before any path is resolved.
    const { origin } = new URL(governed.url);
    const r = await curl(['--path-as-is', `${origin}/x/../${secretOf(governed.url)}/api/echo`, '-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(r.stdout, '403');
    assert.equal(upstream.seen.length, before);
  });

  test('the record has method, path (without the secret segment) and status; neither the credential nor the secret is anywhere', async () => {
    const text = sessionText(governed.gateway.outDir);
    assert.ok(!text.includes(TOKEN));
    assert.ok(!text.includes(secretOf(governed.url)), 'the secret segment is in no file of the session');
    assert.ok(!governed.logged.join('\n').includes(secretOf(governed.url)), 'nor in any log line');
    const secrets = governed.gateway.secrets();
    assert.ok(secrets.includes(secretOf(governed.url)) && secrets.includes(governed.url), 'the secret and the URL are masked in CI logs');
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

  before(async () => {
    certificates = makeCertificates();
    upstream = await startUpstream(certificates);
    governed = await governHttp(upstream.url, '', { ca: certificates.caPem });
  });
  after(async () => {
    await governed?.stop();
    await upstream?.stop();
  });

  test('the target certificate is verified against the given CA', async () => {
    const r = await curl([`${governed.url}/echo`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { url: string }).url, '/echo');
    assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('a redirect to the target’s https origin comes back as the job’s loopback URL', async () => {
    const moved = await fetch(`${governed.url}/moved?absolute`, { redirect: 'manual' });
    assert.equal(moved.headers.get('location'), `${governed.url}/next`);
    const followed = await curl(['-L', `${governed.url}/moved?absolute`]);
    assert.equal((JSON.parse(followed.stdout) as { url: string }).url, '/next');
  });

  test('without the CA the target is not trusted: the gateway does not start, and nothing is sent', async () => {
    const before = upstream.seen.length;
    await assert.rejects(governHttp(upstream.url, ''), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'GOVERN_GATEWAY_START_FAILED');
      assert.match(e.message, /^connection "api": the TLS handshake with localhost:\d+ failed \(.+\); give the CA that signs the target's certificate as the connection's ca$/);
      return true;
    });
    // A CA that does not sign it is no better.
    await assert.rejects(governHttp(upstream.url, '', { ca: makeCertificates().caPem }), /^GovernError: connection "api": the TLS handshake with localhost:\d+ failed \(.+\); check that the connection's ca signs the target's certificate$/);
    assert.equal(upstream.seen.length, before);
  });
});

describe('HTTP target checked at start', () => {
  /** A policy for one http connection to `url`, in a directory of its own. */
  const policyFor = (url: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-http-start-'));
    mkdirSync(join(dir, 'session'));
    writeFileSync(join(dir, 'policy.yml'), `version: 1\nconnections:\n  api:\n    http: { url: "${url}" }\n    export: API_URL\nrules: []\n`);
    return dir;
  };

  test('an unreachable target fails govern start and govern run with one sentence naming the connection', async () => {
    const upstream = await startUpstream();
    const url = upstream.url;
    await upstream.stop();
    const dir = policyFor(url);
    // One line, one sentence, after the policy's warnings.
    const expected = new RegExp(`^govern [a-z]+: connection "api": the target ${url.replace('http://', '').replaceAll('.', '\\.')} cannot be reached \\(ECONNREFUSED\\); check the connection's url$`, 'm');
    const started = await govern(['start', '--policy', join(dir, 'policy.yml'), '--out', join(dir, 'session')]);
    assert.notEqual(started.status, 0);
    assert.match(started.stderr, expected);
    const run = await govern(['run', '--policy', join(dir, 'policy.yml'), '--out', join(dir, 'run'), '--', 'true']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, expected);
  });

  test('an https url on a port that speaks plain HTTP is a start error saying so', async () => {
    const upstream = await startUpstream();
    try {
      await assert.rejects(governHttp(upstream.url.replace('http:', 'https:'), ''), /^GovernError: connection "api": the TLS handshake with 127\.0\.0\.1:\d+ failed \(wrong version number\); check that the url names a port that speaks https$/);
      assert.equal(upstream.seen.length, 0);
    } finally {
      await upstream.stop();
    }
  });

  test('a target that goes away after the start: 502 with a reason, and the gateway keeps serving', async () => {
    const upstream = await startUpstream();
    const governed = await governHttp(upstream.url, '');
    await upstream.stop();
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
