import { serveRelays } from './relay-server.js';

/**
 * The floor for any Node proxy: loopback sockets piped both ways, nothing parsed. `node pipe-proxy.js
 * PORT` listens on a free loopback port, prints it, and relays every connection to 127.0.0.1:PORT.
 */
serveRelays((client, upstream) => client.pipe(upstream).pipe(client));
