import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { fetch as undiciFetch, ProxyAgent, WebSocket } from 'undici';
import { govern, waitingRequest } from '../fixtures/cli.js';
import { governedUpstreamForSuite, governHttp, makeCertificates, recordedEvent, startUpstream, type GovernedHttp, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';
import { recordedResult } from '../fixtures/records.js';

/** curl's answer: the body and, on the last line, the status. */
async function curl(args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await runClient('curl', ['-sS', '--max-time', '30', ...args, '-w', '\n%{http_code}'], { timeoutMs: 40_000, ...(env && { env }) });
  assert.equal(r.status, 0, r.stderr);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), body: JSON.parse(r.stdout.slice(0, cut)) as Record<string, unknown> };
}

describe('HTTP rules on host, headers and query (reverse proxy)', () => {
  const RULES = `
  - name: prod-posts
    when: { headers: { X-Env: [prod, "prod-*"] } }
    approve: { http: ["POST /echo/**"] }
  - name: no-forced-deletes
    block: { http: [{ method: DELETE, path: "/things/**", query: { force: "true" } }] }
  - name: no-admin-on-loopback
    block: { http: [{ host: "127.0.0.*", path: "/admin/**" }] }
`;

  const suite = governedUpstreamForSuite(RULES, { extra: 'approvals: { via: cli, timeout: 30s }' });
  const reached = (path: string) => suite.upstream.seen.filter((s) => s.url.startsWith(path)).length;

  test('curl: a query rule blocks with 403 naming the rule, and the request never reaches the target', async () => {
    const blocked = await curl(['-X', 'DELETE', `${suite.governed.url}/things/1?force=true`]);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.rule, 'no-forced-deletes');
    assert.match(blocked.body.error as string, /blocked by rule "no-forced-deletes"/);
    assert.equal(reached('/things'), 0);
    const passed = await curl(['-X', 'DELETE', `${suite.governed.url}/things/1?force=false`]);
    assert.equal(passed.status, 200);
    assert.equal(reached('/things'), 1);
  });

  test('Python requests and Node fetch: encoded or repeated parameters do not slip past the rule', async () => {
    const py = await runClient('python3', [
      '-c',
      'import requests,sys; r = requests.delete(sys.argv[1], params=[("force", "no"), ("force", "true")]); print(r.status_code, r.json()["rule"])',
      `${suite.governed.url}/things/2`,
    ]);
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim(), '403 no-forced-deletes');
    const res = await fetch(`${suite.governed.url}/things/3?force=%74rue`, { method: 'DELETE' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { rule: string }).rule, 'no-forced-deletes');
    assert.equal(reached('/things'), 1);
  });

  test('a host rule names the connection’s target host', async () => {
    const blocked = await curl([`${suite.governed.url}/admin/users`]);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.rule, 'no-admin-on-loopback');
    assert.equal(reached('/admin'), 0);
  });

  test('a header rule (any case) holds a request for approval; without the header it passes at once', async () => {
    const plain = await fetch(`${suite.governed.url}/echo/deploy`, { method: 'POST', body: 'x' });
    assert.equal(plain.status, 200);
    await plain.text();
    const pending = curl(['-X', 'POST', `${suite.governed.url}/echo/deploy`, '-H', 'x-env: prod-eu', '--data-binary', 'go']);
    const request = await waitingRequest(suite.governed.gateway.outDir);
    assert.equal(request.operation, 'POST /echo/deploy');
    assert.equal(reached('/echo/deploy'), 1, 'nothing reached the target while it waited');
    const approved = await govern(['approve', request.id, '--out', suite.governed.gateway.outDir]);
    assert.equal(approved.status, 0, approved.stderr);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(r.body.body, 'go');
  });
});

