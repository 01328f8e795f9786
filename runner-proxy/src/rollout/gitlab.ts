import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { ErrorCode, GovernError } from '../base/errors.js';
import { EVENTS_FILE, MANIFEST_FILE } from '../recording/recorder.js';
import { COMMENT_MARKER } from './test-report.js';

/** A GitLab project's API, as a CI job sees it (CI_API_V4_URL, CI_PROJECT_ID) with a project access token. */
export interface GitLabProject {
  apiUrl: string;
  projectId: string;
  token: string;
}

export interface GitLabPipelinesOptions extends GitLabProject {
  /** The default branch (CI_DEFAULT_BRANCH). */
  branch: string;
  /** How many of the branch's latest pipelines with session bundles to read. */
  pipelines: number;
  /** Where the template keeps the bundle inside a job's artifacts. */
  artifactPath: string;
  into: string;
  log: (line: string) => void;
}

const PIPELINES_PER_PAGE = 50;

async function call(project: GitLabProject, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const response = await fetch(`${project.apiUrl.replace(/\/$/, '')}/projects/${encodeURIComponent(project.projectId)}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'PRIVATE-TOKEN': project.token, ...(init.body !== undefined && { 'Content-Type': 'application/json' }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  if (!response.ok && response.status !== 404) throw new GovernError(ErrorCode.Usage, `GitLab answered ${init.method ?? 'GET'} ${path} with ${response.status}: check GOVERN_GITLAB_TOKEN (a project access token with read_api and api scope)`);
  return response;
}

const json = async <T>(project: GitLabProject, path: string): Promise<T> => (await (await call(project, path)).json()) as T;

/**
 * Downloads the session bundles of the default branch's latest successful pipelines: for each job with
 * artifacts, its bundle's manifest and then every file the manifest lists, one file at a time through
 * the job artifacts API. Nothing is trusted yet: `govern policy test` verifies every bundle.
 */
export async function downloadPipelineSessions(o: GitLabPipelinesOptions): Promise<string[]> {
  const pipelines = await json<{ id: number }[]>(o, `/pipelines?ref=${encodeURIComponent(o.branch)}&status=success&per_page=${PIPELINES_PER_PAGE}`);
  const dirs: string[] = [];
  let withSessions = 0;
  for (const pipeline of pipelines) {
    if (withSessions >= o.pipelines) break;
    const jobs = await json<{ id: number; name: string; artifacts?: { file_type: string }[] }[]>(o, `/pipelines/${pipeline.id}/jobs?per_page=100`);
    let found = false;
    for (const job of jobs.filter((j) => j.artifacts?.some((a) => a.file_type === 'archive'))) {
      const dir = join(o.into, `pipeline-${pipeline.id}`, `job-${job.id}`);
      if (await downloadBundle(o, job.id, dir)) {
        dirs.push(dir);
        found = true;
      }
    }
    if (found) withSessions++;
  }
  o.log(`govern: ${dirs.length} session bundle${dirs.length === 1 ? '' : 's'} in the last ${withSessions} pipeline${withSessions === 1 ? '' : 's'} of ${o.branch}`);
  if (dirs.length === 0) throw new GovernError(ErrorCode.Usage, `no pipeline of ${o.branch} has a session bundle in ${o.artifactPath}/: run the pipeline under govern there first`);
  return dirs;
}

/** One job's bundle; false when the job's artifacts hold none. */
async function downloadBundle(o: GitLabPipelinesOptions, jobId: number, dir: string): Promise<boolean> {
  const file = async (name: string) => call(o, `/jobs/${jobId}/artifacts/${[...o.artifactPath.split('/'), ...name.split('/')].map(encodeURIComponent).join('/')}`);
  const manifest = await file(MANIFEST_FILE);
  if (manifest.status === 404) return false;
  const manifestText = await manifest.text();
  let listed: string[] = [];
  try {
    listed = Object.keys((JSON.parse(manifestText) as { files?: Record<string, string> }).files ?? {});
  } catch {
    // A manifest that is not JSON is kept as it is: verification names it.
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MANIFEST_FILE), manifestText);
  for (const name of new Set([EVENTS_FILE, ...listed])) {
    const path = normalize(join(dir, name));
    // A manifest names files inside its bundle; one that points elsewhere is not followed.
    if (!path.startsWith(dir + sep)) continue;
    const response = await file(name);
    if (response.status === 404) continue;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.from(await response.arrayBuffer()));
  }
  return true;
}

/** Posts the report as the merge request's one govern note, edited in place on every later run. */
export async function postStickyNote(project: GitLabProject, mergeRequestIid: string, body: string): Promise<{ id: number; updated: boolean }> {
  const path = `/merge_requests/${encodeURIComponent(mergeRequestIid)}/notes`;
  const notes = await json<{ id: number; body: string; system?: boolean }[]>(project, `${path}?per_page=100&sort=asc`);
  const mine = notes.find((n) => !n.system && n.body.includes(COMMENT_MARKER));
  if (mine) {
    await call(project, `${path}/${mine.id}`, { method: 'PUT', body: { body } });
    return { id: mine.id, updated: true };
  }
  const created = (await (await call(project, path, { method: 'POST', body: { body } })).json()) as { id: number };
  return { id: created.id, updated: false };
}
