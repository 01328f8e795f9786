/**
 * A statement text as the operation the governor is asked about: classified once per text (while the
 * target reads quotes as the parser does), its text masked for the record, and, where the connection
 * masks columns, traced through the catalog so that what lineage finds (a masked value copied out of its
 * mask, a predicate on a masked column) becomes a class of its own.
 */
import type { LruCache } from '../../base/lru.js';
import type { ColumnMask, MaskPlan } from '../../policy/operation.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL, type Masker } from '../../masking/masker.js';
import { exactShape, type SqlClassifier } from './classify.js';
import type { readBind } from './codec/messages.js';
import { quotesReadAlike } from './encoding.js';
import { maskedCopy, maskedPredicate, type LineageCache, type StatementLineage } from './lineage.js';
import type { KnownStatement, SqlOperation, Statement } from './statements.js';

/** Longer statements (bulk INSERTs and the like) are not kept by their text. */
const MAX_REMEMBERED_TEXT = 4096;

/** What the operations of one session are made with. */
export interface OperationContext {
  connection: string;
  classifier: SqlClassifier;
  lineage: LineageCache;
  /** Statements by exact text, shared by the sessions of this connection. */
  operations: LruCache<string, KnownStatement>;
  masker: Masker;
  /** Every mask rule of this connection. */
  connectionMasks: () => MaskPlan;
}

/** A write that copies a masked value out of its mask, a predicate on a column whose rule refuses them. */
interface MaskFindings {
  /** The classes these were found for; `classes` adds `masked_copy` and `masked_predicate` to them. */
  from: ReadonlySet<string>;
  classes: ReadonlySet<string>;
  detail: Pick<SqlOperation, 'maskedCopy' | 'maskedPredicate'>;
}

export class StatementOperations {
  readonly #ctx: OperationContext;
  /** Why the target could read quoting otherwise than the gateway's parser, by the parameter that makes it so. */
  readonly #syntaxUnsafe = new Map<'standard_conforming_strings' | 'client_encoding', string>();
  /** What lineage found against this connection's masks, by statement shape. */
  readonly #maskFindings = new WeakMap<StatementLineage, MaskFindings>();
  /** Each operation as a prepared statement runs it (asked for approval at each execution), made once per operation. */
  readonly #atExecution = new WeakMap<SqlOperation, SqlOperation>();
  #refusesPredicatesCached: boolean | undefined;

  constructor(ctx: OperationContext) {
    this.#ctx = ctx;
  }

  /** A parameter the target reports (at startup, or when it changes): some change how it reads quotes. */
  parameter(name: string, value: string): void {
    if (name === 'standard_conforming_strings') {
      if (value === 'on') this.#syntaxUnsafe.delete(name);
      else this.#syntaxUnsafe.set(name, 'standard_conforming_strings is off, so backslashes in strings could be read differently');
    } else if (name === 'client_encoding') {
      if (quotesReadAlike(value)) this.#syntaxUnsafe.delete(name);
      else this.#syntaxUnsafe.set(name, `client_encoding ${value} can hide quotes inside characters`);
    }
  }

