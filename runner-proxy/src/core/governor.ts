import type { Principal } from '../identity/principal.js';
import { Discovery } from '../masking/discovery.js';
import { REDACT_ALL, type Masker } from '../masking/masker.js';
import type { Counts } from '../recording/bundle.js';
import type { EventType } from '../recording/events.js';
import type { Recorder } from '../recording/recorder.js';
import { deniedMessage } from '../recording/denied-message.js';
import type { Policy, Protocol } from '../policy/types.js';
import type { Approvals } from './approvals.js';
import { GovernError } from '../base/errors.js';
import type { Decision, MaskPlan, Operation } from '../policy/operation.js';
import { EMPTY_MASK_PLAN, RuleEngine } from './rules.js';

/** What an adapter does with an operation, and what it tells the client when refused. */
export interface Ruling {
  allowed: boolean;
  /** The operation's event, which its result refers to. */
  seq: number;
  masks: MaskPlan;
  /** Refused: the rule and one sentence for the client's own error format. */
  rule?: string;
  message?: string;
  /** Set when the operation was held: the id approvers answer to. */
  requestId?: string;
  /** Refused because nobody decided in time (HTTP answers 504 rather than 403). */
  timedOut?: boolean;
  /**
   * Not run yet: it needs an approval, asked at each execution with the values it runs with
   * (operations with `approveAtExecution`). `masks` are those it will run with.
   */
  deferred?: boolean;
}

export interface ResultStats {
  /** Rows returned, or for a write the rows it changed. */
  rows?: number;
  /** The target's own name for what it did, such as PostgreSQL's command tag "UPDATE 688". */
  tag?: string;
  bytes?: number;
  maskedValues?: number;
  /** Masked values by detector type and by table.column. */
  maskedBy?: Readonly<Record<string, number>>;
  durationMs: number;
  /** HTTP: the target's status code. */
  status?: number;
  /** HTTP with `recording.results: masked`: the start of the body, already masked. */
  body?: string;
  /** HTTP with `recording.results: masked`: the start of the request body as it went to the target, masked. */
  requestBody?: string;
  /** The target's own error, already masked. */
  error?: string;
  /** SSH: the exit status, or the signal (SIGTERM…) that ended the command. */
  exit?: number | string;
}

export interface GovernorOptions {
  policy: Policy;
  principal: Principal;
  recorder: Recorder;
  masker: Masker;
  approvals: Approvals;
}

/**
 * The governor as an adapter sees it: deciding, committing and noting, the masker and discovery, and
 * of the recorder only where terminal casts go and whether recording has failed.
 */
export interface AdapterGovernor {
  readonly masker: Masker;
  readonly discovery: Discovery;
  readonly recordsContent: boolean;
  readonly masksRequests: boolean;
  /** Why the session can no longer be recorded, once it cannot: nothing more may reach a target. */
  readonly recordingFailure: GovernError | undefined;
  /** The session's bundle directory, where terminal casts are written beside the events. */
  readonly bundleDir: string;
  connectionOpened(connection: string, protocol: Protocol | 'process', detail?: Readonly<Record<string, unknown>>): number;
  connectionClosed(connection: string, openSeq: number, reason: string): void;
  /** `withdrawn` aborts when the asking client leaves, so a held approval is not left waiting for nobody. */
  decide(op: Operation, client?: number, withdrawn?: AbortSignal): Ruling | Promise<Ruling>;
  commit(): void;
  commitThen(forward: (failure?: unknown) => void): void;
  maskPlan(op: Operation): MaskPlan;
  maskPlanFor(connection: string, protocol: Operation['protocol']): MaskPlan;
  needsJson(op: Operation): boolean;
  completed(ruling: Ruling, stats: ResultStats): void;
  note(type: EventType, fields: Readonly<Record<string, unknown>>): void;
  fault(where: string, error: unknown): void;
}

/** How long results wait for an event to ride on before they are recorded on their own. */
const RESULTS_WAIT_MS = 10;

