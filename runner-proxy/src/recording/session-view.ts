import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RecordedEvent } from './recorder.js';

/**
 * What auditors look at, read from events.jsonl one line at a time: the session's facts and every
 * operation with what became of it, in a compact form that report.html embeds and the job summary
 * condenses. Texts are kept once however often they repeat.
 */

/** What became of an operation, as the report and the summary name it. */
export const VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'] as const;
export type ReportVerdict = (typeof VERDICTS)[number];
const V = Object.fromEntries(VERDICTS.map((v, i) => [v, i])) as Record<ReportVerdict, number>;

/** Verdicts an auditor looks at first: everything that was stopped, released by a person, or would have been stopped. */
export const EXCEPTIONS: ReadonlySet<ReportVerdict> = new Set(['block', 'denied', 'timed out', 'approved', 'would block', 'would hold', 'held']);

/** One operation: indexes into `strings`, numbers, and -1 for "not recorded". */
export const Col = {
  Seq: 0,
  /** Milliseconds since the session started. */
  At: 1,
  Connection: 2,
  Text: 3,
  Fingerprint: 4,
  Verdict: 5,
  Rule: 6,
  Classes: 7,
  DurationMs: 8,
  Rows: 9,
  Tag: 10,
  Masked: 11,
} as const;
export type OpRow = number[];

export interface OpDetail {
  bytes?: number;
  error?: string;
  /** Masked values by detector type or column. */
  masked_by?: Record<string, number>;
  approval?: { id: string; via?: string; outcome?: string; by?: string; reason?: string; wait_ms?: number; requested_at?: string };
}

export interface SessionView {
  format: 1;
  start_ms: number;
  session?: { id?: string; identity?: Record<string, unknown>; policy?: { file: string; sha256: string; mode: string }; public_key?: string };
  connections: { name: string; protocol: string; target: string }[];
  command?: { text: string; status?: number | null; signal?: string | null; duration_ms?: number; error?: string };
  end?: { ts: string; reason: string };
  strings: string[];
  ops: OpRow[];
  /** By op row index: what only some operations have. */
  details: Record<number, OpDetail>;
  /** Failed target connections, authentication failures and protocol violations. */
  incidents: { ts: string; type: string; connection?: string; message: string }[];
  /** Allowed operations past the limit, counted but not listed. */
  omitted: number;
}

/** Past this many operations only the exceptions are listed (the rest are counted): a page must still open. */
const MAX_LISTED_OPS = 500_000;
/** A statement longer than this is cut in the report; events.jsonl keeps it whole. */
const MAX_TEXT = 16 * 1024;

/** The statement's shape: literals and numbers become ?, lists collapse, whitespace is folded. */
export function fingerprint(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\$\d+/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
    .replace(/\s+/g, ' ')
    .trim();
}

const INCIDENTS = new Set(['connection.failed', 'auth.failed', 'protocol.violation', 'target.unreachable']);

/** Builds the view event by event; `read` streams a file through it. */
export class SessionViewBuilder {
  readonly #view: SessionView = { format: 1, start_ms: 0, connections: [], strings: [], ops: [], details: {}, incidents: [], omitted: 0 };
  readonly #stringIndex = new Map<string, number>();
  /** Op rows by event seq, so results and approvals find their operation. */
  readonly #bySeq = new Map<number, number>();

