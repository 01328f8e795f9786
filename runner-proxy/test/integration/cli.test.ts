import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { builtInAdapters } from '../../src/adapters/index.js';
import { launch, shutdown } from '../../src/cli/launch.js';
import type { Protocol } from '../../src/policy/types.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { startIssuer, type TestIssuer } from '../fixtures/oidc-issuer.js';
import { govern } from '../fixtures/cli.js';

const CLAIMS = { aud: 'govern', sub: 'repo:acme/payments:ref:refs/heads/main', repository: 'acme/payments', repository_id: '4711', ref: 'refs/heads/main', event_name: 'push', run_id: '99', actor: 'ci-bot' };
const EXAMPLE_ENV = {
  PROD_DATABASE_URL: 'postgres://app:s3cret@db.internal:5432/app',
  DEPLOY_KEY: 'key-material',
  DEPLOY_KNOWN_HOSTS: 'deploy.internal ssh-ed25519 AAAA',
  BILLING_TOKEN: 'billing-secret',
};
const quiet = { info: () => undefined, warn: () => undefined };

describe('govern CLI', () => {
  let issuer: TestIssuer;
  let root: string;
  let policyFile: string;
  const baseEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });

  before(async () => {
    issuer = await startIssuer();
    root = mkdtempSync(join(tmpdir(), 'govern-cli-'));
    policyFile = join(root, 'govern.yml');
    writeFileSync(
      policyFile,
      [
        'version: 1',
        'identity:',
        '  audience: govern',
        '  trust:',
        `    - issuer: ${issuer.url}`,
        '      claims: { repository_id: "4711", ref: refs/heads/main }',
        'rules:',
        '  - name: reviewed',
        '    approve: { sql: [ddl] }',
        'approvals: { via: cli, timeout: 30s }',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await issuer.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe('policy check', () => {
    // The example reaches ssh and http too: until this build serves them, policy check says so, as start would.
    const unserved = ['ssh', 'http'].filter((p) => !builtInAdapters().has(p as Protocol));

    test('passes on the example policy when its variables are set', async () => {
      const r = await govern(['policy', 'check', 'examples/policy.yml'], { env: { ...baseEnv(), ...EXAMPLE_ENV } });
      if (unserved.length) {
        assert.equal(r.status, 1);
        return assert.match(r.stderr, new RegExp(`${unserved.length} problems? in examples/policy.yml\n$`));
      }
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /examples\/policy\.yml: ok — 3 connections, 6 rules, mode enforce/);
      assert.ok(!r.stdout.includes('s3cret') && !r.stderr.includes('s3cret'));
    });

    test('names each missing variable with file:line:col, and --no-env checks the structure only', async () => {
      const r = await govern(['policy', 'check', 'examples/policy.yml'], { env: baseEnv() });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^examples\/policy\.yml:\d+:\d+: connections\.app_db\.postgres\.url: variable PROD_DATABASE_URL is not set/m);
      assert.match(r.stderr, /4 problems in examples\/policy\.yml/);
      assert.equal((await govern(['policy', 'check', '--no-env', 'examples/policy.yml'], { env: baseEnv() })).status, unserved.length ? 1 : 0);
    });

    test('a misspelt key and a bad glob fail with their positions', async () => {
      const file = join(root, 'bad.yml');
      writeFileSync(file, 'version: 1\nidentity:\n  audience: govern\n  trust:\n    - issuer: github\n      claims: { repository_id: 1, ref: "refs/heads/***" }\nrules:\n  - name: x\n    blok: { sql: [drop] }\n');
      const r = await govern(['policy', 'check', file], { env: baseEnv() });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`${file}:9:5: unknown key "blok" in rules\\[0\\]; did you mean "block"\\?`));
      // Schema errors come first; once fixed, the glob is reported.
      writeFileSync(file, readFileSync(file, 'utf8').replace('blok', 'block'));
      const r2 = await govern(['policy', 'check', file], { env: baseEnv() });
      assert.match(r2.stderr, new RegExp(`${file}:6:40: identity\\.trust\\[0\\]\\.claims\\.ref: bad glob "refs/heads/\\*\\*\\*" has 3 stars in a row`));
    });
  });

  describe('run', () => {
    test('runs the command without the token or the policy’s secrets in its env, passes its status on, and leaves a bundle that verifies', async () => {
      const out = join(root, 'run-ok');
      const token = await issuer.sign(CLAIMS);
      const r = await govern(['run', '--policy', policyFile, '--out', out, '--', 'sh', '-c', 'env; exit 3'], {
        env: { ...baseEnv(), GOVERN_ID_TOKEN: token, KEEP_ME: 'visible' },
      });
      assert.equal(r.status, 3, r.stderr);
      assert.ok(!r.stdout.includes(token), 'the OIDC token never reaches the command');
      assert.ok(!r.stdout.includes('GOVERN_ID_TOKEN'));
      assert.match(r.stdout, /^KEEP_ME=visible$/m);
      assert.match(r.stderr, /identity verified from \$GOVERN_ID_TOKEN/);
      assert.match(r.stderr, /signed by {4}ed25519:/);
      assert.ok(!r.stderr.includes(token));
      const verified = await govern(['verify', out], { env: baseEnv() });
      assert.equal(verified.status, 0, verified.stderr);
      const manifest = verifyBundle(out).manifest!;
      assert.equal((manifest.identity as { claims: Record<string, unknown> }).claims.repository, 'acme/payments');
      assert.equal(manifest.end_reason, 'command exited with status 3');
      assert.ok(!readFileSync(join(out, 'events.jsonl'), 'utf8').includes(token));
      assert.ok(!existsSync(join(out, 'gateway.json')), 'runtime state is removed after the run');
    });

    test('a token minted for another repository is refused: the entry names the repository by id', async () => {
      const marker = join(root, 'ran-stranger');
      const stranger = { ...CLAIMS, sub: 'repo:evil/payments:ref:refs/heads/main', repository: 'evil/payments', repository_id: '666' };
      const r = await govern(['run', '--policy', policyFile, '--out', join(root, 'run-stranger'), '--', 'touch', marker], {
        env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(stranger) },
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /govern run: OIDC token rejected: no trust entry matched: repository_id was 666, wanted 4711/);
      assert.ok(!existsSync(marker));
    });

    test('policy check and start refuse an entry that pins no repository, naming the claim to add', async () => {
      const loose = join(root, 'loose.yml');
      writeFileSync(loose, readFileSync(policyFile, 'utf8').replace('repository_id: "4711"', 'repository: acme/payments'));
      const checked = await govern(['policy', 'check', loose], { env: baseEnv() });
      assert.equal(checked.status, 1);
      assert.match(checked.stderr, /loose\.yml:5:7: identity\.trust\[0\] \(issuer http:\/\/127\.0\.0\.1:\d+\) names no GitHub repository by id.*: add repository_id \(or repository_owner_id for a whole organisation\) or an exact sub/);
      const started = await govern(['start', '--policy', loose, '--out', join(root, 'start-loose')], { env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) } });
      assert.equal(started.status, 1);
      assert.match(started.stderr, /govern start: .*names no GitHub repository by id/);
      // An entry that names no forge claim passes the check (the issuer could be any CI), but a GitHub token is refused at run time.
      const refOnly = join(root, 'ref-only.yml');
      writeFileSync(refOnly, readFileSync(policyFile, 'utf8').replace('repository_id: "4711", ', ''));
      assert.equal((await govern(['policy', 'check', refOnly], { env: baseEnv() })).status, 0);
      const run = await govern(['start', '--policy', refOnly, '--out', join(root, 'start-ref-only')], { env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) } });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /govern start: OIDC token rejected: identity\.trust\[0\] names no GitHub repository by id/);
    });

    test('a rejected token stops everything before the command runs, naming the failed check', async () => {
      const out = join(root, 'run-rejected');
      const marker = join(root, 'ran');
      const r = await govern(['run', '--policy', policyFile, '--out', out, '--', 'touch', marker], {
        env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign({ ...CLAIMS, ref: 'refs/heads/dev' }) },
      });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /govern run: OIDC token rejected: no trust entry matched: ref was refs\/heads\/dev, wanted refs\/heads\/main/);
      assert.ok(!existsSync(marker));
      assert.ok(!existsSync(join(out, 'events.jsonl')), 'nothing was recorded or opened');
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace without --debug');
    });

    test('no token at all says how to get one', async () => {
      const r = await govern(['run', '--policy', policyFile, '--out', join(root, 'run-none'), '--', 'true'], { env: baseEnv() });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no OIDC token found: on GitHub grant `permissions: id-token: write`/);
    });

    test('gets the token from GitHub’s token request service', async () => {
      issuer.requestClaims = CLAIMS;
      const r = await govern(['run', '--policy', policyFile, '--out', join(root, 'run-gh'), '--', 'true'], {
        env: { ...baseEnv(), ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /identity verified from GitHub Actions OIDC/);
    });

    test('a command that does not exist exits 127', async () => {
      const r = await govern(['run', '--policy', policyFile, '--out', join(root, 'run-127'), '--', 'no-such-command-here'], {
        env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) },
      });
      assert.equal(r.status, 127);
      assert.match(r.stderr, /cannot run "no-such-command-here": command not found/);
      assert.equal(verifyBundle(join(root, 'run-127')).ok, true);
    });

    test('usage errors exit 2 with one sentence', async () => {
      const r = await govern(['run', '--policy', policyFile], { env: baseEnv() });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /nothing to run: put the command after --/);
      const bad = await govern(['run', '--fail-on', 'sometimes', '--', 'true'], { env: baseEnv() });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--fail-on must be one of blocked, denied, never/);
      assert.equal((await govern(['frobnicate'], { env: baseEnv() })).status, 2);
    });
  });

  describe('start, status, stop', () => {
    test('start returns once ready without holding the caller’s output, and stop finalizes', async () => {
      const out = join(root, 'daemon');
      const env = { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) };
      const started = await govern(['start', '--policy', policyFile, '--out', out, '--env-format', 'shell'], { env, timeoutMs: 20_000 });
      assert.equal(started.status, 0, started.stderr);
      const runtime = JSON.parse(readFileSync(join(out, 'gateway.json'), 'utf8')) as { pid: number };
      process.kill(runtime.pid, 0);

      const status = await govern(['status', '--out', out, '--json'], { env: baseEnv() });
      assert.equal(status.status, 0, status.stderr);
      const parsed = JSON.parse(status.stdout) as { pending: unknown[]; identity: { claims: Record<string, unknown> } };
      assert.deepEqual(parsed.pending, []);
      assert.equal(parsed.identity.claims.repository, 'acme/payments');

      const stopped = await govern(['stop', '--out', out], { env: baseEnv() });
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.match(stopped.stdout, /^govern PASS \(enforce mode\): 0 operations, 0 allowed, 0 values masked\n {2}identity {5}acme\/payments · refs\/heads\/main · push · ci-bot · 99/);
      assert.throws(() => process.kill(runtime.pid, 0), 'the gateway process has exited');
      assert.equal(verifyBundle(out).ok, true);
      assert.ok(existsSync(join(out, 'gateway.log')));
      assert.ok(!readFileSync(join(out, 'gateway.log'), 'utf8').includes(env.GOVERN_ID_TOKEN));
    });

    test('SIGTERM to the gateway finalizes and signs the bundle, as a CI job cancel would', async () => {
      const out = join(root, 'daemon-term');
      const started = await govern(['start', '--policy', policyFile, '--out', out], { env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) } });
      assert.equal(started.status, 0, started.stderr);
      const { pid } = JSON.parse(readFileSync(join(out, 'gateway.json'), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && existsSync(join(out, 'gateway.json')); i++) await new Promise((r) => setTimeout(r, 50));
      const result = verifyBundle(out);
      assert.equal(result.ok, true, result.problem);
      assert.equal(result.manifest!.end_reason, 'received SIGTERM');
    });

    test('start reports a rejected token itself and leaves no gateway behind', async () => {
      const out = join(root, 'daemon-rejected');
      const r = await govern(['start', '--policy', policyFile, '--out', out], { env: { ...baseEnv(), GOVERN_ID_TOKEN: await issuer.sign({ ...CLAIMS, aud: 'other' }) } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /govern start: OIDC token rejected: audience "govern" not in token aud \["other"\]/);
      assert.ok(!existsSync(join(out, 'gateway.json')));
    });

    test('status and stop without a gateway say so', async () => {
      const r = await govern(['status', '--out', join(root, 'nothing-here')], { env: baseEnv() });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no gateway was started with --out/);
    });
  });

  describe('approvals through the control socket', () => {
    test('govern status lists a held operation; govern approve releases it and govern deny refuses one', async () => {
      const out = join(root, 'approvals');
      const launched = await launch({ policyPath: policyFile, outDir: out, tokenEnv: undefined, env: { GOVERN_ID_TOKEN: await issuer.sign(CLAIMS) }, log: quiet });
      const { governor } = launched.gateway;
      // What an adapter does with a statement that needs approval.
      const ddl = { connection: 'db', protocol: 'postgres' as const, text: 'ALTER TABLE users ADD COLUMN x int', classes: new Set(['ddl', 'alter']), writes: true };
      const first = governor.decide(ddl);
      const second = governor.decide({ ...ddl, text: 'DROP INDEX users_x' });

      let pending: { id: string; operation: string; rule: string }[] = [];
      for (let i = 0; i < 50 && pending.length < 2; i++) {
        const status = await govern(['status', '--out', out, '--json']);
        pending = (JSON.parse(status.stdout) as { pending: typeof pending }).pending;
        if (pending.length < 2) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(pending.length, 2);
      assert.equal(pending[0]!.rule, 'reviewed');
      const text = await govern(['status', '--out', out]);
      assert.match(text.stdout, /waiting for approval:\n {2}apr_[0-9a-f]{10} {2}db {2}rule reviewed/);

      const approveId = pending.find((p) => p.operation.startsWith('ALTER'))!.id;
      const denyId = pending.find((p) => p.operation.startsWith('DROP'))!.id;
      const approved = await govern(['approve', approveId, '--out', out]);
      assert.equal(approved.status, 0, approved.stderr);
      assert.equal((await first).allowed, true);
      const denied = await govern(['deny', denyId, '--reason', 'not during the freeze', '--out', out]);
      assert.equal(denied.status, 0, denied.stderr);
      const refused = await second;
      assert.equal(refused.allowed, false);
      assert.match(refused.message!, new RegExp(`denied by cli:\\w+: not during the freeze \\(rule "reviewed", request ${denyId}\\)`));

      const again = await govern(['approve', approveId, '--out', out]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, new RegExp(`no operation waits under approval id ${approveId}`));

      await shutdown(launched, 'test');
      const events = verifyBundle(out).events.map((e) => e.type);
      assert.deepEqual(events.filter((t) => t.startsWith('approval')), ['approval.requested', 'approval.requested', 'approval.decided', 'approval.decided']);
    });
  });
});
