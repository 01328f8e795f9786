import { writeFile } from 'node:fs/promises';
import type { ManifestBody } from './bundle.js';
import { VIEWER_SCRIPT, VIEWER_STYLE } from './report-viewer.js';
import { countVerdicts, runVerdict, VERDICTS, type SessionView } from './session-view.js';

/**
 * report.html: one self-contained page (no network) that opens from the artifact zip. The facts an
 * auditor asks first are written as HTML, escaped; the operations travel as one JSON blob that the
 * inline viewer renders with textContent only, a page at a time, so 100,000 operations open at once.
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
export type SessionFacts = Pick<ManifestBody, 'session_id' | 'started_at' | 'ended_at' | 'end_reason' | 'identity' | 'policy' | 'connections' | 'counts'> & {
  public_key: string;
  /** The bundle directory, as `govern verify` is to be given it. */
  bundle_dir: string;
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

export function verifyCommand(facts: Pick<SessionFacts, 'bundle_dir' | 'public_key'>): string {
  const dir = /^[\w@%+=:,./-]+$/.test(facts.bundle_dir) ? facts.bundle_dir : `'${facts.bundle_dir.replaceAll("'", `'\\''`)}'`;
  return `govern verify ${dir} --key ${facts.public_key}`;
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
    fact('policy', `${code(facts.policy.file)} sha256 ${code(facts.policy.sha256)}`, 'policy'),
    fact('connections', facts.connections.map((c) => `${code(c.name)} ${escapeHtml(c.protocol)} ${escapeHtml(c.target)} as ${code(`$${c.export}`)}`).join('<br>') || 'none', 'connections'),
    fact(
      'signature',
      `This page is part of the session bundle signed by ${code(facts.public_key)}; an altered page or recording fails <br>${code(verifyCommand(facts))}`,
      'signature',
    ),
    '</dl>',
    ...(view.incidents.length ? [`<p class="incidents" id="incidents">${view.incidents.length} connection problem${view.incidents.length === 1 ? '' : 's'} (refused or failed target connections, protocol violations): listed below.</p>`] : []),
    ...(view.omitted ? [`<p>${view.omitted.toLocaleString('en-US')} allowed operations past the first ${view.ops.length.toLocaleString('en-US')} are counted but not listed: <code>govern replay</code> shows them.</p>`] : []),
    '</header>',
  ].join('\n');
}

/** The whole page as a string; `appendix` is markup of the gateway's own (terminal players) placed at its end. */
export function reportPage(facts: SessionFacts, view: SessionView, appendix = ''): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">',
    // No network: nothing but this page's own inline style and script may load.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>govern session ${escapeHtml(facts.session_id)}</title><style>${VIEWER_STYLE}</style></head><body>`,
    header(facts, view),
    '<main id="viewer"><p class="nojs">The operations are listed by the script of this page; <code>govern replay</code> shows them as text.</p></main>',
    `<script type="application/json" id="govern-data">${scriptSafeJson(view)}</script>`,
    `<script>${VIEWER_SCRIPT}</script>`,
    appendix,
    '</body></html>',
    '',
  ].join('\n');
}

export async function writeReport(path: string, facts: SessionFacts, view: SessionView, appendix = ''): Promise<void> {
  await writeFile(path, reportPage(facts, view, appendix));
}
