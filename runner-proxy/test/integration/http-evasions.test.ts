import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { governHttp, makeCertificates, recordedEvent, type GovernedHttp, type TestCertificates } from '../fixtures/http-upstream.js';
import { startLenientTarget, TARGET_SSN, type LenientTarget } from '../fixtures/http-lenient-target.js';
import { runClient } from '../fixtures/postgres.js';

const RULES = `
  - name: no-customer-deletes
    block: { http: ["DELETE /v1/customers/**"] }
  - name: no-admin
    block: { http: ["/v1/admin/**"] }
  - name: big-payments
    when: { path: "/v1/payments" }
    block: { json: "amount > 1000" }
  - name: pii
    mask: { types: [us_ssn] }
`;

/** What the lenient target reads as harm, or leaks: `harm` is what it adds to its harm list, `leak` what its answer shows. */
interface Evasion {
  name: string;
  method?: string;
  path: string;
  headers?: string[];
  data?: string;
  form?: string[];
  harm?: string;
  leak?: boolean;
}

const JSON_TYPE = 'Content-Type: application/json';
const DELETE_1 = 'delete 1';
const deletes = (name: string, path: string, extra: Partial<Evasion> = {}): Evasion => ({ name, method: 'DELETE', path, harm: DELETE_1, ...extra });
const overridden = (name: string, extra: Partial<Evasion>): Evasion => ({ name, method: 'POST', path: '/v1/customers/1', harm: DELETE_1, ...extra });
const pays = (name: string, data: string, charged: number): Evasion => ({ name, method: 'POST', path: '/v1/payments', headers: [JSON_TYPE], data, harm: `charge ${charged}` });

/** Each is first shown to do its harm (or leak) on the target directly, then sent through the gateway. */
const EVASIONS: Evasion[] = [
  deletes('a leading empty segment', '//v1/customers/1'),
  deletes('an empty segment inside', '/v1//customers/1'),
  deletes('an empty segment before the id', '/v1/customers//1'),
  deletes('an encoded slash', '/v1%2Fcustomers/1'),
  deletes('encoded slashes in lower case', '/v1%2fcustomers%2f1'),
  deletes('an encoded backslash', '/v1%5Ccustomers/1'),
  deletes('raw backslashes', '/v1\\customers\\1'),
  deletes('a ;parameter in a segment', '/v1/customers;jsessionid=x/1'),
  deletes('an empty ;parameter', '/v1;/customers/1'),
  deletes('a dot segment with a parameter', '/v1/x/..;/customers/1'),
  deletes('an encoded dot segment with a parameter', '/v1/x/%2e%2e;/customers/1'),
  deletes('a dot segment between encoded slashes', '/v1/x%2F..%2Fcustomers/1'),
  deletes('the path in upper case', '/V1/CUSTOMERS/1'),
  deletes('the path in mixed case', '/v1/Customers/1'),
  deletes('a dot segment', '/v1/./customers/1'),
  deletes('an encoded dot segment', '/v1/%2e/customers/1'),
  deletes('an encoded unreserved letter', '/%761/customers/1'),
  deletes('the method in lower case', '/v1/customers/1', { method: 'delete' }),
  deletes('the method in mixed case', '/v1/customers/1', { method: 'Delete' }),
  overridden('X-HTTP-Method-Override', { headers: ['X-HTTP-Method-Override: DELETE'] }),
  overridden('X-HTTP-Method', { headers: ['X-HTTP-Method: DELETE'] }),
  overridden('X-Method-Override in lower case', { headers: ['x-method-override: delete'] }),
  overridden('_method in the query', { path: '/v1/customers/1?_method=DELETE' }),
  overridden('_method encoded in the query', { path: '/v1/customers/1?%5Fmethod=DELETE' }),
  overridden('_method in a urlencoded form', { data: 'name=x&_method=DELETE' }),
  overridden('_method in a multipart form', { form: ['name=x', '_method=DELETE'] }),
  overridden('an override on a mixed-case path', { path: '/V1/customers/1', headers: ['X-HTTP-Method-Override: DELETE'] }),
  { name: 'admin behind an empty segment', path: '//v1/admin/users', harm: 'admin' },
  { name: 'admin in upper case', path: '/v1/ADMIN/users', harm: 'admin' },
  { name: 'admin behind a ;parameter', path: '/v1/admin;x/users', harm: 'admin' },
  { name: 'admin behind an encoded slash', path: '/v1%2Fadmin/users', harm: 'admin' },
  { name: 'admin behind a dot segment', path: '/v1/customers/../admin/users', harm: 'admin' },
  pays('an amount as a string', '{"amount":"5000"}', 5000),
  pays('an amount with spaces', '{"amount":" 5000 "}', 5000),
  pays('an amount in exponent form', '{"amount":"5e3"}', 5000),
  pays('a batch', '[{"amount":5},{"amount":5000}]', 5000),
  pays('a batch of strings', '[{"amount":"7"},{"amount":"6000"}]', 6000),
  { name: 'one range of a masked answer', path: '/v1/report', headers: ['Range: bytes=20-40'], leak: true },
  { name: 'ranges of a masked answer (multipart/byteranges)', path: '/v1/report', headers: ['Range: bytes=0-3,20-40'], leak: true },
  { name: 'a range in If-Range form', path: '/v1/report', headers: ['Range: bytes=20-40', 'If-Range: "x"'], leak: true },
  { name: 'an answer in parts the job did not ask for', path: '/v1/partial', leak: true },
  { name: 'an SSN as a JSON key', path: '/v1/keys', leak: true },
  {
    name: 'a declined WebSocket upgrade',
    path: '/v1/ws',
    headers: ['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='],
    leak: true,
  },
];

