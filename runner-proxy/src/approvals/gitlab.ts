import { ThreadApprovals, type ForgeApprovalOptions, type ThreadComment } from './thread.js';

/**
 * Approvals in a GitLab merge request, through its notes: the same commands and rules as on GitHub.
 * Approvers are usernames with Developer access or more. It needs a project access token with the
 * api scope (GOVERN_GITLAB_TOKEN): the job token cannot write merge request notes.
 */
export interface GitLabApprovalsOptions extends ForgeApprovalOptions {
  token: string;
  /** CI_API_V4_URL */
  apiUrl: string;
  projectId: string;
  mergeRequestIid: string;
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

export class GitLabApprovals extends ThreadApprovals<Note> {
  readonly #o: GitLabApprovalsOptions;

  constructor(options: GitLabApprovalsOptions) {
    super({ ...options, forge: 'GitLab' });
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

  protected async post(body: string): Promise<number> {
    return ((await (await this.#api('POST', this.#notes(), { body })).json()) as { id: number }).id;
  }

  protected async edit(noteId: number, body: string): Promise<void> {
    await this.#api('PUT', this.#notes(`/${noteId}`), { body });
  }

  protected async comments(): Promise<ThreadComment<Note>[]> {
    const notes = (await (await this.#api('GET', this.#notes('?sort=asc&order_by=created_at&per_page=100'))).json()) as Note[];
    return notes.map((n) => ({ id: n.id, body: n.body, author: n.author.username, raw: n }));
  }

  protected async counts({ raw, author }: ThreadComment<Note>): Promise<boolean> {
    if (raw.system || raw.author.bot || raw.created_at !== raw.updated_at) return false;
    if (!this.#o.allowSelfApproval && this.isActor(author)) return false;
    if (!this.#o.approvers.some((a) => a.toLowerCase() === author.toLowerCase())) return false;
    const member = await this.#api('GET', `/members/all/${raw.author.id}`);
    return member.ok && (((await member.json()) as { access_level?: number }).access_level ?? 0) >= DEVELOPER;
  }

  protected async react(comment: ThreadComment<Note>, approve: boolean): Promise<void> {
    await this.#api('POST', this.#notes(`/${comment.id}/award_emoji`), { name: approve ? 'thumbsup' : 'thumbsdown' });
  }
}
