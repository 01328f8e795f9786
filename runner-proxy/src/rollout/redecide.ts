import { LruCache } from '../base/lru.js';
import type { Operation, Verdict } from '../policy/operation.js';
import { SqlClassifier, type SqlClassification } from '../adapters/postgres/classify.js';
import type { SqlParser } from '../adapters/postgres/parser.js';
import type { RecordedEvent } from '../recording/recorder.js';
import { httpRequestOf } from './observed.js';
import type { RecordedSession } from './sessions.js';

/** What the recorder put in place of a sensitive value: a constant again for the parser, which classes never depend on. */
const REDACTION = /\[masked(?::[a-z_]+)?\]/g;
const CLASSIFICATIONS = 10_000;

/** A recorded operation as the rule engine sees it again, with what it was decided and whether it ran. */
export interface RecordedOperation {
  session: RecordedSession;
  event: RecordedEvent;
  op: Operation;
  verdict: Verdict;
  /** It reached the target: allowed, or held and approved. */
  ran: boolean;
  /** PostgreSQL: the statement shape, whose result columns discovery recorded. */
  shape?: string;
}

/**
 * Rebuilds the operations of recorded sessions for the rule engine: SQL is classified again from its
 * recorded text (with its redactions turned back into constants, so they cannot change its class);
 * HTTP requests and SSH commands keep what was recorded of them.
 */
export class OperationRebuilder {
  readonly #classifier: SqlClassifier;

  constructor(parser: SqlParser) {
    this.#classifier = new SqlClassifier({ parser, cache: new LruCache(CLASSIFICATIONS) });
  }

  *operations(session: RecordedSession): Generator<RecordedOperation> {
    const approved = new Set<number>();
    for (const e of session.events) if (e.type === 'approval.decided' && e.outcome === 'approved') approved.add(Number(e.op));
    const hosts = new Map(session.manifest.connections.map((c) => [c.name, hostOf(c.target)]));
    for (const event of session.events) {
      if (event.type !== 'operation') continue;
      const verdict = event.verdict as Verdict;
      const enforced = (event.enforced as Verdict | undefined) ?? verdict;
      const ran = enforced === 'allow' || (enforced === 'approve' && approved.has(event.seq));
      const rebuilt = this.#rebuild(event, hosts);
      yield { session, event, verdict, ran, ...rebuilt };
    }
  }

  /** The statement's classification from its recorded text. */
  classify(text: string): SqlClassification {
    return this.#classifier.classify(text.replace(REDACTION, '0'));
  }

  #rebuild(event: RecordedEvent, hosts: ReadonlyMap<string, string | undefined>): { op: Operation; shape?: string } {
    const connection = String(event.connection);
    const recordedClasses = new Set((event.classes as string[] | undefined) ?? []);
    const base = { connection, text: String(event.text ?? ''), writes: recordedClasses.has('write') };
    switch (event.protocol) {
      case 'postgres': {
        const sql = this.classify(base.text);
        // Text the recorder kept whole but the parser no longer reads keeps the class it was decided with.
        if (sql.syntaxError !== undefined && !recordedClasses.has('unparseable')) return { op: { ...base, protocol: 'postgres', classes: recordedClasses } };
        return { op: { ...base, protocol: 'postgres', classes: sql.classes, writes: sql.writes }, ...(sql.shape !== undefined && { shape: sql.shape }) };
      }
      case 'http': {
        const { method, path } = httpRequestOf(event);
        const host = connection.startsWith('proxy:') ? connection.slice('proxy:'.length) : hosts.get(connection);
        return { op: { ...base, protocol: 'http', classes: recordedClasses, method, path, ...(host !== undefined && { host }) } };
      }
      case 'ssh':
        return { op: { ...base, protocol: 'ssh', classes: recordedClasses, commands: (event.argv as string[][] | undefined) ?? [], ...(typeof event.path === 'string' && { path: event.path }) } };
      default:
        return { op: { ...base, protocol: 'process', classes: recordedClasses } };
    }
  }
}

function hostOf(target: string): string | undefined {
  try {
    return new URL(target).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
