import { Col, EXCEPTIONS, GroupCol, VERDICTS, type GroupRow, type OpDetail, type SessionView } from './session-view.js';

/**
 * The data report.html carries, in three parts so the first screen waits for none of the operations:
 * `summary` (statement groups, filters: small), `exceptions` and `allowed` (the listed operations,
 * compactly encoded; the viewer decodes the exceptions at once and the allowed ones on first need).
 */
export interface ReportData {
  summary: ReportSummary;
  exceptions: EncodedOps;
  allowed: EncodedOps;
}

export interface ReportSummary {
  format: 2;
  start_ms: number;
  /** Who asked for approvals: the job's actor, as its identity names it. */
  requester: string;
  /** Every operation of the session, the unlisted ones too. */
  total: number;
  omitted: number;
  incidents: SessionView['incidents'];
  /** The listed client connections by the seq of their `connection.open`, in one line each. */
  clients: Record<number, string>;
  filters: { verdicts: string[]; connections: string[]; rules: string[]; classes: string[] };
  /** [connection, shape, count, rows, masked, exceptions, then a count per verdict], exceptions first, then by count. */
  groups: (string | number)[][];
}

/**
 * Operations as columns: each numeric column is base64 of zigzag LEB128 varints (seq and at as
 * differences), string columns index `strings`, and a text is its template (literals cut out) with
 * that operation's literals, joined by U+0001, put back in at each U+0000.
 */
export interface EncodedOps {
  n: number;
  strings: string[];
  cols: Record<(typeof OP_COLUMNS)[number], string>;
  literals: string[];
  /** Distinct details (most operations share one, such as one masked email): the `detail` column indexes them. */
  details: OpDetail[];
}

export const OP_COLUMNS = ['seq', 'at', 'conn', 'verdict', 'rule', 'classes', 'dur', 'rows', 'tag', 'masked', 'masks', 'group', 'template', 'detail', 'client'] as const;
/** Quoted strings and numbers: what varies between executions of one statement. */
const LITERAL = /'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b/g;

export function reportData(view: SessionView): ReportData {
  const order = groupOrder(view.groups);
  const rank = new Map(order.map((g, i) => [g, i]));
  const exceptions: number[] = [];
  const allowed: number[] = [];
  view.ops.forEach((op, i) => (EXCEPTIONS.has(VERDICTS[op[Col.Verdict]!]!) ? exceptions : allowed).push(i));
  const s = (i: number) => view.strings[i]!;
  const identity = (view.session?.identity ?? {}) as { kind?: string; subject?: string; claims?: Record<string, unknown> };
  const claims = identity.claims ?? {};
  const summary: ReportSummary = {
    format: 2,
    start_ms: view.start_ms,
    requester: String(claims.actor ?? claims.user_login ?? identity.subject ?? (identity.kind === 'none' ? 'the job (no identity)' : 'the job')),
    total: view.groups.reduce((n, g) => n + g[GroupCol.Count]!, 0),
    omitted: view.omitted,
    incidents: view.incidents,
    clients: Object.fromEntries(
      view.clients.map((c) => [c.seq, [`#${c.seq}`, c.peer && `from ${c.peer}`, c.application_name && `as ${c.application_name}`, `connected at ${c.ts}`].filter(Boolean).join(' ')]),
    ),
    filters: filters(view),
    groups: order.map((g) => {
      const row = view.groups[g]!;
      const verdicts = row.slice(GroupCol.Verdicts);
      return [s(row[GroupCol.Connection]!), s(row[GroupCol.Fingerprint]!), row[GroupCol.Count]!, row[GroupCol.Rows]!, row[GroupCol.Masked]!, row[GroupCol.Count]! - verdicts[0]!, ...verdicts];
    }),
  };
  return { summary, exceptions: encodeOps(view, exceptions, rank), allowed: encodeOps(view, allowed, rank) };
}

/** Groups with exceptions first, then the most frequent. */
function groupOrder(groups: readonly GroupRow[]): number[] {
  const exceptions = (g: GroupRow) => g[GroupCol.Count]! - g[GroupCol.Verdicts]!;
  return groups.map((_, i) => i).sort((a, b) => Number(exceptions(groups[b]!) > 0) - Number(exceptions(groups[a]!) > 0) || groups[b]![GroupCol.Count]! - groups[a]![GroupCol.Count]!);
}

