import type { MaskPlan } from '../../policy/operation.js';
import type { Masker } from '../../masking/masker.js';
import type { MaskStrategy } from '../../policy/types.js';
import type { Catalog } from './catalog.js';
import type { CopySpec } from './classify.js';
import { HEADER_LENGTH } from './codec/frames.js';
import { Backend, Writer } from './codec/messages.js';
import { matchesTableColumn } from './result-mask.js';

/** One COPY row: its fields, null as null. */
export type CopyFields = (string | null)[];

/**
 * Reads and writes one row of COPY text or CSV data (without its line end), with the statement's
 * delimiter, null marker, quote and escape, field by field as PostgreSQL's CopyReadAttributesText and
 * CopyReadAttributesCSV do: in text, a backslash escapes the next character (a delimiter too) and the
 * null marker is compared with the field as written; in CSV, quotes may open and close anywhere in a
 * field, the escape works only inside them, and a field with a quote is null only in a FORCE_NULL
 * column (an unquoted null marker in a FORCE_NOT_NULL column is a value).
 */
export class CopyRowCodec {
  readonly #csv: boolean;
  readonly #delimiter: string;
  readonly #null: string;
  readonly #quote: string;
  readonly #escape: string;
  /** CSV COPY FROM: by field index, whether FORCE_NULL or FORCE_NOT_NULL names that column. */
  readonly #forceNull: (i: number) => boolean;
  readonly #forceNotNull: (i: number) => boolean;

  /** `columns`: the names of the row's fields, which FORCE_NULL and FORCE_NOT_NULL name. */
  constructor(spec: Pick<CopySpec, 'format' | 'delimiter' | 'null' | 'quote' | 'escape' | 'forceNull' | 'forceNotNull'>, columns: readonly string[] = []) {
    this.#csv = spec.format === 'csv';
    this.#delimiter = spec.delimiter ?? (this.#csv ? ',' : '\t');
    this.#null = spec.null ?? (this.#csv ? '' : '\\N');
    this.#quote = spec.quote ?? '"';
    this.#escape = spec.escape ?? this.#quote;
    const forced = (names: readonly string[] | '*' | undefined) => (i: number) => names === '*' || (names?.includes(columns[i] ?? '') ?? false);
    this.#forceNull = forced(spec.forceNull);
    this.#forceNotNull = forced(spec.forceNotNull);
  }

  parse(line: string): CopyFields {
    return this.#csv ? this.#parseCsv(line) : this.#parseText(line);
  }

  #parseText(line: string): CopyFields {
    const fields: CopyFields = [];
    let start = 0;
    for (let i = 0; ; i++) {
      if (i < line.length && line[i] !== this.#delimiter) {
        if (line[i] === '\\') i++;
        continue;
      }
      const raw = line.slice(start, Math.min(i, line.length));
      fields.push(raw === this.#null ? null : unescapeText(raw));
      if (i >= line.length) return fields;
      start = i + 1;
    }
  }

