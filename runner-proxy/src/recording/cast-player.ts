import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordedEvent } from './recorder.js';

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
