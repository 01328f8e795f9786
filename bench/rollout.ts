import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlParser } from '../runner-proxy/src/adapters/postgres/parser.js';
import { parsePolicy } from '../runner-proxy/src/policy/load.js';
import { testPolicy } from '../runner-proxy/src/rollout/policy-test.js';
import { loadSessions } from '../runner-proxy/src/rollout/sessions.js';
import { suggestPolicy } from '../runner-proxy/src/rollout/suggest.js';
import { writeSyntheticBundle } from '../runner-proxy/test/fixtures/bundles.js';

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
    const policy = parsePolicy('stricter.yml', Buffer.from(STRICTER), { env: {}, resolveVariables: false });
    const figures: RolloutFigures = { operations, testMs: [], loadMs: [], changed: 0, suggestBundles: bundles, suggestOperations: operations, suggestMs: [] };
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
