import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPO_ROOT } from '../fixtures/cli.js';
import { runClient } from '../fixtures/postgres.js';

// The README's first command on a machine with no PostgreSQL server: the demo embeds one, and its own HTTP API.
test('the demo runs end to end with the embedded PostgreSQL and an HTTP API', async () => {
  const r = await runClient(process.execPath, [`${REPO_ROOT}examples/demo/run-demo.js`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GOVERN_DEMO_EMBEDDED: '1' },
    timeoutMs: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /target: embedded PostgreSQL \(PGlite, WebAssembly\)/);
  assert.match(r.stdout, /Ada Lovelace {2}\[masked:email\] +\[masked\] +\[masked\]/);
  assert.match(r.stdout, /refused: govern: blocked by rule "no-destruction" \(class drop\) \(SQLSTATE 42501\)/);
  // The billing API over HTTP: its token stays in the gateway, PII is masked, a big payment waits for the approver.
  assert.match(r.stdout, /BILLING_TOKEN is not in my environment/);
  assert.match(r.stdout, /GET \/customers\/1 → 200 \{"id":1,"name":"Ada Lovelace","email":"\[masked:email\]","ssn":"\[masked\]"/);
  assert.match(r.stdout, /POST \/payments of 50 → 201/);
  // The job's answer and `govern approve`'s own output come from two processes: either may print first.
  assert.match(r.stdout, /\[approver\] POST \/v1\/payments waits for rule big-payments[^]*→ 201 \{"id":"pay_2","customer":1,"payment_amount":5000\}/);
  assert.match(r.stdout, /apr_\w+: approved/);
  assert.match(r.stdout, /DELETE \/customers\/1 → 403 \{"error":"blocked by rule \\"no-destruction\\"","rule":"no-destruction"\}/);
  assert.match(r.stdout, /the billing API served: GET \/v1\/customers\/1, POST \/v1\/payments \(50\), POST \/v1\/payments \(5000\)\n/);
  assert.ok(!r.stdout.includes('billing-token-'), 'the API token never shows');
  assert.match(r.stdout, /OIDC token rejected: no trust entry matched: ref was refs\/heads\/experiment/);
  assert.match(r.stdout, /session: ok — \d+ events/);
  assert.match(r.stdout, /tampered: FAILED — event \d+ \(operation\) was altered/);
  assert.match(r.stdout, /Open \S+session\/report\.html in a browser to audit the session/);
  assert.ok(!r.stdout.includes('prod-db-password-do-not-leak'), 'the real password never shows');
});
