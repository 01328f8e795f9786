import type { Operation } from '../../core/operation.js';
import type { HttpTarget } from './target.js';

/**
 * What rules read of a request besides its method and path: the target's host (so a host the forward
 * proxy intercepts, recorded as connection proxy:HOST, is named by its host), the job's headers and
 * the query string, as sent.
 */
export function requestFacts(target: HttpTarget, rawHeaders: readonly string[], search: string): Pick<Operation, 'host' | 'headers' | 'query'> {
  return { host: target.hostname.toLowerCase(), headers: rawHeaders, query: search.slice(1) };
}
