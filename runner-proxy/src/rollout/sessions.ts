import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, GovernError } from '../base/errors.js';
import type { DiscoveryRecord } from '../masking/discovery.js';
import { parsePolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { Manifest } from '../recording/bundle.js';
import { EVENTS_FILE, type RecordedEvent } from '../recording/recorder.js';
import { verifyBundle } from '../recording/verify.js';
import { builtInProtocols } from '../adapters/index.js';

/** One recorded session whose bundle verified: what suggest and test read. */
export interface RecordedSession {
  dir: string;
  manifest: Manifest;
  events: RecordedEvent[];
  discovery: DiscoveryRecord;
  /** The policy in force, when the bundle carries it (manifest `policy.bundled`), with its `${VAR}`s as written. */
  policyInForce?: Policy;
}

/** A bundle that did not verify: named and left out, never read. */
export interface SkippedBundle {
  dir: string;
  problem: string;
}

/**
 * The bundles under each DIR: DIR itself when it holds events.jsonl, else every directory below it
 * (to any depth) that does: a folder of downloaded artifacts is given as one DIR.
 */
export function bundleDirs(dirs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (existsSync(join(dir, EVENTS_FILE))) return void found.push(dir);
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
    }
  };
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GovernError(ErrorCode.Usage, `${dir} is not a directory; give session bundles (or folders of them)`);
    const before = found.length;
    walk(dir);
    if (found.length === before) throw new GovernError(ErrorCode.Usage, `${dir} holds no session bundle (no ${EVENTS_FILE} in it or below it)`);
  }
  return found;
}

/** Verifies every bundle (signature, chain, completeness) and reads the ones that pass. */
export function loadSessions(dirs: readonly string[]): { sessions: RecordedSession[]; skipped: SkippedBundle[] } {
  const sessions: RecordedSession[] = [];
  const skipped: SkippedBundle[] = [];
  for (const dir of bundleDirs(dirs)) {
    const result = verifyBundle(dir);
    if (!result.ok || !result.manifest) {
      skipped.push({ dir, problem: result.problem ?? 'the bundle does not verify' });
      continue;
    }
    const policyInForce = bundledPolicy(dir, result.manifest);
    sessions.push({ dir, manifest: result.manifest, events: result.events, discovery: mergedDiscovery(result.events), ...(policyInForce && { policyInForce }) });
  }
  if (sessions.length === 0) {
    throw new GovernError(ErrorCode.Usage, `no session bundle verified: ${skipped.map((s) => `${s.dir}: ${s.problem}`).join('; ')}`);
  }
  return { sessions, skipped };
}

/** The policy a bundle says was in force, read from the copy it carries (signed with it); none when it has no copy. */
function bundledPolicy(dir: string, manifest: Manifest): Policy | undefined {
  const bundled = (manifest.policy as { bundled?: unknown }).bundled;
  if (typeof bundled !== 'string') return undefined;
  try {
    return parsePolicy(manifest.policy.file, readFileSync(join(dir, bundled)), { env: {}, resolveVariables: false, protocols: builtInProtocols() });
  } catch {
    // A copy this version cannot read (a newer policy format): the recorded verdicts and masks still serve.
    return undefined;
  }
}

/** The session's discovery events (one per gateway run), as one record. */
function mergedDiscovery(events: readonly RecordedEvent[]): DiscoveryRecord {
  const merged: DiscoveryRecord = { sources: {}, statements: {} };
  for (const e of events) {
    if (e.type !== 'discovery') continue;
    const record = e as unknown as RecordedEvent & DiscoveryRecord;
    Object.assign(merged.statements, record.statements);
    for (const [source, counts] of Object.entries(record.sources ?? {})) {
      const into = (merged.sources[source] ??= { seen: 0, matched: {} });
      into.seen += counts.seen;
      for (const [type, n] of Object.entries(counts.matched)) into.matched[type as keyof typeof into.matched] = (into.matched[type as keyof typeof into.matched] ?? 0) + n!;
    }
  }
  return merged;
}

/** The operation events of a session, in order. */
export function operationsOf(session: RecordedSession): RecordedEvent[] {
  return session.events.filter((e) => e.type === 'operation');
}

/** A session's short name for comments and reports: its run id where the identity has one, else its id. */
export function sessionLabel(session: RecordedSession): string {
  const claims = (session.manifest.identity as { claims?: Record<string, unknown> }).claims ?? {};
  const run = claims.run_id ?? claims.pipeline_id ?? claims.job_id;
  return run !== undefined ? `run ${String(run)}` : `session ${session.manifest.session_id.slice(0, 8)}`;
}
