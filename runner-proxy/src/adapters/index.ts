import type { Protocol } from '../policy/types.js';
import type { Adapter, AdapterRegistry } from './adapter.js';

/** The protocol adapters this build serves. */
export function builtInAdapters(): AdapterRegistry {
  return new Map<Protocol, () => Promise<Adapter>>([
    ['postgres', once(async () => new (await import('./postgres/adapter.js')).PostgresAdapter())],
    ['mysql', once(async () => new (await import('./mysql/adapter.js')).MysqlAdapter())],
    ['ssh', once(async () => new (await import('./ssh/adapter.js')).SshAdapter())],
    ['http', once(async () => new (await import('./http/adapter.js')).HttpAdapter())],
  ]);
}

/** One adapter per registry: the HTTP adapter's connections and its forward proxy share what it knows. */
function once(load: () => Promise<Adapter>): () => Promise<Adapter> {
  let adapter: Promise<Adapter> | undefined;
  return () => (adapter ??= load());
}
