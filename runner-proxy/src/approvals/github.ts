import type { ApprovalProvider, ApprovalResult, PendingApproval } from '../core/approvals.js';
import { outcomeLine, parseCommand, requestMessage } from './commands.js';
import { Poller } from './poller.js';

/**
 * Approvals in a GitHub pull request. The gateway posts one comment per request and polls the
 * conversation; `/govern approve ID` and `/govern deny ID reason` count when they come from a listed
 * approver (a user, or a member of a listed @org/team) with write access, not from a bot, not from the
 * run's own actor (unless allowed), and not in an edited comment. It reacts to the comment it acted on
 * and edits its own comment to show the outcome. Without a pull request, it comments on the commit.
 */
export interface GitHubApprovalsOptions {
  token: string;
  /** owner/name */
  repository: string;
  apiUrl: string;
  sha: string;
  /** The event payload (GITHUB_EVENT_PATH), for the pull request's number. */
  event?: { pull_request?: { number: number }; issue?: { number: number; pull_request?: unknown } };
  actor?: string;
  approvers: readonly string[];
  allowSelfApproval: boolean;
  timeoutMs: number;
  pollMs?: number;
  warn: (message: string) => void;
}

type Thread = { kind: 'issue'; number: number } | { kind: 'commit' };

interface Comment {
  id: number;
  body: string;
  user: { login: string; type: string };
  created_at: string;
  updated_at: string;
}

const WRITE = new Set(['admin', 'maintain', 'write']);

export class GitHubApprovals implements ApprovalProvider {
  readonly #o: GitHubApprovalsOptions;
  #thread: Promise<Thread> | undefined;
  readonly #announced = new Map<string, { commentId: number; body: string }>();
  readonly #seen = new Set<number>();
  #etag: string | undefined;
  /** Comments older than the first request cannot answer it. */
  #since: string | undefined;
  /** When the rate limit is spent, polling waits for its reset. */
  #notBefore = 0;
  #poller: Poller | undefined;
  #decide: ((id: string, approved: boolean, by: string, reason?: string) => void) | undefined;

  constructor(options: GitHubApprovalsOptions) {
    this.#o = options;
  }

