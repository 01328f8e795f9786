import type { ColumnMask, MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { MaskStrategy } from '../../policy/types.js';
import type { Reach } from './classify.js';
import { lenencBytes, MalformedPacketError, NULL_CELL, Reader, type ColumnDefinition } from './packets.js';

/** Column types whose values are text, so a masked text is a valid value. */
const TEXTUAL = new Set([15, 249, 250, 251, 252, 253, 254]);
/** Types whose values may hold free text for the detectors (JSON too: a finding inside a string stays JSON). */
const DETECTABLE = new Set([...TEXTUAL, 245]);
/** Fixed sizes of binary-protocol values; types not listed are length-encoded, dates and times length-prefixed. */
const FIXED: Record<number, number> = { 1: 1, 2: 2, 13: 2, 3: 4, 9: 4, 4: 4, 8: 8, 5: 8 };
const PREFIXED = new Set([7, 10, 11, 12, 14, 17, 18, 19]);

/** Where the table of a column's values is a view (its columns then match masks by name alone). */
export type TableKinds = ReadonlyMap<string, 'table' | 'view'>;

interface CellPlan {
  mask?: ColumnMask;
  detect: boolean;
  textual: boolean;
  label: string;
}

/** What to do with each column of one result set, decided once from its column definitions. */
export interface ResultPlan {
  cells: CellPlan[];
  active: boolean;
}

export const PASS_THROUGH: ResultPlan = { cells: [], active: false };

/** The tables (schema.table) a result's columns come from, for the catalog to tell tables from views. */
export function sourceTables(columns: readonly ColumnDefinition[]): string[] {
  return [...new Set(columns.filter((c) => c.orgTable).map((c) => `${c.schema}.${c.orgTable}`))];
}

/**
 * Masks by source column: each column definition names the table and column its values come from
 * (org_table, org_name), whatever an alias, a join or a merged subquery calls it. MariaDB names no
 * source for a column computed by an expression, nor for one read through a view, a derived table or a
 * CTE (it names the view or the alias): such a column matches masks by its name, and is masked whole
 * when what the statement reaches (`reach`, its views opened) names a masked column, or selects `*`
 * from a table with one. Columns no mask takes get the detectors.
 */
export function planResult(masks: MaskPlan, columns: readonly ColumnDefinition[], kinds: TableKinds, reach: Reach): ResultPlan {
  if (masks.columns.length === 0 && masks.detectors.size === 0) return PASS_THROUGH;
  const reached = reachedMask(masks, reach);
  const cells = columns.map((c): CellPlan => {
    const table = `${c.schema}.${c.orgTable}`;
    const opaque = !c.orgTable || kinds.get(table) !== 'table';
    const mask = opaque
      ? (masks.columns.find((m) => m.matchesColumn(c.orgName || c.name)) ?? reached)
      : masks.columns.find((m) => m.matches(c.orgTable, c.orgName) || m.matches(table, c.orgName));
    return { ...(mask && { mask }), detect: !mask && masks.detectors.size > 0 && DETECTABLE.has(c.type), textual: TEXTUAL.has(c.type), label: `${c.orgTable || c.table}.${c.orgName || c.name}` };
  });
  return { cells, active: cells.some((c) => c.mask || c.detect) };
}

/** The first mask a statement's reach could carry a value of: by a column it names, or a table it selects `*` from. */
function reachedMask(masks: MaskPlan, reach: Reach): ColumnMask | undefined {
  const tables = [...reach.tables].flatMap((t) => [t, t.slice(t.indexOf('.') + 1)]);
  return masks.columns.find((m) => [...reach.columns].some((c) => m.matchesColumn(c)) || (reach.star && tables.some((t) => m.matchesTable(t))));
}

export interface MaskCounts {
  masked: number;
  by: Record<string, number>;
}

function count(counts: MaskCounts, label: string, n = 1): void {
  counts.masked += n;
  counts.by[label] = (counts.by[label] ?? 0) + n;
}

/** A masked cell's new value: text for a text column, NULL where no masked text would be valid. */
function masked(cell: CellPlan, value: Buffer, masker: Masker, detectors: MaskPlan['detectors'], counts: MaskCounts): Buffer | null | undefined {
  if (cell.mask) {
    count(counts, cell.label);
    return cell.textual ? Buffer.from(masker.maskValue(value.toString('utf8'), cell.mask.strategy as MaskStrategy)) : null;
  }
  if (!cell.detect) return undefined;
  const text = value.toString('utf8');
  const found = masker.maskText(text, detectors);
  if (found.count === 0) return undefined;
  for (const [type, n] of Object.entries(found.byType ?? {})) count(counts, type, n);
  return Buffer.from(found.text);
}

/** A text-protocol row with its masked cells replaced; the same buffer when nothing changed. */
export function maskTextRow(row: Buffer, plan: ResultPlan, masker: Masker, detectors: MaskPlan['detectors'], counts: MaskCounts): Buffer {
  const r = new Reader(row);
  const parts: Buffer[] = [];
  let changed = false;
  for (const cell of plan.cells) {
    const start = r.pos;
    const value = r.lenencBytes();
    const replaced = value === null ? undefined : masked(cell, value, masker, detectors, counts);
    if (replaced === undefined) parts.push(row.subarray(start, r.pos));
    else {
      changed = true;
      parts.push(replaced === null ? NULL_CELL : lenencBytes(replaced));
    }
  }
  if (!r.done) throw new MalformedPacketError('a result row longer than its columns');
  return changed ? Buffer.concat(parts) : row;
}

/** A binary-protocol row (COM_STMT_EXECUTE): NULLs in its bitmap, values by their column types. */
export function maskBinaryRow(row: Buffer, columns: readonly ColumnDefinition[], plan: ResultPlan, masker: Masker, detectors: MaskPlan['detectors'], counts: MaskCounts): Buffer {
  const bitmapLength = (columns.length + 7 + 2) >> 3;
  const bitmap = Buffer.from(row.subarray(1, 1 + bitmapLength));
  const r = new Reader(row, 1 + bitmapLength);
  const parts: Buffer[] = [];
  let changed = false;
  columns.forEach((column, i) => {
    const bit = i + 2;
    if (bitmap[bit >> 3]! & (1 << (bit & 7))) return;
    const start = r.pos;
    const fixed = FIXED[column.type];
    let value: Buffer | undefined;
    if (fixed !== undefined) r.bytes(fixed);
    else if (PREFIXED.has(column.type)) r.bytes(r.u8());
    else value = r.lenencBytes() ?? Buffer.alloc(0);
    const cell = plan.cells[i]!;
    const replaced = cell.mask ? masked(cell, value ?? Buffer.alloc(0), masker, detectors, counts) : value ? masked(cell, value, masker, detectors, counts) : undefined;
    if (replaced === undefined) return parts.push(row.subarray(start, r.pos));
    changed = true;
    if (replaced === null) bitmap[bit >> 3]! |= 1 << (bit & 7);
    else parts.push(lenencBytes(replaced));
  });
  if (!r.done) throw new MalformedPacketError('a binary result row longer than its columns');
  return changed ? Buffer.concat([row.subarray(0, 1), bitmap, ...parts]) : row;
}

/**
 * The target's error message as the job gets it: the detectors' findings replaced and, on a statement
 * with masked columns, every quoted value too (`Duplicate entry 'alice@example.com'` names a cell).
 */
export function maskError(message: string, masks: MaskPlan, masker: Masker, detectors: MaskPlan['detectors']): string {
  const quoted = masks.columns.length > 0 ? message.replace(/'(?:[^'\\]|\\.)*'/g, "'[masked]'") : message;
  return masker.maskText(quoted, detectors).text;
}
