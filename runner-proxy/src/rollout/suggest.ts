import type { DetectorType } from '../policy/types.js';
import { observe, type ObservedConnection, type Observed } from './observed.js';
import { sessionLabel, type RecordedSession } from './sessions.js';

/** Destructive statement classes: blocked on a connection whose sessions never ran one. */
const DESTRUCTIVE_SQL = ['drop', 'truncate', 'alter', 'delete_without_where', 'update_without_where', 'alter_system', 'grant', 'set_role', 'copy_program', 'dangerous_function', 'replication'];
/** HTTP methods that change things: blocked on a connection whose sessions never sent one. */
const CHANGING_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** Commands that destroy: blocked on an SSH connection whose sessions never ran the program. */
const DESTRUCTIVE_SHELL = ['rm -rf', 'dd', 'mkfs', 'shred', 'shutdown', 'reboot'];
/** A column is suggested for masking when at least this share of its values matched a detector. */
const MIN_SHARE = 0.05;

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

const q = (value: unknown) => JSON.stringify(String(value));
const list = (values: readonly unknown[]) => `[${values.map(q).join(', ')}]`;
const percent = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;

/**
 * A commented policy that lets the recorded sessions run unchanged and little else, made from bundles
 * that verified: the trust entry from the recorded identities, each connection with `${VAR}`
 * placeholders, what each connection was seen doing allowed and the destructive rest blocked, and
 * masks for the columns whose values matched a detector (or that the policy in force masked).
 */
export function suggestPolicy(sessions: readonly RecordedSession[]): string {
  const observed = observe(sessions);
  const operations = sessions.reduce((n, s) => n + s.events.filter((e) => e.type === 'operation').length, 0);
  const out: string[] = [
    `# Suggested by govern policy suggest from ${sessions.length} session${sessions.length === 1 ? '' : 's'} (${sessions.map(sessionLabel).join(', ')}), ${operations} operations.`,
    '# It lets those sessions run unchanged and little else. Review it, fill in the ${VAR}s in the gateway\'s',
    '# environment, run govern policy test on it against the same bundles, then enforce.',
    'version: 1',
  ];
  out.push(...identitySection(observed));
  out.push(...connectionsSection(observed));
  out.push('rules:', ...maskRule(observed));
  for (const connection of observed.connections.values()) out.push(...connectionRules(connection));
  out.push(...proxySection(observed));
  out.push('mode: enforce');
  return `${out.join('\n')}\n`;
}

function identitySection({ identities }: Observed): string[] {
  if (identities.length === 0) return ['# No session had a verified identity: add identity.trust before enforcing.'];
  const audiences = new Set(identities.flatMap(({ claims }) => [claims.aud].flat().filter((a) => a !== undefined).map(String)));
  const out = ['identity:', `  audience: ${q([...audiences][0] ?? 'govern')}`, '  trust:'];
  const byIssuer = new Map<string, typeof identities>();
  for (const identity of identities) byIssuer.set(identity.issuer, [...(byIssuer.get(identity.issuer) ?? []), identity]);
  for (const [issuer, runs] of byIssuer) {
    out.push(`    # from ${runs.map((r) => r.label).join(', ')}`);
    out.push(`    - issuer: ${issuerName(issuer, runs[0]!.claims)}`, '      claims:');
    const pin = ['repository_id', 'project_id'].find((c) => runs.every((r) => r.claims[c] !== undefined)) ?? ['repository', 'project_path'].find((c) => runs.every((r) => r.claims[c] !== undefined));
    if (pin) {
      const values = [...new Set(runs.map((r) => String(r.claims[pin])))];
      out.push(`        ${pin}: ${values.length === 1 ? q(values[0]) : list(values)}${pin.endsWith('_id') ? '   # an id survives renames, a name can be registered again' : ''}`);
    } else {
      out.push('        # no repository or project claim was recorded: pin one before enforcing');
    }
    for (const claim of ['ref', 'event_name']) {
      const values = [...new Set(runs.map((r) => r.claims[claim]).filter((v) => v !== undefined).map(String))].sort();
      if (values.length) out.push(`        ${claim}: ${list(values)}`);
    }
  }
  return out;
}

function issuerName(issuer: string, claims: Readonly<Record<string, unknown>>): string {
  if (issuer === GITHUB_ISSUER) return 'github';
  if (claims.project_id !== undefined && claims.pipeline_id !== undefined) return `${q(issuer)}   # GitLab: write gitlab for gitlab.com`;
  return q(issuer);
}

