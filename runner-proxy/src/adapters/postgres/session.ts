import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ErrorCode, GovernError } from '../../base/errors.js';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { LruCache } from '../../base/lru.js';
import type { ColumnMask, MaskPlan, Operation } from '../../core/operation.js';
import { EMPTY_MASK_PLAN } from '../../core/rules.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL } from '../../masking/masker.js';
import { closeWithMessage } from '../guard.js';
import type { Catalog } from './catalog.js';
import { exactShape, type SqlClassification, type SqlClassifier } from './classify.js';
import { FrameReader, FrameTooLargeError, MalformedFrameError, OutputBatch, type FrameSink } from './codec/frames.js';
import {
  Backend,
  errorFields,
  Frontend,
  readBind,
  readCopyResponse,
  readCString,
  readExecute,
  readNotice,
  readNotification,
  readParameterStatus,
  readParse,
  readRowDescription,
  readTarget,
  writeBind,
  writeNotice,
  writeNotification,
  writeParse,
  writeQuery,
  type Field,
  type NoticeFields,
} from './codec/messages.js';
import { CopyOutMasker, utf8 } from './copy-mask.js';
import { quotesReadAlike } from './encoding.js';
import { maskedCopy, maskedPredicate, maskingSource, touchesMasked, type ColumnLineage, type LineageCache, type ResultLineage, type StatementLineage } from './lineage.js';
import { ResultDiscovery } from './discover.js';
import { maskNotice, maskRowInto, masksResults, PASS_THROUGH, planResult, tableOids, withheldNotice, type ResultPlan } from './result-mask.js';
import { namesOf, SessionState, stateEffects, type NamedObject, type StateEffect, type Undo } from './session-state.js';
import type { UpstreamConnection } from './upstream.js';
import { WriteMasker, type CopyPlan, type WritePlan } from './write-mask.js';

const SQLSTATE_REFUSED = '42501';
/** Longer statements (bulk INSERTs and the like) are not kept by their text. */
const MAX_REMEMBERED_TEXT = 4096;

/** A statement's operation, as the governor is asked about it, with what lineage found in it. */
export type SqlOperation = Operation & { sql: SqlClassification; lineage?: StatementLineage; maskedCopy?: string; maskedPredicate?: string };

export interface SessionContext {
  connection: string;
  governor: AdapterGovernor;
  catalog: Catalog;
  classifier: SqlClassifier;
  lineage: LineageCache;
  /**
   * Statements by exact text, shared by the sessions of this connection (whose rules are the same): a
   * statement seen before is neither classified nor masked again.
   */
  operations: LruCache<string, KnownStatement>;
  /** Frames up to this size are inspected whole. */
  maxFrame: number;
  log: { warn(message: string): void };
  /** Cancels what the target is running for this session: a client that leaves mid-query leaves no work behind. */
  cancel(): Promise<void>;
}

/** A RowDescription as read, with the plans made from it (by mask plan) while the catalog stays as it was. */
interface Description {
  frame: Buffer;
  fields: Field[];
  catalogVersion: number;
  plans: Map<MaskPlan, { columns: readonly ColumnLineage[] | null | undefined; plan: ResultPlan }>;
}

/** A statement text with its operation, and that operation as last traced through the catalog. */
export interface KnownStatement {
  sql: string;
  op: SqlOperation;
  traced?: SqlOperation & { lineage: StatementLineage };
}

/** A statement as the gateway knows it, from its Parse until its Close. */
interface Statement {
  ruling: Ruling;
  sql?: SqlClassification;
  /** Where its result columns come from; set when the connection masks columns. */
  lineage?: StatementLineage;
  fields?: Field[];
  write?: WritePlan;
  text: string;
  /** Held for approval, or PREPAREd in SQL (decided at its EXECUTE): asked at each Bind, with that Bind's parameters. */
  held?: Operation;
  /** What it does to the session's named objects when it runs (SAVEPOINT, DECLARE…). */
  effects?: readonly StateEffect[];
}

interface Portal {
  statement: Statement | undefined;
  /** The ruling it runs under: its statement's, or the approval of this one execution. */
  ruling?: Ruling;
  resultFormats: number[];
  fields?: Field[];
  plan?: ResultPlan;
}

/** What the target's next responses answer, in the order the requests went out. */
type Pending =
  | { kind: 'query'; ruling: Ruling; sql?: SqlClassification; started: number; rows: number; bytes: number; masked: number; plan: ResultPlan; error?: string; substitution?: NoticeFields; tag?: string; written?: number; maskedBy?: Record<string, number>; lineage?: StatementLineage; results?: number; copiesOut?: number; op?: SqlOperation; effects?: readonly StateEffect[]; completedStatements?: number }
  | { kind: 'parse' | 'bind' | 'function'; substitution?: NoticeFields; undo?: Undo }
  | { kind: 'close'; undo: Undo }
  | { kind: 'sync' }
  | { kind: 'describe'; statement?: Statement; portal?: Portal }
  | { kind: 'execute'; portal: Portal; started: number; rows: number; bytes: number; masked: number; tag?: string; written?: number; maskedBy?: Record<string, number> };

/**
 * One direction of the relay: frames read from one socket, the batch built from them written to the
 * other. When the other socket is full, reading from this one pauses until it drains. With `commit`
 * (the client's direction) a batch waits for its operations' events to be written: `commit` calls back
 * once they are, for every connection that read something in the same turn of the event loop at once.
 */
