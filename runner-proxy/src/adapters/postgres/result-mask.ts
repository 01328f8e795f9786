import type { ColumnMask, MaskPlan } from '../../policy/operation.js';
import { forEachSelected } from '../../base/json-select.js';
import { detectorGate, mayHold, type DetectorGate } from '../../masking/detectors.js';
import type { Masker } from '../../masking/masker.js';
import type { MaskStrategy } from '../../policy/types.js';
import type { Catalog, TableInfo } from './catalog.js';
import { alignLineage, maskingSource, type ColumnLineage } from './lineage.js';
import { HEADER_LENGTH, int32At, MalformedFrameError, putInt32, type OutputBatch } from './codec/frames.js';
import type { Field, NoticeFields } from './codec/messages.js';

/** Types whose binary form is their text (jsonb with a version byte first). */
const TEXT = 25, VARCHAR = 1043, BPCHAR = 1042, NAME = 19, UNKNOWN = 705, CHAR = 18, JSON_T = 114, JSONB = 3802, XML = 142;
export const TEXTUAL: ReadonlySet<number> = new Set([TEXT, VARCHAR, BPCHAR, NAME, UNKNOWN, CHAR, JSON_T, JSONB, XML]);
/** Built-in types that never hold free text: detectors skip them (numbers would be false card hits). */
export const NOT_TEXT: ReadonlySet<number> = new Set([
  16, 17, 20, 21, 23, 26, 27, 28, 29, 700, 701, 790, 650, 869, 829, 774, 1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2950,
  3220, 2202, 2203, 2204, 2205, 2206, 3734, 3769, 4089, 4096, 1005, 1007, 1016, 1021, 1022, 1231, 1182, 1183, 1115, 1185, 2951,
]);

const enum CellAction {
  None = 0,
  Column = 1,
  Detect = 2,
}

interface CellPlan {
  action: CellAction;
  strategy: MaskStrategy;
  typeOid: number;
  binary: boolean;
  /** A column mask whose result does not depend on the value (redact, or NULL): made once. */
  constant: Buffer | null | undefined;
  /** What the record counts masked values of this cell under: table.column for a column mask. */
  label: string;
}

/** What to do with each column of one result, decided once from its RowDescription. */
export interface ResultPlan {
  readonly cells: readonly CellPlan[];
  /** False when no cell needs looking at: rows then pass through untouched. */
  readonly active: boolean;
  /** What a cell must hold for the detectors to look at it. */
  readonly gate?: DetectorGate;
  /** Room for a row's replaced cells, one per column, reused by every row of the result. */
  readonly replaced?: (Buffer | null | undefined)[];
}

export const PASS_THROUGH: ResultPlan = Object.freeze({ cells: [], active: false });

/** Whether a plan masks anything that comes back in a result: columns, detectors or JSON fields. */
export function masksResults(masks: MaskPlan): boolean {
  return masks.columns.length > 0 || masks.detectors.size > 0 || masks.json.length > 0;
}

/** The OIDs a RowDescription refers to, for the catalog to resolve before the plan is made. */
export function tableOids(fields: readonly Field[]): number[] {
  return fields.map((f) => f.tableOid).filter((o) => o !== 0);
}

function columnMaskFor(masks: readonly ColumnMask[], table: TableInfo | undefined, column: string | undefined): ColumnMask | undefined {
  if (!column) return undefined;
  if (!table || table.isView) return masks.find((m) => m.matchesColumn(column));
  return masks.find((m) => matchesTableColumn(m, table, column));
}

/** A mask covers a table's column under its current names or those the gateway first saw it by (a rename keeps it). */
export function matchesTableColumn(mask: ColumnMask, table: TableInfo, column: string): boolean {
  const first = table.firstSeen;
  const firstColumn = first.columns.get(column) ?? column;
  return (
    mask.matches(table.name, column) ||
    mask.matches(`${table.schema}.${table.name}`, column) ||
    mask.matches(first.name, firstColumn) ||
    mask.matches(`${first.schema}.${first.name}`, firstColumn)
  );
}

/**
 * Source-column masking: RowDescription names each column's table OID and attribute number, so an
 * alias, a subquery or a CTE cannot rename a masked column out of reach; the masker's strategy applies
 * to such a column. Any other column whose lineage derives from a masked column (an expression over
 * it, a view's column, a function of the target's own) is masked whole. `lineage` is by output column
 * (null: untraced, so every column derived from nothing known is masked; undefined: not computed
 * because no column is masked). The remaining columns get the detectors.
 */
