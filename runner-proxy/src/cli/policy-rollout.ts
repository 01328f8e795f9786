import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlParser } from '../adapters/postgres/parser.js';
import { loadPolicy, parsePolicy } from '../policy/load.js';
import { appendJobSummary, downloadSessionArtifacts, postStickyComment, pullRequestNumber } from '../rollout/github.js';
import { testPolicy, type PolicyTestResult } from '../rollout/policy-test.js';
import { loadSessions, type SkippedBundle } from '../rollout/sessions.js';
import { suggestPolicy } from '../rollout/suggest.js';
import { failure, formatResult, parseReportFormat, parseTestFailOn } from '../rollout/test-report.js';
import { usage, type CommandContext } from './context.js';

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
  parsePolicy(String(ctx.values.out ?? 'suggested.yml'), Buffer.from(suggestion), { env: {}, resolveVariables: false });
  if (typeof ctx.values.out === 'string') {
    writeFileSync(ctx.values.out, suggestion);
    ctx.io.stderr.write(`govern policy suggest: wrote ${ctx.values.out} from ${sessions.length} session${sessions.length === 1 ? '' : 's'}\n`);
  } else {
    ctx.io.stdout.write(suggestion);
  }
  return 0;
}

/** govern policy test POLICY [DIR…] [--github-runs N] [--comment] [--format text|markdown|json] [--fail-on …] [--out FILE]. */
export async function policyTestCommand(ctx: CommandContext): Promise<number> {
  const [, file, ...dirs] = ctx.positionals;
  const runs = ctx.values['github-runs'] === undefined ? undefined : Number(ctx.values['github-runs']);
  if (!file || (dirs.length === 0 && runs === undefined)) throw usage('use govern policy test POLICY DIR… [--format text|markdown|json] [--fail-on LIST|never], or POLICY --github-runs N [--comment]');
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0 && runs <= 100)) throw usage('--github-runs takes a number of runs from 1 to 100');
  const format = parseReportFormat(ctx.values.format);
  const failOn = parseTestFailOn(ctx.values['fail-on']);
  const policy = loadPolicy(file, { env: ctx.env, resolveVariables: false });
  const github = runs !== undefined || ctx.values.comment ? gitHubOf(ctx) : undefined;
  if (github && runs !== undefined) {
    const into = mkdtempSync(join(ctx.env.RUNNER_TEMP ?? tmpdir(), 'govern-sessions-'));
    dirs.push(...(await downloadSessionArtifacts({ ...github, runs, artifactPrefix: String(ctx.values['artifact-prefix'] ?? 'govern-session-'), into, log: (line) => ctx.io.stderr.write(`${line}\n`) })));
  }
  const { sessions, skipped } = loadSessions(dirs);
  warnSkipped(ctx, skipped);
  const result = testPolicy(policy, sessions, skipped, await SqlParser.load());
  const report = formatResult(result, format, failOn);
  if (typeof ctx.values.out === 'string') writeFileSync(ctx.values.out, report);
  ctx.io.stdout.write(report);
  if (github) await publish(ctx, github, result, failOn);
  return failure(result, failOn) ? 1 : 0;
}

/** The repository and token a GitHub job gives: GOVERN_GITHUB_TOKEN (the action's github-token) or GITHUB_TOKEN. */
function gitHubOf({ env }: CommandContext): { token: string; repository: string; apiUrl: string } {
  const token = env.GOVERN_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
  if (!token || !env.GITHUB_REPOSITORY) throw usage('--github-runs and --comment need GITHUB_REPOSITORY and a token in GOVERN_GITHUB_TOKEN or GITHUB_TOKEN (with actions: read and pull-requests: write)');
  return { token, repository: env.GITHUB_REPOSITORY, apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com' };
}

/** The markdown report in the job summary and, with --comment, as the pull request's one govern comment. */
async function publish(ctx: CommandContext, github: ReturnType<typeof gitHubOf>, result: PolicyTestResult, failOn: ReturnType<typeof parseTestFailOn>): Promise<void> {
  const markdown = formatResult(result, 'markdown', failOn);
  appendJobSummary(ctx.env.GITHUB_STEP_SUMMARY, markdown);
  if (!ctx.values.comment) return;
  const event = ctx.env.GITHUB_EVENT_PATH ? (JSON.parse(readFileSync(ctx.env.GITHUB_EVENT_PATH, 'utf8')) as Parameters<typeof pullRequestNumber>[0]) : undefined;
  const pullRequest = pullRequestNumber(event);
  if (pullRequest === undefined) return void ctx.io.stderr.write('govern policy test: not a pull request event, so no comment is posted\n');
  const posted = await postStickyComment({ ...github, pullRequest, body: markdown });
  ctx.io.stderr.write(`govern policy test: ${posted.updated ? 'updated' : 'posted'} the comment on pull request #${pullRequest} (comment ${posted.id})\n`);
}
