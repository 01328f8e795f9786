import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { govern, waitingRequest } from '../fixtures/cli.js';
import { startFakeGitHub, type FakeGitHub } from '../fixtures/forges.js';
import { governHttp, startUpstream, type GovernedHttp, type TestUpstream } from '../fixtures/http-upstream.js';
import { runClient } from '../fixtures/postgres.js';

const RULES = `
  - name: big-payments
    when: { method: POST, path: "/payments/**" }
    approve: { json: "payment_amount > 1000" }
`;

const curlPost = (url: string, body: string, headers: string[] = ['-H', 'Content-Type: application/json']) =>
  runClient('curl', ['-sS', '--max-time', '30', '-X', 'POST', url, ...headers, '--data-binary', body, '-w', '\n%{http_code}'], { timeoutMs: 40_000 });

const paymentsSeen = (upstream: TestUpstream) => upstream.seen.filter((s) => s.url.startsWith('/payments')).length;

describe('HTTP requests held for approval (CLI)', () => {
  let upstream: TestUpstream;
  let governed: GovernedHttp;

  before(async () => {
    upstream = await startUpstream();
    governed = await governHttp(upstream.url, RULES, { extra: 'approvals: { via: cli, timeout: 30s }' });
  });
  after(async () => {
    await governed?.stop();
    await upstream?.stop();
  });

  test('a payment of 50 passes at once', async () => {
    const r = await curlPost(`${governed.url}/payments/new`, '{"payment_amount": 50}');
    assert.match(r.stdout, /\n200$/);
    assert.equal(paymentsSeen(upstream), 1);
  });

  test('a payment of 5000 waits until govern approve, then reaches the target as sent', async () => {
    const body = '{"payment_amount": 5000, "to": "acme"}';
    const pending = curlPost(`${governed.url}/payments/new`, body);
    const request = await waitingRequest(governed.gateway.outDir);
    assert.equal(request.operation, 'POST /payments/new');
    assert.equal(paymentsSeen(upstream), 1, 'nothing reached the target while it waited');
    const approved = await govern(['approve', request.id, '--out', governed.gateway.outDir]);
    assert.equal(approved.status, 0, approved.stderr);
    const r = await pending;
    assert.match(r.stdout, /\n200$/);
    assert.equal((JSON.parse(r.stdout.split('\n')[0]!) as { body: string }).body, body);
  });

  test('a client that leaves while its payment waits sends nothing, even once approved', async () => {
    const before = paymentsSeen(upstream);
    const controller = new AbortController();
    const pending = fetch(`${governed.url}/payments/new`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payment_amount": 7000}', signal: controller.signal }).catch(() => 'aborted');
    const request = await waitingRequest(governed.gateway.outDir);
    controller.abort();
    assert.equal(await pending, 'aborted');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await govern(['approve', request.id, '--out', governed.gateway.outDir])).status, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(paymentsSeen(upstream), before);
  });

  test('a gzip-coded payment is decoded for the rule; a denied one gets 403 with the request id', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'govern-pay-')), 'body.gz');
    writeFileSync(file, gzipSync('{"payment_amount": 9000}'));
    const pending = runClient('curl', ['-sS', '-X', 'POST', `${governed.url}/payments/new`, '-H', 'Content-Type: application/json', '-H', 'Content-Encoding: gzip', '--data-binary', `@${file}`, '-w', '\n%{http_code}']);
    const request = await waitingRequest(governed.gateway.outDir);
    const denied = await govern(['deny', request.id, '--reason', 'not today', '--out', governed.gateway.outDir]);
    assert.equal(denied.status, 0, denied.stderr);
    const r = await pending;
    assert.match(r.stdout, /\n403$/);
    const refusal = JSON.parse(r.stdout.split('\n')[0]!) as { rule: string; request_id: string; error: string };
    assert.equal(refusal.rule, 'big-payments');
    assert.equal(refusal.request_id, request.id);
    assert.match(refusal.error, /not today/);
  });

  test('a body the rule cannot read is refused, not passed: not JSON, unknown coding, too large', async () => {
    const before = paymentsSeen(upstream);
    for (const [body, headers] of [
      ['payment_amount=5000', ['-H', 'Content-Type: application/x-www-form-urlencoded']],
      ['{"payment_amount": 5000', ['-H', 'Content-Type: application/json']],
      ['xxxx', ['-H', 'Content-Type: application/json', '-H', 'Content-Encoding: zstd']],
      [`{"pad":"${'x'.repeat(2 << 20)}","payment_amount":5000}`, ['-H', 'Content-Type: application/json']],
    ] as const) {
      const file = join(mkdtempSync(join(tmpdir(), 'govern-pay-')), 'body');
      writeFileSync(file, body);
      const r = await runClient('curl', ['-sS', '-X', 'POST', `${governed.url}/payments/new`, ...headers, '--data-binary', `@${file}`, '-w', '\n%{http_code}']);
      assert.match(r.stdout, /\n403$/, body.slice(0, 40));
      assert.match(r.stdout, /a rule must read this body and cannot/);
    }
    assert.equal(paymentsSeen(upstream), before);
  });
});

describe('HTTP approvals: timeout and pull-request comments', () => {
  let upstream: TestUpstream;
  let github: FakeGitHub;

  before(async () => {
    upstream = await startUpstream();
    github = await startFakeGitHub();
    github.permissions.set('alice', 'write');
  });
  after(async () => {
    await github?.close();
    await upstream?.stop();
  });

  test('nobody answers: 504 with the request id', async () => {
    const governed = await governHttp(upstream.url, RULES, { extra: 'approvals: { via: cli, timeout: 1s }' });
    try {
      const r = await curlPost(`${governed.url}/payments/new`, '{"payment_amount": 5000}');
      assert.match(r.stdout, /\n504$/);
      assert.match(JSON.parse(r.stdout.split('\n')[0]!).request_id as string, /^apr_/);
    } finally {
      await governed.stop();
    }
  });

  test('an approver’s PR comment releases the payment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-event-'));
    writeFileSync(join(dir, 'event.json'), JSON.stringify({ pull_request: { number: 12 } }));
    const governed = await governHttp(upstream.url, RULES, {
      extra: 'approvals: { via: github, approvers: [alice], timeout: 30s }',
      env: {
        GOVERN_GITHUB_TOKEN: github.token,
        GITHUB_REPOSITORY: 'acme/payments',
        GITHUB_SHA: 'f00d',
        GITHUB_API_URL: github.url,
        GITHUB_EVENT_PATH: join(dir, 'event.json'),
        GITHUB_ACTOR: 'octo-dev',
        GOVERN_APPROVAL_POLL_MS: '20',
      },
    });
    try {
      const pending = curlPost(`${governed.url}/payments/new`, '{"payment_amount": 5000}');
      let id: string | undefined;
      for (let i = 0; i < 200 && !id; i++) {
        id = /request `(apr_[0-9a-f]+)`/.exec(github.posted('issue:12').at(-1)?.body ?? '')?.[1];
        if (!id) await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(id, 'the request was announced on the pull request');
      assert.match(github.posted('issue:12').at(-1)!.body, /POST \/payments\/new/);
      github.comment('issue:12', 'alice', `/govern approve ${id}`);
      const r = await pending;
      assert.match(r.stdout, /\n200$/);
    } finally {
      await governed.stop();
    }
  });
});
