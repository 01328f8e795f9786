import type { Socket } from 'node:net';

/** How long a refused client gets to read its last message before the connection is dropped. */
const LINGER_MS = 2_000;

/** Where an error that escaped a connection's own handling goes: logged and recorded, never thrown. */
export type FaultSink = (where: string, error: unknown) => void;

/** The fault sink of a listener: a warning in the gateway's log, and a `gateway.fault` event. */
export function faultSink(governor: { fault(where: string, error: unknown): void }, log: { warn(message: string): void }): FaultSink {
  return (where, e) => {
    log.warn(`${where}: an unexpected error ended the connection: ${(e as Error)?.message ?? String(e)}`);
    governor.fault(where, e);
  };
}

/**
 * The last resort around one client connection: an error that escapes its handling (thrown or
 * rejected) ends that connection only, and is reported to `fault`, which logs and records it. Every
 * adapter accepts its connections through this, so a bug costs one connection, never the gateway.
 * Returns that same last resort, for errors that a protocol library catches and reports as events.
 */
export function guardConnection(socket: Socket, where: string, fault: FaultSink, handle: () => void | Promise<void>): (error: unknown) => void {
  // A reset can arrive at any moment, also between the handlers of one phase and the next.
  socket.on('error', () => socket.destroy());
  const escaped = (e: unknown) => {
    socket.destroy();
    fault(where, e);
  };
  guarded(escaped, handle);
  return escaped;
}

/**
 * Runs one step of a connection's handling (a request on a kept-alive connection, an event handler)
 * and gives an error it throws or rejects with to `escaped`, which ends that connection and reports it.
 * Protocol libraries (ssh2) report what their handlers throw as client errors, indistinguishable from
 * malformed bytes, so handlers let nothing reach them.
 */
export function guarded(escaped: (error: unknown) => void, handle: () => unknown): void {
  try {
    const handled = handle();
    if (handled instanceof Promise) handled.catch(escaped);
  } catch (e) {
    escaped(e);
  }
}

/**
 * Ends a connection after a last message (a refusal, a FATAL) so that the client reads the message
 * rather than a reset: the message and FIN leave, whatever the client still sends is read and
 * dropped, and the socket is closed fully once the client closes its side or LINGER_MS has passed.
 */
export function closeWithMessage(socket: Socket, message?: Buffer): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.removeAllListeners('data');
  socket.on('data', () => undefined);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
  if (message) socket.end(message);
  else socket.end();
  socket.resume();
}
