import { ErrorCode, GovernError } from '../base/errors.js';
import { CHANGE_KINDS, type ChangeGroup, type ChangeKind, type MaskChange, type PolicyTestResult } from './policy-test.js';

export type ReportFormat = 'text' | 'markdown' | 'json';
/** What fails `govern policy test`: blocked and held count only operations that ran in the recorded sessions. */
export type FailOnItem = 'blocked' | 'held' | 'allowed' | 'unmasked' | 'masked' | 'identity';
const FAIL_ON_ITEMS: readonly FailOnItem[] = ['blocked', 'held', 'allowed', 'unmasked', 'masked', 'identity'];
export const DEFAULT_FAIL_ON: readonly FailOnItem[] = ['blocked', 'held', 'identity'];

export function parseReportFormat(value: unknown): ReportFormat {
  if (value === undefined) return 'text';
  if (value === 'text' || value === 'markdown' || value === 'json') return value;
  throw new GovernError(ErrorCode.Usage, `--format must be text, markdown or json, not "${String(value)}"`);
}

/** "blocked,held", "never", or absent (the default: blocked, held, identity). */
export function parseTestFailOn(value: unknown): readonly FailOnItem[] {
  if (value === undefined) return DEFAULT_FAIL_ON;
  if (value === 'never') return [];
  const items = String(value).split(',').map((s) => s.trim());
  const wrong = items.find((i) => !FAIL_ON_ITEMS.includes(i as FailOnItem));
  if (wrong !== undefined) throw new GovernError(ErrorCode.Usage, `--fail-on takes never or a comma-separated list of ${FAIL_ON_ITEMS.join(', ')}; "${wrong}" is none of them`);
  return items as FailOnItem[];
}

/** Why the test fails under `failOn`, or undefined when it passes. */
export function failure(result: PolicyTestResult, failOn: readonly FailOnItem[]): string | undefined {
  const reasons: string[] = [];
  const { newly_blocked, newly_held, newly_allowed } = result.changes;
  if (failOn.includes('blocked') && newly_blocked.ran) reasons.push(`${newly_blocked.ran} operation${plural(newly_blocked.ran)} that ran would now be blocked`);
  if (failOn.includes('held') && newly_held.ran) reasons.push(`${newly_held.ran} operation${plural(newly_held.ran)} that ran would now be held for approval`);
  if (failOn.includes('allowed') && newly_allowed.count) reasons.push(`${newly_allowed.count} operation${plural(newly_allowed.count)} would now be allowed`);
  if (failOn.includes('unmasked') && result.masks.removed.length) reasons.push(`${result.masks.removed.length} column${plural(result.masks.removed.length)} would no longer be masked`);
  if (failOn.includes('masked') && result.masks.added.length) reasons.push(`${result.masks.added.length} column${plural(result.masks.added.length)} would newly be masked`);
  const rejected = result.sessions.filter((s) => s.identity).length;
  if (failOn.includes('identity') && rejected) reasons.push(`${rejected} session${plural(rejected)}' identity would no longer be trusted`);
  return reasons.length ? reasons.join('; ') : undefined;
}

const plural = (n: number) => (n === 1 ? '' : 's');
const TITLES: Record<ChangeKind, string> = { newly_blocked: 'Newly blocked', newly_held: 'Newly held for approval', newly_allowed: 'Newly allowed' };

export function formatResult(result: PolicyTestResult, format: ReportFormat, failOn: readonly FailOnItem[]): string {
  if (format === 'json') return `${JSON.stringify({ ...result, failure: failure(result, failOn) ?? null }, null, 2)}\n`;
  return format === 'markdown' ? markdown(result, failOn) : text(result, failOn);
}

function headline(result: PolicyTestResult): string {
  return `${result.policy.file} re-decided ${result.operations} recorded operation${plural(result.operations)} of ${result.sessions.length} session${plural(result.sessions.length)} (${result.sessions.map((s) => s.label).join(', ')})`;
}

function verdictLine(kind: ChangeKind, group: ChangeGroup): string {
  const ran = kind === 'newly_allowed' ? '' : `, ${group.ran} of them ran`;
  return `${TITLES[kind]}: ${group.count}${group.count ? ran : ''}`;
}

