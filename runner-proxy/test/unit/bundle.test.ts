import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Operation } from '../../src/policy/operation.js';
import { builtInAdapters, builtInProtocols } from '../../src/adapters/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { NO_IDENTITY } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';
import { Recorder } from '../../src/recording/recorder.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { formatTimeline } from '../../src/recording/replay.js';

const quiet = { info: () => undefined, warn: () => undefined };
const POLICY = parsePolicy(
  'p.yml',
  Buffer.from('version: 1\nrules:\n  - name: no-drop\n    block: { sql: [drop] }\n  - name: pii\n    mask: { types: [email] }\n'),
  { env: {}, resolveVariables: true, protocols: builtInProtocols() },
);
const op = (text: string, classes: string[]): Operation => ({ connection: 'db', protocol: 'postgres', text, classes: new Set(classes), writes: false });

/** Records a small real session with the gateway core and returns its directory. */
async function recordSession(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  const gateway = await Gateway.start({ policy: POLICY, principal: NO_IDENTITY, outDir: dir, adapters: builtInAdapters(), log: quiet });
  const { governor } = gateway;
  for (let i = 0; i < 5; i++) {
    const ruling = await governor.decide(op(`SELECT ${i}`, ['read']));
    governor.completed(ruling, { rows: i, bytes: 10 * i, maskedValues: 1, durationMs: 0.5 });
  }
  const blocked = await governor.decide(op('DROP TABLE users', ['drop', 'ddl']));
  assert.equal(blocked.allowed, false);
  await gateway.stop('test');
  return dir;
}

function lines(dir: string): string[] {
  return readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, -1);
}
function rewrite(dir: string, newLines: string[]): void {
  writeFileSync(join(dir, 'events.jsonl'), newLines.map((l) => `${l}\n`).join(''));
}

