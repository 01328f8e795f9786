import type { Manifest } from '../recording/bundle.js';

/** The end-of-run summary for the job log: counts, where the bundle is, and the key that signed it. */
export function formatSummary(manifest: Manifest, outDir: string): string {
  const c = manifest.counts;
  const identity = manifest.identity as { kind: string; issuer?: string; claims?: Record<string, unknown>; read_only?: boolean };
  const claims = identity.claims ?? {};
  const who =
    identity.kind === 'none'
      ? 'none (the policy has no identity section)'
      : [claims.repository ?? claims.project_path, claims.ref, claims.event_name ?? claims.pipeline_source, claims.run_id ?? claims.pipeline_id]
          .filter((v) => v !== undefined)
          .join(' · ') || String(identity.issuer);
  const lines = [
    'govern session',
    `  identity     ${who}${identity.read_only ? ' (read-only)' : ''}`,
    `  policy       ${manifest.policy.file} (${manifest.policy.mode}, sha256 ${manifest.policy.sha256.slice(0, 12)})`,
    ...manifest.connections.map((conn) => `  connection   ${conn.name}: ${conn.protocol} ${conn.target} as $${conn.export}`),
    `  operations   ${c.operations}: ${c.allowed} allowed, ${c.blocked} blocked, ${c.approved} approved, ${c.denied} denied`,
    `  masked       ${c.masked_values} values`,
    `  bundle       ${outDir} (${manifest.events.count} events, head ${manifest.events.head.slice(0, 12)})`,
    `  signed by    ${manifest.public_key}`,
    ...(manifest.events.failure ? [`  recording    FAILED: ${manifest.events.failure}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}
