import type { ColumnMask, MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { MaskStrategy } from '../../policy/types.js';
import type { Catalog } from './catalog.js';
import type { SqlParser } from './parser.js';
import type { CopySpec, SqlClassification } from './classify.js';
import { HEADER_LENGTH, type OutputBatch } from './codec/frames.js';
import { copyColumns, copyDataFrame, CopyRowCodec, maskFields, rowStrategies, utf8, type CopyColumn } from './copy-mask.js';

/**
 * Write-side masking (`mask: { on: write }`): values bound for the named columns are replaced before
 * they reach the target, whether they come as literals in INSERT / UPDATE / MERGE, as Bind parameters,
 * or as COPY FROM data. A value the gateway cannot see (an expression, a subquery) is refused, as is a
 * statement whose target columns it cannot resolve.
 */
export interface WritePlan {
  /** The statement with its literals replaced, when any were. */
  sql?: string;
  /** Bind parameters to mask, by zero-based index. */
  params?: ReadonlyMap<number, MaskStrategy>;
  /** Each COPY FROM STDIN of the statement, in order: the strategy for each column of its data, if any is masked. */
  copies?: readonly (CopyPlan | undefined)[];
  refusal?: { rule: string; message: string };
}

export interface CopyPlan {
  spec: CopySpec;
  columns: CopyColumn[];
}

type Node = Record<string, unknown>;

interface Replacement {
  /** Byte offset of the literal in the statement. */
  location: number;
  strategy: MaskStrategy;
}

const RULE = 'write-mask';
/** Write masking replaces named columns only; the detectors are for what flows back to the job. */
const NO_DETECTORS = { detectors: new Map() };

class Unmaskable extends Error {}

function relationName(rel: unknown): string | undefined {
  const r = rel as { schemaname?: string; relname?: string } | undefined;
  return r?.relname && (r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname);
}

/** The literal or parameter that supplies a value, through casts; anything else cannot be masked. */
function valueSource(value: unknown, column: string): { literal?: number; param?: number; none?: true } {
  const v = value as Node;
  if (v.TypeCast) return valueSource((v.TypeCast as Node).arg, column);
  if (v.A_Const) {
    const c = v.A_Const as { isnull?: boolean; location?: number };
    return c.isnull ? { none: true } : { literal: c.location! };
  }
  if (v.ParamRef) return { param: ((v.ParamRef as { number: number }).number) - 1 };
  if (v.SetToDefault) return { none: true };
  throw new Unmaskable(`the value for column ${column} is an expression the gateway cannot mask; send it as a literal or a parameter`);
}

interface Collected {
  replacements: Replacement[];
  params: Map<number, MaskStrategy>;
}

function maskFor(masks: readonly ColumnMask[], table: string, column: string): ColumnMask | undefined {
  const bare = table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
  return masks.find((m) => m.matches(bare, column) || m.matches(table, column));
}

function collect(column: string, value: unknown, mask: ColumnMask, out: Collected): void {
  const source = valueSource(value, column);
  if (source.literal !== undefined) out.replacements.push({ location: source.literal, strategy: mask.strategy });
  if (source.param !== undefined) out.params.set(source.param, mask.strategy);
}

async function insertColumns(stmt: Node, table: string, catalog: Catalog): Promise<string[]> {
  const explicit = (stmt.cols as Node[] | undefined)?.map((c) => String((c.ResTarget as { name?: string }).name));
  if (explicit?.length) return explicit;
  const info = await catalog.byName(table);
  if (!info) throw new Unmaskable(`the columns of ${table} cannot be resolved, so its masked columns cannot be found`);
  return [...info.ordered];
}

async function collectInsert(stmt: Node, masks: readonly ColumnMask[], catalog: Catalog, out: Collected): Promise<void> {
  const table = relationName(stmt.relation);
  if (!table || !masks.some((m) => m.matchesTable(table) || m.matchesTable(table.slice(table.lastIndexOf('.') + 1)))) return;
  const columns = await insertColumns(stmt, table, catalog);
  const masked = columns.map((c) => maskFor(masks, table, c));
  if (!masked.some(Boolean)) return;
  const select = (stmt.selectStmt as { SelectStmt?: Node } | undefined)?.SelectStmt;
  const rows = select?.valuesLists as { List?: { items?: unknown[] } }[] | undefined;
  if (!rows) throw new Unmaskable(`INSERT … SELECT into ${table} writes masked columns from values the gateway cannot see`);
  for (const row of rows) {
    (row.List?.items ?? []).forEach((value, i) => {
      const mask = masked[i];
      if (mask) collect(columns[i]!, value, mask, out);
    });
  }
  collectAssignments(table, (stmt.onConflictClause as { targetList?: Node[] } | undefined)?.targetList, masks, out);
}

function collectAssignments(table: string, targets: Node[] | undefined, masks: readonly ColumnMask[], out: Collected): void {
  for (const t of targets ?? []) {
    const target = t.ResTarget as { name?: string; val?: unknown } | undefined;
    if (!target?.name) continue;
    const mask = maskFor(masks, table, target.name);
    if (!mask) continue;
    if ((target.val as Node | undefined)?.MultiAssignRef) throw new Unmaskable(`a multi-column assignment to ${table}.${target.name} cannot be masked; assign it on its own`);
    // EXCLUDED.col in ON CONFLICT refers to the row being inserted, which is masked already.
    if ((target.val as Node | undefined)?.ColumnRef) continue;
    collect(target.name, target.val, mask, out);
  }
}

function collectMerge(stmt: Node, masks: readonly ColumnMask[], out: Collected): void {
  const table = relationName(stmt.relation);
  if (!table) return;
  for (const w of (stmt.mergeWhenClauses as Node[] | undefined) ?? []) {
    const clause = w.MergeWhenClause as { commandType?: string; targetList?: Node[]; values?: unknown[] } | undefined;
    if (clause?.commandType === 'CMD_UPDATE') collectAssignments(table, clause.targetList, masks, out);
    if (clause?.commandType === 'CMD_INSERT') {
      const columns = (clause.targetList ?? []).map((t) => String((t.ResTarget as { name?: string }).name));
      if (columns.length === 0 && masks.some((m) => m.matchesTable(table))) throw new Unmaskable(`MERGE … INSERT into ${table} without a column list cannot be masked`);
      (clause.values ?? []).forEach((value, i) => {
        const mask = maskFor(masks, table, columns[i]!);
        if (mask) collect(columns[i]!, value, mask, out);
      });
    }
  }
}

/** Replaces literals by byte offset, using the real lexer to find where each one ends. */
function rewriteLiterals(sql: string, replacements: Replacement[], ctx: WriteContext): string {
  const masker = ctx.governor.masker;
  const bytes = Buffer.from(sql);
  const tokens = ctx.classifier.parser.scan(sql).tokens;
  const parts: Buffer[] = [];
  let last = 0;
  for (const r of [...replacements].sort((a, b) => a.location - b.location)) {
    const token = tokens.find((t) => t.start === r.location);
    if (!token || token.tokenName !== 'SCONST') {
      // Numbers and bit strings would need a string in their place; refuse rather than guess.
      if (token?.tokenName === 'ICONST' || token?.tokenName === 'FCONST') throw new Unmaskable('a numeric literal bound for a masked column cannot be masked; store it as text');
      throw new Unmaskable('a literal bound for a masked column could not be located');
    }
    const original = scanValue(token.text);
    const masked = masker.maskValue(original, r.strategy);
    parts.push(bytes.subarray(last, token.start), Buffer.from(`'${masked.replaceAll("'", "''")}'`));
    last = token.end;
  }
  parts.push(bytes.subarray(last));
  return Buffer.concat(parts).toString('utf8');
}

/** The value of a string constant token: '…', E'…', U&'…', $tag$…$tag$. */
function scanValue(text: string): string {
  const dollar = /^(\$[^$]*\$)([\s\S]*)\1$/.exec(text);
  if (dollar) return dollar[2]!;
  const body = text.replace(/^[EeNn]?'|'$/g, '');
  return /^[Ee]'/.test(text) ? body.replace(/\\(.)/g, '$1').replaceAll("''", "'") : body.replaceAll("''", "'");
}

export interface WriteContext {
  catalog: Catalog;
  governor: { masker: Masker };
  classifier: { parser: SqlParser };
}

export class WriteMasker {
  readonly #codec: CopyRowCodec;
  readonly #columns: CopyColumn[];
  readonly #masker: Masker;
  #partial = '';
  /** Whether the next row is the header line. */
  #header: boolean;

  constructor(plan: CopyPlan, masker: Masker) {
    this.#codec = new CopyRowCodec(plan.spec, plan.columns.map((c) => c.name));
    this.#columns = plan.columns;
    this.#masker = masker;
    this.#header = plan.spec.header;
  }

  /** Works out how to mask one statement's writes; never throws, a problem comes back as a refusal. */
  static async forStatement(classification: SqlClassification, sql: string, masks: MaskPlan, ctx: WriteContext): Promise<WritePlan> {
    const out: Collected = { replacements: [], params: new Map() };
    try {
      const copies: (CopyPlan | undefined)[] = [];
      for (const spec of classification.copies ?? []) {
        if (!spec.from) continue;
        const columns = await copyColumns(spec, masks.writeColumns, ctx.catalog);
        const masked = columns?.some((c) => c.strategy) ?? false;
        if (masked && spec.format === 'binary') throw new Unmaskable('binary COPY FROM into a table with masked columns cannot be masked; use text or csv');
        if (masked && !utf8(spec)) throw new Unmaskable(`COPY FROM with ENCODING ${spec.encoding} into a table with masked columns cannot be masked; send UTF8`);
        copies.push(masked ? { spec, columns: columns! } : undefined);
      }
      const tree = ctx.classifier.parser.parse(sql) as { stmts?: { stmt?: Node }[] };
      for (const { stmt } of tree.stmts ?? []) {
        if (stmt?.InsertStmt) await collectInsert(stmt.InsertStmt as Node, masks.writeColumns, ctx.catalog, out);
        else if (stmt?.UpdateStmt) {
          const update = stmt.UpdateStmt as Node;
          const table = relationName(update.relation);
          if (table) collectAssignments(table, update.targetList as Node[], masks.writeColumns, out);
        } else if (stmt?.MergeStmt) collectMerge(stmt.MergeStmt as Node, masks.writeColumns, out);
      }
      const rewritten = out.replacements.length ? rewriteLiterals(sql, out.replacements, ctx) : undefined;
      return { ...(rewritten !== undefined && { sql: rewritten }), ...(out.params.size && { params: out.params }), ...(copies.some(Boolean) && { copies }) };
    } catch (e) {
      if (e instanceof Unmaskable) return { refusal: { rule: RULE, message: `refused: ${e.message}` } };
      throw e;
    }
  }

  /** Client CopyData: whole rows are masked and sent on; a partial row waits for the rest. */
  data(frame: Buffer, out: OutputBatch): void {
    this.#partial += frame.toString('utf8', HEADER_LENGTH);
    let start = 0;
    let rows = '';
    for (let end = this.#codec.rowEnd(this.#partial, start); end >= 0; end = this.#codec.rowEnd(this.#partial, start)) {
      rows += `${this.#row(this.#partial.slice(start, end))}\n`;
      start = end + 1;
    }
    this.#partial = this.#partial.slice(start);
    if (rows) out.push(copyDataFrame(rows));
  }

  /** CopyDone: a last row without its line end. */
  end(out: OutputBatch): void {
    if (this.#partial && this.#partial !== '\\.') out.push(copyDataFrame(this.#row(this.#partial)));
    else if (this.#partial) out.push(copyDataFrame(this.#partial));
    this.#partial = '';
  }

  #row(line: string): string {
    if (line === '\\.') return line;
    const header = this.#header;
    this.#header = false;
    const cr = line.endsWith('\r');
    const fields = this.#codec.parse(cr ? line.slice(0, -1) : line);
    return maskFields(fields, rowStrategies(this.#columns, fields, header), NO_DETECTORS, this.#masker) ? this.#codec.format(fields) + (cr ? '\r' : '') : line;
  }
}
