import { closeSync, constants, existsSync, fsync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, GovernError } from '../base/errors.js';
import { canonical, chainHash, GENESIS } from './canonical.js';
import type { EventType } from './events.js';

export const EVENTS_FILE = 'events.jsonl';
export const MANIFEST_FILE = 'manifest.json';
/**
 * Space set aside when the session starts and given back when it ends, so that a bundle whose disk
 * filled up can still be finalized: its manifest names what was recorded and where the record stops.
 */
export const RESERVE_FILE = 'space.reserve';
const RESERVE_BYTES = 128 * 1024;

export interface RecordedEvent {
  seq: number;
  ts: string;
  prev: string;
  /** One of the catalogue's (events.ts); a bundle from another version of govern may hold others, which readers pass over. */
  type: EventType;
  hash: string;
  [field: string]: unknown;
}

export interface RecorderOptions {
  now?: () => number;
  /** How long appended events may wait before they are written (durable() writes at once). */
  flushIntervalMs?: number;
}

/** The keys every event has besides its fields, and where each stands in this list. */
const EVENT_KEYS = ['seq', 'ts', 'type', 'prev'];
const [SEQ, TS, TYPE, PREV] = [0, 1, 2, 3];
/** A key of an event in canonical order: quoted once, and which of EVENT_KEYS it is (-1 for a field). */
interface KeySlot {
  key: string;
  quoted: string;
  slot: number;
}
/** Events with keys of their own making (not one of the gateway's kinds) are ordered afresh each time. */
const MAX_KEY_ORDERS = 256;

/** Queued bytes past which the queue is written at once rather than at the next interval. */
const FLUSH_BYTES = 256 * 1024;

/**
 * Appends hash-chained events to events.jsonl. Appending is synchronous and cheap: the chain is
 * computed at once and the line queued. `write()` puts the queue in the file at once: adapters call it
 * before they forward what the events record (one write per batch of messages read together), so an
 * operation that reaches a target is in the file even if the gateway is killed. Other events (results,
 * notes) reach the file within a few milliseconds. `durable()` writes and fsyncs, and is awaited
 * before a block or an approval takes effect. After any write error the recorder refuses every further
 * event, so the gateway fails closed.
 */
export class Recorder {
  readonly dir: string;
  readonly #fd: number;
  readonly #now: () => number;
  readonly #flushIntervalMs: number;
  #seq = 0;
  /** The last event known to be in the file. */
  #writtenSeq = 0;
  #head = GENESIS;
  #queue: string[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The last timestamp made, by millisecond: many events share one under load. */
  #lastMs = -1;
  #lastTs = '';
  #failure: GovernError | undefined;
  #closed = false;
  /** Each event kind's keys in canonical order, by the keys its fields came with. */
  readonly #keyOrders = new Map<string, { names: readonly string[]; order: readonly KeySlot[] }[]>();
  #keyOrderCount = 0;

  private constructor(dir: string, fd: number, options: RecorderOptions) {
    this.dir = dir;
    this.#fd = fd;
    this.#now = options.now ?? Date.now;
    this.#flushIntervalMs = options.flushIntervalMs ?? 10;
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
    let fd: number;
    try {
      fd = openSync(join(dir, EVENTS_FILE), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND, 0o600);
    } catch (cause) {
      throw new GovernError(ErrorCode.RecordingFailed, `cannot create ${join(dir, EVENTS_FILE)}: ${(cause as Error).message}`, { cause });
    }
    try {
      writeFileSync(join(dir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES), { mode: 0o600 });
    } catch {
      // Without the reserve a full disk may keep the manifest from being written; recording still works.
      rmSync(join(dir, RESERVE_FILE), { force: true });
    }
    return new Recorder(dir, fd, options);
  }

  get failure(): GovernError | undefined {
    return this.#failure;
  }

