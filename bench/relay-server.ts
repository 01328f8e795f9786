import { connect, createServer, type Socket } from 'node:net';

/**
 * The server of the bench's own relays (`pipe-proxy.ts`, `frame-pipe.ts`): `node RELAY.js PORT` listens
 * on a free loopback port and prints it; each connection gets one of its own to 127.0.0.1:PORT, both
 * are handed to `relay`, and either one's end or error closes both.
 */
export function serveRelays(relay: (client: Socket, upstream: Socket) => void): void {
  const targetPort = Number(process.argv[2]);
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
    relay(client, upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));
  process.on('SIGTERM', () => process.exit(0));
}
