import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { builtInAdapters, builtInProtocols } from '../../src/adapters/index.js';
import type { Operation } from '../../src/policy/operation.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { NO_IDENTITY } from '../../src/identity/principal.js';
import { parsePolicy } from '../../src/policy/load.js';
import { incidentLines, jobSummaryHtml, summaryHeadline } from '../../src/recording/job-summary.js';
import { formatTimeline } from '../../src/recording/replay.js';
import { reportPage, scriptSafeJson } from '../../src/recording/report.js';
import type { RecordedEvent } from '../../src/recording/recorder.js';
import { Col, describeIncidents, fingerprint, groupStatements, SessionViewBuilder, type SessionView } from '../../src/recording/session-view.js';
import { verifyBundle } from '../../src/recording/verify.js';
import { syntheticEvents, syntheticView } from '../fixtures/sessions.js';

const facts = (view: SessionView) => ({
  mode: view.session!.policy!.mode,
  identity: view.session!.identity!,
  session_id: view.session!.id!,
  started_at: '2026-12-01T10:00:00.000Z',
  ended_at: '2026-12-01T10:05:00.000Z',
  public_key: 'ed25519:AAAA',
  bundle_dir: 'govern-session',
});
const MiB = 1024 * 1024;

describe('session view', () => {
  test('statements group by their shape: literals, numbers and lists become ?', () => {
    assert.equal(fingerprint("SELECT * FROM t WHERE id = 14 AND name = 'o''brien'"), 'SELECT * FROM t WHERE id = ? AND name = ?');
    assert.equal(fingerprint('SELECT * FROM t1 WHERE id IN (1, 2,3)'), 'SELECT * FROM t1 WHERE id IN (?)');
    assert.equal(fingerprint('GET /users/42/orders'), 'GET /users/?/orders');
    assert.equal(fingerprint('SELECT * FROM t WHERE id = $1 AND n > 20 LIMIT $2'), 'SELECT * FROM t WHERE id = $1 AND n > ? LIMIT $2', 'placeholders stay as written');
    const groups = groupStatements(syntheticView({ operations: 500, blocked: [7] }));
    assert.deepEqual(
      groups.map((g) => [g.fingerprint, g.count]),
      [
        ['SELECT id, email, total FROM orders WHERE id = ?', 489],
        ['UPDATE orders SET state = ? WHERE id = ?', 10],
        ['DROP TABLE audit_7', 1],
      ],
    );
  });
});

