import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClient } from '../runner-proxy/test/fixtures/postgres.js';

/** The processes every database bench runs beside its target: the bench's own relays and the gateway, each its own process. */
const GOVERN = fileURLToPath(new URL('../../runner-proxy/bin/govern.js', import.meta.url));
const RELAYS = { pipe: fileURLToPath(new URL('./pipe-proxy.js', import.meta.url)), framed: fileURLToPath(new URL('./frame-pipe.js', import.meta.url)) };
const CPU_PROFILE = fileURLToPath(new URL('./cpu-profile.js', import.meta.url));

/** The user+system CPU time a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory now (VmRSS) or at its peak so far (VmHWM), in MB. */
export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** Resets the peak, so the next VmHWM reading covers only what follows. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** A relay of the bench's own (`pipe-proxy.ts`, `frame-pipe.ts`) to 127.0.0.1:`targetPort`, in its own process, and the port it listens on. */
export async function startRelay(name: keyof typeof RELAYS, targetPort: number): Promise<{ port: number; process: ChildProcess }> {
  const child = spawn(process.execPath, [RELAYS[name], String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
    child.once('exit', () => reject(new Error(`the ${name} relay exited before listening`)));
  });
  return { port, process: child };
}

/** A gateway started with `govern start` (its own process) under `policy`, which reads the target's URL from `${BENCH_TARGET_URL}`. */
export interface BenchGateway {
  /** The `DATABASE_URL` it exports to the job. */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Its policy and session go in `dir` under `name`; with `profileDir`, it is profiled (`cpu-profile.ts`) and leaves its profile there. */
export async function startGateway(dir: string, name: string, policy: string, targetUrl: string, profileDir?: string): Promise<BenchGateway> {
  const policyPath = join(dir, `${name}.yml`);
  const out = join(dir, name);
  writeFileSync(policyPath, policy);
  const r = await runClient(process.execPath, [GOVERN, 'start', '--policy', policyPath, '--out', out, '--env-format', 'dotenv'], {
    env: { PATH: process.env.PATH, BENCH_TARGET_URL: targetUrl, ...(profileDir && { GOVERN_BENCH_PROFILE: profileDir, NODE_OPTIONS: `--import=${CPU_PROFILE}` }) },
  });
  if (r.status !== 0) throw new Error(`govern start failed: ${r.stderr}`);
  const url = /^DATABASE_URL=(.*)$/m.exec(r.stdout)![1]!;
  const { pid } = JSON.parse(readFileSync(join(out, 'gateway.json'), 'utf8')) as { pid: number };
  return { url, pid, stop: async () => void (await runClient(process.execPath, [GOVERN, 'stop', '--out', out])) };
}