describe('session bundle', () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'govern-bundle-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a recorded session verifies, with counts and the chain head in the signed manifest', async () => {
    const dir = await recordSession(root, 'ok');
    const result = verifyBundle(dir);
    assert.equal(result.ok, true, result.problem);
    const m = result.manifest!;
    assert.deepEqual(m.counts, { operations: 6, allowed: 5, masked_values: 5, blocked: 1, approved: 0, denied: 0, would_block: 0, would_hold: 0 });
    assert.equal(m.events.count, result.events.length);
    assert.match(m.public_key, /^ed25519:[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(result.events.map((e) => e.type).slice(0, 2), ['session.start', 'operation']);
    assert.equal(result.events.at(-1)!.type, 'session.end');
    assert.equal(verifyBundle(dir, { expectedKey: m.public_key }).ok, true);
    assert.ok(m.files['report.html'], 'the report is signed with the rest');
    const report = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(report, /^<!doctype html>/);
    assert.match(report, /<span id="run-verdict" class="run run-blocked">blocked<\/span>/);
    assert.match(report, /"DROP TABLE users"/, 'the operations travel in the page itself');
  });

  test('the policy in force is kept in the bundle as read, its digest the one recorded at start', async () => {
    const dir = await recordSession(root, 'policy');
    const copy = readFileSync(join(dir, 'policy.yml'));
    assert.deepEqual(copy, POLICY.source);
    const { manifest, events } = verifyBundle(dir);
    assert.deepEqual(manifest!.policy, { file: 'p.yml', sha256: POLICY.sha256, mode: 'enforce', bundled: 'policy.yml' });
    assert.equal(manifest!.files['policy.yml'], POLICY.sha256);
    assert.equal((events[0]!.policy as { sha256: string }).sha256, POLICY.sha256);
    writeFileSync(join(dir, 'policy.yml'), 'version: 1\n');
    assert.match(verifyBundle(dir).problem!, /policy\.yml does not match its digest in the manifest/);
  });

  test('a policy with variables is kept with the variables unexpanded', async () => {
    const source = Buffer.from('version: 1\nconnections:\n  db:\n    export: DATABASE_URL\n    postgres: { url: "postgres://app:${DB_PASSWORD}@127.0.0.1:5432/app" }\n');
    const policy = parsePolicy('v.yml', source, { env: { DB_PASSWORD: 'hunter2-secret' }, resolveVariables: true, protocols: builtInProtocols() });
    const dir = join(root, 'variables');
    const gateway = await Gateway.start({ policy: { ...policy, connections: [] }, principal: NO_IDENTITY, outDir: dir, adapters: builtInAdapters(), log: quiet });
    await gateway.stop('test');
    const copy = readFileSync(join(dir, 'policy.yml'), 'utf8');
    assert.match(copy, /app:\$\{DB_PASSWORD\}@/);
    for (const file of ['policy.yml', 'manifest.json', 'events.jsonl', 'report.html']) assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), /hunter2-secret/, file);
    assert.equal(verifyBundle(dir).ok, true);
  });

  test('an edited report fails verification', async () => {
    const dir = await recordSession(root, 'report');
    writeFileSync(join(dir, 'report.html'), '<p>all fine</p>');
    assert.match(verifyBundle(dir).problem!, /report\.html does not match its digest in the manifest/);
  });

  test('an edited event is named', async () => {
    const dir = await recordSession(root, 'edited');
    const l = lines(dir);
    l[3] = l[3]!.replace('SELECT 2', 'SELECT 9');
    rewrite(dir, l);
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.equal(r.brokenSeq, 4);
    assert.match(r.problem!, /event 4 \(operation\) was altered/);
  });

  test('a deleted event breaks the chain at the next one', async () => {
    const dir = await recordSession(root, 'deleted');
    const l = lines(dir);
    l.splice(2, 1);
    rewrite(dir, l);
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.equal(r.brokenSeq, 3);
  });

  test('reordered events are named', async () => {
    const dir = await recordSession(root, 'reordered');
    const l = lines(dir);
    [l[4], l[5]] = [l[5]!, l[4]!];
    rewrite(dir, l);
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.equal(r.brokenSeq, 5);
    assert.match(r.problem!, /removed or reordered/);
  });

  test('an appended event is noticed, even with a valid chain', async () => {
    const dir = await recordSession(root, 'appended');
    const l = lines(dir);
    const last = JSON.parse(l.at(-1)!) as { seq: number; hash: string };
    const { canonical, chainHash } = await import('../../src/recording/canonical.js');
    const body = { seq: last.seq + 1, ts: new Date().toISOString(), type: 'operation', text: 'SELECT forged', prev: last.hash };
    appendFileSync(join(dir, 'events.jsonl'), `${JSON.stringify({ ...body, hash: chainHash(last.hash, canonical(body)) })}\n`);
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.equal(r.brokenSeq, last.seq + 1);
    assert.match(r.problem!, /added afterwards/);
  });

  test('a removed tail is noticed', async () => {
    const dir = await recordSession(root, 'tail');
    rewrite(dir, lines(dir).slice(0, -2));
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.match(r.problem!, /events from \d+ on are missing/);
  });

  test('a truncated file is named', async () => {
    const dir = await recordSession(root, 'truncated');
    const text = readFileSync(join(dir, 'events.jsonl'), 'utf8');
    writeFileSync(join(dir, 'events.jsonl'), text.slice(0, -40));
    const r = verifyBundle(dir);
    assert.equal(r.ok, false);
    assert.match(r.problem!, /truncated: event \d+ is cut off/);
  });

  test('an altered manifest fails its signature, and another key is refused', async () => {
    const dir = await recordSession(root, 'manifest');
    const path = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { counts: { blocked: number }; public_key: string };
    assert.equal(verifyBundle(dir, { expectedKey: 'ed25519:AAAA' }).ok, false);
    manifest.counts.blocked = 0;
    writeFileSync(path, JSON.stringify(manifest));
    assert.match(verifyBundle(dir).problem!, /signature does not verify/);
  });

  test('a file slipped into the bundle is noticed', async () => {
    const dir = await recordSession(root, 'extra');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    assert.match(verifyBundle(dir).problem!, /notes\.txt is in the bundle but not in the signed manifest/);
  });

  test('a session never finalized says so', async () => {
    const dir = join(root, 'unfinished');
    const recorder = await Recorder.create(dir);
    recorder.append('session.start', {});
    await recorder.close();
    assert.match(verifyBundle(dir).problem!, /manifest\.json is missing: the gateway never finalized this session \(1 events recorded\)/);
  });

  test('a directory that already holds a session is refused', async () => {
    const dir = await recordSession(root, 'reuse');
    await assert.rejects(Recorder.create(dir), /already holds a recorded session/);
  });

  test('replay prints a readable timeline', async () => {
    const dir = await recordSession(root, 'replay');
    const text = formatTimeline(verifyBundle(dir).events);
    assert.match(text, /session start: no identity, policy p\.yml \(enforce\)/);
    assert.match(text, /DROP TABLE users {2}→ BLOCK by no-drop/);
    assert.match(text, /↳ #2 0 rows, 0 bytes, 1 masked, 0\.5 ms/);
  });
});

