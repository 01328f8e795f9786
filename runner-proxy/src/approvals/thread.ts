import type { ApprovalProvider, ApprovalResult, PendingApproval } from '../core/approvals.js';
import { outcomeLine, parseCommand, requestMessage } from './commands.js';
import { Poller } from './poller.js';

/** A comment in the conversation where requests are announced, whatever the forge. */
export interface ThreadComment<Raw> {
  id: number;
  body: string;
  author: string;
  raw: Raw;
}

export interface ThreadSettings {
  /** The forge's name, for messages. */
  forge: string;
  actor?: string;
  approvers: readonly string[];
  timeoutMs: number;
  pollMs?: number;
  warn: (message: string) => void;
}

/** What every forge's approvals are configured with, besides how to reach the forge. */
export interface ForgeApprovalOptions extends Omit<ThreadSettings, 'forge'> {
  allowSelfApproval: boolean;
}

/**
 * What GitHub and GitLab approvals share: one comment per request, a poll of the conversation that
 * passes each valid `/govern approve|deny` to the engine once, and the outcome added to the request's
 * comment. A forge says how to post, edit, list and react, and who counts.
 */
export abstract class ThreadApprovals<Raw> implements ApprovalProvider {
  readonly #settings: ThreadSettings;
  readonly #announced = new Map<string, { commentId: number; body: string }>();
  readonly #seen = new Set<number>();
  #poller: Poller | undefined;
  #decide: ((id: string, approved: boolean, by: string, reason?: string) => void) | undefined;
  /** When the first request was made: older comments cannot answer any. */
  protected since: string | undefined;

  constructor(settings: ThreadSettings) {
    this.#settings = settings;
  }

  protected abstract post(body: string): Promise<number>;
  protected abstract edit(commentId: number, body: string): Promise<void>;
  /** The conversation's comments, or undefined when nothing changed since the last call. */
  protected abstract comments(): Promise<ThreadComment<Raw>[] | undefined>;
  /** Whether the comment's author may decide: a listed approver with access, not a bot, not edited. */
  protected abstract counts(comment: ThreadComment<Raw>): Promise<boolean>;
  protected abstract react(comment: ThreadComment<Raw>, approve: boolean): Promise<void>;

  async announce(request: PendingApproval): Promise<void> {
    const { actor, approvers, timeoutMs } = this.#settings;
    const body = requestMessage(request, { ...(actor && { requester: actor }), approvers, timeoutMs });
    const commentId = await this.post(body);
    this.#announced.set(request.id, { commentId, body });
    this.#seen.add(commentId);
    this.since ??= request.requested_at;
  }

  start(decide: (id: string, approved: boolean, by: string, reason?: string) => void): void {
    this.#decide = decide;
    this.#poller = new Poller(() => this.#poll(), this.#settings.pollMs ?? 5000, (e) => this.#settings.warn(`reading approvals from ${this.#settings.forge} failed: ${e.message}`));
    this.#poller.start();
  }

  stop(): void {
    this.#poller?.stop();
  }

  async settled(result: ApprovalResult): Promise<void> {
    const announced = this.#announced.get(result.id);
    if (!announced) return;
    await this.edit(announced.commentId, `${announced.body}\n\n${outcomeLine(result)}`);
    this.#announced.delete(result.id);
  }

  /** Whether the author is the run's own actor, who may not approve their own run unless allowed. */
  protected isActor(author: string): boolean {
    return this.#settings.actor !== undefined && author.toLowerCase() === this.#settings.actor.toLowerCase();
  }

  async #poll(): Promise<void> {
    if (this.#announced.size === 0) return;
    for (const comment of (await this.comments()) ?? []) {
      if (this.#seen.has(comment.id)) continue;
      this.#seen.add(comment.id);
      const command = parseCommand(comment.body);
      if (!command || !this.#announced.has(command.id) || !(await this.counts(comment))) continue;
      this.#decide?.(command.id, command.approve, comment.author, command.reason);
      await this.react(comment, command.approve).catch(() => undefined);
    }
  }
}