class Direction {
  readonly reader: FrameReader;
  readonly out = new OutputBatch();
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #onError: (e: unknown) => void;
  readonly #commit: ((forward: (failure?: unknown) => void) => void) | undefined;
  #committing = false;

  constructor(from: Socket, to: Socket, sink: FrameSink, maxFrame: number, onError: (e: unknown) => void, commit?: (forward: (failure?: unknown) => void) => void) {
    this.#from = from;
    this.#to = to;
    this.#onError = onError;
    this.#commit = commit;
    this.reader = new FrameReader(sink, { maxFrame });
    to.on('drain', () => from.resume());
  }

  push(chunk: Buffer): void {
    this.#run(() => this.reader.push(chunk));
  }

  /** Goes on after a decision that paused reading. */
  resume(): void {
    if (!this.#from.destroyed && !this.#to.destroyed) this.#run(() => this.reader.resume());
  }

  #run(read: () => void): void {
    try {
      read();
    } catch (e) {
      return this.#onError(e);
    }
    if (this.out.empty) return;
    if (!this.#commit) return this.#flush();
    if (this.#committing) return;
    this.#committing = true;
    this.#commit(this.#committed);
  }

  readonly #committed = (failure?: unknown): void => {
    this.#committing = false;
    if (failure) return this.#onError(failure);
    if (!this.#to.destroyed) this.#flush();
  };

  #flush(): void {
    if (!this.out.flushTo(this.#to)) this.#from.pause();
  }
}

/**
 * One job connection after authentication: client messages become operations for the governor; the
 * target's answers are masked on their way back. Refusals are answered in the protocol's own terms: the
 * refused message is replaced, on the target, by one that fails harmlessly (EXECUTE of a statement that
 * does not exist, named with a nonce), and the target's error by ours. The target thereby aborts the
 * transaction and skips to Sync exactly as it would for a real error, so the session stays usable and
 * in step, inside transaction blocks and pipelines alike.
 */
export class PostgresSession {
  readonly #ctx: SessionContext;
  readonly #client: Socket;
  readonly #server: Socket;
  readonly #nonce = `govern_refused_${randomBytes(8).toString('hex')}`;
  /** Client → target, and target → client. */
  readonly #up: Direction;
  readonly #down: Direction;
  readonly #pending: Pending[] = [];
  /** Prepared statements and portals (cursors too) as the target holds them. */
  readonly #state = new SessionState<Statement, Portal>();
  readonly #openSeq: number;
  /** After a refusal in an extended-protocol batch, the client's messages up to Sync are dropped, as the target would. */
  #skipUntilSync = false;
  /** A COPY FROM STDIN under way, and what must be masked in its data. */
  #copyIn: WriteMasker | undefined;
  /** Set by a COPY FROM with write masks: applied when the target answers with CopyInResponse. */
  /** The COPY FROMs the statement sent last will start, in order, with how to mask each. */
  #copyInPlans: readonly (CopyPlan | undefined)[] = [];
  #copyOut: CopyOutMasker | undefined;
  /** Why the target could read quoting otherwise than the gateway's parser, by the parameter that makes it so. */
  readonly #syntaxUnsafe = new Map<'standard_conforming_strings' | 'client_encoding', string>();
  #closed = false;
  /** Aborted when the session ends: what it still holds for approval is withdrawn. */
  readonly #left = new AbortController();
  /** What lineage found against this connection's masks, by statement shape. */
  readonly #maskFindings = new WeakMap<StatementLineage, MaskFindings>();
  #connectionPlan: MaskPlan | undefined;
  #refusesPredicatesCached: boolean | undefined;
  #lastDescription: Description | undefined;
  readonly #discovery: ResultDiscovery;

  constructor(ctx: SessionContext, client: Socket, upstream: UpstreamConnection, openSeq: number) {
    this.#ctx = ctx;
    this.#client = client;
    this.#server = upstream.socket as Socket;
    this.#openSeq = openSeq;
    ctx.classifier.prepared = (name) => this.#state.statement(name)?.sql;
    this.#discovery = new ResultDiscovery(ctx.governor.discovery, ctx.catalog);
    for (const [name, value] of upstream.parameters) this.#trackParameter(name, value);
    this.#up = new Direction(client, this.#server, this.#clientSink(), ctx.maxFrame, (e) => this.#protocolViolation(e), (forward) => ctx.governor.commitThen(forward));
    this.#down = new Direction(this.#server, client, this.#serverSink(), ctx.maxFrame, (e) => this.#fail(e));
  }

  /** Starts relaying; `leftover` is what the client sent after authentication in the same packet. */
  start(leftover: Buffer | undefined): void {
    this.#client.on('data', (chunk: Buffer) => this.#up.push(chunk));
    this.#server.on('data', (chunk: Buffer) => this.#down.push(chunk));
    this.#client.on('close', () => this.#close('client'));
    this.#server.on('close', () => this.#close('server'));
    this.#client.on('error', () => this.#close('client error'));
    this.#server.on('error', () => this.#close('target error'));
    this.#server.resume();
    this.#client.resume();
    if (leftover?.length) this.#up.push(leftover);
  }

  // ---- client → target ----

  #clientSink(): FrameSink {
    return {
      frame: (code, frame) => this.#clientFrame(code, frame),
      // Only COPY data may stream past the size limit, and only when nothing in it needs masking.
      mayStream: (code) => code === Frontend.CopyData && !this.#copyIn,
      streamed: (piece) => this.#up.out.pass(piece),
    };
  }

  /** Returns false to stop reading while a decision is pending. */
  #clientFrame(code: number, frame: Buffer): boolean {
    if (this.#skipUntilSync && code !== Frontend.Sync && code !== Frontend.Flush) return true;
    const effects = code === Frontend.Query ? stateEffects(readCString(frame), this.#ctx.classifier.parser) : undefined;
    if (!this.#state.quiet && this.#state.unsettled(effects ? effects.flatMap(namesOf) : this.#names(code, frame))) {
      // It names what an earlier batch changed: decided once the target has said whether that change stands.
      void this.#state.settled().then(() => {
        try {
          if (this.#clientFrame(code, frame)) this.#up.resume();
        } catch (e) {
          this.#protocolViolation(e);
        }
      });
      return false;
    }
    switch (code) {
      case Frontend.Query: {
        const sql = readCString(frame);
        return this.#decideThen(this.#traced(this.#statementText(sql)), (ruling, op) => this.#query(frame, ruling, op, effects!));
      }
      case Frontend.Parse: {
        const parse = readParse(frame);
        const traced = this.#traced(this.#statementText(parse.query));
        const op = traced instanceof Promise ? traced.then(atExecution) : atExecution(traced);
        return this.#decideThen(op, (ruling, decided) => this.#parse(frame, parse, ruling, decided));
      }
      case Frontend.Bind:
        return this.#bind(frame);
      case Frontend.Describe: {
        const target = readTarget(frame);
        this.#pending.push(target.kind === 'S' ? { kind: 'describe', statement: this.#state.statement(target.name) ?? this.#unknownStatement(target.name) } : { kind: 'describe', portal: this.#portal(target.name) });
        this.#up.out.pass(frame);
        return true;
      }
      case Frontend.Execute: {
        const { portal } = readExecute(frame);
        this.#pending.push({ kind: 'execute', portal: this.#portal(portal), started: performance.now(), rows: 0, bytes: 0, masked: 0 });
        this.#up.out.pass(frame);
        return true;
      }
      case Frontend.Close: {
        const target = readTarget(frame);
        const undo = target.kind === 'S' ? this.#state.closeStatement(target.name) : this.#state.closePortal(target.name);
        this.#pending.push({ kind: 'close', undo });
        this.#up.out.pass(frame);
        return true;
      }
      case Frontend.Sync:
        this.#skipUntilSync = false;
        this.#pending.push({ kind: 'sync' });
        this.#state.sent();
        this.#up.out.pass(frame);
        return true;
      case Frontend.FunctionCall:
        return this.#decideThen(
          { connection: this.#ctx.connection, protocol: 'postgres', text: 'FunctionCall message', classes: new Set(['function_call']), writes: true },
          (ruling) => {
            if (!ruling.allowed) return this.#refuseSimple(ruling);
            this.#pending.push({ kind: 'function' });
            this.#state.sent();
            this.#up.out.pass(frame);
          },
        );
      case Frontend.CopyData:
        if (this.#copyIn) this.#copyIn.data(frame, this.#up.out);
        else this.#up.out.pass(frame);
        return true;
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        this.#copyIn?.end(this.#up.out);
        this.#copyIn = undefined;
        this.#up.out.pass(frame);
        return true;
      case Frontend.Flush:
      case Frontend.Terminate:
        this.#up.out.pass(frame);
        return true;
      default:
        throw new MalformedFrameError(`unexpected message type "${String.fromCharCode(code)}" from the client`);
    }
  }

  #portal(name: string): Portal {
    return this.#state.portal(name) ?? { statement: this.#unknownStatement(name), resultFormats: [] };
  }

  /** What the target may hold under a name the gateway does not know (a cursor a function opened): masked as untraceable. */
  #unknownStatement(name: string): Statement {
    return { ruling: { allowed: true, seq: 0, masks: this.#connectionMasks() }, text: name, lineage: UNTRACED };
  }

  /** The prepared statements and portals a client message names, to wait on while an earlier batch may still change them. */
  #names(code: number, frame: Buffer): readonly NamedObject[] {
    switch (code) {
      case Frontend.Parse: {
        const { statement } = readParse(frame);
        return statement === '' ? [] : [{ namespace: 'statement', name: statement }];
      }
      case Frontend.Bind: {
        const { statement, portal } = readBind(frame);
        return [{ namespace: 'statement', name: statement }, ...(portal === '' ? [] : [{ namespace: 'portal' as const, name: portal }])];
      }
      case Frontend.Describe:
      case Frontend.Close: {
        const { kind, name } = readTarget(frame);
        return [{ namespace: kind === 'S' ? 'statement' : 'portal', name }];
      }
      case Frontend.Execute:
        return [{ namespace: 'portal', name: readExecute(frame).portal }];
      default:
        return [];
    }
  }

  #statementText(sql: string): KnownStatement {
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
        text: this.#ctx.governor.masker.maskText(hideCredentials(sql), REDACT_ALL).text,
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
  #traced(statement: KnownStatement): SqlOperation | Promise<SqlOperation> {
    const { op, sql } = statement;
    const plan = this.#connectionMasks();
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
    if (findings?.from !== op.classes) this.#maskFindings.set(lineage, (findings = maskFindings(op.classes, lineage, this.#connectionMasks().columns)));
    return (statement.traced = { ...op, classes: findings.classes, lineage, ...findings.detail });
  }

  /** Whether a rule of this connection refuses predicates on its masked columns. */
  get #refusesPredicates(): boolean {
    return (this.#refusesPredicatesCached ??= this.#connectionMasks().columns.some((m) => m.predicates?.refuse));
  }

  /**
   * Asks the governor, then acts. An allowed operation is decided at once and reading goes on; a
   * decision that waits (a block made durable, an approval, a catalog lookup) stops the reader, and
   * reading resumes, in order, once the action is done.
   */
  #decideThen<O extends Operation>(op: O | Promise<O>, act: (ruling: Ruling, op: O) => void | Promise<void>): boolean {
    if (op instanceof Promise) {
      op.then(
        (ready) => this.#decideThen(ready, act) && this.#up.resume(),
        (e: unknown) => this.#fail(e),
      );
      return false;
    }
    const decided = this.#ctx.governor.decide({ ...op, withdrawn: this.#left.signal }, this.#openSeq);
    const acted = decided instanceof Promise ? decided.then((ruling) => act(ruling, op)) : act(decided, op);
    if (!(acted instanceof Promise)) return true;
    acted.then(
      () => this.#up.resume(),
      (e: unknown) => this.#fail(e),
    );
    return false;
  }

