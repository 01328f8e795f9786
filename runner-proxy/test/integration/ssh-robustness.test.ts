import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode } from '../../src/base/errors.js';
import { smallDisk, unmount } from '../fixtures/disk.js';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';
import { freePort } from '../fixtures/postgres.js';

const GIB = 1 << 30;

type Event = Record<string, unknown>;

function events(gov: GovernedSsh): Event[] {
  return readFileSync(join(gov.out, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Event);
}

function fingerprintOf(sshd: TestSshd): string {
  return execFileSync('ssh-keygen', ['-lf', `${sshd.dir}/host_ed25519.pub`], { encoding: 'utf8' }).split(' ')[1]!;
}

describe('SSH gateway start-time check of each target', () => {
  let sshd: TestSshd;
  let other: TestSshd;

  before(async () => {
    sshd = await startSshd();
    other = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
    await other?.stop();
  });

  const refusedStart = async (targets: Parameters<typeof governSsh>[0], message: RegExp | string) => {
    await assert.rejects(governSsh(targets, '  []'), (e: Error & { code?: string }) => {
      assert.equal(e.code, ErrorCode.GatewayStartFailed);
      if (typeof message === 'string') assert.ok(e.message.includes(message), e.message);
      else assert.match(e.message, message);
      return true;
    });
  };

  test('a host key other than the pinned one is a start error naming the host and the fingerprint seen', async () => {
    // The policy pins another server's key: a man in the middle, as far as the gateway can tell.
    await refusedStart({ spoofed: { ...sshd, knownHosts: other.knownHosts } }, `the host key of 127.0.0.1:${sshd.port} (${fingerprintOf(sshd)}) is not the one known_hosts pins for connection "spoofed"`);
  });

  test('an unpinned host key is a start error', async () => {
    await refusedStart({ unpinned: { ...sshd, knownHosts: '# nothing pinned yet' } }, /cannot be checked: known_hosts is empty for connection "unpinned"/);
  });

  test('a key the target does not accept is a start error naming the connection', async () => {
    await refusedStart({ wrongkey: { ...sshd, privateKey: other.privateKey } }, `127.0.0.1:${sshd.port} refused the login of user "root" with the private_key of connection "wrongkey"`);
  });

  test('an unreachable host is a start error naming the connection', async () => {
    const deadPort = await freePort();
    await refusedStart({ dead: { ...sshd, port: deadPort } }, new RegExp(`cannot reach 127\\.0\\.0\\.1:${deadPort} for connection "dead": .*ECONNREFUSED`));
  });

  test('the check runs nothing on the target', async () => {
    const recorder = await startSshd({ recordOnly: true });
    try {
      const gov = await governSsh({ deploy: recorder }, '  []');
      await gov.stop();
      assert.deepEqual(recorder.recorded(), []);
    } finally {
      await recorder.stop();
    }
  });
});

describe('SSH target failures after start', () => {
  test('a refused login, a dead target and a changed host key are clear errors to the job and recorded events', async () => {
    let target = await startSshd();
    const gov = await governSsh({ later: target }, '  []');
    const ssh = () => client('ssh', [...gov.F, 'later', 'true'], gov.env);
    try {
      // The target stops accepting the policy's key.
      writeFileSync(join(target.dir, 'authorized_keys'), '');
      const refused = await ssh();
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, new RegExp(`govern: 127\\.0\\.0\\.1:${target.port} refused the login of user "root" with the private_key of connection "later"`));
      const port = target.port;
      await target.stop();
      const dead = await ssh();
      assert.equal(dead.code, 255);
      assert.match(dead.stderr, new RegExp(`govern: cannot reach 127\\.0\\.0\\.1:${port} for connection "later": .*ECONNREFUSED`));
      // Another server on the same address: a man in the middle, as far as the gateway can tell.
      target = await startSshd({ port });
      const spoofed = await ssh();
      assert.equal(spoofed.code, 255);
      assert.ok(spoofed.stderr.includes(`govern: the host key of 127.0.0.1:${port} (${fingerprintOf(target)}) is not the one known_hosts pins`), spoofed.stderr);
      await gov.gateway.governor.recorder.durable();
      const failures = events(gov).filter((e) => e.type === 'connection.failed' || e.type === 'auth.failed');
      assert.deepEqual(
        failures.map((e) => [e.type, e.connection]),
        [
          ['auth.failed', 'later'],
          ['connection.failed', 'later'],
          ['connection.failed', 'later'],
        ],
      );
      assert.match(String(failures[2]!.message), /host key .* is not the one known_hosts pins/);
    } finally {
      await gov.stop();
      await target.stop();
    }
  });
});

/** Takes every free byte of a file system. */
function fill(dir: string): void {
  const { bavail, bsize } = statfsSync(dir);
  try {
    writeFileSync(join(dir, 'filler'), Buffer.alloc(bavail * bsize));
  } catch {
    // Full: that was the point.
  }
}