  async #api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(`${this.#o.apiUrl.replace(/\/$/, '')}${path}`, {
      method,
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${this.#o.token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'govern',
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
        ...headers,
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok && response.status !== 304 && response.status !== 404) {
      throw new Error(`GitHub answered ${method} ${path} with HTTP ${response.status}`);
    }
    return response;
  }

  #repo(path: string): string {
    return `/repos/${this.#o.repository}${path}`;
  }

  /** The pull request of the event, else the open pull request of the commit, else the commit itself. */
  #findThread(): Promise<Thread> {
    this.#thread ??= (async (): Promise<Thread> => {
      const event = this.#o.event;
      const number = event?.pull_request?.number ?? (event?.issue?.pull_request ? event.issue.number : undefined);
      if (number) return { kind: 'issue', number };
      const response = await this.#api('GET', this.#repo(`/commits/${this.#o.sha}/pulls`));
      const pulls = response.ok ? ((await response.json()) as { number: number; state: string }[]) : [];
      const open = pulls.find((p) => p.state === 'open');
      return open ? { kind: 'issue', number: open.number } : { kind: 'commit' };
    })();
    return this.#thread;
  }

  #commentsPath(thread: Thread): string {
    return thread.kind === 'issue' ? this.#repo(`/issues/${thread.number}/comments`) : this.#repo(`/commits/${this.#o.sha}/comments`);
  }

  async announce(request: PendingApproval): Promise<void> {
    const thread = await this.#findThread();
    const body = requestMessage(request, { ...(this.#o.actor && { requester: this.#o.actor }), approvers: this.#o.approvers, timeoutMs: this.#o.timeoutMs });
    const response = await this.#api('POST', this.#commentsPath(thread), { body });
    const comment = (await response.json()) as { id: number };
    this.#announced.set(request.id, { commentId: comment.id, body });
    this.#seen.add(comment.id);
    this.#since ??= request.requested_at;
  }

  start(decide: (id: string, approved: boolean, by: string, reason?: string) => void): void {
    this.#decide = decide;
    this.#poller = new Poller(() => this.#poll(), this.#o.pollMs ?? 5000, (e) => this.#o.warn(`reading approvals from GitHub failed: ${e.message}`));
    this.#poller.start();
  }

  stop(): void {
    this.#poller?.stop();
  }

  async settled(result: ApprovalResult): Promise<void> {
    const announced = this.#announced.get(result.id);
    if (!announced) return;
    const thread = await this.#findThread();
    const path = thread.kind === 'issue' ? this.#repo(`/issues/comments/${announced.commentId}`) : this.#repo(`/comments/${announced.commentId}`);
    await this.#api('PATCH', path, { body: `${announced.body}\n\n${outcomeLine(result)}` });
    this.#announced.delete(result.id);
  }

  async #poll(): Promise<void> {
    if (this.#announced.size === 0 || Date.now() < this.#notBefore) return;
    const thread = await this.#findThread();
    const since = this.#since ? `&since=${encodeURIComponent(this.#since)}` : '';
    const response = await this.#api('GET', `${this.#commentsPath(thread)}?per_page=100${since}`, undefined, this.#etag ? { 'If-None-Match': this.#etag } : {});
    if (response.headers.get('x-ratelimit-remaining') === '0') this.#notBefore = Number(response.headers.get('x-ratelimit-reset') ?? 0) * 1000;
    if (response.status === 304) return;
    this.#etag = response.headers.get('etag') ?? undefined;
    for (const comment of (await response.json()) as Comment[]) {
      if (this.#seen.has(comment.id)) continue;
      this.#seen.add(comment.id);
      const command = parseCommand(comment.body);
      if (!command || !this.#announced.has(command.id)) continue;
      if (await this.#counts(comment, thread)) {
        this.#decide?.(command.id, command.approve, comment.user.login, command.reason);
        await this.#react(comment, thread, command.approve ? '+1' : '-1');
      }
    }
  }

  /** Whether a comment may decide: not a bot, not edited, a listed approver with write access, not the actor. */
  async #counts(comment: Comment, thread: Thread): Promise<boolean> {
    const login = comment.user.login;
    if (comment.user.type === 'Bot' || comment.created_at !== comment.updated_at) return false;
    if (!this.#o.allowSelfApproval && this.#o.actor && login.toLowerCase() === this.#o.actor.toLowerCase()) {
      await this.#react(comment, thread, 'confused');
      return false;
    }
    if (!(await this.#isApprover(login))) return false;
    const permission = await this.#api('GET', this.#repo(`/collaborators/${encodeURIComponent(login)}/permission`));
    if (!permission.ok) return false;
    return WRITE.has(((await permission.json()) as { permission?: string }).permission ?? '');
  }

  async #isApprover(login: string): Promise<boolean> {
    for (const approver of this.#o.approvers) {
      if (!approver.startsWith('@') && approver.toLowerCase() === login.toLowerCase()) return true;
      const team = /^@([^/]+)\/(.+)$/.exec(approver);
      if (team) {
        const membership = await this.#api('GET', `/orgs/${team[1]}/teams/${team[2]}/memberships/${encodeURIComponent(login)}`);
        if (membership.ok && ((await membership.json()) as { state?: string }).state === 'active') return true;
      }
    }
    return false;
  }

  async #react(comment: Comment, thread: Thread, content: string): Promise<void> {
    const path = thread.kind === 'issue' ? this.#repo(`/issues/comments/${comment.id}/reactions`) : this.#repo(`/comments/${comment.id}/reactions`);
    await this.#api('POST', path, { content }).catch(() => undefined);
  }
}
