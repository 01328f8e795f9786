import type { ApprovalProvider, ApprovalResult, PendingApproval } from '../core/approvals.js';
import { outcomeLine, parseCommand, requestMessage } from './commands.js';
import { Poller } from './poller.js';

/**
 * Approvals in a GitLab merge request, through its notes: the same commands and rules as on GitHub.
 * Approvers are usernames with Developer access or more. It needs a project access token with the
 * api scope (GOVERN_GITLAB_TOKEN): the job token cannot write merge request notes.
 */
export interface GitLabApprovalsOptions {
  token: string;
  /** CI_API_V4_URL */
  apiUrl: string;
  projectId: string;
  mergeRequestIid: string;
  actor?: string;
  approvers: readonly string[];
  allowSelfApproval: boolean;
  timeoutMs: number;
  pollMs?: number;
  warn: (message: string) => void;
}

interface Note {
  id: number;
  body: string;
  system: boolean;
  author: { id: number; username: string; bot?: boolean };
  created_at: string;
  updated_at: string;
}

const DEVELOPER = 30;

export class GitLabApprovals implements ApprovalProvider {
  readonly #o: GitLabApprovalsOptions;
  readonly #announced = new Map<string, { noteId: number; body: string }>();
  readonly #seen = new Set<number>();
  #poller: Poller | undefined;
  #decide: ((id: string, approved: boolean, by: string, reason?: string) => void) | undefined;

  constructor(options: GitLabApprovalsOptions) {
    this.#o = options;
  }

  async #api(method: string, path: string, body?: Record<string, string>): Promise<Response> {
    const response = await fetch(`${this.#o.apiUrl.replace(/\/$/, '')}/projects/${encodeURIComponent(this.#o.projectId)}${path}`, {
      method,
      headers: { 'PRIVATE-TOKEN': this.#o.token, ...(body && { 'Content-Type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok && response.status !== 404) throw new Error(`GitLab answered ${method} ${path} with HTTP ${response.status}`);
    return response;
  }

  #notes(suffix = ''): string {
    return `/merge_requests/${this.#o.mergeRequestIid}/notes${suffix}`;
  }

  async announce(request: PendingApproval): Promise<void> {
    const body = requestMessage(request, { ...(this.#o.actor && { requester: this.#o.actor }), approvers: this.#o.approvers, timeoutMs: this.#o.timeoutMs });
    const note = (await (await this.#api('POST', this.#notes(), { body })).json()) as { id: number };
    this.#announced.set(request.id, { noteId: note.id, body });
    this.#seen.add(note.id);
  }

  start(decide: (id: string, approved: boolean, by: string, reason?: string) => void): void {
    this.#decide = decide;
    this.#poller = new Poller(() => this.#poll(), this.#o.pollMs ?? 5000, (e) => this.#o.warn(`reading approvals from GitLab failed: ${e.message}`));
    this.#poller.start();
  }

  stop(): void {
    this.#poller?.stop();
  }

  async settled(result: ApprovalResult): Promise<void> {
    const announced = this.#announced.get(result.id);
    if (!announced) return;
    await this.#api('PUT', this.#notes(`/${announced.noteId}`), { body: `${announced.body}\n\n${outcomeLine(result)}` });
    this.#announced.delete(result.id);
  }

  async #poll(): Promise<void> {
    if (this.#announced.size === 0) return;
    const notes = (await (await this.#api('GET', this.#notes('?sort=asc&order_by=created_at&per_page=100'))).json()) as Note[];
    for (const note of notes) {
      if (this.#seen.has(note.id)) continue;
      this.#seen.add(note.id);
      const command = parseCommand(note.body);
      if (!command || !this.#announced.has(command.id) || !(await this.#counts(note))) continue;
      this.#decide?.(command.id, command.approve, note.author.username, command.reason);
      await this.#api('POST', this.#notes(`/${note.id}/award_emoji`), { name: command.approve ? 'thumbsup' : 'thumbsdown' }).catch(() => undefined);
    }
  }

  async #counts(note: Note): Promise<boolean> {
    const username = note.author.username;
    if (note.system || note.author.bot || note.created_at !== note.updated_at) return false;
    if (!this.#o.allowSelfApproval && this.#o.actor && username.toLowerCase() === this.#o.actor.toLowerCase()) return false;
    if (!this.#o.approvers.some((a) => a.toLowerCase() === username.toLowerCase())) return false;
    const member = await this.#api('GET', `/members/all/${note.author.id}`);
    return member.ok && (((await member.json()) as { access_level?: number }).access_level ?? 0) >= DEVELOPER;
  }
}
