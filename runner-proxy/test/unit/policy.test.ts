import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { PolicyError } from '../../src/base/errors.js';
import { loadPolicy, parsePolicy } from '../../src/policy/load.js';
import { builtInProtocols } from '../../src/adapters/index.js';

const EXAMPLE = fileURLToPath(new URL('../../../../examples/policy.yml', import.meta.url));
const EXAMPLE_ENV = {
  PROD_DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/app',
  DEPLOY_KEY: 'key-material',
  DEPLOY_KNOWN_HOSTS: 'deploy.internal ssh-ed25519 AAAA',
  BILLING_TOKEN: 'billing-secret',
};

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    parsePolicy('p.yml', Buffer.from(yaml), { env, resolveVariables: true, protocols: builtInProtocols() });
  } catch (e) {
    if (e instanceof PolicyError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('policy', () => {
  test('the example policy loads with its variables set, and resolves them', () => {
    const policy = loadPolicy(EXAMPLE, { env: EXAMPLE_ENV, resolveVariables: true, protocols: builtInProtocols() });
    assert.equal(policy.connections.length, 3);
    assert.equal(policy.connections[0]!.settings.url, EXAMPLE_ENV.PROD_DATABASE_URL);
    assert.deepEqual((policy.connections[2]!.settings.headers as Record<string, string>).Authorization, 'Bearer billing-secret');
    assert.deepEqual([...policy.variables].sort(), Object.keys(EXAMPLE_ENV).sort());
    assert.equal(policy.approvals.timeoutMs, 15 * 60_000);
    assert.match(policy.sha256, /^[0-9a-f]{64}$/);
  });

  test('without its variables the example fails naming each, unless only the structure is checked', () => {
    assert.throws(() => loadPolicy(EXAMPLE, { env: {}, resolveVariables: true, protocols: builtInProtocols() }), (e: unknown) => {
      assert.ok(e instanceof PolicyError);
      assert.equal(e.problems.length, 4);
      assert.match(e.message, /policy\.yml:\d+:\d+: connections\.app_db\.postgres\.url: variable PROD_DATABASE_URL is not set/);
      return true;
    });
    assert.equal(loadPolicy(EXAMPLE, { env: {}, resolveVariables: false, protocols: builtInProtocols() }).connections.length, 3);
  });

  test('a misspelt key is named with its position and a suggestion', () => {
    assert.deepEqual(problems('version: 1\nrules:\n  - name: x\n    blokc: { sql: [drop] }\n'), [
      'p.yml:4:5: unknown key "blokc" in rules[0]; did you mean "block"?',
    ]);
  });

  test('a misspelt statement class is named', () => {
    assert.deepEqual(problems('version: 1\nrules:\n  - name: x\n    block: { sql: [dorp] }\n').map((p) => p.replace(/which is not one of .*;/, 'which is not one of …;')), [
      'p.yml:4:20: rules[0].block.sql[0] is "dorp", which is not one of …; did you mean "drop"?',
    ]);
  });

  test('HTTP request patterns: bad globs, header names and keys are errors at their place; proxy:HOST points at host rules', () => {
    const rules = (rule: string) => `version: 1\nconnections:\n  api: { http: { url: x }, export: API }\nrules:\n  - name: r\n${rule}\n`;
    assert.deepEqual(problems(rules('    when: { host: "*.{a.example", headers: { "x env": prod } }\n    block: { http: ["/**"] }')), [
      'p.yml:6:19: rules[0].when.host: bad glob "*.{a.example" opens a brace it never closes',
      'p.yml:6:46: rules[0].when.headers: "x env" is not an HTTP header name',
    ]);
    assert.deepEqual(problems(rules('    block: { http: [{ hots: a.example }] }')), [
      'p.yml:6:23: unknown key "hots" in rules[0].block.http[0]; did you mean "host"?',
    ]);
    assert.deepEqual(problems(rules('    block: { http: [{ query: { force: "***" } }] }')), [
      'p.yml:6:39: rules[0].block.http[0].query.force: bad glob "***" has 3 stars in a row; use * or **',
    ]);
    assert.deepEqual(problems(rules('    block: { http: [{}] }')), ['p.yml:6:21: rules[0].block.http[0] is empty; give it at least one key']);
    assert.deepEqual(problems(rules('    when: { connection: "proxy:api.vendor.example" }\n    block: { http: ["/**"] }')), [
      'p.yml:6:25: rule "r" names connection "proxy:api.vendor.example", which the policy does not define; name a host the proxy intercepts with when: { host: "api.vendor.example" }',
    ]);
  });

  test('a bad glob is an error at its place', () => {
    assert.deepEqual(problems('version: 1\nidentity:\n  audience: govern\n  trust:\n    - issuer: github\n      claims: { repository_id: 1, ref: "refs/heads/{main" }\n'), [
      'p.yml:6:40: identity.trust[0].claims.ref: bad glob "refs/heads/{main" opens a brace it never closes',
    ]);
  });

  test('a missing variable is an error at its place', () => {
    assert.deepEqual(problems('version: 1\nconnections:\n  db:\n    postgres: { url: "${DB_URL}" }\n    export: DATABASE_URL\n'), [
      "p.yml:4:22: connections.db.postgres.url: variable DB_URL is not set in the gateway's environment (pass --no-env to check the file's structure only)",
    ]);
  });

  test('YAML syntax errors carry their position', () => {
    const [p] = problems('version: 1\nrules: [\n');
    assert.match(p!, /^p\.yml:\d+:\d+: /);
  });

  test('a duplicate key is an error', () => {
    assert.match(problems('version: 1\nmode: enforce\nmode: observe\n')[0]!, /^p\.yml:3:1: .*[Dd]uplicate|^p\.yml:3:1: Map keys must be unique/);
  });

  test('structural mistakes each get one sentence', () => {
    const found = problems(
      [
        'version: 2',
        'connections:',
        '  db:',
        '    postgres: { url: x }',
        '    http: { url: y }',
        '    export: db_url',
        'rules:',
        '  - name: a',
        '    block: { sql: [drop] }',
        '    approve: { sql: [ddl] }',
        'mode: observ',
      ].join('\n'),
    );
    assert.deepEqual(found, [
      'p.yml:1:10: version must be 1',
      'p.yml:6:13: connections.db.export "db_url" must be an environment variable name (A-Z, 0-9 and _)',
      'p.yml:11:7: mode is "observ", which is not one of enforce, observe; did you mean "observe"?',
    ]);
  });

  test('semantic mistakes are reported together', () => {
    const found = problems(
      [
        'version: 1',
        'connections:',
        '  db: { postgres: { url: x }, http: { url: y }, export: DB }',
        '  db2: { postgres: { url: z }, export: DB }',
        'rules:',
        '  - name: a',
        '    block: { sql: [drop] }',
        '    approve: { sql: [ddl] }',
        '  - name: a',
        '    when: { connection: dbb }',
        '    mask: { columns: [ssn] }',
        '  - name: c',
        '    allow: { json: "amount >" }',
        'approvals: { via: github }',
      ].join('\n'),
    );
    assert.deepEqual(found, [
      'p.yml:3:7: connection "db" has postgres and http; a connection reaches exactly one target',
      'p.yml:4:40: connections "db" and "db2" both export DB',
      'p.yml:6:5: rule "a" has block and approve; give each action a rule of its own',
      'p.yml:9:11: rule name "a" is used twice; names identify rules in the record',
      'p.yml:10:25: rule "a" names connection "dbb", which the policy does not define; did you mean "db"?',
      'p.yml:11:23: rules[1].mask.columns[0] "ssn" must name table.column (use *.ssn for any table)',
      'p.yml:13:20: rules[2].allow.json: condition "amount >": ends where a value was expected',
      'p.yml:14:12: approvals via github need approvers: nobody could answer a request',
    ]);
  });

  test('${VAR} outside connection settings is refused rather than left literal', () => {
    assert.deepEqual(problems('version: 1\nidentity:\n  audience: "${AUD}"\n  trust: [{ issuer: github, claims: { repository_id: 1 } }]\n'), ['p.yml:3:13: identity.audience: only connection settings take ${VAR}']);
  });

  test('issuers must be https, except on loopback', () => {
    assert.deepEqual(problems('version: 1\nidentity:\n  audience: a\n  trust: [{ issuer: "http://ci.example.com" }, { issuer: "http://127.0.0.1:8080" }]\n'), [
      'p.yml:4:21: identity.trust[0].issuer must use https (plain http only for a loopback issuer)',
    ]);
  });

  test('defaults: cli approvals with a 15 minute timeout, summary recording, enforce mode', () => {
    const policy = parsePolicy('p.yml', Buffer.from('version: 1\n'), { env: {}, resolveVariables: true, protocols: builtInProtocols() });
    assert.equal(policy.approvals.via, 'cli');
    assert.equal(policy.approvals.timeoutMs, 900_000);
    assert.equal(policy.recording.results, 'summary');
    assert.equal(policy.mode, 'enforce');
    assert.equal(policy.identity, undefined);
  });

  test('mask predicates: refuse, or refuse with lookups by a bound parameter allowed', () => {
    const predicates = (value: string) =>
      parsePolicy('p.yml', Buffer.from(`version: 1\nrules:\n  - name: pii\n    mask: { columns: [users.ssn], predicates: ${value} }\n`), { env: {}, resolveVariables: true, protocols: builtInProtocols() }).rules[0]!.mask!.predicates;
    assert.deepEqual(predicates('refuse'), { refuse: true, allowParamEquality: false });
    assert.deepEqual(predicates('allow'), { refuse: false, allowParamEquality: false });
    assert.deepEqual(predicates('{ refuse: true, allow_param_equality: true }'), { refuse: true, allowParamEquality: true });
    assert.ok(problems('version: 1\nrules:\n  - name: pii\n    mask: { columns: [users.ssn], predicates: sometimes }\n').length > 0);
  });

  describe('a trust entry must pin the repository', () => {
    const trust = (entry: string) => `version: 1\nidentity:\n  audience: govern\n  trust:\n    - ${entry}\n`;
    const unpinned = (forge: string, id: string, owner: string, group: string) =>
      `names no ${forge} repository by id, so it lets in every repository on the forge that asks for a token: add ${id} (or ${owner} for a whole ${group}) or an exact sub, or any_repository: true if every repository is really meant`;
    const github = unpinned('GitHub', 'repository_id', 'repository_owner_id', 'organisation');
    const gitlab = unpinned('GitLab', 'project_id', 'namespace_id', 'group');
    const warnings = (yaml: string) => parsePolicy('p.yml', Buffer.from(yaml), { env: {}, resolveVariables: true, protocols: builtInProtocols() }).warnings.map((w) => `${w.line}: ${w.message}`);

    for (const [shape, entry] of [
      ['no claims', 'issuer: github'],
      ['empty claims', 'issuer: github\n      claims: {}'],
      ['only a ref', 'issuer: github\n      claims: { ref: refs/heads/main }'],
      ['only a name', 'issuer: github\n      claims: { repository: acme/app }'],
      ['an id glob', 'issuer: github\n      claims: { repository_id: "4*" }'],
      ['a sub glob', 'issuer: github\n      claims: { sub: "repo:acme/app:*" }'],
    ]) {
      test(`github with ${shape} is refused, naming the claim to add`, () => {
        assert.deepEqual(problems(trust(entry!)), [`p.yml:5:7: identity.trust[0] (issuer github) ${github}`]);
      });
    }

    test('gitlab with only a project path is refused, naming project_id', () => {
      assert.deepEqual(problems(trust('issuer: gitlab\n      claims: { project_path: acme/app, ref_protected: "true" }')), [`p.yml:5:7: identity.trust[0] (issuer gitlab) ${gitlab}`]);
    });

    test("any issuer whose entry names a forge's claims (GitHub Enterprise Server) is held to the same rule", () => {
      assert.deepEqual(problems(trust('issuer: https://ghe.example.com/_services/token\n      claims: { repository: acme/app }')), [
        `p.yml:5:7: identity.trust[0] (issuer https://ghe.example.com/_services/token) ${github}`,
      ]);
      assert.deepEqual(problems(trust('issuer: https://oidc.circleci.com/org/1234')), []);
    });

    test('an id, an owner id or an exact sub pins it; binding by name alone is warned about', () => {
      assert.deepEqual(warnings(trust('issuer: github\n      claims: { repository_id: 42, repository: acme/app }')), []);
      assert.deepEqual(warnings(trust('issuer: github\n      claims: { repository_owner_id: "7" }')), []);
      assert.deepEqual(warnings(trust('issuer: gitlab\n      claims: { namespace_id: [7, 8] }')), []);
      assert.deepEqual(warnings(trust('issuer: github\n      claims: { sub: "repo:acme/app:ref:refs/heads/main", repository: acme/app }')), [
        '5: identity.trust[0] binds the repository by name only (repository: acme/app); names are given to someone else after a rename or deletion: add repository_id too',
      ]);
    });

    test('any_repository: true is accepted, with a warning', () => {
      assert.deepEqual(warnings(trust('issuer: github\n      any_repository: true')), [
        '5: identity.trust[0] any_repository: true lets in every repository on GitHub that can get a token for this audience',
      ]);
    });
  });

  test('a missing file is one sentence', () => {
    assert.throws(() => loadPolicy('/nonexistent/govern.yml', { env: {}, resolveVariables: true, protocols: builtInProtocols() }), /^GovernError: the policy file \/nonexistent\/govern\.yml does not exist; check its path$/);
  });
});

describe('the example policies', () => {
  const examples = ['examples/policy.yml', 'examples/demo/github-policy.yml', 'examples/demo/gitlab-policy.yml', 'examples/demo/policy.template.yml'];
  for (const file of examples) {
    test(`${file} is valid`, () => {
      const path = fileURLToPath(new URL(`../../../../${file}`, import.meta.url));
      // The demo template's issuer is filled in at run time; any loopback address stands for it.
      const text = readFileSync(path, 'utf8').replace('{{ISSUER}}', 'http://127.0.0.1:9');
      assert.ok(parsePolicy(file, Buffer.from(text), { env: {}, resolveVariables: false, protocols: builtInProtocols() }));
    });
  }
});
