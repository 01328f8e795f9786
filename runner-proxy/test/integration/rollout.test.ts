import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { govern } from '../fixtures/cli.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { postgresBin, startPostgres, type TestPostgres } from '../fixtures/postgres.js';

// The demo's billing API, as the demo runs it.
const { startBillingApi } = (await import(new URL('../../../../examples/demo/billing.js', import.meta.url).href)) as {
  startBillingApi(): Promise<{ url: string; token: string; served: string[]; close(): Promise<void> }>;
};

const JOB = fileURLToPath(new URL('../fixtures/rollout-job.js', import.meta.url));
const CLAIMS = { aud: 'govern', sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4242', ref: 'refs/heads/main', sha: 'f00d', workflow: 'deploy', run_id: '1001', actor: 'octo-dev', event_name: 'push' };

describe('from observe to enforce', { skip: !postgresBin() && 'no PostgreSQL server binaries' }, () => {
  let issuer: TestIssuer;
  let cluster: TestPostgres;
  let billingApi: Awaited<ReturnType<typeof startBillingApi>>;
  let root: string;
  let targetUrl: string;

  before(async () => {
    issuer = await startIssuer();
    cluster = await startPostgres();
    await cluster.sql(["CREATE ROLE payments LOGIN PASSWORD 'prod-db-password-do-not-leak'", 'CREATE DATABASE payments OWNER payments']);
    targetUrl = cluster.url('payments', 'prod-db-password-do-not-leak', 'payments');
    billingApi = await startBillingApi();
    root = mkdtempSync(join(tmpdir(), 'govern-rollout-'));
  });
  after(async () => {
    await billingApi?.close();
    await cluster?.stop();
    await issuer?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const runJob = async (policy: string, out: string, env: Record<string, string>, steps = 'observed') => {
    const r = await govern(['run', '--policy', policy, '--out', out, '--fail-on', 'never', '--', process.execPath, JOB], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ROLLOUT_STEPS: steps, GOVERN_ID_TOKEN: await issuer.sign(CLAIMS), ...env },
      timeoutMs: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
  };

  test('suggest masks exactly the PII columns, and enforcing the suggestion runs the job unchanged while what it never did is refused', async () => {
    const observePolicy = join(root, 'observe.yml');
    writeFileSync(
      observePolicy,
      [
        'version: 1',
        'identity:',
        '  audience: govern',
        `  trust: [{ issuer: "${issuer.url}", claims: { repository_id: "4242", ref: refs/heads/main } }]`,
        'connections:',
        '  payments_db: { postgres: { url: "${PROD_DATABASE_URL}" }, export: DATABASE_URL }',
        '  billing: { http: { url: "${BILLING_API_URL}", headers: { Authorization: "Bearer ${BILLING_TOKEN}" } }, export: BILLING_URL }',
        'mode: observe',
        '',
      ].join('\n'),
    );
    const observed = join(root, 'observed');
    const seen = await runJob(observePolicy, observed, { PROD_DATABASE_URL: targetUrl, BILLING_API_URL: billingApi.url, BILLING_TOKEN: billingApi.token });
    assert.equal(seen.customers[0].ssn, '536-22-4711', 'observe mode with no rule masks nothing');
    const events = readFileSync(join(observed, 'events.jsonl'), 'utf8');
    assert.ok(!events.includes('536-22-4711') && !events.includes('ada@example.com'), 'discovery records counts, never a value');

    const suggested = join(root, 'suggested.yml');
    const s = await govern(['policy', 'suggest', observed, '--out', suggested]);
    assert.equal(s.status, 0, s.stderr);
    const text = readFileSync(suggested, 'utf8');
    const policy = parsePolicy(suggested, Buffer.from(text), { env: {}, resolveVariables: false });
    const masks = policy.rules.flatMap((r) => r.mask?.columns ?? []);
    assert.deepEqual(masks.sort(), ['public.customers.card_number', 'public.customers.email', 'public.customers.ssn']);
    assert.match(text, /public\.customers\.ssn: us_ssn 2 of 2 values \(100%\)/);
    assert.deepEqual(policy.identity?.trust[0]?.claims, { repository_id: '4242', ref: ['refs/heads/main'], event_name: ['push'] });
    assert.match(text, /url: "\$\{PAYMENTS_DB_TARGET_URL\}"/);
    assert.ok(!text.includes('prod-db-password-do-not-leak') && !text.includes(billingApi.token), 'no secret in the suggestion');
    assert.match(text, /allow: \{ http: \["GET \/v1\/customers\/\*", "POST \/v1\/payments"\] \}/);
    assert.match(text, /# .*operations in run 1001/);

    // The suggestion names no credential header (the bundle never has one): the team adds it, as its comment says.
    const enforcePolicy = join(root, 'enforce.yml');
    writeFileSync(enforcePolicy, text.replace(/http: \{ url: ("[^"]+") \}.*/, 'http: { url: $1, headers: { Authorization: "Bearer ${BILLING_TOKEN}" } }'));
    const enforceEnv = { PAYMENTS_DB_TARGET_URL: targetUrl, BILLING_TARGET_URL: billingApi.url, BILLING_TOKEN: billingApi.token };
    const enforced = await runJob(enforcePolicy, join(root, 'enforced'), enforceEnv);
    const manifest = JSON.parse(readFileSync(join(root, 'enforced', 'manifest.json'), 'utf8'));
    assert.equal(manifest.counts.blocked, 0, 'nothing the observed job did is blocked');
    assert.equal(manifest.counts.would_hold + manifest.counts.denied, 0);
    assert.equal(enforced.customers[0].name, 'Ada Lovelace');
    assert.equal(enforced.customers[0].id, 1);
    assert.equal(enforced.customers[0].ssn, '[masked]');
    assert.equal(enforced.customers[0].email, '[masked]');
    assert.equal(enforced.customers[0].card_number, '[masked]');
    assert.equal(enforced.customer.status, 200);
    assert.equal(enforced.payment.status, 201);

    const destructive = await runJob(enforcePolicy, join(root, 'destructive'), enforceEnv, 'destructive');
    assert.match(destructive.drop, /^42501: govern: blocked by rule "payments_db-never-seen" \(class drop\)/);
    assert.equal(destructive.delete.status, 403);
    assert.match(destructive.delete.body, /billing-never-seen/);
    assert.ok(!billingApi.served.includes('DELETE /v1/customers/1'), 'the DELETE never reached the API');
  });
});
