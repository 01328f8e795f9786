import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { CACHING_SHA2, NATIVE, rsaEncryptPassword, scramble } from './auth.js';
import { PacketChannel } from './channel.js';
import { Capability, readErr, Reader } from './packets.js';

const CONNECT_TIMEOUT_MS = 15_000;
/** The largest packet the gateway accepts from either side. */
export const MAX_PACKET = 64 << 20;
const UTF8MB4 = 45;

export class TargetError extends Error {}

export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** TLS to the target: required (verified against `ca` or the system's CAs) or off. */
  tls: boolean;
  ca?: string;
  /** Whether the certificate's name is checked (ssl-mode=VERIFY_IDENTITY, the default with TLS). */
  verifyIdentity: boolean;
}

/** mysql://user:password@host:port/db?ssl-mode=REQUIRED|VERIFY_CA|VERIFY_IDENTITY|DISABLED */
export function parseTargetUrl(raw: string, ca?: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetError('the url is not a valid mysql:// URL');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') throw new TargetError(`the url must start with mysql:// (got ${url.protocol}//)`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!url.username || !database) throw new TargetError('the url must name a user and a database');
  const mode = (url.searchParams.get('ssl-mode') ?? url.searchParams.get('sslmode') ?? (url.searchParams.get('ssl') === 'true' ? 'VERIFY_IDENTITY' : 'DISABLED')).toUpperCase();
  if (!['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'].includes(mode)) throw new TargetError(`ssl-mode ${mode} is not one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY`);
  if (mode === 'REQUIRED') throw new TargetError('ssl-mode=REQUIRED does not check the certificate; use VERIFY_CA with the connection\'s ca, or VERIFY_IDENTITY');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    tls: mode !== 'DISABLED',
    ...(ca && { ca }),
    verifyIdentity: mode === 'VERIFY_IDENTITY',
  };
}

/** The server's initial handshake (protocol 10). */
export interface ServerHello {
  version: string;
  connectionId: number;
  capabilities: number;
  charset: number;
  status: number;
  nonce: Buffer;
  plugin: string;
}

export function readServerHello(payload: Buffer): ServerHello {
  if (payload[0] === 0xff) throw new TargetError(`the target refused the connection: ${readErr(payload).message}`);
  const r = new Reader(payload);
  if (r.u8() !== 10) throw new TargetError('the target does not speak MySQL protocol 10');
  const version = r.cstring();
  const connectionId = r.u32();
  const part1 = r.bytes(8);
  r.u8();
  let capabilities = r.u16();
  const charset = r.u8();
  const status = r.u16();
  capabilities |= r.u16() << 16;
  capabilities >>>= 0;
  const dataLength = r.u8();
  r.bytes(10);
  const part2 = r.bytes(Math.max(13, dataLength - 8));
  const nonce = Buffer.concat([part1, part2.subarray(0, 12)]);
  const plugin = capabilities & Capability.PLUGIN_AUTH && !r.done ? r.cstring() : NATIVE;
  return { version, connectionId, capabilities, charset, status, nonce, plugin };
}

export interface UpstreamConnection {
  socket: Socket;
  channel: PacketChannel;
  hello: ServerHello;
  /** The capabilities both the target and the gateway use on this connection. */
  capabilities: number;
}

/**
 * Connects and authenticates to the target with the real credentials: TLS first when the URL asks,
 * then mysql_native_password or caching_sha2_password (fast, or full over TLS or the server's RSA key).
 * `clientCapabilities` are what the job's client asked for; the target gets those it also offers.
 */
