import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { governHttp, makeCertificates, recordedEvent, startUpstream, type GovernedHttp, type TestCertificates, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';

/** The CI posture: the job's connection takes the requests the pipeline declared, and nothing else. */
const RULES = `
  - name: declared-calls
    when: { connection: api }
    allow: { http: ["GET /people", "POST /echo/deploy", { method: GET, path: "/echo/items/*" }] }
    others: refuse
`;

async function curl(url: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<{ status: number; body: string }> {
  const r = await runClient('curl', ['-sS', '--path-as-is', '--max-time', '20', ...args, url, '-w', '\n%{http_code}'], { timeoutMs: 30_000, ...(env && { env }) });
  assert.equal(r.status, 0, r.stderr);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}

/** Listed requests, and what the list must not let through in any spelling. */
const LISTED: [string, string[]][] = [
  ['/people', []],
  ['/echo/items/7', []],
  ['/echo/deploy', ['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', '{}']],
];
const UNLISTED: [string, string[], number][] = [
  ['/echo/items/7', ['-X', 'DELETE'], 403],
  ['/echo/items/7/cards', [], 403],
  ['/echo/other', [], 403],
  ['/ECHO/items/7', [], 403],
  ['/echo/items/../../admin', [], 403],
  ['/echo/items/%2e%2e/%2e%2e/admin', [], 403],
  ['//people', [], 400],
  ['/echo//items/7', [], 400],
  ['/echo%2Fitems/7', [], 400],
  ['/echo/items;x/7', [], 400],
  ['/echo/items/7', ['-X', 'get'], 400],
  ['/echo/items/7', ['-X', 'POST', '-H', 'X-HTTP-Method-Override: GET'], 400],
  ['/echo/deploy', ['-X', 'POST', '-H', 'X-HTTP-Method-Override: DELETE'], 400],
];

describe('HTTP allow-lists (others: refuse) through the reverse listener and the forward proxy', () => {
  let certificates: TestCertificates;
  let api: TestUpstream;
  let elsewhere: TestUpstream;
  let governed: GovernedHttp;
  let proxyEnv: NodeJS.ProcessEnv;

  before(async () => {
    certificates = makeCertificates();
    api = await startUpstream(certificates);
    elsewhere = await startUpstream(certificates);
    governed = await governHttp(api.url, RULES, { ca: certificates.caPem, extra: 'proxy: { others: refuse }' });
    // The targets are on loopback, which the exported NO_PROXY keeps out of the proxy.
    proxyEnv = { PATH: process.env.PATH, ...governed.gateway.exports(), NO_PROXY: '', no_proxy: '' };
  });
  after(async () => {
    await governed?.stop();
    await api?.stop();
    await elsewhere?.stop();
  });

  for (const [route, base, env] of [
    ['reverse listener', () => governed.url, () => undefined],
    ['forward proxy', () => api.url, () => proxyEnv],
  ] as const) {
    test(`${route}: what is listed passes; any other request, however spelt, is refused before the target`, async () => {
      for (const [path, args] of LISTED) {
        const r = await curl(`${base()}${path}`, args, env());
        assert.equal(r.status, 200, `${path}: ${r.body}`);
      }
      const seen = api.seen.length;
      for (const [path, args, status] of UNLISTED) {
        const r = await curl(`${base()}${path}`, args, env());
        assert.equal(r.status, status, `${args.join(' ')} ${path}: ${r.body}`);
        if (status === 403) assert.equal((JSON.parse(r.body) as { error: string }).error, 'refused by rule "declared-calls": not on its allow-list');
      }
      assert.equal(api.seen.length, seen, 'nothing unlisted reached the target');
    });
  }

  test('the proxy’s own list decides which hosts are reached at all; the allow rule, which requests on them', async () => {
    const refused = await runClient('curl', ['-sS', '--max-time', '20', `${elsewhere.url}/people`], { timeoutMs: 30_000, env: proxyEnv });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /CONNECT tunnel failed, response 403/);
    assert.equal(elsewhere.seen.length, 0);
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'proxy.refused');
  });
});
