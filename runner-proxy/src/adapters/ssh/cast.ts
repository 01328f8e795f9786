import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Where terminal recordings go inside the bundle: ssh/<seq>.cast, seq being the shell's operation. */
export const CAST_DIR = 'ssh';

/**
 * A terminal's output as an asciicast v2 file (docs.asciinema.org/manual/asciicast/v2): a header line,
 * then `[seconds, "o", text]` and `[seconds, "r", "COLSxROWS"]` events. It is written from the masked
 * stream, so it holds what the job saw.
 */
export class CastRecorder {
  readonly #file: WriteStream;
  readonly #decoder = new StringDecoder('utf8');
  readonly #started = performance.now();
  readonly closed: Promise<void>;

  constructor(bundleDir: string, seq: number, size: { cols: number; rows: number; term?: string }) {
    mkdirSync(join(bundleDir, CAST_DIR), { recursive: true, mode: 0o700 });
    this.#file = createWriteStream(join(bundleDir, CAST_DIR, `${seq}.cast`), { mode: 0o600 });
    this.closed = new Promise((resolve) => {
      this.#file.once('close', () => resolve());
      this.#file.once('error', () => resolve());
    });
    const header = { version: 2, width: size.cols, height: size.rows, timestamp: Math.floor(Date.now() / 1000), env: { TERM: size.term ?? 'xterm' } };
    this.#file.write(`${JSON.stringify(header)}\n`);
  }

  output(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    if (text) this.#event('o', text);
  }

  resize(cols: number, rows: number): void {
    this.#event('r', `${cols}x${rows}`);
  }

  close(): void {
    const rest = this.#decoder.end();
    if (rest) this.#event('o', rest);
    this.#file.end();
  }

  #event(code: string, data: string): void {
    if (this.#file.writableEnded) return;
    const t = Math.round(performance.now() - this.#started) / 1000;
    this.#file.write(`${JSON.stringify([t, code, data])}\n`);
  }
}
