/**
 * For running client libraries' own test suites by hand (scripts/pg-client-suites.sh): starts a
 * throwaway PostgreSQL and a gateway with a rule-less policy in front of it, writes the PG* settings of
 * both as shell assignments to the file named by its argument, and runs until SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { governDb, startTarget } from '../fixtures/pg-gateway.js';

const out = process.argv[2];
if (!out) throw new Error('usage: gateway.js <env file>');
const target = await startTarget();
await target.pg.sql('ALTER ROLE app CREATEDB');
const db = await governDb(target.appUrl, '  []');

function settings(prefix: string, url: string): string[] {
  const u = new URL(url);
  const values = { PGHOST: u.hostname, PGPORT: u.port, PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGDATABASE: u.pathname.slice(1) };
  return Object.entries(values).map(([k, v]) => `${prefix}_${k}='${v}'`);
}
writeFileSync(out, [...settings('DIRECT', target.appUrl), ...settings('GATEWAY', db.url), `GATEWAY_CA='${db.gateway.exports().PGSSLROOTCERT ?? ''}'`, ''].join('\n'));
process.on('SIGTERM', () => {
  void db.stop().then(() => target.stop()).then(() => process.exit(0));
});
