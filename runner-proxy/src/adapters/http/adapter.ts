/**
 * The HTTP adapter: a credential-injecting reverse proxy on loopback, one listener per connection.
 *
 * Library choice. `http-proxy` has had no release since 2020 and carries open request-smuggling and
 * crash reports; `http-proxy-3` is a maintained rewrite, but both forward the job's framing headers
 * and add a layer the gateway would have to audit on top of Node's. undici is the fastest client, but
 * its pool would be a second HTTP/1.1 implementation beside the server side's, bundled by ncc, with
 * an API whose body handling we would wrap anyway. Node's own `http` server and client share one
 * strict parser (llhttp) with Node's hardening, stream with backpressure, give raw header pairs, and
 * write the framing toward the target themselves from the headers the gateway sets: the job's
 * Content-Length/Transfer-Encoding never pass through, so the target reads exactly the message the
 * gateway inspected. No dependency to bundle or keep patched.
 */
import { createServer, type Server } from 'node:net';
import type { Adapter, AdapterContext, Listener, ProxyContext } from '../adapter.js';
import { JobConnections } from './connection.js';
import { listenerState, type ListenerState } from './exchange.js';
import { listenForwardProxy } from './forward.js';
import { HttpTargetError, parseHttpTarget, type HttpTarget } from './target.js';

export class HttpAdapter implements Adapter {
  readonly protocol = 'http' as const;
  /** Each connection's target by host:port, for the forward proxy to intercept with its credentials. */
  readonly #origins = new Map<string, ListenerState>();

  listenProxy(context: ProxyContext): Promise<Listener> {
    return listenForwardProxy(context, this.#origins);
  }

  async listen({ connection, governor, log }: AdapterContext): Promise<Listener> {
    let target: HttpTarget;
    try {
      target = parseHttpTarget(connection.settings as { url: string; headers?: Record<string, string>; ca?: string });
    } catch (e) {
      throw new HttpTargetError(`connection "${connection.name}": ${(e as Error).message}`);
    }
    const state = listenerState(connection.name, target, governor, log);
    this.#origins.set(`${target.hostname.toLowerCase()}:${target.port}`, state);
    const connections = new JobConnections();
    const server = createServer({ noDelay: true }, (socket) => connections.serve(socket, state));
    server.on('error', (e) => log.warn(`${connection.name}: listener error: ${e.message}`));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    return {
      exports: { [connection.export]: `http://127.0.0.1:${port}${target.prefix}` },
      secrets: [],
      target: `${target.secure ? 'https' : 'http'}://${target.authority}${target.prefix}`,
      close: (deadlineMs) => closeListener(server, connections, target, deadlineMs),
    };
  }
}

async function closeListener(server: Server, connections: JobConnections, target: HttpTarget, deadlineMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  connections.closeIdle();
  const timer = setTimeout(() => connections.destroy(), deadlineMs);
  await closed;
  clearTimeout(timer);
  target.agent.destroy();
  target.pool.destroy();
}
