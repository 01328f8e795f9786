/**
 * The job connections of a listener, each served on a raw socket with the gateway's own codec
 * (`codec.ts`). Requests on a connection are handled one after another (pipelined ones wait, read),
 * each as an `Exchange`; writes are batched (cork/uncork) so that a head and the body that came with it
 * leave in one write.
 */
import type { Server, Socket } from 'node:net';
import { guardConnection } from '../guard.js';
import { MESSAGE_END, MessageReader, type Head } from './codec.js';
import { Exchange } from './exchange.js';
import type { ListenerState } from './listener-state.js';
import { refuseMalformed } from './refusal.js';
import type { SecretPath } from './secret-path.js';
import { handleUpgrade } from './websocket.js';

/** An idle job connection is closed after this long. */
const KEEP_ALIVE_MS = 60_000;
/**
 * Where a request goes when it is not to the connection's own target (the forward proxy): its target's
 * state, or undefined when the route answered the request itself or took the socket over.
 */
export type RequestRoute = (head: Head, connection: JobConnection) => ListenerState | undefined;

/** The job connections of one listener, so that closing it can end idle ones at once and the rest later. */
export class JobConnections {
  readonly #open = new Set<JobConnection>();
  /** The reverse listener's: every request target must start with it. */
  readonly #secretPath: SecretPath | undefined;

  constructor(secretPath?: SecretPath) {
    this.#secretPath = secretPath;
  }

  serve(socket: Socket, state: ListenerState, route?: RequestRoute): void {
    const connection = new JobConnection(socket, state, route, this.#secretPath);
    this.#open.add(connection);
    socket.once('close', () => this.#open.delete(connection));
    connection.escaped = guardConnection(socket, `${state.name} connection`, state.fault, () => connection.start());
  }

  /** Closes the listener: idle connections at once, the others once they finish or the deadline passes. */
  async close(server: Server, deadlineMs: number): Promise<void> {
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const c of this.#open) c.closeIfIdle();
    const timer = setTimeout(() => {
      for (const c of this.#open) c.socket.destroy();
    }, deadlineMs);
    await closed;
    clearTimeout(timer);
  }
}

export class JobConnection {
  readonly socket: Socket;
  /** The connection's own target, or the forward proxy's where no target is known yet. */
  readonly state: ListenerState;
  readonly #route: RequestRoute | undefined;
  /** The reverse listener's secret segment, which requests must start with and the target never sees. */
  readonly secretPath: SecretPath | undefined;
  /** Where the path the target gets starts in a request target: after the secret segment. */
  readonly pathStart: number;
  readonly reader = new MessageReader('request');
  exchange: Exchange | undefined;
  /** The connection's last resort: an error that escaped ends it and is reported as a fault. */
  escaped: (e: unknown) => void = () => undefined;
  /** The job closed its side: no request follows the one in progress. */
  #peerEnded = false;
  /** The gateway ends this connection: nothing more is read from it. */
  #ending = false;

  constructor(socket: Socket, state: ListenerState, route?: RequestRoute, secretPath?: SecretPath) {
    this.socket = socket;
    this.state = state;
    this.#route = route;
    this.secretPath = secretPath;
    this.pathStart = secretPath ? secretPath.segment.length : 0;
  }

  start(): void {
    const socket = this.socket;
    socket.setNoDelay(true);
    socket.setTimeout(KEEP_ALIVE_MS);
    socket.on('timeout', () => this.closeIfIdle());
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('end', () => {
      this.#peerEnded = true;
      this.reader.end();
      this.#guarded(() => this.drain());
      if (!this.exchange) socket.end();
    });
    socket.on('drain', () => this.exchange?.jobDrained());
    socket.on('close', () => this.exchange?.jobLeft());
  }

  closeIfIdle(): void {
    if (!this.exchange) this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.reader.push(chunk);
    const target = this.exchange?.target;
    target?.cork();
    this.#guarded(() => this.drain());
    target?.uncork();
    // Bytes past the request in progress (pipelined requests) wait in the reader, not more of them.
    if (this.exchange && !this.exchange.reading) this.socket.pause();
  }

  #guarded(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.escaped(e);
    }
  }

  /** Hands what the reader has to the request in progress, or starts the next request. */
  drain(): void {
    const reader = this.reader;
    for (;;) {
      const exchange = this.exchange;
      if (exchange && !exchange.reading) return;
      if (this.#ending || this.socket.destroyed) return;
      const event = reader.next();
      if (event === undefined) break;
      if (exchange) exchange.body(event as Buffer | typeof MESSAGE_END);
      else this.#begin(event as Head);
    }
    if (reader.error === undefined) return;
    if (this.exchange) this.exchange.malformed(reader.error);
    else this.refuseMalformed(reader.error);
  }

  /** Answers 400 to a malformed request and ends the connection. */
  refuseMalformed(problem: string): void {
    this.#ending = true;
    refuseMalformed(this.socket, this.state, problem);
  }

  #begin(head: Head): void {
    // Nothing of a request whose body is already known to be malformed reaches the target.
    if (this.reader.failsInMessage()) return this.refuseMalformed(this.reader.error!);
    if (this.secretPath && !this.secretPath.admits(head.url)) return this.#refuseWithoutSecret();
    const state = this.#route ? this.#route(head, this) : this.state;
    if (!state) return;
    if (head.upgrade) return handleUpgrade(head, this.socket, this.detach(), state, this.secretPath);
    this.exchange = new Exchange(this, head, state);
    this.exchange.start();
  }

  /** Hands the socket over (an upgrade, a CONNECT), paused, with the bytes already read past the head. */
  detach(): Buffer {
    this.#ending = true;
    const socket = this.socket;
    for (const event of ['data', 'end', 'drain', 'timeout']) socket.removeAllListeners(event);
    socket.setTimeout(0);
    socket.pause();
    return this.reader.detach();
  }

  /** A request without the job's secret segment, maybe from another process on the runner: refused, and its path not recorded. */
  #refuseWithoutSecret(): void {
    this.state.governor.note('auth.failed', { connection: this.state.name, message: "a request without the job's secret path segment was refused" });
    this.refuse(this.secretPath!.refusal);
  }

  /** An answer the connection's route gives itself, after which the connection ends. */
  refuse(text: string): void {
    this.#ending = true;
    this.socket.end(text);
  }

  /** The exchange is over: the next request is read, or the connection ends. */
  done(keepAlive: boolean): void {
    this.exchange = undefined;
    if (!keepAlive || this.#peerEnded) {
      this.#ending = true;
      return void this.socket.end();
    }
    this.socket.resume();
    this.drain();
  }
}
