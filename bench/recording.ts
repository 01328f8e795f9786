import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInAdapters, builtInProtocols } from '../runner-proxy/src/adapters/index.js';
import { Gateway } from '../runner-proxy/src/gateway/gateway.js';
import { NO_IDENTITY } from '../runner-proxy/src/identity/principal.js';
import { parsePolicy } from '../runner-proxy/src/policy/load.js';
import { EVENTS_FILE, Recorder } from '../runner-proxy/src/recording/recorder.js';

/**
 * The price of writing an operation's event before it is forwarded. The same operation events (the
 * size of a pgbench -S statement's) are appended twice: queued and written in bulk, as results are,
 * and written at once after each append, as a batch of one statement is before it goes to the target
 * (the worst case: a batch of several statements shares one write).
 */
export interface RecordingFigure {
  events: number;
  queuedUsPerEvent: number;
  writtenUsPerEvent: number;
  /** A statement's whole record through the governor: its decision and event, its result, a share of a group commit. */
  statements: number;
  usPerStatement: number;
  bytesPerStatement: number;
}

const EVENTS = 50_000;
const OPERATION = {
  connection: 'app_db',
  protocol: 'postgres',
  text: 'SELECT abalance FROM pgbench_accounts WHERE aid = 48213;',
  classes: ['read'],
  verdict: 'allow',
  masks: ['pii'],
};

async function usPerEvent(writeEach: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-recording-'));
  try {
    const recorder = await Recorder.create(join(dir, 'session'));
    const started = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      recorder.append('operation', OPERATION);
      if (writeEach) recorder.write();
    }
    recorder.write();
    const us = ((performance.now() - started) * 1000) / EVENTS;
    await recorder.close();
    return us;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const STATEMENTS = 100_000;
const POLICY = 'version: 1\nrules:\n  - name: pii\n    mask: { types: [email, credit_card] }\n  - name: no-drop\n    block: { sql: [drop] }\n';

/**
 * pgbench -S statements, each a new text of one shape, through the governor as the PostgreSQL adapter
 * hands them over: decided (its event appended), its result reported, and the events written once for
 * every four statements (a group commit of a turn with four sessions). Returns µs and bytes per statement.
 */
async function perStatement(): Promise<{ us: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-statements-'));
  const policy = parsePolicy('bench.yml', Buffer.from(POLICY), { env: {}, resolveVariables: true, protocols: builtInProtocols() });
  const gateway = await Gateway.start({ policy, principal: NO_IDENTITY, outDir: join(dir, 'session'), adapters: builtInAdapters(), log: { info: () => undefined, warn: () => undefined } });
  try {
    const { governor } = gateway;
    const classes = new Set(['read']);
    const run = (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        const ruling = governor.decide({ connection: 'app_db', protocol: 'postgres', text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${i};`, classes, writes: false });
        if (ruling instanceof Promise) throw new Error('the bench policy held a read');
        governor.completed(ruling, { rows: 1, tag: 'SELECT 1', bytes: 13, maskedValues: 0, durationMs: 0.05 + (i % 1000) / 1e4 });
        if (i % 4 === 3) governor.commit();
      }
      governor.commit();
    };
    run(0, STATEMENTS / 10);
    const before = statSync(join(gateway.outDir, EVENTS_FILE)).size;
    const started = performance.now();
    run(STATEMENTS / 10, STATEMENTS);
    const us = ((performance.now() - started) * 1000) / STATEMENTS;
    const bytes = (statSync(join(gateway.outDir, EVENTS_FILE)).size - before) / STATEMENTS;
    return { us, bytes };
  } finally {
    await gateway.stop('bench');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRecording(): Promise<RecordingFigure> {
  // Alternated and repeated, so that a loaded machine weighs on both alike; the best of each counts.
  const queued: number[] = [];
  const written: number[] = [];
  const statements: { us: number; bytes: number }[] = [];
  for (let round = 0; round < 3; round++) {
    queued.push(await usPerEvent(false));
    written.push(await usPerEvent(true));
    statements.push(await perStatement());
  }
  const best = statements.reduce((a, b) => (b.us < a.us ? b : a));
  return {
    events: EVENTS,
    queuedUsPerEvent: Math.min(...queued),
    writtenUsPerEvent: Math.min(...written),
    statements: STATEMENTS,
    usPerStatement: best.us,
    bytesPerStatement: best.bytes,
  };
}
