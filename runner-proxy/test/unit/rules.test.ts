import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileCondition, compileSelector, evaluateCondition, forEachSelected, JsonSyntaxError } from '../../src/base/json-select.js';
import type { Operation } from '../../src/policy/operation.js';
import { RuleEngine } from '../../src/core/rules.js';
import { NO_IDENTITY, type Principal } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';
import { builtInProtocols } from '../../src/adapters/index.js';

function engine(rulesYaml: string, mode = 'enforce'): RuleEngine {
  const yaml = `version: 1\nmode: ${mode}\nconnections:\n  db: { postgres: { url: x }, export: DB }\n  api: { http: { url: x }, export: API }\n  box: { ssh: { host: h, user: u }, export: BOX }\nrules:\n${rulesYaml}`;
  return new RuleEngine(parsePolicy('p.yml', Buffer.from(yaml), { env: {}, resolveVariables: true, protocols: builtInProtocols() }));
}

const sql = (classes: string[], extra: Partial<Operation> = {}): Operation => ({
  connection: 'db',
  protocol: 'postgres',
  text: 'statement',
  classes: new Set(classes),
  writes: classes.some((c) => c !== 'read'),
  ...extra,
});
const shell = (...commands: string[][]): Operation => ({ connection: 'box', protocol: 'ssh', text: 'cmd', classes: new Set(['exec']), writes: true, commands });
const http = (method: string, path: string, json?: unknown): Operation => ({
  connection: 'api',
  protocol: 'http',
  text: `${method} ${path}`,
  classes: new Set([method.toLowerCase()]),
  writes: method !== 'GET',
  method,
  path,
  ...(json !== undefined && { json }),
});

const RULES = `
  - name: no-destruction
    block: { sql: [drop, truncate], shell: ["rm -rf", "mkfs"], http: ["DELETE /accounts/**"] }
  - name: reviewed
    approve: { sql: [ddl, delete_without_where] }
  - name: big-payments
    when: { connection: api, method: POST, path: "/payments/**" }
    approve: { json: "amount > 1000 and currency == 'EUR'" }
  - name: pii
    mask: { columns: ["users.ssn", "*.card_number"], types: [email, us_ssn], strategy: partial }
  - name: more-pii
    mask: { types: [email, credit_card], json: ["$..ssn"] }
  - name: ssn-at-rest
    mask: { columns: ["users.ssn"], on: write, strategy: hash }
`;

