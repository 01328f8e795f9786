import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { cliArgs, startMariadb, type TestMariadb } from '../runner-proxy/test/fixtures/mariadb.js';
import { runClient } from '../runner-proxy/test/fixtures/postgres.js';
import { cpuSeconds, resetPeak, rssMb, startGateway, startRelay } from './processes.js';

/**
 * MySQL through three paths in one run against a throwaway MariaDB: straight to it, through a bare Node
 * pipe (`pipe-proxy.ts`, the floor for any proxy written in Node), and through the gateway with a masking
 * and guardrail policy, each proxy in its own process. Three workloads, interleaved by round so load from
 * elsewhere falls on every path alike: a point SELECT by primary key with mysql2's prepared `execute` at 1
 * and 8 connections; the `mariadb` CLI reading a script of distinct statements (text protocol, one
 * connection); and a large SELECT with a masked column read by the CLI, with the gateway's RSS.
 */
const SECONDS = Number(process.env.GOVERN_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.GOVERN_BENCH_ROUNDS ?? 3);
/** Statements in the CLI's script, each with literals of its own. */
const STATEMENTS = Number(process.env.GOVERN_BENCH_STATEMENTS ?? 20_000);
/** Rows of the large SELECT. */
const BIG_ROWS = Number(process.env.GOVERN_BENCH_ROWS ?? 200_000);
const WARMUP_SECONDS = 2;
/** Rows of the table the point SELECTs and UPDATEs pick from. */
const POINTS = 10_000;
export const CONNECTIONS = [1, 8] as const;

const POLICY = `version: 1
connections:
  app_db:
    mysql: { url: "\${BENCH_TARGET_URL}" }
    export: DATABASE_URL
rules:
  - name: pii
    mask: { columns: ["*.ssn"], types: [email, credit_card] }
  - name: no-destruction
    block: { sql: [drop, truncate, alter_system, grant, set_role, dangerous_function] }
  - name: reviewed-writes
    approve: { sql: [delete_without_where, update_without_where] }
`;

const SCHEMA = `
SET SESSION max_recursive_iterations = 100000000;
CREATE TABLE points (id INT PRIMARY KEY, name VARCHAR(40), ssn CHAR(11));
INSERT INTO points WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${POINTS}) SELECT n, CONCAT('name ', n), CONCAT(LPAD(n % 1000, 3, '0'), '-22-', LPAD(n % 10000, 4, '0')) FROM g;
CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, who INT, note VARCHAR(40));
CREATE TABLE big (id INT PRIMARY KEY, ssn CHAR(11), note VARCHAR(40));
INSERT INTO big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${BIG_ROWS}) SELECT n, CONCAT(LPAD(n % 1000, 3, '0'), '-22-', LPAD(n % 10000, 4, '0')), CONCAT('note ', n) FROM g;
`;

export type MysqlPathName = 'direct' | 'pipe' | 'gateway';

interface Path {
  name: MysqlPathName;
  url: string;
  /** The proxy's process, for its CPU time and memory. */
  pid?: number;
}

/** One workload on one path in one round. */
export interface MysqlRun {
  path: MysqlPathName;
  round: number;
  /** `point-1`, `point-8`: queries/s; `script`: statements/s; `big`: rows/s. */
  workload: string;
  rate: number;
  seconds: number;
  /** CPU time the proxy process used per query, statement or row, in microseconds. */
  proxyCpuUs?: number;
}

/** Runs `work` (which does `count` things) on `path`, timing it and the proxy's CPU. */
async function measure(path: Path, round: number, workload: string, work: () => Promise<number>): Promise<MysqlRun> {
  const before = path.pid ? cpuSeconds(path.pid) : 0;
  const started = performance.now();
  const count = await work();
  const seconds = (performance.now() - started) / 1000;
  return { path: path.name, round, workload, rate: count / seconds, seconds, ...(path.pid && { proxyCpuUs: ((cpuSeconds(path.pid) - before) * 1e6) / count }) };
}

