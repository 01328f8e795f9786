import { connect, createServer } from 'node:net';

/**
 * The floor for any Node proxy: loopback sockets piped both ways, nothing parsed. `node pipe-proxy.js
 * PORT` listens on a free loopback port, prints it, and relays every connection to 127.0.0.1:PORT.
 */
const targetPort = Number(process.argv[2]);
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});
server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));
process.on('SIGTERM', () => process.exit(0));
