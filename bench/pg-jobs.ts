import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Target } from '../runner-proxy/test/fixtures/pg-gateway.js';
import { runClient } from '../runner-proxy/test/fixtures/postgres.js';

/**
 * What CI jobs send, on one connection, statement after statement: a seed or migration script through
 * `psql -f`, each statement its own text; a node-postgres loop of parameterised queries over a few
 * texts; and a client library's own integration suite. Each is timed by wall clock on whichever path
 * the caller gives (`postgres.ts` interleaves them by round).
 */

/** Statements in the `psql -f` script. */
export const STATEMENTS = Number(process.env.GOVERN_BENCH_STATEMENTS ?? 100_000);
/** `client.query(text, values)` calls in the node-postgres loop. */
export const QUERIES = Number(process.env.GOVERN_BENCH_QUERIES ?? 20_000);
/**
 * A node-postgres checkout (the one `scripts/pg-client-suites.sh` takes, with the test dependencies of
 * its packages/pg installed): without it, the client suite is skipped.
 */
export const SUITE_CHECKOUT = process.env.GOVERN_BENCH_PG_SUITE;
/** Rounds of the client suite, which takes minutes a run; the other workloads run GOVERN_BENCH_ROUNDS. */
export const SUITE_ROUNDS = Number(process.env.GOVERN_BENCH_SUITE_ROUNDS ?? 1);

/**
 * Writes the seed/migration script: a table of its own (`:tbl`, set per run with `-v`, so runs never
 * meet), then STATEMENTS statements, every one with its own inline literals: inserts of rows with a
 * name, an email address and numbers; updates and selects of rows already inserted. Deterministic.
 */
export function writeSeedScript(file: string): void {
  const lines = ['CREATE TABLE :tbl (id int PRIMARY KEY, name text NOT NULL, email text, qty int, price numeric(10,2), updated boolean DEFAULT false);'];
  let inserted = 0;
  for (let i = 1; lines.length <= STATEMENTS; i++) {
    const kind = i % 20;
    const row = 1 + ((i * 7919) % Math.max(inserted, 1));
    if (inserted === 0 || kind < 12) {
      inserted++;
      lines.push(`INSERT INTO :tbl (id, name, email, qty, price) VALUES (${inserted}, 'customer ${inserted}', 'customer${inserted}@example.com', ${i % 97}, ${(i % 10_000) / 100});`);
    } else if (kind < 15) lines.push(`UPDATE :tbl SET qty = qty + ${kind}, updated = true WHERE id = ${row};`);
    else if (kind < 17) lines.push(`UPDATE :tbl SET price = ${(i % 5000) / 100}, name = 'renamed ${i}' WHERE id = ${row};`);
    else if (kind < 19) lines.push(`SELECT id, name, qty FROM :tbl WHERE id = ${row};`);
    else lines.push(`SELECT count(*) FROM :tbl WHERE qty > ${i % 97} AND id < ${row};`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

/** Runs the script through `url` into a table named `table`; its wall time in seconds. */
export async function seedScript(target: Target, url: string, file: string, table: string): Promise<number> {
  const started = performance.now();
  const r = await runClient(`${target.pg.bin}/psql`, [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `tbl=${table}`, '-o', '/dev/null', '-f', file], { timeoutMs: 3_600_000 });
  if (r.status !== 0) throw new Error(`psql -f of the seed script failed: ${r.stderr.trim().split('\n').pop()}`);
  return (performance.now() - started) / 1000;
}

/** The node-postgres loop's texts, taken in turn: a read, two writes and an aggregate, each with its parameters. */
const LOOP: readonly [string, (i: number) => unknown[]][] = [
  ['SELECT aid, abalance FROM pgbench_accounts WHERE aid = $1', (i) => [1 + ((i * 7919) % 1_000_000)]],
  ['UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2', (i) => [i % 100, 1 + ((i * 104_729) % 1_000_000)]],
  ['INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, now())', (i) => [1 + (i % 100), 1 + (i % 10), 1 + (i % 1_000_000), i % 1000]],
  ['SELECT count(*) FROM pgbench_branches WHERE bid = $1 AND bbalance > $2', (i) => [1 + (i % 10), -i]],
];

/** QUERIES parameterised queries on one node-postgres connection through `url`; their wall time in seconds. */
export async function paramLoop(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = performance.now();
    for (let i = 0; i < QUERIES; i++) {
      const [text, values] = LOOP[i % LOOP.length]!;
      await client.query(text, values(i));
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}

/** The suite's test files, as `scripts/pg-client-suites.sh` finds them; undefined when there is no checkout. */
export function suiteFiles(): string[] | undefined {
  if (!SUITE_CHECKOUT) return undefined;
  const root = join(SUITE_CHECKOUT, 'packages/pg');
  if (!existsSync(join(root, 'test/integration'))) throw new Error(`GOVERN_BENCH_PG_SUITE=${SUITE_CHECKOUT} is not a node-postgres checkout (no packages/pg/test/integration)`);
  const files = readdirSync(join(root, 'test/integration'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('-tests.js'));
  return files.map((f) => join('test/integration', f)).sort();
}

/** Runs one test file of the suite against `url` as the script does (PG* settings, 60 s at most); its wall time, or undefined when it fails. */
export async function suiteFile(url: string, file: string): Promise<number | undefined> {
  const u = new URL(url);
  const env = {
    PATH: process.env.PATH,
    PGHOST: u.hostname,
    PGPORT: u.port,
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
  };
  const root = join(SUITE_CHECKOUT!, 'packages/pg');
  const started = performance.now();
  const r = await runClient(process.execPath, [file], { env, cwd: root, timeoutMs: 60_000 });
  return r.status === 0 ? (performance.now() - started) / 1000 : undefined;
}
