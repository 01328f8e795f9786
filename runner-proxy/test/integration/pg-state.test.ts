import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { governDb, startTarget, type GovernedDb, type Target } from '../fixtures/pg-gateway.js';
import { runClient } from '../fixtures/postgres.js';

/**
 * Variation corpora for the masking classes of session state, errors and DDL. Each attempt runs first
 * straight against the target, where it must leak (or do what it should not), then through the
 * gateway, where it must not. The harmless variations must answer through the gateway as they do direct.
 */
const SSNS = ['536-22-4711', '219-45-0001'];

/** Parts, encodings and digests of the masked values that any leak would carry. */
function fragments(): string[] {
  const out = new Set<string>();
  for (const ssn of SSNS) {
    for (const form of [ssn, ssn.replaceAll('-', ''), [...ssn].reverse().join('')]) {
      for (let i = 0; i + 5 <= form.length; i++) out.add(form.slice(i, i + 5));
      for (const alg of ['md5', 'sha256']) out.add(createHash(alg).update(form).digest('hex').slice(0, 10));
    }
  }
  return [...out];
}
const FRAGMENTS = fragments();
const leaked = (text: string) => FRAGMENTS.find((f) => text.includes(f));

const RULES = `
  - name: pii
    mask: { columns: ["users.ssn", "staff.ssn", "checked.ssn"] }
  - name: no-bulk-writes
    block: { sql: [delete_without_where, update_without_where] }
`;

/** Everything a client sees of a script: rows, errors (all their fields), notices and notifications. */
async function transcript(client: pg.Client, steps: readonly Step[]): Promise<string> {
  const seen: unknown[] = [];
  const notice = (n: unknown) => seen.push({ notice: n });
  const notification = (n: pg.Notification) => seen.push({ notification: n.payload });
  client.on('notice', notice);
  client.on('notification', notification);
  try {
    for (const step of steps) {
      try {
        seen.push(typeof step === 'string' ? resultsOf(await client.query(step)) : await step(client));
      } catch (e) {
        seen.push({ error: { ...(e as object), message: (e as Error).message } });
      }
    }
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    client.off('notice', notice);
    client.off('notification', notification);
  }
  return JSON.stringify(seen);
}

function resultsOf(result: pg.QueryResult | pg.QueryResult[]): unknown {
  return (Array.isArray(result) ? result : [result]).map((r) => r.rows);
}

type Step = string | ((client: pg.Client) => Promise<unknown>);

/**
 * Extended-protocol messages sent as they are, up to one Sync: what no client library sends on its
 * own (a Bind of a name PREPAREd in SQL, an Execute of a SQL cursor, a Parse of a name in use).
 */
function raw(send: (c: ProtocolConnection) => void): Step {
  return (client) =>
    new Promise((resolve) => {
      const out: unknown[] = [];
      client.query({
        submit: (connection: ProtocolConnection) => {
          send(connection);
          connection.sync();
        },
        handleRowDescription: () => undefined,
        handleDataRow: (m: { fields: unknown[] }) => out.push(m.fields),
        handleCommandComplete: () => undefined,
        handlePortalSuspended: () => undefined,
        handleEmptyQuery: () => undefined,
        // After an error node-postgres hands ReadyForQuery to no one: the error ends the exchange.
        handleError: (e: Error) => resolve([...out, { error: { ...e, message: e.message } }]),
        handleReadyForQuery: () => resolve(out),
      } as unknown as pg.QueryConfig);
    });
}

interface ProtocolConnection {
  parse(m: { name: string; text: string; types: unknown[] }): void;
  bind(m: { statement: string; portal: string; values: unknown[] }): void;
  describe(m: { type: 'S' | 'P'; name: string }): void;
  execute(m: { portal: string; rows: number }): void;
  sync(): void;
}

