import type { ManifestBody } from './bundle.js';
import type { RecordedEvent } from './recorder.js';

/**
 * The session as HTML: the job summary on GitHub, and report.html in the bundle. Every value is
 * escaped: statements, claims and names come from the job and the target, not from us.
 */

/** Every value that reaches the job summary passes through here: SQL text and claims are not HTML. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const short = (text: unknown, max = 160) => {
  const s = String(text ?? '').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

export interface Outcome {
  seq: number;
  connection: string;
  text: string;
  verdict: string;
  rule?: string;
  requestId?: string;
  decidedBy?: string;
  rows?: number;
  masked?: number;
}

/** Operations with what became of them: the result, or the approval's outcome. */
export function outcomes(events: readonly RecordedEvent[]): Outcome[] {
  const byOp = new Map<number, Outcome>();
  for (const e of events) {
    if (e.type === 'operation') {
      byOp.set(e.seq, { seq: e.seq, connection: String(e.connection), text: String(e.text), verdict: String(e.enforced ?? e.verdict), ...(e.rule !== undefined && { rule: String(e.rule) }) });
    } else if (e.type === 'result') {
      const o = byOp.get(e.op as number);
      if (o) Object.assign(o, { rows: e.rows as number | undefined, masked: e.masked as number | undefined });
    } else if (e.type === 'approval.requested') {
      const o = byOp.get(e.op as number);
      if (o) o.requestId = String(e.request_id);
    } else if (e.type === 'approval.decided') {
      const o = byOp.get(e.op as number);
      if (o) Object.assign(o, { verdict: e.outcome === 'approved' ? 'approved' : e.outcome === 'timeout' ? 'timed out' : 'denied', decidedBy: String(e.by) });
    }
  }
  return [...byOp.values()];
}

/** What the report says of the session as a whole: the manifest's facts, signed or about to be. */
export type SessionFacts = Pick<ManifestBody, 'identity' | 'connections' | 'counts' | 'public_key' | 'events'>;

export interface ReportOptions {
  /** Why the bundle does not verify, when it does not. */
  problem?: string;
  /** The manifest's sha256, once it is written. */
  manifestDigest?: string;
  /** How many operations to list; the rest are counted. */
  maxRows?: number;
}

/** Identity, connections, counts, the operations with their verdicts, and the signing key. */
export function sessionHtml(manifest: SessionFacts | undefined, events: readonly RecordedEvent[], { problem, manifestDigest, maxRows = Infinity }: ReportOptions = {}): string {
  const ops = outcomes(events);
  const claims = (manifest?.identity as { claims?: Record<string, unknown> } | undefined)?.claims ?? {};
  const counts = manifest?.counts;
  const parts: string[] = ['<h2>govern session</h2>'];
  if (problem) parts.push(`<p><strong>The session bundle is incomplete:</strong> ${escapeHtml(problem)}</p>`);
  const who = ['repository', 'ref', 'event_name', 'actor', 'run_id'].filter((k) => claims[k] !== undefined).map((k) => `${k} <code>${escapeHtml(claims[k])}</code>`);
  parts.push(`<p>Identity: ${who.length ? who.join(', ') : 'none'}</p>`);
  if (manifest?.connections.length) {
    parts.push(`<p>Connections: ${manifest.connections.map((c) => `<code>${escapeHtml(c.name)}</code> (${escapeHtml(c.protocol)} ${escapeHtml(c.target)} as <code>$${escapeHtml(c.export)}</code>)`).join(', ')}</p>`);
  }
  if (counts) {
    parts.push(`<p>${counts.operations} operations: ${counts.allowed} allowed, ${counts.blocked} blocked, ${counts.approved} approved, ${counts.denied} denied; ${counts.masked_values} values masked.</p>`);
  }
  if (ops.length === 0 && (counts?.operations ?? 0) > 0) parts.push('<p>The operations are in events.jsonl: <code>govern replay</code> shows them.</p>');
  if (ops.length) {
    const rows = ops.slice(0, maxRows).map(
      (o) =>
        `<tr><td>${o.seq}</td><td>${escapeHtml(o.connection)}</td><td><code>${escapeHtml(short(o.text))}</code></td><td>${escapeHtml(o.verdict)}</td>` +
        `<td>${escapeHtml(o.rule ?? '')}${o.requestId ? ` (${escapeHtml(o.requestId)}${o.decidedBy ? `, by ${escapeHtml(o.decidedBy)}` : ''})` : ''}</td><td>${o.rows ?? ''}</td><td>${o.masked ?? ''}</td></tr>`,
    );
    parts.push(
      '<table><tr><th>#</th><th>connection</th><th>operation</th><th>verdict</th><th>rule</th><th>rows</th><th>masked</th></tr>',
      ...rows,
      '</table>',
    );
    if (ops.length > maxRows) parts.push(`<p>${ops.length - maxRows} more operations are in the bundle.</p>`);
  }
  if (manifest) parts.push(`<p>Signed by <code>${escapeHtml(manifest.public_key)}</code>; chain head <code>${escapeHtml(manifest.events.head)}</code>${manifestDigest ? `; manifest sha256 <code>${escapeHtml(manifestDigest)}</code>` : ''}. Check it with <code>govern verify</code>.</p>`);
  return `${parts.join('\n')}\n`;
}

/** report.html: a self-contained page with the whole session, written into the bundle and signed with it. */
export function reportPage(manifest: SessionFacts, events: readonly RecordedEvent[]): string {
  const style = 'body{font:14px/1.45 system-ui,sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}code{font-size:90%}';
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>govern session</title><style>${style}</style></head><body>\n${sessionHtml(manifest, events)}</body></html>\n`;
}
