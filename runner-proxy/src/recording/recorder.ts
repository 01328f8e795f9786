import { constants, existsSync, mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, GovernError } from '../core/errors.js';
import { chainHash, GENESIS } from './canonical.js';

export const EVENTS_FILE = 'events.jsonl';
export const MANIFEST_FILE = 'manifest.json';

export interface RecordedEvent {
  seq: number;
  ts: string;
  prev: string;
  type: string;
  hash: string;
  [field: string]: unknown;
}

export interface RecorderOptions {
  now?: () => number;
}

/**
 * Appends hash-chained events to events.jsonl. Appending is synchronous and cheap (the chain is computed
 * at once, the line queued); lines reach the file in batches. `durable()` flushes and fsyncs, and is
 * awaited before a block or an approval takes effect. After any write error the recorder refuses every
 * further event, so the gateway fails closed.
 */
export class Recorder {
  readonly dir: string;
  readonly #file: FileHandle;
  readonly #now: () => number;
  #seq = 0;
  #head = GENESIS;
  #queue: string[] = [];
  #writing: Promise<void> = Promise.resolve();
  #flushScheduled = false;
  #failure: GovernError | undefined;
  #closed = false;

  private constructor(dir: string, file: FileHandle, now: () => number) {
    this.dir = dir;
    this.#file = file;
    this.#now = now;
  }

  /** Creates the bundle directory; refuses one that already holds a session, so no evidence is overwritten. */
  static async create(dir: string, options: RecorderOptions = {}): Promise<Recorder> {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new GovernError(ErrorCode.RecordingFailed, `cannot create the session directory ${dir}: ${(cause as Error).message}`, { cause });
    }
    if (existsSync(join(dir, EVENTS_FILE)) || existsSync(join(dir, MANIFEST_FILE))) {
      throw new GovernError(ErrorCode.RecordingFailed, `${dir} already holds a recorded session; move it away or choose another --out`);
    }
    let file: FileHandle;
    try {
      file = await open(join(dir, EVENTS_FILE), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o600);
    } catch (cause) {
      throw new GovernError(ErrorCode.RecordingFailed, `cannot create ${join(dir, EVENTS_FILE)}: ${(cause as Error).message}`, { cause });
    }
    return new Recorder(dir, file, options.now ?? Date.now);
  }

  get failure(): GovernError | undefined {
    return this.#failure;
  }

  get head(): { count: number; hash: string } {
    return { count: this.#seq, hash: this.#head };
  }

  /** Adds an event to the chain; throws when recording has failed, which must refuse the operation. */
  append(type: string, fields: Readonly<Record<string, unknown>> = {}): RecordedEvent {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new GovernError(ErrorCode.RecordingFailed, 'the session recording is already closed');
    const body = { seq: this.#seq + 1, ts: new Date(this.#now()).toISOString(), type, ...fields, prev: this.#head };
    const hash = chainHash(this.#head, body);
    this.#seq = body.seq;
    this.#head = hash;
    const event = { ...body, hash } as RecordedEvent;
    this.#queue.push(`${JSON.stringify(event)}\n`);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => void this.#flush().catch(() => undefined));
    }
    return event;
  }

  /** Resolves once every event appended so far is on disk; rejects when it cannot be. */
  async durable(): Promise<void> {
    await this.#flush();
    await this.#serially(() => this.#file.sync());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.durable();
    } finally {
      this.#closed = true;
      await this.#file.close().catch(() => undefined);
    }
  }

  #flush(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#queue.length === 0) return this.#serially(async () => undefined);
    const chunk = this.#queue.join('');
    this.#queue = [];
    return this.#serially(async () => {
      await this.#file.appendFile(chunk);
    });
  }

  /** Runs file operations one after another; the first failure poisons the recorder for good. */
  #serially(step: () => Promise<unknown>): Promise<void> {
    const run = this.#writing.then(async () => {
      if (this.#failure) throw this.#failure;
      try {
        await step();
      } catch (cause) {
        this.#failure = new GovernError(
          ErrorCode.RecordingFailed,
          `cannot write the session recording in ${this.dir}: ${(cause as Error).message}; new operations are refused`,
          { cause },
        );
        throw this.#failure;
      }
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }
}