describe('rule engine', () => {
  const rules = engine(RULES);

  test('block beats approve', () => {
    const d = rules.evaluate(sql(['ddl', 'drop']), NO_IDENTITY);
    assert.equal(d.verdict, 'block');
    assert.equal(d.rule, 'no-destruction');
    assert.equal(d.reason, 'blocked by rule "no-destruction" (class drop)');
  });

  test('approve beats allow', () => {
    assert.equal(rules.evaluate(sql(['ddl', 'create']), NO_IDENTITY).verdict, 'approve');
    assert.equal(rules.evaluate(sql(['read']), NO_IDENTITY).verdict, 'allow');
  });

  test('masks from every matching rule accumulate; the first rule sets a type’s strategy', () => {
    const plan = rules.evaluate(sql(['read']), NO_IDENTITY).masks;
    assert.deepEqual(plan.rules, ['pii', 'more-pii', 'ssn-at-rest']);
    assert.deepEqual([...plan.detectors], [['email', 'partial'], ['us_ssn', 'partial'], ['credit_card', 'redact']]);
    assert.equal(plan.columns.length, 2);
    assert.ok(plan.columns[0]!.matches('users', 'ssn'));
    assert.ok(plan.columns[1]!.matches('billing', 'card_number'));
    assert.ok(!plan.columns[1]!.matches('billing', 'card_number_hash'));
    assert.equal(plan.writeColumns.length, 1);
    assert.equal(plan.writeColumns[0]!.strategy, 'hash');
    assert.equal(plan.json.length, 1);
  });

  test('shell patterns match the program and its flags in any order and grouping', () => {
    assert.equal(rules.evaluate(shell(['rm', '-rf', '/']), NO_IDENTITY).verdict, 'block');
    assert.equal(rules.evaluate(shell(['/bin/rm', '-f', '-r', 'x']), NO_IDENTITY).verdict, 'block');
    assert.equal(rules.evaluate(shell(['ls'], ['rm', '-fr', 'x']), NO_IDENTITY).verdict, 'block');
    assert.equal(rules.evaluate(shell(['rm', '-f', 'x']), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(shell(['echo', 'rm', '-rf']), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(shell(['mkfs.ext4', '/dev/sda']), NO_IDENTITY).verdict, 'block');
    assert.equal(rules.evaluate(shell(['mkfsx', '/dev/sda']), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(shell(['mkfs', '/dev/sda']), NO_IDENTITY).verdict, 'block');
  });

  test('shell patterns by meaning: long forms and abbreviations, force-push in every spelling, word options', () => {
    const meaning = engine('  - name: x\n    block: { shell: ["rm -rf", "chmod -R", "git push --force", "find -delete", "python3 -c"] }\n');
    const v = (...argv: string[]) => meaning.evaluate(shell(argv), NO_IDENTITY).verdict;
    for (const argv of [
      ['rm', '--recu', '--forc', 'x'],
      ['rm', '--recursive', '-f', 'x'],
      ['chmod', '--recu', '777', 'x'],
      ['chmod', '-vR', '777', 'x'],
      ['git', 'push', '-f'],
      ['git', 'push', '-uf', 'origin', 'main'],
      ['git', 'push', '--force-with-lease=main', 'origin'],
      ['git', 'push', '--forc'],
      ['git', 'push', 'origin', '+main'],
      ['git', 'push', 'origin', '+HEAD:refs/heads/main'],
      ['git', 'push', '--mirror'],
      ['git', '-C', '/srv/app', '-c', 'x=y', 'push', 'origin', 'main', '--force'],
      ['find', '.', '-name', 'x', '-delete'],
      ['python3.11', '-c', 'x'],
    ]) {
      assert.equal(v(...argv), 'block', argv.join(' '));
    }
    for (const argv of [
      ['rm', '-r', 'x'],
      ['git', 'push', 'origin', 'main'],
      ['git', 'push', '-o', 'f', 'origin'],
      ['git', 'log', '--force'],
      ['find', '.', '-depth', '-links', '1', '-type', 'l'],
      ['find', '.', '-name', '-delete'],
      ['chmod', '644', 'x'],
      ['python3', '--version'],
    ]) {
      assert.equal(v(...argv), 'allow', argv.join(' '));
    }
  });

  test('http patterns and json conditions, narrowed by when', () => {
    assert.equal(rules.evaluate(http('DELETE', '/accounts/1/cards'), NO_IDENTITY).verdict, 'block');
    assert.equal(rules.evaluate(http('DELETE', '/payments/1'), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(http('POST', '/payments/eu/1', { amount: 5000, currency: 'EUR' }), NO_IDENTITY).verdict, 'approve');
    assert.equal(rules.evaluate(http('POST', '/payments/eu/1', { amount: 50, currency: 'EUR' }), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(http('POST', '/refunds/1', { amount: 5000, currency: 'EUR' }), NO_IDENTITY).verdict, 'allow');
    assert.equal(rules.evaluate(http('PUT', '/payments/1', { amount: 5000, currency: 'EUR' }), NO_IDENTITY).verdict, 'allow');
  });

  test('unknown is held for approval when no rule covers it', () => {
    const d = rules.evaluate(sql(['unknown']), NO_IDENTITY);
    assert.equal(d.verdict, 'approve');
    assert.equal(d.rule, 'default-unknown');
    assert.equal(engine('  - name: trusted\n    allow: { sql: [unknown] }\n').evaluate(sql(['unknown']), NO_IDENTITY).verdict, 'allow');
    assert.equal(engine('  - name: never\n    block: { sql: [unknown] }\n').evaluate(sql(['unknown']), NO_IDENTITY).verdict, 'block');
  });

  test('function calls, startup options and replication are refused unless allowed', () => {
    const d = rules.evaluate(sql(['function_call']), NO_IDENTITY);
    assert.equal(d.verdict, 'block');
    assert.equal(d.rule, 'default-function_call');
    assert.equal(engine('  - name: ok\n    allow: { sql: [function_call] }\n').evaluate(sql(['function_call']), NO_IDENTITY).verdict, 'allow');
  });

  test('dangerous functions and COPY PROGRAM are refused unless an allow rule names them', () => {
    for (const refused of ['dangerous_function', 'copy_program']) {
      const d = rules.evaluate(sql(['read', refused]), NO_IDENTITY);
      assert.equal(d.verdict, 'block', refused);
      assert.equal(d.rule, `default-${refused}`);
      const readsAllowed = engine('  - name: reads\n    allow: { sql: [read] }\n');
      assert.equal(readsAllowed.evaluate(sql(['read', refused]), NO_IDENTITY).verdict, 'block', `allowing reads does not allow ${refused}`);
      assert.equal(engine(`  - name: ok\n    allow: { sql: [${refused}] }\n`).evaluate(sql(['read', refused]), NO_IDENTITY).verdict, 'allow');
    }
  });

  test('a read-only identity may read but not write', () => {
    const readOnly: Principal = { kind: 'oidc', claims: {}, readOnly: true, readOnlyReason: 'a pull_request run may only read' };
    assert.equal(rules.evaluate(sql(['read']), readOnly).verdict, 'allow');
    const d = rules.evaluate(sql(['insert']), readOnly);
    assert.equal(d.verdict, 'block');
    assert.equal(d.rule, 'read-only-identity');
    assert.match(d.reason, /pull_request run may only read/);
  });

  test('observe mode lets everything through but keeps what the policy said, and still masks', () => {
    const observing = engine(RULES, 'observe');
    const d = observing.evaluate(sql(['drop']), NO_IDENTITY);
    assert.equal(d.verdict, 'allow');
    assert.equal(d.policyVerdict, 'block');
    assert.equal(d.rule, 'no-destruction');
    assert.ok(d.masks.rules.includes('pii'));
  });

  test('mask rules narrowed by connection apply only there', () => {
    const scoped = engine('  - name: api-only\n    when: { connection: api }\n    mask: { types: [email] }\n');
    assert.equal(scoped.maskPlan(sql(['read'])).rules.length, 0);
    assert.deepEqual(scoped.maskPlan(http('GET', '/')).rules, ['api-only']);
  });
});

describe('allow-lists (others: refuse | approve)', () => {
  const lists = engine(`
  - name: deploy-commands
    when: { connection: box }
    allow: { shell: ["git pull --ff-only", "systemctl restart app", "./deploy.sh *", "/usr/bin/make **"] }
    others: refuse
  - name: api-calls
    when: { connection: api }
    allow: { http: ["GET /v1/customers/*", "POST /v1/payments"] }
    others: approve
`);
  const verdict = (op: Operation) => lists.evaluate(op, NO_IDENTITY);

  test('a command line runs when every simple command in it is listed, argument for argument', () => {
    assert.equal(verdict(shell(['git', 'pull', '--ff-only'])).verdict, 'allow');
    assert.equal(verdict(shell(['/usr/bin/git', 'pull', '--ff-only'], ['systemctl', 'restart', 'app'])).verdict, 'allow');
    assert.equal(verdict(shell(['./deploy.sh', 'staging'])).verdict, 'allow');
    assert.equal(verdict(shell(['/usr/bin/make', 'all', 'install'])).verdict, 'allow');
  });

  test('anything else is refused by the list, naming it', () => {
    for (const argv of [
      ['git', 'pull'],
      ['git', '-c', 'core.sshCommand=rm -rf /', 'pull', '--ff-only'],
      ['git', 'pull', '--ff-only', 'evil'],
      ['./deploy.sh'],
      ['./deploy.sh', '../../etc'],
      ['make', 'all'],
      ['rm', '-rf', '/'],
    ]) {
      const d = verdict(shell(argv));
      assert.equal(d.verdict, 'block', argv.join(' '));
      assert.equal(d.rule, 'deploy-commands');
      assert.equal(d.reason, 'refused by rule "deploy-commands": not on its allow-list');
    }
    assert.equal(verdict(shell(['git', 'pull', '--ff-only'], ['curl', 'evil.example'])).verdict, 'block');
  });

  test('what the gateway cannot resolve is never on a list that does not name unknown', () => {
    const unknown: Operation = { ...shell(['git', 'pull', '--ff-only']), classes: new Set(['exec', 'unknown']) };
    assert.equal(verdict(unknown).verdict, 'block');
  });

  test('an http list holds what it does not list, and covers only its connection', () => {
    assert.equal(verdict(http('GET', '/v1/customers/42')).verdict, 'allow');
    assert.equal(verdict(http('POST', '/v1/payments')).verdict, 'allow');
    const held = verdict(http('DELETE', '/v1/customers/42'));
    assert.equal(held.verdict, 'approve');
    assert.equal(held.rule, 'api-calls');
    assert.equal(verdict(http('GET', '/v1/customers/42/cards')).verdict, 'approve');
    assert.equal(verdict(sql(['read'])).verdict, 'allow');
  });

  test('a path whose case the target may ignore: lists match it with case, refusing rules without', () => {
    const withCase = (pathCase: Operation['pathCase'], method: string, path: string) => ({ ...http(method, path), ...(pathCase && { pathCase }) });
    // Unknown: /V1/Customers/42 may be /v1/customers/42 to the target, or another route.
    assert.equal(verdict(withCase(undefined, 'GET', '/V1/Customers/42')).verdict, 'approve');
    assert.equal(verdict(withCase('sensitive', 'GET', '/V1/Customers/42')).verdict, 'approve');
    assert.equal(verdict(withCase('insensitive', 'GET', '/V1/Customers/42')).verdict, 'allow');
    const blocks = engine('  - name: no-deletes\n    block: { http: ["DELETE /accounts/**", { path: "/Admin/**" }] }');
    const blocked = (op: Operation) => blocks.evaluate(op, NO_IDENTITY).verdict;
    assert.equal(blocked(withCase(undefined, 'DELETE', '/ACCOUNTS/1')), 'block');
    assert.equal(blocked(withCase(undefined, 'GET', '/admin/x')), 'block');
    assert.equal(blocked(withCase('insensitive', 'DELETE', '/Accounts/1')), 'block');
    assert.equal(blocked(withCase('sensitive', 'DELETE', '/ACCOUNTS/1')), 'allow');
    assert.equal(blocked(withCase('sensitive', 'GET', '/admin/x')), 'allow');
  });

  test('others belongs to an allow rule that lists commands or requests alone', () => {
    for (const bad of ['    block: { shell: ["rm"] }\n    others: refuse', '    allow: { sql: [read] }\n    others: refuse', '    allow: { shell: ["ls"], sql: [read] }\n    others: refuse']) {
      assert.throws(() => engine(`  - name: x\n${bad}\n`), /which only an allow rule listing shell commands or http requests \(and nothing else\) can have/, bad);
    }
    assert.throws(() => engine('  - name: x\n    allow: { shell: ["ls"] }\n    others: tunnel\n'), /others/);
  });
});

describe('rules on host, headers and query', () => {
  const request = (method: string, path: string, facts: Partial<Operation>): Operation => ({ ...http(method, path), host: 'api.stripe.com', headers: [], query: '', ...facts });
  const rules = engine(`
  - name: prod-deploys
    when: { host: "*.stripe.com", headers: { X-Env: [prod, "prod-*"] } }
    approve: { http: ["POST /v1/**"] }
  - name: no-force
    block: { http: [{ host: "api.vendor.example", method: [DELETE, PUT], path: "/things/**", query: { force: "true" } }] }
  - name: no-preview
    block: { http: [{ headers: { accept: "application/vnd.preview+*" } }] }
  - name: vendor-pii
    when: { host: api.vendor.example }
    mask: { json: ["$..ssn"] }
`);
  const verdict = (op: Operation) => rules.evaluate(op, NO_IDENTITY).verdict;

  test('a host glob and a header (any case, any of its values) narrow a rule', () => {
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['x-env', 'prod'] })), 'approve');
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['X-ENV', 'prod-eu'] })), 'approve');
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['X-Env', 'staging', 'X-Env', 'prod'] })), 'approve', 'a repeated header: any value');
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['X-Env', 'staging'] })), 'allow');
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['X-Env', 'prod'], host: 'stripe.com' })), 'allow', '* needs a label');
    assert.equal(verdict(request('POST', '/v1/charges', { headers: ['X-Env', 'prod'], host: 'api.stripe.com.evil.example' })), 'allow');
    assert.equal(verdict(request('POST', '/v1/charges', {})), 'allow', 'an absent header does not match');
  });

  test('a request pattern in an http condition: every key must match, query values decoded', () => {
    const vendor = { host: 'api.vendor.example' };
    assert.equal(verdict(request('DELETE', '/things/1', { ...vendor, query: 'force=true' })), 'block');
    assert.equal(verdict(request('PUT', '/things/1', { ...vendor, query: 'a=1&force=%74rue' })), 'block');
    assert.equal(verdict(request('DELETE', '/things/1', { ...vendor, query: 'force=false&force=true' })), 'block', 'a repeated parameter: any value');
    assert.equal(verdict(request('DELETE', '/things/1', { ...vendor, query: 'force=false' })), 'allow');
    assert.equal(verdict(request('DELETE', '/things/1', { ...vendor, query: 'forced=true' })), 'allow');
    assert.equal(verdict(request('GET', '/things/1', { ...vendor, query: 'force=true' })), 'allow');
    assert.equal(verdict(request('DELETE', '/other/1', { ...vendor, query: 'force=true' })), 'allow');
    assert.equal(verdict(request('DELETE', '/things/1', { query: 'force=true' })), 'allow', 'another host');
    assert.equal(verdict(request('GET', '/', { headers: ['Accept', 'application/vnd.preview+json'] })), 'block');
  });

  test('host rules name what the forward proxy records as proxy:HOST; mask plans follow them per request', () => {
    const intercepted = { ...request('GET', '/people', { host: 'api.vendor.example' }), connection: 'proxy:api.vendor.example' };
    assert.deepEqual(rules.maskPlan(intercepted).rules, ['vendor-pii']);
    assert.deepEqual(rules.maskPlan(request('GET', '/people', {})).rules, []);
  });

  test('request patterns apply to HTTP only', () => {
    assert.equal(verdict(sql(['read'], { host: 'api.vendor.example' } as Partial<Operation>)), 'allow');
  });
});

