import type { Principal } from '../identity/principal.js';
import type { Masker } from '../masking/masker.js';
import type { Counts } from '../recording/bundle.js';
import type { Recorder } from '../recording/recorder.js';
import type { Policy, Protocol } from '../policy/types.js';
import type { Approvals } from './approvals.js';
import { GovernError } from './errors.js';
import type { Decision, MaskPlan, Operation } from './operation.js';
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
}

export interface ResultStats {
  rows?: number;
  bytes?: number;
  maskedValues?: number;
  durationMs: number;
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
 * The protocol-agnostic pipeline: adapters hand it classified operations; it decides (rules, then the
 * approval hold), records before anything is forwarded or refused, and gives back the masks to apply.
 * It fails closed: when the record cannot be written, every operation is refused.
 */
export class Governor {
  readonly counts: Counts = { operations: 0, allowed: 0, masked_values: 0, blocked: 0, approved: 0, denied: 0 };
  readonly masker: Masker;
  readonly recorder: Recorder;
  readonly approvals: Approvals;
  readonly principal: Principal;
  readonly #rules: RuleEngine;
  readonly #recordResults: boolean;

  constructor({ policy, principal, recorder, masker, approvals }: GovernorOptions) {
    this.#rules = new RuleEngine(policy);
    this.#recordResults = policy.recording.results !== 'none';
    this.principal = principal;
    this.recorder = recorder;
    this.masker = masker;
    this.approvals = approvals;
  }

  connectionOpened(connection: string, protocol: Protocol | 'process', detail: Readonly<Record<string, unknown>> = {}): number {
    return this.recorder.append('connection.open', { connection, protocol, ...detail });
  }

  connectionClosed(connection: string, openSeq: number, reason: string): void {
    this.#tryAppend('connection.close', { connection, open: openSeq, reason });
  }

  /**
   * Decides one operation. An allowed operation gets its ruling at once, so the hot path never waits;
   * a block (durable before the refusal) or a hold (until someone decides) comes as a promise.
   */
  decide(op: Operation): Ruling | Promise<Ruling> {
    this.counts.operations++;
    let decision: Decision;
    let seq: number;
    try {
      decision = this.#rules.evaluate(op, this.principal);
      seq = this.recorder.append('operation', {
        connection: op.connection,
        protocol: op.protocol,
        text: op.text,
        classes: [...op.classes],
        ...(op.commands && { argv: op.commands }),
        verdict: decision.policyVerdict,
        ...(decision.verdict !== decision.policyVerdict && { enforced: decision.verdict }),
        ...(decision.rule && { rule: decision.rule }),
        ...(decision.masks.rules.length && { masks: decision.masks.rules }),
      });
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
    if (decision.verdict === 'approve') return this.#hold(op, seq, decision);
    this.counts.allowed++;
    return { allowed: true, seq, masks: decision.masks };
  }

  /** Records how an allowed operation ended; masked counts feed the summary. */
  completed(ruling: Ruling, stats: ResultStats): void {
    this.counts.masked_values += stats.maskedValues ?? 0;
    if (!this.#recordResults) return;
    this.#tryAppend('result', {
      op: ruling.seq,
      duration_ms: Math.round(stats.durationMs * 1000) / 1000,
      ...(stats.rows !== undefined && { rows: stats.rows }),
      ...(stats.bytes !== undefined && { bytes: stats.bytes }),
      ...(stats.maskedValues && { masked: stats.maskedValues }),
      ...(stats.error !== undefined && { error: stats.error }),
      ...(stats.exit !== undefined && { exit: stats.exit }),
    });
  }

  /** The read masks of a connection, for what belongs to no operation (notices, notifications). */
  maskPlanFor(connection: string, protocol: Operation['protocol']): MaskPlan {
    return this.#rules.maskPlan({ connection, protocol, text: '', classes: new Set(), writes: false });
  }

  /** Something worth keeping that is not an operation, such as a refused malformed message. */
  note(type: string, fields: Readonly<Record<string, unknown>>): void {
    this.#tryAppend(type, fields);
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

  async #hold(op: Operation, seq: number, decision: Decision): Promise<Ruling> {
    let result;
    try {
      result = await this.approvals.request(op, decision.rule!, seq);
    } catch (e) {
      this.counts.denied++;
      return this.#refuse(seq, decision.rule!, recordingMessage(e));
    }
    if (result.outcome === 'approved') {
      this.counts.approved++;
      return { allowed: true, seq, masks: decision.masks, requestId: result.id };
    }
    this.counts.denied++;
    const why = result.outcome === 'timeout' ? 'approval timed out' : `denied by ${result.by}${result.reason ? `: ${result.reason}` : ''}`;
    return {
      allowed: false,
      seq,
      masks: EMPTY_MASK_PLAN,
      rule: decision.rule!,
      message: `${why} (rule "${decision.rule}", request ${result.id})`,
      requestId: result.id,
      ...(result.outcome === 'timeout' && { timedOut: true }),
    };
  }

  #refuse(seq: number, rule: string, message: string): Ruling {
    return { allowed: false, seq, masks: EMPTY_MASK_PLAN, rule, message };
  }

  #tryAppend(type: string, fields: Readonly<Record<string, unknown>>): void {
    try {
      this.recorder.append(type, fields);
    } catch {
      // The recorder keeps its failure; every later decision is refused with it.
    }
  }
}

function recordingMessage(e: unknown): string {
  return e instanceof GovernError ? e.message : `the session cannot be recorded: ${(e as Error).message}`;
}
