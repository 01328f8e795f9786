import type { Socket } from 'node:net';
import { TLSSocket, type TLSSocketOptions } from 'node:tls';
import { CANCEL_REQUEST, GSSENC_REQUEST, readStartup, SSL_REQUEST, type StartupMessage } from './codec/messages.js';

/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH: the packet's length after its length word. */
const MAX_STARTUP_BODY = 10_000;

/** A startup refused with a FATAL, as PostgreSQL refuses it. */
export class StartupRefused extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a connection's untyped first packets asked for. */
export type StartupPacket =
  /** `socket` is the client's, or the TLS socket over it once encryption was agreed. */
  | { kind: 'startup'; socket: Socket; startup: StartupMessage; rest: Buffer }
  | { kind: 'cancel'; cancel: { pid: number; secret: Buffer } }
  /**
   * Ended before a startup, in a way PostgreSQL answers by closing without a word: no data, a partial
   * or impossible length (a Terminate sent before any startup reads as one), a failed TLS handshake.
   */
  | { kind: 'gone' };

/**
 * Reads the untyped packets a connection opens with, as PostgreSQL's ProcessStartupPacket does: an
 * SSLRequest is answered `S` (and TLS begins) when `tls` is given, else `N`; a GSSENCRequest `N`; each
 * at most once, in either order. A startup or a cancel is returned.
 */
export async function readStartupPacket(socket: Socket, tls: TLSSocketOptions | undefined): Promise<StartupPacket> {
  const reader = new PacketReader(socket);
  let sslDone = false;
  let gssDone = false;
  for (;;) {
    const packet = await reader.next();
    if (!packet) return { kind: 'gone' };
    // PostgreSQL's own cancel key is 4 bytes; any other length it drops without a word.
    if (packet.body.readInt32BE(0) === CANCEL_REQUEST && packet.body.length !== 12) return { kind: 'gone' };
    const request = readLayout(packet.body);
    if ((request.code === SSL_REQUEST && !sslDone) || (request.code === GSSENC_REQUEST && !gssDone)) {
      const encrypt = request.code === SSL_REQUEST && tls !== undefined;
      reader.socket.write(encrypt ? 'S' : 'N');
      // Bytes sent before the answer were not encrypted: they could only be injected.
      if (packet.rest.length) throw new StartupRefused('08P01', `received unencrypted data after ${request.code === SSL_REQUEST ? 'SSL' : 'GSSAPI encryption'} request`);
      if (request.code === SSL_REQUEST) sslDone = true;
      else gssDone = true;
      if (encrypt) {
        const upgraded = await startTls(reader.detach(), tls);
        if (!upgraded) return { kind: 'gone' };
        reader.attach(upgraded);
        // Once TLS is up, GSSAPI encryption cannot be layered on it.
        gssDone = true;
      }
      continue;
    }
    reader.detach();
    if (request.cancel) return { kind: 'cancel', cancel: request.cancel };
    if (!request.startup) throw new StartupRefused('0A000', `unsupported frontend protocol ${request.code >>> 16}.${request.code & 0xffff}: server supports 3.0 to 3.0`);
    return { kind: 'startup', socket: reader.socket, startup: request.startup, rest: packet.rest };
  }
}

function readLayout(body: Buffer): ReturnType<typeof readStartup> {
  try {
    return readStartup(body);
  } catch (e) {
    throw new StartupRefused('08P01', `invalid startup packet layout: ${(e as Error).message}`);
  }
}

/** The server side of TLS on the client's socket; undefined when the handshake fails (PostgreSQL closes then). */
function startTls(socket: Socket, options: TLSSocketOptions): Promise<TLSSocket | undefined> {
  return new Promise((resolve) => {
    const tls = new TLSSocket(socket, { ...options, isServer: true });
    const failed = () => {
      tls.destroy();
      resolve(undefined);
    };
    tls.once('error', failed);
    socket.once('close', failed);
    tls.once('secure', () => {
      tls.off('error', failed);
      socket.off('close', failed);
      tls.on('error', () => tls.destroy());
      tls.pause();
      resolve(tls);
    });
  });
}

/** Length-prefixed packets from a socket, kept paused between reads. */
class PacketReader {
  socket: Socket;
  #buffered = Buffer.alloc(0);

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** The next packet's body and what arrived after it; undefined when the client left or sent an impossible length. */
  next(): Promise<{ body: Buffer; rest: Buffer } | undefined> {
    return new Promise((resolve) => {
      const finish = (packet: { body: Buffer; rest: Buffer } | undefined) => {
        this.socket.off('data', onData);
        this.socket.off('close', onClose);
        this.socket.pause();
        resolve(packet);
      };
      const take = (): boolean => {
        if (this.#buffered.length < 4) return false;
        const length = this.#buffered.readInt32BE(0);
        if (length - 4 < 4 || length - 4 > MAX_STARTUP_BODY) {
          finish(undefined);
          return true;
        }
        if (this.#buffered.length < length) return false;
        const body = this.#buffered.subarray(4, length);
        const rest = this.#buffered.subarray(length);
        this.#buffered = Buffer.alloc(0);
        finish({ body, rest });
        return true;
      };
      const onData = (chunk: Buffer) => {
        this.#buffered = Buffer.concat([this.#buffered, chunk]);
        take();
      };
      const onClose = () => finish(undefined);
      if (take()) return;
      this.socket.on('data', onData);
      this.socket.once('close', onClose);
      this.socket.resume();
    });
  }

  detach(): Socket {
    this.socket.pause();
    return this.socket;
  }

  attach(socket: Socket): void {
    this.socket = socket;
  }
}