  statementText(sql: string): KnownStatement {
    // With standard_conforming_strings off or an unsafe encoding the target could read quotes otherwise.
    const unsafe = this.#syntaxUnsafe.size > 0 && sql.includes('\\');
    const known = unsafe ? undefined : this.#ctx.operations.get(sql);
    if (known) return known;
    let classification = this.#ctx.classifier.classify(sql);
    if (unsafe) classification = { ...classification, classes: new Set(['unparseable']), syntaxError: [...this.#syntaxUnsafe.values()].join('; ') };
    const statement: KnownStatement = {
      sql,
      op: {
        connection: this.#ctx.connection,
        protocol: 'postgres',
        text: this.#ctx.masker.maskText(hideCredentials(sql), REDACT_ALL).text,
        classes: classification.classes,
        writes: classification.writes,
        sql: classification,
      },
    };
    if (!unsafe && !classification.perSession && sql.length <= MAX_REMEMBERED_TEXT) this.#ctx.operations.set(sql, statement);
    return statement;
  }

  /**
   * With columns masked on this connection, a statement's lineage comes before its decision: a write
   * that copies a masked value out of its mask gets the class `masked_copy`, a predicate on a column
   * whose rule refuses them `masked_predicate`. Lineage is cached per statement shape, so only a new
   * shape (or new DDL) waits for the catalog.
   */
  traced(statement: KnownStatement): SqlOperation | Promise<SqlOperation> {
    const { op, sql } = statement;
    const plan = this.#ctx.connectionMasks();
    if (plan.columns.length === 0 || op.sql.shape === undefined || op.sql.syntaxError !== undefined) return op;
    // Whether a predicate is `column = $1` or `column = 'literal'`, `ORDER BY 1` or `ORDER BY 2`, is lost in
    // the shape: where predicates are refused, lineage is cached by the exact text.
    const shape = this.#refusesPredicates ? exactShape(sql) : op.sql.shape;
    const cached = this.#ctx.lineage.cached(shape);
    if (cached) return this.#withLineage(statement, cached);
    return this.#ctx.lineage.compute(sql, shape).then(
      (lineage) => this.#withLineage(statement, lineage),
      (e: Error) => {
        throw new Error(`cannot trace the columns of a statement through the catalog: ${e.message}`);
      },
    );
  }

  #withLineage(statement: KnownStatement, lineage: StatementLineage): SqlOperation {
    // The same text again is traced once for as long as its lineage holds.
    if (statement.traced?.lineage === lineage) return statement.traced;
    const { op } = statement;
    let findings = this.#maskFindings.get(lineage);
    if (findings?.from !== op.classes) this.#maskFindings.set(lineage, (findings = maskFindings(op.classes, lineage, this.#ctx.connectionMasks().columns)));
    return (statement.traced = { ...op, classes: findings.classes, lineage, ...findings.detail });
  }

  /** Whether a rule of this connection refuses predicates on its masked columns. */
  get #refusesPredicates(): boolean {
    return (this.#refusesPredicatesCached ??= this.#ctx.connectionMasks().columns.some((m) => m.predicates?.refuse));
  }

  /** Prepared statements are asked for approval at each execution, with the values they run with. */
  atExecution(op: SqlOperation): SqlOperation {
    let executed = this.#atExecution.get(op);
    if (!executed) this.#atExecution.set(op, (executed = { ...op, approveAtExecution: true }));
    return executed;
  }

  /** A statement's text for the record and the approver, with its parameters as the record keeps them (masked). */
  withParameters(statement: Statement, bind: ReturnType<typeof readBind>): string {
    const { masker } = this.#ctx;
    const values = bind.params.map((value, i) => {
      if (value === null) return `$${i + 1} = NULL`;
      if ((bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i]) === 1) return `$${i + 1} = (${value.length} bytes, binary)`;
      const strategy = statement.write?.params?.get(i);
      const text = strategy ? masker.maskValue(value.toString('utf8'), strategy) : masker.maskText(hideCredentials(value.toString('utf8')), REDACT_ALL).text;
      return `$${i + 1} = '${text.replaceAll("'", "''")}'`;
    });
    return values.length ? `${statement.text} -- with ${values.join(', ')}` : statement.text;
  }
}

function maskFindings(classes: ReadonlySet<string>, lineage: StatementLineage, masks: readonly ColumnMask[]): MaskFindings {
  const copied = maskedCopy(lineage, masks);
  const oracle = maskedPredicate(lineage, masks);
  if (!copied && !oracle) return { from: classes, classes, detail: {} };
  return {
    from: classes,
    classes: new Set([...classes, ...(copied ? ['masked_copy'] : []), ...(oracle ? ['masked_predicate'] : [])]),
    detail: { ...(copied && { maskedCopy: copied }), ...(oracle && { maskedPredicate: oracle }) },
  };
}