function text(result: PolicyTestResult, failOn: readonly FailOnItem[]): string {
  const out = [headline(result)];
  for (const s of result.skipped) out.push(`  skipped ${s.dir}: ${s.problem}`);
  for (const s of result.sessions) if (s.identity) out.push(`  ${s.label}: its identity would be rejected: ${s.identity}`);
  for (const kind of CHANGE_KINDS) {
    const group = result.changes[kind];
    out.push(verdictLine(kind, group));
    for (const e of group.examples) out.push(`  ${e.connection}: ${e.text} — ${e.from} → ${e.to}${e.rule ? ` (rule ${e.rule})` : ''}${e.count > 1 ? ` ×${e.count}` : ''} [${e.session} #${e.seq}]`);
  }
  const masks = (title: string, list: readonly MaskChange[]) => {
    out.push(`${title}: ${list.length}`);
    for (const m of list) out.push(`  ${m.column} (${m.operations} operation${plural(m.operations)}, e.g. ${m.example})`);
  };
  masks('Masks added', result.masks.added);
  masks('Masks removed', result.masks.removed);
  if (result.undecided.count) {
    out.push(`Not re-decided: ${result.undecided.count} (the policy reads request bodies, headers or query values, which the bundle does not keep)`);
    for (const e of result.undecided.examples) out.push(`  ${e.connection}: ${e.text} [${e.session} #${e.seq}]`);
  }
  out.push(`Unchanged: ${result.unchanged}`);
  const failed = failure(result, failOn);
  out.push(failed ? `FAILED: ${failed}` : 'ok: nothing that ran would be refused');
  return `${out.join('\n')}\n`;
}

/** One marker line that the pull-request comment is found again by, to be updated in place. */
export const COMMENT_MARKER = '<!-- govern-policy-test -->';

const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('`', "'").replaceAll('\n', ' ').replaceAll('<', '&lt;');

function markdown(result: PolicyTestResult, failOn: readonly FailOnItem[]): string {
  const failed = failure(result, failOn);
  const out = [
    COMMENT_MARKER,
    `### govern policy test: ${failed ? '❌ would refuse what ran' : '✅ nothing that ran would be refused'}`,
    '',
    `\`${cell(result.policy.file)}\` re-decided **${result.operations}** recorded operations of ${result.sessions.length} session${plural(result.sessions.length)} (${result.sessions.map((s) => s.label).join(', ')}).`,
  ];
  if (failed) out.push('', `**Fails:** ${cell(failed)}`);
  if (result.skipped.length) out.push('', '**Skipped (did not verify):**', ...result.skipped.map((s) => `- \`${cell(s.dir)}\`: ${cell(s.problem)}`));
  const rejected = result.sessions.filter((s) => s.identity);
  if (rejected.length) out.push('', '**Identity rejected:**', ...rejected.map((s) => `- ${s.label}: ${cell(s.identity!)}`));
  out.push('', '| change | operations | of them ran |', '|---|---:|---:|');
  for (const kind of CHANGE_KINDS) out.push(`| ${TITLES[kind]} | ${result.changes[kind].count} | ${kind === 'newly_allowed' ? '' : result.changes[kind].ran} |`);
  out.push(`| Masks added | ${result.masks.added.length} column${plural(result.masks.added.length)} | |`, `| Masks removed | ${result.masks.removed.length} column${plural(result.masks.removed.length)} | |`, `| Unchanged | ${result.unchanged} | |`);
  for (const kind of CHANGE_KINDS) {
    const group = result.changes[kind];
    if (!group.examples.length) continue;
    out.push('', `<details${kind === 'newly_allowed' ? '' : ' open'}><summary>${TITLES[kind]} (first examples)</summary>`, '', '| connection | operation | was | now | rule | count | where |', '|---|---|---|---|---|---:|---|');
    for (const e of group.examples) out.push(`| ${cell(e.connection)} | \`${cell(e.text)}\` | ${e.from} | ${e.to} | ${cell(e.rule ?? '')} | ${e.count} | ${e.session} #${e.seq} |`);
    out.push('', '</details>');
  }
  for (const [title, list] of [['Masks added', result.masks.added], ['Masks removed', result.masks.removed]] as const) {
    if (list.length) out.push('', `**${title}:**`, ...list.map((m) => `- \`${cell(m.column)}\` (${m.operations} operation${plural(m.operations)})`));
  }
  if (result.undecided.count) out.push('', `${result.undecided.count} operations were not re-decided: the policy reads request bodies, headers or query values, which the bundle does not keep.`);
  return `${out.join('\n')}\n`;
}
