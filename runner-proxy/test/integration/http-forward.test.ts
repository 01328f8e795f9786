import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { fetch as undiciFetch, ProxyAgent, WebSocket } from 'undici';
import { governHttp, makeCertificates, recordedEvent, recordedEvents, sessionText, startUpstream, type GovernedHttp, type TestCertificates, type TestUpstream } from '../fixtures/http-upstream.js';
import { NODE24 } from '../fixtures/nodes.js';
import { runClient } from '../fixtures/postgres.js';

const TOKEN = 'real-api-token-5e1f';
const RULES = `
  - name: pii
    mask: { json: ["$..ssn"], types: [credit_card] }
  - name: no-deletes
    block: { http: ["DELETE /**"] }
`;
const UNDICI = createRequire(import.meta.url).resolve('undici');
/** A wrong proxy password that is recorded nowhere. */
const GUESS = 'guessed-proxy-secret-0123456789abcdef';
/**
 * A job's Node script that knows nothing of the gateway: `node -e NODE_JOB TRUST API URL [API URL…]`
 * requests each URL with `fetch`, `https.get` or `http.get` and prints [{ status, body }]. TRUST is `-`, or
 * a PEM file added to Node's default trust (as a job whose own host has a private CA would add it).
 */
const NODE_JOB = `const tls = require('node:tls');
  const modules = { https: require('node:https'), http: require('node:http') };
  const [trust, ...requests] = process.argv.slice(1);
  if (trust !== '-') tls.setDefaultCACertificates([...tls.getCACertificates('default'), require('node:fs').readFileSync(trust, 'utf8')]);
  const viaModule = (api, url) => new Promise((resolve, reject) => modules[api].get(url, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode, body }));
  }).on('error', reject));
  const viaFetch = async (url) => { const res = await fetch(url); return { status: res.status, body: await res.text() }; };
  (async () => {
    const results = [];
    for (let i = 0; i < requests.length; i += 2) results.push(await (requests[i] === 'fetch' ? viaFetch(requests[i + 1]) : viaModule(requests[i], requests[i + 1])));
    console.log(JSON.stringify(results));
  })().catch((e) => { console.error(e); process.exit(1); });`;

