import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates, TLSSocket } from 'node:tls';
import { globMatcher } from '../../base/glob.js';
import type { Listener, ProxyContext } from '../adapter.js';
import { RunCertificateAuthority } from '../run-ca.js';
import type { Head } from './codec.js';
import { JobConnections, type JobConnection } from './job-connection.js';
import { listenerState, type ListenerState } from './listener-state.js';
import { commitOrRefusal, rawResponse } from './refusal.js';
import { dropHeader, rawHeader } from './message.js';
import { closeTarget, parseHttpTarget } from './target.js';

/** The system's trust store, which the job's CA variables replace and therefore must include. */
const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];
/** Loopback and the gateway's own listeners never go through the proxy. */
const NO_PROXY = 'localhost,127.0.0.1,::1';

/** The user name in the proxy URL; the password is the per-run secret. */
const PROXY_USER = 'govern';
/** The authentication scheme, as compared (RFC 9110 §11.1: without regard to case). */
const BASIC = 'basic ';
const PROXY_AUTHENTICATION_REQUIRED = rawResponse(
  407,
  { error: 'this forward proxy serves the job only: use the proxy URL in HTTPS_PROXY as it is, with its credentials' },
  'Proxy-Authenticate: Basic realm="govern"\r\n',
);

/** The forward proxy's job-scoped credentials, which every CONNECT and absolute-form request must carry. */
class ProxyCredentials {
  readonly secret = randomBytes(24).toString('base64url');
  /** The Basic credentials for `govern:SECRET`, as base64. */
  readonly basic = Buffer.from(`${PROXY_USER}:${this.secret}`).toString('base64');
  readonly #expected = Buffer.from(this.basic, 'latin1');

