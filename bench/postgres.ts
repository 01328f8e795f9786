import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTarget, type Target } from '../runner-proxy/test/fixtures/pg-gateway.js';
import { freePort, runClient } from '../runner-proxy/test/fixtures/postgres.js';

/**
 * pgbench -S through three paths in one run: straight to the target, through pgbouncer (session mode),
 * and through the gateway with a masking and guardrail policy, each proxy in its own process. Then a
 * 1,000,000-row SELECT with a masked column, direct and through the gateway, with the gateway's RSS.
 */
const GOVERN = fileURLToPath(new URL('../../runner-proxy/bin/govern.js', import.meta.url));
const SECONDS = Number(process.env.GOVERN_BENCH_SECONDS ?? 5);
const BIG_ROWS = 1_000_000;

const POLICY = `version: 1
connections:
  app_db:
    postgres: { url: "\${BENCH_TARGET_URL}" }
    export: DATABASE_URL
rules:
  - name: pii
    mask: { columns: ["*.ssn", "*.card_number"], types: [email, credit_card] }
  - name: no-destruction
    block: { sql: [drop, truncate, alter_system, grant, set_role, copy_program, dangerous_function] }
  - name: reviewed-writes
    approve: { sql: [delete_without_where, update_without_where] }
`;

interface Path {
  name: string;
  url: string;
  /** The proxy's process, for its CPU time and peak memory. */
  pid?: number;
}

export interface PgbenchFigure {
  path: string;
  clients: number;
  tps: number;
  latencyMs: number;
  /** CPU time the proxy process used per transaction, in microseconds. */
  proxyCpuUsPerTx?: number;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory now (VmRSS) or at its peak so far (VmHWM), in MB. */
function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** Resets the peak, so the next VmHWM reading covers only what follows. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

async function pgbench(target: Target, path: Path, clients: number): Promise<PgbenchFigure> {
  const before = path.pid ? cpuSeconds(path.pid) : 0;
  const r = await runClient(`${target.pg.bin}/pgbench`, ['-n', '-S', '-M', 'simple', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(SECONDS), path.url]);
  if (r.status !== 0) throw new Error(`pgbench through ${path.name} failed: ${r.stderr.trim().split('\n').pop()}`);
  const tps = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+)/.exec(r.stdout)?.[1]);
  const transactions = Number(/actually processed: (\d+)/.exec(r.stdout)?.[1]);
  return {
    path: path.name,
    clients,
    tps,
    latencyMs,
    ...(path.pid && { proxyCpuUsPerTx: ((cpuSeconds(path.pid) - before) * 1000 * 1000) / transactions }),
  };
}

async function startPgbouncer(target: Target, dir: string): Promise<{ path: Path; process: ChildProcess }> {
  const port = await freePort();
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  writeFileSync(join(dir, 'userlist.txt'), `"app" "${target.appPassword}"\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `app = host=127.0.0.1 port=${target.pg.port} dbname=app`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = session',
      'max_client_conn = 100',
      'default_pool_size = 20',
      'unix_socket_dir =',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  const binary = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((b) => {
    try {
      readFileSync(b);
      return true;
    } catch {
      return false;
    }
  });
  if (!binary) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const child = spawn(binary, [join(dir, 'pgbouncer.ini')], { uid, gid, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { path: { name: 'pgbouncer', url: `postgresql://app:${encodeURIComponent(target.appPassword)}@127.0.0.1:${port}/app`, pid: child.pid! }, process: child };
}

async function startGateway(target: Target, dir: string): Promise<Path & { out: string }> {
  const policy = join(dir, 'govern.yml');
  const out = join(dir, 'session');
  writeFileSync(policy, POLICY);
  const r = await runClient(process.execPath, [GOVERN, 'start', '--policy', policy, '--out', out, '--env-format', 'dotenv'], {
    env: { PATH: process.env.PATH, BENCH_TARGET_URL: target.appUrl },
  });
  if (r.status !== 0) throw new Error(`govern start failed: ${r.stderr}`);
  const url = /^DATABASE_URL=(.*)$/m.exec(r.stdout)![1]!;
  const { pid } = JSON.parse(readFileSync(join(out, 'gateway.json'), 'utf8')) as { pid: number };
  return { name: 'gateway', url, pid, out };
}

/** Time to fetch every row of a 1M-row table with a masked column, as psql would, discarding the output. */
async function bigSelect(target: Target, url: string): Promise<{ seconds: number; megabytes: number }> {
  const started = performance.now();
  const r = await runClient(`${target.pg.bin}/psql`, [url, '-X', '-q', '-A', '-t', '-o', '/dev/null', '-c', 'SELECT id, ssn, note FROM big'], { timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`the 1M-row SELECT failed: ${r.stderr}`);
  const seconds = (performance.now() - started) / 1000;
  const size = await target.direct("SELECT sum(octet_length(id::text) + octet_length(ssn) + octet_length(note))::bigint AS bytes FROM big");
  return { seconds, megabytes: Number(size.rows[0].bytes) / 1e6 };
}

export interface PostgresFigures {
  pgbench: PgbenchFigure[];
  big: {
    direct: { seconds: number; megabytes: number };
    gateway: { seconds: number; megabytes: number };
    /** The gateway's resident memory before the SELECT (after pgbench) and its peak during it. */
    rssBeforeMb: number;
    rssPeakMb: number;
    maskedSample: string;
  };
}

export async function benchPostgres(): Promise<PostgresFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-'));
  const target = await startTarget();
  let bouncer: ChildProcess | undefined;
  let gateway: (Path & { out: string }) | undefined;
  try {
    const init = await runClient(`${target.pg.bin}/pgbench`, ['-i', '-s', '10', '-q', target.appUrl]);
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    await target.direct(`CREATE TABLE big AS SELECT g AS id, lpad((g % 1000)::text, 3, '0') || '-22-' || lpad((g % 10000)::text, 4, '0') AS ssn, 'note ' || g AS note FROM generate_series(1, ${BIG_ROWS}) g`);
    const started = await startPgbouncer(target, dir);
    bouncer = started.process;
    gateway = await startGateway(target, dir);
    const paths: Path[] = [{ name: 'direct', url: target.appUrl }, started.path, gateway];
    const figures: PgbenchFigure[] = [];
    for (const clients of [8, 1]) for (const path of paths) figures.push(await pgbench(target, path, clients));
    const direct = await bigSelect(target, target.appUrl);
    const rssBeforeMb = rssMb(gateway.pid!, 'VmRSS');
    resetPeak(gateway.pid!);
    const governed = await bigSelect(target, gateway.url);
    const rssPeakMb = rssMb(gateway.pid!, 'VmHWM');
    const sample = await runClient(`${target.pg.bin}/psql`, [gateway.url, '-X', '-A', '-t', '-c', 'SELECT ssn FROM big WHERE id = 7']);
    return { pgbench: figures, big: { direct, gateway: governed, rssBeforeMb, rssPeakMb, maskedSample: sample.stdout.trim() } };
  } finally {
    if (gateway) await runClient(process.execPath, [GOVERN, 'stop', '--out', gateway.out]);
    bouncer?.kill();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