const parse = (name: string, text: string) => raw((c) => c.parse({ name, text, types: [] }));
const bindAndRun = (statement: string, portal = '') =>
  raw((c) => {
    c.bind({ statement, portal, values: [] });
    c.describe({ type: 'P', name: portal });
    c.execute({ portal, rows: 0 });
  });
const runPortal = (portal: string) =>
  raw((c) => {
    c.describe({ type: 'P', name: portal });
    c.execute({ portal, rows: 0 });
  });

interface Attempt {
  name: string;
  steps: Step[];
  /** Puts the target back as it was, run direct after each attempt. */
  cleanup?: string[];
}

const STATE: Attempt[] = [
  {
    name: 'a PREPARE that fails on a name in use keeps the statement the target holds',
    steps: ["PREPARE p1 AS SELECT ssn || '' AS v FROM users", "PREPARE p1 AS SELECT 'x'::text AS v", 'EXECUTE p1', 'DEALLOCATE p1'],
  },
  {
    name: 'the same, in one message',
    steps: ["PREPARE p2 AS SELECT upper(ssn) AS v FROM users; PREPARE p2 AS SELECT 'x'::text AS v", 'EXECUTE p2', 'DEALLOCATE p2'],
  },
  {
    name: 'a DECLARE that fails inside a savepoint keeps the cursor declared before it',
    steps: ['BEGIN', "DECLARE c1 CURSOR FOR SELECT ssn || '' AS v FROM users", 'SAVEPOINT a', "DECLARE c1 CURSOR FOR SELECT 'x'::text AS v", 'ROLLBACK TO a', 'FETCH ALL FROM c1', 'COMMIT'],
  },
  {
    name: 'the same, the failing DECLARE after a SAVEPOINT in one message',
    steps: ['BEGIN', "DECLARE c2 CURSOR FOR SELECT reverse(ssn) AS v FROM users; SAVEPOINT a; DECLARE c2 CURSOR FOR SELECT 'x'::text AS v", 'ROLLBACK TO a', 'FETCH ALL FROM c2', 'COMMIT'],
  },
  {
    name: 'a WITH HOLD cursor declared again after a rollback closed the first',
    steps: ['BEGIN', "DECLARE c3 CURSOR WITH HOLD FOR SELECT 'x'::text AS v", 'ROLLBACK', "DECLARE c3 CURSOR WITH HOLD FOR SELECT lower(ssn) AS v FROM users", 'FETCH ALL FROM c3', 'CLOSE c3'],
  },
  {
    name: 'a protocol Parse that fails on a name in use keeps the statement the target holds',
    steps: [parse('s1', "SELECT ssn || '' AS v FROM users"), parse('s1', "SELECT 'x'::text AS v"), bindAndRun('s1'), raw((c) => c.describe({ type: 'S', name: 's1' }))],
  },
  {
    name: 'a Bind of a statement PREPAREd in SQL',
    steps: ["PREPARE p3 AS SELECT ssn || '' AS v FROM users", bindAndRun('p3'), 'DEALLOCATE p3'],
  },
  {
    name: 'an Execute of a cursor DECLAREd in SQL',
    steps: ['BEGIN', "DECLARE c4 CURSOR FOR SELECT ssn || '' AS v FROM users", runPortal('c4'), 'COMMIT'],
  },
];