/** A `${VAR}` name for one of a connection's settings. */
const variable = (connection: string, what: string) => `\${${connection.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${what.toUpperCase().replace(/[^A-Z0-9]/g, '_')}}`;
/** Settings that never hold a secret: a literal value of these is kept; any other literal becomes a `${VAR}`. */
const PLAIN_SETTINGS = new Set(['host', 'port', 'user', 'keepalive', 'user_ssh_config', 'env', 'max_script', 'ca', 'known_hosts']);

/**
 * A connection's settings as the policy in force wrote them, for the suggestion: `${VAR}`s kept as
 * written, literals kept only where they cannot be secret, every other literal made a `${VAR}`.
 */
function placeholders(connection: string, settings: Readonly<Record<string, unknown>>, path: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    const here = [...path, key];
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) out[key] = placeholders(connection, value as Record<string, unknown>, here);
    else if (typeof value !== 'string' || value.includes('${') || (path.length === 0 && PLAIN_SETTINGS.has(key))) out[key] = value;
    else out[key] = variable(connection, here.join('_'));
  }
  return out;
}

function connectionsSection({ connections, sessions }: Observed): string[] {
  const inForce = new Map(sessions.flatMap((s) => s.policyInForce?.connections ?? []).map((c) => [c.name, c]));
  const out = ['connections:'];
  for (const c of connections.values()) {
    if (c.name.startsWith('proxy:') || c.name === '(proxy)' || !c.export) continue;
    out.push(`  ${c.name}:`, `    # ${c.seen.size ? c.seen.provenance() : 'connected, no operation recorded'}`);
    const written = inForce.get(c.name);
    if (written) out.push(`    ${written.protocol}: ${JSON.stringify(placeholders(c.name, written.settings))}   # as the policy in force has it`);
    else if (c.protocol === 'postgres') out.push(`    postgres: { url: ${q(variable(c.name, 'TARGET_URL'))} }`);
    else if (c.protocol === 'http') out.push(`    http: { url: ${q(variable(c.name, 'TARGET_URL'))} }   # add the headers that carry its credential, as \${VAR}s`);
    else if (c.protocol === 'ssh') {
      out.push(`    ssh: { host: ${q(variable(c.name, 'HOST'))}, user: ${q(variable(c.name, 'USER'))}, private_key: ${q(variable(c.name, 'PRIVATE_KEY'))}, known_hosts: ${q(variable(c.name, 'KNOWN_HOSTS'))} }`);
    }
    out.push(`    export: ${c.export}`);
  }
  return out;
}

/**
 * Masks for what carried values a detector recognised: one rule for PostgreSQL source columns (and the
 * columns the policy in force masked), one per HTTP connection for its JSON paths.
 */
function maskRule(observed: Observed): string[] {
  const matching = new Map<string, string>();
  for (const source of new Set(observed.sessions.flatMap((s) => Object.keys(s.discovery.sources)))) {
    const total = mergedCounts(observed.sessions, source);
    const matched = Object.entries(total.matched).filter(([, n]) => n! > 0) as [DetectorType, number][];
    if (total.seen === 0 || Math.max(0, ...matched.map(([, n]) => n)) / total.seen < MIN_SHARE) continue;
    matching.set(source, matched.map(([type, n]) => `${type} ${n} of ${total.seen} values (${percent(n, total.seen)})`).join(', '));
  }
  const columns = new Map([...matching].filter(([source]) => !source.includes(' ')));
  for (const column of observed.maskedColumns.keys) {
    if (![...columns.keys()].some((c) => c === column || c.endsWith(`.${column}`))) columns.set(column, `masked by the policy in force, ${observed.maskedColumns.provenance([column])}`);
  }
  const out: string[] = [];
  if (columns.size) {
    out.push('  - name: pii', '    # Columns whose values matched a detector in the recorded results:', ...[...columns].map(([column, why]) => `    #   ${column}: ${why}`), `    mask: { columns: ${list([...columns.keys()])} }`);
  }
  const byConnection = new Map<string, [string, string][]>();
  for (const [source, why] of matching) {
    const space = source.indexOf(' ');
    if (space < 0) continue;
    const connection = source.slice(0, space);
    byConnection.set(connection, [...(byConnection.get(connection) ?? []), [source.slice(space + 1), why]]);
  }
  for (const [connection, found] of byConnection) {
    const paths = found.filter(([path]) => path.startsWith('$'));
    const output = found.find(([what]) => what === 'output');
    const types = output ? Object.keys(mergedCounts(observed.sessions, `${connection} output`).matched).sort() : [];
    const mask = [paths.length && `json: ${list(paths.map(([path]) => path))}`, types.length && `types: ${list(types)}`].filter(Boolean).join(', ');
    out.push(
      `  - name: ${ruleName(connection)}-pii`,
      '    # Values that matched a detector in the recorded responses or output:',
      ...found.map(([what, why]) => `    #   ${what}: ${why}`),
      `    when: ${whenOf(connection)}`,
      `    mask: { ${mask} }`,
    );
  }
  return out.length ? out : ['  # No column or JSON field carried values that a detector recognised.'];
}

