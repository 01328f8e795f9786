import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openBrowser } from '../runner-proxy/test/fixtures/browser.js';
import { syntheticEvents } from '../runner-proxy/test/fixtures/sessions.js';
import { reportPage } from '../runner-proxy/src/recording/report.js';
import { SessionViewBuilder } from '../runner-proxy/src/recording/session-view.js';

export interface ReportFigures {
  operations: number;
  eventsBytes: number;
  reportBytes: number;
  buildMs: number;
  /** From navigation to the first page of the table on screen, per run. */
  readyMs: number[];
  /** From navigation until a click on a group has opened its executions, per run. */
  interactiveMs: number[];
  /** The same browser loading an empty file: what any page costs. */
  blankMs: number[];
}

/**
 * report.html of a session of `operations` (two blocked among them) in headless Chromium: how long
 * until its first screen (headline, exceptions, grouped statements) shows, and until it answers a
 * click on a group; the baseline is an empty page in the same browser.
 */
export async function benchReport(operations = 100_000, runs = 5): Promise<ReportFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'govern-bench-report-'));
  const browser = await openBrowser();
  try {
    const session = { operations, blocked: [operations / 2, operations - 1] };
    const eventsPath = join(dir, 'events.jsonl');
    // Streamed: a million events do not fit in one string.
    const out = createWriteStream(eventsPath);
    for (const e of syntheticEvents(session)) if (!out.write(`${JSON.stringify(e)}\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    const started = performance.now();
    const view = await SessionViewBuilder.read(eventsPath);
    const reportPath = join(dir, 'report.html');
    writeFileSync(
      reportPath,
      reportPage(
        {
          session_id: view.session!.id!,
          started_at: '2026-12-01T10:00:00.000Z',
          ended_at: '2026-12-01T10:05:00.000Z',
          end_reason: 'govern stop',
          identity: view.session!.identity!,
          policy: view.session!.policy!,
          connections: [{ name: 'db', protocol: 'postgres', export: 'DATABASE_URL', target: 'db.internal:5432/app' }],
          counts: { operations, allowed: operations - 2, masked_values: 0, blocked: 2, approved: 0, denied: 0, would_block: 0, would_hold: 0 },
          public_key: 'ed25519:AAAA',
          bundle_dir: 'govern-session',
        },
        view,
      ),
    );
    const buildMs = performance.now() - started;
    const blankPath = join(dir, 'blank.html');
    writeFileSync(blankPath, '<!doctype html><title>blank</title>');

    const page = await browser.context.newPage();
    const figures: ReportFigures = { operations, eventsBytes: statSync(eventsPath).size, reportBytes: statSync(reportPath).size, buildMs, readyMs: [], interactiveMs: [], blankMs: [] };
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      await page.goto(pathToFileURL(blankPath).href);
      figures.blankMs.push(performance.now() - t);
      t = performance.now();
      await page.goto(pathToFileURL(reportPath).href);
      await page.waitForSelector('html[data-ready="1"]', { timeout: 120_000 });
      figures.readyMs.push(performance.now() - t);
      await page.locator('#operations tr.group').first().click();
      await page.waitForSelector('#operations tr.executions tr.op', { timeout: 120_000 });
      figures.interactiveMs.push(performance.now() - t);
    }
    return figures;
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