  #query(frame: Buffer, ruling: Ruling, op: SqlOperation, effects: readonly StateEffect[]): void | Promise<void> {
    if (!ruling.allowed) return this.#refuseSimple(explained(ruling, op), op.sql.syntaxError);
    const unmaskable = unmaskableCopy(op, ruling.masks);
    if (unmaskable) return this.#refuseSimple({ ...ruling, allowed: false, rule: 'copy-mask', message: unmaskable });
    const entry: Pending = { kind: 'query', ruling, sql: op.sql, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, lineage: op.lineage, op, effects };
    const send = (query: Buffer) => {
      this.#pending.push(entry);
      this.#state.sending(effects);
      this.#state.sent();
      this.#up.out.push(query);
    };
    if (ruling.masks.writeColumns.length && op.sql.writes) {
      return WriteMasker.forStatement(op.sql, readCString(frame), ruling.masks, this.#ctx).then((plan) => {
        if (plan.refusal) return this.#refuseSimple({ ...ruling, allowed: false, rule: plan.refusal.rule, message: plan.refusal.message });
        send(plan.sql !== undefined ? writeQuery(plan.sql) : frame);
        this.#copyInPlans = plan.copies ?? [];
      });
    }
    send(frame);
  }

  #parse(frame: Buffer, parse: ReturnType<typeof readParse>, ruling: Ruling, op: SqlOperation): void | Promise<void> {
    // A refused Parse never reaches the target: what it holds under the name stays, and so does the gateway's view of it.
    const runnable = ruling.allowed || ruling.deferred;
    const unmaskable = runnable ? unmaskableCopy(op, ruling.masks) : undefined;
    if (!runnable || unmaskable) {
      const refusal = unmaskable ? errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${unmaskable}`, 'rule: copy-mask') : this.#refusalFields(explained(ruling, op), op.sql.syntaxError);
      return this.#refuseExtended(refusal, 'parse');
    }
    const statement: Statement = { ruling, sql: op.sql, text: op.text, lineage: op.lineage, effects: stateEffects(parse.query, this.#ctx.classifier.parser) };
    if (ruling.deferred) statement.held = op;
    const send = (message: Buffer) => {
      this.#pending.push({ kind: 'parse', undo: this.#state.defineStatement(parse.statement, statement) });
      this.#up.out.push(message);
    };
    if (ruling.masks.writeColumns.length && op.sql.writes) {
      return WriteMasker.forStatement(op.sql, parse.query, ruling.masks, this.#ctx).then((plan) => {
        if (plan.refusal) return this.#refuseExtended(errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${plan.refusal.message}`, `rule: ${plan.refusal.rule}`), 'parse');
        statement.write = plan;
        this.#copyInPlans = plan.copies ?? [];
        send(plan.sql !== undefined ? writeParse({ ...parse, query: plan.sql }) : frame);
      });
    }
    send(frame);
  }

  #bind(frame: Buffer): boolean {
    const bind = readBind(frame);
    const statement = this.#state.statement(bind.statement);
    if (statement?.held) {
      // Approved for this one execution, with the parameters the approver was shown.
      const execution: Operation = { ...statement.held, text: this.#withParameters(statement, bind), approveAtExecution: false };
      return this.#decideThen(execution, (ruling) =>
        ruling.allowed ? this.#bound(frame, bind, statement, ruling) : this.#refuseExtended(this.#refusalFields(ruling), 'bind'),
      );
    }
    this.#bound(frame, bind, statement, statement?.ruling);
    return true;
  }

  /** A statement's text for the record and the approver, with its parameters as the record keeps them (masked). */
  #withParameters(statement: Statement, bind: ReturnType<typeof readBind>): string {
    const { masker } = this.#ctx.governor;
    const values = bind.params.map((value, i) => {
      if (value === null) return `$${i + 1} = NULL`;
      if ((bind.paramFormats.length === 1 ? bind.paramFormats[0] : bind.paramFormats[i]) === 1) return `$${i + 1} = (${value.length} bytes, binary)`;
      const strategy = statement.write?.params?.get(i);
      const text = strategy ? masker.maskValue(value.toString('utf8'), strategy) : masker.maskText(hideCredentials(value.toString('utf8')), REDACT_ALL).text;
      return `$${i + 1} = '${text.replaceAll("'", "''")}'`;
    });
    return values.length ? `${statement.text} -- with ${values.join(', ')}` : statement.text;
  }

  #bound(frame: Buffer, bind: ReturnType<typeof readBind>, statement: Statement | undefined, ruling: Ruling | undefined): void {
    const portal: Portal = { statement: statement ?? this.#unknownStatement(bind.statement), resultFormats: bind.resultFormats, ...(ruling && { ruling }) };
    this.#pending.push({ kind: 'bind', undo: this.#state.openPortal(bind.portal, portal) });
    const params = statement?.write?.params;
    if (params?.size) {
      for (const [index, strategy] of params) {
        const value = bind.params[index];
        if (value) bind.params[index] = Buffer.from(this.#ctx.governor.masker.maskValue(value.toString('utf8'), strategy));
      }
      this.#up.out.push(writeBind(bind));
    } else {
      this.#up.out.pass(frame);
    }
  }

  #refusalFields(ruling: Ruling, syntaxError?: string): NoticeFields {
    const requestNote = ruling.requestId ? ` (request ${ruling.requestId})` : '';
    return errorFields(
      'ERROR',
      syntaxError ? '42601' : SQLSTATE_REFUSED,
      `govern: ${ruling.message}${ruling.message?.includes(ruling.requestId ?? '\u0000') ? '' : requestNote}`,
      syntaxError ? `the SQL parser says: ${syntaxError}` : `rule: ${ruling.rule}`,
    );
  }

  /** Simple protocol (Query, FunctionCall): the target runs a statement that fails, and we answer for it. */
  #refuseSimple(ruling: Ruling, syntaxError?: string): void {
    const substitution = this.#refusalFields(ruling, syntaxError);
    this.#pending.push({ kind: 'query', ruling, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, substitution });
    this.#state.sent();
    this.#up.out.push(writeQuery(`EXECUTE ${this.#nonce}`));
  }

  /** Extended protocol: a Bind of a statement that does not exist fails; the target then skips to Sync. */
  #refuseExtended(substitution: NoticeFields, kind: 'parse' | 'bind'): void {
    this.#pending.push({ kind, substitution });
    this.#up.out.push(writeBind({ portal: '', statement: this.#nonce, paramFormats: [], params: [], resultFormats: [] }));
    this.#skipUntilSync = true;
  }

  // ---- target → client ----

  #serverSink(): FrameSink {
    return {
      frame: (code, frame) => this.#serverFrame(code, frame),
      mayStream: (code) => (code === Backend.DataRow && !this.#currentPlan().active) || (code === Backend.CopyData && !this.#copyOut),
      streamed: (piece) => this.#down.out.pass(piece),
      dataRow: (chunk, start, end) => this.#dataRow(chunk, start, end),
    };
  }

  #currentPlan(): ResultPlan {
    const head = this.#pending[0];
    if (head?.kind === 'query') return head.plan;
    if (head?.kind !== 'execute') return PASS_THROUGH;
    const portal = head.portal;
    if (portal.plan) return portal.plan;
    const masks = this.#masksOf(head);
    const fields = portal.statement?.fields;
    if (fields) return (portal.plan = planResult(fields, masks, this.#ctx.catalog, portal.resultFormats, this.#statementColumns(portal.statement)));
    if (masksResults(masks)) {
      // Rows of a statement never described: which columns they hold is unknown, so nothing passes.
      throw new Error('a result arrived for a statement whose columns were never described; the gateway cannot mask it');
    }
    return (portal.plan = PASS_THROUGH);
  }

  #masksOf(head: Pending | undefined): MaskPlan {
    if (head?.kind === 'query') return head.ruling.masks;
    if (head?.kind === 'execute') return head.portal.statement?.ruling.masks ?? EMPTY_MASK_PLAN;
    if (head?.kind === 'describe') return (head.statement ?? head.portal?.statement)?.ruling.masks ?? EMPTY_MASK_PLAN;
    return this.#connectionMasks();
  }

  /** Masks for what belongs to no statement (notices, notifications): every rule of this connection. */
  #connectionMasks(): MaskPlan {
    return (this.#connectionPlan ??= this.#ctx.governor.maskPlanFor(this.#ctx.connection, 'postgres'));
  }

  #serverFrame(code: number, frame: Buffer): boolean {
    const head = this.#pending[0];
    switch (code) {
      case Backend.RowDescription: {
        const discovering = this.#discovery.described(frame, shapeOf(head));
        if (!discovering) return this.#rowDescription(frame, head);
        void discovering.then(
          () => this.#rowDescription(frame, head) && this.#down.resume(),
          (e: unknown) => this.#fail(new Error(`cannot resolve result columns through the catalog: ${(e as Error).message}`)),
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
        this.#copyOut = undefined;
        break;
      case Backend.ErrorResponse:
        this.#error(frame, head);
        return true;
      case Backend.ReadyForQuery:
        this.#readyForQuery(head, frame);
        break;
      case Backend.NoticeResponse: {
        const fields = readNotice(frame);
        if (this.#readsMasked(head, fields.get('C'))) {
          this.#down.out.push(writeNotice(Backend.NoticeResponse, withheldNotice(fields)));
          return true;
        }
        if (maskNotice(fields, this.#masksOf(head), this.#ctx.governor.masker)) {
          this.#down.out.push(writeNotice(Backend.NoticeResponse, fields));
          return true;
        }
        break;
      }
      case Backend.NotificationResponse: {
        const n = readNotification(frame);
        const r = this.#ctx.governor.masker.maskText(n.payload, this.#connectionMasks().detectors);
        if (r.count) {
          this.#down.out.push(writeNotification({ ...n, payload: r.text }));
          return true;
        }
        break;
      }
      case Backend.ParameterStatus: {
        const { name, value } = readParameterStatus(frame);
        this.#trackParameter(name, value);
        break;
      }
      case Backend.CopyInResponse: {
        const [plan, ...later] = this.#copyInPlans;
        if (plan) this.#copyIn = new WriteMasker(plan, this.#ctx.governor.masker);
        this.#copyInPlans = later;
        break;
      }
      case Backend.CopyOutResponse:
        return this.#copyOutResponse(frame, head);
      case Backend.CopyData:
        if (this.#copyOut) {
          const out = this.#copyOut.row(frame);
          this.#count(head, frame.length, out.masked, 0);
          if (out.frame !== frame) {
            this.#down.out.push(out.frame);
            return true;
          }
        }
        break;
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
    const plan = this.#currentPlan();
    if (!plan.active) {
      this.#count(head, end - start, 0, 1);
      this.#down.out.passRange(chunk, start, end);
      return true;
    }
    const tally = head?.kind === 'query' || head?.kind === 'execute' ? (head.maskedBy ??= {}) : undefined;
    const masked = maskRowInto(chunk, start, end, plan, this.#masksOf(head), this.#ctx.governor.masker, this.#down.out, tally);
    this.#count(head, end - start, masked, 1);
    return true;
  }

  /** Plans masking for a result; when a table is new to the catalog, reading waits for the lookup. */
  #rowDescription(frame: Buffer, head: Pending | undefined): boolean {
    const masks = this.#masksOf(head);
    if (!masksResults(masks)) {
      // Nothing to mask: the description need not even be read.
      if (head?.kind === 'describe') this.#pending.shift();
      this.#down.out.pass(frame);
      return true;
    }
    const described = this.#described(frame);
    const columns = head?.kind === 'query' ? this.#queryColumns(head) : head?.kind === 'describe' && head.portal ? this.#statementColumns(head.portal.statement) : undefined;
    const apply = () => {
      if (head?.kind === 'query') head.plan = this.#plan(described, masks, columns);
      else if (head?.kind === 'describe') {
        this.#pending.shift();
        if (head.statement) head.statement.fields = described.fields;
        if (head.portal) {
          head.portal.fields = described.fields;
          head.portal.plan = this.#plan(described, masks, columns);
        }
      }
      this.#down.out.pass(frame);
    };
    // Planned before for these masks and columns: the tables it names were looked up then.
    const oids = masks.columns.length === 0 || this.#knownPlan(described, masks, columns) ? [] : tableOids(described.fields).filter((o) => !this.#ctx.catalog.cached(o));
    if (oids.length === 0) {
      apply();
      return true;
    }
    void this.#ctx.catalog.describe(oids).then(
      () => {
        apply();
        this.#down.resume();
      },
      (e: unknown) => this.#fail(new Error(`cannot resolve result columns through the catalog: ${(e as Error).message}`)),
    );
    return false;
  }

  /** The fields of a RowDescription; a statement run again is described in the same bytes, read once. */
  #described(frame: Buffer): Description {
    const last = this.#lastDescription;
    if (last?.catalogVersion === this.#ctx.catalog.version && last.frame.equals(frame)) return last;
    return (this.#lastDescription = { frame: Buffer.from(frame), fields: readRowDescription(frame), catalogVersion: this.#ctx.catalog.version, plans: new Map() });
  }

  /** The plan made before from this description for these masks and columns, if any. */
  #knownPlan(described: Description, masks: MaskPlan, columns: readonly ColumnLineage[] | null | undefined): ResultPlan | undefined {
    const known = described.plans.get(masks);
    return known && known.columns === columns ? known.plan : undefined;
  }

  /** A result's masking plan, kept with its description for the masks and lineage it was made for. */
  #plan(described: Description, masks: MaskPlan, columns: readonly ColumnLineage[] | null | undefined): ResultPlan {
    const known = this.#knownPlan(described, masks, columns);
    if (known) return known;
    const plan = planResult(described.fields, masks, this.#ctx.catalog, undefined, columns);
    described.plans.set(masks, { columns, plan });
    return plan;
  }

  /** The lineage of the next result of a simple query (`results` counts those described); untraced (null) past the last one predicted. */
  #queryColumns(head: Extract<Pending, { kind: 'query' }>): readonly ColumnLineage[] | null | undefined {
    if (!head.lineage) return undefined;
    const result = head.lineage.results[head.results ?? 0];
    head.results = (head.results ?? 0) + 1;
    return this.#resultColumns(result);
  }

  #statementColumns(statement: Statement | undefined): readonly ColumnLineage[] | null | undefined {
    return statement?.lineage && this.#resultColumns(statement.lineage.results[0]);
  }

  #resultColumns(result: ResultLineage | undefined): readonly ColumnLineage[] | null {
    if (!result || 'unknown' in result) return null;
    if ('cursor' in result) return this.#resultColumns(this.#state.portal(result.cursor)?.statement?.lineage?.results[0]);
    if ('prepared' in result) return this.#resultColumns(this.#state.statement(result.prepared)?.lineage?.results[0]);
    return result.columns;
  }

  /**
   * Whether the statement being answered reads a masked column (itself, or what it EXECUTEs or
   * FETCHes), so its errors and notices could quote a value. Rows it writes are read by constraints,
   * indexes and triggers: only an integrity violation (class 23, whose values are in its DETAIL, masked
   * by maskNotice) keeps its words then.
   */
  #readsMasked(head: Pending | undefined, sqlstate?: string): boolean {
    const lineage = head?.kind === 'query' ? head.lineage : head?.kind === 'execute' ? head.portal.statement?.lineage : undefined;
    if (lineage === undefined) return false;
    const masks = this.#connectionMasks().columns;
    if (touchesMasked(lineage, masks)) return true;
    if (!sqlstate?.startsWith('23') && maskingSource(lineage.checks, masks) !== undefined) return true;
    return lineage.results.some((r) => {
      const named = 'cursor' in r ? this.#state.portal(r.cursor)?.statement : 'prepared' in r ? this.#state.statement(r.prepared) : undefined;
      return ('cursor' in r || 'prepared' in r) && touchesMasked(named?.lineage ?? UNTRACED, masks);
    });
  }

  #copyOutResponse(frame: Buffer, head: Pending | undefined): boolean {
    const masks = this.#masksOf(head);
    const sql = head?.kind === 'query' ? head.sql : head?.kind === 'execute' ? head.portal.statement?.sql : undefined;
    // The n-th COPY TO of a query answers with the n-th CopyOutResponse.
    const index = head?.kind === 'query' ? (head.copiesOut = (head.copiesOut ?? 0) + 1) - 1 : 0;
    const spec = sql?.copies?.filter((c) => !c.from)[index];
    if (masks.columns.length === 0 && masks.detectors.size === 0) {
      this.#down.out.pass(frame);
      return true;
    }
    const { format } = readCopyResponse(frame);
    void CopyOutMasker.create(spec, format, masks, this.#ctx.catalog, this.#ctx.governor.masker).then(
      (masker) => {
        this.#copyOut = masker;
        this.#down.out.pass(frame);
        this.#down.resume();
      },
      (e: unknown) => this.#fail(e),
    );
    return false;
  }

  #error(frame: Buffer, head: Pending | undefined): void {
    let fields = readNotice(frame);
    const substitution = head && 'substitution' in head ? head.substitution : undefined;
    if (substitution && (fields.get('M') ?? '').includes(this.#nonce)) {
      fields = substitution;
      this.#down.out.push(writeNotice(Backend.ErrorResponse, fields));
    } else if (this.#readsMasked(head, fields.get('C'))) {
      fields = withheldNotice(fields);
      this.#down.out.push(writeNotice(Backend.ErrorResponse, fields));
    } else if (maskNotice(fields, this.#masksOf(head), this.#ctx.governor.masker)) {
      this.#down.out.push(writeNotice(Backend.ErrorResponse, fields));
    } else {
      this.#down.out.pass(frame);
    }
    this.#copyOut = undefined;
    const message = fields.get('M');
    if (head?.kind === 'query') {
      head.error ??= message;
      return;
    }
    this.#state.failed();
    // Extended protocol: the target skips everything up to Sync; what the failed and skipped messages would have changed is undone, latest first.
    const undone: { undo: Undo; failed: boolean }[] = [];
    while (this.#pending.length && this.#pending[0]!.kind !== 'sync') {
      const dropped = this.#pending.shift()!;
      if (dropped.kind === 'execute') this.#completed(dropped.portal.ruling, { ...dropped, error: message });
      if ('undo' in dropped && dropped.undo) undone.push({ undo: dropped.undo, failed: dropped === head });
    }
    for (const { undo, failed } of undone.reverse()) undo(failed);
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
      ruling: ruling ?? { allowed: true, seq: 0, masks: this.#connectionMasks() },
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

  #completed(
    ruling: Ruling | undefined,
    stats: { started: number; rows: number; bytes: number; masked: number; error?: string; tag?: string; written?: number; maskedBy?: Record<string, number> },
  ): void {
    if (!ruling || !ruling.allowed) return;
    this.#ctx.governor.completed(ruling, {
      rows: stats.written ?? stats.rows,
      tag: stats.tag,
      bytes: stats.bytes,
      maskedValues: stats.masked,
      maskedBy: stats.maskedBy,
      durationMs: performance.now() - stats.started,
      error: stats.error,
    });
  }

  #trackParameter(name: string, value: string): void {
    if (name === 'standard_conforming_strings') {
      if (value === 'on') this.#syntaxUnsafe.delete(name);
      else this.#syntaxUnsafe.set(name, 'standard_conforming_strings is off, so backslashes in strings could be read differently');
    } else if (name === 'client_encoding') {
      if (quotesReadAlike(value)) this.#syntaxUnsafe.delete(name);
      else this.#syntaxUnsafe.set(name, `client_encoding ${value} can hide quotes inside characters`);
    }
  }

  // ---- ending ----

  #protocolViolation(e: unknown): void {
    if (e instanceof GovernError && e.code === ErrorCode.RecordingFailed) return this.#unrecorded(e);
    const message = e instanceof FrameTooLargeError ? e.message : e instanceof MalformedFrameError ? `invalid message: ${e.message}` : (e as Error).message;
    const sqlstate = e instanceof FrameTooLargeError ? '54000' : '08P01';
    this.#ctx.governor.note('protocol.violation', { connection: this.#ctx.connection, message });
    closeWithMessage(this.#client, writeNotice(Backend.ErrorResponse, errorFields('FATAL', sqlstate, `govern: ${message}`)));
    this.#close('protocol violation');
  }

  /** The events of the batch could not be written: nothing of it is forwarded, and the session ends. */
  #unrecorded(e: GovernError): void {
    this.#ctx.log.warn(`${this.#ctx.connection}: ${e.message}`);
    closeWithMessage(this.#client, writeNotice(Backend.ErrorResponse, errorFields('FATAL', SQLSTATE_REFUSED, `govern: refused, the session cannot be recorded: ${e.message}`)));
    this.#close('recording failed');
  }

  #fail(e: unknown): void {
    const message = (e as Error).message;
    this.#ctx.log.warn(`${this.#ctx.connection}: ${message}`);
    closeWithMessage(this.#client, writeNotice(Backend.ErrorResponse, errorFields('FATAL', '08006', `govern: ${message}`)));
    this.#close('gateway error');
  }

  #close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#left.abort();
    if (this.#pending.length && reason.startsWith('client')) void this.#ctx.cancel().catch(() => undefined);
    this.#server.destroy();
    closeWithMessage(this.#client);
    this.#ctx.governor.connectionClosed(this.#ctx.connection, this.#openSeq, reason);
  }

  /** Ends the session at the gateway's stop. */
  end(): void {
    this.#close('gateway stopped');
    this.#client.destroy();
  }
}