/** Harmless requests: through the gateway they reach the target and do what they ask. */
const HARMLESS: { name: string; method?: string; path: string; headers?: string[]; data?: string; reads: string }[] = [
  { name: 'a customer', path: '/v1/customers/1', reads: 'GET /v1/customers/1' },
  { name: 'a customer with a query', path: '/v1/customers/1?expand=cards', reads: 'GET /v1/customers/1' },
  { name: 'a small payment', method: 'POST', path: '/v1/payments', headers: [JSON_TYPE], data: '{"amount":10}', reads: 'POST /v1/payments' },
  { name: 'a small batch', method: 'POST', path: '/v1/payments', headers: [JSON_TYPE], data: '[{"amount":5},{"amount":"6"}]', reads: 'POST /v1/payments' },
];

/** curl's answer (status, body) to one request, sent as written (`--path-as-is`). */
async function send(base: string, e: { method?: string; path: string; headers?: string[]; data?: string; form?: string[] }, env?: NodeJS.ProcessEnv, ca?: string) {
  const args = ['-sS', '--path-as-is', '--max-time', '20', ...(ca ? ['--cacert', ca] : []), '-X', e.method ?? 'GET', `${base}${e.path}`];
  for (const h of e.headers ?? []) args.push('-H', h);
  if (e.data !== undefined) args.push('--data-binary', e.data);
  for (const f of e.form ?? []) args.push('-F', f);
  args.push('-w', '\n%{http_code}');
  const r = await runClient('curl', args, { timeoutMs: 30_000, ...(env && { env }) });
  assert.equal(r.status, 0, r.stderr);
  const cut = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
}

