import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocketOptions } from 'node:tls';
import { ErrorCode, GovernError } from '../../base/errors.js';
import type { AdapterGovernor } from '../../core/governor.js';
import { LruCache } from '../../base/lru.js';
import type { Adapter, AdapterContext, Listener } from '../adapter.js';
import { closeWithMessage, faultSink, guardConnection, type FaultSink } from '../guard.js';
import { RunCertificateAuthority } from '../run-ca.js';
import { Catalog } from './catalog.js';
import { SqlClassifier, type ClassifierShared } from './classify.js';
import { FrameQueue } from './codec/frame-queue.js';
import { LineageCache } from './lineage.js';
import {
  AuthCode,
  Backend,
  errorFields,
  Frontend,
  Reader,
  writeAuthentication,
  writeBackendKeyData,
  writeNegotiateProtocolVersion,
  writeNotice,
  writeParameterStatus,
  writeReadyForQuery,
  type StartupMessage,
} from './codec/messages.js';
import { SqlParser } from './parser.js';
import { makeVerifier, MECHANISM, ScramError, ScramServer, type ScramVerifier } from './scram.js';
import { PostgresSession, type SessionContext } from './session.js';
import { readStartupPacket, StartupRefused } from './startup.js';
import { cancelUpstream, connectUpstream, parseTargetUrl, TargetError, type Target } from './upstream.js';
import { drainListener } from '../drain.js';

/** Frames larger than this are not held for inspection (results stream past it when unmasked). */
const MAX_FRAME = 64 << 20;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Statement shapes (and exact texts) whose classification each connection remembers. */
const CLASSIFICATION_CACHE_SIZE = 2000;
/** Startup parameters the gateway sets itself or that choose the session's kind. */
const NOT_FORWARDED = new Set(['user', 'database', 'replication', 'options']);
/** What the job's URL names (an address) and what libpq's defaults name: the CA vouches for these alone. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost'];

interface ListenerState {
  name: string;
  target: Target;
  governor: AdapterGovernor;
  verifier: ScramVerifier;
  catalog: Catalog;
  lineage: LineageCache;
  classifier: ClassifierShared;
  operations: SessionContext['operations'];
  /** Our BackendKeyData → the target's, for CancelRequest. */
  cancelKeys: Map<string, { pid: number; secret: number }>;
  sessions: Set<PostgresSession>;
  /** TLS for the job's connections that ask for it, with certificates of the run's CA. */
  tls: TLSSocketOptions;
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
  /** One CA for the run's PostgreSQL listeners, vouching for loopback only. */
  #ca: RunCertificateAuthority | undefined;

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
    this.#ca ??= new RunCertificateAuthority('postgres', LOOPBACK_NAMES);
    const ca = this.#ca;
    const caDir = mkdtempSync(join(tmpdir(), 'govern-pg-ca-'));
    const caFile = join(caDir, 'ca.pem');
    writeFileSync(caFile, ca.certPem, { mode: 0o644 });
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
      tls: {
        secureContext: ca.contextFor('127.0.0.1'),
        // libpq names the host in SNI unless it is an address.
        SNICallback: (name, answer) => answer(null, ca.contextFor(name === 'localhost' ? name : '127.0.0.1')),
      },
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
      // libpq's clients (psql, psycopg2) read the CA from PGSSLROOTCERT, so sslmode=verify-full works.
      exports: { [connection.export]: url, PGSSLROOTCERT: caFile },
      secrets: [password, url],
      target: `${target.host}:${target.port}/${target.database}`,
      close: async (deadlineMs) => {
        await closeListener(server, state, deadlineMs);
        rmSync(caDir, { recursive: true, force: true });
      },
    };
  }
}

async function closeListener(server: Server, state: ListenerState, deadlineMs: number): Promise<void> {
  await drainListener(server, state.sessions, deadlineMs);
  state.catalog.close();
}

async function accept(socket: Socket, state: ListenerState): Promise<void> {
  socket.setNoDelay(true);
  let client = socket;
  const timer = setTimeout(() => client.destroy(), HANDSHAKE_TIMEOUT_MS);
  try {
    const packet = await readStartupPacket(socket, state.tls);
    // Without a word, but with a FIN: what the client still sends is read and dropped, not reset.
    if (packet.kind === 'gone') return closeWithMessage(socket);
    if (packet.kind === 'cancel') {
      await relayCancel(packet.cancel, state);
      return closeWithMessage(socket);
    }
    client = packet.socket;
    await openSession(client, packet.startup, packet.rest, state);
  } catch (e) {
    const refused = e instanceof StartupRefused ? e : new StartupRefused('08006', (e as Error).message);
    closeWithMessage(client, writeNotice(Backend.ErrorResponse, errorFields('FATAL', refused.sqlstate, `govern: ${refused.message}`)));
  } finally {
    clearTimeout(timer);
  }
}

/** Authenticates the job, connects to the target with the real credentials, and starts relaying. */
async function openSession(socket: Socket, startup: StartupMessage, rest: Buffer, state: ListenerState): Promise<void> {
  // Watched from here: a client that leaves during the handshake must not leave a target backend behind.
  let clientGone = socket.destroyed;
  socket.once('close', () => (clientGone = true));
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
  if (clientGone) return void upstream.socket.destroy();
  // The target's own process id, which notifications and pg_backend_pid() carry too; the secret is the
  // gateway's, so a CancelRequest reaches only the backends of this gateway's own sessions.
  const secret = randomInt(-(2 ** 31), 2 ** 31 - 1);
  const key = `${upstream.pid}:${secret}`;
  state.cancelKeys.set(key, { pid: upstream.pid, secret: upstream.secret });
  const hello = [writeAuthentication(AuthCode.Ok)];
  for (const [name, value] of upstream.parameters) hello.push(writeParameterStatus(name, value));
  hello.push(writeBackendKeyData(upstream.pid, secret), writeReadyForQuery('I'));
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
  session.start(Buffer.concat([queue.detach() ?? Buffer.alloc(0), ...upstream.leftover]));
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
