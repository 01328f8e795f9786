// The demo job's steps, as a CI job would run them: plain node-postgres with the DATABASE_URL it was given.
import pg from 'pg';

const say = (line) => console.log(`  [job] ${line}`);
const url = new URL(process.env.DATABASE_URL);
say(`DATABASE_URL points at ${url.host} (the gateway), with a password made for this job`);
if (process.env.GOVERN_ID_TOKEN || process.env.PROD_DATABASE_URL) throw new Error('the job can see a credential it should not');
say('GOVERN_ID_TOKEN and PROD_DATABASE_URL are not in my environment');

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();

say('migrate: CREATE TABLE customers');
await client.query('CREATE TABLE customers (id serial PRIMARY KEY, name text, email text, ssn text, card_number text)');

say('write rows with PII');
const rows = [
  ['Ada Lovelace', 'ada@example.com', '536-22-4711', '4111 1111 1111 1111'],
  ['Grace Hopper', 'grace@example.org', '219-45-0001', '5555 5555 5555 4444'],
];
for (const row of rows) await client.query('INSERT INTO customers (name, email, ssn, card_number) VALUES ($1, $2, $3, $4)', row);

say('read them back:');
for (const r of (await client.query('SELECT name, email, ssn, card_number FROM customers ORDER BY id')).rows) {
  say(`  ${r.name.padEnd(13)} ${r.email.padEnd(16)} ${r.ssn.padEnd(10)} ${r.card_number}`);
}
const aliased = (await client.query('SELECT ssn AS harmless_looking FROM customers LIMIT 1')).rows[0].harmless_looking;
say(`an alias does not help: SELECT ssn AS harmless_looking → ${aliased}`);

say('try DROP TABLE customers:');
try {
  await client.query('/* cleanup */ DROP TABLE customers');
  say('  dropped (this should never happen)');
} catch (e) {
  say(`  refused: ${e.message} (SQLSTATE ${e.code})`);
}
say(`the table is still there: ${(await client.query('SELECT count(*)::int AS n FROM customers')).rows[0].n} rows`);
await client.end();

// The billing API, with the fetch every Node version has: the gateway adds the API token on the way.
const billingUrl = new URL(process.env.BILLING_URL);
say(`BILLING_URL points at ${billingUrl.host} (the gateway); BILLING_TOKEN is ${process.env.BILLING_TOKEN ? 'in my environment (it should not be)' : 'not in my environment'}`);
const billing = async (method, path, body) => {
  const answer = await fetch(`${process.env.BILLING_URL}${path}`, {
    method,
    ...(body && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return `${answer.status} ${text}`;
};
say(`GET /customers/1 → ${await billing('GET', '/customers/1')}`);
say(`POST /payments of 50 → ${await billing('POST', '/payments', { customer: 1, payment_amount: 50 })}`);
say('POST /payments of 5000: above the limit, it waits for an approver…');
say(`  → ${await billing('POST', '/payments', { customer: 1, payment_amount: 5000 })}`);
say(`DELETE /customers/1 → ${await billing('DELETE', '/customers/1')}`);
