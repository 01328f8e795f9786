import { existsSync, readFileSync } from 'node:fs';
import type { Env } from '../base/env.js';
import type { ApprovalProvider } from '../core/approvals.js';
import type { Principal } from '../identity/principal.js';
import type { ApprovalsSpec } from '../policy/types.js';
import { GitHubApprovals } from './github.js';
import { GitLabApprovals } from './gitlab.js';

/**
 * The provider the policy's `approvals.via` asks for, configured from the CI's own variables. When
 * they are missing the gateway says so and approvals go through `govern approve` only.
 */
export function approvalProvider(spec: ApprovalsSpec, principal: Principal, env: Env, warn: (message: string) => void): ApprovalProvider | undefined {
  const pollMs = env.GOVERN_APPROVAL_POLL_MS ? Number(env.GOVERN_APPROVAL_POLL_MS) : undefined;
  const common = { approvers: spec.approvers, allowSelfApproval: spec.allowSelfApproval, timeoutMs: spec.timeoutMs, warn, ...(pollMs && { pollMs }) };
  const claim = (name: string) => (typeof principal.claims[name] === 'string' ? (principal.claims[name] as string) : undefined);
  if (spec.via === 'github') {
    const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
    if (!token || !env.GITHUB_REPOSITORY || !env.GITHUB_SHA) {
      warn('approvals via github need GOVERN_GITHUB_TOKEN (the action passes its github-token input), GITHUB_REPOSITORY and GITHUB_SHA; answer with govern approve instead');
      return undefined;
    }
    const eventPath = env.GITHUB_EVENT_PATH;
    const actor = claim('actor') ?? env.GITHUB_ACTOR;
    return new GitHubApprovals({
      ...common,
      token,
      repository: env.GITHUB_REPOSITORY,
      apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
      sha: env.GITHUB_SHA,
      ...(eventPath && existsSync(eventPath) && { event: JSON.parse(readFileSync(eventPath, 'utf8')) }),
      ...(actor && { actor }),
    });
  }
  if (spec.via === 'gitlab') {
    const iid = env.CI_MERGE_REQUEST_IID ?? /!(\d+)/.exec(env.CI_OPEN_MERGE_REQUESTS ?? '')?.[1];
    if (!env.GOVERN_GITLAB_TOKEN || !env.CI_API_V4_URL || !env.CI_PROJECT_ID || !iid) {
      warn('approvals via gitlab need GOVERN_GITLAB_TOKEN (a project access token with api scope) and a merge request; answer with govern approve instead');
      return undefined;
    }
    const actor = claim('user_login') ?? env.GITLAB_USER_LOGIN;
    return new GitLabApprovals({ ...common, token: env.GOVERN_GITLAB_TOKEN, apiUrl: env.CI_API_V4_URL, projectId: env.CI_PROJECT_ID, mergeRequestIid: iid, ...(actor && { actor }) });
  }
  return undefined;
}
