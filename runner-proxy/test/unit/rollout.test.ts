import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqlParser } from '../../src/adapters/postgres/parser.js';
import { Discovery } from '../../src/masking/discovery.js';
import { REDACT_ALL, Masker } from '../../src/masking/masker.js';
import { parsePolicy } from '../../src/policy/load.js';
import { generalisedPath } from '../../src/rollout/observed.js';
import { testPolicy } from '../../src/rollout/policy-test.js';
import { OperationRebuilder } from '../../src/rollout/redecide.js';
import { loadSessions } from '../../src/rollout/sessions.js';
import { suggestPolicy } from '../../src/rollout/suggest.js';
import { formatResult, parseReportFormat, parseTestFailOn } from '../../src/rollout/test-report.js';
import { writeSyntheticBundle } from '../fixtures/bundles.js';
import { builtInProtocols } from '../../src/adapters/index.js';

describe('discovery', () => {
  test('counts values seen and matched per detector type, and keeps no value', () => {
    const d = new Discovery({ countsValues: true });
    for (const v of ['ada@example.com', 'not an address', 'grace@example.org', '536-22-4711']) d.value('public.customers.contact', v);
    d.columns('SELECT contact FROM customers', ['public.customers.contact']);
    d.columns('SELECT contact FROM customers', ['something else']);
    const record = d.record()!;
    assert.deepEqual(record.sources['public.customers.contact'], { seen: 4, matched: { email: 2, us_ssn: 1 } });
    assert.deepEqual(record.statements, { 'SELECT contact FROM customers': ['public.customers.contact'] }, 'a shape is recorded once');
    assert.ok(!JSON.stringify(record).includes('ada@'));
    assert.equal(new Discovery({ countsValues: false }).record(), undefined, 'nothing learnt, nothing recorded');
  });
});

describe('re-deciding recorded operations', () => {
  let rebuilder: OperationRebuilder;
  before(async () => {
    rebuilder = new OperationRebuilder(await SqlParser.load());
  });

  // The recorder masks detector findings in statement text; read back, the statement keeps its class.
  test('recorded redactions do not change a statement class', () => {
    const masker = new Masker();
    for (const sql of [
      'SELECT * FROM cards WHERE number = 4111111111111111',
      "DELETE FROM users WHERE email = 'ada@example.com'",
      "UPDATE users SET ssn = '536-22-4711'",
      "INSERT INTO people (ssn, card) VALUES ('536-22-4711', 4111111111111111) RETURNING id",
      "SELECT 1 WHERE 'ada@example.com' = ANY (ARRAY['grace@example.org'])",
    ]) {
      const recorded = masker.maskText(sql, REDACT_ALL).text;
      assert.notEqual(recorded, sql, `${sql} has something to redact`);
      const before = rebuilder.classify(sql);
      const after = rebuilder.classify(recorded);
      assert.equal(after.syntaxError, undefined, recorded);
      assert.deepEqual([...after.classes].sort(), [...before.classes].sort(), recorded);
      assert.equal(after.shape, before.shape, `${recorded} has the shape discovery recorded its columns under`);
    }
  });

  test('HTTP paths lose their ids, not their versions', () => {
    assert.equal(generalisedPath('/v1/customers/42'), '/v1/customers/*');
    assert.equal(generalisedPath('/v2/payments/pay_2x/refunds?limit=5'), '/v2/payments/*/refunds');
    assert.equal(generalisedPath('/orgs/acme/items/6f1c9e0a-6b7d-4c1e-9f1a-2b3c4d5e6f70'), '/orgs/acme/items/*');
  });
});

