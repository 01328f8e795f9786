/**
 * The HTTP adapter: a credential-injecting reverse proxy on loopback, one listener per connection,
 * reached only through the job's URL, whose first path segment is a per-run secret (`secret-path.ts`).
 *
 * Library choice. `http-proxy` has had no release since 2020 and carries open request-smuggling and
 * crash reports; `http-proxy-3` is a maintained rewrite, but both forward the job's framing headers
 * and add a layer the gateway would have to audit on top of Node's. undici is the fastest client, but
 * only covers the target side, adds a second HTTP/1.1 implementation beside the job side's, and its
 * body handling we would wrap anyway. Node's own `http` server and client were the first choice (one
 * strict parser, llhttp, with Node's hardening), but measured under wrk their layers (IncomingMessage,
 * ServerResponse, streams, the Agent) cost more than everything the gateway itself does per request:
 * a bare Node `http` pipe keeps a quarter to a third of what a bare `net` pipe relays (BENCHMARKS.md).
 * So the hot path is the gateway's own HTTP/1.1 codec on raw `net`/`tls` sockets (`codec.ts`, push-style
 * like pg-protocol's parser): it reads requests strictly (item 3 of the issue: anything a target might
 * frame differently is refused before it exists), writes each request's framing toward the target
 * itself on a kept-alive raw pool (`pool.ts`), and batches each direction's writes (`job-connection.ts`, `exchange.ts`, `answer.ts`).
 * It is small enough to audit, has no dependency to bundle or keep patched, and the job's
 * Content-Length/Transfer-Encoding never pass through, so the target reads exactly the message the
 * gateway inspected. Node's client remains only for WebSocket handshakes (`websocket.ts`), which are rare.
 */
import { createServer, type Server } from 'node:net';
import type { Adapter, AdapterContext, Listener, ProxyContext } from '../adapter.js';
import { JobConnections } from './job-connection.js';
import { listenerState, type ListenerState } from './listener-state.js';
import { listenForwardProxy } from './forward.js';
import { SecretPath } from './secret-path.js';
import { checkHttpTarget, closeTarget, HttpTargetError, parseHttpTarget, type HttpTarget } from './target.js';

export class HttpAdapter implements Adapter {
  readonly protocol = 'http' as const;
  /** Each connection's target by host:port, for the forward proxy to intercept with its credentials. */
  readonly #origins = new Map<string, ListenerState>();

  listenProxy(context: ProxyContext): Promise<Listener> {
    return listenForwardProxy(context, this.#origins);
  }

  async listen({ connection, governor, log }: AdapterContext): Promise<Listener> {
    const settings = connection.settings as Parameters<typeof parseHttpTarget>[0];
    let target: HttpTarget;
    try {
      target = parseHttpTarget(settings);
    } catch (e) {
      throw new HttpTargetError(`connection "${connection.name}": ${(e as Error).message}`);
    }
    await checkHttpTarget(connection.name, target, settings.ca);
    const state = listenerState(connection.name, target, governor, log);
    this.#origins.set(`${target.hostname.toLowerCase()}:${target.port}`, state);
    // Connections are served by `connections`, made once the port (part of the job's URL) is known,
    // before any connection can be accepted (that takes a turn of the event loop).
    const server = createServer({ noDelay: true }, (socket) => connections.serve(socket, state));
    server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    const secretPath = new SecretPath(port, target, connection.export);
    const connections = new JobConnections(secretPath);
    const url = `${secretPath.base}${target.prefix}`;
    return {
      exports: { [connection.export]: url },
      secrets: [secretPath.secret, url],
      target: `${target.secure ? 'https' : 'http'}://${target.authority}${target.prefix}`,
      close: (deadlineMs) => closeListener(server, connections, target, deadlineMs),
    };
  }
}

async function closeListener(server: Server, connections: JobConnections, target: HttpTarget, deadlineMs: number): Promise<void> {
  await connections.close(server, deadlineMs);
  closeTarget(target);
}
