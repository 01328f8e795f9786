import type { Operation } from '../../core/operation.js';
import type { HttpTarget } from './target.js';

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
