import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';

const RULES = `
  - name: pii
    mask: { types: [credit_card] }
  - name: keep-releases
    block: { sftp: ["remove /**/releases/**", rename, rmdir] }
  - name: no-uploads-to-etc
    block: { sftp: ["write /etc/**"] }
  - name: tunnels
    allow: { ssh: [port_forwarding] }
`;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('SSH file transfers through the gateway', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;
  let remote: string;
  let local: string;

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, RULES);
    remote = join(sshd.dir, 'remote');
    local = join(gov.home, 'local');
    mkdirSync(remote);
    mkdirSync(local);
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  const events = async () => {
    await gov.gateway.governor.recorder.durable();
    return readFileSync(join(gov.out, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  test('scp both ways, byte for byte, recorded by name, size and SHA-256; binary is never masked', async () => {
    // A card number inside a file is data, not output: transfers are recorded, not rewritten.
    const data = Buffer.concat([Buffer.from('4111 1111 1111 1111\n'), Buffer.alloc(300_000, 7)]);
    writeFileSync(join(local, 'up.bin'), data);
    const up = await client('scp', [...gov.F, join(local, 'up.bin'), `deploy:${remote}/up.bin`], gov.env);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(sha256(readFileSync(join(remote, 'up.bin'))), sha256(data));
    const down = await client('scp', [...gov.F, `deploy:${remote}/up.bin`, join(local, 'down.bin')], gov.env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(sha256(readFileSync(join(local, 'down.bin'))), sha256(data));
    const transfers = (await events()).filter((e) => e.type === 'transfer');
    assert.ok(transfers.some((t) => t.direction === 'upload' && t.path === `${remote}/up.bin` && t.bytes === data.length && t.sha256 === sha256(data)));
    assert.ok(transfers.some((t) => t.direction === 'download' && t.bytes === data.length && t.sha256 === sha256(data)));
  });

  test('legacy scp (-O) runs as a checked exec', async () => {
    writeFileSync(join(local, 'legacy.txt'), 'legacy\n');
    const r = await client('scp', [...gov.F, '-O', join(local, 'legacy.txt'), `deploy:${remote}/legacy.txt`], gov.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(remote, 'legacy.txt'), 'utf8'), 'legacy\n');
  });

  test('sftp both ways, and refused operations get permission denied with the reason', async () => {
    mkdirSync(join(remote, 'app', 'releases'), { recursive: true });
    writeFileSync(join(remote, 'app', 'releases', 'v1'), 'v1\n');
    writeFileSync(join(local, 'put.txt'), 'put\n');
    const batch = [
      `put ${join(local, 'put.txt')} ${remote}/put.txt`,
      `get ${remote}/put.txt ${join(local, 'got.txt')}`,
      `mkdir ${remote}/newdir`,
      `-rm ${remote}/app/releases/v1`,
      `-rename ${remote}/put.txt ${remote}/moved.txt`,
      `-put ${join(local, 'put.txt')} /etc/govern-should-not-exist`,
      `ls ${remote}`,
    ].join('\n');
    const r = await client('sftp', [...gov.F, '-b', '-', 'deploy'], gov.env, `${batch}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(local, 'got.txt'), 'utf8'), 'put\n');
    assert.ok(existsSync(join(remote, 'newdir')));
    assert.ok(existsSync(join(remote, 'app', 'releases', 'v1')), 'remove under releases refused');
    assert.ok(existsSync(join(remote, 'put.txt')), 'rename refused');
    assert.equal(existsSync('/etc/govern-should-not-exist'), false);
    assert.match(r.stderr, /Permission denied|govern: blocked by rule "keep-releases"/);
    const ops = (await events()).filter((e) => e.type === 'operation' && String(e.text).startsWith('sftp '));
    const verdict = (kind: string) => ops.find((o) => (o.classes as string[]).includes(kind))?.verdict;
    assert.equal(verdict('mkdir'), 'allow');
    assert.equal(verdict('remove'), 'block');
    assert.equal(verdict('rename'), 'block');
    assert.ok(ops.some((o) => o.text === 'sftp write /etc/govern-should-not-exist' && o.rule === 'no-uploads-to-etc'));
  });

  test('rsync -e ssh both ways', async () => {
    mkdirSync(join(local, 'tree', 'sub'), { recursive: true });
    writeFileSync(join(local, 'tree', 'a.txt'), 'a\n');
    writeFileSync(join(local, 'tree', 'sub', 'b.bin'), Buffer.alloc(100_000, 3));
    const e = `ssh ${gov.F.join(' ')}`;
    const up = await client('rsync', ['-a', '-e', e, `${join(local, 'tree')}/`, `deploy:${remote}/tree/`], gov.env);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(remote, 'tree', 'sub', 'b.bin')).length, 100_000);
    const down = await client('rsync', ['-a', '-e', e, `deploy:${remote}/tree/`, `${join(local, 'tree2')}/`], gov.env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(join(local, 'tree2', 'a.txt'), 'utf8'), 'a\n');
  });

  test('git clone and push to a bare repository', async () => {
    const bare = join(remote, 'repo.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    const work = join(local, 'work');
    const git = (args: string[], cwd?: string) =>
      client('git', cwd ? ['-C', cwd, ...args] : args, { ...gov.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' });
    const cloned = await git(['clone', '-q', `deploy:${bare}`, work]);
    assert.equal(cloned.code, 0, cloned.stderr);
    writeFileSync(join(work, 'README'), 'hello\n');
    await git(['add', 'README'], work);
    await git(['commit', '-qm', 'first'], work);
    const pushed = await git(['push', '-q', 'origin', 'HEAD:main'], work);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(execFileSync('git', ['--git-dir', bare, 'show', 'main:README'], { encoding: 'utf8' }), 'hello\n');
    const again = await git(['clone', '-q', `deploy:${bare}`, join(local, 'work2')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(local, 'work2', 'README'), 'utf8'), 'hello\n');
  });

  test('OpenSSH multiplexing: several sessions over one ControlMaster connection', async () => {
    const control = join(gov.home, 'cm-%C');
    const opts = [...gov.F, '-o', `ControlPath=${control}`];
    const master = await client('ssh', [...opts, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=10', '-fN', 'deploy'], gov.env);
    assert.equal(master.code, 0, master.stderr);
    try {
      const runs = await Promise.all([1, 2, 3].map((i) => client('ssh', [...opts, '-o', 'ControlMaster=no', 'deploy', `echo ${i}`], gov.env)));
      assert.deepEqual(runs.map((r) => r.stdout), ['1\n', '2\n', '3\n']);
      const check = await client('ssh', [...opts, '-O', 'check', 'deploy'], gov.env);
      assert.equal(check.code, 0, check.stderr);
    } finally {
      await client('ssh', [...opts, '-O', 'exit', 'deploy'], gov.env);
    }
  });

  test('with a rule allowing port_forwarding, ssh -W tunnels through the target', async () => {
    const r = await client('ssh', [...gov.F, '-W', `127.0.0.1:${sshd.port}`, 'deploy'], gov.env, 'SSH-2.0-probe\r\n');
    assert.match(r.stdout, /^SSH-2\.0-OpenSSH/);
  });
});
