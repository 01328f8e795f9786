import { describeRun, recordedRun } from '../identity/binding.js';
import type { Manifest } from '../recording/bundle.js';
import { exceptionLines, incidentLines, summaryHeadline } from '../recording/job-summary.js';
import { describeIdentity, verifyCommand } from '../recording/report.js';
import { describeIncidents, type SessionView } from '../recording/session-view.js';

/**
 * The end-of-run summary for the job log (GitLab shows no step summary, so this is where its auditors
 * look): the headline, counts, every exception, where the bundle and its report are, and how to verify.
 */
export function formatSummary(manifest: Manifest, outDir: string, view?: SessionView): string {
  const c = manifest.counts;
  const observed = c.would_block || c.would_hold ? `, ${c.would_block} would block, ${c.would_hold} would hold` : '';
  const exceptions = view ? exceptionLines(view) : [];
  const lines = [
    view ? summaryHeadline(view, manifest.policy.mode) : 'govern session',
    `  identity     ${describeIdentity(manifest.identity)}`,
    `  policy       ${manifest.policy.file} (${manifest.policy.mode}, sha256 ${manifest.policy.sha256.slice(0, 12)})`,
    ...manifest.connections.map((conn) => `  connection   ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
    `  operations   ${c.operations}: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied${observed}`,
    `  masked       ${c.masked_values} values`,
    ...(exceptions.length ? ['  exceptions', ...exceptions.map((line) => `  ${line}`)] : []),
    ...(view?.incidents.length ? [`  incidents    ${describeIncidents(view)}`, ...incidentLines(view).map((line) => `  ${line}`)] : []),
    `  bundle       ${outDir} (${manifest.events.count} events, head ${manifest.events.head.slice(0, 12)})`,
    `  report       ${outDir}/report.html`,
    `  signed by    ${manifest.public_key}`,
    `  job binding  ${jobBinding(manifest)}`,
    `  verify with  ${verifyCommand({ bundle_dir: outDir, public_key: manifest.public_key, ...(manifest.job_binding && { job_binding: manifest.job_binding }) })}`,
    ...(manifest.events.failure ? [`  recording    FAILED: ${manifest.events.failure}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

function jobBinding(manifest: Manifest): string {
  const run = recordedRun(manifest.job_binding);
  if (run) return `bound by the forge: ${describeRun(run)}`;
  return `absent (${manifest.job_binding?.kind === 'absent' ? manifest.job_binding.reason : 'none recorded'}): the key vouches only for itself`;
}
