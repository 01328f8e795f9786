import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { deniedMessage } from './denied-message.js';
import type { JobBinding } from '../identity/binding.js';
import { describeEvent, eventLabel } from './events.js';
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
  /** The masking rules applied to the operation's results, space-separated. */
  Masks: 12,
  /** Its statement group: an index into `groups`. */
  Group: 13,
  /** The seq of its client connection's `connection.open` (-1 where the protocol's adapter keeps none). */
  Client: 14,
} as const;
export type OpRow = number[];

export interface OpDetail {
  /** What the job was told when the operation was refused (or, in observe mode, would have been). */
  told?: string;
  bytes?: number;
  error?: string;
  /** Masked values by detector type or column. */
  masked_by?: Record<string, number>;
  approval?: { id: string; via?: string; outcome?: string; by?: string; reason?: string; wait_ms?: number; requested_at?: string };
}

/** A group of operations of one shape on one connection: [connection, fingerprint (string indexes), count, rows, masked, then a count per verdict]. */
export type GroupRow = number[];
export const GroupCol = { Connection: 0, Fingerprint: 1, Count: 2, Rows: 3, Masked: 4, Verdicts: 5 } as const;

/** A client connection as the gateway accepted it: who connected, from where, when. */
export interface ClientConnection {
  seq: number;
  ts: string;
  connection: string;
  protocol: string;
  peer?: string;
  application_name?: string;
}

export interface SessionView {
  format: 2;
  start_ms: number;
  session?: { id?: string; identity?: Record<string, unknown>; policy?: { file: string; sha256: string; mode: string }; public_key?: string; job_binding?: JobBinding };
  connections: { name: string; protocol: string; target: string }[];
  clients: ClientConnection[];
  /** Every operation by statement group, the unlisted ones too. */
  groups: GroupRow[];
  command?: { text: string; status?: number | null; signal?: string | null; duration_ms?: number; error?: string };
  end?: { ts: string; reason: string };
  strings: string[];
  ops: OpRow[];
  /** By op row index: what only some operations have. */
  details: Record<number, OpDetail>;
  /** The events the catalogue (events.ts) calls incidents: refusals and failures no listed operation shows. */
  incidents: { ts: string; type: string; connection?: string; message: string }[];
  /** Every incident by type, the unlisted ones too. */
  incident_counts: Record<string, number>;
  /** Allowed operations past the limit, counted but not listed. */
  omitted: number;
}

/**
 * Past this many operations only the exceptions are listed; the rest are counted in their statement
 * groups. This bounds the report's size (and the gateway's memory) however long the session.
 */
export const MAX_LISTED_OPS = 200_000;
/** Client connections listed one by one; more are counted. */
const MAX_LISTED_CLIENTS = 10_000;
/** Incidents listed one by one; more are counted by type. */
const MAX_LISTED_INCIDENTS = 10_000;
/** A statement longer than this is cut in the report; events.jsonl keeps it whole. */
const MAX_TEXT = 16 * 1024;

