// The demo's target database: a throwaway PostgreSQL cluster when the server binaries are installed and
// the project is built (the test fixtures start it), otherwise PostgreSQL compiled to WebAssembly
// (PGlite) served over the wire protocol, in this process.
import { existsSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const FIXTURE = new URL('../../build/runner-proxy/test/fixtures/postgres.js', import.meta.url);

export async function startDemoTarget() {
  const { postgresBin, startPostgres } = !process.env.GOVERN_DEMO_EMBEDDED && existsSync(FIXTURE) ? await import(FIXTURE.href) : {};
  if (postgresBin?.()) {
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
