import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedEvent } from './recorder.js';

/** Every terminal recording in a bundle (ssh/<seq>.cast), in the order of their operations. */
export function recordedCasts(dir: string): { seq: number; file: string }[] {
  const folder = join(dir, 'ssh');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((name) => /^(\d+)\.cast$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ seq: Number(m[1]), file: join(folder, m[0]) }))
    .sort((a, b) => a.seq - b.seq);
}

/** Terminal recordings of a bundle: ssh/<seq>.cast, seq being the shell's operation event. */
export function terminalCasts(dir: string, events: readonly RecordedEvent[], connection?: string): { seq: number; file: string }[] {
  return events
    .filter((e) => e.type === 'operation' && e.protocol === 'ssh' && (!connection || e.connection === connection))
    .map((e) => ({ seq: e.seq, file: join(dir, 'ssh', `${e.seq}.cast`) }))
    .filter((c) => existsSync(c.file));
}

/**
 * Plays an asciicast v2 file's output at its recorded pace, `speed` times faster. Lines that are not
 * events (a truncated last line) are skipped rather than stopping the playback.
 */
export async function playCast(file: string, write: (text: string) => void, speed = 1): Promise<void> {
  const lines = readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean);
  const started = performance.now();
  for (const line of lines) {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(event) || typeof event[0] !== 'number' || event[1] !== 'o' || typeof event[2] !== 'string') continue;
    const due = (event[0] * 1000) / speed - (performance.now() - started);
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    write(event[2]);
  }
}
