import type { MaskPlan } from '../../core/operation.js';
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
 * delimiter, null marker, quote and escape.
 */
export class CopyRowCodec {
  readonly #csv: boolean;
  readonly #delimiter: string;
  readonly #null: string;
  readonly #quote: string;
  readonly #escape: string;

  constructor(spec: Pick<CopySpec, 'format' | 'delimiter' | 'null' | 'quote' | 'escape'>) {
    this.#csv = spec.format === 'csv';
    this.#delimiter = spec.delimiter ?? (this.#csv ? ',' : '\t');
    this.#null = spec.null ?? (this.#csv ? '' : '\\N');
    this.#quote = spec.quote ?? '"';
    this.#escape = spec.escape ?? this.#quote;
  }

  parse(line: string): CopyFields {
    return this.#csv ? this.#parseCsv(line) : line.split(this.#delimiter).map((f) => (f === this.#null ? null : unescapeText(f)));
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
    let i = 0;
    for (;;) {
      let value = '';
      let quoted = false;
      if (line[i] === q) {
        quoted = true;
        for (i++; i < line.length; i++) {
          const ch = line[i]!;
          const next = line[i + 1];
          if (ch === esc && (next === q || (esc !== q && next === esc))) {
            value += next;
            i++;
          } else if (ch === q) {
            i++;
            break;
          } else {
            value += ch;
          }
        }
      }
      const delimiterAt = line.indexOf(this.#delimiter, i);
      const end = delimiterAt < 0 ? line.length : delimiterAt;
      value += line.slice(i, end);
      fields.push(!quoted && value === this.#null ? null : value);
      if (delimiterAt < 0) return fields;
      i = delimiterAt + this.#delimiter.length;
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

export function copyDataFrame(text: string): Buffer {
  return new Writer(text.length + 8).bytes(Buffer.from(text)).finish(Backend.CopyData);
}

/** Resolves, for each column of a COPY, the strategy of the mask rule that covers it. */
export async function copyColumnStrategies(spec: CopySpec, masks: MaskPlan['columns'], catalog: Catalog): Promise<(MaskStrategy | undefined)[] | undefined> {
  if (!spec.relation || masks.length === 0) return undefined;
  const table = await catalog.byName(spec.relation);
  if (!table) throw new Error(`table ${spec.relation} is not in the catalog`);
  const columns = spec.columns?.length ? spec.columns : table.ordered;
  return columns.map((c) => masks.find((m) => matchesTableColumn(m, table, c))?.strategy);
}

/**
 * COPY … TO STDOUT: the target sends one row per CopyData message. Columns covered by a mask rule are
 * replaced; every field gets the detectors. Binary COPY cannot be read without types: it is refused
 * before it starts (see the session), and refused here too should one slip through.
 */
export class CopyOutMasker {
  readonly #codec: CopyRowCodec;
  readonly #columns: (MaskStrategy | undefined)[] | undefined;
  readonly #masks: MaskPlan;
  readonly #masker: Masker;
  #skipHeader: boolean;

  private constructor(spec: CopySpec, columns: (MaskStrategy | undefined)[] | undefined, masks: MaskPlan, masker: Masker) {
    this.#codec = new CopyRowCodec(spec);
    this.#columns = columns;
    this.#masks = masks;
    this.#masker = masker;
    this.#skipHeader = spec.header;
  }

  static async create(spec: CopySpec | undefined, format: number, masks: MaskPlan, catalog: Catalog, masker: Masker): Promise<CopyOutMasker> {
    if (format !== 0 || spec?.format === 'binary') throw new Error('binary COPY output cannot be masked');
    const effective: CopySpec = spec ?? { from: false, format: 'text', header: false };
    return new CopyOutMasker(effective, await copyColumnStrategies(effective, masks.columns, catalog), masks, masker);
  }

  row(frame: Buffer): { frame: Buffer; masked: number } {
    if (this.#skipHeader) {
      this.#skipHeader = false;
      return { frame, masked: 0 };
    }
    const text = frame.toString('utf8', HEADER_LENGTH);
    const lineEnd = text.endsWith('\r\n') ? '\r\n' : text.endsWith('\n') ? '\n' : '';
    const fields = this.#codec.parse(text.slice(0, text.length - lineEnd.length));
    const masked = maskFields(fields, this.#columns, this.#masks, this.#masker);
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