const ERRORS: Attempt[] = [
  { name: 'EXPLAIN ANALYZE', steps: ['EXPLAIN ANALYZE SELECT ssn::int FROM users'] },
  { name: 'EXECUTE of what was PREPAREd earlier', steps: ['PREPARE e1 AS SELECT ssn::int FROM users', 'EXECUTE e1', 'DEALLOCATE e1'] },
  { name: 'FETCH of what was DECLAREd earlier', steps: ['BEGIN', 'DECLARE e2 CURSOR FOR SELECT ssn::numeric FROM users', 'FETCH ALL FROM e2', 'ROLLBACK'] },
  { name: 'a subquery in LIMIT', steps: ['SELECT 1 LIMIT (SELECT ssn::int FROM users LIMIT 1)'] },
  { name: 'a subquery in OFFSET', steps: ['SELECT 1 OFFSET (SELECT ssn::bigint FROM users LIMIT 1)'] },
  { name: 'a CTE', steps: ['WITH x AS (SELECT ssn::int AS v FROM users) SELECT count(v) FROM x'] },
  { name: 'a constraint the write checks', steps: ['UPDATE checked SET label = label WHERE id = 1'] },
  { name: 'an index expression', steps: ['CREATE INDEX checked_ssn_number ON checked ((ssn::int))'], cleanup: ['DROP INDEX IF EXISTS checked_ssn_number'] },
  { name: 'a constraint that validates', steps: ['ALTER TABLE checked VALIDATE CONSTRAINT ssn_is_a_number'] },
  { name: "a function of the target's own in LIMIT", steps: ['SELECT 1 LIMIT shout(1)'] },
  { name: "a function of the target's own raising a NOTICE", steps: ['SELECT 1 LIMIT whisper(1)'] },
  { name: 'an expression index key in a unique violation', steps: ["INSERT INTO checked VALUES (3, 'Dup', '536224711')"], cleanup: ['DELETE FROM checked WHERE id = 3'] },
];

const SESSION: Attempt[] = [
  { name: 'set_config of application_name, read by SHOW', steps: ["SELECT set_config('application_name', ssn, false) FROM users WHERE id = 1", 'SHOW application_name'] },
  { name: 'set_config of a custom setting, read by current_setting', steps: ["SELECT set_config('app.leak', md5(ssn), false) FROM users WHERE id = 1", "SELECT current_setting('app.leak', true)"] },
  {
    name: 'application_name read from pg_stat_activity',
    steps: ["SELECT set_config('application_name', substr(ssn, 1, 7), false) FROM users WHERE id = 2", 'SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()'],
  },
  { name: 'set_config of a subquery', steps: ["SELECT set_config('app.other', (SELECT reverse(ssn) FROM users WHERE id = 1), false)", "SELECT current_setting('app.other', true)"] },
  { name: 'a notification payload', steps: ['LISTEN leak', "SELECT pg_notify('leak', reverse(ssn)) FROM users", 'UNLISTEN leak'] },
];

const DDL: Attempt[] = [
  { name: 'renaming the column', steps: ['ALTER TABLE staff RENAME COLUMN ssn TO tax', 'SELECT tax FROM staff'], cleanup: ['ALTER TABLE IF EXISTS staff RENAME COLUMN tax TO ssn'] },
  { name: 'renaming its table', steps: ['ALTER TABLE staff RENAME TO crew', 'SELECT ssn FROM crew'], cleanup: ['ALTER TABLE IF EXISTS crew RENAME TO staff'] },
  {
    name: 'a type change USING the masked column',
    steps: ['ALTER TABLE staff ALTER COLUMN name TYPE text USING ssn', 'SELECT name FROM staff'],
    cleanup: ["UPDATE staff SET name = CASE id WHEN 1 THEN 'Cy' ELSE 'Di' END"],
  },
  {
    name: 'a generated column',
    steps: ['ALTER TABLE staff ADD COLUMN shadow text GENERATED ALWAYS AS (reverse(ssn)) STORED', 'SELECT shadow FROM staff'],
    cleanup: ['ALTER TABLE staff DROP COLUMN IF EXISTS shadow'],
  },
  { name: 'inheritance', steps: ['ALTER TABLE staff INHERIT roster', 'SELECT ssn FROM roster'], cleanup: ['ALTER TABLE staff NO INHERIT roster'] },
  {
    name: 'a rule DO ALSO',
    steps: ['CREATE RULE copy_out AS ON INSERT TO archive DO ALSO INSERT INTO sink SELECT id, ssn FROM staff', "INSERT INTO archive VALUES (7, 'n')", 'SELECT note FROM sink'],
    cleanup: ['DROP RULE IF EXISTS copy_out ON archive', 'DELETE FROM archive', 'DELETE FROM sink'],
  },
  {
    name: 'a rule DO INSTEAD',
    steps: ["INSERT INTO archive VALUES (1, 'a')", "CREATE RULE answer AS ON UPDATE TO archive DO INSTEAD SELECT ssn || '' AS v FROM staff", "UPDATE archive SET note = 'x' WHERE id = 1"],
    cleanup: ['DROP RULE IF EXISTS answer ON archive', 'DELETE FROM archive'],
  },
  {
    name: 'a function created and used in the same message',
    steps: ["CREATE FUNCTION fresh() RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'SELECT s' || 'sn FROM st' || 'aff'; END $$; SELECT fresh()"],
    cleanup: ['DROP FUNCTION IF EXISTS fresh()'],
  },
  {
    name: 'a function whose body reads the masked column',
    steps: ["CREATE FUNCTION body_copy() RETURNS void LANGUAGE sql AS $$ INSERT INTO sink SELECT id, ssn FROM staff $$", 'SELECT body_copy()', 'SELECT note FROM sink'],
    cleanup: ['DROP FUNCTION IF EXISTS body_copy()', 'DELETE FROM sink'],
  },
  {
    name: 'a view made after a DDL in the same message is traced',
    steps: ["CREATE VIEW badge AS SELECT id, ssn AS label FROM staff; SELECT label || '' FROM badge"],
    cleanup: ['DROP VIEW IF EXISTS badge'],
  },
];

