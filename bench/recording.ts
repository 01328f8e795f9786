import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder } from '../runner-proxy/src/recording/recorder.js';

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

export async function benchRecording(): Promise<RecordingFigure> {
  // Alternated and repeated, so that a loaded machine weighs on both alike; the best of each counts.
  const queued: number[] = [];
  const written: number[] = [];
  for (let round = 0; round < 3; round++) {
    queued.push(await usPerEvent(false));
    written.push(await usPerEvent(true));
  }
  return { events: EVENTS, queuedUsPerEvent: Math.min(...queued), writtenUsPerEvent: Math.min(...written) };
}
