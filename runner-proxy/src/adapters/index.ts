import type { AdapterRegistry } from './adapter.js';
import { PostgresAdapter } from './postgres/adapter.js';

/** The protocol adapters this build serves. */
export function builtInAdapters(): AdapterRegistry {
  return new Map([['postgres', new PostgresAdapter()]]);
}
