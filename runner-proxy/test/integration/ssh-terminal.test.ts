import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';

const ALLOW_SHELLS = `
  - name: pii
    mask: { types: [credit_card] }
  - name: terminals
    allow: { ssh: [interactive] }
`;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('SSH terminals', () => {
  let sshd: TestSshd;

  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  test('a pty shell is refused unless a rule allows interactive shells', async () => {
    const gov = await governSsh({ deploy: sshd }, '  []');
    try {
      const r = await client('ssh', [...gov.F, '-tt', 'deploy'], gov.env, 'echo hi\nexit\n');
      assert.equal(r.code, 126);
      assert.match(r.stdout + r.stderr, /govern: blocked: interactive is refused unless a rule allows it/);
      const exec = await client('ssh', [...gov.F, '-tt', 'deploy', 'echo with-a-pty'], gov.env);
      assert.match(exec.stdout, /with-a-pty/);
      const bash = await client('ssh', [...gov.F, '-tt', 'deploy', 'bash'], gov.env, 'echo hi\nexit\n');
      assert.equal(bash.code, 126, 'a shell started by exec with a pty is a terminal too');
    } finally {
      await gov.stop();
    }
  });

  test('an allowed shell, driven through tmux, is recorded as a masked asciicast and replays', async () => {
    const gov: GovernedSsh = await governSsh({ deploy: sshd }, ALLOW_SHELLS);
    const socket = join(gov.home, 'tmux.sock');
    const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { env: { ...gov.env, TERM: 'xterm' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const screen = () => tmux('capture-pane', '-p', '-t', 'job');
    let out: string;
    try {
      tmux('new-session', '-d', '-s', 'job', '-x', '80', '-y', '24', `ssh ${gov.F.join(' ')} deploy`);
      await until(() => /[#$] ?$/m.test(screen()), 'a prompt');
      tmux('send-keys', '-t', 'job', 'echo "hello-$((6*7))"; echo 4111-1111-1111-1111', 'Enter');
      await until(() => screen().includes('hello-42'), 'the command output');
      assert.ok(!screen().includes('4111-1111-1111-1111\n'), 'the card number is masked on screen');
      tmux('resize-window', '-t', 'job', '-x', '100', '-y', '30');
      tmux('send-keys', '-t', 'job', 'stty size', 'Enter');
      await until(() => screen().includes('30 100'), 'the new window size');
      tmux('send-keys', '-t', 'job', 'exit 7', 'Enter');
      await until(() => !tmux('list-sessions').includes('job:'), 'the shell to end');
    } catch (e) {
      if (!String(e).includes('no server running')) throw e;
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // Already gone with its last session.
      }
      out = gov.out;
      await gov.gateway.stop('stop');
    }
    assert.equal(verifyBundle(out).ok, true);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    const cast = Object.keys(manifest.files).find((f) => /^ssh\/\d+\.cast$/.test(f));
    assert.ok(cast, 'the cast is listed in the signed manifest');
    const lines = readFileSync(join(out, cast), 'utf8').trim().split('\n');
    assert.deepEqual({ ...JSON.parse(lines[0]!), timestamp: 0 }, { version: 2, width: 80, height: 24, timestamp: 0, env: { TERM: 'tmux-256color' } });
    const text = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    assert.ok(text.some(([, code, data]) => code === 'r' && data === '100x30'));
    const output = text.filter(([, code]) => code === 'o').map(([, , d]) => d).join('');
    assert.match(output, /hello-42/);
    assert.match(output, /\[masked:credit_card\]/);
    assert.doesNotMatch(output, /4111-1111-1111-1111\r/);
    const report = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(report, /<h3>Terminal of operation #\d+<\/h3>/);
    assert.doesNotMatch(report, /4111-1111-1111-1111\\r/);
    let played = '';
    const io = { stdout: { write: (s: string) => ((played += s), true) }, stderr: { write: () => true } };
    const status = await main(['replay', out, '--connection', 'deploy', '--speed', '50'], {}, io as never);
    assert.equal(status, 0);
    assert.match(played, /--- terminal of operation #\d+ ---/);
    assert.match(played, /hello-42/);
    await gov.stop();
  });
});
