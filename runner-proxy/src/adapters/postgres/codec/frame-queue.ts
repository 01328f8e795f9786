import type { Socket } from 'node:net';
import { FrameReader } from './frames.js';

export interface QueuedFrame {
  code: number;
  frame: Buffer;
}

/**
 * Frames from a socket, awaited one at a time: for the short exchanges of startup and authentication,
 * before a connection switches to streaming. `detach()` hands back what arrived beyond them.
 */
export class FrameQueue {
  readonly #socket: Socket;
  readonly #queue: QueuedFrame[] = [];
  #waiter: ((m: QueuedFrame | Error) => void) | undefined;
  #failure: Error | undefined;
  readonly #reader: FrameReader;
  readonly #onData = (chunk: Buffer) => {
    try {
      this.#reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
    }
  };
  readonly #onError: (e: Error) => void;
  readonly #onClose: () => void;

  constructor(socket: Socket, describe: string, initial?: Buffer) {
    this.#socket = socket;
    this.#reader = new FrameReader(
      {
        frame: (code, frame) => {
          this.#deliver({ code, frame: Buffer.from(frame) });
          return true;
        },
        mayStream: () => false,
        streamed: () => undefined,
      },
      { maxFrame: 1 << 20 },
    );
    this.#onError = (e) => this.fail(new Error(`${describe} failed: ${e.message}`));
    this.#onClose = () => this.fail(new Error(`${describe} closed`));
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    if (initial?.length) this.#onData(initial);
    socket.resume();
  }

  fail(e: Error): void {
    this.#failure ??= e;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(e);
  }

  #deliver(m: QueuedFrame): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter(m);
    } else {
      this.#queue.push(m);
    }
  }

  next(): Promise<QueuedFrame> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => (this.#waiter = (m) => (m instanceof Error ? reject(m) : resolve(m))));
  }

  /** Stops listening and pauses the socket; returns the frames that arrived but were not taken. */
  detach(): Buffer | undefined {
    this.#socket.off('data', this.#onData);
    this.#socket.off('error', this.#onError);
    this.#socket.off('close', this.#onClose);
    this.#socket.pause();
    const rest = this.#queue.splice(0).map((m) => m.frame);
    return rest.length ? Buffer.concat(rest) : undefined;
  }
}
