import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, GovernError } from '../../core/errors.js';
import type { Governor } from '../../core/governor.js';
import { LruCache } from '../../core/lru.js';
import type { Adapter, AdapterContext, Listener } from '../adapter.js';
import { closeWithMessage, faultSink, guardConnection, type FaultSink } from '../guard.js';
import { Catalog } from './catalog.js';
import { SqlClassifier, type ClassifierShared } from './classify.js';
import { FrameQueue } from './codec/frame-queue.js';
import { LineageCache } from './lineage.js';
import {
  AuthCode,
  Backend,
  errorFields,
  Frontend,
  GSSENC_REQUEST,
  readStartup,
  Reader,
  SSL_REQUEST,
  writeAuthentication,
  writeBackendKeyData,
  writeNegotiateProtocolVersion,
  writeNotice,
  writeParameterStatus,
  writeReadyForQuery,
} from './codec/messages.js';
import { SqlParser } from './parser.js';
import { makeVerifier, MECHANISM, ScramError, ScramServer, type ScramVerifier } from './scram.js';
import { PostgresSession, type SessionContext } from './session.js';
import { cancelUpstream, connectUpstream, parseTargetUrl, TargetError, type Target } from './upstream.js';

const MAX_STARTUP = 10_000;
/** Frames larger than this are not held for inspection (results stream past it when unmasked). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Statement shapes (and exact texts) whose classification each connection remembers. */
const CLASSIFICATION_CACHE_SIZE = 2000;
/** Startup parameters the gateway sets itself or that choose the session's kind. */
const NOT_FORWARDED = new Set(['user', 'database', 'replication', 'options']);

class StartupRefused extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
  ) {
    super(message);
  }
}

interface ListenerState {
  name: string;
  target: Target;
  governor: Governor;
  verifier: ScramVerifier;
  catalog: Catalog;
  lineage: LineageCache;
  classifier: ClassifierShared;
  operations: SessionContext['operations'];
  /** Our BackendKeyData → the target's, for CancelRequest. */
  cancelKeys: Map<string, { pid: number; secret: number }>;
  sessions: Set<PostgresSession>;
  log: AdapterContext['log'];
  fault: FaultSink;
}

/**
 * The PostgreSQL adapter: a loopback listener per connection. The job authenticates with a job-scoped
 * password over SCRAM-SHA-256; the gateway authenticates to the target with the real credentials.
 */
export class PostgresAdapter implements Adapter {
  readonly protocol = 'postgres' as const;
  /** One parser for every connection: each WebAssembly instance reserves its own heap. */
  #parser: Promise<SqlParser> | undefined;

  async listen({ connection, governor, log }: AdapterContext): Promise<Listener> {
    this.#parser ??= SqlParser.load();
    const parser = await this.#parser;
    const settings = connection.settings as { url: string; ca?: string };
    let target: Target;
    try {
      target = parseTargetUrl(settings.url, settings.ca);
    } catch (e) {
      throw new TargetError(`connection "${connection.name}": ${(e as Error).message}`);
    }
    await checkTarget(connection.name, target);
    const password = randomBytes(24).toString('base64url');
    const catalog = new Catalog(target);
    const state: ListenerState = {
      name: connection.name,
      target,
      governor,
      verifier: makeVerifier(password),
      catalog,
      lineage: new LineageCache(catalog, parser),
      classifier: { parser, cache: new LruCache(CLASSIFICATION_CACHE_SIZE) },
      operations: new LruCache(CLASSIFICATION_CACHE_SIZE),
      cancelKeys: new Map(),
      sessions: new Set(),
      log,
      fault: faultSink(governor, log),
    };
    const server = createServer((socket) => guardConnection(socket, `${connection.name} connection`, state.fault, () => accept(socket, state)));
    server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const url = `postgresql://${encodeURIComponent(target.user)}:${password}@127.0.0.1:${port}/${encodeURIComponent(target.database)}`;
    return {
      exports: { [connection.export]: url },
      secrets: [password, url],
      target: `${target.host}:${target.port}/${target.database}`,
      close: (deadlineMs) => closeListener(server, state, deadlineMs),
    };
  }
}

async function closeListener(server: Server, state: ListenerState, deadlineMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + deadlineMs;
  while (state.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const session of state.sessions) session.end();
  state.catalog.close();
  await closed;
}