describe('request masks (mask on: write)', () => {
  test('json, types and headers on write mask what goes to the target; read masks stay apart', () => {
    const rules = engine(`
  - name: out
    when: { path: "/v1/**" }
    mask: { on: write, json: ["$..ssn"], types: [credit_card], strategy: hash }
  - name: out-header
    mask: { on: write, headers: [X-Customer] }
  - name: in
    mask: { json: ["$..card"] }
`);
    const plan = rules.maskPlan(http('POST', '/v1/x'));
    assert.deepEqual(plan.write.json.map((m) => [m.selector.source, m.strategy, m.rule]), [['$..ssn', 'hash', 'out']]);
    assert.deepEqual([...plan.write.detectors], [['credit_card', 'hash']]);
    assert.deepEqual([...plan.write.headers], [['x-customer', { strategy: 'redact', whole: true }]]);
    assert.deepEqual(plan.write.rules, ['out'], 'the rules that mask values, named when a body cannot be masked');
    assert.deepEqual(plan.json.map((m) => m.selector.source), ['$..card']);
    assert.equal(plan.detectors.size, 0);
    assert.deepEqual(rules.maskPlan(http('POST', '/v2/x')).write.rules, []);
    assert.equal(rules.masksRequests, true);
    assert.equal(engine(RULES).masksRequests, false, 'columns on write are PostgreSQL’s');
  });
});

