import { describeRun, recordedRun, type JobBinding } from '../identity/binding.js';
import { eventLabel } from './events.js';
import { describeIdentity, escapeHtml, formatDuration, verifyCommand } from './report.js';
import { Col, countIncidents, countVerdicts, describeIncidents, EXCEPTIONS, groupStatements, runVerdict, VERDICTS, type SessionView } from './session-view.js';

/**
 * The job summary: the run in one headline, then every exception (however many allowed operations
 * surround them), the statements most run, masked counts, where the bundle is and how to check it.
 * GitHub refuses a step summary over 1 MiB, so the listing is budgeted and what does not fit is grouped.
 */

/** GitHub's limit for one step's summary is 1 MiB; leave room for what other steps add. */
export const SUMMARY_BUDGET = 900 * 1024;
const TOP_STATEMENTS = 15;
/** Incidents listed one by one in the summary and the job log; report.html lists the first 10,000, govern replay every one. */
const MAX_INCIDENTS = 20;

export interface JobSummaryFacts {
  mode: string;
  identity?: Readonly<Record<string, unknown>>;
  session_id: string;
  started_at: string;
  ended_at: string;
  public_key: string;
  bundle_dir: string;
  /** Why the bundle does not verify, when it does not. */
  problem?: string;
  artifact?: { name: string; url?: string };
  /** The manifest's job binding: the verify command then expects the repository it names. */
  job_binding?: JobBinding;
}

const cut = (text: string, max: number) => {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};
const n = (value: number) => value.toLocaleString('en-US');

/** The headline's status word, without emoji: PASS, BLOCKED or DENIED. */
export function summaryHeadline(view: SessionView, mode: string): string {
  const counts = countVerdicts(view);
  const v = counts.byVerdict;
  const parts = [
    `${n(counts.operations)} operations`,
    `${n(v.allow)} allowed`,
    v.block && `${n(v.block)} blocked`,
    v.approved && `${n(v.approved)} approved`,
    v.denied + v['timed out'] + v.held && `${n(v.denied + v['timed out'] + v.held)} denied`,
    v['would block'] && `${n(v['would block'])} would be blocked`,
    v['would hold'] && `${n(v['would hold'])} would wait for approval`,
    `${n(counts.masked)} values masked`,
  ].filter(Boolean);
  return `govern ${runVerdict(counts).toUpperCase()} (${mode} mode): ${parts.join(', ')}`;
}

function exceptionRow(view: SessionView, index: number): string {
  const op = view.ops[index]!;
  const d = view.details[index];
  const approval = d?.approval;
  const note = approval ? `${approval.id}${approval.by ? `, by ${approval.by}` : ''}${approval.reason ? `: ${cut(approval.reason, 120)}` : ''}` : '';
  const s = (i: number) => (i >= 0 ? view.strings[i]! : '');
  return `<tr><td>${escapeHtml(VERDICTS[op[Col.Verdict]!])}</td><td>#${op[Col.Seq]}</td><td>${escapeHtml(s(op[Col.Connection]!))}</td><td><code>${escapeHtml(cut(s(op[Col.Text]!), 300))}</code></td><td>${escapeHtml(s(op[Col.Rule]!))}</td><td>${escapeHtml(note)}</td></tr>`;
}