describe('suggest and test over signed bundles', () => {
  let root: string;
  let parser: SqlParser;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'govern-rollout-unit-'));
    parser = await SqlParser.load();
    await writeSyntheticBundle(join(root, 'a'), { operations: 200, blocked: [10], runId: '41' });
    await writeSyntheticBundle(join(root, 'b'), { operations: 100, runId: '42' });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('suggest pins the repository and every ref and event seen, masks the matching column only, blocks what never ran', () => {
    const text = suggestPolicy(loadSessions([root]).sessions);
    const policy = parsePolicy('suggested.yml', Buffer.from(text), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    assert.deepEqual(policy.identity?.trust[0], { issuer: 'github', claims: { repository_id: '77', ref: ['refs/heads/main'], event_name: ['push'] } });
    assert.deepEqual(policy.rules.flatMap((r) => r.mask?.columns ?? []), ['public.orders.email']);
    assert.match(text, /public\.orders\.email: email 200 of 200 values \(100%\)/);
    const allow = policy.rules.find((r) => r.name === 'db-seen')!;
    assert.deepEqual(allow.condition?.sql, ['ddl', 'drop', 'read', 'write']);
    const block = policy.rules.find((r) => r.name === 'db-never-seen')!;
    assert.ok(!(block.condition?.sql as string[] | undefined)?.includes('drop'), 'a class some session ran is not blocked');
    assert.ok((block.condition?.sql as string[] | undefined)?.includes('truncate'));
    assert.match(text, /# statement classes seen: 301 operations in run 41, run 42/);
  });

  test('test reports each change once per text with its count, in every format', () => {
    const policy = parsePolicy('p.yml', Buffer.from('version: 1\nrules:\n  - name: no-updates\n    block: { sql: [update] }\n'), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    const { sessions, skipped } = loadSessions([join(root, 'a')]);
    const result = testPolicy(policy, sessions, skipped, parser);
    assert.equal(result.operations, 200);
    assert.equal(result.changes.newly_blocked.count, 4, 'the four updates');
    assert.equal(result.changes.newly_allowed.count, 1, 'the DROP no rule blocks now');
    assert.equal(result.changes.newly_blocked.examples.length, 4, 'each update has its own text');
    const failOn = parseTestFailOn(undefined);
    assert.match(formatResult(result, 'text', failOn), /^FAILED: 4 operations that ran would now be blocked$/m);
    assert.equal(JSON.parse(formatResult(result, 'json', failOn)).changes.newly_blocked.ran, 4);
    assert.match(formatResult(result, 'markdown', failOn), /^\| Newly blocked \| 4 \| 4 \|$/m);
  });

  test('with the policy in force in the bundle, suggest keeps its connections as written (never a literal secret) and test compares masks with it', async () => {
    const inForce = [
      'version: 1',
      'connections:',
      '  db:',
      '    postgres: { url: "postgres://app:${DB_PASSWORD}@db.internal:5432/app", ca: "PEM" }',
      '    export: DATABASE_URL',
      'rules:',
      '  - name: pii',
      '    mask: { columns: ["orders.total"] }',
      '',
    ].join('\n');
    await writeSyntheticBundle(join(root, 'bundled'), { operations: 50, runId: '43', policy: inForce });
    const { sessions, skipped } = loadSessions([join(root, 'bundled')]);
    assert.equal(sessions[0]!.policyInForce?.rules[0]?.name, 'pii');
    const text = suggestPolicy(sessions);
    assert.match(text, /^ {4}postgres: \{"url":"postgres:\/\/app:\$\{DB_PASSWORD\}@db\.internal:5432\/app","ca":"PEM"\} {3}# as the policy in force has it$/m);
    const literal = inForce.replace('${DB_PASSWORD}', 'hunter2');
    await writeSyntheticBundle(join(root, 'literal'), { operations: 10, runId: '44', policy: literal });
    const leaked = suggestPolicy(loadSessions([join(root, 'literal')]).sessions);
    assert.ok(!leaked.includes('hunter2'), 'a secret written inline is never copied');
    assert.match(leaked, /"url":"\$\{DB_URL\}"/);

    const tested = parsePolicy('p.yml', Buffer.from('version: 1\nrules:\n  - name: pii\n    mask: { columns: ["orders.email"] }\n'), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    const result = testPolicy(tested, sessions, skipped, parser);
    assert.deepEqual(result.masks.added.map((m) => m.column), ['public.orders.email']);
    assert.deepEqual(result.masks.removed.map((m) => m.column), ['public.orders.total']);
  });

  test('bad --format and --fail-on values are one clear sentence', () => {
    assert.throws(() => parseReportFormat('html'), /--format must be text, markdown or json, not "html"/);
    assert.throws(() => parseTestFailOn('blocked,nope'), /--fail-on takes never or a comma-separated list of blocked, held, allowed, unmasked, masked, identity; "nope" is none of them/);
    assert.deepEqual(parseTestFailOn('never'), []);
  });
});
