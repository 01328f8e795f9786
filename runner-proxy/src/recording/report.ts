import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { describeRun, recordedRun } from '../identity/binding.js';
import { GITHUB_ISSUER } from '../identity/verify.js';
import type { ManifestBody } from './bundle.js';
import { reportData } from './report-data.js';
import { VIEWER_SCRIPT, VIEWER_STYLE } from './report-viewer.js';
import { countIncidents, countVerdicts, describeIncidents, runVerdict, VERDICTS, type SessionView } from './session-view.js';

/**
 * report.html: one self-contained page (no network) that opens from the artifact zip. The facts an
 * auditor asks first are written as HTML, escaped. The first screen's data (statement groups,
 * filters) travels as a small JSON blob; the operations, compactly encoded, in two more that the
 * inline viewer decodes only when they are needed (the exceptions at once, every operation on the
 * first click, filter or search), rendered with textContent only, a page at a time.
 */

/** Every value written as HTML passes through here: SQL text, claims and names are not HTML. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that may sit inside a <script> element: no "<", ">" or "&" can end it or open a comment. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What the report says of the session as a whole: the manifest's facts, about to be signed. */
export type SessionFacts = Pick<ManifestBody, 'session_id' | 'started_at' | 'ended_at' | 'end_reason' | 'identity' | 'policy' | 'connections' | 'counts' | 'job_binding'> & {
  public_key: string;
  /** The bundle directory, as `govern verify` is to be given it: relative, as the artifact unzips. */
  bundle_dir: string;
  /** The policy in force, as kept in the bundle. */
  policy_text?: string;
};

/** Who the run was, in one line: the forge's claims that identify a job. */
export function describeIdentity(identity: Readonly<Record<string, unknown>> | undefined): string {
  const record = identity as { kind?: string; issuer?: string; subject?: string; claims?: Record<string, unknown>; read_only?: boolean } | undefined;
  if (!record || record.kind === 'none') return 'none (the policy has no identity section)';
  const c = record.claims ?? {};
  const parts = [c.repository ?? c.project_path, c.ref, c.event_name ?? c.pipeline_source, c.actor ?? c.user_login, c.run_id ?? c.pipeline_id].filter((v) => v !== undefined && v !== '');
  return `${parts.length ? parts.join(' · ') : String(record.subject ?? record.issuer)}${record.read_only ? ' (read-only)' : ''}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The command that checks the bundle: its key, and where it is bound to a job, the repository it
 * must belong to (and the issuer, when it is not GitHub's), so a re-signed or swapped bundle fails.
 */
export function verifyCommand(facts: Pick<SessionFacts, 'bundle_dir' | 'public_key'> & Partial<Pick<SessionFacts, 'job_binding'>>): string {
  const run = recordedRun(facts.job_binding);
  const repository = run?.repository_id ?? run?.repository;
  return [
    'govern verify',
    shellWord(facts.bundle_dir),
    `--key ${facts.public_key}`,
    ...(run && run.issuer !== GITHUB_ISSUER ? [`--issuer ${shellWord(run.issuer)}`] : []),
    ...(repository ? [`--expect-repository ${shellWord(repository)}`] : []),
  ].join(' ');
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Whether the signing key is bound to the job, in one line of HTML. */
function bindingHtml(facts: SessionFacts): string {
  const run = recordedRun(facts.job_binding);
  if (run) {
    return `<span class="bound">bound to the job by the forge</span>: ${escapeHtml(describeRun(run))}. The gateway checked the token against the issuer's keys when the session started; <code>govern verify</code> checks it again.`;
  }
  const reason = facts.job_binding?.kind === 'absent' ? facts.job_binding.reason : 'this bundle carries no binding';
  return `<span class="unbound">absent</span>: ${escapeHtml(reason)}. The signing key vouches only for itself.`;
}

