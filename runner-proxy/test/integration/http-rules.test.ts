import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { govern, waitingRequest } from '../fixtures/cli.js';
import { governHttp, makeCertificates, recordedEvent, startUpstream, type GovernedHttp, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';

/** curl's answer: the body and, on the last line, the status. */
async function curl(args: string[], env?: NodeJS.ProcessEnv): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await runClient('curl', ['-sS', '--max-time', '30', ...args, '-w', '\n%{http_code}'], { timeoutMs: 40_000, ...(env && { env }) });
  assert.equal(r.status, 0, r.stderr);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), body: JSON.parse(r.stdout.slice(0, cut)) as Record<string, unknown> };
}

describe('HTTP rules on host, headers and query (reverse proxy)', () => {
  let upstream: TestUpstream;
  let governed: GovernedHttp;
  const RULES = `
  - name: prod-posts
    when: { headers: { X-Env: [prod, "prod-*"] } }
    approve: { http: ["POST /echo/**"] }
  - name: no-forced-deletes
    block: { http: [{ method: DELETE, path: "/things/**", query: { force: "true" } }] }
  - name: no-admin-on-loopback
    block: { http: [{ host: "127.0.0.*", path: "/admin/**" }] }
`;

  before(async () => {
    upstream = await startUpstream();
    governed = await governHttp(upstream.url, RULES, { extra: 'approvals: { via: cli, timeout: 30s }' });
  });
  after(async () => {
    await governed?.stop();
    await upstream?.stop();
  });

  const reached = (path: string) => upstream.seen.filter((s) => s.url.startsWith(path)).length;

  test('curl: a query rule blocks with 403 naming the rule, and the request never reaches the target', async () => {
    const blocked = await curl(['-X', 'DELETE', `${governed.url}/things/1?force=true`]);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.rule, 'no-forced-deletes');
    assert.match(blocked.body.error as string, /blocked by rule "no-forced-deletes"/);
    assert.equal(reached('/things'), 0);
    const passed = await curl(['-X', 'DELETE', `${governed.url}/things/1?force=false`]);
    assert.equal(passed.status, 200);
    assert.equal(reached('/things'), 1);
  });

  test('Python requests and Node fetch: encoded or repeated parameters do not slip past the rule', async () => {
    const py = await runClient('python3', [
      '-c',
      'import requests,sys; r = requests.delete(sys.argv[1], params=[("force", "no"), ("force", "true")]); print(r.status_code, r.json()["rule"])',
      `${governed.url}/things/2`,
    ]);
    assert.equal(py.status, 0, py.stderr);
    assert.equal(py.stdout.trim(), '403 no-forced-deletes');
    const res = await fetch(`${governed.url}/things/3?force=%74rue`, { method: 'DELETE' });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { rule: string }).rule, 'no-forced-deletes');
    assert.equal(reached('/things'), 1);
  });

  test('a host rule names the connection’s target host', async () => {
    const blocked = await curl([`${governed.url}/admin/users`]);
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.rule, 'no-admin-on-loopback');
    assert.equal(reached('/admin'), 0);
  });

  test('a header rule (any case) holds a request for approval; without the header it passes at once', async () => {
    const plain = await fetch(`${governed.url}/echo/deploy`, { method: 'POST', body: 'x' });
    assert.equal(plain.status, 200);
    await plain.text();
    const pending = curl(['-X', 'POST', `${governed.url}/echo/deploy`, '-H', 'x-env: prod-eu', '--data-binary', 'go']);
    const request = await waitingRequest(governed.gateway.outDir);
    assert.equal(request.operation, 'POST /echo/deploy');
    assert.equal(reached('/echo/deploy'), 1, 'nothing reached the target while it waited');
    const approved = await govern(['approve', request.id, '--out', governed.gateway.outDir]);
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

  test('Node fetch through undici’s ProxyAgent: a host and header rule on an intercepted HTTPS connection', async () => {
    const dispatcher = new ProxyAgent({ uri: env.HTTPS_PROXY!, requestTls: { ca: readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8') } });
    try {
      const blocked = await undiciFetch(`${api.url}/echo`, { dispatcher, headers: { 'X-Env': 'prod' } });
      assert.equal(blocked.status, 403);
      assert.equal(((await blocked.json()) as { rule: string }).rule, 'no-prod-calls');
      assert.equal(api.seen.length, 0);
      const passed = await undiciFetch(`${api.url}/echo`, { dispatcher, headers: { 'X-Env': 'staging' } });
      assert.equal(passed.status, 200);
      await passed.text();
    } finally {
      await dispatcher.close();
    }
  });
});
