import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyBundle } from '../../src/recording/verify.js';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';
import { recordedResult } from '../fixtures/records.js';

const RULES = `
  - name: pii
    mask: { types: [credit_card, us_ssn] }
  - name: no-rm-rf
    block: { shell: ["rm -rf"] }
`;

describe('SSH exec through the gateway', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;
  let userConfigBefore: string;

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, RULES, 'approvals: { timeout: 1s }');
    userConfigBefore = readFileSync(join(gov.home, '.ssh', 'config'), 'utf8');
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  test('the job gets an alias, a pinned ssh config and an Include in ~/.ssh/config', () => {
    assert.equal(gov.env.DEPLOY_HOST, 'deploy');
    const config = readFileSync(gov.env.DEPLOY_HOST_SSH_CONFIG!, 'utf8');
    assert.match(config, /^Host deploy$/m);
    assert.match(config, /StrictHostKeyChecking yes/);
    assert.match(config, /HostKeyAlias govern-deploy/);
    assert.doesNotMatch(config, /StrictHostKeyChecking no/);
    const key = /IdentityFile "([^"]+)"/.exec(config)![1]!;
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.match(userConfigBefore, /# >>> govern deploy/);
    assert.match(userConfigBefore, new RegExp(`Include "${gov.env.DEPLOY_HOST_SSH_CONFIG}"`));
    assert.match(gov.env.GIT_SSH_COMMAND!, /^ssh -F '/);
  });

  test('exec passes stdout, stderr and the exit status', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'echo out; echo err >&2; exit 3'], gov.env);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.code, 3);
  });

  test('stdin reaches the command and the output comes back whole', async () => {
    const input = 'x'.repeat(300_000);
    const r = await client('ssh', [...gov.F, 'deploy', 'wc -c'], gov.env, input);
    assert.equal(r.stdout.trim(), '300000');
  });

  test('a command killed by a signal reports the signal', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'kill -TERM $$'], gov.env);
    // OpenSSH exits 255 when the remote command was killed by a signal; the record names it.
    assert.equal(r.code, 255);
    const result = await recordedResult(gov.out, (r) => r.exit === 'SIGTERM');
    assert.equal(result.error, 'killed by SIGTERM');
  });

  test('GIT_SSH_COMMAND names the config', async () => {
    const [ssh, ...args] = gov.env.GIT_SSH_COMMAND!.split(' ');
    const r = await client(ssh!, [...args.map((a) => a.replaceAll("'", '')), 'deploy', 'echo via -F'], { ...gov.env, HOME: '/nonexistent' });
    assert.equal(r.stdout, 'via -F\n');
  });

  test('a heredoc script runs after it is checked', async () => {
    const r = await client('ssh', [...gov.F, 'deploy'], gov.env, 'echo one\nfor i in 1 2; do echo "n$i"; done\n');
    assert.equal(r.stdout, 'one\nn1\nn2\n');
    assert.equal(r.code, 0);
  });

  test('bash -s < file runs the file', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'bash', '-s', '--', 'arg1'], gov.env, 'echo "got $1"\nexit 4\n');
    assert.equal(r.stdout, 'got arg1\n');
    assert.equal(r.code, 4);
  });

  test('a card number and an SSN printed remotely arrive masked, also split across writes', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', "echo card 4111 1111 1111 1111 ssn 536-22-4711; printf '4111 1111 '; sleep 0.02; printf '1111 1111\\n'; printf '536-2'; sleep 0.02; echo '2-4711'"], gov.env);
    assert.doesNotMatch(r.stdout, /4111 1111 1111 1111|536-22-4711/);
    assert.equal(r.stdout.split('\n').filter((l) => l.includes('[masked:')).length, 3, r.stdout);
  });

  test('a transfer program beside another command does not lift masking', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'rsync --version >/dev/null; echo 536-22-4711'], gov.env);
    assert.equal(r.stdout, '[masked:us_ssn]\n');
  });

  test('a blocked command is refused with exit 126 and the rule named', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', `rm -rf ${sshd.dir}/nothing`], gov.env);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /^govern: blocked by rule "no-rm-rf"$/m);
  });

  test('a blocked command inside a heredoc script refuses the whole script', async () => {
    const marker = join(sshd.dir, 'should-not-exist');
    const r = await client('ssh', [...gov.F, 'deploy'], gov.env, `touch ${marker}\nrm -rf /tmp/nothing-here\n`);
    assert.equal(r.code, 126);
    assert.equal(existsSync(marker), false);
  });

  test('unknown effects are held and, unanswered, denied', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'eval "$CMD"'], gov.env);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /approval timed out \(rule "default-unknown", request /);
  });

  test('env requests are refused unless the policy lists them', async () => {
    const r = await client('ssh', [...gov.F, '-o', 'SetEnv=GOVERN_TEST_X=1', 'deploy', 'echo "[$GOVERN_TEST_X]"'], gov.env);
    assert.equal(r.stdout, '[]\n');
  });

  test('port forwarding is refused', async () => {
    const r = await client('ssh', [...gov.F, '-o', 'ExitOnForwardFailure=yes', '-L', '0:127.0.0.1:22', 'deploy', 'true'], gov.env);
    assert.notEqual(r.code, 0);
  });

  test('at stop ~/.ssh/config is restored and the job files are gone', async () => {
    const home = join(gov.home, 'other');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const original = 'Host *\n  ServerAliveInterval 30\n';
    writeFileSync(join(home, '.ssh', 'config'), original);
    const another = await startSshd();
    const previous = process.env.HOME;
    process.env.HOME = home;
    try {
      const g = await governSsh({ app: another }, '  []');
      const during = readFileSync(join(g.home, '.ssh', 'config'), 'utf8');
      assert.match(during, /Include/);
      const configPath = g.env.APP_HOST_SSH_CONFIG!;
      const bundle = g.out;
      await g.stop();
      assert.equal(existsSync(configPath), false);
      assert.equal(existsSync(join(g.home, '.ssh', 'config')), false, 'a file govern created is removed');
      assert.equal(existsSync(bundle), false);
    } finally {
      process.env.HOME = previous;
      await another.stop();
    }
  });

  test('the bundle verifies and records each exec', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'echo recorded'], gov.env);
    assert.equal(r.code, 0);
    await gov.gateway.governor.recorder.durable();
    const events = readFileSync(join(gov.out, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const op = events.find((e) => e.type === 'operation' && e.text === 'echo recorded');
    assert.ok(op);
    assert.deepEqual(op.argv, [['echo', 'recorded']]);
    assert.equal((await recordedResult(gov.out, (r) => r.op === op.seq)).exit, 0);
    assert.ok(!readFileSync(join(gov.out, 'events.jsonl'), 'utf8').includes('536-22-4711'));
  });
});

describe('SSH bundle after stop', () => {
  test('verifies, and restores ~/.ssh/config byte for byte', async () => {
    const sshd = await startSshd();
    const gov = await governSsh({ deploy: sshd }, '  []');
    const original = '# mine\r\nHost x\n  User y\n\n\n';
    // The Include went in at the top of a file that did not exist; put the job's own lines below it.
    const file = join(gov.home, '.ssh', 'config');
    writeFileSync(file, readFileSync(file, 'utf8') + original);
    await client('ssh', [...gov.F, 'deploy', 'true'], gov.env);
    const out = gov.out;
    const { gateway } = gov;
    await gateway.stop('stop');
    assert.equal(readFileSync(file, 'utf8'), original);
    const verdict = await verifyBundle(out);
    assert.equal(verdict.ok, true, JSON.stringify(verdict));
    await gov.stop();
    await sshd.stop();
  });
});