/** `connections` mysql2 connections each running the prepared point SELECT back to back for `seconds`; the number run. */
async function pointSelects(url: string, connections: number, seconds: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: connections }, () => mysql.createConnection({ uri: url })));
  try {
    const until = performance.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      clients.map(async (c) => {
        while (performance.now() < until) {
          const [rows] = await c.execute('SELECT id, name FROM points WHERE id = ?', [1 + Math.floor(Math.random() * POINTS)]);
          if ((rows as unknown[]).length !== 1) throw new Error('the point SELECT found no row');
          done++;
        }
      }),
    );
    return done;
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** The CLI's script: SELECTs, INSERTs and UPDATEs by key, every one with literals no other has. */
function script(round: number, path: MysqlPathName): string {
  const lines: string[] = [];
  for (let i = 0; i < STATEMENTS; i++) {
    const id = 1 + ((i * 7919 + round) % POINTS);
    if (i % 4 === 0) lines.push(`INSERT INTO events (who, note) VALUES (${i}, '${path} ${round} ${i}');`);
    else if (i % 4 === 1) lines.push(`UPDATE points SET name = 'name ${round}.${i}' WHERE id = ${id};`);
    else lines.push(`SELECT id, name FROM points WHERE id = ${id};`);
  }
  return lines.join('\n') + '\n';
}

/** Runs the mariadb CLI on `url` with `input` or `-e sql`, failing on a non-zero status; its output. */
async function cli(url: string, options: { input?: string; sql?: string }): Promise<string> {
  const { args, env } = cliArgs(url);
  const r = await runClient('mariadb', [...args, '-B', '-N', '--quick', ...(options.sql ? ['-e', options.sql] : [])], { env, input: options.input, timeoutMs: 1_800_000 });
  if (r.status !== 0) throw new Error(`mariadb failed: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

export interface MysqlFigures {
  version: string;
  runs: MysqlRun[];
  /** Statements in the CLI's script. */
  statements: number;
  big: {
    rows: number;
    megabytes: number;
    /** The gateway's resident memory before each round's large SELECT, and its peak during it. */
    rssBeforeMb: number[];
    rssPeakMb: number[];
    maskedSample: string;
  };
}

export async function benchMysql(): Promise<MysqlFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-mysql-'));
  const target: TestMariadb = await startMariadb();
  const children: ChildProcess[] = [];
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    await target.direct(SCHEMA);
    const pipe = await startRelay('pipe', target.port);
    children.push(pipe.process);
    gateway = await startGateway(dir, 'session', POLICY, target.appUrl);
    const paths: Path[] = [
      { name: 'direct', url: target.appUrl },
      { name: 'pipe', url: target.appUrl.replace(`:${target.port}/`, `:${pipe.port}/`), pid: pipe.process.pid! },
      { name: 'gateway', url: gateway.url, pid: gateway.pid },
    ];
    // Every path once under every load before the rounds, unrecorded, so the Node processes run JIT-compiled.
    for (const connections of CONNECTIONS) for (const path of paths) await pointSelects(path.url, connections, WARMUP_SECONDS);
    const runs: MysqlRun[] = [];
    const rssBeforeMb: number[] = [];
    const rssPeakMb: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const connections of CONNECTIONS) {
        for (const path of paths) runs.push(await measure(path, round, `point-${connections}`, () => pointSelects(path.url, connections, SECONDS)));
      }
      for (const path of paths) {
        const input = script(round, path.name);
        runs.push(await measure(path, round, 'script', async () => (await cli(path.url, { input }), STATEMENTS)));
      }
      for (const path of paths) {
        if (path.name === 'gateway') rssBeforeMb.push(rssMb(gateway.pid, 'VmRSS')), resetPeak(gateway.pid);
        runs.push(await measure(path, round, 'big', async () => (await cli(path.url, { sql: 'SELECT id, ssn, note FROM big' })).split('\n').length - 1));
        if (path.name === 'gateway') rssPeakMb.push(rssMb(gateway.pid, 'VmHWM'));
      }
    }
    const [size] = await target.direct<{ bytes: string }[]>('SELECT SUM(LENGTH(id) + LENGTH(ssn) + LENGTH(note)) AS bytes FROM big');
    const maskedSample = (await cli(gateway.url, { sql: 'SELECT ssn FROM big WHERE id = 7' })).trim();
    return { version: target.version, runs, statements: STATEMENTS, big: { rows: BIG_ROWS, megabytes: Number(size!.bytes) / 1e6, rssBeforeMb, rssPeakMb, maskedSample } };
  } finally {
    if (gateway) await gateway.stop();
    for (const child of children) child.kill();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
