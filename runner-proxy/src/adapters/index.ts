import type { Protocol } from '../policy/types.js';
import type { Adapter, AdapterRegistry } from './adapter.js';
import { HttpAdapter } from './http/adapter.js';
import { PostgresAdapter } from './postgres/adapter.js';
import { SshAdapter } from './ssh/adapter.js';

/** The protocol adapters this build serves. */
export function builtInAdapters(): AdapterRegistry {
  return new Map<Protocol, Adapter>([
    ['postgres', new PostgresAdapter()],
    ['ssh', new SshAdapter()],
    ['http', new HttpAdapter()],
  ]);
}