/**
 * The protocol-agnostic pipeline: adapters hand it classified operations; it decides (rules, then the
 * approval hold), records before anything is forwarded or refused, and gives back the masks to apply.
 * It fails closed: when the record cannot be written, every operation is refused.
 */
export class Governor implements AdapterGovernor {
  readonly counts: Counts = { operations: 0, allowed: 0, masked_values: 0, blocked: 0, approved: 0, denied: 0, would_block: 0, would_hold: 0 };
  readonly masker: Masker;
  readonly recorder: Recorder;
  readonly approvals: Approvals;
  readonly principal: Principal;
  /** What results reveal for `govern policy suggest` and `policy test`: recorded when the session settles. */
  readonly discovery: Discovery;
  /** Errors that escaped a connection's own handling and reached the last-resort guard; none is expected. */
  faults = 0;
  readonly #rules: RuleEngine;
  readonly #recordResults: boolean;
  /** `recording.results: masked`: results keep their (masked) content. */
  readonly recordsContent: boolean;
  /** What waits for the next group commit. */
  #forwards: ((failure?: unknown) => void)[] = [];
  /**
   * Results of allowed operations not recorded yet. They ride on the next event the governor records
   * (mostly the next operation's: one event per statement), or go in one `results` event of their own
   * after RESULTS_WAIT_MS without one.
   */
  #results: Record<string, unknown>[] = [];
  #resultsTimer: NodeJS.Timeout | undefined;

  constructor({ policy, principal, recorder, masker, approvals }: GovernorOptions) {
    this.#rules = new RuleEngine(policy);
    this.#recordResults = policy.recording.results !== 'none';
    this.recordsContent = policy.recording.results === 'masked';
    this.principal = principal;
    this.recorder = recorder;
    this.masker = masker;
    this.approvals = approvals;
    this.discovery = new Discovery({ countsValues: policy.mode === 'observe' });
  }

