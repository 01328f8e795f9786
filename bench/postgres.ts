import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTarget, type Target } from '../runner-proxy/test/fixtures/pg-gateway.js';
import { freePort, runClient } from '../runner-proxy/test/fixtures/postgres.js';
import { cpuSeconds, resetPeak, rssMb, startGateway, startRelay } from './processes.js';
import { paramLoop, QUERIES, seedScript, STATEMENTS, SUITE_ROUNDS, suiteFile, suiteFiles, writeSeedScript } from './pg-jobs.js';

/**
 * pgbench -S through five paths in one run: straight to the target, through pgbouncer (session mode),
 * through a bare Node pipe (the floor for any proxy written in Node), through the gateway's framing
 * alone (`frame-pipe.ts`: its frame reader and output batch, nothing governed), and through the gateway
 * with a masking and guardrail policy, each proxy in its own process. The paths are interleaved: each round
 * runs every load on every path, so load from elsewhere on the machine falls on all of them alike.
 * In the same rounds, what CI jobs send (`pg-jobs.ts`): a `psql -f` seed script of distinct statements
 * and a node-postgres loop of parameterised queries on every path, then node-postgres's own integration
 * suite direct and through a rule-less gateway. Then a 1,000,000-row SELECT with a masked column, direct
 * and through the gateway, with its RSS; the gateways' peak RSS is kept phase by phase throughout.
 */
const SECONDS = Number(process.env.GOVERN_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.GOVERN_BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;
/**
 * When set, the gateway is profiled (`cpu-profile.ts`) and leaves its profile in this directory; only
 * the gateway runs, under the 8-client loads, so the profile holds nothing else.
 */
const PROFILE_DIR = process.env.GOVERN_BENCH_PROFILE;
const BIG_ROWS = 1_000_000;
/** Distinct statement texts sent through the gateway before its memory is read. */
const DISTINCT = Number(process.env.GOVERN_BENCH_DISTINCT ?? 1_000_000);
/** Each transaction one statement no other has: a random number in a column alias gives a new shape too. */
const DISTINCT_SCRIPT = '\\set n random(1, 1000000000000)\nSELECT :n AS c:n;\n';

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

/** The client suite's gateway: nothing refused, held or masked, as `scripts/pg-client-suites.sh` runs it. */
const RULELESS_POLICY = `version: 1
connections:
  app_db:
    postgres: { url: "\${BENCH_TARGET_URL}" }
    export: DATABASE_URL
rules: []
`;

interface Path {
  name: PathName;
  url: string;
  /** The proxy's process, for its CPU time and peak memory. */
  pid?: number;
}

export type PathName = 'direct' | 'pgbouncer' | 'pipe' | 'framed' | 'gateway' | 'gateway-plain';
/** Every path, in the order they run and are printed. */
export const PATH_NAMES: readonly PathName[] = ['direct', 'pgbouncer', 'pipe', 'framed', 'gateway', 'gateway-plain'];
export type Mode = 'simple' | 'extended';

/** One pgbench setting, run on every path in each round. */
export interface Load {
  clients: number;
  mode: Mode;
}

export const LOADS: readonly Load[] = [
  { clients: 8, mode: 'simple' },
  { clients: 8, mode: 'extended' },
  { clients: 1, mode: 'simple' },
];

/** One pgbench run. */
export interface PgbenchRun {
  path: PathName;
  load: Load;
  round: number;
  tps: number;
  latencyMs: number;
  /** CPU time the proxy process used per transaction, in microseconds. */
  proxyCpuUsPerTx?: number;
}

async function pgbench(target: Target, path: Path, load: Load, round: number, seconds = SECONDS): Promise<PgbenchRun> {
  const before = path.pid ? cpuSeconds(path.pid) : 0;
  const args = ['-n', '-S', '-M', load.mode, '-c', String(load.clients), '-j', String(Math.min(load.clients, 2)), '-T', String(seconds), path.url];
  const r = await runClient(`${target.pg.bin}/pgbench`, args);
  if (r.status !== 0) throw new Error(`pgbench through ${path.name} failed: ${r.stderr.trim().split('\n').pop()}`);
  const transactions = Number(/actually processed: (\d+)/.exec(r.stdout)?.[1]);
  return {
    path: path.name,
    load,
    round,
    tps: Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1]),
    latencyMs: Number(/latency average = ([\d.]+)/.exec(r.stdout)?.[1]),
    ...(path.pid && { proxyCpuUsPerTx: ((cpuSeconds(path.pid) - before) * 1000 * 1000) / transactions }),
  };
}

