import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, GovernError } from '../../base/errors.js';
import type { AdapterGovernor } from '../../core/governor.js';
import type { Adapter, AdapterContext, Listener } from '../adapter.js';
import { closeWithMessage, faultSink, guardConnection, type FaultSink } from '../guard.js';
import { CACHING_SHA2, JOB_PLUGINS, NATIVE, verifyScramble } from './auth.js';
import { Catalog } from './catalog.js';
import { PacketChannel } from './channel.js';
import { MysqlClassifier, UNSAFE_CHARSET_IDS } from './classify.js';
import { Capability, errPacket, framePacket, okPacket, Reader } from './packets.js';
import { MysqlSession } from './session.js';
import { connectUpstream, MAX_PACKET, parseTargetUrl, TargetError, type ServerHello, type Target } from './upstream.js';
import { drainListener } from '../drain.js';

const HANDSHAKE_TIMEOUT_MS = 30_000;
/** What the gateway relays and understands; compression, TLS on the loopback and query attributes are not offered. */
const SUPPORTED =
  Capability.LONG_PASSWORD | Capability.FOUND_ROWS | Capability.LONG_FLAG | Capability.CONNECT_WITH_DB | Capability.LOCAL_FILES |
  Capability.IGNORE_SPACE | Capability.PROTOCOL_41 | Capability.INTERACTIVE | Capability.TRANSACTIONS | Capability.SECURE_CONNECTION |
  Capability.MULTI_STATEMENTS | Capability.MULTI_RESULTS | Capability.PS_MULTI_RESULTS | Capability.PLUGIN_AUTH |
  Capability.CONNECT_ATTRS | Capability.PLUGIN_AUTH_LENENC_DATA | Capability.DEPRECATE_EOF;
const SERVER_STATUS_AUTOCOMMIT = 0x0002;

export interface MysqlSettings {
  url: string;
  ca?: string;
  /** The plugin the job is asked to authenticate with first (either is accepted). */
  auth?: typeof NATIVE | typeof CACHING_SHA2;
}

class HandshakeRefused extends Error {
  constructor(
    readonly code: number,
    readonly sqlstate: string,
    message: string,
  ) {
    super(message);
  }
}

interface ListenerState {
  name: string;
  target: Target;
  hello: ServerHello;
  password: string;
  plugin: string;
  governor: AdapterGovernor;
  classifier: MysqlClassifier;
  catalog: Catalog;
  sessions: Set<MysqlSession>;
  fault: FaultSink;
}

/**
 * The MySQL/MariaDB adapter: a loopback listener per connection. The job authenticates with a
 * job-scoped password (caching_sha2_password or mysql_native_password, both challenge-response); the
 * gateway logs in to the target with the real credentials, over TLS when the URL asks.
 */
export class MysqlAdapter implements Adapter {
  readonly protocol = 'mysql' as const;

  async listen({ connection, governor, log }: AdapterContext): Promise<Listener> {
    const settings = connection.settings as unknown as MysqlSettings;
    let target: Target;
    try {
      target = parseTargetUrl(settings.url, settings.ca);
    } catch (e) {
      throw new TargetError(`connection "${connection.name}": ${(e as Error).message}`);
    }
    const hello = await checkTarget(connection.name, target);
    const password = randomBytes(24).toString('base64url');
    const state: ListenerState = {
      name: connection.name,
      target,
      hello,
      password,
      plugin: settings.auth ?? CACHING_SHA2,
      governor,
      classifier: new MysqlClassifier(),
      catalog: new Catalog(target),
      sessions: new Set(),
      fault: faultSink(governor, log),
    };
    const server = createServer((socket) => guardConnection(socket, `${connection.name} connection`, state.fault, () => accept(socket, state)));
    server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const url = `mysql://${encodeURIComponent(target.user)}:${password}@127.0.0.1:${port}/${encodeURIComponent(target.database)}`;
    return {
      exports: { [connection.export]: url },
      secrets: [password, url],
      target: `${target.host}:${target.port}/${target.database}`,
      close: (deadlineMs) => closeListener(server, state, deadlineMs),
    };
  }
}

async function closeListener(server: Server, state: ListenerState, deadlineMs: number): Promise<void> {
  await drainListener(server, state.sessions, deadlineMs);
  state.catalog.close();
}

/** Logs in once when the gateway starts: wrong credentials are a start error naming the connection. */
async function checkTarget(name: string, target: Target): Promise<ServerHello> {
  try {
    const probe = await connectUpstream(target, SUPPORTED);
    probe.socket.destroy();
    return probe.hello;
  } catch (e) {
    throw new GovernError(ErrorCode.GatewayStartFailed, `connection "${name}": ${(e as Error).message} (${target.host}:${target.port}); check the connection's url and credentials`, { cause: e });
  }
}

/** The 20 bytes a client scrambles its password with: never NUL, since the handshake ends them with one. */
function makeNonce(): Buffer {
  const nonce = randomBytes(20);
  for (let i = 0; i < nonce.length; i++) nonce[i] = (nonce[i]! % 94) + 33;
  return nonce;
}