export async function connectUpstream(target: Target, clientCapabilities: number, attributes?: Buffer): Promise<UpstreamConnection> {
  const raw = connectTcp({ host: target.host, port: target.port });
  raw.setNoDelay(true);
  const timer = setTimeout(() => raw.destroy(new Error('the target did not answer in time')), CONNECT_TIMEOUT_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      raw.once('connect', resolve);
      raw.once('error', reject);
    });
    let channel = new PacketChannel(raw, 'the target', MAX_PACKET);
    const first = await channel.read();
    const hello = readServerHello(first.payload);
    let capabilities = (clientCapabilities & hello.capabilities) | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.CONNECT_WITH_DB | Capability.LONG_PASSWORD | Capability.TRANSACTIONS;
    capabilities &= hello.capabilities | Capability.CONNECT_WITH_DB;
    if (!(hello.capabilities & Capability.PROTOCOL_41)) throw new TargetError('the target does not speak protocol 4.1');
    if (!attributes || !(hello.capabilities & Capability.CONNECT_ATTRS)) capabilities &= ~Capability.CONNECT_ATTRS;
    let seq = first.seq + 1;
    let socket: Socket = raw;
    if (target.tls) {
      if (!(hello.capabilities & Capability.SSL)) throw new TargetError('the url asks for TLS and the target does not offer it');
      capabilities |= Capability.SSL;
      seq = channel.send(seq, responseHead(capabilities));
      await channel.flush();
      const leftover = channel.detach();
      if (leftover.length) throw new TargetError('the target sent data before the TLS handshake');
      const options: ConnectionOptions = { socket: raw, ...(target.ca && { ca: target.ca }) };
      if (!/^[\d.:]+$/.test(target.host)) options.servername = target.host;
      // VERIFY_CA checks the chain only.
      if (!target.verifyIdentity) options.checkServerIdentity = () => undefined;
      socket = connectTls(options);
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      channel = new PacketChannel(socket, 'the target', MAX_PACKET);
    }
    capabilities >>>= 0;
    const plugin = hello.plugin === CACHING_SHA2 ? CACHING_SHA2 : NATIVE;
    const response = Buffer.concat([
      responseHead(capabilities),
      Buffer.from(`${target.user}\0`, 'utf8'),
      authData(capabilities, scramble(plugin, target.password, hello.nonce)),
      Buffer.from(`${target.database}\0${plugin}\0`, 'utf8'),
      capabilities & Capability.CONNECT_ATTRS && attributes ? attributes : Buffer.alloc(0),
    ]);
    channel.send(seq, response);
    await authenticate(channel, target, plugin, hello.nonce, target.tls);
    clearTimeout(timer);
    return { socket, channel, hello, capabilities };
  } catch (e) {
    clearTimeout(timer);
    raw.destroy();
    throw e instanceof TargetError ? e : new TargetError(`the target: ${(e as Error).message}`);
  }
}

function responseHead(capabilities: number): Buffer {
  const head = Buffer.alloc(32);
  head.writeUInt32LE(capabilities >>> 0, 0);
  head.writeUInt32LE(MAX_PACKET, 4);
  head[8] = UTF8MB4;
  return head;
}

function authData(capabilities: number, data: Buffer): Buffer {
  if (capabilities & Capability.PLUGIN_AUTH_LENENC_DATA && data.length >= 0xfb) throw new TargetError('an authentication answer too long');
  return Buffer.concat([Buffer.from([data.length]), data]);
}

/** Follows the target's answers (switch, more data) until it says OK or refuses. */
async function authenticate(channel: PacketChannel, target: Target, plugin: string, nonce: Buffer, overTls: boolean): Promise<void> {
  for (;;) {
    const { seq, payload } = await channel.read();
    const reply = (data: Buffer) => channel.send(seq + 1, data);
    switch (payload[0]) {
      case 0x00:
        return;
      case 0xff:
        throw new TargetError(`the target refused the login: ${readErr(payload).message}`);
      case 0xfe: {
        const r = new Reader(payload, 1);
        plugin = r.cstring();
        nonce = r.rest().subarray(0, 20);
        if (plugin !== NATIVE && plugin !== CACHING_SHA2) throw new TargetError(`the target asks for the ${plugin} plugin, which the gateway does not speak`);
        reply(scramble(plugin, target.password, nonce));
        break;
      }
      case 0x01: {
        const more = payload.subarray(1);
        if (plugin !== CACHING_SHA2) throw new TargetError('the target sent unexpected authentication data');
        if (more.length === 1 && more[0] === 0x03) break;
        if (more.length === 1 && more[0] === 0x04) {
          reply(overTls ? Buffer.from(`${target.password}\0`, 'utf8') : Buffer.from([0x02]));
          break;
        }
        reply(rsaEncryptPassword(target.password, nonce, more.toString('latin1')));
        break;
      }
      default:
        throw new TargetError('the target sent an unexpected authentication packet');
    }
  }
}