describe('SSH gateway when the session cannot be recorded', () => {
  test('a command is refused with 126 and one line, an sftp upload fails, and nothing reaches the target', async (t) => {
    const disk = smallDisk('1m');
    if (!disk) return t.skip('cannot mount a small tmpfs here (needs root)');
    const recorder = await startSshd({ recordOnly: true });
    const files = await startSshd();
    const gov = await governSsh({ rec: recorder, files }, '  []', '', '', join(disk, 'session'));
    const control = join(gov.home, 'control');
    const opts = ['-F', gov.config('rec'), '-o', `ControlPath=${control}`];
    const local = join(gov.home, 'upload.txt');
    writeFileSync(local, 'should never land\n');
    const remote = join(files.dir, 'uploaded.txt');
    try {
      // A connection that is already open when the disk fills: its next command must not run.
      const master = await client('ssh', [...opts, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=10', '-fN', 'rec'], gov.env);
      assert.equal(master.code, 0, master.stderr);
      const before = await client('ssh', [...opts, 'rec', 'true'], gov.env);
      assert.equal(before.code, 0, before.stderr);
      // An sftp session opened while the record could still be written.
      const sftp = spawn('sftp', ['-F', gov.config('files'), '-b', '-', 'files'], { env: gov.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let sftpOut = '';
      sftp.stdout.on('data', (c: Buffer) => (sftpOut += c.toString()));
      sftp.stderr.on('data', (c: Buffer) => (sftpOut += c.toString()));
      sftp.stdin.write('pwd\n');
      while (!sftpOut.includes('Remote working directory')) await new Promise((r) => setTimeout(r, 20));
      await gov.gateway.governor.recorder.durable();
      fill(disk);

      const refused = await client('ssh', [...opts, 'rec', `echo ${'x'.repeat(8000)}`], gov.env);
      assert.equal(refused.code, 126);
      assert.match(refused.stderr, /^govern: refused, the session cannot be recorded: cannot write the session recording in .*\n$/);
      assert.equal(refused.stderr.split('\n').length, 2, 'one line');

      sftp.stdin.end(`put ${local} ${remote}\n`);
      const sftpCode = await new Promise((r) => sftp.on('close', r));
      assert.notEqual(sftpCode, 0, sftpOut);
      // A new sftp session is refused before it opens (sftp itself shows only that the connection closed).
      const fresh = await client('sftp', ['-F', gov.config('files'), '-b', '-', 'files'], gov.env, `put ${local} ${remote}\n`);
      assert.notEqual(fresh.code, 0);

      assert.deepEqual(recorder.recorded(), ['true'], 'only the command run before the disk filled reached the target');
      assert.equal(existsSync(remote), false);
      await client('ssh', [...opts, '-O', 'exit', 'rec'], gov.env);
    } finally {
      await gov.stop();
      await recorder.stop();
      await files.stop();
      unmount(disk);
    }
  });
});

describe('SSH gateway robustness', () => {
  let sshd: TestSshd;
  let gov: GovernedSsh;

  before(async () => {
    sshd = await startSshd();
    gov = await governSsh({ deploy: sshd }, '  []');
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
  });

  const ssh = (name: string, args: string[], input?: string) => client('ssh', ['-F', gov.config(name), name, ...args], gov.env, input);

  test('garbage on the listener ends that connection only', async () => {
    const port = Number(/Port (\d+)/.exec(readFileSync(gov.config('deploy'), 'utf8'))![1]);
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from('SSH-2.0-x\r\n\x00\x00\xff\xff\xff\xff garbage'), Buffer.alloc(70_000, 0xff)]) {
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.write(junk));
        s.on('data', () => undefined);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        setTimeout(() => s.destroy(), 2000);
      });
    }
    const r = await ssh('deploy', ['echo', 'still serving']);
    assert.equal(r.stdout, 'still serving\n');
  });

  test('a client that vanishes mid-transfer leaves the gateway serving', async () => {
    const child = spawn('ssh', ['-F', gov.config('deploy'), 'deploy', 'cat /dev/zero'], { env: gov.env, stdio: ['ignore', 'pipe', 'ignore'] });
    let got = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 5_000_000) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    const r = await ssh('deploy', ['echo', 'next']);
    assert.equal(r.stdout, 'next\n');
  });

  test('1 GiB each way passes with flat memory', async () => {
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    const start = process.memoryUsage().rss;
    try {
      const down = spawn('ssh', ['-F', gov.config('deploy'), 'deploy', `head -c ${GIB} /dev/zero`], { env: gov.env, stdio: ['ignore', 'pipe', 'inherit'] });
      let bytes = 0;
      down.stdout.on('data', (c: Buffer) => (bytes += c.length));
      await new Promise((r) => down.on('close', r));
      assert.equal(bytes, GIB);
      const up = spawn('sh', ['-c', `head -c ${GIB} /dev/zero | ssh -F '${gov.config('deploy')}' deploy 'wc -c'`], { env: gov.env, stdio: ['ignore', 'pipe', 'inherit'] });
      let counted = '';
      up.stdout.on('data', (c: Buffer) => (counted += c.toString()));
      await new Promise((r) => up.on('close', r));
      assert.equal(counted.trim(), String(GIB));
    } finally {
      clearInterval(sampler);
    }
    const growth = (peak - start) / (1 << 20);
    console.log(`gateway RSS: start ${(start / (1 << 20)).toFixed(0)} MiB, peak ${(peak / (1 << 20)).toFixed(0)} MiB`);
    assert.ok(growth < 256, `RSS grew by ${growth.toFixed(0)} MiB`);
  });

  test('no error reached the last-resort guard', async () => {
    await gov.gateway.governor.recorder.durable();
    assert.deepEqual(
      events(gov).filter((e) => e.type === 'gateway.fault'),
      [],
    );
    assert.equal(gov.gateway.governor.faults, 0);
  });
});