describe('HTTP host rules through the forward proxy', () => {
  let api: TestUpstream;
  let plain: TestUpstream;
  let governed: GovernedHttp;
  let env: NodeJS.ProcessEnv;
  const RULES = `
  - name: vendor-no-deletes
    when: { host: "127.0.0.1" }
    block: { http: [DELETE] }
  - name: no-prod-calls
    block: { http: [{ host: localhost, headers: { x-env: prod } }] }
  - name: pii-out
    mask: { on: write, json: ["$..ssn"] }
`;

  before(async () => {
    const certificates = makeCertificates();
    api = await startUpstream(certificates);
    plain = await startUpstream();
    governed = await governHttp(api.url, RULES, { ca: certificates.caPem, extra: 'proxy: { intercept: ["127.0.0.1"], others: refuse }' });
    // The test's targets are on loopback, which the exported NO_PROXY keeps out of the proxy.
    env = { PATH: process.env.PATH, ...governed.gateway.exports(), NO_PROXY: '', no_proxy: '' };
  });
  after(async () => {
    await governed?.stop();
    await api?.stop();
    await plain?.stop();
  });

  test('a host the proxy intercepts (recorded as proxy:HOST) is named by a host rule', async () => {
    const blocked = await curl(['-X', 'DELETE', `${plain.url}/things/1`], env);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.rule, 'vendor-no-deletes');
    assert.equal(plain.seen.length, 0);
    const passed = await curl([`${plain.url}/echo`], env);
    assert.equal(passed.status, 200);
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'operation' && e.connection === 'proxy:127.0.0.1' && e.rule === 'vendor-no-deletes');
  });

  test('Node fetch through undici’s ProxyAgent: a host and header rule, and request masking, on an intercepted HTTPS connection', async () => {
    const dispatcher = new ProxyAgent({ uri: env.HTTPS_PROXY!, requestTls: { ca: readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8') } });
    try {
      const blocked = await undiciFetch(`${api.url}/echo`, { dispatcher, headers: { 'X-Env': 'prod' } });
      assert.equal(blocked.status, 403);
      assert.equal(((await blocked.json()) as { rule: string }).rule, 'no-prod-calls');
      assert.equal(api.seen.length, 0);
      const passed = await undiciFetch(`${api.url}/echo`, { dispatcher, method: 'POST', headers: { 'X-Env': 'staging', 'Content-Type': 'application/json' }, body: '{"ssn": "536-22-4711"}' });
      assert.equal(passed.status, 200);
      assert.equal(((await passed.json()) as { body: string }).body, '{"ssn": "[masked]"}', 'the request body is masked through the proxy too');
    } finally {
      await dispatcher.close();
    }
  });
});

describe('HTTP request masking (mask on: write)', () => {
  const RULES = `
  - name: pii-out
    when: { path: "/echo/**" }
    mask: { on: write, json: ["$..ssn", "$.card"], types: [credit_card] }
  - name: customer-header
    mask: { on: write, headers: [X-Customer-Ssn] }
  - name: big-payments
    when: { path: "/echo/pay" }
    approve: { json: "amount > 1000" }
`;
  const SSN = '536-22-4711';

  const suite = governedUpstreamForSuite(RULES, { extra: 'approvals: { via: cli, timeout: 30s }\nrecording: { results: masked }' });

  const echoed = (r: { body: Record<string, unknown> }) => r.body.body as string;

  test('curl: a JSON body is masked at the token level and re-framed with its new length', async () => {
    const sent = '{"id": 12345678901234567890, "ssn": "536-22-4711", "nested": [{"ssn": "219-45-0001"}], "note": "pays with 4111 1111 1111 1111", "k\\u0065y": "\\u0041", "dup": 1, "dup": 2, "card": 42}';
    const r = await curl(['-X', 'POST', `${suite.governed.url}/echo/json`, '-H', 'Content-Type: application/json', '-H', 'Content-MD5: c2VudA==', '--data-binary', sent]);
    assert.equal(r.status, 200);
    assert.equal(
      echoed(r),
      '{"id": 12345678901234567890, "ssn": "[masked]", "nested": [{"ssn": "[masked]"}], "note": "pays with [masked:credit_card]", "k\\u0065y": "\\u0041", "dup": 1, "dup": 2, "card": "[masked]"}',
    );
    assert.equal(suite.upstream.seen.at(-1)!.headers['content-length'], String(Buffer.byteLength(echoed(r))));
    assert.equal(suite.upstream.seen.at(-1)!.headers['content-md5'], undefined, 'a digest of the body as sent no longer holds');
  });

  test('Python requests: a form body and the query string are masked by field name and detector', async () => {
    const py = await runClient('python3', [
      '-c',
      'import requests,sys; r = requests.post(sys.argv[1], params={"ssn": "536-22-4711", "page": "2"}, data={"name": "Ann Lee", "ssn": "219-45-0001", "pay": "4111 1111 1111 1111"}); print(r.status_code); print(r.json()["url"]); print(r.json()["body"])',
      `${suite.governed.url}/echo/form`,
    ]);
    assert.equal(py.status, 0, py.stderr);
    const [status, url, body] = py.stdout.trim().split('\n');
    assert.equal(status, '200');
    assert.equal(url, '/echo/form?ssn=%5Bmasked%5D&page=2');
    assert.equal(body, 'name=Ann+Lee&ssn=%5Bmasked%5D&pay=%5Bmasked%3Acredit_card%5D');
    const event = await recordedEvent(suite.governed.gateway.outDir, (e) => e.type === 'operation' && String(e.text).startsWith('POST /echo/form'));
    assert.ok(!JSON.stringify(event).includes(SSN), 'the record has the masked query');
  });

  test('Node fetch: a request header the policy names is masked whole; a gzip body is masked and sent gzip again', async () => {
    const res = await fetch(`${suite.governed.url}/echo/gz`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-customer-ssn': SSN },
      body: gzipSync('{"ssn": "536-22-4711", "amount": 7}'),
    });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { headers: Record<string, string>; gunzipped: string };
    assert.equal(answer.headers['x-customer-ssn'], '[masked]');
    assert.equal(answer.headers['content-encoding'], 'gzip');
    assert.equal(answer.gunzipped, '{"ssn": "[masked]", "amount": 7}');
  });

  test('a body with nothing to mask passes byte for byte, with its own coding', async () => {
    const sent = '{ "amount" : 1.50e0,\n  "to":"acme" }';
    const r = await curl(['-X', 'POST', `${suite.governed.url}/echo/clean`, '-H', 'Content-Type: application/json', '-H', 'Content-MD5: c2VudA==', '--data-binary', sent]);
    assert.equal(echoed(r), sent);
    assert.equal(suite.upstream.seen.at(-1)!.headers['content-md5'], 'c2VudA==');
    const gz = await fetch(`${suite.governed.url}/echo/clean`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(sent, { level: 1 }) });
    assert.equal(((await gz.json()) as { gunzipped: string }).gunzipped, sent);
    assert.equal(suite.upstream.seen.at(-1)!.headers['content-length'], String(gzipSync(sent, { level: 1 }).length), 'the gzip bytes as sent');
  });

  test('a body that must be masked and cannot be read is refused with 403 naming the rule, and never sent', async () => {
    const before = suite.upstream.seen.length;
    const dir = mkdtempSync(join(tmpdir(), 'govern-mask-'));
    for (const [body, type] of [
      ['ssn\n536-22-4711\n', 'application/octet-stream'],
      ['{"ssn": "536-22-4711"', 'application/json'],
      [`{"pad":"${'x'.repeat(2 << 20)}","ssn":"536-22-4711"}`, 'application/json'],
    ] as const) {
      writeFileSync(join(dir, 'body'), body);
      const r = await curl(['-X', 'POST', `${suite.governed.url}/echo/x`, '-H', `Content-Type: ${type}`, '--data-binary', `@${join(dir, 'body')}`]);
      assert.equal(r.status, 403, type);
      assert.match(r.body.error as string, /rule "pii-out" must mask this body and cannot/);
    }
    const coded = await curl(['-X', 'POST', `${suite.governed.url}/echo/x`, '-H', 'Content-Type: application/json', '-H', 'Content-Encoding: zstd', '--data-binary', 'xxxx']);
    assert.equal(coded.status, 403);
    assert.equal(suite.upstream.seen.length, before);
  });

  test('WebSocket: the job’s text messages and the upgrade’s query are masked on their way to the target', async () => {
    const socket = new WebSocket(`${suite.governed.url.replace('http:', 'ws:')}/echo/ws?ssn=536-22-4711`);
    const answers: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => {
        socket.send('{"ssn": "536-22-4711", "n": 12345678901234567890}');
        socket.send('pay with 4111 1111 1111 1111');
      };
      socket.onmessage = (e) => {
        answers.push(String(e.data));
        if (answers.length === 2) resolve();
      };
      socket.onerror = () => reject(new Error('the WebSocket failed'));
    });
    socket.close();
    assert.deepEqual(answers.map((a) => (JSON.parse(a) as { echo: string }).echo), ['{"ssn": "[masked]", "n": 12345678901234567890}', 'pay with [masked:credit_card]']);
    assert.equal(suite.upstream.seen.at(-1)!.url, '/echo/ws?ssn=%5Bmasked%5D');
  });

  test('a payment held for approval is masked once approved; the record keeps the masked request body', async () => {
    const pending = curl(['-X', 'POST', `${suite.governed.url}/echo/pay`, '-H', 'Content-Type: application/json', '--data-binary', '{"amount": 5000, "ssn": "536-22-4711"}']);
    const request = await waitingRequest(suite.governed.gateway.outDir);
    assert.equal((await govern(['approve', request.id, '--out', suite.governed.gateway.outDir])).status, 0);
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(echoed(r), '{"amount": 5000, "ssn": "[masked]"}');
    const result = await recordedResult(suite.governed.gateway.outDir, (r) => typeof r.request_body === 'string' && String(r.request_body).includes('5000'));
    assert.equal(result.request_body, '{"amount": 5000, "ssn": "[masked]"}');
    assert.ok((result.masked as number) >= 1);
    // A body no rule masks streams to the target; the record keeps its start, run through every detector.
    const streamed = await curl(['-X', 'POST', `${suite.governed.url}/notes-in`, '-H', 'Content-Type: text/plain', '--data-binary', 'call 536-22-4711']);
    assert.equal(streamed.body.body, 'call 536-22-4711');
    const kept = await recordedResult(suite.governed.gateway.outDir, (r) => String(r.request_body).startsWith('call'));
    assert.equal(kept.request_body, 'call [masked:us_ssn]');
  });
});

