import type { Socket } from 'node:net';
import { ErrorCode, GovernError } from '../../base/errors.js';
import type { AdapterGovernor, Ruling } from '../../core/governor.js';
import type { LruCache } from '../../base/lru.js';
import type { Operation } from '../../policy/operation.js';
import { closeWithMessage } from '../guard.js';
import type { Catalog } from './catalog.js';
import type { SqlClassifier } from './classify.js';
import { FrameTooLargeError, MalformedFrameError, type FrameSink } from './codec/frames.js';
import {
  Backend,
  errorFields,
  Frontend,
  readBind,
  readCString,
  readExecute,
  readParse,
  readTarget,
  writeBind,
  writeNotice,
  writeParse,
  writeQuery,
} from './codec/messages.js';
import { TargetAnswers } from './answers.js';
import { CopyRelay } from './copy-relay.js';
import type { LineageCache } from './lineage.js';
import { ResultDiscovery } from './discover.js';
import { StatementOperations } from './operations.js';
import { explained, refusalFields, Refusals, SQLSTATE_REFUSED, unmaskableCopy } from './refusal.js';
import { Direction } from './relay.js';
import { PASS_THROUGH } from './result-mask.js';
import { ResultPlans } from './result-plans.js';
import { namesOf, SessionState, stateEffects, type NamedObject, type StateEffect } from './session-state.js';
import { UNTRACED, type KnownStatement, type Pending, type Portal, type SqlOperation, type Statement } from './statements.js';
import type { UpstreamConnection } from './upstream.js';
import { WriteMasker } from './write-mask.js';

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

/**
 * One job connection after authentication, as the dispatcher of its messages: client messages become
 * operations for the governor (`operations.ts`), refused ones are answered in the protocol's own terms
 * (`refusal.ts`), and the target's answers are masked on their way back (`result-plans.ts`).
 */
export class PostgresSession {
  readonly #ctx: SessionContext;
  readonly #client: Socket;
  readonly #server: Socket;
  /** Client → target; the target's answers go back through `#answers`. */
  readonly #up: Direction;
  readonly #answers: TargetAnswers;
  readonly #pending: Pending[] = [];
  /** Prepared statements and portals (cursors too) as the target holds them. */
  readonly #state = new SessionState<Statement, Portal>();
  readonly #openSeq: number;
  readonly #copy: CopyRelay;
  #closed = false;
  /** Aborted when the session ends: what it still holds for approval is withdrawn. */
  readonly #left = new AbortController();
  readonly #plans: ResultPlans;
  readonly #refusals: Refusals;
  readonly #operations: StatementOperations;