  get head(): { count: number; hash: string } {
    return { count: this.#seq, hash: this.#head };
  }

  /**
   * Adds an event to the chain and returns its sequence number; throws when recording has failed,
   * which must refuse the operation.
   */
  append(type: EventType, fields: Readonly<Record<string, unknown>> = {}): number {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new GovernError(ErrorCode.RecordingFailed, 'the session recording is already closed');
    const seq = this.#seq + 1;
    const open = this.#canonicalOpen(seq, this.#timestamp(), type, fields);
    const hash = chainHash(this.#head, `${open}}`);
    this.#seq = seq;
    this.#head = hash;
    // The line is the canonical form with the hash added last: verify takes the hash off and recomputes.
    const line = `${open},"hash":"${hash}"}\n`;
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    if (this.#queuedBytes >= FLUSH_BYTES) this.#flush();
    // The timer is left running when the queue is written earlier: one per interval, not one per write.
    else this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#flushIntervalMs).unref();
    return seq;
  }

  /**
   * canonical({ seq, ts, type, ...fields, prev }) without its closing brace, and without making that
   * object or sorting its keys: events of one kind have the same keys, so their sorted order (with each
   * key already quoted) is kept by them.
   */
  #canonicalOpen(seq: number, ts: string, type: string, fields: Readonly<Record<string, unknown>>): string {
    const order = this.#keyOrder(type, Object.keys(fields));
    let out = '{';
    for (const { key, quoted, slot } of order) {
      let value: string;
      if (slot === SEQ) value = `${seq}`;
      else if (slot === TS) value = `"${ts}"`;
      else if (slot === TYPE) value = canonical(type);
      else if (slot === PREV) value = `"${this.#head}"`;
      else if (fields[key] === undefined) continue;
      else value = canonical(fields[key]);
      out += out.length > 1 ? `,${quoted}${value}` : `${quoted}${value}`;
    }
    return out;
  }

  /** The canonical order of an event's keys: found by comparing key names (no key string is made), sorted once per kind. */
  #keyOrder(type: string, names: readonly string[]): readonly KeySlot[] {
    let known = this.#keyOrders.get(type);
    if (known) for (const candidate of known) if (sameNames(candidate.names, names)) return candidate.order;
    const order = [...new Set([...names, ...EVENT_KEYS])].sort().map((key) => ({ key, quoted: `${JSON.stringify(key)}:`, slot: EVENT_KEYS.indexOf(key) }));
    if (this.#keyOrderCount < MAX_KEY_ORDERS) {
      if (!known) this.#keyOrders.set(type, (known = []));
      known.push({ names, order });
      this.#keyOrderCount++;
    }
    return order;
  }

  #timestamp(): string {
    const ms = this.#now();
    if (ms !== this.#lastMs) [this.#lastMs, this.#lastTs] = [ms, new Date(ms).toISOString()];
    return this.#lastTs;
  }

  /**
   * Puts every event appended so far in the file now (no fsync: the file survives the gateway being
   * killed); throws when they are not all there, so what they record is refused rather than forwarded.
   */
  write(): void {
    if (this.#writtenSeq === this.#seq) return;
    this.#flush();
    if (this.#failure) throw this.#failure;
  }

  /** Gives back the space set aside for finalizing: the manifest and the report are written next. */
  releaseReserve(): void {
    rmSync(join(this.dir, RESERVE_FILE), { force: true });
  }

  /** Resolves once every event appended so far is on disk; rejects when it cannot be. */
  async durable(): Promise<void> {
    this.#flush();
    if (this.#failure) throw this.#failure;
    await new Promise<void>((resolve, reject) =>
      fsync(this.#fd, (cause) => {
        if (!cause) return resolve();
        reject(this.#fail(cause));
      }),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.durable();
    } finally {
      this.#closed = true;
      clearTimeout(this.#timer);
      try {
        closeSync(this.#fd);
      } catch {
        // Already failed; the failure is what is reported.
      }
    }
  }

  /** Writes the queue in one go; the first failure poisons the recorder for good. */
  #flush(): void {
    if (this.#queue.length === 0 || this.#failure) return;
    const chunk = Buffer.from(this.#queue.join(''));
    this.#queue = [];
    this.#queuedBytes = 0;
    try {
      for (let written = 0; written < chunk.length; ) written += writeSync(this.#fd, chunk, written);
      this.#writtenSeq = this.#seq;
    } catch (cause) {
      this.#fail(cause);
    }
  }

  #fail(cause: unknown): GovernError {
    this.#failure ??= new GovernError(
      ErrorCode.RecordingFailed,
      `cannot write the session recording in ${this.dir}: ${(cause as Error).message}; new operations are refused`,
      { cause },
    );
    return this.#failure;
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The last whole event of an events.jsonl file's content, and how many bytes of a cut-off line follow it. */
export function recordedTail(content: Buffer): { last?: RecordedEvent; cutBytes: number } {
  const end = content.lastIndexOf(10) + 1;
  const cutBytes = content.length - end;
  if (end === 0) return { cutBytes };
  const start = content.lastIndexOf(10, end - 2) + 1;
  return { last: JSON.parse(content.toString('utf8', start, end - 1)) as RecordedEvent, cutBytes };
}
