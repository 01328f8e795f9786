import { writeFileSync } from 'node:fs';
import { SqlParser } from '../adapters/postgres/parser.js';
import { loadPolicy, parsePolicy } from '../policy/load.js';
import { testPolicy } from '../rollout/policy-test.js';
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

/** govern policy test POLICY DIR… [--format text|markdown|json] [--fail-on …] [--out FILE]. */
export async function policyTestCommand(ctx: CommandContext): Promise<number> {
  const [, file, ...dirs] = ctx.positionals;
  if (!file || dirs.length === 0) throw usage('use govern policy test POLICY DIR… [--format text|markdown|json] [--fail-on LIST|never]');
  const format = parseReportFormat(ctx.values.format);
  const failOn = parseTestFailOn(ctx.values['fail-on']);
  const policy = loadPolicy(file, { env: ctx.env, resolveVariables: false });
  const { sessions, skipped } = loadSessions(dirs);
  warnSkipped(ctx, skipped);
  const result = testPolicy(policy, sessions, skipped, await SqlParser.load());
  const report = formatResult(result, format, failOn);
  if (typeof ctx.values.out === 'string') writeFileSync(ctx.values.out, report);
  ctx.io.stdout.write(report);
  return failure(result, failOn) ? 1 : 0;
}