export function planResult(
  fields: readonly Field[],
  masks: MaskPlan,
  catalog: Catalog,
  formats?: readonly number[],
  lineage?: readonly ColumnLineage[] | null,
): ResultPlan {
  if (!masksResults(masks)) return PASS_THROUGH;
  let active = false;
  const derived = lineage === undefined ? undefined : alignLineage(lineage ?? undefined, fields.length);
  const cells = fields.map((f, i): CellPlan => {
    const binary = (formats ? (formats.length === 1 ? formats[0] : formats[i]) ?? 0 : f.format) === 1;
    const table = f.tableOid ? catalog.cached(f.tableOid) : undefined;
    const mask = columnMaskFor(masks.columns, table, table?.columns.get(f.column));
    if (mask) {
      active = true;
      const cell: CellPlan = { action: CellAction.Column, strategy: mask.strategy, typeOid: f.typeOid, binary, constant: undefined, label: `${table!.name}.${table!.columns.get(f.column)}` };
      if (mask.strategy === 'redact' || !TEXTUAL.has(f.typeOid)) cell.constant = replacement(cell, '[masked]');
      return cell;
    }
    if (derived && maskingSource(derived[i]!, masks.columns) !== undefined) {
      active = true;
      const cell: CellPlan = { action: CellAction.Column, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: `derived:${f.name}` };
      cell.constant = replacement(cell, '[masked]');
      return cell;
    }
    const scannable = binary ? TEXTUAL.has(f.typeOid) : !NOT_TEXT.has(f.typeOid);
    if (scannable && (masks.detectors.size > 0 || (masks.json.length > 0 && (f.typeOid === JSON_T || f.typeOid === JSONB)))) {
      active = true;
      return { action: CellAction.Detect, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: f.name };
    }
    return { action: CellAction.None, strategy: 'redact', typeOid: f.typeOid, binary, constant: undefined, label: f.name };
  });
  return active ? { cells, active, gate: detectorGate(masks.detectors), replaced: new Array<Buffer | null | undefined>(cells.length).fill(undefined) } : PASS_THROUGH;
}

const isJson = (typeOid: number) => typeOid === JSON_T || typeOid === JSONB;

/** A whole-cell replacement that stays valid for the type, or NULL where no masked text could be. */
function replacement(plan: CellPlan, masked: string): Buffer | null {
  if (!TEXTUAL.has(plan.typeOid)) return null;
  const text = isJson(plan.typeOid) ? JSON.stringify(masked) : masked;
  return plan.typeOid === JSONB && plan.binary ? Buffer.concat([Buffer.of(1), Buffer.from(text)]) : Buffer.from(text);
}

/** Masks strings (and numbers that detectors recognise) inside a JSON document, and the selected fields. */
function maskJsonText(text: string, masks: MaskPlan, masker: Masker): { text: string; count: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const r = masker.maskText(text, masks.detectors);
    return r;
  }
  let count = 0;
  for (const { selector, strategy } of masks.json) {
    forEachSelected(doc, selector, (parent, key) => {
      const holder = parent as Record<string | number, unknown>;
      if (holder[key] === null || holder[key] === undefined) return;
      holder[key] = masker.maskValue(typeof holder[key] === 'string' ? (holder[key] as string) : JSON.stringify(holder[key]), strategy);
      count++;
    });
  }
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string' || typeof v === 'number') {
      const s = String(v);
      const r = masker.maskText(s, masks.detectors);
      if (r.count === 0) return v;
      count += r.count;
      return r.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = walk((v as Record<string, unknown>)[k]);
    }
    return v;
  };
  if (masks.detectors.size > 0) doc = walk(doc);
  return { text: count ? JSON.stringify(doc) : text, count };
}

/**
 * Masks one DataRow, bytes base…frameEnd of `frame`, by its plan into the output batch. Cells are read in place; the row is rebuilt
 * only when a cell changes, straight into the batch. Returns how many values were masked.
 */
/**
 * Masks one DataRow into `out` and returns how many values it replaced; `tally` (when given) counts
 * them by column (column masks) and by detector type.
 */