/** A rule name made from a connection's (proxy:HOST for a host the forward proxy opened). */
const ruleName = (connection: string) => connection.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[^A-Za-z0-9]/, 'c');
/** The `when` that narrows a rule to a connection, or to the host the forward proxy opened. */
const whenOf = (connection: string) => (connection.startsWith('proxy:') ? `{ host: ${q(connection.slice('proxy:'.length))} }` : `{ connection: ${q(connection)} }`);

function mergedCounts(sessions: readonly RecordedSession[], source: string): { seen: number; matched: Partial<Record<DetectorType, number>> } {
  const total = { seen: 0, matched: {} as Partial<Record<DetectorType, number>> };
  for (const s of sessions) {
    const counts = s.discovery.sources[source];
    if (!counts) continue;
    total.seen += counts.seen;
    for (const [type, n] of Object.entries(counts.matched)) total.matched[type as DetectorType] = (total.matched[type as DetectorType] ?? 0) + n!;
  }
  return total;
}

function connectionRules(c: ObservedConnection): string[] {
  const seen = c.seen.keys;
  const name = ruleName(c.name);
  const when = whenOf(c.name);
  const out: string[] = [];
  const rule = (suffix: string, comment: string, action: string, condition: string) =>
    out.push(`  - name: ${name}-${suffix}`, `    # ${comment}`, `    when: ${when}`, `    ${action}: ${condition}`);
  if (c.protocol === 'postgres') {
    if (seen.length) rule('seen', `statement classes seen: ${c.seen.provenance()}`, 'allow', `{ sql: ${list(seen)} }`);
    const unseen = DESTRUCTIVE_SQL.filter((k) => !seen.includes(k));
    if (unseen.length) rule('never-seen', 'destructive classes no recorded session ran', 'block', `{ sql: ${list(unseen)} }`);
  } else if (c.protocol === 'http') {
    if (seen.length) rule('seen', `requests seen (ids generalised): ${c.seen.provenance()}`, 'allow', `{ http: ${list(seen)} }`);
    const methods = new Set(seen.map((k) => k.split(' ')[0]));
    const unseen = CHANGING_METHODS.filter((m) => !methods.has(m));
    if (unseen.length) rule('never-seen', 'methods no recorded session sent (paths beyond those seen under a seen method stay allowed)', 'block', `{ http: ${list(unseen)} }`);
  } else if (c.protocol === 'ssh') {
    if (seen.length) rule('seen', `programs seen: ${c.seen.provenance()}`, 'allow', `{ shell: ${list(seen)} }`);
    const unseen = DESTRUCTIVE_SHELL.filter((p) => !seen.includes(p.split(' ')[0]!));
    if (unseen.length) rule('never-seen', 'destructive commands no recorded session ran', 'block', `{ shell: ${list(unseen)} }`);
  }
  return out;
}

/** The forward proxy's hosts as an egress allow-list: what was opened stays opened, what was tunnelled stays tunnelled. */
function proxySection({ proxyHosts, tunnelledHosts }: Observed): string[] {
  if (proxyHosts.size + tunnelledHosts.size === 0) return [];
  const out = ['proxy:'];
  if (proxyHosts.size) out.push(`  # inspected: ${proxyHosts.provenance()}`, `  intercept: ${list(proxyHosts.keys)}`);
  if (tunnelledHosts.size) out.push(`  # tunnelled: ${tunnelledHosts.provenance()}`, `  tunnel: ${list(tunnelledHosts.keys)}`);
  out.push('  others: refuse');
  return out;
}
