import type { DetectorType } from '../policy/types.js';
import { detect, DETECTOR_TYPES } from './detectors.js';

/** How many values of one source were looked at, and how many of them each detector type found something in. */
export interface SourceCounts {
  seen: number;
  matched: Partial<Record<DetectorType, number>>;
}

/** What a session's `discovery` event holds: counts only, never a value. */
export interface DiscoveryRecord {
  /** By source: `schema.table.column`, `connection $.json.path`, or an SSH connection's output. */
  sources: Record<string, SourceCounts>;
  /** PostgreSQL: the source columns (`schema.table.column`, null for a computed one) of each statement shape's result. */
  statements: Record<string, (string | null)[]>;
}

const ALL_TYPES: ReadonlySet<DetectorType> = new Set(DETECTOR_TYPES);
/** Bounds on what one session keeps, so a job with endless distinct shapes cannot grow the record without end. */
const MAX_SOURCES = 10_000;
const MAX_STATEMENTS = 10_000;
/** Values of one JSON document counted at most: a huge array of records teaches nothing more after this. */
const MAX_JSON_VALUES = 10_000;
const PLAIN_KEY = /^[A-Za-z_][\w-]*$/;

/**
 * Discovery: which sources carry sensitive values, learnt from the values that pass, for `govern policy
 * suggest`; and which source columns each statement shape returns, for `govern policy test` to judge
 * masks by. Adapters say what a value's source is; the counting is here, the same for every protocol.
 */
export class Discovery {
  /** Whether values are run through the detectors (observe mode); source columns are recorded either way. */
  readonly countsValues: boolean;
  readonly #sources = new Map<string, SourceCounts>();
  readonly #statements = new Map<string, (string | null)[]>();

  constructor(options: { countsValues: boolean }) {
    this.countsValues = options.countsValues;
  }

  /** Whether the source columns of this statement shape are still to be recorded. */
  wantsColumns(shape: string): boolean {
    return !this.#statements.has(shape) && this.#statements.size < MAX_STATEMENTS;
  }

  columns(shape: string, sources: readonly (string | null)[]): void {
    if (this.wantsColumns(shape)) this.#statements.set(shape, [...sources]);
  }

  /** Counts one value of a source: seen, and for every detector type that finds something in it, matched. */
  value(source: string, text: string): void {
    let counts = this.#sources.get(source);
    if (!counts) {
      if (this.#sources.size >= MAX_SOURCES) return;
      this.#sources.set(source, (counts = { seen: 0, matched: {} }));
    }
    counts.seen++;
    const found = new Set(detect(text, ALL_TYPES).map((f) => f.type));
    for (const type of found) counts.matched[type] = (counts.matched[type] ?? 0) + 1;
  }

  /**
   * Counts the strings and numbers of a JSON document, each under `prefix` and its path with array
   * indices generalised (`billing $.items[*].email`). Text that is not JSON is not counted.
   */
  json(prefix: string, text: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return;
    }
    let budget = MAX_JSON_VALUES;
    const walk = (value: unknown, path: string): void => {
      if (budget <= 0 || value === null) return;
      if (Array.isArray(value)) return value.forEach((item) => walk(item, `${path}[*]`));
      if (typeof value === 'object') {
        for (const [key, child] of Object.entries(value as Record<string, unknown>)) walk(child, PLAIN_KEY.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
        return;
      }
      if (typeof value !== 'string' && typeof value !== 'number') return;
      budget--;
      this.value(`${prefix} ${path}`, String(value));
    };
    walk(doc, '$');
  }

  /** The counts so far, for the record; undefined when nothing was learnt. */
  record(): DiscoveryRecord | undefined {
    if (this.#sources.size === 0 && this.#statements.size === 0) return undefined;
    return { sources: Object.fromEntries(this.#sources), statements: Object.fromEntries(this.#statements) };
  }
}