/** Harmless variations: the answer through the gateway is the answer direct. */
const HARMLESS: Attempt[] = [
  {
    name: 'PREPARE, EXECUTE, DEALLOCATE, the name PREPAREd again',
    steps: ['PREPARE h1 AS SELECT name FROM users ORDER BY id', 'EXECUTE h1', 'DEALLOCATE h1', 'PREPARE h1 AS SELECT id FROM users ORDER BY id', 'EXECUTE h1', 'DEALLOCATE ALL'],
  },
  { name: 'a PREPARE outlives a rollback', steps: ['BEGIN', 'PREPARE h2 AS SELECT upper(name) AS n FROM users ORDER BY id', 'ROLLBACK', 'EXECUTE h2', 'DEALLOCATE h2'] },
  {
    name: 'cursors: one before a savepoint survives its rollback, a WITH HOLD one its commit',
    // Each DECLARE of a name used before succeeds only if the target closed the cursor it named.
    steps: [
      'BEGIN',
      'DECLARE k1 CURSOR WITH HOLD FOR SELECT name FROM users ORDER BY id',
      'SAVEPOINT a',
      'DECLARE k2 CURSOR FOR SELECT id FROM users',
      'ROLLBACK TO a',
      'DECLARE k2 CURSOR FOR SELECT upper(name) AS n FROM users ORDER BY id',
      'FETCH ALL FROM k2',
      'FETCH 1 FROM k1',
      'ROLLBACK',
      'DECLARE k1 CURSOR WITH HOLD FOR SELECT id FROM users ORDER BY id',
      'FETCH ALL FROM k1',
      'BEGIN',
      'DECLARE k3 CURSOR WITH HOLD FOR SELECT lower(name) AS n FROM users ORDER BY id',
      'COMMIT',
      'FETCH ALL FROM k3',
      'CLOSE ALL',
    ],
  },
  { name: 'a protocol statement bound twice', steps: [parse('h3', 'SELECT upper(name) AS n FROM users ORDER BY id'), bindAndRun('h3'), bindAndRun('h3'), bindAndRun('h3', 'named')] },
  { name: 'a Bind of a statement PREPAREd in SQL over an unmasked column', steps: ['PREPARE h4 AS SELECT name FROM users ORDER BY id', bindAndRun('h4'), 'DEALLOCATE h4'] },
  { name: 'errors over unmasked columns keep their words', steps: ['EXPLAIN ANALYZE SELECT name::int FROM users', 'PREPARE h5 AS SELECT name::int FROM users', 'EXECUTE h5', 'DEALLOCATE h5'] },
  { name: 'settings from unmasked columns and constants', steps: ["SELECT set_config('application_name', name, false) FROM users WHERE id = 1", 'SHOW application_name', "SET application_name = 'job'", 'SHOW application_name'] },
  { name: 'a notification of an unmasked value', steps: ['LISTEN fine', "SELECT pg_notify('fine', name) FROM users WHERE id = 1", 'UNLISTEN fine'] },
  { name: 'renaming an unmasked column there and back', steps: ['ALTER TABLE archive RENAME COLUMN note TO remark', 'SELECT remark FROM archive', 'ALTER TABLE archive RENAME COLUMN remark TO note'] },
  { name: 'a generated column from an unmasked one', steps: ['ALTER TABLE staff ADD COLUMN loud text GENERATED ALWAYS AS (upper(name)) STORED', 'SELECT loud FROM staff ORDER BY id', 'ALTER TABLE staff DROP COLUMN loud'] },
  {
    name: 'a function whose body names no masked column is created',
    steps: ["CREATE FUNCTION twice(t text) RETURNS text LANGUAGE sql AS $$ SELECT t || t $$; SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'twice'", 'DROP FUNCTION twice(text)'],
  },
];