function filters(view: SessionView): ReportSummary['filters'] {
  const present = VERDICTS.filter((_, i) => view.groups.some((g) => g[GroupCol.Verdicts + i]! > 0));
  const distinct = (cols: number[]) => {
    const seen = new Set<string>();
    const indexes = new Set<number>();
    for (const op of view.ops) for (const c of cols) if (op[c]! >= 0) indexes.add(op[c]!);
    for (const i of indexes) for (const word of view.strings[i]!.split(' ')) if (word) seen.add(word);
    return [...seen].sort();
  };
  return {
    verdicts: present,
    connections: [...new Set([...view.connections.map((c) => c.name), ...view.groups.map((g) => view.strings[g[GroupCol.Connection]!]!)])].sort(),
    rules: distinct([Col.Rule, Col.Masks]),
    classes: distinct([Col.Classes]),
  };
}

function encodeOps(view: SessionView, rows: readonly number[], groupRank: ReadonlyMap<number, number>): EncodedOps {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const local = (i: number) => {
    if (i < 0) return -1;
    const text = view.strings[i]!;
    let j = index.get(text);
    if (j === undefined) index.set(text, (j = strings.push(text) - 1));
    return j;
  };
  const columns = Object.fromEntries(OP_COLUMNS.map((c) => [c, new VarintColumn()])) as Record<(typeof OP_COLUMNS)[number], VarintColumn>;
  const literals: string[] = [];
  const details: OpDetail[] = [];
  const detailIndex = new Map<string, number>();
  let seq = 0;
  let at = 0;
  rows.forEach((row) => {
    const op = view.ops[row]!;
    columns.seq.push(op[Col.Seq]! - seq);
    columns.at.push(op[Col.At]! - at);
    [seq, at] = [op[Col.Seq]!, op[Col.At]!];
    columns.conn.push(local(op[Col.Connection]!));
    columns.verdict.push(op[Col.Verdict]!);
    columns.rule.push(local(op[Col.Rule]!));
    columns.classes.push(local(op[Col.Classes]!));
    columns.dur.push(op[Col.DurationMs]! < 0 ? -1 : Math.round(op[Col.DurationMs]! * 1000));
    columns.rows.push(op[Col.Rows]!);
    columns.tag.push(local(op[Col.Tag]!));
    columns.masked.push(op[Col.Masked]!);
    columns.masks.push(local(op[Col.Masks]!));
    columns.group.push(groupRank.get(op[Col.Group]!)!);
    columns.client.push(op[Col.Client]!);
    const { template, literal } = splitLiterals(view.strings[op[Col.Text]!]!);
    if (template === undefined) columns.template.push(-1);
    else {
      let j = index.get(template);
      if (j === undefined) index.set(template, (j = strings.push(template) - 1));
      columns.template.push(j);
    }
    literals.push(literal);
    const detail = view.details[row];
    if (!detail) columns.detail.push(-1);
    else {
      const key = JSON.stringify(detail);
      let j = detailIndex.get(key);
      if (j === undefined) detailIndex.set(key, (j = details.push(detail) - 1));
      columns.detail.push(j);
    }
  });
  return { n: rows.length, strings, cols: Object.fromEntries(OP_COLUMNS.map((c) => [c, columns[c].base64()])) as EncodedOps['cols'], literals, details };
}

/** A text as its template and literals; a text holding either separator is kept whole (no template). */
function splitLiterals(text: string): { template?: string; literal: string } {
  if (text.includes('\u0000') || text.includes('\u0001')) return { literal: text };
  const found: string[] = [];
  const template = text.replace(LITERAL, (m) => {
    found.push(m);
    return '\u0000';
  });
  if (found.some((l) => l.includes('\u0001'))) return { literal: text };
  return { template, literal: found.join('\u0001') };
}

/** Integers as zigzag LEB128 varints: one byte for most values of a column. */
class VarintColumn {
  #bytes = Buffer.alloc(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length + 10 > this.#bytes.length) {
      const grown = Buffer.alloc(this.#bytes.length * 2);
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    // Zigzag without 32-bit operators: values may pass 2^31 (rows of a large table).
    let v = value >= 0 ? value * 2 : -value * 2 - 1;
    while (v >= 128) {
      this.#bytes[this.#length++] = (v % 128) + 128;
      v = Math.floor(v / 128);
    }
    this.#bytes[this.#length++] = v;
  }

  base64(): string {
    return this.#bytes.toString('base64', 0, this.#length);
  }
}
