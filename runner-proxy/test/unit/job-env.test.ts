import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { formatEnv, jobEnvironment } from '../../src/gateway/job-env.js';
import { loadPolicy } from '../../src/policy/load.js';
import { failOnReason } from '../../src/cli/fail-on.js';
import { hideCredentials } from '../../src/masking/credentials.js';
import { builtInProtocols } from '../../src/adapters/index.js';

const EXAMPLE = fileURLToPath(new URL('../../../../examples/policy.yml', import.meta.url));

describe('the job environment', () => {
  test('keeps the caller’s variables, drops every variable the policy reads and the token, adds the exports', () => {
    const parent = {
      PATH: '/usr/bin',
      PROD_DATABASE_URL: 'postgres://app:s3cret@db.internal/app',
      DEPLOY_KEY: 'k',
      DEPLOY_KNOWN_HOSTS: 'h',
      BILLING_TOKEN: 'b',
      GOVERN_ID_TOKEN: 'jwt',
      DATABASE_URL: 'postgres://old',
    };
    const policy = loadPolicy(EXAMPLE, { env: parent, resolveVariables: true, protocols: builtInProtocols() });
    const env = jobEnvironment(parent, [...policy.variables, 'GOVERN_ID_TOKEN'], { DATABASE_URL: 'postgres://job:x@127.0.0.1:5999/app' });
    assert.deepEqual(env, { PATH: '/usr/bin', DATABASE_URL: 'postgres://job:x@127.0.0.1:5999/app' });
  });

  test('the forward proxy’s NO_PROXY is joined with the job’s own (either spelling), without a *', () => {
    const exports = { HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' };
    const env = jobEnvironment({ NO_PROXY: '.corp.example, 10.0.0.0/8', no_proxy: 'registry.local,*,localhost' }, [], exports);
    assert.equal(env.NO_PROXY, 'localhost,127.0.0.1,::1,.corp.example,10.0.0.0/8,registry.local');
    assert.equal(env.no_proxy, env.NO_PROXY);
    assert.equal(jobEnvironment({}, [], exports).NO_PROXY, 'localhost,127.0.0.1,::1');
    assert.deepEqual(jobEnvironment({ NO_PROXY: 'a.example' }, [], { API_URL: 'x' }), { NO_PROXY: 'a.example', API_URL: 'x' }, 'untouched without the proxy');
  });

  test('formats exports for a shell, a dotenv file and $GITHUB_ENV', () => {
    const vars = { A: "it's", B: 'plain' };
    assert.equal(formatEnv(vars, 'shell'), "export A='it'\\''s'\nexport B='plain'\n");
    assert.equal(formatEnv({ DATABASE_URL: 'x' }, 'shell', ['PROD_DATABASE_URL', 'GOVERN_ID_TOKEN']), "export DATABASE_URL='x'\nunset PROD_DATABASE_URL\nunset GOVERN_ID_TOKEN\n");
    assert.equal(formatEnv(vars, 'dotenv'), "A=it's\nB=plain\n");
    assert.match(formatEnv({ A: 'x\ny' }, 'github'), /^A<<(ghadelimiter_[0-9a-f-]{36})\nx\ny\n\1\n$/);
    assert.throws(() => formatEnv({ A: 'x\ny' }, 'dotenv'), /A spans several lines/);
  });

  test('--fail-on decides whether a successful command still fails the run', () => {
    const counts = { operations: 3, allowed: 1, masked_values: 0, blocked: 1, approved: 0, denied: 1, would_block: 0, would_hold: 0 };
    assert.match(failOnReason('blocked', counts)!, /1 blocked and 1 denied/);
    assert.match(failOnReason('denied', counts)!, /1 denied/);
    assert.equal(failOnReason('denied', { ...counts, denied: 0 }), undefined);
    assert.equal(failOnReason('never', counts), undefined);
  });
});

describe('credentials in recorded text', () => {
  test('URL passwords, connection-string passwords and secret-named assignments are hidden; the rest stays', () => {
    assert.equal(
      hideCredentials("psql 'postgresql://app:s3cr%40t@db:5432/app' && curl https://bot:tok@example.com/x http://plain.example/y"),
      "psql 'postgresql://app:[masked]@db:5432/app' && curl https://bot:[masked]@example.com/x http://plain.example/y",
    );
    assert.equal(
      hideCredentials("SELECT dblink_connect('host=db user=app password=hunter2 dbname=x'); PGPASSWORD='p w' psql; API_TOKEN=abc ./run; USER=me"),
      "SELECT dblink_connect('host=db user=app password=[masked] dbname=x'); PGPASSWORD=[masked] psql; API_TOKEN=[masked] ./run; USER=me",
    );
  });
});