/** The summary as HTML, within SUMMARY_BUDGET bytes whatever the session's size. */
export function jobSummaryHtml(view: SessionView, facts: JobSummaryFacts): string {
  const parts: string[] = [`<h2>${escapeHtml(summaryHeadline(view, facts.mode))}</h2>`];
  if (facts.problem) parts.push(`<p><strong>The session bundle does not verify:</strong> ${escapeHtml(facts.problem)}</p>`);
  parts.push(
    `<p>Identity: ${escapeHtml(describeIdentity(facts.identity))}; session <code>${escapeHtml(facts.session_id)}</code>, ${escapeHtml(facts.started_at)} for ${escapeHtml(formatDuration(Date.parse(facts.ended_at) - Date.parse(facts.started_at)))}.</p>`,
  );

  const exceptions = exceptionIndexes(view);
  parts.push(`<h3>Exceptions (${n(exceptions.length)})</h3>`);
  if (exceptions.length === 0) parts.push('<p>Nothing was blocked, denied or held.</p>');
  else {
    // Exceptions come first and complete: listed one by one while they fit, then grouped by statement.
    const budget = SUMMARY_BUDGET / 2;
    const rows: string[] = [];
    let size = 0;
    let listed = 0;
    for (const index of exceptions) {
      const row = exceptionRow(view, index);
      if (size + row.length > budget) break;
      rows.push(row);
      size += row.length;
      listed++;
    }
    parts.push('<table><tr><th>verdict</th><th>event</th><th>connection</th><th>operation</th><th>rule</th><th>approval</th></tr>', ...rows, '</table>');
    if (listed < exceptions.length) {
      const rest = groupStatements(view, exceptions.slice(listed));
      parts.push(`<p>${n(exceptions.length - listed)} more exceptions, by statement:</p><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th></tr>`);
      let restSize = 0;
      for (const g of rest) {
        const row = `<tr><td>${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td></tr>`;
        if (restSize + row.length > budget / 2) {
          parts.push(`<tr><td colspan="4">and more: report.html lists every one</td></tr>`);
          break;
        }
        parts.push(row);
        restSize += row.length;
      }
      parts.push('</table>');
    }
  }

  if (view.incidents.length) {
    parts.push(`<h3>${escapeHtml(describeIncidents(view))}</h3><table><tr><th>time</th><th>connection</th><th>incident</th><th>detail</th></tr>`);
    for (const x of view.incidents.slice(0, MAX_INCIDENTS)) {
      parts.push(`<tr><td>${escapeHtml(x.ts)}</td><td>${escapeHtml(x.connection ?? '')}</td><td>${escapeHtml(eventLabel(x.type))}</td><td><code>${escapeHtml(cut(x.message, 200))}</code></td></tr>`);
    }
    const more = countIncidents(view) - Math.min(view.incidents.length, MAX_INCIDENTS);
    if (more > 0) parts.push(`<tr><td colspan="4">and ${n(more)} more: govern replay lists every one</td></tr>`);
    parts.push('</table>');
  }

  const groups = groupStatements(view);
  if (groups.length) {
    parts.push(`<h3>Top statements (${n(groups.length)} distinct)</h3><table><tr><th>count</th><th>connection</th><th>statement</th><th>verdicts</th><th>rows</th><th>masked</th></tr>`);
    for (const g of groups.slice(0, TOP_STATEMENTS)) {
      parts.push(`<tr><td>× ${n(g.count)}</td><td>${escapeHtml(g.connection)}</td><td><code>${escapeHtml(cut(g.fingerprint, 200))}</code></td><td>${escapeHtml(verdictList(g.verdicts))}</td><td>${n(g.rows)}</td><td>${n(g.masked)}</td></tr>`);
    }
    parts.push('</table>');
  }

  const masked = maskedByKind(view);
  if (masked.size) {
    parts.push('<h3>Masked values</h3><table><tr><th>type or column</th><th>values</th></tr>');
    for (const [kind, count] of [...masked].sort((a, b) => b[1] - a[1]).slice(0, 30)) parts.push(`<tr><td>${escapeHtml(kind)}</td><td>${n(count)}</td></tr>`);
    parts.push('</table>');
  }

  parts.push('<h3>Session bundle</h3>');
  const artifact = facts.artifact;
  if (artifact) {
    parts.push(`<p>Artifact ${artifact.url ? `<a href="${escapeHtml(artifact.url)}">${escapeHtml(artifact.name)}</a>` : `<code>${escapeHtml(artifact.name)}</code>`}: open <code>report.html</code> in it for every operation, with filters and search.</p>`);
  } else parts.push(`<p>The bundle is in <code>${escapeHtml(facts.bundle_dir)}</code>: open <code>report.html</code> in it for every operation.</p>`);
  // The artifact unzips into a directory of its name; without one, the bundle is where the gateway wrote it.
  const verify = verifyCommand({ ...facts, ...(artifact && { bundle_dir: artifact.name }) });
  parts.push(`<p>Signed by <code>${escapeHtml(facts.public_key)}</code>. Check it${artifact ? ' once downloaded and unzipped' : ''} with <code>${escapeHtml(verify)}</code>.</p>`);
  const run = recordedRun(facts.job_binding);
  parts.push(
    run
      ? `<p>The signing key is bound to this job by the forge: ${escapeHtml(describeRun(run))}.</p>`
      : `<p>The signing key is not bound to the job${facts.job_binding?.kind === 'absent' ? ` (${escapeHtml(facts.job_binding.reason)})` : ''}: it vouches only for itself.</p>`,
  );
  return `${parts.join('\n')}\n`;
}

function verdictList(verdicts: Partial<Record<string, number>>): string {
  return Object.entries(verdicts)
    .map(([v, count]) => `${v} ${n(count!)}`)
    .join(', ');
}

function exceptionIndexes(view: SessionView): number[] {
  const out: number[] = [];
  view.ops.forEach((op, i) => EXCEPTIONS.has(VERDICTS[op[Col.Verdict]!]!) && out.push(i));
  return out;
}

/** Masked values by detector type and column, where results recorded the breakdown. */
export function maskedByKind(view: SessionView): Map<string, number> {
  const out = new Map<string, number>();
  for (const detail of Object.values(view.details)) {
    for (const [kind, count] of Object.entries(detail.masked_by ?? {})) out.set(kind, (out.get(kind) ?? 0) + count);
  }
  return out;
}

/** The exceptions as plain text lines for a job log (GitLab shows no step summary). */
export function exceptionLines(view: SessionView, max = 200): string[] {
  const exceptions = exceptionIndexes(view);
  const lines = exceptions.slice(0, max).map((index) => {
    const op = view.ops[index]!;
    const rule = op[Col.Rule]! >= 0 ? ` (rule ${view.strings[op[Col.Rule]!]})` : '';
    return `  ${VERDICTS[op[Col.Verdict]!]!.toUpperCase().padEnd(11)} #${op[Col.Seq]} ${view.strings[op[Col.Connection]!]}: ${cut(view.strings[op[Col.Text]!]!, 160)}${rule}`;
  });
  if (exceptions.length > max) lines.push(`  … and ${exceptions.length - max} more: report.html lists every one`);
  return lines;
}

/** The incidents as plain text lines for a job log: the first MAX_INCIDENTS, by catalogue label. */
export function incidentLines(view: SessionView): string[] {
  const lines = view.incidents.slice(0, MAX_INCIDENTS).map((x) => `  ${x.ts} ${x.connection ?? '-'}: ${eventLabel(x.type)}${x.message ? `: ${cut(x.message, 160)}` : ''}`);
  const more = countIncidents(view) - lines.length;
  if (more > 0) lines.push(`  … and ${more} more: govern replay lists every one`);
  return lines;
}