describe('HTTP request masking in observe mode', () => {
  const suite = governedUpstreamForSuite('  - name: pii-out\n    when: { path: /echo }\n    mask: { on: write, json: ["$..ssn"] }\n  - name: big\n    when: { path: /pay }\n    block: { json: "amount > 10" }\n', { extra: 'mode: observe' });

  test('masks still apply, and a body that cannot be masked is still not forwarded', async () => {
    const masked = await curl(['-X', 'POST', `${suite.governed.url}/echo`, '-H', 'Content-Type: application/json', '--data-binary', '{"ssn": "536-22-4711"}']);
    assert.equal(masked.body.body, '{"ssn": "[masked]"}');
    const before = suite.upstream.seen.length;
    const refused = await curl(['-X', 'POST', `${suite.governed.url}/echo`, '-H', 'Content-Type: application/octet-stream', '--data-binary', 'ssn 536-22-4711']);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.rule, 'pii-out');
    assert.match(refused.body.error as string, /the body is not forwarded: rule "pii-out" must mask this body and cannot/);
    assert.equal(suite.upstream.seen.length, before);
    await recordedResult(suite.governed.gateway.outDir, (r) => String(r.error).startsWith('the body is not forwarded'));
  });

  test('a body a rule must read and cannot is forwarded whole, and recorded as one the rule would have refused', async () => {
    const r = await curl(['-X', 'POST', `${suite.governed.url}/pay`, '-H', 'Content-Type: application/x-www-form-urlencoded', '--data-binary', 'amount=50']);
    assert.equal(r.status, 200);
    assert.equal(r.body.body, 'amount=50');
    await recordedEvent(suite.governed.gateway.outDir, (e) => e.type === 'operation' && String(e.text).includes('/pay') && e.verdict === 'block' && e.enforced === 'allow');
  });
});

