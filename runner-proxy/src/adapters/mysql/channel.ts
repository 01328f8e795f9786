import type { Socket } from 'node:net';
import { framePacket, PacketReader, type Packet } from './packets.js';

/** Packets read ahead of the one asked for, before reading from the socket pauses. */
const READ_AHEAD = 256;

/**
 * One side of a MySQL connection as packets: `read` gives them in order, `send` frames and queues
 * them, `flush` writes what is queued in one write.
 */
export class PacketChannel {
  readonly socket: Socket;
  #reader: PacketReader;
  readonly #ready: Packet[] = [];
  #waiting: { resolve: (p: Packet) => void; reject: (e: Error) => void } | undefined;
  #failure: Error | undefined;
  #out: Buffer[] = [];
  readonly #what: string;

  constructor(socket: Socket, what: string, maxPacket: number, leftover?: Buffer) {
    this.socket = socket;
    this.#what = what;
    this.#reader = new PacketReader(maxPacket);
    socket.on('data', this.#onData);
    socket.once('close', () => this.#fail(new Error(`${what} closed`)));
    socket.once('error', (e) => this.#fail(e));
    if (leftover?.length) this.#onData(leftover);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#reader.push(chunk);
    try {
      for (let p = this.#reader.next(); p; p = this.#reader.next()) this.#ready.push(p);
    } catch (e) {
      return this.#fail(new Error(`${this.#what}: ${(e as Error).message}`));
    }
    if (this.#ready.length > READ_AHEAD) this.socket.pause();
    this.#deliver();
  };

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#deliver();
  }

  #deliver(): void {
    if (!this.#waiting) return;
    const next = this.#ready.shift();
    const waiting = this.#waiting;
    if (next) {
      this.#waiting = undefined;
      waiting.resolve(next);
    } else if (this.#failure) {
      this.#waiting = undefined;
      waiting.reject(this.#failure);
    }
  }

  /** The next packet; writes what is queued first, since the other side may be waiting for it. */
  read(): Promise<Packet> {
    const next = this.#ready.shift();
    if (next) {
      if (this.#ready.length < READ_AHEAD / 2 && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(next);
    }
    this.flush();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** Whether a packet is already here: the relay writes in batches while it is. */
  get hasReady(): boolean {
    return this.#ready.length > 0;
  }

  /** Queues one payload framed from `seq`; returns the next sequence id. */
  send(seq: number, payload: Buffer): number {
    const { bytes, next } = framePacket(seq, payload);
    this.#out.push(bytes);
    return next;
  }

  /** Writes what is queued; resolves when the socket can take more. */
  flush(): Promise<void> | undefined {
    if (this.#out.length === 0 || this.socket.destroyed) return undefined;
    const bytes = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out);
    this.#out = [];
    if (this.socket.write(bytes)) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('close', done);
        this.socket.off('drain', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Admits larger packets: after the handshake, whose packets are small. */
  set maxPacket(bytes: number) {
    this.#reader.maxPacket = bytes;
  }

  /** Stops reading this socket, and gives back what was read but not taken (for a TLS upgrade). */
  detach(): Buffer {
    this.socket.off('data', this.#onData);
    if (this.#ready.length) throw new Error(`${this.#what} sent data before the answer to a TLS request`);
    return this.#reader.buffered;
  }
}
