import { randomUUID } from 'node:crypto';
import type { getOctokit } from '@actions/github';
import { ThreadApprovals, type ForgeApprovalOptions, type ThreadComment } from './thread.js';

/**
 * Approvals in a GitHub pull request, through @actions/github's Octokit with the retry and throttling
 * plugins. The gateway posts one comment per request and polls the conversation (every page, with
 * `since` and `If-None-Match`; secondary rate limits are waited out as GitHub asks);
 * `/govern approve ID` and `/govern deny ID reason` count when they come from a listed approver (a user,
 * or a member of a listed @org/team) with write access, not from a bot, not from the run's own actor
 * (unless allowed), and not in an edited comment. It reacts to the comment it acted on and edits its own
 * comment to show the outcome. Without a pull request, it comments on the commit.
 */
export interface GitHubApprovalsOptions extends ForgeApprovalOptions {
  token: string;
  /** owner/name */
  repository: string;
  /** GITHUB_API_URL: api.github.com, or a GitHub Enterprise Server's /api/v3. */
  apiUrl: string;
  sha: string;
  /** The event payload (GITHUB_EVENT_PATH), for the pull request's number. */
  event?: { pull_request?: { number: number }; issue?: { number: number; pull_request?: unknown } };
}

type Thread = { kind: 'issue'; number: number } | { kind: 'commit' };
type Octokit = ReturnType<typeof getOctokit>;

interface Comment {
  id: number;
  body?: string;
  user: { login: string; type: string } | null;
  created_at: string;
  updated_at: string;
}

const WRITE = new Set(['admin', 'maintain', 'write']);
const REQUEST_TIMEOUT_MS = 15_000;
const WRITE_RETRIES = 2;
/** How often one request is retried after a secondary rate limit before the poll gives up until the next one. */
const SECONDARY_LIMIT_RETRIES = 2;
/** A spent primary limit is waited out only when it resets soon; otherwise polling pauses until the reset. */
const MAX_RATE_LIMIT_WAIT_S = 60;

export class GitHubApprovals extends ThreadApprovals<Comment> {
  readonly #o: GitHubApprovalsOptions;
  readonly #owner: string;
  readonly #repo: string;
  #octokit: Promise<Octokit> | undefined;
  #thread: Promise<Thread> | undefined;
  #etag: string | undefined;
  /** Aborts the poll in flight when polling stops; the outcome edits that follow still go out. */
  readonly #polling = new AbortController();
  /** When the rate limit is spent, polling waits for its reset. */
  #notBefore = 0;

