import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parsePolicy } from '../../src/policy/load.js';
import { govern } from '../fixtures/cli.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { postgresBin, startPostgres, type TestPostgres } from '../fixtures/postgres.js';
import { builtInProtocols } from '../../src/adapters/index.js';

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
  /** Bundles and policies the first test makes, which the policy test cases read. */
  const made: Record<string, string> = {};

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
    const policy = parsePolicy(suggested, Buffer.from(text), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    const masks = policy.rules.flatMap((r) => r.mask?.columns ?? []);
    assert.deepEqual(masks.sort(), ['public.customers.card_number', 'public.customers.email', 'public.customers.ssn']);
    assert.match(text, /public\.customers\.ssn: us_ssn 2 of 2 values \(100%\)/);
    assert.deepEqual(policy.rules.find((r) => r.name === 'billing-pii')?.mask?.json, ['$.email', '$.ssn'], 'the JSON fields of the API that carried PII, not its name or plan');
    assert.deepEqual(policy.identity?.trust[0]?.claims, { repository_id: '4242', ref: ['refs/heads/main'], event_name: ['push'] });
    // Connections as the policy in force wrote them when the bundle carries it, else with placeholders of their own.
    assert.match(text, /"?url"?: ?"\$\{(PAYMENTS_DB_TARGET_URL|PROD_DATABASE_URL)\}"/);
    assert.ok(!text.includes('prod-db-password-do-not-leak') && !text.includes(billingApi.token), 'no secret in the suggestion');
    assert.match(text, /allow: \{ http: \["GET \/v1\/customers\/\*", "POST \/v1\/payments"\] \}/);
    assert.match(text, /# .*operations in run 1001/);

    // Without the policy in force in the bundle the suggestion names no credential header: the team adds it, as its comment says.
    const enforcePolicy = join(root, 'enforce.yml');
    writeFileSync(enforcePolicy, text.replace(/http: \{ url: ("[^"]+") \}.*/, 'http: { url: $1, headers: { Authorization: "Bearer ${BILLING_TOKEN}" } }'));
    const enforceEnv = { PAYMENTS_DB_TARGET_URL: targetUrl, BILLING_TARGET_URL: billingApi.url, BILLING_TOKEN: billingApi.token, PROD_DATABASE_URL: targetUrl, BILLING_API_URL: billingApi.url };
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
    assert.deepEqual(JSON.parse(enforced.customer.body), { id: 1, name: 'Ada Lovelace', email: '[masked]', ssn: '[masked]', plan: 'enterprise' });
    assert.equal(enforced.payment.status, 201);

    Object.assign(made, { observed, suggested: enforcePolicy, enforced: join(root, 'enforced'), destructive: join(root, 'destructive') });
    const destructive = await runJob(enforcePolicy, join(root, 'destructive'), enforceEnv, 'destructive');
    assert.match(destructive.drop, /^42501: govern: blocked by rule "payments_db-never-seen" \(class drop\)/);
    assert.equal(destructive.delete.status, 403);
    assert.match(destructive.delete.body, /billing-never-seen/);
    assert.ok(!billingApi.served.includes('DELETE /v1/customers/1'), 'the DELETE never reached the API');
  });

  const policyFile = (name: string, text: string) => {
    const file = join(root, name);
    writeFileSync(file, text);
    return file;
  };

  test('policy test of a stricter policy lists exactly the newly refused operations, and fails', async () => {
    const base = readFileSync(made.suggested!, 'utf8');
    const stricter = policyFile('stricter.yml', base.replace('rules:\n', 'rules:\n  - name: no-inserts\n    block: { sql: [insert], http: ["POST /v1/payments"] }\n'));
    const r = await govern(['policy', 'test', stricter, made.observed!]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /re-decided \d+ recorded operations of 1 session \(run 1001\)/);
    assert.match(r.stdout, /^Newly blocked: 3, 3 of them ran$/m);
    assert.match(r.stdout, /^  payments_db: INSERT INTO customers \(name, email, ssn, card_number\) VALUES \(\$1, \$2, \$3, \$4\) — allow → block \(rule no-inserts\) ×2 \[run 1001 #\d+\]$/m);
    assert.match(r.stdout, /^  billing: POST \/v1\/payments — allow → block \(rule no-inserts\) \[run 1001 #\d+\]$/m);
    assert.match(r.stdout, /^Newly held for approval: 0$/m);
    assert.match(r.stdout, /^Newly allowed: 0$/m);
    assert.match(r.stdout, /^FAILED: 3 operations that ran would now be blocked$/m);
    // The same policy, told to fail on nothing, passes.
    assert.equal((await govern(['policy', 'test', stricter, made.observed!, '--fail-on', 'never'])).status, 0);
  });

  test('policy test of a looser policy lists the newly allowed operations and the unmasked columns (markdown, json)', async () => {
    const base = readFileSync(made.suggested!, 'utf8');
    const looser = policyFile('looser.yml', base.replace(/, "public\.customers\.ssn"/, '').replace(/  - name: (payments_db|billing)-never-seen\n(    .*\n){3}/g, ''));
    const md = await govern(['policy', 'test', looser, made.destructive!, '--format', 'markdown']);
    assert.equal(md.status, 0, md.stdout + md.stderr);
    assert.match(md.stdout, /^<!-- govern-policy-test -->\n### govern policy test: ✅ nothing that ran would be refused$/m);
    assert.match(md.stdout, /^\| Newly allowed \| 2 \| +\|$/m);
    assert.match(md.stdout, /^\| payments_db \| `DROP TABLE customers` \| block \| allow \| {2}\| 1 \| run 1001 #\d+ \|$/m);
    assert.match(md.stdout, /^\| billing \| `DELETE \/v1\/customers\/1` \| block \| allow \|/m);
    assert.match(md.stdout, /^\*\*Masks removed:\*\*\n- `public\.customers\.ssn` \(1 operation\)$/m);

    const json = await govern(['policy', 'test', looser, made.destructive!, '--format', 'json', '--fail-on', 'unmasked,allowed']);
    assert.equal(json.status, 1);
    const result = JSON.parse(json.stdout);
    assert.equal(result.changes.newly_allowed.count, 2);
    assert.equal(result.changes.newly_blocked.count, 0);
    assert.deepEqual(result.masks.removed.map((m: { column: string }) => m.column), ['public.customers.ssn']);
    assert.deepEqual(result.masks.added, []);
    assert.equal(result.failure, '2 operations would now be allowed; 1 column would no longer be masked');
  });

  test('policy test names a session whose identity the policy would reject, and a bundle that does not verify', async () => {
    const base = readFileSync(made.suggested!, 'utf8');
    const otherRepo = policyFile('other-repo.yml', base.replace('repository_id: "4242"', 'repository_id: "9999"'));
    const tampered = join(root, 'tampered');
    rmSync(tampered, { recursive: true, force: true });
    cpSync(made.enforced!, tampered, { recursive: true });
    const events = join(tampered, 'events.jsonl');
    writeFileSync(events, readFileSync(events, 'utf8').replace('"verdict":"allow"', '"verdict":"block"'));
    const r = await govern(['policy', 'test', otherRepo, made.observed!, tampered]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /skipped \S+tampered, it does not verify: event \d+ \(operation\) was altered/);
    assert.match(r.stdout, /run 1001: its identity would be rejected: OIDC token rejected: no trust entry matched: repository_id was 4242, wanted 9999/);
    assert.match(r.stdout, /FAILED: .*1 session' identity would no longer be trusted/);
  });
});
