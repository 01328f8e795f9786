import type { RecordedEvent } from '../recording/recorder.js';
import { operationsOf, sessionLabel, type RecordedSession } from './sessions.js';

/** Something seen in the recorded sessions: how often, and in which of them. */
export class Tally {
  readonly #counts = new Map<string, { operations: number; sessions: Set<string> }>();

  add(key: string, session: string): void {
    let entry = this.#counts.get(key);
    if (!entry) this.#counts.set(key, (entry = { operations: 0, sessions: new Set() }));
    entry.operations++;
    entry.sessions.add(session);
  }

  get keys(): string[] {
    return [...this.#counts.keys()].sort();
  }

  get size(): number {
    return this.#counts.size;
  }

  /** "3 operations in run 41, run 42" for the keys given (all by default). */
  provenance(keys: readonly string[] = this.keys): string {
    let operations = 0;
    const sessions = new Set<string>();
    for (const key of keys) {
      const entry = this.#counts.get(key);
      if (!entry) continue;
      operations += entry.operations;
      for (const s of entry.sessions) sessions.add(s);
    }
    return `${operations} operation${operations === 1 ? '' : 's'} in ${[...sessions].sort().join(', ')}`;
  }
}

/** What a connection did across the sessions. */
export interface ObservedConnection {
  name: string;
  protocol: string;
  export: string;
  /** PostgreSQL statement classes, HTTP "METHOD /generalised/path", SSH programs. */
  seen: Tally;
}

/** Everything the recorded sessions show, gathered once for suggest. */
export interface Observed {
  sessions: readonly RecordedSession[];
  identities: readonly { label: string; issuer: string; claims: Readonly<Record<string, unknown>> }[];
  connections: Map<string, ObservedConnection>;
  /** Hosts reached through the forward proxy: intercepted (connection proxy:HOST), and tunnelled. */
  proxyHosts: Tally;
  tunnelledHosts: Tally;
  /** Columns masked by the policy in force (`table.column`, from the results' masked counts). */
  maskedColumns: Tally;
}

/** HTTP paths with their ids taken out: a segment with a digit (other than a version such as v1) becomes `*`. */
export function generalisedPath(path: string): string {
  return path
    .split('?')[0]!
    .split('/')
    .map((segment) => (/\d/.test(segment) && !/^v\d+$/i.test(segment) ? '*' : segment))
    .join('/');
}

/** METHOD and path of a recorded HTTP operation ("GET /v1/customers/1"). */
export function httpRequestOf(event: RecordedEvent): { method: string; path: string } {
  const text = String(event.text ?? '');
  const space = text.indexOf(' ');
  return { method: text.slice(0, space).toUpperCase(), path: (text.slice(space + 1).split('?')[0] ?? '') || '/' };
}

export function observe(sessions: readonly RecordedSession[]): Observed {
  const observed: Observed = { sessions, identities: [], connections: new Map(), proxyHosts: new Tally(), tunnelledHosts: new Tally(), maskedColumns: new Tally() };
  const identities: Observed['identities'][number][] = [];
  for (const session of sessions) {
    const label = sessionLabel(session);
    const identity = session.manifest.identity as { issuer?: string; claims?: Record<string, unknown> };
    if (identity.issuer) identities.push({ label, issuer: identity.issuer, claims: identity.claims ?? {} });
    for (const c of session.manifest.connections) {
      if (!observed.connections.has(c.name)) observed.connections.set(c.name, { name: c.name, protocol: c.protocol, export: c.export, seen: new Tally() });
    }
    for (const event of session.events) {
      if (event.type === 'tunnel' && typeof event.host === 'string') observed.tunnelledHosts.add(event.host, label);
      for (const result of (event.results as { masked_by?: Record<string, number> }[] | undefined) ?? []) {
        for (const key of Object.keys(result.masked_by ?? {})) if (key.includes('.')) observed.maskedColumns.add(key, label);
      }
    }
    for (const op of operationsOf(session)) {
      const name = String(op.connection);
      if (name.startsWith('proxy:')) observed.proxyHosts.add(name.slice('proxy:'.length), label);
      let connection = observed.connections.get(name);
      if (!connection) observed.connections.set(name, (connection = { name, protocol: String(op.protocol), export: '', seen: new Tally() }));
      for (const key of seenKeys(op)) connection.seen.add(key, label);
    }
  }
  return { ...observed, identities };
}

/** What an operation contributes to its connection's allow-list. */
function seenKeys(op: RecordedEvent): string[] {
  switch (op.protocol) {
    case 'postgres':
      return (op.classes as string[] | undefined) ?? [];
    case 'http': {
      const { method, path } = httpRequestOf(op);
      return [`${method} ${generalisedPath(path)}`];
    }
    case 'ssh':
      return ((op.argv as string[][] | undefined) ?? []).map((argv) => argv[0]?.split('/').pop() ?? '').filter(Boolean);
    default:
      return [];
  }
}