  /** Whether a request's Proxy-Authorization is the expected one (the scheme in any case), the credentials compared in constant time. */
  carriedBy(rawHeaders: readonly string[]): boolean {
    const value = rawHeader(rawHeaders, 'proxy-authorization');
    if (value === undefined || value.length !== BASIC.length + this.#expected.length || value.slice(0, BASIC.length).toLowerCase() !== BASIC) return false;
    return timingSafeEqual(Buffer.from(value.slice(BASIC.length), 'latin1'), this.#expected);
  }
}

type Route = { kind: 'intercept'; state: ListenerState } | { kind: 'tunnel' } | { kind: 'refuse' };

const originKey = (host: string, port: number) => `${host.toLowerCase()}:${port}`;

/** host:port from a CONNECT line, IPv6 in brackets. */
function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(authority);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * The forward proxy: CONNECT to a host the policy intercepts is answered with a certificate from this
 * run's CA, and the requests inside go through the same exchange as a connection's listener (the
 * connection's credentials, rules and masks when its host is one of the http connections). Other hosts
 * are tunnelled (recorded as host, port and bytes) or refused, as the policy says. Plain-HTTP requests
 * in absolute form follow the same routes. Every CONNECT and absolute-form request must carry the
 * job's proxy credentials (in the exported proxy URL), so that no other process on the runner can use
 * the job's identity and credentials through it.
 */
export async function listenForwardProxy(context: ProxyContext, connections: ReadonlyMap<string, ListenerState>): Promise<Listener> {
  const { proxy, governor, log } = context;
  const interceptPatterns = proxy.intercept.map((p) => p.toLowerCase());
  // The CA may vouch for what CONNECT intercepts: the https connections' hosts and the intercept globs.
  const secureHosts = [...connections.values()].filter((c) => c.target.secure).map((c) => c.target.hostname.toLowerCase());
  const ca = new RunCertificateAuthority(context.label, [...secureHosts, ...interceptPatterns]);
  const intercepted = interceptPatterns.map((p) => globMatcher(p, { separator: '.' }));
  const tunnelled = proxy.tunnel.map((p) => globMatcher(p.toLowerCase(), { separator: '.' }));
  const listed = new Map<string, ListenerState>();
  const proxyState = listenerState('(proxy)', undefined as never, governor, log);

  /** A target the policy lists rather than a connection: no credentials added, rules and masks as for any. */
  const listedState = (host: string, port: number, secure: boolean): ListenerState => {
    const key = `${secure ? 'https' : 'http'}://${originKey(host, port)}`;
    let state = listed.get(key);
    if (!state) {
      const url = `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      listed.set(key, (state = listenerState(`proxy:${host.toLowerCase()}`, parseHttpTarget({ url }), governor, log)));
    }
    return state;
  };
  const route = (host: string, port: number, secure: boolean): Route => {
    const connection = connections.get(originKey(host, port));
    if (connection && connection.target.secure === secure) return { kind: 'intercept', state: connection };
    const lower = host.toLowerCase();
    if (intercepted.some((m) => m(lower))) return { kind: 'intercept', state: listedState(host, port, secure) };
    if (!tunnelled.some((m) => m(lower)) && proxy.others !== 'tunnel') return { kind: 'refuse' };
    // Plain HTTP is readable anyway: it goes through the exchange and is recorded as requests.
    return secure ? { kind: 'tunnel' } : { kind: 'intercept', state: listedState(host, port, false) };
  };

  // The proxy's own connections and the intercepted TLS connections inside them, served alike.
  const served = new JobConnections();
  const credentials = new ProxyCredentials();
  const connectRequest = (head: Head, socket: Socket, rest: Buffer): void => {
    const authority = parseAuthority(head.url);
    if (!authority) return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    const chosen = route(authority.host, authority.port, true);
    if (chosen.kind === 'refuse') {
      governor.note('proxy.refused', { host: authority.host, port: authority.port });
      return void socket.end(rawResponse(403, { error: `${authority.host}:${authority.port} is not on the policy's egress list` }));
    }
    const unrecorded = commitOrRefusal(governor);
    if (unrecorded) return void socket.end(rawResponse(unrecorded.status, unrecorded.body));
    if (chosen.kind === 'tunnel') return tunnel(socket, rest, authority, governor);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (rest.length) socket.unshift(rest);
    const tls = new TLSSocket(socket, { isServer: true, secureContext: ca.contextFor(authority.host), ALPNProtocols: ['http/1.1'] });
    tls.on('error', () => tls.destroy());
    // The requests inside go to the intercepted target, as through its connection's own listener.
    served.serve(tls, chosen.state);
  };
  /** A request to the proxy itself: CONNECT, or an absolute-form http:// request (HTTP_PROXY). */
  const proxyRequest = (head: Head, connection: JobConnection): ListenerState | undefined => {
    if (!credentials.carriedBy(head.rawHeaders)) {
      governor.note('auth.failed', { connection: proxyState.name, message: "a request to the forward proxy without the job's proxy credentials was refused" });
      return void connection.refuse(PROXY_AUTHENTICATION_REQUIRED);
    }
    if (head.method === 'CONNECT') return void connectRequest(head, connection.socket, connection.detach());
    return plainRequest(head, connection, route, proxyState);
  };
  const server = createServer({ noDelay: true }, (socket) => served.serve(socket, proxyState, proxyRequest));
  server.on('error', (e) => log.warn(`forward proxy: listener error: ${e.message}`));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });

  const dir = mkdtempSync(join(tmpdir(), 'govern-proxy-ca-'));
  const caFile = join(dir, 'ca.pem');
  const bundleFile = join(dir, 'bundle.pem');
  writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  writeFileSync(bundleFile, `${system ? readFileSync(system, 'utf8') : rootCertificates.join('\n')}\n${ca.certPem}`, { mode: 0o644 });
  const url = `http://${PROXY_USER}:${credentials.secret}@127.0.0.1:${port}`;
  return {
    exports: {
      HTTPS_PROXY: url,
      HTTP_PROXY: url,
      https_proxy: url,
      http_proxy: url,
      NO_PROXY,
      no_proxy: NO_PROXY,
      NODE_USE_ENV_PROXY: '1',
      NODE_EXTRA_CA_CERTS: caFile,
      SSL_CERT_FILE: bundleFile,
      CURL_CA_BUNDLE: bundleFile,
      REQUESTS_CA_BUNDLE: bundleFile,
      GIT_SSL_CAINFO: bundleFile,
    },
    // The Basic value too, which a client's verbose output may print.
    secrets: [credentials.secret, url, credentials.basic],
    target: `forward proxy (others: ${proxy.others})`,
    close: async (deadlineMs) => {
      await served.close(server, deadlineMs);
      for (const state of listed.values()) closeTarget(state.target);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An absolute-form request (http://host/path) through HTTP_PROXY: the target's state, with the request's target made a path. */
function plainRequest(head: Head, connection: JobConnection, route: (host: string, port: number, secure: boolean) => Route, proxyState: ListenerState): ListenerState | undefined {
  let u: URL | undefined;
  try {
    u = head.url.startsWith('http://') ? new URL(head.url) : undefined;
  } catch {
    u = undefined;
  }
  if (!u) return void connection.refuse(rawResponse(400, { error: 'this is a forward proxy: send absolute http:// URLs, or CONNECT for https' }));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 80);
  const chosen = route(host, port, false);
  if (chosen.kind === 'refuse') {
    proxyState.governor.note('proxy.refused', { host, port });
    return void connection.refuse(rawResponse(403, { error: `${host}:${port} is not on the policy's egress list` }));
  }
  if (chosen.kind !== 'intercept') return void connection.refuse(rawResponse(500, { error: 'no route' }));
  head.url = `${u.pathname}${u.search}`;
  // The proxy's credentials are the proxy hop's: no rule and no record sees them (nor does the target).
  dropHeader(head.rawHeaders, 'proxy-authorization');
  return chosen.state;
}

/** Passes bytes both ways unopened; the record keeps host, port, bytes and duration. */
function tunnel(client: Socket, head: Buffer, { host, port }: { host: string; port: number }, governor: ProxyContext['governor']): void {
  const started = performance.now();
  const target = connect(port, host);
  let up = head.length;
  let down = 0;
  let opened = false;
  const finish = () => {
    if (!opened) return;
    opened = false;
    governor.note('tunnel', { host, port, bytes_up: up, bytes_down: down, duration_ms: Math.round(performance.now() - started) });
  };
  target.on('connect', () => {
    opened = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) target.write(head);
    client.on('data', (c: Buffer) => (up += c.length));
    target.on('data', (c: Buffer) => (down += c.length));
    client.pipe(target);
    target.pipe(client);
  });
  target.on('error', (e: Error & { code?: string }) => {
    if (!opened) client.end(`HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\nX-Govern-Error: ${e.code ?? 'error'}\r\n\r\n`);
    else client.destroy();
  });
  target.on('close', () => {
    finish();
    client.destroy();
  });
  client.on('close', () => target.destroy());
}
