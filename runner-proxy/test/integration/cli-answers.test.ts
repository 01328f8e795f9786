import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { builtInAdapters, builtInProtocols } from '../../src/adapters/index.js';
import { launch, shutdown } from '../../src/cli/launch.js';
import { RuleEngine } from '../../src/core/rules.js';
import { NO_IDENTITY } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';
import { PolicyError } from '../../src/base/errors.js';
import { govern } from '../fixtures/cli.js';

const quiet = { info: () => undefined, warn: () => undefined };
const env = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });

/** What the CLI answers when it is used wrongly or asked about its state: one sentence, the right exit. */
describe('the CLI’s answers', () => {
  let root: string;
  let policyFile: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'govern-answers-'));
    policyFile = join(root, 'govern.yml');
    writeFileSync(policyFile, 'version: 1\nrules:\n  - name: reviewed\n    approve: { sql: [ddl] }\napprovals: { via: cli, timeout: 5m }\n');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a misspelt flag gets one sentence with a suggestion and exit 2', async () => {
    const r = await govern(['start', '--polcy', policyFile], { env: env() });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'govern start: unknown option --polcy; did you mean --policy?\n');
    const far = await govern(['status', '--frobnicate'], { env: env() });
    assert.equal(far.stderr, 'govern status: unknown option --frobnicate; run "govern status --help" for its options\n');
    const missing = await govern(['verify', 'x', '--key'], { env: env() });
    assert.equal(missing.stderr, 'govern verify: --key needs a value; run "govern verify --help" for its options\n');
  });

  test('verify and replay name what is wrong with the directory', async () => {
    const gone = await govern(['verify', join(root, 'no-such-dir')], { env: env() });
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /^govern verify: \S+no-such-dir does not exist; give the directory the session was recorded in/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const replay = await govern(['replay', empty], { env: env() });
    assert.equal(replay.status, 1);
    assert.equal(replay.stdout, '');
    assert.equal(replay.stderr, `govern replay: ${empty} is not a session bundle: it has no events.jsonl\n`);
    const key = await govern(['verify', empty, '--key', 'nonsense'], { env: env() });
    assert.equal(key.status, 2);
    assert.equal(key.stderr, 'govern verify: --key must be the signing key printed by govern start, "ed25519:" and 43 base64url characters, not "nonsense"\n');
  });

  test('no message repeats its prefix', async () => {
    const r = await govern(['verify'], { env: env() });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'govern verify takes one session directory, such as ./govern-session\n');
  });

  test('a missing policy file is a sentence, not ENOENT', async () => {
    const r = await govern(['policy', 'check', join(root, 'nope.yml')], { env: env() });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `govern policy: the policy file ${join(root, 'nope.yml')} does not exist; check its path\n`);
    const start = await govern(['start', '--policy', join(root, 'nope.yml'), '--out', join(root, 'nope-out')], { env: env() });
    assert.ok(!/ENOENT/.test(start.stderr), start.stderr);
  });

  test('policy check and start agree on the protocols this build serves', async () => {
    const adapters = builtInAdapters();
    const file = join(root, 'protocols.yml');
    writeFileSync(
      file,
      'version: 1\nconnections:\n  box: { ssh: { host: deploy.internal, user: deploy, private_key: k, known_hosts: "deploy.internal ssh-ed25519 AAAA" }, export: BOX }\n  api: { http: { url: "https://api.example.com" }, export: API }\n  db: { postgres: { url: "postgresql://app:x@127.0.0.1:1/app" }, export: DB }\n',
    );
    const check = await govern(['policy', 'check', file], { env: env() });
    const unserved = ['ssh', 'http'].filter((p) => !adapters.has(p as never));
    if (unserved.length === 0) return assert.equal(check.status, 0, check.stderr);
    assert.equal(check.status, 1);
    for (const p of unserved) assert.match(check.stderr, new RegExp(`: connection "\\w+" uses ${p}, which this build of govern cannot serve \\(it serves ${[...adapters.keys()].join(', ')}\\)`));
    const start = await govern(['start', '--policy', file, '--out', join(root, 'protocols-out')], { env: env() });
    assert.equal(start.status, 1);
    assert.match(start.stderr, /which this build of govern cannot serve \(it serves /);
  });

  test('start prints identity and signing key and exports GOVERN_OUT; status and stop find the gateway through it', async () => {
    const out = join(root, 'daemon');
    const started = await govern(['start', '--policy', policyFile, '--out', out], { env: env(), timeoutMs: 20_000 });
    assert.equal(started.status, 0, started.stderr);
    assert.match(started.stderr, /govern start: gateway ready \(pid \d+\); identity none \(the policy has no identity section\); signing key ed25519:[\w-]{43}; bundle in /);
    const exported = /^export GOVERN_OUT='([^']+)'$/m.exec(started.stdout)?.[1];
    assert.equal(exported, out);
    const status = await govern(['status'], { env: { ...env(), GOVERN_OUT: exported }, cwd: root });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /nothing waits for approval/);
    const stopped = await govern(['stop'], { env: { ...env(), GOVERN_OUT: exported }, cwd: root });
    assert.equal(stopped.status, 0, stopped.stderr);
    const again = await govern(['stop'], { env: { ...env(), GOVERN_OUT: exported }, cwd: root });
    assert.equal(again.status, 0);
    assert.equal(again.stderr, `govern stop: the gateway of ${out} has already stopped; its signed bundle is in ${out} (open report.html, or run govern verify ${out})\n`);
  });

  test('status shows how long a held operation has left and the command that approves it', async () => {
    const out = join(root, 'held');
    const launched = await launch({ policyPath: policyFile, outDir: out, tokenEnv: undefined, env: {}, log: quiet });
    const held = launched.gateway.governor.decide({ connection: 'db', protocol: 'postgres', text: 'ALTER TABLE t ADD c int', classes: new Set(['ddl', 'alter']), writes: true });
    let text = '';
    for (let i = 0; i < 50 && !/apr_/.test(text); i++) text = (await govern(['status'], { env: { ...env(), GOVERN_OUT: out } })).stdout;
    const id = /(apr_[0-9a-f]{10})/.exec(text)![1]!;
    assert.match(text, new RegExp(`${id} {2}db {2}rule reviewed {2}waiting \\d+ s, (29\\d|300) s left before it is denied {2}ALTER TABLE t ADD c int`));
    assert.match(text, new RegExp(`release it: govern approve ${id} {4}refuse it: govern deny ${id}\\n`));
    const approved = await govern(['approve', id], { env: { ...env(), GOVERN_OUT: out } });
    assert.equal(approved.status, 0, approved.stderr);
    assert.equal((await held).allowed, true);
    await shutdown(launched, 'test');
  });

  test('the block names the class that matched', () => {
    const policy = parsePolicy('p.yml', Buffer.from('version: 1\nrules:\n  - name: no-destruction\n    block: { sql: [drop, truncate] }\n'), { env: {}, resolveVariables: true, protocols: builtInProtocols() });
    const d = new RuleEngine(policy).evaluate({ connection: 'db', protocol: 'postgres', text: 'DROP TABLE t', classes: new Set(['ddl', 'drop']), writes: true }, NO_IDENTITY);
    assert.equal(d.reason, 'blocked by rule "no-destruction" (class drop)');
  });

  test('users.ssn[ is not a column glob', () => {
    assert.throws(
      () => parsePolicy('p.yml', Buffer.from('version: 1\nrules:\n  - name: pii\n    mask: { columns: ["users.ssn["] }\n'), { env: {}, resolveVariables: true, protocols: builtInProtocols() }),
      (e: PolicyError) => /"users\.ssn\[" is not a table\.column name or glob/.test(e.message),
    );
  });
});
