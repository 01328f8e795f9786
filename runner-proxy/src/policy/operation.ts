import type { DetectorType, MaskStrategy, Protocol } from './types.js';
import type { JsonSelector } from '../base/json-select.js';

/**
 * What an adapter hands the pipeline: one statement, command or request, already classified by the
 * adapter's own parser. The pipeline never sees protocol bytes.
 */
export interface Operation {
  connection: string;
  protocol: Protocol | 'process';
  /** For the record: the statement, command line or "METHOD path", with sensitive literals masked. */
  text: string;
  /** The classes of the operation's worst effect, in the policy's vocabulary (drop, ddl, unknown…). */
  classes: ReadonlySet<string>;
  /** Whether it changes the target; refused for identities that may only read. */
  writes: boolean;
  /** Shell: the argv of every command that runs or may run (wrappers taken off, shell text followed): what deny rules see. */
  commands?: readonly (readonly string[])[];
  /** Shell: each simple command as written, wrappers included: what an allow-list must list. */
  written?: readonly (readonly string[])[];
  /** HTTP. */
  method?: string;
  path?: string;
  /** HTTP: the target's host name, lower case (a connection's, or the host the forward proxy intercepted). */
  host?: string;
  /** HTTP: the request's header name/value pairs as the job sent them. */
  headers?: readonly string[];
  /** HTTP: the query string as sent, without "?". */
  query?: string;
  /** HTTP: whether the target routes paths with case, when its connection declares it (unknown otherwise). */
  pathCase?: 'sensitive' | 'insensitive';
  /** HTTP: the decoded JSON body, when there is one, for json conditions. */
  json?: unknown;
  /** Binds an approval to this exact operation: a hash of the normalised statement, argv or request. */
  fingerprint?: string;
  /**
   * A statement prepared now and run later, maybe many times (PostgreSQL Parse): a hold is not asked
   * now but at each execution, with the values it runs with.
   */
  approveAtExecution?: boolean;
}

export type Verdict = 'allow' | 'block' | 'approve';

export interface ColumnMask {
  matches(table: string, column: string): boolean;
  /** The column part alone: for columns whose table is unknown or a view. */
  matchesColumn(column: string): boolean;
  /** The table part alone: whether some column of that table may be masked. */
  matchesTable(table: string): boolean;
  strategy: MaskStrategy;
  rule: string;
  /** Whether statements may filter, join, group, order on or compare the column; see MaskSpec. */
  predicates?: { refuse: boolean; allowParamEquality: boolean };
}

export interface JsonMask {
  selector: JsonSelector;
  strategy: MaskStrategy;
  rule: string;
}

/** Everything that must be masked for one operation, merged from every matching mask rule. */
export interface MaskPlan {
  /** Columns masked on the way back to the job. */
  columns: readonly ColumnMask[];
  /** Columns whose bound values are masked on the way to the target. */
  writeColumns: readonly ColumnMask[];
  /** Detectors run on every value, with the strategy of the first rule that asked for the type. */
  detectors: ReadonlyMap<DetectorType, MaskStrategy>;
  json: readonly JsonMask[];
  /** HTTP response headers (lower case) whose values are masked: whole with the strategy, or by the detectors. */
  headers: ReadonlyMap<string, { strategy: MaskStrategy; whole: boolean }>;
  /** HTTP: what is masked on the way to the target (mask rules with `on: write`). */
  write: RequestMasks;
  /** The mask rules that contributed. */
  rules: readonly string[];
}

/**
 * Masks on what the job sends an HTTP target: JSON bodies by selector (which also name form fields and
 * query parameters) and detector, text bodies and every form or query value by detector, and the
 * request headers named.
 */
export interface RequestMasks {
  json: readonly JsonMask[];
  detectors: ReadonlyMap<DetectorType, MaskStrategy>;
  headers: ReadonlyMap<string, { strategy: MaskStrategy; whole: boolean }>;
  /** The mask rules that mask values (bodies, query strings): a body that cannot be masked is refused naming them. */
  rules: readonly string[];
}

export interface Decision {
  /** What happens: in observe mode always allow. */
  verdict: Verdict;
  /** What the policy says; differs from verdict only in observe mode. */
  policyVerdict: Verdict;
  /** The rule that decided, for block and approve. */
  rule?: string;
  /** One sentence for the client and the record. */
  reason: string;
  masks: MaskPlan;
}