type StartupPacket =
  | { startup: NonNullable<ReturnType<typeof readStartup>['startup']>; rest: Buffer }
  | { cancel: NonNullable<ReturnType<typeof readStartup>['cancel']> };

/** Reads untyped startup packets: SSL and GSS requests are declined; a startup or a cancel is returned. */
function readStartupPacket(socket: Socket): Promise<StartupPacket> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the client left during startup'));
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      try {
        readPackets();
      } catch (e) {
        cleanup();
        reject(new StartupRefused('08P01', `invalid startup packet: ${(e as Error).message}`));
      }
    };
    const readPackets = () => {
      while (buffered.length >= 4) {
        const length = buffered.readInt32BE(0);
        if (length < 8 || length > MAX_STARTUP) {
          cleanup();
          return reject(new StartupRefused('08P01', `invalid startup packet length ${length}`));
        }
        if (buffered.length < length) return;
        const packet = readStartup(buffered.subarray(4, length));
        const rest = buffered.subarray(length);
        if (packet.code === SSL_REQUEST || packet.code === GSSENC_REQUEST) {
          // Bytes sent before the answer could only be an injection attempt.
          if (rest.length) {
            cleanup();
            return reject(new StartupRefused('08P01', 'data arrived before the answer to an encryption request'));
          }
          socket.write('N');
          buffered = rest;
          continue;
        }
        cleanup();
        if (packet.cancel) return resolve({ cancel: packet.cancel });
        if (!packet.startup) return reject(new StartupRefused('08P01', `unsupported frontend protocol ${packet.code >> 16}.${packet.code & 0xffff}`));
        return resolve({ startup: packet.startup, rest });
      }
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

async function accept(socket: Socket, state: ListenerState): Promise<void> {
  socket.setNoDelay(true);
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
  // Watched from the first byte: a client that leaves during the handshake must not leave a target backend behind.
  let clientGone = false;
  socket.once('close', () => (clientGone = true));
  try {
    const packet = await readStartupPacket(socket);
    if ('cancel' in packet) {
      clearTimeout(timer);
      await relayCancel(packet.cancel, state);
      closeWithMessage(socket);
      return;
    }
    const { startup, rest } = packet;
    const params = startup.parameters;
    const unsupported = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
    if ((startup.protocol & 0xffff) > 0 || unsupported.length) socket.write(writeNegotiateProtocolVersion(0, unsupported));
    const user = params.user;
    const database = params.database || user;
    if (user !== state.target.user) throw new StartupRefused('28000', `this connection admits only user "${state.target.user}"`);
    if (database !== state.target.database) throw new StartupRefused('3D000', `this connection reaches database "${state.target.database}" only`);
    await checkStartupParameters(params, state);
    const queue = new FrameQueue(socket, 'the client connection', rest);
    await authenticate(socket, queue, state);
    const forwarded = Object.fromEntries(Object.entries(params).filter(([k]) => !NOT_FORWARDED.has(k) && !k.startsWith('_pq_.')));
    if (params.options) forwarded.options = params.options;
    if (params.replication) forwarded.replication = params.replication;
    let upstream;
    try {
      // The startup's own operations (options, replication) are in the record before they reach the target.
      state.governor.commit();
      upstream = await connectUpstream(state.target, forwarded);
    } catch (e) {
      if (e instanceof GovernError) throw new StartupRefused('42501', e.message);
      state.governor.note('connection.failed', { connection: state.name, message: (e as Error).message });
      throw new StartupRefused('08006', (e as Error).message);
    }
    if (clientGone) {
      upstream.socket.destroy();
      return;
    }
    const pid = randomInt(1, 2 ** 31 - 1);
    const secret = randomInt(-(2 ** 31), 2 ** 31 - 1);
    const key = `${pid}:${secret}`;
    state.cancelKeys.set(key, { pid: upstream.pid, secret: upstream.secret });
    const hello = [writeAuthentication(AuthCode.Ok)];
    for (const [name, value] of upstream.parameters) hello.push(writeParameterStatus(name, value));
    hello.push(writeBackendKeyData(pid, secret), writeReadyForQuery('I'));
    socket.write(Buffer.concat(hello));
    const openSeq = state.governor.connectionOpened(state.name, 'postgres', {
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      ...(params.application_name && { application_name: params.application_name }),
    });
    const session = new PostgresSession(
      {
        connection: state.name,
        governor: state.governor,
        catalog: state.catalog,
        lineage: state.lineage,
        classifier: new SqlClassifier(state.classifier),
        operations: state.operations,
        maxFrame: MAX_FRAME,
        log: state.log,
        cancel: () => cancelUpstream(state.target, upstream.pid, upstream.secret),
      },
      socket,
      upstream,
      openSeq,
    );
    state.sessions.add(session);
    socket.once('close', () => {
      state.sessions.delete(session);
      state.cancelKeys.delete(key);
    });
    clearTimeout(timer);
    session.start(Buffer.concat([queue.detach() ?? Buffer.alloc(0), ...upstream.leftover]));
  } catch (e) {
    clearTimeout(timer);
    const refused = e instanceof StartupRefused ? e : new StartupRefused('08006', (e as Error).message);
    closeWithMessage(socket, writeNotice(Backend.ErrorResponse, errorFields('FATAL', refused.sqlstate, `govern: ${refused.message}`)));
  }
}

/**
 * Connects and authenticates to the target once when the gateway starts, then hangs up: a wrong
 * password or an unreachable host is a start error naming the connection, not a surprise mid-job.
 */
async function checkTarget(name: string, target: Target): Promise<void> {
  try {
    const probe = await connectUpstream(target, { application_name: 'govern start-up check' });
    probe.socket.destroy();
  } catch (e) {
    const message = (e as Error).message.replace(/^the target/, `the target ${target.host}:${target.port}`);
    throw new GovernError(ErrorCode.GatewayStartFailed, `connection "${name}": ${message}; check the connection's url and credentials`, { cause: e });
  }
}

/** A CancelRequest names our BackendKeyData; the target's backend gets the cancel, on a socket of its own. */
async function relayCancel(cancel: { pid: number; secret: Buffer }, state: ListenerState): Promise<void> {
  const mapped = cancel.secret.length === 4 ? state.cancelKeys.get(`${cancel.pid}:${cancel.secret.readInt32BE(0)}`) : undefined;
  if (!mapped) return;
  await cancelUpstream(state.target, mapped.pid, mapped.secret).catch((e: Error) => state.log.warn(`${state.name}: cancel failed: ${e.message}`));
  state.governor.note('cancel', { connection: state.name });
}

/** `options` and `replication` in the startup packet are operations of their own, refused unless allowed. */
async function checkStartupParameters(params: Record<string, string>, state: ListenerState): Promise<void> {
  const classes: string[] = [];
  if (params.options) classes.push('startup_options');
  if (params.replication && !/^(false|off|no|0)$/i.test(params.replication)) classes.push('replication');
  for (const c of classes) {
    const ruling = await state.governor.decide({
      connection: state.name,
      protocol: 'postgres',
      text: c === 'replication' ? `startup replication=${params.replication}` : `startup options=${params.options}`,
      classes: new Set([c]),
      writes: true,
    });
    if (!ruling.allowed) throw new StartupRefused('42501', ruling.message ?? `${c} refused`);
  }
}

/** SCRAM-SHA-256 with the job: the job-scoped password never crosses the loopback in clear. */
async function authenticate(socket: Socket, queue: FrameQueue, state: ListenerState): Promise<void> {
  socket.write(writeAuthentication(AuthCode.SASL, [MECHANISM]));
  const scram = new ScramServer(state.verifier);
  try {
    const initial = await expectPassword(queue);
    const r = new Reader(initial);
    const mechanism = r.cstring();
    if (mechanism !== MECHANISM) throw new ScramError(`mechanism ${mechanism} is not offered`);
    const length = r.int32();
    const clientFirst = r.bytes(length).toString('utf8');
    socket.write(writeAuthentication(AuthCode.SASLContinue, Buffer.from(scram.start(clientFirst))));
    const final = new Reader(await expectPassword(queue)).rest().toString('utf8');
    socket.write(writeAuthentication(AuthCode.SASLFinal, Buffer.from(scram.finish(final))));
  } catch (e) {
    if (e instanceof ScramError) {
      state.governor.note('auth.failed', { connection: state.name, message: `the job's password for user "${state.target.user}" was wrong` });
      throw new StartupRefused('28P01', `password authentication failed for user "${state.target.user}"`);
    }
    throw e;
  }
}

async function expectPassword(queue: FrameQueue): Promise<Buffer> {
  const { code, frame } = await queue.next();
  if (code !== Frontend.Password) throw new StartupRefused('08P01', `expected a password message, got "${String.fromCharCode(code)}"`);
  return frame;
}
