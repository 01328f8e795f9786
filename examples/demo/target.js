// The demo's target database: a throwaway PostgreSQL cluster when the server binaries are installed,
// otherwise PostgreSQL compiled to WebAssembly (PGlite) served over the wire protocol, in this process.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { postgresBin, startPostgres } from '../../build/runner-proxy/test/fixtures/postgres.js';

export async function startDemoTarget() {
  if (postgresBin() && !process.env.GOVERN_DEMO_EMBEDDED) {
    const cluster = await startPostgres();
    await cluster.sql(["CREATE ROLE payments LOGIN PASSWORD 'prod-db-password-do-not-leak'", 'CREATE DATABASE payments OWNER payments']);
    return { kind: `PostgreSQL (${cluster.bin})`, url: cluster.url('payments', 'prod-db-password-do-not-leak', 'payments'), stop: () => cluster.stop() };
  }
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 8 });
  await server.start();
  return {
    kind: 'embedded PostgreSQL (PGlite, WebAssembly)',
    url: `postgresql://postgres:prod-db-password-do-not-leak@${server.getServerConn()}/postgres?sslmode=disable`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