  #str(s: string): number {
    let i = this.#stringIndex.get(s);
    if (i === undefined) {
      i = this.#view.strings.push(s) - 1;
      this.#stringIndex.set(s, i);
    }
    return i;
  }

  #detail(row: number): OpDetail {
    return (this.#view.details[row] ??= {});
  }

  add(e: RecordedEvent): void {
    const view = this.#view;
    // Results of earlier operations ride on the next event recorded (see Governor.completed).
    for (const result of (e.results as Record<string, unknown>[] | undefined) ?? []) this.#result(result);
    switch (e.type) {
      case 'session.start':
        view.start_ms = Date.parse(e.ts);
        view.session = {
          id: e.session_id as string,
          identity: e.identity as Record<string, unknown>,
          policy: e.policy as { file: string; sha256: string; mode: string },
          public_key: e.public_key as string,
        };
        return;
      case 'listener.ready':
        view.connections.push({ name: String(e.connection), protocol: String(e.protocol), target: String(e.target) });
        return;
      case 'process.start':
        view.command = { text: String(e.command) };
        return;
      case 'process.exit':
        view.command = {
          text: view.command?.text ?? '',
          status: e.status as number | null,
          signal: e.signal as string | null,
          duration_ms: e.duration_ms as number,
          ...(e.error !== undefined && { error: String(e.error) }),
        };
        return;
      case 'session.end':
        view.end = { ts: e.ts, reason: String(e.reason) };
        return;
      case 'operation':
        return this.#operation(e);
      case 'approval.requested': {
        const row = this.#bySeq.get(e.op as number);
        if (row === undefined) return;
        this.#detail(row).approval = { id: String(e.request_id), via: String(e.via), requested_at: e.ts };
        view.ops[row]![Col.Verdict] = V.held;
        return;
      }
      case 'approval.decided': {
        const row = this.#bySeq.get(e.op as number);
        if (row === undefined) return;
        const approval = (this.#detail(row).approval ??= { id: String(e.request_id) });
        Object.assign(approval, {
          outcome: String(e.outcome),
          by: String(e.by),
          ...(e.reason !== undefined && e.reason !== null && { reason: String(e.reason) }),
          ...(approval.requested_at && { wait_ms: Date.parse(e.ts) - Date.parse(approval.requested_at) }),
        });
        view.ops[row]![Col.Verdict] = e.outcome === 'approved' ? V.approved : e.outcome === 'timeout' ? V['timed out'] : V.denied;
        return;
      }
      default:
        if (INCIDENTS.has(e.type)) {
          view.incidents.push({ ts: e.ts, type: e.type, ...(e.connection !== undefined && { connection: String(e.connection) }), message: String(e.message ?? e.reason ?? e.error ?? '') });
        }
    }
  }

  #result(e: Record<string, unknown>): void {
    const row = this.#bySeq.get(e.op as number);
    if (row === undefined) return;
    const op = this.#view.ops[row]!;
    op[Col.DurationMs] = (e.duration_ms as number | undefined) ?? -1;
    op[Col.Rows] = (e.rows as number | undefined) ?? -1;
    if (e.tag !== undefined) op[Col.Tag] = this.#str(String(e.tag));
    op[Col.Masked] = (e.masked as number | undefined) ?? 0;
    if (e.bytes !== undefined) this.#detail(row).bytes = e.bytes as number;
    if (e.error !== undefined) this.#detail(row).error = String(e.error);
    if (e.masked_by !== undefined) this.#detail(row).masked_by = e.masked_by as Record<string, number>;
  }

  #operation(e: RecordedEvent): void {
    const view = this.#view;
    const verdict = reportVerdict(e);
    if (view.ops.length >= MAX_LISTED_OPS && verdict === 'allow') {
      view.omitted++;
      return;
    }
    const full = String(e.text ?? '');
    const text = full.length > MAX_TEXT ? `${full.slice(0, MAX_TEXT)}… (${full.length} characters; the whole text is in events.jsonl)` : full;
    const row: OpRow = [
      e.seq,
      Date.parse(e.ts) - view.start_ms,
      this.#str(String(e.connection)),
      this.#str(text),
      this.#str(fingerprint(text.length > 2048 ? text.slice(0, 2048) : text)),
      V[verdict],
      e.rule !== undefined ? this.#str(String(e.rule)) : -1,
      this.#str(((e.classes as string[] | undefined) ?? []).join(' ')),
      -1,
      -1,
      -1,
      0,
    ];
    this.#bySeq.set(e.seq, view.ops.push(row) - 1);
  }

  get view(): SessionView {
    return this.#view;
  }

  /** Streams events.jsonl through a new builder: one line parsed at a time. */
  static async read(eventsPath: string): Promise<SessionView> {
    const builder = new SessionViewBuilder();
    const lines = createInterface({ input: createReadStream(eventsPath, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      let event: RecordedEvent;
      try {
        event = JSON.parse(line) as RecordedEvent;
      } catch {
        // A torn last line of a crashed session: verify reports it; the report shows what came before.
        continue;
      }
      builder.add(event);
    }
    return builder.view;
  }
}

/** In observe mode the event's verdict is the policy's and `enforced` what happened. */
function reportVerdict(e: RecordedEvent): ReportVerdict {
  const policy = String(e.verdict);
  if (e.enforced === 'allow' && policy === 'block') return 'would block';
  if (e.enforced === 'allow' && policy === 'approve') return 'would hold';
  return policy === 'block' ? 'block' : policy === 'approve' ? 'held' : 'allow';
}

export interface VerdictCounts {
  operations: number;
  byVerdict: Record<ReportVerdict, number>;
  masked: number;
}

export function countVerdicts(view: SessionView): VerdictCounts {
  const byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<ReportVerdict, number>;
  let masked = 0;
  for (const op of view.ops) {
    byVerdict[VERDICTS[op[Col.Verdict]!]!]++;
    masked += op[Col.Masked]!;
  }
  byVerdict.allow += view.omitted;
  return { operations: view.ops.length + view.omitted, byVerdict, masked };
}

/** The run as one word: blocked when anything was blocked, denied when an approval was refused or ran out. */
export function runVerdict(counts: VerdictCounts): 'pass' | 'blocked' | 'denied' {
  const v = counts.byVerdict;
  if (v.block) return 'blocked';
  if (v.denied || v['timed out'] || v.held) return 'denied';
  return 'pass';
}

export interface StatementGroup {
  fingerprint: string;
  connection: string;
  count: number;
  /** The worst verdict among the executions. */
  verdicts: Partial<Record<ReportVerdict, number>>;
  rows: number;
  masked: number;
}

/** Operations grouped by connection and fingerprint, most frequent first. */
export function groupStatements(view: SessionView): StatementGroup[] {
  const groups = new Map<string, StatementGroup>();
  for (const op of view.ops) {
    const key = `${op[Col.Connection]}:${op[Col.Fingerprint]}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { fingerprint: view.strings[op[Col.Fingerprint]!]!, connection: view.strings[op[Col.Connection]!]!, count: 0, verdicts: {}, rows: 0, masked: 0 }));
    g.count++;
    const verdict = VERDICTS[op[Col.Verdict]!]!;
    g.verdicts[verdict] = (g.verdicts[verdict] ?? 0) + 1;
    if (op[Col.Rows]! > 0) g.rows += op[Col.Rows]!;
    g.masked += op[Col.Masked]!;
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