describe('json selectors and conditions', () => {
  test('selectors reach nested fields, arrays and any depth', () => {
    const doc = { user: { ssn: '1', name: 'a' }, items: [{ card: '2' }, { card: '3' }], deep: [{ x: { ssn: '4' } }] };
    const seen: string[] = [];
    const collect = (sel: string) => forEachSelected(doc, compileSelector(sel), (parent, key) => seen.push(String((parent as Record<string, unknown>)[key])));
    collect('$..ssn');
    collect('$.items[*].card');
    collect('$.user.name');
    collect("$['user']['name']");
    collect('$.items[1].card');
    assert.deepEqual(seen, ['1', '4', '2', '3', 'a', 'a', '3']);
  });

  test('selector syntax errors are errors', () => {
    assert.throws(() => compileSelector('$..'), JsonSyntaxError);
    assert.throws(() => compileSelector('user.ssn'), JsonSyntaxError);
    assert.throws(() => compileSelector('$'), JsonSyntaxError);
  });

  test('conditions compare numbers and strings, combine with and/or/not, and treat missing as false', () => {
    const body = { amount: 1500, currency: 'EUR', customer: { tier: 'gold' }, lines: [{ qty: 3 }] };
    const check = (c: string) => evaluateCondition(compileCondition(c), body);
    assert.equal(check('amount > 1000'), true);
    assert.equal(check('amount > 1000 and currency == "USD"'), false);
    assert.equal(check('amount > 5000 or customer.tier == "gold"'), true);
    assert.equal(check('not (amount <= 1000)'), true);
    assert.equal(check('lines[0].qty >= 3'), true);
    assert.equal(check('$.customer.tier != "gold"'), false);
    assert.equal(check('missing > 1'), false);
    assert.equal(check('"1500" > 1000'), true);
    assert.equal(check('"abc" > 1000'), false);
    assert.equal(check('customer'), true);
  });

  test('numbers and numeric strings compare alike, both ways', () => {
    const check = (c: string, body: unknown) => evaluateCondition(compileCondition(c), body);
    for (const amount of [5000, '5000', ' 5000 ', '5e3', '5000.0']) {
      assert.equal(check('amount > 1000', { amount }), true, JSON.stringify(amount));
      assert.equal(check('amount == 5000', { amount }), true, JSON.stringify(amount));
      assert.equal(check('amount != 5000', { amount }), false, JSON.stringify(amount));
    }
    assert.equal(check('amount == "5000"', { amount: 5000 }), true);
    assert.equal(check('amount > 1000', { amount: '' }), false);
    assert.equal(check('amount > 1000', { amount: 'lots' }), false);
    assert.equal(check('amount > 1000', { amount: true }), false);
    assert.equal(check('currency == "EUR"', { currency: 'EUR' }), true);
  });

  test('a condition holds when it holds for any value its path reaches, through arrays', () => {
    const check = (c: string, body: unknown) => evaluateCondition(compileCondition(c), body);
    // A batch: a top-level array of objects.
    assert.equal(check('amount > 1000', [{ amount: 5 }, { amount: 5000 }]), true);
    assert.equal(check('amount > 1000', [{ amount: 5 }, { amount: 6 }]), false);
    assert.equal(check('payment.amount > 1000', { payment: [{ amount: 1 }, { amount: '2000' }] }), true);
    assert.equal(check('items.qty >= 3', { items: [[{ qty: 1 }], [{ qty: 3 }]] }), true);
    assert.equal(check('tags == "admin"', { tags: ['user', 'admin'] }), true);
    assert.equal(check('amount > 1000 and currency == "EUR"', [{ amount: 5000, currency: 'EUR' }]), true);
    assert.equal(check('$[1].amount > 1000', [{ amount: 5 }, { amount: 5000 }]), true);
  });

  test('condition syntax errors are errors', () => {
    for (const bad of ['', 'amount >', 'amount > 1 and', '(amount > 1', 'amount > 1 )', 'a ~ b']) assert.throws(() => compileCondition(bad), JsonSyntaxError, bad);
  });
});
