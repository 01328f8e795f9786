import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REPO_ROOT } from '../fixtures/cli.js';
import { runClient } from '../fixtures/postgres.js';

// The README's first command on a machine with no PostgreSQL server: the demo embeds one.
test('the demo runs end to end with the embedded PostgreSQL', async () => {
  const r = await runClient(process.execPath, [`${REPO_ROOT}examples/demo/run-demo.js`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, GOVERN_DEMO_EMBEDDED: '1' },
    timeoutMs: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /target: embedded PostgreSQL \(PGlite, WebAssembly\)/);
  assert.match(r.stdout, /Ada Lovelace {2}\[masked:email\] +\[masked\] +\[masked\]/);
  assert.match(r.stdout, /refused: govern: blocked by rule "no-destruction" \(class drop\) \(SQLSTATE 42501\)/);
  assert.match(r.stdout, /OIDC token rejected: no trust entry matched: ref was refs\/heads\/experiment/);
  assert.match(r.stdout, /session: ok — \d+ events/);
  assert.match(r.stdout, /tampered: FAILED — event \d+ \(operation\) was altered/);
  assert.match(r.stdout, /Open \S+session\/report\.html in a browser to audit the session/);
  assert.ok(!r.stdout.includes('prod-db-password-do-not-leak'), 'the real password never shows');
});
