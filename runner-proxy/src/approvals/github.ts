import { ThreadApprovals, type ForgeApprovalOptions, type ThreadComment } from './thread.js';

/**
 * Approvals in a GitHub pull request. The gateway posts one comment per request and polls the
 * conversation (with `since` and `If-None-Match`, and waits when the rate limit is spent);
 * `/govern approve ID` and `/govern deny ID reason` count when they come from a listed approver (a user,
 * or a member of a listed @org/team) with write access, not from a bot, not from the run's own actor
 * (unless allowed), and not in an edited comment. It reacts to the comment it acted on and edits its own
 * comment to show the outcome. Without a pull request, it comments on the commit.
 */
export interface GitHubApprovalsOptions extends ForgeApprovalOptions {
  token: string;
  /** owner/name */
  repository: string;
  apiUrl: string;
  sha: string;
  /** The event payload (GITHUB_EVENT_PATH), for the pull request's number. */
  event?: { pull_request?: { number: number }; issue?: { number: number; pull_request?: unknown } };
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

export class GitHubApprovals extends ThreadApprovals<Comment> {
  readonly #o: GitHubApprovalsOptions;
  #thread: Promise<Thread> | undefined;
  #etag: string | undefined;
  /** When the rate limit is spent, polling waits for its reset. */
  #notBefore = 0;

  constructor(options: GitHubApprovalsOptions) {
    super({ ...options, forge: 'GitHub' });
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
    if (response.headers.get('x-ratelimit-remaining') === '0') this.#notBefore = Number(response.headers.get('x-ratelimit-reset') ?? 0) * 1000;
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

  async #commentPath(suffix: string): Promise<string> {
    const thread = await this.#findThread();
    return thread.kind === 'issue' ? this.#repo(`/issues${suffix}`) : this.#repo(suffix);
  }

  async #threadComments(): Promise<string> {
    const thread = await this.#findThread();
    return thread.kind === 'issue' ? this.#repo(`/issues/${thread.number}/comments`) : this.#repo(`/commits/${this.#o.sha}/comments`);
  }

  protected async post(body: string): Promise<number> {
    return ((await (await this.#api('POST', await this.#threadComments(), { body })).json()) as { id: number }).id;
  }

  protected async edit(commentId: number, body: string): Promise<void> {
    await this.#api('PATCH', await this.#commentPath(`/comments/${commentId}`), { body });
  }

  protected async comments(): Promise<ThreadComment<Comment>[] | undefined> {
    if (Date.now() < this.#notBefore) return undefined;
    const since = this.since ? `&since=${encodeURIComponent(this.since)}` : '';
    const response = await this.#api('GET', `${await this.#threadComments()}?per_page=100${since}`, undefined, this.#etag ? { 'If-None-Match': this.#etag } : {});
    if (response.status === 304) return undefined;
    this.#etag = response.headers.get('etag') ?? undefined;
    return ((await response.json()) as Comment[]).map((c) => ({ id: c.id, body: c.body, author: c.user.login, raw: c }));
  }

  protected async counts(comment: ThreadComment<Comment>): Promise<boolean> {
    const { raw, author } = comment;
    if (raw.user.type === 'Bot' || raw.created_at !== raw.updated_at) return false;
    if (!this.#o.allowSelfApproval && this.isActor(author)) {
      await this.#reactWith(comment, 'confused');
      return false;
    }
    if (!(await this.#isApprover(author))) return false;
    const permission = await this.#api('GET', this.#repo(`/collaborators/${encodeURIComponent(author)}/permission`));
    return permission.ok && WRITE.has(((await permission.json()) as { permission?: string }).permission ?? '');
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

  protected react(comment: ThreadComment<Comment>, approve: boolean): Promise<void> {
    return this.#reactWith(comment, approve ? '+1' : '-1');
  }

  async #reactWith(comment: ThreadComment<Comment>, content: string): Promise<void> {
    await this.#api('POST', await this.#commentPath(`/comments/${comment.id}/reactions`), { content }).catch(() => undefined);
  }
}
