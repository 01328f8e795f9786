/**
 * What the target answers a PostgreSQL session, on its way to the client: rows masked by the plan for
 * their result, errors and notices replaced where a refusal or a mask says, and what each statement did
 * (its command tag, the session state it changed, its rows and masked values) recorded as it completes.
 */
import type { Socket } from 'node:net';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { Masker } from '../../masking/masker.js';
import type { Catalog } from './catalog.js';
import type { SqlClassification, SqlClassifier } from './classify.js';
import type { FrameSink } from './codec/frames.js';
import { Backend, readNotification, readParameterStatus, writeNotification } from './codec/messages.js';
import type { CopyRelay } from './copy-relay.js';
import type { ResultDiscovery } from './discover.js';
import type { Refusals } from './refusal.js';
import { Direction } from './relay.js';
import { maskRowInto, PASS_THROUGH } from './result-mask.js';
import type { ResultPlans } from './result-plans.js';
import type { SessionState } from './session-state.js';
import { lineageOf, UNTRACED, type Pending, type Portal, type RunStats, type SqlOperation, type Statement } from './statements.js';

/** What the answers of one session are read from, written to and recorded by. */
export interface AnswerContext {
  connection: string;
  catalog: Catalog;
  classifier: SqlClassifier;
  masker: Masker;
  completed: AdapterGovernor['completed'];
  discovery: ResultDiscovery;
  /** The target's answers awaited, in the order the requests went out. */
  pending: Pending[];
  state: SessionState<Statement, Portal>;
  plans: ResultPlans;
  refusals: Refusals;
  copy: CopyRelay;
  /** A parameter the target reports. */
  parameter(name: string, value: string): void;
  /** Frames up to this size are inspected whole. */
  maxFrame: number;
  /** Ends the session on an error of the gateway's. */
  fail(e: unknown): void;
}

export class TargetAnswers {
  readonly #ctx: AnswerContext;
  readonly #pending: Pending[];
  readonly #state: SessionState<Statement, Portal>;
  readonly #plans: ResultPlans;
  readonly #refusals: Refusals;
  readonly #copy: CopyRelay;
  readonly #discovery: ResultDiscovery;
  /** Target → client. */
  readonly #down: Direction;

  constructor(ctx: AnswerContext, server: Socket, client: Socket) {
    this.#ctx = ctx;
    this.#pending = ctx.pending;
    this.#state = ctx.state;
    this.#plans = ctx.plans;
    this.#refusals = ctx.refusals;
    this.#copy = ctx.copy;
    this.#discovery = ctx.discovery;
    this.#down = new Direction(server, client, this.#serverSink(), ctx.maxFrame, (e) => ctx.fail(e));
  }

  /** Bytes from the target. */
  push(chunk: Buffer): void {
    this.#down.push(chunk);
  }

  #serverSink(): FrameSink {
    return {
      frame: (code, frame) => this.#serverFrame(code, frame),
      mayStream: (code) => (code === Backend.DataRow && !this.#plans.current(this.#pending[0]).active) || (code === Backend.CopyData && !this.#copy.masksOut),
      streamed: (piece) => this.#down.out.pass(piece),
      dataRow: (chunk, start, end) => this.#dataRow(chunk, start, end),
    };
  }

