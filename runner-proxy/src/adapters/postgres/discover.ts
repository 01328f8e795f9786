import type { Discovery } from '../../masking/discovery.js';
import type { Catalog } from './catalog.js';
import { HEADER_LENGTH, int32At } from './codec/frames.js';
import { readRowDescription, type Field } from './codec/messages.js';
import { NOT_TEXT, TEXTUAL } from './result-mask.js';

/**
 * Feeds one session's results to the run's Discovery: each RowDescription names its columns' source
 * (`schema.table.column`, through the catalog), recorded once per statement shape; in observe mode the
 * text values of the rows that follow are counted under that source. Computed columns have no source
 * and are not counted.
 */
export class ResultDiscovery {
  readonly #discovery: Discovery;
  readonly #catalog: Catalog;
  /** The source of each column of the result being read, when its values are counted. */
  #sources: (string | null)[] | undefined;

  constructor(discovery: Discovery, catalog: Catalog) {
    this.#discovery = discovery;
    this.#catalog = catalog;
  }

  /**
   * A result starts. Returns a promise when its tables must be looked up first: the caller waits for it
   * before it reads on, so no row is counted without its source.
   */
  described(frame: Buffer, shape: string | undefined): Promise<void> | undefined {
    this.#sources = undefined;
    const counting = this.#discovery.countsValues;
    if (!counting && (shape === undefined || !this.#discovery.wantsColumns(shape))) return undefined;
    const fields = readRowDescription(frame);
    const missing = fields.filter((f) => f.tableOid !== 0 && !this.#catalog.cached(f.tableOid)).map((f) => f.tableOid);
    const start = () => {
      const sources = fields.map((f) => this.#sourceOf(f));
      if (shape !== undefined) this.#discovery.columns(shape, sources);
      if (counting) this.#sources = fields.map((f, i) => (scannable(f) ? sources[i]! : null));
    };
    if (missing.length === 0) return void start();
    return this.#catalog.describe(missing).then(start);
  }

  /** A DataRow of the current result, bytes start…end of `frame`: its text values are counted. */
  row(frame: Buffer, start: number, end: number): void {
    const sources = this.#sources;
    if (!sources) return;
    const count = (frame[start + HEADER_LENGTH]! << 8) | frame[start + HEADER_LENGTH + 1]!;
    for (let i = 0, pos = start + HEADER_LENGTH + 2; i < count && pos + 4 <= end; i++) {
      const len = int32At(frame, pos);
      const cell = pos + 4;
      pos = cell + Math.max(len, 0);
      const source = sources[i];
      if (len > 0 && source && pos <= end) this.#discovery.value(source, frame.toString('utf8', cell, pos));
    }
  }

  /** The result is complete: rows that come without a description of their own are not counted. */
  ended(): void {
    this.#sources = undefined;
  }

  #sourceOf(field: Field): string | null {
    const table = field.tableOid ? this.#catalog.cached(field.tableOid) : undefined;
    const column = table?.columns.get(field.column);
    return table && column ? `${table.schema}.${table.name}.${column}` : null;
  }
}

/** Values that can hold free text: numbers and dates would only give false card hits. */
function scannable(field: Field): boolean {
  return field.format === 1 ? TEXTUAL.has(field.typeOid) : !NOT_TEXT.has(field.typeOid);
}