describe('HTTP forward proxy', () => {
  let certificates: TestCertificates;
  /** The connection's target: intercepted. */
  let api: TestUpstream;
  /** On the tunnel list (127.0.0.1): passed unopened. */
  let tunnelled: TestUpstream;
  /** Plain HTTP on the tunnel list: read like any request. */
  let plain: TestUpstream;
  let governed: GovernedHttp;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    certificates = makeCertificates();
    api = await startUpstream(certificates);
    tunnelled = await startUpstream(certificates);
    plain = await startUpstream();
    governed = await governHttp(api.url, RULES, { token: TOKEN, ca: certificates.caPem, extra: 'proxy: { intercept: ["*.govern.test"], tunnel: ["127.0.0.1"], others: refuse }' });
    // The test's targets are on loopback, which the exported NO_PROXY keeps out of the proxy.
    env = { PATH: process.env.PATH, ...governed.gateway.exports(), NO_PROXY: '', no_proxy: '' };
  });
  after(async () => {
    await governed?.stop();
    await api?.stop();
    await tunnelled?.stop();
    await plain?.stop();
  });

  test('the job gets the proxy and CA variables; the CA key is nowhere on disk', () => {
    const exported = governed.gateway.exports();
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) assert.match(exported[name]!, /^http:\/\/govern:[A-Za-z0-9_-]{32}@127\.0\.0\.1:\d+$/);
    const secrets = governed.gateway.secrets();
    assert.ok(secrets.includes(exported.HTTPS_PROXY!) && secrets.includes(new URL(exported.HTTPS_PROXY!).password), 'the proxy URL and its password are masked in CI logs');
    assert.match(exported.NO_PROXY!, /127\.0\.0\.1/);
    assert.equal(exported.NODE_USE_ENV_PROXY, '1');
    const ca = readFileSync(exported.NODE_EXTRA_CA_CERTS!, 'utf8');
    assert.equal(ca.match(/BEGIN CERTIFICATE/g)?.length, 1, 'NODE_EXTRA_CA_CERTS holds the run CA alone');
    const bundle = readFileSync(exported.SSL_CERT_FILE!, 'utf8');
    assert.ok(bundle.includes(ca.trim()) && (bundle.match(/BEGIN CERTIFICATE/g)?.length ?? 0) > 10, 'the bundle has the system CAs and the run CA');
    for (const name of ['CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'GIT_SSL_CAINFO']) assert.equal(exported[name], exported.SSL_CERT_FILE);
    assert.ok(!bundle.includes('PRIVATE KEY') && !ca.includes('PRIVATE KEY'));
  });

  test('without the proxy credentials, or with wrong ones: 407, closed, nothing reaches a target', async () => {
    const proxy = new URL(env.HTTPS_PROXY!);
    const bare = `http://127.0.0.1:${proxy.port}`;
    const before = { api: api.seen.length, plain: plain.seen.length };
    for (const via of [bare, `http://govern:${GUESS}@127.0.0.1:${proxy.port}`, `http://govern:${proxy.password}x@127.0.0.1:${proxy.port}`, `http://other:${proxy.password}@127.0.0.1:${proxy.port}`]) {
      for (const url of [`${api.url}/people`, `${plain.url}/echo`]) {
        const r = await runClient('curl', ['-sS', '-i', '--proxy', via, '--max-time', '20', url], { env: { ...env, HTTPS_PROXY: via, HTTP_PROXY: via } });
        assert.match(r.stdout + r.stderr, /407/, `${via} ${url}`);
      }
    }
    // The refusal as a plain-HTTP client reads it: the challenge, and why in JSON.
    const plainRefused = await runClient('curl', ['-sS', '-i', '--proxy', bare, `${plain.url}/echo`], { env });
    assert.match(plainRefused.stdout, /^HTTP\/1\.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="govern"\r\n/);
    assert.match(plainRefused.stdout, /\{"error":"this forward proxy serves the job only: use the proxy URL in HTTPS_PROXY as it is, with its credentials"\}$/);
    const py = await runClient('python3', ['-c', 'import requests,sys\ntry:\n  requests.get(sys.argv[1], proxies={"https": sys.argv[2]})\nexcept requests.exceptions.ProxyError as e:\n  print("refused", "407" in str(e))', `${api.url}/people`, bare], { env });
    assert.equal(py.stdout.trim(), 'refused True', py.stderr);
    const dispatcher = new ProxyAgent({ uri: bare, requestTls: { ca: readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8') } });
    await assert.rejects(undiciFetch(`${api.url}/people`, { dispatcher }));
    await dispatcher.close();
    assert.deepEqual({ api: api.seen.length, plain: plain.seen.length }, before, 'nothing reached a target');
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'auth.failed' && e.connection === '(proxy)');
    assert.ok(!sessionText(governed.gateway.outDir).includes(GUESS), 'no password, not even a wrong one, is recorded');
  });

  test('the scheme of the proxy credentials is read without regard to case', async () => {
    const proxy = new URL(env.HTTPS_PROXY!);
    const credentials = Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64');
    const r = await runClient('curl', ['-sS', '--proxy', `http://127.0.0.1:${proxy.port}`, '--proxy-header', `Proxy-Authorization: bASIC ${credentials}`, `${plain.url}/echo?scheme-case`], { env });
    assert.equal(JSON.parse(r.stdout).url, '/echo?scheme-case', r.stderr);
  });

  test('curl through HTTPS_PROXY: the connection host is intercepted, credential injected, JSON masked', async () => {
    const r = await runClient('curl', ['-sS', '--max-time', '20', `${api.url}/people?gzip`, '--compressed'], { env });
    assert.equal(r.status, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { people: { ssn: string; card: string }[] };
    assert.deepEqual(body.people.map((p) => p.ssn), ['[masked]', '[masked]']);
    assert.deepEqual(body.people.map((p) => p.card), ['[masked:credit_card]', '[masked:credit_card]']);
    assert.equal(api.seen.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('a blocked request through the proxy gets 403 and never reaches the target', async () => {
    const before = api.seen.length;
    const r = await runClient('curl', ['-sS', '-X', 'DELETE', `${api.url}/things/1`, '-w', '\n%{http_code}'], { env });
    assert.match(r.stdout, /"rule":"no-deletes"[\s\S]*\n403$/);
    assert.equal(api.seen.length, before);
  });

  test('Python requests honours HTTPS_PROXY and REQUESTS_CA_BUNDLE', async () => {
    const r = await runClient('python3', ['-c', 'import requests,sys; r = requests.get(sys.argv[1]); print(r.status_code, r.json()["people"][0]["ssn"])', `${api.url}/people`], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '200 [masked]');
  });

  test('Node fetch: through undici’s ProxyAgent, and through the environment with EnvHttpProxyAgent', async () => {
    const dispatcher = new ProxyAgent({ uri: env.HTTPS_PROXY!, requestTls: { ca: readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8') } });
    const res = await undiciFetch(`${api.url}/people`, { dispatcher });
    assert.equal(((await res.json()) as { people: { ssn: string }[] }).people[0]!.ssn, '[masked]');
    await dispatcher.close();
    // Node 20's global fetch ignores proxy variables until a dispatcher that reads them is installed.
    const script = `const { EnvHttpProxyAgent, setGlobalDispatcher } = require(${JSON.stringify(UNDICI)});
      setGlobalDispatcher(new EnvHttpProxyAgent());
      fetch(process.argv[1]).then((r) => r.json()).then((b) => console.log(b.people[0].ssn));`;
    const r = await runClient(process.execPath, ['-e', script, `${api.url}/people`], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '[masked]');
  });

  test('a WebSocket (wss) through the proxy is intercepted and its text frames masked', async () => {
    const dispatcher = new ProxyAgent({ uri: env.HTTPS_PROXY!, requestTls: { ca: readFileSync(env.NODE_EXTRA_CA_CERTS!, 'utf8') } });
    const socket = new WebSocket(`${api.url.replace('https:', 'wss:')}/ws`, { dispatcher });
    const answer = await new Promise<string>((resolve, reject) => {
      socket.onopen = () => socket.send('hi');
      socket.onmessage = (e) => resolve(String(e.data));
      socket.onerror = () => reject(new Error('the WebSocket failed'));
    });
    socket.close();
    await dispatcher.close();
    assert.deepEqual(JSON.parse(answer), { echo: 'hi', ssn: '[masked]' });
    assert.equal(api.seen.at(-1)!.headers.authorization, `Bearer ${TOKEN}`);
  });

  test('a host on the tunnel list is passed unopened and recorded as host, port and bytes', async () => {
    const r = await runClient('curl', ['-sS', '--cacert', certificates.caFile, `${tunnelled.url.replace('localhost', '127.0.0.1')}/echo`], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).url, '/echo');
    assert.equal(tunnelled.seen.at(-1)!.headers.authorization, undefined, 'no credential goes to a tunnelled host');
    const event = await recordedEvent(governed.gateway.outDir, (e) => e.type === 'tunnel' && e.host === '127.0.0.1');
    assert.ok((event.bytes_up as number) > 100 && (event.bytes_down as number) > 100);
  });

  test('any other host is refused: egress allow-list', async () => {
    const before = tunnelled.seen.length;
    const r = await runClient('curl', ['-sS', '--cacert', certificates.caFile, `${tunnelled.url}/echo`], { env });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /403/);
    assert.equal(tunnelled.seen.length, before);
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'proxy.refused' && e.host === 'localhost');
  });

  test('the run CA may vouch only for the intercepted names; a glob’s host verifies with curl, Python, git and Node', async (t) => {
    const text = (await runClient('openssl', ['x509', '-in', env.NODE_EXTRA_CA_CERTS!, '-noout', '-ext', 'nameConstraints'])).stdout;
    assert.match(text, /X509v3 Name Constraints: critical\n\s+Permitted:\n\s+DNS:localhost\n\s+DNS:\.govern\.test\n\s+Excluded:\n\s+DNS:\.localhost\n\s+IP:0\.0\.0\.0\/0\.0\.0\.0\n/);
    // api.govern.test does not resolve: the gateway's 502 comes after the client verified its certificate.
    const url = 'https://api.govern.test/people';
    const curl = await runClient('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', url], { env });
    assert.equal(curl.stdout, '502', curl.stderr);
    const python = await runClient('python3', ['-c', 'import requests,sys; print(requests.get(sys.argv[1]).status_code)', url], { env });
    assert.equal(python.stdout.trim(), '502', python.stderr);
    const git = await runClient('git', ['ls-remote', 'https://api.govern.test/repo.git'], { env: { ...env, GIT_TERMINAL_PROMPT: '0' } });
    assert.match(git.stderr, /The requested URL returned error: 502/);
    if (NODE24.skip) return t.diagnostic(`not with Node 24: ${NODE24.skip}`);
    const node = await runClient(NODE24.path, ['-e', 'fetch(process.argv[1]).then((r) => console.log(r.status))', url], { env });
    assert.equal(node.stdout.trim(), '502', node.stderr);
  });

  test('plain HTTP through HTTP_PROXY is read and recorded as requests; the proxy credentials stay on the proxy hop', async () => {
    const r = await runClient('curl', ['-sS', `${plain.url}/echo?via=proxy`], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).url, '/echo?via=proxy');
    assert.equal(plain.seen.at(-1)!.headers['proxy-authorization'], undefined);
    await recordedEvent(governed.gateway.outDir, (e) => e.type === 'operation' && e.connection === 'proxy:127.0.0.1' && e.text === 'GET /echo?via=proxy');
  });

  test('the proxy password is in no file of the session', () => {
    assert.ok(!sessionText(governed.gateway.outDir).includes(new URL(env.HTTPS_PROXY!).password));
    assert.ok(!governed.logged.join('\n').includes(new URL(env.HTTPS_PROXY!).password));
  });

  describe(`${NODE24.name}: the exported environment alone (NODE_USE_ENV_PROXY=1)`, () => {
    /** Runs NODE_JOB with `node` and returns its answers. */
    async function nodeJob(node: string, jobEnv: NodeJS.ProcessEnv, trust: string, requests: string[]): Promise<{ status: number; body: string }[]> {
      const r = await runClient(node, ['-e', NODE_JOB, trust, ...requests], { env: jobEnv });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { status: number; body: string }[];
    }
    /** An answer from /people: its status and the first SSN it held. */
    const firstSsn = ({ status, body }: { status: number; body: string }) => [status, (JSON.parse(body) as { people: { ssn: string }[] }).people[0]!.ssn];

    test('fetch, https.get and http.get go through the proxy: credential injected, SSN masked, each request recorded', { skip: NODE24.skip }, async () => {
      const answers = await nodeJob(NODE24.path, env, '-', ['fetch', `${api.url}/people?client=fetch`, 'https', `${api.url}/people?client=https`, 'http', `${plain.url}/people?client=http`]);
      assert.deepEqual(answers.map(firstSsn), [[200, '[masked]'], [200, '[masked]'], [200, '[masked]']]);
      for (const client of ['fetch', 'https']) {
        assert.equal(api.seen.find((s) => s.url === `/people?client=${client}`)?.headers.authorization, `Bearer ${TOKEN}`);
        await recordedEvent(governed.gateway.outDir, (e) => e.type === 'operation' && e.connection === 'api' && e.text === `GET /people?client=${client}`);
      }
      await recordedEvent(governed.gateway.outDir, (e) => e.type === 'operation' && e.connection === 'proxy:127.0.0.1' && e.text === 'GET /people?client=http');
    });

    test('a tunnelled host is reached through the proxy and verified by the job, the run CA trusted beside its own', { skip: NODE24.skip }, async () => {
      const host = tunnelled.url.replace('localhost', '127.0.0.1');
      const tunnels = () => recordedEvents(governed.gateway.outDir).filter((e) => e.type === 'tunnel' && e.host === '127.0.0.1').length;
      const tunnelsBefore = tunnels();
      const answers = await nodeJob(NODE24.path, env, certificates.caFile, ['fetch', `${host}/echo?client=fetch`, 'https', `${host}/echo?client=https`, 'fetch', `${api.url}/people?client=beside`]);
      assert.deepEqual(answers.slice(0, 2).map((a) => [a.status, (JSON.parse(a.body) as { url: string }).url]), [[200, '/echo?client=fetch'], [200, '/echo?client=https']]);
      assert.deepEqual(firstSsn(answers[2]!), [200, '[masked]']);
      for (const client of ['fetch', 'https']) assert.equal(tunnelled.seen.find((s) => s.url === `/echo?client=${client}`)?.headers.authorization, undefined);
      await recordedEvent(governed.gateway.outDir, () => tunnels() >= tunnelsBefore + 2);
    });

    test('without NODE_USE_ENV_PROXY, and on Node 20 with it, the same requests go direct: the proxy is an agreement, not a firewall', { skip: NODE24.skip }, async () => {
      const { NODE_USE_ENV_PROXY: flag, ...withoutFlag } = env;
      assert.equal(flag, '1');
      const direct = await nodeJob(NODE24.path, withoutFlag, certificates.caFile, ['fetch', `${api.url}/people?client=direct-fetch`, 'https', `${api.url}/people?client=direct-https`, 'http', `${plain.url}/people?client=direct-http`]);
      assert.deepEqual(direct.map(firstSsn), [[200, '536-22-4711'], [200, '536-22-4711'], [200, '536-22-4711']]);
      for (const client of ['fetch', 'https']) assert.equal(api.seen.find((s) => s.url === `/people?client=direct-${client}`)?.headers.authorization, undefined, 'no credential: the gateway never saw it');
      const node20 = await nodeJob(process.execPath, env, '-', ['fetch', `${plain.url}/people?client=node20-fetch`, 'http', `${plain.url}/people?client=node20-http`]);
      assert.deepEqual(node20.map(firstSsn), [[200, '536-22-4711'], [200, '536-22-4711']]);
      const recorded = recordedEvents(governed.gateway.outDir).map((e) => e.text);
      for (const client of ['direct-fetch', 'direct-https', 'direct-http', 'node20-fetch', 'node20-http']) assert.ok(!recorded.includes(`GET /people?client=${client}`));
    });
  });
});
