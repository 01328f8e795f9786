import { createHash, randomBytes } from 'node:crypto';
import type { ApprovalsSpec } from '../policy/types.js';
import type { Recorder } from '../recording/recorder.js';
import { ErrorCode, GovernError } from '../base/errors.js';
import type { Operation } from '../policy/operation.js';

export type ApprovalOutcome = 'approved' | 'denied' | 'timeout';

export interface ApprovalResult {
  id: string;
  outcome: ApprovalOutcome;
  by?: string;
  reason?: string;
}

export interface PendingApproval {
  id: string;
  connection: string;
  operation: string;
  rule: string;
  requested_at: string;
}

interface Waiting extends PendingApproval {
  settle(result: ApprovalResult): void;
}

/**
 * Where approvers are asked and answer: a pull request (GitHub), a merge request (GitLab). The CLI
 * needs none: `govern approve` reaches the control socket directly.
 */
export interface ApprovalProvider {
  /** Asks the approvers: posts the request where they will see it. */
  announce(request: PendingApproval): Promise<void>;
  /** Watches for answers and passes each valid one to `decide`. */
  start(decide: (id: string, approved: boolean, by: string, reason?: string) => void): void;
  /** Shows the outcome where the request was announced. */
  settled(result: ApprovalResult): Promise<void>;
  stop(): void;
}

export interface ApprovalsOptions {
  spec: ApprovalsSpec;
  recorder: Recorder;
  provider?: ApprovalProvider;
  /** Where a provider's failures are told; an approval still works through the CLI then. */
  warn?: (message: string) => void;
  now?: () => number;
}

/**
 * Holds operations until someone decides. The adapter awaits `request`, so only that one operation waits:
 * the connection and the job go on. Requests and decisions are durable in the record before the
 * operation is refused or forwarded.
 */
export class Approvals {
  readonly #spec: ApprovalsSpec;
  readonly #recorder: Recorder;
  readonly #now: () => number;
  readonly #waiting = new Map<string, Waiting>();
  /** Outcomes on their way to the forge (edits GitHub's throttling may hold for a second or more). */
  readonly #showing = new Set<Promise<void>>();
  readonly #provider: ApprovalProvider | undefined;
  readonly #warn: (message: string) => void;

  constructor({ spec, recorder, provider, warn = () => undefined, now = Date.now }: ApprovalsOptions) {
    this.#spec = spec;
    this.#recorder = recorder;
    this.#now = now;
    this.#provider = provider;
    this.#warn = warn;
    provider?.start((id, approved, by, reason) => {
      if (this.#waiting.has(id)) this.decide(id, approved, by, reason);
    });
  }

  get via(): ApprovalsSpec['via'] {
    return this.#spec.via;
  }

  pending(): PendingApproval[] {
    return [...this.#waiting.values()].map(({ id, connection, operation, rule, requested_at }) => ({ id, connection, operation, rule, requested_at }));
  }

  /** Holds an operation until it is decided; `withdrawn` is aborted when whoever asked has gone (the hold is then withdrawn). */
  async request(op: Operation, rule: string, opSeq: number, withdrawn?: AbortSignal): Promise<ApprovalResult> {
    const id = `apr_${randomBytes(5).toString('hex')}`;
    if (this.#waiting.size >= this.#spec.maxPending) {
      const result: ApprovalResult = { id, outcome: 'denied', by: 'govern', reason: `${this.#spec.maxPending} operations already wait for approval` };
      this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
      await this.#recorder.durable();
      return result;
    }
    // The approval is bound to this one operation: its id is fresh, and the record names what it covers.
    const fingerprint = op.fingerprint ?? createHash('sha256').update(`${op.connection}\u0000${op.text}`).digest('hex');
    this.#recorder.append('approval.requested', { request_id: id, op: opSeq, connection: op.connection, rule, fingerprint, via: this.#spec.via, timeout_ms: this.#spec.timeoutMs });
    await this.#recorder.durable();
    const result = await new Promise<ApprovalResult>((resolve) => {
      const timer = setTimeout(() => waiting.settle({ id, outcome: 'timeout', by: 'govern', reason: `no decision within ${this.#spec.timeoutMs / 1000} s` }), this.#spec.timeoutMs);
      timer.unref();
      // Whoever asked has gone: nobody waits for the answer, so it no longer counts as pending.
      const withdraw = () => waiting.settle({ id, outcome: 'denied', by: 'govern', reason: 'withdrawn: the client left before a decision' });
      const waiting: Waiting = {
        id,
        connection: op.connection,
        operation: op.text,
        rule,
        requested_at: new Date(this.#now()).toISOString(),
        settle: (r) => {
          clearTimeout(timer);
          withdrawn?.removeEventListener('abort', withdraw);
          this.#waiting.delete(id);
          resolve(r);
        },
      };
      this.#waiting.set(id, waiting);
      if (withdrawn?.aborted) return withdraw();
      withdrawn?.addEventListener('abort', withdraw, { once: true });
      this.#provider?.announce(this.pending().find((p) => p.id === id)!).catch((e: Error) => this.#warn(`cannot ask for approval ${id}: ${e.message}; govern approve ${id} still works`));
    });
    this.#recorder.append('approval.decided', { request_id: id, op: opSeq, outcome: result.outcome, by: result.by, reason: result.reason });
    const durable = this.#recorder.durable();
    if (this.#provider) {
      const provider = this.#provider;
      const showing = durable.then(() => provider.settled(result)).catch((e: Error) => this.#warn(`cannot show the outcome of ${id}: ${e.message}`));
      this.#showing.add(showing);
      void showing.finally(() => this.#showing.delete(showing));
    }
    await durable;
    return result;
  }

  /** Waits, at most timeoutMs, for the outcomes decided so far to show on the forge: the job may end as soon as the gateway stops. */
  async outcomesShown(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#showing), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Settles a waiting request; the caller has already checked that `by` may decide. */
  decide(id: string, approved: boolean, by: string, reason?: string): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) throw new GovernError(ErrorCode.ApprovalNotFound, `no operation waits under approval id ${id}`);
    waiting.settle({ id, outcome: approved ? 'approved' : 'denied', by, ...(reason && { reason }) });
  }

  /** Denies everything still waiting, when the gateway stops. */
  denyAll(reason: string): void {
    for (const waiting of [...this.#waiting.values()]) waiting.settle({ id: waiting.id, outcome: 'denied', by: 'govern', reason });
    this.#provider?.stop();
  }
}