function header(facts: SessionFacts, view: SessionView): string {
  const counts = countVerdicts(view);
  const verdict = runVerdict(counts);
  const duration = Date.parse(facts.ended_at) - Date.parse(facts.started_at);
  const command = view.command;
  const exit = command ? (command.error ? `could not start (${command.error})` : command.signal ? `ended by ${command.signal}` : command.status !== undefined ? `exit status ${command.status}` : 'still running at the end') : '';
  const fact = (name: string, value: string, id: string) => `<dt>${name}</dt><dd id="${id}">${value}</dd>`;
  const code = (v: unknown) => `<code>${escapeHtml(v)}</code>`;
  const tally = VERDICTS.filter((v) => counts.byVerdict[v]).map((v) => `<span class="pill v-${v.replace(' ', '-')}">${escapeHtml(v)} ${counts.byVerdict[v].toLocaleString('en-US')}</span>`);
  return [
    `<header><h1>govern session <span id="run-verdict" class="run run-${verdict}">${verdict}</span> <span id="mode" class="mode">${escapeHtml(facts.policy.mode)}</span></h1>`,
    `<p id="tally">${counts.operations.toLocaleString('en-US')} operations: ${tally.join(' ') || 'none'}; ${counts.masked.toLocaleString('en-US')} values masked.</p>`,
    '<dl class="facts">',
    fact('identity', escapeHtml(describeIdentity(facts.identity)), 'identity'),
    fact('session', code(facts.session_id), 'session-id'),
    fact('start', escapeHtml(facts.started_at), 'started'),
    fact('end', `${escapeHtml(facts.ended_at)} (${escapeHtml(facts.end_reason)})`, 'ended'),
    fact('duration', escapeHtml(formatDuration(duration)), 'duration'),
    ...(command ? [fact('command', `${code(command.text)} ${escapeHtml(exit)}`, 'command')] : []),
    fact(
      'policy',
      `${code(facts.policy.file)} sha256 ${code(facts.policy.sha256)}` +
        (facts.policy_text === undefined ? ' (its text is not in this bundle)' : `<details id="policy-text"><summary>the policy in force (policy.yml in the bundle)</summary><pre>${escapeHtml(facts.policy_text)}</pre></details>`),
      'policy',
    ),
    fact('connections', facts.connections.map((c) => `${code(c.name)} ${escapeHtml(c.protocol)} ${escapeHtml(c.target)} as ${code(`$${c.export}`)}`).join('<br>') || 'none', 'connections'),
    fact(
      'signature',
      `This page is part of the session bundle signed by ${code(facts.public_key)}; an altered page or recording fails, run in the directory the artifact was unzipped to:<br>${code(verifyCommand(facts))}`,
      'signature',
    ),
    fact('job binding', bindingHtml(facts), 'job-binding'),
    '</dl>',
    clientsHtml(view),
    ...(view.incidents.length ? [`<p class="incidents" id="incidents">${escapeHtml(describeIncidents(view))}: refusals and failures that no listed operation shows, ${countIncidents(view) > view.incidents.length ? `the first ${view.incidents.length.toLocaleString('en-US')} listed below (<code>govern replay</code> shows every one)` : 'listed below'}.</p>`] : []),
    ...(view.omitted ? [`<p id="omitted">${view.omitted.toLocaleString('en-US')} allowed operations past the first ${view.ops.length.toLocaleString('en-US')} are counted in their statement groups but not listed one by one: <code>govern replay</code> shows them.</p>`] : []),
    '</header>',
  ].join('\n');
}

/** Past this many, client connections are counted rather than listed in the page. */
const MAX_CLIENTS_SHOWN = 1000;

/** Who connected, from where and when: one row per client connection the gateway accepted. */
function clientsHtml(view: SessionView): string {
  const clients = view.clients;
  if (clients.length === 0) return '';
  const rows = clients.slice(0, MAX_CLIENTS_SHOWN).map(
    (c) =>
      `<tr><td>#${c.seq}</td><td>${escapeHtml(c.ts)}</td><td>+${escapeHtml(formatDuration(Date.parse(c.ts) - view.start_ms))}</td><td>${escapeHtml(c.connection)}</td><td>${escapeHtml(c.protocol)}</td><td>${escapeHtml(c.peer ?? '')}</td><td>${escapeHtml(c.application_name ?? '')}</td></tr>`,
  );
  const more = clients.length > MAX_CLIENTS_SHOWN ? `<p>and ${(clients.length - MAX_CLIENTS_SHOWN).toLocaleString('en-US')} more: <code>govern replay</code> lists them.</p>` : '';
  return [
    `<details id="clients"${clients.length <= 20 ? ' open' : ''}><summary>${clients.length.toLocaleString('en-US')} client connection${clients.length === 1 ? '' : 's'}: who connected, from where</summary>`,
    '<table class="clients"><thead><tr><th>event</th><th>time</th><th>since start</th><th>connection</th><th>protocol</th><th>peer</th><th>application_name</th></tr></thead><tbody>',
    ...rows,
    `</tbody></table>${more}</details>`,
  ].join('\n');
}

/** CSP hashes of the page's inline style and script elements: nothing else may run or style the page. */
function inlineHashes(html: readonly string[]): { styles: string[]; scripts: string[] } {
  const digest = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const found = (pattern: RegExp) => html.flatMap((h) => [...h.matchAll(pattern)].map((m) => digest(m[1]!)));
  return { styles: found(/<style>([\s\S]*?)<\/style>/g), scripts: found(/<script>([\s\S]*?)<\/script>/g) };
}

/** The whole page as a string; `appendix` is markup of the gateway's own (terminal players) placed at its end. */
export function reportPage(facts: SessionFacts, view: SessionView, appendix = ''): string {
  const data = reportData(view);
  const style = `<style>${VIEWER_STYLE}</style>`;
  const script = `<script>${VIEWER_SCRIPT}</script>`;
  const { styles, scripts } = inlineHashes([style, script, appendix]);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    // No network and nothing inline but this page's own style and script, named by their hashes.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${styles.join(' ')}; script-src ${scripts.join(' ')}; img-src data:">`,
    `<title>govern session ${escapeHtml(facts.session_id)}</title>${style}</head><body>`,
    header(facts, view),
    '<main id="viewer"><p class="nojs">The operations are listed by the script of this page; <code>govern replay</code> shows them as text.</p></main>',
    `<script type="application/json" id="govern-data">${scriptSafeJson(data.summary)}</script>`,
    `<script type="application/json" id="govern-exceptions">${scriptSafeJson(data.exceptions)}</script>`,
    `<script type="application/json" id="govern-allowed">${scriptSafeJson(data.allowed)}</script>`,
    script,
    appendix,
    '</body></html>',
    '',
  ].join('\n');
}

export async function writeReport(path: string, facts: SessionFacts, view: SessionView, appendix = ''): Promise<void> {
  await writeFile(path, reportPage(facts, view, appendix));
}