/** The statement's shape: literals and numbers become ?, lists collapse, whitespace is folded. */
export function fingerprint(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    // Placeholders ($1) stay as written: they are the statement's shape, not its values.
    .replace(/(?<!\$)\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\(\s*\?(?:\s*,\s*\?)+\s*\)/g, '(?)')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Builds the view event by event; `read` streams a file through it. */
export class SessionViewBuilder {
  readonly #view: SessionView = { format: 2, start_ms: 0, connections: [], clients: [], groups: [], strings: [], ops: [], details: {}, incidents: [], incident_counts: {}, omitted: 0 };
  readonly #stringIndex = new Map<string, number>();
  readonly #tally = new GroupTally(this.#view.groups);
  /** Op rows by event seq, so results and approvals find their operation. */
  readonly #bySeq = new Map<number, number>();
  /** Groups of unlisted operations whose result has not come yet (a result comes once, soon after). */
  readonly #unlisted = new Map<number, number>();
  #clientsOmitted = 0;

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
          ...(e.job_binding !== undefined && { job_binding: e.job_binding as JobBinding }),
        };
        return;
      case 'connection.open':
        if (view.clients.length >= MAX_LISTED_CLIENTS) return void this.#clientsOmitted++;
        view.clients.push({
          seq: e.seq,
          ts: e.ts,
          connection: String(e.connection),
          protocol: String(e.protocol),
          ...(e.peer !== undefined && { peer: String(e.peer) }),
          ...(e.application_name !== undefined && { application_name: String(e.application_name) }),
        });
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
        this.#reverdict(row, V.held);
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
        this.#reverdict(row, e.outcome === 'approved' ? V.approved : e.outcome === 'timeout' ? V['timed out'] : V.denied);
        if (e.outcome !== 'approved') this.#detail(row).told = deniedMessage(String(e.outcome), String(e.by), e.reason as string | undefined, String(e.rule ?? this.#view.strings[view.ops[row]![Col.Rule]!]), String(e.request_id));
        return;
      }
      default: {
        const { kind, detail } = describeEvent(e);
        if (!kind?.incident) return;
        view.incident_counts[e.type] = (view.incident_counts[e.type] ?? 0) + 1;
        if (view.incidents.length < MAX_LISTED_INCIDENTS) view.incidents.push({ ts: e.ts, type: e.type, ...(e.connection !== undefined && { connection: String(e.connection) }), message: detail });
      }
    }
  }

  #reverdict(row: number, verdict: number): void {
    const op = this.#view.ops[row]!;
    this.#tally.reverdict(op[Col.Group]!, op[Col.Verdict]!, verdict);
    op[Col.Verdict] = verdict;
  }

  #result(e: Record<string, unknown>): void {
    const seq = e.op as number;
    const rows = (e.rows as number | undefined) ?? -1;
    const masked = (e.masked as number | undefined) ?? 0;
    const unlisted = this.#unlisted.get(seq);
    if (unlisted !== undefined) {
      this.#unlisted.delete(seq);
      return this.#tally.result(unlisted, rows, masked);
    }
    const row = this.#bySeq.get(seq);
    if (row === undefined) return;
    const op = this.#view.ops[row]!;
    op[Col.DurationMs] = (e.duration_ms as number | undefined) ?? -1;
    op[Col.Rows] = rows;
    if (e.tag !== undefined) op[Col.Tag] = this.#str(String(e.tag));
    op[Col.Masked] = masked;
    this.#tally.result(op[Col.Group]!, rows, masked);
    if (e.bytes !== undefined) this.#detail(row).bytes = e.bytes as number;
    if (e.error !== undefined) this.#detail(row).error = String(e.error);
    if (e.masked_by !== undefined) this.#detail(row).masked_by = e.masked_by as Record<string, number>;
  }

  #operation(e: RecordedEvent): void {
    const view = this.#view;
    const verdict = reportVerdict(e);
    const full = String(e.text ?? '');
    const text = full.length > MAX_TEXT ? `${full.slice(0, MAX_TEXT)}… (${full.length} characters; the whole text is in events.jsonl)` : full;
    const shape = fingerprint(text.length > 2048 ? text.slice(0, 2048) : text);
    const connection = this.#str(String(e.connection));
    const shapeIndex = this.#str(shape);
    const group = this.#tally.add(connection, shapeIndex, V[verdict]);
    if (view.ops.length >= MAX_LISTED_OPS && verdict === 'allow') {
      view.omitted++;
      this.#unlisted.set(e.seq, group);
      return;
    }
    const masks = e.masks as string[] | undefined;
    const row: OpRow = [
      e.seq,
      Date.parse(e.ts) - view.start_ms,
      connection,
      this.#str(text),
      shapeIndex,
      V[verdict],
      e.rule !== undefined ? this.#str(String(e.rule)) : -1,
      this.#str(((e.classes as string[] | undefined) ?? []).join(' ')),
      -1,
      -1,
      -1,
      0,
      masks?.length ? this.#str(masks.join(' ')) : -1,
      group,
      typeof e.client === 'number' ? e.client : -1,
    ];
    const index = view.ops.push(row) - 1;
    this.#bySeq.set(e.seq, index);
    if (e.told !== undefined) this.#detail(index).told = String(e.told);
  }

  /** Client connections past the listed ones, counted. */
  get clientsOmitted(): number {
    return this.#clientsOmitted;
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

/** The verdicts of every operation, the unlisted ones too, from the statement groups. */
export function countVerdicts(view: SessionView): VerdictCounts {
  const byVerdict = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<ReportVerdict, number>;
  let masked = 0;
  let operations = 0;
  for (const g of view.groups) {
    VERDICTS.forEach((v, i) => (byVerdict[v] += g[GroupCol.Verdicts + i]!));
    masked += g[GroupCol.Masked]!;
    operations += g[GroupCol.Count]!;
  }
  return { operations, byVerdict, masked };
}

/** How many incidents the session had, the unlisted ones too. */
export function countIncidents(view: SessionView): number {
  return Object.values(view.incident_counts).reduce((sum, count) => sum + count, 0);
}

/** The incidents in a few words, by their catalogue label, most frequent first: "3 incidents (2 authentication refused, 1 egress refused)"; empty when there are none. */
export function describeIncidents(view: SessionView): string {
  const total = countIncidents(view);
  if (total === 0) return '';
  const labels = Object.entries(view.incident_counts)
    .sort((a, b) => b[1] - a[1])
    .map(([type, count]) => `${count.toLocaleString('en-US')} ${eventLabel(type)}`);
  return `${total.toLocaleString('en-US')} incident${total === 1 ? '' : 's'} (${labels.join(', ')})`;
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
  verdicts: Partial<Record<ReportVerdict, number>>;
  rows: number;
  masked: number;
}

/**
 * Operations grouped by connection and fingerprint, most frequent first: every operation of the
 * session, or only the listed operations at `rows` (by row index).
 */
export function groupStatements(view: SessionView, rows?: readonly number[]): StatementGroup[] {
  let groups = view.groups;
  if (rows) {
    groups = [];
    const tally = new GroupTally(groups);
    for (const row of rows) {
      const op = view.ops[row]!;
      const g = tally.add(op[Col.Connection]!, op[Col.Fingerprint]!, op[Col.Verdict]!);
      tally.result(g, op[Col.Rows]!, op[Col.Masked]!);
    }
  }
  return groups
    .map((g) => ({
      fingerprint: view.strings[g[GroupCol.Fingerprint]!]!,
      connection: view.strings[g[GroupCol.Connection]!]!,
      count: g[GroupCol.Count]!,
      verdicts: Object.fromEntries(VERDICTS.map((v, i) => [v, g[GroupCol.Verdicts + i]!]).filter(([, n]) => n)) as StatementGroup['verdicts'],
      rows: g[GroupCol.Rows]!,
      masked: g[GroupCol.Masked]!,
    }))
    .sort((a, b) => b.count - a.count);
}

/** Keeps the statement groups: one row per connection and shape, counted as operations come and finish. */
class GroupTally {
  readonly #groups: GroupRow[];
  readonly #index = new Map<number, number>();

  constructor(groups: GroupRow[]) {
    this.#groups = groups;
  }

  /** Counts an operation in its group (by the string indexes of its connection and shape) and returns the group. */
  add(connection: number, shape: number, verdict: number): number {
    // Both indexes stay far below 2^26, so one number keys the pair.
    const key = shape * 67_108_864 + connection;
    let g = this.#index.get(key);
    if (g === undefined) {
      const row: GroupRow = [connection, shape, 0, 0, 0, ...VERDICTS.map(() => 0)];
      g = this.#groups.push(row) - 1;
      this.#index.set(key, g);
    }
    const row = this.#groups[g]!;
    row[GroupCol.Count]!++;
    row[GroupCol.Verdicts + verdict]!++;
    return g;
  }

  result(g: number, rows: number, masked: number): void {
    const row = this.#groups[g]!;
    if (rows > 0) row[GroupCol.Rows]! += rows;
    row[GroupCol.Masked]! += masked;
  }

  reverdict(g: number, from: number, to: number): void {
    const row = this.#groups[g]!;
    row[GroupCol.Verdicts + from]!--;
    row[GroupCol.Verdicts + to]!++;
  }
}
