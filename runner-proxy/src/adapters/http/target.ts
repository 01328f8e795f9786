import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { headerLines } from './codec.js';
import { TargetPool } from './pool.js';
import { parseReading, type TargetReading } from './target-reading.js';
import { ErrorCode, GovernError } from '../../base/errors.js';

/** The target of an http connection, as the policy's URL names it; its credential headers stay here. */
export interface HttpTarget {
  secure: boolean;
  hostname: string;
  port: number;
  /** The Host header the target expects. */
  authority: string;
  /** The URL's path without its trailing slash ("" for the root): the job's URL keeps it. */
  prefix: string;
  /** Header names (lower case) the gateway sets itself; the job's own values of them are dropped. */
  injectedNames: ReadonlySet<string>;
  /** The configured headers as raw name/value pairs. */
  injected: readonly string[];
  /** For WebSocket handshakes, which go through Node's client. */
  agent: HttpAgent;
  /** Kept-alive raw connections for requests, which the gateway frames itself. */
  pool: TargetPool;
  /** The head lines the gateway adds to every request: the configured headers, then Host. */
  addedLines: string;
  /** How the target reads paths and methods (the connection's `reads`). */
  reading: TargetReading;
}

export class HttpTargetError extends Error {}

/** Closes every connection to the target, idle or busy. */
export function closeTarget(target: HttpTarget): void {
  target.agent.destroy();
  target.pool.destroy();
}

/** How long the start-up check waits for the target. */
const START_CHECK_MS = 15_000;

/**
 * Connects to the target once when the gateway starts (for https, the TLS handshake with the
 * certificate verified against `ca` or the system's CAs), then hangs up: an unreachable target or an
 * untrusted certificate is a start error naming the connection, not a 502 for every request of the job.
 */
export async function checkHttpTarget(name: string, target: HttpTarget, ca: string | undefined): Promise<void> {
  try {
    await target.pool.probe(START_CHECK_MS);
  } catch (e) {
    // OpenSSL's errors keep their one-line reason apart from a message with its source location.
    const error = e as Error & { code?: string; syscall?: string; reason?: string };
    const problem = error.syscall
      ? `the target ${target.authority} cannot be reached (${error.code ?? error.message}); check the connection's url`
      : `the TLS handshake with ${target.authority} failed (${error.reason ?? error.message}); ${tlsHint(error.code, ca !== undefined)}`;
    throw new GovernError(ErrorCode.GatewayStartFailed, `connection "${name}": ${problem}`, { cause: e });
  }
}

/** What to fix when the TLS handshake with the target fails: a port that does not speak TLS, or the trust. */
function tlsHint(code: string | undefined, caGiven: boolean): string {
  if (code?.startsWith('ERR_SSL_')) return 'check that the url names a port that speaks https';
  return caGiven ? "check that the connection's ca signs the target's certificate" : "give the CA that signs the target's certificate as the connection's ca";
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function parseHttpTarget(settings: { url: string; headers?: Record<string, string>; ca?: string; reads?: Record<string, string> }): HttpTarget {
  let u: URL;
  try {
    u = new URL(settings.url);
  } catch {
    throw new HttpTargetError('the http url is not a URL (https://host[:port][/path])');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpTargetError(`the http url has the scheme ${u.protocol}, not http: or https:`);
  if (u.username || u.password) throw new HttpTargetError('the http url carries credentials; put them in headers (Authorization) instead');
  if (u.search || u.hash) throw new HttpTargetError('the http url has a query or fragment; give the base URL only');
  if (settings.ca && u.protocol !== 'https:') throw new HttpTargetError('ca is given for a plain http url; use https');
  const injected: string[] = [];
  for (const [name, value] of Object.entries(settings.headers ?? {})) {
    if (!TOKEN.test(name)) throw new HttpTargetError(`header name "${name}" is not a valid HTTP field name`);
    if (!FIELD_VALUE.test(value)) throw new HttpTargetError(`header "${name}" has a line break or control character in its value`);
    injected.push(name, value);
  }
  const secure = u.protocol === 'https:';
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (secure ? 443 : 80));
  const options = { keepAlive: true, scheduling: 'lifo' as const, noDelay: true };
  return {
    secure,
    hostname,
    port,
    authority: u.host,
    prefix: u.pathname.replace(/\/+$/, ''),
    injectedNames: new Set(injected.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())),
    injected,
    // Certificates are always verified: against the given CA, or the system's.
    pool: new TargetPool({ secure, hostname, port, ...(settings.ca && { ca: settings.ca }) }),
    addedLines: `${headerLines(injected)}Host: ${u.host}\r\n`,
    reading: parseReading(settings.reads),
    agent: secure ? new HttpsAgent({ ...options, ...(settings.ca && { ca: settings.ca }), servername: u.hostname }) : new HttpAgent(options),
  };
}