  format(fields: CopyFields): string {
    return fields
      .map((f) => {
        if (f === null) return this.#null;
        return this.#csv ? this.#quoteCsv(f) : escapeText(f, this.#delimiter);
      })
      .join(this.#delimiter);
  }

  /** Where a row ends in a stream: the index of its line feed, or -1 when the row is not complete yet. */
  rowEnd(text: string, from: number): number {
    if (!this.#csv) return text.indexOf('\n', from);
    let quoted = false;
    for (let i = from; i < text.length; i++) {
      const ch = text[i]!;
      if (quoted) {
        if (ch === this.#escape && this.#escape !== this.#quote && text[i + 1] === this.#quote) i++;
        else if (ch === this.#quote) {
          if (this.#escape === this.#quote && text[i + 1] === this.#quote) i++;
          else quoted = false;
        }
      } else if (ch === this.#quote) quoted = true;
      else if (ch === '\n') return i;
    }
    return -1;
  }

  #parseCsv(line: string): CopyFields {
    const q = this.#quote;
    const esc = this.#escape;
    const fields: CopyFields = [];
    let value = '';
    let sawQuote = false;
    let start = 0;
    for (let i = 0; ; ) {
      if (i >= line.length || line[i] === this.#delimiter) {
        const index = fields.length;
        const isNull = sawQuote ? value === this.#null && this.#forceNull(index) : line.slice(start, i) === this.#null && !this.#forceNotNull(index);
        fields.push(isNull ? null : value);
        if (i >= line.length) return fields;
        value = '';
        sawQuote = false;
        start = ++i;
      } else if (line[i] === q) {
        sawQuote = true;
        for (i++; i < line.length; i++) {
          const next = line[i + 1];
          if (line[i] === esc && (next === q || next === esc) && i + 1 < line.length) value += line[++i];
          else if (line[i] === q) break;
          else value += line[i];
        }
        i++;
      } else value += line[i++];
    }
  }

  #quoteCsv(value: string): string {
    const needs = value === this.#null || value.includes(this.#delimiter) || value.includes(this.#quote) || /[\r\n]/.test(value);
    if (!needs) return value;
    return `${this.#quote}${value.replaceAll(this.#quote, this.#escape + this.#quote)}${this.#quote}`;
  }
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

function unescapeText(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) =>
    e[0] === 'x' ? String.fromCharCode(parseInt(e.slice(1), 16)) : /^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : (ESCAPES[e] ?? e),
  );
}

function escapeText(value: string, delimiter: string): string {
  return value.replace(/[\\\b\f\n\r\t\v]/g, (ch) => `\\${Object.keys(ESCAPES).find((k) => ESCAPES[k] === ch)!}`).replaceAll(delimiter, `\\${delimiter}`);
}

/** Whether a COPY's data is UTF-8, as the gateway reads it: no ENCODING option, or UTF8 (UNICODE is its alias). */
export const utf8 = (spec: Pick<CopySpec, 'encoding'>): boolean => spec.encoding === undefined || /^(utf-?8|unicode)$/i.test(spec.encoding);

export function copyDataFrame(text: string): Buffer {
  return new Writer(text.length + 8).bytes(Buffer.from(text)).finish(Backend.CopyData);
}

/** A COPY's columns, by name, with the strategy of the mask rule that covers each. */
export interface CopyColumn {
  name: string;
  strategy: MaskStrategy | undefined;
}

/** Resolves the columns of a COPY of a table and the mask rule that covers each; undefined for COPY (query). */
export async function copyColumns(spec: CopySpec, masks: MaskPlan['columns'], catalog: Catalog): Promise<CopyColumn[] | undefined> {
  if (!spec.relation || masks.length === 0) return undefined;
  const table = await catalog.byName(spec.relation);
  if (!table) throw new Error(`table ${spec.relation} is not in the catalog`);
  const columns = spec.columns?.length ? spec.columns : table.ordered;
  return columns.map((name) => ({ name, strategy: masks.find((m) => matchesTableColumn(m, table, name))?.strategy }));
}

/**
 * The strategies for one row's fields. A header line keeps a covered column's field only where it is
 * that column's name: should the header have been misread, the first data row is masked all the same.
 */
export function rowStrategies(columns: readonly CopyColumn[] | undefined, fields: CopyFields, header: boolean): (MaskStrategy | undefined)[] | undefined {
  return columns?.map((c, i) => (header && fields[i] === c.name ? undefined : c.strategy));
}

/**
 * COPY … TO STDOUT: the target sends one row per CopyData message. Columns covered by a mask rule are
 * replaced; every field gets the detectors. Binary COPY cannot be read without types: it is refused
 * before it starts (see the session), and refused here too should one slip through.
 */
export class CopyOutMasker {
  readonly #codec: CopyRowCodec;
  readonly #columns: CopyColumn[] | undefined;
  readonly #masks: MaskPlan;
  readonly #masker: Masker;
  #header: boolean;

  private constructor(spec: CopySpec, columns: CopyColumn[] | undefined, masks: MaskPlan, masker: Masker) {
    this.#codec = new CopyRowCodec(spec);
    this.#columns = columns;
    this.#masks = masks;
    this.#masker = masker;
    this.#header = spec.header;
  }

  static async create(spec: CopySpec | undefined, format: number, masks: MaskPlan, catalog: Catalog, masker: Masker): Promise<CopyOutMasker> {
    if (format !== 0 || spec?.format === 'binary') throw new Error('binary COPY output cannot be masked');
    const effective: CopySpec = spec ?? { from: false, format: 'text', header: false };
    return new CopyOutMasker(effective, await copyColumns(effective, masks.columns, catalog), masks, masker);
  }

  row(frame: Buffer): { frame: Buffer; masked: number } {
    const text = frame.toString('utf8', HEADER_LENGTH);
    const lineEnd = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
    const fields = this.#codec.parse(text.slice(0, text.length - lineEnd.length));
    const header = this.#header;
    this.#header = false;
    const masked = maskFields(fields, rowStrategies(this.#columns, fields, header), this.#masks, this.#masker);
    return masked ? { frame: copyDataFrame(this.#codec.format(fields) + lineEnd), masked } : { frame, masked: 0 };
  }
}

/** Masks a row's fields in place: covered columns whole, the rest with the detectors. */
export function maskFields(fields: CopyFields, columns: readonly (MaskStrategy | undefined)[] | undefined, masks: Pick<MaskPlan, 'detectors'>, masker: Masker): number {
  let count = 0;
  for (let i = 0; i < fields.length; i++) {
    const value = fields[i];
    if (value === null || value === undefined) continue;
    const strategy = columns?.[i];
    if (strategy) {
      fields[i] = masker.maskValue(value, strategy);
      count++;
      continue;
    }
    const r = masker.maskText(value, masks.detectors);
    if (r.count) {
      fields[i] = r.text;
      count += r.count;
    }
  }
  return count;
}
