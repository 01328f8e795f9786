import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { client, governSsh, startSshd, type GovernedSsh, type TestSshd } from '../fixtures/sshd.js';
import { freePort } from '../fixtures/postgres.js';

const GIB = 1 << 30;

describe('SSH gateway robustness', () => {
  let sshd: TestSshd;
  let other: TestSshd;
  let gov: GovernedSsh;
  let deadPort: number;

  before(async () => {
    sshd = await startSshd();
    other = await startSshd();
    deadPort = await freePort();
    gov = await governSsh(
      {
        deploy: sshd,
        // The policy pins another server's key: a man in the middle, as far as the gateway can tell.
        spoofed: { ...sshd, knownHosts: other.knownHosts },
        unpinned: { ...sshd, knownHosts: '# nothing pinned yet' },
        dead: { ...sshd, port: deadPort },
      },
      '  []',
    );
  });
  after(async () => {
    await gov?.stop();
    await sshd?.stop();
    await other?.stop();
  });

  const ssh = (name: string, args: string[], input?: string) => client('ssh', ['-F', gov.config(name), name, ...args], gov.env, input);

  test('a host key other than the pinned one refuses, naming the host and the fingerprint seen', async () => {
    const fingerprint = execFileSync('ssh-keygen', ['-lf', `${sshd.dir}/host_ed25519.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    const r = await ssh('spoofed', ['echo', 'never']);
    assert.equal(r.code, 255);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`govern: the host key of 127.0.0.1:${sshd.port} (${fingerprint}) is not the one known_hosts pins for connection "spoofed"`), r.stderr);
    const unpinned = await ssh('unpinned', ['true']);
    assert.match(unpinned.stderr, /cannot be checked: known_hosts is empty/);
  });

  test('a dead target is a clear error to the job', async () => {
    const r = await ssh('dead', ['true']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, new RegExp(`govern: cannot reach 127\\.0\\.0\\.1:${deadPort} for connection "dead": .*ECONNREFUSED`));
  });

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
});
