import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { getOctokit } from '@actions/github';
import { ErrorCode, GovernError } from '../base/errors.js';
import { COMMENT_MARKER } from './test-report.js';

type Octokit = ReturnType<typeof getOctokit>;

/** Where the session bundles of a repository's runs are, and who may read them. */
export interface GitHubRunsOptions {
  token: string;
  /** owner/name */
  repository: string;
  /** GITHUB_API_URL */
  apiUrl: string;
  /** How many of the default branch's latest runs with session artifacts to read. */
  runs: number;
  /** Artifacts whose name starts with this are session bundles (the action names them govern-session-JOB-ATTEMPT). */
  artifactPrefix: string;
  /** The bundles are downloaded below this directory, one folder per artifact. */
  into: string;
  log: (line: string) => void;
}

/** The runs looked at per page of the workflow runs list; runs without a session artifact are passed over. */
const RUNS_PER_PAGE = 50;
/** Pages of runs read at most while looking for runs with session artifacts. */
const MAX_PAGES = 4;

async function octokit(token: string, apiUrl: string): Promise<Octokit> {
  const { getOctokit } = await import('@actions/github');
  return getOctokit(token, { baseUrl: apiUrl.replace(/\/$/, '') });
}

function ownerAndName(repository: string): { owner: string; repo: string } {
  const [owner, repo, extra] = repository.split('/');
  if (!owner || !repo || extra !== undefined) throw new GovernError(ErrorCode.Usage, `GITHUB_REPOSITORY must be owner/name, not "${repository}"`);
  return { owner, repo };
}

/**
 * Downloads the session artifacts of the default branch's latest completed runs (GitHub REST through
 * Octokit to find them, @actions/artifact to fetch and unpack each one) and returns their directories.
 * Nothing is trusted yet: `govern policy test` verifies every bundle before it reads it.
 */
export async function downloadSessionArtifacts(o: GitHubRunsOptions): Promise<string[]> {
  const api = await octokit(o.token, o.apiUrl);
  const { owner, repo } = ownerAndName(o.repository);
  const { data: repository } = await api.rest.repos.get({ owner, repo });
  const branch = repository.default_branch;
  const found: { runId: number; id: number; name: string }[] = [];
  let runsWithSessions = 0;
  for (let page = 1; page <= MAX_PAGES && runsWithSessions < o.runs; page++) {
    const { data } = await api.rest.actions.listWorkflowRunsForRepo({ owner, repo, branch, status: 'completed', per_page: RUNS_PER_PAGE, page });
    for (const run of data.workflow_runs) {
      if (runsWithSessions >= o.runs) break;
      const { data: list } = await api.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: run.id, per_page: 100 });
      const sessions = list.artifacts.filter((a) => a.name.startsWith(o.artifactPrefix) && !a.expired);
      if (sessions.length === 0) continue;
      runsWithSessions++;
      for (const a of sessions) found.push({ runId: run.id, id: a.id, name: a.name });
    }
    if (data.workflow_runs.length < RUNS_PER_PAGE) break;
  }
  o.log(`govern: ${found.length} session artifact${found.length === 1 ? '' : 's'} in the last ${runsWithSessions} run${runsWithSessions === 1 ? '' : 's'} of ${branch}`);
  if (found.length === 0) throw new GovernError(ErrorCode.Usage, `no run of ${o.repository}'s ${branch} branch has a session artifact (${o.artifactPrefix}*): run the pipeline under govern there first`);
  const { DefaultArtifactClient } = await import('@actions/artifact');
  const client = new DefaultArtifactClient();
  const dirs: string[] = [];
  for (const a of found) {
    const path = join(o.into, `run-${a.runId}`, a.name.replace(/[^A-Za-z0-9._-]/g, '_'));
    mkdirSync(path, { recursive: true });
    await client.downloadArtifact(a.id, { path, findBy: { token: o.token, workflowRunId: a.runId, repositoryOwner: owner, repositoryName: repo } });
    dirs.push(path);
  }
  return dirs;
}

/** The pull request the workflow runs for, from its event payload (GITHUB_EVENT_PATH). */
export function pullRequestNumber(event: { pull_request?: { number?: number } } | undefined): number | undefined {
  return event?.pull_request?.number;
}

/**
 * Posts the report as the pull request's one govern comment: the comment that carries the marker is
 * edited in place, so every push to the pull request updates the same comment.
 */
export async function postStickyComment(o: { token: string; apiUrl: string; repository: string; pullRequest: number; body: string }): Promise<{ id: number; updated: boolean }> {
  const api = await octokit(o.token, o.apiUrl);
  const { owner, repo } = ownerAndName(o.repository);
  const comments = await api.paginate(api.rest.issues.listComments, { owner, repo, issue_number: o.pullRequest, per_page: 100 });
  const mine = comments.find((c) => c.body?.includes(COMMENT_MARKER) && c.user?.type === 'Bot');
  if (mine) {
    await api.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: o.body });
    return { id: mine.id, updated: true };
  }
  const { data } = await api.rest.issues.createComment({ owner, repo, issue_number: o.pullRequest, body: o.body });
  return { id: data.id, updated: false };
}

/** Appends the report to the job summary (GITHUB_STEP_SUMMARY), when the job has one. */
export function appendJobSummary(file: string | undefined, markdown: string): void {
  if (file) appendFileSync(file, `${markdown}\n`);
}
