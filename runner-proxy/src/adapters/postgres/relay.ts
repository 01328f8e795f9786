/** How a PostgreSQL session relays frames between the client's socket and the target's, with backpressure. */
import type { Socket } from 'node:net';
import { FrameReader, OutputBatch, type FrameSink } from './codec/frames.js';

/**
 * One direction of the relay: frames read from one socket, the batch built from them written to the
 * other. When the other socket is full, reading from this one pauses until it drains. With `commit`
 * (the client's direction) a batch waits for its operations' events to be written: `commit` calls back
 * once they are, for every connection that read something in the same turn of the event loop at once.
 */
export class Direction {
  readonly reader: FrameReader;
  readonly out = new OutputBatch();
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #onError: (e: unknown) => void;
  readonly #commit: ((forward: (failure?: unknown) => void) => void) | undefined;
  #committing = false;

  constructor(from: Socket, to: Socket, sink: FrameSink, maxFrame: number, onError: (e: unknown) => void, commit?: (forward: (failure?: unknown) => void) => void) {
    this.#from = from;
    this.#to = to;
    this.#onError = onError;
    this.#commit = commit;
    this.reader = new FrameReader(sink, { maxFrame });
    to.on('drain', () => from.resume());
  }

  push(chunk: Buffer): void {
    this.#run(() => this.reader.push(chunk));
  }

  /** Goes on after a decision that paused reading. */
  resume(): void {
    if (!this.#from.destroyed && !this.#to.destroyed) this.#run(() => this.reader.resume());
  }

  #run(read: () => void): void {
    try {
      read();
    } catch (e) {
      return this.#onError(e);
    }
    if (this.out.empty) return;
    if (!this.#commit) return this.#flush();
    if (this.#committing) return;
    this.#committing = true;
    this.#commit(this.#committed);
  }

  readonly #committed = (failure?: unknown): void => {
    this.#committing = false;
    if (failure) return this.#onError(failure);
    if (!this.#to.destroyed) this.#flush();
  };

  #flush(): void {
    if (!this.out.flushTo(this.#to)) this.#from.pause();
  }
}
