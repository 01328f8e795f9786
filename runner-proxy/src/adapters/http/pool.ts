import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** An idle connection to the target is closed after this long. */
const IDLE_MS = 30_000;
/** Idle connections kept per target; more are closed as they come back. */
const MAX_IDLE = 256;

export interface PoolOptions {
  secure: boolean;
  hostname: string;
  port: number;
  /** The CA that signs the target's certificate; the system's when not given. */
  ca?: string;
}

/** A new connection to the target, TLS verified for https (the start-up check's and the pool's). */
export function connectTarget({ secure, hostname, port, ca }: PoolOptions): Socket {
  const socket = secure
    ? tlsConnect({ host: hostname, port, ...(ca && { ca }), ...(!isIP(hostname) && { servername: hostname }), ALPNProtocols: ['http/1.1'] })
    : netConnect({ host: hostname, port, noDelay: true });
  if (secure) socket.setNoDelay(true);
  return socket;
}

/**
 * Kept-alive raw connections to one target: the gateway writes each request's framing itself and reads
 * the answer with its own codec. Most recently used first, so a burst reuses warm connections. HTTPS
 * connections always verify the target's certificate (against `ca` when given).
 */
export class TargetPool {
  readonly #options: PoolOptions;
  readonly #idle: Socket[] = [];
  readonly #all = new Set<Socket>();
  readonly #onIdleEnd: (this: Socket) => void;

  constructor(options: PoolOptions) {
    this.#options = options;
    const idle = this.#idle;
    // Attached once per connection; a busy connection's end or error is its exchange's to handle.
    this.#onIdleEnd = function (this: Socket) {
      const at = idle.indexOf(this);
      if (at < 0) return;
      idle.splice(at, 1);
      this.destroy();
    };
  }

  /** A connection to use now: an idle one (`reused`), or a new one that can be written to at once. */
  acquire(): { socket: Socket; reused: boolean } {
    while (this.#idle.length > 0) {
      const socket = this.#idle.pop()!;
      if (!socket.destroyed && socket.readable && socket.writable) return { socket, reused: true };
      socket.destroy();
    }
    const socket = connectTarget(this.#options);
    socket.setTimeout(IDLE_MS);
    // An idle connection must see the target close it.
    socket.on('end', this.#onIdleEnd);
    socket.on('error', this.#onIdleEnd);
    // A busy connection's timeout is its exchange's to judge; an idle one is closed.
    socket.on('timeout', () => {
      if (this.#idle.includes(socket)) this.#onIdleEnd.call(socket);
    });
    this.#all.add(socket);
    socket.once('close', () => this.#all.delete(socket));
    return { socket, reused: false };
  }

  /** Opens one connection (for https the TLS handshake, the certificate verified) and closes it: the start-up check. */
  probe(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connectTarget(this.#options);
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT', syscall: 'connect' })), timeoutMs);
      socket.once(this.#options.secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Takes back a connection whose last answer was read whole and which may carry another request. */
  release(socket: Socket): void {
    if (socket.destroyed || this.#idle.length >= MAX_IDLE) return void socket.destroy();
    // Paused by the last answer's backpressure maybe: an idle connection must see the target close it.
    socket.resume();
    this.#idle.push(socket);
  }

  /** Closes every connection, idle or busy. */
  destroy(): void {
    for (const socket of this.#all) socket.destroy();
    this.#idle.length = 0;
  }
}