describe('PostgreSQL state as the target confirms it, masks that follow the column', () => {
  let target: Target;
  let db: GovernedDb;

  before(async () => {
    target = await startTarget();
    for (const sql of [
      'CREATE TABLE users (id int PRIMARY KEY, name text, ssn text)',
      "INSERT INTO users VALUES (1, 'Ada Lovelace', '536-22-4711'), (2, 'Bob Builder', '219-45-0001')",
      'CREATE TABLE staff (id int PRIMARY KEY, name text, ssn text)',
      "INSERT INTO staff VALUES (1, 'Cy', '536-22-4711'), (2, 'Di', '219-45-0001')",
      'CREATE TABLE checked (id int PRIMARY KEY, label text, ssn text)',
      "INSERT INTO checked VALUES (1, 'e', '536-22-4711'), (2, 'f', '219-45-0001')",
      'ALTER TABLE checked ADD CONSTRAINT ssn_is_a_number CHECK (ssn::int > 0) NOT VALID',
      "CREATE UNIQUE INDEX checked_ssn_digits ON checked ((replace(ssn, '-', '')))",
      'CREATE TABLE archive (id int, note text)',
      'CREATE TABLE sink (id int, note text)',
      'CREATE TABLE roster (id int, name text, ssn text)',
      "CREATE FUNCTION shout(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'value %', (SELECT ssn FROM users WHERE id = i); END $$",
      "CREATE FUNCTION whisper(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'value %', (SELECT ssn FROM users WHERE id = i); RETURN 1; END $$",
    ]) {
      await target.direct(sql);
    }
    db = await governDb(target.appUrl, RULES, 'approvals: { timeout: 1s }');
  });
  after(async () => {
    await db?.stop();
    await target?.stop();
  });

  /** A fresh session direct and one through the gateway, so that no attempt sees another's state. */
  async function both(attempt: Attempt): Promise<{ direct: string; governed: string }> {
    const direct = new pg.Client({ connectionString: target.appUrl });
    await direct.connect();
    let directSeen: string;
    try {
      directSeen = await transcript(direct, attempt.steps);
    } finally {
      await direct.end();
    }
    for (const sql of attempt.cleanup ?? []) await target.direct(sql);
    const governed = await db.client();
    let governedSeen: string;
    try {
      governedSeen = await transcript(governed, attempt.steps);
    } finally {
      await governed.end();
    }
    // What the gateway refused left nothing to clean up.
    for (const sql of attempt.cleanup ?? []) await target.direct(sql).catch(() => undefined);
    return { direct: directSeen, governed: governedSeen };
  }

  for (const [group, attempts] of [
    ['prepared statements, portals and cursors as the target holds them', STATE],
    ['errors and notices of a statement that reads a masked column anywhere', ERRORS],
    ['values moved into session state', SESSION],
    ['DDL that would undo a mask', DDL],
  ] as const) {
    describe(group, () => {
      for (const attempt of attempts) {
        test(attempt.name, async () => {
          const { direct, governed } = await both(attempt);
          assert.ok(leaked(direct), `direct, the attempt must leak: ${direct}`);
          const fragment = leaked(governed);
          assert.equal(fragment, undefined, `through the gateway "${fragment}" came back: ${governed}`);
        });
      }
    });
  }

  test('a PREPARE that failed does not lend its classes to the statement the target runs', async () => {
    const steps = ['PREPARE wipe AS DELETE FROM ledger', 'PREPARE wipe AS SELECT 1', 'EXECUTE wipe'];
    const fill = async () => {
      await target.direct('CREATE TABLE IF NOT EXISTS ledger (id int)');
      await target.direct('TRUNCATE ledger');
      await target.direct('INSERT INTO ledger VALUES (1), (2)');
    };
    const count = async () => (await target.direct('SELECT count(*)::int AS n FROM ledger')).rows[0].n as number;
    await fill();
    const direct = new pg.Client({ connectionString: target.appUrl });
    await direct.connect();
    await transcript(direct, steps);
    await direct.end();
    assert.equal(await count(), 0, 'direct, EXECUTE runs the DELETE');
    await fill();
    const governed = await db.client();
    const seen = await transcript(governed, [...steps, bindAndRun('wipe')]);
    await governed.end();
    assert.equal(await count(), 2, `through the gateway nothing was deleted: ${seen}`);
    assert.match(seen, /blocked by rule \\"no-bulk-writes\\"/);
  });

  test('a column renamed where the gateway did not see it keeps its mask, and so does its table', async () => {
    const c = await db.client();
    try {
      assert.deepEqual((await c.query('SELECT ssn FROM staff ORDER BY id')).rows, [{ ssn: '[masked]' }, { ssn: '[masked]' }]);
      await target.direct('ALTER TABLE staff RENAME COLUMN ssn TO tax');
      await target.direct('ALTER TABLE staff RENAME TO crew');
      assert.ok(leaked(JSON.stringify((await target.direct('SELECT tax FROM crew')).rows)), 'direct, the renamed column holds the values');
      // DDL through the gateway: its view of the catalog is read afresh, with the new names.
      await c.query('CREATE TEMP TABLE refreshed (a int)');
      const seen: unknown[] = [];
      for (const sql of ['SELECT tax FROM crew ORDER BY id', "SELECT tax || '' AS v FROM crew ORDER BY id", 'SELECT * FROM crew ORDER BY id']) seen.push((await c.query(sql)).rows);
      const copy = await runClient('psql', [db.url, '-X', '-c', 'COPY crew TO STDOUT']);
      assert.equal(copy.status, 0, copy.stderr);
      seen.push(copy.stdout);
      const fresh = await db.client();
      seen.push((await fresh.query('SELECT tax FROM crew ORDER BY id')).rows);
      await fresh.end();
      assert.equal(leaked(JSON.stringify(seen)), undefined, JSON.stringify(seen));
      assert.match(JSON.stringify(seen), /Cy/, 'the unmasked columns pass');
    } finally {
      await c.end();
      await target.direct('ALTER TABLE IF EXISTS crew RENAME TO staff');
      await target.direct('ALTER TABLE staff RENAME COLUMN tax TO ssn').catch(() => undefined);
    }
  });

  describe('harmless variations answer as they do direct', () => {
    for (const attempt of HARMLESS) {
      test(attempt.name, async () => {
        const { direct, governed } = await both(attempt);
        assert.equal(governed, direct);
      });
    }
  });
});
