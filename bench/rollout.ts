import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../runner-proxy/src/adapters/postgres/catalog.js';
import { ResultDiscovery } from '../runner-proxy/src/adapters/postgres/discover.js';
import { SqlParser } from '../runner-proxy/src/adapters/postgres/parser.js';
import { Discovery } from '../runner-proxy/src/masking/discovery.js';
import { parsePolicy } from '../runner-proxy/src/policy/load.js';
import { testPolicy } from '../runner-proxy/src/rollout/policy-test.js';
import { loadSessions } from '../runner-proxy/src/rollout/sessions.js';
import { suggestPolicy } from '../runner-proxy/src/rollout/suggest.js';
import { writeSyntheticBundle } from '../runner-proxy/test/fixtures/bundles.js';
import { builtInProtocols } from '../runner-proxy/src/adapters/index.js';

export interface RolloutFigures {
  operations: number;
  /** policy test of one bundle of `operations`: verifying and reading it, then re-deciding every operation, per run. */
  testMs: number[];
  /** Of that, verifying and reading the bundle alone. */
  loadMs: number[];
  changed: number;
  suggestBundles: number;
  suggestOperations: number;
  /** policy suggest over the ten bundles, verification included, per run. */
  suggestMs: number[];
  /** Observe mode's discovery over PostgreSQL result rows, against reading the same cells' lengths. */
  discovery: { rows: number; bytes: number; baselineMs: number[]; discoveryMs: number[] };
}

const RUNS = 3;
/** A stricter policy than the one recorded: it masks a column, holds writes and blocks what was allowed. */
const STRICTER = `version: 1
rules:
  - name: pii
    mask: { columns: ["orders.email"] }
  - name: reviewed-writes
    approve: { sql: [update] }
  - name: no-destruction
    block: { sql: [drop, truncate] }
`;

/** `govern policy test` of a 100,000-operation bundle, and `govern policy suggest` over ten bundles, in this process. */
export async function benchRollout(operations = 100_000, bundles = 10): Promise<RolloutFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-rollout-'));
  try {
    const big = join(dir, 'big');
    await writeSyntheticBundle(big, { operations, blocked: [operations / 2, operations - 1] });
    const many: string[] = [];
    for (let i = 0; i < bundles; i++) {
      const path = join(dir, `run-${i}`);
      await writeSyntheticBundle(path, { operations: operations / bundles, runId: String(5000 + i) });
      many.push(path);
    }
    const policy = parsePolicy('stricter.yml', Buffer.from(STRICTER), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
    const figures: RolloutFigures = { operations, testMs: [], loadMs: [], changed: 0, suggestBundles: bundles, suggestOperations: operations, suggestMs: [], discovery: benchDiscovery() };
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const parser = await SqlParser.load();
      const { sessions, skipped } = loadSessions([big]);
      figures.loadMs.push(performance.now() - started);
      const result = testPolicy(policy, sessions, skipped, parser);
      figures.testMs.push(performance.now() - started);
      figures.changed = result.operations - result.unchanged;
      const suggestStarted = performance.now();
      suggestPolicy(loadSessions(many).sessions);
      figures.suggestMs.push(performance.now() - suggestStarted);
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TEXT_OID = 25;
const COLUMNS = ['name', 'email', 'ssn', 'note', 'city'];

/** A RowDescription of COLUMNS, all text, from table OID 1 (attributes 1…). */
function rowDescription(): Buffer {
  const fields = COLUMNS.map((name, i) => {
    const tail = Buffer.alloc(18);
    tail.writeInt32BE(1, 0);
    tail.writeInt16BE(i + 1, 4);
    tail.writeInt32BE(TEXT_OID, 6);
    tail.writeInt16BE(-1, 10);
    tail.writeInt32BE(-1, 12);
    tail.writeInt16BE(0, 16);
    return Buffer.concat([Buffer.from(`${name}\0`), tail]);
  });
  const body = Buffer.concat([Buffer.from([0, COLUMNS.length]), ...fields]);
  const head = Buffer.alloc(5);
  head[0] = 0x54; // T
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A DataRow of these cells. */
function dataRow(cells: readonly string[]): Buffer {
  const parts = cells.flatMap((c) => {
    const value = Buffer.from(c);
    const length = Buffer.alloc(4);
    length.writeInt32BE(value.length);
    return [length, value];
  });
  const body = Buffer.concat([Buffer.from([0, cells.length]), ...parts]);
  const head = Buffer.alloc(5);
  head[0] = 0x44; // D
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * What observe mode's discovery costs a PostgreSQL result: 200,000 rows of five text columns (one row
 * in twenty with an email and an SSN), through ResultDiscovery as the session feeds it, against a pass
 * that only walks the same cells, which is what an unmasked result costs the gateway.
 */
function benchDiscovery(rows = 200_000): RolloutFigures['discovery'] {
  const catalog = { cached: () => ({ oid: 1, schema: 'public', name: 'customers', isView: false, columns: new Map(COLUMNS.map((c, i) => [i + 1, c])), ordered: COLUMNS }) } as unknown as Catalog;
  const frames = Array.from({ length: rows }, (_, i) =>
    dataRow(i % 20 === 0 ? [`Customer ${i}`, `c${i}@example.com`, '536-22-4711', 'called twice about order 4471', 'Lisbon'] : [`Customer ${i}`, `c${i} at example dot com`, `order ${i}`, 'no notes', 'Porto']),
  );
  const bytes = frames.reduce((n, f) => n + f.length, 0);
  const description = rowDescription();
  const figures = { rows, bytes, baselineMs: [] as number[], discoveryMs: [] as number[] };
  let cells = 0;
  for (let run = 0; run < RUNS; run++) {
    let started = performance.now();
    for (const f of frames) for (let i = 0, pos = 7; i < COLUMNS.length; i++, cells++) pos += 4 + f.readInt32BE(pos);
    figures.baselineMs.push(performance.now() - started);
    const discovery = new ResultDiscovery(new Discovery({ countsValues: true }), catalog);
    started = performance.now();
    void discovery.described(description, 'SELECT name, email, ssn, note, city FROM customers');
    for (const f of frames) discovery.row(f, 0, f.length);
    figures.discoveryMs.push(performance.now() - started);
  }
  if (cells === 0) throw new Error('no cell was read');
  return figures;
}
