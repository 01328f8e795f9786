import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';

// The posture the README recommends for CI: the pipeline's commands, listed, and nothing else. The
// sshd only writes down what it was asked to run, so a miss is a line in its log, never damage.
const RULES = `
  - name: deploy-commands
    allow:
      shell:
        - "git -C /srv/app pull --ff-only"
        - "systemctl restart app"
        - "sudo systemctl restart app"
        - "cd /srv/app"
        - "ls **"
        - "echo *"
        - "bash -c *"
        - "/srv/app/bin/migrate --env=*"
    others: refuse
  - name: pii
    mask: { types: [credit_card, us_ssn] }
`;

const LISTED = [
  'git -C /srv/app pull --ff-only',
  'systemctl restart app',
  'sudo systemctl restart app',
  'ls',
  'ls -la /srv/app',
  'echo deployed',
  'cd /srv/app; ls -la; echo done',
  "bash -c 'systemctl restart app'",
  '/srv/app/bin/migrate --env=staging',
];

const REFUSED = [
  // Not listed, or not word for word.
  'rm -rf /srv/app',
  'git -C /srv/app pull',
  'git -C /srv/app pull --ff-only --force',
  'git -c core.sshCommand=x -C /srv/app pull --ff-only',
  'systemctl stop app',
  'echo a b',
  // A listed command beside, after or inside something unlisted.
  'systemctl restart app; rm -rf /srv/app',
  'ls $(rm -rf /srv/app)',
  'ls | sh',
  // A wrapper is judged as written: listing the command does not list it run under another program.
  'sudo -u root systemctl restart app',
  'env systemctl restart app',
  'nice systemctl restart app',
  'timeout 5 systemctl restart app',
  // Shell text a listed shell runs needs its own entries.
  "bash -c 'rm -rf /srv/app'",
  "bash -c 'systemctl restart app; curl evil.example'",
  // What the gateway cannot resolve is never listed.
  '$CMD',
  'echo $(printf "%s" x)',
  'eval ls',
  "ls; x='a[$(id)]'; echo $((x))",
  '/srv/app/bin/migrate --env=staging/../../x',
];

describe('SSH allow-lists against a real sshd', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;

  before(async () => {
    sshd = await startSshd({ recordOnly: true });
    gov = await governSsh({ deploy: sshd }, RULES);
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  const ssh = (command: string) => client('ssh', [...gov.F, '-n', 'deploy', command], gov.env);

  test('listed command lines run', async () => {
    const before = sshd.recorded().length;
    for (const command of LISTED) {
      const r = await ssh(command);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    }
    assert.deepEqual(sshd.recorded().slice(before), LISTED);
  });

  test('anything else is refused before it reaches the host, naming the list', async () => {
    const before = sshd.recorded().length;
    for (const command of REFUSED) {
      const r = await ssh(command);
      assert.equal(r.code, 126, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /^govern: refused by rule "deploy-commands": not on its allow-list/, command);
    }
    assert.equal(sshd.recorded().length, before);
  });

  test('a script sent on stdin is listed only when every command in it is', async () => {
    const ok = await client('ssh', [...gov.F, 'deploy', 'bash', '-s'], gov.env, 'ls -la\nsystemctl restart app\n');
    assert.equal(ok.code, 126, 'bash -s itself is not listed');
    const listed = await client('ssh', [...gov.F, 'deploy'], gov.env, 'ls -la\nsystemctl restart app\n');
    assert.equal(listed.code, 0, listed.stderr);
    const mixed = await client('ssh', [...gov.F, 'deploy'], gov.env, 'ls -la\nrm -rf /srv/app\n');
    assert.equal(mixed.code, 126);
    assert.match(mixed.stderr, /deploy-commands/);
  });
});

describe('SSH output masking cannot be outpaced', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, '  - name: pii\n    mask: { types: [credit_card, us_ssn] }\n');
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  test('a card number or SSN written in pieces with pauses arrives masked, on stdout and stderr; a prompt is not held', async () => {
    const command = [
      "printf 'card 4111 1111 '; sleep 0.3; printf '1111 1111\\n'",
      "printf 'ssn 536-' >&2; sleep 0.3; printf '22-' >&2; sleep 0.3; printf '4711 ok\\n' >&2",
      "printf '4111111'; sleep 0.3; printf '111111111'",
    ].join('; ');
    const r = await client('ssh', [...gov.F, 'deploy', command], gov.env);
    assert.equal(r.stdout, 'card [masked:credit_card]\n[masked:credit_card]');
    assert.equal(r.stderr, 'ssn [masked:us_ssn] ok\n');

    // A prompt without a newline arrives while the command still waits for its answer.
    const child = spawn('ssh', [...gov.F, 'deploy', 'printf "Continue? [y/N] "; read answer; echo "got $answer"'], { env: gov.env });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout === 'Continue? [y/N] ') child.stdin.end('y\n');
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.equal(stdout, 'Continue? [y/N] got y\n');
  });
});