function serverHello(state: ListenerState, nonce: Buffer, capabilities: number): Buffer {
  const fixed = Buffer.alloc(1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  let o = 0;
  fixed[o++] = 10;
  const version = Buffer.from(`${state.hello.version}\0`, 'utf8');
  const rest = fixed.subarray(1);
  rest.writeUInt32LE(randomInt(1, 2 ** 31), 0);
  nonce.copy(rest, 4, 0, 8);
  rest[12] = 0;
  rest.writeUInt16LE(capabilities & 0xffff, 13);
  rest[15] = 45;
  rest.writeUInt16LE(SERVER_STATUS_AUTOCOMMIT, 16);
  rest.writeUInt16LE(capabilities >>> 16, 18);
  rest[20] = 21;
  return Buffer.concat([fixed.subarray(0, o), version, rest, nonce.subarray(8), Buffer.from([0]), Buffer.from(`${state.plugin}\0`)]);
}

interface HandshakeResponse {
  capabilities: number;
  charset: number;
  user: string;
  auth: Buffer;
  database: string;
  plugin: string;
  attributes?: Buffer;
}

function readHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new Reader(payload);
  const capabilities = r.u32();
  if (!(capabilities & Capability.PROTOCOL_41)) throw new HandshakeRefused(1251, '08004', 'this client does not speak protocol 4.1');
  if (payload.length === 32 && capabilities & Capability.SSL) throw new HandshakeRefused(1045, '08004', 'the gateway does not offer TLS on the loopback');
  r.u32();
  const charset = r.u8();
  r.bytes(23);
  const user = r.cstring();
  const auth = capabilities & Capability.PLUGIN_AUTH_LENENC_DATA ? (r.lenencBytes() ?? Buffer.alloc(0)) : r.bytes(r.u8());
  const database = capabilities & Capability.CONNECT_WITH_DB && !r.done ? r.cstring() : '';
  const plugin = capabilities & Capability.PLUGIN_AUTH && !r.done ? r.cstring() : NATIVE;
  const attributes = capabilities & Capability.CONNECT_ATTRS && !r.done ? r.rest() : undefined;
  return { capabilities: capabilities >>> 0, charset, user, auth, database, plugin, ...(attributes && { attributes }) };
}

async function accept(socket: Socket, state: ListenerState): Promise<void> {
  socket.setNoDelay(true);
  const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
  let clientGone = false;
  socket.once('close', () => (clientGone = true));
  const client = new PacketChannel(socket, 'the client', 1 << 16);
  let seq = 1;
  try {
    const nonce = makeNonce();
    const offered = (SUPPORTED & state.hello.capabilities) | Capability.PLUGIN_AUTH | Capability.SECURE_CONNECTION | Capability.PROTOCOL_41;
    client.send(0, serverHello(state, nonce, offered));
    const first = await client.read();
    const response = readHandshakeResponse(first.payload);
    seq = first.seq + 1;
    if (UNSAFE_CHARSET_IDS.has(response.charset)) throw new HandshakeRefused(1115, '42000', 'this connection admits character sets whose bytes read the same as ASCII (utf8mb4, latin1…) only');
    if (response.user !== state.target.user) throw new HandshakeRefused(1045, '28000', `this connection admits only user "${state.target.user}"`);
    if (response.database && response.database !== state.target.database) throw new HandshakeRefused(1044, '42000', `this connection reaches database "${state.target.database}" only`);
    let { plugin, auth } = response;
    if (!JOB_PLUGINS.has(plugin)) {
      plugin = state.plugin;
      seq = client.send(seq, Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`), nonce, Buffer.from([0])]));
      const answer = await client.read();
      auth = answer.payload;
      seq = answer.seq + 1;
    }
    if (!verifyScramble(plugin, state.password, nonce, auth)) {
      state.governor.note('auth.failed', { connection: state.name, message: `the job's password for user "${state.target.user}" was wrong` });
      throw new HandshakeRefused(1045, '28000', `access denied for user "${state.target.user}"`);
    }
    // caching_sha2_password's "fast authentication succeeded" comes before the OK.
    if (plugin === CACHING_SHA2) seq = client.send(seq, Buffer.from([0x01, 0x03]));
    const capabilities = response.capabilities & offered;
    let upstream;
    try {
      state.governor.commit();
      upstream = await connectUpstream(state.target, capabilities, response.attributes);
    } catch (e) {
      state.governor.note('connection.failed', { connection: state.name, message: (e as Error).message });
      throw new HandshakeRefused(2013, '08S01', (e as Error).message);
    }
    if (clientGone) {
      upstream.socket.destroy();
      return;
    }
    client.send(seq, okPacket(upstream.hello.status));
    await client.flush();
    clearTimeout(timer);
    const openSeq = state.governor.connectionOpened(state.name, 'mysql', { peer: `${socket.remoteAddress}:${socket.remotePort}` });
    client.maxPacket = MAX_PACKET;
    const session = new MysqlSession(
      { connection: state.name, governor: state.governor, classifier: state.classifier, catalog: state.catalog, capabilities: upstream.capabilities & capabilities, status: upstream.hello.status },
      client,
      upstream.channel,
    );
    state.sessions.add(session);
    let reason = 'client';
    try {
      await session.run();
    } catch (e) {
      reason = (e as Error).message;
    } finally {
      state.sessions.delete(session);
      state.governor.connectionClosed(state.name, openSeq, reason);
      await client.flush();
      session.end();
    }
  } catch (e) {
    clearTimeout(timer);
    const refused = e instanceof HandshakeRefused ? e : new HandshakeRefused(1043, '08S01', `bad handshake: ${(e as Error).message}`);
    closeWithMessage(socket, framePacket(seq, errPacket(refused.code, refused.sqlstate, `govern: ${refused.message}`)).bytes);
  }
}