export function maskRowInto(frame: Buffer, base: number, frameEnd: number, plan: ResultPlan, masks: MaskPlan, masker: Masker, out: OutputBatch, tally?: Record<string, number>): number {
  const count = (frame[base + HEADER_LENGTH]! << 8) | frame[base + HEADER_LENGTH + 1]!;
  // The row's new cells, by index (undefined: kept); reused from row to row, cleared after each.
  const replaced = plan.replaced!;
  let changed = false;
  let masked = 0;
  let size = frameEnd - base;
  try {
    for (let i = 0, pos = base + HEADER_LENGTH + 2; i < count; i++) {
      if (pos + 4 > frameEnd) throw new MalformedFrameError('a DataRow ends before its cells do');
      const len = int32At(frame, pos);
      const start = pos + 4;
      pos = start + Math.max(len, 0);
      if (pos > frameEnd) throw new MalformedFrameError('a DataRow cell runs past the message');
      const p = plan.cells[i];
      if (len < 0 || !p || p.action === CellAction.None) continue;
      let value: Buffer | null | undefined;
      const offset = p.typeOid === JSONB && p.binary ? 1 : 0;
      if (p.action === CellAction.Column) {
        value = p.constant !== undefined ? p.constant : replacement(p, masker.maskValue(frame.toString('utf8', start + offset, pos), p.strategy));
        masked++;
        if (tally) tally[p.label] = (tally[p.label] ?? 0) + 1;
      } else if (masks.json.length > 0 || mayHold(frame, start + offset, pos, plan.gate!)) {
        const text = frame.toString('utf8', start + offset, pos);
        const r = isJson(p.typeOid) ? maskJsonText(text, masks, masker) : masker.maskText(text, masks.detectors);
        if (r.count === 0) continue;
        masked += r.count;
        if (tally) countByType(tally, r, p.label);
        value = offset ? Buffer.concat([Buffer.of(1), Buffer.from(r.text)]) : Buffer.from(r.text);
      } else {
        continue;
      }
      replaced[i] = value;
      changed = true;
      size += (value?.length ?? 0) - len;
    }
  } catch (e) {
    replaced.fill(undefined);
    throw e;
  }
  if (!changed) {
    out.passRange(frame, base, frameEnd);
    return 0;
  }
  const at = out.reserve(size);
  const row = out.arena;
  row[at] = frame[base]!;
  putInt32(row, at + 1, size - 1);
  row[at + HEADER_LENGTH] = frame[base + HEADER_LENGTH]!;
  row[at + HEADER_LENGTH + 1] = frame[base + HEADER_LENGTH + 1]!;
  // Unchanged cells are copied in runs, from the last replaced cell to the next.
  let w = at + HEADER_LENGTH + 2;
  let kept = base + HEADER_LENGTH + 2;
  for (let i = 0, pos = base + HEADER_LENGTH + 2; i < count; i++) {
    const len = int32At(frame, pos);
    const end = pos + 4 + Math.max(len, 0);
    const r = replaced[i];
    if (r !== undefined) {
      replaced[i] = undefined;
      w = copyInto(row, w, frame, kept, pos);
      putInt32(row, w, r === null ? -1 : r.length);
      w += 4;
      if (r !== null) w = copyInto(row, w, r, 0, r.length);
      kept = end;
    }
    pos = end;
  }
  copyInto(row, w, frame, kept, frameEnd);
  return masked;
}

/** Copies source[start, end) to target[at…] and returns where it ended; short runs without a native call. */
function copyInto(target: Buffer, at: number, source: Buffer, start: number, end: number): number {
  if (end - start > 64) return at + source.copy(target, at, start, end);
  for (let i = start; i < end; i++) target[at++] = source[i]!;
  return at;
}

/** Detector findings by type; JSON fields selected by path count under the cell's column. */
function countByType(tally: Record<string, number>, r: { count: number; byType?: Partial<Record<string, number>> }, label: string): void {
  let typed = 0;
  for (const [type, n] of Object.entries(r.byType ?? {})) {
    tally[type] = (tally[type] ?? 0) + n!;
    typed += n!;
  }
  if (r.count > typed) tally[label] = (tally[label] ?? 0) + r.count - typed;
}

/** Fields of ErrorResponse and NoticeResponse that can carry values. */
const VALUE_FIELDS = ['M', 'D', 'H', 'W', 'q', 'P'];

/**
 * Masks an error or notice. Detectors run on every field that can carry values; a DETAIL that quotes
 * a row or key of a table with masked columns has those values replaced.
 */
export function maskNotice(fields: NoticeFields, masks: MaskPlan, masker: Masker): number {
  let count = 0;
  for (const key of VALUE_FIELDS) {
    const value = fields.get(key);
    if (value === undefined) continue;
    const r = masker.maskText(value, masks.detectors);
    if (r.count) {
      fields.set(key, r.text);
      count += r.count;
    }
  }
  const table = fields.get('t');
  const detail = fields.get('D');
  if (detail && masks.columns.length) {
    const tableMasked = (column: string) => masks.columns.some((m) => (table ? m.matches(table, column) : m.matchesColumn(column)));
    const key = /^Key \((.*?)\)=\((.*)\)( .*)?$/s.exec(detail);
    // Every word of the key list: an index on an expression names its columns inside it, `lower(ssn)`.
    if (key && key[1]!.split(/[^\p{L}\p{N}_$]+/u).some((word) => word !== '' && tableMasked(word))) {
      fields.set('D', `Key (${key[1]})=([masked])${key[3] ?? ''}`);
      count++;
    } else if (/^Failing row contains \(/.test(detail) && (!table || masks.columns.some((m) => m.matchesTable(table)))) {
      fields.set('D', 'Failing row contains ([masked])');
      count++;
    }
  }
  return count;
}


/** Fields of an error or notice that name things rather than quote values: kept when the rest is withheld. */
const NAMING_FIELDS = ['S', 'V', 'C', 's', 't', 'c', 'd', 'n', 'F', 'L', 'R'];

/**
 * An error or notice of a statement that reads a masked column can quote its value (`invalid input
 * syntax for type integer: "…"`, a function's RAISE): its text is withheld, its SQLSTATE kept.
 */
export function withheldNotice(fields: NoticeFields): NoticeFields {
  const kept: NoticeFields = new Map(NAMING_FIELDS.filter((k) => fields.has(k)).map((k) => [k, fields.get(k)!]));
  kept.set('M', `govern: the message is withheld because the statement reads a masked column (SQLSTATE ${fields.get('C') ?? 'unknown'})`);
  return kept;
}