  constructor(ctx: SessionContext, client: Socket, upstream: UpstreamConnection, openSeq: number) {
    this.#ctx = ctx;
    this.#client = client;
    this.#server = upstream.socket as Socket;
    this.#openSeq = openSeq;
    ctx.classifier.prepared = (name) => this.#state.statement(name)?.sql;
    const { governor, catalog, classifier, connection } = ctx;
    const { masker } = governor;
    this.#plans = new ResultPlans(catalog, this.#state, () => governor.maskPlanFor(connection, 'postgres'));
    const connectionMasks = () => this.#plans.connectionMasks();
    this.#operations = new StatementOperations({ connection, classifier, lineage: ctx.lineage, operations: ctx.operations, masker, connectionMasks });
    for (const [name, value] of upstream.parameters) this.#operations.parameter(name, value);
    this.#copy = new CopyRelay(catalog, masker);
    this.#up = new Direction(client, this.#server, this.#clientSink(), ctx.maxFrame, (e) => this.#protocolViolation(e), (forward) => governor.commitThen(forward));
    this.#refusals = new Refusals({ pending: this.#pending, state: this.#state, toTarget: this.#up.out, plans: this.#plans, masker });
    this.#answers = new TargetAnswers(
      {
        connection,
        catalog,
        classifier,
        masker,
        completed: (ruling, stats) => governor.completed(ruling, stats),
        discovery: new ResultDiscovery(governor.discovery, catalog),
        pending: this.#pending,
        state: this.#state,
        plans: this.#plans,
        refusals: this.#refusals,
        copy: this.#copy,
        parameter: (name, value) => this.#operations.parameter(name, value),
        maxFrame: ctx.maxFrame,
        fail: (e) => this.#fail(e),
      },
      this.#server,
      client,
    );
  }

  /** Starts relaying; `leftover` is what the client sent after authentication in the same packet. */
  start(leftover: Buffer | undefined): void {
    this.#client.on('data', (chunk: Buffer) => this.#up.push(chunk));
    this.#server.on('data', (chunk: Buffer) => this.#answers.push(chunk));
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
      mayStream: (code) => code === Frontend.CopyData && !this.#copy.masksIn,
      streamed: (piece) => this.#up.out.pass(piece),
    };
  }

  /** Returns false to stop reading while a decision is pending. */
  #clientFrame(code: number, frame: Buffer): boolean {
    if (this.#refusals.skips(code)) return true;
    const sql = code === Frontend.Query ? readCString(frame) : undefined;
    const effects = sql !== undefined ? stateEffects(sql, this.#ctx.classifier.parser) : undefined;
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
      case Frontend.Query:
        return this.#decideThen(this.#operations.traced(this.#operations.statementText(sql!)), (ruling, op) => this.#query(frame, ruling, op, effects!));
      case Frontend.Parse: {
        const parse = readParse(frame);
        const traced = this.#operations.traced(this.#operations.statementText(parse.query));
        const op = traced instanceof Promise ? traced.then((ready) => this.#operations.atExecution(ready)) : this.#operations.atExecution(traced);
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
        this.#refusals.synced();
        this.#pending.push({ kind: 'sync' });
        this.#state.sent();
        this.#up.out.pass(frame);
        return true;
      case Frontend.FunctionCall:
        return this.#decideThen(
          { connection: this.#ctx.connection, protocol: 'postgres', text: 'FunctionCall message', classes: new Set(['function_call']), writes: true },
          (ruling) => {
            if (!ruling.allowed) return this.#refusals.simple(ruling);
            this.#pending.push({ kind: 'function' });
            this.#state.sent();
            this.#up.out.pass(frame);
          },
        );
      case Frontend.CopyData:
        this.#copy.clientData(frame, this.#up.out);
        return true;
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        this.#copy.clientEnded(this.#up.out);
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
    return { ruling: { allowed: true, seq: 0, masks: this.#plans.connectionMasks() }, text: name, lineage: UNTRACED };
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
    const decided = this.#ctx.governor.decide(op, this.#openSeq, this.#left.signal);
    const acted = decided instanceof Promise ? decided.then((ruling) => act(ruling, op)) : act(decided, op);
    if (!(acted instanceof Promise)) return true;
    acted.then(
      () => this.#up.resume(),
      (e: unknown) => this.#fail(e),
    );
    return false;
  }

  #query(frame: Buffer, ruling: Ruling, op: SqlOperation, effects: readonly StateEffect[]): void | Promise<void> {
    if (!ruling.allowed) return this.#refusals.simple(explained(ruling, op), op.sql.syntaxError);
    const unmaskable = unmaskableCopy(op, ruling.masks);
    if (unmaskable) return this.#refusals.simple({ ...ruling, allowed: false, rule: 'copy-mask', message: unmaskable });
    const entry: Pending = { kind: 'query', ruling, sql: op.sql, started: performance.now(), rows: 0, bytes: 0, masked: 0, plan: PASS_THROUGH, lineage: op.lineage, op, effects };
    const send = (query: Buffer) => {
      this.#pending.push(entry);
      this.#state.sending(effects);
      this.#state.sent();
      this.#up.out.push(query);
    };
    if (ruling.masks.writeColumns.length && op.sql.writes) {
      return WriteMasker.forStatement(op.sql, readCString(frame), ruling.masks, this.#ctx).then((plan) => {
        if (plan.refusal) return this.#refusals.simple({ ...ruling, allowed: false, rule: plan.refusal.rule, message: plan.refusal.message });
        send(plan.sql !== undefined ? writeQuery(plan.sql) : frame);
        this.#copy.planned(plan.copies);
      });
    }
    send(frame);
  }

  #parse(frame: Buffer, parse: ReturnType<typeof readParse>, ruling: Ruling, op: SqlOperation): void | Promise<void> {
    // A refused Parse never reaches the target: what it holds under the name stays, and so does the gateway's view of it.
    const runnable = ruling.allowed || ruling.deferred;
    const unmaskable = runnable ? unmaskableCopy(op, ruling.masks) : undefined;
    if (!runnable || unmaskable) {
      const refusal = unmaskable ? errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${unmaskable}`, 'rule: copy-mask') : refusalFields(explained(ruling, op), op.sql.syntaxError);
      return this.#refusals.extended(refusal, 'parse');
    }
    const statement: Statement = { ruling, sql: op.sql, text: op.text, lineage: op.lineage, effects: stateEffects(parse.query, this.#ctx.classifier.parser) };
    if (ruling.deferred) statement.held = op;
    const send = (message: Buffer) => {
      this.#pending.push({ kind: 'parse', undo: this.#state.defineStatement(parse.statement, statement) });
      this.#up.out.push(message);
    };
    if (ruling.masks.writeColumns.length && op.sql.writes) {
      return WriteMasker.forStatement(op.sql, parse.query, ruling.masks, this.#ctx).then((plan) => {
        if (plan.refusal) return this.#refusals.extended(errorFields('ERROR', SQLSTATE_REFUSED, `govern: ${plan.refusal.message}`, `rule: ${plan.refusal.rule}`), 'parse');
        statement.write = plan;
        this.#copy.planned(plan.copies);
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
      const execution: Operation = { ...statement.held, text: this.#operations.withParameters(statement, bind), approveAtExecution: false };
      return this.#decideThen(execution, (ruling) =>
        ruling.allowed ? this.#bound(frame, bind, statement, ruling) : this.#refusals.extended(refusalFields(ruling), 'bind'),
      );
    }
    this.#bound(frame, bind, statement, statement?.ruling);
    return true;
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