describe('incidents', () => {
  test('the report, the job summary, the job log and replay name them by the catalogue', () => {
    const ts = '2026-12-01T10:01:00.000Z';
    const incident = (seq: number, type: RecordedEvent['type'], fields: Record<string, unknown>): RecordedEvent => ({ seq, ts, prev: '', hash: '', type, ...fields });
    const events = [
      ...syntheticEvents({ operations: 3 }),
      incident(101, 'auth.failed', { connection: 'db', message: "the job's password for user \"app\" was wrong" }),
      incident(102, 'proxy.refused', { host: 'evil.example', port: 443 }),
      incident(103, 'auth.failed', { connection: 'api', message: 'a request without the secret path segment was refused' }),
      // Routine, and not an incident: SSH clients send LANG with every connection.
      incident(104, 'ssh.env.refused', { connection: 'deploy', name: 'LANG' }),
    ];
    const builder = new SessionViewBuilder();
    for (const e of events) builder.add(e);
    const view = builder.view;
    assert.deepEqual(view.incidents.map((x) => [x.type, x.message]), [
      ['auth.failed', `the job's password for user "app" was wrong`],
      ['proxy.refused', 'evil.example'],
      ['auth.failed', 'a request without the secret path segment was refused'],
    ]);
    assert.equal(describeIncidents(view), '3 incidents (2 authentication refused, 1 egress refused)');
    const page = reportPage({ ...facts(view), end_reason: 'stop', policy: view.session!.policy!, connections: [], counts: undefined as never }, view);
    assert.match(page, /<p class="incidents" id="incidents">3 incidents \(2 authentication refused, 1 egress refused\): refusals and failures/);
    assert.match(jobSummaryHtml(view, facts(view)), /<h3>3 incidents \(2 authentication refused, 1 egress refused\)<\/h3>.*<td>db<\/td><td>authentication refused<\/td>/s);
    assert.deepEqual(incidentLines(view), [
      `  ${ts} db: authentication refused: the job's password for user "app" was wrong`,
      `  ${ts} -: egress refused: evil.example`,
      `  ${ts} api: authentication refused: a request without the secret path segment was refused`,
    ]);
    const timeline = formatTimeline(events);
    assert.match(timeline, /#102 +- +WARNING egress refused: evil\.example/);
    assert.match(timeline, /#104 +deploy +WARNING environment variable refused: LANG/);
  });

  test('past 10,000 they are counted by type and not listed, so the report stays bounded', () => {
    const builder = new SessionViewBuilder();
    for (const e of syntheticEvents({ operations: 1 })) builder.add(e);
    for (let i = 0; i < 10_005; i++) builder.add({ seq: 100 + i, ts: '2026-12-01T10:01:00.000Z', prev: '', hash: '', type: 'http.malformed', connection: 'api', problem: 'HPE_INVALID_HEADER_TOKEN' });
    const view = builder.view;
    assert.equal(view.incidents.length, 10_000);
    assert.equal(describeIncidents(view), '10,005 incidents (10,005 malformed request)');
    const page = reportPage({ ...facts(view), end_reason: 'stop', policy: view.session!.policy!, connections: [], counts: undefined as never }, view);
    assert.match(page, /the first 10,000 listed below \(<code>govern replay<\/code> shows every one\)/);
    assert.equal(incidentLines(view).at(-1), '  … and 9985 more: govern replay lists every one');
  });
});

describe('job summary', () => {
  test('a 302-operation job with 2 blocks shows both blocks first, with a headline', () => {
    const view = syntheticView({ operations: 302, blocked: [150, 301] });
    const html = jobSummaryHtml(view, { ...facts(view), artifact: { name: 'govern-session-migrate-1', url: 'https://github.com/acme/shop/actions/runs/42/artifacts/7' } });
    assert.match(html, /^<h2>govern BLOCKED \(enforce mode\): 302 operations, 300 allowed, 2 blocked, 294 values masked<\/h2>/);
    const exceptions = html.slice(html.indexOf('<h3>Exceptions (2)</h3>'), html.indexOf('<h3>Top statements'));
    assert.match(exceptions, /#\d+<\/td><td>db<\/td><td><code>DROP TABLE audit_150<\/code><\/td><td>no-destruction/);
    assert.match(exceptions, /DROP TABLE audit_301/);
    assert.match(html, /× 294<\/td><td>db<\/td><td><code>SELECT id, email, total FROM orders WHERE id = \?<\/code>/);
    assert.match(html, /<tr><td>email<\/td><td>294<\/td><\/tr>/, 'masked counts by type');
    assert.match(html, /<a href="https:\/\/github.com\/acme\/shop\/actions\/runs\/42\/artifacts\/7">govern-session-migrate-1<\/a>/);
    assert.match(html, /govern verify govern-session-migrate-1 --key ed25519:AAAA/);
    assert.ok(html.indexOf('Exceptions') < html.indexOf('Top statements'));
  });

  test('a 100,000-operation job stays under 1 MiB, even when every operation is an exception', () => {
    const big = syntheticView({ operations: 100_000, blocked: [5, 99_999] });
    const html = jobSummaryHtml(big, facts(big));
    assert.ok(Buffer.byteLength(html) < MiB, `${Buffer.byteLength(html)} bytes`);
    assert.match(html, /DROP TABLE audit_99999/);
    const allBlocked = syntheticView({ operations: 100_000, blocked: Array.from({ length: 100_000 }, (_, i) => i), mode: 'observe' });
    const worst = jobSummaryHtml(allBlocked, facts(allBlocked));
    assert.ok(Buffer.byteLength(worst) < MiB, `${Buffer.byteLength(worst)} bytes`);
    assert.match(worst, /more exceptions, by statement:/);
  });

  test('observe mode shows what would have been blocked', () => {
    const view = syntheticView({ operations: 40, blocked: [3, 4, 5], mode: 'observe' });
    assert.equal(summaryHeadline(view, 'observe'), 'govern PASS (observe mode): 40 operations, 37 allowed, 3 would be blocked, 37 values masked');
    assert.match(jobSummaryHtml(view, facts(view)), /<td>would block<\/td><td>#\d+<\/td><td>db<\/td><td><code>DROP TABLE audit_3/);
  });
});

describe('observe mode is counted everywhere', () => {
  let root: string;
  before(() => (root = mkdtempSync(join(tmpdir(), 'govern-observe-'))));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('manifest, report and replay count would-block and would-hold', async () => {
    const policy = parsePolicy(
      'p.yml',
      Buffer.from('version: 1\nmode: observe\nrules:\n  - name: no-drop\n    block: { sql: [drop] }\n  - name: reviewed\n    approve: { sql: [delete] }\n'),
      { env: {}, resolveVariables: true, protocols: builtInProtocols() },
    );
    const dir = join(root, 'observe');
    const gateway = await Gateway.start({ policy, principal: NO_IDENTITY, outDir: dir, adapters: builtInAdapters(), log: { info: () => undefined, warn: () => undefined } });
    const op = (text: string, classes: string[]): Operation => ({ connection: 'db', protocol: 'postgres', text, classes: new Set(classes), writes: classes[0] !== 'read' });
    for (const [text, classes] of [['SELECT 1', ['read']], ['DROP TABLE t', ['drop', 'ddl']], ['DELETE FROM t', ['delete', 'write']]] as const) {
      const ruling = await gateway.governor.decide(op(text, [...classes]));
      assert.equal(ruling.allowed, true, 'observe mode lets everything through');
    }
    const manifest = await gateway.stop('test');
    assert.equal(manifest.counts.would_block, 1);
    assert.equal(manifest.counts.would_hold, 1);
    const view = await SessionViewBuilder.read(join(dir, 'events.jsonl'));
    const report = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(report, /would block 1<\/span>/);
    assert.match(report, /would hold 1<\/span>/);
    assert.equal(summaryHeadline(view, 'observe'), 'govern PASS (observe mode): 3 operations, 1 allowed, 1 would be blocked, 1 would wait for approval, 0 values masked');
    const timeline = formatTimeline(verifyBundle(dir).events);
    assert.match(timeline, /DROP TABLE t {2}→ WOULD BLOCK \(observe: let through\) by no-drop/);
    assert.match(timeline, /session end: test; 3 operations: 3 allowed, 0 blocked, 0 approved, 0 denied, 1 would block, 1 would hold/);
  });
});

describe('report.html', () => {
  test('data in the page cannot close its script element', () => {
    const json = scriptSafeJson({ text: '</script><img src=x onerror=alert(1)><!--' });
    assert.ok(!/[<>]/.test(json));
    assert.deepEqual(JSON.parse(json), { text: '</script><img src=x onerror=alert(1)><!--' });
    const view = syntheticView({ operations: 3 });
    view.strings[view.ops[0]![Col.Text]!] = "SELECT '</script><script>alert(1)</script>' AS x";
    view.strings[view.ops[1]![Col.Text]!] = '</script><script>alert(2)</script>';
    const page = reportPage({ ...facts(view), end_reason: 'stop', policy: view.session!.policy!, connections: [], counts: undefined as never }, view);
    assert.equal(page.match(/<script/g)!.length, 4, 'only the three data blocks and the viewer');
    assert.ok(page.includes('\\u003c/script\\u003e\\u003cscript\\u003ealert('), 'the texts are in the page, escaped');
  });
});