  constructor(options: GitHubApprovalsOptions) {
    super({ ...options, forge: 'GitHub' });
    this.#o = options;
    [this.#owner, this.#repo] = options.repository.split('/') as [string, string];
  }

  /** Loaded on first use: @actions/github reads the event payload when imported, which a gateway without GitHub approvals never needs. */
  #client(): Promise<Octokit> {
    this.#octokit ??= (async () => {
      const [{ getOctokit }, { retry }, { throttling }] = await Promise.all([
        import('@actions/github'),
        import('@octokit/plugin-retry'),
        import('@octokit/plugin-throttling'),
      ]);
      const warn = this.#o.warn;
      const octokit = getOctokit(
        this.#o.token,
        {
          baseUrl: this.#o.apiUrl.replace(/\/$/, ''),
          userAgent: 'govern',
          throttle: {
            // The plugin spaces writes (1 s) and comments (3 s) as GitHub asks, per id: one queue per gateway.
            id: `govern-${randomUUID()}`,
            onSecondaryRateLimit: (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
              warn(`GitHub's secondary rate limit on ${options.method} ${options.url}; retrying in ${retryAfter} s`);
              return retryCount < SECONDARY_LIMIT_RETRIES;
            },
            onRateLimit: (retryAfter: number) => {
              this.#notBefore = Date.now() + retryAfter * 1000;
              return retryAfter <= MAX_RATE_LIMIT_WAIT_S;
            },
          },
          // Writes that fail with a 5xx or a network error are tried twice more (after 1 s and 4 s): a stopping gateway waits for no more.
          retry: { retries: WRITE_RETRIES },
          log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
        },
        retry,
        throttling,
      );
      // One slow answer must not hold the gateway forever.
      octokit.hook.wrap('request', (request, options) =>
        request({ ...options, request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...options.request } }),
      );
      return octokit;
    })();
    return this.#octokit;
  }

  /** The pull request of the event, else the open pull request of the commit, else the commit itself. */
  #findThread(): Promise<Thread> {
    this.#thread ??= (async (): Promise<Thread> => {
      const event = this.#o.event;
      const number = event?.pull_request?.number ?? (event?.issue?.pull_request ? event.issue.number : undefined);
      if (number) return { kind: 'issue', number };
      const octokit = await this.#client();
      const pulls = await found(octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner: this.#owner, repo: this.#repo, commit_sha: this.#o.sha }));
      const open = pulls?.data.find((p) => p.state === 'open');
      return open ? { kind: 'issue', number: open.number } : { kind: 'commit' };
    })();
    return this.#thread;
  }

  protected async post(body: string): Promise<number> {
    const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
    const repo = { owner: this.#owner, repo: this.#repo, body };
    const { data } =
      thread.kind === 'issue'
        ? await octokit.rest.issues.createComment({ ...repo, issue_number: thread.number })
        : await octokit.rest.repos.createCommitComment({ ...repo, commit_sha: this.#o.sha });
    return data.id;
  }

  protected async edit(commentId: number, body: string): Promise<void> {
    const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
    const repo = { owner: this.#owner, repo: this.#repo, comment_id: commentId, body };
    await (thread.kind === 'issue' ? octokit.rest.issues.updateComment(repo) : octokit.rest.repos.updateCommitComment(repo));
  }

  protected async comments(): Promise<ThreadComment<Comment>[] | undefined> {
    if (Date.now() < this.#notBefore) return undefined;
    const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
    const route =
      thread.kind === 'issue'
        ? `GET /repos/{owner}/{repo}/issues/${thread.number}/comments`
        : `GET /repos/{owner}/{repo}/commits/${this.#o.sha}/comments`;
    const list: Comment[] = [];
    try {
      let pages = 0;
      let etag: string | undefined;
      for await (const page of octokit.paginate.iterator(route, {
        owner: this.#owner,
        repo: this.#repo,
        per_page: 100,
        ...(this.since && { since: this.since }),
        ...(this.#etag && { headers: { 'if-none-match': this.#etag } }),
        // The next poll is the retry; a stopped gateway waits for none.
        request: { retries: 0, signal: AbortSignal.any([this.#polling.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) },
      })) {
        if (pages++ === 0) etag = page.headers.etag;
        list.push(...(page.data as Comment[]));
      }
      // The first page's ETag says whether anything changed only while there is one page: new comments land on the last.
      this.#etag = pages === 1 ? etag : undefined;
    } catch (e) {
      if ((e as { status?: number }).status === 304) return undefined;
      throw e;
    }
    return list.map((c) => ({ id: c.id, body: c.body ?? '', author: c.user?.login ?? '', raw: c }));
  }

  override stop(): void {
    super.stop();
    this.#polling.abort();
  }

  protected async counts(comment: ThreadComment<Comment>): Promise<boolean> {
    const { raw, author } = comment;
    if (!raw.user || raw.user.type === 'Bot' || raw.created_at !== raw.updated_at) return false;
    if (!this.#o.allowSelfApproval && this.isActor(author)) {
      await this.#reactWith(comment, 'confused');
      return false;
    }
    if (!(await this.#isApprover(author))) return false;
    const octokit = await this.#client();
    const permission = await found(octokit.rest.repos.getCollaboratorPermissionLevel({ owner: this.#owner, repo: this.#repo, username: author }));
    return WRITE.has(permission?.data.permission ?? '');
  }

  async #isApprover(login: string): Promise<boolean> {
    for (const approver of this.#o.approvers) {
      if (!approver.startsWith('@') && approver.toLowerCase() === login.toLowerCase()) return true;
      const team = /^@([^/]+)\/(.+)$/.exec(approver);
      if (team) {
        const octokit = await this.#client();
        const membership = await found(octokit.rest.teams.getMembershipForUserInOrg({ org: team[1]!, team_slug: team[2]!, username: login }));
        if (membership?.data.state === 'active') return true;
      }
    }
    return false;
  }

  protected react(comment: ThreadComment<Comment>, approve: boolean): Promise<void> {
    return this.#reactWith(comment, approve ? '+1' : '-1');
  }

  async #reactWith(comment: ThreadComment<Comment>, content: '+1' | '-1' | 'confused'): Promise<void> {
    const [octokit, thread] = await Promise.all([this.#client(), this.#findThread()]);
    const target = { owner: this.#owner, repo: this.#repo, comment_id: comment.id, content };
    await (thread.kind === 'issue' ? octokit.rest.reactions.createForIssueComment(target) : octokit.rest.reactions.createForCommitComment(target)).catch(() => undefined);
  }
}

/** A response, or undefined when GitHub answers 404 (no such pull request, collaborator or team member). */
async function found<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (e) {
    if ((e as { status?: number }).status === 404) return undefined;
    throw e;
  }
}
