import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlParser } from '../adapters/postgres/parser.js';
import { loadPolicy, parsePolicy } from '../policy/load.js';
import { appendJobSummary, downloadSessionArtifacts, postStickyComment, pullRequestNumber } from '../rollout/github.js';
import { downloadPipelineSessions, postStickyNote } from '../rollout/gitlab.js';
import { testPolicy } from '../rollout/policy-test.js';
import { loadSessions, type SkippedBundle } from '../rollout/sessions.js';
import { suggestPolicy } from '../rollout/suggest.js';
import { failure, formatResult, parseReportFormat, parseTestFailOn } from '../rollout/test-report.js';
import { usage, type CommandContext } from './context.js';
import { builtInProtocols } from '../adapters/index.js';

function warnSkipped(ctx: CommandContext, skipped: readonly SkippedBundle[]): void {
  for (const s of skipped) ctx.io.stderr.write(`govern policy: skipped ${s.dir}, it does not verify: ${s.problem}\n`);
}

/** govern policy suggest DIR… [--out FILE]: a least-privilege policy from verified bundles. */
export async function policySuggestCommand(ctx: CommandContext): Promise<number> {
  const dirs = ctx.positionals.slice(1);
  if (dirs.length === 0) throw usage('use govern policy suggest DIR… [--out FILE]');
  const { sessions, skipped } = loadSessions(dirs);
  warnSkipped(ctx, skipped);
  const suggestion = suggestPolicy(sessions);
  // What is suggested must be a policy govern accepts; a problem here is govern's own.
  parsePolicy(String(ctx.values.out ?? 'suggested.yml'), Buffer.from(suggestion), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
  if (typeof ctx.values.out === 'string') {
    writeFileSync(ctx.values.out, suggestion);
    ctx.io.stderr.write(`govern policy suggest: wrote ${ctx.values.out} from ${sessions.length} session${sessions.length === 1 ? '' : 's'}\n`);
  } else {
    ctx.io.stdout.write(suggestion);
  }
  return 0;
}

/** govern policy test POLICY [DIR…] [--runs N] [--comment] [--format text|markdown|json] [--fail-on …] [--out FILE]. */
export async function policyTestCommand(ctx: CommandContext): Promise<number> {
  const [, file, ...dirs] = ctx.positionals;
  const runs = ctx.values.runs === undefined ? undefined : Number(ctx.values.runs);
  if (!file || (dirs.length === 0 && runs === undefined)) throw usage('use govern policy test POLICY DIR… [--format text|markdown|json] [--fail-on LIST|never], or POLICY --runs N [--comment] in a pipeline');
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0 && runs <= 100)) throw usage('--runs takes a number of runs from 1 to 100');
  const format = parseReportFormat(ctx.values.format);
  const failOn = parseTestFailOn(ctx.values['fail-on']);
  const policy = loadPolicy(file, { env: ctx.env, resolveVariables: false, protocols: builtInProtocols() });
  const forge = runs !== undefined || ctx.values.comment ? forgeOf(ctx) : undefined;
  if (forge && runs !== undefined) {
    const into = mkdtempSync(join(ctx.env.RUNNER_TEMP ?? ctx.env.CI_BUILDS_DIR ?? tmpdir(), 'govern-sessions-'));
    dirs.push(...(await forge.download(runs, into)));
  }
  const { sessions, skipped } = loadSessions(dirs);
  warnSkipped(ctx, skipped);
  const result = testPolicy(policy, sessions, skipped, await SqlParser.load());
  const report = formatResult(result, format, failOn);
  if (typeof ctx.values.out === 'string') writeFileSync(ctx.values.out, report);
  ctx.io.stdout.write(report);
  if (forge) {
    const markdown = formatResult(result, 'markdown', failOn);
    appendJobSummary(ctx.env.GITHUB_STEP_SUMMARY, markdown);
    if (ctx.values.comment) ctx.io.stderr.write(`govern policy test: ${await forge.comment(markdown)}\n`);
  }
  return failure(result, failOn) ? 1 : 0;
}

/** Where the runs' bundles come from and the report goes: the pipeline's own forge, from its environment. */
interface Forge {
  download(runs: number, into: string): Promise<string[]>;
  /** Posts or updates the one comment; says which. */
  comment(markdown: string): Promise<string>;
}

function forgeOf(ctx: CommandContext): Forge {
  const { env } = ctx;
  const log = (line: string) => ctx.io.stderr.write(`${line}\n`);
  if (env.GITLAB_CI || env.CI_API_V4_URL) {
    if (!env.GOVERN_GITLAB_TOKEN || !env.CI_API_V4_URL || !env.CI_PROJECT_ID || !env.CI_DEFAULT_BRANCH) {
      throw usage('--runs and --comment in GitLab need GOVERN_GITLAB_TOKEN (a project access token with api scope), CI_API_V4_URL, CI_PROJECT_ID and CI_DEFAULT_BRANCH');
    }
    const project = { apiUrl: env.CI_API_V4_URL, projectId: env.CI_PROJECT_ID, token: env.GOVERN_GITLAB_TOKEN };
    const artifactPath = String(ctx.values['artifact-path'] ?? '.govern-session');
    return {
      download: (pipelines, into) => downloadPipelineSessions({ ...project, branch: env.CI_DEFAULT_BRANCH!, pipelines, artifactPath, into, log }),
      comment: async (markdown) => {
        const iid = env.CI_MERGE_REQUEST_IID;
        if (!iid) return 'not a merge request pipeline, so no note is posted';
        const posted = await postStickyNote(project, iid, markdown);
        return `${posted.updated ? 'updated' : 'posted'} the note on merge request !${iid} (note ${posted.id})`;
      },
    };
  }
  const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
  if (!token || !env.GITHUB_REPOSITORY) throw usage('--runs and --comment need GITHUB_REPOSITORY and a token in GOVERN_GITHUB_TOKEN or GITHUB_TOKEN (with actions: read and pull-requests: write)');
  const github = { token, repository: env.GITHUB_REPOSITORY, apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com' };
  return {
    download: (runs, into) => downloadSessionArtifacts({ ...github, runs, artifactPrefix: String(ctx.values['artifact-prefix'] ?? 'govern-session-'), into, log }),
    comment: async (markdown) => {
      const event = env.GITHUB_EVENT_PATH ? (JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as Parameters<typeof pullRequestNumber>[0]) : undefined;
      const pullRequest = pullRequestNumber(event);
      if (pullRequest === undefined) return 'not a pull request event, so no comment is posted';
      const posted = await postStickyComment({ ...github, pullRequest, body: markdown });
      return `${posted.updated ? 'updated' : 'posted'} the comment on pull request #${pullRequest} (comment ${posted.id})`;
    },
  };
}