describe('the forward proxy’s NO_PROXY and the job’s own', () => {
  test('govern run and govern start join them; loopback stays out of the proxy, and curl honours the result', async () => {
    const upstream = await startUpstream();
    const root = mkdtempSync(join(tmpdir(), 'govern-noproxy-'));
    writeFileSync(join(root, 'policy.yml'), 'version: 1\nproxy: { others: refuse }\n');
    const env = { PATH: process.env.PATH, NO_PROXY: '.corp.example', no_proxy: 'registry.local' };
    try {
      // The upstream is on loopback: a job's request to it goes direct, not to the refusing proxy.
      const script = `echo "$NO_PROXY|$no_proxy"; curl -sS -o /dev/null -w '%{http_code}' ${upstream.url}/echo`;
      const run = await govern(['run', '--policy', join(root, 'policy.yml'), '--out', join(root, 'run'), '--', 'sh', '-c', script], { env });
      assert.equal(run.status, 0, run.stderr);
      const merged = 'localhost,127.0.0.1,::1,.corp.example,registry.local';
      assert.equal(run.stdout.trim(), `${merged}|${merged}\n200`);
      const start = await govern(['start', '--policy', join(root, 'policy.yml'), '--out', join(root, 'start'), '--env-format', 'dotenv'], { env });
      assert.equal(start.status, 0, start.stderr);
      try {
        assert.match(start.stdout, new RegExp(`^NO_PROXY=${merged}$`, 'm'));
        assert.match(start.stdout, new RegExp(`^no_proxy=${merged}$`, 'm'));
      } finally {
        await govern(['stop', '--out', join(root, 'start')], { env });
      }
    } finally {
      await upstream.stop();
    }
  });
});
