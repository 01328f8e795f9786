import { createHash } from 'node:crypto';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol';
import { FrameQueue } from './codec/frame-queue.js';
import { HEADER_LENGTH } from './codec/frames.js';
import { AuthCode, Backend, PROTOCOL_3_0, readNotice, readParameterStatus, Reader, Writer } from './codec/messages.js';
import { MECHANISM, ScramClient } from './scram.js';

/** The target as the policy's URL gives it; the password never leaves the gateway. */
export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslmode: 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
  /** PEM of the CA for verify-ca / verify-full. */
  ca?: string;
}

const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export class TargetError extends Error {}

export function parseTargetUrl(url: string, ca?: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TargetError('the postgres url is not a URL (postgres://user:password@host:port/database)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new TargetError(`the postgres url has the scheme ${u.protocol}, not postgres:`);
  const sslmode = (u.searchParams.get('sslmode') ?? 'prefer') as Target['sslmode'];
  if (!SSL_MODES.includes(sslmode)) throw new TargetError(`sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`);
  const user = decodeURIComponent(u.username);
  if (!user) throw new TargetError('the postgres url names no user');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: Number(u.port || 5432),
    user,
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)) || user,
    sslmode,
    ...(ca && { ca }),
  };
}

/** A target connection past authentication, ready for queries. */
export interface UpstreamConnection {
  socket: Socket | TLSSocket;
  parameters: Map<string, string>;
  pid: number;
  secret: number;
  /** Bytes that arrived after ReadyForQuery (none from a well-behaved server). */
  leftover: Buffer[];
}

function openSocket(target: Target, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new TargetError(`cannot reach ${target.host}:${target.port} within ${timeoutMs / 1000} s`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e instanceof TargetError ? e : new TargetError(`cannot reach ${target.host}:${target.port}: ${e.message}`));
    });
  });
}

/** SSLRequest, then TLS when the server agrees; sslmode decides what a refusal means. */
async function negotiateTls(socket: Socket, target: Target): Promise<Socket | TLSSocket> {
  if (target.sslmode === 'disable') return socket;
  socket.write(serialize.requestSsl());
  const answer = await new Promise<number>((resolve, reject) => {
    socket.once('data', (d: Buffer) => (d.length === 1 ? resolve(d[0]!) : reject(new TargetError('the target answered the SSL request with more than one byte'))));
    socket.once('error', reject);
  });
  socket.removeAllListeners('error');
  if (answer === 0x4e /* N */) {
    if (target.sslmode !== 'prefer') throw new TargetError(`the target does not offer TLS, which sslmode=${target.sslmode} requires`);
    return socket;
  }
  if (answer !== 0x53 /* S */) throw new TargetError('the target answered the SSL request with neither S nor N');
  const verify = target.sslmode === 'verify-ca' || target.sslmode === 'verify-full';
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      ...(isIP(target.host) === 0 && { servername: target.host }),
      rejectUnauthorized: verify,
      ...(target.ca && { ca: target.ca }),
      // verify-ca checks the chain but not the name, as libpq does.
      ...(target.sslmode !== 'verify-full' && { checkServerIdentity: () => undefined }),
    });
    tls.once('secureConnect', () => {
      tls.removeAllListeners('error');
      resolve(tls);
    });
    tls.once('error', (e) => reject(new TargetError(`TLS to the target failed: ${e.message}`)));
  });
}

function startupMessage(parameters: Record<string, string>): Buffer {
  const w = new Writer(256).int32(PROTOCOL_3_0);
  for (const [k, v] of Object.entries(parameters)) w.cstring(k).cstring(v);
  return w.byte(0).finish();
}

function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return `md5${createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')}`;
}

/**
 * Connects and authenticates to the target with the real credentials (SCRAM-SHA-256, md5 or cleartext,
 * over TLS per sslmode), and collects ParameterStatus and BackendKeyData up to ReadyForQuery.
 */
export async function connectUpstream(target: Target, parameters: Record<string, string>, timeoutMs = 15_000): Promise<UpstreamConnection> {
  const socket = await negotiateTls(await openSocket(target, timeoutMs), target);
  const reader = new FrameQueue(socket as Socket, 'the target connection');
  const timer = setTimeout(() => reader.fail(new TargetError(`the target did not finish authentication within ${timeoutMs / 1000} s`)), timeoutMs);
  try {
    socket.write(startupMessage({ ...parameters, user: target.user, database: target.database }));
    const result = { parameters: new Map<string, string>(), pid: 0, secret: 0 };
    let scram: ScramClient | undefined;
    for (;;) {
      const { code, frame } = await reader.next();
      if (code === Backend.ErrorResponse) {
        throw new TargetError(`the target refused the connection: ${readNotice(frame).get('M') ?? 'no message'}`);
      }
      if (code === Backend.Authentication) {
        const r = new Reader(frame);
        const auth = r.int32();
        if (auth === AuthCode.Ok) continue;
        if (auth === AuthCode.CleartextPassword) socket.write(serialize.password(target.password));
        else if (auth === AuthCode.MD5Password) socket.write(serialize.password(md5Password(target.user, target.password, r.bytes(4))));
        else if (auth === AuthCode.SASL) {
          const mechanisms: string[] = [];
          for (let m = r.cstring(); m !== ''; m = r.cstring()) mechanisms.push(m);
          if (!mechanisms.includes(MECHANISM)) throw new TargetError(`the target offers ${mechanisms.join(', ')}, not ${MECHANISM}`);
          scram = new ScramClient(target.password);
          socket.write(serialize.sendSASLInitialResponseMessage(MECHANISM, scram.first()));
        } else if (auth === AuthCode.SASLContinue && scram) {
          socket.write(serialize.sendSCRAMClientFinalMessage(scram.respond(r.rest().toString('utf8'))));
        } else if (auth === AuthCode.SASLFinal && scram) {
          scram.verify(r.rest().toString('utf8'));
        } else {
          throw new TargetError(`the target asks for authentication method ${auth}, which the gateway does not speak`);
        }
      } else if (code === Backend.ParameterStatus) {
        const { name, value } = readParameterStatus(frame);
        result.parameters.set(name, value);
      } else if (code === Backend.BackendKeyData) {
        result.pid = frame.readInt32BE(HEADER_LENGTH);
        result.secret = frame.readInt32BE(HEADER_LENGTH + 4);
      } else if (code === Backend.ReadyForQuery) {
        const leftover = reader.detach();
        return { socket, ...result, leftover: leftover ? [leftover] : [] };
      }
      // NoticeResponse and NegotiateProtocolVersion during startup carry nothing the gateway needs.
    }
  } catch (e) {
    reader.detach();
    socket.destroy();
    throw e instanceof TargetError || !(e instanceof Error) ? e : new TargetError(e.message);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends a CancelRequest for a target backend on a connection of its own, as the protocol wants. */
export async function cancelUpstream(target: Target, pid: number, secret: number): Promise<void> {
  const socket = await openSocket(target, 5_000);
  socket.end(serialize.cancel(pid, secret));
  socket.on('error', () => undefined);
}
