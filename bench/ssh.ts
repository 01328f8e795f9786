import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { governSsh, startSshd } from '../runner-proxy/test/fixtures/sshd.js';

const SIZE = 200 * 1024 * 1024;
export const CIPHER = 'aes128-gcm@openssh.com';

export interface SshFigure {
  what: string;
  path: 'direct' | 'gateway' | 'gateway, masking';
  seconds: number;
  mbps: number;
}

/** Runs a client to completion, its output thrown away, and returns how long it took. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${command} failed (${code}): ${stderr}`))));
  });
}

/**
 * `ssh HOST cat` of 200 MB and `scp` of 200 MB from the host, straight to sshd and through the gateway
 * (without and with output masking), all with the same cipher, one run each.
 */
export async function benchSsh(): Promise<SshFigure[]> {
  const sshd = await startSshd();
  const work = mkdtempSync(join(tmpdir(), 'govern-bench-ssh-'));
  const file = join(sshd.dir, 'payload.txt');
  // Text, so the masking run has lines to scan: log-like lines with numbers, no sensitive values.
  const line = 'order 12345 shipped to warehouse 7 at 2026-12-01T10:00:00Z, weight 1234.56 kg, ref ABCD-1234-EFGH\n';
  writeFileSync(file, Buffer.alloc(SIZE, line));
  const key = join(work, 'key');
  writeFileSync(key, sshd.privateKey, { mode: 0o600 });
  writeFileSync(join(work, 'known_hosts'), `${sshd.knownHosts}\n`);
  const direct = ['-i', key, '-p', String(sshd.port), '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-c', CIPHER];
  const plain = await governSsh({ deploy: sshd }, '  []');
  const masking = await governSsh({ deploy: sshd }, '  - name: pii\n    mask: { types: [credit_card, us_ssn, email] }');
  const figures: SshFigure[] = [];
  const add = (what: string, path: SshFigure['path'], seconds: number) => figures.push({ what, path, seconds, mbps: SIZE / 1e6 / seconds });
  try {
    add('ssh cat', 'direct', await timed('ssh', [...direct, 'root@127.0.0.1', `cat ${file}`], process.env));
    add('ssh cat', 'gateway', await timed('ssh', [...plain.F, 'deploy', `cat ${file}`], plain.env));
    add('ssh cat', 'gateway, masking', await timed('ssh', [...masking.F, 'deploy', `cat ${file}`], masking.env));
    const scpDirect = direct.map((a) => (a === '-p' ? '-P' : a));
    add('scp', 'direct', await timed('scp', [...scpDirect, `root@127.0.0.1:${file}`, join(work, 'copy1')], process.env));
    add('scp', 'gateway', await timed('scp', [...plain.F, `deploy:${file}`, join(work, 'copy2')], plain.env));
  } finally {
    // In reverse: each gateway of the fixture restores the HOME it found.
    await masking.stop();
    await plain.stop();
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return figures;
}