  #serverFrame(code: number, frame: Buffer): boolean {
    const head = this.#pending[0];
    switch (code) {
      case Backend.RowDescription: {
        const discovering = this.#discovery.described(frame, shapeOf(head));
        if (!discovering) return this.#rowDescription(frame, head);
        void discovering.then(
          () => this.#rowDescription(frame, head) && this.#down.resume(),
          (e: unknown) => this.#ctx.fail(new Error(`cannot resolve result columns through the catalog: ${(e as Error).message}`)),
        );
        return false;
      }
      case Backend.ParseComplete:
      case Backend.BindComplete:
      case Backend.CloseComplete:
      case Backend.NoData:
        this.#pending.shift();
        break;
      case Backend.CommandComplete:
      case Backend.EmptyQueryResponse:
      case Backend.PortalSuspended:
        if (code === Backend.CommandComplete && (head?.kind === 'execute' || head?.kind === 'query')) {
          recordCommandTag(head, frame);
          this.#confirmed(head, frame);
        }
        if (code !== Backend.PortalSuspended) this.#discovery.ended();
        if (head?.kind === 'execute') {
          this.#pending.shift();
          this.#changedCatalog(head.portal.statement?.sql);
          this.#completed(head.portal.ruling, head);
        } else if (head?.kind === 'query') {
          head.plan = PASS_THROUGH;
        }
        this.#copy.outEnded();
        break;
      case Backend.ErrorResponse:
        this.#error(frame, head);
        return true;
      case Backend.ReadyForQuery:
        this.#readyForQuery(head, frame);
        break;
      case Backend.NoticeResponse: {
        const replaced = this.#refusals.notice(frame, head);
        if (replaced) {
          this.#down.out.push(replaced);
          return true;
        }
        break;
      }
      case Backend.NotificationResponse: {
        const n = readNotification(frame);
        const r = this.#ctx.masker.maskText(n.payload, this.#plans.connectionMasks().detectors);
        if (r.count) {
          this.#down.out.push(writeNotification({ ...n, payload: r.text }));
          return true;
        }
        break;
      }
      case Backend.ParameterStatus: {
        const { name, value } = readParameterStatus(frame);
        this.#ctx.parameter(name, value);
        break;
      }
      case Backend.CopyInResponse:
        this.#copy.inStarted();
        break;
      case Backend.CopyOutResponse: {
        const starting = this.#copy.outStarting(frame, head, this.#plans.masksOf(head));
        if (!starting) break;
        void starting.then(
          () => {
            this.#down.out.pass(frame);
            this.#down.resume();
          },
          (e: unknown) => this.#ctx.fail(e),
        );
        return false;
      }
      case Backend.CopyData: {
        const out = this.#copy.outRow(frame);
        if (out) {
          this.#count(head, frame.length, out.masked, 0);
          if (out.frame !== frame) {
            this.#down.out.push(out.frame);
            return true;
          }
        }
        break;
      }
      default:
        break;
    }
    this.#down.out.pass(frame);
    return true;
  }

  #count(head: Pending | undefined, bytes: number, masked: number, rows: number): void {
    if (head?.kind === 'query' || head?.kind === 'execute') {
      head.rows += rows;
      head.bytes += bytes;
      head.masked += masked;
    }
  }

  #dataRow(chunk: Buffer, start: number, end: number): boolean {
    const head = this.#pending[0];
    this.#discovery.row(chunk, start, end);
    const plan = this.#plans.current(head);
    if (!plan.active) {
      this.#count(head, end - start, 0, 1);
      this.#down.out.passRange(chunk, start, end);
      return true;
    }
    const tally = head?.kind === 'query' || head?.kind === 'execute' ? (head.maskedBy ??= {}) : undefined;
    const masked = maskRowInto(chunk, start, end, plan, this.#plans.masksOf(head), this.#ctx.masker, this.#down.out, tally);
    this.#count(head, end - start, masked, 1);
    return true;
  }

  /** Plans masking for a result; when a table is new to the catalog, reading waits for the lookup. */
  #rowDescription(frame: Buffer, head: Pending | undefined): boolean {
    const planning = this.#plans.described(frame, head);
    const apply = () => {
      planning?.apply();
      if (head?.kind === 'describe') this.#pending.shift();
      this.#down.out.pass(frame);
    };
    if (!planning?.lookup.length) {
      apply();
      return true;
    }
    void this.#ctx.catalog.describe(planning.lookup).then(
      () => {
        apply();
        this.#down.resume();
      },
      (e: unknown) => this.#ctx.fail(new Error(`cannot resolve result columns through the catalog: ${(e as Error).message}`)),
    );
    return false;
  }

  #error(frame: Buffer, head: Pending | undefined): void {
    const { fields, replaced } = this.#refusals.error(frame, head);
    if (replaced) this.#down.out.push(replaced);
    else this.#down.out.pass(frame);
    this.#copy.outEnded();
    const message = fields.get('M');
    if (head?.kind === 'query') {
      head.error ??= message;
      return;
    }
    this.#refusals.skipToSync(head, message, (ruling, stats) => this.#completed(ruling, stats));
  }

  /** A statement ran: what it did to the session's named objects is now the target's state. */
  #confirmed(head: Extract<Pending, { kind: 'query' | 'execute' }>, frame: Buffer): void {
    const index = head.kind === 'query' ? (head.completedStatements = (head.completedStatements ?? 0) + 1) - 1 : 0;
    const effect = head.kind === 'query' ? head.effects?.[index] : head.portal.statement?.effects?.[0];
    const tag = frame.toString('utf8', 5, frame.length - 1);
    this.#state.tagged(tag, effect);
    if (!effect || effect.kind === 'none' || effect.kind === 'use') return;
    const op = head.kind === 'query' ? head.op : undefined;
    const ruling = head.kind === 'query' ? head.ruling : head.portal.ruling;
    const defined: Statement = {
      ruling: ruling ?? { allowed: true, seq: 0, masks: this.#plans.connectionMasks() },
      text: op?.text ?? '',
      lineage: op?.lineage ? lineageOf(op.lineage.defines[index], op.lineage.reads) : UNTRACED,
    };
    this.#state.confirmed(effect, {
      statement: (name) => (effect.kind === 'prepare' ? this.#preparedInSql(name, effect.text, defined) : defined),
      portal: () => ({ statement: defined, resultFormats: [], ...(ruling && { ruling }) }),
    });
  }

  /**
   * A statement PREPAREd in SQL, as the target now holds it: its rows are masked by the lineage traced
   * at its PREPARE, its classes decided at each EXECUTE (by the classifier) or Bind (as `held`) of it.
   */
  #preparedInSql(name: string, text: string, defined: Statement): Statement {
    const sql = this.#ctx.classifier.classify(text).prepares?.get(name);
    if (!sql) return defined;
    return { ...defined, sql, held: { connection: this.#ctx.connection, protocol: 'postgres', text: defined.text, classes: sql.classes, writes: sql.writes, sql } as SqlOperation };
  }

  #readyForQuery(head: Pending | undefined, frame: Buffer): void {
    this.#state.answered(String.fromCharCode(frame[5] ?? 0x49));
    if (head?.kind === 'query') {
      this.#changedCatalog(head.sql);
      this.#completed(head.ruling, head);
    }
    this.#pending.shift();
  }

  /** After DDL, or code that may have run some (DO, CALL), names may mean other things: lineage and table descriptions are looked up afresh. */
  #changedCatalog(sql: SqlClassification | undefined): void {
    if (sql?.classes.has('ddl') || sql?.classes.has('unknown')) this.#ctx.catalog.invalidate();
  }

  #completed(ruling: Ruling | undefined, stats: RunStats): void {
    if (!ruling || !ruling.allowed) return;
    this.#ctx.completed(ruling, {
      rows: stats.written ?? stats.rows,
      tag: stats.tag,
      bytes: stats.bytes,
      maskedValues: stats.masked,
      maskedBy: stats.maskedBy,
      durationMs: performance.now() - stats.started,
      error: stats.error,
    });
  }
}

/**
 * Keeps the target's command tag ("UPDATE 688"; several for a multi-statement query) and, for writes,
 * the rows they changed: auditors ask what a write did, not how many rows it sent back.
 */
function recordCommandTag(head: { tag?: string; written?: number }, frame: Buffer): void {
  const tag = frame.toString('utf8', 5, frame.length - 1);
  head.tag = head.tag === undefined ? tag : `${head.tag}; ${tag}`;
  const changed = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/.exec(tag);
  if (changed) head.written = (head.written ?? 0) + Number(changed[1]);
}

/** The statement shape a response belongs to, for discovery to record its result columns once. */
function shapeOf(head: Pending | undefined): string | undefined {
  if (head?.kind === 'query') return head.sql?.shape;
  if (head?.kind === 'execute') return head.portal.statement?.sql?.shape;
  if (head?.kind === 'describe') return (head.portal?.statement ?? head.statement)?.sql?.shape;
  return undefined;
}