describe('canonical form', () => {
  test('strings and numbers read exactly as JSON.stringify writes them', async () => {
    const { canonical } = await import('../../src/recording/canonical.js');
    const strings = ['', 'plain', 'say "hi"', 'back\\slash', 'tab\tnew\nline\u0000', '\u001f\u007f', 'é ☃ 𝄞', '\ud800 lone', 'lone \udfff', 'ÿ'];
    for (const text of strings) assert.equal(canonical(text), JSON.stringify(text), `the string ${JSON.stringify(text)}`);
    for (const number of [0, -0, 1, -17, 0.1, 0.123, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, NaN, Infinity, -Infinity]) {
      assert.equal(canonical(number), JSON.stringify(number), `the number ${number}`);
    }
    assert.equal(canonical({ b: [1, 'x\n', null, undefined, true], a: { d: -0, c: 'q"' } }), '{"a":{"c":"q\\"","d":0},"b":[1,"x\\n",null,null,true]}');
  });

  test('events of one kind with keys in another order or set are written in canonical order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-canonical-'));
    try {
      const recorder = await Recorder.create(join(dir, 'b'));
      recorder.append('results', { op: 1, rows: 2 });
      recorder.append('results', { rows: 3, op: 1, tag: 'SELECT 3' });
      recorder.append('results', { op: 1, rows: undefined, error: 'x' });
      await recorder.close();
      const { canonical } = await import('../../src/recording/canonical.js');
      for (const line of readFileSync(join(dir, 'b', 'events.jsonl'), 'utf8').trim().split('\n')) {
        const { hash, ...body } = JSON.parse(line) as Record<string, unknown>;
        assert.equal(line, `${canonical(body).slice(0, -1)},"hash":"${hash as string}"}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('failing closed when the disk is full', () => {
  let mount: string | undefined;
  before(() => {
    const dir = mkdtempSync(join(tmpdir(), 'govern-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      mount = dir;
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  after(() => {
    if (!mount) return;
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  test('once a write fails, every new operation is refused', async (t) => {
    if (!mount) return t.skip('needs root to mount a small tmpfs');
    const gateway = await Gateway.start({ policy: POLICY, principal: NO_IDENTITY, outDir: join(mount, 's'), adapters: builtInAdapters(), log: quiet });
    const { governor } = gateway;
    // The tmpfs's 16 pages less the two the bundle holds already (events.jsonl and policy.yml).
    writeFileSync(join(mount, 'filler'), Buffer.alloc(56 * 1024));
    const big = 'x'.repeat(8 * 1024);
    let refused;
    for (let i = 0; i < 50 && !refused; i++) {
      const ruling = await governor.decide(op(`SELECT '${big}'`, ['read']));
      await governor.recorder.durable().catch(() => undefined);
      if (!ruling.allowed) refused = ruling;
    }
    assert.ok(refused, 'an operation was refused once the disk filled');
    assert.equal(refused.rule, 'recording-failed');
    assert.match(refused.message!, /cannot write the session recording .*new operations are refused/);
    const next = await governor.decide(op('SELECT 1', ['read']));
    assert.equal(next.allowed, false);
    const blocked = await governor.decide(op('DROP TABLE x', ['drop']));
    assert.equal(blocked.allowed, false);
    await gateway.stop('disk full').catch(() => undefined);
  });
});
