import type { Counts } from './bundle.js';
import { describeEvent } from './events.js';
import type { RecordedEvent } from './recorder.js';

export interface ReplayOptions {
  connection?: string;
}

/** The session as a readable timeline: one line an event, times relative to the start. */
export function formatTimeline(events: readonly RecordedEvent[], options: ReplayOptions = {}): string {
  if (events.length === 0) return '(no events)\n';
  const start = Date.parse(events[0]!.ts);
  const operations = new Map<number, RecordedEvent>();
  const lines: string[] = [];
  const line = (ts: string, seq: string, connection: string | undefined, text: string) => {
    if (!options.connection || connection === options.connection) lines.push(`${clock(Date.parse(ts) - start)}  ${seq.padEnd(5)} ${(connection ?? '-').padEnd(12)} ${text}`);
  };
  for (const e of events) {
    // Results of earlier operations ride on the next event recorded: each is shown before that event.
    for (const result of (e.results as Record<string, unknown>[] | undefined) ?? []) {
      const op = operations.get(result.op as number);
      line(e.ts, '', op?.connection as string | undefined, describeResult(result, op));
    }
    if (e.type === 'operation') operations.set(e.seq, e);
    const text = describe(e);
    if (text) line(e.ts, `#${e.seq}`, e.connection as string | undefined, text);
  }
  return `${lines.join('\n')}\n`;
}

/** The policy in force, as kept in the bundle, indented under a line naming its digest. */
export function formatPolicy(policy: { file: string; sha256: string; mode: string }, text: string | undefined): string {
  const head = `policy in force: ${policy.file} (${policy.mode}), sha256 ${policy.sha256}`;
  if (text === undefined) return `${head}; its text is not in this bundle\n\n`;
  return `${head}, as kept in the bundle:\n${text.replace(/\n$/, '').split('\n').map((l) => `  | ${l}`).join('\n')}\n\n`;
}

function clock(ms: number): string {
  const m = Math.floor(ms / 60_000);
  const s = ((ms % 60_000) / 1000).toFixed(3).padStart(6, '0');
  return `${String(m).padStart(2, '0')}:${s}`;
}

function oneLine(text: unknown, max = 160): string {
  const s = String(text).replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function describe(e: RecordedEvent): string | undefined {
  switch (e.type) {
    case 'session.start': {
      const identity = e.identity as { kind: string; claims?: Record<string, unknown> };
      const who = identity.kind === 'none' ? 'no identity' : oneLine(identity.claims?.repository ?? identity.claims?.project_path ?? identity.claims?.sub ?? 'oidc');
      const policy = e.policy as { file: string; mode: string };
      return `session start: ${who}, policy ${policy.file} (${policy.mode})`;
    }
    case 'listener.ready':
      return `listening for ${String(e.protocol)} → ${String(e.target)}`;
    case 'connection.open':
      return `connection opened${e.peer ? ` from ${String(e.peer)}` : ''}`;
    case 'connection.close':
      return `connection closed (${String(e.reason)})`;
    case 'operation': {
      const wouldBe = e.verdict === 'approve' ? 'WOULD HOLD' : `WOULD ${String(e.verdict).toUpperCase()}`;
      const verdict = e.enforced ? `${wouldBe} (observe: let through)` : String(e.verdict).toUpperCase();
      return `${oneLine(e.text)}  → ${verdict}${e.rule ? ` by ${String(e.rule)}` : ''}`;
    }
    case 'approval.requested':
      return `approval requested: ${String(e.request_id)} for #${String(e.op)} (rule ${String(e.rule)}, via ${String(e.via)})`;
    case 'approval.decided':
      return `approval ${String(e.request_id)}: ${String(e.outcome)} by ${String(e.by)}${e.reason ? ` (${oneLine(e.reason)})` : ''}`;
    case 'process.start':
      return `command started: ${oneLine(e.command)}`;
    case 'process.exit':
      return `command exited: ${e.signal ? `signal ${String(e.signal)}` : `status ${String(e.status)}`} after ${String(e.duration_ms)} ms`;
    case 'session.end': {
      const c = e.counts as Partial<Counts> | undefined;
      const counted = c
        ? `; ${c.operations} operations: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied, ${c.would_block ?? 0} would block, ${c.would_hold ?? 0} would hold`
        : '';
      return `session end: ${String(e.reason)}${counted}`;
    }
    case 'results':
      return undefined;
    default: {
      // The catalogue names the rest; warnings and errors say so first.
      const { kind, label, detail } = describeEvent(e);
      const severity = kind && kind.severity !== 'info' ? `${kind.severity.toUpperCase()} ` : '';
      return `${severity}${label}${detail ? `: ${oneLine(detail)}` : ''}`;
    }
  }
}

function describeResult(e: Record<string, unknown>, op: RecordedEvent | undefined): string {
  const parts = [
    e.tag !== undefined && String(e.tag),
    e.rows !== undefined && `${String(e.rows)} rows`,
    e.bytes !== undefined && `${String(e.bytes)} bytes`,
    e.masked !== undefined && `${String(e.masked)} masked`,
    `${String(e.duration_ms)} ms`,
    e.error !== undefined && `error: ${oneLine(e.error)}`,
  ].filter(Boolean);
  return `  ↳ #${String(e.op)}${op ? '' : ' (unknown operation)'} ${parts.join(', ')}`;
}