describe('HTTP requests judged as a lenient target reads them', () => {
  let certificates: TestCertificates;
  let target: LenientTarget;
  /** The target's connection as declared by nobody: what may be read two ways is refused. */
  let strict: GovernedHttp;
  /** The same target, its habits declared: rules see what it reads. */
  let declared: GovernedHttp;
  let proxyEnv: NodeJS.ProcessEnv;

  before(async () => {
    certificates = makeCertificates();
    target = await startLenientTarget(certificates);
    strict = await governHttp(target.url, RULES, { ca: certificates.caPem, extra: 'proxy: { others: refuse }' });
    declared = await governHttp(target.url, RULES, {
      ca: certificates.caPem,
      settings: 'reads: { empty_segments: merge, encoded_slashes: decode, path_parameters: strip, path_case: insensitive, method_case: insensitive, method_override: honour }',
    });
    // The target is on loopback, which the exported NO_PROXY keeps out of the proxy.
    proxyEnv = { PATH: process.env.PATH, ...strict.gateway.exports(), NO_PROXY: '', no_proxy: '' };
  });
  after(async () => {
    await strict?.stop();
    await declared?.stop();
    await target?.stop();
  });

  test('each evasion does its harm on the unguarded target', async () => {
    for (const e of EVASIONS) {
      const before = target.harm.length;
      const r = await send(target.url, e, undefined, certificates.caFile);
      if (e.harm) assert.deepEqual(target.harm.slice(before), [e.harm], `${e.name}: ${r.status} ${r.body}`);
      if (e.leak) assert.ok(r.body.includes(TARGET_SSN.slice(0, 6)) || r.body.includes(TARGET_SSN), `${e.name} leaks: ${r.body}`);
    }
  });

  const refusedThrough = async (name: string, base: () => string, env?: () => NodeJS.ProcessEnv) => {
    const before = target.harm.length;
    for (const e of EVASIONS) {
      const r = await send(base(), e, env?.());
      if (e.harm) assert.ok([400, 403].includes(r.status), `${name}, ${e.name}: ${r.status} ${r.body}`);
      else assert.ok(!r.body.includes(TARGET_SSN) && !r.body.includes(TARGET_SSN.slice(0, 6)), `${name}, ${e.name} is masked or refused: ${r.status} ${r.body}`);
    }
    assert.deepEqual(target.harm.slice(before), [], `${name}: nothing harmful reached the target`);
  };

  test('through the reverse listener, every evasion is refused or masked', () => refusedThrough('reverse', () => strict.url));
  test('through the forward proxy, every evasion is refused or masked', () => refusedThrough('proxy', () => target.url, () => proxyEnv));

  test('a path or method the target may read two ways is 400 naming the reads setting; a case variant is refused by the rule', async () => {
    const empty = await send(strict.url, deletes('', '//v1/customers/1'));
    assert.equal(empty.status, 400);
    assert.match(empty.body, /empty segment.*empty_segments/);
    const override = await send(strict.url, overridden('', { headers: ['X-HTTP-Method-Override: GET'] }));
    assert.equal(override.status, 400, 'an override is refused whatever it names');
    assert.match(override.body, /method_override/);
    const lower = await send(strict.url, { method: 'get', path: '/v1/customers/1' });
    assert.equal(lower.status, 400);
    assert.match(lower.body, /method_case/);
    const cased = await send(strict.url, deletes('', '/V1/Customers/1'));
    assert.equal(cased.status, 403);
    assert.match(cased.body, /no-customer-deletes/);
    const noted = await recordedEvent(strict.gateway.outDir, (e) => e.type === 'http.ambiguous' && /empty_segments/.test(String(e.problem)));
    assert.equal(noted.connection, 'api');
  });

  test('partial answers are asked for whole and masked; one the target sends anyway is 502', async () => {
    const whole = await send(strict.url, { path: '/v1/report', headers: ['Range: bytes=20-40'] });
    assert.equal(whole.status, 200);
    assert.equal((JSON.parse(whole.body) as { customer: string }).customer, 'Ann');
    const partial = await send(strict.url, { path: '/v1/partial' });
    assert.equal(partial.status, 502);
    const declined = await send(strict.url, EVASIONS.at(-1)!);
    assert.equal(declined.status, 403);
    assert.match(declined.body, /no sockets for you/);
  });

  test('the harmless requests pass and do what they ask', async () => {
    for (const h of HARMLESS) {
      const read = target.read.length;
      const r = await send(strict.url, h);
      assert.equal(r.status, 200, `${h.name}: ${r.body}`);
      assert.deepEqual(target.read.slice(read), [h.reads], h.name);
      assert.ok(!r.body.includes(TARGET_SSN), h.name);
    }
  });

  test('declared habits: rules see the request as the target reads it, so evasions meet the rule and plain variants pass', async () => {
    const before = target.harm.length;
    for (const e of EVASIONS.filter((x) => x.harm)) {
      const r = await send(declared.url, e);
      assert.equal(r.status, 403, `${e.name}: ${r.status} ${r.body}`);
      assert.match(r.body, /"rule":"(no-customer-deletes|no-admin|big-payments)"/, e.name);
    }
    assert.deepEqual(target.harm.slice(before), []);
    // The record names what the target would have done.
    await recordedEvent(declared.gateway.outDir, (e) => e.type === 'operation' && e.text === 'DELETE /v1/customers/1' && e.verdict === 'block');
    const variants: { method?: string; path: string; headers?: string[]; data?: string }[] = [
      { path: '//v1//customers/1' },
      { path: '/V1/Customers;v=2/1' },
      { path: '/v1%2Fcustomers/1' },
      { method: 'get', path: '/v1/customers/1' },
      { method: 'POST', path: '/v1/customers/1', headers: ['X-HTTP-Method-Override: GET'] },
      { method: 'POST', path: '/v1/customers/1?_method=get' },
    ];
    for (const v of variants) {
      const read = target.read.length;
      const r = await send(declared.url, v);
      assert.equal(r.status, 200, `${v.path}: ${r.body}`);
      assert.deepEqual(target.read.slice(read), ['GET /v1/customers/1'], v.path);
      assert.ok(!r.body.includes(TARGET_SSN));
    }
  });
});
