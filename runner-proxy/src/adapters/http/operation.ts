/**
 * The operation the governor decides for an HTTP request, whichever connection carries it, and what the
 * record keeps of it: its text (credentials and detected values masked) and the start of a body.
 */
import type { AdapterGovernor } from '../../core/governor.js';
import type { Operation } from '../../policy/operation.js';
import { hideCredentials } from '../../masking/credentials.js';
import { REDACT_ALL } from '../../masking/masker.js';
import type { ListenerState } from './listener-state.js';
import { isJsonType } from './message.js';
import type { HttpTarget } from './target.js';
import { isTextType } from './text-mask.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Query parameters whose values are credentials by name; the record keeps the name only. */
const SECRET_PARAMETER = /token|key|secret|password|passwd|signature|sig|auth|credential|session|code/i;
/** How much of a body `recording.results: masked` keeps. */
const RECORDED_BODY = 64 * 1024;

/**
 * What rules read of a request besides its method and path: the target's host (so a host the forward
 * proxy intercepts, recorded as connection proxy:HOST, is named by its host), the job's headers and
 * the query string, as sent, and whether the target routes paths with case, when the connection says.
 */
export function requestFacts(target: HttpTarget, rawHeaders: readonly string[], search: string): Pick<Operation, 'host' | 'headers' | 'query' | 'pathCase'> {
  const facts: Pick<Operation, 'host' | 'headers' | 'query' | 'pathCase'> = { host: target.hostname.toLowerCase(), headers: rawHeaders, query: search.slice(1) };
  if (target.reading.pathCase !== 'unknown') facts.pathCase = target.reading.pathCase;
  return facts;
}

export function recordText(method: string, path: string, search: string, governor: AdapterGovernor): string {
  // Most requests have no query, and most paths no escape: neither is taken apart then.
  const query =
    search.length > 1
      ? search
          .slice(1)
          .split('&')
          .filter(Boolean)
          .map((pair) => {
            const eq = pair.indexOf('=');
            const name = eq < 0 ? pair : pair.slice(0, eq);
            return eq >= 0 && SECRET_PARAMETER.test(name) ? `${name}=[masked]` : pair;
          })
          .join('&')
      : '';
  let text = `${method} ${path}${query ? `?${query}` : ''}`;
  try {
    if (text.includes('%')) text = decodeURIComponent(text);
  } catch {
    // Kept encoded: the detectors still see what they can.
  }
  return governor.masker.maskText(hideCredentials(text), REDACT_ALL).text;
}

/** The operation the governor decides for one request (its body's JSON is added when a rule needs it). */
export function requestOperation(state: ListenerState, method: string, target: { path: string; search: string }, rawHeaders: readonly string[]): Operation & { classes: Set<string> } {
  const writes = !SAFE_METHODS.has(method);
  // The facts are copied field by field, not spread: this runs for every request.
  const facts = requestFacts(state.target, rawHeaders, target.search);
  const op: Operation & { classes: Set<string> } = {
    connection: state.name,
    protocol: 'http',
    text: recordText(method, target.path, target.search, state.governor),
    classes: new Set([writes ? 'write' : 'read']),
    writes,
    method,
    path: target.path,
    host: facts.host,
    headers: facts.headers,
    query: facts.query,
  };
  if (facts.pathCase) op.pathCase = facts.pathCase;
  return op;
}

/** The method rules judge is another (an override in the body the target honours): so are the classes and the record's text. */
export function judgeMethod(op: Operation & { classes: Set<string> }, method: string, search: string, governor: AdapterGovernor): void {
  op.method = method;
  op.writes = !SAFE_METHODS.has(method);
  op.classes = new Set([op.writes ? 'write' : 'read']);
  op.text = recordText(method, op.path!, search, governor);
}

/** The start of a body kept for the record (`recording.results: masked`); what it keeps is masked again with every detector. */
export class RecordedBody {
  #kept = '';

  /** Whether the record should keep this response's body: text it can read, masked or uncoded. */
  static wanted(governor: AdapterGovernor, contentType: string | undefined, masked: boolean, coding: string | undefined): boolean {
    return governor.recordsContent && (isJsonType(contentType) || isTextType(contentType)) && (masked || !coding);
  }

  /** Adds a piece (none once enough is kept); false once enough is kept. */
  add(chunk: Buffer | string): boolean {
    if (this.#kept.length < RECORDED_BODY) this.#kept += chunk.toString();
    return this.#kept.length < RECORDED_BODY;
  }

  text(governor: AdapterGovernor): string {
    return governor.masker.maskText(this.#kept.slice(0, RECORDED_BODY), REDACT_ALL).text;
  }
}