  connectionOpened(connection: string, protocol: Protocol | 'process', detail: Readonly<Record<string, unknown>> = {}): number {
    return this.recorder.append('connection.open', this.#withResults({ connection, protocol, ...detail }));
  }

  connectionClosed(connection: string, openSeq: number, reason: string): void {
    this.#tryAppend('connection.close', { connection, open: openSeq, reason });
  }

  /**
   * Decides one operation. An allowed operation gets its ruling at once, so the hot path never waits;
   * a block (durable before the refusal) or a hold (until someone decides) comes as a promise.
   * `client` is the sequence number of the client connection's `connection.open`, where the adapter keeps one;
   * `withdrawn` is aborted when whoever asked has gone (a client that left): a hold on it is withdrawn.
   */
  decide(op: Operation, client?: number, withdrawn?: AbortSignal): Ruling | Promise<Ruling> {
    this.counts.operations++;
    let decision: Decision;
    let seq: number;
    try {
      decision = this.#rules.evaluate(op, this.principal);
      seq = this.recorder.append('operation', this.#withResults(operationEvent(op, decision, client)));
    } catch (e) {
      this.counts.blocked++;
      return this.#refuse(0, 'recording-failed', recordingMessage(e));
    }
    // A recorder that failed after this event was queued refuses now rather than at the next operation.
    if (this.recorder.failure) {
      this.counts.blocked++;
      return this.#refuse(seq, 'recording-failed', recordingMessage(this.recorder.failure));
    }
    if (decision.verdict === 'block') return this.#block(seq, decision);
    if (decision.verdict === 'approve' && op.approveAtExecution) return { allowed: false, seq, masks: decision.masks, rule: decision.rule!, message: decision.reason, deferred: true };
    if (decision.verdict === 'approve') return this.#hold(op, seq, decision, withdrawn);
    this.counts.allowed++;
    if (decision.policyVerdict === 'block') this.counts.would_block++;
    else if (decision.policyVerdict === 'approve') this.counts.would_hold++;
    return { allowed: true, seq, masks: decision.masks };
  }

  /**
   * Puts the events of the operations decided so far in the file: an adapter calls this before it
   * forwards them. Throws when they cannot be written; the adapter then refuses instead of forwarding.
   */
  commit(): void {
    this.recorder.write();
  }

  /**
   * Calls `forward` once the events decided so far are in the file: together with every other forward
   * asked for in this turn of the event loop, after one write for all the connections that had something
   * to send. `forward` gets the failure instead when the events cannot be written, and must not forward.
   */
  commitThen(forward: (failure?: unknown) => void): void {
    this.#forwards.push(forward);
    if (this.#forwards.length === 1) setImmediate(this.#groupCommit);
  }

  readonly #groupCommit = (): void => {
    const forwards = this.#forwards;
    this.#forwards = [];
    let failure: unknown;
    try {
      this.commit();
    } catch (e) {
      failure = e;
    }
    for (const forward of forwards) forward(failure);
  };

  get recordingFailure(): GovernError | undefined {
    return this.recorder.failure;
  }

  get bundleDir(): string {
    return this.recorder.dir;
  }

  /** Whether some rule masks what goes to HTTP targets: only then do requests need a mask plan before they are decided. */
  get masksRequests(): boolean {
    return this.#rules.masksRequests;
  }

  /** The masks an operation will get, before it is decided (HTTP masks a request's query before it is recorded). */
  maskPlan(op: Operation): MaskPlan {
    return this.#rules.maskPlan(op);
  }

  /** Whether `decide` needs the operation's JSON body (HTTP reads it only then). */
  needsJson(op: Operation): boolean {
    return this.#rules.needsJson(op);
  }

  /** Records how an allowed operation ended, with the next event recorded; masked counts feed the summary. */
  completed(ruling: Ruling, stats: ResultStats): void {
    this.counts.masked_values += stats.maskedValues ?? 0;
    if (!this.#recordResults) return;
    this.#results.push(resultEvent(ruling.seq, stats));
    this.#resultsTimer ??= setTimeout(this.#recordResultsAlone, RESULTS_WAIT_MS).unref();
  }

  /** Records the results still waiting, in a `results` event of their own: the session is ending. */
  settle(): void {
    clearTimeout(this.#resultsTimer);
    this.#recordResultsAlone();
    const discovered = this.discovery.record();
    if (discovered) this.#tryAppend('discovery', { ...discovered });
  }

  readonly #recordResultsAlone = (): void => {
    this.#resultsTimer = undefined;
    if (this.#results.length) this.#tryAppend('results', {});
  };

  /** The fields of an event about to be recorded, with the results waiting (if any) added as `results`. */
  #withResults(fields: Record<string, unknown>): Record<string, unknown> {
    if (this.#results.length === 0) return fields;
    fields.results = this.#results;
    this.#results = [];
    return fields;
  }

  /** The read masks of a connection, for what belongs to no operation (notices, notifications). */
  maskPlanFor(connection: string, protocol: Operation['protocol']): MaskPlan {
    return this.#rules.maskPlan({ connection, protocol, text: '', classes: new Set(), writes: false });
  }

  /** Something worth keeping that is not an operation, such as a refused malformed message. */
  note(type: EventType, fields: Readonly<Record<string, unknown>>): void {
    this.#tryAppend(type, { ...fields });
  }

  /** The last-resort guard caught an error: it is recorded (its message masked) and the gateway serves on. */
  fault(where: string, error: unknown): void {
    this.faults++;
    const message = error instanceof Error ? error.message : String(error);
    this.#tryAppend('gateway.fault', { where, error: this.masker.maskText(message, REDACT_ALL).text });
  }

  async #block(seq: number, decision: Decision): Promise<Ruling> {
    this.counts.blocked++;
    try {
      await this.recorder.durable();
    } catch (e) {
      return this.#refuse(seq, decision.rule!, `${decision.reason}; ${recordingMessage(e)}`);
    }
    return { allowed: false, seq, masks: EMPTY_MASK_PLAN, rule: decision.rule!, message: decision.reason };
  }

  async #hold(op: Operation, seq: number, decision: Decision, withdrawn: AbortSignal | undefined): Promise<Ruling> {
    let result;
    try {
      result = await this.approvals.request(op, decision.rule!, seq, withdrawn);
    } catch (e) {
      this.counts.denied++;
      return this.#refuse(seq, decision.rule!, recordingMessage(e));
    }
    if (result.outcome === 'approved') {
      this.counts.approved++;
      return { allowed: true, seq, masks: decision.masks, requestId: result.id };
    }
    this.counts.denied++;
    return {
      allowed: false,
      seq,
      masks: EMPTY_MASK_PLAN,
      rule: decision.rule!,
      message: deniedMessage(result.outcome, result.by, result.reason, decision.rule!, result.id),
      requestId: result.id,
      ...(result.outcome === 'timeout' && { timedOut: true }),
    };
  }

  #refuse(seq: number, rule: string, message: string): Ruling {
    return { allowed: false, seq, masks: EMPTY_MASK_PLAN, rule, message };
  }

  #tryAppend(type: EventType, fields: Record<string, unknown>): void {
    try {
      this.recorder.append(type, this.#withResults(fields));
    } catch {
      // The recorder keeps its failure; every later decision is refused with it.
    }
  }
}

/*
 * An event's fields are set one by one rather than spread from optional parts: it is made for every
 * statement, and the recorder keeps its keys' order by the order they come in.
 */

/** Each class set as the list recorded: adapters keep one set per statement shape, so the list is made once per set. */
const classLists = new WeakMap<ReadonlySet<string>, readonly string[]>();

function classList(classes: ReadonlySet<string>): readonly string[] {
  let list = classLists.get(classes);
  if (!list) classLists.set(classes, (list = Object.freeze([...classes])));
  return list;
}

function operationEvent(op: Operation, decision: Decision, client: number | undefined): Record<string, unknown> {
  const event: Record<string, unknown> = { connection: op.connection, protocol: op.protocol, text: op.text, classes: classList(op.classes) };
  if (client !== undefined) event.client = client;
  if (op.commands) event.argv = op.commands;
  event.verdict = decision.policyVerdict;
  if (decision.verdict !== decision.policyVerdict) event.enforced = decision.verdict;
  if (decision.rule) event.rule = decision.rule;
  if (decision.masks.rules.length) event.masks = decision.masks.rules;
  // What a refused job is told (in observe mode, would have been), so the record shows it.
  if (decision.policyVerdict === 'block') event.told = decision.reason;
  if (decision.verdict === 'approve' && op.approveAtExecution) event.approval = 'asked at each execution';
  return event;
}

/** A result's fields in the canonical (alphabetical) order already: they are recorded inside another event, whose serialiser then keeps that order. */
function resultEvent(op: number, stats: ResultStats): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  if (stats.body !== undefined) event.body = stats.body;
  if (stats.bytes !== undefined) event.bytes = stats.bytes;
  event.duration_ms = Math.round(stats.durationMs * 1000) / 1000;
  if (stats.error !== undefined) event.error = stats.error;
  if (stats.exit !== undefined) event.exit = stats.exit;
  if (stats.maskedValues) {
    event.masked = stats.maskedValues;
    if (stats.maskedBy) event.masked_by = stats.maskedBy;
  }
  event.op = op;
  if (stats.requestBody !== undefined) event.request_body = stats.requestBody;
  if (stats.rows !== undefined) event.rows = stats.rows;
  if (stats.status !== undefined) event.status = stats.status;
  if (stats.tag !== undefined) event.tag = stats.tag;
  return event;
}

function recordingMessage(e: unknown): string {
  return e instanceof GovernError ? e.message : `the session cannot be recorded: ${(e as Error).message}`;
}
