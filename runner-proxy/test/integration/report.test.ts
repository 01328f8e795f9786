import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Page } from 'playwright-core';
import { openBrowser, type Browser } from '../fixtures/browser.js';
import { governDb, startTarget, type Target } from '../fixtures/pg-gateway.js';

/** Screenshots land beside the compiled tests, for a person to look at. */
const SHOTS = resolve('build/test-output');
const HOSTILE = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;

/** Waits for the viewer's debounced search to show: page functions cannot run under the page's CSP. */
async function textMatches(page: Page, selector: string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 50 && !pattern.test((await page.textContent(selector)) ?? ''); i++) await page.waitForTimeout(50);
}

describe('report.html of a real PostgreSQL session, in headless Chromium', () => {
  let target: Target;
  let browser: Browser;
  let reportPath: string;
  let sessionId: string;
  let page: Page;
  const dialogs: string[] = [];
  /** What the browser says on its console: a CSP violation would show here. */
  const consoleMessages: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    target = await startTarget();
    const db = await governDb(
      target.appUrl,
      '  - name: no-destruction\n    block: { sql: [drop, truncate] }\n  - name: pii\n    mask: { columns: ["people.email"] }\n  - name: ssn\n    mask: { types: [us_ssn] }\n  - name: reviewed-deletes\n    approve: { sql: [delete] }',
      'approvals: { via: cli, timeout: 1m }',
    );
    sessionId = db.gateway.sessionId;
    const client = await db.client();
    await client.query('CREATE TABLE people (id int PRIMARY KEY, email text)');
    await client.query("INSERT INTO people SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 40) g");
    for (let id = 1; id <= 30; id++) await client.query(`SELECT id, email FROM people WHERE id = ${id}`);
    const named = new pg.Client({ connectionString: `${db.url}?application_name=nightly-migrate` });
    await named.connect();
    for (let id = 1; id <= 3; id++) await named.query('SELECT email FROM people WHERE id = $1', [id]);
    await named.end();
    await client.query(`SELECT '${HOSTILE.replaceAll("'", "''")}' AS note`);
    await client.query("UPDATE people SET email = 'x@example.com' WHERE id <= 7");
    await client.query("SELECT 'ssn 536-22-4711 and 536-22-4712' AS found_in_text");
    await assert.rejects(client.query('DROP TABLE people'), /no-destruction/);
    const held = client.query('DELETE FROM people WHERE id = 40');
    let pending = db.gateway.status().pending;
    for (let i = 0; i < 100 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pending = db.gateway.status().pending;
    }
    db.gateway.governor.approvals.decide(pending[0]!.id, true, 'cli:alice', 'ticket OPS-12 <b>checked</b>');
    assert.equal((await held).rowCount, 1);
    reportPath = join(db.gateway.outDir, 'report.html');
    await db.stop();
    browser = await openBrowser();
    page = await browser.context.newPage();
    page.on('console', (m) => consoleMessages.push(m.text()));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // Nothing may leave the page: a request would fail the test.
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(reportPath).href);
    await page.waitForSelector('html[data-ready="1"]');
  });
  after(async () => {
    await browser?.close();
    await target?.stop();
  });

  test('the header states the run verdict, mode, identity, session, times and how to verify', async () => {
    await page.screenshot({ path: join(SHOTS, 'report-header.png'), fullPage: false });
    assert.equal(await page.textContent('#run-verdict'), 'blocked');
    assert.equal(await page.textContent('#mode'), 'enforce');
    assert.equal(await page.textContent('#session-id'), sessionId);
    assert.match((await page.textContent('#identity'))!, /none/);
    assert.match((await page.textContent('#duration'))!, /\d+(\.\d)? (ms|s)/);
    assert.match((await page.textContent('#connections'))!, /db postgres .* as \$DATABASE_URL/);
    assert.match((await page.textContent('#signature'))!, /govern verify \S+ --key ed25519:[A-Za-z0-9_-]{43}/);
    assert.match((await page.textContent('#tally'))!, /block 1/);
  });

  test('exceptions come first: the blocked DROP is above the statements', async () => {
    const first = page.locator('#exceptions tr.op').first();
    assert.match((await first.textContent())!, /block.*DROP TABLE people.*no-destruction/);
    assert.equal(await page.locator('#exceptions tr.op').count(), 2);
    const approved = page.locator('#exceptions tr.op').nth(1);
    assert.match((await approved.textContent())!, /approved.*DELETE FROM people WHERE id = 40.*reviewed-deletes/);
    await approved.click();
    const detail = (await approved.locator('xpath=following-sibling::tr[1]').textContent())!;
    assert.match(detail, /approvalapr_[0-9a-f]{10} via cli/);
    assert.match(detail, /requested bythe job \(no identity\)/);
    assert.match(detail, /decisionapproved by cli:alice/);
    assert.match(detail, /reasonticket OPS-12 <b>checked<\/b>/, 'the reason shows as text');
    assert.match(detail, /waited\d+\.\d s/);
    assert.match(detail, /command tagDELETE 1rows1 affected/);
    await page.screenshot({ path: join(SHOTS, 'report-approval.png'), fullPage: false });
    await approved.click();
    const order = await page.evaluate("document.getElementById('exceptions').compareDocumentPosition(document.getElementById('operations')) & Node.DOCUMENT_POSITION_FOLLOWING");
    assert.ok(order, 'the exceptions section precedes the statements');
  });

  test('statements are grouped by fingerprint and expand to each execution', async () => {
    const group = page.locator('#operations tr.group', { hasText: 'SELECT id, email FROM people WHERE id = ?' });
    assert.match((await group.textContent())!, /× 30/);
    await group.click();
    const executions = page.locator('#operations tr.executions tr.op');
    assert.equal(await executions.count(), 30);
    assert.match((await executions.nth(4).textContent())!, /WHERE id = 5/);
    await page.screenshot({ path: join(SHOTS, 'report-grouped.png'), fullPage: true });
  });

  test('an operation expands to its text, classes, rule, tag, rows and masked values', async () => {
    await page.uncheck('#group-toggle');
    const update = page.locator('#operations tr.op', { hasText: 'UPDATE people' });
    await update.click();
    const detail = (await page.locator('#operations tr.detail-row').first().textContent())!;
    assert.match(detail, /UPDATE people SET email = '\[masked:email\]' WHERE id <= 7/, 'the literal was masked in the record');
    assert.match(detail, /classes.*update/);
    assert.match(detail, /command tagUPDATE 7/);
    assert.match(detail, /rows7 affected/);
    const select = page.locator('#operations tr.op', { hasText: 'WHERE id = 3' }).first();
    await select.click();
    assert.match((await select.locator('xpath=following-sibling::tr[1]').textContent())!, /rows1 returned.*masked values1 \(people\.email 1\)/);
    const detected = page.locator('#operations tr.op', { hasText: 'found_in_text' });
    await detected.click();
    assert.match((await detected.locator('xpath=following-sibling::tr[1]').textContent())!, /masked values2 \(us_ssn 2\)/);
    await page.screenshot({ path: join(SHOTS, 'report-expanded.png'), fullPage: true });
    await page.check('#group-toggle');
  });

  test('filters by verdict, connection, rule, class and search', async () => {
    await page.selectOption('#filter-verdict', 'block');
    assert.match((await page.textContent('#shown'))!, /^1 of \d+ operations$/);
    await page.selectOption('#filter-verdict', '');
    await page.selectOption('#filter-rule', 'no-destruction');
    assert.match((await page.textContent('#shown'))!, /^1 of /);
    await page.selectOption('#filter-rule', '');
    await page.selectOption('#filter-cls', 'ddl');
    assert.match((await page.locator('#operations').textContent())!, /CREATE TABLE people/);
    await page.selectOption('#filter-cls', '');
    await page.selectOption('#filter-connection', 'db');
    await page.fill('#search', 'where ID = 30');
    await textMatches(page, '#shown', /^1 of /);
    assert.match((await page.locator('#operations').textContent())!, /× 1.*WHERE id = \?/, 'searching is by substring, case-insensitive');
    await page.fill('#search', '');
    await page.selectOption('#filter-connection', '');
    await textMatches(page, '#shown', /^(\d+) of \1 /);
  });

  test('hostile statement text shows as text and runs nothing', async () => {
    await page.fill('#search', 'onerror');
    await textMatches(page, '#shown', /^1 of /);
    await page.uncheck('#group-toggle');
    const row = page.locator('#operations tr.op').first();
    assert.ok((await row.textContent())!.includes(HOSTILE));
    await row.click();
    assert.ok((await page.locator('#operations pre.full-text').first().textContent())!.includes(HOSTILE));
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.locator('script').count(), 4, 'the viewer and its three data blocks, nothing else');
    assert.deepEqual(dialogs, []);
    await page.screenshot({ path: join(SHOTS, 'report-escaped.png'), fullPage: false });
    const html = readFileSync(reportPath, 'utf8');
    assert.ok(!html.includes('<img'), 'no markup from the session in the file');
  });

  test('the policy in force, the job binding, and a verify command for the downloaded artifact', async () => {
    assert.match((await page.textContent('#policy-text summary'))!, /the policy in force/);
    const policy = (await page.textContent('#policy-text pre'))!;
    assert.match(policy, /name: no-destruction\n\s+block: \{ sql: \[drop, truncate\] \}/);
    assert.match(policy, /url: "\$\{TARGET_URL\}"/, 'variables stay unexpanded');
    assert.match((await page.textContent('#job-binding'))!, /^absent: the runner offers no OIDC token service .*The signing key vouches only for itself\.$/);
    const verify = (await page.textContent('#signature code:last-of-type'))!;
    assert.match(verify, /^govern verify session --key ed25519:[A-Za-z0-9_-]{43}$/, 'a relative path: the artifact’s directory, not the runner’s');
  });

  test('who connected, from where, with which application_name', async () => {
    const clients = (await page.textContent('#clients'))!;
    assert.match(clients, /2 client connections: who connected, from where/);
    assert.match(clients, /db\s*postgres\s*127\.0\.0\.1:\d+\s*nightly-migrate/);
    assert.match(clients, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, 'absolute times');
  });

  test('a refused operation says what the job was told, and when, in absolute and relative time', async () => {
    // The tests before leave a search and the flat view behind.
    await page.fill('#search', '');
    await page.check('#group-toggle');
    await textMatches(page, '#shown', /^(\d+) of \1 /);
    const blocked = page.locator('#exceptions tr.op').first();
    assert.match((await blocked.textContent())!, /\d\d:\d\d:\d\d\.\d{3} \+\d\d:\d\d\.\d{3}/);
    await blocked.click();
    const detail = (await blocked.locator('xpath=following-sibling::tr[1]').textContent())!;
    assert.match(detail, /the job was toldblocked by rule "no-destruction" \(class (ddl, )?drop/);
    assert.match(detail, /event#\d+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(\+\d\d:\d\d\.\d{3}\)/);
    await blocked.click();
  });

  test('masking rules show per operation and in the rule filter; placeholders stay as written', async () => {
    const options = await page.locator('#filter-rule option').allTextContents();
    assert.ok(options.includes('pii'), `the rule filter offers the masking rule: ${options.join(', ')}`);
    await page.selectOption('#filter-rule', 'pii');
    const group = page.locator('#operations tr.group', { hasText: 'SELECT id, email FROM people WHERE id = ?' });
    assert.match((await group.textContent())!, /× 30/);
    await group.click();
    const execution = page.locator('#operations tr.executions tr.op').first();
    assert.match((await execution.textContent())!, /masked by pii/);
    await execution.click();
    const opened = (await page.locator('#operations tr.detail-row').first().textContent())!;
    assert.match(opened, /masking rulespii.*masked values1 \(people\.email 1\)/);
    assert.match(opened, /client#\d+ from 127\.0\.0\.1:\d+ connected at \d{4}-/, 'each operation names its client connection');
    await page.selectOption('#filter-rule', '');
    const placeholders = page.locator('#operations tr.group', { hasText: 'SELECT email FROM people WHERE id = $1' });
    assert.match((await placeholders.textContent())!, /× 3db/);
    await placeholders.click();
    const named = page.locator('#operations tr.executions tr.op').first();
    await named.click();
    assert.match((await named.locator('xpath=following-sibling::tr[1]').textContent())!, /client#\d+ from 127\.0\.0\.1:\d+ as nightly-migrate connected at/);
    await placeholders.click();
  });

  test('nothing that decides meaning is cut off, and the CSP allows no inline code but the page’s own', async () => {
    await page.uncheck('#group-toggle');
    const cut = await page.evaluate("[...document.querySelectorAll('td.verdicts, td.wrap')].filter((td) => td.scrollWidth > td.clientWidth + 1).length");
    assert.equal(cut, 0, 'verdict and rule cells show their whole text');
    assert.match((await page.locator('#exceptions tr.op').nth(1).textContent())!, /\u2714 approved/);
    await page.check('#group-toggle');
    const csp = readFileSync(reportPath, 'utf8').match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)![1]!;
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]{43}='; /);
    assert.deepEqual(consoleMessages.filter((m) => /Content Security Policy|Refused to/.test(m)), []);
  });
});