/** A write that copies a masked value out of its mask, a predicate on a column whose rule refuses them. */
interface MaskFindings {
  /** The classes these were found for; `classes` adds `masked_copy` and `masked_predicate` to them. */
  from: ReadonlySet<string>;
  classes: ReadonlySet<string>;
  detail: Pick<SqlOperation, 'maskedCopy' | 'maskedPredicate'>;
}

/** Prepared statements are asked for approval at each execution, with the values they run with. */
function atExecution(op: SqlOperation): SqlOperation {
  return { ...op, approveAtExecution: true };
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

/** A refusal for copying a value out of its mask, or for a predicate on it, says which column. */
function explained(ruling: Ruling, op: SqlOperation): Ruling {
  const detail = ruling.rule === 'default-masked_copy' ? op.maskedCopy : ruling.rule === 'default-masked_predicate' ? op.maskedPredicate : undefined;
  return detail ? { ...ruling, message: `${ruling.message}: ${detail}` } : ruling;
}

/** Lineage for a name the gateway has no trace of: every column and every read untraceable. */
const NOTHING: ColumnLineage = { sources: [], opaque: false };
const UNTRACED: StatementLineage = lineageOf(undefined, { sources: [], opaque: true });

/** The lineage of a statement PREPAREd or a cursor DECLAREd earlier: its result columns, and what the text declaring it read. */
function lineageOf(columns: readonly ColumnLineage[] | undefined, reads: ColumnLineage): StatementLineage {
  return { results: [columns ? { columns } : { unknown: true }], writes: [], predicates: [], defines: [], reads, checks: NOTHING, functionBodies: [] };
}

/**
 * COPY output the gateway cannot mask is refused before it starts: binary output (no types to read it
 * by), and COPY (query) that may carry a masked column (no row description to find it by): one that
 * reads a table with masked columns and names such a column, `*`, or a whole row.
 */
function unmaskableCopy(op: SqlOperation, masks: MaskPlan): string | undefined {
  const out = (op.sql.copies ?? []).filter((c) => !c.from);
  if (out.some((c) => c.format === 'binary') && (masks.columns.length || masks.detectors.size)) return 'refused: binary COPY output cannot be masked; use FORMAT text or csv';
  const encoded = out.find((c) => !utf8(c));
  if (encoded && (masks.columns.length || masks.detectors.size)) return `refused: COPY output with ENCODING ${encoded.encoding} cannot be masked; leave out ENCODING or use UTF8`;
  const queries = out.filter((c) => c.reads);
  // Lineage traces the first COPY (query) of a message.
  if (queries.length > 1 && masks.columns.length) return 'refused: a message with several COPY (query) … TO cannot be masked; send each COPY on its own';
  const copy = queries[0];
  if (!copy?.reads) return undefined;
  const bare = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  const table = copy.reads.tables.find((t) => masks.columns.some((m) => m.matchesTable(t) || m.matchesTable(bare(t))));
  const { aliases, names } = copy.reads;
  const risky = table && names.find((n) => n === '*' || aliases.includes(n) || masks.columns.some((m) => m.matchesColumn(n)));
  if (risky !== undefined) return `refused: COPY (query) output from ${table} may carry a masked column (${risky}) and cannot be masked; COPY the table itself or SELECT`;
  // Whatever the names say, a column whose value derives from a masked one (through a view, an expression, a function) cannot be masked either.
  const derived = op.lineage?.copyOut?.findIndex((c) => maskingSource(c, masks.columns) !== undefined) ?? -1;
  if (derived >= 0) return `refused: column ${derived + 1} of the COPY (query) output derives from a masked column and cannot be masked; COPY the table itself or SELECT`;
  return undefined;
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