/** A relay of the bench's own; the framed one relays the startup message unread, so its clients ask for no TLS or GSS encryption first. */
async function startPgRelay(target: Target, name: 'pipe' | 'framed'): Promise<{ path: Path; process: ChildProcess }> {
  const relay = await startRelay(name, target.pg.port);
  const url = target.appUrl.replace(`:${target.pg.port}/`, `:${relay.port}/`) + (name === 'framed' ? '?sslmode=disable&gssencmode=disable' : '');
  return { path: { name, url, pid: relay.process.pid! }, process: relay.process };
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

/** A gateway under `yaml` (its own process), as a path, and how to stop it. */
async function startPgGateway(target: Target, dir: string, name: string, yaml: string): Promise<Path & { stop(): Promise<void> }> {
  const gateway = await startGateway(dir, name, yaml, target.appUrl, PROFILE_DIR);
  return { name: 'gateway', ...gateway };
}

/** Sends DISTINCT statements, each with a text (and shape) of its own, through the gateway. */
async function distinctStatements(target: Target, url: string, dir: string): Promise<number> {
  const script = join(dir, 'distinct.sql');
  writeFileSync(script, DISTINCT_SCRIPT);
  const clients = 8;
  const started = performance.now();
  const r = await runClient(`${target.pg.bin}/pgbench`, ['-n', '-M', 'simple', '-f', script, '-c', String(clients), '-j', '2', '-t', String(Math.ceil(DISTINCT / clients)), url], { timeoutMs: 3_600_000 });
  if (r.status !== 0) throw new Error(`pgbench with distinct statements failed: ${r.stderr.trim().split('\n').pop()}`);
  return (performance.now() - started) / 1000;
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
  /** Every run, round by round: within a round each path ran once under each load, one after another. */
  pgbench: PgbenchRun[];
  /** The job workloads' runs, interleaved the same way (absent with `pgbench` only). */
  jobs: JobRun[];
  /** The client suite, or why it did not run. */
  suite: SuiteFigures | { skipped: string };
  /** Absent when profiling or without pgbench. */
  big?: {
    direct: { seconds: number; megabytes: number };
    gateway: { seconds: number; megabytes: number };
    /** The gateway's resident memory before the SELECT (after pgbench) and its peak during it. */
    rssBeforeMb: number;
    rssPeakMb: number;
    maskedSample: string;
  };
  /** The gateway's resident memory after the pgbench rounds, and after the distinct statements (absent when profiling or without pgbench). */
  memory?: { afterPgbenchMb: number; distinct: number; distinctSeconds: number; afterDistinctMb: number };
  /** The gateways' peak resident memory over each phase (the kernel's high-water mark, reset between phases), in MB. */
  peaks: { phase: string; gatewayMb: number; suiteGatewayMb?: number }[];
}

/** One timed run of a job workload on one path. */
export interface JobRun {
  workload: 'seed' | 'loop';
  path: PathName;
  round: number;
  seconds: number;
  statements: number;
}

export interface SuiteFigures {
  /** Test files found; those that failed direct, and those that passed direct but failed through the gateway, in round 1. */
  files: number;
  /** Test files that passed both ways in round 1, timed in every round. */
  timed: number;
  failDirect: string[];
  failGateway: string[];
  /** Per round, the summed wall time of the files that passed both ways in round 1, direct and through the gateway. */
  rounds: { direct: number; gateway: number }[];
}

/**
 * `parts.pgbench`: pgbench -S on every path, the distinct statements and the 1M-row SELECT;
 * `parts.jobs`: the job workloads (`pg-jobs.ts`) on every path and the client suite direct and through a
 * rule-less gateway. Both run in the same rounds.
 */
export async function benchPostgres(parts: { pgbench: boolean; jobs: boolean }): Promise<PostgresFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-'));
  const target = await startTarget();
  const children: ChildProcess[] = [];
  const gateways: (Path & { stop(): Promise<void> })[] = [];
  try {
    const init = await runClient(`${target.pg.bin}/pgbench`, ['-i', '-s', '10', '-q', target.appUrl]);
    if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
    if (parts.pgbench) await target.direct(`CREATE TABLE big AS SELECT g AS id, lpad((g % 1000)::text, 3, '0') || '-22-' || lpad((g % 10000)::text, 4, '0') AS ssn, 'note ' || g AS note FROM generate_series(1, ${BIG_ROWS}) g`);
    const bouncer = await startPgbouncer(target, dir);
    const pipe = await startPgRelay(target, 'pipe');
    const framed = await startPgRelay(target, 'framed');
    children.push(bouncer.process, pipe.process, framed.process);
    const gateway = await startPgGateway(target, dir, 'session', POLICY);
    gateways.push(gateway);
    const files = parts.jobs && !PROFILE_DIR ? suiteFiles() : undefined;
    let suiteGateway: (Path & { stop(): Promise<void> }) | undefined;
    if (files) {
      // As `runner-proxy/test/client-suites/gateway.ts` sets up for `scripts/pg-client-suites.sh`.
      await target.pg.sql('ALTER ROLE app CREATEDB');
      suiteGateway = await startPgGateway(target, dir, 'suite-session', RULELESS_POLICY);
      gateways.push(suiteGateway);
    }
    const peaks: PostgresFigures['peaks'] = [];
    /** Runs a phase with the gateways' peaks reset before it and read after it. */
    const phase = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      for (const g of gateways) resetPeak(g.pid!);
      const result = await run();
      peaks.push({ phase: name, gatewayMb: rssMb(gateway.pid!, 'VmHWM'), ...(suiteGateway && { suiteGatewayMb: rssMb(suiteGateway.pid!, 'VmHWM') }) });
      return result;
    };
    // libpq's clients ask the gateway for TLS (sslmode=prefer), which it offers with the run's CA, while
    // the throwaway target offers none: the same gateway asked for no TLS is the like-for-like path.
    const plain: Path = { name: 'gateway-plain', url: `${gateway.url}?sslmode=disable`, pid: gateway.pid };
    const paths: Path[] = PROFILE_DIR ? [gateway] : [{ name: 'direct', url: target.appUrl }, bouncer.path, pipe.path, framed.path, gateway, plain];
    const loads = !parts.pgbench ? [] : PROFILE_DIR ? LOADS.filter((l) => l.clients === 8) : LOADS;
    const script = join(dir, 'seed.sql');
    if (parts.jobs) writeSeedScript(script);
    // Every path once under every load before the rounds, unrecorded: the Node processes reach their
    // JIT-compiled speed, and the gateway its caches, only after some thousands of statements.
    await phase('pgbench warm-up', async () => {
      for (const load of loads) for (const path of paths) await pgbench(target, path, load, 0, WARMUP_SECONDS);
    });
    const runs: PgbenchRun[] = [];
    const jobs: JobRun[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await phase(`round ${round}`, async () => {
        for (const load of loads) for (const path of paths) runs.push(await pgbench(target, path, load, round));
        if (!parts.jobs) return;
        for (const path of paths) jobs.push({ workload: 'seed', path: path.name, round, statements: STATEMENTS, seconds: await seedScript(target, path.url, script, `seed_${path.name.replace('-', '_')}_${round}`) });
        for (const path of paths) jobs.push({ workload: 'loop', path: path.name, round, statements: QUERIES, seconds: await paramLoop(path.url) });
      });
    }
    const suite = !parts.jobs || PROFILE_DIR
      ? { skipped: 'not asked for' }
      : !files
        ? { skipped: 'GOVERN_BENCH_PG_SUITE is not set to a node-postgres checkout (the one scripts/pg-client-suites.sh takes)' }
        : await phase('client suite', () => clientSuite(target, suiteGateway!, files));
    if (PROFILE_DIR || !parts.pgbench) return { pgbench: runs, jobs, suite, peaks };
    const afterPgbenchMb = rssMb(gateway.pid!, 'VmRSS');
    const distinctSeconds = await phase('distinct statements', () => distinctStatements(target, gateway.url, dir));
    const memory = { afterPgbenchMb, distinct: DISTINCT, distinctSeconds, afterDistinctMb: rssMb(gateway.pid!, 'VmRSS') };
    const direct = await bigSelect(target, target.appUrl);
    const rssBeforeMb = rssMb(gateway.pid!, 'VmRSS');
    const governed = await phase('1M-row SELECT', () => bigSelect(target, gateway.url));
    const rssPeakMb = peaks.at(-1)!.gatewayMb;
    const sample = await runClient(`${target.pg.bin}/psql`, [gateway.url, '-X', '-A', '-t', '-c', 'SELECT ssn FROM big WHERE id = 7']);
    return { pgbench: runs, jobs, suite, peaks, memory, big: { direct, gateway: governed, rssBeforeMb, rssPeakMb, maskedSample: sample.stdout.trim() } };
  } finally {
    for (const g of gateways) await g.stop();
    for (const child of children) child.kill();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The client suite direct and through the rule-less gateway, file by file as `scripts/pg-client-suites.sh`
 * runs it: round 1 runs every file both ways, and the files that pass both ways are timed in every round.
 */
async function clientSuite(target: Target, gateway: Path, files: string[]): Promise<SuiteFigures> {
  const failDirect: string[] = [];
  const failGateway: string[] = [];
  const compared: string[] = [];
  const rounds: SuiteFigures['rounds'] = [];
  for (let round = 1; round <= SUITE_ROUNDS; round++) {
    const sums = { direct: 0, gateway: 0 };
    for (const file of round === 1 ? files : compared) {
      const direct = await suiteFile(target.appUrl, file);
      // A file that fails in a later round is left out of that round on both sides, and listed once.
      if (direct === undefined) {
        if (!failDirect.includes(file)) failDirect.push(file);
        continue;
      }
      const governed = await suiteFile(gateway.url, file);
      if (governed === undefined) {
        if (!failGateway.includes(file)) failGateway.push(file);
        continue;
      }
      if (round === 1) compared.push(file);
      sums.direct += direct;
      sums.gateway += governed;
    }
    rounds.push(sums);
  }
  return { files: files.length, timed: compared.length, failDirect, failGateway, rounds };
}
